//! The Cairn annotator app: a Bevy application with egui panels, with two views: the 3D view of
//! point-cloud frames with the cuboid tools, and the comparison view (blind pairwise verdicts and
//! rankings from a queue). `Tab` switches.
//!
//! The app is composed of Bevy plugins by feature. Headless (tests build these with
//! `MinimalPlugins`): `SessionPlugin` (judging queue, keys, submissions, active time) and
//! `scene::ScenePlugin` (frames, loading, box tools and edits, the cuboid task plugin). With a
//! window: `ViewPlugin` (comparison drawing), `scene::render::SceneRenderPlugin` (points with level
//! of detail, cameras, gizmos, panels), `TaskPlugin` (the comparison task's questions),
//! `ScreenshotPlugin` (`--screenshot`).

mod export_dialog;
pub mod judge;
pub mod keys;
mod quality_panel;
pub mod records;
pub mod render_bench;
pub mod scene;
mod screenshot;
pub mod session;
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
    /// Which view opens first.
    pub view: View,
    /// The point-cloud frame the 3D view shows first (0-based, by sequence and index).
    pub frame: u32,
    /// The box to select once the frame is shown.
    pub select: Option<scene::SelectSpec>,
    /// Measure frame times instead of taking input (`cairn bench render`).
    pub bench: Option<render_bench::RenderBench>,
}

/// The two kinds of work; `Tab` switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Compare,
    Scene,
}

#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveView(pub View);

/// Opens the window and runs until it closes.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: format!("Cairn — {}", options.project.display()),
            resolution: bevy::window::WindowResolution::new(1280, 800),
            // Frame times are measured without waiting for the display.
            present_mode: if options.bench.is_some() { bevy::window::PresentMode::AutoNoVsync } else { bevy::window::PresentMode::AutoVsync },
            ..default()
        }),
        ..default()
    }))
    .add_plugins(EguiPlugin::default())
    // The egui camera is named below; the 3D camera must not get a context of its own.
    .insert_resource(bevy_egui::EguiGlobalSettings { auto_create_primary_context: false, ..default() })
    .add_systems(Startup, |mut commands: Commands| {
        // Draws egui over the 3D view (which renders first, order -1); named as egui's camera so
        // the 3D camera never takes the panels.
        commands.spawn((Camera2d, bevy_egui::PrimaryEguiContext));
    })
    .add_systems(Update, overlay_clear);
    // A broken keys file stops here, naming its line, rather than leaving keys silently unbound.
    if let Some(path) = keys::KeyMap::config_path() {
        app.insert_resource(keys::KeyMap::load(&path).map_err(anyhow::Error::msg)?);
    }
    build(&mut app, &options)?;
    app.add_plugins((
        view::ViewPlugin,
        task::TaskPlugin::new(&options),
        export_dialog::ExportDialogPlugin(Mutex::new(Some(export_dialog::ExportDialog::new(&options)))),
        quality_panel::QualityPanelPlugin(options.project.clone()),
        scene::render::SceneRenderPlugin,
    ));
    if let Some(bench) = &options.bench {
        app.add_plugins(render_bench::RenderBenchPlugin(bench.clone()));
    }
    if let Some(path) = &options.screenshot {
        app.add_plugins(screenshot::ScreenshotPlugin { path: path.clone() });
    }
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("the app exited with code {code}"),
    }
}

/// In the 3D view the egui camera must not clear what the 3D camera drew.
fn overlay_clear(view: Res<ActiveView>, mut cameras: Query<&mut Camera, With<Camera2d>>) {
    for mut camera in &mut cameras {
        camera.clear_color = if view.0 == View::Scene { ClearColorConfig::None } else { ClearColorConfig::Default };
    }
}

/// Everything but the window: the project, the session and the judge's identity. Tests build a
/// headless app with `MinimalPlugins` and this.
pub fn build(app: &mut App, options: &AppOptions) -> anyhow::Result<()> {
    let project = Project::open(&options.project)?;
    app.insert_resource(Workspace { project: Mutex::new(project), policy: options.policy.clone() })
        .insert_resource(ActiveView(options.view))
        .init_resource::<TaskSchema>()
        .add_plugins(SessionPlugin)
        .add_plugins(scene::ScenePlugin {
            frame: options.frame,
            select: options.select,
            plugins: options.plugins.clone(),
            project: options.project.clone(),
        });
    if let Some(name) = &options.annotator {
        session::identify(app.world_mut(), name).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
