//! A team on one project, each person on a connection of their own: the queue's overlap under
//! concurrency, claims that expire, edits that would overwrite someone else's, and live updates.
//! Every test runs on both engines.

use cairn_model::{AnnotatorKind, ItemId, PairwiseVerdict, Payload, Winner};
use cairn_store::{AssignmentStatus, Edit, LEASE_EXPIRED, Project, QueuePolicy, StoreError, on_both_engines};

mod common;
use common::project_with_comparisons;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn verdict_for(a: &cairn_model::Assignment) -> Edit {
    Edit::Create { item: a.item, payload: Payload::Verdict(PairwiseVerdict::from_shown(&a.shown_order, 0, 1, Winner::A)) }
}

on_both_engines! {
/// 20 annotators on 20 connections judge 500 items with overlap 3. Three of them walk away holding
/// an item (their connection closes, nothing submitted): the lease gives those items to others. A
/// worker held up past its lease (the file serializes all 20) has its late submission refused, and
/// goes on.
fn twenty_annotators_fill_every_item_exactly_to_overlap(scratch) {
    const ITEMS: usize = 500;
    const OVERLAP: usize = 3;
    const WORKERS: usize = 20;
    const WALKERS: usize = 3;
    let setup = project_with_comparisons(&scratch.location, ITEMS);
    drop(setup);
    let policy = QueuePolicy { overlap: OVERLAP as u32, lease_ms: 1500, ..QueuePolicy::default() };
    let submitted = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (location, policy, submitted, start) = (scratch.location.clone(), policy.clone(), submitted.clone(), start.clone());
            std::thread::spawn(move || {
                let mut p = Project::open(&location).unwrap();
                let me = p.ensure_annotator(&format!("w{w}"), AnnotatorKind::Human).unwrap();
                start.wait();
                let mut done = 0;
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    assert!(Instant::now() < deadline, "worker {w} still waiting after 120 s");
                    match p.next_assignment(me, &policy).unwrap() {
                        // Walkers take a few items, then leave with one open.
                        Some(a) if w < WALKERS && done == 5 => return (done, Some((me, a.item))),
                        Some(a) => match p.submit(&a, 10, &[verdict_for(&a)]) {
                            Ok(_) => {
                                done += 1;
                                submitted.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(StoreError::Assignment { message, .. }) if message.contains("lease ran out") => {}
                            Err(e) => panic!("worker {w}: {e}"),
                        },
                        None if submitted.load(Ordering::SeqCst) >= ITEMS * OVERLAP => return (done, None),
                        // Items held by walkers come back when their lease runs out.
                        None => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        })
        .collect();
    let ends: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(ends.iter().map(|e| e.0).sum::<usize>(), ITEMS * OVERLAP, "{ends:?}");
    // SQLite does not queue writers fairly: a walker can be kept waiting until the work is done.
    let left: Vec<_> = ends.iter().filter_map(|e| e.1).collect();
    assert!(!left.is_empty(), "no walker got to walk away: {ends:?}");

    let p = Project::open(&scratch.location).unwrap();
    let mut judges: HashMap<ItemId, Vec<String>> = HashMap::new();
    let names: HashMap<_, _> = p.annotators().unwrap().into_iter().map(|a| (a.id, a.name)).collect();
    for item in 1..=ITEMS as i64 {
        for a in p.annotations_of(ItemId(item)).unwrap() {
            judges.entry(ItemId(item)).or_default().push(names[&a.annotator].clone());
        }
    }
    assert_eq!(judges.len(), ITEMS, "every item judged");
    for (item, who) in &judges {
        assert_eq!(who.len(), OVERLAP, "item {item}: {who:?}");
        assert_eq!(who.iter().collect::<HashSet<_>>().len(), OVERLAP, "item {item} judged twice by one annotator: {who:?}");
    }
    // The walkers' open items went to others: their assignments say so.
    let expired: Vec<_> = p.assignments(None).unwrap().into_iter().filter(|a| a.skip_reason.as_deref() == Some(LEASE_EXPIRED)).collect();
    for (walker, item) in &left {
        let theirs = expired.iter().find(|a| a.assignment.annotator == *walker).map(|a| a.assignment.item);
        assert_eq!(theirs, Some(*item), "walker {walker}'s item went to another: {expired:?}");
    }
    assert!(p.check_derived_state().unwrap().is_empty());
    assert!(p.check_items().unwrap().is_empty());
}
}

on_both_engines! {
fn a_lease_that_ran_out_gives_the_item_away_and_refuses_the_late_submission(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 1);
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let ben = p.ensure_annotator("ben", AnnotatorKind::Human).unwrap();
    let policy = QueuePolicy { lease_ms: 150, ..QueuePolicy::default() };
    let mine = p.next_assignment(ana, &policy).unwrap().unwrap();
    // Renewed while ana works: ben finds nothing.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(80));
        p.renew_lease(mine.id, &policy).unwrap();
        assert!(p.next_assignment(ben, &policy).unwrap().is_none(), "a renewed lease keeps the item ana's");
    }
    std::thread::sleep(Duration::from_millis(200));
    let his = p.next_assignment(ben, &policy).unwrap().expect("the lease ran out: the item is ben's now");
    assert_eq!(his.item, mine.item);
    let err = p.submit(&mine, 10, &[verdict_for(&mine)]).unwrap_err();
    assert!(err.to_string().contains("lease ran out"), "{err}");
    assert!(p.annotations_of(mine.item).unwrap().is_empty(), "the late judgment was not stored");
    p.submit(&his, 10, &[verdict_for(&his)]).unwrap();
    let states: Vec<_> = p.assignments(None).unwrap().into_iter().map(|a| a.state).collect();
    assert_eq!(states, [AssignmentStatus::Skipped, AssignmentStatus::Done]);
    // Submitting twice stores nothing twice.
    assert!(p.submit(&his, 10, &[verdict_for(&his)]).unwrap_err().to_string().contains("submitted already"));
    assert_eq!(p.annotations_of(his.item).unwrap().len(), 1);
}
}

on_both_engines! {
/// Two people change the same box from what they loaded: the first change wins, the second is
/// refused naming who changed it, and nothing of either is lost.
fn the_second_of_two_edits_from_the_same_version_is_refused(scratch) {
    let mut ana_side = project_with_comparisons(&scratch.location, 1);
    let ana = ana_side.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let mut ben_side = Project::open(&scratch.location).unwrap();
    let ben = ben_side.ensure_annotator("ben", AnnotatorKind::Human).unwrap();
    let verdict = |w| Payload::Verdict(PairwiseVerdict::new(w));
    let made = ana_side.apply(ana, 0, Edit::Create { item: ItemId(1), payload: verdict(Winner::A) }).unwrap();
    // Both load it.
    let loaded = ben_side.annotation(made.annotation).unwrap().unwrap().revision;
    assert_eq!(loaded, made.revision);
    let first = ana_side.apply(ana, 0, Edit::Update { annotation: made.annotation, payload: verdict(Winner::B), seen: Some(loaded) }).unwrap();
    let err = ben_side.apply(ben, 0, Edit::Update { annotation: made.annotation, payload: verdict(Winner::Tie), seen: Some(loaded) }).unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
    assert!(err.to_string().contains("changed by ana since you loaded it"), "{err}");
    let err = ben_side.apply(ben, 0, Edit::Delete { annotation: made.annotation, seen: Some(loaded) }).unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
    // Ben reloads and changes it from there.
    let now = ben_side.annotation(made.annotation).unwrap().unwrap();
    assert_eq!(now.revision, first.revision);
    assert_eq!(now.payload, verdict(Winner::B));
    ben_side.apply(ben, 0, Edit::Update { annotation: made.annotation, payload: verdict(Winner::Tie), seen: Some(now.revision) }).unwrap();
    // Ana's undo refuses to clobber ben's later change.
    assert!(matches!(ana_side.undo(ana), Err(StoreError::Conflict { .. })));
    assert_eq!(ana_side.history(None).unwrap().len(), 3);
    assert!(ana_side.check_derived_state().unwrap().is_empty());
}
}

on_both_engines! {
/// A change committed on one connection reaches a watcher on another within a second.
fn a_watcher_sees_what_another_connection_commits(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 3);
    let mut watcher = p.watch().unwrap();
    assert!(watcher.wait(Duration::from_millis(150)).unwrap().is_empty(), "nothing changed yet");
    let location = scratch.location.clone();
    let writer = std::thread::spawn(move || {
        let mut other = Project::open(&location).unwrap();
        let ben = other.ensure_annotator("ben", AnnotatorKind::Human).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let at = Instant::now();
        let made = other.apply(ben, 0, Edit::Create { item: ItemId(2), payload: Payload::Verdict(PairwiseVerdict::new(Winner::A)) }).unwrap();
        (made.revision, at)
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.is_empty() && Instant::now() < deadline {
        seen = watcher.wait(Duration::from_secs(1)).unwrap();
    }
    let noticed = Instant::now();
    let (revision, committed) = writer.join().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].revision, seen[0].item), (revision, ItemId(2)));
    let late = noticed.duration_since(committed);
    assert!(late < Duration::from_secs(1), "seen {late:?} after the commit");
    assert_eq!(watcher.cursor(), revision);
    // Catching up from a cursor gives the same.
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    p.apply(ana, 0, Edit::Create { item: ItemId(3), payload: Payload::Verdict(PairwiseVerdict::new(Winner::B)) }).unwrap();
    let caught = p.changes_since(revision).unwrap();
    assert_eq!(caught.len(), 1);
    assert_eq!(caught[0].item, ItemId(3));
}
}
