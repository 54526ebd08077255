//! Per-point class labels: one BLOB per chunk of `POINT_LABEL_CHUNK` points, with every change kept
//! chunk by chunk in `point_label_changes` so that painting can be undone like any other edit.

use crate::db::{Db, TxKind, vals};
use crate::error::{Result, StoreError};
use crate::project::{Project, item_data};
use crate::revision::{Direction, NewRevision, RevisionAction, append, drop_redo_stack};
use cairn_model::{AnnotatorId, ItemData, ItemId, POINT_LABEL_CHUNK, PointLabelChunk, RevisionId, ValidationError};

impl Project {
    /// Stores the given chunks of an item's point labels as one revision. Chunks not given are kept.
    pub fn set_point_labels(&mut self, annotator: AnnotatorId, item: ItemId, active_ms: u64, chunks: &[PointLabelChunk]) -> Result<RevisionId> {
        self.db.transaction(TxKind::Write, |db| {
            db.lock_row("items", item.0)?;
            let ItemData::Frame(frame) = item_data(db, item)? else {
                return Err(invalid("item", format!("item {item} is not a point-cloud frame")));
            };
            let points = frame.source.summary.point_count;
            for c in chunks {
                let end = c.first_point() + c.labels.len() as u64;
                if c.labels.len() > POINT_LABEL_CHUNK as usize || end > points {
                    return Err(invalid("labels", format!("chunk {} covers points up to {end}, but the frame has {points} points", c.chunk)));
                }
            }
            let revision = append(db, &NewRevision::edit(annotator, RevisionAction::Labels, item, active_ms))?;
            for c in chunks {
                let before = chunk_blob(db, item, c.chunk)?;
                write_chunk(db, revision, item, c.chunk, before, Some(c.to_bytes()))?;
            }
            drop_redo_stack(db, annotator)?;
            Ok(RevisionId(revision))
        })
    }

    /// All stored label chunks of an item, in chunk order.
    pub fn point_labels(&self, item: ItemId) -> Result<Vec<PointLabelChunk>> {
        let rows = self.db.query("SELECT chunk, labels FROM point_labels WHERE item_id = ?1 ORDER BY chunk", &vals![item.0])?;
        let mut out = Vec::new();
        for mut row in rows {
            let (chunk, bytes): (u32, Vec<u8>) = (row.get(0)?, row.take(1)?);
            out.push(
                PointLabelChunk::from_bytes(chunk, &bytes)
                    .map_err(|e| StoreError::Corrupt { path: self.path().to_owned(), detail: format!("point labels of item {item}: {e}") })?,
            );
        }
        Ok(out)
    }
}

fn invalid(field: &str, message: String) -> StoreError {
    StoreError::Invalid { what: "point labels".into(), findings: vec![ValidationError::new(field, message)] }
}

fn chunk_blob(db: &Db, item: ItemId, chunk: u32) -> Result<Option<Vec<u8>>> {
    db.query_opt("SELECT labels FROM point_labels WHERE item_id = ?1 AND chunk = ?2", &vals![item.0, chunk])?.map(|mut r| r.take(0)).transpose()
}

/// Records one chunk change under `revision` and makes `after` the current labels (None removes them).
fn write_chunk(db: &Db, revision: i64, item: ItemId, chunk: u32, before: Option<Vec<u8>>, after: Option<Vec<u8>>) -> Result<()> {
    db.execute(
        "INSERT INTO point_label_changes (revision_id, chunk, before, after) VALUES (?1, ?2, ?3, ?4)",
        &vals![revision, chunk, before, after],
    )?;
    match after {
        Some(bytes) => db.execute(
            "INSERT INTO point_labels (item_id, chunk, labels, revision_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (item_id, chunk) DO UPDATE SET labels = excluded.labels, revision_id = excluded.revision_id",
            &vals![item.0, chunk, bytes, revision],
        ),
        None => db.execute("DELETE FROM point_labels WHERE item_id = ?1 AND chunk = ?2", &vals![item.0, chunk]),
    }?;
    Ok(())
}

/// Undoes (or redoes) a labels revision, refusing when a later edit changed the same chunks.
pub(crate) fn revert(db: &Db, annotator: AnnotatorId, target: i64, item: ItemId, dir: Direction) -> Result<i64> {
    db.lock_row("items", item.0)?;
    let changes = db.query("SELECT chunk, before, after FROM point_label_changes WHERE revision_id = ?1 ORDER BY chunk", &vals![target])?;
    let revision = append(db, &NewRevision::step(annotator, dir, item, target))?;
    for mut change in changes {
        let (chunk, before, after): (u32, Option<Vec<u8>>, Option<Vec<u8>>) = (change.get(0)?, change.take(1)?, change.take(2)?);
        let (expected, wanted) = match dir {
            Direction::Undo => (after, before),
            Direction::Redo => (before, after),
        };
        let current = chunk_blob(db, item, chunk)?;
        if current != expected {
            return Err(StoreError::LabelConflict { action: dir.action().as_str(), item });
        }
        write_chunk(db, revision, item, chunk, current, wanted)?;
    }
    Ok(revision)
}
