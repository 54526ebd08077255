//! Importers: comparisons (native JSONL, HH-RLHF, TRL preference rows), judgments on comparisons
//! already in the project (verdicts and rankings from other tools), and point-cloud files.
//!
//! Each source file is imported in one store transaction: a file with a bad line stores nothing
//! (unless `skip_invalid`), and content already in the project is not added again. Import order is
//! kept: item ids grow in the order records appear.

mod clouds;
mod comparisons;
mod error;
mod jsonl;
mod judgments;
pub mod sample;

pub use clouds::inspect_cloud;
pub use comparisons::{ComparisonFormat, ParsedComparison, parse_comparison, parse_hh_dialogue, split_hh};
pub use error::ImportError;

use cairn_model::CloudFormat;
use cairn_store::Project;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a file holds. Detected from the extension and the first record unless given; judgments are
/// never detected, only asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Comparisons(ComparisonFormat),
    /// `{"item", "annotator", "verdict"?, "strength"?, "pair"?, "ranking"?, "rationale"?}` per line:
    /// annotations on comparisons the project already holds.
    Judgments,
    Cloud(CloudFormat),
}

impl Format {
    /// The names accepted by `cairn import --format`.
    pub const NAMES: &'static [&'static str] = &["jsonl", "hh-rlhf", "trl", "judgments", "las", "laz", "pcd", "kitti-bin", "ply"];

    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "jsonl" | "native" => Format::Comparisons(ComparisonFormat::Native),
            "hh-rlhf" => Format::Comparisons(ComparisonFormat::HhRlhf),
            "trl" => Format::Comparisons(ComparisonFormat::Trl),
            "judgments" => Format::Judgments,
            "las" => Format::Cloud(CloudFormat::Las),
            "laz" => Format::Cloud(CloudFormat::Laz),
            "pcd" => Format::Cloud(CloudFormat::Pcd),
            "kitti-bin" | "bin" => Format::Cloud(CloudFormat::KittiBin),
            "ply" => Format::Cloud(CloudFormat::Ply),
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Comparisons(f) => f.name(),
            Format::Judgments => "judgments",
            Format::Cloud(CloudFormat::KittiBin) => "kitti-bin",
            Format::Cloud(f) => f.as_str(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub format: Option<Format>,
    /// Dataset to import into; defaults to the file or directory name. For judgments: the dataset whose
    /// items the keys name (default: every comparison dataset).
    pub dataset: Option<String>,
    /// Store the valid records of a file and report the invalid ones instead of refusing the file.
    pub skip_invalid: bool,
    /// The layout of headerless `.bin` scans, when their names do not tell it (nuScenes for
    /// `*.pcd.bin`, KITTI otherwise).
    pub bin_layout: Option<cairn_cloud::BinLayout>,
}

/// A record (or file) left out under `skip_invalid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// `file:line` for records, the file for point clouds.
    pub location: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportReport {
    pub path: PathBuf,
    pub format: &'static str,
    /// For judgments: the datasets of the items they annotate, comma-separated.
    pub dataset: String,
    /// Records (or files) read.
    pub records: u64,
    /// New items stored (for judgments: judgments that stored at least one new annotation).
    pub added: u64,
    /// Items whose content the project already held (for judgments: judgments whose annotations the
    /// same annotator already has on the item, unchanged).
    pub already_present: u64,
    /// Labels that came with the data, kept as annotations by a source annotator.
    pub source_labels: u64,
    pub skipped: Vec<Skipped>,
}

impl ImportReport {
    pub(crate) fn new(path: &Path, format: &'static str, dataset: &str) -> Self {
        ImportReport {
            path: path.to_owned(),
            format,
            dataset: dataset.to_owned(),
            records: 0,
            added: 0,
            already_present: 0,
            source_labels: 0,
            skipped: Vec::new(),
        }
    }
}

/// Progress of a long import: work done and total, in bytes or files.
pub type ProgressFn<'a> = &'a mut dyn FnMut(u64, u64);

/// Imports a file or directory into the project.
pub fn import_path(project: &mut Project, path: &Path, options: &ImportOptions, progress: ProgressFn<'_>) -> Result<ImportReport, ImportError> {
    let meta = std::fs::metadata(path).map_err(|source| ImportError::Io { path: path.to_owned(), source })?;
    let dataset = match &options.dataset {
        Some(d) => d.clone(),
        None => default_dataset_name(path),
    };
    if meta.is_dir() {
        return clouds::import_clouds(project, path, &dataset, options, progress);
    }
    let format = match options.format {
        Some(f) => f,
        None => detect_format(path)?,
    };
    match format {
        Format::Comparisons(f) => jsonl::import_comparisons(project, path, f, &dataset, options.skip_invalid, progress),
        Format::Judgments => judgments::import_judgments(project, path, options.dataset.as_deref(), options.skip_invalid, progress),
        Format::Cloud(_) => clouds::import_clouds(project, path, &dataset, options, progress),
    }
}

fn default_dataset_name(path: &Path) -> String {
    let name = if path.is_dir() { path.file_name() } else { path.file_stem() };
    name.map(|s| s.to_string_lossy().into_owned()).filter(|s| !s.is_empty()).unwrap_or_else(|| "default".into())
}

/// Picks the format from the extension; for JSON Lines, from the keys of the first record.
pub fn detect_format(path: &Path) -> Result<Format, ImportError> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if let Some(cloud) = CloudFormat::from_extension(&ext) {
        return Ok(Format::Cloud(cloud));
    }
    if matches!(ext.as_str(), "jsonl" | "json" | "ndjson") {
        return jsonl::sniff(path).map(Format::Comparisons);
    }
    Err(ImportError::File {
        path: path.to_owned(),
        message: format!("cannot tell the format from the extension '.{ext}'; pass --format (one of: {})", Format::NAMES.join(", ")),
    })
}
