//! `cairn bench`: throughput figures, each printed beside a baseline measured in the same run and
//! the ratio between them. Figures, not pass/fail tests: the goal column only says where they stand.

pub mod cloud;
pub mod import;
pub mod judge;
pub mod plugins;
pub mod render;
pub mod store;
pub mod team;

use anyhow::Result;
use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

pub struct Figure {
    what: Cow<'static, str>,
    value: f64,
    unit: &'static str,
    goal: f64,
    /// True for rates, false for times.
    higher_is_better: bool,
    baseline_what: Cow<'static, str>,
    baseline: f64,
}

impl Figure {
    pub fn higher_better(
        what: impl Into<Cow<'static, str>>,
        value: f64,
        unit: &'static str,
        goal: f64,
        baseline_what: impl Into<Cow<'static, str>>,
        baseline: f64,
    ) -> Self {
        Figure { what: what.into(), value, unit, goal, higher_is_better: true, baseline_what: baseline_what.into(), baseline }
    }

    pub fn lower_better(
        what: impl Into<Cow<'static, str>>,
        value: f64,
        unit: &'static str,
        goal: f64,
        baseline_what: impl Into<Cow<'static, str>>,
        baseline: f64,
    ) -> Self {
        Figure { what: what.into(), value, unit, goal, higher_is_better: false, baseline_what: baseline_what.into(), baseline }
    }
}

pub fn print(title: &str, figures: &[Figure]) {
    println!("cairn bench {title} ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    for f in figures {
        let met = if f.higher_is_better { f.value >= f.goal } else { f.value <= f.goal };
        // Rates: how many times the baseline's rate; times: how many times the baseline's time.
        let (ratio, how) = if f.higher_is_better { (f.value / f.baseline, "× its rate") } else { (f.value / f.baseline, "× its time") };
        println!(
            "{:<44} {:>12.2} {:<10} goal {}{:<10.2}  {}  | baseline {:>12.2} ({})  ratio {:.2}{how}",
            f.what,
            f.value,
            f.unit,
            if f.higher_is_better { "≥ " } else { "≤ " },
            f.goal,
            if met { "MET " } else { "MISS" },
            f.baseline,
            f.baseline_what,
            ratio,
        );
    }
}

/// Runs `work` once and returns `count` per second.
pub fn rate<T, E: Into<anyhow::Error>>(count: u64, work: impl FnOnce() -> Result<T, E>) -> Result<f64> {
    let start = Instant::now();
    work().map_err(Into::into)?;
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Runs `work` `runs` times and returns the best time in milliseconds.
pub fn best_ms<T>(runs: usize, mut work: impl FnMut() -> T) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(work());
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn scratch_dir(dir: Option<&Path>) -> Result<tempfile::TempDir> {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; build with --release for meaningful figures");
    }
    Ok(match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::tempdir_in(d)?
        }
        None => tempfile::tempdir()?,
    })
}
