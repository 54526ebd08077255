//! The one path from the app to the project. Every change (and every read that decides what is
//! shown) is a [`ProjectCommand`] sent to the store worker, which owns the project and carries the
//! commands out in the order sent; each answer comes back as a [`ProjectReply`] message that the
//! systems of the views apply. No system on the frame loop touches the store, so a slow disk (or a
//! far database) never stalls a frame.
//!
//! A change is pending until its reply arrives: the reply is sent after the commit returned, so
//! "durable" on screen means durable on disk. A failed command changes nothing (each is one
//! transaction) and its error goes to the status line.

mod editor;
mod live;
mod worker;

pub use live::{LiveUpdates, ProjectChanged};

use crate::boxes::{BoxEdit, FrameRef, LoadedCloud, SceneBox};
use crate::jobs::{self, Job};
use crate::judge::Judging;
use bevy::prelude::*;
use cairn_model::{AnnotationId, AnnotatorId, Assignment, AssignmentId, Payload, RevisionId};
use cairn_store::QueuePolicy;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

/// Numbers commands in the order sent; a reply names the command it answers.
pub type CommandId = u64;

/// Everything the app asks of the project.
#[derive(Clone)]
pub enum ProjectCommand {
    /// Signs in as a person (created if new).
    Identify(String),
    /// The signed-in annotator's next comparison from the queue.
    NextComparison,
    /// Stores the judgment and closes its assignment, in one transaction.
    Submit {
        assignment: Assignment,
        key: String,
        active_ms: u64,
        payload: Payload,
    },
    Skip {
        assignment: AssignmentId,
        key: String,
        reason: String,
    },
    Flag {
        assignment: AssignmentId,
        key: String,
        flagged: bool,
    },
    /// Undoes the last submission of this session and reopens its assignment.
    TakeBack,
    /// The project's point-cloud frames, by sequence and index.
    ListFrames,
    /// The 3D view moved to this frame: its boxes, with the selection following its track.
    ShowFrame(usize),
    Select(Option<AnnotationId>),
    /// The cuboid task's default box size per class (for fitting boxes with few points).
    ClassSizes(HashMap<String, [f64; 3]>),
    /// A box edit, with the active time it took and the cloud on screen (fitting needs it).
    Box {
        edit: BoxEdit,
        active_ms: u64,
        cloud: Option<(usize, Arc<LoadedCloud>)>,
    },
}

impl ProjectCommand {
    fn kind(&self) -> CommandKind {
        match self {
            ProjectCommand::ListFrames
            | ProjectCommand::ShowFrame(_)
            | ProjectCommand::Select(_)
            | ProjectCommand::ClassSizes(_)
            | ProjectCommand::Box { .. } => CommandKind::Scene,
            _ => CommandKind::Judging,
        }
    }

    /// Commands that change what is stored: counted as pending on screen until durable.
    fn writes(&self) -> bool {
        matches!(
            self,
            ProjectCommand::Identify(_)
                | ProjectCommand::Submit { .. }
                | ProjectCommand::Skip { .. }
                | ProjectCommand::Flag { .. }
                | ProjectCommand::TakeBack
                | ProjectCommand::Box { .. }
        )
    }
}

/// Which view a command serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    Judging,
    Scene,
}

/// What the 3D view shows after a scene command, as the store has it.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneState {
    /// The frame (index into the frames) the worker is on: an edit may have moved there.
    pub frame: usize,
    pub boxes: Vec<SceneBox>,
    pub selection: Option<AnnotationId>,
    /// What the command did, or why it did nothing.
    pub message: Option<Result<String, String>>,
}

/// The answers, in the order of the commands.
#[derive(Clone, Debug)]
pub enum ProjectReply {
    Identified(Result<(AnnotatorId, String), String>),
    /// The next comparison, or None when the queue is empty.
    Comparison(Result<Option<Judging>, String>),
    Submitted {
        key: String,
        result: Result<(), String>,
    },
    Skipped {
        key: String,
        reason: String,
        result: Result<(), String>,
    },
    Flagged {
        assignment: AssignmentId,
        key: String,
        flagged: bool,
        result: Result<(), String>,
    },
    TookBack(Result<bool, String>),
    Frames(Result<Vec<FrameRef>, String>),
    Scene(SceneState),
    /// The command panicked in the worker: nothing of it was stored.
    Failed {
        kind: CommandKind,
        error: String,
    },
}

/// A reply with what it answers and the revisions it made durable.
#[derive(Message, Clone, Debug)]
pub struct StoreReply {
    pub command: CommandId,
    pub reply: ProjectReply,
    /// Revisions the command committed (empty for reads and refusals).
    pub revisions: Vec<RevisionId>,
}

/// How the store worker opens the project.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    pub project: PathBuf,
    pub policy: QueuePolicy,
    /// Each commit takes at least this long: stands in for a slow disk or a far server when
    /// measuring that the frame loop does not wait (`cairn bench` and the tests).
    pub commit_delay: Option<Duration>,
}

/// The app's end of the command path.
#[derive(Resource)]
pub struct StoreLink {
    send: Sender<(CommandId, ProjectCommand)>,
    worker: Job<(), StoreReply>,
    next: CommandId,
    /// Commands sent and not answered yet, with their kind and whether they write.
    pending: BTreeMap<CommandId, (CommandKind, bool)>,
    /// The worker is gone (the project could not be opened, or its thread ended): why.
    pub closed: Option<String>,
    project: PathBuf,
}

impl StoreLink {
    /// Starts the store worker on the project.
    pub fn start(options: StoreOptions) -> StoreLink {
        let (send, commands) = channel();
        let project = options.project.clone();
        let worker = jobs::spawn("project", move |context| worker::run(options, commands, context));
        StoreLink { send, worker, next: 1, pending: BTreeMap::new(), closed: None, project }
    }

    /// Queues a command; its reply comes as a [`StoreReply`] message.
    pub fn send(&mut self, command: ProjectCommand) -> CommandId {
        let id = self.next;
        self.next += 1;
        if self.closed.is_none() {
            self.pending.insert(id, (command.kind(), command.writes()));
            let _ = self.send.send((id, command));
        }
        id
    }

    /// Commands of this kind not answered yet.
    pub fn pending(&self, kind: CommandKind) -> usize {
        self.pending.values().filter(|(k, _)| *k == kind).count()
    }

    /// Changes sent and not yet durable, of either view.
    pub fn unsaved(&self) -> usize {
        self.pending.values().filter(|(_, writes)| *writes).count()
    }

    /// The project file (background readers open connections of their own to it).
    pub fn project(&self) -> &std::path::Path {
        &self.project
    }

    /// Nothing sent is waiting for its answer.
    pub fn idle(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Runs first in every frame: hands the worker's replies to the views as messages.
pub fn receive_replies(mut link: ResMut<StoreLink>, mut replies: MessageWriter<StoreReply>) {
    let polled = link.worker.poll();
    for reply in polled.partials {
        link.pending.remove(&reply.command);
        replies.write(reply);
    }
    if let Some(done) = polled.done
        && link.closed.is_none()
    {
        let why = match done {
            Ok(()) => "the project was closed".to_string(),
            Err(e) => e,
        };
        warn!("{why}");
        // Nothing more will answer: every pending command is failed so no view waits on it.
        for (command, (kind, _)) in std::mem::take(&mut link.pending) {
            replies.write(StoreReply { command, reply: ProjectReply::Failed { kind, error: why.clone() }, revisions: Vec::new() });
        }
        link.closed = Some(why);
    }
}

/// The command path as a plugin: the worker on the project, and the reply messages.
pub struct CommandPlugin(pub StoreOptions);

impl Plugin for CommandPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(StoreLink::start(self.0.clone()))
            .insert_resource(LiveUpdates::start(self.0.project.clone()))
            .add_message::<StoreReply>()
            .add_message::<ProjectChanged>()
            .add_systems(Update, (receive_replies, live::receive_changes).chain().in_set(crate::AppSet::Receive));
    }
}
