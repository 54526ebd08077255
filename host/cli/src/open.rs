//! `cairn open`: the annotator app on a project.

use anyhow::{Context, Result};
use cairn_model::Modality;
use cairn_store::{Project, QueuePolicy};
use std::path::{Path, PathBuf};

/// Which view `cairn open` shows first.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewArg {
    /// The 3D view of point-cloud frames.
    Scene,
    /// The comparison view.
    Compare,
}

#[derive(clap::Args, Debug, Clone)]
pub struct OpenArgs {
    pub project: PathBuf,
    /// Annotate as this person (asked on screen when left out).
    #[arg(long)]
    pub annotator: Option<String>,
    /// Annotators per comparison.
    #[arg(long, default_value_t = 1)]
    pub overlap: u32,
    /// Whose answers are the reference for gold checks, e.g. `import:hh-rlhf`.
    #[arg(long)]
    pub gold_annotator: Option<String>,
    /// Every n-th comparison is a gold check (needs --gold-annotator).
    #[arg(long, default_value_t = 10)]
    pub gold_every: u32,
    /// The task plugin whose questions and guidelines the comparison view uses.
    #[arg(long, default_value = "pairwise-preference")]
    pub task: String,
    /// Save a picture of the window once the view is ready (the first comparison drawn, or the 3D
    /// frame loaded and drawn), then exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// The view to open on; by default the 3D view when the project has point-cloud frames and no
    /// comparisons, else the comparison view.
    #[arg(long, value_enum)]
    pub view: Option<ViewArg>,
    /// Same as `--view scene`.
    #[arg(long, conflicts_with = "view")]
    pub scene: bool,
    /// The point-cloud frame the 3D view shows first (0-based, by sequence and index).
    #[arg(long, default_value_t = 0)]
    pub frame: u32,
    /// The box to select in the 3D view: an annotation id (e.g. 57) or a track (track:2).
    #[arg(long)]
    pub select: Option<String>,
}

impl OpenArgs {
    pub fn new(project: PathBuf) -> OpenArgs {
        OpenArgs {
            project,
            annotator: None,
            overlap: 1,
            gold_annotator: None,
            gold_every: 10,
            task: "pairwise-preference".into(),
            screenshot: None,
            view: None,
            scene: false,
            frame: 0,
            select: None,
        }
    }
}

pub fn run(args: OpenArgs) -> Result<()> {
    // Refuse a bad project, bad arguments or a missing display before opening a window.
    let p = Project::open(&args.project)?;
    let select = args.select.as_deref().map(cairn_app::scene::SelectSpec::parse).transpose().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        display_available(),
        "no display to open a window on (DISPLAY is unset or its X server is not running); on a server, run it under xvfb-run"
    );
    let gold_annotator = match &args.gold_annotator {
        Some(name) => Some(p.annotator_by_name(name)?.with_context(|| format!("--gold-annotator: no annotator named {name:?} in the project"))?.id),
        None => None,
    };
    let view = match (args.view, args.scene) {
        (Some(ViewArg::Scene), _) | (None, true) => cairn_app::View::Scene,
        (Some(ViewArg::Compare), _) => cairn_app::View::Compare,
        (None, false) => {
            let frames = p.item_count_of(&[Modality::PointCloud])?;
            let comparisons = p.item_count_of(&[Modality::Comparison])?;
            if frames > 0 && comparisons == 0 { cairn_app::View::Scene } else { cairn_app::View::Compare }
        }
    };
    drop(p);
    let policy = QueuePolicy { overlap: args.overlap.max(1), gold_annotator, gold_every: args.gold_every, ..QueuePolicy::default() };
    cairn_app::run(cairn_app::AppOptions {
        project: args.project,
        annotator: args.annotator,
        policy,
        task: args.task,
        plugins: crate::plugins::bundled(),
        screenshot: args.screenshot,
        view,
        frame: args.frame,
        select,
        bench: None,
        commit_delay: None,
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
