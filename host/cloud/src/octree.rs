//! A level-of-detail octree over a cloud's positions.
//!
//! Points are sorted by Morton code, so every node is a contiguous range of the sorted points and a
//! strided sample of a range is spread evenly over the node's cube. A renderer uploads the sorted
//! positions once and draws each selected node as a range at the stride `select` hands back: no point
//! is stored twice and refining a node never re-uploads anything.

use crate::Aabb;
use rayon::prelude::*;

/// Deepest level: 2^10 cells per axis (about 20 cm cells for a 200 m scan).
const MAX_DEPTH: u32 = 10;
/// Points a node may hold before it is split.
const LEAF_POINTS: usize = 8_192;
/// Points drawn for a node that is shown but not refined.
pub const NODE_SAMPLE: usize = 4_096;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's cube, in the cloud's local coordinates.
    pub bounds: Aabb<f32>,
    /// Range of `Octree::order` / `Octree::positions` the node covers.
    pub start: u32,
    pub end: u32,
    pub depth: u32,
    /// Indices of the child nodes (empty for a leaf).
    pub children: Vec<u32>,
}

impl Node {
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Octree {
    /// Node 0 is the root.
    pub nodes: Vec<Node>,
    /// Positions in Morton order.
    pub positions: Vec<[f32; 3]>,
    /// `order[i]` is the index in the cloud of the i-th sorted point.
    pub order: Vec<u32>,
}

/// Spreads the low 10 bits of `v` to every third bit.
fn spread(v: u32) -> u32 {
    let mut x = v & 0x3FF;
    x = (x | (x << 16)) & 0x030000FF;
    x = (x | (x << 8)) & 0x0300F00F;
    x = (x | (x << 4)) & 0x030C30C3;
    x = (x | (x << 2)) & 0x09249249;
    x
}

impl Octree {
    pub fn build(positions: &[[f32; 3]]) -> Octree {
        if positions.is_empty() {
            return Octree::default();
        }
        let bounds = cube_around(positions);
        let cells = (1u32 << MAX_DEPTH) as f32;
        let scale = cells / (bounds.max[0] - bounds.min[0]);
        // Key = 30-bit Morton code above the 32-bit point index: sorting keys sorts points.
        let mut keys: Vec<u64> = positions
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let cell = |k: usize| (((p[k] - bounds.min[k]) * scale) as u32).min((1 << MAX_DEPTH) - 1);
                let code = spread(cell(0)) | (spread(cell(1)) << 1) | (spread(cell(2)) << 2);
                (u64::from(code) << 32) | i as u64
            })
            .collect();
        keys.par_sort_unstable();
        let order: Vec<u32> = keys.par_iter().map(|k| *k as u32).collect();
        let sorted: Vec<[f32; 3]> = order.par_iter().map(|&i| positions[i as usize]).collect();
        let mut tree = Octree { nodes: Vec::new(), positions: sorted, order };
        tree.nodes.push(Node { bounds, start: 0, end: keys.len() as u32, depth: 0, children: Vec::new() });
        // Exact cubes to subdivide; the nodes keep them grown a hair.
        let mut stack = vec![(0usize, bounds)];
        while let Some((n, b)) = stack.pop() {
            let node = &tree.nodes[n];
            if node.len() <= LEAF_POINTS || node.depth == MAX_DEPTH {
                continue;
            }
            let (start, end, depth) = (node.start as usize, node.end as usize, node.depth);
            let shift = 32 + 3 * (MAX_DEPTH - depth - 1);
            let half = (b.max[0] - b.min[0]) / 2.0;
            let mut at = start;
            let mut children = Vec::new();
            for octant in 0..8u64 {
                let stop = at + keys[at..end].partition_point(|k| (k >> shift) & 7 <= octant);
                if stop > at {
                    let min: [f32; 3] = std::array::from_fn(|k| b.min[k] + if octant >> k & 1 == 1 { half } else { 0.0 });
                    let cube = Aabb { min, max: std::array::from_fn(|k| min[k] + half) };
                    // Grown a hair: a point on a cell boundary may round into either neighbour.
                    let eps = half * 1e-4;
                    let child = Node {
                        bounds: Aabb { min: std::array::from_fn(|k| min[k] - eps), max: std::array::from_fn(|k| min[k] + half + eps) },
                        start: at as u32,
                        end: stop as u32,
                        depth: depth + 1,
                        children: Vec::new(),
                    };
                    children.push(tree.nodes.len() as u32);
                    stack.push((tree.nodes.len(), cube));
                    tree.nodes.push(child);
                }
                at = stop;
            }
            tree.nodes[n].children = children;
        }
        tree
    }

    /// Chooses what to draw: nodes inside the frustum, refined where they look largest on screen,
    /// until `budget` points. Each choice is a node and the stride to draw its range at.
    pub fn select(&self, view: &View, budget: usize) -> Vec<Selection> {
        let Some(root) = self.nodes.first() else { return Vec::new() };
        let mut out = Vec::new();
        if !view.frustum.intersects(&root.bounds) {
            return out;
        }
        let mut heap = std::collections::BinaryHeap::new();
        let mut used = drawn(root.len());
        heap.push(Candidate { priority: view.priority(&root.bounds), node: 0 });
        while let Some(Candidate { node, .. }) = heap.pop() {
            let n = &self.nodes[node as usize];
            let visible: Vec<u32> = n.children.iter().copied().filter(|&c| view.frustum.intersects(&self.nodes[c as usize].bounds)).collect();
            let cost: usize = visible.iter().map(|&c| drawn(self.nodes[c as usize].len())).sum::<usize>();
            if n.is_leaf() {
                // A leaf near the eye is drawn whole while the budget allows.
                let rest = n.len() - drawn(n.len());
                let whole = used + rest <= budget;
                if whole {
                    used += rest;
                }
                out.push(Selection { node, stride: if whole { 1 } else { stride(n.len()) } });
                continue;
            }
            if used - drawn(n.len()) + cost > budget {
                out.push(Selection { node, stride: stride(n.len()) });
                continue;
            }
            used = used - drawn(n.len()) + cost;
            for c in visible {
                heap.push(Candidate { priority: view.priority(&self.nodes[c as usize].bounds), node: c });
            }
        }
        out
    }

    /// The point nearest the ray origin among those within `radius` of the ray. Returns the index in
    /// the cloud and the distance along the ray.
    pub fn pick(&self, origin: [f32; 3], dir: [f32; 3], radius: f32) -> Option<(u32, f32)> {
        let len = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]).sqrt();
        // `len > 0.0` is false for NaN too.
        if self.nodes.is_empty() || len.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let d = [dir[0] / len, dir[1] / len, dir[2] / len];
        let mut best: Option<(u32, f32)> = None;
        let mut stack = vec![0u32];
        while let Some(i) = stack.pop() {
            let n = &self.nodes[i as usize];
            let Some(t_enter) = ray_box(origin, d, &n.bounds, radius) else { continue };
            if best.is_some_and(|(_, t)| t_enter > t) {
                continue;
            }
            if !n.is_leaf() {
                stack.extend(&n.children);
                continue;
            }
            for k in n.start..n.end {
                let p = self.positions[k as usize];
                let v = [p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]];
                let t = v[0] * d[0] + v[1] * d[1] + v[2] * d[2];
                if t < 0.0 || best.is_some_and(|(_, bt)| t >= bt) {
                    continue;
                }
                let off2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2] - t * t;
                if off2 <= radius * radius {
                    best = Some((self.order[k as usize], t));
                }
            }
        }
        best
    }
}

fn stride(len: usize) -> u32 {
    len.div_ceil(NODE_SAMPLE).max(1) as u32
}

fn drawn(len: usize) -> usize {
    len.min(NODE_SAMPLE)
}

/// A node to draw, every `stride`-th point of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    pub node: u32,
    pub stride: u32,
}

#[derive(PartialEq)]
struct Candidate {
    priority: f32,
    node: u32,
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.priority.total_cmp(&other.priority).then(other.node.cmp(&self.node))
    }
}

fn cube_around(positions: &[[f32; 3]]) -> Aabb<f32> {
    let (min, max) = positions
        .par_iter()
        .fold(
            || ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
            |(mut lo, mut hi), p| {
                for k in 0..3 {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
                (lo, hi)
            },
        )
        .reduce(
            || ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
            |a, b| (std::array::from_fn(|k| a.0[k].min(b.0[k])), std::array::from_fn(|k| a.1[k].max(b.1[k]))),
        );
    // A cube a little larger than the points, so that the maximum falls inside the last cell.
    let side = (0..3).map(|k| max[k] - min[k]).fold(0.0f32, f32::max).max(1e-3) * 1.0001;
    Aabb { min, max: std::array::from_fn(|k| min[k] + side) }
}

/// Entry distance of a ray into a box grown by `pad`, if it hits.
fn ray_box(o: [f32; 3], d: [f32; 3], b: &Aabb<f32>, pad: f32) -> Option<f32> {
    let (mut t0, mut t1) = (0.0f32, f32::INFINITY);
    for k in 0..3 {
        let (lo, hi) = (b.min[k] - pad, b.max[k] + pad);
        if d[k].abs() < 1e-12 {
            if o[k] < lo || o[k] > hi {
                return None;
            }
            continue;
        }
        let (a, c) = ((lo - o[k]) / d[k], (hi - o[k]) / d[k]);
        t0 = t0.max(a.min(c));
        t1 = t1.min(a.max(c));
        if t0 > t1 {
            return None;
        }
    }
    Some(t0)
}

/// Six planes `a·x + b·y + c·z + d ≥ 0` for the inside, in the cloud's local coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frustum {
    pub planes: [[f32; 4]; 6],
}

impl Frustum {
    /// From a column-major view-projection matrix (as glam / wgpu use), with depth in 0..1.
    pub fn from_view_projection(m: [[f32; 4]; 4]) -> Frustum {
        let row = |r: usize| [m[0][r], m[1][r], m[2][r], m[3][r]];
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let add = |a: [f32; 4], b: [f32; 4]| std::array::from_fn(|k| a[k] + b[k]);
        let sub = |a: [f32; 4], b: [f32; 4]| std::array::from_fn(|k| a[k] - b[k]);
        Frustum { planes: [add(r3, r0), sub(r3, r0), add(r3, r1), sub(r3, r1), r2, sub(r3, r2)] }
    }

    /// Everything is inside.
    pub fn everything() -> Frustum {
        Frustum { planes: [[0.0, 0.0, 0.0, 1.0]; 6] }
    }

    pub fn intersects(&self, b: &Aabb<f32>) -> bool {
        self.planes.iter().all(|p| {
            // The box corner furthest along the plane's normal.
            let v: [f32; 3] = std::array::from_fn(|k| if p[k] >= 0.0 { b.max[k] } else { b.min[k] });
            p[0] * v[0] + p[1] * v[1] + p[2] * v[2] + p[3] >= 0.0
        })
    }
}

/// What the camera sees: the frustum and where the eye is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub frustum: Frustum,
    pub eye: [f32; 3],
}

impl View {
    /// How large a node looks: its size over its distance from the eye.
    fn priority(&self, b: &Aabb<f32>) -> f32 {
        let size = b.max[0] - b.min[0];
        let d2: f32 = (0..3)
            .map(|k| {
                let c = self.eye[k].clamp(b.min[k], b.max[k]);
                (c - self.eye[k]) * (c - self.eye[k])
            })
            .sum();
        size / (d2.sqrt() + 1e-3)
    }
}

#[cfg(test)]
mod tests;
