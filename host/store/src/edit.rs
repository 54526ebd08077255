use crate::error::{At, Result, StoreError};
use crate::labels;
use crate::project::{Project, item_data};
use crate::revision::{Direction, NewRevision, RevisionAction, append, drop_redo_stack};
use cairn_model::{AnnotationId, AnnotatorId, ItemData, ItemId, Payload, RevisionId, validate_payload};
use rusqlite::{OptionalExtension, Transaction, params};
use std::path::Path;

/// One change a person (or a tool acting for them) makes to an annotation.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Create { item: ItemId, payload: Payload },
    Update { annotation: AnnotationId, payload: Payload },
    Delete { annotation: AnnotationId },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditOutcome {
    pub revision: RevisionId,
    pub annotation: AnnotationId,
}

/// What an undo or redo did: the record it appended and the revision it reverted or re-applied
/// (for a batch, the first one it took: the newest on undo, the oldest on redo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UndoOutcome {
    pub revision: RevisionId,
    pub reverted: RevisionId,
    pub item: ItemId,
    /// None when the reverted revision painted point labels.
    pub annotation: Option<AnnotationId>,
    /// Revisions reverted or re-applied together (more than one for a batch).
    pub steps: usize,
}

impl Project {
    /// Applies one edit as one durable transaction that appends a revision. `active_ms` is the time the
    /// annotator actively spent on it. A new edit clears the annotator's redo stack.
    pub fn apply(&mut self, annotator: AnnotatorId, active_ms: u64, edit: Edit) -> Result<EditOutcome> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&path)?;
        let outcome = apply_in(&tx, &path, annotator, active_ms, &edit)?;
        tx.commit().at(&path)?;
        Ok(outcome)
    }

    /// Reverts the annotator's latest edit that is not undone yet. `Ok(None)` when there is nothing to undo.
    pub fn undo(&mut self, annotator: AnnotatorId) -> Result<Option<UndoOutcome>> {
        self.step(annotator, Direction::Undo)
    }

    /// Re-applies the annotator's most recently undone edit. `Ok(None)` when there is nothing to redo.
    pub fn redo(&mut self, annotator: AnnotatorId) -> Result<Option<UndoOutcome>> {
        self.step(annotator, Direction::Redo)
    }

    /// Applies several edits as one transaction and one batch: undo and redo take them together.
    /// `active_ms` is recorded on the first.
    pub fn apply_all(&mut self, annotator: AnnotatorId, active_ms: u64, edits: &[Edit]) -> Result<Vec<EditOutcome>> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&path)?;
        let mut outcomes = Vec::with_capacity(edits.len());
        for (i, edit) in edits.iter().enumerate() {
            outcomes.push(apply_in(&tx, &path, annotator, if i == 0 { active_ms } else { 0 }, edit)?);
        }
        if let (Some(first), Some(last)) = (outcomes.first(), outcomes.last())
            && outcomes.len() > 1
        {
            tx.execute("UPDATE revisions SET batch = ?1 WHERE id BETWEEN ?1 AND ?2", params![first.revision.0, last.revision.0]).at(&path)?;
        }
        tx.commit().at(&path)?;
        Ok(outcomes)
    }

    fn step(&mut self, annotator: AnnotatorId, dir: Direction) -> Result<Option<UndoOutcome>> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&path)?;
        // Undo takes the newest done edit, redo the oldest undone one: together they behave as the
        // two stacks of an editor, kept in the file. A batch goes whole, in the same order.
        let order = match dir {
            Direction::Undo => "DESC",
            Direction::Redo => "ASC",
        };
        let select = format!(
            "SELECT id, action, annotation_id, item_id, before, after, batch FROM revisions
             WHERE annotator_id = ?1 AND state = ?2 ORDER BY id {order} LIMIT 1"
        );
        let row = |r: &rusqlite::Row<'_>| {
            Ok(Target {
                id: r.get(0)?,
                action: r.get(1)?,
                annotation: r.get(2)?,
                item: r.get(3)?,
                before: r.get(4)?,
                after: r.get(5)?,
                batch: r.get(6)?,
            })
        };
        let Some(first) = tx.query_row(&select, params![annotator.0, dir.takes()], row).optional().at(&path)? else { return Ok(None) };
        let targets = match first.batch {
            None => vec![first],
            Some(batch) => {
                let sql = format!(
                    "SELECT id, action, annotation_id, item_id, before, after, batch FROM revisions
                     WHERE annotator_id = ?1 AND state = ?2 AND batch = ?3 ORDER BY id {order}"
                );
                let mut stmt = tx.prepare(&sql).at(&path)?;
                let rows = stmt.query_map(params![annotator.0, dir.takes(), batch], row).at(&path)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().at(&path)?
            }
        };
        let mut outcome: Option<UndoOutcome> = None;
        for target in &targets {
            let revision = revert_one(&tx, &path, annotator, target, dir)?;
            outcome.get_or_insert(UndoOutcome {
                revision: RevisionId(revision),
                reverted: RevisionId(target.id),
                item: ItemId(target.item),
                annotation: target.annotation.map(AnnotationId),
                steps: targets.len(),
            });
        }
        tx.commit().at(&path)?;
        Ok(outcome)
    }
}

/// Reverts (undo) or re-applies (redo) one revision, appending the revision that records it.
fn revert_one(tx: &Transaction<'_>, path: &Path, annotator: AnnotatorId, target: &Target, dir: Direction) -> Result<i64> {
    let item = ItemId(target.item);
    let revision = if target.action == RevisionAction::Labels {
        labels::revert(tx, path, annotator, target.id, item, dir)?
    } else {
        let annotation = target.annotation.expect("annotation revisions name their annotation");
        let (expected, wanted) = match dir {
            Direction::Undo => (&target.after, &target.before),
            Direction::Redo => (&target.before, &target.after),
        };
        let (current, by): (Option<String>, i64) =
            tx.query_row("SELECT payload, revision_id FROM annotations WHERE id = ?1", [annotation], |r| Ok((r.get(0)?, r.get(1)?))).at(path)?;
        if &current != expected {
            return Err(StoreError::Conflict { action: dir.action().as_str(), annotation: AnnotationId(annotation), by });
        }
        let record = NewRevision {
            annotation: Some(annotation),
            before: current.as_deref(),
            after: wanted.as_deref(),
            ..NewRevision::step(annotator, dir, item, target.id)
        };
        let revision = append(tx, path, &record)?;
        set_annotation(tx, path, annotation, wanted.as_deref(), revision)?;
        revision
    };
    tx.execute("UPDATE revisions SET state = ?1 WHERE id = ?2", params![dir.leaves(), target.id]).at(path)?;
    Ok(revision)
}

struct Target {
    id: i64,
    action: RevisionAction,
    annotation: Option<i64>,
    item: i64,
    before: Option<String>,
    after: Option<String>,
    batch: Option<i64>,
}

struct LiveAnnotation {
    item: ItemId,
    kind: String,
    payload: String,
}

fn live_annotation(tx: &Transaction<'_>, path: &Path, id: AnnotationId) -> Result<LiveAnnotation> {
    let row: Option<(i64, String, Option<String>)> = tx
        .query_row("SELECT item_id, kind, payload FROM annotations WHERE id = ?1", [id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .at(path)?;
    match row {
        Some((item, kind, Some(payload))) => Ok(LiveAnnotation { item: ItemId(item), kind, payload }),
        _ => Err(StoreError::NotFound { path: path.to_owned(), what: "annotation", id: id.0 }),
    }
}

fn checked_json(payload: &Payload, item: &ItemData) -> Result<String> {
    let findings = validate_payload(payload, Some(item));
    if !findings.is_empty() {
        return Err(StoreError::Invalid { what: payload.kind().as_str().to_owned(), findings });
    }
    Ok(serde_json::to_string(payload).expect("payload serializes"))
}

fn set_annotation(tx: &Transaction<'_>, path: &Path, annotation: i64, payload: Option<&str>, revision: i64) -> Result<()> {
    tx.execute("UPDATE annotations SET payload = ?1, revision_id = ?2 WHERE id = ?3", params![payload, revision, annotation]).at(path)?;
    Ok(())
}

/// One edit inside a transaction the caller owns (an edit alone, or a submission with its assignment).
pub(crate) fn apply_in(tx: &Transaction<'_>, path: &Path, annotator: AnnotatorId, active_ms: u64, edit: &Edit) -> Result<EditOutcome> {
    let (action, annotation, item, before, after) = match edit {
        Edit::Create { item, payload } => {
            let data = item_data(tx, path, *item)?;
            let after = checked_json(payload, &data)?;
            tx.execute(
                "INSERT INTO annotations (item_id, annotator_id, kind, payload, revision_id) VALUES (?1, ?2, ?3, ?4, 0)",
                params![item.0, annotator.0, payload.kind().as_str(), after],
            )
            .at(path)?;
            (RevisionAction::Create, tx.last_insert_rowid(), *item, None, Some(after))
        }
        Edit::Update { annotation, payload } => {
            let live = live_annotation(tx, path, *annotation)?;
            if live.kind != payload.kind().as_str() {
                return Err(StoreError::Invalid {
                    what: format!("update of annotation {annotation}"),
                    findings: vec![cairn_model::ValidationError::new(
                        "kind",
                        format!("an update cannot turn a {} into a {}", live.kind, payload.kind().as_str()),
                    )],
                });
            }
            let data = item_data(tx, path, live.item)?;
            let after = checked_json(payload, &data)?;
            (RevisionAction::Update, annotation.0, live.item, Some(live.payload), Some(after))
        }
        Edit::Delete { annotation } => {
            let live = live_annotation(tx, path, *annotation)?;
            (RevisionAction::Delete, annotation.0, live.item, Some(live.payload), None)
        }
    };
    let record = NewRevision {
        annotation: Some(annotation),
        before: before.as_deref(),
        after: after.as_deref(),
        ..NewRevision::edit(annotator, action, item, active_ms)
    };
    let revision = append(tx, path, &record)?;
    set_annotation(tx, path, annotation, after.as_deref(), revision)?;
    drop_redo_stack(tx, path, annotator)?;
    Ok(EditOutcome { revision: RevisionId(revision), annotation: AnnotationId(annotation) })
}
