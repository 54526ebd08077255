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
    // Refuse a bad project before opening a window.
    let p = Project::open(project)?;
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

/// True when a window can be opened here (an X11 or Wayland display is set).
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}
