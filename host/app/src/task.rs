//! The task plugin's questions and guidelines, loaded on a worker thread so the window opens at once.

use crate::AppOptions;
use bevy::prelude::*;
use cairn_plugin_host::{BundledPlugin, HostConfig, PluginEngine, QuestionKind, Registry, TaskInfo};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};

/// What the judging controls ask, from the task plugin.
#[derive(Resource, Clone, Debug)]
pub struct TaskSchema {
    /// Per-criterion questions (`criteria.<name>` choice questions).
    pub criteria: Vec<String>,
    /// Markdown shown one key away (G).
    pub guidelines: String,
}

/// The comparison task plugin (`--task`); the cuboid task is the 3D view's (`scene::findings`).
pub struct TaskPlugin {
    loaded: Mutex<Option<Receiver<Result<TaskInfo, String>>>>,
}

/// Finds a task plugin as `cairn plugin list` would (bundled, user, beside the project) and loads
/// it. Blocking: call it on a worker thread.
pub(crate) fn load_task_plugin(bundled: &[BundledPlugin], project: &Path, task: &str) -> Result<cairn_plugin_host::TaskPlugin, String> {
    let project_dir = cairn_plugin_host::project_plugin_dir(project);
    let registry = Registry::discover(bundled, cairn_plugin_host::user_plugin_dir().as_deref(), Some(&project_dir));
    let entry = registry.get(task).ok_or_else(|| format!("no task plugin {task:?}"))?;
    let engine = PluginEngine::new(HostConfig::default())?;
    entry.load_task(&engine).map_err(|e| e.to_string())
}

/// Loads a task plugin's description on a worker thread.
fn load_in_background(options: &AppOptions, task: &str) -> Receiver<Result<TaskInfo, String>> {
    let (send, receive) = channel();
    let (bundled, project, task) = (options.plugins.clone(), options.project.clone(), task.to_string());
    std::thread::spawn(move || {
        let _ = send.send(load_task_plugin(&bundled, &project, &task).map(|plugin| plugin.info().clone()));
    });
    receive
}

impl TaskPlugin {
    pub fn new(options: &AppOptions) -> Self {
        TaskPlugin { loaded: Mutex::new(Some(load_in_background(options, &options.task))) }
    }
}

/// Criteria are the task's `criteria.*` choice questions; the rest of the schema drives the controls.
pub fn schema_of(info: &cairn_plugin_host::TaskInfo) -> TaskSchema {
    let criteria = info
        .questions
        .iter()
        .filter(|q| matches!(q.kind, QuestionKind::Choice(_)))
        .filter_map(|q| q.id.strip_prefix("criteria.").map(str::to_string))
        .collect();
    TaskSchema { criteria, guidelines: info.guidelines.clone() }
}

#[derive(Resource)]
struct Loading(Mutex<Receiver<Result<TaskInfo, String>>>);

impl Plugin for TaskPlugin {
    fn build(&self, app: &mut App) {
        if let Some(compare) = self.loaded.lock().expect("task loader lock").take() {
            app.insert_resource(Loading(Mutex::new(compare))).add_systems(Update, receive);
        }
    }
}

fn receive(loading: Option<Res<Loading>>, mut schema: ResMut<TaskSchema>, mut status: ResMut<crate::Status>, mut commands: Commands) {
    let Some(loading) = loading else { return };
    let result = loading.0.lock().expect("task loader lock").try_recv();
    match result {
        Ok(Ok(loaded)) => {
            *schema = schema_of(&loaded);
            commands.remove_resource::<Loading>();
        }
        Ok(Err(e)) => {
            status.message = format!("task plugin: {e}; using the default questions");
            schema.guidelines = "No guidelines: the task plugin could not be loaded.".into();
            commands.remove_resource::<Loading>();
        }
        Err(_) => {}
    }
}
