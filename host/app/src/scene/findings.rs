//! The cuboid task plugin, in a long-lived background job: its classes (colours, hotkeys, default
//! sizes) and its validation findings for the boxes of the frame on screen. The frame loop only
//! sends requests and picks up answers.

use super::{LoadedCloud, Scene, SceneBox};
use crate::command::{ProjectCommand, StoreLink};
use crate::jobs::{self, Job, JobContext};
use bevy::prelude::*;
use cairn_cloud::spatial::{OrientedBox, points_in_box};
use cairn_model::{AnnotationId, ItemData, Payload};
use cairn_plugin_host::{Attribute, LabelClass, Subject};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// The task plugin that describes boxes.
pub const CUBOID_TASK: &str = "cuboid-detection";

/// Classes from the task plugin, and the class new boxes get.
#[derive(Resource, Default)]
pub struct Classes {
    pub list: Vec<LabelClass>,
    /// The attributes every box may carry.
    pub attributes: Vec<Attribute>,
    pub current: String,
    /// The plugin has answered (or failed to load).
    pub loaded: bool,
    pub error: Option<String>,
}

impl Classes {
    pub fn colour(&self, class: &str) -> [u8; 3] {
        self.list.iter().find(|c| c.id == class).map_or([230, 230, 230], |c| c.color)
    }

    /// The plugin's default size for a class, else the engine's table of common classes.
    pub fn default_size(&self, class: &str) -> Option<[f64; 3]> {
        self.list.iter().find(|c| c.id == class).and_then(|c| c.default_size).or_else(|| cairn_cloud::fit::default_size(class))
    }

    /// The class whose hotkey was pressed this frame (plain key, no modifiers). A hotkey that is
    /// also one of the view's keys belongs to the view (see [`Classes::hotkey_clashes`]).
    pub fn hotkey_class(&self, keys: &ButtonInput<KeyCode>, map: &crate::keys::KeyMap) -> Option<&str> {
        if keys.any_pressed([
            KeyCode::ControlLeft,
            KeyCode::ControlRight,
            KeyCode::AltLeft,
            KeyCode::AltRight,
            KeyCode::ShiftLeft,
            KeyCode::ShiftRight,
        ]) {
            return None;
        }
        self.list
            .iter()
            .find(|c| c.hotkey.and_then(key_of_char).is_some_and(|k| keys.just_pressed(k) && map.binds(&crate::keys::Chord::key(k)).is_none()))
            .map(|c| c.id.as_str())
    }

    /// Class hotkeys the key map already uses: "class (key) is also action".
    pub fn hotkey_clashes(&self, map: &crate::keys::KeyMap) -> Vec<String> {
        self.list
            .iter()
            .filter_map(|c| {
                let key = c.hotkey?;
                let action = map.binds(&crate::keys::Chord::key(key_of_char(key)?))?;
                Some(format!("{} ({key}) is also {}", c.id, action.id()))
            })
            .collect()
    }
}

/// The key that types a character (letters and digits).
pub fn key_of_char(c: char) -> Option<KeyCode> {
    crate::keys::Chord::parse(&c.to_string()).ok().filter(|k| !k.ctrl && !k.shift && !k.alt).map(|k| k.key)
}

/// What the plugin said about each box of the frame on screen.
#[derive(Resource, Default)]
pub struct Findings {
    pub by_box: HashMap<AnnotationId, Vec<String>>,
    /// Points inside each box, as counted for validation.
    pub points: HashMap<AnnotationId, usize>,
    /// The boxes (and frame) the findings are for; a change sends a new request.
    asked: Option<(u64, Vec<SceneBox>)>,
}

struct Request {
    item: ItemData,
    boxes: Vec<SceneBox>,
    cloud: Arc<LoadedCloud>,
}

struct Answer {
    findings: HashMap<AnnotationId, Vec<String>>,
    points: HashMap<AnnotationId, usize>,
}

enum FromWorker {
    Classes(Result<(Vec<LabelClass>, Vec<Attribute>), String>),
    Findings(Result<Answer, String>),
}

/// The plugin job's ends.
#[derive(Resource)]
pub struct Worker {
    send: Sender<Request>,
    job: Job<(), FromWorker>,
}

pub struct FindingsPlugin;

/// Loads the cuboid task, says its classes, then validates the boxes of each request.
fn serve(plugins: crate::Plugins, requests: Receiver<Request>, context: &JobContext<FromWorker>) -> Result<(), String> {
    let mut plugin = match plugins.load_task(CUBOID_TASK) {
        Ok(plugin) => {
            context.partial(FromWorker::Classes(Ok((plugin.info().classes.clone(), plugin.info().attributes.clone()))));
            plugin
        }
        Err(e) => {
            context.partial(FromWorker::Classes(Err(e)));
            return Ok(());
        }
    };
    while let Ok(mut request) = requests.recv() {
        // Only the newest request matters.
        while let Ok(newer) = requests.try_recv() {
            request = newer;
        }
        let points: HashMap<AnnotationId, usize> = request
            .boxes
            .iter()
            .map(|b| (b.annotation, points_in_box(&request.cloud.cloud.positions, &OrientedBox::from_cuboid(&request.cloud.cloud, &b.cuboid)).len()))
            .collect();
        let subjects: Vec<Subject> = request
            .boxes
            .iter()
            .map(|b| Subject { payload: Payload::Cuboid(b.cuboid.clone()), point_count: Some(points[&b.annotation] as u64) })
            .collect();
        let answer = plugin.validate(&request.item, &subjects, &[]).map_err(|e| e.to_string()).map(|found| {
            let mut findings: HashMap<AnnotationId, Vec<String>> = HashMap::new();
            for f in found {
                if let Some(b) = request.boxes.get(f.subject) {
                    let level = format!("{:?}", f.severity).to_lowercase();
                    findings.entry(b.annotation).or_default().push(format!("{level}: {}: {}", f.field, f.message));
                }
            }
            Answer { findings, points }
        });
        if !context.partial(FromWorker::Findings(answer)) {
            break;
        }
    }
    Ok(())
}

impl Plugin for FindingsPlugin {
    fn build(&self, app: &mut App) {
        let (send, requests) = channel();
        let plugins = app.world().resource::<crate::Plugins>().clone();
        let job = jobs::spawn(format!("task plugin {CUBOID_TASK}"), move |context| serve(plugins, requests, context));
        app.init_resource::<Classes>()
            .init_resource::<Findings>()
            .insert_resource(Worker { send, job })
            .add_systems(Update, receive.in_set(crate::AppSet::Receive));
    }
}

fn receive(worker: Res<Worker>, mut classes: ResMut<Classes>, mut findings: ResMut<Findings>, mut link: ResMut<StoreLink>) {
    let polled = worker.job.poll();
    for message in polled.partials {
        match message {
            FromWorker::Classes(Ok((list, attributes))) => {
                classes.attributes = attributes;
                if classes.current.is_empty() {
                    classes.current = list.first().map(|c| c.id.clone()).unwrap_or_default();
                }
                // The store worker fits boxes with these sizes when few points show.
                link.send(ProjectCommand::ClassSizes(list.iter().filter_map(|c| Some((c.id.clone(), c.default_size?))).collect()));
                classes.list = list;
                classes.loaded = true;
            }
            FromWorker::Classes(Err(e)) => {
                classes.error = Some(format!("task plugin {CUBOID_TASK}: {e}"));
                classes.loaded = true;
            }
            FromWorker::Findings(Ok(answer)) => {
                findings.by_box = answer.findings;
                findings.points = answer.points;
            }
            FromWorker::Findings(Err(e)) => {
                findings.by_box = HashMap::new();
                warn!("validation failed: {e}");
            }
        }
    }
    // The job ended: a load error was said above; anything else (a panic) is said here, once.
    if let Some(Err(e)) = polled.done
        && classes.error.is_none()
    {
        classes.error = Some(e);
        classes.loaded = true;
    }
}

/// Asks for findings whenever the boxes on screen (or the cloud) change.
pub fn request_findings(worker: Res<Worker>, scene: Res<Scene>, frames: Res<super::Frames>, mut findings: ResMut<Findings>) {
    let Some(cloud) = scene.cloud.as_ref() else { return };
    if scene.loading.is_some() {
        return;
    }
    if findings.asked.as_ref().is_some_and(|(generation, boxes)| *generation == scene.cloud_generation && *boxes == scene.boxes) {
        return;
    }
    let Some(frame) = frames.list.get(scene.frame) else { return };
    findings.asked = Some((scene.cloud_generation, scene.boxes.clone()));
    let _ = worker.send.send(Request { item: frame.data.clone(), boxes: scene.boxes.clone(), cloud: cloud.clone() });
}
