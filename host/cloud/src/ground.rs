//! The ground under a cloud: a RANSAC plane through the lowest points, refined by least squares.
//!
//! Works in the cloud's local frame (f32 offsets from the origin). Deterministic: the random
//! choices come from a seeded generator in [`GroundParams`].

use cairn_model::rng::SplitMix64;

/// A plane `normal · p + d = 0` with a unit normal pointing up (`normal[2] > 0`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plane {
    pub normal: [f32; 3],
    pub d: f32,
}

impl Plane {
    /// The horizontal plane at height `z`.
    pub fn horizontal(z: f32) -> Plane {
        Plane { normal: [0.0, 0.0, 1.0], d: -z }
    }

    /// The plane through `point` with the given normal (any length, any sign); `None` when the
    /// normal is zero, not finite, or horizontal (a vertical plane has no "up").
    pub fn from_normal_point(normal: [f64; 3], point: [f64; 3]) -> Option<Plane> {
        let len = (normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]).sqrt();
        if !len.is_finite() || len <= 0.0 {
            return None;
        }
        let sign = if normal[2] < 0.0 { -1.0 } else { 1.0 };
        let n = normal.map(|c| sign * c / len);
        if n[2] <= 1e-9 {
            return None;
        }
        let d = -(n[0] * point[0] + n[1] * point[1] + n[2] * point[2]);
        Some(Plane { normal: n.map(|c| c as f32), d: d as f32 })
    }

    /// Signed distance of `p` from the plane, positive above it.
    #[inline]
    pub fn height(&self, p: [f32; 3]) -> f32 {
        self.normal[0] * p[0] + self.normal[1] * p[1] + self.normal[2] * p[2] + self.d
    }

    /// Height of the plane above the point (x, y).
    pub fn z_at(&self, x: f32, y: f32) -> f32 {
        -(self.normal[0] * x + self.normal[1] * y + self.d) / self.normal[2]
    }

    /// Angle between the plane and the horizontal, in degrees.
    pub fn slope_deg(&self) -> f32 {
        self.normal[2].clamp(-1.0, 1.0).acos().to_degrees()
    }
}

/// Settings for [`estimate_ground`].
#[derive(Clone, Debug, PartialEq)]
pub struct GroundParams {
    /// Planes steeper than this are not ground.
    pub max_slope_deg: f32,
    /// Points within this distance of a plane support it (metres).
    pub inlier_threshold: f32,
    /// RANSAC draws.
    pub iterations: usize,
    /// Side of the xy cells whose lowest points are the candidates (metres). Widened for very large
    /// clouds and narrowed for small ones so that there are between a few hundred and 65 536 cells.
    pub cell: f32,
    /// Lowest points each hypothesis is scored on.
    pub sample_points: usize,
    pub seed: u64,
}

impl Default for GroundParams {
    fn default() -> Self {
        GroundParams { max_slope_deg: 15.0, inlier_threshold: 0.15, iterations: 200, cell: 1.0, sample_points: 4000, seed: 0x5eed_cafe_f00d }
    }
}

/// Points fed to the grid of lowest points at most (a stride subsample beyond).
const GRID_INPUT_MAX: usize = 256 * 1024;
/// Points the least-squares refinement looks at, at most.
const REFINE_POINTS_MAX: usize = 16 * 1024;
/// What a lowest point clearly below a plane costs it, against one point of support: the ground
/// has next to nothing under it, while a plane through roofs, or tilted through a car's side and
/// the ground at one end, has the ground under it.
const BELOW_WEIGHT: i64 = 4;
const CELLS_MAX: f64 = 65_536.0;
const CELLS_MIN: f64 = 256.0;
/// Dense grids up to this many cells; a sort beyond.
const DENSE_GRID_MAX: f64 = (1u64 << 22) as f64;

/// Indices (ascending) of the lowest point in each occupied `cell × cell` square of the xy plane.
/// Ties go to the lower index. Empty when `cell` is not positive.
pub fn grid_minimum(positions: &[[f32; 3]], cell: f32) -> Vec<u32> {
    if positions.is_empty() || !cell.is_finite() || cell <= 0.0 {
        return Vec::new();
    }
    let (min, max) = xy_bounds(positions);
    let inv = 1.0 / cell as f64;
    let nx = ((max[0] - min[0]) * inv).floor() + 1.0;
    let ny = ((max[1] - min[1]) * inv).floor() + 1.0;
    let key = |p: &[f32; 3]| -> (u64, u64) {
        let ix = ((p[0] as f64 - min[0]) * inv) as u64;
        let iy = ((p[1] as f64 - min[1]) * inv) as u64;
        (ix, iy)
    };
    let mut out: Vec<u32>;
    if nx * ny <= DENSE_GRID_MAX {
        let nx = nx as usize;
        let mut slots = vec![u32::MAX; nx * ny as usize];
        for (i, p) in positions.iter().enumerate() {
            let (ix, iy) = key(p);
            let slot = &mut slots[(iy as usize).min(ny as usize - 1) * nx + (ix as usize).min(nx - 1)];
            if *slot == u32::MAX || p[2] < positions[*slot as usize][2] {
                *slot = i as u32;
            }
        }
        out = slots.into_iter().filter(|&s| s != u32::MAX).collect();
    } else {
        let mut keyed: Vec<(u64, u64, f32, u32)> = positions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (ix, iy) = key(p);
                (ix, iy, p[2], i as u32)
            })
            .collect();
        keyed.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)).then(a.3.cmp(&b.3)));
        keyed.dedup_by_key(|k| (k.0, k.1));
        out = keyed.into_iter().map(|k| k.3).collect();
    }
    out.sort_unstable();
    out
}

fn xy_bounds(positions: &[[f32; 3]]) -> ([f64; 2], [f64; 2]) {
    let mut min = [f64::INFINITY; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    for p in positions {
        for k in 0..2 {
            min[k] = min[k].min(p[k] as f64);
            max[k] = max[k].max(p[k] as f64);
        }
    }
    (min, max)
}

/// The ground plane of a cloud (or of a neighbourhood), or `None` when fewer than three points or
/// no plane within the slope limit is found.
///
/// Hypotheses are drawn from the lowest point of each xy cell, so car roofs and walls rarely take
/// part, and are scored on (at most `sample_points` of) those lowest points: points within the
/// threshold count for a plane, points clearly below it count four times against it, so a roof, a
/// raised platform or a plane tilted across a car loses to the ground beneath. The best plane is then refined by least squares on the
/// points of the cloud near it, with the band narrowing to three times the residual.
pub fn estimate_ground(positions: &[[f32; 3]], params: &GroundParams) -> Option<Plane> {
    if positions.len() < 3 {
        return None;
    }
    let stride = positions.len().div_ceil(GRID_INPUT_MAX).max(1);
    let sub: Vec<[f32; 3]> = stratified(positions, stride);
    let (min, max) = xy_bounds(&sub);
    let area = ((max[0] - min[0]) * (max[1] - min[1])).max(1e-6);
    let mut cell = (params.cell.max(1e-3)) as f64;
    if area / (cell * cell) > CELLS_MAX {
        cell = (area / CELLS_MAX).sqrt();
    } else if area / (cell * cell) < CELLS_MIN {
        cell = (area / CELLS_MIN).sqrt().max(0.05).min(cell);
    }
    let low: Vec<[f32; 3]> = grid_minimum(&sub, cell as f32).into_iter().map(|i| sub[i as usize]).collect();
    if low.len() < 3 {
        return None;
    }
    let score_stride = low.len().div_ceil(params.sample_points.max(16)).max(1);
    let scoring: Vec<[f32; 3]> = stratified(&low, score_stride);

    let thr = params.inlier_threshold.max(1e-4);
    let min_nz = params.max_slope_deg.clamp(0.0, 89.9).to_radians().cos();
    let mut rng = SplitMix64::new(params.seed);
    let mut best: Option<(i64, Plane)> = None;
    for _ in 0..params.iterations.max(1) {
        let (a, b, c) = (rng.below(low.len()), rng.below(low.len()), rng.below(low.len()));
        if a == b || b == c || a == c {
            continue;
        }
        let [pa, pb, pc] = [low[a], low[b], low[c]].map(|p| p.map(|v| v as f64));
        let u = [pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]];
        let v = [pc[0] - pa[0], pc[1] - pa[1], pc[2] - pa[2]];
        let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        // Nearly collinear draws (cross product tiny against the edge lengths) say little.
        let scale = (u.iter().map(|x| x * x).sum::<f64>() * v.iter().map(|x| x * x).sum::<f64>()).sqrt();
        let cross = n.iter().map(|x| x * x).sum::<f64>().sqrt();
        if cross.is_nan() || cross <= 1e-3 * scale {
            continue;
        }
        let Some(plane) = Plane::from_normal_point(n, pa) else { continue };
        if plane.normal[2] < min_nz {
            continue;
        }
        let mut score = 0i64;
        for p in &scoring {
            let h = plane.height(*p);
            if h.abs() <= thr {
                score += 1;
            } else if h < -thr {
                score -= BELOW_WEIGHT;
            }
        }
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, plane));
        }
    }
    let (score, mut plane) = best?;
    if score < 3 {
        return None;
    }

    // Least squares on the points near the plane, narrowing the band as the fit settles.
    let refine_stride = sub.len().div_ceil(REFINE_POINTS_MAX).max(1);
    let near: Vec<[f32; 3]> = stratified(&sub, refine_stride).into_iter().filter(|p| plane.height(*p).abs() <= thr).collect();
    let mut band = thr;
    for _ in 0..4 {
        let inliers = near.iter().filter(|p| plane.height(**p).abs() <= band);
        let Some(refined) = least_squares(inliers) else { break };
        if refined.normal[2] < min_nz {
            break;
        }
        plane = refined;
        let (mut sum2, mut count) = (0.0f64, 0usize);
        for p in &near {
            let h = plane.height(*p);
            if h.abs() <= band {
                sum2 += (h as f64) * (h as f64);
                count += 1;
            }
        }
        let rms = (sum2 / count.max(1) as f64).sqrt() as f32;
        band = (3.0 * rms).clamp(thr / 5.0, thr);
    }
    Some(plane)
}

/// z = a x + b y + c through the points (centred, in f64); `None` for fewer than three points or
/// points on a line.
fn least_squares<'a>(points: impl Iterator<Item = &'a [f32; 3]> + Clone) -> Option<Plane> {
    let (mut n, mut sx, mut sy, mut sz) = (0usize, 0.0f64, 0.0f64, 0.0f64);
    for p in points.clone() {
        n += 1;
        sx += p[0] as f64;
        sy += p[1] as f64;
        sz += p[2] as f64;
    }
    if n < 3 {
        return None;
    }
    let m = [sx / n as f64, sy / n as f64, sz / n as f64];
    let (mut xx, mut xy, mut yy, mut xz, mut yz) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        let x = p[0] as f64 - m[0];
        let y = p[1] as f64 - m[1];
        let z = p[2] as f64 - m[2];
        xx += x * x;
        xy += x * y;
        yy += y * y;
        xz += x * z;
        yz += y * z;
    }
    let det = xx * yy - xy * xy;
    if det.is_nan() || det <= 1e-9 * (xx * yy).max(1e-12) {
        return None;
    }
    let a = (xz * yy - yz * xy) / det;
    let b = (yz * xx - xz * xy) / det;
    Plane::from_normal_point([-a, -b, 1.0], m)
}

/// One item from each run of `stride` items, at a random place in the run. Scans often list points
/// in a repeating order (beams, faces, scan lines): a fixed stride can land on the same kind every
/// time, this cannot. Seeded, so results repeat.
pub(crate) fn stratified<T: Copy>(items: &[T], stride: usize) -> Vec<T> {
    if stride <= 1 {
        return items.to_vec();
    }
    let mut rng = SplitMix64::new(0x5EED_CA1B);
    items.chunks(stride).map(|run| run[rng.below(run.len())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn angle_between(a: [f32; 3], b: [f32; 3]) -> f32 {
        let dot: f32 = (0..3).map(|k| a[k] * b[k]).sum();
        dot.clamp(-1.0, 1.0).acos().to_degrees()
    }

    /// A 5° slope (rising towards +x+y) through (0, 0, -1.7), 2 cm noise, with parked boxes, walls,
    /// a raised platform, poles and a few points below the ground around it.
    fn tilted_scene(seed: u64) -> (Vec<[f32; 3]>, Plane) {
        let tilt = 5f64.to_radians();
        let dir = std::f64::consts::FRAC_PI_4 + 0.3;
        let normal = [-tilt.sin() * dir.cos(), -tilt.sin() * dir.sin(), tilt.cos()];
        let truth = Plane::from_normal_point(normal, [0.0, 0.0, -1.7]).unwrap();
        let mut rng = SplitMix64::new(seed);
        let mut pts = Vec::new();
        let ground_z = |x: f32, y: f32| truth.z_at(x, y);
        for _ in 0..60_000 {
            let (x, y) = (rng.range(-30.0, 30.0), rng.range(-30.0, 30.0));
            pts.push([x, y, ground_z(x, y) + 0.02 * rng.gauss() as f32]);
        }
        // Parked cars: boxes 4.5 × 1.9 × 1.5 standing on the slope, surfaces only.
        for k in 0..25 {
            let (cx, cy) = (rng.range(-25.0, 25.0), rng.range(-25.0, 25.0));
            let base = ground_z(cx, cy) + 0.25;
            for _ in 0..800 {
                let (u, v) = (rng.range(-2.25, 2.25), rng.range(-0.95, 0.95));
                let top = k % 2 == 0 || rng.unit() < 0.5;
                let z = if top { base + 1.5 } else { base + rng.range(0.0, 1.5) };
                let (x, y) = if top { (cx + u, cy + v) } else { (cx + u, cy + if v > 0.0 { 0.95 } else { -0.95 }) };
                pts.push([x, y, z]);
            }
        }
        // Walls along two edges, 4 m high.
        for _ in 0..15_000 {
            let t = rng.range(-30.0, 30.0);
            let h = rng.range(0.0, 4.0);
            pts.push([t, 28.0, ground_z(t, 28.0) + h]);
            pts.push([-28.0, t, ground_z(-28.0, t) + h]);
        }
        // A raised platform (loading dock), 1.2 m up, 8 × 8 m.
        for _ in 0..6_000 {
            let (x, y) = (rng.range(5.0, 13.0), rng.range(-20.0, -12.0));
            pts.push([x, y, ground_z(x, y) + 1.2 + 0.02 * rng.gauss() as f32]);
        }
        // Poles and a handful of multipath points under the ground.
        for k in 0..10 {
            let (x, y) = (-20.0 + 4.0 * k as f32, 10.0);
            for _ in 0..200 {
                pts.push([x, y, ground_z(x, y) + rng.range(0.0, 6.0)]);
            }
        }
        for _ in 0..20 {
            let (x, y) = (rng.range(-30.0, 30.0), rng.range(-30.0, 30.0));
            pts.push([x, y, ground_z(x, y) - rng.range(0.5, 3.0)]);
        }
        // Shuffle so that no structure hides in the order.
        for i in (1..pts.len()).rev() {
            let j = rng.below(i + 1);
            pts.swap(i, j);
        }
        (pts, truth)
    }

    #[test]
    fn tilted_ground_under_clutter() {
        for seed in [1, 2, 3] {
            let (pts, truth) = tilted_scene(seed);
            let plane = estimate_ground(&pts, &GroundParams::default()).expect("a plane");
            let angle = angle_between(plane.normal, truth.normal);
            assert!(angle < 1.0, "seed {seed}: normal off by {angle}°");
            assert!((plane.d - truth.d).abs() < 0.03, "seed {seed}: offset {} vs {}", plane.d, truth.d);
            assert!((plane.slope_deg() - 5.0).abs() < 1.0);
            // Same answer twice.
            assert_eq!(estimate_ground(&pts, &GroundParams::default()), Some(plane));
        }
    }

    #[test]
    fn steep_planes_are_not_ground() {
        // Only a 30° ramp: no plane within 15°.
        let mut rng = SplitMix64::new(5);
        let ramp = Plane::from_normal_point([-(30f64.to_radians().sin()), 0.0, 30f64.to_radians().cos()], [0.0; 3]).unwrap();
        let pts: Vec<[f32; 3]> = (0..5000)
            .map(|_| {
                let (x, y) = (rng.range(-10.0, 10.0), rng.range(-10.0, 10.0));
                [x, y, ramp.z_at(x, y)]
            })
            .collect();
        assert_eq!(estimate_ground(&pts, &GroundParams::default()), None);
        let steep = GroundParams { max_slope_deg: 35.0, ..GroundParams::default() };
        let plane = estimate_ground(&pts, &steep).unwrap();
        assert!(angle_between(plane.normal, ramp.normal) < 0.1);
        assert_eq!(estimate_ground(&pts[..2], &GroundParams::default()), None);
    }

    #[test]
    fn plane_helpers() {
        let p = Plane::horizontal(-1.5);
        assert_eq!(p.height([3.0, 4.0, 0.5]), 2.0);
        assert_eq!(p.z_at(10.0, -3.0), -1.5);
        let q = Plane::from_normal_point([0.0, 0.0, -2.0], [0.0, 0.0, 1.0]).unwrap();
        assert_eq!(q, Plane::horizontal(1.0));
        assert_eq!(Plane::from_normal_point([1.0, 0.0, 0.0], [0.0; 3]), None);
        let t = Plane::from_normal_point([-0.1, 0.0, 1.0], [0.0, 0.0, 0.0]).unwrap();
        assert!((t.z_at(10.0, 0.0) - 1.0).abs() < 1e-5);
        assert!(t.height([10.0, 0.0, 1.0]).abs() < 1e-5);
    }

    #[test]
    fn grid_minimum_dense_and_sparse() {
        let pts = [[0.1, 0.1, 3.0], [0.2, 0.3, 1.0], [0.9, 0.9, 1.0], [1.5, 0.2, 5.0], [1.6, 0.1, 4.0], [0.5, 0.5, 1.0]];
        assert_eq!(grid_minimum(&pts, 1.0), vec![1, 4]);
        assert_eq!(grid_minimum(&pts, 0.0), Vec::<u32>::new());
        // A span too wide for a dense grid at this cell size takes the sorting path.
        let wide = [[0.0, 0.0, 2.0], [0.01, 0.0, 1.0], [5000.0, 5000.0, 0.0], [5000.0, 5000.001, -1.0]];
        assert_eq!(grid_minimum(&wide, 0.5), vec![1, 3]);
    }

    /// Prints how long the ground of a 1M-point scene takes. Run with
    /// `cargo test -p cairn-cloud --lib --release -- --ignored --nocapture ground_timing`.
    #[test]
    #[ignore]
    fn ground_timing_1m() {
        let mut pts = Vec::with_capacity(1_000_000);
        let mut seed = 20;
        while pts.len() < 1_000_000 {
            pts.extend(tilted_scene(seed).0);
            seed += 1;
        }
        pts.truncate(1_000_000);
        let mut best = f64::INFINITY;
        let mut plane = None;
        for _ in 0..10 {
            let t = std::time::Instant::now();
            plane = estimate_ground(&pts, &GroundParams::default());
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("estimate_ground, 1M points: best of 10 {:.2} ms, {plane:?}", best * 1e3);
    }
}
