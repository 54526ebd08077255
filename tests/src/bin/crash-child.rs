//! Appends edits to a project in a loop and prints `committed <revision> <annotation>` after each
//! commit returns, until it is killed. Used by the crash test.

use cairn_model::{AnnotatorKind, ItemId, PairwiseVerdict, Payload, Winner};
use cairn_store::{Edit, Project};
use std::io::Write;

fn main() {
    let path = std::env::args().nth(1).expect("usage: crash-child <project> <items>");
    let items: i64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).expect("item count");
    let mut project = Project::open(&path).expect("open project");
    let annotator = project.ensure_annotator("crash-child", AnnotatorKind::Human).expect("annotator");
    let mut out = std::io::stdout().lock();
    let mut n: i64 = 0;
    loop {
        n += 1;
        let winner = [Winner::A, Winner::B, Winner::Tie, Winner::BothBad][(n % 4) as usize];
        let mut verdict = PairwiseVerdict::new(winner);
        verdict.rationale = Some(format!("edit {n} {}", "x".repeat((n % 50) as usize * 20)));
        let item = ItemId(1 + n % items);
        let outcome = project.apply(annotator, n as u64, Edit::Create { item, payload: Payload::Verdict(verdict) }).expect("edit");
        writeln!(out, "committed {} {}", outcome.revision, outcome.annotation).expect("stdout");
        out.flush().expect("stdout");
        if n % 7 == 0 {
            // Undo and redo too, so that their bookkeeping is crashed into as well.
            project.undo(annotator).expect("undo");
            project.redo(annotator).expect("redo");
        }
    }
}
