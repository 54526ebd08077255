//! Points on the GPU with level of detail. Each octree node becomes up to two point meshes, built
//! off the frame loop and uploaded once: an even sample of the node (what is drawn when the node
//! is shown coarse) and, for leaves, the rest of its points. Every frame the octree picks the nodes
//! worth drawing under the point budget and only their visibility changes.

use crate::jobs::{self, Job};
use crate::scene::{LoadedCloud, Scene};
use bevy::asset::RenderAssetUsages;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;
use cairn_cloud::octree::{Frustum, NODE_SAMPLE, View};
use std::sync::Arc;

/// How points are coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColourMode {
    #[default]
    Height,
    Intensity,
    Classification,
    Rgb,
    Label,
}

impl ColourMode {
    pub const ALL: [ColourMode; 5] = [ColourMode::Height, ColourMode::Intensity, ColourMode::Classification, ColourMode::Rgb, ColourMode::Label];

    pub fn name(self) -> &'static str {
        match self {
            ColourMode::Height => "height",
            ColourMode::Intensity => "intensity",
            ColourMode::Classification => "classification",
            ColourMode::Rgb => "RGB",
            ColourMode::Label => "label",
        }
    }

    pub fn next(self) -> ColourMode {
        let at = Self::ALL.iter().position(|m| *m == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }
}

/// What the user chose for the points.
#[derive(Resource, Clone, Debug, PartialEq)]
pub struct PointStyle {
    pub mode: ColourMode,
    /// Most points drawn per frame.
    pub budget: usize,
}

impl Default for PointStyle {
    fn default() -> Self {
        PointStyle { mode: ColourMode::Height, budget: 3_000_000 }
    }
}

/// The meshes of the cloud on screen, per octree node: (sample, rest of a leaf).
#[derive(Resource, Default)]
pub struct NodeMeshes {
    pub generation: u64,
    pub mode: Option<ColourMode>,
    pub nodes: Vec<(Option<Entity>, Option<Entity>)>,
    /// Points drawn this frame.
    pub drawn: usize,
    /// The meshes have been spawned for the current cloud and style.
    pub spawned: bool,
    /// Why the chosen colouring fell back to height.
    pub note: Option<String>,
    /// The cloud the meshes were built from: its octree picks them (a preview's meshes stay on
    /// screen until the whole cloud's are ready).
    pub cloud: Option<Arc<LoadedCloud>>,
    building: Option<Job<Built>>,
    material: Option<Handle<StandardMaterial>>,
}

/// Meshes built on a worker thread: per node, the sample and the rest.
struct Built {
    generation: u64,
    cloud: Arc<LoadedCloud>,
    mode: ColourMode,
    meshes: Vec<(Option<Mesh>, Option<Mesh>)>,
    note: Option<String>,
}

#[derive(Component)]
pub struct CloudPoints;

/// Starts building meshes when the cloud or the colouring changes.
pub fn build_meshes(scene: Res<Scene>, style: Res<PointStyle>, mut nodes: ResMut<NodeMeshes>) {
    let Some(cloud) = scene.cloud.clone() else { return };
    if nodes.building.is_some() || (nodes.generation == scene.cloud_generation && nodes.mode == Some(style.mode)) {
        return;
    }
    let (generation, mode) = (scene.cloud_generation, style.mode);
    nodes.building = Some(jobs::spawn("mesh builder", move |_| {
        let (colours, note) = colours(&cloud, mode);
        let meshes = node_meshes(&cloud, &colours);
        Ok(Built { generation, cloud, mode, meshes, note })
    }));
}

/// Swaps in meshes that finished building.
pub fn spawn_meshes(
    mut commands: Commands,
    scene: Res<Scene>,
    style: Res<PointStyle>,
    mut nodes: ResMut<NodeMeshes>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    old: Query<Entity, With<CloudPoints>>,
) {
    // A frame that could not be read shows no points (not the last frame's).
    if scene.cloud.is_none() && nodes.cloud.is_some() {
        for e in &old {
            commands.entity(e).despawn();
        }
        nodes.nodes.clear();
        nodes.cloud = None;
        nodes.spawned = false;
        nodes.drawn = 0;
    }
    let Some(building) = &nodes.building else { return };
    let Some(done) = building.poll().done else { return };
    nodes.building = None;
    let built = match done {
        Ok(built) => built,
        Err(e) => {
            // Said where the colour note goes; the next cloud or colouring builds afresh. The
            // generation is marked done so the same failure is not retried every frame.
            nodes.note = Some(format!("cannot draw these points: {e}"));
            nodes.generation = scene.cloud_generation;
            nodes.mode = Some(style.mode);
            return;
        }
    };
    if built.generation != scene.cloud_generation {
        return; // a newer cloud arrived meanwhile: the meshes on screen stay until its are built
    }
    for e in &old {
        commands.entity(e).despawn();
    }
    let material =
        nodes.material.get_or_insert_with(|| materials.add(StandardMaterial { base_color: Color::WHITE, unlit: true, ..default() })).clone();
    let mut spawn = |mesh: Option<Mesh>| {
        mesh.map(|m| {
            commands.spawn((Mesh3d(meshes.add(m)), MeshMaterial3d(material.clone()), Transform::default(), Visibility::Hidden, CloudPoints)).id()
        })
    };
    let entities: Vec<_> = built.meshes.into_iter().map(|(sample, rest)| (spawn(sample), spawn(rest))).collect();
    nodes.nodes = entities;
    nodes.generation = built.generation;
    nodes.mode = Some(built.mode);
    nodes.note = built.note;
    nodes.cloud = Some(built.cloud);
    nodes.spawned = true;
}

/// Per node: an even sample of its range and, for leaves, the rest.
fn node_meshes(cloud: &LoadedCloud, colours: &[[f32; 4]]) -> Vec<(Option<Mesh>, Option<Mesh>)> {
    let tree = &cloud.octree;
    let mesh_of = |ks: &mut dyn Iterator<Item = usize>| {
        let (mut positions, mut cs) = (Vec::new(), Vec::new());
        for k in ks {
            positions.push(tree.positions[k]);
            cs.push(colours[tree.order[k] as usize]);
        }
        (!positions.is_empty()).then(|| {
            let mut mesh = Mesh::new(PrimitiveTopology::PointList, RenderAssetUsages::RENDER_WORLD);
            mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, positions);
            mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, cs);
            mesh
        })
    };
    tree.nodes
        .iter()
        .map(|n| {
            let (start, end) = (n.start as usize, n.end as usize);
            let stride = n.len().div_ceil(NODE_SAMPLE).max(1);
            let sample = mesh_of(&mut (start..end).step_by(stride));
            let rest = if n.is_leaf() && stride > 1 { mesh_of(&mut (start..end).filter(|k| (k - start) % stride != 0)) } else { None };
            (sample, rest)
        })
        .collect()
}

/// Chooses the nodes to draw from the main camera's view, under the budget.
pub fn level_of_detail(
    style: Res<PointStyle>,
    mut nodes: ResMut<NodeMeshes>,
    cameras: Query<(&Camera, &GlobalTransform), With<super::camera::MainCamera>>,
    mut visibility: Query<&mut Visibility, With<CloudPoints>>,
) {
    let Some(cloud) = nodes.cloud.clone().filter(|_| nodes.spawned) else { return };
    let Ok((camera, transform)) = cameras.single() else { return };
    let view_projection = camera.clip_from_view() * transform.to_matrix().inverse();
    let view = View { frustum: Frustum::from_view_projection(view_projection.to_cols_array_2d()), eye: transform.translation().to_array() };
    // A zero budget draws nothing (what `cairn bench render` measures a bare frame with).
    let chosen = if style.budget == 0 { Vec::new() } else { cloud.octree.select(&view, style.budget) };
    let mut wanted = vec![(false, false); nodes.nodes.len()];
    let mut drawn = 0;
    for s in &chosen {
        let n = &cloud.octree.nodes[s.node as usize];
        let whole = s.stride == 1 || n.len() <= NODE_SAMPLE;
        wanted[s.node as usize] = (true, whole && n.is_leaf());
        drawn += if whole { n.len() } else { n.len().div_ceil(s.stride as usize) };
    }
    nodes.drawn = drawn;
    for (i, (sample, rest)) in nodes.nodes.iter().enumerate() {
        for (entity, show) in [(sample, wanted[i].0), (rest, wanted[i].1)] {
            if let Some(e) = entity
                && let Ok(mut v) = visibility.get_mut(*e)
            {
                let target = if show { Visibility::Inherited } else { Visibility::Hidden };
                if *v != target {
                    *v = target;
                }
            }
        }
    }
}

/// One colour per point of the cloud (cloud order), and a note when the mode had nothing to show.
pub fn colours(cloud: &LoadedCloud, mode: ColourMode) -> (Vec<[f32; 4]>, Option<String>) {
    let c = &cloud.cloud;
    let n = c.positions.len();
    let missing = |what: &str| Some(format!("this frame has no {what}: coloured by height"));
    match mode {
        ColourMode::Intensity => {
            if let Some(values) = &c.intensity {
                let top = quantile(&mut values.iter().map(|&v| v as f32).collect::<Vec<_>>(), 0.98).max(1.0);
                return (values.iter().map(|&v| grey((v as f32 / top).min(1.0))).collect(), None);
            }
            (by_height(c), missing("intensity"))
        }
        ColourMode::Classification => match &c.classification {
            Some(classes) => (classes.iter().map(|&k| las_class_colour(k)).collect(), None),
            None => (by_height(c), missing("classification")),
        },
        ColourMode::Rgb => match &c.rgb {
            Some(rgb) => {
                // 8-bit colours stored in 16-bit fields are common; scale by what is there.
                let scale = if rgb.iter().all(|p| p.iter().all(|&v| v <= 255)) { 255.0 } else { 65535.0 };
                (rgb.iter().map(|p| [p[0] as f32 / scale, p[1] as f32 / scale, p[2] as f32 / scale, 1.0]).collect(), None)
            }
            None => (by_height(c), missing("RGB")),
        },
        ColourMode::Label => match &cloud.labels {
            Some(labels) => ((0..n).map(|i| label_colour(labels.get(c.source_index(i) as usize).copied().unwrap_or(0))).collect(), None),
            None => (by_height(c), missing("painted labels")),
        },
        ColourMode::Height => (by_height(c), None),
    }
}

fn by_height(c: &cairn_cloud::PointCloud) -> Vec<[f32; 4]> {
    // Over the 2nd..98th percentile: outliers (birds, noise) do not wash the ramp out.
    let mut heights: Vec<f32> = c.positions.iter().map(|p| p[2]).collect();
    let lo = quantile(&mut heights, 0.02);
    let hi = quantile(&mut heights, 0.98);
    let span = (hi - lo).max(0.01);
    c.positions.iter().map(|p| height_colour((p[2] - lo) / span)).collect()
}

/// The `q` quantile; reorders `values` (a later call on the same values stays right).
fn quantile(values: &mut [f32], q: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let at = ((values.len() - 1) as f64 * q) as usize;
    *values.select_nth_unstable_by(at, f32::total_cmp).1
}

/// Blue (low) through green to yellow (high).
pub fn height_colour(t: f32) -> [f32; 4] {
    let t = t.clamp(0.0, 1.0);
    [t.min(0.5) * 2.0 * 0.9, 0.35 + 0.6 * t, 0.9 * (1.0 - t), 1.0]
}

fn grey(t: f32) -> [f32; 4] {
    let v = 0.15 + 0.85 * t;
    [v, v, v, 1.0]
}

/// ASPRS LAS classes: ground brown, vegetation greens, buildings red, water blue, noise magenta.
fn las_class_colour(class: u8) -> [f32; 4] {
    let rgb = match class {
        2 => [0.55, 0.42, 0.25],
        3 => [0.55, 0.85, 0.45],
        4 => [0.25, 0.7, 0.25],
        5 => [0.1, 0.45, 0.1],
        6 => [0.85, 0.3, 0.25],
        7 | 18 => [0.9, 0.2, 0.9],
        9 => [0.2, 0.45, 0.95],
        10 | 11 => [0.6, 0.6, 0.6],
        17 => [0.95, 0.75, 0.2],
        _ => [0.75, 0.75, 0.75],
    };
    [rgb[0], rgb[1], rgb[2], 1.0]
}

/// Label 0 (unlabelled) grey; others spread over the hue circle by the golden angle.
fn label_colour(label: u16) -> [f32; 4] {
    if label == 0 {
        return [0.45, 0.45, 0.45, 1.0];
    }
    let hue = (label as f32 * 137.508) % 360.0;
    let c = Color::hsl(hue, 0.75, 0.55).to_srgba();
    [c.red, c.green, c.blue, 1.0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_cloud::PointCloud;

    fn cloud(labels: Option<Vec<u16>>) -> LoadedCloud {
        let positions: Vec<[f32; 3]> = (0..40_000).map(|i| [(i % 200) as f32 * 0.1, (i / 200) as f32 * 0.1, (i % 7) as f32]).collect();
        let n = positions.len();
        let cloud = PointCloud {
            positions,
            intensity: Some((0..n).map(|i| (i % 100) as u16 * 100).collect()),
            // Points 0 and 1 were dropped from the file: cloud point i is file point i + 2.
            source_index: Some((2..n as u32 + 2).collect()),
            ..PointCloud::default()
        };
        LoadedCloud::new(cloud, labels)
    }

    #[test]
    fn labels_colour_by_file_index_and_missing_columns_fall_back_to_height() {
        let mut labels = vec![0u16; 40_002];
        labels[2] = 3; // cloud point 0
        labels[3] = 3;
        labels[4] = 5;
        let c = cloud(Some(labels));
        let (by_label, note) = colours(&c, ColourMode::Label);
        assert!(note.is_none());
        assert_eq!(by_label[0], by_label[1], "same label, same colour");
        assert_ne!(by_label[0], by_label[2], "different labels differ");
        assert_eq!(by_label[3], label_colour(0), "unlabelled points are grey");
        let (_, note) = colours(&cloud(None), ColourMode::Label);
        assert!(note.is_some_and(|n| n.contains("labels")));
        let (by_rgb, note) = colours(&c, ColourMode::Rgb);
        assert!(note.is_some_and(|n| n.contains("RGB")));
        assert_eq!(by_rgb, colours(&c, ColourMode::Height).0);
        // Intensity: brighter for higher values.
        let (grey, _) = colours(&c, ColourMode::Intensity);
        assert!(grey[10][0] > grey[1][0]);
    }

    #[test]
    fn every_point_is_in_exactly_one_leaf_mesh_and_samples_are_small() {
        let c = cloud(None);
        let (by_height, _) = colours(&c, ColourMode::Height);
        let meshes = node_meshes(&c, &by_height);
        assert_eq!(meshes.len(), c.octree.nodes.len());
        let count = |m: &Option<Mesh>| m.as_ref().map_or(0, |m| m.count_vertices());
        let mut in_leaves = 0;
        for (node, (sample, rest)) in c.octree.nodes.iter().zip(&meshes) {
            assert!(count(sample) <= NODE_SAMPLE, "a sample holds at most {NODE_SAMPLE} points");
            if node.is_leaf() {
                in_leaves += count(sample) + count(rest);
            } else {
                assert!(rest.is_none());
            }
        }
        assert_eq!(in_leaves, c.cloud.positions.len());
    }

    fn showing(cloud: LoadedCloud, generation: u64) -> Scene {
        Scene::showing(0, Some(Arc::new(cloud)), generation, None)
    }

    #[test]
    fn a_mesh_builder_that_panics_is_reported_and_the_next_cloud_is_drawn() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .init_resource::<Assets<Mesh>>()
            .init_resource::<Assets<StandardMaterial>>()
            .init_resource::<PointStyle>()
            .init_resource::<NodeMeshes>()
            .add_systems(Update, (build_meshes, spawn_meshes).chain());
        // A cloud whose index covers points it does not have: building its meshes panics.
        let mut broken = cloud(None);
        broken.octree = cairn_cloud::octree::Octree::build(&[broken.cloud.positions.clone(), broken.cloud.positions.clone()].concat());
        app.insert_resource(showing(broken, 1));
        let until = |app: &mut App, done: &dyn Fn(&NodeMeshes) -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !done(app.world().resource::<NodeMeshes>()) {
                assert!(std::time::Instant::now() < deadline, "the mesh builder never answered");
                app.update();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        };
        until(&mut app, &|nodes| nodes.note.is_some());
        let note = app.world().resource::<NodeMeshes>().note.clone().unwrap();
        assert!(note.contains("mesh builder stopped") && note.contains("index out of bounds"), "{note}");
        assert!(!app.world().resource::<NodeMeshes>().spawned);
        // The next frame's cloud is built and drawn: the failure wedged nothing.
        app.insert_resource(showing(cloud(None), 2));
        until(&mut app, &|nodes| nodes.spawned);
        let nodes = app.world().resource::<NodeMeshes>();
        assert_eq!(nodes.generation, 2);
        assert!(nodes.note.is_none());
        assert!(!app.world().resource::<Assets<Mesh>>().is_empty());
    }
}
