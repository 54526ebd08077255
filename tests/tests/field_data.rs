//! Files shaped like public releases and projects damaged in the field: nuScenes scans, `.bin` files
//! of other layouts, and an item whose stored bytes were changed.

use cairn_e2e::*;

fn floats(records: &[Vec<f32>]) -> Vec<u8> {
    records.iter().flatten().flat_map(|v| v.to_le_bytes()).collect()
}

/// Summary of the first exported frame.
fn first_summary(project: &std::path::Path) -> serde_json::Value {
    let dump = stdout(&cairn(&["export", path_str(project)]));
    let frame: serde_json::Value = serde_json::from_str(dump.lines().next().unwrap()).unwrap();
    frame["item"]["source"]["summary"].clone()
}

/// A nuScenes LIDAR_TOP sweep: 34,688 points of five floats. Read as KITTI it would be 43,360
/// points of nonsense.
#[test]
fn a_nuscenes_scan_is_read_with_five_floats_per_point() {
    let (dir, project) = new_project();
    let scan = dir.path().join("n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin");
    let points: Vec<Vec<f32>> =
        (0..34_688).map(|i| vec![(i % 100) as f32 * 0.5, (i / 100) as f32 * 0.1, -1.8, (i % 256) as f32, (i % 32) as f32]).collect();
    std::fs::write(&scan, floats(&points)).unwrap();

    let out = cairn(&["cloud", "info", "--json", path_str(&scan)]);
    expect_code(&out, 0);
    let info: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(info["points_read"], 34_688);
    assert_eq!(info["summary"]["fields"], serde_json::json!(["x", "y", "z", "intensity", "ring"]));
    assert!(info["columns"].as_array().unwrap().iter().any(|c| c == "intensity"), "{info}");

    expect_code(&cairn(&["import", path_str(&project), path_str(&scan)]), 0);
    let summary = first_summary(&project);
    assert_eq!(summary["point_count"], 34_688);
    assert_eq!(summary["encoding"], "float32 x y z intensity ring (nuScenes)");
    let cloud = cairn_cloud::read_frame(&scan, &serde_json::from_value(summary).unwrap()).unwrap();
    let w = cloud.world(34_687);
    assert!((w[0] - 43.5).abs() < 1e-4 && (w[1] - 34.6).abs() < 1e-4 && (w[2] + 1.8).abs() < 1e-4, "{w:?}");
    assert_eq!(cloud.intensity.as_ref().unwrap()[255], 255 * 257, "intensity 0..255 kept");
}

#[test]
fn a_bin_whose_size_does_not_fit_its_layout_is_refused_and_other_layouts_can_be_stated() {
    let (dir, project) = new_project();
    // Six floats per point (x y z intensity and two more), 3 points: 72 bytes, not a whole number of
    // KITTI's 16-byte records.
    let scan = dir.path().join("000042.bin");
    std::fs::write(&scan, floats(&[vec![1.0, 2.0, 3.0, 0.5, 7.0, 7.0], vec![4.0, 5.0, 6.0, 0.25, 7.0, 7.0], vec![7.0, 8.0, 9.0, 1.0, 7.0, 7.0]]))
        .unwrap();
    let out = cairn(&["import", path_str(&project), path_str(&scan)]);
    expect_code(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("000042.bin") && err.contains("16-byte records (float32 x y z reflectance (KITTI))") && err.contains("--bin-fields"),
        "{err}"
    );
    assert_eq!(count(&project, "items"), 0, "nothing stored");

    expect_code(&cairn(&["import", path_str(&project), path_str(&scan), "--bin-fields", "6"]), 0);
    let summary = first_summary(&project);
    assert_eq!(summary["point_count"], 3);
    assert_eq!(summary["fields"], serde_json::json!(["x", "y", "z", "intensity", "f4", "f5"]));
    // The app reads the frame by what the import recorded, not by the name.
    let cloud = cairn_cloud::read_frame(&scan, &serde_json::from_value(summary).unwrap()).unwrap();
    assert_eq!((cloud.len(), cloud.world(2)), (3, [7.0, 8.0, 9.0]));

    let bad = cairn(&["import", path_str(&project), path_str(&scan), "--bin-fields", "2"]);
    expect_code(&bad, 2);
    assert!(stderr(&bad).contains("3 to 64"), "{}", stderr(&bad));
}

/// Comparisons long enough to be stored compressed.
fn long_comparisons(path: &std::path::Path, n: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("c{i}"),
                "messages": [{"role": "user", "content": format!("Explain write-ahead logging, take {i}.")}],
                "responses": [{"model": "m1", "content": "The log is written before the data pages. ".repeat(60)},
                              {"model": "m2", "content": format!("Answer {i}: it is a journal. ").repeat(40)}],
            })
            .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[test]
fn check_names_every_damaged_item_and_export_names_it_too() {
    let (dir, project) = new_project();
    let file = dir.path().join("wal.jsonl");
    long_comparisons(&file, 5);
    expect_code(&cairn(&["import", path_str(&project), path_str(&file)]), 0);
    expect_code(&cairn(&["check", path_str(&project)]), 0);

    // Four bytes flipped inside item 2's compressed data; item 4's text changed, still valid JSON.
    let conn = rusqlite::Connection::open(&project).unwrap();
    let data: Vec<u8> = conn.query_row("SELECT data FROM items WHERE id = 2", [], |r| r.get(0)).unwrap();
    assert_eq!(&data[..4], &[0x28, 0xB5, 0x2F, 0xFD], "stored compressed");
    let mut damaged = data.clone();
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 4] {
        *b ^= 0xFF;
    }
    conn.execute("UPDATE items SET data = ?1 WHERE id = 2", [&damaged]).unwrap();
    let json = serde_json::to_vec(&serde_json::json!({
        "kind": "comparison",
        "messages": [{"role": "user", "content": "Explain write-ahead logging, take 3!"}],
        "responses": [{"content": "x"}, {"content": "y"}],
    }))
    .unwrap();
    conn.execute("UPDATE items SET data = ?1 WHERE id = 4", [&json]).unwrap();
    drop(conn);

    let out = cairn(&["check", path_str(&project)]);
    expect_code(&out, 4);
    let err = stderr(&out);
    assert!(err.contains("item 2 (key \"c1\") is unreadable"), "{err}");
    assert!(err.contains("item 4 (key \"c3\") does not match its content hash"), "{err}");
    assert!(!err.contains("item 1 ") && !err.contains("item 3 ") && !err.contains("item 5 "), "{err}");

    let out = cairn(&["export", path_str(&project)]);
    expect_code(&out, 4);
    assert!(stderr(&out).contains("item 2 is unreadable"), "{}", stderr(&out));
}
