//! The 3D view of a point-cloud frame: points (loaded and decoded on a worker thread, kept as f32
//! offsets from the cloud's f64 origin so georeferenced scans draw without jitter), the frame's boxes
//! with their heading arrows in their class colours, and an orbit camera. `Tab` switches between
//! this view and the comparison view.

use crate::{ActiveView, View, Workspace};
use bevy::asset::RenderAssetUsages;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;
use bevy_egui::{egui, EguiContexts, EguiPrimaryContextPass};
use cairn_cloud::PointCloud;
use cairn_model::{Cuboid, ItemData, Modality, Payload};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;

/// Points uploaded per frame at most; denser clouds are drawn at a stride.
const POINT_BUDGET: usize = 2_000_000;

/// Which frame to show, and its state.
#[derive(Resource)]
pub struct Scene {
    pub frame: u32,
    pub key: String,
    pub origin: [f64; 3],
    pub boxes: Vec<Cuboid>,
    pub points: usize,
    /// The cloud is on the GPU and has been drawn a few times.
    pub ready: bool,
    pub message: String,
    loading: Option<Mutex<Receiver<Result<LoadedFrame, String>>>>,
    drawn_frames: u32,
}

/// A frame read on the worker: its cloud, its boxes and its key.
type LoadedFrame = (PointCloud, Vec<Cuboid>, String);

/// Class colours from the cuboid task plugin (grey until it has loaded); `loaded` once it has
/// loaded or failed to.
#[derive(Resource, Default)]
pub struct ClassColours {
    pub colours: HashMap<String, [u8; 3]>,
    pub loaded: bool,
}

#[derive(Component)]
struct CloudPoints;

#[derive(Component)]
struct Orbit {
    target: Vec3,
    distance: f32,
    yaw: f32,
    pitch: f32,
}

pub struct ScenePlugin {
    pub frame: u32,
}

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Scene {
            frame: self.frame,
            key: String::new(),
            origin: [0.0; 3],
            boxes: Vec::new(),
            points: 0,
            ready: false,
            message: String::new(),
            loading: None,
            drawn_frames: 0,
        })
        .init_resource::<ClassColours>()
        .add_systems(Startup, setup)
        .add_systems(Update, (start_loading, finish_loading, orbit, draw_boxes, switch_view, count_ready).chain())
        .add_systems(EguiPrimaryContextPass, panels);
    }
}

fn setup(mut commands: Commands) {
    commands.spawn((
        Camera3d::default(),
        Camera { order: -1, is_active: false, clear_color: ClearColorConfig::Custom(Color::srgb(0.06, 0.06, 0.08)), ..default() },
        Transform::from_xyz(30.0, -30.0, 30.0).looking_at(Vec3::ZERO, Vec3::Z),
        Orbit { target: Vec3::ZERO, distance: 50.0, yaw: -0.8, pitch: 0.6 },
    ));
}

/// Starts reading the frame's cloud and boxes on a worker thread, once, when the view is shown.
fn start_loading(view: Res<ActiveView>, workspace: Res<Workspace>, mut scene: ResMut<Scene>) {
    if view.0 != View::Scene || scene.loading.is_some() || !scene.key.is_empty() || !scene.message.is_empty() {
        return;
    }
    let found = {
        let project = workspace.project.lock().expect("project lock");
        let mut frames = Vec::new();
        let datasets: Vec<_> = project.datasets().map(|d| d.into_iter().filter(|d| d.modality == Modality::PointCloud).map(|d| d.id).collect()).unwrap_or_default();
        for dataset in datasets {
            let _ = project.for_each_item::<cairn_store::StoreError>(Some(dataset), |item| {
                frames.push(item);
                Ok(())
            });
        }
        let base = project.base_dir();
        frames.into_iter().nth(scene.frame as usize).map(|item| {
            let boxes: Vec<Cuboid> = project
                .annotations_of(item.id)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|a| match a.payload {
                    Payload::Cuboid(c) => Some(c),
                    _ => None,
                })
                .collect();
            (item, boxes, base)
        })
    };
    let Some((item, boxes, base)) = found else {
        scene.message = format!("the project has no point-cloud frame {}", scene.frame);
        return;
    };
    let ItemData::Frame(frame) = item.data else { return };
    let path: PathBuf = base.join(&frame.source.path);
    let key = item.key.clone();
    let (send, receive) = channel();
    std::thread::spawn(move || {
        let loaded = cairn_cloud::read_cloud(&path, None).map(|cloud| (cloud, boxes, key)).map_err(|e| e.to_string());
        let _ = send.send(loaded);
    });
    scene.message = format!("loading {} …", frame.source.path);
    scene.loading = Some(Mutex::new(receive));
}

fn height_colour(t: f32) -> [f32; 4] {
    // Blue (low) through green to yellow (high).
    let t = t.clamp(0.0, 1.0);
    [t.min(0.5) * 2.0 * 0.9, 0.35 + 0.6 * t, 0.9 * (1.0 - t), 1.0]
}

fn finish_loading(
    mut commands: Commands,
    mut scene: ResMut<Scene>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut camera: Query<&mut Orbit>,
) {
    let Some(loading) = &scene.loading else { return };
    let Ok(result) = loading.lock().expect("loader lock").try_recv() else { return };
    scene.loading = None;
    let (cloud, boxes, key) = match result {
        Ok(loaded) => loaded,
        Err(e) => {
            scene.message = format!("cannot read the frame: {e}");
            return;
        }
    };
    let stride = cloud.positions.len().div_ceil(POINT_BUDGET).max(1);
    let positions: Vec<[f32; 3]> = cloud.positions.iter().step_by(stride).copied().collect();
    let (low, high) = positions.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[2]), hi.max(p[2])));
    // Colour by height over the 2nd..98th percentile-ish range: outliers (birds, noise) do not wash it out.
    let mut heights: Vec<f32> = positions.iter().map(|p| p[2]).collect();
    heights.sort_by(f32::total_cmp);
    let pick = |q: f64| heights.get(((heights.len() as f64 - 1.0) * q) as usize).copied();
    let (lo, hi) = (pick(0.02).unwrap_or(low), pick(0.98).unwrap_or(high));
    let span = (hi - lo).max(0.01);
    let colours: Vec<[f32; 4]> = positions.iter().map(|p| height_colour((p[2] - lo) / span)).collect();
    let mut mesh = Mesh::new(PrimitiveTopology::PointList, RenderAssetUsages::RENDER_WORLD);
    mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, positions.clone());
    mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, colours);
    commands.spawn((
        Mesh3d(meshes.add(mesh)),
        MeshMaterial3d(materials.add(StandardMaterial { base_color: Color::WHITE, unlit: true, ..default() })),
        Transform::default(),
        CloudPoints,
    ));
    // Look at the first box, or the middle of the cloud.
    let local = |c: &Cuboid| Vec3::new((c.center[0] - cloud.origin[0]) as f32, (c.center[1] - cloud.origin[1]) as f32, (c.center[2] - cloud.origin[2]) as f32);
    let target = boxes.first().map(local).unwrap_or(Vec3::new(0.0, 0.0, (lo + hi) / 2.0));
    for mut orbit in &mut camera {
        orbit.target = target;
        orbit.distance = if boxes.is_empty() { 80.0 } else { 25.0 };
    }
    scene.points = positions.len();
    scene.origin = cloud.origin;
    scene.boxes = boxes;
    scene.message = format!("{key}: {} points drawn of {} (every {stride})", positions.len(), cloud.positions.len());
    scene.key = key;
}

/// Left drag turns, right drag pans, the wheel zooms.
fn orbit(
    view: Res<ActiveView>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    mut cameras: Query<(&mut Orbit, &mut Transform, &mut Camera)>,
) {
    for (mut orbit, mut transform, mut camera) in &mut cameras {
        camera.is_active = view.0 == View::Scene;
        if view.0 != View::Scene {
            continue;
        }
        if buttons.pressed(MouseButton::Left) {
            orbit.yaw -= motion.delta.x * 0.005;
            orbit.pitch = (orbit.pitch + motion.delta.y * 0.005).clamp(-1.5, 1.5);
        }
        if buttons.pressed(MouseButton::Right) {
            let right = transform.right();
            let up = transform.up();
            let scale = orbit.distance * 0.002;
            orbit.target += (-motion.delta.x * *right + motion.delta.y * *up) * scale;
        }
        orbit.distance = (orbit.distance * (1.0 - scroll.delta.y * 0.1)).clamp(1.0, 5_000.0);
        let offset = Vec3::new(orbit.pitch.cos() * orbit.yaw.cos(), orbit.pitch.cos() * orbit.yaw.sin(), orbit.pitch.sin()) * orbit.distance;
        *transform = Transform::from_translation(orbit.target + offset).looking_at(orbit.target, Vec3::Z);
    }
}

/// Box edges in the class colour, and an arrow along the heading.
fn draw_boxes(view: Res<ActiveView>, scene: Res<Scene>, colours: Res<ClassColours>, mut gizmos: Gizmos) {
    if view.0 != View::Scene {
        return;
    }
    for c in &scene.boxes {
        let [r, g, b] = colours.colours.get(&c.class).copied().unwrap_or([230, 230, 230]);
        let colour = Color::srgb_u8(r, g, b);
        let centre = Vec3::new((c.center[0] - scene.origin[0]) as f32, (c.center[1] - scene.origin[1]) as f32, (c.center[2] - scene.origin[2]) as f32);
        let rotation = Quat::from_rotation_z(c.yaw as f32) * Quat::from_rotation_y(c.pitch as f32) * Quat::from_rotation_x(c.roll as f32);
        let size = Vec3::new(c.size[0] as f32, c.size[1] as f32, c.size[2] as f32);
        gizmos.cube(Transform { translation: centre, rotation, scale: size }, colour);
        let heading = rotation * Vec3::X;
        let top = centre + Vec3::Z * size.z / 2.0;
        gizmos.arrow(top, top + heading * (size.x / 2.0 + 1.0), colour);
    }
}

fn switch_view(keys: Res<ButtonInput<KeyCode>>, mut view: ResMut<ActiveView>, panels: Res<crate::Panels>) {
    if keys.just_pressed(KeyCode::Tab) && !panels.typing {
        view.0 = match view.0 {
            View::Compare => View::Scene,
            View::Scene => View::Compare,
        };
    }
}

fn count_ready(view: Res<ActiveView>, colours: Res<ClassColours>, mut scene: ResMut<Scene>) {
    if view.0 == View::Scene && scene.points > 0 && colours.loaded && !scene.ready {
        scene.drawn_frames += 1;
        // A few frames after the upload: pipelines have compiled and the points are on screen.
        scene.ready = scene.drawn_frames >= 5;
    }
}

fn panels(mut contexts: EguiContexts, view: Res<ActiveView>, scene: Res<Scene>) -> Result {
    if view.0 != View::Scene {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let mut root = egui::Ui::new(ctx.clone(), "cairn-scene-root".into(), egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()));
    egui::Panel::top("scene-bar").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            ui.strong("Cairn — scene");
            ui.separator();
            ui.label(format!("frame {}", scene.frame));
            ui.separator();
            ui.label(format!("{} boxes", scene.boxes.len()));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label("Tab: comparison view · drag: turn · right drag: pan · wheel: zoom");
            });
        });
    });
    egui::Panel::bottom("scene-status").show(&mut root, |ui| {
        ui.label(if scene.message.is_empty() { "…" } else { &scene.message });
    });
    Ok(())
}
