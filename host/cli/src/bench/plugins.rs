//! `cairn bench plugins`: an export through the TRL exporter plugin, and what the plugin host costs
//! (compiling, loading from the cache, instantiating, calling).

use super::{best_ms, rate, scratch_dir, Figure};
use cairn_app::records::StoreRecords;
use anyhow::{Context, Result};
use cairn_import::ImportOptions;
use cairn_model::{AnnotatorKind, ItemData, ItemId, PairwiseVerdict, Payload, PayloadKind, Winner};
use cairn_plugin_host::{HostConfig, PluginEngine, Subject};
use cairn_store::{Project, StoreError};
use std::path::PathBuf;
use std::time::Instant;

pub fn run(records: u64, dir: Option<PathBuf>) -> Result<()> {
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
    figures.push(Figure::higher_better("export through trl-preference", export, "records/s", 100_000.0, "the built-in JSONL dump of the same project", dump));

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
    figures.push(Figure::lower_better("instantiate from the pre-linked component", instantiate_us, "µs", 1_000.0, "one cached component load", cached * 1e3));

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
    figures.push(Figure::lower_better("validate call with no annotations", call_ns, "ns", 10_000.0, "encoding its arguments on the host alone", encode_ns));

    super::print(&format!("plugins: {records} preference records"), &figures);
    Ok(())
}
