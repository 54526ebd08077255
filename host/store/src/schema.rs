//! Schema and migrations, per engine, versioned the same way: `SQLITE[i]` and `POSTGRES[i]` both
//! take a project from version `i` to `i + 1`.
//!
//! - A file keeps its version in `PRAGMA user_version` and is marked a Cairn project by
//!   `PRAGMA application_id`. Both sit in the 100-byte SQLite header, so a file can be refused
//!   before SQLite opens it (and before anything could write to it).
//! - A PostgreSQL database keeps both in its `meta` table (`application`, `schema_version`).

use crate::db::{Db, TxKind, vals};
use crate::error::{Result, StoreError};
use std::io::Read;
use std::path::Path;

/// "CAIR" in ASCII.
pub const APPLICATION_ID: u32 = 0x4341_4952;

/// SQLite migrations in order; `SQLITE[i]` takes a file from version `i` to `i + 1`. Released ones
/// never change. Their `CHECK (… IN (…))` lists spell the stored text of `RevisionAction`,
/// `RevisionState` and `AssignmentStatus`; a test holds the enums to them.
const SQLITE: &[&str] = &[V1, V2, V3, V4];

/// The schema this build writes.
pub const SCHEMA_VERSION: u32 = SQLITE.len() as u32;

/// What `meta.application` says in a PostgreSQL database that holds a Cairn project.
const APPLICATION: &str = "cairn";

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE annotators (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('human', 'source', 'model')),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE datasets (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    modality   TEXT NOT NULL CHECK (modality IN ('point_cloud', 'comparison')),
    created_at INTEGER NOT NULL
) STRICT;

-- Item ids grow in import order; exports walk them in id order. `content_hash` is 16 bytes of
-- BLAKE3; `data` is the item's JSON, zstd-compressed (see codec.rs).
CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    dataset_id   INTEGER NOT NULL REFERENCES datasets (id),
    key          TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    data         BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX items_by_hash ON items (content_hash);
CREATE INDEX items_by_dataset ON items (dataset_id, id);

-- Current state, derived from `revisions`; payload NULL means deleted.
CREATE TABLE annotations (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items (id),
    annotator_id INTEGER NOT NULL REFERENCES annotators (id),
    kind         TEXT NOT NULL,
    payload      TEXT,
    revision_id  INTEGER NOT NULL
) STRICT;
CREATE INDEX annotations_by_item ON annotations (item_id);

-- The append-only log. `state` tracks undo: 'done' and 'undone' edits can be undone or redone,
-- 'dropped' ones were undone and then overtaken by a new edit, 'fixed' entries (imports, the undo
-- and redo records themselves) are history only.
CREATE TABLE revisions (
    id            INTEGER PRIMARY KEY,
    annotator_id  INTEGER NOT NULL REFERENCES annotators (id),
    at_ms         INTEGER NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('import', 'create', 'update', 'delete', 'labels', 'undo', 'redo')),
    annotation_id INTEGER REFERENCES annotations (id),
    item_id       INTEGER NOT NULL REFERENCES items (id),
    before        TEXT,
    after         TEXT,
    active_ms     INTEGER NOT NULL DEFAULT 0,
    reverts       INTEGER REFERENCES revisions (id),
    state         TEXT NOT NULL CHECK (state IN ('done', 'undone', 'dropped', 'fixed'))
) STRICT;
CREATE INDEX revisions_for_undo ON revisions (annotator_id, state, id);
CREATE INDEX revisions_by_annotation ON revisions (annotation_id);

-- Per-point class labels, one BLOB of little-endian u16 per chunk of points.
CREATE TABLE point_labels (
    item_id     INTEGER NOT NULL REFERENCES items (id),
    chunk       INTEGER NOT NULL,
    labels      BLOB NOT NULL,
    revision_id INTEGER NOT NULL REFERENCES revisions (id),
    PRIMARY KEY (item_id, chunk)
) STRICT, WITHOUT ROWID;

-- What a 'labels' revision changed, chunk by chunk, so it can be undone.
CREATE TABLE point_label_changes (
    revision_id INTEGER NOT NULL REFERENCES revisions (id),
    chunk       INTEGER NOT NULL,
    before      BLOB,
    after       BLOB,
    PRIMARY KEY (revision_id, chunk)
) STRICT, WITHOUT ROWID;

CREATE TABLE assignments (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items (id),
    annotator_id INTEGER NOT NULL REFERENCES annotators (id),
    shown_order  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (item_id, annotator_id)
) STRICT;
"#;

/// The judging queue: where each assignment stands, why it was skipped, whether it was flagged for
/// review, and whether it was a gold (reference) check.
const V2: &str = r#"
ALTER TABLE assignments ADD COLUMN state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'skipped'));
ALTER TABLE assignments ADD COLUMN skip_reason TEXT;
ALTER TABLE assignments ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assignments ADD COLUMN gold INTEGER NOT NULL DEFAULT 0;
CREATE INDEX assignments_by_annotator ON assignments (annotator_id, state);
CREATE INDEX annotations_by_annotator ON annotations (annotator_id, item_id);
"#;

/// Edits made together (an interpolation filling many frames) share a batch, and undo and redo
/// take the whole batch. `batch` is the id of the batch's first revision; NULL for an edit alone.
const V3: &str = r#"
ALTER TABLE revisions ADD COLUMN batch INTEGER REFERENCES revisions (id);
"#;

/// Claims expire: an open assignment whose lease (ms since the epoch) has passed may go to someone
/// else. NULL (assignments made before leases) never expires.
const V4: &str = r#"
ALTER TABLE assignments ADD COLUMN lease_until INTEGER;
"#;

/// The same tables in PostgreSQL: BIGINT ids from identity columns, BYTEA for blobs, BOOLEAN flags.
/// Version 4 adds the lease and the notification that live views listen to.
const POSTGRES: &[&str] = &[PG_V1, PG_V2, PG_V3, PG_V4];

const PG_V1: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE annotators (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('human', 'source', 'model')),
    created_at BIGINT NOT NULL
);
CREATE TABLE datasets (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    modality   TEXT NOT NULL CHECK (modality IN ('point_cloud', 'comparison')),
    created_at BIGINT NOT NULL
);
CREATE TABLE items (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    dataset_id   BIGINT NOT NULL REFERENCES datasets (id),
    key          TEXT NOT NULL,
    content_hash BYTEA NOT NULL,
    data         BYTEA NOT NULL
);
CREATE UNIQUE INDEX items_by_hash ON items (content_hash);
CREATE INDEX items_by_dataset ON items (dataset_id, id);
CREATE TABLE annotations (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    item_id      BIGINT NOT NULL REFERENCES items (id),
    annotator_id BIGINT NOT NULL REFERENCES annotators (id),
    kind         TEXT NOT NULL,
    payload      TEXT,
    revision_id  BIGINT NOT NULL
);
CREATE INDEX annotations_by_item ON annotations (item_id);
CREATE TABLE revisions (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    annotator_id  BIGINT NOT NULL REFERENCES annotators (id),
    at_ms         BIGINT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('import', 'create', 'update', 'delete', 'labels', 'undo', 'redo')),
    annotation_id BIGINT REFERENCES annotations (id),
    item_id       BIGINT NOT NULL REFERENCES items (id),
    before        TEXT,
    after         TEXT,
    active_ms     BIGINT NOT NULL DEFAULT 0,
    reverts       BIGINT REFERENCES revisions (id),
    state         TEXT NOT NULL CHECK (state IN ('done', 'undone', 'dropped', 'fixed'))
);
CREATE INDEX revisions_for_undo ON revisions (annotator_id, state, id);
CREATE INDEX revisions_by_annotation ON revisions (annotation_id);
CREATE TABLE point_labels (
    item_id     BIGINT NOT NULL REFERENCES items (id),
    chunk       BIGINT NOT NULL,
    labels      BYTEA NOT NULL,
    revision_id BIGINT NOT NULL REFERENCES revisions (id),
    PRIMARY KEY (item_id, chunk)
);
CREATE TABLE point_label_changes (
    revision_id BIGINT NOT NULL REFERENCES revisions (id),
    chunk       BIGINT NOT NULL,
    before      BYTEA,
    after       BYTEA,
    PRIMARY KEY (revision_id, chunk)
);
CREATE TABLE assignments (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    item_id      BIGINT NOT NULL REFERENCES items (id),
    annotator_id BIGINT NOT NULL REFERENCES annotators (id),
    shown_order  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (item_id, annotator_id)
);
"#;

const PG_V2: &str = r#"
ALTER TABLE assignments ADD COLUMN state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'skipped'));
ALTER TABLE assignments ADD COLUMN skip_reason TEXT;
ALTER TABLE assignments ADD COLUMN flagged BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE assignments ADD COLUMN gold BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX assignments_by_annotator ON assignments (annotator_id, state);
CREATE INDEX annotations_by_annotator ON annotations (annotator_id, item_id);
"#;

const PG_V3: &str = r#"
ALTER TABLE revisions ADD COLUMN batch BIGINT REFERENCES revisions (id);
"#;

/// Each statement that adds revisions tells listeners which ones (`revision:item`, comma-separated),
/// or only `*` when the list would not fit a notification; they then catch up from their cursor.
const PG_V4: &str = r#"
ALTER TABLE assignments ADD COLUMN lease_until BIGINT;
CREATE FUNCTION cairn_notify_revisions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT;
BEGIN
    SELECT string_agg(id || ':' || item_id, ',' ORDER BY id) INTO ids FROM (SELECT id, item_id FROM new_rows LIMIT 500) AS n;
    IF (SELECT count(*) FROM new_rows) > 500 THEN
        ids := '*';
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM pg_notify('cairn_revisions', ids);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER revisions_notify AFTER INSERT ON revisions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_revisions();
"#;

/// The channel `PG_V4`'s trigger notifies.
pub(crate) const NOTIFY_CHANNEL: &str = "cairn_revisions";

const _: () = assert!(POSTGRES.len() == SQLITE.len(), "both engines have every version");

/// What the header of an existing file says.
pub(crate) struct Header {
    pub user_version: u32,
}

/// Reads the SQLite header without opening the database, and refuses anything that is not a Cairn
/// project this build can read.
pub(crate) fn check_header(path: &Path) -> Result<Header> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::Missing { path: path.to_owned() },
        _ => StoreError::NotAProject { path: path.to_owned(), reason: format!("cannot read it: {e}") },
    })?;
    let mut header = [0u8; 100];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(StoreError::NotAProject { path: path.to_owned(), reason: format!("cannot read it: {e}") }),
        }
    }
    let not = |reason: &str| StoreError::NotAProject { path: path.to_owned(), reason: reason.to_owned() };
    if filled == 0 {
        return Err(not("the file is empty"));
    }
    if filled < 100 || &header[..16] != b"SQLite format 3\0" {
        return Err(not("it is not an SQLite database"));
    }
    let be = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    if be(68) != APPLICATION_ID {
        return Err(not("it is an SQLite database written by another program"));
    }
    let user_version = be(60);
    if user_version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { path: path.to_owned(), found: user_version, supported: SCHEMA_VERSION });
    }
    Ok(Header { user_version })
}

/// Brings a file from `from` up to `SCHEMA_VERSION`, all in one transaction.
pub(crate) fn migrate_sqlite(conn: &mut rusqlite::Connection, from: u32) -> rusqlite::Result<()> {
    if from >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for sql in &SQLITE[from as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()
}

/// What a PostgreSQL database holds: the schema version of the Cairn project in it, or why it is
/// not one. `empty` databases (no tables) can become one.
pub(crate) enum PgContents {
    Project(u32),
    Empty,
}

pub(crate) fn postgres_contents(db: &Db) -> Result<PgContents> {
    let not = |reason: &str| StoreError::NotAProject { path: db.location.as_path().to_owned(), reason: reason.to_owned() };
    let tables: i64 = db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()", &[])?;
    if tables == 0 {
        return Ok(PgContents::Empty);
    }
    let has_meta: bool = db.scalar("SELECT to_regclass('meta') IS NOT NULL", &[])?;
    if !has_meta {
        return Err(not("the database holds other tables and no Cairn project"));
    }
    let application: Option<String> = db.query_opt("SELECT value FROM meta WHERE key = 'application'", &[])?.map(|r| r.get(0)).transpose()?;
    if application.as_deref() != Some(APPLICATION) {
        return Err(not("its meta table was written by another program"));
    }
    let version: String = db.scalar("SELECT value FROM meta WHERE key = 'schema_version'", &[])?;
    let version = version.parse().map_err(|_| not("its schema version is unreadable"))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { path: db.location.as_path().to_owned(), found: version, supported: SCHEMA_VERSION });
    }
    Ok(PgContents::Project(version))
}

/// Makes an empty PostgreSQL database a project, or brings one up to `SCHEMA_VERSION`, in one
/// transaction. Concurrent openers wait on the lock and find the work done.
pub(crate) fn migrate_postgres(db: &Db) -> Result<()> {
    db.transaction(TxKind::Write, |db| {
        db.batch("SELECT pg_advisory_xact_lock(4341495200)")?;
        let from = match postgres_contents(db)? {
            PgContents::Empty => 0,
            PgContents::Project(v) => v,
        };
        if from >= SCHEMA_VERSION {
            return Ok(());
        }
        for sql in &POSTGRES[from as usize..] {
            db.batch(sql)?;
        }
        db.execute("INSERT INTO meta (key, value) VALUES ('application', ?1) ON CONFLICT (key) DO NOTHING", &vals![APPLICATION])?;
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &vals![SCHEMA_VERSION.to_string()],
        )?;
        Ok(())
    })
}
