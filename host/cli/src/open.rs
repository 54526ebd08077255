//! `cairn open`: the annotator app on a project.

use anyhow::{Context, Result};
use cairn_store::{Project, QueuePolicy};
use std::path::{Path, PathBuf};

#[allow(clippy::too_many_arguments)]
pub fn run(
    project: &Path,
    annotator: Option<String>,
    overlap: u32,
    gold_annotator: Option<&str>,
    gold_every: u32,
    task: String,
    screenshot: Option<PathBuf>,
    view: cairn_app::View,
    frame: u32,
) -> Result<()> {
    // Refuse a bad project, or a missing display, before opening a window.
    let p = Project::open(project)?;
    anyhow::ensure!(
        display_available(),
        "no display to open a window on (DISPLAY is unset or its X server is not running); on a server, run it under xvfb-run"
    );
    let gold_annotator = match gold_annotator {
        Some(name) => Some(p.annotator_by_name(name)?.with_context(|| format!("--gold-annotator: no annotator named {name:?} in the project"))?.id),
        None => None,
    };
    drop(p);
    let policy = QueuePolicy { overlap: overlap.max(1), gold_annotator, gold_every, ..QueuePolicy::default() };
    cairn_app::run(cairn_app::AppOptions {
        project: project.to_path_buf(),
        annotator,
        policy,
        task,
        plugins: crate::plugins::bundled(),
        screenshot,
        view,
        frame,
    })
}

/// True when a window can be opened here: the app draws through X11 (XWayland on Wayland desktops),
/// and a local display must have its socket (a stale `DISPLAY`, e.g. over ssh, would not).
pub fn display_available() -> bool {
    let Some(display) = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()) else { return false };
    match display.strip_prefix(':') {
        Some(rest) => {
            let number = rest.split('.').next().unwrap_or_default();
            Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
        }
        // A remote display (host:N): let the window try.
        None => true,
    }
}
