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

use crate::keys::KeyMap;
use crate::{ActiveView, View, Workspace};
use bevy::prelude::*;
use cairn_cloud::PointCloud;
use cairn_cloud::ground::{GroundParams, Plane, estimate_ground};
use cairn_cloud::octree::Octree;
use cairn_model::{AnnotationId, Cuboid, ItemData, ItemId, Modality, Payload};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};

pub use findings::{Classes, Findings};
pub use pointer::{Pointer, Tool};

/// One point-cloud frame of the project.
#[derive(Clone, Debug)]
pub struct FrameRef {
    pub item: ItemId,
    pub key: String,
    pub sequence: Option<String>,
    pub path: PathBuf,
    pub data: ItemData,
}

/// The project's point-cloud frames, by sequence and index.
#[derive(Resource, Default)]
pub struct Frames(pub Vec<FrameRef>);

impl Frames {
    /// The frame after `at` in the same sequence.
    pub fn next_in_sequence(&self, at: usize) -> Option<usize> {
        let here = self.0.get(at)?;
        let next = self.0.get(at + 1)?;
        (next.sequence == here.sequence).then_some(at + 1)
    }
}

/// A decoded frame: the cloud, its octree, the ground under it and its painted point labels.
pub struct LoadedCloud {
    pub cloud: PointCloud,
    pub octree: Octree,
    pub ground: Option<Plane>,
    /// One label per point of the file (0 = none), when the frame has painted labels.
    pub labels: Option<Vec<u16>>,
    /// A share of the file, shown while the rest is decoded: boxes are not fitted to it.
    pub preview: bool,
}

impl LoadedCloud {
    /// Indexes and measures the ground of a decoded cloud (what the loading thread does).
    pub fn new(cloud: PointCloud, labels: Option<Vec<u16>>) -> LoadedCloud {
        let octree = Octree::build(&cloud.positions);
        let ground = estimate_ground(&cloud.positions, &GroundParams::default());
        LoadedCloud { cloud, octree, ground, labels, preview: false }
    }

    /// Height of the ground under a local xy (the lowest points when no plane was found).
    pub fn ground_z(&self, x: f32, y: f32) -> f32 {
        match self.ground {
            Some(plane) => plane.z_at(x, y),
            None => self.cloud.local_bounds().map(|b| b.min[2]).unwrap_or(0.0),
        }
    }
}

/// A box of the frame on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneBox {
    pub annotation: AnnotationId,
    pub cuboid: Cuboid,
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
    pub boxes: Vec<SceneBox>,
    /// The cloud is on the GPU and has been drawn a few times (set by the renderer; headless, as
    /// soon as the cloud is loaded).
    pub ready: bool,
    pub message: String,
    /// What the loading thread is doing, while it is.
    pub loading: Option<String>,
    receiver: Option<Mutex<Receiver<Loaded>>>,
    /// The frame to show next (set by navigation, undo, `--frame`).
    pub wanted: Option<usize>,
    /// `--select`: what to select once the frame is loaded.
    pub select_on_load: Option<SelectSpec>,
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

/// Messages from a loading thread: stages, perhaps a preview, then the frame or an error.
enum Loaded {
    Stage(String),
    Preview(Arc<LoadedCloud>),
    Done(Result<Arc<LoadedCloud>, String>),
}

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
    pub plugins: Vec<cairn_plugin_host::BundledPlugin>,
    pub project: PathBuf,
}

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Scene {
            frame: self.frame as usize,
            key: String::new(),
            origin: [0.0; 3],
            cloud: None,
            cloud_generation: 0,
            frame_shown_at: 0,
            boxes: Vec::new(),
            ready: false,
            message: String::new(),
            loading: None,
            receiver: None,
            wanted: Some(self.frame as usize),
            select_on_load: self.select,
        })
        .init_resource::<Frames>()
        .init_resource::<Selection>()
        .init_resource::<EditClock>()
        .init_resource::<Pointer>()
        .init_resource::<Tool>()
        .init_resource::<edit::SceneStatus>()
        .add_message::<edit::SceneRequest>()
        .add_plugins(findings::FindingsPlugin::new(&self.plugins, &self.project))
        .add_systems(Startup, list_frames)
        .add_systems(
            Update,
            (edit::box_keys, edit::apply_requests, start_loading, finish_loading, edit_clock, pointer::pointer_tool, findings::request_findings)
                .chain()
                .run_if(in_scene),
        );
        if !app.world().contains_resource::<KeyMap>() {
            app.init_resource::<KeyMap>();
        }
    }
}

/// Scene systems run while the 3D view is shown.
pub fn in_scene(view: Res<ActiveView>) -> bool {
    view.0 == View::Scene
}

/// The point-cloud frames of every point-cloud dataset, by sequence and index.
fn list_frames(workspace: Res<Workspace>, mut frames: ResMut<Frames>, mut scene: ResMut<Scene>) {
    let project = workspace.project.lock().expect("project lock");
    let base = project.base_dir();
    let datasets: Vec<_> = match project.datasets() {
        Ok(d) => d.into_iter().filter(|d| d.modality == Modality::PointCloud).map(|d| d.id).collect(),
        Err(e) => {
            scene.message = format!("cannot list the frames: {e}");
            return;
        }
    };
    let mut list = Vec::new();
    for dataset in datasets {
        let _ = project.for_each_item::<cairn_store::StoreError>(Some(dataset), |item| {
            if let ItemData::Frame(frame) = &item.data {
                list.push(FrameRef {
                    item: item.id,
                    key: item.key.clone(),
                    sequence: frame.sequence.clone(),
                    path: base.join(&frame.source.path),
                    data: item.data.clone(),
                });
            }
            Ok(())
        });
    }
    // Stable: frames of one sequence stay in import order when their indices tie.
    list.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(frame_index(&a.data).cmp(&frame_index(&b.data))));
    if list.is_empty() {
        scene.message = "the project has no point-cloud frames".into();
        scene.wanted = None;
    } else if scene.wanted.is_some_and(|w| w >= list.len()) {
        scene.message = format!("the project has no point-cloud frame {} (it has {})", scene.frame, list.len());
        scene.wanted = None;
    }
    frames.0 = list;
}

fn frame_index(data: &ItemData) -> u32 {
    match data {
        ItemData::Frame(f) => f.index,
        _ => 0,
    }
}

/// Starts reading the wanted frame on a worker thread; its boxes come from the store at once.
fn start_loading(workspace: Res<Workspace>, frames: Res<Frames>, mut scene: ResMut<Scene>, mut selection: ResMut<Selection>, mut tool: ResMut<Tool>) {
    let Some(wanted) = scene.wanted.take() else { return };
    let Some(frame) = frames.0.get(wanted) else { return };
    let same_file = scene.cloud.is_some() && frames.0.get(scene.frame).is_some_and(|f| f.path == frame.path);
    scene.frame = wanted;
    scene.key = frame.key.clone();
    *tool = Tool::Idle;
    let track = selection.0.and_then(|s| scene.boxes.iter().find(|b| b.annotation == s)).and_then(|b| b.cuboid.track_id);
    edit::reload_boxes(&workspace, &frames, &mut scene);
    // Going through a sequence, the selection follows its track.
    if selection.0.is_some_and(|s| !scene.boxes.iter().any(|b| b.annotation == s)) {
        selection.0 = track.and_then(|t| scene.boxes.iter().find(|b| b.cuboid.track_id == Some(t))).map(|b| b.annotation);
    }
    if same_file {
        return;
    }
    let path = frame.path.clone();
    let summary = match &frame.data {
        ItemData::Frame(f) => Some(f.source.summary.clone()),
        ItemData::Comparison(_) => None,
    };
    let (project_path, item) = (workspace.project.lock().expect("project lock").path().to_path_buf(), frame.item);
    let (send, receive) = channel();
    std::thread::spawn(move || {
        // A share of a large LAS/LAZ file first: a picture within a fraction of the decode time.
        if let Ok(Some(share)) = cairn_cloud::read_preview(&path, PREVIEW_POINTS) {
            let mut preview = LoadedCloud::new(share, None);
            preview.preview = true;
            let _ = send.send(Loaded::Preview(Arc::new(preview)));
        }
        let _ = send.send(Loaded::Stage(format!("decoding {}", path.display())));
        // As the import recorded it: a stated `.bin` layout is not one the file name gives.
        let read = match &summary {
            Some(summary) => cairn_cloud::read_frame(&path, summary),
            None => cairn_cloud::read_cloud(&path, None),
        };
        let cloud = match read {
            Ok(cloud) => cloud,
            Err(e) => {
                let _ = send.send(Loaded::Done(Err(e.to_string())));
                return;
            }
        };
        let _ = send.send(Loaded::Stage(format!("indexing {} points", cloud.positions.len())));
        // Painted labels through a connection of this thread's own (readers do not block the app's).
        let labels = match cairn_store::Project::open(&project_path).and_then(|p| p.point_labels(item)) {
            Ok(chunks) if !chunks.is_empty() => {
                // By point index in the file (what `PointCloud::source_index` maps to).
                let mut labels = Vec::new();
                for chunk in chunks {
                    let first = chunk.first_point() as usize;
                    if labels.len() < first + chunk.labels.len() {
                        labels.resize(first + chunk.labels.len(), 0u16);
                    }
                    labels[first..first + chunk.labels.len()].copy_from_slice(&chunk.labels);
                }
                Some(labels)
            }
            Ok(_) => None,
            Err(e) => {
                let _ = send.send(Loaded::Done(Err(format!("cannot read the frame's labels: {e}"))));
                return;
            }
        };
        let _ = send.send(Loaded::Done(Ok(Arc::new(LoadedCloud::new(cloud, labels)))));
    });
    scene.loading = Some(format!("opening {}", frame.path.display()));
    scene.ready = false;
    scene.receiver = Some(Mutex::new(receive));
}

fn finish_loading(mut scene: ResMut<Scene>, mut selection: ResMut<Selection>) {
    let Some(receiver) = &scene.receiver else { return };
    let mut done = None;
    let mut stage = None;
    let mut preview = None;
    {
        let receiver = receiver.lock().expect("loader lock");
        while let Ok(message) = receiver.try_recv() {
            match message {
                Loaded::Stage(s) => stage = Some(s),
                Loaded::Preview(p) => preview = Some(p),
                Loaded::Done(result) => done = Some(result),
            }
        }
    }
    if let Some(stage) = stage {
        scene.loading = Some(stage);
    }
    if let Some(preview) = preview
        && done.is_none()
    {
        scene.loading = Some(format!("showing {} points while the rest is decoded", preview.cloud.positions.len()));
        scene.origin = preview.cloud.origin;
        scene.cloud = Some(preview);
        scene.cloud_generation += 1;
        scene.frame_shown_at = scene.cloud_generation;
    }
    let Some(result) = done else { return };
    scene.receiver = None;
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
            if let Some(spec) = scene.select_on_load.take() {
                selection.0 = scene.boxes.iter().find(|b| spec.matches(b)).map(|b| b.annotation);
                if selection.0.is_none() {
                    scene.message = format!("{}: nothing to select for {spec:?}", scene.key);
                }
            }
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

/// A box's centre in the frame's local coordinates.
pub fn local_center(origin: [f64; 3], c: &Cuboid) -> Vec3 {
    Vec3::new((c.center[0] - origin[0]) as f32, (c.center[1] - origin[1]) as f32, (c.center[2] - origin[2]) as f32)
}

/// Rotation of a box (yaw about +z, then pitch, then roll).
pub fn rotation(c: &Cuboid) -> Quat {
    Quat::from_rotation_z(c.yaw as f32) * Quat::from_rotation_y(c.pitch as f32) * Quat::from_rotation_x(c.roll as f32)
}

/// The boxes of one item, with their annotation ids.
pub fn boxes_of(project: &cairn_store::Project, item: ItemId) -> Result<Vec<SceneBox>, String> {
    Ok(project
        .annotations_of(item)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|a| match a.payload {
            Payload::Cuboid(cuboid) => Some(SceneBox { annotation: a.id, cuboid }),
            _ => None,
        })
        .collect())
}
