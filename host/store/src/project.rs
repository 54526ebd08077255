use crate::clock::now_ms;
use crate::codec::decode_item;
use crate::db::{Conn, Db, Engine, PgConn, Row, vals};
use crate::error::{At, Result, StoreError};
use crate::location::{Location, LocationKind, ServerTarget};
use crate::schema::{self, PgContents, SCHEMA_VERSION};
use cairn_model::{Annotator, AnnotatorId, AnnotatorKind, ContentHash, Dataset, DatasetId, Item, ItemData, ItemId, Modality, ProjectInfo};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to a server may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An open project: a file, or a database on a PostgreSQL server.
pub struct Project {
    pub(crate) db: Db,
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
    /// Creates a new, empty project: a file (refusing to overwrite one), or a project in an empty
    /// PostgreSQL database (`postgres://…`; refusing a database that holds tables).
    pub fn create(location: impl AsRef<Path>) -> Result<Project> {
        let location = Location::parse(location)?;
        let project = match location.kind().clone() {
            LocationKind::File(path) => Project::create_file(path, location)?,
            LocationKind::Server(config) => {
                let db = Db::new(Conn::Postgres(Box::new(connect(&config, &location)?.into())), location);
                match schema::postgres_contents(&db)? {
                    PgContents::Empty => {}
                    PgContents::Project(_) => return Err(StoreError::AlreadyExists { path: db.location.as_path().to_owned() }),
                }
                schema::migrate_postgres(&db)?;
                Project { db }
            }
        };
        let name = match project.db.engine() {
            Engine::Sqlite => project.path().file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            Engine::Postgres => project.db.scalar::<String>("SELECT current_database()", &[])?,
        };
        project.db.execute(
            "INSERT INTO meta (key, value) VALUES ('name', ?1), ('created_at', ?2), ('created_by', ?3) ON CONFLICT (key) DO NOTHING",
            &vals![name, now_ms().to_string(), concat!("cairn ", env!("CARGO_PKG_VERSION"))],
        )?;
        Ok(project)
    }

    fn create_file(path: PathBuf, location: Location) -> Result<Project> {
        if path.exists() {
            return Err(StoreError::AlreadyExists { path });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        skip_memory_statistics();
        let mut conn = Connection::open_with_flags(&path, flags).at(&path)?;
        configure(&conn, &path)?;
        schema::migrate_sqlite(&mut conn, 0).at(&path)?;
        Ok(Project { db: Db::new(Conn::Sqlite(conn), location) })
    }

    /// Opens an existing project, migrating an older schema. Files and databases that are not Cairn
    /// projects, or that a newer Cairn wrote, are refused before anything is written.
    pub fn open(location: impl AsRef<Path>) -> Result<Project> {
        let location = Location::parse(location)?;
        match location.kind().clone() {
            LocationKind::File(path) => Project::open_file(path, location),
            LocationKind::Server(config) => {
                let db = Db::new(Conn::Postgres(Box::new(connect(&config, &location)?.into())), location);
                match schema::postgres_contents(&db)? {
                    PgContents::Empty => {
                        return Err(StoreError::NotAProject {
                            path: db.location.as_path().to_owned(),
                            reason: "the database is empty; `cairn init` makes a project in it".into(),
                        });
                    }
                    PgContents::Project(version) if version < SCHEMA_VERSION => schema::migrate_postgres(&db)?,
                    PgContents::Project(_) => {}
                }
                Ok(Project { db })
            }
        }
    }

    fn open_file(path: PathBuf, location: Location) -> Result<Project> {
        let header = schema::check_header(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        skip_memory_statistics();
        let mut conn = Connection::open_with_flags(&path, flags).at(&path)?;
        // Read the schema and the meta table before anything could write, so that a damaged file
        // fails here, untouched, and not mid-edit.
        conn.busy_timeout(BUSY_TIMEOUT).at(&path)?;
        conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0)).at(&path)?;
        configure(&conn, &path)?;
        schema::migrate_sqlite(&mut conn, header.user_version).at(&path)?;
        Ok(Project { db: Db::new(Conn::Sqlite(conn), location) })
    }

    /// Creates the project if it does not exist yet (no file, or an empty database), otherwise opens it.
    pub fn open_or_create(location: impl AsRef<Path>) -> Result<Project> {
        let location = location.as_ref();
        match Project::open(location) {
            Err(StoreError::Missing { .. }) => Project::create(location),
            Err(StoreError::NotAProject { .. }) if Location::parse(location)?.is_server() => Project::create(location),
            other => other,
        }
    }

    /// Where the project is, as shown in messages: the file's path, or the server's URL without
    /// its password.
    pub fn path(&self) -> &Path {
        self.db.location.as_path()
    }

    pub fn location(&self) -> &Location {
        &self.db.location
    }

    /// Which engine holds the project.
    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    /// The directory relative paths in the project (source files) are resolved against: the one
    /// recorded as `data_dir` when the project was copied from elsewhere, else the file's directory,
    /// or the working directory for a project on a server (whose imports store absolute paths).
    pub fn base_dir(&self) -> PathBuf {
        if let Ok(Some(row)) = self.db.query_opt("SELECT value FROM meta WHERE key = 'data_dir'", &[])
            && let Ok(dir) = row.get::<String>(0)
        {
            return PathBuf::from(dir);
        }
        if self.db.location.is_server() {
            return PathBuf::from(".");
        }
        match self.path().parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// Whether the connection to the server is encrypted (None for a file).
    pub fn connection_encrypted(&self) -> Result<Option<bool>> {
        match self.db.engine() {
            Engine::Sqlite => Ok(None),
            Engine::Postgres => {
                self.db.scalar::<bool>("SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)", &[]).map(Some)
            }
        }
    }

    /// The SQLite connection of a project file (None on a server), for diagnostics such as
    /// `PRAGMA` reads and for benchmarks that time SQLite itself.
    pub fn sqlite_connection(&self) -> Option<&Connection> {
        self.db.sqlite()
    }

    /// `PRAGMA integrity_check` of a file, as one line per problem ("ok" when sound). A server keeps
    /// its own pages: there the check is that the database answers.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        match self.db.engine() {
            Engine::Sqlite => self.db.query("PRAGMA integrity_check", &[])?.iter().map(|r| r.get(0)).collect(),
            Engine::Postgres => self.db.scalar::<i64>("SELECT 1", &[]).map(|_| vec!["ok".to_owned()]),
        }
    }

    pub fn name(&self) -> Result<String> {
        self.db.scalar("SELECT value FROM meta WHERE key = 'name'", &[])
    }

    /// Name, schema and creation time, from the `meta` table.
    pub fn info(&self) -> Result<ProjectInfo> {
        let created: String = self.db.scalar("SELECT value FROM meta WHERE key = 'created_at'", &[])?;
        Ok(ProjectInfo { name: self.name()?, schema_version: SCHEMA_VERSION, created_at_ms: created.parse().unwrap_or(0) })
    }

    /// Finds an annotator by name, creating it on first use.
    pub fn ensure_annotator(&mut self, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
        ensure_annotator(&self.db, name, kind)
    }

    pub fn annotator_by_name(&self, name: &str) -> Result<Option<Annotator>> {
        self.db.query_opt("SELECT id, name, kind FROM annotators WHERE name = ?1", &vals![name])?.map(|r| annotator_row(&r)).transpose()
    }

    pub fn annotators(&self) -> Result<Vec<Annotator>> {
        self.db.query("SELECT id, name, kind FROM annotators ORDER BY id", &[])?.iter().map(annotator_row).collect()
    }

    /// Finds a dataset by name, creating it on first use. A dataset holds one modality only.
    pub fn ensure_dataset(&mut self, name: &str, modality: Modality) -> Result<DatasetId> {
        ensure_dataset(&self.db, name, modality)
    }

    pub fn datasets(&self) -> Result<Vec<Dataset>> {
        let rows = self.db.query("SELECT id, name, modality FROM datasets ORDER BY id", &[])?;
        rows.iter()
            .map(|r| {
                let modality: String = r.get(2)?;
                Ok(Dataset { id: DatasetId(r.get(0)?), name: r.get(1)?, modality: Modality::parse(&modality).unwrap_or(Modality::Comparison) })
            })
            .collect()
    }

    pub fn item(&self, id: ItemId) -> Result<Item> {
        let row = self
            .db
            .query_opt("SELECT id, dataset_id, key, content_hash, data FROM items WHERE id = ?1", &vals![id.0])?
            .ok_or(StoreError::NotFound { path: self.path().to_owned(), what: "item", id: id.0 })?;
        self.decode_item(raw_item_row(row)?)
    }

    /// Items whose source key matches, in import order (keys need not be unique across datasets).
    /// This scans the items table; callers that look up many keys should build a map once.
    pub fn items_by_key(&self, key: &str) -> Result<Vec<Item>> {
        let rows = self.db.query("SELECT id, dataset_id, key, content_hash, data FROM items WHERE key = ?1 ORDER BY id", &vals![key])?;
        rows.into_iter().map(|r| self.decode_item(raw_item_row(r)?)).collect()
    }

    pub(crate) fn decode_item(&self, raw: RawItem) -> Result<Item> {
        let data = decode_item(&raw.data).map_err(|detail| StoreError::BadItem { path: self.path().to_owned(), id: raw.id, detail })?;
        let content_hash = <[u8; 16]>::try_from(raw.hash.as_slice()).map(ContentHash).map_err(|_| StoreError::BadItem {
            path: self.path().to_owned(),
            id: raw.id,
            detail: format!("content hash has {} bytes, not 16", raw.hash.len()),
        })?;
        Ok(Item { id: ItemId(raw.id), dataset: DatasetId(raw.dataset), key: raw.key, content_hash, data })
    }

    /// Records that an item was shown to an annotator, and in which order (canonical indices, left first).
    /// Showing the same item again to the same annotator keeps the first order.
    pub fn assign(&mut self, item: ItemId, annotator: AnnotatorId, shown_order: &[u32]) -> Result<cairn_model::Assignment> {
        let order = serde_json::to_string(shown_order).expect("a list of integers serializes");
        self.db.execute(
            "INSERT INTO assignments (item_id, annotator_id, shown_order, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (item_id, annotator_id) DO NOTHING",
            &vals![item.0, annotator.0, order, now_ms()],
        )?;
        let row =
            self.db.query_one("SELECT id, shown_order FROM assignments WHERE item_id = ?1 AND annotator_id = ?2", &vals![item.0, annotator.0])?;
        let (id, order): (i64, String) = (row.get(0)?, row.get(1)?);
        let shown_order =
            serde_json::from_str(&order).map_err(|source| StoreError::BadJson { path: self.path().to_owned(), table: "assignments", id, source })?;
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

pub(crate) fn raw_item_row(mut r: Row) -> Result<RawItem> {
    Ok(RawItem { id: r.get(0)?, dataset: r.get(1)?, key: r.get(2)?, hash: r.take(3)?, data: r.take(4)? })
}

/// One item's data, read inside a transaction the caller owns.
pub(crate) fn item_data(db: &Db, item: ItemId) -> Result<ItemData> {
    let bytes: Vec<u8> = db
        .query_opt("SELECT data FROM items WHERE id = ?1", &vals![item.0])?
        .ok_or(StoreError::NotFound { path: db.location.as_path().to_owned(), what: "item", id: item.0 })?
        .take(0)?;
    decode_item(&bytes).map_err(|detail| StoreError::BadItem { path: db.location.as_path().to_owned(), id: item.0, detail })
}

fn annotator_row(r: &Row) -> Result<Annotator> {
    let kind: String = r.get(2)?;
    Ok(Annotator { id: AnnotatorId(r.get(0)?), name: r.get(1)?, kind: AnnotatorKind::parse(&kind).unwrap_or(AnnotatorKind::Human) })
}

pub(crate) fn ensure_annotator(db: &Db, name: &str, kind: AnnotatorKind) -> Result<AnnotatorId> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid {
            what: "annotator".into(),
            findings: vec![cairn_model::ValidationError::new("name", "an annotator needs a name")],
        });
    }
    db.execute(
        "INSERT INTO annotators (name, kind, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        &vals![name, kind.as_str(), now_ms()],
    )?;
    db.scalar("SELECT id FROM annotators WHERE name = ?1", &vals![name]).map(AnnotatorId)
}

pub(crate) fn ensure_dataset(db: &Db, name: &str, modality: Modality) -> Result<DatasetId> {
    db.execute(
        "INSERT INTO datasets (name, modality, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        &vals![name, modality.as_str(), now_ms()],
    )?;
    let row = db.query_one("SELECT id, modality FROM datasets WHERE name = ?1", &vals![name])?;
    let (id, existing): (i64, String) = (row.get(0)?, row.get(1)?);
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

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    // Another process's bulk import may hold the file in rollback-journal mode for its transaction.
    // Switching then fails at once with "busy" (no busy wait); the rollback journal is as safe,
    // the importer brings WAL back when it is done, and our writes wait on the busy timeout.
    match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
        Err(e) => return Err(StoreError::sqlite(path, e)),
    }
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA cache_size = -65536;
         PRAGMA journal_size_limit = 67108864;",
    )
    .at(path)
}

/// An error and its causes on one line ("error performing TLS handshake: invalid peer certificate:
/// UnknownIssuer"): the driver's own message often leaves out what went wrong.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// Connects to the server; a server that cannot be reached, or refuses the login, is an error that
/// names the location (without its password) and changes nothing.
pub(crate) fn connect(target: &ServerTarget, location: &Location) -> Result<PgConn> {
    let mut config = target.config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("cairn");
    let tls = crate::tls::connector(&target.tls, location.as_path())?;
    let client = config.connect(tls).map_err(|e| match e.as_db_error() {
        Some(_) => StoreError::postgres(location.as_path(), e),
        None => StoreError::Unreachable { path: location.as_path().to_owned(), detail: with_causes(&e) },
    })?;
    Ok(PgConn::new(client))
}
