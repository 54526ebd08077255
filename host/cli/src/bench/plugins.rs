//! `cairn bench plugins`: an export through the TRL exporter plugin, and what the plugin host costs
//! (compiling, loading from the cache, instantiating, calling).

use super::{Figure, best_ms, rate, scratch_dir};
use anyhow::{Context, Result};
use cairn_app::records::StoreRecords;
use cairn_import::ImportOptions;
use cairn_model::{
    AnnotatorKind, CloudFormat, CloudSummary, ContentHash, Cuboid, Frame, ItemData, ItemId, Modality, PairwiseVerdict, Payload, PayloadKind,
    SourceFile, Winner,
};
use cairn_plugin_host::{HostConfig, PluginEngine, Subject};
use cairn_store::{Project, StoreError};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(records: u64, files: u64, dir: Option<PathBuf>) -> Result<()> {
    let scratch = scratch_dir(dir.as_deref())?;
    let root = scratch.path();
    eprintln!("building a project of {records} comparisons, each with one verdict …");
    let jsonl = root.join("comparisons.jsonl");
    super::store::write_comparisons(&jsonl, records)?;
    let project_path = root.join("bench.cairn");
    let mut project = Project::create(&project_path)?;
    cairn_import::import_path(&mut project, &jsonl, &ImportOptions::default(), &mut |_, _| {})?;
    project.bulk_import(|bulk| {
        let judge = bulk.ensure_annotator("judge", AnnotatorKind::Human)?;
        for i in 1..=records as i64 {
            let mut verdict = PairwiseVerdict::new(if i % 3 == 0 { Winner::B } else { Winner::A });
            verdict.strength = Some((i % 3 + 1) as u8);
            bulk.import_annotation(cairn_store::Inserted::New(ItemId(i)), judge, &Payload::Verdict(verdict))?;
        }
        Ok::<_, StoreError>(())
    })?;
    drop(project);
    let mut figures = Vec::new();

    // 1. A whole export through the plugin, against the host's own JSONL dump of the same project.
    let registry = crate::plugins::registry(None);
    let entry = registry.get("trl-preference").context("the trl-preference plugin is bundled")?;
    let cache = root.join("plugin-cache");
    let engine = PluginEngine::new(HostConfig { cache_dir: Some(cache.clone()), ..HostConfig::default() }).map_err(anyhow::Error::msg)?;
    let exporter = entry.load_exporter(&engine)?;
    let out = root.join("trl");
    let export = rate(records, || -> Result<()> {
        let source = StoreRecords::open(&project_path, vec![PayloadKind::Verdict, PayloadKind::Ranking])?;
        let outcome = exporter.export(&[], Box::new(source), &out, None)?;
        anyhow::ensure!(outcome.written == records, "wrote {} rows, expected {records}", outcome.written);
        Ok(())
    })?;
    let dump = rate(records, || -> Result<()> {
        let project = Project::open(&project_path)?;
        crate::export::jsonl(&project, Some(&root.join("dump.jsonl")))
    })?;
    figures.push(Figure::higher_better(
        "export through trl-preference",
        export,
        "records/s",
        100_000.0,
        "the built-in JSONL dump of the same project",
        dump,
    ));

    // 2. Compiling the component, cold and from the on-disk cache.
    let wasm = entry.wasm()?;
    let cold_engine = PluginEngine::new(HostConfig { cache_dir: None, ..HostConfig::default() }).map_err(anyhow::Error::msg)?;
    let cold = best_ms(3, || cold_engine.compile(&wasm).expect("compiles"));
    let cached = best_ms(20, || engine.compile(&wasm).expect("loads from the cache"));
    figures.push(Figure::lower_better("load a component from the compile cache", cached, "ms", 50.0, "cold compile with Cranelift", cold));

    // 3. A fresh sandboxed instance, as every export makes one.
    let runs = 2_000;
    let started = Instant::now();
    for _ in 0..runs {
        exporter.instantiate_only()?;
    }
    let instantiate_us = started.elapsed().as_secs_f64() * 1e6 / runs as f64;
    figures.push(Figure::lower_better(
        "instantiate from the pre-linked component",
        instantiate_us,
        "µs",
        1_000.0,
        "one cached component load",
        cached * 1e3,
    ));

    // 4. Call overhead: validating nothing, against the host-side encoding that every call does anyway.
    let mut task = registry.get("cuboid-detection").context("the cuboid-detection plugin is bundled")?.load_task(&engine)?;
    let item: ItemData = serde_json::from_value(serde_json::json!({
        "kind": "frame", "index": 0, "source": {"path": "a.las", "byte_len": 1, "summary": {"format": "las", "point_count": 1}}
    }))?;
    let subjects: Vec<Subject> = Vec::new();
    let calls = 20_000;
    let started = Instant::now();
    for _ in 0..calls {
        task.validate(&item, &subjects, &[])?;
    }
    let call_ns = started.elapsed().as_secs_f64() * 1e9 / calls as f64;
    let started = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(serde_json::to_string(std::hint::black_box(&item))?);
    }
    let encode_ns = started.elapsed().as_secs_f64() * 1e9 / calls as f64;
    figures.push(Figure::lower_better(
        "validate call with no annotations",
        call_ns,
        "ns",
        10_000.0,
        "encoding its arguments on the host alone",
        encode_ns,
    ));

    // 5. One small file per frame, as KITTI labels are written, against plain Rust creating the
    // same files (same names, same bytes) in a directory of its own.
    figures.push(file_creation(root, files)?);

    super::print(&format!("plugins: {records} preference records, {files} label files"), &figures);
    Ok(())
}

fn file_creation(root: &Path, frames: u64) -> Result<Figure> {
    eprintln!("building a project of {frames} frames, each with one box …");
    let project_path = root.join("frames.cairn");
    let mut project = Project::create(&project_path)?;
    project.bulk_import(|bulk| {
        let ds = bulk.ensure_dataset("bench-frames", Modality::PointCloud)?;
        let labeller = bulk.ensure_annotator("labeller", AnnotatorKind::Human)?;
        for i in 0..frames {
            let summary = CloudSummary { format: CloudFormat::KittiBin, version: None, encoding: None, point_count: 0, bounds: None, fields: vec![] };
            let source = SourceFile { path: format!("velodyne/{i:06}.bin"), byte_len: 0, summary };
            let frame = ItemData::Frame(Frame { sequence: Some("bench".into()), index: i as u32, source });
            let mut hash = [0u8; 16];
            hash[..8].copy_from_slice(&i.to_le_bytes());
            let item = bulk.insert_item(ds, &format!("{i:06}"), ContentHash(hash), &frame)?;
            let cuboid = Cuboid {
                center: [10.0 + i as f64 % 7.0, -3.5, 0.9],
                size: [4.5, 1.9, 1.6],
                yaw: 0.25,
                pitch: 0.0,
                roll: 0.0,
                class: "car".into(),
                attributes: Default::default(),
                track_id: None,
            };
            bulk.import_annotation(item, labeller, &Payload::Cuboid(cuboid))?;
        }
        Ok::<_, StoreError>(())
    })?;
    drop(project);

    let registry = crate::plugins::registry(None);
    let engine = PluginEngine::new(HostConfig { cache_dir: Some(root.join("plugin-cache")), ..HostConfig::default() }).map_err(anyhow::Error::msg)?;
    let exporter = registry.get("kitti-label").context("the kitti-label plugin is bundled")?.load_exporter(&engine)?;
    let out = root.join("kitti");
    let mut files = Vec::new();
    let through_plugin = rate(frames, || -> Result<()> {
        let source = StoreRecords::open(&project_path, vec![PayloadKind::Cuboid])?;
        files = exporter.export(&[], Box::new(source), &out, None)?.files;
        anyhow::ensure!(files.len() as u64 == frames, "wrote {} files, expected {frames}", files.len());
        Ok(())
    })?;
    let written: Vec<(PathBuf, Vec<u8>)> =
        files.iter().map(|f| Ok((f.strip_prefix(out.canonicalize()?)?.to_path_buf(), std::fs::read(f)?))).collect::<Result<_>>()?;
    let plain_dir = root.join("plain");
    let plain = rate(frames, || -> Result<()> {
        let mut made = std::collections::HashSet::new();
        for (relative, bytes) in &written {
            let target = plain_dir.join(relative);
            let parent = target.parent().expect("a file in a directory");
            if made.insert(parent.to_path_buf()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, bytes)?;
        }
        Ok(())
    })?;
    Ok(Figure::higher_better("label files through kitti-label", through_plugin, "files/s", 20_000.0, "plain Rust writing the same files", plain))
}
