//! Headerless little-endian float32 scans (`.bin`): KITTI velodyne (`x y z reflectance`), nuScenes
//! LIDAR_TOP `*.pcd.bin` (`x y z intensity ring`), or any other count of floats per point, stated on
//! import. Nothing in the file tells them apart, so the layout follows the name unless stated, and a
//! file whose size is not a whole number of records is refused with the layout named.

use crate::pcd::check_point_count;
use crate::{CloudInfo, ColumnSet, ColumnsBuilder, PointCloud, choose_origin};
use cairn_model::CloudFormat;
use std::path::Path;

/// How a `.bin` scan lays out one point: x y z first, then the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinLayout {
    /// KITTI velodyne: x y z reflectance (0..1).
    Kitti,
    /// nuScenes LIDAR_TOP `*.pcd.bin`: x y z intensity (0..255) ring. The ring index is not kept.
    Nuscenes,
    /// Another count of floats per point (3 or more): x y z, intensity when there is a fourth
    /// (0..1, or 0..255 when some value exceeds 1), and the rest not kept.
    Floats(u8),
}

impl BinLayout {
    /// nuScenes for `*.pcd.bin`, KITTI for every other name.
    pub fn of_path(path: &Path) -> BinLayout {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if name.ends_with(".pcd.bin") { BinLayout::Nuscenes } else { BinLayout::Kitti }
    }

    /// The layout of `floats` float32 values per point: 4 is KITTI's, 5 nuScenes'.
    pub fn with_floats(floats: u8) -> Result<BinLayout, String> {
        match floats {
            4 => Ok(BinLayout::Kitti),
            5 => Ok(BinLayout::Nuscenes),
            3 | 6..=64 => Ok(BinLayout::Floats(floats)),
            _ => Err(format!("a .bin point has 3 to 64 float32 fields (x y z first), not {floats}")),
        }
    }

    pub fn floats(self) -> usize {
        match self {
            BinLayout::Kitti => 4,
            BinLayout::Nuscenes => 5,
            BinLayout::Floats(n) => usize::from(n),
        }
    }

    /// The names of the fields, as a frame's summary records them.
    pub fn field_names(self) -> Vec<String> {
        let named: &[&str] = match self {
            BinLayout::Kitti => &["x", "y", "z", "reflectance"],
            BinLayout::Nuscenes => &["x", "y", "z", "intensity", "ring"],
            BinLayout::Floats(_) => &["x", "y", "z", "intensity"],
        };
        let mut names: Vec<String> = named.iter().take(self.floats()).map(|s| s.to_string()).collect();
        names.extend((names.len()..self.floats()).map(|i| format!("f{i}")));
        names
    }

    /// The layout a frame's summary recorded (its field names), or the name's for older projects.
    pub fn from_fields(fields: &[String], path: &Path) -> BinLayout {
        [BinLayout::Kitti, BinLayout::Nuscenes]
            .into_iter()
            .chain(u8::try_from(fields.len()).ok().and_then(|n| BinLayout::with_floats(n).ok()))
            .find(|l| l.field_names() == fields)
            .unwrap_or_else(|| BinLayout::of_path(path))
    }

    pub fn describe(self) -> String {
        let names = self.field_names().join(" ");
        match self {
            BinLayout::Kitti => format!("float32 {names} (KITTI)"),
            BinLayout::Nuscenes => format!("float32 {names} (nuScenes)"),
            BinLayout::Floats(_) => format!("float32 {names}"),
        }
    }
}

/// Reads a whole `.bin` scan held in memory.
pub fn read(bytes: &[u8], layout: BinLayout) -> Result<PointCloud, String> {
    let stride = 4 * layout.floats();
    if !bytes.len().is_multiple_of(stride) {
        return Err(format!(
            "the file is {} bytes, which is not a whole number of {stride}-byte records ({}); state the layout with --bin-fields",
            bytes.len(),
            layout.describe()
        ));
    }
    let records = || bytes.chunks_exact(stride);
    let n = check_point_count((bytes.len() / stride) as u64)?;
    let float = |r: &[u8], k: usize| f32::from_le_bytes([r[4 * k], r[4 * k + 1], r[4 * k + 2], r[4 * k + 3]]);
    let xyz = |r: &[u8]| [float(r, 0), float(r, 1), float(r, 2)];

    // Finite bounds, for the origin.
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    let mut non_finite = 0usize;
    let mut max_intensity = 0f32;
    for r in records() {
        let [x, y, z] = xyz(r);
        if x.is_finite() && y.is_finite() && z.is_finite() {
            min = [min[0].min(x), min[1].min(y), min[2].min(z)];
            max = [max[0].max(x), max[1].max(y), max[2].max(z)];
        } else {
            non_finite += 1;
        }
        if matches!(layout, BinLayout::Floats(4..)) {
            max_intensity = max_intensity.max(float(r, 3));
        }
    }
    let origin = if min[0] <= max[0] { choose_origin(min.map(f64::from), max.map(f64::from)) } else { [0.0; 3] };
    let local = |r: &[u8]| {
        let [x, y, z] = xyz(r);
        [(x as f64 - origin[0]) as f32, (y as f64 - origin[1]) as f32, (z as f64 - origin[2]) as f32]
    };
    // To 16 bits, rounded; the cast saturates (and maps NaN to 0).
    let scale = match layout {
        BinLayout::Kitti => Some(65535.0),
        BinLayout::Nuscenes => Some(257.0),
        BinLayout::Floats(3) => None,
        BinLayout::Floats(_) => Some(if max_intensity > 1.0 { 257.0 } else { 65535.0 }),
    };
    let intensity = |r: &[u8]| (float(r, 3) * scale.unwrap_or(0.0) + 0.5) as u16;

    let mut b = ColumnsBuilder::new(origin, 0, ColumnSet::default());
    if non_finite == 0 {
        // Every point is kept: each column in one loop.
        b.cloud.positions = records().map(local).collect();
        b.cloud.intensity = scale.map(|_| records().map(intensity).collect());
    } else {
        b.cloud.positions.reserve_exact(n - non_finite);
        let mut kept_intensity = Vec::with_capacity(if scale.is_some() { n - non_finite } else { 0 });
        for (i, r) in records().enumerate() {
            let [x, y, z] = xyz(r);
            if b.push_world(i as u64, [x as f64, y as f64, z as f64]) && scale.is_some() {
                kept_intensity.push(intensity(r));
            }
        }
        b.cloud.intensity = scale.map(|_| kept_intensity);
    }
    let mut cloud = b.finish();
    cloud.info = CloudInfo {
        format: Some(CloudFormat::KittiBin),
        version: None,
        encoding: Some(layout.describe()),
        declared_points: n as u64,
        fields: layout.field_names(),
        crs: None,
    };
    Ok(cloud)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(records: &[[f32; 4]]) -> Vec<u8> {
        records.iter().flatten().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn reads_records_and_scales_reflectance() {
        let c = read(
            &bin(&[[1.0, 2.0, 3.0, 0.5], [-3.0, 4.0, -1.0, 1.0], [0.0, 0.0, 0.0, 2.0], [5.0, 5.0, 5.0, -0.5], [1.0, 1.0, 1.0, f32::NAN]]),
            BinLayout::Kitti,
        )
        .unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!(c.origin, [1.0, 3.0, 2.0]);
        assert_eq!(c.world(0), [1.0, 2.0, 3.0]);
        assert_eq!(c.world(1), [-3.0, 4.0, -1.0]);
        assert_eq!(c.intensity, Some(vec![32768, 65535, 65535, 0, 0]));
        assert_eq!(c.source_index, None);
        assert_eq!(c.info.format, Some(CloudFormat::KittiBin));
        assert_eq!(c.info.encoding.as_deref(), Some("float32 x y z reflectance (KITTI)"));
        assert_eq!(c.info.declared_points, 5);
        assert_eq!(c.info.fields, ["x", "y", "z", "reflectance"]);
    }

    #[test]
    fn non_finite_points_are_dropped() {
        let c = read(
            &bin(&[[f32::NAN, 0.0, 0.0, 0.1], [1.0, 1.0, 1.0, 0.2], [0.0, f32::NEG_INFINITY, 0.0, 0.3], [3.0, 3.0, 3.0, 0.4]]),
            BinLayout::Kitti,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.dropped_non_finite, 2);
        assert_eq!(c.source_index, Some(vec![1, 3]));
        assert_eq!(c.intensity, Some(vec![13107, 26214]));
        assert_eq!(c.origin, [2.0, 2.0, 2.0]);
        assert_eq!(c.world(1), [3.0, 3.0, 3.0]);
        let all_nan = read(&bin(&[[f32::NAN; 4]]), BinLayout::Kitti).unwrap();
        assert_eq!((all_nan.len(), all_nan.dropped_non_finite, all_nan.origin), (0, 1, [0.0; 3]));
    }

    /// A nuScenes LIDAR_TOP scan: five floats per point. Read as KITTI it would be 5/4 as many points
    /// of nonsense; read by its name it is right.
    #[test]
    fn nuscenes_scans_have_five_floats_per_point() {
        let points: Vec<[f32; 5]> = (0..8).map(|i| [i as f32, -(i as f32), 1.5, (i * 30) as f32, (i % 32) as f32]).collect();
        let bytes: Vec<u8> = points.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
        let layout = BinLayout::of_path(Path::new("samples/LIDAR_TOP/n008-2018-08-01__LIDAR_TOP__1533151603547590.pcd.bin"));
        assert_eq!(layout, BinLayout::Nuscenes);
        let c = read(&bytes, layout).unwrap();
        assert_eq!(c.len(), 8);
        assert_eq!(c.world(7), [7.0, -7.0, 1.5]);
        assert_eq!(c.intensity.as_ref().unwrap()[..3], [0, 30 * 257, 60 * 257]);
        assert_eq!(c.info.fields, ["x", "y", "z", "intensity", "ring"]);
        assert_eq!(BinLayout::from_fields(&c.info.fields, Path::new("renamed.bin")), BinLayout::Nuscenes);
        // 8 × 20 bytes is 10 KITTI records: the size alone cannot tell, the name must.
        assert_eq!(read(&bytes, BinLayout::Kitti).unwrap().len(), 10);
        let err = read(&bytes[..156], BinLayout::Nuscenes).unwrap_err();
        assert!(err.contains("20-byte records (float32 x y z intensity ring (nuScenes))"), "{err}");
    }

    #[test]
    fn other_layouts_are_stated_by_their_float_count() {
        assert_eq!(BinLayout::with_floats(4), Ok(BinLayout::Kitti));
        assert_eq!(BinLayout::with_floats(5), Ok(BinLayout::Nuscenes));
        assert!(BinLayout::with_floats(2).is_err());
        let six = BinLayout::with_floats(6).unwrap();
        assert_eq!(six.field_names(), ["x", "y", "z", "intensity", "f4", "f5"]);
        let bytes: Vec<u8> =
            [[1.0f32, 2.0, 3.0, 200.0, 9.0, 9.0], [4.0, 5.0, 6.0, 100.0, 9.0, 9.0]].iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
        let c = read(&bytes, six).unwrap();
        assert_eq!((c.len(), c.world(1)), (2, [4.0, 5.0, 6.0]));
        assert_eq!(c.intensity, Some(vec![200 * 257, 100 * 257]));
        assert_eq!(BinLayout::from_fields(&c.info.fields, Path::new("x.bin")), six);
        let three = read(&bytes, BinLayout::Floats(3)).unwrap();
        assert_eq!((three.len(), three.intensity.is_none()), (4, true));
    }

    #[test]
    fn sizes() {
        assert_eq!(
            read(&[0; 20], BinLayout::Kitti).unwrap_err(),
            "the file is 20 bytes, which is not a whole number of 16-byte records (float32 x y z reflectance (KITTI)); \
             state the layout with --bin-fields"
        );
        let empty = read(&[], BinLayout::Kitti).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.intensity, Some(vec![]));
    }

    /// `cargo test -p cairn-cloud --lib --release -- --ignored --nocapture decode_speed`
    ///
    /// 10 M points measure a first read, whose output columns the kernel must fault in (about half
    /// of the time on a small VM); 1 M points read 5 times measure the decoding itself, as the
    /// allocator then reuses the memory.
    #[test]
    #[ignore]
    fn decode_speed() {
        use std::time::Instant;
        for (n, runs) in [(10_000_000usize, 1), (1_000_000, 5)] {
            let records: Vec<[f32; 4]> = (0..n).map(|i| [(i % 1000) as f32 * 0.1, (i / 1000 % 1000) as f32 * 0.1, (i % 77) as f32, 0.5]).collect();
            let kitti = bin(&records);
            let rate = |name: &str, f: &dyn Fn() -> usize| {
                let _ = f();
                let t = Instant::now();
                let len: usize = (0..runs).map(|_| f()).sum();
                let s = t.elapsed().as_secs_f64();
                println!("{name}: {len} points in {:.1} ms = {:.0} M points/s", s * 1e3, len as f64 / s / 1e6);
            };
            rate("kitti", &|| read(&kitti, BinLayout::Kitti).unwrap().len());
            let mut pcd = format!("FIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nPOINTS {n}\nDATA binary\n").into_bytes();
            pcd.extend_from_slice(&kitti);
            rate("pcd binary", &|| crate::pcd::read(&pcd).unwrap().len());
            let mut ply = format!("ply\nformat binary_little_endian 1.0\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\nproperty float intensity\nend_header\n").into_bytes();
            ply.extend_from_slice(&kitti);
            rate("ply binary", &|| crate::ply::read(&ply).unwrap().len());
            let mut ascii = format!("FIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nPOINTS {}\nDATA ascii\n", n / 10).into_bytes();
            for r in &records[..n / 10] {
                ascii.extend(format!("{} {} {} {}\n", r[0], r[1], r[2], r[3]).bytes());
            }
            rate("pcd ascii", &|| crate::pcd::read(&ascii).unwrap().len());
        }
    }
}
