use crate::clock::now_ms;
use crate::codec::decode_item;
use crate::error::{At, Result, StoreError};
use crate::schema::{self, SCHEMA_VERSION};
use cairn_model::{Annotator, AnnotatorId, AnnotatorKind, ContentHash, Dataset, DatasetId, Item, ItemData, ItemId, Modality, ProjectInfo};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open project file.
pub struct Project {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

/// SQLite keeps allocation statistics under a global mutex unless told not to, so every allocation
/// takes a lock (about a tenth of a bulk import's time); nothing here reads them. It must be said
/// before SQLite initializes: SQLite refuses it later, changing nothing, which is harmless.
fn skip_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: a configuration call with one int argument, as the option is documented to take.
    ONCE.call_once(|| unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int);
    });
}

impl Project {
    /// Creates a new, empty project. Refuses to overwrite an existing file.
    pub fn create(path: impl AsRef<Path>) -> Result<Project> {
        let path = path.as_ref().to_owned();
        if path.exists() {
            return Err(StoreError::AlreadyExists { path });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        skip_memory_statistics();
        let conn = Connection::open_with_flags(&path, flags).at(&path)?;
        let mut project = Project { conn, path };
        project.configure()?;
        schema::migrate(&mut project.conn, 0).at(&project.path)?;
        let name = project.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        project
            .conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('name', ?1), ('created_at', ?2), ('created_by', ?3)",
                params![name, now_ms().to_string(), concat!("cairn ", env!("CARGO_PKG_VERSION"))],
            )
            .at(&project.path)?;
        Ok(project)
    }

    /// Opens an existing project, migrating an older schema. Files that are not Cairn projects, or that
    /// a newer Cairn wrote, are refused before SQLite touches them.
    pub fn open(path: impl AsRef<Path>) -> Result<Project> {
        let path = path.as_ref().to_owned();
        let header = schema::check_header(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        skip_memory_statistics();
        let conn = Connection::open_with_flags(&path, flags).at(&path)?;
        let mut project = Project { conn, path };
        // Read the schema and the meta table before anything could write, so that a damaged file
        // fails here, untouched, and not mid-edit.
        project.conn.busy_timeout(BUSY_TIMEOUT).at(&project.path)?;
        project.conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0)).at(&project.path)?;
        project.configure()?;
        schema::migrate(&mut project.conn, header.user_version).at(&project.path)?;
        Ok(project)
    }

    /// Creates the project if the file does not exist yet, otherwise opens it.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Project> {
        let path = path.as_ref();
        if path.exists() { Project::open(path) } else { Project::create(path) }
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT).at(&self.path)?;
        // Another process's bulk import may hold the file in rollback-journal mode for its transaction.
        // Switching then fails at once with "busy" (no busy wait); the rollback journal is as safe,
        // the importer brings WAL back when it is done, and our writes wait on the busy timeout.
        match self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
            Err(e) => return Err(StoreError::sqlite(&self.path, e)),
        }
        self.conn
            .execute_batch(
                "PRAGMA foreign_keys = ON;
                 PRAGMA synchronous = FULL;
                 PRAGMA cache_size = -65536;
                 PRAGMA journal_size_limit = 67108864;",
            )
            .at(&self.path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory relative paths in the project (source files) are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// The raw connection, for read-only diagnostics such as `PRAGMA integrity_check`.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// `PRAGMA integrity_check`, as one line per problem ("ok" when sound).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check").at(&self.path)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).at(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().at(&self.path)
    }

    pub fn name(&self) -> Result<String> {
        self.conn.query_row("SELECT value FROM meta WHERE key = 'name'", [], |r| r.get(0)).at(&self.path)
    }

    /// Name, schema and creation time, from the `meta` table.
    pub fn info(&self) -> Result<ProjectInfo> {
        let created: String = self.conn.query_row("SELECT value FROM meta WHERE key = 'created_at'", [], |r| r.get(0)).at(&self.path)?;
        Ok(ProjectInfo { name: self.name()?, schema_version: SCHEMA_VERSION, created_at_ms: created.parse().unwrap_or(0) })
    }

    /// Finds an annotator by name, creating it on first use.
    pub fn ensure_annotator(&mut self, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
        ensure_annotator(&self.conn, &self.path, name, kind)
    }

    pub fn annotator_by_name(&self, name: &str) -> Result<Option<Annotator>> {
        self.conn.query_row("SELECT id, name, kind FROM annotators WHERE name = ?1", [name], annotator_row).optional().at(&self.path)
    }

    pub fn annotators(&self) -> Result<Vec<Annotator>> {
        let mut stmt = self.conn.prepare("SELECT id, name, kind FROM annotators ORDER BY id").at(&self.path)?;
        let rows = stmt.query_map([], annotator_row).at(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().at(&self.path)
    }

    /// Finds a dataset by name, creating it on first use. A dataset holds one modality only.
    pub fn ensure_dataset(&mut self, name: &str, modality: Modality) -> Result<DatasetId> {
        ensure_dataset(&self.conn, &self.path, name, modality)
    }

    pub fn datasets(&self) -> Result<Vec<Dataset>> {
        let mut stmt = self.conn.prepare("SELECT id, name, modality FROM datasets ORDER BY id").at(&self.path)?;
        let rows = stmt
            .query_map([], |r| {
                let modality: String = r.get(2)?;
                Ok(Dataset { id: DatasetId(r.get(0)?), name: r.get(1)?, modality: Modality::parse(&modality).unwrap_or(Modality::Comparison) })
            })
            .at(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().at(&self.path)
    }

    pub fn item(&self, id: ItemId) -> Result<Item> {
        let row = self
            .conn
            .query_row("SELECT id, dataset_id, key, content_hash, data FROM items WHERE id = ?1", [id.0], raw_item_row)
            .optional()
            .at(&self.path)?
            .ok_or(StoreError::NotFound { path: self.path.clone(), what: "item", id: id.0 })?;
        self.decode_item(row)
    }

    /// Items whose source key matches, in import order (keys need not be unique across datasets).
    /// This scans the items table; callers that look up many keys should build a map once.
    pub fn items_by_key(&self, key: &str) -> Result<Vec<Item>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT id, dataset_id, key, content_hash, data FROM items WHERE key = ?1 ORDER BY id").at(&self.path)?;
        let rows = stmt.query_map([key], raw_item_row).at(&self.path)?;
        let raws = rows.collect::<rusqlite::Result<Vec<_>>>().at(&self.path)?;
        raws.into_iter().map(|r| self.decode_item(r)).collect()
    }

    pub(crate) fn decode_item(&self, raw: RawItem) -> Result<Item> {
        let data = decode_item(&raw.data).map_err(|detail| StoreError::BadItem { path: self.path.clone(), id: raw.id, detail })?;
        let content_hash = <[u8; 16]>::try_from(raw.hash.as_slice()).map(ContentHash).map_err(|_| StoreError::BadItem {
            path: self.path.clone(),
            id: raw.id,
            detail: format!("content hash has {} bytes, not 16", raw.hash.len()),
        })?;
        Ok(Item { id: ItemId(raw.id), dataset: DatasetId(raw.dataset), key: raw.key, content_hash, data })
    }

    /// Records that an item was shown to an annotator, and in which order (canonical indices, left first).
    /// Showing the same item again to the same annotator keeps the first order.
    pub fn assign(&mut self, item: ItemId, annotator: AnnotatorId, shown_order: &[u32]) -> Result<cairn_model::Assignment> {
        let order = serde_json::to_string(shown_order).expect("a list of integers serializes");
        self.conn
            .execute(
                "INSERT INTO assignments (item_id, annotator_id, shown_order, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (item_id, annotator_id) DO NOTHING",
                params![item.0, annotator.0, order, now_ms()],
            )
            .at(&self.path)?;
        let (id, order): (i64, String) = self
            .conn
            .query_row("SELECT id, shown_order FROM assignments WHERE item_id = ?1 AND annotator_id = ?2", params![item.0, annotator.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .at(&self.path)?;
        let shown_order =
            serde_json::from_str(&order).map_err(|source| StoreError::BadJson { path: self.path.clone(), table: "assignments", id, source })?;
        Ok(cairn_model::Assignment { id: cairn_model::AssignmentId(id), item, annotator, shown_order, gold: false })
    }
}

pub(crate) struct RawItem {
    pub id: i64,
    pub dataset: i64,
    pub key: String,
    pub hash: Vec<u8>,
    pub data: Vec<u8>,
}

pub(crate) fn raw_item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawItem> {
    Ok(RawItem { id: r.get(0)?, dataset: r.get(1)?, key: r.get(2)?, hash: r.get(3)?, data: r.get(4)? })
}

/// One item's data, read inside a transaction the caller owns.
pub(crate) fn item_data(conn: &Connection, path: &Path, item: ItemId) -> Result<ItemData> {
    let bytes: Vec<u8> = conn
        .query_row("SELECT data FROM items WHERE id = ?1", [item.0], |r| r.get(0))
        .optional()
        .at(path)?
        .ok_or(StoreError::NotFound { path: path.to_owned(), what: "item", id: item.0 })?;
    decode_item(&bytes).map_err(|detail| StoreError::BadItem { path: path.to_owned(), id: item.0, detail })
}

fn annotator_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Annotator> {
    let kind: String = r.get(2)?;
    Ok(Annotator { id: AnnotatorId(r.get(0)?), name: r.get(1)?, kind: AnnotatorKind::parse(&kind).unwrap_or(AnnotatorKind::Human) })
}

pub(crate) fn ensure_annotator(conn: &Connection, path: &Path, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid {
            what: "annotator".into(),
            findings: vec![cairn_model::ValidationError::new("name", "an annotator needs a name")],
        });
    }
    conn.execute(
        "INSERT INTO annotators (name, kind, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        params![name, kind.as_str(), now_ms()],
    )
    .at(path)?;
    conn.query_row("SELECT id FROM annotators WHERE name = ?1", [name], |r| r.get(0)).map(AnnotatorId).at(path)
}

pub(crate) fn ensure_dataset(conn: &Connection, path: &Path, name: &str, modality: Modality) -> Result<DatasetId> {
    conn.execute(
        "INSERT INTO datasets (name, modality, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        params![name, modality.as_str(), now_ms()],
    )
    .at(path)?;
    let (id, existing): (i64, String) =
        conn.query_row("SELECT id, modality FROM datasets WHERE name = ?1", [name], |r| Ok((r.get(0)?, r.get(1)?))).at(path)?;
    if existing != modality.as_str() {
        return Err(StoreError::Invalid {
            what: "dataset".into(),
            findings: vec![cairn_model::ValidationError::new(
                "modality",
                format!("dataset '{name}' holds {existing} items, not {}", modality.as_str()),
            )],
        });
    }
    Ok(DatasetId(id))
}
