//! The Cairn annotator app: a Bevy application with egui panels, with two views: the 3D view of
//! point-cloud frames with the cuboid tools, and the comparison view (blind pairwise verdicts and
//! rankings from a queue). `Tab` switches.
//!
//! The frame loop never waits: changes to the project are commands carried out in order by the
//! store worker (`command`), heavy work runs in background jobs (`jobs`), and both answer with
//! messages the systems apply. The app is composed of Bevy plugins by feature. Headless (tests
//! build these with `MinimalPlugins`): `SessionPlugin` (judging keys, submissions, active time),
//! `scene::ScenePlugin` (frames, loading, box tools, the cuboid task plugin) and `TaskPlugin`
//! (the comparison task's questions). With a window: `ViewPlugin` (comparison drawing),
//! `scene::render::SceneRenderPlugin` (points with level of detail, cameras, gizmos, panels),
//! `ScreenshotPlugin` (`--screenshot`).

pub mod boxes;
pub mod command;
mod export_dialog;
pub mod jobs;
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
use bevy::state::app::StatesPlugin;
use bevy_egui::EguiPlugin;
use cairn_plugin_host::{HostConfig, PluginEngine};
use cairn_store::QueuePolicy;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use command::{CommandKind, ProjectCommand, ProjectReply, StoreLink, StoreOptions, StoreReply};
pub use export_dialog::ExportDialog;
pub use quality_panel::QualityPanel;
pub use session::{Annotator, Current, JudgeRequest, Panels, SessionPlugin, Status};
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
    /// Each commit takes at least this long (see [`StoreOptions::commit_delay`]).
    pub commit_delay: Option<std::time::Duration>,
}

/// The two kinds of work, as the app's state; `Tab` switches.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum View {
    #[default]
    Compare,
    Scene,
}

/// The order of each frame's work across the app's plugins.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppSet {
    /// Answers from the store worker and finished background jobs arrive.
    Receive,
    /// They are applied to what is shown.
    Apply,
    /// Keys, the pointer and the panels' requests become commands and previews.
    Act,
    /// Background work is started for what is now shown (loading, findings).
    Start,
    /// What is shown is brought up to date (meshes, gizmos).
    Present,
}

/// The one plugin engine of the process, shared by every plugin the app loads (tasks, exporters):
/// one compiler, one code cache, one deadline thread.
#[derive(Resource, Clone)]
pub struct Plugins {
    pub engine: Result<Arc<PluginEngine>, String>,
    pub bundled: Vec<cairn_plugin_host::BundledPlugin>,
    pub project: PathBuf,
}

impl Plugins {
    pub fn new(bundled: Vec<cairn_plugin_host::BundledPlugin>, project: PathBuf) -> Plugins {
        Plugins { engine: PluginEngine::new(HostConfig::default()).map(Arc::new), bundled, project }
    }

    /// Finds a plugin as `cairn plugin list` would (bundled, user, beside the project).
    pub fn registry(&self) -> cairn_plugin_host::Registry {
        let project_dir = cairn_plugin_host::project_plugin_dir(&self.project);
        cairn_plugin_host::Registry::discover(&self.bundled, cairn_plugin_host::user_plugin_dir().as_deref(), Some(&project_dir))
    }

    /// Loads a task plugin. Blocking (compiles it): call it from a job.
    pub fn load_task(&self, task: &str) -> Result<cairn_plugin_host::TaskPlugin, String> {
        let engine = self.engine.clone()?;
        let registry = self.registry();
        let entry = registry.get(task).ok_or_else(|| format!("no task plugin {task:?}"))?;
        entry.load_task(&engine).map_err(|e| e.to_string())
    }
}

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
    let plugins = app.world().resource::<Plugins>().clone();
    app.add_plugins((
        view::ViewPlugin,
        export_dialog::ExportDialogPlugin(Mutex::new(Some(export_dialog::ExportDialog::new(&options, &plugins)))),
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
fn overlay_clear(view: Res<State<View>>, mut cameras: Query<&mut Camera, With<Camera2d>>) {
    for mut camera in &mut cameras {
        camera.clear_color = if *view.get() == View::Scene { ClearColorConfig::None } else { ClearColorConfig::Default };
    }
}

/// Everything but the window: the command path to the project, the session and the judge's
/// identity, the 3D view's logic and the task plugins. Tests build a headless app with
/// `MinimalPlugins` and this.
pub fn build(app: &mut App, options: &AppOptions) -> anyhow::Result<()> {
    // Opened here once so that a missing or damaged project stops `cairn open` with its error;
    // from now on only the store worker touches it.
    cairn_store::Project::open(&options.project)?;
    if !app.is_plugin_added::<StatesPlugin>() {
        app.add_plugins(StatesPlugin);
    }
    if !app.world().contains_resource::<keys::KeyMap>() {
        app.init_resource::<keys::KeyMap>();
    }
    let plugins = Plugins::new(options.plugins.clone(), options.project.clone());
    app.configure_sets(Update, (AppSet::Receive, AppSet::Apply, AppSet::Act, AppSet::Start, AppSet::Present).chain())
        .insert_state(options.view)
        .insert_resource(plugins.clone())
        .add_plugins(command::CommandPlugin(StoreOptions {
            project: options.project.clone(),
            policy: options.policy.clone(),
            commit_delay: options.commit_delay,
        }))
        .add_plugins(SessionPlugin)
        .add_plugins(task::TaskPlugin { task: options.task.clone() })
        .add_plugins(scene::ScenePlugin { frame: options.frame, select: options.select });
    if let Some(name) = &options.annotator {
        if name.trim().is_empty() {
            anyhow::bail!("--annotator: type a name");
        }
        app.world_mut().resource_mut::<StoreLink>().send(ProjectCommand::Identify(name.clone()));
    }
    Ok(())
}
