//! `cairn demo`: a ready project from the bundled comparisons and scan.

use crate::{progress, status};
use anyhow::{Context, Result};
use cairn_import::ImportOptions;
use cairn_store::Project;
use std::path::{Path, PathBuf};

const COMPARISONS: &[u8] = include_bytes!("../../../assets/demo/comparisons.jsonl");
const SCAN_NAME: &str = "32-1-472-150-76.laz";
const SCAN: &[u8] = include_bytes!("../../../assets/demo/scans/32-1-472-150-76.laz");
/// Verdicts, rankings and boxes by two demo annotators, so exports have something to write.
const ANNOTATIONS: &str = include_str!("../../../assets/demo/annotations.jsonl");

#[derive(serde::Deserialize)]
struct DemoAnnotation {
    item: String,
    annotator: String,
    payload: cairn_model::Payload,
}

/// Adds the demo annotations once: each is an ordinary edit by its annotator, in the revision log.
fn annotate(p: &mut Project) -> Result<usize> {
    let annotations: Vec<DemoAnnotation> = ANNOTATIONS
        .lines()
        .enumerate()
        .map(|(n, line)| serde_json::from_str(line).with_context(|| format!("demo annotations line {}", n + 1)))
        .collect::<Result<_>>()?;
    // Already there from an earlier run: the first demo annotator has edits.
    if let Some(first) = annotations.first()
        && let Some(existing) = p.annotator_by_name(&first.annotator)?
        && !p.history(Some(existing.id))?.is_empty()
    {
        return Ok(0);
    }
    let mut added = 0;
    for (n, a) in annotations.into_iter().enumerate() {
        let annotator = p.ensure_annotator(&a.annotator, cairn_model::AnnotatorKind::Human)?;
        let item = p.items_by_key(&a.item)?.into_iter().next().with_context(|| format!("demo annotations line {}: no item {}", n + 1, a.item))?;
        p.apply(annotator, 0, cairn_store::Edit::Create { item: item.id, payload: a.payload })?;
        added += 1;
    }
    Ok(added)
}

/// Where the demo's source files go: `<project stem>-data/` beside the project.
fn data_dir(project: &Path) -> PathBuf {
    // A project on a server: the files go in the working directory, where its relative paths point.
    if project.to_str().is_some_and(cairn_store::is_server_url) {
        return PathBuf::from("cairn-demo-data");
    }
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
        let report = progress::with_bar(&format!("importing {}", path.display()), |tick| cairn_import::import_path(&mut p, path, &options, tick))?;
        status::print_import(&report);
    }
    let added = annotate(&mut p)?;
    if added > 0 {
        println!("added {added} demo annotations (verdicts, rankings and boxes by ana and ben)");
    }
    println!();
    status::print_status(&p.status()?);
    println!();
    let p = crate::shown(project);
    println!("The demo project is {p}. Next:");
    println!("  cairn status {p}                    counts per dataset and annotator");
    println!("  cairn export {p} --out demo.jsonl   every item with its annotations");
    println!("  cairn export {p} --with trl-preference --out trl/   DPO pairs (see `cairn plugin list`)");
    Ok(())
}
