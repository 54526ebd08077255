//! Per-point class labels: one BLOB per chunk of `POINT_LABEL_CHUNK` points, with every change kept
//! chunk by chunk in `point_label_changes` so that painting can be undone like any other edit.

use crate::error::{At, Result, StoreError};
use crate::project::{Project, item_data};
use crate::revision::{Direction, NewRevision, RevisionAction, append, drop_redo_stack};
use cairn_model::{AnnotatorId, ItemData, ItemId, POINT_LABEL_CHUNK, PointLabelChunk, RevisionId, ValidationError};
use rusqlite::{OptionalExtension, Transaction, params};
use std::path::Path;

impl Project {
    /// Stores the given chunks of an item's point labels as one revision. Chunks not given are kept.
    pub fn set_point_labels(&mut self, annotator: AnnotatorId, item: ItemId, active_ms: u64, chunks: &[PointLabelChunk]) -> Result<RevisionId> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&path)?;
        let ItemData::Frame(frame) = item_data(&tx, &path, item)? else {
            return Err(invalid("item", format!("item {item} is not a point-cloud frame")));
        };
        let points = frame.source.summary.point_count;
        for c in chunks {
            let end = c.first_point() + c.labels.len() as u64;
            if c.labels.len() > POINT_LABEL_CHUNK as usize || end > points {
                return Err(invalid("labels", format!("chunk {} covers points up to {end}, but the frame has {points} points", c.chunk)));
            }
        }
        let revision = append(&tx, &path, &NewRevision::edit(annotator, RevisionAction::Labels, item, active_ms))?;
        for c in chunks {
            let before = chunk_blob(&tx, &path, item, c.chunk)?;
            write_chunk(&tx, &path, revision, item, c.chunk, before, Some(c.to_bytes()))?;
        }
        drop_redo_stack(&tx, &path, annotator)?;
        tx.commit().at(&path)?;
        Ok(RevisionId(revision))
    }

    /// All stored label chunks of an item, in chunk order.
    pub fn point_labels(&self, item: ItemId) -> Result<Vec<PointLabelChunk>> {
        let mut stmt = self.conn.prepare_cached("SELECT chunk, labels FROM point_labels WHERE item_id = ?1 ORDER BY chunk").at(&self.path)?;
        let rows = stmt.query_map([item.0], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))).at(&self.path)?;
        let mut out = Vec::new();
        for row in rows {
            let (chunk, bytes) = row.at(&self.path)?;
            out.push(
                PointLabelChunk::from_bytes(chunk, &bytes)
                    .map_err(|e| StoreError::Corrupt { path: self.path.clone(), detail: format!("point labels of item {item}: {e}") })?,
            );
        }
        Ok(out)
    }
}

fn invalid(field: &str, message: String) -> StoreError {
    StoreError::Invalid { what: "point labels".into(), findings: vec![ValidationError::new(field, message)] }
}

fn chunk_blob(tx: &Transaction<'_>, path: &Path, item: ItemId, chunk: u32) -> Result<Option<Vec<u8>>> {
    tx.query_row("SELECT labels FROM point_labels WHERE item_id = ?1 AND chunk = ?2", params![item.0, chunk], |r| r.get(0)).optional().at(path)
}

/// Records one chunk change under `revision` and makes `after` the current labels (None removes them).
fn write_chunk(
    tx: &Transaction<'_>,
    path: &Path,
    revision: i64,
    item: ItemId,
    chunk: u32,
    before: Option<Vec<u8>>,
    after: Option<Vec<u8>>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO point_label_changes (revision_id, chunk, before, after) VALUES (?1, ?2, ?3, ?4)",
        params![revision, chunk, before, after],
    )
    .at(path)?;
    match after {
        Some(bytes) => tx.execute(
            "INSERT INTO point_labels (item_id, chunk, labels, revision_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (item_id, chunk) DO UPDATE SET labels = excluded.labels, revision_id = excluded.revision_id",
            params![item.0, chunk, bytes, revision],
        ),
        None => tx.execute("DELETE FROM point_labels WHERE item_id = ?1 AND chunk = ?2", params![item.0, chunk]),
    }
    .at(path)?;
    Ok(())
}

/// One chunk a revision changed: (chunk, labels before, labels after).
type ChunkChange = (u32, Option<Vec<u8>>, Option<Vec<u8>>);

/// Undoes (or redoes) a labels revision, refusing when a later edit changed the same chunks.
pub(crate) fn revert(tx: &Transaction<'_>, path: &Path, annotator: AnnotatorId, target: i64, item: ItemId, dir: Direction) -> Result<i64> {
    let changes: Vec<ChunkChange> = {
        let mut stmt = tx.prepare("SELECT chunk, before, after FROM point_label_changes WHERE revision_id = ?1 ORDER BY chunk").at(path)?;
        let rows = stmt.query_map([target], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).at(path)?;
        rows.collect::<rusqlite::Result<_>>().at(path)?
    };
    let revision = append(tx, path, &NewRevision::step(annotator, dir, item, target))?;
    for (chunk, before, after) in changes {
        let (expected, wanted) = match dir {
            Direction::Undo => (after, before),
            Direction::Redo => (before, after),
        };
        let current = chunk_blob(tx, path, item, chunk)?;
        if current != expected {
            return Err(StoreError::LabelConflict { action: dir.action().as_str(), item });
        }
        write_chunk(tx, path, revision, item, chunk, current, wanted)?;
    }
    Ok(revision)
}
