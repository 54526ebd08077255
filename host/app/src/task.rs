//! The comparison task plugin's questions and guidelines, loaded in a background job so the window
//! opens at once.

use crate::Plugins;
use crate::jobs::{self, Job};
use bevy::prelude::*;
use cairn_plugin_host::{QuestionKind, TaskInfo};

/// What the judging controls ask, from the task plugin.
#[derive(Resource, Clone, Debug)]
pub struct TaskSchema {
    /// Per-criterion questions (`criteria.<name>` choice questions).
    pub criteria: Vec<String>,
    /// Markdown shown one key away (G).
    pub guidelines: String,
    /// The plugin has answered, or failed to load.
    pub loaded: bool,
}

/// What the task plugin asks: criteria and guidelines; defaults until the plugin has loaded.
impl Default for TaskSchema {
    fn default() -> Self {
        TaskSchema {
            criteria: crate::judge::DEFAULT_CRITERIA.iter().map(|c| c.to_string()).collect(),
            guidelines: String::from("Loading guidelines…"),
            loaded: false,
        }
    }
}

/// The comparison task plugin (`--task`); the cuboid task is the 3D view's (`scene::findings`).
pub struct TaskPlugin {
    pub task: String,
}

/// Criteria are the task's `criteria.*` choice questions; the rest of the schema drives the controls.
pub fn schema_of(info: &TaskInfo) -> TaskSchema {
    let criteria = info
        .questions
        .iter()
        .filter(|q| matches!(q.kind, QuestionKind::Choice(_)))
        .filter_map(|q| q.id.strip_prefix("criteria.").map(str::to_string))
        .collect();
    TaskSchema { criteria, guidelines: info.guidelines.clone(), loaded: true }
}

#[derive(Resource)]
struct Loading(Job<TaskInfo>);

impl Plugin for TaskPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TaskSchema>();
        if self.task.is_empty() {
            return;
        }
        let plugins = app.world().resource::<Plugins>().clone();
        let task = self.task.clone();
        let job = jobs::spawn(format!("task plugin {task}"), move |_| plugins.load_task(&task).map(|plugin| plugin.info().clone()));
        app.insert_resource(Loading(job)).add_systems(Update, receive.in_set(crate::AppSet::Receive));
    }
}

fn receive(loading: Option<Res<Loading>>, mut schema: ResMut<TaskSchema>, mut status: ResMut<crate::Status>, mut commands: Commands) {
    let Some(loading) = loading else { return };
    let Some(done) = loading.0.poll().done else { return };
    match done {
        Ok(info) => *schema = schema_of(&info),
        Err(e) => {
            status.message = format!("task plugin: {e}; using the default questions");
            schema.guidelines = format!("No guidelines: the task plugin could not be loaded ({e}).");
            schema.loaded = true;
        }
    }
    commands.remove_resource::<Loading>();
}
