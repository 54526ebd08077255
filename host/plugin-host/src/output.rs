//! The files an export writes. They go to a staging directory inside the destination and move into
//! place only when the export succeeds, so a failed export leaves nothing half-written. Every path a
//! plugin names is checked: relative, no `..`, and no way out through a symlink.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};

/// Checks a plugin-supplied output path and returns it as a relative path.
pub fn check_relative_path(path: &str) -> Result<PathBuf, String> {
    if path.is_empty() || path.len() > 1024 {
        return Err(format!("output path {path:?}: must be 1 to 1024 bytes"));
    }
    if path.contains('\\') || path.contains('\0') || path.contains(':') {
        return Err(format!("output path {path:?}: use '/' as the separator; '\\', ':' and NUL are not allowed"));
    }
    if path.starts_with('/') {
        return Err(format!("output path {path:?}: must be relative to the destination, not absolute"));
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" | "." => return Err(format!("output path {path:?}: empty or '.' components are not allowed")),
            ".." => return Err(format!("output path {path:?}: '..' would leave the destination")),
            _ => out.push(part),
        }
    }
    // Belt and braces: the platform's own parse must agree that this is a plain relative path.
    if !out.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!("output path {path:?}: not a plain relative path"));
    }
    Ok(out)
}

pub(crate) struct OutputDir {
    destination: PathBuf,
    staging: tempfile::TempDir,
    files: Vec<PathBuf>,
    current: Option<BufWriter<File>>,
    written: u64,
    cap: u64,
}

impl OutputDir {
    /// Creates the destination if needed and a staging directory inside it.
    pub fn new(destination: &Path, cap: u64) -> Result<OutputDir, String> {
        std::fs::create_dir_all(destination).map_err(|e| format!("cannot create {}: {e}", destination.display()))?;
        let destination =
            destination.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", destination.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(".cairn-export-")
            .tempdir_in(&destination)
            .map_err(|e| format!("cannot write in {}: {e}", destination.display()))?;
        Ok(OutputDir { destination, staging, files: Vec::new(), current: None, written: 0, cap })
    }

    pub fn create(&mut self, path: &str) -> Result<(), String> {
        let relative = check_relative_path(path)?;
        if self.files.contains(&relative) {
            return Err(format!("output path {path:?}: created twice"));
        }
        self.close_current()?;
        let staged = self.staging.path().join(&relative);
        if let Some(parent) = staged.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let file = File::create_new(&staged).map_err(|e| format!("cannot create {}: {e}", staged.display()))?;
        self.current = Some(BufWriter::with_capacity(1 << 20, file));
        self.files.push(relative);
        Ok(())
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        let Some(file) = self.current.as_mut() else {
            return Err(OutputError::Plugin("write before create-file".to_string()));
        };
        if self.written + bytes.len() as u64 > self.cap {
            return Err(OutputError::Cap(self.cap));
        }
        file.write_all(bytes).map_err(|e| OutputError::Host(format!("cannot write: {e}")))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    fn close_current(&mut self) -> Result<(), String> {
        if let Some(mut file) = self.current.take() {
            file.flush().map_err(|e| format!("cannot write: {e}"))?;
            file.get_ref().sync_all().map_err(|e| format!("cannot write: {e}"))?;
        }
        Ok(())
    }

    /// Moves every staged file into the destination. Refuses a target whose directory resolves
    /// outside the destination (a symlink planted there). Returns the final paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, String> {
        self.close_current()?;
        let mut done = Vec::with_capacity(self.files.len());
        for relative in &self.files {
            let target = self.destination.join(relative);
            let parent = target.parent().expect("joined under the destination");
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            let resolved = parent.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", parent.display()))?;
            if !resolved.starts_with(&self.destination) {
                return Err(format!(
                    "output path {}: {} leads outside the destination (to {})",
                    relative.display(),
                    parent.display(),
                    resolved.display()
                ));
            }
            if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
                return Err(format!("output path {}: a directory of that name exists", relative.display()));
            }
            std::fs::rename(self.staging.path().join(relative), &target)
                .map_err(|e| format!("cannot move {} into place: {e}", target.display()))?;
            done.push(target);
        }
        Ok(done)
    }
}

pub(crate) enum OutputError {
    Plugin(String),
    Cap(u64),
    Host(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_relative_and_inside() {
        assert_eq!(check_relative_path("label_2/000001.txt").unwrap(), PathBuf::from("label_2/000001.txt"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", "C:/x", "a/\0"] {
            assert!(check_relative_path(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_symlinked_directory_leading_out_is_refused_and_nothing_lands() {
        let outside = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dest.path().join("labels")).unwrap();
        let mut out = OutputDir::new(dest.path(), 1 << 20).unwrap();
        out.create("labels/a.txt").unwrap();
        assert!(out.write(b"x").is_ok());
        let err = out.commit().unwrap_err();
        assert!(err.contains("leads outside the destination"), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_cap_stops_writes_and_a_dropped_output_leaves_no_files() {
        let dest = tempfile::tempdir().unwrap();
        let mut out = OutputDir::new(dest.path(), 10).unwrap();
        out.create("a.txt").unwrap();
        assert!(out.write(b"0123456789").is_ok());
        assert!(matches!(out.write(b"x"), Err(OutputError::Cap(10))));
        drop(out);
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }
}
