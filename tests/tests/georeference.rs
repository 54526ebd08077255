//! A georeferenced scan keeps millimetres from file to box to export: read (f64 origin + f32
//! offsets), auto-fit, store as a cuboid, export as JSON.

use cairn_cloud::fit::{FitOptions, auto_fit};
use cairn_cloud::ground::{GroundParams, estimate_ground};
use cairn_cloud::spatial::OrientedBox;
use cairn_e2e::*;
use cairn_model::{AnnotatorKind, ItemId, Payload};
use cairn_store::{Edit, Project};

/// World position of the car's centre (on the ground plane at z = 100 m, 0.25 m clearance).
const CAR: [f64; 3] = [500_012.345, 4_999_995.678, 100.0 + 0.25 + 0.75];
const YAW: f64 = 0.5;

fn write_scan(path: &std::path::Path) {
    let mut writer = georeferenced_las_writer(path);
    let mut rng = fastrand::Rng::with_seed(11);
    let mut put = |x: f64, y: f64, z: f64| {
        writer.write_point(las::Point { x, y, z, gps_time: Some(0.0), ..Default::default() }).unwrap();
    };
    for _ in 0..40_000 {
        put(CAR[0] + rng.f64() * 40.0 - 20.0, CAR[1] + rng.f64() * 40.0 - 20.0, 100.0 + (rng.f64() - 0.5) * 0.02);
    }
    let (c, s) = (YAW.cos(), YAW.sin());
    for i in 0..20_000 {
        let (u, v) = (rng.f64() - 0.5, rng.f64());
        // Faces a sensor to the car's right and rear would see, and the roof.
        let (lx, ly, lz) = match i % 3 {
            0 => (u * 4.5, -0.95, -0.75 + v * 1.5),
            1 => (-2.25, u * 1.9, -0.75 + v * 1.5),
            _ => (u * 4.5, (v - 0.5) * 1.9, 0.75),
        };
        put(CAR[0] + lx * c - ly * s, CAR[1] + lx * s + ly * c, CAR[2] + lz);
    }
    writer.close().unwrap();
}

#[test]
fn millimetres_survive_read_fit_and_export() {
    let (dir, project) = new_project();
    let scan = dir.path().join("street.las");
    write_scan(&scan);
    expect_code(&cairn(&["import", path_str(&project), path_str(&scan)]), 0);

    let cloud = cairn_cloud::read_cloud(&scan, None).unwrap();
    // The file's millimetre grid survives the f32 offsets.
    for i in [0, 12_345, cloud.len() - 1] {
        let w = cloud.world(i);
        for v in w {
            assert!(((v * 1000.0).round() - v * 1000.0).abs() < 1e-3, "{w:?} is off the file's 1 mm grid");
        }
    }
    let ground = estimate_ground(&cloud.positions, &GroundParams::default());
    let local = cloud.to_local(CAR);
    let rough = OrientedBox::new([local[0] as f64 + 0.4, local[1] as f64 - 0.3, local[2] as f64], [5.0, 2.5, 2.0], YAW + 0.2);
    let fit = auto_fit(&cloud.positions, &rough, &FitOptions { ground, ..FitOptions::default() }).expect("a box");
    let cuboid = fit.bbox.to_cuboid(&cloud, "car");
    for (got, want) in cuboid.center.iter().zip(CAR).take(2) {
        assert!((got - want).abs() < 0.03, "centre {:?} vs {CAR:?}", cuboid.center);
    }
    // The box stands on the ground: LiDAR rarely sees under a car.
    assert!((cuboid.center[2] - (CAR[2] - 0.125)).abs() < 0.05, "centre {:?} vs {CAR:?}", cuboid.center);
    assert!((cuboid.yaw - YAW).abs() < 2f64.to_radians(), "yaw {}", cuboid.yaw);

    let mut p = Project::open(&project).unwrap();
    let ann = p.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
    p.apply(ann, 2_000, Edit::Create { item: ItemId(1), payload: Payload::Cuboid(cuboid.clone()) }).unwrap();
    drop(p);

    let dump = stdout(&cairn(&["export", path_str(&project)]));
    let line: serde_json::Value = serde_json::from_str(dump.lines().next().unwrap()).unwrap();
    let exported: Vec<f64> = line["annotations"][0]["payload"]["center"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(exported, cuboid.center.to_vec(), "the export carries the fitted centre to the last bit");
}
