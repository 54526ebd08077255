//! Bad input: a clear error naming the file and line (or field), exit code 3, nothing stored.

use cairn_e2e::*;
use std::path::Path;

const BAD_INPUT: i32 = 3;
const PROJECT: i32 = 4;

fn import(project: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", path_str(project), path_str(file)];
    args.extend_from_slice(extra);
    cairn(&args)
}

#[test]
fn a_malformed_line_names_file_and_line_and_stores_nothing() {
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    let lines = [comparison_line("a", "q1"), comparison_line("b", "q2"), r#"{"id": "c", "messages": [oops]}"#.into(), comparison_line("d", "q4")];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:3:", file.display())), "{err}");
    assert_eq!(count(&project, "items"), 0, "nothing from the file is stored");
    assert_eq!(count(&project, "datasets"), 0);
}

#[test]
fn skip_invalid_stores_the_valid_lines_and_reports_each_skipped_one() {
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    let lines = [
        comparison_line("a", "q1"),
        "not json at all".into(),
        comparison_line("b", "q2"),
        r#"{"id": "c", "messages": [{"role": "user", "content": "q"}], "responses": [{"content": "only one"}]}"#.into(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = import(&project, &file, &["--skip-invalid"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(&format!("skipped {}:2:", file.display())), "{text}");
    assert!(text.contains(&format!("skipped {}:4: responses: a comparison needs at least 2 responses, found 1", file.display())), "{text}");
    assert!(text.contains("2 skipped in all"), "{text}");
    assert_eq!(count(&project, "items"), 2);
}

#[test]
fn non_utf8_text_is_refused_with_its_line() {
    let (dir, project) = new_project();
    let file = dir.path().join("latin1.jsonl");
    let mut bytes = (comparison_line("a", "q") + "\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\": \"b\", \"messages\": [{\"role\": \"user\", \"content\": \"caf\xe9\"}], \"responses\": []}\n");
    std::fs::write(&file, bytes).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains(":2:") && stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
    assert_eq!(count(&project, "items"), 0);
}

#[test]
fn an_empty_file_is_refused() {
    let (dir, project) = new_project();
    let file = dir.path().join("empty.jsonl");
    std::fs::write(&file, "\n  \n").unwrap();
    let out = import(&project, &file, &["--format", "jsonl"]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("the file is empty"), "{}", stderr(&out));
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("the file is empty"), "{}", stderr(&out));
}

#[test]
fn missing_fields_and_single_responses_are_named() {
    let (dir, project) = new_project();
    let file = dir.path().join("missing.jsonl");
    std::fs::write(&file, r#"{"id": "a", "messages": [{"role": "user", "content": "q"}]}"#).unwrap();
    let out = import(&project, &file, &["--format", "jsonl"]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains(":1:") && stderr(&out).contains("missing field `responses`"), "{}", stderr(&out));

    std::fs::write(&file, r#"{"id": "a", "messages": [{"role": "user", "content": "q"}], "responses": [{"content": "x"}]}"#).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("at least 2 responses, found 1"), "{}", stderr(&out));
    assert_eq!(count(&project, "items"), 0);
}

#[test]
fn an_unknown_extension_asks_for_a_format() {
    let (dir, project) = new_project();
    let file = dir.path().join("data.csv");
    std::fs::write(&file, "a,b\n").unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("pass --format"), "{}", stderr(&out));
}

/// Items already in the project before a refused import, to check that they stay.
fn project_with_one_frame() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, project) = new_project();
    let good = dir.path().join("good.las");
    write_las(&good, 100);
    expect_code(&import(&project, &good, &[]), 0);
    (dir, project)
}

#[test]
fn a_las_header_claiming_more_points_than_the_file_holds_is_refused() {
    let (dir, project) = project_with_one_frame();
    let file = dir.path().join("liar.las");
    write_las(&file, 100);
    let mut bytes = std::fs::read(&file).unwrap();
    // LAS 1.2: legacy point count at byte 107. Claim four billion points (112 GB of records).
    bytes[107..111].copy_from_slice(&4_000_000_000u32.to_le_bytes());
    std::fs::write(&file, bytes).unwrap();
    let out = cairn_capped(&["import", path_str(&project), path_str(&file)]);
    expect_code(&out, BAD_INPUT);
    let err = stderr(&out);
    assert!(err.contains("liar.las") && err.contains("claims 4000000000 points"), "{err}");
    assert_eq!(count(&project, "items"), 1, "the project keeps what it had, and only that");
}

#[test]
fn a_laz_header_claiming_more_points_than_its_chunks_hold_is_refused() {
    let (dir, project) = project_with_one_frame();
    let scan = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/scans/32-1-472-150-76.laz");
    let mut bytes = std::fs::read(scan).unwrap();
    bytes[107..111].copy_from_slice(&3_000_000_000u32.to_le_bytes());
    let file = dir.path().join("liar.laz");
    std::fs::write(&file, bytes).unwrap();
    let out = cairn_capped(&["import", path_str(&project), path_str(&file)]);
    expect_code(&out, BAD_INPUT);
    let err = stderr(&out);
    assert!(err.contains("liar.laz") && err.contains("claims 3000000000 points"), "{err}");
    assert_eq!(count(&project, "items"), 1);
}

#[test]
fn a_truncated_las_file_is_refused() {
    let (dir, project) = project_with_one_frame();
    let file = dir.path().join("cut.las");
    write_las(&file, 1000);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("cut.las") && stderr(&out).contains("truncated"), "{}", stderr(&out));
    std::fs::write(&file, &bytes[..150]).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("cut.las"), "{}", stderr(&out));
    assert_eq!(count(&project, "items"), 1);
}

#[test]
fn a_truncated_laz_file_is_refused() {
    let (dir, project) = project_with_one_frame();
    let scan = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/scans/32-1-472-150-76.laz");
    let bytes = std::fs::read(scan).unwrap();
    let file = dir.path().join("cut.laz");
    std::fs::write(&file, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("cut.laz") && stderr(&out).contains("truncated"), "{}", stderr(&out));
    assert_eq!(count(&project, "items"), 1);
}

#[test]
fn a_text_file_named_las_is_refused() {
    let (dir, project) = project_with_one_frame();
    let file = dir.path().join("notes.las");
    std::fs::write(&file, "These are my notes, not a point cloud.\n".repeat(20)).unwrap();
    let out = import(&project, &file, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("notes.las") && stderr(&out).contains("not a LAS/LAZ file"), "{}", stderr(&out));
    assert_eq!(count(&project, "items"), 1);
}

#[test]
fn a_kitti_bin_of_the_wrong_size_and_a_broken_pcd_are_refused() {
    let (dir, project) = project_with_one_frame();
    let bin = dir.path().join("odd.bin");
    std::fs::write(&bin, [0u8; 20]).unwrap();
    let out = import(&project, &bin, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("16-byte"), "{}", stderr(&out));
    let pcd = dir.path().join("broken.pcd");
    std::fs::write(&pcd, "VERSION 0.7\nFIELDS x y z\nSIZE 4 4\nTYPE F F F\nPOINTS 3\nDATA binary\n").unwrap();
    let out = import(&project, &pcd, &[]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("broken.pcd: PCD header: SIZE has 2 entries but FIELDS has 3"), "{}", stderr(&out));
    assert_eq!(count(&project, "items"), 1);
}

#[test]
fn one_bad_frame_in_a_directory_stores_none_of_them_unless_skipped() {
    let (dir, project) = new_project();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    write_las(&seq.join("a.las"), 10);
    std::fs::write(seq.join("b.las"), "not a las file at all, just words".repeat(10)).unwrap();
    expect_code(&import(&project, &seq, &[]), BAD_INPUT);
    assert_eq!(count(&project, "items"), 0);
    let out = import(&project, &seq, &["--skip-invalid"]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("skipped") && stdout(&out).contains("b.las"), "{}", stdout(&out));
    assert_eq!(count(&project, "items"), 1);
}

#[test]
fn importing_into_a_missing_project_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.jsonl");
    std::fs::write(&file, comparison_line("a", "q")).unwrap();
    let missing = dir.path().join("nope.cairn");
    let out = import(&missing, &file, &[]);
    expect_code(&out, PROJECT);
    assert!(stderr(&out).contains("no such project file"), "{}", stderr(&out));
    assert!(!missing.exists(), "no project is created by accident");
}
