use crate::clock::now_ms;
use crate::codec::{EncodedItem, encode_item};
use crate::db::{Db, Engine, TxKind, Value, numbered_rows, vals};
use crate::error::{Result, StoreError};
use crate::project::{Project, ensure_annotator, ensure_dataset};
use crate::revision::{RevisionAction, RevisionState};
use cairn_model::{AnnotationId, AnnotatorId, AnnotatorKind, ContentHash, DatasetId, ItemData, ItemId, Modality, Payload};

/// One bulk import: a single transaction that commits when the closure returns `Ok` and leaves the
/// project untouched when it returns `Err` (or panics).
pub struct BulkImport<'p> {
    db: &'p Db,
    now: i64,
    /// Ids for the next annotations and revisions, known before their rows are written, so that an
    /// annotation is inserted already linked to its revision, many rows to a statement.
    ids: IdSource,
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

/// Where a bulk import's annotation and revision ids come from. In a file nobody else writes during
/// the transaction, so they count on from the largest; on a server other writers draw from the same
/// sequences, so blocks are reserved from them.
enum IdSource {
    Unread,
    Counting { annotation: i64, revision: i64 },
    Reserved { annotations: Vec<i64>, revisions: Vec<i64> },
}

/// Ids reserved from a server's sequences at a time.
const RESERVE: i64 = 1024;

impl Project {
    pub fn bulk_import<T, E: From<StoreError>>(&mut self, f: impl FnOnce(&mut BulkImport<'_>) -> Result<T, E>) -> Result<T, E> {
        if self.db.engine() == Engine::Postgres {
            return self.bulk_transaction(f);
        }
        // With nobody else in the file, a rollback journal writes the new pages once; WAL would write
        // them to the log and then again into the file at the checkpoint. New pages need no journal
        // entries, and the journal keeps the transaction atomic and durable all the same.
        let rollback = self.set_journal_mode("delete");
        // Every reference a bulk import writes is to a row it has just written or read in the same
        // transaction, so SQLite's per-row foreign-key lookups (seven per imported label) only cost
        // time. The pragma cannot change inside a transaction: it is set around it.
        self.db.batch("PRAGMA foreign_keys = OFF")?;
        // Room to hold the whole import in the page cache: pages spilled mid-transaction and dirtied
        // again would be written twice.
        self.db.batch("PRAGMA cache_size = -1048576")?;
        let result = self.bulk_transaction(f);
        self.db.batch("PRAGMA cache_size = -65536")?;
        self.db.batch("PRAGMA foreign_keys = ON")?;
        if rollback {
            // Reopening also restores WAL, should this fail or the process die first.
            self.set_journal_mode("wal");
        }
        result
    }

    /// Switches the journal mode; SQLite declines (and says so) while other connections are open.
    fn set_journal_mode(&self, mode: &str) -> bool {
        let Some(conn) = self.db.sqlite() else { return false };
        conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get::<_, String>(0)).is_ok_and(|now| now.eq_ignore_ascii_case(mode))
    }

    fn bulk_transaction<T, E: From<StoreError>>(&mut self, f: impl FnOnce(&mut BulkImport<'_>) -> Result<T, E>) -> Result<T, E> {
        self.db.transaction_with(TxKind::Write, |db| {
            let mut bulk = BulkImport { db, now: now_ms(), ids: IdSource::Unread, pending: Vec::new() };
            let out = f(&mut bulk)?;
            bulk.flush_labels()?;
            Ok(out)
        })
    }
}

impl BulkImport<'_> {
    pub fn ensure_dataset(&mut self, name: &str, modality: Modality) -> Result<DatasetId> {
        ensure_dataset(self.db, name, modality)
    }

    pub fn ensure_annotator(&mut self, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
        ensure_annotator(self.db, name, kind)
    }

    /// Inserts the pending labels: their annotations, then their revisions.
    fn flush_labels(&mut self) -> Result<()> {
        for rows in self.pending.chunks(LABELS_PER_INSERT) {
            let annotations = numbered_rows(rows.len(), 6);
            let args: Vec<Value> = rows.iter().flat_map(|r| vals![r.annotation, r.item, r.annotator, r.kind, r.json, r.revision]).collect();
            self.db
                .execute(&format!("INSERT INTO annotations (id, item_id, annotator_id, kind, payload, revision_id) VALUES {annotations}"), &args)?;
            let revisions = numbered_rows(rows.len(), 8);
            let (action, state) = (RevisionAction::Import, RevisionState::Fixed);
            let args: Vec<Value> =
                rows.iter().flat_map(|r| vals![r.revision, r.annotator, self.now, action, r.annotation, r.item, r.json, state]).collect();
            self.db.execute(
                &format!("INSERT INTO revisions (id, annotator_id, at_ms, action, annotation_id, item_id, after, state) VALUES {revisions}"),
                &args,
            )?;
        }
        self.pending.clear();
        Ok(())
    }

    /// The ids the next imported label's annotation and revision get.
    fn next_ids(&mut self) -> Result<(i64, i64)> {
        loop {
            match &mut self.ids {
                IdSource::Unread if self.db.engine() == Engine::Sqlite => {
                    let row = self.db.query_one(
                        "SELECT (SELECT coalesce(max(id), 0) + 1 FROM annotations), (SELECT coalesce(max(id), 0) + 1 FROM revisions)",
                        &[],
                    )?;
                    self.ids = IdSource::Counting { annotation: row.get(0)?, revision: row.get(1)? };
                }
                IdSource::Counting { annotation, revision } => {
                    let ids = (*annotation, *revision);
                    (*annotation, *revision) = (ids.0 + 1, ids.1 + 1);
                    return Ok(ids);
                }
                IdSource::Reserved { annotations, revisions } if !annotations.is_empty() && !revisions.is_empty() => {
                    return Ok((annotations.pop().expect("checked"), revisions.pop().expect("checked")));
                }
                _ => {
                    let reserve = |table: &str| -> Result<Vec<i64>> {
                        let rows = self.db.query(
                            &format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, ?1) ORDER BY 1 DESC"),
                            &vals![RESERVE],
                        )?;
                        rows.iter().map(|r| r.get(0)).collect()
                    };
                    self.ids = IdSource::Reserved { annotations: reserve("annotations")?, revisions: reserve("revisions")? };
                }
            }
        }
    }

    /// Inserts an item; content already in the project is not added again.
    pub fn insert_item(&mut self, dataset: DatasetId, key: &str, content_hash: ContentHash, data: &ItemData) -> Result<Inserted> {
        self.insert_encoded(dataset, key, content_hash, &encode_item(data))
    }

    /// Inserts an item encoded with `encode_item` (importers encode on their worker threads).
    pub fn insert_encoded(&mut self, dataset: DatasetId, key: &str, content_hash: ContentHash, data: &EncodedItem) -> Result<Inserted> {
        let inserted = self.db.query_opt(
            "INSERT INTO items (dataset_id, key, content_hash, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (content_hash) DO NOTHING RETURNING id",
            &vals![dataset.0, key, &content_hash.0[..], data.0],
        )?;
        if let Some(row) = inserted {
            return Ok(Inserted::New(ItemId(row.get(0)?)));
        }
        let id: i64 = self.db.scalar("SELECT id FROM items WHERE content_hash = ?1", &vals![&content_hash.0[..]])?;
        Ok(Inserted::Existing(ItemId(id)))
    }

    /// Keeps a label that came with the data (e.g. HH-RLHF's chosen side) as an annotation by a source
    /// annotator, with an import revision. The same label imported again is not added twice.
    pub fn import_annotation(&mut self, item: Inserted, annotator: AnnotatorId, payload: &Payload) -> Result<Option<AnnotationId>> {
        let json = serde_json::to_string(payload).expect("payload serializes");
        if let Inserted::Existing(id) = item {
            // The same label may be among those not inserted yet.
            self.flush_labels()?;
            let dup = "SELECT 1 FROM annotations WHERE item_id = ?1 AND annotator_id = ?2 AND payload = ?3";
            if self.db.query_opt(dup, &vals![id.0, annotator.0, json])?.is_some() {
                return Ok(None);
            }
        }
        let (annotation, revision) = self.next_ids()?;
        self.pending.push(PendingLabel { annotation, revision, item: item.id().0, annotator: annotator.0, kind: payload.kind().as_str(), json });
        if self.pending.len() >= LABELS_PER_INSERT {
            self.flush_labels()?;
        }
        Ok(Some(AnnotationId(annotation)))
    }
}
