use std::path::{Path, PathBuf};

/// A cloud that could not be read, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct CloudError {
    pub path: PathBuf,
    pub message: String,
}

impl CloudError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        CloudError { path: path.to_owned(), message: message.into() }
    }
}
