//! `cairn bench judge`: with many comparisons in the project, how long opening takes, how long the
//! next item takes to come up, and how long `cairn stats` takes.

use super::{Figure, scratch_dir};
use anyhow::{Context, Result};
use cairn_import::ImportOptions;
use cairn_model::{AnnotatorKind, ItemId, Modality, PairwiseVerdict, Payload, PayloadKind, Winner};
use cairn_store::{AssignmentStatus, Edit, Inserted, Project, QualityOptions, QueuePolicy, StoreError};
use std::path::PathBuf;
use std::time::Instant;

pub fn run(records: u64, dir: Option<PathBuf>) -> Result<()> {
    let scratch = scratch_dir(dir.as_deref())?;
    let root = scratch.path();
    let jsonl = root.join("comparisons.jsonl");
    eprintln!("building a project of {records} comparisons, 90% already judged by two annotators …");
    super::store::write_comparisons(&jsonl, records)?;
    let path = root.join("judge.cairn");
    let mut project = Project::create(&path)?;
    cairn_import::import_path(&mut project, &jsonl, &ImportOptions::default(), &mut |_, _| {})?;
    let judged = records * 9 / 10;
    project.bulk_import(|bulk| {
        bulk.ensure_dataset("bench", Modality::Comparison)?;
        let people = [bulk.ensure_annotator("ana", AnnotatorKind::Human)?, bulk.ensure_annotator("ben", AnnotatorKind::Human)?];
        for i in 1..=judged as i64 {
            for (k, &who) in people.iter().enumerate() {
                let mut v = PairwiseVerdict::new(if (i as usize + k).is_multiple_of(4) { Winner::B } else { Winner::A });
                v.strength = Some((i % 3 + 1) as u8);
                v.shown_order = Some(if i % 2 == 0 { vec![0, 1] } else { vec![1, 0] });
                bulk.import_annotation(Inserted::New(ItemId(i)), who, &Payload::Verdict(v))?;
            }
        }
        Ok::<_, StoreError>(())
    })?;
    // Their assignments, so the queue has to pass over them.
    project.sqlite_connection().context("a project file")?.execute_batch(&format!(
        "BEGIN; INSERT INTO assignments (item_id, annotator_id, shown_order, created_at, state)
           SELECT i.id, a.id, '[0,1]', 0, '{done}' FROM items i, annotators a WHERE i.id <= {judged} AND a.name IN ('ana', 'ben'); COMMIT;",
        done = AssignmentStatus::Done
    ))?;
    drop(project);
    let mut figures = Vec::new();

    // 1. Opening: the file, the annotator, the first item on screen.
    let started = Instant::now();
    let mut project = Project::open(&path)?;
    let cy = project.ensure_annotator("cy", AnnotatorKind::Human)?;
    let policy = QueuePolicy { overlap: 2, ..QueuePolicy::default() };
    let first = project.next_assignment(cy, &policy)?.expect("items are left");
    std::hint::black_box(project.item(first.item)?);
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let bare = rusqlite::Connection::open(&path)?;
    let _: Vec<u8> = bare.query_row("SELECT data FROM items WHERE id = ?1", [first.item.0], |r| r.get(0))?;
    let bare_ms = started.elapsed().as_secs_f64() * 1e3;
    figures.push(Figure::lower_better(
        "open the project and show the first item",
        open_ms,
        "ms",
        1_000.0,
        "bare SQLite open and one item row",
        bare_ms,
    ));

    // 2. The next item, after each submission, past the 90% already full.
    let mut current = first;
    let rounds = 200;
    let mut next_total = 0.0;
    for _ in 0..rounds {
        let payload = Payload::Verdict(PairwiseVerdict::from_shown(&current.shown_order, 0, 1, Winner::A));
        project.submit(&current, 1_000, &[Edit::Create { item: current.item, payload }])?;
        let started = Instant::now();
        current = project.next_assignment(cy, &policy)?.expect("items are left");
        std::hint::black_box(project.item(current.item)?);
        next_total += started.elapsed().as_secs_f64() * 1e3;
    }
    let next_ms = next_total / rounds as f64;
    let started = Instant::now();
    for i in 0..rounds {
        let _: Vec<u8> = bare.query_row("SELECT data FROM items WHERE id = ?1", [judged as i64 + 1 + i], |r| r.get(0))?;
    }
    let row_ms = started.elapsed().as_secs_f64() * 1e3 / rounds as f64;
    figures.push(Figure::lower_better("show the next item (queue + load)", next_ms, "ms", 16.0, "one item row by primary key", row_ms));

    // 3. The quality report, against the streaming read it needs.
    let started = Instant::now();
    let report = project.quality(&QualityOptions::default())?;
    let stats_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.judgments >= 2 * judged, "counted {} judgments", report.judgments);
    let started = Instant::now();
    let mut n = 0u64;
    project.for_each_record::<StoreError>(&[PayloadKind::Verdict, PayloadKind::Ranking], &[Modality::Comparison], |_| {
        n += 1;
        Ok(())
    })?;
    let read_s = started.elapsed().as_secs_f64();
    figures.push(Figure::lower_better(
        "cairn stats (agreement, leaderboard, bootstrap)",
        stats_s,
        "s",
        2.0,
        "streaming the verdicts it reads",
        read_s,
    ));

    super::print(&format!("judge: {records} comparisons"), &figures);
    Ok(())
}
