//! The LAS/LAZ reader against the `las` crate, for every point format, compressed and not.

use cairn_cloud::{read_bytes, read_cloud};
use cairn_model::CloudFormat;

/// Writes `n` points of `format` with every field varying, georeferenced, optionally compressed.
fn write(format: u8, n: usize, compressed: bool, extra_bytes: u16) -> Vec<u8> {
    let mut builder = las::Builder::from((1, 4));
    let mut point_format = las::point::Format::new(format).unwrap();
    point_format.extra_bytes = extra_bytes;
    point_format.is_compressed = compressed;
    builder.point_format = point_format;
    builder.transforms = las::Vector {
        x: las::Transform { scale: 0.001, offset: 500_000.0 },
        y: las::Transform { scale: 0.001, offset: 5_000_000.0 },
        z: las::Transform { scale: 0.001, offset: 0.0 },
    };
    let header = builder.into_header().unwrap();
    let mut writer = las::Writer::new(std::io::Cursor::new(Vec::new()), header).unwrap();
    {
        for i in 0..n {
            let f = las::point::Format::new(format).unwrap();
            let point = las::Point {
                x: 500_000.0 + (i % 1000) as f64 * 0.123 + 0.001,
                y: 5_000_000.0 - (i / 1000) as f64 * 0.5,
                z: 100.0 + (i % 7) as f64 * 0.25,
                intensity: (i * 37 % 65536) as u16,
                return_number: (i % 5 + 1) as u8,
                number_of_returns: 5,
                classification: las::point::Classification::new([0u8, 1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 17, 18, 31][i % 14]).unwrap(),
                gps_time: f.has_gps_time.then_some(1_000.5 + i as f64),
                color: f.has_color.then(|| las::Color::new((i % 65536) as u16, 1000, (65535 - i % 65536) as u16)),
                nir: f.has_nir.then_some(42),
                waveform: f.has_waveform.then(Default::default),
                extra_bytes: vec![7; extra_bytes as usize],
                ..Default::default()
            };
            writer.write_point(point).unwrap();
        }
    }
    writer.into_inner().unwrap().into_inner()
}

fn check_against_las_crate(bytes: &[u8], format: CloudFormat) {
    let cloud = read_bytes(bytes, format).unwrap();
    let mut reader = las::Reader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let expected: Vec<las::Point> = reader.read_all().unwrap().points().map(Result::unwrap).collect();
    assert_eq!(cloud.len(), expected.len());
    for (i, p) in expected.iter().enumerate() {
        let w = cloud.world(i);
        for (k, (got, want)) in w.iter().zip([p.x, p.y, p.z]).enumerate() {
            assert!((got - want).abs() < 1e-4, "point {i} axis {k}: {got} vs {want}");
        }
        assert_eq!(cloud.intensity.as_ref().unwrap()[i], p.intensity, "intensity {i}");
        assert_eq!(cloud.classification.as_ref().unwrap()[i], u8::from(p.classification), "class {i}");
        assert_eq!(cloud.return_number.as_ref().unwrap()[i], p.return_number, "return {i}");
        assert_eq!(cloud.gps_time.as_ref().map(|g| g[i]), p.gps_time, "gps {i}");
        assert_eq!(cloud.rgb.as_ref().map(|c| c[i]), p.color.map(|c| [c.red, c.green, c.blue]), "rgb {i}");
    }
}

#[test]
fn every_uncompressed_point_format_matches_the_las_crate() {
    for format in 0..=10u8 {
        let bytes = write(format, 2_500, false, 0);
        check_against_las_crate(&bytes, CloudFormat::Las);
        let cloud = read_bytes(&bytes, CloudFormat::Las).unwrap();
        assert_eq!(cloud.info.encoding.as_deref(), Some(format!("point format {format}").as_str()));
    }
}

#[test]
fn compressed_point_formats_match_the_las_crate() {
    for format in [0u8, 1, 2, 3, 6, 7, 8] {
        let bytes = write(format, 60_000, true, 0); // two LAZ chunks
        check_against_las_crate(&bytes, CloudFormat::Laz);
    }
}

#[test]
fn extra_bytes_are_tolerated() {
    for (format, compressed) in [(1u8, false), (3, true), (6, false), (7, true)] {
        let bytes = write(format, 1_000, compressed, 5);
        check_against_las_crate(&bytes, if compressed { CloudFormat::Laz } else { CloudFormat::Las });
        let cloud = read_bytes(&bytes, CloudFormat::Las).unwrap();
        assert!(cloud.info.fields.iter().any(|f| f == "extra_bytes[5]"), "{:?}", cloud.info.fields);
    }
}

#[test]
fn georeferenced_coordinates_keep_millimetres() {
    let bytes = write(1, 5_000, false, 0);
    let cloud = read_bytes(&bytes, CloudFormat::Las).unwrap();
    assert!(cloud.origin[0] > 499_000.0 && cloud.origin[1] > 4_999_000.0, "origin {:?}", cloud.origin);
    let w = cloud.world(1);
    assert!((w[0] - 500_000.124).abs() < 5e-4, "{}", w[0]);
    let local = cloud.local_bounds().unwrap();
    assert!(local.max[0].abs() < 200.0, "f32 offsets stay small: {:?}", local);
}

#[test]
fn the_bundled_scan_reads_with_its_crs() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/demo/scans/32-1-472-150-76.laz"));
    let cloud = read_cloud(path, None).unwrap();
    assert_eq!(cloud.len(), 5658);
    assert_eq!(cloud.info.format, Some(CloudFormat::Laz));
    assert!(cloud.info.crs.is_some(), "the scan has a CRS record");
    check_against_las_crate(&std::fs::read(path).unwrap(), CloudFormat::Laz);
}

#[test]
fn copc_reads_a_level_of_detail_or_a_region() {
    use cairn_cloud::copc::{CopcQuery, read_region};
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/autzen.copc.laz"));
    let bytes = std::fs::read(path).unwrap();
    let whole = read_bytes(&bytes, CloudFormat::Laz).unwrap();
    let all = read_region(&bytes, &CopcQuery::default()).unwrap();
    assert_eq!(all.len(), whole.len());
    // This small file keeps all its points in the root node (level 0).
    let overview = read_region(&bytes, &CopcQuery { max_level: Some(0), within: None }).unwrap();
    assert_eq!(overview.len(), 107);
    // The western half of the file.
    let b = whole.local_bounds().unwrap();
    let west = cairn_cloud::Aabb {
        min: [whole.origin[0] + b.min[0] as f64, whole.origin[1] + b.min[1] as f64, whole.origin[2] + b.min[2] as f64 - 1.0],
        max: [whole.origin[0] + ((b.min[0] + b.max[0]) / 2.0) as f64, whole.origin[1] + b.max[1] as f64, whole.origin[2] + b.max[2] as f64 + 1.0],
    };
    let part = read_region(&bytes, &CopcQuery { max_level: None, within: Some(west) }).unwrap();
    assert!(!part.is_empty() && part.len() < all.len(), "{} of {}", part.len(), all.len());
    for i in 0..part.len() {
        let w = part.world(i);
        assert!(w[0] >= west.min[0] - 1e-3 && w[0] <= west.max[0] + 1e-3, "{w:?} outside the region");
    }
}

#[test]
fn copc_reads_as_laz() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/autzen.copc.laz"));
    let cloud = read_cloud(path, None).unwrap();
    assert_eq!(cloud.info.version.as_deref(), Some("1.4"));
    assert!(!cloud.is_empty());
    check_against_las_crate(&std::fs::read(path).unwrap(), CloudFormat::Laz);
}

#[test]
fn a_damaged_laz_chunk_is_named() {
    let mut bytes = write(1, 120_000, true, 0); // three chunks of 50,000
    let raw = las::raw::Header::read_from(std::io::Cursor::new(&bytes)).unwrap();
    let start = raw.offset_to_point_data as usize;
    let table_at = i64::from_le_bytes(bytes[start..start + 8].try_into().unwrap()) as usize;
    // The middle of the compressed data falls in chunk 1.
    let mid = start + (table_at - start) / 2;
    for b in &mut bytes[mid..mid + 4096] {
        *b = !*b;
    }
    let err = read_bytes(&bytes, CloudFormat::Laz).unwrap_err();
    assert!(err.contains("LAZ chunk 1 (points 50000..100000)"), "{err}");
}

/// Found by the fuzzer: a LAZ header claiming 218 million points in a 1 KB file once sized the
/// columns (2.6 GB) before the chunk table was checked.
#[test]
fn a_laz_claim_is_checked_before_columns_are_sized() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/laz-header-claims-218m-points.laz"));
    let bytes = std::fs::read(path).unwrap();
    let raw = las::raw::Header::read_from(std::io::Cursor::new(&bytes)).unwrap();
    assert!(raw.number_of_point_records > 200_000_000, "the file still makes its claim");
    let err = read_bytes(&bytes, CloudFormat::Laz).unwrap_err();
    assert!(err.contains("LAZ chunk table"), "{err}");
}

#[test]
fn an_extended_record_claiming_more_than_the_file_is_refused() {
    let mut builder = las::Builder::from((1, 4));
    builder.point_format = las::point::Format::new(6).unwrap();
    builder.evlrs.push(las::Vlr { user_id: "cairn".into(), record_id: 1, description: "test".into(), data: vec![1, 2, 3] });
    let mut writer = las::Writer::new(std::io::Cursor::new(Vec::new()), builder.into_header().unwrap()).unwrap();
    writer.write_point(las::Point { gps_time: Some(1.0), ..Default::default() }).unwrap();
    let mut bytes = writer.into_inner().unwrap().into_inner();
    assert!(read_bytes(&bytes, CloudFormat::Las).is_ok());
    let start = u64::from_le_bytes(bytes[235..243].try_into().unwrap()) as usize;
    // The record's length field: claim a terabyte.
    bytes[start + 20..start + 28].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = read_bytes(&bytes, CloudFormat::Las).unwrap_err();
    assert!(err.contains("extended record 0 claims 1099511627776 bytes"), "{err}");
}

#[test]
fn bad_headers_are_refused_before_allocating() {
    let good = write(1, 100, false, 0);
    let mut claims_more = good.clone();
    claims_more[107..111].copy_from_slice(&4_000_000_000u32.to_le_bytes());
    // LAS 1.4 keeps the real count in the 64-bit field at 247.
    claims_more[247..255].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    let err = read_bytes(&claims_more, CloudFormat::Las).unwrap_err();
    assert!(err.contains("claims 4000000000 points"), "{err}");

    let truncated = &good[..good.len() - 100];
    assert!(read_bytes(truncated, CloudFormat::Las).unwrap_err().contains("truncated"));

    let mut short_records = good.clone();
    short_records[105..107].copy_from_slice(&20u16.to_le_bytes()); // format 1 needs 28 bytes
    let err = read_bytes(&short_records, CloudFormat::Las).unwrap_err();
    assert!(err.contains("too short for point format 1"), "{err}");

    let err = read_bytes(b"not a las file at all, just some words", CloudFormat::Las).unwrap_err();
    assert!(err.contains("not a LAS/LAZ file") || err.contains("truncated"), "{err}");
    assert!(read_bytes(&good[..50], CloudFormat::Las).is_err());
}

#[test]
fn a_preview_is_a_spread_share_of_the_file_that_matches_the_full_read() {
    // 120,000 points: three LAZ chunks of 50,000 (the last one short), or 120,000 LAS records.
    for compressed in [false, true] {
        let bytes = write(1, 120_000, compressed, 0);
        let full = cairn_cloud::las::read(&bytes).unwrap();
        let preview = cairn_cloud::las::read_preview(&bytes, 40_000).unwrap();
        assert_eq!(preview.origin, full.origin, "same origin: boxes line up with the full read");
        let index = preview.source_index.as_ref().expect("a share says where its points came from");
        assert_eq!(index.len(), preview.positions.len());
        if compressed {
            // Every third chunk: the first one only.
            assert_eq!(preview.positions.len(), 50_000);
        } else {
            assert_eq!(preview.positions.len(), 40_000);
            assert_eq!(index[1], 3, "every third record");
        }
        for (i, &at) in index.iter().enumerate() {
            assert_eq!(preview.positions[i], full.positions[at as usize], "point {i} (file point {at})");
            assert_eq!(preview.intensity.as_ref().unwrap()[i], full.intensity.as_ref().unwrap()[at as usize]);
        }
        // A share at least the file's size is the whole file.
        let whole = cairn_cloud::las::read_preview(&bytes, 1_000_000).unwrap();
        assert_eq!(whole.positions, full.positions);
    }
}
