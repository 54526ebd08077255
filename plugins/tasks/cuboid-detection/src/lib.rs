//! Cuboid detection: 3D boxes around road users and obstacles in lidar frames, the way autonomous
//! driving datasets (KITTI, nuScenes, Waymo) label them. Produces `cuboid` payloads.

use cairn_plugin_sdk::prelude::*;

pub struct CuboidDetection;

/// A class as declared: id, display name, colour (0xRRGGBB), hotkey, default length/width/height (m).
struct ClassSpec {
    id: &'static str,
    name: &'static str,
    color: u32,
    hotkey: &'static str,
    size: [f64; 3],
}

/// Default sizes are typical adult / typical vehicle extents (nuScenes and KITTI means, rounded), so
/// a one-click box needs only a small refit. Colours are far apart in hue; the hotkeys avoid the
/// letters the viewer uses for nudging and fitting (w a s d q e f r z).
const CLASSES: [ClassSpec; 14] = [
    ClassSpec { id: "car", name: "Car", color: 0x1F77B4, hotkey: "1", size: [4.5, 1.9, 1.6] },
    ClassSpec { id: "van", name: "Van", color: 0x17BECF, hotkey: "2", size: [5.2, 2.0, 2.2] },
    ClassSpec { id: "truck", name: "Truck", color: 0xFF7F0E, hotkey: "3", size: [7.5, 2.5, 3.2] },
    ClassSpec { id: "bus", name: "Bus", color: 0xBCBD22, hotkey: "4", size: [12.0, 2.55, 3.2] },
    ClassSpec { id: "trailer", name: "Trailer", color: 0x8C564B, hotkey: "5", size: [10.0, 2.5, 3.5] },
    ClassSpec { id: "pedestrian", name: "Pedestrian", color: 0xD62728, hotkey: "6", size: [0.8, 0.8, 1.75] },
    ClassSpec { id: "cyclist", name: "Cyclist", color: 0xE377C2, hotkey: "7", size: [1.8, 0.7, 1.75] },
    ClassSpec { id: "motorcyclist", name: "Motorcyclist", color: 0x9467BD, hotkey: "8", size: [2.2, 0.9, 1.6] },
    ClassSpec { id: "bicycle", name: "Bicycle", color: 0x2CA02C, hotkey: "9", size: [1.75, 0.6, 1.1] },
    ClassSpec { id: "motorcycle", name: "Motorcycle", color: 0x98DF8A, hotkey: "0", size: [2.1, 0.8, 1.2] },
    ClassSpec { id: "traffic_cone", name: "Traffic cone", color: 0xFFBB78, hotkey: "c", size: [0.4, 0.4, 0.7] },
    ClassSpec { id: "barrier", name: "Barrier", color: 0x7F7F7F, hotkey: "b", size: [2.5, 0.5, 1.0] },
    ClassSpec { id: "animal", name: "Animal", color: 0xC49C94, hotkey: "n", size: [1.0, 0.4, 0.7] },
    ClassSpec { id: "other", name: "Other object", color: 0xAEC7E8, hotkey: "o", size: [1.0, 1.0, 1.0] },
];

/// The boolean attributes every box carries: id, display name.
const ATTRIBUTES: [(&str, &str); 4] =
    [("occluded", "Occluded"), ("truncated", "Truncated"), ("moving", "Moving"), ("interpolated", "Interpolated between keyframes")];

/// Fewer lidar points than this in a box is usually a box in empty space or on noise.
pub const MIN_POINTS: u64 = 5;

const GUIDELINES: &str = "\
# Cuboid detection

Draw one box around every road user and obstacle listed below that has lidar points on it.

## Box conventions

- **Tight**: the box encloses every point of the object and as little else as possible. Leave out
  the ground, nearby walls and other objects; include side mirrors only where the points show them.
- **Heading** (yaw, the arrow on the box) points in the **direction of travel**: where the front of a
  vehicle is, where a pedestrian faces or walks. For a parked vehicle, its front. Length runs along
  the heading, width across it.
- **Bottom on the ground**: the box's underside touches the road under the wheels or feet, even
  where the lowest points are missing. Boxes stay upright (no pitch or roll) unless the road slopes.
- **Partly seen objects**: when an object is occluded or cut off at the edge of the scan, box its
  full estimated extent (the class's default size is a good start) and set the attribute.
- **Sequences**: the same object keeps the same track id in every frame. Copy the box forward and
  adjust it rather than drawing a new one.
- Press **auto-fit** after placing a box to snap it to the enclosed points; check the result.

## Classes

| Key | Class | Notes |
| --- | --- | --- |
| `1` | car | passenger cars, SUVs, pick-ups |
| `2` | van | vans, minibuses, delivery vans |
| `3` | truck | lorries, tractor units, construction vehicles |
| `4` | bus | city and coach buses; each rigid section of an articulated bus is one box |
| `5` | trailer | anything towed, boxed separately from what tows it |
| `6` | pedestrian | people on foot, including pushing a pram or a bicycle |
| `7` | cyclist | a person riding a bicycle: one box for rider and bicycle |
| `8` | motorcyclist | a person riding a motorcycle or scooter: one box for both |
| `9` | bicycle | a bicycle without a rider (parked) |
| `0` | motorcycle | a motorcycle or scooter without a rider |
| `c` | traffic_cone | cones and delineator posts |
| `b` | barrier | temporary barriers, jersey barriers, bollards in a row |
| `n` | animal | animals on or next to the road |
| `o` | other | any other obstacle a vehicle must avoid |

## Attributes

- **occluded**: something between the sensor and the object hides part of it.
- **truncated**: the object extends past the edge of the scan or the sensor's field of view.
- **moving**: the object moves in this frame (not parked, not waiting).

A box with fewer than 5 points inside is flagged for a second look: it may be misplaced.
";

impl Task for CuboidDetection {
    fn describe() -> TaskInfo {
        let mut info = TaskInfo::new("cuboid-detection", "Cuboid detection", Modality::PointCloud, &["cuboid"]);
        info.classes = CLASSES
            .iter()
            .map(|c| LabelClass { id: c.id.into(), name: c.name.into(), color: c.color, hotkey: Some(c.hotkey.into()), default_size: Some(c.size) })
            .collect();
        info.attributes =
            ATTRIBUTES.iter().map(|(id, name)| Attribute { id: (*id).into(), name: (*name).into(), kind: AttributeKind::Boolean }).collect();
        info.guidelines = GUIDELINES.into();
        info.tools = vec!["cuboid".into(), "auto-fit".into(), "sequence".into()];
        info.options.push(OptionSpec::text(
            "min-points",
            "boxes with fewer lidar points inside are flagged for review",
            Some(&MIN_POINTS.to_string()),
        ));
        info
    }

    fn validate(item: &ItemData, subjects: &[Subject], options: &Options) -> Vec<(usize, Finding)> {
        let min_points = match options.get("min-points").map(str::parse::<u64>) {
            None => MIN_POINTS,
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                let message = format!("option min-points: {:?} is not a whole number", options.value("min-points"));
                return (0..subjects.len()).map(|i| (i, Finding::error("options", message.clone()))).collect();
            }
        };
        let mut findings = Vec::new();
        for (index, subject) in subjects.iter().enumerate() {
            findings.extend(check(item, subject, min_points).into_iter().map(|f| (index, f)));
        }
        findings
    }
}

fn check(item: &ItemData, subject: &Subject, min_points: u64) -> Vec<Finding> {
    let payload = &subject.payload;
    let Payload::Cuboid(cuboid) = payload else {
        return vec![Finding::error("kind", format!("this task records cuboids, not {}", payload.kind().as_str()))];
    };
    // Finite centre, positive finite sizes, angles in [-π, π], a class at all: the model's rules.
    let mut findings: Vec<Finding> = validate_payload(payload, Some(item)).into_iter().map(|e| Finding::error(&e.field, e.message)).collect();
    if !cuboid.class.trim().is_empty() && !CLASSES.iter().any(|c| c.id == cuboid.class) {
        findings.push(Finding::error("class", format!("unknown class {:?}", cuboid.class)));
    }
    for (key, value) in &cuboid.attributes {
        let field = format!("attributes.{key}");
        if !ATTRIBUTES.iter().any(|(id, _)| id == key) {
            findings.push(Finding::error(&field, format!("unknown attribute {key:?} (occluded, truncated, moving)")));
        } else if !matches!(value, AttributeValue::Bool(_)) {
            findings.push(Finding::error(&field, "must be true or false"));
        }
    }
    if let Some(points) = subject.point_count
        && points < min_points
    {
        let what = if points == 0 { "no points".to_string() } else { format!("only {points} point{}", plural(points)) };
        findings
            .push(Finding::warning("point_count", format!("{what} inside the box (expected at least {min_points}); is it placed on the object?")));
    }
    findings
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// Native builds (unit tests) skip the export: its symbol names (`cairn:plugin/task@1.0.0#…`) are not
// valid in an ELF version script, so linking the cdylib natively would fail.
export_task!(CuboidDetection);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::f64::consts::PI;

    fn frame() -> ItemData {
        ItemData::Frame(Frame {
            sequence: Some("drive-01".into()),
            index: 0,
            source: SourceFile {
                path: "drive-01/000000.pcd".into(),
                byte_len: 1024,
                summary: CloudSummary { format: CloudFormat::Pcd, version: None, encoding: None, point_count: 100, bounds: None, fields: Vec::new() },
            },
        })
    }

    fn car() -> Cuboid {
        Cuboid {
            center: [12.0, -3.5, 0.8],
            size: [4.5, 1.9, 1.6],
            yaw: 0.3,
            pitch: 0.0,
            roll: 0.0,
            class: "car".into(),
            attributes: [("occluded".to_string(), AttributeValue::Bool(true)), ("moving".to_string(), AttributeValue::Bool(false))]
                .into_iter()
                .collect(),
            track_id: Some(7),
        }
    }

    fn findings_with(cuboid: Cuboid, point_count: Option<u64>) -> Vec<(String, Severity)> {
        let subject = Subject { payload: Payload::Cuboid(cuboid), point_count };
        CuboidDetection::validate(&frame(), &[subject], &Options::default()).into_iter().map(|(_, f)| (f.field, f.severity)).collect()
    }

    fn findings(cuboid: Cuboid) -> Vec<(String, Severity)> {
        findings_with(cuboid, Some(120))
    }

    fn error(field: &str) -> Vec<(String, Severity)> {
        vec![(field.to_string(), Severity::Error)]
    }

    #[test]
    fn a_good_box_has_no_findings() {
        assert_eq!(findings(car()), vec![]);
        assert_eq!(findings_with(car(), None), vec![], "uncounted points are not a problem");
        for class in CLASSES {
            let mut c = car();
            c.class = class.id.into();
            c.size = class.size;
            c.attributes.clear();
            assert_eq!(findings(c), vec![], "{}", class.id);
        }
        for yaw in [-PI, PI, 0.0] {
            let mut c = car();
            c.yaw = yaw;
            assert_eq!(findings(c), vec![], "yaw {yaw}");
        }
    }

    #[test]
    fn sizes_must_be_positive_and_finite() {
        for (axis, bad) in [(0, 0.0), (1, -1.0), (2, f64::NAN), (0, f64::INFINITY)] {
            let mut c = car();
            c.size[axis] = bad;
            assert_eq!(findings(c), error(&format!("size[{axis}]")), "size[{axis}] = {bad}");
        }
    }

    #[test]
    fn yaw_must_be_finite_and_within_pi() {
        for bad in [PI + 0.01, -4.0, f64::NAN, f64::NEG_INFINITY] {
            let mut c = car();
            c.yaw = bad;
            assert_eq!(findings(c), error("yaw"), "yaw {bad}");
        }
    }

    #[test]
    fn centre_must_be_finite() {
        for (axis, bad) in [(0, f64::NAN), (2, f64::INFINITY)] {
            let mut c = car();
            c.center[axis] = bad;
            assert_eq!(findings(c), error(&format!("center[{axis}]")));
        }
    }

    #[test]
    fn class_must_be_declared() {
        let mut c = car();
        c.class = "spaceship".into();
        assert_eq!(findings(c), error("class"));
        let mut c = car();
        c.class = "Car".into();
        assert_eq!(findings(c), error("class"), "ids are case-sensitive");
        let mut c = car();
        c.class = String::new();
        assert_eq!(findings(c), error("class"), "one finding for a missing class, not two");
    }

    #[test]
    fn attributes_must_be_declared_booleans() {
        let mut c = car();
        c.attributes.insert("parked".into(), AttributeValue::Bool(true));
        assert_eq!(findings(c), error("attributes.parked"));
        let mut c = car();
        c.attributes.insert("truncated".into(), AttributeValue::Number(1.0));
        assert_eq!(findings(c), error("attributes.truncated"));
        let mut c = car();
        c.attributes.insert("moving".into(), AttributeValue::Text("yes".into()));
        assert_eq!(findings(c), error("attributes.moving"));
    }

    #[test]
    fn too_few_points_is_a_warning_naming_the_count() {
        let subject = Subject { payload: Payload::Cuboid(car()), point_count: Some(3) };
        let found = CuboidDetection::validate(&frame(), &[subject], &Options::default());
        assert_eq!(found.len(), 1);
        let (index, finding) = &found[0];
        assert_eq!((*index, finding.field.as_str(), finding.severity), (0, "point_count", Severity::Warning));
        assert!(finding.message.contains("only 3 points"), "{}", finding.message);
        assert!(finding.message.contains(&MIN_POINTS.to_string()), "{}", finding.message);

        assert_eq!(findings_with(car(), Some(0)), vec![("point_count".to_string(), Severity::Warning)]);
        assert_eq!(findings_with(car(), Some(MIN_POINTS)), vec![], "the minimum itself is enough");
    }

    #[test]
    fn other_payload_kinds_are_refused() {
        let verdict = Subject { payload: Payload::Verdict(PairwiseVerdict::new(Winner::A)), point_count: None };
        let found = CuboidDetection::validate(&frame(), &[verdict], &Options::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].1.field.as_str(), found[0].1.severity), ("kind", Severity::Error));
    }

    #[test]
    fn findings_carry_their_subject_index() {
        let mut bad = car();
        bad.size[0] = -1.0;
        let subjects: Vec<_> = [car(), car(), bad].into_iter().map(|c| Subject { payload: Payload::Cuboid(c), point_count: Some(50) }).collect();
        let found = CuboidDetection::validate(&frame(), &subjects, &Options::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 2);
    }

    #[test]
    fn describe_declares_a_usable_schema() {
        let info = CuboidDetection::describe();
        assert_eq!(info.modality, Modality::PointCloud);
        assert_eq!(info.produces, vec!["cuboid"]);
        assert_eq!(info.tools, vec!["cuboid", "auto-fit", "sequence"]);
        assert_eq!(info.classes.len(), 14);

        let distinct = |values: Vec<String>| values.len() == values.iter().collect::<BTreeSet<_>>().len();
        assert!(distinct(info.classes.iter().map(|c| c.id.clone()).collect()), "ids");
        assert!(distinct(info.classes.iter().map(|c| format!("{:06x}", c.color)).collect()), "colours");
        assert!(distinct(info.classes.iter().map(|c| c.hotkey.clone().unwrap()).collect()), "hotkeys");
        for c in &info.classes {
            assert!(c.color <= 0xFF_FFFF, "{}", c.id);
            assert_eq!(c.hotkey.as_ref().unwrap().chars().count(), 1, "{}: one key", c.id);
            let [l, w, h] = c.default_size.unwrap();
            assert!([l, w, h].iter().all(|v| v.is_finite() && *v > 0.0 && *v < 20.0), "{}", c.id);
            assert!(l >= w, "{}: length runs along the heading", c.id);
            assert!(info.guidelines.contains(&format!("| `{}` | {} |", c.hotkey.as_ref().unwrap(), c.id)), "{} in guidelines", c.id);
        }
        let car = info.classes.iter().find(|c| c.id == "car").unwrap();
        assert_eq!(car.default_size, Some([4.5, 1.9, 1.6]));
        let pedestrian = info.classes.iter().find(|c| c.id == "pedestrian").unwrap();
        assert_eq!(pedestrian.default_size, Some([0.8, 0.8, 1.75]));

        let attributes: Vec<_> = info.attributes.iter().map(|a| (a.id.as_str(), &a.kind)).collect();
        assert_eq!(
            attributes,
            [
                ("occluded", &AttributeKind::Boolean),
                ("truncated", &AttributeKind::Boolean),
                ("moving", &AttributeKind::Boolean),
                ("interpolated", &AttributeKind::Boolean)
            ]
        );
        let option = info.options.iter().find(|o| o.name == "min-points").unwrap();
        assert_eq!(option.default.as_deref(), Some("5"));
    }
}
