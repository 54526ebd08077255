//! `cairn bench import`: importing an HH-RLHF file of real-sized records (1.4 KB pairs, as in the
//! public release), against what a user compares it with: a plain script that parses each line and
//! inserts its two strings into SQLite in one transaction. That script is run as written in Python
//! when `python3` is there, and as the same steps in Rust (serde_json + rusqlite) always.

use super::{Figure, rate, scratch_dir};
use anyhow::{Context, Result};
use cairn_import::ImportOptions;
use cairn_store::Project;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The plain script, run on the same file: `python3 - <jsonl> <sqlite>`.
const PYTHON_SCRIPT: &str = r#"
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[2])
con.execute("CREATE TABLE pairs (chosen TEXT, rejected TEXT)")
with open(sys.argv[1], encoding="utf-8") as f, con:
    con.executemany("INSERT INTO pairs VALUES (?, ?)", ((r["chosen"], r["rejected"]) for r in map(json.loads, f)))
print(con.execute("SELECT count(*) FROM pairs").fetchone()[0])
"#;

pub fn run(records: u64, dir: Option<PathBuf>) -> Result<()> {
    let scratch = scratch_dir(dir.as_deref())?;
    let root = scratch.path();
    let jsonl = root.join("hh-rlhf.jsonl");
    eprintln!("writing {records} HH-RLHF pairs to {} …", jsonl.display());
    let mut w = std::io::BufWriter::new(std::fs::File::create(&jsonl)?);
    cairn_import::sample::write_hh_rlhf(&mut w, 230_700, records)?;
    w.flush()?;
    drop(w);
    let megabytes = std::fs::metadata(&jsonl)?.len() as f64 / 1e6;
    // Read once so that every contender starts from the page cache.
    std::io::copy(&mut std::fs::File::open(&jsonl)?, &mut std::io::sink())?;

    let mut project = Project::create(root.join("bench.cairn"))?;
    let ours = rate(records, || {
        cairn_import::import_path(&mut project, &jsonl, &ImportOptions::default(), &mut |_, _| {}).map(|r| {
            assert_eq!(r.added, records, "every generated pair is new");
        })
    })?;
    let plain = rate(records, || plain_import(&jsonl, &root.join("plain.sqlite"), records))?;
    let mut figures = vec![Figure::higher_better(
        "import of HH-RLHF pairs",
        ours,
        "pairs/s",
        plain,
        "parse each line, insert its two strings into SQLite in one transaction (Rust)",
        plain,
    )];
    match python_import(&jsonl, &root.join("python.sqlite"), records) {
        Ok(seconds) => {
            let python = records as f64 / seconds;
            figures.push(Figure::higher_better(
                "import of HH-RLHF pairs",
                ours,
                "pairs/s",
                python,
                "the same script in Python (json, sqlite3)",
                python,
            ));
        }
        Err(e) => eprintln!("note: the Python script was not run: {e:#}"),
    }
    super::print(&format!("import: {records} HH-RLHF pairs, {megabytes:.0} MB (goal: the plain script's rate)"), &figures);
    Ok(())
}

/// What the plain script does, in Rust.
fn plain_import(jsonl: &Path, db: &Path, records: u64) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Pair {
        chosen: String,
        rejected: String,
    }
    let mut conn = rusqlite::Connection::open(db)?;
    conn.execute_batch("CREATE TABLE pairs (chosen TEXT, rejected TEXT)")?;
    let tx = conn.transaction()?;
    let mut n = 0u64;
    {
        let mut insert = tx.prepare("INSERT INTO pairs VALUES (?1, ?2)")?;
        for line in std::io::BufReader::new(std::fs::File::open(jsonl)?).lines() {
            let pair: Pair = serde_json::from_str(&line?)?;
            insert.execute([pair.chosen, pair.rejected])?;
            n += 1;
        }
    }
    tx.commit()?;
    anyhow::ensure!(n == records, "read {n} pairs, expected {records}");
    Ok(())
}

/// Runs the Python script and returns its wall time in seconds (interpreter start included, as a
/// user timing the script would see it).
fn python_import(jsonl: &Path, db: &Path, records: u64) -> Result<f64> {
    let start = Instant::now();
    let mut child = std::process::Command::new("python3")
        .arg("-")
        .args([jsonl, db])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting python3")?;
    child.stdin.take().expect("piped stdin").write_all(PYTHON_SCRIPT.as_bytes())?;
    let out = child.wait_with_output()?;
    let seconds = start.elapsed().as_secs_f64();
    anyhow::ensure!(out.status.success(), "python3 failed ({})", out.status);
    let counted: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().context("reading the script's count")?;
    anyhow::ensure!(counted == records, "the script stored {counted} pairs, expected {records}");
    Ok(seconds)
}
