//! An export stopped half-way leaves nothing behind: SIGTERM (or Ctrl+C) removes its staging
//! directory before the process exits, and a staging directory left by a SIGKILL is removed by the
//! next export to the same destination.

use cairn_e2e::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A project with the misbehaving exporter installed beside it.
fn project_with_hostile_exporter() -> (tempfile::TempDir, PathBuf) {
    let (dir, project) = new_project();
    install_testing_plugin(dir.path(), "hostile-exporter");
    (dir, project)
}

fn stagings(out: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(out) else { return Vec::new() };
    entries.map(|e| e.unwrap().path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".cairn-export-")).collect()
}

/// Starts an export that creates one-byte files (far more than it will get to) and returns once its
/// staging directory holds files in all of its 100 directories.
// The child goes back to the caller, which waits on it.
#[allow(clippy::zombie_processes)]
fn start_export_of_many_files(project: &Path, out: &Path) -> (Child, PathBuf) {
    let mut child = cairn_command()
        .args(["export", path_str(project), "--with", "hostile-exporter", "--option", "behaviour=many-files"])
        .args(["--option", "files=5000000", "--out", path_str(out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(staging) = stagings(out).into_iter().find(|s| s.join("d99").is_dir()) {
            return (child, staging);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no staging directory with files appeared in {}", out.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait(mut child: Child, within: Duration) -> std::process::Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < within, "the export did not stop within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn sigterm_mid_export_removes_the_staging_directory() {
    let (dir, project) = project_with_hostile_exporter();
    let out = dir.path().join("out");
    let (child, staging) = start_export_of_many_files(&project, &out);
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = wait(child, Duration::from_secs(60));
    expect_code(&stopped, 130);
    assert!(stderr(&stopped).contains("stopped by a signal"), "{}", stderr(&stopped));
    assert!(!staging.exists(), "{} is still there", staging.display());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "the destination is empty");
}

#[test]
fn staging_left_by_a_killed_export_is_removed_by_the_next_export() {
    let (dir, project) = project_with_hostile_exporter();
    let out = dir.path().join("out");
    let (mut child, staging) = start_export_of_many_files(&project, &out);
    child.kill().unwrap(); // SIGKILL: nothing runs in the process after it
    wait(child, Duration::from_secs(30));
    assert!(staging.join("d99").is_dir(), "a killed export cannot clean up after itself");

    let next = cairn(&["export", path_str(&project), "--with", "hostile-exporter", "--option", "behaviour=ok", "--out", path_str(&out)]);
    expect_code(&next, 0);
    let err = stderr(&next);
    assert!(err.contains(&format!("removed {}", staging.display())) && err.contains("left by an export that did not finish"), "{err}");
    assert!(stagings(&out).is_empty());
    let names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["ok.txt"]);
}
