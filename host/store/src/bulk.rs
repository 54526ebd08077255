use crate::clock::now_ms;
use crate::codec::{EncodedItem, encode_item};
use crate::error::{At, Result, StoreError};
use crate::project::{Project, ensure_annotator, ensure_dataset};
use crate::revision::{RevisionAction, RevisionState};
use cairn_model::{AnnotationId, AnnotatorId, AnnotatorKind, ContentHash, DatasetId, ItemData, ItemId, Modality, Payload};
use rusqlite::{OptionalExtension, params};
use std::path::Path;

/// One bulk import: a single transaction that commits when the closure returns `Ok` and leaves the
/// project untouched when it returns `Err` (or panics).
pub struct BulkImport<'p> {
    tx: rusqlite::Transaction<'p>,
    path: &'p Path,
    now: i64,
    /// The ids the next annotation and revision get, read once: nobody else writes during the
    /// transaction, and knowing them lets an annotation be inserted already linked to its revision,
    /// many rows to a statement.
    next_ids: Option<(i64, i64)>,
    /// Imported labels not yet inserted: written `LABELS_PER_INSERT` to a statement.
    pending: Vec<PendingLabel>,
}

/// Rows one multi-row INSERT writes: per-statement work in SQLite is most of what a small row costs.
const LABELS_PER_INSERT: usize = 64;

struct PendingLabel {
    annotation: i64,
    revision: i64,
    item: i64,
    annotator: i64,
    kind: &'static str,
    json: String,
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
        // With nobody else in the file, a rollback journal writes the new pages once; WAL would write
        // them to the log and then again into the file at the checkpoint. New pages need no journal
        // entries, and the journal keeps the transaction atomic and durable all the same.
        let rollback = self.set_journal_mode("delete");
        // Every reference a bulk import writes is to a row it has just written or read in the same
        // transaction, so SQLite's per-row foreign-key lookups (seven per imported label) only cost
        // time. The pragma cannot change inside a transaction: it is set around it.
        self.conn.execute_batch("PRAGMA foreign_keys = OFF").at(&self.path)?;
        let result = self.bulk_transaction(f);
        self.conn.execute_batch("PRAGMA foreign_keys = ON").at(&self.path)?;
        if rollback {
            // Reopening also restores WAL, should this fail or the process die first.
            self.set_journal_mode("wal");
        }
        result
    }

    /// Switches the journal mode; SQLite declines (and says so) while other connections are open.
    fn set_journal_mode(&self, mode: &str) -> bool {
        self.conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get::<_, String>(0)).is_ok_and(|now| now.eq_ignore_ascii_case(mode))
    }

    fn bulk_transaction<T, E: From<StoreError>>(&mut self, f: impl FnOnce(&mut BulkImport<'_>) -> Result<T, E>) -> Result<T, E> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&self.path)?;
        // Room to hold the whole import in the page cache: pages spilled mid-transaction and dirtied
        // again would be written twice.
        tx.execute_batch("PRAGMA cache_size = -1048576").at(&self.path)?;
        let finished = {
            let mut bulk = BulkImport { tx, path: &self.path, now: now_ms(), next_ids: None, pending: Vec::new() };
            match f(&mut bulk) {
                Ok(out) => bulk.finish().map(|()| out).map_err(E::from),
                Err(e) => Err(e), // dropping the transaction rolls it back, index included
            }
        };
        self.conn.execute_batch("PRAGMA cache_size = -65536").at(&self.path)?;
        finished
    }
}

impl BulkImport<'_> {
    pub fn ensure_dataset(&mut self, name: &str, modality: Modality) -> Result<DatasetId> {
        ensure_dataset(&self.tx, self.path, name, modality)
    }

    pub fn ensure_annotator(&mut self, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
        ensure_annotator(&self.tx, self.path, name, kind)
    }

    fn finish(mut self) -> Result<()> {
        self.flush_labels()?;
        self.tx.commit().at(self.path)
    }

    /// Inserts the pending labels: their annotations, then their revisions.
    fn flush_labels(&mut self) -> Result<()> {
        use rusqlite::ToSql;
        for rows in self.pending.chunks(LABELS_PER_INSERT) {
            let values = |per_row: &str| vec![per_row; rows.len()].join(", ");
            let mut insert = self
                .tx
                .prepare_cached(&format!(
                    "INSERT INTO annotations (id, item_id, annotator_id, kind, payload, revision_id) VALUES {}",
                    values("(?, ?, ?, ?, ?, ?)")
                ))
                .at(self.path)?;
            let args = rows.iter().flat_map(|r| [&r.annotation as &dyn ToSql, &r.item, &r.annotator, &r.kind, &r.json, &r.revision]);
            insert.execute(rusqlite::params_from_iter(args)).at(self.path)?;
            let mut insert = self
                .tx
                .prepare_cached(&format!(
                    "INSERT INTO revisions (id, annotator_id, at_ms, action, annotation_id, item_id, after, state) VALUES {}",
                    values("(?, ?, ?, ?, ?, ?, ?, ?)")
                ))
                .at(self.path)?;
            let (action, state) = (RevisionAction::Import, RevisionState::Fixed);
            let args =
                rows.iter().flat_map(|r| [&r.revision as &dyn ToSql, &r.annotator, &self.now, &action, &r.annotation, &r.item, &r.json, &state]);
            insert.execute(rusqlite::params_from_iter(args)).at(self.path)?;
        }
        self.pending.clear();
        Ok(())
    }

    /// Inserts an item; content already in the project is not added again.
    pub fn insert_item(&mut self, dataset: DatasetId, key: &str, content_hash: ContentHash, data: &ItemData) -> Result<Inserted> {
        self.insert_encoded(dataset, key, content_hash, &encode_item(data))
    }

    /// Inserts an item encoded with `encode_item` (importers encode on their worker threads).
    pub fn insert_encoded(&mut self, dataset: DatasetId, key: &str, content_hash: ContentHash, data: &EncodedItem) -> Result<Inserted> {
        let mut insert = self
            .tx
            .prepare_cached(
                "INSERT INTO items (dataset_id, key, content_hash, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (content_hash) DO NOTHING",
            )
            .at(self.path)?;
        if insert.execute(params![dataset.0, key, &content_hash.0[..], data.0]).at(self.path)? == 1 {
            return Ok(Inserted::New(ItemId(self.tx.last_insert_rowid())));
        }
        let mut find = self.tx.prepare_cached("SELECT id FROM items WHERE content_hash = ?1").at(self.path)?;
        let id: i64 = find.query_row([&content_hash.0[..]], |r| r.get(0)).at(self.path)?;
        Ok(Inserted::Existing(ItemId(id)))
    }

    /// Keeps a label that came with the data (e.g. HH-RLHF's chosen side) as an annotation by a source
    /// annotator, with an import revision. The same label imported again is not added twice.
    pub fn import_annotation(&mut self, item: Inserted, annotator: AnnotatorId, payload: &Payload) -> Result<Option<AnnotationId>> {
        let json = serde_json::to_string(payload).expect("payload serializes");
        if let Inserted::Existing(id) = item {
            // The same label may be among those not inserted yet.
            self.flush_labels()?;
            let mut dup =
                self.tx.prepare_cached("SELECT 1 FROM annotations WHERE item_id = ?1 AND annotator_id = ?2 AND payload = ?3").at(self.path)?;
            if dup.query_row(params![id.0, annotator.0, json], |_| Ok(())).optional().at(self.path)?.is_some() {
                return Ok(None);
            }
        }
        let (annotation, revision) = match self.next_ids {
            Some(ids) => ids,
            None => self
                .tx
                .query_row("SELECT (SELECT coalesce(max(id), 0) + 1 FROM annotations), (SELECT coalesce(max(id), 0) + 1 FROM revisions)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .at(self.path)?,
        };
        self.next_ids = Some((annotation + 1, revision + 1));
        self.pending.push(PendingLabel { annotation, revision, item: item.id().0, annotator: annotator.0, kind: payload.kind().as_str(), json });
        if self.pending.len() >= LABELS_PER_INSERT {
            self.flush_labels()?;
        }
        Ok(Some(AnnotationId(annotation)))
    }
}
