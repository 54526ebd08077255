//! `cairn bench store`: import, edit and read throughput of the project file.

use super::{Figure, rate, scratch_dir};
use anyhow::{Context, Result};
use cairn_import::ImportOptions;
use cairn_model::{AnnotatorKind, ItemId, Modality, PairwiseVerdict, Payload, Winner};
use cairn_store::{Edit, Project, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(records: u64, edits: u64, dir: Option<PathBuf>) -> Result<()> {
    let scratch = scratch_dir(dir.as_deref())?;
    let root = scratch.path();
    let jsonl = root.join("comparisons.jsonl");
    eprintln!("writing {records} synthetic comparisons to {} …", jsonl.display());
    write_comparisons(&jsonl, records)?;
    let mut figures = Vec::new();

    // 1. Bulk import, against bare SQLite inserting rows of the same size into the same table shape:
    // the floor that storage alone sets on this disk.
    let project_path = root.join("bench.cairn");
    let mut project = Project::create(&project_path)?;
    let import = rate(records, || {
        cairn_import::import_path(&mut project, &jsonl, &ImportOptions::default(), &mut |_, _| {}).map(|r| {
            assert_eq!(r.added, records, "every synthetic record is new");
        })
    })?;
    let stored_len: f64 =
        project.sqlite_connection().context("a project file")?.query_row("SELECT avg(length(data)) FROM items", [], |r| r.get(0))?;
    let baseline = rate(records, || bare_import(&root.join("bare-import.sqlite"), records, stored_len as usize))?;
    figures.push(Figure::higher_better(
        "bulk import of comparisons",
        import,
        "records/s",
        200_000.0,
        "bare SQLite inserts of same-size rows, same indexes and journal, one transaction",
        baseline,
    ));

    // 2. Durable single edits, against bare one-row SQLite commits with the same durability.
    let annotator = project.ensure_annotator("bench", AnnotatorKind::Human)?;
    let edits = edits.min(records);
    let edit_rate = rate(edits, || -> Result<()> {
        for i in 1..=edits as i64 {
            let payload = Payload::Verdict(PairwiseVerdict::new(if i % 2 == 0 { Winner::A } else { Winner::B }));
            project.apply(annotator, 1_000, Edit::Create { item: ItemId(i), payload })?;
        }
        Ok(())
    })?;
    let bare = rate(edits, || bare_commits(&root.join("bare.sqlite"), edits))?;
    figures.push(Figure::higher_better(
        "durable edits (one revision each)",
        edit_rate,
        "commits/s",
        300.0,
        "bare one-row INSERT commits, WAL + synchronous=FULL",
        bare,
    ));

    // 3. Streaming read of all current annotations, against stepping the same rows without decoding.
    eprintln!("adding one verdict per item for the read benchmark …");
    project.bulk_import(|bulk| {
        let source = bulk.ensure_annotator("import:bench", AnnotatorKind::Source)?;
        bulk.ensure_dataset("bench-extra", Modality::Comparison)?;
        let payload = Payload::Verdict(PairwiseVerdict::new(Winner::A));
        for i in 1..=records as i64 {
            bulk.import_annotation(cairn_store::Inserted::New(ItemId(i)), source, &payload)?;
        }
        Ok::<_, StoreError>(())
    })?;
    let live = records + edits;
    let read = rate(live, || {
        let mut n = 0u64;
        project.for_each_annotation::<StoreError>(None, |_| {
            n += 1;
            Ok(())
        })?;
        anyhow::ensure!(n == live, "streamed {n} annotations, expected {live}");
        Ok(())
    })?;
    let raw = rate(live, || raw_scan(&project))?;
    figures.push(Figure::higher_better(
        "streaming read of current annotations",
        read,
        "records/s",
        1_000_000.0,
        "stepping the same rows in SQLite without decoding",
        raw,
    ));

    super::print(&format!("store: {records} comparisons, {edits} edits"), &figures);
    Ok(())
}

pub(super) fn write_comparisons(path: &Path, n: u64) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let line = serde_json::json!({
            "id": format!("bench-{i}"),
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": format!("Question {i}: how do I reverse a list in Python without copying it?")},
            ],
            "responses": [
                {"model": "aurora-7b", "content": format!("Use `items.reverse()` (answer {i}); it works in place and returns None.")},
                {"model": "basalt-13b", "content": format!("Write `items[::-1]` (answer {i}); note that slicing creates a copy.")},
            ],
        });
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// Pre-built rows (no parsing, hashing or encoding) into a table shaped like `items`.
fn bare_import(path: &Path, n: u64, row_len: usize) -> Result<()> {
    let mut conn = rusqlite_connection(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE;
         PRAGMA cache_size = -1048576;
         CREATE TABLE items (id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL, key TEXT NOT NULL,
                             content_hash BLOB NOT NULL, data BLOB NOT NULL) STRICT;
         CREATE UNIQUE INDEX items_by_hash ON items (content_hash);
         CREATE INDEX items_by_dataset ON items (dataset_id, id);",
    )?;
    let data = vec![b'x'; row_len];
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO items (dataset_id, key, content_hash, data) VALUES (1, ?1, ?2, ?3)")?;
        for i in 0..n {
            // Hash-like keys in random order, as content hashes are.
            let a = splitmix(i);
            let hash: Vec<u8> = a.to_le_bytes().into_iter().chain(splitmix(a).to_le_bytes()).collect();
            insert.execute(rusqlite::params![format!("bench-{i}"), hash, data])?;
        }
    }
    tx.commit()?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// One SplitMix64 step from state `x`: a well-mixed 64-bit value.
fn splitmix(x: u64) -> u64 {
    cairn_model::rng::SplitMix64::new(x).next_u64()
}

fn bare_commits(path: &Path, n: u64) -> Result<()> {
    let conn = rusqlite_connection(path)?;
    for i in 0..n {
        conn.execute("INSERT INTO t (x) VALUES (?1)", [format!("{{\"kind\":\"verdict\",\"winner\":\"a\",\"i\":{i}}}")])?;
    }
    Ok(())
}

fn rusqlite_connection(path: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path).context("opening the baseline database")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);")?;
    Ok(conn)
}

fn raw_scan(project: &Project) -> Result<()> {
    let mut stmt = project
        .sqlite_connection()
        .context("a project file")?
        .prepare("SELECT id, item_id, annotator_id, payload, revision_id FROM annotations WHERE payload IS NOT NULL ORDER BY item_id, id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        std::hint::black_box(row.get_ref(3)?.as_bytes()?.len());
    }
    Ok(())
}
