use crate::db::{Db, Row, TxKind, vals};
use crate::error::{Result, StoreError};
use crate::labels;
use crate::project::{Project, item_data};
use crate::revision::{Direction, NewRevision, RevisionAction, append, drop_redo_stack};
use cairn_model::{AnnotationId, AnnotatorId, ItemData, ItemId, Payload, RevisionId, validate_payload};

/// One change a person (or a tool acting for them) makes to an annotation.
///
/// `seen` is the annotation's revision as the editor loaded it: when someone changed the
/// annotation since, the edit is refused (`StoreError::Stale`) instead of overwriting their change.
/// None edits whatever is there (imports, scripts).
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Create { item: ItemId, payload: Payload },
    Update { annotation: AnnotationId, payload: Payload, seen: Option<RevisionId> },
    Delete { annotation: AnnotationId, seen: Option<RevisionId> },
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
        self.db.transaction(TxKind::Write, |db| apply_in(db, annotator, active_ms, &edit))
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
        self.db.transaction(TxKind::Write, |db| {
            let mut outcomes = Vec::with_capacity(edits.len());
            for (i, edit) in edits.iter().enumerate() {
                outcomes.push(apply_in(db, annotator, if i == 0 { active_ms } else { 0 }, edit)?);
            }
            // The batch is named by its first revision. On a server, other writers' revisions may
            // fall between these ids, so the batch lists its own.
            if let Some(first) = outcomes.first()
                && outcomes.len() > 1
            {
                for outcome in &outcomes {
                    db.execute("UPDATE revisions SET batch = ?1 WHERE id = ?2", &vals![first.revision.0, outcome.revision.0])?;
                }
            }
            Ok(outcomes)
        })
    }

    fn step(&mut self, annotator: AnnotatorId, dir: Direction) -> Result<Option<UndoOutcome>> {
        self.db.transaction(TxKind::Write, |db| {
            // Undo takes the newest done edit, redo the oldest undone one: together they behave as the
            // two stacks of an editor, kept in the project. A batch goes whole, in the same order.
            let order = match dir {
                Direction::Undo => "DESC",
                Direction::Redo => "ASC",
            };
            let select = format!(
                "SELECT id, action, annotation_id, item_id, before, after, batch FROM revisions
                 WHERE annotator_id = ?1 AND state = ?2 ORDER BY id {order} LIMIT 1"
            );
            let Some(first) = db.query_opt(&select, &vals![annotator.0, dir.takes()])? else { return Ok(None) };
            let first = Target::from_row(&first)?;
            let targets = match first.batch {
                None => vec![first],
                Some(batch) => {
                    let sql = format!(
                        "SELECT id, action, annotation_id, item_id, before, after, batch FROM revisions
                         WHERE annotator_id = ?1 AND state = ?2 AND batch = ?3 ORDER BY id {order}"
                    );
                    db.query(&sql, &vals![annotator.0, dir.takes(), batch])?.iter().map(Target::from_row).collect::<Result<Vec<_>>>()?
                }
            };
            let mut outcome: Option<UndoOutcome> = None;
            for target in &targets {
                let revision = revert_one(db, annotator, target, dir)?;
                outcome.get_or_insert(UndoOutcome {
                    revision: RevisionId(revision),
                    reverted: RevisionId(target.id),
                    item: ItemId(target.item),
                    annotation: target.annotation.map(AnnotationId),
                    steps: targets.len(),
                });
            }
            Ok(outcome)
        })
    }
}

/// Reverts (undo) or re-applies (redo) one revision, appending the revision that records it.
fn revert_one(db: &Db, annotator: AnnotatorId, target: &Target, dir: Direction) -> Result<i64> {
    let item = ItemId(target.item);
    let revision = if target.action == RevisionAction::Labels {
        labels::revert(db, annotator, target.id, item, dir)?
    } else {
        let annotation = target.annotation.expect("annotation revisions name their annotation");
        let (expected, wanted) = match dir {
            Direction::Undo => (&target.after, &target.before),
            Direction::Redo => (&target.before, &target.after),
        };
        let row = db.query_one(&for_update(db, "SELECT payload, revision_id FROM annotations WHERE id = ?1"), &vals![annotation])?;
        let (current, by): (Option<String>, i64) = (row.get(0)?, row.get(1)?);
        if &current != expected {
            return Err(StoreError::Conflict { action: dir.action().as_str(), annotation: AnnotationId(annotation), by });
        }
        let record = NewRevision {
            annotation: Some(annotation),
            before: current.as_deref(),
            after: wanted.as_deref(),
            ..NewRevision::step(annotator, dir, item, target.id)
        };
        let revision = append(db, &record)?;
        set_annotation(db, annotation, wanted.as_deref(), revision)?;
        revision
    };
    db.execute("UPDATE revisions SET state = ?1 WHERE id = ?2", &vals![dir.leaves(), target.id])?;
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

impl Target {
    fn from_row(r: &Row) -> Result<Target> {
        Ok(Target { id: r.get(0)?, action: r.get(1)?, annotation: r.get(2)?, item: r.get(3)?, before: r.get(4)?, after: r.get(5)?, batch: r.get(6)? })
    }
}

struct LiveAnnotation {
    item: ItemId,
    kind: String,
    payload: String,
    revision: i64,
}

fn live_annotation(db: &Db, id: AnnotationId) -> Result<LiveAnnotation> {
    let row = db.query_opt(&for_update(db, "SELECT item_id, kind, payload, revision_id FROM annotations WHERE id = ?1"), &vals![id.0])?;
    let Some(row) = row else { return Err(StoreError::NotFound { path: db.location.as_path().to_owned(), what: "annotation", id: id.0 }) };
    match row.get::<Option<String>>(2)? {
        Some(payload) => Ok(LiveAnnotation { item: ItemId(row.get(0)?), kind: row.get(1)?, payload, revision: row.get(3)? }),
        None => Err(StoreError::NotFound { path: db.location.as_path().to_owned(), what: "annotation", id: id.0 }),
    }
}

/// Locks the row read on PostgreSQL, where writers run side by side (SQLite's write transaction
/// already holds the whole file).
fn for_update(db: &Db, sql: &str) -> String {
    match db.engine() {
        crate::db::Engine::Sqlite => sql.to_owned(),
        crate::db::Engine::Postgres => format!("{sql} FOR UPDATE"),
    }
}

/// Refuses an edit made on an older revision of the annotation than the one stored.
fn check_seen(db: &Db, annotation: AnnotationId, live: &LiveAnnotation, seen: Option<RevisionId>, action: &'static str) -> Result<()> {
    let Some(seen) = seen else { return Ok(()) };
    if seen.0 == live.revision {
        return Ok(());
    }
    let by_name: String = db
        .query_opt("SELECT n.name FROM revisions r JOIN annotators n ON n.id = r.annotator_id WHERE r.id = ?1", &vals![live.revision])?
        .map(|r| r.get(0))
        .transpose()?
        .unwrap_or_else(|| "someone".to_owned());
    Err(StoreError::Stale { action, annotation, by: live.revision, by_name })
}

fn checked_json(payload: &Payload, item: &ItemData) -> Result<String> {
    let findings = validate_payload(payload, Some(item));
    if !findings.is_empty() {
        return Err(StoreError::Invalid { what: payload.kind().as_str().to_owned(), findings });
    }
    Ok(serde_json::to_string(payload).expect("payload serializes"))
}

fn set_annotation(db: &Db, annotation: i64, payload: Option<&str>, revision: i64) -> Result<()> {
    db.execute("UPDATE annotations SET payload = ?1, revision_id = ?2 WHERE id = ?3", &vals![payload, revision, annotation])?;
    Ok(())
}

/// One edit inside a transaction the caller owns (an edit alone, or a submission with its assignment).
pub(crate) fn apply_in(db: &Db, annotator: AnnotatorId, active_ms: u64, edit: &Edit) -> Result<EditOutcome> {
    let (action, annotation, item, before, after) = match edit {
        Edit::Create { item, payload } => {
            let data = item_data(db, *item)?;
            let after = checked_json(payload, &data)?;
            let id = db.insert(
                "INSERT INTO annotations (item_id, annotator_id, kind, payload, revision_id) VALUES (?1, ?2, ?3, ?4, 0) RETURNING id",
                &vals![item.0, annotator.0, payload.kind().as_str(), after],
            )?;
            (RevisionAction::Create, id, *item, None, Some(after))
        }
        Edit::Update { annotation, payload, seen } => {
            let live = live_annotation(db, *annotation)?;
            check_seen(db, *annotation, &live, *seen, "change")?;
            if live.kind != payload.kind().as_str() {
                return Err(StoreError::Invalid {
                    what: format!("update of annotation {annotation}"),
                    findings: vec![cairn_model::ValidationError::new(
                        "kind",
                        format!("an update cannot turn a {} into a {}", live.kind, payload.kind().as_str()),
                    )],
                });
            }
            let data = item_data(db, live.item)?;
            let after = checked_json(payload, &data)?;
            (RevisionAction::Update, annotation.0, live.item, Some(live.payload), Some(after))
        }
        Edit::Delete { annotation, seen } => {
            let live = live_annotation(db, *annotation)?;
            check_seen(db, *annotation, &live, *seen, "delete")?;
            (RevisionAction::Delete, annotation.0, live.item, Some(live.payload), None)
        }
    };
    let record = NewRevision {
        annotation: Some(annotation),
        before: before.as_deref(),
        after: after.as_deref(),
        ..NewRevision::edit(annotator, action, item, active_ms)
    };
    let revision = append(db, &record)?;
    set_annotation(db, annotation, after.as_deref(), revision)?;
    drop_redo_stack(db, annotator)?;
    Ok(EditOutcome { revision: RevisionId(revision), annotation: AnnotationId(annotation) })
}
