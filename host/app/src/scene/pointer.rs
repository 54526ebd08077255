//! The mouse side of the box tools: select by clicking a box; a new box by three clicks on the
//! ground (both ends of its length, then its width) or a drag along its length; a double click on
//! an object drops a box of the current class there; handles of the selected box move it, turn it
//! and pull its sides. A drag of a handle is one edit, written when the button is released.
//!
//! The tool works on a ray in the frame's local coordinates (`Pointer`), which the renderer fills
//! from the cursor and tests set directly.

use super::edit::{Editor, SceneStatus};
use super::{local_center, rotation, Classes, EditClock, Frames, Scene, SceneBox, Selection};
use crate::{Annotator, Workspace};
use bevy::prelude::*;
use cairn_model::{AnnotationId, Cuboid};

/// A press and release closer than this (pixels) is a click, not a drag.
const CLICK_SLOP: f32 = 4.0;
/// Two clicks this close in time (seconds) are a double click.
const DOUBLE_CLICK: f32 = 0.4;
/// A handle is hit within this fraction of its distance from the eye (about 12 px at 60° fov).
const HANDLE_REACH: f32 = 0.02;

/// Where the cursor points, in the frame's local coordinates.
#[derive(Resource, Default, Clone, Copy, Debug)]
pub struct Pointer {
    /// Ray origin and unit direction; None when the cursor is outside the 3D view.
    pub ray: Option<(Vec3, Vec3)>,
    /// Cursor position in the window (logical pixels).
    pub screen: Vec2,
    /// The cursor is over a panel: clicks belong to it.
    pub over_ui: bool,
    /// The tool owns the current drag: the camera must not turn with it.
    pub captured: bool,
}

/// Parts of the selected box that can be dragged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handle {
    /// The top centre: moves the box over the ground.
    Move,
    /// The tip of the heading arrow: turns the box.
    Rotate,
    /// The middle of a side (+x front, -x back, +y left, -y right) or the top: pulls that side.
    Side { axis: usize, positive: bool },
}

/// What the mouse is doing.
#[derive(Resource, Default, Clone, Debug, PartialEq)]
pub enum Tool {
    #[default]
    Idle,
    /// Drawing a new box: the ground points clicked so far; where the button went down; whether
    /// that press put down the first point (then a drag from it is the whole box).
    Placing { points: Vec<Vec3>, pressed_at: Option<Vec2>, started_here: bool },
    /// Button down, not yet a click or a drag.
    Pressed { at: Vec2, ground: Option<Vec3>, handle: Option<Handle> },
    /// Dragging a handle of a box; `original` is what the store holds.
    Dragging { handle: Handle, annotation: AnnotationId, original: Cuboid, plane_z: f32, grab: Vec3 },
}

/// Where the ray meets the horizontal plane at height `z`.
pub fn ray_plane(ray: (Vec3, Vec3), z: f32) -> Option<Vec3> {
    let (o, d) = ray;
    if d.z.abs() < 1e-6 {
        return None;
    }
    let t = (z - o.z) / d.z;
    (t > 0.0).then(|| o + d * t)
}

/// The handles of a box and where they are (local coordinates).
pub fn handles(origin: [f64; 3], c: &Cuboid) -> Vec<(Handle, Vec3)> {
    let centre = local_center(origin, c);
    let r = rotation(c);
    let half = Vec3::new(c.size[0] as f32, c.size[1] as f32, c.size[2] as f32) / 2.0;
    let top = centre + Vec3::Z * half.z;
    let mut out = vec![(Handle::Move, top), (Handle::Rotate, top + r * Vec3::X * (half.x + 1.0))];
    for (axis, positive) in [(0, true), (0, false), (1, true), (1, false), (2, true)] {
        let mut v = Vec3::ZERO;
        v[axis] = if positive { half[axis] } else { -half[axis] };
        out.push((Handle::Side { axis, positive }, centre + r * v));
    }
    out
}

/// The handle the ray passes nearest, within reach.
fn pick_handle(ray: (Vec3, Vec3), origin: [f64; 3], c: &Cuboid) -> Option<Handle> {
    let (o, d) = ray;
    handles(origin, c)
        .into_iter()
        .filter_map(|(h, p)| {
            let t = (p - o).dot(d);
            let off = (p - (o + d * t)).length();
            (t > 0.0 && off <= (HANDLE_REACH * t).max(0.05)).then_some((h, off / t))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(h, _)| h)
}

/// Distance along the ray to the nearest box it passes through.
fn pick_box(ray: (Vec3, Vec3), origin: [f64; 3], boxes: &[SceneBox]) -> Option<usize> {
    boxes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let inv = rotation(&b.cuboid).inverse();
            let centre = local_center(origin, &b.cuboid);
            let (o, d) = (inv * (ray.0 - centre), inv * ray.1);
            let half = Vec3::new(b.cuboid.size[0] as f32, b.cuboid.size[1] as f32, b.cuboid.size[2] as f32) / 2.0;
            slab(o, d, half).map(|t| (i, t))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Entry distance of a ray into the box ±half around the origin.
fn slab(o: Vec3, d: Vec3, half: Vec3) -> Option<f32> {
    let (mut t0, mut t1) = (0.0f32, f32::INFINITY);
    for k in 0..3 {
        if d[k].abs() < 1e-9 {
            if o[k].abs() > half[k] {
                return None;
            }
            continue;
        }
        let (a, b) = ((-half[k] - o[k]) / d[k], (half[k] - o[k]) / d[k]);
        t0 = t0.max(a.min(b));
        t1 = t1.min(a.max(b));
    }
    (t0 <= t1).then_some(t0)
}

/// A box on the ground from the clicked points: `a`→`b` is its length and heading; `c`, when
/// given, sets its width (the box lies on `c`'s side of the line), else the class's width.
pub fn box_from_clicks(a: Vec3, b: Vec3, c: Option<Vec3>, ground_z: f32, default: [f64; 3], class: &str, origin: [f64; 3]) -> Cuboid {
    let along = (b - a).truncate();
    let length = along.length().max(0.1);
    let dir = if along.length() > 1e-3 { along / along.length() } else { Vec2::X };
    let left = Vec2::new(-dir.y, dir.x);
    let mid = (a.truncate() + b.truncate()) / 2.0;
    let (width, offset) = match c {
        Some(c) => {
            let side = (c.truncate() - a.truncate()).dot(left);
            (side.abs().max(0.1), side / 2.0)
        }
        None => (default[1] as f32, 0.0),
    };
    let centre = mid + left * offset;
    let height = default[2];
    Cuboid {
        center: [origin[0] + f64::from(centre.x), origin[1] + f64::from(centre.y), origin[2] + f64::from(ground_z) + height / 2.0],
        size: [f64::from(length), f64::from(width), height],
        yaw: f64::from(dir.y.atan2(dir.x)),
        pitch: 0.0,
        roll: 0.0,
        class: class.to_string(),
        attributes: Default::default(),
        track_id: None,
    }
}

/// A box dragged by a handle from `original` (grabbed at `grab`) to the ray's point `now` on the
/// handle's plane.
pub fn dragged(handle: Handle, original: &Cuboid, origin: [f64; 3], grab: Vec3, now: Vec3) -> Cuboid {
    let mut c = original.clone();
    let centre = local_center(origin, original);
    match handle {
        Handle::Move => {
            c.center[0] += f64::from(now.x - grab.x);
            c.center[1] += f64::from(now.y - grab.y);
        }
        Handle::Rotate => {
            let v = (now - centre).truncate();
            if v.length() > 1e-3 {
                c.yaw = cairn_model::normalize_angle(f64::from(v.y.atan2(v.x)));
            }
        }
        Handle::Side { axis: 2, .. } => {
            // The top follows the cursor's height change; the bottom stays.
            let bottom = original.center[2] - original.size[2] / 2.0;
            let height = (original.size[2] + f64::from(now.z - grab.z)).max(0.05);
            c.size[2] = height;
            c.center[2] = bottom + height / 2.0;
        }
        Handle::Side { axis, positive } => {
            // The dragged side follows the cursor along its axis; the opposite side stays.
            let r = rotation(original);
            let mut unit = Vec3::ZERO;
            unit[axis] = 1.0;
            let dir = r * unit;
            let delta = f64::from((now - grab).dot(dir)) * if positive { 1.0 } else { -1.0 };
            let size = (original.size[axis] + delta).max(0.05);
            let shift = (size - original.size[axis]) / 2.0 * if positive { 1.0 } else { -1.0 };
            c.size[axis] = size;
            c.center[0] += f64::from(dir.x) * shift;
            c.center[1] += f64::from(dir.y) * shift;
        }
    }
    c
}

#[derive(Default)]
pub struct LastClick {
    at: Option<(f32, Vec2)>,
}

/// The mouse tool: see the module notes.
#[allow(clippy::too_many_arguments)]
pub fn pointer_tool(
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    map: Res<crate::keys::KeyMap>,
    time: Res<Time>,
    workspace: Res<Workspace>,
    frames: Res<Frames>,
    annotator: Res<Annotator>,
    classes: Res<Classes>,
    mut pointer: ResMut<Pointer>,
    mut tool: ResMut<Tool>,
    mut scene: ResMut<Scene>,
    mut selection: ResMut<Selection>,
    mut clock: ResMut<EditClock>,
    mut status: ResMut<SceneStatus>,
    mut last_click: Local<LastClick>,
) {
    if map.just_pressed(crate::keys::Action::NewBox, &keys) {
        *tool = Tool::Placing { points: Vec::new(), pressed_at: None, started_here: false };
        status.message = "new box: click one end of its length".into();
    }
    if map.just_pressed(crate::keys::Action::Deselect, &keys) && matches!(*tool, Tool::Placing { .. } | Tool::Dragging { .. }) {
        if let Tool::Dragging { annotation, original, .. } = &*tool
            && let Some(b) = scene.boxes.iter_mut().find(|b| b.annotation == *annotation)
        {
            b.cuboid = original.clone();
        }
        *tool = Tool::Idle;
        status.message = "cancelled".into();
    }
    let Some(ray) = pointer.ray else { return };
    let Some(cloud) = scene.cloud.clone() else { return };
    let origin = scene.origin;
    // The ground under the cursor: where the ray meets the ground plane near the view's centre.
    let ground_at = |ray: (Vec3, Vec3)| -> Option<Vec3> {
        let first = ray_plane(ray, cloud.ground_z(ray.0.x, ray.0.y))?;
        let z = cloud.ground_z(first.x, first.y);
        ray_plane(ray, z)
    };
    let default = classes.default_size(&classes.current).unwrap_or([4.5, 1.9, 1.6]);
    let pressed = buttons.just_pressed(MouseButton::Left) && !pointer.over_ui;
    let released = buttons.just_released(MouseButton::Left);

    // Live drags: move the preview with the cursor.
    if let Tool::Dragging { handle, annotation, original, plane_z, grab } = tool.clone() {
        let now = if handle == (Handle::Side { axis: 2, positive: true }) {
            // Height: the point on the vertical line through the top nearest the ray.
            vertical_hit(ray, local_center(origin, &original))
        } else {
            ray_plane(ray, plane_z)
        };
        let preview = now.map(|now| dragged(handle, &original, origin, grab, now));
        if let Some(p) = &preview
            && let Some(b) = scene.boxes.iter_mut().find(|b| b.annotation == annotation)
        {
            b.cuboid = p.clone();
        }
        if released {
            pointer.captured = false;
            *tool = Tool::Idle;
            let Some((who, _)) = annotator.0 else { return };
            if let Some(p) = preview
                && p != original
            {
                let mut editor = Editor { workspace: &workspace, frames: &frames, scene: &mut scene, selection: &mut selection, clock: &mut clock, who };
                if let Err(e) = editor.update(annotation, p) {
                    status.message = e;
                    super::edit::reload_boxes(&workspace, &frames, &mut scene);
                }
            }
        }
        return;
    }

    if pressed {
        let handle = selection
            .0
            .and_then(|id| scene.boxes.iter().find(|b| b.annotation == id))
            .and_then(|b| pick_handle(ray, origin, &b.cuboid));
        let ground = ground_at(ray);
        let placing = matches!(*tool, Tool::Placing { .. });
        if placing || handle.is_some() {
            pointer.captured = true;
        }
        match (&mut *tool, handle) {
            (Tool::Placing { points, pressed_at, started_here }, _) => {
                *pressed_at = Some(pointer.screen);
                if points.is_empty()
                    && let Some(g) = ground
                {
                    points.push(g);
                    *started_here = true;
                    status.message = "click the other end of its length (or drag there)".into();
                }
            }
            (_, Some(handle)) => {
                let b = scene.boxes.iter().find(|b| Some(b.annotation) == selection.0).cloned().expect("picked above");
                let centre = local_center(origin, &b.cuboid);
                let plane_z = centre.z + b.cuboid.size[2] as f32 / 2.0;
                let grab = if handle == (Handle::Side { axis: 2, positive: true }) { vertical_hit(ray, centre) } else { ray_plane(ray, plane_z) };
                if let Some(grab) = grab {
                    *tool = Tool::Dragging { handle, original: b.cuboid.clone(), annotation: b.annotation, plane_z, grab };
                }
            }
            (tool, None) => *tool = Tool::Pressed { at: pointer.screen, ground, handle: None },
        }
        return;
    }
    if !released {
        return;
    }
    pointer.captured = false;
    let moved = |at: Vec2| at.distance(pointer.screen) > CLICK_SLOP;
    match tool.clone() {
        Tool::Placing { mut points, pressed_at, started_here } => {
            let Some(g) = ground_at(ray) else { return };
            let drag = pressed_at.is_some_and(moved);
            if started_here && !drag {
                // The first click: wait for the other end.
                *tool = Tool::Placing { points, pressed_at: None, started_here: false };
                return;
            }
            points.push(g);
            if points.len() < 3 && !started_here {
                status.message = "click its width".into();
                *tool = Tool::Placing { points, pressed_at: None, started_here: false };
                return;
            }
            *tool = Tool::Idle;
            let ground_z = cloud.ground_z(points[0].x, points[0].y);
            let cuboid = box_from_clicks(points[0], points[1], points.get(2).copied(), ground_z, default, &classes.current, origin);
            create(&workspace, &frames, &annotator, &mut scene, &mut selection, &mut clock, &mut status, cuboid);
        }
        Tool::Pressed { at, ground, .. } => {
            *tool = Tool::Idle;
            if moved(at) {
                return; // a camera drag
            }
            let now = time.elapsed_secs();
            let double = last_click.at.is_some_and(|(t, p)| now - t < DOUBLE_CLICK && p.distance(pointer.screen) <= CLICK_SLOP);
            last_click.at = Some((now, pointer.screen));
            if double {
                last_click.at = None;
                // On an object: the point under the cursor, else the ground.
                let hit = cloud.octree.pick(ray.0.to_array(), ray.1.to_array(), 0.004 * (ray.0.length() + 1.0).min(200.0)).map(|(i, _)| Vec3::from(cloud.cloud.positions[i as usize]));
                let Some(spot) = hit.or(ground) else { return };
                let yaw = ray.1.y.atan2(ray.1.x);
                let half = Vec3::new(yaw.cos(), yaw.sin(), 0.0) * default[0] as f32 / 2.0;
                let ground_z = cloud.ground_z(spot.x, spot.y);
                let cuboid = box_from_clicks(spot - half, spot + half, None, ground_z, default, &classes.current, origin);
                create(&workspace, &frames, &annotator, &mut scene, &mut selection, &mut clock, &mut status, cuboid);
                return;
            }
            selection.0 = pick_box(ray, origin, &scene.boxes).map(|i| scene.boxes[i].annotation);
        }
        _ => {}
    }
}

/// Where the ray passes nearest the vertical line through `p`.
fn vertical_hit(ray: (Vec3, Vec3), p: Vec3) -> Option<Vec3> {
    let (o, d) = ray;
    // Closest points of two lines: the ray and x = p.x, y = p.y.
    let w = o - p;
    let (a, b, c) = (d.dot(d), d.z, 1.0);
    let (dd, e) = (d.dot(w), w.z);
    let denom = a * c - b * b;
    if denom.abs() < 1e-6 {
        return None;
    }
    let s = (a * e - b * dd) / denom;
    Some(Vec3::new(p.x, p.y, p.z + s))
}

#[allow(clippy::too_many_arguments)]
fn create(
    workspace: &Workspace,
    frames: &Frames,
    annotator: &Annotator,
    scene: &mut Scene,
    selection: &mut Selection,
    clock: &mut EditClock,
    status: &mut SceneStatus,
    cuboid: Cuboid,
) {
    let Some((who, _)) = annotator.0 else {
        status.message = "say who you are first (the name field at the top)".into();
        return;
    };
    let class = cuboid.class.clone();
    let mut editor = Editor { workspace, frames, scene, selection, clock, who };
    status.message = match editor.create(cuboid) {
        Ok(_) => format!("new {class} box: F fits it to its points"),
        Err(e) => format!("not saved: {e}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_clicks_make_a_box_on_the_clicked_side() {
        let c = box_from_clicks(Vec3::new(0.0, 0.0, 0.0), Vec3::new(4.0, 0.0, 0.0), Some(Vec3::new(2.0, 2.0, 0.0)), 0.5, [4.5, 1.9, 1.6], "car", [100.0, 200.0, 10.0]);
        assert_eq!(c.size, [4.0, 2.0, 1.6]);
        assert!((c.center[0] - 102.0).abs() < 1e-6 && (c.center[1] - 201.0).abs() < 1e-6);
        assert!((c.center[2] - (10.0 + 0.5 + 0.8)).abs() < 1e-6, "bottom on the ground: {:?}", c.center);
        assert!(c.yaw.abs() < 1e-9);
        // Width clicked on the right side: the box lies to the right of the line.
        let right = box_from_clicks(Vec3::ZERO, Vec3::new(0.0, 4.0, 0.0), Some(Vec3::new(3.0, 1.0, 0.0)), 0.0, [4.5, 1.9, 1.6], "car", [0.0; 3]);
        assert!((right.yaw - std::f64::consts::FRAC_PI_2).abs() < 1e-6);
        assert!((right.center[0] - 1.5).abs() < 1e-6 && (right.size[1] - 3.0).abs() < 1e-6);
    }

    #[test]
    fn side_handles_move_one_side_only() {
        let original = box_from_clicks(Vec3::ZERO, Vec3::new(4.0, 0.0, 0.0), None, 0.0, [4.0, 2.0, 1.5], "car", [0.0; 3]);
        // Pull the front 1 m forward: length 5, centre 0.5 m forward, back stays at x = 0.
        let c = dragged(Handle::Side { axis: 0, positive: true }, &original, [0.0; 3], Vec3::new(4.0, 0.0, 1.5), Vec3::new(5.0, 0.3, 1.5));
        assert!((c.size[0] - 5.0).abs() < 1e-5 && (c.center[0] - 2.5).abs() < 1e-5);
        // Pull the right side (−y) out by 0.5 m.
        let c = dragged(Handle::Side { axis: 1, positive: false }, &original, [0.0; 3], Vec3::new(2.0, -1.0, 1.5), Vec3::new(2.0, -1.5, 1.5));
        assert!((c.size[1] - 2.5).abs() < 1e-5 && (c.center[1] + 0.25).abs() < 1e-5);
        // Turning: the arrow tip dragged to +y turns the box to face +y.
        let c = dragged(Handle::Rotate, &original, [0.0; 3], Vec3::new(5.0, 0.0, 1.5), Vec3::new(2.0, 3.0, 1.5));
        assert!((c.yaw - std::f64::consts::FRAC_PI_2).abs() < 1e-5);
    }

    #[test]
    fn rays_pick_the_nearest_box_and_its_handles() {
        let near = SceneBox { annotation: cairn_model::AnnotationId(1), cuboid: box_from_clicks(Vec3::new(8.0, -1.0, 0.0), Vec3::new(12.0, -1.0, 0.0), None, 0.0, [4.0, 2.0, 1.5], "car", [0.0; 3]) };
        let far = SceneBox { annotation: cairn_model::AnnotationId(2), cuboid: box_from_clicks(Vec3::new(28.0, -1.0, 0.0), Vec3::new(32.0, -1.0, 0.0), None, 0.0, [4.0, 2.0, 1.5], "car", [0.0; 3]) };
        let ray = (Vec3::new(0.0, -1.0, 0.7), Vec3::X);
        assert_eq!(pick_box(ray, [0.0; 3], &[far.clone(), near.clone()]), Some(1));
        assert_eq!(pick_box((Vec3::new(0.0, 5.0, 0.7), Vec3::X), [0.0; 3], &[far, near.clone()]), None);
        // Looking down at the top centre from 20 m: the move handle.
        let top = (Vec3::new(10.0, -1.0, 21.5), -Vec3::Z);
        assert_eq!(pick_handle(top, [0.0; 3], &near.cuboid), Some(Handle::Move));
        let tip = (Vec3::new(13.0, -1.0, 21.5), -Vec3::Z);
        assert_eq!(pick_handle(tip, [0.0; 3], &near.cuboid), Some(Handle::Rotate));
    }
}
