use super::*;
use crate::*;
use std::collections::BTreeMap;

fn comparison(n: usize) -> Comparison {
    Comparison {
        messages: vec![Message::text(Role::User, "Hi")],
        responses: (0..n).map(|i| Response::new(Some(&format!("m{i}")), format!("answer {i}"))).collect(),
        metadata: serde_json::Value::Null,
    }
}

fn cuboid() -> Cuboid {
    Cuboid {
        center: [500_000.125, 5_000_000.5, 12.0],
        size: [4.5, 1.9, 1.6],
        yaw: 0.3,
        pitch: 0.0,
        roll: 0.0,
        class: "car".into(),
        attributes: BTreeMap::from([("occluded".into(), AttributeValue::Bool(true))]),
        track_id: Some(7),
    }
}

#[test]
fn payloads_round_trip_through_json() {
    let mut verdict = PairwiseVerdict::new(Winner::B);
    verdict.strength = Some(2);
    verdict.criteria.insert("harmlessness".into(), Winner::Tie);
    verdict.rationale = Some("B cites sources".into());
    verdict.shown_order = Some(vec![1, 0]);
    let payloads = [
        Payload::Cuboid(cuboid()),
        Payload::Verdict(verdict),
        Payload::Ranking(Ranking { tiers: vec![vec![2], vec![0, 1]] }),
        Payload::Rating(Rating { criterion: "helpfulness".into(), response: Some(1), value: 4.0, min: 1.0, max: 7.0 }),
        Payload::Text(FreeText { field: "note".into(), text: "ok".into() }),
    ];
    for p in payloads {
        let json = serde_json::to_string(&p).unwrap();
        let back: Payload = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p, "{json}");
    }
}

#[test]
fn georeferenced_centre_keeps_millimetres_through_json() {
    let json = serde_json::to_string(&Payload::Cuboid(cuboid())).unwrap();
    let Payload::Cuboid(back) = serde_json::from_str(&json).unwrap() else { panic!() };
    assert_eq!(back.center[0], 500_000.125);
    assert_eq!(back.center[1], 5_000_000.5);
}

#[test]
fn items_round_trip_and_content_accepts_parts() {
    let json = r#"{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}"#;
    let m: Message = serde_json::from_str(json).unwrap();
    assert_eq!(m.content.to_text(), "a\nb");
    let item = ItemData::Comparison(comparison(3));
    let back: ItemData = serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
    assert_eq!(back, item);
    let frame = ItemData::Frame(Frame {
        sequence: Some("seq".into()),
        index: 4,
        source: SourceFile {
            path: "scans/a.laz".into(),
            byte_len: 10,
            summary: CloudSummary {
                format: CloudFormat::Laz,
                version: Some("1.2".into()),
                encoding: Some("point format 3".into()),
                point_count: 5,
                bounds: Some(Bounds { min: [0.0; 3], max: [1.0; 3] }),
                fields: vec!["x".into()],
            },
        },
    });
    let back: ItemData = serde_json::from_str(&serde_json::to_string(&frame).unwrap()).unwrap();
    assert_eq!(back, frame);
}

#[test]
fn unknown_message_role_is_rejected() {
    assert!(serde_json::from_str::<Message>(r#"{"role":"robot","content":"x"}"#).is_err());
}

#[test]
fn comparison_needs_two_responses_and_a_prompt() {
    assert!(validate_comparison(&comparison(2)).is_empty());
    let one = validate_comparison(&comparison(1));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].field, "responses");
    let mut empty = comparison(2);
    empty.messages.clear();
    empty.responses[1].content = Content::Text("".into());
    let f = validate_comparison(&empty);
    assert_eq!(f.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["messages"]);
}

#[test]
fn cuboid_findings_name_the_field() {
    assert!(validate_payload(&Payload::Cuboid(cuboid()), None).is_empty());
    let mut bad = cuboid();
    bad.size[2] = f64::NAN;
    bad.size[0] = -1.0;
    bad.yaw = 4.0;
    bad.class.clear();
    let f = validate_payload(&Payload::Cuboid(bad), None);
    let fields: Vec<_> = f.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["size[0]", "size[2]", "yaw", "class"]);
}

#[test]
fn verdict_checks_indices_and_strength() {
    let item = ItemData::Comparison(comparison(2));
    let mut v = PairwiseVerdict::new(Winner::A);
    v.strength = Some(3);
    assert!(validate_payload(&Payload::Verdict(v.clone()), Some(&item)).is_empty());
    v.b = 2;
    v.strength = Some(4);
    let f = validate_payload(&Payload::Verdict(v), Some(&item));
    assert_eq!(f.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["b", "strength"]);
    let mut tie = PairwiseVerdict::new(Winner::Tie);
    tie.strength = Some(1);
    assert_eq!(validate_payload(&Payload::Verdict(tie), Some(&item)).len(), 1);
}

#[test]
fn ranking_must_cover_each_response_once() {
    let item = ItemData::Comparison(comparison(3));
    let ok = Ranking { tiers: vec![vec![1], vec![0, 2]] };
    assert!(validate_payload(&Payload::Ranking(ok), Some(&item)).is_empty());
    let dup = Ranking { tiers: vec![vec![1], vec![1, 2]] };
    assert!(!validate_payload(&Payload::Ranking(dup), Some(&item)).is_empty());
    let short = Ranking { tiers: vec![vec![1], vec![2]] };
    assert!(!validate_payload(&Payload::Ranking(short), Some(&item)).is_empty());
}

#[test]
fn kinds_must_fit_the_item() {
    let item = ItemData::Comparison(comparison(2));
    let f = validate_payload(&Payload::Cuboid(cuboid()), Some(&item));
    assert_eq!(f[0].field, "kind");
}

#[test]
fn rating_stays_on_its_scale() {
    let r = Rating { criterion: "c".into(), response: None, value: 8.0, min: 1.0, max: 7.0 };
    assert_eq!(validate_payload(&Payload::Rating(r), None)[0].field, "value");
}

#[test]
fn angles_normalize_into_half_open_range() {
    assert!((normalize_angle(3.0 * std::f64::consts::PI / 2.0) + std::f64::consts::FRAC_PI_2).abs() < 1e-12);
    assert!((normalize_angle(std::f64::consts::PI) + std::f64::consts::PI).abs() < 1e-12);
    assert!((normalize_angle(-0.25) + 0.25).abs() < 1e-12);
}

#[test]
fn point_label_chunks_round_trip_as_bytes() {
    let chunk = PointLabelChunk { chunk: 2, labels: vec![0, 1, 65535, 7] };
    let bytes = chunk.to_bytes();
    assert_eq!(bytes.len(), 8);
    assert_eq!(PointLabelChunk::from_bytes(2, &bytes).unwrap(), chunk);
    assert_eq!(chunk.first_point(), 2 * POINT_LABEL_CHUNK as u64);
    assert!(PointLabelChunk::from_bytes(0, &[1, 2, 3]).is_err());
}

#[test]
fn swapping_a_verdict_swaps_sides_only() {
    assert_eq!(Winner::A.swapped(), Winner::B);
    assert_eq!(Winner::Tie.swapped(), Winner::Tie);
}

#[test]
fn content_hashes_round_trip_as_hex() {
    let h = ContentHash([0xab; 16]);
    assert_eq!(h.to_hex(), "ab".repeat(16));
    assert_eq!(ContentHash::from_hex(&h.to_hex()), Some(h));
    assert_eq!(serde_json::from_str::<ContentHash>(&serde_json::to_string(&h).unwrap()).unwrap(), h);
    assert!(ContentHash::from_hex("xyz").is_none());
    assert!(ContentHash::from_hex(&"g".repeat(32)).is_none());
}
