//! `cairn import --format judgments`: preference labels from other tools, on comparisons already in
//! the project, stored as human annotations once, all or nothing per file.

use cairn_e2e::*;
use serde_json::{Value, json};
use std::path::Path;

const BAD_INPUT: i32 = 3;

/// A project holding comparisons `c1`, `c2` (models m1, m2) and `c3` (m1, m2, m3).
fn project_with_comparisons() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, project) = new_project();
    let three = json!({
        "id": "c3",
        "messages": [{"role": "user", "content": "q3"}],
        "responses": [{"model": "m1", "content": "one"}, {"model": "m2", "content": "two"}, {"model": "m3", "content": "three"}],
    });
    let lines = [comparison_line("c1", "q1"), comparison_line("c2", "q2"), three.to_string()];
    let file = dir.path().join("prefs.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&file)]), 0);
    (dir, project)
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn import_judgments(project: &Path, file: &Path) -> std::process::Output {
    cairn(&["import", path_str(project), path_str(file), "--format", "judgments", "--json"])
}

/// Item key → its annotations, from the plain JSONL dump.
fn dump(project: &Path) -> Vec<(String, Vec<Value>)> {
    let out = cairn(&["export", path_str(project)]);
    expect_code(&out, 0);
    stdout(&out)
        .lines()
        .map(|l| {
            let record: Value = serde_json::from_str(l).unwrap();
            (record["id"].as_str().unwrap().to_owned(), record["annotations"].as_array().unwrap().clone())
        })
        .collect()
}

fn judgments() -> Vec<Value> {
    vec![
        json!({"item": "c1", "annotator": "ana", "verdict": "b", "strength": 3, "rationale": "cites its source"}),
        json!({"item": "c2", "annotator": "ben", "verdict": "tie"}),
        // "a" = the first of the pair = response 2; stored as a = 0, b = 2, response 2 winning.
        json!({"item": "c3", "annotator": "ben", "verdict": "a", "pair": [2, 0], "strength": 1}),
        json!({"item": "c3", "annotator": "ana", "ranking": ["m2", ["m3", "m1"]]}),
    ]
}

#[test]
fn judgments_import_once_under_their_annotators_in_canonical_order() {
    let (dir, project) = project_with_comparisons();
    let file = dir.path().join("labels.jsonl");
    write_lines(&file, &judgments());

    let out = import_judgments(&project, &file);
    expect_code(&out, 0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "judgments");
    assert_eq!(report["records"], 4);
    assert_eq!(report["added"], 4);
    assert_eq!(report["already_present"], 0);
    assert_eq!(report["dataset"], "prefs");

    let records = dump(&project);
    let keys: Vec<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["c1", "c2", "c3"]);

    let c1 = &records[0].1;
    assert_eq!(c1.len(), 1, "{c1:?}");
    assert_eq!(c1[0]["annotator"], "ana");
    assert_eq!(c1[0]["payload"], json!({"kind": "verdict", "a": 0, "b": 1, "winner": "b", "strength": 3, "rationale": "cites its source"}));

    let c2 = &records[1].1;
    assert_eq!((c2[0]["annotator"].as_str(), c2[0]["payload"]["winner"].as_str()), (Some("ben"), Some("tie")));

    let c3 = &records[2].1;
    assert_eq!(c3.len(), 2, "{c3:?}");
    assert_eq!(c3[0]["annotator"], "ben");
    assert_eq!(c3[0]["payload"], json!({"kind": "verdict", "a": 0, "b": 2, "winner": "b", "strength": 1}));
    assert_eq!(c3[1]["annotator"], "ana");
    assert_eq!(c3[1]["payload"], json!({"kind": "ranking", "tiers": [[1], [0, 2]]}));

    let st: Value = serde_json::from_slice(&cairn(&["status", path_str(&project), "--json"]).stdout).unwrap();
    let annotators: Vec<(&str, &str)> =
        st["annotators"].as_array().unwrap().iter().map(|a| (a["name"].as_str().unwrap(), a["kind"].as_str().unwrap())).collect();
    assert_eq!(annotators, [("ana", "human"), ("ben", "human")]);

    // The same file again adds nothing.
    let again = import_judgments(&project, &file);
    expect_code(&again, 0);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!((report["added"].as_u64(), report["already_present"].as_u64()), (Some(0), Some(4)));
    assert_eq!(count(&project, "annotations"), 4);
    assert_eq!(dump(&project), records);
    expect_code(&cairn(&["check", path_str(&project)]), 0);
}

#[test]
fn a_bad_line_refuses_the_file_with_its_line_and_stores_nothing() {
    let (dir, project) = project_with_comparisons();
    let file = dir.path().join("labels.jsonl");
    let mut lines = judgments();
    lines.insert(2, json!({"item": "c2", "annotator": "cy", "verdict": "tie", "strength": 2}));
    write_lines(&file, &lines);

    let out = import_judgments(&project, &file);
    expect_code(&out, BAD_INPUT);
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:3: strength: a tie or both-bad verdict has no strength", file.display())), "{err}");
    assert_eq!(count(&project, "annotations"), 0);
    assert_eq!(count(&project, "annotators"), 0);

    // An unknown item names the line and the key.
    write_lines(&file, &[json!({"item": "c1", "annotator": "ana", "verdict": "a"}), json!({"item": "c404", "annotator": "ana", "verdict": "a"})]);
    let out = import_judgments(&project, &file);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains(&format!("{}:2: item: no comparison with the key \"c404\"", file.display())), "{}", stderr(&out));
    assert_eq!(count(&project, "annotations"), 0);

    // --skip-invalid stores the rest and lists the line.
    let out = cairn(&["import", path_str(&project), path_str(&file), "--format", "judgments", "--skip-invalid"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("1 added, 0 already present"), "{text}");
    assert!(text.contains(&format!("skipped {}:2: item: no comparison with the key \"c404\"", file.display())), "{text}");
    assert_eq!(count(&project, "annotations"), 1);
}

#[test]
fn a_judgments_file_without_format_suggests_it() {
    let (dir, project) = project_with_comparisons();
    let file = dir.path().join("labels.jsonl");
    write_lines(&file, &judgments());
    let out = cairn(&["import", path_str(&project), path_str(&file)]);
    expect_code(&out, BAD_INPUT);
    assert!(stderr(&out).contains("--format judgments"), "{}", stderr(&out));
    assert_eq!(count(&project, "annotations"), 0);
}
