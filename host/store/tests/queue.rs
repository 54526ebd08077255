//! The judging queue against a real project file: overlap, resuming, gold checks, skipping, flagging,
//! and submissions that store the verdict and close the assignment together.

use cairn_model::{AnnotatorKind, PairwiseVerdict, Payload, Winner};
use cairn_store::{Edit, QueuePolicy, on_both_engines};

mod common;
use common::project_with_comparisons;

fn verdict_for(a: &cairn_model::Assignment, left_wins: bool) -> Edit {
    let winner = if left_wins { Winner::A } else { Winner::B };
    Edit::Create { item: a.item, payload: Payload::Verdict(PairwiseVerdict::from_shown(&a.shown_order, 0, 1, winner)) }
}

on_both_engines! {
fn each_item_goes_to_overlap_annotators_and_open_work_resumes(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 4);
    let people: Vec<_> = ["ana", "ben", "cy"].iter().map(|n| p.ensure_annotator(n, AnnotatorKind::Human).unwrap()).collect();
    let policy = QueuePolicy { overlap: 2, ..QueuePolicy::default() };
    let first = p.next_assignment(people[0], &policy).unwrap().unwrap();
    assert_eq!(p.next_assignment(people[0], &policy).unwrap().unwrap(), first, "an open assignment comes back");
    p.submit(&first, 1200, &[verdict_for(&first, true)]).unwrap();
    let mut holders = std::collections::HashMap::<_, u32>::new();
    *holders.entry(first.item).or_default() += 1;
    // Everyone works until the queue is empty.
    for _ in 0..20 {
        for &who in &people {
            if let Some(a) = p.next_assignment(who, &policy).unwrap() {
                *holders.entry(a.item).or_default() += 1;
                p.submit(&a, 900, &[verdict_for(&a, false)]).unwrap();
            }
        }
    }
    assert_eq!(holders.len(), 4);
    assert!(holders.values().all(|&n| n == 2), "{holders:?}");
    for &who in &people {
        assert!(p.next_assignment(who, &policy).unwrap().is_none());
    }
    // Submissions are ordinary revisions with their active time.
    let history = p.history(Some(people[0])).unwrap();
    assert_eq!(history[0].active_ms, 1200);
}
}

on_both_engines! {
fn a_submission_for_another_item_changes_nothing(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 2);
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let a = p.next_assignment(ana, &QueuePolicy::default()).unwrap().unwrap();
    let other = cairn_model::ItemId(a.item.0 + 1);
    let wrong = Edit::Create { item: other, payload: Payload::Verdict(PairwiseVerdict::new(Winner::A)) };
    let err = p.submit(&a, 10, &[verdict_for(&a, true), wrong]).unwrap_err();
    assert!(err.to_string().contains("not"), "{err}");
    assert!(p.annotations_of(a.item).unwrap().is_empty(), "the first edit was rolled back too");
    assert_eq!(p.assignments(Some(ana)).unwrap()[0].state, "open");
}
}

on_both_engines! {
fn skipped_items_go_to_others_and_flags_are_kept(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 2);
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let ben = p.ensure_annotator("ben", AnnotatorKind::Human).unwrap();
    let policy = QueuePolicy::default();
    let a = p.next_assignment(ana, &policy).unwrap().unwrap();
    assert!(!p.is_flagged(a.id).unwrap());
    p.flag(a.id, true).unwrap();
    assert!(p.is_flagged(a.id).unwrap());
    assert!(p.is_flagged(cairn_model::AssignmentId(a.id.0 + 1000)).is_err(), "an unknown assignment is an error");
    p.skip(a.id, "the prompt is cut off").unwrap();
    let next = p.next_assignment(ana, &policy).unwrap().unwrap();
    assert_ne!(next.item, a.item, "ana does not get the skipped item again");
    let b = p.next_assignment(ben, &policy).unwrap().unwrap();
    assert_eq!(b.item, a.item, "the skipped item is back in the queue for others");
    let states = p.assignments(Some(ana)).unwrap();
    assert_eq!(states[0].state, "skipped");
    assert_eq!(states[0].skip_reason.as_deref(), Some("the prompt is cut off"));
    assert!(states[0].flagged);
}
}

on_both_engines! {
fn every_nth_assignment_is_a_gold_check(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 12);
    let gold = p.ensure_annotator("gold", AnnotatorKind::Source).unwrap();
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    // Items 10..12 have reference answers.
    for item in 10..=12 {
        p.apply(gold, 0, Edit::Create { item: cairn_model::ItemId(item), payload: Payload::Verdict(PairwiseVerdict::new(Winner::A)) }).unwrap();
    }
    let policy = QueuePolicy { gold_annotator: Some(gold), gold_every: 3, ..QueuePolicy::default() };
    let mut seen = Vec::new();
    while let Some(a) = p.next_assignment(ana, &policy).unwrap() {
        seen.push((a.item.0, a.gold));
        p.submit(&a, 100, &[verdict_for(&a, true)]).unwrap();
    }
    let gold_turns: Vec<usize> = seen.iter().enumerate().filter(|(_, s)| s.1).map(|(i, _)| i + 1).collect();
    assert_eq!(gold_turns, [3, 6, 9], "{seen:?}");
    assert!(seen.iter().all(|&(item, is_gold)| is_gold == (item >= 10)), "gold items appear only as gold checks: {seen:?}");
    assert_eq!(seen.len(), 12);
}
}

on_both_engines! {
fn shown_orders_vary_and_verdicts_are_stored_canonically(scratch) {
    let mut p = project_with_comparisons(&scratch.location, 40);
    let ana = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    let mut swapped = 0;
    while let Some(a) = p.next_assignment(ana, &QueuePolicy::default()).unwrap() {
        // Always pick the left response.
        p.submit(&a, 100, &[verdict_for(&a, true)]).unwrap();
        let stored = p.annotations_of(a.item).unwrap().remove(0).payload;
        let Payload::Verdict(v) = stored else { panic!("a verdict") };
        assert_eq!((v.a, v.b), (0, 1));
        let left = a.shown_order[0];
        assert_eq!(v.winner, if left == 0 { Winner::A } else { Winner::B });
        assert_eq!(v.shown_order.as_deref(), Some(&a.shown_order[..]));
        swapped += usize::from(left == 1);
    }
    assert!((8..=32).contains(&swapped), "{swapped} of 40 shown swapped");
}
}
