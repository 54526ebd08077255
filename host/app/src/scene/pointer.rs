//! The mouse side of the box tools: select by clicking a box; a new box by three clicks on the
//! ground (both ends of its length, then its width) or a drag along its length; a double click on
//! an object drops a box of the current class there; handles of the selected box move it, turn it
//! and pull its sides. A drag of a handle is one edit, written when the button is released.
//!
//! The tool works on a ray in the frame's local coordinates (`Pointer`), which the renderer fills
//! from the cursor and tests set directly.

use super::edit::SceneEdits;
use super::{Classes, Scene, SceneBox, local_center, rotation};
use crate::boxes::BoxEdit;
use bevy::ecs::system::SystemParam;
use bevy::input::ButtonState;
use bevy::input::mouse::MouseButtonInput;
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
    Pressed { at: Vec2, ground: Option<Vec3> },
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

/// When and where the last plain click was, for double clicks.
#[derive(Default)]
pub struct LastClick {
    at: Option<(f32, Vec2)>,
}

/// The world the tool works in for one frame.
struct ToolCtx<'a, 'w> {
    classes: &'a Classes,
    now: f32,
    /// Longest gap between the clicks of a double click: slow frames (a software renderer, a
    /// busy machine) stretch it to span the frames the clicks may fall in.
    double_click: f32,
    pointer: &'a mut Pointer,
    tool: &'a mut Tool,
    scene: &'a mut Scene,
    edits: &'a mut SceneEdits<'w>,
    last_click: &'a mut LastClick,
}

/// What the tool reads of this frame's input.
#[derive(SystemParam)]
pub struct ToolInput<'w, 's> {
    buttons: MessageReader<'w, 's, MouseButtonInput>,
    keys: Res<'w, ButtonInput<KeyCode>>,
    map: Res<'w, crate::keys::KeyMap>,
    time: Res<'w, Time>,
}

/// The mouse tool: see the module notes. Button messages are taken in order, so a click whose
/// press and release arrive in one (slow) frame is still a click.
pub fn pointer_tool(
    mut input: ToolInput,
    classes: Res<Classes>,
    mut pointer: ResMut<Pointer>,
    mut tool: ResMut<Tool>,
    mut scene: ResMut<Scene>,
    mut edits: SceneEdits,
    mut last_click: Local<LastClick>,
) {
    let events: Vec<ButtonState> = input.buttons.read().filter(|e| e.button == MouseButton::Left).map(|e| e.state).collect();
    let (keys, map, time) = (&input.keys, &input.map, &input.time);
    let mut ctx = ToolCtx {
        classes: &classes,
        now: time.elapsed_secs(),
        double_click: DOUBLE_CLICK.max(2.5 * time.delta_secs()),
        pointer: &mut pointer,
        tool: &mut tool,
        scene: &mut scene,
        edits: &mut edits,
        last_click: &mut last_click,
    };
    if map.just_pressed(crate::keys::Action::NewBox, keys) {
        *ctx.tool = Tool::Placing { points: Vec::new(), pressed_at: None, started_here: false };
        ctx.edits.status.message = "new box: click one end of its length".into();
    }
    if map.just_pressed(crate::keys::Action::Deselect, keys) {
        ctx.cancel();
    }
    if ctx.pointer.ray.is_none() || ctx.scene.cloud.is_none() {
        return;
    }
    ctx.preview_drag();
    for state in events {
        match state {
            ButtonState::Pressed => ctx.press(),
            ButtonState::Released => ctx.release(),
        }
    }
}

impl ToolCtx<'_, '_> {
    fn ray(&self) -> (Vec3, Vec3) {
        self.pointer.ray.expect("checked by the caller")
    }

    fn cloud(&self) -> std::sync::Arc<super::LoadedCloud> {
        self.scene.cloud.clone().expect("checked by the caller")
    }

    /// The ground under the cursor: where the ray meets the ground plane.
    fn ground(&self) -> Option<Vec3> {
        let (ray, cloud) = (self.ray(), self.cloud());
        let first = ray_plane(ray, cloud.ground_z(ray.0.x, ray.0.y))?;
        ray_plane(ray, cloud.ground_z(first.x, first.y))
    }

    /// A click now would be the second of a double click.
    fn is_second_click(&self) -> bool {
        self.last_click.at.is_some_and(|(t, p)| self.now - t < self.double_click && p.distance(self.pointer.screen) <= CLICK_SLOP)
    }

    fn default_size(&self) -> [f64; 3] {
        self.classes.default_size(&self.classes.current).unwrap_or([4.5, 1.9, 1.6])
    }

    fn cancel(&mut self) {
        if let Tool::Dragging { annotation, original, .. } = &*self.tool
            && let Some(b) = self.scene.boxes.iter_mut().find(|b| b.annotation == *annotation)
        {
            b.cuboid = original.clone();
        }
        if matches!(*self.tool, Tool::Placing { .. } | Tool::Dragging { .. }) {
            self.edits.status.message = "cancelled".into();
        }
        *self.tool = Tool::Idle;
        self.pointer.captured = false;
    }

    /// Where a handle drag has the box now, if the ray meets the handle's plane.
    fn dragged_box(&self) -> Option<(AnnotationId, Cuboid, Cuboid)> {
        let Tool::Dragging { handle, annotation, original, plane_z, grab } = self.tool.clone() else { return None };
        let ray = self.ray();
        let now = if handle == (Handle::Side { axis: 2, positive: true }) {
            // Height: the point on the vertical line through the box nearest the ray.
            vertical_hit(ray, local_center(self.scene.origin, &original))
        } else {
            ray_plane(ray, plane_z)
        }?;
        Some((annotation, original.clone(), dragged(handle, &original, self.scene.origin, grab, now)))
    }

    /// Shows a handle drag as it goes; nothing is written until the release.
    fn preview_drag(&mut self) {
        if let Some((annotation, _, preview)) = self.dragged_box()
            && let Some(b) = self.scene.boxes.iter_mut().find(|b| b.annotation == annotation)
        {
            b.cuboid = preview;
        }
    }

    fn press(&mut self) {
        if self.pointer.over_ui {
            return;
        }
        let ray = self.ray();
        let origin = self.scene.origin;
        let selected = self.edits.selection.0.and_then(|id| self.scene.boxes.iter().find(|b| b.annotation == id)).cloned();
        // The second press of a double click is never a handle grab: the first click may just
        // have selected the box under the cursor.
        let handle = selected.as_ref().filter(|_| !self.is_second_click()).and_then(|b| pick_handle(ray, origin, &b.cuboid));
        let ground = self.ground();
        let screen = self.pointer.screen;
        if let Tool::Placing { points, pressed_at, started_here } = &mut *self.tool {
            self.pointer.captured = true;
            *pressed_at = Some(screen);
            if points.is_empty()
                && let Some(g) = ground
            {
                points.push(g);
                *started_here = true;
                self.edits.status.message = "click the other end of its length (or drag there)".into();
            }
            return;
        }
        match (handle, selected) {
            (Some(handle), Some(b)) => {
                let centre = local_center(origin, &b.cuboid);
                let plane_z = centre.z + b.cuboid.size[2] as f32 / 2.0;
                let grab = if handle == (Handle::Side { axis: 2, positive: true }) { vertical_hit(ray, centre) } else { ray_plane(ray, plane_z) };
                if let Some(grab) = grab {
                    self.pointer.captured = true;
                    *self.tool = Tool::Dragging { handle, original: b.cuboid.clone(), annotation: b.annotation, plane_z, grab };
                }
            }
            _ => *self.tool = Tool::Pressed { at: screen, ground },
        }
    }

    fn release(&mut self) {
        self.pointer.captured = false;
        let screen = self.pointer.screen;
        let moved = |at: Vec2| at.distance(screen) > CLICK_SLOP;
        match self.tool.clone() {
            Tool::Dragging { .. } => {
                let dragged = self.dragged_box();
                *self.tool = Tool::Idle;
                match dragged {
                    Some((annotation, original, now)) if now != original => self.edits.edit(self.scene, BoxEdit::Replace(annotation, now)),
                    // A handle clicked, not dragged: a click, which a second one makes a double.
                    _ => self.last_click.at = Some((self.now, screen)),
                }
            }
            Tool::Placing { mut points, pressed_at, started_here } => {
                let Some(g) = self.ground() else { return };
                if started_here && !pressed_at.is_some_and(moved) {
                    // The first click: wait for the other end.
                    *self.tool = Tool::Placing { points, pressed_at: None, started_here: false };
                    return;
                }
                points.push(g);
                if points.len() < 3 && !started_here {
                    self.edits.status.message = "click its width".into();
                    *self.tool = Tool::Placing { points, pressed_at: None, started_here: false };
                    return;
                }
                *self.tool = Tool::Idle;
                let ground_z = self.cloud().ground_z(points[0].x, points[0].y);
                let cuboid = box_from_clicks(
                    points[0],
                    points[1],
                    points.get(2).copied(),
                    ground_z,
                    self.default_size(),
                    &self.classes.current,
                    self.scene.origin,
                );
                self.create(cuboid);
            }
            Tool::Pressed { at, ground } => {
                *self.tool = Tool::Idle;
                if moved(at) {
                    return; // a camera drag
                }
                let double = self.is_second_click();
                self.last_click.at = if double { None } else { Some((self.now, screen)) };
                if double {
                    self.drop_box(ground);
                } else {
                    let ray = self.ray();
                    let picked = pick_box(ray, self.scene.origin, &self.scene.boxes).map(|i| self.scene.boxes[i].annotation);
                    self.edits.select(picked);
                }
            }
            Tool::Idle => {}
        }
    }

    /// A double click: a box of the current class on the object under the cursor (the nearest
    /// point along the ray), else on the ground, facing away from the eye.
    fn drop_box(&mut self, ground: Option<Vec3>) {
        let (ray, cloud) = (self.ray(), self.cloud());
        let reach = 0.004 * (ray.0.length() + 1.0).min(200.0);
        let hit = cloud.octree.pick(ray.0.to_array(), ray.1.to_array(), reach).map(|(i, _)| Vec3::from(cloud.cloud.positions[i as usize]));
        let Some(spot) = hit.or(ground) else { return };
        let default = self.default_size();
        let yaw = ray.1.y.atan2(ray.1.x);
        let half = Vec3::new(yaw.cos(), yaw.sin(), 0.0) * default[0] as f32 / 2.0;
        let ground_z = cloud.ground_z(spot.x, spot.y);
        let cuboid = box_from_clicks(spot - half, spot + half, None, ground_z, default, &self.classes.current, self.scene.origin);
        self.create(cuboid);
    }

    fn create(&mut self, cuboid: Cuboid) {
        self.edits.edit(self.scene, BoxEdit::Create(cuboid));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_clicks_make_a_box_on_the_clicked_side() {
        let c = box_from_clicks(
            Vec3::new(0.0, 0.0, 0.0),
            Vec3::new(4.0, 0.0, 0.0),
            Some(Vec3::new(2.0, 2.0, 0.0)),
            0.5,
            [4.5, 1.9, 1.6],
            "car",
            [100.0, 200.0, 10.0],
        );
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
        let near = SceneBox {
            annotation: cairn_model::AnnotationId(1),
            revision: cairn_model::RevisionId(1),
            cuboid: box_from_clicks(Vec3::new(8.0, -1.0, 0.0), Vec3::new(12.0, -1.0, 0.0), None, 0.0, [4.0, 2.0, 1.5], "car", [0.0; 3]),
        };
        let far = SceneBox {
            annotation: cairn_model::AnnotationId(2),
            revision: cairn_model::RevisionId(2),
            cuboid: box_from_clicks(Vec3::new(28.0, -1.0, 0.0), Vec3::new(32.0, -1.0, 0.0), None, 0.0, [4.0, 2.0, 1.5], "car", [0.0; 3]),
        };
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
