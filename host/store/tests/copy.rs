//! `copy_to` round trips, file → (either engine) → file: the same records, statistics, history and
//! undo state at the end as at the start.

use cairn_model::*;
use cairn_store::*;

mod common;
use common::frame;

fn records(p: &Project) -> Vec<String> {
    let mut out = Vec::new();
    p.for_each_record::<StoreError>(&[], &[], |r| {
        out.push(serde_json::to_string(&r).unwrap());
        Ok(())
    })
    .unwrap();
    out
}

/// A project with a bit of everything: imported labels, judgments through the queue, an undone
/// edit waiting for redo, a batch, point labels, a skipped and a flagged assignment.
fn rich_project(path: &std::path::Path) -> (Project, AnnotatorId, ItemId) {
    let mut p = Project::create(path).unwrap();
    let frame_item = p
        .bulk_import(|b| {
            let ds = b.ensure_dataset("prefs", Modality::Comparison)?;
            let source = b.ensure_annotator("import:hh", AnnotatorKind::Source)?;
            for i in 0..30 {
                let c = Comparison {
                    messages: vec![Message::text(Role::User, format!("question {i} — naïve"))],
                    responses: vec![Response::new(Some("m1"), format!("a{i}")), Response::new(Some("m2"), format!("b{i}"))],
                    metadata: serde_json::json!({"i": i}),
                };
                let hash = comparison_content_hash(&c);
                let item = b.insert_item(ds, &format!("k{i}"), hash, &ItemData::Comparison(c))?;
                b.import_annotation(item, source, &Payload::Verdict(PairwiseVerdict::new(Winner::A)))?;
            }
            let scans = b.ensure_dataset("scans", Modality::PointCloud)?;
            Ok::<_, StoreError>(b.insert_item(scans, "a.las", ContentHash([9; 16]), &frame(100))?.id())
        })
        .unwrap();
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let policy = QueuePolicy::default();
    for n in 0..12 {
        let a = p.next_assignment(ana, &policy).unwrap().unwrap();
        match n {
            3 => p.skip(a.id, "unclear").unwrap(),
            _ => {
                p.flag(a.id, n == 5).unwrap();
                let v = PairwiseVerdict::from_shown(&a.shown_order, 0, 1, if n % 2 == 0 { Winner::A } else { Winner::B });
                p.submit(&a, 500 + n, &[Edit::Create { item: a.item, payload: Payload::Verdict(v) }]).unwrap();
            }
        }
    }
    p.set_point_labels(ana, frame_item, 40, &[PointLabelChunk { chunk: 0, labels: vec![4; 100] }]).unwrap();
    let judged: Vec<_> = p.assignments(Some(ana)).unwrap().into_iter().filter(|a| a.state == AssignmentStatus::Done).collect();
    let edits: Vec<Edit> = judged[..2]
        .iter()
        .map(|a| {
            let annotation = p.annotations_of(a.assignment.item).unwrap().into_iter().find(|x| x.annotator == ana).unwrap();
            Edit::Update { annotation: annotation.id, payload: Payload::Verdict(PairwiseVerdict::new(Winner::Tie)), seen: Some(annotation.revision) }
        })
        .collect();
    p.apply_all(ana, 20, &edits).unwrap();
    p.undo(ana).unwrap().unwrap();
    (p, ana, frame_item)
}

fn snapshot(p: &Project) -> (Vec<String>, String, String, String, String) {
    let quality =
        serde_json::to_string(&p.quality(&QualityOptions { gold_annotator: Some("import:hh".into()), ..QualityOptions::default() }).unwrap())
            .unwrap();
    let mut status = p.status().unwrap();
    status.project.name.clear();
    (
        records(p),
        quality,
        serde_json::to_string(&p.history(None).unwrap()).unwrap(),
        format!("{:?}", p.assignments(None).unwrap()),
        serde_json::to_string(&status.datasets).unwrap() + &serde_json::to_string(&status.annotators).unwrap(),
    )
}

cairn_store::on_both_engines! {
fn a_project_copied_there_and_back_is_the_same_project(scratch) {
    let dir = tempfile::tempdir().unwrap();
    let (original, ana, frame_item) = rich_project(&dir.path().join("original.cairn"));
    let before = snapshot(&original);

    let (middle, report) = original.copy_to(&scratch.location).unwrap();
    assert!(report.rows() > 100, "{report:?}");
    assert_eq!(snapshot(&middle), before, "the copy reads as the original");
    assert!(middle.check_derived_state().unwrap().is_empty());
    assert!(middle.check_items().unwrap().is_empty());
    let (mut back, again) = middle.copy_to(dir.path().join("back.cairn")).unwrap();
    assert_eq!(again, report, "the same rows both ways");
    assert_eq!(snapshot(&back), before);
    assert_eq!(back.name().unwrap(), "original", "the project keeps its name");
    let data_dir = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(middle.base_dir(), data_dir, "relative source paths still resolve against the original's directory");
    assert_eq!(back.base_dir(), data_dir);
    assert_eq!(back.point_labels(frame_item).unwrap(), original.point_labels(frame_item).unwrap());

    // The undo state came along: the undone batch redoes whole, then undo walks on.
    let redo = back.redo(ana).unwrap().unwrap();
    assert_eq!(redo.steps, 2);
    let undo = back.undo(ana).unwrap().unwrap();
    assert_eq!(undo.steps, 2);
    // New rows after the copy take new ids (the server's sequences go on after the copied ones).
    let mut middle = middle;
    let ben = middle.ensure_annotator("ben", AnnotatorKind::Human).unwrap();
    let a = middle.next_assignment(ben, &QueuePolicy::default()).unwrap().unwrap();
    middle.submit(&a, 1, &[Edit::Create { item: a.item, payload: Payload::Verdict(PairwiseVerdict::new(Winner::B)) }]).unwrap();
    assert!(middle.check_derived_state().unwrap().is_empty());
}
}

#[test]
fn a_copy_onto_an_existing_project_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (original, _, _) = rich_project(&dir.path().join("original.cairn"));
    let other = dir.path().join("other.cairn");
    drop(Project::create(&other).unwrap());
    let Err(err) = original.copy_to(&other) else { panic!("copied onto a project") };
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert!(records(&Project::open(&other).unwrap()).is_empty());
}
