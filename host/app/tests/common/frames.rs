//! A synthetic drive: KITTI `.bin` frames of flat ground and one car that moves 1 m per frame.

use bevy::input::ButtonState;
use bevy::input::mouse::MouseButtonInput;
use bevy::prelude::*;
use cairn_app::scene::{Pointer, Scene};
use cairn_store::Project;
use std::path::PathBuf;
use std::time::Duration;

/// Where the synthetic car is on frame `i` (local = file coordinates here): it drives 1 m along +x
/// per frame, heading 0.3 rad.
pub fn car_centre(i: usize) -> Vec3 {
    Vec3::new(12.0 + i as f32, 6.0, 0.75)
}
pub const CAR_YAW: f32 = 0.3;
pub const CAR_SIZE: Vec3 = Vec3::new(4.2, 1.8, 1.5);

/// A KITTI .bin frame: flat ground 30 × 15 m every 25 cm, and the car's sides and roof every 10 cm.
pub fn frame_bytes(i: usize) -> Vec<u8> {
    let mut points: Vec<[f32; 3]> = Vec::new();
    for gx in 0..120 {
        for gy in 0..60 {
            points.push([gx as f32 * 0.25, gy as f32 * 0.25, 0.0]);
        }
    }
    let (c, r) = (car_centre(i), Quat::from_rotation_z(CAR_YAW));
    let half = CAR_SIZE / 2.0;
    let steps = |len: f32| (0..=(len / 0.1) as i32).map(move |k| -len / 2.0 + k as f32 * 0.1);
    for x in steps(CAR_SIZE.x) {
        for z in steps(CAR_SIZE.z) {
            for y in [-half.y, half.y] {
                points.push((c + r * Vec3::new(x, y, z)).to_array());
            }
        }
        for y in steps(CAR_SIZE.y) {
            points.push((c + r * Vec3::new(x, y, half.z)).to_array());
        }
    }
    for y in steps(CAR_SIZE.y) {
        for z in steps(CAR_SIZE.z) {
            for x in [-half.x, half.x] {
                points.push((c + r * Vec3::new(x, y, z)).to_array());
            }
        }
    }
    points.iter().flat_map(|p| [p[0], p[1], p[2], 0.5]).flat_map(f32::to_le_bytes).collect()
}

/// A project with one sequence of `frames` frames.
pub fn project(frames: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("drive");
    std::fs::create_dir_all(&seq).unwrap();
    for i in 0..frames {
        std::fs::write(seq.join(format!("{i:06}.bin")), frame_bytes(i)).unwrap();
    }
    let path = dir.path().join("boxes.cairn");
    let mut p = Project::create(&path).unwrap();
    cairn_import::import_path(&mut p, &seq, &cairn_import::ImportOptions::default(), &mut |_, _| {}).unwrap();
    (dir, path)
}

pub fn bundled() -> Vec<cairn_plugin_host::BundledPlugin> {
    cairn_bundled_plugins::BUNDLED.iter().map(|&(manifest, wasm)| cairn_plugin_host::BundledPlugin { manifest, wasm }).collect()
}

/// Updates until frame `index` is loaded (its cloud decoded on the worker thread).
pub fn wait_for_frame(app: &mut App, index: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        app.update();
        let scene = app.world().resource::<Scene>();
        let idle = app.world().resource::<cairn_app::StoreLink>().idle();
        if scene.frame == index && scene.cloud.is_some() && scene.loading.is_none() && scene.wanted.is_none() && idle {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "frame {index} did not load: {}", scene.message);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Points the cursor straight down at file coordinates (x, y), from `screen` (pixels, for
/// click-versus-drag). The ray is in the frame's local coordinates, as the renderer makes it.
pub fn aim(app: &mut App, at: Vec2, screen: Vec2) {
    let origin = app.world().resource::<Scene>().origin;
    let local = at - Vec2::new(origin[0] as f32, origin[1] as f32);
    let mut pointer = app.world_mut().resource_mut::<Pointer>();
    pointer.ray = Some((local.extend(60.0), Vec3::NEG_Z));
    pointer.screen = screen;
    pointer.over_ui = false;
}

pub fn mouse(app: &mut App, state: ButtonState) {
    app.world_mut().write_message(MouseButtonInput { button: MouseButton::Left, state, window: Entity::PLACEHOLDER });
    app.update();
}

pub fn click(app: &mut App, at: Vec2, screen: Vec2) {
    aim(app, at, screen);
    mouse(app, ButtonState::Pressed);
    mouse(app, ButtonState::Released);
    super::wait_for_answers(app);
}
