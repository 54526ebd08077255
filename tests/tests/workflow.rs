//! The command line as a user runs it: demo, init, import, status, export, exit codes.

use cairn_e2e::*;

#[test]
fn demo_builds_a_ready_project_and_prints_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn_in(dir.path(), &["demo"]);
    expect_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("dataset 'demo-comparisons': 36 comparisons"), "{text}");
    assert!(text.contains("dataset 'demo-scans': 1 point-cloud frames"), "{text}");
    let project = dir.path().join("cairn-demo.cairn");
    assert!(project.exists());
    // Running it again adds nothing.
    let again = cairn_in(dir.path(), &["demo"]);
    expect_code(&again, 0);
    assert!(stdout(&again).contains("0 added, 36 already present"), "{}", stdout(&again));
    assert_eq!(count(&project, "items"), 37);
}

#[test]
fn every_command_has_help() {
    for cmd in ["demo", "init", "import", "status", "export", "check", "cloud", "bench"] {
        let out = cairn(&[cmd, "--help"]);
        expect_code(&out, 0);
        assert!(stdout(&out).contains("Usage: cairn"), "{cmd}: {}", stdout(&out));
    }
    let out = cairn(&["--help"]);
    assert!(stdout(&out).contains("Exit codes:"), "{}", stdout(&out));
    expect_code(&cairn(&["no-such-command"]), 2);
}

#[test]
fn import_status_export_round_trip_in_import_order() {
    let (dir, project) = new_project();
    let file = dir.path().join("prefs.jsonl");
    let ids = ["z-last-alphabetically", "a-first", "m-middle"];
    let lines: Vec<_> = ids.iter().map(|id| comparison_line(id, &format!("question {id}"))).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = cairn(&["import", path_str(&project), path_str(&file)]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("3 records (jsonl) into dataset 'prefs': 3 added"), "{}", stdout(&out));

    let status = cairn(&["status", path_str(&project), "--json"]);
    expect_code(&status, 0);
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(st["datasets"][0]["items"], 3);
    assert_eq!(st["datasets"][0]["unlabelled"], 3);

    let export = dir.path().join("out.jsonl");
    expect_code(&cairn(&["export", path_str(&project), "--format", "jsonl", "--out", path_str(&export)]), 0);
    let text = std::fs::read_to_string(&export).unwrap();
    let exported: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(exported, ids);

    // The same content again adds nothing, even under another dataset name.
    let again = cairn(&["import", path_str(&project), path_str(&file), "--dataset", "other", "--json"]);
    expect_code(&again, 0);
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["added"], 0);
    assert_eq!(report["already_present"], 3);
    assert_eq!(count(&project, "items"), 3);
}

#[test]
fn hh_rlhf_import_keeps_the_source_preference() {
    let (dir, project) = new_project();
    let file = dir.path().join("hh.jsonl");
    let prompt =
        "\n\nHuman: Can you list three uses of LiDAR?\n\nAssistant: Mapping, autonomous driving, forestry.\n\nHuman: Which needs the densest scans?";
    let rows = [
        serde_json::json!({"chosen": format!("{prompt}\n\nAssistant: Forestry, to see under the canopy."),
                           "rejected": format!("{prompt}\n\nAssistant: All of them equally.")}),
        serde_json::json!({"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: What?"}),
    ];
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let out = cairn(&["import", path_str(&project), path_str(&file), "--json"]);
    expect_code(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "hh-rlhf", "detected from the first record");
    assert_eq!(report["source_labels"], 2);

    let dump = cairn(&["export", path_str(&project)]);
    expect_code(&dump, 0);
    let first: serde_json::Value = serde_json::from_str(stdout(&dump).lines().next().unwrap()).unwrap();
    let item = &first["item"];
    assert_eq!(item["messages"].as_array().unwrap().len(), 3);
    assert_eq!(item["messages"][2]["content"], "Which needs the densest scans?");
    assert_eq!(item["responses"][0]["content"], "Forestry, to see under the canopy.");
    assert_eq!(item["responses"][1]["content"], "All of them equally.");
    assert_eq!(first["annotations"][0]["annotator"], "import:hh-rlhf");
    assert_eq!(first["annotations"][0]["payload"]["winner"], "a");

    // Re-importing keeps one item and one source label each.
    expect_code(&cairn(&["import", path_str(&project), path_str(&file)]), 0);
    assert_eq!(count(&project, "items"), 2);
    assert_eq!(count(&project, "annotations"), 2);
    let st: serde_json::Value = serde_json::from_slice(&cairn(&["status", path_str(&project), "--json"]).stdout).unwrap();
    assert_eq!(st["datasets"][0]["with_source_labels"], 2);
    assert_eq!(st["annotators"][0]["name"], "import:hh-rlhf");
}

#[test]
fn trl_rows_import_with_their_preference() {
    let (dir, project) = new_project();
    let file = dir.path().join("trl.jsonl");
    let rows = [
        r#"{"prompt": [{"role": "user", "content": "2+2?"}], "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}"#,
        r#"{"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."}"#,
    ];
    std::fs::write(&file, rows.join("\n")).unwrap();
    let out = cairn(&["import", path_str(&project), path_str(&file), "--json"]);
    expect_code(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "trl");
    assert_eq!(report["added"], 2);
    assert_eq!(report["source_labels"], 2);
}

#[test]
fn point_clouds_import_as_a_sequence_in_name_order() {
    let (dir, project) = new_project();
    let seq = dir.path().join("drive-01");
    std::fs::create_dir(&seq).unwrap();
    for (name, n) in [("frame10.las", 30), ("frame2.las", 20), ("frame1.las", 10)] {
        write_las(&seq.join(name), n);
    }
    let bin: Vec<u8> = (0..8).flat_map(|i| [i as f32, 1.0, 2.0, 0.5]).flat_map(f32::to_le_bytes).collect();
    std::fs::write(seq.join("frame3.bin"), bin).unwrap();
    let out = cairn(&["import", path_str(&project), path_str(&seq), "--json"]);
    expect_code(&out, 0);
    let dump = stdout(&cairn(&["export", path_str(&project)]));
    let frames: Vec<serde_json::Value> = dump.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<_> = frames.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(names, ["frame1.las", "frame2.las", "frame3.bin", "frame10.las"]);
    let indexes: Vec<_> = frames.iter().map(|f| f["item"]["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, [0, 1, 2, 3]);
    assert_eq!(frames[0]["item"]["sequence"], "drive-01");
    let summary = &frames[3]["item"]["source"]["summary"];
    assert_eq!(summary["point_count"], 30);
    assert_eq!(summary["format"], "las");
    assert_eq!(summary["bounds"]["min"][0], 500_000.0, "georeferenced bounds are kept in full");
    assert_eq!(frames[3]["item"]["source"]["path"], "drive-01/frame10.las", "relative to the project");
    assert_eq!(frames[2]["item"]["source"]["summary"]["point_count"], 8);
}

#[test]
fn the_bundled_laz_scan_registers_with_its_header() {
    let (_dir, project) = new_project();
    let scan = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/scans/32-1-472-150-76.laz");
    let out = cairn(&["import", path_str(&project), scan]);
    expect_code(&out, 0);
    let dump = stdout(&cairn(&["export", path_str(&project)]));
    let frame: serde_json::Value = serde_json::from_str(dump.lines().next().unwrap()).unwrap();
    let summary = &frame["item"]["source"]["summary"];
    assert_eq!(summary["format"], "laz");
    assert_eq!(summary["point_count"], 5658);
    assert_eq!(summary["version"], "1.1");
    assert!(summary["bounds"]["min"][1].as_f64().unwrap() > 6_724_000.0);
}

#[test]
fn check_reports_a_sound_project() {
    let (_dir, project) = new_project();
    let out = cairn(&["check", path_str(&project)]);
    expect_code(&out, 0);
    assert!(stdout(&out).contains("ok"));
}

#[test]
fn bench_prints_three_figures_with_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(&["bench", "store", "--records", "3000", "--edits", "30", "--dir", path_str(dir.path())]);
    expect_code(&out, 0);
    let text = stdout(&out);
    for what in ["bulk import of comparisons", "durable edits", "streaming read of current annotations"] {
        let line = text.lines().find(|l| l.starts_with(what)).unwrap_or_else(|| panic!("no '{what}' line in:\n{text}"));
        assert!(line.contains("baseline") && line.contains("ratio"), "{line}");
    }
}

#[test]
fn bench_plugins_prints_file_creation_beside_plain_rust() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(&["bench", "plugins", "--records", "300", "--files", "500", "--dir", path_str(dir.path())]);
    expect_code(&out, 0);
    let text = stdout(&out);
    let line = text.lines().find(|l| l.starts_with("label files through kitti-label")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("files/s") && line.contains("plain Rust writing the same files") && line.contains("ratio"), "{line}");
}

#[test]
fn bench_import_prints_the_plain_scripts_rate_beside_ours() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(&["bench", "import", "--records", "2000", "--dir", path_str(dir.path())]);
    expect_code(&out, 0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("import of HH-RLHF pairs")).collect();
    assert!(!lines.is_empty() && lines.iter().all(|l| l.contains("pairs/s") && l.contains("baseline") && l.contains("ratio")), "{text}");
    assert!(lines[0].contains("(Rust)"), "{text}");
}

#[test]
fn export_into_a_closed_pipe_exits_quietly() {
    let (dir, project) = new_project();
    // Far more than a pipe buffers, so that the export does write into the closed pipe.
    let file = dir.path().join("many.jsonl");
    let lines: Vec<_> = (0..4000).map(|i| comparison_line(&format!("demo-{i:03}"), &format!("question {i}"))).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&file), "--dataset", "demo-comparisons"]), 0);
    let mut child = cairn_command()
        .args(["export", path_str(&project)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.starts_with(r#"{"id":"demo-000","dataset":"demo-comparisons","item":"#), "{first}");
    let out = child.wait_with_output().unwrap();
    expect_code(&out, 0);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn cloud_info_describes_the_bundled_scan() {
    let scan = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/scans/32-1-472-150-76.laz");
    let out = cairn(&["cloud", "info", scan]);
    expect_code(&out, 0);
    let text = stdout(&out);
    for want in ["format        laz 1.1", "point format 1", "5658 declared, 5658 read", "gps_time", "crs           ", "M points/s"] {
        assert!(text.contains(want), "missing '{want}' in:\n{text}");
    }
    assert!(!text.contains("none declared"), "the scan declares a CRS:\n{text}");
    let json: serde_json::Value = serde_json::from_slice(&cairn(&["cloud", "info", scan, "--json"]).stdout).unwrap();
    assert_eq!(json["points_read"], 5658);
    assert!(json["origin"][1].as_f64().unwrap() > 6_724_000.0);
    let bad = cairn(&["cloud", "info", "/nonexistent/x.las"]);
    expect_code(&bad, 1);
    assert!(stderr(&bad).contains("/nonexistent/x.las"));
}
