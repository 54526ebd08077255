//! A writer killed with SIGKILL at random moments loses no edit it reported committed, and the
//! project always opens intact.

use cairn_e2e::*;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

const KILLS: usize = 24;

#[test]
fn sigkill_mid_write_loses_no_committed_edit() {
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    let lines: Vec<_> = (0..50).map(|i| comparison_line(&format!("id{i}"), &format!("question {i}"))).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&file)]), 0);

    let seed = std::env::var("CAIRN_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash test seed {seed} (set CAIRN_CRASH_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut committed: Vec<i64> = Vec::new();
    for kill in 0..KILLS {
        let reported = run_and_kill(env!("CARGO_BIN_EXE_crash-child"), &[path_str(&project), "50"], Duration::from_millis(rng.u64(30..250)));
        committed.extend(&reported);

        let p = cairn_store::Project::open(&project).unwrap_or_else(|e| panic!("kill {kill}: {e}"));
        assert_eq!(p.integrity_check().unwrap(), ["ok"], "kill {kill}");
        assert!(p.check_derived_state().unwrap().is_empty(), "kill {kill}");
        let present: std::collections::HashSet<i64> = p.history(None).unwrap().into_iter().map(|r| r.id.0).collect();
        for rev in &committed {
            assert!(present.contains(rev), "kill {kill}: revision {rev} was reported committed but is gone");
        }
    }
    assert!(committed.len() > KILLS, "the child committed {} edits in {KILLS} runs", committed.len());
    eprintln!("{} committed edits survived {KILLS} kills", committed.len());
}

/// The app's command path: the app killed at random moments keeps every change it reported
/// durable, and none twice (each item holds at most one verdict of the app's annotator, though
/// some were taken back and judged again).
#[test]
fn sigkill_of_the_app_loses_no_change_it_reported_durable_and_doubles_none() {
    const APP_KILLS: usize = 10;
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    let lines: Vec<_> = (0..2000).map(|i| comparison_line(&format!("id{i}"), &format!("question {i}"))).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&file)]), 0);
    let seed = std::env::var("CAIRN_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("app crash test seed {seed} (set CAIRN_CRASH_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut durable: Vec<i64> = Vec::new();
    for kill in 0..APP_KILLS {
        let reported = run_and_kill(env!("CARGO_BIN_EXE_app-crash-child"), &[path_str(&project)], Duration::from_millis(rng.u64(300..1500)));
        durable.extend(&reported);
        let p = cairn_store::Project::open(&project).unwrap_or_else(|e| panic!("kill {kill}: {e}"));
        assert_eq!(p.integrity_check().unwrap(), ["ok"], "kill {kill}");
        assert!(p.check_derived_state().unwrap().is_empty(), "kill {kill}");
        let present: std::collections::HashSet<i64> = p.history(None).unwrap().into_iter().map(|r| r.id.0).collect();
        for rev in &durable {
            assert!(present.contains(rev), "kill {kill}: revision {rev} was reported durable but is gone");
        }
        let who = p.annotator_by_name("app-crash-child").unwrap().expect("the app signed in").id;
        let mut per_item = std::collections::HashMap::new();
        p.for_each_annotation::<cairn_store::StoreError>(None, |a| {
            if a.annotator == who {
                *per_item.entry(a.item).or_insert(0) += 1;
            }
            Ok(())
        })
        .unwrap();
        assert!(per_item.values().all(|&n| n == 1), "kill {kill}: an item holds two verdicts of one annotator");
    }
    assert!(durable.len() > APP_KILLS, "the app made {} changes durable in {APP_KILLS} runs", durable.len());
    eprintln!("{} changes reported durable survived {APP_KILLS} kills of the app", durable.len());
}

/// Runs a child that prints `<word> <revision> …` after each durable change, kills it (SIGKILL)
/// after `after`, and returns the revisions it reported on whole lines.
fn run_and_kill(program: &str, args: &[&str], after: Duration) -> Vec<i64> {
    let mut child = Command::new(program).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut revisions = Vec::new();
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            // A line cut short by the kill has no newline and proves nothing.
            if line.ends_with(b"\n") {
                let text = String::from_utf8_lossy(&line);
                revisions.push(text.split_whitespace().nth(1).unwrap().parse().unwrap());
            }
            line.clear();
        }
        revisions
    });
    std::thread::sleep(after);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap()
}
