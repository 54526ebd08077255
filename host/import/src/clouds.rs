//! Point-cloud registration: the project keeps each frame's path, content hash and header summary;
//! the points stay in their files. `cairn-cloud` checks headers against the file size, so a header
//! that claims more points than the file holds is refused without allocating for the claim.

use crate::{Format, ImportError, ImportOptions, ImportReport, ProgressFn, Skipped};
use cairn_cloud::{BinLayout, CloudInspection};
use cairn_model::{CloudFormat, Frame, ItemData, Modality, SourceFile};
use cairn_store::Project;
use std::path::{Path, PathBuf};

/// Inspects a cloud file with the point-cloud engine: header checked against the file, content hash.
pub fn inspect_cloud(path: &Path, format: Option<CloudFormat>, bin: Option<BinLayout>) -> Result<CloudInspection, ImportError> {
    cairn_cloud::inspect(path, format, bin).map_err(|e| ImportError::File { path: e.path, message: e.message })
}

/// Name order that puts `frame2` before `frame10`.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let dx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let dy = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let nx = std::str::from_utf8(&x[..dx]).unwrap().trim_start_matches('0');
                let ny = std::str::from_utf8(&y[..dy]).unwrap().trim_start_matches('0');
                let ord = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny)).then_with(|| dx.cmp(&dy));
                if ord.is_ne() {
                    return ord;
                }
                x = &x[dx..];
                y = &y[dy..];
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// Frames to register: (sequence, index, path).
fn collect_frames(path: &Path) -> Result<Vec<(Option<String>, u32, PathBuf)>, ImportError> {
    let io = |p: &Path, source| ImportError::Io { path: p.to_owned(), source };
    if !path.is_dir() {
        return Ok(vec![(None, 0, path.to_owned())]);
    }
    let list = |dir: &Path| -> Result<(Vec<PathBuf>, Vec<PathBuf>), ImportError> {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let p = entry.map_err(|e| io(dir, e))?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().and_then(|e| CloudFormat::from_extension(&e.to_string_lossy())).is_some() {
                files.push(p);
            }
        }
        let by_name = |a: &PathBuf, b: &PathBuf| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy());
        files.sort_by(by_name);
        dirs.sort_by(by_name);
        Ok((files, dirs))
    };
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let (files, dirs) = list(path)?;
    let mut out: Vec<_> = files.into_iter().enumerate().map(|(i, f)| (name(path), i as u32, f)).collect();
    // One level of subdirectories: each is a sequence of its own.
    for dir in dirs {
        let (files, _) = list(&dir)?;
        out.extend(files.into_iter().enumerate().map(|(i, f)| (name(&dir), i as u32, f)));
    }
    if out.is_empty() {
        return Err(ImportError::File { path: path.to_owned(), message: "no point-cloud files (.las .laz .pcd .bin .ply) here".into() });
    }
    Ok(out)
}

/// How the project refers to a file: relative to the project's directory when it lies inside it
/// (a project on a server has no directory of its own: absolute).
fn stored_path(project: &Project, file: &Path) -> String {
    let absolute = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    if project.location().is_server() {
        return absolute.to_string_lossy().into_owned();
    }
    let base = std::fs::canonicalize(project.base_dir()).unwrap_or_else(|_| project.base_dir());
    match absolute.strip_prefix(&base) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => absolute.to_string_lossy().into_owned(),
    }
}

pub(crate) fn import_clouds(
    project: &mut Project,
    path: &Path,
    dataset: &str,
    options: &ImportOptions,
    progress: ProgressFn<'_>,
) -> Result<ImportReport, ImportError> {
    let forced = match options.format {
        Some(Format::Cloud(f)) => Some(f),
        Some(other) => {
            return Err(ImportError::File { path: path.to_owned(), message: format!("--format {} is not a point-cloud format", other.name()) });
        }
        None => None,
    };
    let frames = collect_frames(path)?;
    let mut report = ImportReport::new(path, forced.map_or("point-cloud", |f| Format::Cloud(f).name()), dataset);
    // Inspect every file before the transaction starts: a bad file stops the import with nothing stored.
    let mut ready = Vec::new();
    let total = frames.len() as u64;
    for (done, (sequence, index, file)) in frames.into_iter().enumerate() {
        match inspect_cloud(&file, forced, options.bin_layout) {
            Ok(found) => ready.push((sequence, index, file, found)),
            Err(e) if options.skip_invalid && !matches!(e, ImportError::Store(_)) => {
                report.skipped.push(Skipped { location: file.display().to_string(), reason: e.to_string() });
            }
            Err(e) => return Err(e),
        }
        progress(done as u64 + 1, total);
    }
    let stored: Vec<String> = ready.iter().map(|(_, _, file, _)| stored_path(project, file)).collect();
    project.bulk_import(|bulk| {
        let ds = bulk.ensure_dataset(dataset, Modality::PointCloud)?;
        for ((sequence, index, file, found), stored) in ready.into_iter().zip(stored) {
            report.records += 1;
            let key = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let data =
                ItemData::Frame(Frame { sequence, index, source: SourceFile { path: stored, byte_len: found.byte_len, summary: found.summary } });
            match bulk.insert_item(ds, &key, found.content_hash, &data)? {
                cairn_store::Inserted::New(_) => report.added += 1,
                cairn_store::Inserted::Existing(_) => report.already_present += 1,
            }
        }
        Ok::<_, ImportError>(())
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn natural_order_sorts_numbers_by_value() {
        let mut names = vec!["f10.pcd", "f2.pcd", "f1.pcd", "f02.pcd", "a.pcd"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a.pcd", "f1.pcd", "f2.pcd", "f02.pcd", "f10.pcd"]);
    }
}
