//! Box edits. Every edit is one store revision, written at once (a crash loses nothing typed);
//! undo and redo go through the store, so they also work after a restart.

use super::{EditClock, Frames, LoadedCloud, Scene, SceneBox, Selection, boxes_of};
use crate::keys::{Action, KeyMap};
use crate::{Annotator, Panels, Workspace};
use bevy::prelude::*;
use cairn_cloud::fit::{FitOptions, auto_fit};
use cairn_cloud::spatial::OrientedBox;
use cairn_model::{AnnotationId, AnnotatorId, AttributeValue, Cuboid, Payload, fill_between_keyframes, normalize_angle};
use cairn_store::Edit;

/// The attribute that marks a box made by interpolation; boxes without it are keyframes.
pub const INTERPOLATED: &str = "interpolated";

/// Steps of the edit keys; Shift divides them by this.
const MOVE_STEP: f64 = 0.10;
const ROTATE_STEP: f64 = 2.0 * std::f64::consts::PI / 180.0;
const FINE: f64 = 5.0;
const ROTATE_FINE: f64 = 4.0;
const MIN_SIZE: f64 = 0.05;

/// What the last box action did, for the status line.
#[derive(Resource, Default)]
pub struct SceneStatus {
    pub message: String,
}

/// Reads the current frame's boxes from the store.
pub fn reload_boxes(workspace: &Workspace, frames: &Frames, scene: &mut Scene) {
    let Some(frame) = frames.0.get(scene.frame) else { return };
    let project = workspace.project.lock().expect("project lock");
    match boxes_of(&project, frame.item) {
        Ok(boxes) => scene.boxes = boxes,
        Err(e) => scene.message = format!("cannot read the boxes: {e}"),
    }
}

pub fn is_keyframe(c: &Cuboid) -> bool {
    !matches!(c.attributes.get(INTERPOLATED), Some(AttributeValue::Bool(true)))
}

/// The edit session: who edits and where the edits go. Borrowed from the ECS for one action.
pub struct Editor<'a> {
    pub workspace: &'a Workspace,
    pub frames: &'a Frames,
    pub scene: &'a mut Scene,
    pub selection: &'a mut Selection,
    pub clock: &'a mut EditClock,
    pub who: AnnotatorId,
}

impl Editor<'_> {
    /// Applies one edit as one revision and shows the frame's boxes as stored.
    fn apply(&mut self, edit: Edit) -> Result<AnnotationId, String> {
        let annotation = self.write(edit)?;
        reload_boxes(self.workspace, self.frames, self.scene);
        Ok(annotation)
    }

    /// Writes one edit as one revision, with the active time since the last one.
    fn write(&mut self, edit: Edit) -> Result<AnnotationId, String> {
        let mut project = self.workspace.project.lock().expect("project lock");
        let outcome = project.apply(self.who, std::mem::take(&mut self.clock.active_ms), edit).map_err(|e| e.to_string())?;
        Ok(outcome.annotation)
    }

    pub fn selected(&self) -> Option<&SceneBox> {
        let id = self.selection.0?;
        self.scene.boxes.iter().find(|b| b.annotation == id)
    }

    /// A new box on the current frame, selected, with a new track id.
    pub fn create(&mut self, mut cuboid: Cuboid) -> Result<AnnotationId, String> {
        let item = self.frames.0.get(self.scene.frame).ok_or("no frame")?.item;
        if cuboid.track_id.is_none() {
            cuboid.track_id = Some(self.next_track_id()?);
        }
        let id = self.apply(Edit::Create { item, payload: Payload::Cuboid(cuboid) })?;
        self.selection.0 = Some(id);
        Ok(id)
    }

    /// Replaces a box. An edited box is a keyframe.
    pub fn update(&mut self, annotation: AnnotationId, mut cuboid: Cuboid) -> Result<AnnotationId, String> {
        cuboid.attributes.remove(INTERPOLATED);
        self.apply(Edit::Update { annotation, payload: Payload::Cuboid(cuboid) })
    }

    /// Changes the selected box with `f`; nothing is written when nothing changed.
    pub fn change_selected(&mut self, f: impl FnOnce(&mut Cuboid)) -> Result<(), String> {
        let selected = self.selected().ok_or("select a box first")?.clone();
        let mut changed = selected.cuboid.clone();
        f(&mut changed);
        changed.yaw = normalize_angle(changed.yaw);
        for s in &mut changed.size {
            *s = s.max(MIN_SIZE);
        }
        if changed != selected.cuboid {
            self.update(selected.annotation, changed)?;
        }
        Ok(())
    }

    pub fn delete_selected(&mut self) -> Result<(), String> {
        let id = self.selected().ok_or("select a box first")?.annotation;
        self.apply(Edit::Delete { annotation: id })?;
        self.selection.0 = None;
        Ok(())
    }

    /// One more than the largest track id of any box in the project.
    fn next_track_id(&self) -> Result<u64, String> {
        let project = self.workspace.project.lock().expect("project lock");
        Ok(project.max_track_id().map_err(|e| e.to_string())? + 1)
    }

    /// Fits the selected box to its points: ground and outliers left out (see `cairn_cloud::fit`).
    pub fn auto_fit(&mut self, cloud: &LoadedCloud, default_size: Option<[f64; 3]>) -> Result<String, String> {
        let selected = self.selected().ok_or("select a box first")?.clone();
        let rough = OrientedBox::from_cuboid(&cloud.cloud, &selected.cuboid);
        let options = FitOptions { ground: cloud.ground, default_size, ..FitOptions::default() };
        let fit = auto_fit(&cloud.cloud.positions, &rough, &options).ok_or("too few points in and around the box to fit it")?;
        let fitted = fit.bbox.to_cuboid(&cloud.cloud, &selected.cuboid.class);
        self.change_selected(|c| {
            c.center = fitted.center;
            c.size = fitted.size;
            c.yaw = fitted.yaw;
        })?;
        Ok(if fit.used_default_size {
            format!("too few object points to fit ({}): the class's default size, standing on the ground", fit.points)
        } else {
            format!("fitted to {} points", fit.points)
        })
    }

    /// Copies the selected box to the next frame of its sequence (same track) and goes there. When
    /// the track already has a box there, that box is selected instead.
    pub fn copy_to_next_frame(&mut self) -> Result<String, String> {
        let selected = self.selected().ok_or("select a box first")?.clone();
        let next = self.frames.next_in_sequence(self.scene.frame).ok_or("this is the last frame of its sequence")?;
        let item = self.frames.0[next].item;
        let existing = {
            let project = self.workspace.project.lock().expect("project lock");
            boxes_of(&project, item)?.into_iter().find(|b| b.cuboid.track_id.is_some() && b.cuboid.track_id == selected.cuboid.track_id)
        };
        self.scene.wanted = Some(next);
        if let Some(b) = existing {
            self.selection.0 = Some(b.annotation);
            return Ok(format!("track {} already has a box on {}", track_name(&selected.cuboid), self.frames.0[next].key));
        }
        let mut copy = selected.cuboid.clone();
        copy.attributes.remove(INTERPOLATED);
        // Written without showing it: the view is on its way to the next frame.
        let annotation = self.write(Edit::Create { item, payload: Payload::Cuboid(copy) })?;
        self.selection.0 = Some(annotation);
        Ok(format!("copied track {} to {}", track_name(&selected.cuboid), self.frames.0[next].key))
    }

    /// Fills the selected box's track between its keyframes: boxes made by interpolation are
    /// updated, missing ones created (one revision each, in one batch that undo takes whole);
    /// keyframes are never touched.
    pub fn interpolate_track(&mut self) -> Result<usize, String> {
        let selected = self.selected().ok_or("select a box first")?.clone();
        let track = selected.cuboid.track_id.ok_or("the box has no track id")?;
        let sequence = self.frames.0[self.scene.frame].sequence.clone();
        // (frame index, box) for every frame of the sequence that has the track.
        let mut keyframes = Vec::new();
        let mut others = std::collections::HashMap::new();
        {
            let project = self.workspace.project.lock().expect("project lock");
            for (i, frame) in self.frames.0.iter().enumerate().filter(|(_, f)| f.sequence == sequence) {
                for b in boxes_of(&project, frame.item)?.into_iter().filter(|b| b.cuboid.track_id == Some(track)) {
                    if is_keyframe(&b.cuboid) {
                        keyframes.push((i as u32, b.cuboid));
                    } else {
                        others.insert(i as u32, b.annotation);
                    }
                }
            }
        }
        if keyframes.len() < 2 {
            return Err(format!("track {track} needs keyframes on two frames to interpolate between (it has {})", keyframes.len()));
        }
        let keyframe_frames: std::collections::HashSet<u32> = keyframes.iter().map(|(f, _)| *f).collect();
        let edits: Vec<Edit> = fill_between_keyframes(&keyframes)
            .into_iter()
            .filter(|(frame, _)| !keyframe_frames.contains(frame))
            .map(|(frame, mut cuboid)| {
                cuboid.attributes.insert(INTERPOLATED.into(), AttributeValue::Bool(true));
                let payload = Payload::Cuboid(cuboid);
                match others.get(&frame) {
                    Some(&annotation) => Edit::Update { annotation, payload },
                    None => Edit::Create { item: self.frames.0[frame as usize].item, payload },
                }
            })
            .collect();
        // One batch: a single undo takes the whole interpolation back.
        {
            let mut project = self.workspace.project.lock().expect("project lock");
            project.apply_all(self.who, std::mem::take(&mut self.clock.active_ms), &edits).map_err(|e| e.to_string())?;
        }
        reload_boxes(self.workspace, self.frames, self.scene);
        Ok(edits.len())
    }

    /// Turns the selected box into a keyframe, or back into an interpolated box.
    pub fn toggle_keyframe(&mut self) -> Result<bool, String> {
        let selected = self.selected().ok_or("select a box first")?.clone();
        let mut cuboid = selected.cuboid.clone();
        let now_keyframe = !is_keyframe(&cuboid);
        if now_keyframe {
            cuboid.attributes.remove(INTERPOLATED);
        } else {
            cuboid.attributes.insert(INTERPOLATED.into(), AttributeValue::Bool(true));
        }
        self.apply(Edit::Update { annotation: selected.annotation, payload: Payload::Cuboid(cuboid) })?;
        Ok(now_keyframe)
    }

    /// Undo (or redo) the annotator's last edit, wherever it was: the view goes to its frame (a
    /// batch, which spans frames, is undone where the view is).
    pub fn step(&mut self, redo: bool) -> Result<String, String> {
        let outcome = {
            let mut project = self.workspace.project.lock().expect("project lock");
            if redo { project.redo(self.who) } else { project.undo(self.who) }.map_err(|e| e.to_string())?
        };
        let verb = if redo { "redo" } else { "undo" };
        let Some(outcome) = outcome else { return Ok(format!("nothing to {verb}")) };
        let what = if outcome.steps > 1 {
            format!("{} changes from revision {}", outcome.steps, outcome.reverted.0)
        } else {
            format!("revision {}", outcome.reverted.0)
        };
        // A single change: go to its frame. A batch spans frames: stay.
        match self.frames.0.iter().position(|f| f.item == outcome.item) {
            Some(frame) if frame != self.scene.frame && outcome.steps == 1 => self.scene.wanted = Some(frame),
            _ => reload_boxes(self.workspace, self.frames, self.scene),
        }
        if outcome.steps == 1 {
            self.selection.0 = outcome.annotation;
        }
        Ok(format!("{verb}: {what}"))
    }
}

pub fn track_name(c: &Cuboid) -> String {
    c.track_id.map_or_else(|| "-".into(), |t| t.to_string())
}

/// Everything the keys and panels of the 3D view ask for; `apply_requests` carries it out, so keys,
/// buttons and tests take one path.
#[derive(Message, Clone, Debug, PartialEq)]
pub enum SceneRequest {
    GoToFrame(usize),
    Select(Option<AnnotationId>),
    /// Moves the selected box along / across its heading, up, and turns it (metres, radians).
    Nudge {
        forward: f64,
        left: f64,
        up: f64,
        turn: f64,
    },
    /// Grows (or shrinks) the selected box along one axis: 0 length, 1 width, 2 height.
    Resize {
        axis: usize,
        delta: f64,
    },
    /// Replaces a box with what was typed in the panel.
    Replace(AnnotationId, Cuboid),
    AutoFit,
    Delete,
    CopyToNextFrame,
    Interpolate,
    ToggleKeyframe,
    Undo,
    Redo,
    /// Sets the class of the selected box, and of new boxes.
    Class(String),
}

/// Turns the 3D view's keys into requests.
pub fn box_keys(
    keys: Res<ButtonInput<KeyCode>>,
    map: Res<KeyMap>,
    scene: Res<Scene>,
    selection: Res<Selection>,
    classes: Res<super::Classes>,
    panels: Res<Panels>,
    mut requests: MessageWriter<SceneRequest>,
) {
    if panels.typing || keys.get_just_pressed().next().is_none() {
        return;
    }
    let pressed = |a: Action| map.just_pressed(a, &keys);
    let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    let (step, turn) = if shift { (MOVE_STEP / FINE, ROTATE_STEP / ROTATE_FINE) } else { (MOVE_STEP, ROTATE_STEP) };
    let nudge = |forward: f64, left: f64, up: f64, turn: f64| SceneRequest::Nudge { forward, left, up, turn };
    let simple = [
        (Action::Undo, SceneRequest::Undo),
        (Action::Redo, SceneRequest::Redo),
        (Action::MoveForward, nudge(step, 0.0, 0.0, 0.0)),
        (Action::MoveBack, nudge(-step, 0.0, 0.0, 0.0)),
        (Action::MoveLeft, nudge(0.0, step, 0.0, 0.0)),
        (Action::MoveRight, nudge(0.0, -step, 0.0, 0.0)),
        (Action::MoveUp, nudge(0.0, 0.0, step, 0.0)),
        (Action::MoveDown, nudge(0.0, 0.0, -step, 0.0)),
        (Action::RotateLeft, nudge(0.0, 0.0, 0.0, turn)),
        (Action::RotateRight, nudge(0.0, 0.0, 0.0, -turn)),
        (Action::Longer, SceneRequest::Resize { axis: 0, delta: step }),
        (Action::Shorter, SceneRequest::Resize { axis: 0, delta: -step }),
        (Action::Wider, SceneRequest::Resize { axis: 1, delta: step }),
        (Action::Narrower, SceneRequest::Resize { axis: 1, delta: -step }),
        (Action::Taller, SceneRequest::Resize { axis: 2, delta: step }),
        (Action::Lower, SceneRequest::Resize { axis: 2, delta: -step }),
        (Action::AutoFit, SceneRequest::AutoFit),
        (Action::DeleteBox, SceneRequest::Delete),
        (Action::CopyToNextFrame, SceneRequest::CopyToNextFrame),
        (Action::Interpolate, SceneRequest::Interpolate),
        (Action::ToggleKeyframe, SceneRequest::ToggleKeyframe),
        (Action::Deselect, SceneRequest::Select(None)),
    ];
    for (action, request) in simple {
        if pressed(action) {
            requests.write(request);
        }
    }
    if pressed(Action::NextFrame) {
        requests.write(SceneRequest::GoToFrame(scene.frame + 1));
    }
    if pressed(Action::PreviousFrame) {
        requests.write(SceneRequest::GoToFrame(scene.frame.wrapping_sub(1)));
    }
    if (pressed(Action::NextBox) || pressed(Action::PreviousBox)) && !scene.boxes.is_empty() {
        let n = scene.boxes.len();
        let at = selection.0.and_then(|s| scene.boxes.iter().position(|b| b.annotation == s));
        let next = match (at, pressed(Action::NextBox)) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
        };
        requests.write(SceneRequest::Select(Some(scene.boxes[next].annotation)));
    }
    if let Some(class) = classes.hotkey_class(&keys, &map) {
        requests.write(SceneRequest::Class(class.to_string()));
    }
}

/// Carries out the requests of this frame, each edit one revision.
#[allow(clippy::too_many_arguments)]
pub fn apply_requests(
    mut requests: MessageReader<SceneRequest>,
    workspace: Res<Workspace>,
    frames: Res<Frames>,
    annotator: Res<Annotator>,
    mut classes: ResMut<super::Classes>,
    mut scene: ResMut<Scene>,
    mut selection: ResMut<Selection>,
    mut clock: ResMut<EditClock>,
    mut status: ResMut<SceneStatus>,
) {
    for request in requests.read() {
        match request {
            SceneRequest::GoToFrame(frame) => {
                if *frame < frames.0.len() {
                    scene.wanted = Some(*frame);
                } else {
                    status.message = "no more frames that way".into();
                }
                continue;
            }
            SceneRequest::Select(id) => {
                selection.0 = *id;
                continue;
            }
            SceneRequest::Class(class) => {
                classes.current = class.clone();
                if selection.0.is_none() {
                    status.message = format!("new boxes: {class}");
                    continue;
                }
            }
            _ => {}
        }
        let Some((who, _)) = annotator.0 else {
            status.message = "say who you are first (the name field at the top)".into();
            continue;
        };
        let cloud = scene.cloud.clone();
        let mut editor = Editor { workspace: &workspace, frames: &frames, scene: &mut scene, selection: &mut selection, clock: &mut clock, who };
        let done = |r: Result<(), String>| r.map(|_| String::new());
        let result = match request {
            SceneRequest::Nudge { forward, left, up, turn } => done(editor.change_selected(|c| {
                let (s, co) = c.yaw.sin_cos();
                c.center[0] += forward * co - left * s;
                c.center[1] += forward * s + left * co;
                c.center[2] += up;
                c.yaw += turn;
            })),
            SceneRequest::Resize { axis, delta } => done(editor.change_selected(|c| resize_keeping_bottom(c, *axis, *delta))),
            SceneRequest::Replace(id, cuboid) => editor.update(*id, cuboid.clone()).map(|_| "saved".into()),
            SceneRequest::AutoFit => match &cloud {
                None => Err("the frame is still loading".into()),
                Some(cloud) if cloud.preview => Err("the frame is still loading: boxes are fitted to all its points".into()),
                Some(cloud) => {
                    let default = editor.selected().and_then(|b| classes.default_size(&b.cuboid.class));
                    editor.auto_fit(cloud, default)
                }
            },
            SceneRequest::Delete => editor.delete_selected().map(|_| "deleted".into()),
            SceneRequest::CopyToNextFrame => editor.copy_to_next_frame(),
            SceneRequest::Interpolate => editor.interpolate_track().map(|n| format!("interpolated {n} boxes")),
            SceneRequest::ToggleKeyframe => editor.toggle_keyframe().map(|k| if k { "now a keyframe" } else { "now interpolated" }.into()),
            SceneRequest::Undo => editor.step(false),
            SceneRequest::Redo => editor.step(true),
            SceneRequest::Class(class) => editor.change_selected(|c| c.class = class.clone()).map(|_| format!("class {class}")),
            SceneRequest::GoToFrame(_) | SceneRequest::Select(_) => unreachable!("handled above"),
        };
        match result {
            Ok(message) if !message.is_empty() => status.message = message,
            Ok(_) => {}
            Err(e) => status.message = e,
        }
    }
}

/// Grows one side of the box keeping the box's bottom where it is (height) or its centre (length,
/// width: both ends move, as handles move one).
fn resize_keeping_bottom(c: &mut Cuboid, axis: usize, delta: f64) {
    let before = c.size[axis];
    c.size[axis] = (before + delta).max(MIN_SIZE);
    if axis == 2 {
        c.center[2] += (c.size[2] - before) / 2.0;
    }
}
