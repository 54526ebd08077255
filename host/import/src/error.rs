use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the file is empty (no records)", path.display())]
    Empty { path: PathBuf },
    /// A bad record, with the 1-based line (and column, when the JSON parser knows it).
    #[error("{}:{line}{}: {message}", path.display(), column.map(|c| format!(":{c}")).unwrap_or_default())]
    Line { path: PathBuf, line: u64, column: Option<u64>, message: String },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] cairn_store::StoreError),
}

impl ImportError {
    /// True when the input was at fault (as opposed to the project or the machine).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ImportError::Empty { .. } | ImportError::Line { .. } | ImportError::File { .. })
    }
}
