use super::*;
use std::f64::consts::{FRAC_PI_2, FRAC_PI_3};

fn cuboid(center: [f64; 3], yaw: f64, class: &str, track_id: Option<u64>) -> Cuboid {
    Cuboid { center, size: [4.0, 2.0, 1.5], yaw, pitch: 0.0, roll: 0.0, class: class.into(), attributes: BTreeMap::new(), track_id }
}

fn frame(key: &str, sequence: Option<&str>, index: u32, boxes: Vec<Cuboid>) -> ExportRecord {
    ExportRecord {
        key: key.into(),
        dataset: "scans".into(),
        item: ItemData::Frame(Frame {
            sequence: sequence.map(str::to_string),
            index,
            source: SourceFile {
                path: format!("clouds/{key}"),
                byte_len: 0,
                summary: CloudSummary { format: CloudFormat::Las, version: None, encoding: None, point_count: 0, bounds: None, fields: Vec::new() },
            },
        }),
        annotations: boxes
            .into_iter()
            .map(|c| RecordAnnotation {
                annotator: "ann".into(),
                annotator_kind: AnnotatorKind::Human,
                revision: RevisionId(1),
                at_ms: 0,
                payload: Payload::Cuboid(c),
            })
            .collect(),
    }
}

/// Each file's path, raw text and parsed JSON.
fn export(records: &[ExportRecord]) -> Result<Vec<(String, String, Value)>, String> {
    let (_, files) = run_in_memory::<OpenLabel>(records, &[])?;
    Ok(files
        .into_iter()
        .map(|(path, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}\n{text}"));
            (path, text, json)
        })
        .collect())
}

fn single(records: &[ExportRecord]) -> Value {
    let files = export(records).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, "openlabel.json");
    files[0].2["openlabel"].clone()
}

fn val(doc: &Value, frame: &str, uid: &str) -> Vec<f64> {
    doc["frames"][frame]["objects"][uid]["object_data"]["cuboid"][0]["val"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

#[test]
fn document_skeleton_and_frame_properties() {
    let doc =
        single(&[frame("f0.las", Some("drive"), 0, vec![cuboid([1.0, 2.0, 3.0], 0.0, "car", None)]), frame("f1.las", Some("drive"), 1, vec![])]);
    assert_eq!(doc["metadata"], json!({"schema_version": "1.0.0"}));
    assert_eq!(doc["coordinate_systems"], json!({"lidar": {"type": "sensor_cs", "parent": "", "children": []}}));
    assert_eq!(doc["streams"], json!({"lidar": {"type": "lidar"}}));
    let frames = doc["frames"].as_object().unwrap();
    assert_eq!(frames.keys().collect::<Vec<_>>(), ["0", "1"]);
    assert_eq!(doc["frames"]["1"], json!({"objects": {}, "frame_properties": {"streams": {"lidar": {"uri": "clouds/f1.las"}}}}));
    let entry = &doc["frames"]["0"]["objects"]["0"]["object_data"]["cuboid"][0];
    assert_eq!(entry["name"], "box3d");
    assert_eq!(entry["coordinate_system"], "lidar");
    assert!(entry.get("attributes").is_none());
}

#[test]
fn val_is_centre_quaternion_xyzw_and_length_width_height() {
    let doc = single(&[frame("f0.las", Some("drive"), 0, vec![cuboid([1.0, 2.0, 3.0], FRAC_PI_3, "car", None)])]);
    // Yaw π/3 about z: (0, 0, sin π/6, cos π/6), w last.
    let expected = [1.0, 2.0, 3.0, 0.0, 0.0, 0.5, 3f64.sqrt() / 2.0, 4.0, 2.0, 1.5];
    assert!(close(&val(&doc, "0", "0"), &expected), "{:?}", val(&doc, "0", "0"));
}

#[test]
fn quaternion_composes_yaw_pitch_roll_intrinsically() {
    let s = 0.5f64.sqrt();
    assert!(close(&quaternion(0.0, 0.0, FRAC_PI_2), &[s, 0.0, 0.0, s]));
    assert!(close(&quaternion(0.0, FRAC_PI_2, 0.0), &[0.0, s, 0.0, s]));
    // qz(π/2) · qy(π/2): w = s² = ½, vector s(0, s, 0) + s(0, 0, s) + (0, 0, s) × (0, s, 0) = (-½, ½, ½).
    assert!(close(&quaternion(FRAC_PI_2, FRAC_PI_2, 0.0), &[-0.5, 0.5, 0.5, 0.5]));
}

#[test]
fn georeferenced_coordinates_are_kept_exactly() {
    let center = [512345.678, 5412345.123, 312.456];
    let files = export(&[frame("f0.las", None, 0, vec![cuboid(center, 0.3, "car", None)])]).unwrap();
    let (_, text, json) = &files[0];
    assert!(text.contains("[512345.678,5412345.123,312.456,"), "{text}");
    assert_eq!(val(&json["openlabel"], "0", "0")[..3], center);
}

#[test]
fn tracks_become_objects_with_merged_frame_intervals() {
    let car = |x: f64| cuboid([x, 0.0, 0.0], 0.0, "car", Some(42));
    let doc = single(&[
        frame("f0.las", Some("drive"), 0, vec![car(0.0), cuboid([5.0, 5.0, 0.0], 0.0, "pedestrian", None)]),
        frame("f1.las", Some("drive"), 1, vec![car(1.0)]),
        frame("f2.las", Some("drive"), 2, vec![car(2.0), cuboid([9.0, 5.0, 0.0], 0.0, "pedestrian", None)]),
        frame("f3.las", Some("drive"), 3, vec![]),
        frame("f4.las", Some("drive"), 4, vec![car(4.0)]),
    ]);
    let interval = |a: u32, b: u32| json!({"frame_start": a, "frame_end": b});
    assert_eq!(
        doc["objects"],
        json!({
            "0": {"name": "car-0", "type": "car", "frame_intervals": [interval(0, 2), interval(4, 4)]},
            "1": {"name": "pedestrian-1", "type": "pedestrian", "frame_intervals": [interval(0, 0)]},
            "2": {"name": "pedestrian-2", "type": "pedestrian", "frame_intervals": [interval(2, 2)]},
        })
    );
    assert_eq!(val(&doc, "4", "0")[0], 4.0);
    assert_eq!(val(&doc, "2", "2")[0], 9.0);
}

#[test]
fn attributes_are_grouped_by_type() {
    let mut c = cuboid([0.0; 3], 0.0, "car", None);
    c.attributes = [
        ("occluded".to_string(), AttributeValue::Bool(true)),
        ("parked".to_string(), AttributeValue::Bool(false)),
        ("truncation".to_string(), AttributeValue::Number(0.25)),
        ("colour".to_string(), AttributeValue::Text("red".into())),
    ]
    .into();
    let doc = single(&[frame("f0.las", None, 0, vec![c])]);
    assert_eq!(
        doc["frames"]["0"]["objects"]["0"]["object_data"]["cuboid"][0]["attributes"],
        json!({
            "boolean": [{"name": "occluded", "val": true}, {"name": "parked", "val": false}],
            "num": [{"name": "truncation", "val": 0.25}],
            "text": [{"name": "colour", "val": "red"}],
        })
    );
}

#[test]
fn several_sequences_get_a_document_each_with_their_own_objects() {
    let files = export(&[
        frame("a0.las", Some("a"), 0, vec![cuboid([1.0, 0.0, 0.0], 0.0, "car", Some(1))]),
        frame("a1.las", Some("a"), 1, vec![cuboid([2.0, 0.0, 0.0], 0.0, "car", Some(1))]),
        frame("b0.las", Some("b"), 0, vec![cuboid([3.0, 0.0, 0.0], 0.0, "van", Some(1))]),
        frame("c0.las", Some("c"), 0, vec![]),
    ])
    .unwrap();
    let paths: Vec<_> = files.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["openlabel/a.json", "openlabel/b.json", "openlabel/c.json"]);
    let a = &files[0].2["openlabel"];
    assert_eq!(a["frames"].as_object().unwrap().len(), 2);
    assert_eq!(a["objects"]["0"]["frame_intervals"], json!([{"frame_start": 0, "frame_end": 1}]));
    let b = &files[1].2["openlabel"];
    assert_eq!(b["objects"], json!({"0": {"name": "van-0", "type": "van", "frame_intervals": [{"frame_start": 0, "frame_end": 0}]}}));
    assert_eq!(files[2].2["openlabel"]["objects"], json!({}));
}

#[test]
fn an_empty_export_is_an_empty_document() {
    let doc = single(&[]);
    assert_eq!(doc["frames"], json!({}));
    assert_eq!(doc["objects"], json!({}));
}

#[test]
fn errors_name_the_record() {
    let twice = export(&[frame("x.las", Some("a"), 3, vec![]), frame("y.las", Some("a"), 3, vec![])]).unwrap_err();
    assert!(twice.starts_with("item y.las:") && twice.contains("appears twice"), "{twice}");
    let resumed =
        export(&[frame("a0.las", Some("a"), 0, vec![]), frame("b0.las", Some("b"), 0, vec![]), frame("a1.las", Some("a"), 1, vec![])]).unwrap_err();
    assert!(resumed.starts_with("item a1.las:"), "{resumed}");
    let comparison = ExportRecord {
        item: ItemData::Comparison(Comparison { messages: Vec::new(), responses: Vec::new(), metadata: Value::Null }),
        ..frame("chat-1", None, 0, vec![])
    };
    assert!(export(&[comparison]).unwrap_err().starts_with("item chat-1:"));
}
