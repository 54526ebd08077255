//! Auto-fit: from a rough box around an object to a tight oriented box.
//!
//! The steps, all in the cloud's local frame:
//! 1. gather the points inside the rough box grown by `margin`;
//! 2. drop the ground: points less than `ground_clearance` above the plane (the given one, or one
//!    estimated from the gathered points);
//! 3. keep one object: 8-connected components on a 25 cm xy grid pick the cluster with the most
//!    points inside the rough box (so a pole or stray returns beside the object do not stretch the
//!    box), then vertical gaps of a metre or more split off what hangs above (branches, signs);
//! 4. yaw from the minimum-area rectangle around the xy convex hull (rotating calipers), with
//!    length ≥ width, choosing among the equivalent headings (θ, θ + π) the one nearest the rough
//!    yaw, so that a box keeps the heading the annotator gave it;
//! 5. tight extents along those axes, each side at the 90th percentile of the points within 8 cm
//!    of it (range noise does not inflate the box); the bottom goes down to the ground when the
//!    lowest point is within 40 cm of it, since LiDAR rarely sees under a car;
//! 6. when the object reached the sides or top of the gathering box (the rough box was off), gather
//!    again within a box holding both the fitted and the rough box, grown by the margin plus
//!    0.5 m, and refit; at most five passes, never further than the margin plus 2 m from the rough
//!    box, and no further pass once the object stops growing.
//!
//! Heading: the points alone cannot tell front from back, so the heading is always the one of the
//! two nearest the rough box's yaw; a rough box turned more than 90° from the object yields the
//! reverse heading. For nearly square footprints (sides within 10%) the four quarter turns are
//! candidates, so length may then be a little less than width.

use crate::ground::{GroundParams, Plane, estimate_ground, stratified};
use crate::spatial::{BoxTest, OrientedBox, positions_in_box};
use cairn_model::normalize_angle;
use std::f64::consts::{FRAC_PI_2, PI};

/// Settings for [`auto_fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    /// Ground plane in the cloud's local frame; `None` estimates one from the gathered points.
    pub ground: Option<Plane>,
    /// Points less than this high above the ground are ground (metres).
    pub ground_clearance: f32,
    /// The rough box grows by this on every side to catch the object (metres).
    pub margin: f32,
    /// Fewer object points than this is no fit.
    pub min_points: usize,
    /// Size of the box to place when too few points remain ([`default_size`] of the class).
    pub default_size: Option<[f64; 3]>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { ground: None, ground_clearance: 0.15, margin: 0.3, min_points: 10, default_size: None }
    }
}

/// The result of [`auto_fit`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// The fitted box, local frame.
    pub bbox: OrientedBox,
    /// Object points the box was fitted to.
    pub points: usize,
    /// The box has the default size because too few points remained.
    pub used_default_size: bool,
}

/// Side of the xy cells that connect object points.
const CLUSTER_CELL: f32 = 0.25;
/// Cluster grids are capped at this many cells (the cell grows beyond).
const CLUSTER_CELLS_MAX: f64 = 4.0e6;
/// A vertical empty stretch this tall separates an object from what is above it.
const Z_GAP: f32 = 1.0;
const Z_BIN: f32 = 0.1;
/// The bottom goes to the ground when the lowest point is within this height of it.
const SNAP_TO_GROUND: f32 = 0.4;
/// Each side sits at this quantile of the points within `SIDE_BAND` of the outermost one.
const SIDE_QUANTILE: f64 = 0.9;
const SIDE_BAND: f64 = 0.08;
/// Footprints whose sides are within this ratio may turn by a quarter to follow the rough yaw.
const SQUARE_RATIO: f64 = 0.9;
const MAX_PASSES: usize = 5;
/// Later passes gather within the fitted and rough boxes grown by the margin plus this...
const REGATHER_EXTRA: f64 = 0.5;
/// ...and within the rough box grown by the margin plus this.
const MAX_REACH: f64 = 2.0;
/// Hull input is reduced to per-bin extremes, bins at least this wide (metres).
const HULL_BIN: f64 = 0.01;
const HULL_BINS_MAX: f64 = 2048.0;
/// Objects with more points are measured on an even subsample of about this many.
const FIT_SAMPLE_MAX: usize = 8_192;
/// The local ground is estimated on an even subsample of about this many gathered points.
const LOCAL_GROUND_SAMPLE: usize = 16_384;

/// Typical [length, width, height] in metres for common driving-scene classes (KITTI, nuScenes,
/// Waymo and Argoverse names); case, spaces, `_` and `-` are ignored ("Traffic_Cone" = "traffic cone").
pub fn default_size(class: &str) -> Option<[f64; 3]> {
    let key: String = class.chars().filter(|c| !matches!(c, '_' | '-' | ' ' | '.')).flat_map(char::to_lowercase).collect();
    Some(match key.as_str() {
        "car" | "sedan" | "suv" | "vehicle" | "passengercar" => [4.5, 1.9, 1.6],
        "van" | "minivan" => [5.0, 2.0, 2.1],
        "pickup" | "pickuptruck" => [5.5, 2.0, 1.9],
        "truck" | "boxtruck" | "lorry" => [8.0, 2.6, 3.2],
        "constructionvehicle" => [6.5, 2.8, 3.2],
        "bus" | "bendybus" | "rigidbus" | "schoolbus" => [11.0, 2.9, 3.4],
        "trailer" | "vehicletrailer" => [10.0, 2.6, 3.5],
        "tram" | "train" => [25.0, 2.65, 3.5],
        "pedestrian" | "person" | "adult" | "child" | "walker" => [0.8, 0.8, 1.75],
        "personsitting" => [0.8, 0.6, 1.3],
        "cyclist" | "bicyclist" => [1.8, 0.8, 1.7],
        "bicycle" | "bike" => [1.8, 0.6, 1.2],
        "motorcycle" | "motorbike" | "moped" | "scooter" => [2.1, 0.8, 1.4],
        "motorcyclist" => [2.1, 0.8, 1.6],
        "trafficcone" | "cone" => [0.4, 0.4, 0.7],
        "barrier" | "trafficbarrier" => [2.5, 0.5, 1.0],
        "bollard" => [0.3, 0.3, 1.0],
        "animal" => [1.0, 0.5, 0.8],
        _ => return None,
    })
}

/// Fits a tight box to the object inside `rough` (see the module notes for the steps). `None` when
/// fewer than `min_points` object points remain and no default size is given; with a default size
/// the box then has that size, stands on the ground at the remaining points' centroid (or the rough
/// centre), keeps the rough yaw, and says `used_default_size`.
pub fn auto_fit(positions: &[[f32; 3]], rough: &OrientedBox, opts: &FitOptions) -> Option<Fit> {
    let margin = opts.margin.max(0.0) as f64;
    let min_points = opts.min_points.max(1);
    let mut search = rough.grown(margin);
    let mut prefer = *rough;
    let mut ground = opts.ground;
    let mut last: Option<Fit> = None;
    // Later passes never reach further than this from the rough box.
    let limit = BoxTest::new(rough, margin + MAX_REACH);
    for pass in 0..MAX_PASSES {
        let mut candidates = positions_in_box(positions, &search);
        if pass > 0 {
            candidates.retain(|p| limit.contains(*p));
        }
        if ground.is_none() {
            ground = local_ground(&candidates);
        }
        let mut above = candidates;
        if let Some(g) = ground {
            above.retain(|p| g.height(*p) >= opts.ground_clearance);
        }
        let object = below_gap(select_cluster(above, &prefer));
        if object.len() < min_points {
            if last.is_some() {
                break;
            }
            return opts.default_size.map(|size| placed_default(size, &object, rough, ground));
        }
        if last.is_some_and(|l| l.points == object.len()) {
            break; // gathering again found nothing new
        }
        let bbox = fit_points(&object, ground, rough.yaw);
        last = Some(Fit { bbox, points: object.len(), used_default_size: false });
        if pass + 1 == MAX_PASSES || !reaches_edge(&object, &search, (margin / 2.0).max(0.05)) {
            break;
        }
        search = enclosing(bbox.yaw, &[bbox, *rough]).grown(margin + REGATHER_EXTRA);
        prefer = bbox;
    }
    last
}

/// A ground plane from the gathered points, when they show one: not when more than a few points
/// lie clearly below it (with no ground in view, the lowest cells are the object's own roof or
/// sides, and a plane through them would cut the object).
fn local_ground(points: &[[f32; 3]]) -> Option<Plane> {
    if points.len() < 10 {
        return None;
    }
    // An even subsample is plenty for a plane and keeps dense neighbourhoods quick.
    let sample: Vec<[f32; 3]>;
    let points = if points.len() > LOCAL_GROUND_SAMPLE {
        sample = stratified(points, points.len().div_ceil(LOCAL_GROUND_SAMPLE));
        &sample[..]
    } else {
        points
    };
    let params = GroundParams { cell: 0.25, iterations: 100, sample_points: 2000, ..GroundParams::default() };
    let plane = estimate_ground(points, &params)?;
    let below = points.iter().filter(|p| plane.height(**p) < -params.inlier_threshold).count();
    (below <= (points.len() / 50).max(5)).then_some(plane)
}

/// The smallest box turned by `yaw` that holds the given boxes.
fn enclosing(yaw: f64, boxes: &[OrientedBox]) -> OrientedBox {
    let frame = OrientedBox::new([0.0; 3], [0.0; 3], yaw);
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for b in boxes {
        for corner in b.corners() {
            let q = frame.to_box_frame(corner);
            for k in 0..3 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
    }
    let mid = frame.from_box_frame(std::array::from_fn(|k| (lo[k] + hi[k]) / 2.0));
    OrientedBox::new(mid, std::array::from_fn(|k| hi[k] - lo[k]), yaw)
}

fn placed_default(size: [f64; 3], object: &[[f32; 3]], rough: &OrientedBox, ground: Option<Plane>) -> Fit {
    let (cx, cy) = if object.is_empty() {
        (rough.center[0], rough.center[1])
    } else {
        let n = object.len() as f64;
        (object.iter().map(|p| p[0] as f64).sum::<f64>() / n, object.iter().map(|p| p[1] as f64).sum::<f64>() / n)
    };
    let bottom = match ground {
        Some(g) => g.z_at(cx as f32, cy as f32) as f64,
        None => rough.center[2] - rough.size[2] / 2.0,
    };
    Fit { bbox: OrientedBox::new([cx, cy, bottom + size[2] / 2.0], size, rough.yaw), points: object.len(), used_default_size: true }
}

/// Whether object points come within `tol` of the gathering box's sides or top (the bottom is
/// the ground's business).
fn reaches_edge(object: &[[f32; 3]], search: &OrientedBox, tol: f64) -> bool {
    let half = search.size.map(|s| s / 2.0 - tol);
    let (s, c) = search.yaw.sin_cos();
    let o = search.center;
    object.iter().any(|p| {
        let (dx, dy) = (p[0] as f64 - o[0], p[1] as f64 - o[1]);
        (c * dx + s * dy).abs() > half[0] || (-s * dx + c * dy).abs() > half[1] || p[2] as f64 - o[2] > half[2]
    })
}

/// Connected components of the points' xy cells (8-neighbourhood); keeps the points of the
/// component with the most points inside `prefer` (ties: the larger component, then the first).
/// Also returns a z range holding the points kept.
fn select_cluster(mut points: Vec<[f32; 3]>, prefer: &OrientedBox) -> (Vec<[f32; 3]>, [f32; 2]) {
    let (mut min, mut max) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for p in &points {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    let z_range = [min[2], max[2]];
    if points.len() <= 1 {
        return (points, z_range);
    }
    let mut cell = CLUSTER_CELL as f64;
    let span = [(max[0] - min[0]) as f64, (max[1] - min[1]) as f64];
    if (span[0] / cell + 1.0) * (span[1] / cell + 1.0) > CLUSTER_CELLS_MAX {
        cell = ((span[0] + cell) * (span[1] + cell) / CLUSTER_CELLS_MAX).sqrt();
    }
    let nx = (span[0] / cell) as usize + 1;
    let ny = (span[1] / cell) as usize + 1;
    let inv = (1.0 / cell) as f32;
    let cell_of = |p: &[f32; 3]| -> usize {
        let ix = (((p[0] - min[0]) * inv) as usize).min(nx - 1);
        let iy = (((p[1] - min[1]) * inv) as usize).min(ny - 1);
        iy * nx + ix
    };
    let cells: Vec<u32> = points.iter().map(|p| cell_of(p) as u32).collect();
    // Label per cell: u32::MAX = empty, u32::MAX - 1 = occupied and not yet labelled.
    const EMPTY: u32 = u32::MAX;
    const UNSEEN: u32 = u32::MAX - 1;
    let mut label = vec![EMPTY; nx * ny];
    for &c in &cells {
        label[c as usize] = UNSEEN;
    }
    let mut components = 0u32;
    let mut stack = Vec::new();
    for start in 0..label.len() {
        if label[start] != UNSEEN {
            continue;
        }
        label[start] = components;
        stack.push(start);
        while let Some(c) = stack.pop() {
            let (cx, cy) = ((c % nx) as isize, (c / nx) as isize);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (x, y) = (cx + dx, cy + dy);
                    if x < 0 || y < 0 || x >= nx as isize || y >= ny as isize {
                        continue;
                    }
                    let n = y as usize * nx + x as usize;
                    if label[n] == UNSEEN {
                        label[n] = components;
                        stack.push(n);
                    }
                }
            }
        }
        components += 1;
    }
    if components == 1 {
        return (points, z_range);
    }
    let mut size = vec![0usize; components as usize];
    let mut inside = vec![0usize; components as usize];
    let prefer = BoxTest::new(prefer, 0.0);
    for (p, &c) in points.iter().zip(&cells) {
        let l = label[c as usize] as usize;
        size[l] += 1;
        if prefer.contains(*p) {
            inside[l] += 1;
        }
    }
    let best = (0..components as usize).max_by(|&a, &b| (inside[a], size[a]).cmp(&(inside[b], size[b])).then(b.cmp(&a))).unwrap_or(0) as u32;
    let mut next = cells.iter();
    points.retain(|_| next.next().is_some_and(|&c| label[c as usize] == best));
    (points, z_range)
}

/// Splits the points where a vertical empty stretch of `Z_GAP` or more runs through them and keeps
/// the part with the most points. `lo..=hi` holds every point's z.
fn below_gap((points, [lo, hi]): (Vec<[f32; 3]>, [f32; 2])) -> Vec<[f32; 3]> {
    if points.len() < 2 || hi - lo < Z_GAP {
        return points;
    }
    let bin = Z_BIN.max((hi - lo) / 65_536.0);
    let nbins = ((hi - lo) / bin) as usize + 1;
    let inv = 1.0 / bin;
    let bin_of = |z: f32| (((z - lo) * inv) as usize).min(nbins - 1);
    let mut counts = vec![0usize; nbins];
    for p in &points {
        counts[bin_of(p[2])] += 1;
    }
    // Segments of bins separated by empty runs spanning at least the gap (less one bin for the
    // partly filled bins at its ends).
    let min_empty = ((Z_GAP / bin).ceil() as usize).saturating_sub(1).max(1);
    let mut segment_of = vec![0u32; nbins];
    let mut totals = vec![0usize];
    let mut empty_run = 0usize;
    for b in 0..nbins {
        if counts[b] == 0 {
            empty_run += 1;
            continue;
        }
        if empty_run >= min_empty && b > 0 {
            totals.push(0);
        }
        empty_run = 0;
        segment_of[b] = (totals.len() - 1) as u32;
        *totals.last_mut().unwrap() += counts[b];
    }
    if totals.len() == 1 {
        return points;
    }
    let best = (0..totals.len()).max_by(|&a, &b| totals[a].cmp(&totals[b]).then(b.cmp(&a))).unwrap() as u32;
    points.into_iter().filter(|p| segment_of[bin_of(p[2])] == best).collect()
}

/// The tight box around the object points.
fn fit_points(points: &[[f32; 3]], ground: Option<Plane>, rough_yaw: f64) -> OrientedBox {
    // xy relative to the first point (f32 differences of nearby points are exact enough).
    let base = points[0];
    // Dense objects are measured on an even subsample: the hull moves by less than the spacing and
    // the side percentiles hardly move at all.
    let sample: Vec<[f32; 3]>;
    let measured = if points.len() > FIT_SAMPLE_MAX {
        sample = stratified(points, points.len().div_ceil(FIT_SAMPLE_MAX));
        &sample[..]
    } else {
        points
    };
    let theta = hull_rectangle_angle(measured, base).unwrap_or(rough_yaw);
    let (s, c) = theta.sin_cos();
    let [ru, rv, rz] = side_ranges(measured, base, [s as f32, c as f32]);
    let (a, b) = (ru[1] - ru[0], rv[1] - rv[0]);
    // Candidate headings with the (length, width) each implies.
    let mut options: Vec<(f64, bool)> = Vec::with_capacity(4);
    let square = a.min(b) >= SQUARE_RATIO * a.max(b);
    if a >= b || square {
        options.push((theta, false));
        options.push((theta + PI, false));
    }
    if b > a || square {
        options.push((theta + FRAC_PI_2, true));
        options.push((theta - FRAC_PI_2, true));
    }
    let (yaw, swapped) =
        options.into_iter().min_by(|x, y| normalize_angle(x.0 - rough_yaw).abs().total_cmp(&normalize_angle(y.0 - rough_yaw).abs())).unwrap();
    let yaw = normalize_angle(yaw);
    let (length, width) = if swapped { (b, a) } else { (a, b) };
    // Centre in the θ frame, back to the local frame.
    let (mu, mv) = ((ru[0] + ru[1]) / 2.0, (rv[0] + rv[1]) / 2.0);
    let cx = base[0] as f64 + c * mu - s * mv;
    let cy = base[1] as f64 + s * mu + c * mv;

    let [mut bottom, top] = rz;
    if let Some(g) = ground {
        let lowest = points.iter().map(|p| g.height(*p)).fold(f32::INFINITY, f32::min);
        if lowest < SNAP_TO_GROUND {
            bottom = bottom.min(g.z_at(cx as f32, cy as f32) as f64);
        }
    }
    OrientedBox::new([cx, cy, (bottom + top) / 2.0], [length, width, (top - bottom).max(0.0)], yaw)
}

/// [low, high] along the turned x axis, y axis and z: each side at the 90th percentile (outwards)
/// of the values within `SIDE_BAND` of the outermost one.
fn side_ranges(points: &[[f32; 3]], base: [f32; 3], [s, c]: [f32; 2]) -> [[f64; 2]; 3] {
    let frame = |p: &[f32; 3]| -> [f32; 3] {
        let (x, y) = (p[0] - base[0], p[1] - base[1]);
        [c * x + s * y, -s * x + c * y, p[2]]
    };
    let (mut lo, mut hi) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for p in points {
        let q = frame(p);
        for k in 0..3 {
            lo[k] = lo[k].min(q[k]);
            hi[k] = hi[k].max(q[k]);
        }
    }
    let band = SIDE_BAND as f32;
    // Distances inside the outermost value, per side: [low x, high x, low y, high y, low z, high z].
    let mut inside: [Vec<f32>; 6] = Default::default();
    for p in points {
        let q = frame(p);
        for k in 0..3 {
            if q[k] <= lo[k] + band {
                inside[2 * k].push(q[k] - lo[k]);
            }
            if q[k] >= hi[k] - band {
                inside[2 * k + 1].push(hi[k] - q[k]);
            }
        }
    }
    std::array::from_fn(|k| {
        // The 90th percentile outwards is the 10th percentile of the distance inside.
        let low = lo[k] as f64 + quantile(&mut inside[2 * k], 1.0 - SIDE_QUANTILE);
        let high = hi[k] as f64 - quantile(&mut inside[2 * k + 1], 1.0 - SIDE_QUANTILE);
        if low <= high { [low, high] } else { [lo[k] as f64, hi[k] as f64] }
    })
}

/// Nearest-rank quantile, the rank rounded to the nearest (so that with two or three values the
/// 10th percentile is the smallest); `values` must not be empty and is reordered.
fn quantile(values: &mut [f32], q: f64) -> f64 {
    let k = ((values.len() - 1) as f64 * q).round() as usize;
    *values.select_nth_unstable_by(k, f32::total_cmp).1 as f64
}

/// Direction (radians) of a side of the minimum-area rectangle around the points' xy hull; `None`
/// when all points are on one spot. For points on a line, the line's direction.
fn hull_rectangle_angle(points: &[[f32; 3]], base: [f32; 3]) -> Option<f64> {
    let hull = convex_hull(hull_input(points, base));
    match hull.len() {
        0 | 1 => None,
        2 => Some((hull[1][1] - hull[0][1]).atan2(hull[1][0] - hull[0][0])),
        _ => Some(min_area_rectangle(&hull).0),
    }
}

/// The points that can be on the hull, up to the bin width: per x-bin the lowest and highest y,
/// per y-bin the lowest and highest x. Every point lies within one bin width of the hull of these.
/// Coordinates relative to `base`.
fn hull_input(points: &[[f32; 3]], base: [f32; 3]) -> Vec<[f64; 2]> {
    let rel = |p: &[f32; 3]| [p[0] - base[0], p[1] - base[1]];
    if points.len() <= 64 {
        return points.iter().map(|p| rel(p).map(|v| v as f64)).collect();
    }
    let (mut min, mut max) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in points {
        let q = rel(p);
        for k in 0..2 {
            min[k] = min[k].min(q[k]);
            max[k] = max[k].max(q[k]);
        }
    }
    // Per axis k: bins along k; in each, the point with the lowest and the highest other
    // coordinate (an empty bin holds +inf / -inf there).
    let mut inv = [0.0f32; 2];
    let mut low: [Vec<[f32; 2]>; 2] = Default::default();
    let mut high: [Vec<[f32; 2]>; 2] = Default::default();
    for k in 0..2 {
        let span = (max[k] - min[k]) as f64;
        let width = HULL_BIN.max(span / HULL_BINS_MAX);
        let n = (span / width) as usize + 1;
        inv[k] = (1.0 / width) as f32;
        let mut empty_low = [0.0f32; 2];
        empty_low[1 - k] = f32::INFINITY;
        let mut empty_high = [0.0f32; 2];
        empty_high[1 - k] = f32::NEG_INFINITY;
        low[k] = vec![empty_low; n];
        high[k] = vec![empty_high; n];
    }
    for p in points {
        let q = rel(p);
        for k in 0..2 {
            let other = 1 - k;
            let bins = low[k].len();
            let b = (((q[k] - min[k]) * inv[k]) as usize).min(bins - 1);
            if q[other] < low[k][b][other] {
                low[k][b] = q;
            }
            if q[other] > high[k][b][other] {
                high[k][b] = q;
            }
        }
    }
    let mut out = Vec::new();
    for k in 0..2 {
        for (l, h) in low[k].iter().zip(&high[k]) {
            if l[1 - k].is_finite() {
                out.push(l.map(|v| v as f64));
                if h != l {
                    out.push(h.map(|v| v as f64));
                }
            }
        }
    }
    out
}

/// Convex hull, counter-clockwise, without collinear points (Andrew's monotone chain).
fn convex_hull(mut pts: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    pts.sort_unstable_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    if hull.len() < 3 {
        // All on a line: its two ends.
        return vec![pts[0], pts[pts.len() - 1]];
    }
    hull
}

/// Minimum-area enclosing rectangle of a convex polygon (counter-clockwise, at least three
/// vertices) by rotating calipers: (direction of the side lying on a hull edge, area).
fn min_area_rectangle(hull: &[[f64; 2]]) -> (f64, f64) {
    let n = hull.len();
    let dot = |p: [f64; 2], d: [f64; 2]| p[0] * d[0] + p[1] * d[1];
    let edge = |i: usize| {
        let (a, b) = (hull[i], hull[(i + 1) % n]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        [dx / len, dy / len]
    };
    let argmax = |d: [f64; 2]| (0..n).max_by(|&a, &b| dot(hull[a], d).total_cmp(&dot(hull[b], d))).unwrap();
    // Pointers to the farthest vertex along the edge, against it, and away from it (inwards).
    let e0 = edge(0);
    let (mut far, mut back, mut up) = (argmax(e0), argmax([-e0[0], -e0[1]]), argmax([-e0[1], e0[0]]));
    let advance = |k: &mut usize, d: [f64; 2]| {
        for _ in 0..n {
            let next = (*k + 1) % n;
            if dot(hull[next], d) > dot(hull[*k], d) {
                *k = next;
            } else {
                break;
            }
        }
    };
    let mut best = (0.0, f64::INFINITY);
    for i in 0..n {
        let e = edge(i);
        let back_dir = [-e[0], -e[1]];
        let normal = [-e[1], e[0]];
        advance(&mut far, e);
        advance(&mut back, back_dir);
        advance(&mut up, normal);
        let length = dot(hull[far], e) - dot(hull[back], e);
        let height = dot(hull[up], normal) - dot(hull[i], normal);
        let area = length * height;
        if area < best.1 {
            best = (e[1].atan2(e[0]), area);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PointCloud;
    use cairn_model::rng::SplitMix64 as Rng;

    const L: f64 = 4.5;
    const W: f64 = 1.9;
    const H: f64 = 1.5;
    const LIFT: f64 = 0.25;

    /// A car (box L × W × H lifted LIFT off flat ground at `ground_z`) at `center` (xy) with `yaw`,
    /// seen from `sensor`: points on the vertical sides facing the sensor and on the roof, 1 cm
    /// noise; ground around it (not under it), a pole 0.8 m off its left side and a few stray
    /// returns. Returns the points and the true box.
    fn car_scene(center: [f64; 2], yaw: f64, ground_z: f64, sensor: [f64; 2], seed: u64) -> (Vec<[f32; 3]>, OrientedBox) {
        let mut rng = Rng::new(seed);
        let truth = OrientedBox::new([center[0], center[1], ground_z + (LIFT + H) / 2.0], [L, W, LIFT + H], yaw);
        let body = OrientedBox::new([center[0], center[1], ground_z + LIFT + H / 2.0], [L, W, H], yaw);
        let noise = |rng: &mut Rng| 0.01 * rng.gauss();
        let mut pts = Vec::new();
        let mut push = |rng: &mut Rng, q: [f64; 3]| {
            let p = body.from_box_frame(q);
            pts.push([(p[0] + noise(rng)) as f32, (p[1] + noise(rng)) as f32, (p[2] + noise(rng)) as f32]);
        };
        let s = body.to_box_frame([sensor[0], sensor[1], 0.0]);
        let density = 250.0;
        // Sides: (outward normal axis, sign).
        for (axis, sign) in [(0usize, 1.0f64), (0, -1.0), (1, 1.0), (1, -1.0)] {
            let half = [L / 2.0, W / 2.0][axis];
            if sign * s[axis] <= half {
                continue; // facing away
            }
            let along = [W, L][axis];
            let count = (along * H * density) as usize;
            for _ in 0..count {
                let t = (rng.unit() - 0.5) * along;
                let h = (rng.unit() - 0.5) * H;
                let q = if axis == 0 { [sign * half, t, h] } else { [t, sign * half, h] };
                push(&mut rng, q);
            }
        }
        for _ in 0..(L * W * density) as usize {
            let q = [(rng.unit() - 0.5) * L, (rng.unit() - 0.5) * W, H / 2.0];
            push(&mut rng, q);
        }
        // Ground, 8 m around, not under the car.
        for _ in 0..8000 {
            let (x, y) = (center[0] + (rng.unit() - 0.5) * 16.0, center[1] + (rng.unit() - 0.5) * 16.0);
            let q = body.to_box_frame([x, y, 0.0]);
            if q[0].abs() < L / 2.0 && q[1].abs() < W / 2.0 {
                continue;
            }
            pts.push([x as f32, y as f32, (ground_z + 0.01 * rng.gauss()) as f32]);
        }
        // A pole 0.8 m off the left side, 3 m tall.
        let pole = body.from_box_frame([0.8, W / 2.0 + 0.85, 0.0]);
        for _ in 0..300 {
            let a = rng.unit() * 2.0 * PI;
            pts.push([(pole[0] + 0.05 * a.cos()) as f32, (pole[1] + 0.05 * a.sin()) as f32, (ground_z + rng.unit() * 3.0) as f32]);
        }
        // Stray returns 0.7–1.2 m off the front and right.
        for k in 0..6usize {
            let q = if k.is_multiple_of(2) {
                [L / 2.0 + 0.7 + rng.unit() * 0.5, (rng.unit() - 0.5) * W, LIFT + rng.unit() * H]
            } else {
                [(rng.unit() - 0.5) * L, -W / 2.0 - 0.7 - rng.unit() * 0.5, LIFT + rng.unit() * H]
            };
            let p = truth.from_box_frame([q[0], q[1], 0.0]);
            pts.push([p[0] as f32, p[1] as f32, (ground_z + q[2]) as f32]);
        }
        (pts, truth)
    }

    /// The rough box an annotator might draw: 0.5 m off, turned 15°, default car size, on the ground.
    fn rough_for(truth: &OrientedBox, ground_z: f64, k: usize) -> OrientedBox {
        let dir = 0.7 + k as f64 * 1.3;
        let turn = if k.is_multiple_of(2) { 15f64 } else { -15.0 }.to_radians();
        OrientedBox::new([truth.center[0] + 0.5 * dir.cos(), truth.center[1] + 0.5 * dir.sin(), ground_z + 0.8], [4.5, 1.9, 1.6], truth.yaw + turn)
    }

    fn check(fit: &Fit, truth: &OrientedBox, what: &str) {
        let b = fit.bbox;
        let dyaw = normalize_angle(b.yaw - truth.yaw).to_degrees();
        assert!(dyaw.abs() < 2.0, "{what}: yaw off by {dyaw}° ({b:?})");
        for (k, name) in [(0, "length"), (1, "width"), (2, "height")] {
            let err = b.size[k] - truth.size[k];
            assert!(err.abs() < 0.05, "{what}: {name} off by {err} ({b:?})");
        }
        let dc: f64 = (0..3).map(|k| (b.center[k] - truth.center[k]).powi(2)).sum::<f64>().sqrt();
        assert!(dc < 0.05, "{what}: centre off by {dc} ({b:?})");
        assert!(!fit.used_default_size);
    }

    #[test]
    fn fits_cars_at_many_headings_from_a_rough_box() {
        for (k, deg) in [-170.0f64, -45.0, 0.0, 30.0, 89.0, 135.0].into_iter().enumerate() {
            let yaw = deg.to_radians();
            // The sensor sits 12 m away in a direction that varies, so one or two sides show.
            let bearing = 0.4 + k as f64 * 1.1;
            let center = [12.0 * bearing.cos(), 12.0 * bearing.sin()];
            let (pts, truth) = car_scene(center, yaw, 0.0, [0.0, 0.0], 100 + k as u64);
            let rough = rough_for(&truth, 0.0, k);
            let given = FitOptions { ground: Some(Plane::horizontal(0.0)), ..FitOptions::default() };
            let fit = auto_fit(&pts, &rough, &given).expect("a fit");
            check(&fit, &truth, &format!("yaw {deg}°, given ground"));
            let fit = auto_fit(&pts, &rough, &FitOptions::default()).expect("a fit");
            check(&fit, &truth, &format!("yaw {deg}°, local ground"));
        }
    }

    #[test]
    fn heading_follows_the_rough_box() {
        let (pts, truth) = car_scene([10.0, 3.0], 0.3, 0.0, [0.0, 0.0], 7);
        let opts = FitOptions { ground: Some(Plane::horizontal(0.0)), ..FitOptions::default() };
        let mut rough = truth;
        rough.yaw = truth.yaw + PI + 0.2;
        let fit = auto_fit(&pts, &rough, &opts).unwrap();
        assert!(normalize_angle(fit.bbox.yaw - (truth.yaw + PI)).abs() < 2f64.to_radians(), "{:?}", fit.bbox);
        assert!(fit.bbox.size[0] > fit.bbox.size[1]);
    }

    #[test]
    fn georeferenced_fit_lands_on_the_world_centre() {
        let origin = [500000.0, 5000000.0, 100.0];
        let center = [12.3, -4.56];
        let (pts, truth) = car_scene(center, 0.6, 0.0, [0.0, 0.0], 42);
        let cloud = PointCloud { origin, positions: pts, ..PointCloud::default() };
        let rough = rough_for(&truth, 0.0, 3);
        let fit = auto_fit(&cloud.positions, &rough, &FitOptions::default()).unwrap();
        let cuboid = fit.bbox.to_cuboid(&cloud, "car");
        let world = [origin[0] + 12.3, origin[1] - 4.56, origin[2] + (LIFT + H) / 2.0];
        let err: f64 = (0..3).map(|k| (cuboid.center[k] - world[k]).powi(2)).sum::<f64>().sqrt();
        assert!(err < 0.02, "centre off by {err}: {:?} vs {world:?}", cuboid.center);
        assert!(normalize_angle(cuboid.yaw - 0.6).abs() < 2f64.to_radians());
        assert_eq!(cuboid.class, "car");

        let given = cairn_model::Cuboid { center: [500012.345, 4999995.678, 101.0], ..cuboid };
        let back = OrientedBox::from_cuboid(&cloud, &given).to_cuboid(&cloud, "car");
        for k in 0..3 {
            assert!((back.center[k] - given.center[k]).abs() < 1e-6);
        }
    }

    #[test]
    fn too_few_points_fall_back_to_the_default_size() {
        let ground = Plane::horizontal(0.0);
        let mut pts: Vec<[f32; 3]> = Vec::new();
        let mut rng = Rng::new(3);
        for _ in 0..2000 {
            pts.push([rng.range(-10.0, 10.0), rng.range(-10.0, 10.0), 0.01 * rng.gauss() as f32]);
        }
        // Five returns off something low and far.
        for k in 0..5 {
            pts.push([2.0 + 0.1 * k as f32, 1.0, 0.6 + 0.05 * k as f32]);
        }
        let rough = OrientedBox::new([2.2, 1.1, 0.8], [4.5, 1.9, 1.6], 0.4);
        let size = default_size("Car").unwrap();
        let opts = FitOptions { ground: Some(ground), default_size: Some(size), ..FitOptions::default() };
        let fit = auto_fit(&pts, &rough, &opts).unwrap();
        assert!(fit.used_default_size);
        assert_eq!(fit.points, 5);
        assert_eq!(fit.bbox.size, size);
        assert_eq!(fit.bbox.yaw, 0.4);
        assert!((fit.bbox.center[0] - 2.2).abs() < 1e-5 && (fit.bbox.center[1] - 1.0).abs() < 1e-5);
        assert!((fit.bbox.center[2] - size[2] / 2.0).abs() < 1e-6, "stands on the ground");
        let none = FitOptions { ground: Some(ground), ..FitOptions::default() };
        assert_eq!(auto_fit(&pts, &rough, &none), None);
        // Nothing at all: the rough centre.
        let empty = OrientedBox::new([50.0, 50.0, 0.8], [4.5, 1.9, 1.6], 0.1);
        let fit = auto_fit(&pts, &empty, &opts).unwrap();
        assert!(fit.used_default_size && fit.points == 0);
        assert_eq!([fit.bbox.center[0], fit.bbox.center[1]], [50.0, 50.0]);
        // With enough points the fit is a real one.
        let low = FitOptions { min_points: 5, ..opts };
        assert!(!auto_fit(&pts, &rough, &low).unwrap().used_default_size);
    }

    #[test]
    fn branches_above_are_cut_off() {
        let (mut pts, truth) = car_scene([8.0, -6.0], -0.8, 0.0, [0.0, 0.0], 9);
        // A canopy 1.3 m over the roof, wider than the car.
        let mut rng = Rng::new(10);
        for _ in 0..3000 {
            let q = [(rng.unit() - 0.5) * 6.0, (rng.unit() - 0.5) * 3.5, LIFT + H + 1.3 + rng.unit() * 1.5];
            let p = truth.from_box_frame([q[0], q[1], 0.0]);
            pts.push([p[0] as f32, p[1] as f32, q[2] as f32]);
        }
        let mut rough = truth.grown(0.2);
        rough.size[2] = 5.0;
        let opts = FitOptions { ground: Some(Plane::horizontal(0.0)), ..FitOptions::default() };
        let fit = auto_fit(&pts, &rough, &opts).unwrap();
        check(&fit, &truth, "under a tree");
    }

    #[test]
    fn default_sizes_by_class() {
        assert_eq!(default_size("car"), Some([4.5, 1.9, 1.6]));
        assert_eq!(default_size("Car"), default_size("CAR"));
        assert_eq!(default_size("Pedestrian"), Some([0.8, 0.8, 1.75]));
        assert_eq!(default_size("traffic_cone"), Some([0.4, 0.4, 0.7]));
        assert_eq!(default_size("Traffic Cone"), Some([0.4, 0.4, 0.7]));
        for class in ["truck", "bus", "van", "cyclist", "motorcycle", "motorcyclist", "bicycle", "trailer", "barrier"] {
            let s = default_size(class).unwrap_or_else(|| panic!("{class}"));
            assert!(s[0] >= s[1] && s.iter().all(|&v| v > 0.0), "{class}");
        }
        assert_eq!(default_size("spaceship"), None);
    }

    #[test]
    fn rectangle_of_a_rotated_square_and_hull() {
        let a = 0.3f64;
        let (s, c) = a.sin_cos();
        let square: Vec<[f64; 2]> = [[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [0.0, 0.0], [0.5, 0.2], [1.0, 0.0]]
            .iter()
            .map(|p| [c * p[0] - s * p[1], s * p[0] + c * p[1]])
            .collect();
        let hull = convex_hull(square);
        assert_eq!(hull.len(), 4);
        let (angle, area) = min_area_rectangle(&hull);
        assert!((area - 4.0).abs() < 1e-9);
        let d = (angle - a).rem_euclid(FRAC_PI_2);
        assert!(d < 1e-9 || FRAC_PI_2 - d < 1e-9, "{angle}");
        // Against brute force on a random polygon.
        let mut rng = Rng::new(1);
        for _ in 0..50 {
            let pts: Vec<[f64; 2]> = (0..40).map(|_| [rng.unit() * 3.0, rng.unit()]).collect();
            let hull = convex_hull(pts);
            let (_, area) = min_area_rectangle(&hull);
            let mut brute = f64::INFINITY;
            for i in 0..hull.len() {
                let (p, q) = (hull[i], hull[(i + 1) % hull.len()]);
                let t = (q[1] - p[1]).atan2(q[0] - p[0]);
                let (s, c) = t.sin_cos();
                let us: Vec<f64> = hull.iter().map(|v| c * v[0] + s * v[1]).collect();
                let vs: Vec<f64> = hull.iter().map(|v| -s * v[0] + c * v[1]).collect();
                let r = |xs: &[f64]| xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - xs.iter().cloned().fold(f64::INFINITY, f64::min);
                brute = brute.min(r(&us) * r(&vs));
            }
            assert!((area - brute).abs() < 1e-9, "{area} vs {brute}");
        }
    }

    /// Prints how long a fit takes on a 100k-point neighbourhood. Run with
    /// `cargo test -p cairn-cloud --lib --release -- --ignored --nocapture fit_timing`.
    #[test]
    #[ignore]
    fn fit_timing_100k() {
        let mut rng = Rng::new(77);
        let truth = OrientedBox::new([6.0, 4.0, 0.875], [4.5, 1.9, 1.75], 0.5);
        let body = OrientedBox::new([6.0, 4.0, 1.0], [4.5, 1.9, 1.5], 0.5);
        let mut pts: Vec<[f32; 3]> = Vec::with_capacity(100_000);
        // 60k points on the car's roof and two sides, 40k of ground within the gathering box.
        while pts.len() < 60_000 {
            let q = match rng.below(3) {
                0 => [(rng.unit() - 0.5) * L, (rng.unit() - 0.5) * W, H / 2.0],
                1 => [(rng.unit() - 0.5) * L, -W / 2.0, (rng.unit() - 0.5) * H],
                _ => [-L / 2.0, (rng.unit() - 0.5) * W, (rng.unit() - 0.5) * H],
            };
            let p = body.from_box_frame(q);
            pts.push([(p[0] + 0.01 * rng.gauss()) as f32, (p[1] + 0.01 * rng.gauss()) as f32, (p[2] + 0.01 * rng.gauss()) as f32]);
        }
        while pts.len() < 100_000 {
            let p = truth.from_box_frame([(rng.unit() - 0.5) * 5.4, (rng.unit() - 0.5) * 2.8, 0.0]);
            pts.push([p[0] as f32, p[1] as f32, 0.01 * rng.gauss() as f32]);
        }
        let given = FitOptions { ground: Some(Plane::horizontal(0.0)), ..FitOptions::default() };
        // A rough box turned 0.1 rad lets the car reach its edge: a second gathering pass follows.
        let mut turned = truth;
        turned.yaw += 0.1;
        for (name, rough, opts) in [
            ("rough box on the car, given ground (one pass)", truth, given.clone()),
            ("rough box turned, given ground (two passes)", turned, given),
            ("rough box turned, local ground (two passes)", turned, FitOptions::default()),
        ] {
            let mut best = f64::INFINITY;
            let mut fit = None;
            for _ in 0..20 {
                let t = std::time::Instant::now();
                fit = auto_fit(&pts, &rough, &opts);
                best = best.min(t.elapsed().as_secs_f64());
            }
            let fit = fit.unwrap();
            println!("auto_fit, 100k points, {name}: best of 20 {:.3} ms, {} object points, {:?}", best * 1e3, fit.points, fit.bbox);
        }
    }

    /// Many random cars, headings, distances and rough boxes (off in xy, yaw, height or size),
    /// with and without a given ground. Slow in debug builds; run with
    /// `cargo test -p cairn-cloud --lib --release -- --ignored --nocapture robustness_sweep`.
    #[test]
    #[ignore]
    fn robustness_sweep() {
        type Setup = fn(usize, &OrientedBox) -> (OrientedBox, FitOptions);
        fn given() -> FitOptions {
            FitOptions { ground: Some(Plane::horizontal(0.0)), ..FitOptions::default() }
        }
        let setups: [(&str, Setup); 7] = [
            ("rough off 0.5 m / 15°, given ground", |k, t| (rough_for(t, 0.0, k), given())),
            ("rough off 0.5 m / 15°, local ground", |k, t| (rough_for(t, 0.0, k), FitOptions::default())),
            ("rough 0.5 m too high, local ground", |k, t| {
                let mut r = rough_for(t, 0.0, k);
                r.center[2] += 0.5;
                (r, FitOptions::default())
            }),
            ("rough 0.5 m too low, given ground", |k, t| {
                let mut r = rough_for(t, 0.0, k);
                r.center[2] -= 0.5;
                (r, given())
            }),
            ("rough too big, local ground", |k, t| {
                let mut r = rough_for(t, 0.0, k);
                r.size = [6.0, 3.0, 2.5];
                r.center[2] = 1.25;
                (r, FitOptions::default())
            }),
            ("rough turned 30°, given ground", |k, t| {
                let mut r = rough_for(t, 0.0, k);
                r.yaw = t.yaw + if k.is_multiple_of(2) { 0.52 } else { -0.52 };
                (r, given())
            }),
            ("rough turned 80°, given ground", |k, t| {
                let mut r = rough_for(t, 0.0, k);
                r.yaw = t.yaw + if k.is_multiple_of(2) { 1.4 } else { -1.4 };
                r.size = [3.0, 3.0, 1.6];
                (r, given())
            }),
        ];
        for (label, setup) in setups {
            let mut worst = [0.0f64; 5];
            for k in 0..100usize {
                let mut rng = Rng::new(1000 + k as u64);
                let yaw = rng.unit() * 2.0 * PI - PI;
                let bearing = rng.unit() * 2.0 * PI;
                let dist = 6.0 + rng.unit() * 20.0;
                let (pts, truth) = car_scene([dist * bearing.cos(), dist * bearing.sin()], yaw, 0.0, [0.0, 0.0], 5000 + k as u64);
                let (rough, opts) = setup(k, &truth);
                let fit = auto_fit(&pts, &rough, &opts).unwrap_or_else(|| panic!("{label}, case {k}: no fit"));
                let b = fit.bbox;
                let e = [
                    normalize_angle(b.yaw - truth.yaw).to_degrees().abs(),
                    (b.size[0] - truth.size[0]).abs(),
                    (b.size[1] - truth.size[1]).abs(),
                    (b.size[2] - truth.size[2]).abs(),
                    (0..3).map(|k| (b.center[k] - truth.center[k]).powi(2)).sum::<f64>().sqrt(),
                ];
                for i in 0..5 {
                    worst[i] = worst[i].max(e[i]);
                }
            }
            println!(
                "{label}: worst yaw {:.2}°, length {:.3} m, width {:.3} m, height {:.3} m, centre {:.3} m",
                worst[0], worst[1], worst[2], worst[3], worst[4]
            );
            assert!(worst[0] < 2.0 && worst[1] < 0.05 && worst[2] < 0.05 && worst[3] < 0.05 && worst[4] < 0.05, "{label}: {worst:?}");
        }
    }
}
