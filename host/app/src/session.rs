//! The judging session as Bevy resources and systems: who judges, the queue, the item on screen, the
//! keys, active time. Drawing is in `view`; this part runs headless in tests.

use crate::judge::Judging;
use bevy::input::keyboard::KeyCode;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use cairn_model::{AnnotatorId, AnnotatorKind, ItemData, Winner};
use cairn_store::{Edit, Project, QueuePolicy};
use std::sync::Mutex;
use std::time::Duration;

/// Idle longer than this and the clock stops: active time counts work, not an open window.
const IDLE_AFTER: Duration = Duration::from_secs(30);

/// The open project. SQLite connections are not shared between threads, so it sits behind a lock.
#[derive(Resource)]
pub struct Workspace {
    pub project: Mutex<Project>,
    pub policy: QueuePolicy,
}

/// Who is judging; None until they say.
#[derive(Resource, Default)]
pub struct Annotator(pub Option<(AnnotatorId, String)>);

/// The item on screen.
#[derive(Resource, Default)]
pub struct Current(pub Option<Judging>);

/// What the status bar says, and what Ctrl+Z can take back.
#[derive(Resource, Default)]
pub struct Status {
    pub message: String,
    pub submitted: u32,
    pub queue_empty: bool,
    pub last_submitted: Option<cairn_model::AssignmentId>,
}

/// Screen state the keys drive and the view draws.
#[derive(Resource, Default)]
pub struct Panels {
    pub guidelines: bool,
    pub diff: bool,
    /// A skip waiting for its reason.
    pub skip_reason: Option<String>,
    /// The view has a text field focused: keys go to it, not to the shortcuts.
    pub typing: bool,
    /// Long responses shown whole.
    pub expanded: Vec<bool>,
}

/// When the last key or pointer input came, for active time.
#[derive(Resource, Default)]
struct LastInput(Option<Duration>);

/// The judging session: queue, keys, submissions, active time.
pub struct SessionPlugin;

impl Plugin for SessionPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Annotator>()
            .init_resource::<Current>()
            .init_resource::<Status>()
            .init_resource::<Panels>()
            .init_resource::<LastInput>()
            .add_systems(Update, (next_item, shortcuts, active_time).chain());
    }
}

/// Sets the annotator by name (creating them as a person if new).
pub fn identify(world: &mut World, name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("type a name".into());
    }
    let id = {
        let workspace = world.resource::<Workspace>();
        let mut project = workspace.project.lock().expect("project lock");
        project.ensure_annotator(name, AnnotatorKind::Human).map_err(|e| e.to_string())?
    };
    world.resource_mut::<Annotator>().0 = Some((id, name.to_string()));
    Ok(())
}

fn next_item(
    workspace: Res<Workspace>,
    annotator: Res<Annotator>,
    mut current: ResMut<Current>,
    mut status: ResMut<Status>,
    mut panels: ResMut<Panels>,
) {
    let Some((who, _)) = annotator.0 else { return };
    if current.0.is_some() || status.queue_empty {
        return;
    }
    let mut project = workspace.project.lock().expect("project lock");
    let next = project.next_assignment(who, &workspace.policy).and_then(|a| match a {
        Some(a) => project.item(a.item).map(|item| Some((a, item))),
        None => Ok(None),
    });
    match next {
        Ok(Some((assignment, item))) => {
            let ItemData::Comparison(comparison) = item.data else {
                status.message = format!("item {} is not a comparison", item.key);
                return;
            };
            panels.expanded = vec![false; assignment.shown_order.len()];
            current.0 = Some(Judging::new(assignment, item.key, comparison));
        }
        Ok(None) => {
            status.queue_empty = true;
            status.message = format!("Nothing left to judge ({} submitted this session).", status.submitted);
        }
        Err(e) => status.message = format!("cannot load the next item: {e}"),
    }
}

const DIGITS: [KeyCode; 9] = [
    KeyCode::Digit1,
    KeyCode::Digit2,
    KeyCode::Digit3,
    KeyCode::Digit4,
    KeyCode::Digit5,
    KeyCode::Digit6,
    KeyCode::Digit7,
    KeyCode::Digit8,
    KeyCode::Digit9,
];

/// Every key of the comparison view. Kept in one place so the help overlay lists exactly these.
pub const KEYS: &[(&str, &str)] = &[
    ("1 / 2", "left / right response is better, and submit"),
    ("3 / 4", "tie / both bad, and submit"),
    ("Q W E", "first, optionally: strength (slightly, clearly, much better)"),
    ("1..9", "with 3+ responses: rank them best first (Shift+digit ties with the previous)"),
    ("Backspace", "take back the last ranked response"),
    ("Enter", "submit (rankings, or after choosing with the mouse)"),
    ("Ctrl+Z", "take back the last submission"),
    ("S", "skip (asks for a reason)"),
    ("F", "flag for review"),
    ("D", "word diff between the first two responses"),
    ("G", "guidelines"),
];

#[allow(clippy::too_many_arguments)]
fn shortcuts(
    keys: Res<ButtonInput<KeyCode>>,
    workspace: Res<Workspace>,
    annotator: Res<Annotator>,
    mut current: ResMut<Current>,
    mut status: ResMut<Status>,
    mut panels: ResMut<Panels>,
    time: Res<Time>,
    mut last_input: ResMut<LastInput>,
    view: Res<crate::ActiveView>,
) {
    // The 3D view has keys of its own.
    if view.0 != crate::View::Compare {
        return;
    }
    if keys.get_just_pressed().next().is_some() {
        last_input.0 = Some(time.elapsed());
    }
    let Some((who, _)) = annotator.0 else { return };
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    // Ctrl+Z works even with nothing on screen (after the last item).
    if ctrl && keys.just_pressed(KeyCode::KeyZ) {
        take_back(&workspace, who, &mut current, &mut status);
        return;
    }
    if let Some(reason) = panels.skip_reason.clone() {
        if keys.just_pressed(KeyCode::Enter) && !reason.trim().is_empty() {
            if let Some(j) = current.0.take() {
                let mut project = workspace.project.lock().expect("project lock");
                status.message = match project.skip(j.assignment.id, reason.trim()) {
                    Ok(()) => format!("skipped {}: {}", j.key, reason.trim()),
                    Err(e) => format!("cannot skip: {e}"),
                };
            }
            panels.skip_reason = None;
        } else if keys.just_pressed(KeyCode::Escape) {
            panels.skip_reason = None;
        }
        return;
    }
    if panels.typing {
        return;
    }
    if keys.just_pressed(KeyCode::KeyG) {
        panels.guidelines = !panels.guidelines;
    }
    if keys.just_pressed(KeyCode::KeyD) {
        panels.diff = !panels.diff;
    }
    let Some(j) = current.0.as_mut() else { return };
    // Strength first (optional), so the winner key can submit at once.
    for (key, strength) in [(KeyCode::KeyQ, 1), (KeyCode::KeyW, 2), (KeyCode::KeyE, 3)] {
        if keys.just_pressed(key) {
            j.pending_strength = Some(strength);
            j.set_strength(strength);
        }
    }
    if j.is_pairwise() {
        for (key, winner) in
            [(KeyCode::Digit1, Winner::A), (KeyCode::Digit2, Winner::B), (KeyCode::Digit3, Winner::Tie), (KeyCode::Digit4, Winner::BothBad)]
        {
            if keys.just_pressed(key) {
                // One key judges a pair: the winner key submits, with whatever was set before it.
                j.choose(winner);
                if let Some(strength) = j.pending_strength {
                    j.set_strength(strength);
                }
                submit(&workspace, &mut current, &mut status);
                return;
            }
        }
    } else {
        for (slot, key) in DIGITS.iter().enumerate().take(j.slots()) {
            if keys.just_pressed(*key) {
                j.rank(slot, shift);
            }
        }
        if keys.just_pressed(KeyCode::Backspace) {
            j.unrank_last();
        }
    }
    if keys.just_pressed(KeyCode::KeyF) {
        let flagged = !status.message.starts_with("flagged");
        let mut project = workspace.project.lock().expect("project lock");
        status.message = match project.flag(j.assignment.id, flagged) {
            Ok(()) if flagged => format!("flagged {} for review", j.key),
            Ok(()) => format!("unflagged {}", j.key),
            Err(e) => format!("cannot flag: {e}"),
        };
    }
    if keys.just_pressed(KeyCode::KeyS) {
        panels.skip_reason = Some(String::new());
        return;
    }
    if keys.just_pressed(KeyCode::Enter) {
        submit(&workspace, &mut current, &mut status);
    }
}

/// Stores the judgment and closes its assignment in one transaction, then moves on.
pub fn submit(workspace: &Workspace, current: &mut Current, status: &mut Status) {
    let Some(j) = current.0.as_ref() else { return };
    let Some(payload) = j.payload() else {
        status.message = j.missing().unwrap_or_default().to_string();
        return;
    };
    let mut project = workspace.project.lock().expect("project lock");
    match project.submit(&j.assignment, j.active_ms, &[Edit::Create { item: j.assignment.item, payload }]) {
        Ok(_) => {
            status.submitted += 1;
            status.last_submitted = Some(j.assignment.id);
            status.message = format!("saved {} ({} this session)", j.key, status.submitted);
            current.0 = None;
        }
        Err(e) => status.message = format!("not saved: {e}"),
    }
}

/// Ctrl+Z: undoes the annotator's last edit and reopens its assignment, which comes back on screen.
fn take_back(workspace: &Workspace, who: AnnotatorId, current: &mut Current, status: &mut Status) {
    let Some(assignment) = status.last_submitted.take() else {
        status.message = "nothing to take back".into();
        return;
    };
    let mut project = workspace.project.lock().expect("project lock");
    let undone = project.undo(who).and_then(|_| project.reopen(assignment));
    match undone {
        Ok(()) => {
            status.submitted = status.submitted.saturating_sub(1);
            status.queue_empty = false;
            status.message = "took back the last submission".into();
            // The item on screen keeps its assignment open; the reopened one comes first next time.
            if let Some(j) = current.0.take() {
                drop(j);
            }
        }
        Err(e) => status.message = format!("cannot take it back: {e}"),
    }
}

/// Counts time while the window has focus (or there is none, headless) and input came recently.
fn active_time(time: Res<Time>, last_input: Res<LastInput>, windows: Query<&Window, With<PrimaryWindow>>, mut current: ResMut<Current>) {
    let focused = windows.iter().next().is_none_or(|w| w.focused);
    let recent = last_input.0.is_some_and(|at| time.elapsed().saturating_sub(at) < IDLE_AFTER);
    if let Some(j) = current.0.as_mut()
        && focused
        && recent
    {
        j.active_ms += time.delta().as_millis() as u64;
    }
}
