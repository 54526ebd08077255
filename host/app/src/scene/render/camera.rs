//! Cameras of the 3D view: the main one (orbit, pan, zoom, fly) and three orthographic views of the
//! selected box (top, side, front) that follow the selection, rendered into pictures a panel shows. Also turns the cursor into the
//! pointer ray the box tools use.

use crate::keys::{Action, KeyMap};
use crate::scene::{Pointer, Scene, Selection, local_center};
use bevy::camera::{RenderTarget, ScalingMode};
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::render::render_resource::TextureFormat;
use bevy::window::PrimaryWindow;

#[derive(Component)]
pub struct MainCamera;

#[derive(Component)]
pub struct Orbit {
    pub target: Vec3,
    pub distance: f32,
    pub yaw: f32,
    pub pitch: f32,
    /// The frame the camera last followed, and the origin its target is relative to.
    aimed: u64,
    origin: Option<[f64; 3]>,
}

/// A new frame this far (metres) from the last one is somewhere else: the camera aims anew.
const SAME_PLACE: f64 = 1_000.0;

/// Which side of the selected box an orthographic view shows.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoxView {
    Top,
    Side,
    Front,
}

impl BoxView {
    pub const ALL: [BoxView; 3] = [BoxView::Top, BoxView::Side, BoxView::Front];

    pub fn name(self) -> &'static str {
        match self {
            BoxView::Top => "top",
            BoxView::Side => "side",
            BoxView::Front => "front",
        }
    }
}

/// Size of each box view's picture (pixels).
pub const BOX_VIEW_SIZE: UVec2 = UVec2::new(300, 200);
/// Orthographic views look from this far and see this much beyond the box.
const BOX_VIEW_DISTANCE: f32 = 60.0;
const BOX_VIEW_MARGIN: f32 = 1.5;

const BACKGROUND: Color = Color::srgb(0.06, 0.06, 0.08);

/// The pictures the box views render into, shown in a panel.
#[derive(Resource, Default)]
pub struct BoxViewImages(pub Vec<(BoxView, Handle<Image>)>);

pub fn setup(mut commands: Commands, mut images: ResMut<Assets<Image>>, mut textures: ResMut<bevy_egui::EguiUserTextures>) {
    commands.spawn((
        Camera3d::default(),
        Camera { order: -4, is_active: false, clear_color: ClearColorConfig::Custom(BACKGROUND), ..default() },
        Transform::from_xyz(30.0, -30.0, 30.0).looking_at(Vec3::ZERO, Vec3::Z),
        Orbit { target: Vec3::ZERO, distance: 50.0, yaw: -0.8, pitch: 0.6, aimed: 0, origin: None },
        MainCamera,
    ));
    let mut pictures = Vec::new();
    for (i, view) in BoxView::ALL.into_iter().enumerate() {
        let image = images.add(Image::new_target_texture(BOX_VIEW_SIZE.x, BOX_VIEW_SIZE.y, TextureFormat::Bgra8UnormSrgb, None));
        textures.add_image(bevy_egui::EguiTextureHandle::Strong(image.clone()));
        pictures.push((view, image.clone()));
        commands.spawn((
            Camera3d::default(),
            Camera { order: -3 + i as isize, is_active: false, clear_color: ClearColorConfig::Custom(Color::srgb(0.1, 0.1, 0.13)), ..default() },
            RenderTarget::Image(image.into()),
            Projection::Orthographic(OrthographicProjection {
                scaling_mode: ScalingMode::AutoMin { min_width: 6.0, min_height: 4.0 },
                ..OrthographicProjection::default_3d()
            }),
            Transform::default(),
            view,
        ));
    }
    commands.insert_resource(BoxViewImages(pictures));
}

/// Left drag turns, right (or middle) drag pans, the wheel zooms, the fly keys move.
#[allow(clippy::too_many_arguments)]
pub fn orbit(
    view: Res<State<crate::View>>,
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    map: Res<KeyMap>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    time: Res<Time>,
    pointer: Res<Pointer>,
    scene: Res<Scene>,
    selection: Res<Selection>,
    panels: Res<crate::Panels>,
    mut cameras: Query<(&mut Orbit, &mut Transform, &mut Camera)>,
) {
    let Ok((mut orbit, mut transform, mut camera)) = cameras.single_mut() else { return };
    camera.is_active = *view.get() == crate::View::Scene;
    if !camera.is_active {
        return;
    }
    // A new frame of the same place (the next of a sequence): the camera stays where it is in the
    // world, whatever origin the frame's offsets are from. Somewhere new, or the first frame: look
    // at the selected (or every) box, or the middle of the cloud.
    if orbit.aimed != scene.frame_shown_at
        && let Some(cloud) = &scene.cloud
    {
        orbit.aimed = scene.frame_shown_at;
        let previous = orbit.origin.replace(scene.origin);
        if let Some(before) = previous.filter(|b| (0..3).all(|k| (b[k] - scene.origin[k]).abs() < SAME_PLACE)) {
            orbit.target +=
                Vec3::new((before[0] - scene.origin[0]) as f32, (before[1] - scene.origin[1]) as f32, (before[2] - scene.origin[2]) as f32);
        } else {
            let selected = selection.0.and_then(|s| scene.boxes.iter().find(|b| b.annotation == s));
            let boxes: Vec<Vec3> = match selected {
                Some(b) => vec![local_center(scene.origin, &b.cuboid)],
                None => scene.boxes.iter().map(|b| local_center(scene.origin, &b.cuboid)).collect(),
            };
            if boxes.is_empty() {
                let bounds = cloud.cloud.local_bounds();
                let (centre, extent) = bounds.map_or((Vec3::ZERO, 50.0), |b| {
                    let (lo, hi) = (Vec3::from(b.min), Vec3::from(b.max));
                    ((lo + hi) / 2.0, (hi - lo).truncate().length())
                });
                orbit.target = centre;
                orbit.distance = (extent * 0.8).clamp(10.0, 3000.0);
            } else {
                // Every box in view: their middle, from far enough to see the two furthest apart.
                let middle = boxes.iter().copied().sum::<Vec3>() / boxes.len() as f32;
                let spread = boxes.iter().map(|b| b.distance(middle)).fold(0.0, f32::max);
                orbit.target = middle;
                orbit.distance = (spread * 4.0).max(25.0);
                orbit.pitch = 0.85;
            }
        }
    }
    if !pointer.captured && !pointer.over_ui {
        if buttons.pressed(MouseButton::Left) {
            orbit.yaw -= motion.delta.x * 0.005;
            orbit.pitch = (orbit.pitch + motion.delta.y * 0.005).clamp(-1.55, 1.55);
        }
        if buttons.any_pressed([MouseButton::Right, MouseButton::Middle]) {
            let scale = orbit.distance * 0.0015;
            let (right, up) = (*transform.right(), *transform.up());
            orbit.target += (-motion.delta.x * right + motion.delta.y * up) * scale;
        }
        orbit.distance = (orbit.distance * (1.0 - scroll.delta.y.clamp(-5.0, 5.0) * 0.1)).clamp(0.5, 20_000.0);
    }
    if !panels.typing {
        let forward = Vec3::new(orbit.yaw.cos(), orbit.yaw.sin(), 0.0) * -1.0;
        let right = Vec3::new(-forward.y, forward.x, 0.0) * -1.0;
        let mut go = Vec3::ZERO;
        for (action, dir) in [
            (Action::FlyForward, forward),
            (Action::FlyBack, -forward),
            (Action::FlyLeft, -right),
            (Action::FlyRight, right),
            (Action::FlyUp, Vec3::Z),
            (Action::FlyDown, -Vec3::Z),
        ] {
            if map.held(action, &keys) {
                go += dir;
            }
        }
        let fast = if keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]) { 4.0 } else { 1.0 };
        let speed = orbit.distance.max(5.0) * 0.6 * fast * time.delta_secs();
        orbit.target += go * speed;
        if map.just_pressed(Action::FrameSelection, &keys)
            && let Some(b) = selection.0.and_then(|s| scene.boxes.iter().find(|b| b.annotation == s))
        {
            orbit.target = local_center(scene.origin, &b.cuboid);
            orbit.distance = (b.cuboid.size.iter().cloned().fold(0.0, f64::max) as f32 * 3.0).max(8.0);
        }
    }
    let offset = Vec3::new(orbit.pitch.cos() * orbit.yaw.cos(), orbit.pitch.cos() * orbit.yaw.sin(), orbit.pitch.sin()) * orbit.distance;
    *transform = Transform::from_translation(orbit.target + offset).looking_at(orbit.target, Vec3::Z);
}

/// Points the box views at the selected box.
pub fn box_views(
    view: Res<State<crate::View>>,
    scene: Res<Scene>,
    selection: Res<Selection>,
    mut cameras: Query<(&BoxView, &mut Camera, &mut Transform, &mut Projection)>,
) {
    let selected = selection.0.and_then(|s| scene.boxes.iter().find(|b| b.annotation == s)).filter(|_| *view.get() == crate::View::Scene);
    for (which, mut camera, mut transform, mut projection) in &mut cameras {
        let Some(b) = selected else {
            camera.is_active = false;
            continue;
        };
        let c = &b.cuboid;
        let centre = local_center(scene.origin, c);
        let heading = Vec3::new(c.yaw.cos() as f32, c.yaw.sin() as f32, 0.0);
        let left = Vec3::new(-heading.y, heading.x, 0.0);
        let size = Vec3::new(c.size[0] as f32, c.size[1] as f32, c.size[2] as f32);
        // Eye, up, the box's extent across the view (width, height), and its depth along the view.
        let (eye_dir, up, extent, depth) = match which {
            BoxView::Top => (Vec3::Z, heading, Vec2::new(size.y, size.x), size.z),
            BoxView::Side => (-left, Vec3::Z, Vec2::new(size.x, size.z), size.y),
            BoxView::Front => (heading, Vec3::Z, Vec2::new(size.y, size.z), size.x),
        };
        *transform = Transform::from_translation(centre + eye_dir * BOX_VIEW_DISTANCE).looking_at(centre, up);
        if let Projection::Orthographic(ortho) = &mut *projection {
            ortho.scaling_mode = ScalingMode::AutoMin { min_width: extent.x + 2.0 * BOX_VIEW_MARGIN, min_height: extent.y + 2.0 * BOX_VIEW_MARGIN };
            // Only a slab around the box: what is above or in front of it does not hide it.
            ortho.near = BOX_VIEW_DISTANCE - depth / 2.0 - BOX_VIEW_MARGIN;
            ortho.far = BOX_VIEW_DISTANCE + depth / 2.0 + BOX_VIEW_MARGIN;
        }
        camera.is_active = true;
    }
}

/// Turns the cursor into the pointer ray (local coordinates).
pub fn pointer_ray(
    windows: Query<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform), With<MainCamera>>,
    panels: Res<super::panels::PanelRects>,
    mut pointer: ResMut<Pointer>,
) {
    let (Ok(window), Ok((camera, transform))) = (windows.single(), cameras.single()) else { return };
    let Some(cursor) = window.cursor_position() else {
        pointer.ray = None;
        return;
    };
    let over_ui = panels.1 || panels.0.iter().any(|r| r.contains(cursor));
    pointer.screen = cursor;
    // Keep the state of a drag the tool owns even when it passes over a panel.
    if !pointer.captured {
        pointer.over_ui = over_ui;
    }
    pointer.ray = camera.viewport_to_world(transform, cursor).ok().map(|r| (r.origin, *r.direction));
}
