//! COPC files with variable-size chunks (one LAZ chunk per octree node, a last short chunk, a
//! hierarchy in two pages) read everywhere a LAZ file is read: the whole-file reader, the preview
//! share, the COPC region reader, `cairn cloud info` and import.

use cairn_e2e::copc::{point_position, write_copc};
use cairn_e2e::*;
use cairn_model::CloudFormat;

/// The shapes to cover: the public laspy sample's (1,065 points in 65 nodes, the last holding 14),
/// many one- to five-point nodes, and a single node.
fn layouts() -> Vec<(&'static str, Vec<usize>)> {
    // Nodes of 4 to 26 points; the root takes what makes the first 64 chunks hold points 0..1051.
    let mut laspy_like: Vec<usize> = (1..64).map(|i| 4 + (i * 7) % 23).collect();
    laspy_like.insert(0, 1051 - laspy_like.iter().sum::<usize>());
    laspy_like.push(14);
    vec![("laspy-like", laspy_like), ("tiny-nodes", (0..73).map(|i| 1 + i % 5).collect()), ("one-node", vec![300])]
}

/// Which node each point of the file belongs to.
fn nodes_of(sizes: &[usize]) -> Vec<usize> {
    sizes.iter().enumerate().flat_map(|(node, &n)| std::iter::repeat_n(node, n)).collect()
}

#[test]
fn variable_chunks_read_whole_with_every_point_in_place() {
    for (name, sizes) in layouts() {
        let bytes = write_copc(&sizes);
        let total: usize = sizes.iter().sum();
        // The `las` crate's COPC reader accepts the fixture: it is a valid COPC file.
        let mut reference = las::CopcReader::new(std::io::Cursor::new(&bytes[..])).unwrap();
        assert_eq!(reference.header().number_of_points(), total as u64, "{name}");
        let all = reference.query(las::LodSelection::All, las::BoundsSelection::All).unwrap();
        assert_eq!(all.len(), total, "{name}: the las crate reads every node through both hierarchy pages");

        let cloud = cairn_cloud::read_bytes(&bytes, CloudFormat::Laz).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cloud.len(), total, "{name}");
        assert_eq!(cloud.info.declared_points, total as u64, "{name}");
        for (i, node) in nodes_of(&sizes).into_iter().enumerate() {
            let (got, want) = (cloud.world(i), point_position(node, i));
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 0.006), "{name} point {i}: {got:?} vs {want:?}");
            assert_eq!(cloud.gps_time.as_ref().unwrap()[i], i as f64, "{name} point {i}");
        }

        let region = cairn_cloud::copc::read_region(&bytes, &cairn_cloud::copc::CopcQuery::default()).unwrap();
        assert_eq!(region.len(), total, "{name}");
    }
}

#[test]
fn the_preview_share_takes_whole_variable_chunks() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sizes) in layouts().into_iter().filter(|(_, s)| s.len() > 1) {
        let path = dir.path().join(format!("{name}.copc.laz"));
        std::fs::write(&path, write_copc(&sizes)).unwrap();
        let total: usize = sizes.iter().sum();
        let preview = cairn_cloud::read_preview(&path, total / 4).unwrap().expect("a share of a larger file");
        assert!(!preview.is_empty() && preview.len() < total, "{name}: {} of {total}", preview.len());
        // The share is whole chunks: every point read is one of the file's, in its node.
        let whole = cairn_cloud::read_cloud(&path, None).unwrap();
        let positions: std::collections::HashSet<[u64; 3]> = (0..whole.len()).map(|i| whole.world(i).map(f64::to_bits)).collect();
        assert!((0..preview.len()).all(|i| positions.contains(&preview.world(i).map(f64::to_bits))), "{name}");
    }
}

#[test]
fn cloud_info_and_import_read_every_point() {
    let (dir, project) = new_project();
    for (name, sizes) in layouts() {
        let path = dir.path().join(format!("{name}.copc.laz"));
        std::fs::write(&path, write_copc(&sizes)).unwrap();
        let total: usize = sizes.iter().sum();
        let out = cairn(&["cloud", "info", "--json", path_str(&path)]);
        expect_code(&out, 0);
        let info: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(info["points_read"], total, "{name}");
        assert_eq!(info["summary"]["point_count"], total, "{name}");
        expect_code(&cairn(&["import", path_str(&project), path_str(&path)]), 0);
    }
    assert_eq!(count(&project, "items"), layouts().len() as i64);
}
