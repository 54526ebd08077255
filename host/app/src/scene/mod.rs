//! The 3D view of point-cloud frames and the cuboid workflow.
//!
//! `ScenePlugin` holds what runs headless (frames, loading on worker threads, boxes, selection, the
//! box tools and their edits, validation by the task plugin); `render::SceneRenderPlugin` adds what
//! needs a GPU and a window (points with level of detail, camera, box gizmos, panels). Boxes are
//! stored in file coordinates (f64); everything on screen is in the frame's local f32 frame, offsets
//! from the cloud's f64 origin, so georeferenced scans draw without jitter.

pub mod edit;
pub mod findings;
pub mod pointer;
pub mod render;

use crate::command::{CommandKind, ProjectCommand, ProjectReply, StoreLink, StoreReply};
use crate::jobs::{self, Job};
use crate::keys::KeyMap;
use crate::{AppSet, View};
use bevy::prelude::*;
use cairn_model::{AnnotationId, ItemData};
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::boxes::{FrameRef, LoadedCloud, SceneBox, boxes_of, local_center, rotation};
pub use findings::{Classes, Findings};
pub use pointer::{Pointer, Tool};

/// The project's point-cloud frames, by sequence and index (from the store worker).
#[derive(Resource, Default)]
pub struct Frames {
    pub list: Vec<FrameRef>,
    /// The list has arrived.
    pub listed: bool,
}

impl Frames {
    /// The frame after `at` in the same sequence.
    pub fn next_in_sequence(&self, at: usize) -> Option<usize> {
        crate::boxes::next_in_sequence(&self.list, at)
    }
}

/// The frame on screen and its state.
#[derive(Resource)]
pub struct Scene {
    /// Index into [`Frames`].
    pub frame: usize,
    pub key: String,
    pub origin: [f64; 3],
    pub cloud: Option<Arc<LoadedCloud>>,
    /// Bumped whenever `cloud` changes, so the renderer knows to rebuild its buffers.
    pub cloud_generation: u64,
    /// The generation the frame was first shown at (its preview's, if it had one): the camera
    /// follows a frame once, not again when the whole cloud replaces the preview.
    pub frame_shown_at: u64,
    /// The frame's boxes: as stored, with the changes not yet durable shown on top.
    pub boxes: Vec<SceneBox>,
    /// The cloud is on the GPU and has been drawn a few times (set by the renderer; headless, as
    /// soon as the cloud is loaded).
    pub ready: bool,
    pub message: String,
    /// What the loading job is doing, while it is.
    pub loading: Option<String>,
    loader: Option<Job<Arc<LoadedCloud>, Loaded>>,
    /// The frame to show next (set by navigation, undo, `--frame`).
    pub wanted: Option<usize>,
    /// `--select`: what to select once the frame is loaded.
    pub select_on_load: Option<SelectSpec>,
}

impl Scene {
    /// A scene on `frame` with `cloud` (or none yet) as generation `generation`.
    pub fn showing(frame: usize, cloud: Option<Arc<LoadedCloud>>, generation: u64, select_on_load: Option<SelectSpec>) -> Scene {
        Scene {
            frame,
            key: String::new(),
            origin: cloud.as_ref().map_or([0.0; 3], |c| c.cloud.origin),
            cloud,
            cloud_generation: generation,
            frame_shown_at: generation,
            boxes: Vec::new(),
            ready: false,
            message: String::new(),
            loading: None,
            loader: None,
            wanted: None,
            select_on_load,
        }
    }
}

/// What `--select` names: an annotation id, or a track id (`track:N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectSpec {
    Annotation(i64),
    Track(u64),
}

impl SelectSpec {
    pub fn parse(text: &str) -> Result<SelectSpec, String> {
        let text = text.trim();
        let bad = || format!("--select {text:?}: give an annotation id (e.g. 12) or a track id (track:3)");
        match text.strip_prefix("track:") {
            Some(track) => track.trim().parse().map(SelectSpec::Track).map_err(|_| bad()),
            None => text.parse().map(SelectSpec::Annotation).map_err(|_| bad()),
        }
    }

    fn matches(&self, b: &SceneBox) -> bool {
        match *self {
            SelectSpec::Annotation(id) => b.annotation.0 == id,
            SelectSpec::Track(track) => b.cuboid.track_id == Some(track),
        }
    }
}

/// What a loading job reports before the whole frame: a preview of a large file.
struct Loaded(Arc<LoadedCloud>);

/// Files with more points than this show a share of them first, while the rest is decoded.
const PREVIEW_POINTS: usize = 500_000;

/// The selected box.
#[derive(Resource, Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection(pub Option<AnnotationId>);

/// Active time spent since the last box edit: what the next edit's revision records.
#[derive(Resource, Default)]
pub struct EditClock {
    pub active_ms: u64,
    last_input: Option<std::time::Duration>,
}

pub struct ScenePlugin {
    pub frame: u32,
    pub select: Option<SelectSpec>,
}

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Scene::showing(self.frame as usize, None, 0, self.select))
            .init_resource::<Frames>()
            .init_resource::<Selection>()
            .init_resource::<EditClock>()
            .init_resource::<Pointer>()
            .init_resource::<Tool>()
            .init_resource::<edit::SceneStatus>()
            .add_message::<edit::SceneRequest>()
            .add_plugins(findings::FindingsPlugin)
            .add_systems(Startup, |mut link: ResMut<StoreLink>| {
                link.send(ProjectCommand::ListFrames);
            })
            .add_systems(Update, (apply_replies, finish_loading).chain().in_set(AppSet::Apply))
            .add_systems(
                Update,
                (edit::box_keys, edit_clock, pointer::pointer_tool, edit::apply_requests).chain().in_set(AppSet::Act).run_if(in_scene),
            )
            .add_systems(Update, (reload_changed_frame, start_loading, findings::request_findings).chain().in_set(AppSet::Start));
        let first = self.frame as usize;
        app.insert_resource(FirstFrame(first));
        if !app.world().contains_resource::<KeyMap>() {
            app.init_resource::<KeyMap>();
        }
    }
}

/// `--frame`: the frame to show once the list has arrived.
#[derive(Resource)]
struct FirstFrame(usize);

/// Scene systems that take input run while the 3D view is shown.
pub fn in_scene(view: Res<State<View>>) -> bool {
    *view.get() == View::Scene
}

/// Applies the store worker's answers for the 3D view. Boxes and selection are taken from the
/// answer to the last scene command sent: until then the screen shows the changes sent on top of
/// what was stored, and an earlier answer would undo them on screen for a moment.
#[allow(clippy::too_many_arguments)]
fn apply_replies(
    mut replies: MessageReader<StoreReply>,
    link: Res<StoreLink>,
    first: Option<Res<FirstFrame>>,
    mut commands: Commands,
    mut frames: ResMut<Frames>,
    mut scene: ResMut<Scene>,
    mut selection: ResMut<Selection>,
    mut status: ResMut<edit::SceneStatus>,
) {
    let settled = link.pending(CommandKind::Scene) == 0;
    for StoreReply { reply, .. } in replies.read() {
        match reply {
            ProjectReply::Frames(Ok(list)) => {
                frames.list = list.clone();
                frames.listed = true;
                let first = first.as_ref().map_or(0, |f| f.0);
                if list.is_empty() {
                    scene.message = "the project has no point-cloud frames".into();
                } else if first >= list.len() {
                    scene.message = format!("the project has no point-cloud frame {first} (it has {})", list.len());
                } else {
                    scene.wanted = Some(first);
                }
                commands.remove_resource::<FirstFrame>();
            }
            ProjectReply::Frames(Err(e)) => {
                frames.listed = true;
                scene.message = e.clone();
            }
            ProjectReply::Scene(state) => {
                match &state.message {
                    Some(Ok(message)) if !message.is_empty() => status.message = message.clone(),
                    Some(Err(e)) => status.message = e.clone(),
                    _ => {}
                }
                if !settled {
                    continue;
                }
                if state.frame != scene.frame && state.frame < frames.list.len() {
                    // An edit went to another frame (copy to the next, undo elsewhere).
                    scene.wanted = Some(state.frame);
                }
                scene.boxes = state.boxes.clone();
                selection.0 = state.selection;
            }
            ProjectReply::Failed { kind: CommandKind::Scene, error } => {
                status.message = error.clone();
            }
            _ => {}
        }
    }
}

/// Someone else changed the frame on screen: its boxes are asked for again (shown once no edit of
/// ours is waiting, as every scene reply is).
fn reload_changed_frame(
    mut changes: MessageReader<crate::command::ProjectChanged>,
    mut link: ResMut<StoreLink>,
    frames: Res<Frames>,
    scene: Res<Scene>,
    mut status: ResMut<edit::SceneStatus>,
) {
    let Some(item) = frames.list.get(scene.frame).map(|f| f.item) else {
        changes.clear();
        return;
    };
    if changes.read().any(|c| c.items.contains(&item)) {
        link.send(ProjectCommand::ShowFrame(scene.frame));
        status.message = "this frame was changed by another annotator: reloaded".into();
    }
}

/// Starts reading the wanted frame in a background job and asks the store worker for its boxes.
fn start_loading(mut link: ResMut<StoreLink>, frames: Res<Frames>, mut scene: ResMut<Scene>, mut tool: ResMut<Tool>) {
    let Some(wanted) = scene.wanted.take() else { return };
    let Some(frame) = frames.list.get(wanted) else { return };
    let same_file = scene.cloud.is_some() && frames.list.get(scene.frame).is_some_and(|f| f.path == frame.path);
    let moved = wanted != scene.frame;
    scene.frame = wanted;
    scene.key = frame.key.clone();
    *tool = Tool::Idle;
    if moved || scene.loader.is_none() {
        link.send(ProjectCommand::ShowFrame(wanted));
    }
    if same_file && scene.loader.is_none() {
        return;
    }
    let path = frame.path.clone();
    let summary = match &frame.data {
        ItemData::Frame(f) => Some(f.source.summary.clone()),
        ItemData::Comparison(_) => None,
    };
    let (project, item) = (link.project().to_path_buf(), frame.item);
    scene.loading = Some(format!("opening {}", frame.path.display()));
    scene.ready = false;
    // A newer frame replaces the job of an older one (dropping it tells it to stop).
    scene.loader = Some(jobs::spawn("frame loader", move |context| load_frame(context, path, summary, project, item)));
}

/// Reads a frame: a preview share of a large LAS/LAZ file first, then the whole cloud, indexed,
/// with its painted labels.
fn load_frame(
    context: &jobs::JobContext<Loaded>,
    path: PathBuf,
    summary: Option<cairn_model::CloudSummary>,
    project: PathBuf,
    item: cairn_model::ItemId,
) -> Result<Arc<LoadedCloud>, String> {
    // A share of a large LAS/LAZ file first: a picture within a fraction of the decode time.
    if let Ok(Some(share)) = cairn_cloud::read_preview(&path, PREVIEW_POINTS) {
        let mut preview = LoadedCloud::new(share, None);
        preview.preview = true;
        if !context.partial(Loaded(Arc::new(preview))) {
            return Err("no longer wanted".into());
        }
    }
    context.stage(format!("decoding {}", path.display()));
    // As the import recorded it: a stated `.bin` layout is not one the file name gives.
    let read = match &summary {
        Some(summary) => cairn_cloud::read_frame(&path, summary),
        None => cairn_cloud::read_cloud(&path, None),
    };
    let cloud = read.map_err(|e| e.to_string())?;
    context.stage(format!("indexing {} points", cloud.positions.len()));
    // Painted labels through a connection of the job's own (readers do not wait on writers).
    let chunks =
        cairn_store::Project::open(&project).and_then(|p| p.point_labels(item)).map_err(|e| format!("cannot read the frame's labels: {e}"))?;
    let labels = (!chunks.is_empty()).then(|| {
        // By point index in the file (what `PointCloud::source_index` maps to).
        let mut labels = Vec::new();
        for chunk in chunks {
            let first = chunk.first_point() as usize;
            if labels.len() < first + chunk.labels.len() {
                labels.resize(first + chunk.labels.len(), 0u16);
            }
            labels[first..first + chunk.labels.len()].copy_from_slice(&chunk.labels);
        }
        labels
    });
    Ok(Arc::new(LoadedCloud::new(cloud, labels)))
}

fn finish_loading(mut scene: ResMut<Scene>, mut selection: ResMut<Selection>, mut link: ResMut<StoreLink>) {
    // `--select` once the frame and its boxes are both there.
    if scene.loader.is_none()
        && scene.cloud.is_some()
        && link.pending(CommandKind::Scene) == 0
        && let Some(spec) = scene.select_on_load.take()
    {
        selection.0 = scene.boxes.iter().find(|b| spec.matches(b)).map(|b| b.annotation);
        link.send(ProjectCommand::Select(selection.0));
        if selection.0.is_none() {
            scene.message = format!("{}: nothing to select for {spec:?}", scene.key);
        }
    }
    let Some(loader) = &scene.loader else { return };
    let polled = loader.poll();
    if let Some(stage) = polled.stage {
        scene.loading = Some(stage);
    }
    if let Some(Loaded(preview)) = polled.partials.into_iter().last()
        && polled.done.is_none()
    {
        scene.loading = Some(format!("showing {} points while the rest is decoded", preview.cloud.positions.len()));
        scene.origin = preview.cloud.origin;
        scene.cloud = Some(preview);
        scene.cloud_generation += 1;
        scene.frame_shown_at = scene.cloud_generation;
    }
    let Some(result) = polled.done else { return };
    scene.loader = None;
    scene.loading = None;
    match result {
        Ok(loaded) => {
            let count = loaded.cloud.positions.len();
            let had_preview = scene.cloud.as_ref().is_some_and(|c| c.preview);
            scene.origin = loaded.cloud.origin;
            scene.cloud = Some(loaded);
            scene.cloud_generation += 1;
            if !had_preview {
                scene.frame_shown_at = scene.cloud_generation;
            }
            scene.message = format!("{}: {count} points", scene.key);
        }
        Err(e) => {
            scene.cloud = None;
            scene.cloud_generation += 1;
            scene.message = format!("cannot read the frame: {e}");
        }
    }
}

/// Idle longer than this and the edit clock stops.
const IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

fn edit_clock(
    time: Res<Time>,
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut clock: ResMut<EditClock>,
) {
    if keys.get_just_pressed().next().is_some() || buttons.get_just_pressed().next().is_some() {
        clock.last_input = Some(time.elapsed());
    }
    let focused = windows.iter().next().is_none_or(|w| w.focused);
    if focused && clock.last_input.is_some_and(|at| time.elapsed().saturating_sub(at) < IDLE_AFTER) {
        clock.active_ms += time.delta().as_millis() as u64;
    }
}
