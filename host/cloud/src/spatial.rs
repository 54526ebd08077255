//! Spatial queries on local positions: oriented boxes, points in a box, picking along a ray.
//!
//! Everything here works in the cloud's local frame (the frame of `PointCloud::positions`, i.e.
//! offsets from `PointCloud::origin`). Box geometry is kept in f64 so that converting to and from
//! georeferenced [`Cuboid`]s does not lose millimetres; point tests run on the f32 positions.

use crate::PointCloud;
use cairn_model::{Cuboid, normalize_angle};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Inputs shorter than this are scanned on the calling thread.
const PARALLEL_MIN: usize = 256 * 1024;
/// Points per rayon task.
const CHUNK: usize = 64 * 1024;

/// A box that may turn about +z, in the cloud's local frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrientedBox {
    /// Centre, local frame (offset from the cloud's origin).
    pub center: [f64; 3],
    /// Length (along the heading), width, height. Full sizes, not half-sizes.
    pub size: [f64; 3],
    /// Heading about +z in radians: 0 faces +x, counter-clockwise.
    pub yaw: f64,
}

impl OrientedBox {
    pub fn new(center: [f64; 3], size: [f64; 3], yaw: f64) -> Self {
        OrientedBox { center, size, yaw }
    }

    /// Unit vector along the heading (length axis), in xy.
    pub fn heading(&self) -> [f64; 2] {
        [self.yaw.cos(), self.yaw.sin()]
    }

    /// The same box grown by `margin` on every side (all three axes); a negative margin shrinks it,
    /// never below zero size.
    pub fn grown(&self, margin: f64) -> OrientedBox {
        let size = self.size.map(|s| (s + 2.0 * margin).max(0.0));
        OrientedBox { size, ..*self }
    }

    /// A local-frame point in the box's own frame: x along the heading, y to its left, z up, all
    /// relative to the centre.
    pub fn to_box_frame(&self, p: [f64; 3]) -> [f64; 3] {
        let (s, c) = self.yaw.sin_cos();
        let dx = p[0] - self.center[0];
        let dy = p[1] - self.center[1];
        [c * dx + s * dy, -s * dx + c * dy, p[2] - self.center[2]]
    }

    /// A point given in the box's own frame, back in the local frame.
    pub fn from_box_frame(&self, q: [f64; 3]) -> [f64; 3] {
        let (s, c) = self.yaw.sin_cos();
        [self.center[0] + c * q[0] - s * q[1], self.center[1] + s * q[0] + c * q[1], self.center[2] + q[2]]
    }

    /// Whether `p` is inside or on the box.
    pub fn contains(&self, p: [f32; 3]) -> bool {
        self.contains_with_margin(p, 0.0)
    }

    /// Whether `p` is inside the box grown by `margin` on every side (negative shrinks).
    pub fn contains_with_margin(&self, p: [f32; 3], margin: f64) -> bool {
        BoxTest::new(self, margin).contains(p)
    }

    /// The eight corners in the local frame. Bottom face first (0..4), then the top face (4..8) in
    /// the same order; each face runs counter-clockwise seen from above, starting at the front-left
    /// corner: front-left, rear-left, rear-right, front-right.
    pub fn corners(&self) -> [[f64; 3]; 8] {
        let [hl, hw, hh] = self.size.map(|s| s / 2.0);
        let xy = [[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]];
        std::array::from_fn(|i| {
            let z = if i < 4 { -hh } else { hh };
            let [x, y] = xy[i % 4];
            self.from_box_frame([x, y, z])
        })
    }

    pub fn volume(&self) -> f64 {
        self.size[0] * self.size[1] * self.size[2]
    }

    /// The box as an annotation in the file's (world) coordinates: centre = origin + local centre,
    /// yaw normalized to [-π, π), no pitch or roll, no attributes, no track.
    pub fn to_cuboid(&self, cloud: &PointCloud, class: &str) -> Cuboid {
        let o = cloud.origin;
        Cuboid {
            center: [o[0] + self.center[0], o[1] + self.center[1], o[2] + self.center[2]],
            size: self.size,
            yaw: normalize_angle(self.yaw),
            pitch: 0.0,
            roll: 0.0,
            class: class.to_string(),
            attributes: BTreeMap::new(),
            track_id: None,
        }
    }

    /// An annotation's box in the cloud's local frame. Pitch and roll are dropped: boxes here turn
    /// about +z only.
    pub fn from_cuboid(cloud: &PointCloud, cuboid: &Cuboid) -> OrientedBox {
        let o = cloud.origin;
        let c = cuboid.center;
        OrientedBox { center: [c[0] - o[0], c[1] - o[1], c[2] - o[2]], size: cuboid.size, yaw: normalize_angle(cuboid.yaw) }
    }
}

/// A box made ready for testing many points: cos/sin and half-sizes computed once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BoxTest {
    center: [f64; 3],
    cos: f64,
    sin: f64,
    half: [f64; 3],
}

impl BoxTest {
    pub(crate) fn new(b: &OrientedBox, margin: f64) -> Self {
        let (sin, cos) = b.yaw.sin_cos();
        BoxTest { center: b.center, cos, sin, half: b.size.map(|s| s / 2.0 + margin) }
    }

    #[inline]
    pub(crate) fn contains(&self, p: [f32; 3]) -> bool {
        // Without short-circuits, so that loops over points vectorize.
        let dx = p[0] as f64 - self.center[0];
        let dy = p[1] as f64 - self.center[1];
        let dz = p[2] as f64 - self.center[2];
        ((self.cos * dx + self.sin * dy).abs() <= self.half[0])
            & ((-self.sin * dx + self.cos * dy).abs() <= self.half[1])
            & (dz.abs() <= self.half[2])
    }

    /// Appends what `pick` makes of each point of `chunk` that is inside (`first` is the index of
    /// the chunk's first point). Compacts through a small buffer so that there is no branch per
    /// point to mispredict when inside and outside points are mixed.
    #[inline]
    pub(crate) fn collect<T: Copy + Default>(&self, chunk: &[[f32; 3]], first: usize, out: &mut Vec<T>, pick: impl Fn(usize, [f32; 3]) -> T) {
        const BLOCK: usize = 256;
        let mut buf = [T::default(); BLOCK];
        for (b, block) in chunk.chunks(BLOCK).enumerate() {
            let mut n = 0;
            for (i, p) in block.iter().enumerate() {
                buf[n] = pick(first + b * BLOCK + i, *p);
                n += self.contains(*p) as usize;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
}

/// Runs `scan` over `positions` in chunks (in parallel for large inputs) and concatenates what the
/// chunks collect, in order.
pub(crate) fn scan_chunks<T: Send>(positions: &[[f32; 3]], scan: impl Fn(usize, &[[f32; 3]], &mut Vec<T>) + Sync) -> Vec<T> {
    if positions.len() < PARALLEL_MIN {
        let mut out = Vec::new();
        scan(0, positions, &mut out);
        return out;
    }
    let parts: Vec<Vec<T>> = positions
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(k, chunk)| {
            let mut out = Vec::new();
            scan(k * CHUNK, chunk, &mut out);
            out
        })
        .collect();
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out
}

/// Indices of the points inside (or on) the box, in ascending order. Large inputs are scanned in
/// parallel chunks.
pub fn points_in_box(positions: &[[f32; 3]], b: &OrientedBox) -> Vec<u32> {
    let test = BoxTest::new(b, 0.0);
    scan_chunks(positions, |first, chunk, out| test.collect(chunk, first, out, |i, _| i as u32))
}

/// The points inside (or on) the box themselves, in order.
pub(crate) fn positions_in_box(positions: &[[f32; 3]], b: &OrientedBox) -> Vec<[f32; 3]> {
    let test = BoxTest::new(b, 0.0);
    scan_chunks(positions, |first, chunk, out| test.collect(chunk, first, out, |_, p| p))
}

/// The point a click along a ray means: among the points within `max_distance_from_ray` of the ray
/// (perpendicular distance) and not behind its origin, the one nearest the origin along the ray.
/// Returns its index and its distance along the ray (`t`, in the units of the positions; the
/// direction need not be unit length). Ties in `t` go to the point nearer the ray, then to the
/// lower index. `None` when no point qualifies or the direction is zero or not finite.
pub fn pick_nearest(positions: &[[f32; 3]], ray_origin: [f32; 3], ray_dir: [f32; 3], max_distance_from_ray: f32) -> Option<(u32, f32)> {
    let len = (ray_dir[0] * ray_dir[0] + ray_dir[1] * ray_dir[1] + ray_dir[2] * ray_dir[2]).sqrt();
    if !len.is_finite() || len <= 0.0 || max_distance_from_ray.is_nan() || max_distance_from_ray < 0.0 {
        return None;
    }
    let d = ray_dir.map(|c| c / len);
    let max2 = max_distance_from_ray * max_distance_from_ray;
    // (t, squared distance from the ray, index)
    let candidate = |i: usize, p: &[f32; 3]| -> Option<(f32, f32, u32)> {
        let v = [p[0] - ray_origin[0], p[1] - ray_origin[1], p[2] - ray_origin[2]];
        let t = v[0] * d[0] + v[1] * d[1] + v[2] * d[2];
        if t.is_nan() || t < 0.0 {
            return None;
        }
        // |v × d|², which keeps its precision far along the ray (unlike |v|² - t²).
        let cx = v[1] * d[2] - v[2] * d[1];
        let cy = v[2] * d[0] - v[0] * d[2];
        let cz = v[0] * d[1] - v[1] * d[0];
        let r2 = cx * cx + cy * cy + cz * cz;
        (r2 <= max2).then_some((t, r2, i as u32))
    };
    // Lexicographic on (t, distance², index); no NaN gets this far.
    let better = |a: (f32, f32, u32), b: (f32, f32, u32)| if b.partial_cmp(&a) == Some(std::cmp::Ordering::Less) { b } else { a };
    let best = if positions.len() < PARALLEL_MIN {
        positions.iter().enumerate().filter_map(|(i, p)| candidate(i, p)).reduce(better)
    } else {
        positions
            .par_chunks(CHUNK)
            .enumerate()
            .filter_map(|(k, chunk)| chunk.iter().enumerate().filter_map(|(i, p)| candidate(k * CHUNK + i, p)).reduce(better))
            .reduce_with(better)
    };
    best.map(|(t, _, i)| (i, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::rng::SplitMix64 as Rng;
    use std::f64::consts::PI;

    #[test]
    fn rotated_box_membership_at_the_edges() {
        // 4 × 2 × 2 box at (10, 5, 1), turned 30°.
        let b = OrientedBox::new([10.0, 5.0, 1.0], [4.0, 2.0, 2.0], 30f64.to_radians());
        let at = |x: f64, y: f64, z: f64| {
            let p = b.from_box_frame([x, y, z]);
            [p[0] as f32, p[1] as f32, p[2] as f32]
        };
        let inside = [at(0.0, 0.0, 0.0), at(1.99, 0.0, 0.0), at(-1.99, 0.99, 0.99), at(0.0, -0.99, -0.99), at(1.98, 0.98, 0.98)];
        let outside = [at(2.01, 0.0, 0.0), at(0.0, 1.01, 0.0), at(0.0, 0.0, 1.01), at(-2.01, -0.5, 0.0), at(0.0, 0.0, -1.01)];
        // An axis-aligned box of the same size would contain this one; the turned one does not.
        let axis_only = [10.0 + 1.9, 5.0 + 0.9, 1.0];
        let mut positions = Vec::new();
        positions.extend_from_slice(&inside);
        positions.extend_from_slice(&outside);
        positions.push(axis_only);
        for p in inside {
            assert!(b.contains(p), "{p:?} should be inside");
        }
        for p in outside {
            assert!(!b.contains(p), "{p:?} should be outside");
            assert!(b.contains_with_margin(p, 0.05), "{p:?} should be inside with a margin");
        }
        assert!(!b.contains(axis_only));
        assert_eq!(points_in_box(&positions, &b), vec![0, 1, 2, 3, 4]);
        assert!(!b.contains_with_margin(inside[4], -0.05));
    }

    #[test]
    fn points_in_box_parallel_matches_serial() {
        let mut rng = Rng::new(7);
        let positions: Vec<[f32; 3]> = (0..600_000).map(|_| [rng.range(-20.0, 20.0), rng.range(-20.0, 20.0), rng.range(-2.0, 4.0)]).collect();
        let b = OrientedBox::new([3.0, -2.0, 0.5], [8.0, 3.0, 2.0], -2.5);
        let serial: Vec<u32> = (0..positions.len() as u32).filter(|&i| b.contains(positions[i as usize])).collect();
        let got = points_in_box(&positions, &b);
        assert!(serial.len() > 500, "{}", serial.len());
        assert_eq!(got, serial);
    }

    #[test]
    fn corners_and_frames() {
        let b = OrientedBox::new([1.0, 2.0, 3.0], [4.0, 2.0, 1.0], PI / 2.0);
        let c = b.corners();
        // Facing +y: front-left is at +y (front) and -x (left).
        let close = |a: [f64; 3], e: [f64; 3]| (0..3).all(|k| (a[k] - e[k]).abs() < 1e-12);
        assert!(close(c[0], [0.0, 4.0, 2.5]), "{:?}", c[0]);
        assert!(close(c[6], [2.0, 0.0, 3.5]), "{:?}", c[6]);
        for corner in c {
            let q = b.to_box_frame(corner);
            assert!(close(b.from_box_frame(q), corner));
            let p = corner.map(|v| v as f32);
            assert!(b.contains_with_margin(p, 1e-5));
        }
        assert_eq!(b.grown(0.5).size, [5.0, 3.0, 2.0]);
        assert_eq!(b.grown(-5.0).size, [0.0, 0.0, 0.0]);
    }

    #[test]
    fn cuboid_round_trip_keeps_georeferenced_precision() {
        let cloud = PointCloud { origin: [500000.0, 5000000.0, 100.0], ..PointCloud::default() };
        let cuboid = Cuboid {
            center: [500012.345, 4999995.678, 101.0],
            size: [4.5, 1.9, 1.6],
            yaw: 3.0 * PI,
            pitch: 0.0,
            roll: 0.0,
            class: "car".into(),
            attributes: BTreeMap::new(),
            track_id: None,
        };
        let b = OrientedBox::from_cuboid(&cloud, &cuboid);
        assert!((b.center[0] - 12.345).abs() < 1e-9 && (b.center[1] + 4.322).abs() < 1e-9);
        let back = b.to_cuboid(&cloud, "car");
        for k in 0..3 {
            assert!((back.center[k] - cuboid.center[k]).abs() < 1e-6);
        }
        assert!((back.yaw - normalize_angle(3.0 * PI)).abs() < 1e-12);
        assert!(back.yaw >= -PI && back.yaw < PI);
        assert_eq!(back.size, cuboid.size);
        assert_eq!(back.class, "car");
    }

    #[test]
    fn pick_takes_the_first_point_along_the_ray() {
        let positions = vec![
            [5.0, 0.05, 0.0],  // 0: on the ray at t = 5
            [3.0, 0.3, 0.0],   // 1: too far from the ray
            [-1.0, 0.0, 0.0],  // 2: behind the origin
            [7.0, -0.02, 0.0], // 3: further along
            [4.0, 0.0, 0.09],  // 4: nearest along the ray, within 0.1
            [4.0, 0.0, 0.01],  // 5: same t as 4, nearer the ray
        ];
        let (i, t) = pick_nearest(&positions, [0.0, 0.0, 0.0], [2.0, 0.0, 0.0], 0.1).unwrap();
        assert_eq!(i, 5);
        assert!((t - 4.0).abs() < 1e-6);
        // Only the point behind qualifies when the ray turns around, with a narrow radius.
        assert_eq!(pick_nearest(&positions, [0.0, 0.0, 0.0], [-1.0, 0.0, 0.0], 0.01), Some((2, 1.0)));
        assert_eq!(pick_nearest(&positions, [10.0, 0.0, 0.0], [1.0, 0.0, 0.0], 0.1), None);
        assert_eq!(pick_nearest(&positions, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 0.1), None);
    }

    #[test]
    fn pick_parallel_matches_serial_far_from_the_origin() {
        let mut rng = Rng::new(11);
        let positions: Vec<[f32; 3]> = (0..400_000).map(|_| [rng.range(-300.0, 300.0), rng.range(-300.0, 300.0), rng.range(-5.0, 30.0)]).collect();
        let o = [-250.0, 10.0, 2.0];
        let dir = [1.0, 0.02, 0.01];
        let got = pick_nearest(&positions, o, dir, 2.0).unwrap();
        // The same answer on the calling thread (a short slice holding the winner).
        let lo = (got.0 as usize).saturating_sub(1000);
        let (i, t) = pick_nearest(&positions[lo..got.0 as usize + 1000], o, dir, 2.0).unwrap();
        assert_eq!((i as usize + lo, t), (got.0 as usize, got.1));
        // Brute force in f64.
        let n = (1.0f64 + 0.0004 + 0.0001).sqrt();
        let d = [1.0 / n, 0.02 / n, 0.01 / n];
        let mut best: Option<(f64, usize)> = None;
        for (i, p) in positions.iter().enumerate() {
            let v = [p[0] as f64 - o[0] as f64, p[1] as f64 - o[1] as f64, p[2] as f64 - o[2] as f64];
            let t = v[0] * d[0] + v[1] * d[1] + v[2] * d[2];
            let r2 = v.iter().map(|c| c * c).sum::<f64>() - t * t;
            if t >= 0.0 && r2 <= 4.0 && best.is_none_or(|(bt, _)| t < bt) {
                best = Some((t, i));
            }
        }
        let (bt, bi) = best.unwrap();
        assert_eq!(got.0 as usize, bi);
        assert!((got.1 as f64 - bt).abs() < 1e-3);
    }
}
