//! What the 3D view needs a window and a GPU for: points, cameras, box gizmos and panels.

pub mod camera;
pub mod panels;
pub mod points;

use crate::scene::pointer::{Handle, Tool, handles};
use crate::scene::{Classes, Scene, Selection, in_scene, local_center, rotation};
use crate::{AppSet, View};
use bevy::prelude::*;
use bevy_egui::EguiPrimaryContextPass;
pub use points::{ColourMode, PointStyle};

/// Frames drawn with the points on screen before the scene reports ready (pipelines compiled).
const SETTLE_FRAMES: u32 = 5;

pub struct SceneRenderPlugin;

impl Plugin for SceneRenderPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<PointStyle>()
            .init_resource::<points::NodeMeshes>()
            .init_resource::<panels::PanelRects>()
            .init_resource::<panels::HelpOverlay>()
            .add_systems(Startup, camera::setup)
            .add_systems(PreUpdate, camera::pointer_ray.run_if(in_scene))
            // The camera takes its input before the tools do (the pointer tool may capture a drag).
            .add_systems(Update, (switch_view, camera::orbit, camera::box_views).chain().in_set(AppSet::Apply))
            .add_systems(
                Update,
                (points::build_meshes, points::spawn_meshes, points::level_of_detail, draw_boxes, grid_and_axes, count_ready, panels::view_keys)
                    .chain()
                    .in_set(AppSet::Present)
                    .run_if(in_scene),
            )
            .add_systems(EguiPrimaryContextPass, panels::panels.run_if(in_scene));
    }
}

/// Box edges in the class colour, a heading arrow on each, handles on the selected one, and the box
/// being drawn.
fn draw_boxes(
    scene: Res<Scene>,
    classes: Res<Classes>,
    selection: Res<Selection>,
    tool: Res<Tool>,
    pointer: Res<crate::scene::Pointer>,
    mut gizmos: Gizmos,
) {
    for b in &scene.boxes {
        let c = &b.cuboid;
        let [r, g, bl] = classes.colour(&c.class);
        let selected = selection.0 == Some(b.annotation);
        let colour = if selected { Color::srgb_u8(r, g, bl).lighter(0.15) } else { Color::srgb_u8(r, g, bl) };
        let centre = local_center(scene.origin, c);
        let rot = rotation(c);
        let size = Vec3::new(c.size[0] as f32, c.size[1] as f32, c.size[2] as f32);
        gizmos.cube(Transform { translation: centre, rotation: rot, scale: size }, colour);
        let top = centre + Vec3::Z * size.z / 2.0;
        gizmos.arrow(top, top + rot * Vec3::X * (size.x / 2.0 + 1.0), colour);
        if selected {
            // A second outline a hair larger reads as a thicker edge.
            gizmos.cube(Transform { translation: centre, rotation: rot, scale: size * 1.01 + Vec3::splat(0.02) }, Color::WHITE);
            for (handle, at) in handles(scene.origin, c) {
                let radius = match handle {
                    Handle::Move => 0.25,
                    Handle::Rotate => 0.2,
                    Handle::Side { .. } => 0.15,
                };
                gizmos.sphere(Isometry3d::from_translation(at), radius, Color::WHITE);
            }
        }
    }
    if let Tool::Placing { points, .. } = &*tool {
        let colour = Color::srgb(1.0, 0.9, 0.2);
        for p in points {
            gizmos.sphere(Isometry3d::from_translation(*p), 0.2, colour);
        }
        if let (Some(last), Some(ray)) = (points.last(), pointer.ray)
            && let Some(now) = crate::scene::pointer::ray_plane(ray, last.z)
        {
            gizmos.line(*last, now, colour);
        }
    }
}

/// A 10 m grid on the ground around the camera's target, and the frame's axes at its origin.
fn grid_and_axes(scene: Res<Scene>, cameras: Query<&camera::Orbit>, mut gizmos: Gizmos) {
    let (Some(cloud), Ok(orbit)) = (&scene.cloud, cameras.single()) else { return };
    let spacing = if orbit.distance > 400.0 { 100.0 } else { 10.0 };
    let centre = (orbit.target / spacing).round() * spacing;
    let z = cloud.ground_z(centre.x, centre.y);
    gizmos.grid(
        Isometry3d::from_translation(Vec3::new(centre.x, centre.y, z)),
        UVec2::splat(20),
        Vec2::splat(spacing),
        Color::srgba(0.45, 0.45, 0.5, 0.12),
    );
    gizmos.axes(Transform::from_xyz(0.0, 0.0, z), 5.0);
}

fn switch_view(
    keys: Res<ButtonInput<KeyCode>>,
    map: Res<crate::keys::KeyMap>,
    view: Res<State<View>>,
    mut next: ResMut<NextState<View>>,
    panels: Res<crate::Panels>,
) {
    if map.just_pressed(crate::keys::Action::SwitchView, &keys) && !panels.typing {
        next.set(match view.get() {
            View::Compare => View::Scene,
            View::Scene => View::Compare,
        });
    }
}

/// Ready once the points are on the GPU, the classes are known and a few frames have been drawn.
fn count_ready(mut scene: ResMut<Scene>, nodes: Res<points::NodeMeshes>, classes: Res<Classes>, mut drawn: Local<u32>, mut generation: Local<u64>) {
    if *generation != scene.cloud_generation {
        *generation = scene.cloud_generation;
        *drawn = 0;
        scene.ready = false;
    }
    if scene.ready {
        return;
    }
    let failed = scene.cloud.is_none() && scene.loading.is_none() && !scene.message.is_empty();
    // A preview is not ready: the whole frame is.
    let whole = scene.loading.is_none();
    if (nodes.spawned && nodes.generation == scene.cloud_generation && classes.loaded && whole) || failed {
        *drawn += 1;
        scene.ready = *drawn >= SETTLE_FRAMES;
    }
}
