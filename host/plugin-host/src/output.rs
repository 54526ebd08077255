//! The files an export writes. They go to a staging directory inside the destination and move into
//! place only when the export succeeds, so a failed export leaves nothing half-written. Every path a
//! plugin names is checked: relative, no `..`, no way out through a symlink, and a name every common
//! file system accepts (an export made on Linux must unpack on Windows and macOS too). The number of
//! files and the bytes written are capped.
//!
//! A staging directory holds a lock file for as long as its export runs. One whose lock nobody holds
//! was left by an export that was killed; the next export to that destination removes it.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

const STAGING_PREFIX: &str = ".cairn-export-";
/// Inside the staging directory, held locked while the export runs. Plugins cannot name it: see
/// `check_relative_path`.
const LOCK_FILE: &str = ".cairn-export.lock";
/// A staging directory without a lock file is taken for a crash's only after this long: the lock is
/// created right after the directory.
const UNLOCKED_GRACE: Duration = Duration::from_secs(60);
/// Bytes buffered for the open file before they are written.
const BUFFER: usize = 1 << 20;
/// How much of an offending path an error quotes.
const QUOTE_CHARS: usize = 100;

/// Names Windows reserves for devices, with or without an extension (`CON`, `nul.txt`, `COM1`…).
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5",
    "LPT6", "LPT7", "LPT8", "LPT9",
];

/// The path as an error quotes it: Rust's escapes (a newline shows as `\n`), at most 100 characters.
fn quote(path: &str) -> String {
    let cut: String = path.chars().take(QUOTE_CHARS).collect();
    if cut.len() < path.len() { format!("{cut:?}… ({} bytes)", path.len()) } else { format!("{cut:?}") }
}

/// Checks a plugin-supplied output path and returns it as a relative path.
pub fn check_relative_path(path: &str) -> Result<PathBuf, String> {
    let bad = |why: &str| Err(format!("output path {}: {why}", quote(path)));
    if path.is_empty() || path.len() > 1024 {
        return bad("must be 1 to 1024 bytes");
    }
    if path.chars().any(char::is_control) {
        return bad("control characters (newline, tab, …) are not allowed in file names");
    }
    if let Some(c) = path.chars().find(|c| matches!(c, '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*')) {
        return bad(&format!("use '/' as the separator; {c:?} is not allowed (Windows refuses \\ : < > \" | ? *)"));
    }
    if path.starts_with('/') {
        return bad("must be relative to the destination, not absolute");
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        match part {
            "" | "." => return bad("empty or '.' components are not allowed"),
            ".." => return bad("'..' would leave the destination"),
            _ if part.ends_with('.') || part.ends_with(' ') => {
                return bad(&format!("{part:?} ends in a dot or a space, which Windows drops"));
            }
            _ if RESERVED.iter().any(|r| part.split('.').next().is_some_and(|stem| stem.trim_end().eq_ignore_ascii_case(r))) => {
                return bad(&format!("{part:?} is a device name on Windows"));
            }
            _ => out.push(part),
        }
    }
    if out == Path::new(LOCK_FILE) {
        return bad("the name is the host's own");
    }
    // Belt and braces: the platform's own parse must agree that this is a plain relative path.
    if !out.components().all(|c| matches!(c, Component::Normal(_))) {
        return bad("not a plain relative path");
    }
    Ok(out)
}

/// A staging directory an earlier export left behind, removed before this one started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftStaging {
    pub path: PathBuf,
    pub files: u64,
}

pub(crate) struct OutputDir {
    destination: PathBuf,
    staging: tempfile::TempDir,
    /// Held (locked) while the export runs.
    _lock: File,
    files: Vec<PathBuf>,
    names: HashSet<PathBuf>,
    /// Directories already made in the staging directory.
    made: HashSet<PathBuf>,
    current: Option<File>,
    buffer: Vec<u8>,
    written: u64,
    cap: u64,
    max_files: u64,
    cleaned: Vec<LeftStaging>,
}

impl OutputDir {
    /// Creates the destination if needed, removes staging directories that killed exports left in it,
    /// and makes a staging directory of its own there.
    pub fn new(destination: &Path, cap: u64, max_files: u64) -> Result<OutputDir, String> {
        std::fs::create_dir_all(destination).map_err(|e| format!("cannot create {}: {e}", destination.display()))?;
        let destination = destination.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", destination.display()))?;
        let cleaned = remove_left_staging(&destination)?;
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(&destination)
            .map_err(|e| format!("cannot write in {}: {e}", destination.display()))?;
        let lock = File::create_new(staging.path().join(LOCK_FILE))
            .and_then(|f| f.try_lock().map(|()| f).map_err(std::io::Error::other))
            .map_err(|e| format!("cannot lock {}: {e}", staging.path().display()))?;
        Ok(OutputDir {
            destination,
            staging,
            _lock: lock,
            files: Vec::new(),
            names: HashSet::new(),
            made: HashSet::new(),
            current: None,
            buffer: Vec::with_capacity(BUFFER),
            written: 0,
            cap,
            max_files,
            cleaned,
        })
    }

    pub fn create(&mut self, path: &str) -> Result<(), OutputError> {
        let relative = check_relative_path(path).map_err(OutputError::Path)?;
        if self.files.len() as u64 >= self.max_files {
            return Err(OutputError::Files(self.max_files));
        }
        if self.names.contains(&relative) {
            return Err(OutputError::Path(format!("output path {}: created twice", quote(path))));
        }
        self.close_current().map_err(OutputError::Host)?;
        let staged = self.staging.path().join(&relative);
        if let Some(parent) = relative.parent().filter(|p| !p.as_os_str().is_empty())
            && !self.made.contains(parent)
        {
            let dir = self.staging.path().join(parent);
            std::fs::create_dir_all(&dir).map_err(|e| OutputError::Host(format!("cannot create {}: {e}", dir.display())))?;
            self.made.extend(parent.ancestors().filter(|a| !a.as_os_str().is_empty()).map(Path::to_path_buf));
        }
        let file = File::create_new(&staged).map_err(|e| OutputError::Host(format!("cannot create {}: {e}", staged.display())))?;
        self.current = Some(file);
        self.names.insert(relative.clone());
        self.files.push(relative);
        Ok(())
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        if self.current.is_none() {
            return Err(OutputError::Plugin("write before create-file".to_string()));
        }
        if self.written + bytes.len() as u64 > self.cap {
            return Err(OutputError::Cap(self.cap));
        }
        if self.buffer.len() + bytes.len() > BUFFER {
            self.flush().map_err(OutputError::Host)?;
        }
        if bytes.len() >= BUFFER {
            let file = self.current.as_mut().expect("checked above");
            file.write_all(bytes).map_err(|e| OutputError::Host(format!("cannot write: {e}")))?;
        } else {
            self.buffer.extend_from_slice(bytes);
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn cleaned(&self) -> &[LeftStaging] {
        &self.cleaned
    }

    fn flush(&mut self) -> Result<(), String> {
        if let Some(file) = self.current.as_mut()
            && !self.buffer.is_empty()
        {
            file.write_all(&self.buffer).map_err(|e| format!("cannot write: {e}"))?;
        }
        self.buffer.clear();
        Ok(())
    }

    /// Writes out what is buffered and closes the file. No sync per file: an export is derived
    /// data, and syncing each of 100,000 small files would take minutes.
    fn close_current(&mut self) -> Result<(), String> {
        self.flush()?;
        self.current = None;
        Ok(())
    }

    /// Moves what was staged into the destination: each top-level entry that does not exist there
    /// yet in one rename, merged file by file into a directory that does. Refuses a target whose
    /// directory resolves outside the destination (a symlink planted there). Returns the final paths.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, String> {
        self.close_current()?;
        let mut tops: Vec<&Path> = Vec::new();
        let mut seen = HashSet::new();
        for relative in &self.files {
            let top = Path::new(relative.components().next().expect("checked paths have a component").as_os_str());
            if seen.insert(top) {
                tops.push(top);
            }
        }
        for top in tops {
            self.move_into_place(top)?;
        }
        Ok(self.files.iter().map(|f| self.destination.join(f)).collect())
    }

    fn move_into_place(&self, relative: &Path) -> Result<(), String> {
        let staged = self.staging.path().join(relative);
        let target = self.destination.join(relative);
        let parent = target.parent().expect("joined under the destination");
        let resolved = parent.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", parent.display()))?;
        if !resolved.starts_with(&self.destination) {
            return Err(format!(
                "output path {}: {} leads outside the destination (to {})",
                relative.display(),
                parent.display(),
                resolved.display()
            ));
        }
        let staged_is_dir = std::fs::symlink_metadata(&staged).map_err(|e| format!("cannot read {}: {e}", staged.display()))?.is_dir();
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::rename(&staged, &target).map_err(|e| format!("cannot move {} into place: {e}", target.display()))
            }
            Err(e) => Err(format!("cannot read {}: {e}", target.display())),
            // A directory of the export meets one already there (or a link to one): merge into it,
            // after checking where it leads.
            Ok(meta) if staged_is_dir && (meta.is_dir() || meta.file_type().is_symlink()) => {
                let real = target.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", target.display()))?;
                if !real.starts_with(&self.destination) || !real.is_dir() {
                    return Err(format!(
                        "output path {}: {} leads outside the destination (to {})",
                        relative.display(),
                        target.display(),
                        real.display()
                    ));
                }
                let mut entries: Vec<PathBuf> = std::fs::read_dir(&staged)
                    .map_err(|e| format!("cannot read {}: {e}", staged.display()))?
                    .map(|e| e.map(|e| relative.join(e.file_name())))
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("cannot read {}: {e}", staged.display()))?;
                entries.sort();
                entries.iter().try_for_each(|entry| self.move_into_place(entry))
            }
            Ok(meta) if meta.is_dir() => Err(format!("output path {}: a directory of that name exists", relative.display())),
            Ok(_) if staged_is_dir => Err(format!("output path {}: a file of that name exists", relative.display())),
            // A file replaces one of the same name, as exports always have.
            Ok(_) => std::fs::rename(&staged, &target).map_err(|e| format!("cannot move {} into place: {e}", target.display())),
        }
    }
}

/// Removes the staging directories in `destination` whose export is not running any more: their
/// lock file is not held (the process that held it is gone), or they have none and are old.
fn remove_left_staging(destination: &Path) -> Result<Vec<LeftStaging>, String> {
    let mut cleaned = Vec::new();
    let entries = std::fs::read_dir(destination).map_err(|e| format!("cannot read {}: {e}", destination.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let is_staging = entry.file_name().to_string_lossy().starts_with(STAGING_PREFIX) && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_staging || !left_behind(&path) {
            continue;
        }
        let files = walkdir_count(&path);
        std::fs::remove_dir_all(&path).map_err(|e| format!("cannot remove {}, left by an export that did not finish: {e}", path.display()))?;
        cleaned.push(LeftStaging { path, files });
    }
    Ok(cleaned)
}

fn left_behind(staging: &Path) -> bool {
    match File::open(staging.join(LOCK_FILE)) {
        // Another export holds it while it runs; the lock dies with the process.
        Ok(lock) => lock.try_lock().is_ok(),
        Err(_) => std::fs::metadata(staging)
            .and_then(|m| m.modified())
            .is_ok_and(|at| SystemTime::now().duration_since(at).unwrap_or_default() > UNLOCKED_GRACE),
    }
}

/// Files under `dir`, for the message about removing it.
fn walkdir_count(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.filter_map(Result::ok).map(|e| if e.file_type().is_ok_and(|t| t.is_dir()) { walkdir_count(&e.path()) } else { 1 }).sum()
}

pub(crate) enum OutputError {
    /// A path the checks refuse.
    Path(String),
    Plugin(String),
    Cap(u64),
    Files(u64),
    Host(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn paths_must_stay_relative_and_inside() {
        assert_eq!(check_relative_path("label_2/000001.txt").unwrap(), PathBuf::from("label_2/000001.txt"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b", "C:/x", "a/\0"] {
            assert!(check_relative_path(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn names_must_be_portable() {
        for good in ["a.txt", "console.log", "COM10", "nul_points.bin", "lpt.txt", ".hidden", "a b/c d.txt", "ünïcode.json"] {
            assert!(check_relative_path(good).is_ok(), "{good:?} was refused");
        }
        for (bad, why) in [
            ("a\nb.txt", "control characters"),
            ("dir/tab\there", "control characters"),
            ("bell\u{7}", "control characters"),
            ("CON", "device name"),
            ("labels/nul.txt", "device name"),
            ("Aux.tar.gz", "device name"),
            ("com3", "device name"),
            ("trailing.", "ends in a dot"),
            ("dir./x", "ends in a dot"),
            ("space /x", "ends in a dot or a space"),
            ("what?.txt", "'?' is not allowed"),
            ("a|b", "'|' is not allowed"),
            (LOCK_FILE, "the host's own"),
        ] {
            let err = check_relative_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn errors_quote_at_most_100_characters() {
        let long = format!("{}\n", "x".repeat(900));
        let err = check_relative_path(&long).unwrap_err();
        assert!(err.len() < 250 && err.contains(&"x".repeat(100)) && !err.contains(&"x".repeat(101)) && err.contains("901 bytes"), "{err}");
    }

    #[test]
    fn a_symlinked_directory_leading_out_is_refused_and_nothing_lands() {
        let outside = tempfile::tempdir().unwrap();
        let dest = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dest.path().join("labels")).unwrap();
        let mut out = OutputDir::new(dest.path(), 1 << 20, 100).unwrap();
        assert!(out.create("labels/a.txt").is_ok());
        assert!(out.write(b"x").is_ok());
        let err = out.commit().unwrap_err();
        assert!(err.contains("leads outside the destination"), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_caps_stop_writes_and_files_and_a_dropped_output_leaves_nothing() {
        let dest = tempfile::tempdir().unwrap();
        let mut out = OutputDir::new(dest.path(), 10, 3).unwrap();
        assert!(out.create("a.txt").is_ok());
        assert!(out.write(b"0123456789").is_ok());
        assert!(matches!(out.write(b"x"), Err(OutputError::Cap(10))));
        assert!(out.create("b.txt").is_ok() && out.create("c/d.txt").is_ok());
        assert!(matches!(out.create("e.txt"), Err(OutputError::Files(3))));
        drop(out);
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    #[test]
    fn staged_trees_merge_into_what_the_destination_holds() {
        let dest = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dest.path().join("label_2")).unwrap();
        std::fs::write(dest.path().join("label_2/keep.txt"), "mine").unwrap();
        std::fs::write(dest.path().join("readme.txt"), "old").unwrap();
        let mut out = OutputDir::new(dest.path(), 1 << 30, 1000).unwrap();
        for path in ["label_2/000000.txt", "label_2/deep/000001.txt", "velodyne/000000.bin", "readme.txt"] {
            assert!(out.create(path).is_ok());
            assert!(out.write(path.as_bytes()).is_ok());
        }
        // One write larger than the buffer goes straight to the file.
        assert!(out.create("big.bin").is_ok());
        assert!(out.write(&vec![7u8; BUFFER + 10]).is_ok());
        let files = out.commit().unwrap();
        assert_eq!(files.len(), 5);
        assert_eq!(entries(dest.path()), ["big.bin", "label_2", "readme.txt", "velodyne"], "the staging directory is gone");
        assert_eq!(entries(&dest.path().join("label_2")), ["000000.txt", "deep", "keep.txt"]);
        assert_eq!(std::fs::read_to_string(dest.path().join("label_2/deep/000001.txt")).unwrap(), "label_2/deep/000001.txt");
        assert_eq!(std::fs::read_to_string(dest.path().join("readme.txt")).unwrap(), "readme.txt");
        assert_eq!(std::fs::read_to_string(dest.path().join("label_2/keep.txt")).unwrap(), "mine");
        assert_eq!(std::fs::metadata(dest.path().join("big.bin")).unwrap().len(), BUFFER as u64 + 10);
    }

    #[test]
    fn staging_left_by_a_killed_export_is_removed_and_a_running_one_is_not() {
        let dest = tempfile::tempdir().unwrap();
        // A running export's staging: its lock is held.
        let running = OutputDir::new(dest.path(), 1 << 20, 100).unwrap();
        // A killed export's: a lock file nobody holds, and files.
        let left = dest.path().join(".cairn-export-AbC123");
        std::fs::create_dir_all(left.join("label_2")).unwrap();
        std::fs::write(left.join(LOCK_FILE), "").unwrap();
        for i in 0..5 {
            std::fs::write(left.join(format!("label_2/{i}.txt")), "x").unwrap();
        }
        let next = OutputDir::new(dest.path(), 1 << 20, 100).unwrap();
        assert_eq!(next.cleaned(), [LeftStaging { path: left.clone(), files: 6 }]);
        assert!(!left.exists());
        assert!(running.staging.path().exists(), "a running export's staging stays");
        drop((running, next));
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }
}
