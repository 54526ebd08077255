//! `cairn demo`: a ready project from the bundled comparisons and scan.

use crate::{progress, status};
use anyhow::{Context, Result};
use cairn_import::ImportOptions;
use cairn_store::Project;
use std::path::{Path, PathBuf};

const COMPARISONS: &[u8] = include_bytes!("../../../assets/demo/comparisons.jsonl");
const SCAN_NAME: &str = "32-1-472-150-76.laz";
const SCAN: &[u8] = include_bytes!("../../../assets/demo/scans/32-1-472-150-76.laz");

/// Where the demo's source files go: `<project stem>-data/` beside the project.
fn data_dir(project: &Path) -> PathBuf {
    let stem = project.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "cairn-demo".into());
    project.with_file_name(format!("{stem}-data"))
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn run(project: &Path) -> Result<()> {
    let data = data_dir(project);
    let scans = data.join("scans");
    std::fs::create_dir_all(&scans).with_context(|| format!("cannot create {}", scans.display()))?;
    let comparisons = data.join("comparisons.jsonl");
    write_if_changed(&comparisons, COMPARISONS)?;
    write_if_changed(&scans.join(SCAN_NAME), SCAN)?;

    let mut p = Project::open_or_create(project)?;
    for (path, dataset) in [(&comparisons, "demo-comparisons"), (&scans, "demo-scans")] {
        let options = ImportOptions { dataset: Some(dataset.into()), ..ImportOptions::default() };
        let report = progress::with_bar(&format!("importing {}", path.display()), |tick| {
            cairn_import::import_path(&mut p, path, &options, tick)
        })?;
        status::print_import(&report);
    }
    println!();
    status::print_status(&p.status()?);
    println!();
    let p = project.display();
    println!("The demo project is {p}. Next:");
    println!("  cairn status {p}                    counts per dataset and annotator");
    println!("  cairn export {p} --out demo.jsonl   every item with its annotations");
    Ok(())
}
