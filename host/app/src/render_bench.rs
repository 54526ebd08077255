//! `cairn bench render`: frame times of the 3D view at several point budgets while the camera turns
//! around the cloud, and the time to the first picture. Writes its figures as JSON and exits.

use crate::scene::Scene;
use crate::scene::render::camera::Orbit;
use crate::scene::render::points::{NodeMeshes, PointStyle};
use bevy::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Clone, Debug)]
pub struct RenderBench {
    /// Point budgets to measure, in order (0 draws no points: the frame's own cost).
    pub budgets: Vec<usize>,
    /// Frames measured per budget, after a few to settle.
    pub frames: u32,
    pub report: PathBuf,
}

/// Frames drawn at a new budget before measuring (the level of detail and the GPU settle).
const SETTLE: u32 = 10;

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct BudgetFigures {
    pub budget: usize,
    /// Points actually drawn, averaged over the measured frames.
    pub drawn: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct RenderReport {
    pub points: usize,
    /// From start until the frame was decoded and indexed (worker thread).
    pub loaded_ms: f64,
    /// From start until the first frame that drew points (a preview's, for a large LAS/LAZ).
    pub first_points_ms: f64,
    /// From start until the whole frame was on screen and settled (what `--screenshot` waits for).
    pub first_picture_ms: f64,
    pub budgets: Vec<BudgetFigures>,
}

#[derive(Resource)]
struct Bench {
    plan: RenderBench,
    started: Instant,
    report: RenderReport,
    at: usize,
    frame: u32,
    samples: Vec<f64>,
    drawn: Vec<usize>,
    last: Option<Instant>,
}

pub struct RenderBenchPlugin(pub RenderBench);

impl Plugin for RenderBenchPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Bench {
            plan: self.0.clone(),
            started: Instant::now(),
            report: RenderReport::default(),
            at: 0,
            frame: 0,
            samples: Vec::new(),
            drawn: Vec::new(),
            last: None,
        })
        .add_systems(Last, measure);
    }
}

fn measure(
    mut bench: ResMut<Bench>,
    scene: Res<Scene>,
    nodes: Res<NodeMeshes>,
    mut style: ResMut<PointStyle>,
    mut cameras: Query<&mut Orbit>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = Instant::now();
    let started = bench.started;
    let since = |t: Instant| (t - started).as_secs_f64() * 1e3;
    if bench.report.loaded_ms == 0.0 && scene.cloud.as_ref().is_some_and(|c| !c.preview) {
        bench.report.loaded_ms = since(now);
        bench.report.points = scene.cloud.as_ref().map_or(0, |c| c.cloud.positions.len());
    }
    if scene.message.starts_with("cannot") {
        error!("{}", scene.message);
        exit.write(AppExit::error());
        return;
    }
    if bench.report.first_points_ms == 0.0 && nodes.drawn > 0 {
        bench.report.first_points_ms = since(now);
        eprintln!("first points on screen after {:.0} ms", bench.report.first_points_ms);
    }
    if bench.report.first_picture_ms == 0.0 {
        if scene.ready {
            bench.report.first_picture_ms = since(now);
            eprintln!(
                "whole frame on screen after {:.0} ms (decoded and indexed after {:.0} ms)",
                bench.report.first_picture_ms, bench.report.loaded_ms
            );
            style.budget = bench.plan.budgets[0];
            bench.last = Some(now);
        }
        return;
    }
    // Turn the camera a little every frame, so every frame selects and draws anew.
    for mut orbit in &mut cameras {
        orbit.yaw += 0.02;
    }
    let elapsed = bench.last.map_or(Duration::ZERO, |t| now - t);
    bench.last = Some(now);
    bench.frame += 1;
    if bench.frame > SETTLE {
        bench.samples.push(elapsed.as_secs_f64() * 1e3);
        bench.drawn.push(nodes.drawn);
    }
    if bench.frame < SETTLE + bench.plan.frames {
        return;
    }
    let mut samples = std::mem::take(&mut bench.samples);
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let drawn = std::mem::take(&mut bench.drawn);
    let figures = BudgetFigures {
        budget: bench.plan.budgets[bench.at],
        drawn: drawn.iter().sum::<usize>() / drawn.len().max(1),
        median_ms: pick(0.5),
        p99_ms: pick(0.99),
    };
    eprintln!("budget {}: {} points drawn, median {:.1} ms, p99 {:.1} ms", figures.budget, figures.drawn, figures.median_ms, figures.p99_ms);
    bench.report.budgets.push(figures);
    bench.at += 1;
    bench.frame = 0;
    // Written after every budget: a run stopped early still leaves what it measured.
    let written = serde_json::to_vec_pretty(&bench.report)
        .map_err(|e| e.to_string())
        .and_then(|json| std::fs::write(&bench.plan.report, json).map_err(|e| e.to_string()));
    if let Err(e) = written {
        error!("cannot write {}: {e}", bench.plan.report.display());
        exit.write(AppExit::error());
        return;
    }
    match bench.plan.budgets.get(bench.at) {
        Some(&budget) => style.budget = budget,
        None => {
            exit.write(AppExit::Success);
        }
    }
}
