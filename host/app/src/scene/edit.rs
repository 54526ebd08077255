//! Box edits from the frame loop's side: keys and panels ask with [`SceneRequest`] messages, the
//! pointer tool and [`apply_requests`] send them to the store worker (`command`), which writes each
//! as one revision. The change shows at once on screen; the status line says when it is saved.

use super::{EditClock, Frames, Scene, Selection};
use crate::Panels;
use crate::boxes::BoxEdit;
use crate::command::{ProjectCommand, StoreLink};
use crate::keys::{Action, KeyMap};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use cairn_model::AnnotationId;

pub use crate::boxes::{INTERPOLATED, is_keyframe, track_name};

/// Steps of the edit keys; Shift divides them by this.
const MOVE_STEP: f64 = 0.10;
const ROTATE_STEP: f64 = 2.0 * std::f64::consts::PI / 180.0;
const FINE: f64 = 5.0;
const ROTATE_FINE: f64 = 4.0;

/// What the last box action did, for the status line.
#[derive(Resource, Default)]
pub struct SceneStatus {
    pub message: String,
}

/// Everything the keys and panels of the 3D view ask for; `apply_requests` carries it out, so keys,
/// buttons and tests take one path.
#[derive(Message, Clone, Debug, PartialEq)]
pub enum SceneRequest {
    GoToFrame(usize),
    Select(Option<AnnotationId>),
    Edit(BoxEdit),
}

/// The way from the 3D view to the store: the command path, with what a box edit carries along
/// (the selection it acts on, the active time it took, the frame's cloud).
#[derive(SystemParam)]
pub struct SceneEdits<'w> {
    link: ResMut<'w, StoreLink>,
    pub selection: ResMut<'w, Selection>,
    clock: ResMut<'w, EditClock>,
    pub status: ResMut<'w, SceneStatus>,
    annotator: Res<'w, crate::Annotator>,
}

impl SceneEdits<'_> {
    /// Selects a box on screen at once, and for the edits that follow.
    pub fn select(&mut self, id: Option<AnnotationId>) {
        if self.selection.0 != id {
            self.selection.0 = id;
            self.link.send(ProjectCommand::Select(id));
        }
    }

    /// Sends an edit to be stored, showing it on the scene's boxes meanwhile.
    pub fn edit(&mut self, scene: &mut Scene, edit: BoxEdit) {
        if self.annotator.0.is_none() {
            self.status.message = "say who you are first (the name field at the top)".into();
            return;
        }
        edit.preview(&mut scene.boxes, self.selection.0);
        if edit == BoxEdit::Delete {
            self.selection.0 = None;
        }
        let cloud = scene.cloud.clone().map(|cloud| (scene.frame, cloud));
        let active_ms = std::mem::take(&mut self.clock.active_ms);
        self.link.send(ProjectCommand::Box { edit, active_ms, cloud });
    }

    /// Moves the view to a frame (its boxes come from the store).
    pub fn go_to(&mut self, frames: &Frames, scene: &mut Scene, frame: usize) {
        if frame < frames.list.len() {
            scene.wanted = Some(frame);
        } else {
            self.status.message = "no more frames that way".into();
        }
    }
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
    let nudge = |forward: f64, left: f64, up: f64, turn: f64| BoxEdit::Nudge { forward, left, up, turn };
    let edits = [
        (Action::Undo, BoxEdit::Undo),
        (Action::Redo, BoxEdit::Redo),
        (Action::MoveForward, nudge(step, 0.0, 0.0, 0.0)),
        (Action::MoveBack, nudge(-step, 0.0, 0.0, 0.0)),
        (Action::MoveLeft, nudge(0.0, step, 0.0, 0.0)),
        (Action::MoveRight, nudge(0.0, -step, 0.0, 0.0)),
        (Action::MoveUp, nudge(0.0, 0.0, step, 0.0)),
        (Action::MoveDown, nudge(0.0, 0.0, -step, 0.0)),
        (Action::RotateLeft, nudge(0.0, 0.0, 0.0, turn)),
        (Action::RotateRight, nudge(0.0, 0.0, 0.0, -turn)),
        (Action::Longer, BoxEdit::Resize { axis: 0, delta: step }),
        (Action::Shorter, BoxEdit::Resize { axis: 0, delta: -step }),
        (Action::Wider, BoxEdit::Resize { axis: 1, delta: step }),
        (Action::Narrower, BoxEdit::Resize { axis: 1, delta: -step }),
        (Action::Taller, BoxEdit::Resize { axis: 2, delta: step }),
        (Action::Lower, BoxEdit::Resize { axis: 2, delta: -step }),
        (Action::AutoFit, BoxEdit::AutoFit),
        (Action::DeleteBox, BoxEdit::Delete),
        (Action::CopyToNextFrame, BoxEdit::CopyToNextFrame),
        (Action::Interpolate, BoxEdit::Interpolate),
        (Action::ToggleKeyframe, BoxEdit::ToggleKeyframe),
    ];
    for (action, edit) in edits {
        if pressed(action) {
            requests.write(SceneRequest::Edit(edit));
        }
    }
    if pressed(Action::Deselect) {
        requests.write(SceneRequest::Select(None));
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
        requests.write(SceneRequest::Edit(BoxEdit::Class(class.to_string())));
    }
}

/// Carries out the requests of this frame: navigation here, edits through the store worker.
pub fn apply_requests(
    mut requests: MessageReader<SceneRequest>,
    frames: Res<Frames>,
    mut classes: ResMut<super::Classes>,
    mut scene: ResMut<Scene>,
    mut edits: SceneEdits,
) {
    for request in requests.read() {
        match request {
            SceneRequest::GoToFrame(frame) => edits.go_to(&frames, &mut scene, *frame),
            SceneRequest::Select(id) => edits.select(*id),
            SceneRequest::Edit(edit) => {
                if let BoxEdit::Class(class) = edit {
                    // New boxes get the class too.
                    classes.current = class.clone();
                }
                edits.edit(&mut scene, edit.clone());
            }
        }
    }
}
