//! `cairn bench render`: the 3D view's frame times at point budgets of 1, 5 and 10 million (median
//! and 99th percentile while the camera turns), beside the frame with no points drawn; and the time
//! to the first picture of a 10 M-point LAZ (a preview share of it) and to the whole frame on
//! screen, beside decoding that file alone. Needs a display (on a
//! server: under xvfb-run).

use super::{Figure, scratch_dir};
use anyhow::{Context, Result};
use cairn_app::render_bench::{RenderBench, RenderReport};
use std::path::PathBuf;
use std::time::Instant;

/// 60 frames per second.
const FRAME_GOAL_MS: f64 = 1000.0 / 60.0;

pub fn run(file: Option<PathBuf>, points: u64, frames: u32, dir: Option<PathBuf>) -> Result<()> {
    anyhow::ensure!(
        crate::open::display_available(),
        "no display to open a window on (DISPLAY is unset or its X server is not running); on a server, run it under xvfb-run"
    );
    let scratch = scratch_dir(dir.as_deref())?;
    let root = scratch.path();
    let file = match file {
        Some(f) => f,
        None => {
            let path = root.join("tiled.laz");
            eprintln!("tiling the demo scan to {points} points (LAZ) …");
            super::cloud::write_tiled(&path, points, true)?;
            path
        }
    };
    let project = root.join("render.cairn");
    let mut p = cairn_store::Project::create(&project)?;
    cairn_import::import_path(&mut p, &file, &cairn_import::ImportOptions::default(), &mut |_, _| {})
        .with_context(|| format!("importing {}", file.display()))?;
    drop(p);

    // The baseline for the first picture: decoding the whole file, nothing else.
    let start = Instant::now();
    let cloud = cairn_cloud::read_cloud(&file, None)?;
    let decode_ms = start.elapsed().as_secs_f64() * 1e3;
    let n = cloud.positions.len();
    drop(cloud);

    let report_path = root.join("render.json");
    let budgets = vec![0, 1_000_000, 5_000_000, 10_000_000];
    eprintln!("drawing {n} points at budgets {budgets:?}, {frames} frames each …");
    cairn_app::run(cairn_app::AppOptions {
        project: project.clone(),
        annotator: Some("bench".into()),
        plugins: crate::plugins::bundled(),
        view: cairn_app::View::Scene,
        bench: Some(RenderBench { budgets, frames, report: report_path.clone() }),
        ..cairn_app::AppOptions::default()
    })?;
    let report: RenderReport =
        serde_json::from_slice(&std::fs::read(&report_path).with_context(|| format!("no report at {}", report_path.display()))?)?;

    let mut figures = vec![
        Figure::lower_better(
            format!("first picture of {n} points"),
            report.first_points_ms,
            "ms",
            decode_ms,
            "decoding the whole file alone",
            decode_ms,
        ),
        Figure::lower_better("whole frame on screen", report.first_picture_ms, "ms", decode_ms, "decoding the whole file alone", decode_ms),
    ];
    let empty = report.budgets.iter().find(|b| b.budget == 0).context("no figures for the empty frame")?;
    for b in report.budgets.iter().filter(|b| b.budget > 0) {
        let name = format!("frame, {} M budget ({:.1} M drawn), median", b.budget / 1_000_000, b.drawn as f64 / 1e6);
        figures.push(Figure::lower_better(name, b.median_ms, "ms", FRAME_GOAL_MS, "frame with no points, median", empty.median_ms));
        let name = format!("frame, {} M budget, p99", b.budget / 1_000_000);
        figures.push(Figure::lower_better(name, b.p99_ms, "ms", FRAME_GOAL_MS, "frame with no points, p99", empty.p99_ms));
    }
    super::print(&format!("render: {n} points, decoded and indexed after {:.0} ms", report.loaded_ms), &figures);
    Ok(())
}
