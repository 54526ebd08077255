//! The project API. Tests in `on_both_engines!` run on an SQLite file and on a PostgreSQL database;
//! the plain `#[test]`s are about the file itself (its header, journal modes, SQLite's locks, a
//! file from an older schema), which a server does not have.

use cairn_model::*;
use cairn_store::on_both_engines;

mod common;
use cairn_store::*;
use common::frame;
use std::path::{Path, PathBuf};

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.cairn");
    (dir, path)
}

fn hash(n: u8) -> ContentHash {
    ContentHash([n; 16])
}

fn comparison(tag: &str) -> ItemData {
    ItemData::Comparison(Comparison {
        messages: vec![Message::text(Role::User, format!("question {tag}"))],
        responses: vec![Response::new(Some("m1"), "one"), Response::new(Some("m2"), "two")],
        metadata: serde_json::Value::Null,
    })
}

/// A project with `n` comparisons and one human annotator.
fn project_with_items(path: &Path, n: usize) -> (Project, Vec<ItemId>, AnnotatorId) {
    let mut p = Project::create(path).unwrap();
    let items = p
        .bulk_import(|b| {
            let ds = b.ensure_dataset("prefs", Modality::Comparison)?;
            (0..n).map(|i| b.insert_item(ds, &format!("k{i}"), hash(i as u8), &comparison(&i.to_string())).map(|r| r.id())).collect()
        })
        .unwrap();
    let ann = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    (p, items, ann)
}

fn verdict(w: Winner) -> Payload {
    Payload::Verdict(PairwiseVerdict::new(w))
}

fn winner_of(p: &Project, id: AnnotationId) -> Option<Winner> {
    p.annotation(id).unwrap().map(|a| match a.payload {
        Payload::Verdict(v) => v.winner,
        other => panic!("unexpected {other:?}"),
    })
}

on_both_engines! {
fn create_then_open_keeps_the_schema_and_refuses_to_overwrite(scratch) {
    let path = scratch.location.clone();
    Project::create(&path).unwrap();
    assert!(matches!(Project::create(&path), Err(StoreError::AlreadyExists { .. })));
    let p = Project::open(&path).unwrap();
    match p.engine() {
        Engine::Sqlite => assert_eq!(p.name().unwrap(), "p"),
        Engine::Postgres => assert!(p.name().unwrap().starts_with("cairn_test_"), "a server project is named after its database"),
    }
    let info = p.info().unwrap();
    assert_eq!(info.schema_version, SCHEMA_VERSION);
    assert!((now_ms() - info.created_at_ms).abs() < 60_000, "created just now: {}", info.created_at_ms);
    assert_eq!(p.integrity_check().unwrap(), ["ok"]);
    // How the file is kept (a server keeps its own pages).
    if let Some(c) = p.sqlite_connection() {
        let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "interactive commits must be synchronous FULL");
        let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }
}
}

on_both_engines! {
fn edits_append_revisions_and_undo_redo_walk_them(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 2);
    let c = p.apply(ann, 1200, Edit::Create { item: items[0], payload: verdict(Winner::A) }).unwrap();
    p.apply(ann, 300, Edit::Update { annotation: c.annotation, payload: verdict(Winner::B), seen: None }).unwrap();
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::B));

    let u = p.undo(ann).unwrap().unwrap();
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::A));
    assert_eq!(u.annotation, Some(c.annotation));
    p.undo(ann).unwrap().unwrap();
    assert_eq!(winner_of(&p, c.annotation), None, "undoing the create removes the annotation");
    assert!(p.undo(ann).unwrap().is_none(), "nothing left to undo");
    p.redo(ann).unwrap().unwrap();
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::A));

    let history = p.history(Some(ann)).unwrap();
    let actions: Vec<_> = history.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["create", "update", "undo", "undo", "redo"]);
    assert_eq!(history[0].active_ms, 1200);
    assert!(p.check_derived_state().unwrap().is_empty());
}
}

on_both_engines! {
fn undo_and_redo_survive_a_restart(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 1);
    let c = p.apply(ann, 0, Edit::Create { item: items[0], payload: verdict(Winner::A) }).unwrap();
    p.apply(ann, 0, Edit::Update { annotation: c.annotation, payload: verdict(Winner::Tie), seen: None }).unwrap();
    p.undo(ann).unwrap();
    drop(p);

    let mut p = Project::open(&path).unwrap();
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::A));
    p.redo(ann).unwrap().unwrap();
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::Tie));
    drop(p);
    let mut p = Project::open(&path).unwrap();
    p.undo(ann).unwrap().unwrap();
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::A));
}
}

on_both_engines! {
fn a_new_edit_clears_the_redo_stack(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 2);
    p.apply(ann, 0, Edit::Create { item: items[0], payload: verdict(Winner::A) }).unwrap();
    p.undo(ann).unwrap().unwrap();
    p.apply(ann, 0, Edit::Create { item: items[1], payload: verdict(Winner::B) }).unwrap();
    assert!(p.redo(ann).unwrap().is_none());
    let states: Vec<_> = p.history(Some(ann)).unwrap().into_iter().map(|r| r.state).collect();
    assert_eq!(states, ["dropped", "fixed", "done"]);
}
}

on_both_engines! {
fn undo_is_per_annotator_and_refuses_to_clobber_a_later_edit(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ana) = project_with_items(&path, 1);
    let bob = p.ensure_annotator("bob", AnnotatorKind::Human).unwrap();
    let c = p.apply(ana, 0, Edit::Create { item: items[0], payload: verdict(Winner::A) }).unwrap();
    assert!(p.undo(bob).unwrap().is_none(), "bob has nothing to undo");
    p.apply(bob, 0, Edit::Update { annotation: c.annotation, payload: verdict(Winner::B), seen: None }).unwrap();
    let err = p.undo(ana).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::B), "the refused undo changed nothing");
    p.undo(bob).unwrap().unwrap();
    p.undo(ana).unwrap().unwrap();
    assert_eq!(winner_of(&p, c.annotation), None);
}
}

on_both_engines! {
fn invalid_payloads_are_refused_with_the_field_named(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 1);
    let mut v = PairwiseVerdict::new(Winner::A);
    v.b = 5;
    let err = p.apply(ann, 0, Edit::Create { item: items[0], payload: Payload::Verdict(v) }).unwrap_err();
    assert!(err.to_string().contains("b: response 5 does not exist"), "{err}");
    assert!(p.history(None).unwrap().is_empty());
    let err = p.apply(ann, 0, Edit::Create { item: ItemId(999), payload: verdict(Winner::A) }).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { what: "item", .. }), "{err}");
}
}

on_both_engines! {
fn point_labels_are_chunked_and_undoable(scratch) {
    let path = scratch.location.clone();
    let mut p = Project::create(&path).unwrap();
    let points = POINT_LABEL_CHUNK as u64 + 10;
    let item = p
        .bulk_import(|b| {
            let ds = b.ensure_dataset("scans", Modality::PointCloud)?;
            b.insert_item(ds, "a.las", hash(200), &frame(points)).map(|r| r.id())
        })
        .unwrap();
    let ann = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let first = PointLabelChunk { chunk: 0, labels: vec![3; POINT_LABEL_CHUNK as usize] };
    let tail = PointLabelChunk { chunk: 1, labels: vec![7; 10] };
    p.set_point_labels(ann, item, 50, &[first.clone(), tail.clone()]).unwrap();
    let repaint = PointLabelChunk { chunk: 1, labels: vec![9; 10] };
    p.set_point_labels(ann, item, 50, std::slice::from_ref(&repaint)).unwrap();
    assert_eq!(p.point_labels(item).unwrap(), [first.clone(), repaint]);
    assert_eq!(p.point_labels(item).unwrap().len(), 2, "one row per chunk, not per point");

    p.undo(ann).unwrap().unwrap();
    assert_eq!(p.point_labels(item).unwrap(), [first.clone(), tail.clone()]);
    p.undo(ann).unwrap().unwrap();
    assert!(p.point_labels(item).unwrap().is_empty());
    p.redo(ann).unwrap().unwrap();
    assert_eq!(p.point_labels(item).unwrap(), [first, tail]);
    assert!(p.check_derived_state().unwrap().is_empty());

    let too_long = PointLabelChunk { chunk: 1, labels: vec![1; 11] };
    let err = p.set_point_labels(ann, item, 0, &[too_long]).unwrap_err();
    assert!(err.to_string().contains("has 65546 points"), "{err}");
}
}

on_both_engines! {
fn a_failed_bulk_import_leaves_nothing_behind(scratch) {
    let path = scratch.location.clone();
    let (mut p, _, _) = project_with_items(&path, 3);
    let result: Result<()> = p.bulk_import(|b| {
        let ds = b.ensure_dataset("more", Modality::Comparison)?;
        b.insert_item(ds, "x", hash(201), &comparison("x"))?;
        Err(StoreError::Invalid { what: "test".into(), findings: vec![] })
    });
    assert!(result.is_err());
    assert_eq!(p.item_count().unwrap(), 3);
    assert_eq!(p.datasets().unwrap().len(), 1);
}
}

#[test]
fn bulk_imports_leave_the_project_in_wal_mode_and_work_beside_other_readers() {
    let (_d, path) = temp();
    let (mut p, _, _) = project_with_items(&path, 10);
    let mode: String = p.sqlite_connection().unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // Another connection in the file: the import keeps WAL and still lands.
    let reader = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(reader.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0)).unwrap(), 10);
    p.bulk_import(|b| {
        let ds = b.ensure_dataset("more", Modality::Comparison)?;
        b.insert_item(ds, "x", hash(99), &comparison("x")).map(|_| ())
    })
    .unwrap();
    assert_eq!(reader.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0)).unwrap(), 11);
    let mode: String = p.sqlite_connection().unwrap().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_project_opens_and_waits_while_another_process_bulk_imports() {
    let (_d, path) = temp();
    let (p, items, ann) = project_with_items(&path, 3);
    drop(p);
    // What a bulk import in another process looks like: rollback journal, write transaction open.
    let importer = rusqlite::Connection::open(&path).unwrap();
    let mode: String = importer.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
    importer.execute_batch("BEGIN IMMEDIATE; INSERT INTO meta VALUES ('importing', '1');").unwrap();
    let mut p = Project::open(&path).expect("opening does not fail while another process imports");
    assert_eq!(p.item_count().unwrap(), 3, "reads see the last committed state");
    let writer = std::thread::spawn(move || p.apply(ann, 0, Edit::Create { item: items[0], payload: verdict(Winner::A) }).map(|_| p));
    std::thread::sleep(std::time::Duration::from_millis(300));
    importer.execute_batch("COMMIT; PRAGMA journal_mode = WAL;").unwrap();
    let p = writer.join().unwrap().expect("the edit waited for the import and then landed");
    assert_eq!(p.history(None).unwrap().len(), 1);
}

on_both_engines! {
fn same_content_is_stored_once_and_imported_labels_once(scratch) {
    let path = scratch.location.clone();
    let mut p = Project::create(&path).unwrap();
    for _ in 0..2 {
        p.bulk_import(|b| {
            let ds = b.ensure_dataset("prefs", Modality::Comparison)?;
            let src = b.ensure_annotator("import:hh-rlhf", AnnotatorKind::Source)?;
            let item = b.insert_item(ds, "k", hash(202), &comparison("q"))?;
            b.import_annotation(item, src, &verdict(Winner::A))?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }
    assert_eq!(p.item_count().unwrap(), 1);
    let status = p.status().unwrap();
    assert_eq!(status.datasets[0].items, 1);
    assert_eq!(status.datasets[0].with_source_labels, 1);
    assert_eq!(status.datasets[0].labelled, 0, "source labels are not human work");
    assert_eq!(status.annotators[0].annotations, 1);
    assert!(p.check_derived_state().unwrap().is_empty());
}
}

on_both_engines! {
fn streaming_reads_follow_import_order(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 5);
    for &item in items.iter().rev() {
        p.apply(ann, 0, Edit::Create { item, payload: verdict(Winner::A) }).unwrap();
    }
    let mut seen = Vec::new();
    p.for_each_annotation::<StoreError>(Some(PayloadKind::Verdict), |a| {
        seen.push(a.item);
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, items);
    let mut keys = Vec::new();
    p.for_each_item::<StoreError>(None, |i| {
        keys.push(i.key);
        Ok(())
    })
    .unwrap();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
}
}

on_both_engines! {
fn a_dataset_keeps_one_modality(scratch) {
    let path = scratch.location.clone();
    let mut p = Project::create(&path).unwrap();
    p.ensure_dataset("d", Modality::Comparison).unwrap();
    let err = p.ensure_dataset("d", Modality::PointCloud).unwrap_err();
    assert!(err.to_string().contains("dataset 'd' holds comparison items"), "{err}");
}
}

on_both_engines! {
fn assignments_keep_the_first_order_shown(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 1);
    let a = p.assign(items[0], ann, &[1, 0]).unwrap();
    let again = p.assign(items[0], ann, &[0, 1]).unwrap();
    assert_eq!(a, again);
    assert_eq!(again.shown_order, [1, 0]);
}
}

// --- files that must be refused, and left as they were ---

fn assert_refused_untouched(path: &Path, expect: &str) {
    let before = std::fs::read(path).unwrap();
    let err = match Project::open(path) {
        Ok(p) => match p.status() {
            Ok(_) => panic!("{} opened", path.display()),
            Err(e) => e,
        },
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(msg.contains(expect), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "the error names the file: {msg}");
    assert!(std::fs::read(path).unwrap() == before, "{} was changed", path.display());
}

#[test]
fn a_file_that_is_not_sqlite_is_refused() {
    let (_d, path) = temp();
    std::fs::write(&path, "name,value\nhello,1\n".repeat(20)).unwrap();
    assert_refused_untouched(&path, "not an SQLite database");
    std::fs::write(&path, "").unwrap();
    assert_refused_untouched(&path, "the file is empty");
}

#[test]
fn another_programs_sqlite_file_is_refused() {
    let (_d, path) = temp();
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    drop(c);
    assert_refused_untouched(&path, "written by another program");
}

#[test]
fn a_project_from_a_newer_schema_is_refused() {
    let (_d, path) = temp();
    drop(Project::create(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(c);
    assert_refused_untouched(&path, &format!("project schema {}, this build reads up to {SCHEMA_VERSION}", SCHEMA_VERSION + 1));
}

#[test]
fn a_damaged_project_is_refused() {
    let (_d, path) = temp();
    let (p, _, _) = project_with_items(&path, 2000);
    drop(p);
    // Move everything from the WAL into the main file, then scribble over the pages after the first one.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(c);
    let mut bytes = std::fs::read(&path).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for b in &mut bytes[page..] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    assert_refused_untouched(&path, "damaged");
}

#[test]
fn a_writer_waits_for_another_writers_transaction() {
    let (_d, path) = temp();
    let (p, items, ann) = project_with_items(&path, 1);
    drop(p);
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO meta VALUES ('held', '1');").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let writer_path = path.clone();
    let item = items[0];
    let writer = std::thread::spawn(move || {
        let mut p = Project::open(&writer_path).unwrap();
        tx.send(()).unwrap();
        let started = std::time::Instant::now();
        p.apply(ann, 0, Edit::Create { item, payload: verdict(Winner::A) }).map(|_| started.elapsed())
    });
    rx.recv().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    holder.execute_batch("COMMIT").unwrap();
    let waited = writer.join().unwrap().expect("the second writer waits instead of failing");
    assert!(waited >= std::time::Duration::from_millis(300), "it waited {waited:?}");
    let p = Project::open(&path).unwrap();
    assert_eq!(p.annotations_of(items[0]).unwrap().len(), 1);
}

on_both_engines! {
fn a_batch_of_edits_is_undone_and_redone_whole(scratch) {
    let path = scratch.location.clone();
    let (mut p, items, ann) = project_with_items(&path, 3);
    let alone = p.apply(ann, 0, Edit::Create { item: items[0], payload: verdict(Winner::A) }).unwrap();
    let batch = p
        .apply_all(
            ann,
            500,
            &[
                Edit::Create { item: items[1], payload: verdict(Winner::B) },
                Edit::Create { item: items[2], payload: verdict(Winner::Tie) },
                Edit::Update { annotation: alone.annotation, payload: verdict(Winner::BothBad), seen: None },
            ],
        )
        .unwrap();
    assert_eq!(batch.len(), 3);
    let u = p.undo(ann).unwrap().unwrap();
    assert_eq!(u.steps, 3);
    assert_eq!(u.reverted, batch[2].revision, "undo starts from the newest of the batch");
    assert_eq!(winner_of(&p, alone.annotation), Some(Winner::A));
    assert_eq!(winner_of(&p, batch[0].annotation), None);
    assert_eq!(winner_of(&p, batch[1].annotation), None);
    let r = p.redo(ann).unwrap().unwrap();
    assert_eq!((r.steps, r.reverted), (3, batch[0].revision));
    assert_eq!(winner_of(&p, alone.annotation), Some(Winner::BothBad));
    assert_eq!(winner_of(&p, batch[1].annotation), Some(Winner::Tie));
    // Outside the batch, one step at a time again.
    p.undo(ann).unwrap();
    let single = p.undo(ann).unwrap().unwrap();
    assert_eq!((single.steps, single.reverted), (1, alone.revision));
    assert!(p.check_derived_state().unwrap().is_empty());
    let history = p.history(Some(ann)).unwrap();
    assert_eq!(history[1].active_ms, 500);
    // A refused edit inside a batch stores none of it.
    let before = p.history(None).unwrap().len();
    let bad = p.apply_all(
        ann,
        0,
        &[
            Edit::Create { item: items[1], payload: verdict(Winner::A) },
            Edit::Update { annotation: AnnotationId(9_999), payload: verdict(Winner::A), seen: None },
        ],
    );
    assert!(bad.is_err());
    assert_eq!(p.history(None).unwrap().len(), before);
}
}

#[test]
fn a_version_2_file_is_brought_up_to_date_and_its_edits_undo_one_by_one() {
    let (_d, path) = temp();
    let (mut p, items, ann) = project_with_items(&path, 1);
    let c = p.apply(ann, 0, Edit::Create { item: items[0], payload: verdict(Winner::A) }).unwrap();
    p.apply(ann, 0, Edit::Update { annotation: c.annotation, payload: verdict(Winner::B), seen: None }).unwrap();
    drop(p);
    // Back to schema 2: without the batch column (nor the lease, from version 4).
    let c2 = rusqlite::Connection::open(&path).unwrap();
    c2.execute_batch("ALTER TABLE revisions DROP COLUMN batch; ALTER TABLE assignments DROP COLUMN lease_until; PRAGMA user_version = 2;").unwrap();
    drop(c2);
    let mut p = Project::open(&path).unwrap();
    let u = p.undo(ann).unwrap().unwrap();
    assert_eq!(u.steps, 1);
    assert_eq!(winner_of(&p, c.annotation), Some(Winner::A));
    let version: u32 = p.sqlite_connection().unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

on_both_engines! {
fn the_largest_track_id_counts_live_boxes_only(scratch) {
    let path = scratch.location.clone();
    let mut p = Project::create(&path).unwrap();
    let ann = p.ensure_annotator("a", AnnotatorKind::Human).unwrap();
    let item = p
        .bulk_import(|bulk| {
            let ds = bulk.ensure_dataset("frames", Modality::PointCloud)?;
            bulk.insert_item(ds, "f0", hash(1), &frame(100))
        })
        .unwrap()
        .id();
    assert_eq!(p.max_track_id().unwrap(), 0);
    let boxed = |track: Option<u64>| {
        Payload::Cuboid(Cuboid {
            center: [1.0, 2.0, 0.5],
            size: [4.0, 2.0, 1.5],
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            class: "car".into(),
            attributes: Default::default(),
            track_id: track,
        })
    };
    p.apply(ann, 0, Edit::Create { item, payload: boxed(Some(3)) }).unwrap();
    let seven = p.apply(ann, 0, Edit::Create { item, payload: boxed(Some(7)) }).unwrap();
    p.apply(ann, 0, Edit::Create { item, payload: boxed(None) }).unwrap();
    assert_eq!(p.max_track_id().unwrap(), 7);
    p.apply(ann, 0, Edit::Delete { annotation: seven.annotation, seen: None }).unwrap();
    assert_eq!(p.max_track_id().unwrap(), 3);
}
}

/// Checks one stored enum: each variant's text parses back to it, displays and serializes as it,
/// and goes through SQLite both ways. Returns the texts, in declaration order.
fn stored_texts<T>(conn: &rusqlite::Connection, all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>) -> Vec<&'static str>
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + serde::Serialize + rusqlite::ToSql + rusqlite::types::FromSql,
{
    all.iter()
        .map(|&variant| {
            let text = as_str(variant);
            assert_eq!(parse(text), Some(variant));
            assert_eq!(variant.to_string(), text);
            assert_eq!(serde_json::to_value(variant).unwrap(), text);
            let bound: String = conn.query_row("SELECT ?1", [variant], |r| r.get(0)).unwrap();
            assert_eq!(bound, text);
            let read: T = conn.query_row("SELECT ?1", [text], |r| r.get(0)).unwrap();
            assert_eq!(read, variant);
            text
        })
        .collect()
}

/// The texts `CHECK (column IN (…))` allows in `table`, from the definition SQLite keeps.
fn allowed_by_schema(conn: &rusqlite::Connection, table: &str, column: &str) -> Vec<String> {
    let sql: String = conn.query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0)).unwrap();
    let list = sql.split_once(&format!("{column} IN (")).unwrap().1.split_once(')').unwrap().0;
    list.split(',').map(|text| text.trim().trim_matches('\'').to_owned()).collect()
}

/// The texts are the file format: they are spelled out here, and must be what the schema allows.
#[test]
fn stored_enums_round_trip_and_match_the_schema() {
    let (_d, path) = temp();
    let p = Project::create(&path).unwrap();
    let conn = p.sqlite_connection().unwrap();

    let actions = stored_texts(conn, RevisionAction::ALL, RevisionAction::as_str, RevisionAction::parse);
    assert_eq!(actions, ["import", "create", "update", "delete", "labels", "undo", "redo"]);
    assert_eq!(actions, allowed_by_schema(conn, "revisions", "action"));

    let states = stored_texts(conn, RevisionState::ALL, RevisionState::as_str, RevisionState::parse);
    assert_eq!(states, ["done", "undone", "dropped", "fixed"]);
    assert_eq!(states, allowed_by_schema(conn, "revisions", "state"));

    let statuses = stored_texts(conn, AssignmentStatus::ALL, AssignmentStatus::as_str, AssignmentStatus::parse);
    assert_eq!(statuses, ["open", "done", "skipped"]);
    assert_eq!(statuses, allowed_by_schema(conn, "assignments", "state"));

    assert_eq!(RevisionState::parse("Done"), None);
    let unknown = conn.query_row("SELECT 'finished'", [], |r| r.get::<_, AssignmentStatus>(0));
    assert!(unknown.unwrap_err().to_string().contains("\"finished\" is not a known assignment state"));
}

/// Rows spelled out as text, the way earlier builds wrote them, read as the same enums, and undo and
/// the queue find them.
#[test]
fn a_file_with_every_stored_text_reads_and_undoes_as_before() {
    let (_d, path) = temp();
    let (p, items, ana) = project_with_items(&path, 2);
    drop(p);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("INSERT INTO annotators (name, kind, created_at) VALUES ('import:file', 'source', 0)", []).unwrap();
    let source = c.last_insert_rowid();
    let a = serde_json::to_string(&verdict(Winner::A)).unwrap();
    c.execute(
        "INSERT INTO annotations (id, item_id, annotator_id, kind, payload, revision_id) VALUES (1, ?1, ?2, 'verdict', ?3, 1)",
        rusqlite::params![items[0].0, ana.0, a],
    )
    .unwrap();
    c.execute(
        "INSERT INTO revisions (id, annotator_id, at_ms, action, annotation_id, item_id, after, state) VALUES (1, ?1, 0, 'create', 1, ?2, ?3, 'done')",
        rusqlite::params![ana.0, items[0].0, a],
    )
    .unwrap();
    // History only, by another annotator: every other action and state.
    for (action, state) in
        [("import", "fixed"), ("update", "dropped"), ("delete", "undone"), ("labels", "fixed"), ("undo", "fixed"), ("redo", "fixed")]
    {
        c.execute(
            "INSERT INTO revisions (annotator_id, at_ms, action, item_id, state) VALUES (?1, 0, ?2, ?3, ?4)",
            rusqlite::params![source, action, items[1].0, state],
        )
        .unwrap();
    }
    c.execute_batch(&format!(
        "INSERT INTO assignments (item_id, annotator_id, shown_order, created_at, state, skip_reason) VALUES
           ({i0}, {ana}, '[0,1]', 0, 'done', NULL), ({i1}, {ana}, '[1,0]', 0, 'open', NULL), ({i0}, {source}, '[0,1]', 0, 'skipped', 'cut off');",
        i0 = items[0].0,
        i1 = items[1].0,
        ana = ana.0,
    ))
    .unwrap();
    drop(c);

    let mut p = Project::open(&path).unwrap();
    let history: Vec<_> = p.history(None).unwrap().into_iter().map(|r| (r.action, r.state)).collect();
    use {RevisionAction as A, RevisionState as S};
    assert_eq!(
        history,
        [
            (A::Create, S::Done),
            (A::Import, S::Fixed),
            (A::Update, S::Dropped),
            (A::Delete, S::Undone),
            (A::Labels, S::Fixed),
            (A::Undo, S::Fixed),
            (A::Redo, S::Fixed)
        ]
    );
    assert!(p.check_derived_state().unwrap().is_empty());
    let statuses: Vec<_> = p.assignments(None).unwrap().into_iter().map(|s| s.state).collect();
    assert_eq!(statuses, [AssignmentStatus::Done, AssignmentStatus::Open, AssignmentStatus::Skipped]);

    let open = p.next_assignment(ana, &QueuePolicy::default()).unwrap().unwrap();
    assert_eq!((open.item, open.shown_order.as_slice()), (items[1], &[1, 0][..]), "the open assignment comes back");
    let undone = p.undo(ana).unwrap().unwrap();
    assert_eq!(undone.reverted, RevisionId(1));
    assert_eq!(winner_of(&p, AnnotationId(1)), None);
    p.skip(open.id, "unclear").unwrap();

    // What this build wrote is the same text.
    let text = |sql: &str| -> (String, String) { p.sqlite_connection().unwrap().query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap() };
    assert_eq!(text("SELECT action, state FROM revisions WHERE id = 1"), ("create".into(), "undone".into()));
    assert_eq!(text("SELECT action, state FROM revisions ORDER BY id DESC LIMIT 1"), ("undo".into(), "fixed".into()));
    assert_eq!(text(&format!("SELECT state, skip_reason FROM assignments WHERE id = {}", open.id.0)), ("skipped".into(), "unclear".into()));
}
