use crate::error::{At, Result, StoreError};
use crate::project::{ensure_annotator, ensure_dataset};
use crate::{Project, now_ms};
use cairn_model::{AnnotationId, AnnotatorId, AnnotatorKind, DatasetId, ItemData, ItemId, Modality, Payload};
use rusqlite::{OptionalExtension, params};
use std::path::Path;

/// One bulk import: a single transaction that commits when the closure returns `Ok` and leaves the
/// project untouched when it returns `Err` (or panics).
pub struct BulkImport<'p> {
    tx: rusqlite::Transaction<'p>,
    path: &'p Path,
    now: i64,
}

/// Whether an item was new or its content was already in the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    New(ItemId),
    Existing(ItemId),
}

impl Inserted {
    pub fn id(self) -> ItemId {
        match self {
            Inserted::New(id) | Inserted::Existing(id) => id,
        }
    }
}

impl Project {
    pub fn bulk_import<T, E: From<StoreError>>(&mut self, f: impl FnOnce(&mut BulkImport<'_>) -> Result<T, E>) -> Result<T, E> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&self.path)?;
        // Sorting a million keys into the unique hash index needs more than the default page cache.
        tx.execute_batch("PRAGMA cache_size = -262144").at(&self.path)?;
        let mut bulk = BulkImport { tx, path: &self.path, now: now_ms() };
        let out = f(&mut bulk)?;
        bulk.tx.execute_batch("PRAGMA cache_size = -65536").at(&self.path)?;
        bulk.tx.commit().at(&self.path)?;
        Ok(out)
    }
}

impl BulkImport<'_> {
    pub fn ensure_dataset(&mut self, name: &str, modality: Modality) -> Result<DatasetId> {
        ensure_dataset(&self.tx, self.path, name, modality)
    }

    pub fn ensure_annotator(&mut self, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
        ensure_annotator(&self.tx, self.path, name, kind)
    }

    pub fn insert_item(&mut self, dataset: DatasetId, key: &str, content_hash: &str, data: &ItemData) -> Result<Inserted> {
        let json = serde_json::to_string(data).expect("item data serializes");
        self.insert_item_json(dataset, key, content_hash, &json)
    }

    /// Inserts an item already serialized as `ItemData` JSON (importers serialize on their worker
    /// threads). Content already in the project is not added again.
    pub fn insert_item_json(&mut self, dataset: DatasetId, key: &str, content_hash: &str, data_json: &str) -> Result<Inserted> {
        let mut insert = self
            .tx
            .prepare_cached(
                "INSERT INTO items (dataset_id, key, content_hash, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (content_hash) DO NOTHING",
            )
            .at(self.path)?;
        if insert.execute(params![dataset.0, key, content_hash, data_json]).at(self.path)? == 1 {
            return Ok(Inserted::New(ItemId(self.tx.last_insert_rowid())));
        }
        let mut find = self.tx.prepare_cached("SELECT id FROM items WHERE content_hash = ?1").at(self.path)?;
        let id: i64 = find.query_row([content_hash], |r| r.get(0)).at(self.path)?;
        Ok(Inserted::Existing(ItemId(id)))
    }

    /// Keeps a label that came with the data (e.g. HH-RLHF's chosen side) as an annotation by a source
    /// annotator, with an 'import' revision. The same label imported again is not added twice.
    pub fn import_annotation(&mut self, item: Inserted, annotator: AnnotatorId, payload: &Payload) -> Result<Option<AnnotationId>> {
        let json = serde_json::to_string(payload).expect("payload serializes");
        if let Inserted::Existing(id) = item {
            let mut dup = self
                .tx
                .prepare_cached("SELECT 1 FROM annotations WHERE item_id = ?1 AND annotator_id = ?2 AND payload = ?3")
                .at(self.path)?;
            if dup.query_row(params![id.0, annotator.0, json], |_| Ok(())).optional().at(self.path)?.is_some() {
                return Ok(None);
            }
        }
        let item = item.id();
        let mut insert_annotation = self
            .tx
            .prepare_cached(
                "INSERT INTO annotations (item_id, annotator_id, kind, payload, revision_id) VALUES (?1, ?2, ?3, ?4, 0)",
            )
            .at(self.path)?;
        insert_annotation.execute(params![item.0, annotator.0, payload.kind().as_str(), json]).at(self.path)?;
        let annotation = self.tx.last_insert_rowid();
        let mut insert_revision = self
            .tx
            .prepare_cached(
                "INSERT INTO revisions (annotator_id, at_ms, action, annotation_id, item_id, after, state)
                 VALUES (?1, ?2, 'import', ?3, ?4, ?5, 'fixed')",
            )
            .at(self.path)?;
        insert_revision.execute(params![annotator.0, self.now, annotation, item.0, json]).at(self.path)?;
        let revision = self.tx.last_insert_rowid();
        let mut link = self.tx.prepare_cached("UPDATE annotations SET revision_id = ?1 WHERE id = ?2").at(self.path)?;
        link.execute(params![revision, annotation]).at(self.path)?;
        Ok(Some(AnnotationId(annotation)))
    }
}
