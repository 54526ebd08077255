//! The store worker: owns the project, carries out the commands in the order sent, and answers
//! each one after its commit returned. The judging queue and the box editor live here.

use super::editor::Editor;
use super::{CommandId, CommandKind, ProjectCommand, ProjectReply, StoreOptions, StoreReply};
use crate::jobs::{JobContext, panic_text};
use crate::judge::Judging;
use cairn_model::{AnnotatorId, AnnotatorKind, AssignmentId, ItemData, RevisionId};
use cairn_store::{Edit, Project};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::Receiver;

/// The project and what the session has done with it.
pub(super) struct Worker {
    pub project: Project,
    policy: cairn_store::QueuePolicy,
    pub who: Option<AnnotatorId>,
    /// The last submission of this session, which the comparison view's take-back undoes.
    last_submitted: Option<AssignmentId>,
    pub editor: Editor,
    /// Revisions committed by the command being carried out.
    pub committed: Vec<RevisionId>,
}

/// The worker's loop, until the app drops its end of the channel.
pub(super) fn run(options: StoreOptions, commands: Receiver<(CommandId, ProjectCommand)>, context: &JobContext<StoreReply>) -> Result<(), String> {
    let project = Project::open(&options.project).map_err(|e| format!("cannot open the project: {e}"))?;
    if let Some(delay) = options.commit_delay {
        // Every commit waits as a slow disk would, inside the transaction.
        let Some(conn) = project.sqlite_connection() else { return Err("a commit delay needs a project file".into()) };
        conn.commit_hook(Some(move || {
            std::thread::sleep(delay);
            false
        }));
    }
    let mut worker = Worker { project, policy: options.policy, who: None, last_submitted: None, editor: Editor::default(), committed: Vec::new() };
    while let Ok((command, request)) = commands.recv() {
        let kind = request.kind();
        worker.committed.clear();
        // A bug in one command must not take the session down: its transaction rolled back when
        // it unwound, so nothing of it is stored, and the next command runs as usual.
        let reply = catch_unwind(AssertUnwindSafe(|| worker.carry_out(request)))
            .unwrap_or_else(|panic| ProjectReply::Failed { kind, error: format!("the store worker failed: {}", panic_text(&panic)) });
        let revisions = std::mem::take(&mut worker.committed);
        if !context.partial(StoreReply { command, reply, revisions }) {
            break;
        }
    }
    Ok(())
}

impl Worker {
    fn carry_out(&mut self, command: ProjectCommand) -> ProjectReply {
        match command {
            ProjectCommand::Identify(name) => ProjectReply::Identified(self.identify(&name)),
            ProjectCommand::NextComparison => ProjectReply::Comparison(self.next_comparison()),
            ProjectCommand::Submit { assignment, key, active_ms, payload } => {
                let result = self.project.submit(&assignment, active_ms, &[Edit::Create { item: assignment.item, payload }]).map(|outcomes| {
                    self.committed.extend(outcomes.iter().map(|o| o.revision));
                    self.last_submitted = Some(assignment.id);
                });
                ProjectReply::Submitted { key, result: result.map_err(|e| e.to_string()) }
            }
            ProjectCommand::Skip { assignment, key, reason } => {
                let result = self.project.skip(assignment, &reason).map_err(|e| e.to_string());
                ProjectReply::Skipped { key, reason, result }
            }
            ProjectCommand::Flag { assignment, key, flagged } => {
                let result = self.project.flag(assignment, flagged).map_err(|e| e.to_string());
                ProjectReply::Flagged { assignment, key, flagged, result }
            }
            ProjectCommand::TakeBack => ProjectReply::TookBack(self.take_back()),
            ProjectCommand::ListFrames => ProjectReply::Frames(self.editor.list_frames(&self.project)),
            ProjectCommand::ShowFrame(frame) => ProjectReply::Scene(self.editor.show_frame(&self.project, frame)),
            ProjectCommand::Select(selection) => {
                self.editor.selected = selection;
                ProjectReply::Scene(self.editor.state(&self.project, None))
            }
            ProjectCommand::ClassSizes(sizes) => {
                self.editor.class_sizes = sizes;
                ProjectReply::Scene(self.editor.state(&self.project, None))
            }
            ProjectCommand::Box { edit, active_ms, cloud } => {
                let message = match self.who {
                    None => Err("say who you are first (the name field at the top)".to_string()),
                    Some(who) => {
                        let mut session = super::editor::Session { project: &mut self.project, who, active_ms, committed: &mut self.committed };
                        self.editor.carry_out(&mut session, &edit, cloud)
                    }
                };
                ProjectReply::Scene(self.editor.state(&self.project, Some(message)))
            }
        }
    }

    fn identify(&mut self, name: &str) -> Result<(cairn_model::AnnotatorId, String), String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("type a name".into());
        }
        let id = self.project.ensure_annotator(name, AnnotatorKind::Human).map_err(|e| e.to_string())?;
        self.who = Some(id);
        Ok((id, name.to_string()))
    }

    fn next_comparison(&mut self) -> Result<Option<Judging>, String> {
        let who = self.who.ok_or("say who you are first")?;
        let Some(assignment) = self.project.next_assignment(who, &self.policy).map_err(|e| e.to_string())? else { return Ok(None) };
        let item = self.project.item(assignment.item).map_err(|e| e.to_string())?;
        let ItemData::Comparison(comparison) = item.data else { return Err(format!("item {} is not a comparison", item.key)) };
        // An assignment flagged before (an earlier session) comes back flagged.
        let flagged = self.project.is_flagged(assignment.id).map_err(|e| e.to_string())?;
        let mut judging = Judging::new(assignment, item.key, comparison);
        judging.flagged = flagged;
        Ok(Some(judging))
    }

    /// Undoes the annotator's last edit (the submission) and reopens its assignment, which the
    /// queue then hands out first. Ok(false) when there is nothing to take back.
    fn take_back(&mut self) -> Result<bool, String> {
        let who = self.who.ok_or("say who you are first")?;
        let Some(assignment) = self.last_submitted.take() else { return Ok(false) };
        let undone = self.project.undo(who).map_err(|e| e.to_string())?;
        if let Some(outcome) = undone {
            self.committed.push(outcome.revision);
        }
        self.project.reopen(assignment).map_err(|e| e.to_string())?;
        Ok(true)
    }
}

impl CommandKind {
    pub fn name(self) -> &'static str {
        match self {
            CommandKind::Judging => "judging",
            CommandKind::Scene => "3D view",
        }
    }
}
