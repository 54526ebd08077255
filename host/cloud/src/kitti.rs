//! KITTI velodyne `.bin`: little-endian float32 records `x y z reflectance`, nothing else.

use crate::pcd::check_point_count;
use crate::{CloudInfo, ColumnSet, ColumnsBuilder, PointCloud, choose_origin};
use cairn_model::CloudFormat;

/// Reads a whole KITTI `.bin` held in memory.
pub fn read(bytes: &[u8]) -> Result<PointCloud, String> {
    if !bytes.len().is_multiple_of(16) {
        return Err(format!("the file is {} bytes, which is not a whole number of 16-byte records (float32 x y z reflectance)", bytes.len()));
    }
    let (records, _) = bytes.as_chunks::<16>();
    let n = check_point_count(records.len() as u64)?;

    // Finite bounds, for the origin.
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    let mut non_finite = 0usize;
    for r in records {
        let [x, y, z, _] = fields(r);
        if x.is_finite() && y.is_finite() && z.is_finite() {
            min = [min[0].min(x), min[1].min(y), min[2].min(z)];
            max = [max[0].max(x), max[1].max(y), max[2].max(z)];
        } else {
            non_finite += 1;
        }
    }
    let origin = if min[0] <= max[0] { choose_origin(min.map(f64::from), max.map(f64::from)) } else { [0.0; 3] };
    let local = |r: &[u8; 16]| {
        let [x, y, z, _] = fields(r);
        [(x as f64 - origin[0]) as f32, (y as f64 - origin[1]) as f32, (z as f64 - origin[2]) as f32]
    };
    // Reflectance is 0..1; rounded, and the cast saturates (and maps NaN to 0).
    let intensity = |r: &[u8; 16]| (fields(r)[3] * 65535.0 + 0.5) as u16;

    let mut b = ColumnsBuilder::new(origin, 0, ColumnSet::default());
    if non_finite == 0 {
        // Every point is kept: each column in one loop.
        b.cloud.positions = records.iter().map(local).collect();
        b.cloud.intensity = Some(records.iter().map(intensity).collect());
    } else {
        b.cloud.positions.reserve_exact(n - non_finite);
        let mut kept_intensity = Vec::with_capacity(n - non_finite);
        for (i, r) in records.iter().enumerate() {
            let [x, y, z, _] = fields(r);
            if b.push_world(i as u64, [x as f64, y as f64, z as f64]) {
                kept_intensity.push(intensity(r));
            }
        }
        b.cloud.intensity = Some(kept_intensity);
    }
    let mut cloud = b.finish();
    cloud.info = CloudInfo {
        format: Some(CloudFormat::KittiBin),
        version: None,
        encoding: Some("float32 x y z reflectance".into()),
        declared_points: n as u64,
        fields: ["x", "y", "z", "reflectance"].map(String::from).to_vec(),
        crs: None,
    };
    Ok(cloud)
}

#[inline(always)]
fn fields(r: &[u8; 16]) -> [f32; 4] {
    let [x0, x1, x2, x3, y0, y1, y2, y3, z0, z1, z2, z3, r0, r1, r2, r3] = *r;
    [
        f32::from_le_bytes([x0, x1, x2, x3]),
        f32::from_le_bytes([y0, y1, y2, y3]),
        f32::from_le_bytes([z0, z1, z2, z3]),
        f32::from_le_bytes([r0, r1, r2, r3]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(records: &[[f32; 4]]) -> Vec<u8> {
        records.iter().flatten().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn reads_records_and_scales_reflectance() {
        let c = read(&bin(&[[1.0, 2.0, 3.0, 0.5], [-3.0, 4.0, -1.0, 1.0], [0.0, 0.0, 0.0, 2.0], [5.0, 5.0, 5.0, -0.5], [1.0, 1.0, 1.0, f32::NAN]]))
            .unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!(c.origin, [1.0, 3.0, 2.0]);
        assert_eq!(c.world(0), [1.0, 2.0, 3.0]);
        assert_eq!(c.world(1), [-3.0, 4.0, -1.0]);
        assert_eq!(c.intensity, Some(vec![32768, 65535, 65535, 0, 0]));
        assert_eq!(c.source_index, None);
        assert_eq!(c.info.format, Some(CloudFormat::KittiBin));
        assert_eq!(c.info.encoding.as_deref(), Some("float32 x y z reflectance"));
        assert_eq!(c.info.declared_points, 5);
        assert_eq!(c.info.fields, ["x", "y", "z", "reflectance"]);
    }

    #[test]
    fn non_finite_points_are_dropped() {
        let c = read(&bin(&[[f32::NAN, 0.0, 0.0, 0.1], [1.0, 1.0, 1.0, 0.2], [0.0, f32::NEG_INFINITY, 0.0, 0.3], [3.0, 3.0, 3.0, 0.4]])).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.dropped_non_finite, 2);
        assert_eq!(c.source_index, Some(vec![1, 3]));
        assert_eq!(c.intensity, Some(vec![13107, 26214]));
        assert_eq!(c.origin, [2.0, 2.0, 2.0]);
        assert_eq!(c.world(1), [3.0, 3.0, 3.0]);
        let all_nan = read(&bin(&[[f32::NAN; 4]])).unwrap();
        assert_eq!((all_nan.len(), all_nan.dropped_non_finite, all_nan.origin), (0, 1, [0.0; 3]));
    }

    #[test]
    fn sizes() {
        assert_eq!(read(&[0; 20]).unwrap_err(), "the file is 20 bytes, which is not a whole number of 16-byte records (float32 x y z reflectance)");
        let empty = read(&[]).unwrap();
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
            rate("kitti", &|| read(&kitti).unwrap().len());
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
