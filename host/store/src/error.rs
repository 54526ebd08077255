use cairn_model::{AnnotationId, AssignmentId, ItemId, ValidationError, describe_findings};
use std::path::{Path, PathBuf};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: no such project file")]
    Missing { path: PathBuf },
    #[error("{path}: already exists; choose another name or open it")]
    AlreadyExists { path: PathBuf },
    #[error("{path}: not a Cairn project ({reason})")]
    NotAProject { path: PathBuf, reason: String },
    #[error(
        "{path}: written by a newer Cairn (project schema {found}, this build reads up to {supported}); \
         upgrade Cairn to open it. The file was not changed."
    )]
    NewerSchema { path: PathBuf, found: u32, supported: u32 },
    #[error("{path}: the project file is damaged ({detail}). It was not changed; restore it from a backup.")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {}", postgres_message(.source))]
    Postgres {
        path: PathBuf,
        #[source]
        source: postgres::Error,
    },
    #[error("{path}: cannot reach the server ({detail}). Nothing was changed.")]
    Unreachable { path: PathBuf, detail: String },
    #[error("{location}: not a project location ({reason})")]
    BadLocation { location: String, reason: String },
    #[error("the database does not hold what this build of Cairn wrote ({detail})")]
    Schema { detail: String },
    #[error("{path}: {what} {id} does not exist")]
    NotFound { path: PathBuf, what: &'static str, id: i64 },
    #[error("invalid {what}: {}", describe_findings(.findings))]
    Invalid { what: String, findings: Vec<ValidationError> },
    #[error("cannot {action}: annotation {annotation} was changed since by another edit (revision {by})")]
    Conflict { action: &'static str, annotation: AnnotationId, by: i64 },
    #[error("cannot {action}: annotation {annotation} was changed by {by_name} since you loaded it (revision {by}); reload it and try again")]
    Stale { action: &'static str, annotation: AnnotationId, by: i64, by_name: String },
    #[error("assignment {assignment}: {message}")]
    Assignment { assignment: AssignmentId, message: String },
    #[error("cannot {action}: the point labels of item {item} were changed since by another edit")]
    LabelConflict { action: &'static str, item: ItemId },
    #[error("{path}: stored JSON in {table} row {id} is unreadable: {source}")]
    BadJson {
        path: PathBuf,
        table: &'static str,
        id: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: item {id} is unreadable: {detail} (`cairn check` lists every damaged item)")]
    BadItem { path: PathBuf, id: i64, detail: String },
}

impl StoreError {
    /// Wraps an SQLite error, telling damage apart from ordinary failures.
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match source.sqlite_error_code() {
            Some(DatabaseCorrupt | NotADatabase) => StoreError::Corrupt { path: path.to_owned(), detail: source.to_string() },
            _ => StoreError::Sqlite { path: path.to_owned(), source },
        }
    }
}

impl StoreError {
    /// Wraps a PostgreSQL error; a connection that could not be made or was lost is `Unreachable`.
    pub(crate) fn postgres(path: &Path, source: postgres::Error) -> Self {
        let path = path.to_owned();
        if source.as_db_error().is_none() && (source.is_closed() || source.to_string().contains("connect")) {
            return StoreError::Unreachable { path, detail: source.to_string() };
        }
        StoreError::Postgres { path, source }
    }
}

/// The server's own words for a database error (its message, detail and hint), not the driver's
/// "db error" wrapper.
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut out = db.message().to_owned();
            if let Some(detail) = db.detail() {
                out.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                out.push_str(&format!("; {hint}"));
            }
            out
        }
        None => e.to_string(),
    }
}

/// Adds the project path to SQLite errors.
pub(crate) trait At<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> At<T> for std::result::Result<T, rusqlite::Error> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| StoreError::sqlite(path, e))
    }
}
