//! `Project::copy_to`: a whole project into a new location on either engine, row for row with
//! the same ids — items, the revision log with its undo state, batches, point labels, assignments
//! and their leases — so that undo, exports and `cairn check` carry on as if nothing had moved.

use crate::db::{Db, Engine, TxKind, Value, numbered_rows, vals};
use crate::error::Result;
use crate::project::Project;
use std::path::Path;

/// Rows one multi-row insert writes: PostgreSQL takes at most 65,535 parameters a statement.
const ROWS_PER_INSERT: usize = 500;
/// Rows read from the source at a time.
const READ_PAGE: i64 = 5_000;

/// The tables in an order that satisfies their references, each with its key (one or two columns)
/// and the columns copied.
const TABLES: &[(&str, &[&str], &[&str])] = &[
    ("annotators", &["id"], &["id", "name", "kind", "created_at"]),
    ("datasets", &["id"], &["id", "name", "modality", "created_at"]),
    ("items", &["id"], &["id", "dataset_id", "key", "content_hash", "data"]),
    ("annotations", &["id"], &["id", "item_id", "annotator_id", "kind", "payload", "revision_id"]),
    (
        "revisions",
        &["id"],
        &["id", "annotator_id", "at_ms", "action", "annotation_id", "item_id", "before", "after", "active_ms", "reverts", "state", "batch"],
    ),
    ("point_labels", &["item_id", "chunk"], &["item_id", "chunk", "labels", "revision_id"]),
    ("point_label_changes", &["revision_id", "chunk"], &["revision_id", "chunk", "before", "after"]),
    (
        "assignments",
        &["id"],
        &["id", "item_id", "annotator_id", "shown_order", "created_at", "state", "skip_reason", "flagged", "gold", "lease_until"],
    ),
];

/// Meta keys each engine writes for itself (PostgreSQL's marks); the rest travel.
const OWN_META: &[&str] = &["application", "schema_version"];

/// Rows copied, per table.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

impl Project {
    /// Copies this project into a new project at `to` (a file that does not exist, or an empty
    /// database), in one transaction on the target: a failed copy leaves an empty target (a file
    /// target is removed). The source is read from one snapshot, so others may keep working.
    pub fn copy_to(&self, to: impl AsRef<Path>) -> Result<(Project, CopyReport)> {
        let target = Project::create(to.as_ref())?;
        let base = self.base_dir();
        let data_dir = std::fs::canonicalize(&base).unwrap_or(base);
        let copied = self.db.transaction(TxKind::Snapshot, |source| target.db.transaction(TxKind::Write, |dest| copy_all(source, dest, &data_dir)));
        match copied {
            Ok(report) => Ok((target, report)),
            Err(e) => {
                if target.db.engine() == Engine::Sqlite {
                    let path = target.path().to_owned();
                    drop(target);
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                }
                Err(e)
            }
        }
    }
}

fn copy_all(source: &Db, dest: &Db, data_dir: &Path) -> Result<CopyReport> {
    let own: Vec<Value> = OWN_META.iter().map(|k| Value::Text((*k).to_owned())).collect();
    dest.execute("DELETE FROM meta WHERE key != ?1 AND key != ?2", &own)?;
    for row in source.query("SELECT key, value FROM meta WHERE key != ?1 AND key != ?2 ORDER BY key", &own)? {
        let (key, value): (String, String) = (row.get(0)?, row.get(1)?);
        dest.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", &vals![key, value])?;
    }
    // Relative source paths keep pointing where they pointed: at the source's data directory.
    if dest.query_opt("SELECT 1 FROM meta WHERE key = 'data_dir'", &[])?.is_none() {
        dest.execute("INSERT INTO meta (key, value) VALUES ('data_dir', ?1)", &vals![data_dir.display().to_string()])?;
    }
    let mut report = CopyReport::default();
    for (table, key, columns) in TABLES {
        report.tables.push(((*table).to_owned(), copy_table(source, dest, table, key, columns)?));
    }
    if dest.engine() == Engine::Postgres {
        // Rows came with their ids: the identity sequences go on after the largest.
        for (table, key, _) in TABLES {
            if *key == ["id"] {
                dest.query(&format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"), &[])?;
            }
        }
    }
    Ok(report)
}

fn copy_table(source: &Db, dest: &Db, table: &str, key: &[&str], columns: &[&str]) -> Result<u64> {
    let list = columns.join(", ");
    let order = key.join(", ");
    let read = match key {
        [k] => format!("SELECT {list} FROM {table} WHERE {k} > ?1 ORDER BY {order} LIMIT ?2"),
        [k1, k2] => format!("SELECT {list} FROM {table} WHERE {k1} > ?1 OR ({k1} = ?1 AND {k2} > ?2) ORDER BY {order} LIMIT ?3"),
        _ => unreachable!("keys have one or two columns"),
    };
    let key_at: Vec<usize> = key.iter().map(|k| columns.iter().position(|c| c == k).expect("keys are copied")).collect();
    let (mut after, mut copied) = ((i64::MIN, i64::MIN), 0u64);
    loop {
        let rows = match key {
            [_] => source.query(&read, &vals![after.0, READ_PAGE])?,
            _ => source.query(&read, &vals![after.0, after.1, READ_PAGE])?,
        };
        let full = rows.len() as i64 == READ_PAGE;
        if let Some(last) = rows.last() {
            after = (last.get(key_at[0])?, key_at.get(1).map(|&i| last.get(i)).transpose()?.unwrap_or(i64::MIN));
        }
        let mut rows = rows.into_iter();
        loop {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
            if chunk.is_empty() {
                break;
            }
            let placeholders = numbered_rows(chunk.len(), columns.len());
            let mut args = Vec::with_capacity(chunk.len() * columns.len());
            for mut row in chunk {
                for i in 0..columns.len() {
                    args.push(row.take::<Value>(i)?);
                }
            }
            copied += dest.execute(&format!("INSERT INTO {table} ({list}) VALUES {placeholders}"), &args)?;
        }
        if !full {
            return Ok(copied);
        }
    }
}
