//! The Cairn annotator app: a Bevy application with egui panels. This version holds the comparison
//! view (blind pairwise verdicts and rankings from a queue); the 3D view joins it next.
//!
//! The app is composed of Bevy plugins by feature: `SessionPlugin` (queue, keys, submissions, active
//! time; runs headless), `ViewPlugin` (egui drawing), `TaskPlugin` (loads the task plugin's questions
//! and guidelines on a worker thread) and `ScreenshotPlugin` (`--screenshot`).

pub mod judge;
pub mod records;
pub mod session;
mod export_dialog;
mod quality_panel;
mod screenshot;
mod task;
mod view;

use bevy::prelude::*;
use bevy_egui::EguiPlugin;
use cairn_store::{Project, QueuePolicy};
use std::path::PathBuf;
use std::sync::Mutex;

pub use export_dialog::ExportDialog;
pub use quality_panel::QualityPanel;
pub use session::{Annotator, Current, Panels, SessionPlugin, Status, Workspace};
pub use task::TaskSchema;

/// How `cairn open` starts the app.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub project: PathBuf,
    /// Judge as this person; asked on screen when None.
    pub annotator: Option<String>,
    pub policy: QueuePolicy,
    /// The task plugin whose questions and guidelines to use.
    pub task: String,
    pub plugins: Vec<cairn_plugin_host::BundledPlugin>,
    /// Save a picture of the first item once it is drawn, then exit.
    pub screenshot: Option<PathBuf>,
}

/// Opens the window and runs until it closes.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: format!("Cairn — {}", options.project.display()),
            resolution: bevy::window::WindowResolution::new(1280, 800),
            ..default()
        }),
        ..default()
    }))
    .add_plugins(EguiPlugin::default())
    .add_systems(Startup, |mut commands: Commands| {
        commands.spawn(Camera2d);
    });
    build(&mut app, &options)?;
    app.add_plugins((
        view::ViewPlugin,
        task::TaskPlugin::new(&options),
        export_dialog::ExportDialogPlugin(Mutex::new(Some(export_dialog::ExportDialog::new(&options)))),
        quality_panel::QualityPanelPlugin(options.project.clone()),
    ));
    if let Some(path) = &options.screenshot {
        app.add_plugins(screenshot::ScreenshotPlugin { path: path.clone() });
    }
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("the app exited with code {code}"),
    }
}

/// Everything but the window: the project, the session and the judge's identity. Tests build a
/// headless app with `MinimalPlugins` and this.
pub fn build(app: &mut App, options: &AppOptions) -> anyhow::Result<()> {
    let project = Project::open(&options.project)?;
    app.insert_resource(Workspace { project: Mutex::new(project), policy: options.policy.clone() })
        .init_resource::<TaskSchema>()
        .add_plugins(SessionPlugin);
    if let Some(name) = &options.annotator {
        session::identify(app.world_mut(), name).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
