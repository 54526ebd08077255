use super::*;

/// Deterministic points: a ground grid plus a few dense clusters.
fn scene(n: usize) -> Vec<[f32; 3]> {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|i| {
            if i % 3 == 0 {
                [10.0 + next() * 2.0, -5.0 + next() * 2.0, next() * 1.5]
            } else {
                [next() * 200.0 - 100.0, next() * 200.0 - 100.0, next() * 0.2]
            }
        })
        .collect()
}

#[test]
fn leaves_partition_the_points_and_nodes_contain_them() {
    let pts = scene(100_000);
    let tree = Octree::build(&pts);
    let mut covered = vec![false; pts.len()];
    for n in &tree.nodes {
        for k in n.start..n.end {
            let p = tree.positions[k as usize];
            assert!((0..3).all(|a| p[a] >= n.bounds.min[a] && p[a] <= n.bounds.max[a]), "{p:?} outside {:?}", n.bounds);
            if n.is_leaf() {
                let i = tree.order[k as usize] as usize;
                assert!(!covered[i], "point {i} in two leaves");
                covered[i] = true;
                assert_eq!(pts[i], p);
            }
        }
        if !n.is_leaf() {
            let sum: usize = n.children.iter().map(|&c| tree.nodes[c as usize].len()).sum();
            assert_eq!(sum, n.len(), "children partition their parent");
        }
    }
    assert!(covered.iter().all(|c| *c));
    assert!(tree.nodes.iter().filter(|n| n.is_leaf()).all(|n| n.len() <= LEAF_POINTS || n.depth == MAX_DEPTH));
}

fn drawn_points(tree: &Octree, sel: &[Selection]) -> usize {
    sel.iter().map(|s| tree.nodes[s.node as usize].len().div_ceil(s.stride as usize)).sum()
}

#[test]
fn selection_keeps_to_the_budget_and_refines_near_the_eye() {
    let pts = scene(200_000);
    let tree = Octree::build(&pts);
    let view = View { frustum: Frustum::everything(), eye: [10.0, -5.0, 2.0] };
    let all = tree.select(&view, usize::MAX);
    assert_eq!(drawn_points(&tree, &all), pts.len(), "with no budget limit every leaf is drawn whole");
    let sel = tree.select(&view, 30_000);
    let n = drawn_points(&tree, &sel);
    assert!(n <= 30_000 && n > 10_000, "{n} points drawn");
    // Nodes near the eye are drawn at a finer level than far ones.
    let depth_near = sel
        .iter()
        .filter(|s| tree.nodes[s.node as usize].bounds.min[0] <= 10.0 && tree.nodes[s.node as usize].bounds.max[0] >= 10.0)
        .map(|s| tree.nodes[s.node as usize].depth)
        .max()
        .unwrap();
    let center_x = |s: &Selection| (tree.nodes[s.node as usize].bounds.min[0] + tree.nodes[s.node as usize].bounds.max[0]) / 2.0;
    let depth_far = sel.iter().filter(|s| center_x(s) < -40.0).map(|s| tree.nodes[s.node as usize].depth).max().unwrap();
    assert!(depth_near > depth_far, "near {depth_near}, far {depth_far}");
}

#[test]
fn the_frustum_culls_what_is_behind_the_camera() {
    let pts = scene(100_000);
    let tree = Octree::build(&pts);
    // Only x > 0 is visible.
    let mut planes = [[0.0, 0.0, 0.0, 1.0]; 6];
    planes[0] = [1.0, 0.0, 0.0, 0.0];
    let view = View { frustum: Frustum { planes }, eye: [0.0, 0.0, 10.0] };
    let sel = tree.select(&view, usize::MAX);
    assert!(!sel.is_empty());
    assert!(sel.iter().all(|s| tree.nodes[s.node as usize].bounds.max[0] >= 0.0));
    let drawn = drawn_points(&tree, &sel);
    assert!(drawn < pts.len(), "something was culled");
}

#[test]
fn a_perspective_matrix_gives_a_frustum_that_sees_ahead_only() {
    // Camera at the origin looking down -z (right-handed, depth 0..1), 90° fov, near 0.1, far 100.
    let (n, f) = (0.1f32, 100.0f32);
    let proj = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, f / (n - f), -1.0], [0.0, 0.0, n * f / (n - f), 0.0]];
    let fr = Frustum::from_view_projection(proj);
    let ahead = Aabb { min: [-1.0, -1.0, -11.0], max: [1.0, 1.0, -9.0] };
    let behind = Aabb { min: [-1.0, -1.0, 9.0], max: [1.0, 1.0, 11.0] };
    let beside = Aabb { min: [50.0, -1.0, -11.0], max: [52.0, 1.0, -9.0] };
    assert!(fr.intersects(&ahead));
    assert!(!fr.intersects(&behind));
    assert!(!fr.intersects(&beside));
}

#[test]
fn picking_finds_the_nearest_point_along_the_ray() {
    let mut pts = scene(50_000);
    pts.push([0.0, 0.0, 50.0]); // far above everything
    pts.push([0.0, 0.05, 30.0]); // nearer to a ray coming down from above
    let tree = Octree::build(&pts);
    let (i, t) = tree.pick([0.0, 0.0, 100.0], [0.0, 0.0, -1.0], 0.1).unwrap();
    assert_eq!(i as usize, pts.len() - 2, "the point at z=50 is hit first");
    assert!((t - 50.0).abs() < 1e-3);
    let (i, _) = tree.pick([0.0, 0.0, 40.0], [0.0, 0.0, -1.0], 0.1).unwrap();
    assert_eq!(i as usize, pts.len() - 1);
    // Brute force agrees on a ray through the dense cluster.
    let (o, d, r) = ([11.0f32, -4.0, 10.0], [0.0f32, 0.0, -1.0], 0.05f32);
    let brute = pts
        .iter()
        .enumerate()
        .filter(|(_, p)| ((p[0] - o[0]).powi(2) + (p[1] - o[1]).powi(2)).sqrt() <= r && p[2] <= o[2])
        .max_by(|a, b| a.1[2].total_cmp(&b.1[2]))
        .map(|(i, _)| i as u32);
    assert_eq!(tree.pick(o, d, r).map(|h| h.0), brute);
    assert!(tree.pick([500.0, 500.0, 500.0], [1.0, 0.0, 0.0], 0.1).is_none());
}

#[test]
fn empty_and_degenerate_clouds_build() {
    assert!(Octree::build(&[]).nodes.is_empty());
    let same = vec![[1.0, 2.0, 3.0]; 20_000];
    let tree = Octree::build(&same);
    assert_eq!(tree.nodes[0].len(), 20_000);
    let view = View { frustum: Frustum::everything(), eye: [0.0; 3] };
    assert!(!tree.select(&view, 1000).is_empty());
}
