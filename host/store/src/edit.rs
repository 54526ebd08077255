use crate::error::{At, Result, StoreError};
use crate::{Project, labels, now_ms};
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
        // Undo takes the newest 'done' edit, redo the oldest 'undone' one: together they behave as the
        // two stacks of an editor, kept in the file. A batch goes whole, in the same order.
        let (state, order) = match dir {
            Direction::Undo => ("done", "DESC"),
            Direction::Redo => ("undone", "ASC"),
        };
        let select = format!(
            "SELECT id, action, annotation_id, item_id, before, after, batch FROM revisions
             WHERE annotator_id = ?1 AND state = '{state}' ORDER BY id {order} LIMIT 1"
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
        let Some(first) = tx.query_row(&select, [annotator.0], row).optional().at(&path)? else { return Ok(None) };
        let targets = match first.batch {
            None => vec![first],
            Some(batch) => {
                let sql = format!(
                    "SELECT id, action, annotation_id, item_id, before, after, batch FROM revisions
                     WHERE annotator_id = ?1 AND state = '{state}' AND batch = ?2 ORDER BY id {order}"
                );
                let mut stmt = tx.prepare(&sql).at(&path)?;
                let rows = stmt.query_map(params![annotator.0, batch], row).at(&path)?;
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
    let action = dir.as_str();
    let revision = if target.action == "labels" {
        labels::revert(tx, path, annotator, target.id, ItemId(target.item), dir == Direction::Undo)?
    } else {
        let annotation = target.annotation.expect("annotation revisions name their annotation");
        let (expected, wanted) = match dir {
            Direction::Undo => (&target.after, &target.before),
            Direction::Redo => (&target.before, &target.after),
        };
        let (current, by): (Option<String>, i64) =
            tx.query_row("SELECT payload, revision_id FROM annotations WHERE id = ?1", [annotation], |r| Ok((r.get(0)?, r.get(1)?))).at(path)?;
        if &current != expected {
            return Err(StoreError::Conflict { action, annotation: AnnotationId(annotation), by });
        }
        tx.execute(
            "INSERT INTO revisions (annotator_id, at_ms, action, annotation_id, item_id, before, after, reverts, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'fixed')",
            params![annotator.0, now_ms(), action, annotation, target.item, current, wanted, target.id],
        )
        .at(path)?;
        let revision = tx.last_insert_rowid();
        set_annotation(tx, path, annotation, wanted.as_deref(), revision)?;
        revision
    };
    let new_state = match dir {
        Direction::Undo => "undone",
        Direction::Redo => "done",
    };
    tx.execute("UPDATE revisions SET state = ?1 WHERE id = ?2", params![new_state, target.id]).at(path)?;
    Ok(revision)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Undo,
    Redo,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Undo => "undo",
            Direction::Redo => "redo",
        }
    }
}

struct Target {
    id: i64,
    action: String,
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

pub(crate) fn item_data(tx: &Transaction<'_>, path: &Path, item: ItemId) -> Result<ItemData> {
    let bytes: Vec<u8> = tx
        .query_row("SELECT data FROM items WHERE id = ?1", [item.0], |r| r.get(0))
        .optional()
        .at(path)?
        .ok_or(StoreError::NotFound { path: path.to_owned(), what: "item", id: item.0 })?;
    crate::codec::decode_item(&bytes).map_err(|detail| StoreError::BadItem { path: path.to_owned(), id: item.0, detail })
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

pub(crate) fn drop_redo_stack(tx: &Transaction<'_>, path: &Path, annotator: AnnotatorId) -> Result<()> {
    tx.execute("UPDATE revisions SET state = 'dropped' WHERE annotator_id = ?1 AND state = 'undone'", [annotator.0]).at(path)?;
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
            ("create", tx.last_insert_rowid(), *item, None, Some(after))
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
            ("update", annotation.0, live.item, Some(live.payload), Some(after))
        }
        Edit::Delete { annotation } => {
            let live = live_annotation(tx, path, *annotation)?;
            ("delete", annotation.0, live.item, Some(live.payload), None)
        }
    };
    tx.execute(
        "INSERT INTO revisions (annotator_id, at_ms, action, annotation_id, item_id, before, after, active_ms, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'done')",
        params![annotator.0, now_ms(), action, annotation, item.0, before, after, active_ms as i64],
    )
    .at(path)?;
    let revision = tx.last_insert_rowid();
    set_annotation(tx, path, annotation, after.as_deref(), revision)?;
    drop_redo_stack(tx, path, annotator)?;
    Ok(EditOutcome { revision: RevisionId(revision), annotation: AnnotationId(annotation) })
}
