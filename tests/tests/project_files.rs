//! Project files that cannot be used are refused with a clear message and left exactly as they were.

use cairn_e2e::*;
use std::path::Path;

const PROJECT: i32 = 4;

fn assert_refused_untouched(project: &Path, expect: &str) {
    let before = std::fs::read(project).unwrap();
    for args in [vec!["status", path_str(project)], vec!["check", path_str(project)]] {
        let out = cairn(&args);
        expect_code(&out, PROJECT);
        let err = stderr(&out);
        assert!(err.contains(expect) && err.contains(&project.display().to_string()), "{err}");
    }
    assert!(std::fs::read(project).unwrap() == before, "{} was changed", project.display());
}

#[test]
fn a_file_that_is_not_sqlite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("notes.cairn");
    std::fs::write(&project, "just some text, long enough to hold a header ".repeat(10)).unwrap();
    assert_refused_untouched(&project, "not an SQLite database");
}

#[test]
fn a_project_from_a_newer_cairn_is_refused() {
    let (_dir, project) = new_project();
    let conn = rusqlite::Connection::open(&project).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert_refused_untouched(&project, "written by a newer Cairn (project schema 99");
}

#[test]
fn a_damaged_project_is_refused() {
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    let lines: Vec<_> = (0..500).map(|i| comparison_line(&format!("id{i}"), &format!("question {i}"))).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&file)]), 0);
    let conn = rusqlite::Connection::open(&project).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&project).unwrap();
    let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    for b in &mut bytes[page..] {
        *b ^= 0x5A;
    }
    std::fs::write(&project, &bytes).unwrap();
    assert_refused_untouched(&project, "damaged");
}

#[test]
fn init_refuses_to_overwrite_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("keep.cairn");
    std::fs::write(&project, "precious").unwrap();
    let out = cairn(&["init", path_str(&project)]);
    expect_code(&out, PROJECT);
    assert!(stderr(&out).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&project).unwrap(), "precious");
}

#[test]
fn a_second_writer_waits_for_the_first_transaction() {
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    std::fs::write(&file, comparison_line("a", "waiting")).unwrap();
    let holder = rusqlite::Connection::open(&project).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE; INSERT INTO meta VALUES ('holding', 'yes');").unwrap();
    let started = std::time::Instant::now();
    let child = cairn_command()
        .args(["import", path_str(&project), path_str(&file)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    holder.execute_batch("COMMIT").unwrap();
    let out = child.wait_with_output().unwrap();
    expect_code(&out, 0);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    assert_eq!(count(&project, "items"), 1);
}
