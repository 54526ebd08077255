//! The 3D view's tools, headless (`MinimalPlugins`, no GPU) against a real project in a temp dir:
//! keys go in as `KeyboardInput` messages and mouse buttons as `MouseButtonInput`, with the pointer
//! ray set where a renderer would put it. The store must then hold exactly the expected revisions.

mod common;

use bevy::input::{ButtonState, InputPlugin};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use cairn_app::scene::{Classes, Frames, Pointer, Scene, Selection};
use cairn_app::{AppOptions, View};
use cairn_model::{AttributeValue, Cuboid, Payload};
use cairn_store::{Edit, Project};
use common::frames::{CAR_SIZE, CAR_YAW, aim, bundled, car_centre, click, mouse, project, wait_for_frame};
use common::{chord, press, settle};
use std::f32::consts::PI;
use std::path::Path;
use std::time::Duration;

fn app(project: &Path) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, InputPlugin)).insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(100)));
    let options = AppOptions {
        project: project.to_path_buf(),
        annotator: Some("tester".into()),
        plugins: bundled(),
        view: View::Scene,
        ..AppOptions::default()
    };
    cairn_app::build(&mut app, &options).unwrap();
    wait_for_frame(&mut app, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !app.world().resource::<Classes>().loaded {
        assert!(std::time::Instant::now() < deadline, "the cuboid task plugin did not load");
        app.update();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(app.world().resource::<Classes>().error.is_none());
    app
}

/// Annotator "tester"'s revisions: (action, state).
fn revisions(project: &Path) -> Vec<(String, String)> {
    let p = Project::open(project).unwrap();
    let who = p.annotator_by_name("tester").unwrap().unwrap().id;
    p.history(Some(who)).unwrap().into_iter().map(|r| (r.action.to_string(), r.state.to_string())).collect()
}

/// The boxes of frame `index` as stored (a second connection: what a crash would leave).
fn stored_boxes(project: &Path, index: usize, app: &App) -> Vec<Cuboid> {
    let item = app.world().resource::<Frames>().list[index].item;
    let p = Project::open(project).unwrap();
    p.annotations_of(item)
        .unwrap()
        .into_iter()
        .filter_map(|a| match a.payload {
            Payload::Cuboid(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn heading() -> Vec2 {
    Vec2::new(CAR_YAW.cos(), CAR_YAW.sin())
}

fn assert_fits_car(c: &Cuboid, frame: usize) {
    let want = car_centre(frame);
    let centre = Vec2::new(c.center[0] as f32, c.center[1] as f32);
    assert!(centre.distance(want.truncate()) < 0.15, "frame {frame}: centre {:?}, car at {want}", c.center);
    let yaw_error = ((c.yaw as f32 - CAR_YAW + PI).rem_euclid(2.0 * PI) - PI).abs();
    assert!(yaw_error < 3f32.to_radians(), "frame {frame}: yaw {} vs {CAR_YAW}", c.yaw);
    assert!((c.size[0] as f32 - CAR_SIZE.x).abs() < 0.25 && (c.size[1] as f32 - CAR_SIZE.y).abs() < 0.25, "size {:?}", c.size);
    assert!((c.center[2] - c.size[2] / 2.0).abs() < 0.1, "bottom on the ground: {:?} {:?}", c.center, c.size);
}

#[test]
fn scripted_session_creates_fits_copies_interpolates_undoes_and_redoes() {
    let (_dir, path) = project(3);
    let mut app = app(&path);

    // A rough box by three clicks: both ends of the car's length (a bit short and off), then its
    // width; then one key fits it.
    press(&mut app, KeyCode::Space);
    let c0 = car_centre(0).truncate();
    let left = Vec2::new(-heading().y, heading().x);
    click(&mut app, c0 - heading() * 1.6 + left * 0.3, Vec2::new(400.0, 300.0));
    click(&mut app, c0 + heading() * 1.5 + left * 0.3, Vec2::new(480.0, 280.0));
    click(&mut app, c0 - left * 0.6, Vec2::new(440.0, 330.0));
    let rough = stored_boxes(&path, 0, &app);
    assert_eq!(rough.len(), 1, "three clicks make one box");
    assert_eq!(rough[0].class, "car");
    assert_eq!(rough[0].track_id, Some(1));
    press(&mut app, KeyCode::KeyF);
    let fitted0 = stored_boxes(&path, 0, &app).remove(0);
    assert_fits_car(&fitted0, 0);

    // Copy forward twice (each goes to the next frame), fit on frame 2 where the car has moved.
    press(&mut app, KeyCode::KeyP);
    wait_for_frame(&mut app, 1);
    press(&mut app, KeyCode::KeyP);
    wait_for_frame(&mut app, 2);
    press(&mut app, KeyCode::KeyF);
    let fitted2 = stored_boxes(&path, 2, &app).remove(0);
    assert_fits_car(&fitted2, 2);
    assert_eq!(fitted2.track_id, Some(1));

    // Back to frame 1: make its box an interpolated one, then interpolate the track.
    press(&mut app, KeyCode::Comma);
    wait_for_frame(&mut app, 1);
    let selected = app.world().resource::<Selection>().0;
    let scene = app.world().resource::<Scene>();
    assert_eq!(selected, scene.boxes.iter().find(|b| b.cuboid.track_id == Some(1)).map(|b| b.annotation), "the selection follows the track");
    press(&mut app, KeyCode::KeyK);
    press(&mut app, KeyCode::KeyI);
    let middle = stored_boxes(&path, 1, &app).remove(0);
    for k in 0..3 {
        assert!((middle.center[k] - (fitted0.center[k] + fitted2.center[k]) / 2.0).abs() < 1e-9, "axis {k}: {:?}", middle.center);
        assert!((middle.size[k] - (fitted0.size[k] + fitted2.size[k]) / 2.0).abs() < 1e-9);
    }
    assert_eq!(middle.attributes.get("interpolated"), Some(&AttributeValue::Bool(true)));

    // Undo takes the interpolation back; redo puts it again.
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyZ);
    let undone = stored_boxes(&path, 1, &app).remove(0);
    assert_eq!(undone.center, fitted0.center, "before interpolation the copy sat where frame 0's box is");
    chord(&mut app, &[KeyCode::ControlLeft, KeyCode::ShiftLeft], KeyCode::KeyZ);
    assert_eq!(stored_boxes(&path, 1, &app).remove(0), middle);

    let want: Vec<(String, String)> = [
        ("create", "done"), // three clicks
        ("update", "done"), // F
        ("create", "done"), // P → frame 1
        ("create", "done"), // P → frame 2
        ("update", "done"), // F on frame 2
        ("update", "done"), // K
        ("update", "done"), // I: re-done by the redo below
        ("undo", "fixed"),  // Ctrl+Z
        ("redo", "fixed"),  // Ctrl+Shift+Z
    ]
    .iter()
    .map(|(a, s)| (a.to_string(), s.to_string()))
    .collect();
    assert_eq!(revisions(&path), want);
}

#[test]
fn interpolation_creates_missing_boxes_and_an_edit_makes_a_keyframe() {
    let (_dir, path) = project(4);
    // Keyframes on frames 0 and 3 only, written straight to the store.
    {
        let mut p = Project::open(&path).unwrap();
        let who = p.ensure_annotator("tester", cairn_model::AnnotatorKind::Human).unwrap();
        let mut items = Vec::new();
        p.for_each_item::<cairn_store::StoreError>(None, |item| {
            items.push(item.id);
            Ok(())
        })
        .unwrap();
        for (frame, x, yaw) in [(0, 10.0, 3.0), (3, 13.0, -3.0)] {
            let c = Cuboid {
                center: [x, 6.0, 0.75],
                size: [4.0, 1.8, 1.5],
                yaw,
                pitch: 0.0,
                roll: 0.0,
                class: "car".into(),
                attributes: Default::default(),
                track_id: Some(9),
            };
            p.apply(who, 0, Edit::Create { item: items[frame], payload: Payload::Cuboid(c) }).unwrap();
        }
    }
    let mut app = app(&path);
    press(&mut app, KeyCode::BracketRight);
    press(&mut app, KeyCode::KeyI);
    for (frame, x) in [(1, 11.0), (2, 12.0)] {
        let boxes = stored_boxes(&path, frame, &app);
        assert_eq!(boxes.len(), 1, "frame {frame}");
        assert!((boxes[0].center[0] - x).abs() < 1e-9, "frame {frame}: {:?}", boxes[0].center);
        // 3.0 → −3.0 the short way round: through ±π, not through 0.
        assert!(boxes[0].yaw.abs() > 3.0, "yaw {}", boxes[0].yaw);
        assert_eq!(boxes[0].track_id, Some(9));
        assert_eq!(boxes[0].attributes.get("interpolated"), Some(&AttributeValue::Bool(true)));
    }
    // One undo takes the whole interpolation back, one redo puts it again.
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyZ);
    assert!(stored_boxes(&path, 1, &app).is_empty() && stored_boxes(&path, 2, &app).is_empty());
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyY);
    assert_eq!(stored_boxes(&path, 1, &app).len() + stored_boxes(&path, 2, &app).len(), 2);
    // Nudging an interpolated box makes it a keyframe; interpolating again leaves it be.
    press(&mut app, KeyCode::Period);
    wait_for_frame(&mut app, 1);
    press(&mut app, KeyCode::BracketRight);
    press(&mut app, KeyCode::ArrowUp);
    let nudged = stored_boxes(&path, 1, &app).remove(0);
    assert!(!nudged.attributes.contains_key("interpolated"));
    press(&mut app, KeyCode::KeyI);
    assert_eq!(stored_boxes(&path, 1, &app).remove(0), nudged);
    let frame2 = stored_boxes(&path, 2, &app).remove(0);
    assert!((frame2.center[0] - (nudged.center[0] + 13.0) / 2.0).abs() < 1e-9, "frame 2 now between the nudged box and frame 3");
}

#[test]
fn edit_keys_move_turn_and_resize_and_undo_survives_a_restart() {
    let (_dir, path) = project(1);
    let mut app = app(&path);
    // A double click on the car drops a box of the current class there; 2 makes it a van.
    let c0 = car_centre(0).truncate();
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    assert_eq!(stored_boxes(&path, 0, &app).len(), 1, "a double click makes a box");
    press(&mut app, KeyCode::Digit2);
    let start = stored_boxes(&path, 0, &app).remove(0);
    assert_eq!(start.class, "van");
    press(&mut app, KeyCode::ArrowUp);
    chord(&mut app, &[KeyCode::ShiftLeft], KeyCode::ArrowLeft);
    press(&mut app, KeyCode::KeyZ);
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::PageUp);
    let moved = stored_boxes(&path, 0, &app).remove(0);
    let (s, c) = start.yaw.sin_cos();
    // 10 cm forward, 2 cm left (Shift), 2° left, 10 cm taller with the bottom kept.
    let want_x = start.center[0] + 0.1 * c - 0.02 * s;
    let want_y = start.center[1] + 0.1 * s + 0.02 * c;
    assert!((moved.center[0] - want_x).abs() < 1e-9 && (moved.center[1] - want_y).abs() < 1e-9, "{:?}", moved.center);
    assert!((moved.yaw - cairn_model::normalize_angle(start.yaw + 2f64.to_radians())).abs() < 1e-9);
    assert!((moved.size[2] - start.size[2] - 0.1).abs() < 1e-9);
    assert!(((moved.center[2] - moved.size[2] / 2.0) - (start.center[2] - start.size[2] / 2.0)).abs() < 1e-9);
    assert_eq!(revisions(&path).len(), 6, "create, class, and four edits: one revision each");

    // The app goes away without a goodbye; a new one undoes the last edit from the file.
    drop(app);
    let mut app = self::app(&path);
    press(&mut app, KeyCode::BracketRight);
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyZ);
    let after = stored_boxes(&path, 0, &app).remove(0);
    assert!((after.size[2] - start.size[2]).abs() < 1e-9, "the height change is undone");
    assert_eq!(after.yaw, moved.yaw, "only the last edit");
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyY);
    assert_eq!(stored_boxes(&path, 0, &app).remove(0), moved);
}

#[test]
fn dragging_handles_is_one_edit_on_release() {
    let (_dir, path) = project(1);
    let mut app = app(&path);
    let c0 = car_centre(0).truncate();
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    let start = stored_boxes(&path, 0, &app).remove(0);
    let before = revisions(&path).len();
    // Grab the top centre (the move handle), drag 2 m to +y, release.
    let top = Vec2::new(start.center[0] as f32, start.center[1] as f32);
    aim(&mut app, top, Vec2::new(300.0, 300.0));
    mouse(&mut app, ButtonState::Pressed);
    assert!(app.world().resource::<Pointer>().captured, "the tool owns the drag, not the camera");
    for k in 1..=4 {
        aim(&mut app, top + Vec2::new(0.0, 0.5 * k as f32), Vec2::new(300.0, 300.0 - 10.0 * k as f32));
        app.update();
    }
    assert_eq!(revisions(&path).len(), before, "nothing is written while dragging");
    mouse(&mut app, ButtonState::Released);
    settle(&mut app);
    let moved = stored_boxes(&path, 0, &app).remove(0);
    assert!((moved.center[1] - start.center[1] - 2.0).abs() < 1e-4 && (moved.center[0] - start.center[0]).abs() < 1e-4, "{:?}", moved.center);
    assert_eq!(revisions(&path).len(), before + 1);
    // A click beside every box deselects; a click on the box selects it.
    click(&mut app, top + Vec2::new(0.0, 8.0), Vec2::new(100.0, 100.0));
    assert!(app.world().resource::<Selection>().0.is_none());
    click(&mut app, top + Vec2::new(0.0, 2.0), Vec2::new(500.0, 100.0));
    assert!(app.world().resource::<Selection>().0.is_some());
}

#[test]
fn numbers_typed_in_the_panel_are_one_revision_and_bad_ones_are_refused() {
    let (_dir, path) = project(1);
    let mut app = app(&path);
    let c0 = car_centre(0).truncate();
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    let id = app.world().resource::<Selection>().0.expect("the new box is selected");
    // A double click right on the selected box's top centre (its move handle) is still a double
    // click: a second box, not a handle grab.
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    click(&mut app, c0, Vec2::new(300.0, 300.0));
    assert_eq!(stored_boxes(&path, 0, &app).len(), 2);
    app.world_mut().write_message(cairn_app::scene::edit::SceneRequest::Select(Some(id)));
    settle(&mut app);
    let mut typed = stored_boxes(&path, 0, &app).remove(0);
    typed.size = [4.25, 1.85, 1.55];
    typed.yaw = 0.3;
    app.world_mut().write_message(cairn_app::scene::edit::SceneRequest::Edit(cairn_app::boxes::BoxEdit::Replace(id, typed.clone())));
    settle(&mut app);
    assert_eq!(stored_boxes(&path, 0, &app)[0], typed);
    assert_eq!(revisions(&path).len(), 3);
    // A negative size is refused by the store's validation: nothing changes, the status says why.
    let mut bad = typed.clone();
    bad.size[0] = -1.0;
    app.world_mut().write_message(cairn_app::scene::edit::SceneRequest::Edit(cairn_app::boxes::BoxEdit::Replace(id, bad)));
    settle(&mut app);
    assert_eq!(stored_boxes(&path, 0, &app)[0], typed);
    assert_eq!(revisions(&path).len(), 3);
    let status = &app.world().resource::<cairn_app::scene::edit::SceneStatus>().message;
    assert!(status.contains("size"), "{status}");
}

/// Another annotator, on a connection of their own, adds a box to the frame on screen and then
/// moves it: the view shows each change within a second, without a key pressed.
#[test]
fn another_annotators_changes_to_the_frame_on_screen_appear() {
    let (_dir, path) = project(2);
    let mut app = app(&path);
    settle(&mut app);
    let item = app.world().resource::<Frames>().list[0].item;
    let shown_before = app.world().resource::<Scene>().boxes.len();
    let mut other = Project::open(&path).unwrap();
    let ben = other.ensure_annotator("ben", cairn_model::AnnotatorKind::Human).unwrap();
    let mut cuboid = Cuboid {
        center: [20.0, -4.0, 0.75],
        size: [4.0, 1.8, 1.5],
        yaw: 0.0,
        pitch: 0.0,
        roll: 0.0,
        class: "car".into(),
        attributes: Default::default(),
        track_id: Some(77),
    };
    let made = other.apply(ben, 0, Edit::Create { item, payload: Payload::Cuboid(cuboid.clone()) }).unwrap();
    let shown = |app: &App| app.world().resource::<Scene>().boxes.iter().find(|b| b.annotation == made.annotation).map(|b| b.cuboid.center);
    let wait_until = |app: &mut App, want: [f64; 3]| {
        let committed = std::time::Instant::now();
        while shown(app) != Some(want) {
            assert!(committed.elapsed() < Duration::from_secs(1), "not shown a second after the commit: {:?}", shown(app));
            app.update();
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_until(&mut app, [20.0, -4.0, 0.75]);
    assert_eq!(app.world().resource::<Scene>().boxes.len(), shown_before + 1);
    cuboid.center = [21.0, -4.0, 0.75];
    other.apply(ben, 0, Edit::Update { annotation: made.annotation, payload: Payload::Cuboid(cuboid), seen: Some(made.revision) }).unwrap();
    wait_until(&mut app, [21.0, -4.0, 0.75]);
    assert!(revisions(&path).is_empty(), "the app stored nothing of its own: {:?}", revisions(&path));
}
