//! The 3D view's data as plain values, shared by the frame loop (`scene`) and the store worker
//! (`command`): frames, decoded clouds, boxes, and the box edits people ask for. No systems here,
//! so both sides use it without depending on each other.

use bevy::math::{Quat, Vec3};
use cairn_cloud::PointCloud;
use cairn_cloud::ground::{GroundParams, Plane, estimate_ground};
use cairn_cloud::octree::Octree;
use cairn_model::{AnnotationId, AttributeValue, Cuboid, ItemData, ItemId, Payload, RevisionId, normalize_angle};
use std::path::PathBuf;

/// The attribute that marks a box made by interpolation; boxes without it are keyframes.
pub const INTERPOLATED: &str = "interpolated";

/// Boxes never get smaller than this along any side (metres).
pub const MIN_SIZE: f64 = 0.05;

/// One point-cloud frame of the project.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameRef {
    pub item: ItemId,
    pub key: String,
    pub sequence: Option<String>,
    pub path: PathBuf,
    pub data: ItemData,
}

/// The frame after `at` in the same sequence.
pub fn next_in_sequence(frames: &[FrameRef], at: usize) -> Option<usize> {
    let here = frames.get(at)?;
    let next = frames.get(at + 1)?;
    (next.sequence == here.sequence).then_some(at + 1)
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
    /// Indexes and measures the ground of a decoded cloud (what the loading job does).
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
    /// The stored revision this box shows: an edit made from it is refused when someone changed
    /// the box since.
    pub revision: RevisionId,
}

/// A change to the boxes, as keys, the mouse and the panels ask for it. The store worker carries
/// it out against what is stored; the frame loop shows the same change at once (`preview`).
#[derive(Clone, Debug, PartialEq)]
pub enum BoxEdit {
    /// A new box on the frame shown, selected, with a new track id unless it has one.
    Create(Cuboid),
    /// Replaces a box (typed numbers, a handle drag): the box becomes a keyframe.
    Replace(AnnotationId, Cuboid),
    /// Moves the selected box along / across its heading, up, and turns it (metres, radians).
    Nudge {
        forward: f64,
        left: f64,
        up: f64,
        turn: f64,
    },
    /// Grows (or shrinks) the selected box along one axis: 0 length, 1 width, 2 height.
    Resize {
        axis: usize,
        delta: f64,
    },
    /// Sets the class of the selected box (and of new boxes).
    Class(String),
    AutoFit,
    Delete,
    CopyToNextFrame,
    Interpolate,
    ToggleKeyframe,
    Undo,
    Redo,
}

impl BoxEdit {
    /// The selected box as this edit leaves it, for edits that change just that box; None for the
    /// rest (their outcome depends on the store or the cloud).
    pub fn changed(&self, selected: &Cuboid) -> Option<Cuboid> {
        let mut c = selected.clone();
        match self {
            BoxEdit::Nudge { forward, left, up, turn } => {
                let (s, co) = c.yaw.sin_cos();
                c.center[0] += forward * co - left * s;
                c.center[1] += forward * s + left * co;
                c.center[2] += up;
                c.yaw += turn;
            }
            BoxEdit::Resize { axis, delta } => resize_keeping_bottom(&mut c, *axis, *delta),
            BoxEdit::Class(class) => c.class = class.clone(),
            _ => return None,
        }
        c.yaw = normalize_angle(c.yaw);
        for s in &mut c.size {
            *s = s.max(MIN_SIZE);
        }
        // An edited box is a keyframe.
        c.attributes.remove(INTERPOLATED);
        Some(c)
    }

    /// Shows the edit on the boxes on screen before the store has it; the store's answer replaces
    /// them once every change sent is durable.
    pub fn preview(&self, boxes: &mut Vec<SceneBox>, selected: Option<AnnotationId>) {
        match self {
            BoxEdit::Replace(id, cuboid) => {
                if let Some(b) = boxes.iter_mut().find(|b| b.annotation == *id) {
                    b.cuboid = cuboid.clone();
                    b.cuboid.attributes.remove(INTERPOLATED);
                }
            }
            BoxEdit::Delete => boxes.retain(|b| Some(b.annotation) != selected),
            _ => {
                if let Some(b) = boxes.iter_mut().find(|b| Some(b.annotation) == selected)
                    && let Some(changed) = self.changed(&b.cuboid)
                {
                    b.cuboid = changed;
                }
            }
        }
    }
}

/// Grows one side of the box keeping the box's bottom where it is (height) or its centre (length,
/// width: both ends move, as handles move one).
fn resize_keeping_bottom(c: &mut Cuboid, axis: usize, delta: f64) {
    let before = c.size[axis];
    c.size[axis] = (before + delta).max(MIN_SIZE);
    if axis == 2 {
        c.center[2] += (c.size[2] - before) / 2.0;
    }
}

pub fn is_keyframe(c: &Cuboid) -> bool {
    !matches!(c.attributes.get(INTERPOLATED), Some(AttributeValue::Bool(true)))
}

pub fn track_name(c: &Cuboid) -> String {
    c.track_id.map_or_else(|| "-".into(), |t| t.to_string())
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
            Payload::Cuboid(cuboid) => Some(SceneBox { annotation: a.id, cuboid, revision: a.revision }),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car() -> Cuboid {
        Cuboid {
            center: [10.0, 5.0, 0.75],
            size: [4.0, 1.8, 1.5],
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            class: "car".into(),
            attributes: [(INTERPOLATED.to_string(), AttributeValue::Bool(true))].into_iter().collect(),
            track_id: Some(1),
        }
    }

    #[test]
    fn edits_of_the_selected_box_make_a_keyframe_and_keep_sizes_positive() {
        let up = BoxEdit::Resize { axis: 2, delta: 0.1 }.changed(&car()).unwrap();
        assert!((up.size[2] - 1.6).abs() < 1e-12 && (up.center[2] - 0.8).abs() < 1e-12, "the bottom stays");
        assert!(is_keyframe(&up));
        let tiny = BoxEdit::Resize { axis: 0, delta: -10.0 }.changed(&car()).unwrap();
        assert_eq!(tiny.size[0], MIN_SIZE);
        let turned = BoxEdit::Nudge { forward: 1.0, left: 0.0, up: 0.0, turn: 7.0 }.changed(&car()).unwrap();
        assert!(turned.yaw.abs() <= std::f64::consts::PI && (turned.center[0] - 11.0).abs() < 1e-12);
        assert_eq!(BoxEdit::AutoFit.changed(&car()), None, "fitting needs the cloud");
    }

    #[test]
    fn a_preview_changes_only_the_selected_box() {
        let mut boxes = vec![
            SceneBox { annotation: AnnotationId(1), cuboid: car(), revision: RevisionId(1) },
            SceneBox { annotation: AnnotationId(2), cuboid: car(), revision: RevisionId(2) },
        ];
        BoxEdit::Nudge { forward: 0.0, left: 0.0, up: 1.0, turn: 0.0 }.preview(&mut boxes, Some(AnnotationId(2)));
        assert_eq!(boxes[0].cuboid, car());
        assert!((boxes[1].cuboid.center[2] - 1.75).abs() < 1e-12);
        BoxEdit::Delete.preview(&mut boxes, Some(AnnotationId(1)));
        assert_eq!(boxes.len(), 1);
        assert_eq!(boxes[0].annotation, AnnotationId(2));
    }
}
