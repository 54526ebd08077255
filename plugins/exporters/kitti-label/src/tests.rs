use super::*;
use std::collections::BTreeMap;
use std::f64::consts::FRAC_PI_2;

fn cuboid(center: [f64; 3], yaw: f64, class: &str) -> Cuboid {
    Cuboid { center, size: [4.0, 2.0, 1.5], yaw, pitch: 0.0, roll: 0.0, class: class.into(), attributes: BTreeMap::new(), track_id: None }
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
                summary: CloudSummary {
                    format: CloudFormat::KittiBin,
                    version: None,
                    encoding: None,
                    point_count: 0,
                    bounds: None,
                    fields: Vec::new(),
                },
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

fn export(options: &[(&str, &str)], records: &[ExportRecord]) -> Result<Vec<(String, String)>, String> {
    let (_, files) = run_in_memory::<KittiLabel>(records, options)?;
    Ok(files.into_iter().map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap())).collect())
}

/// The one line of the one file of a one-box export.
fn line(options: &[(&str, &str)], cuboid: Cuboid) -> String {
    let files = export(options, &[frame("000000.bin", Some("drive"), 0, vec![cuboid])]).unwrap();
    assert_eq!(files.len(), 1);
    files[0].1.trim_end().to_string()
}

fn fields(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

const DEFAULT_CALIB: &str = "P0: 7.215377e+02 0 6.095593e+02 0 0 7.215377e+02 1.728540e+02 0 0 0 1 0
P2: 7.215377e+02 0 6.095593e+02 4.485728e+01 0 7.215377e+02 1.728540e+02 2.163791e-01 0 0 1 2.745884e-03
R0_rect: 1 0 0 0 1 0 0 0 1
Tr_velo_to_cam: 0 -1 0 0 0 0 -1 0 1 0 0 0
Tr_imu_to_velo: 1 0 0 0 0 1 0 0 0 0 1 0
";

#[test]
fn default_convention_bottom_centre_axis_swap_and_h_w_l() {
    // LiDAR centre (10, 2, -1), height 1.5: bottom at z = -1.75; camera x = -y, y = -z, z = x.
    let line = line(&[], cuboid([10.0, 2.0, -1.0], 0.0, "car"));
    let alpha = -FRAC_PI_2 - f64::atan2(-2.0, 10.0);
    assert_eq!(line, format!("Car 0.00 0 {alpha:.2} 0.00 0.00 0.00 0.00 1.50 2.00 4.00 -2.00 1.75 10.00 -1.57"));
    assert_eq!(fields(&line)[3], "-1.37");
}

#[test]
fn rotation_y_is_minus_yaw_minus_half_pi_wrapped() {
    let rotation = |yaw: f64| fields(&line(&[], cuboid([10.0, 0.0, 0.0], yaw, "car")))[14].clone();
    assert_eq!(rotation(0.0), "-1.57");
    assert_eq!(rotation(FRAC_PI_2), "-3.14");
    assert_eq!(rotation(-FRAC_PI_2), "0.00");
    // -(π + π/2) leaves [-π, π] and wraps to π/2.
    assert_eq!(rotation(PI), "1.57");
}

#[test]
fn alpha_is_rotation_y_minus_viewing_angle() {
    // Straight ahead (x_cam = 0), alpha equals rotation_y; off to the left it differs by atan2(x, z).
    let ahead = fields(&line(&[], cuboid([10.0, 0.0, 0.0], 0.3, "car")));
    assert_eq!(ahead[3], ahead[14]);
    let left = fields(&line(&[], cuboid([5.0, 5.0, 0.0], 0.3, "car")));
    let expected = wrap(-(0.3 + FRAC_PI_2) - f64::atan2(-5.0, 5.0));
    assert_eq!(left[3], format!("{expected:.2}"));
}

#[test]
fn calibration_with_the_default_matrices_equals_the_default() {
    let boxes = [(0.0, [10.0, 2.0, -1.0]), (FRAC_PI_2, [3.0, -4.0, 0.5]), (-1.2, [20.0, 7.5, 1.0]), (2.5, [-6.0, 1.0, -0.3])];
    for (yaw, center) in boxes {
        let plain = line(&[], cuboid(center, yaw, "car"));
        let calibrated = line(&[("calib", DEFAULT_CALIB)], cuboid(center, yaw, "car"));
        assert_eq!(plain, calibrated, "yaw {yaw}");
    }
}

#[test]
fn calibration_applies_r0_rect_after_tr_velo_to_cam() {
    // Tr: the axis swap plus (1, 2, 3); R0: a quarter turn about camera y, (x, y, z) -> (z, y, -x).
    let calib = "Tr_velo_to_cam: 0 -1 0 1 0 0 -1 2 1 0 0 3\nR0_rect: 0 0 1 0 1 0 -1 0 0\n";
    let f = fields(&line(&[("calib", calib)], cuboid([10.0, 2.0, -1.0], 0.0, "car")));
    // Bottom (10, 2, -1.75) -> Tr (-1, 3.75, 13) -> R0 (13, 3.75, 1).
    assert_eq!(f[11..14], ["13.00", "3.75", "1.00"]);
    // Heading +x -> camera +z -> R0 +x: rotation_y = atan2(-0, 1) = 0.
    assert_eq!(f[14], "0.00");
    assert_eq!(f[3], format!("{:.2}", -f64::atan2(13.0, 1.0)));
}

#[test]
fn calibration_without_r0_rect_uses_identity_and_tracking_spellings_are_read() {
    let swap = "Tr_velo_to_cam: 0 -1 0 0 0 0 -1 0 1 0 0 0";
    let tracking = "R_rect 1 0 0 0 1 0 0 0 1\nTr_velo_cam 0 -1 0 0 0 0 -1 0 1 0 0 0";
    let plain = line(&[], cuboid([10.0, 2.0, -1.0], 0.4, "car"));
    assert_eq!(line(&[("calib", swap)], cuboid([10.0, 2.0, -1.0], 0.4, "car")), plain);
    assert_eq!(line(&[("calib", tracking)], cuboid([10.0, 2.0, -1.0], 0.4, "car")), plain);
}

#[test]
fn bad_calibration_names_the_line() {
    let record = [frame("a.bin", None, 0, vec![])];
    let short = export(&[("calib", "P0: 1 2 3\nTr_velo_to_cam: 0 -1 0 0 0 0 -1 0 1 0 0\n")], &record).unwrap_err();
    assert!(short.contains("line 2") && short.contains("expected 12 numbers, found 11"), "{short}");
    let word = export(&[("calib", "Tr_velo_to_cam: 0 -1 0 0 0 0 -1 0 1 0 0 0\nR0_rect: 1 0 0 0 x 0 0 0 1")], &record).unwrap_err();
    assert!(word.contains("line 2 (R0_rect)") && word.contains("\"x\""), "{word}");
    let missing = export(&[("calib", "R0_rect: 1 0 0 0 1 0 0 0 1")], &record).unwrap_err();
    assert!(missing.contains("Tr_velo_to_cam"), "{missing}");
}

#[test]
fn class_names_and_attributes() {
    let with = |class: &str, attributes: &[(&str, AttributeValue)]| {
        let mut c = cuboid([10.0, 0.0, 0.0], 0.0, class);
        c.attributes = attributes.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let f = fields(&line(&[], c));
        (f[0].clone(), f[1].clone(), f[2].clone())
    };
    assert_eq!(with("dontcare", &[]), ("DontCare".into(), "0.00".into(), "0".into()));
    assert_eq!(with("person_sitting", &[("truncated", AttributeValue::Bool(true))]).0, "Person_sitting");
    assert_eq!(
        with("bus", &[("truncated", AttributeValue::Bool(true)), ("occluded", AttributeValue::Bool(true))]),
        ("Bus".into(), "1.00".into(), "1".into())
    );
    assert_eq!(
        with("traffic cone", &[("truncated", AttributeValue::Number(0.3)), ("occluded", AttributeValue::Number(2.6))]),
        ("Traffic_cone".into(), "0.30".into(), "3".into())
    );
    assert_eq!(
        with("van", &[("truncated", AttributeValue::Bool(false)), ("occluded", AttributeValue::Number(7.0))]),
        ("Van".into(), "0.00".into(), "3".into())
    );
    assert_eq!(with("car", &[("occluded", AttributeValue::Text("2".into()))]).2, "2");
}

#[test]
fn one_sequence_writes_a_flat_label_2_with_empty_files_for_empty_frames() {
    let files = export(
        &[],
        &[
            frame("000000.bin", Some("drive"), 0, vec![cuboid([10.0, 0.0, 0.0], 0.0, "car"), cuboid([5.0, 1.0, 0.0], 0.0, "cyclist")]),
            frame("000001.bin", Some("drive"), 1, vec![]),
        ],
    )
    .unwrap();
    assert_eq!(files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["label_2/000000.txt", "label_2/000001.txt"]);
    assert_eq!(files[0].1.lines().count(), 2);
    assert_eq!(files[1].1, "");
}

#[test]
fn several_sequences_get_a_folder_each() {
    let files = export(
        &[],
        &[
            frame("a0.bin", Some("a"), 0, vec![cuboid([10.0, 0.0, 0.0], 0.0, "car")]),
            frame("a1.bin", Some("a"), 1, vec![]),
            frame("b0.bin", Some("b"), 0, vec![cuboid([10.0, 0.0, 0.0], 0.0, "van")]),
        ],
    )
    .unwrap();
    let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["label_2/a/000000.txt", "label_2/a/000001.txt", "label_2/b/000000.txt"]);
    assert!(files[2].1.starts_with("Van "));
}

#[test]
fn tracking_writes_one_file_per_sequence_with_frame_and_track_id() {
    let mut tracked = cuboid([10.0, 0.0, 0.0], 0.0, "car");
    tracked.track_id = Some(7);
    let files = export(
        &[("variant", "tracking")],
        &[
            frame("a0.bin", Some("a"), 0, vec![tracked.clone()]),
            frame("a1.bin", Some("a"), 1, vec![tracked, cuboid([5.0, 0.0, 0.0], 0.0, "pedestrian")]),
            frame("b0.bin", Some("b"), 0, vec![]),
        ],
    )
    .unwrap();
    let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["label_02/0000.txt", "label_02/0001.txt"]);
    let lines: Vec<_> = files[0].1.lines().map(fields).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0][..3], ["0", "7", "Car"]);
    assert_eq!(lines[1][..3], ["1", "7", "Car"]);
    assert_eq!(lines[2][..3], ["1", "-1", "Pedestrian"]);
    assert_eq!(lines[2].len(), 17);
    assert_eq!(files[1].1, "");
}

#[test]
fn errors_name_the_record() {
    let twice = export(&[], &[frame("x.bin", Some("a"), 3, vec![]), frame("y.bin", Some("a"), 3, vec![])]).unwrap_err();
    assert!(twice.starts_with("item y.bin:") && twice.contains("appears twice"), "{twice}");
    let resumed = export(&[], &[frame("a0.bin", Some("a"), 0, vec![]), frame("b0.bin", Some("b"), 0, vec![]), frame("a1.bin", Some("a"), 1, vec![])])
        .unwrap_err();
    assert!(resumed.starts_with("item a1.bin:"), "{resumed}");
    let mut bad = cuboid([10.0, 0.0, 0.0], 0.0, "car");
    bad.attributes.insert("occluded".into(), AttributeValue::Text("mostly".into()));
    let attribute = export(&[], &[frame("z.bin", None, 0, vec![bad])]).unwrap_err();
    assert!(attribute.starts_with("item z.bin:") && attribute.contains("occluded"), "{attribute}");
    let comparison = ExportRecord {
        item: ItemData::Comparison(Comparison { messages: Vec::new(), responses: Vec::new(), metadata: serde_json::Value::Null }),
        ..frame("chat-1", None, 0, vec![])
    };
    assert!(export(&[], &[comparison]).unwrap_err().starts_with("item chat-1:"));
}

#[test]
fn frames_without_a_sequence_are_sequences_of_one() {
    let files = export(&[], &[frame("one.bin", None, 0, vec![]), frame("two.bin", None, 0, vec![])]).unwrap();
    let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["label_2/one.bin/000000.txt", "label_2/two.bin/000000.txt"]);
}
