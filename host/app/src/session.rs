//! The judging session as Bevy resources and systems: who judges, the item on screen, the keys,
//! active time. Every change goes to the store worker as a command (`command`); the queue runs
//! there, and its answers come back as replies. Drawing is in `view`; this part runs headless.

use crate::command::{CommandKind, ProjectCommand, ProjectReply, StoreLink, StoreReply};
use crate::judge::Judging;
use crate::keys::{Action, KeyMap};
use bevy::input::keyboard::KeyCode;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use cairn_model::{AnnotatorId, Winner};
use std::time::Duration;

/// Idle longer than this and the clock stops: active time counts work, not an open window.
const IDLE_AFTER: Duration = Duration::from_secs(30);

/// Who is judging; None until they say.
#[derive(Resource, Default)]
pub struct Annotator(pub Option<(AnnotatorId, String)>);

/// The item on screen.
#[derive(Resource, Default)]
pub struct Current(pub Option<Judging>);

/// What the status bar says, and where the queue stands.
#[derive(Resource, Default)]
pub struct Status {
    pub message: String,
    /// Submissions of this session that are durable.
    pub submitted: u32,
    pub queue_empty: bool,
    /// The next item has been asked for and not arrived yet.
    pub asked: bool,
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

/// What the comparison view's buttons and fields ask for; carried out with the keys.
#[derive(Message, Clone, Debug, PartialEq)]
pub enum JudgeRequest {
    SignIn(String),
    Submit,
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
            .add_message::<JudgeRequest>()
            .add_systems(Update, apply_replies.in_set(crate::AppSet::Apply))
            .add_systems(Update, (shortcuts, requests, next_item, active_time).chain().in_set(crate::AppSet::Act));
    }
}

/// Signs in by name (created as a person if new) once the store worker has it.
pub fn sign_in(link: &mut StoreLink, status: &mut Status, name: &str) {
    if name.trim().is_empty() {
        status.message = "type a name".into();
        return;
    }
    link.send(ProjectCommand::Identify(name.trim().to_string()));
}

/// Applies the store's answers to the session, in the order the commands were sent.
fn apply_replies(
    mut replies: MessageReader<StoreReply>,
    mut annotator: ResMut<Annotator>,
    mut current: ResMut<Current>,
    mut status: ResMut<Status>,
    mut panels: ResMut<Panels>,
) {
    for StoreReply { reply, .. } in replies.read() {
        match reply {
            ProjectReply::Identified(Ok((id, name))) => annotator.0 = Some((*id, name.clone())),
            ProjectReply::Identified(Err(e)) => status.message = e.clone(),
            ProjectReply::Comparison(result) => {
                status.asked = false;
                match result {
                    Ok(Some(judging)) => {
                        panels.expanded = vec![false; judging.slots()];
                        current.0 = Some(judging.clone());
                    }
                    Ok(None) => {
                        status.queue_empty = true;
                        status.message = format!("Nothing left to judge ({} submitted this session).", status.submitted);
                    }
                    Err(e) => status.message = format!("cannot load the next item: {e}"),
                }
            }
            ProjectReply::Submitted { key, result } => match result {
                Ok(()) => {
                    status.submitted += 1;
                    status.message = format!("saved {key} ({} this session)", status.submitted);
                }
                // The assignment is still open: the queue hands it out again.
                Err(e) => status.message = format!("not saved: {key}: {e}"),
            },
            ProjectReply::Skipped { key, reason, result } => {
                status.message = match result {
                    Ok(()) => format!("skipped {key}: {reason}"),
                    Err(e) => format!("cannot skip: {e}"),
                }
            }
            ProjectReply::Flagged { assignment, key, flagged, result } => match result {
                Ok(()) if *flagged => status.message = format!("flagged {key} for review"),
                Ok(()) => status.message = format!("unflagged {key}"),
                Err(e) => {
                    status.message = format!("cannot flag: {e}");
                    if let Some(j) = current.0.as_mut().filter(|j| j.assignment.id == *assignment) {
                        j.flagged = !flagged;
                    }
                }
            },
            ProjectReply::TookBack(Ok(true)) => {
                status.submitted = status.submitted.saturating_sub(1);
                status.queue_empty = false;
                status.message = "took back the last submission".into();
                // The item on screen keeps its assignment open; the reopened one comes first.
                current.0 = None;
            }
            ProjectReply::TookBack(Ok(false)) => status.message = "nothing to take back".into(),
            ProjectReply::TookBack(Err(e)) => status.message = format!("cannot take it back: {e}"),
            ProjectReply::Failed { kind: CommandKind::Judging, error } => {
                status.asked = false;
                status.message = error.clone();
            }
            _ => {}
        }
    }
}

/// Asks the queue for the next item whenever none is on screen.
fn next_item(mut link: ResMut<StoreLink>, annotator: Res<Annotator>, current: Res<Current>, mut status: ResMut<Status>) {
    if annotator.0.is_none() || current.0.is_some() || status.queue_empty || status.asked || link.closed.is_some() {
        return;
    }
    link.send(ProjectCommand::NextComparison);
    status.asked = true;
}

/// The comparison view's keys, from the key map.
#[allow(clippy::too_many_arguments)]
fn shortcuts(
    keys: Res<ButtonInput<KeyCode>>,
    map: Res<KeyMap>,
    mut link: ResMut<StoreLink>,
    annotator: Res<Annotator>,
    mut current: ResMut<Current>,
    mut status: ResMut<Status>,
    mut panels: ResMut<Panels>,
    time: Res<Time>,
    mut last_input: ResMut<LastInput>,
    view: Res<State<crate::View>>,
) {
    // The 3D view has keys of its own.
    if *view.get() != crate::View::Compare {
        return;
    }
    if keys.get_just_pressed().next().is_some() {
        last_input.0 = Some(time.elapsed());
    }
    if annotator.0.is_none() {
        return;
    }
    let pressed = |action: Action| map.just_pressed(action, &keys);
    // The skip dialog's own keys come before the shortcuts.
    if let Some(reason) = panels.skip_reason.clone() {
        if keys.just_pressed(KeyCode::Enter) && !reason.trim().is_empty() {
            if let Some(j) = current.0.take() {
                link.send(ProjectCommand::Skip { assignment: j.assignment.id, key: j.key.clone(), reason: reason.trim().to_string() });
            }
            panels.skip_reason = None;
        } else if keys.just_pressed(KeyCode::Escape) {
            panels.skip_reason = None;
        }
        return;
    }
    // Take-back works even with nothing on screen (after the last item).
    if pressed(Action::TakeBack) {
        link.send(ProjectCommand::TakeBack);
        return;
    }
    if panels.typing {
        return;
    }
    if pressed(Action::Guidelines) {
        panels.guidelines = !panels.guidelines;
    }
    if pressed(Action::WordDiff) {
        panels.diff = !panels.diff;
    }
    let Some(j) = current.0.as_mut() else { return };
    // Strength first (optional), so the winner key can submit at once.
    for (action, strength) in [(Action::Slightly, 1), (Action::Clearly, 2), (Action::Much, 3)] {
        if pressed(action) {
            j.pending_strength = Some(strength);
            j.set_strength(strength);
        }
    }
    if j.is_pairwise() {
        for (action, winner) in
            [(Action::LeftBetter, Winner::A), (Action::RightBetter, Winner::B), (Action::Tie, Winner::Tie), (Action::BothBad, Winner::BothBad)]
        {
            if pressed(action) {
                // One key judges a pair: the winner key submits, with whatever was set before it.
                j.choose(winner);
                if let Some(strength) = j.pending_strength {
                    j.set_strength(strength);
                }
                submit(&mut link, &mut current, &mut status, &map);
                return;
            }
        }
    } else {
        let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
        for (slot, action) in Action::RANKS.iter().enumerate().take(j.slots()) {
            if pressed(*action) {
                j.rank(slot, shift);
            }
        }
        if pressed(Action::Unrank) {
            j.unrank_last();
        }
    }
    if pressed(Action::Flag) {
        // What the assignment is, not what the status line last said.
        j.flagged = !j.flagged;
        link.send(ProjectCommand::Flag { assignment: j.assignment.id, key: j.key.clone(), flagged: j.flagged });
    }
    if pressed(Action::Skip) {
        panels.skip_reason = Some(String::new());
        return;
    }
    if pressed(Action::Submit) {
        submit(&mut link, &mut current, &mut status, &map);
    }
}

/// The view's buttons and fields.
fn requests(
    mut requests: MessageReader<JudgeRequest>,
    map: Res<KeyMap>,
    mut link: ResMut<StoreLink>,
    mut current: ResMut<Current>,
    mut status: ResMut<Status>,
) {
    for request in requests.read() {
        match request {
            JudgeRequest::SignIn(name) => sign_in(&mut link, &mut status, name),
            JudgeRequest::Submit => submit(&mut link, &mut current, &mut status, &map),
        }
    }
}

/// Sends the judgment to be stored with its assignment (one transaction) and moves on; the
/// status line says "saved" once it is durable.
fn submit(link: &mut StoreLink, current: &mut Current, status: &mut Status, map: &KeyMap) {
    let Some(j) = current.0.as_ref() else { return };
    let Some(payload) = j.payload() else {
        status.message = map.missing_hint(j).unwrap_or_default();
        return;
    };
    let j = current.0.take().expect("checked above");
    status.message = format!("saving {} …", j.key);
    link.send(ProjectCommand::Submit { assignment: j.assignment, key: j.key, active_ms: j.active_ms, payload });
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
