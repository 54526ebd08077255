//! The revision log's vocabulary and the writes that every kind of edit shares: annotation edits
//! (`edit`) and painted point labels (`labels`) append revisions the same way and are undone on the
//! same two stacks.

use crate::clock::now_ms;
use crate::db::{Db, vals};
use crate::error::Result;
use crate::text_enum::text_enum;
use cairn_model::{AnnotatorId, ItemId};

text_enum! {
    /// What a revision did, as stored in `revisions.action`.
    RevisionAction("revision action") {
        /// A label that came with imported data.
        Import = "import",
        Create = "create",
        Update = "update",
        Delete = "delete",
        /// Painted point labels; what changed is in `point_label_changes`.
        Labels = "labels",
        /// The record of an undo; `reverts` names the revision taken back.
        Undo = "undo",
        /// The record of a redo; `reverts` names the revision applied again.
        Redo = "redo",
    }
}

text_enum! {
    /// Where a revision stands for undo and redo, as stored in `revisions.state`.
    RevisionState("revision state") {
        /// An edit in effect: undo can take it.
        Done = "done",
        /// An edit taken back: redo can take it.
        Undone = "undone",
        /// Taken back, then overtaken by a new edit: history only.
        Dropped = "dropped",
        /// Imports and the undo and redo records themselves: history only.
        Fixed = "fixed",
    }
}

/// Which way `Project::undo` and `Project::redo` walk an annotator's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Undo,
    Redo,
}

impl Direction {
    /// The action of the revision that records a step.
    pub(crate) fn action(self) -> RevisionAction {
        match self {
            Direction::Undo => RevisionAction::Undo,
            Direction::Redo => RevisionAction::Redo,
        }
    }

    /// The state of the revisions a step can take.
    pub(crate) fn takes(self) -> RevisionState {
        match self {
            Direction::Undo => RevisionState::Done,
            Direction::Redo => RevisionState::Undone,
        }
    }

    /// The state a step leaves its revision in: the one the other direction takes.
    pub(crate) fn leaves(self) -> RevisionState {
        match self {
            Direction::Undo => RevisionState::Undone,
            Direction::Redo => RevisionState::Done,
        }
    }
}

/// A row to append to the log (`append` stamps the time).
pub(crate) struct NewRevision<'a> {
    pub annotator: AnnotatorId,
    pub action: RevisionAction,
    pub annotation: Option<i64>,
    pub item: ItemId,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub active_ms: u64,
    pub reverts: Option<i64>,
    pub state: RevisionState,
}

impl NewRevision<'_> {
    /// An edit in effect, which undo can take.
    pub(crate) fn edit(annotator: AnnotatorId, action: RevisionAction, item: ItemId, active_ms: u64) -> Self {
        NewRevision { annotator, action, annotation: None, item, before: None, after: None, active_ms, reverts: None, state: RevisionState::Done }
    }

    /// The record of an undo or redo of revision `reverted`: history only.
    pub(crate) fn step(annotator: AnnotatorId, dir: Direction, item: ItemId, reverted: i64) -> Self {
        NewRevision { reverts: Some(reverted), state: RevisionState::Fixed, ..NewRevision::edit(annotator, dir.action(), item, 0) }
    }
}

/// Appends one revision; returns its id.
pub(crate) fn append(db: &Db, revision: &NewRevision<'_>) -> Result<i64> {
    let NewRevision { annotator, action, annotation, item, before, after, active_ms, reverts, state } = revision;
    db.insert(
        "INSERT INTO revisions (annotator_id, at_ms, action, annotation_id, item_id, before, after, active_ms, reverts, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        &vals![annotator.0, now_ms(), action, annotation, item.0, before, after, *active_ms as i64, reverts, state],
    )
}

/// A new edit empties the annotator's redo stack: what was undone can no longer be redone.
pub(crate) fn drop_redo_stack(db: &Db, annotator: AnnotatorId) -> Result<()> {
    db.execute(
        "UPDATE revisions SET state = ?1 WHERE annotator_id = ?2 AND state = ?3",
        &vals![RevisionState::Dropped, annotator.0, RevisionState::Undone],
    )?;
    Ok(())
}
