//! `cairn bench team`: a team judging at once, each annotator a process with a connection of its
//! own, on PostgreSQL against the same run on one SQLite file; `cairn copy` of a large project to
//! the server and back; and a bulk import straight into the server against one into a file.

use super::{Figure, scratch_dir};
use anyhow::{Context, Result, bail};
use cairn_import::ImportOptions;
use cairn_model::{AnnotatorKind, PairwiseVerdict, Payload, Winner};
use cairn_store::testing::{Scratch, TEST_SERVER_VARIABLE};
use cairn_store::{Edit, Project, QueuePolicy};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub struct TeamArgs {
    pub annotators: u32,
    pub comparisons: u64,
    pub overlap: u32,
    pub copy_records: u64,
    pub server: Option<String>,
    pub dir: Option<PathBuf>,
}

/// What one annotator process measured, in microseconds per call.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct WorkerTimes {
    next_us: Vec<u64>,
    submit_us: Vec<u64>,
    /// Calls that waited out the busy timeout (SQLite does not queue writers fairly) and were made
    /// again; their time counts in full.
    busy_retries: u64,
}

struct TeamRun {
    judgments: u64,
    busy_retries: u64,
    seconds: f64,
    next: Vec<u64>,
    submit: Vec<u64>,
}

impl TeamRun {
    fn per_second(&self) -> f64 {
        self.judgments as f64 / self.seconds
    }
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at] as f64 / 1e3
}

pub fn run(args: TeamArgs) -> Result<()> {
    let server = args.server.clone().or_else(|| std::env::var("CAIRN_BENCH_POSTGRES").ok()).or_else(|| std::env::var(TEST_SERVER_VARIABLE).ok());
    let Some(server) = server.filter(|s| !s.is_empty()) else {
        bail!("cairn bench team needs a PostgreSQL server: --server URL (a role that may create databases; `.ci/postgres start` prints one)");
    };
    let scratch = scratch_dir(args.dir.as_deref())?;
    let root = scratch.path();
    let jsonl = root.join("comparisons.jsonl");
    super::store::write_comparisons(&jsonl, args.comparisons)?;

    // The team: the same comparisons on both engines, the same annotators and overlap.
    let database = Scratch::on_server(&server, "cairn_bench").context("creating a database for the benchmark")?;
    import(database.url().as_ref(), &jsonl)?;
    let file = root.join("team.cairn");
    import(&file, &jsonl)?;
    eprintln!("{} annotators judging {} comparisons with overlap {} on PostgreSQL …", args.annotators, args.comparisons, args.overlap);
    let on_server = judge(&database.location, &args)?;
    eprintln!("… and on one SQLite file");
    let on_file = judge(&file, &args)?;
    for (run, what) in [(&on_server, "PostgreSQL"), (&on_file, "SQLite")] {
        let expected = args.comparisons * args.overlap as u64;
        if run.judgments != expected {
            bail!("{what}: {} judgments stored, not {expected}", run.judgments);
        }
    }

    // A large project copied to the server and back.
    eprintln!("building a file of {} comparisons to copy …", args.copy_records);
    let big_jsonl = root.join("big.jsonl");
    super::store::write_comparisons(&big_jsonl, args.copy_records)?;
    let big = root.join("big.cairn");
    import(&big, &big_jsonl)?;
    let copy_target = Scratch::on_server(&server, "cairn_bench").context("creating a database for the copy")?;
    let (to_server, from_server) = {
        let source = Project::open(&big)?;
        let started = Instant::now();
        let (copied, _) = source.copy_to(&copy_target.location)?;
        let up = args.copy_records as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        copied.copy_to(root.join("back.cairn"))?;
        (up, args.copy_records as f64 / started.elapsed().as_secs_f64())
    };
    eprintln!("importing {} comparisons straight into PostgreSQL …", args.copy_records);
    let bulk_target = Scratch::on_server(&server, "cairn_bench").context("creating a database for the import")?;
    let bulk_server = import(bulk_target.url().as_ref(), &big_jsonl)?;
    let bulk_file = import(&root.join("bulk.cairn"), &big_jsonl)?;

    let mut figures = Vec::new();
    let (s, f) = (&on_server, &on_file);
    figures.push(Figure::higher_better(
        format!("judgments/s, {} annotators, PostgreSQL", args.annotators),
        s.per_second(),
        "/s",
        2_000.0,
        "one SQLite file",
        f.per_second(),
    ));
    for (what, mine, theirs, goal) in [
        ("next item p50", &s.next, &f.next, f64::INFINITY),
        ("next item p99", &s.next, &f.next, 20.0),
        ("submit p50", &s.submit, &f.submit, f64::INFINITY),
        ("submit p99", &s.submit, &f.submit, f64::INFINITY),
    ] {
        let p = if what.ends_with("p50") { 0.5 } else { 0.99 };
        figures.push(Figure::lower_better(
            format!("{what}, PostgreSQL"),
            percentile_ms(mine, p),
            "ms",
            goal,
            "one SQLite file",
            percentile_ms(theirs, p),
        ));
    }
    for (what, rate, other, other_rate) in
        [("file → PostgreSQL", to_server, "PostgreSQL → file", from_server), ("PostgreSQL → file", from_server, "file → PostgreSQL", to_server)]
    {
        figures.push(Figure::higher_better(
            format!("cairn copy {what}, {} comparisons", args.copy_records),
            rate,
            "records/s",
            50_000.0,
            other,
            other_rate,
        ));
    }
    figures.push(Figure::higher_better(
        format!("cairn import into PostgreSQL, {} comparisons", args.copy_records),
        bulk_server,
        "records/s",
        0.0,
        "into a file",
        bulk_file,
    ));
    super::print("team", &figures);
    println!(
        "calls that waited out the 30 s busy timeout and were made again: {} on PostgreSQL, {} on the SQLite file",
        on_server.busy_retries, on_file.busy_retries
    );
    Ok(())
}

/// Imports a JSONL file; returns the comparisons per second of the whole import.
fn import(location: &Path, jsonl: &Path) -> Result<f64> {
    let mut project = Project::open_or_create(location)?;
    let started = Instant::now();
    let report = cairn_import::import_path(&mut project, jsonl, &ImportOptions::default(), &mut |_, _| {})?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(report.added as f64 / seconds)
}

/// Runs the annotators as processes (`cairn bench team-worker`), starts them together once all have
/// connected, and gathers their times.
fn judge(location: &Path, args: &TeamArgs) -> Result<TeamRun> {
    let exe = std::env::current_exe().context("finding the cairn binary")?;
    let mut children = Vec::new();
    for n in 0..args.annotators {
        let child = Command::new(&exe)
            .args([
                "bench",
                "team-worker",
                &location.display().to_string(),
                "--name",
                &format!("annotator-{n}"),
                "--overlap",
                &args.overlap.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting an annotator process")?;
        children.push(child);
    }
    let mut readers = Vec::new();
    for child in &mut children {
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line)?;
        if line.trim() != "ready" {
            bail!("an annotator process did not start: {line:?}");
        }
        readers.push(out);
    }
    let started = Instant::now();
    for child in &mut children {
        child.stdin.take().expect("piped").write_all(b"go\n")?;
    }
    let mut times = Vec::new();
    for (mut child, mut out) in children.into_iter().zip(readers) {
        let mut line = String::new();
        out.read_line(&mut line)?;
        let status = child.wait()?;
        if !status.success() {
            bail!("an annotator process failed ({status})");
        }
        times.push(serde_json::from_str::<WorkerTimes>(&line).context("reading an annotator's times")?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut next: Vec<u64> = times.iter().flat_map(|t| t.next_us.iter().copied()).collect();
    let mut submit: Vec<u64> = times.iter().flat_map(|t| t.submit_us.iter().copied()).collect();
    next.sort_unstable();
    submit.sort_unstable();
    Ok(TeamRun { judgments: submit.len() as u64, busy_retries: times.iter().map(|t| t.busy_retries).sum(), seconds, next, submit })
}

/// Makes a call again while it fails with SQLite's "database is locked" (each call is one
/// transaction, so a failed one left nothing behind).
fn retry_busy<T>(retries: &mut u64, mut call: impl FnMut() -> cairn_store::Result<T>) -> cairn_store::Result<T> {
    loop {
        match call() {
            Err(cairn_store::StoreError::Sqlite { source, .. }) if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                *retries += 1;
            }
            other => return other,
        }
    }
}

/// One annotator: connects, says "ready", waits for "go", judges until the queue is empty, and
/// prints its times as one JSON line.
pub fn worker(location: &Path, name: &str, overlap: u32) -> Result<()> {
    let mut project = Project::open(location)?;
    let me = project.ensure_annotator(name, AnnotatorKind::Human)?;
    let policy = QueuePolicy { overlap, ..QueuePolicy::default() };
    println!("ready");
    std::io::stdout().flush()?;
    let mut go = String::new();
    std::io::stdin().read_line(&mut go)?;
    let mut times = WorkerTimes::default();
    loop {
        let started = Instant::now();
        let Some(assignment) = retry_busy(&mut times.busy_retries, || project.next_assignment(me, &policy))? else { break };
        times.next_us.push(started.elapsed().as_micros() as u64);
        let verdict = PairwiseVerdict::from_shown(&assignment.shown_order, 0, 1, if assignment.item.0 % 3 == 0 { Winner::B } else { Winner::A });
        let edits = [Edit::Create { item: assignment.item, payload: Payload::Verdict(verdict) }];
        let started = Instant::now();
        retry_busy(&mut times.busy_retries, || project.submit(&assignment, 1_000, &edits))?;
        times.submit_us.push(started.elapsed().as_micros() as u64);
    }
    println!("{}", serde_json::to_string(&times)?);
    Ok(())
}
