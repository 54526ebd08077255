//! Live updates: others' changes to the project, told to the views as [`ProjectChanged`] messages.
//! A background job watches the project on a connection of its own (`cairn_store::Watcher`:
//! notifications from a server, polling for a file); the frame loop only drains what it found.
//! Revisions this app committed itself are left out: the views already show them.

use super::StoreReply;
use crate::jobs::{self, Job};
use bevy::prelude::*;
use cairn_model::{ItemId, RevisionId};
use cairn_store::{Change, Project};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// Items someone else changed since the last frame.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct ProjectChanged {
    pub items: Vec<ItemId>,
}

/// How long the watcher waits for news before checking that the app still wants them.
const WAIT: Duration = Duration::from_millis(250);
/// Own revisions remembered to tell them apart from others'.
const OWN_KEPT: usize = 4096;

#[derive(Resource)]
pub struct LiveUpdates {
    watcher: Option<Job<(), Vec<Change>>>,
    own: BTreeSet<RevisionId>,
}

impl LiveUpdates {
    pub fn start(project: PathBuf) -> LiveUpdates {
        let watcher = jobs::spawn("live updates", move |context| {
            let project = Project::open(&project).map_err(|e| format!("cannot watch the project: {e}"))?;
            let mut watcher = project.watch().map_err(|e| format!("cannot watch the project: {e}"))?;
            drop(project);
            loop {
                let changes = watcher.wait(WAIT).map_err(|e| format!("live updates stopped: {e}"))?;
                // Also the check that the app still holds the handle.
                if !context.partial(changes) {
                    return Ok(());
                }
            }
        });
        LiveUpdates { watcher: Some(watcher), own: BTreeSet::new() }
    }
}

/// Drains the watcher, after the store's replies so that this frame's own revisions are known.
pub fn receive_changes(mut live: ResMut<LiveUpdates>, mut replies: MessageReader<StoreReply>, mut changed: MessageWriter<ProjectChanged>) {
    let live = &mut *live;
    for reply in replies.read() {
        live.own.extend(reply.revisions.iter().copied());
    }
    while live.own.len() > OWN_KEPT {
        live.own.pop_first();
    }
    let Some(watcher) = &live.watcher else { return };
    let polled = watcher.poll();
    // A change of ours may come before the reply that lists it: it then counts as someone else's,
    // and the view reloads what it already shows, which is harmless.
    let fresh: Vec<Change> = polled.partials.into_iter().flatten().collect();
    if let Some(Err(e)) = polled.done {
        warn!("{e}");
        live.watcher = None;
    }
    let mut items: Vec<ItemId> = fresh.iter().filter(|c| !live.own.contains(&c.revision)).map(|c| c.item).collect();
    items.sort_unstable();
    items.dedup();
    if !items.is_empty() {
        changed.write(ProjectChanged { items });
    }
}
