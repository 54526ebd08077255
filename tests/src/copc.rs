//! COPC files shaped like the public samples: LAS 1.4, point format 7, one variable-size LAZ chunk per
//! octree node (sizes chosen by the test, so a last short chunk and many small nodes are easy to
//! make), and a hierarchy EVLR whose root page points to a second page.

use laz::{LasZipCompressor, LazItemRecordBuilder, LazVlrBuilder};
use std::io::{Cursor, Seek, Write};

/// Record length of point format 7 (format 6 plus RGB).
const RECORD_LEN: usize = 36;
const HEADER_LEN: usize = 375;
const VLR_HEADER_LEN: usize = 54;
const EVLR_HEADER_LEN: usize = 60;
const INFO_LEN: usize = 160;
/// Georeferenced, as real COPC files are.
const CENTER: [f64; 3] = [637_000.0, 851_000.0, 100.0];
const HALFSIZE: f64 = 64.0;
const SCALE: f64 = 0.01;

/// The octree key of node `n` in file order: the root, its 8 children, then up to 64 grandchildren.
fn key(n: usize) -> [i32; 4] {
    match n {
        0 => [0, 0, 0, 0],
        1..=8 => {
            let c = (n - 1) as i32;
            [1, c & 1, c >> 1 & 1, c >> 2 & 1]
        }
        9..=72 => {
            let (parent, child) = (key(1 + (n - 9) / 8), (n - 9) as i32 % 8);
            [2, parent[1] * 2 + (child & 1), parent[2] * 2 + (child >> 1 & 1), parent[3] * 2 + (child >> 2 & 1)]
        }
        _ => panic!("the fixture holds at most 73 nodes"),
    }
}

/// Whether node `n` is listed in the second hierarchy page: node 1 and its children.
fn in_child_page(n: usize) -> bool {
    n == 1 || (9..17).contains(&n)
}

/// Point `i` of the file, inside its node's cube, as (x, y, z) in file coordinates.
pub fn point_position(node: usize, i: usize) -> [f64; 3] {
    let [level, kx, ky, kz] = key(node);
    let size = 2.0 * HALFSIZE / f64::from(1 << level);
    let f = |k: i32, axis: usize, salt: usize| {
        let t = ((i * 7919 + salt * 104_729) % 1000) as f64 / 1000.0;
        CENTER[axis] - HALFSIZE + f64::from(k) * size + (0.05 + 0.9 * t) * size
    };
    [f(kx, 0, 1), f(ky, 1, 2), f(kz, 2, 3)]
}

/// Writes a COPC file with one node per entry of `chunk_sizes` (each > 0, at most 73 nodes).
/// Returns its bytes; point `k` of the file is `point_position(node, k)` for the node holding it.
pub fn write_copc(chunk_sizes: &[usize]) -> Vec<u8> {
    assert!(!chunk_sizes.is_empty() && chunk_sizes.iter().all(|&n| n > 0));
    let total: usize = chunk_sizes.iter().sum();
    let laz_vlr = LazVlrBuilder::new(LazItemRecordBuilder::default_for_point_format_id(7, 0).unwrap()).with_variable_chunk_size().build();
    let mut laz_data = Vec::new();
    laz_vlr.write_to(&mut laz_data).unwrap();
    let data_start = HEADER_LEN + VLR_HEADER_LEN + INFO_LEN + VLR_HEADER_LEN + laz_data.len();

    // Points, one chunk per node.
    let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
    let mut file = Cursor::new(vec![0u8; data_start]);
    file.set_position(data_start as u64);
    let mut chunk_starts = Vec::new();
    let mut compressor = LasZipCompressor::new(file, laz_vlr).unwrap();
    compressor.reserve_offset_to_chunk_table().unwrap();
    let mut index = 0usize;
    for (node, &size) in chunk_sizes.iter().enumerate() {
        chunk_starts.push(compressor.get_mut().stream_position().unwrap());
        let mut records = Vec::with_capacity(size * RECORD_LEN);
        for _ in 0..size {
            let p = point_position(node, index);
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
            records.extend_from_slice(&record(p, index));
            index += 1;
        }
        compressor.compress_many(&records).unwrap();
        // The last chunk is closed by `done`, which also writes the chunk table.
        if node + 1 < chunk_sizes.len() {
            compressor.finish_current_chunk().unwrap();
        }
    }
    compressor.done().unwrap();
    let mut file = compressor.into_inner();
    let end_of_points = file.get_ref().len();
    file.seek(std::io::SeekFrom::End(0)).unwrap();
    let chunk_ends: Vec<u64> = chunk_starts.iter().skip(1).copied().chain([chunk_table_start(file.get_ref(), data_start)]).collect();

    // The hierarchy: a root page, then the page of node 1's subtree.
    let entry = |n: usize| {
        let mut e = Vec::with_capacity(32);
        for k in key(n) {
            e.extend_from_slice(&k.to_le_bytes());
        }
        e.extend_from_slice(&chunk_starts[n].to_le_bytes());
        e.extend_from_slice(&((chunk_ends[n] - chunk_starts[n]) as i32).to_le_bytes());
        e.extend_from_slice(&(chunk_sizes[n] as i32).to_le_bytes());
        e
    };
    let nodes = 0..chunk_sizes.len();
    let child_page: Vec<u8> = nodes.clone().filter(|&n| in_child_page(n)).flat_map(entry).collect();
    let mut root_page: Vec<u8> = nodes.filter(|&n| !in_child_page(n)).flat_map(entry).collect();
    let root_page_len = root_page.len() + if child_page.is_empty() { 0 } else { 32 };
    let evlr_start = end_of_points;
    let root_page_at = (evlr_start + EVLR_HEADER_LEN) as u64;
    if !child_page.is_empty() {
        for k in key(1) {
            root_page.extend_from_slice(&k.to_le_bytes());
        }
        root_page.extend_from_slice(&(root_page_at + root_page_len as u64).to_le_bytes());
        root_page.extend_from_slice(&(child_page.len() as i32).to_le_bytes());
        root_page.extend_from_slice(&(-1i32).to_le_bytes());
    }
    let hierarchy = [root_page, child_page].concat();
    write_vlr_header(&mut file, "copc", 1000, hierarchy.len() as u64, true);
    file.write_all(&hierarchy).unwrap();

    // Header and VLRs, now that every offset is known.
    let mut head = Cursor::new(Vec::new());
    let header = las::raw::Header {
        version: las::Version::new(1, 4),
        header_size: HEADER_LEN as u16,
        offset_to_point_data: data_start as u32,
        number_of_variable_length_records: 2,
        point_data_record_format: 7 | 0x80,
        point_data_record_length: RECORD_LEN as u16,
        x_scale_factor: SCALE,
        y_scale_factor: SCALE,
        z_scale_factor: SCALE,
        x_offset: CENTER[0],
        y_offset: CENTER[1],
        z_offset: 0.0,
        min_x: lo[0],
        max_x: hi[0],
        min_y: lo[1],
        max_y: hi[1],
        min_z: lo[2],
        max_z: hi[2],
        start_of_waveform_data_packet_record: Some(0),
        evlr: Some(las::raw::header::Evlr { start_of_first_evlr: evlr_start as u64, number_of_evlrs: 1 }),
        large_file: Some(las::raw::header::LargeFile {
            number_of_point_records: total as u64,
            number_of_points_by_return: std::array::from_fn(|i| if i == 0 { total as u64 } else { 0 }),
        }),
        global_encoding: 0x11, // GPS standard time, WKT
        ..Default::default()
    };
    header.write_to(&mut head).unwrap();
    assert_eq!(head.get_ref().len(), HEADER_LEN);
    write_vlr_header(&mut head, "copc", 1, INFO_LEN as u64, false);
    for v in [CENTER[0], CENTER[1], CENTER[2], HALFSIZE, HALFSIZE / 8.0] {
        head.write_all(&v.to_le_bytes()).unwrap();
    }
    head.write_all(&root_page_at.to_le_bytes()).unwrap();
    head.write_all(&(root_page_len as u64).to_le_bytes()).unwrap();
    head.write_all(&0f64.to_le_bytes()).unwrap();
    head.write_all(&(total as f64).to_le_bytes()).unwrap();
    head.write_all(&[0u8; 88]).unwrap();
    write_vlr_header(&mut head, "laszip encoded", 22204, laz_data.len() as u64, false);
    head.write_all(&laz_data).unwrap();
    let mut bytes = file.into_inner();
    assert_eq!(head.get_ref().len(), data_start);
    bytes[..data_start].copy_from_slice(head.get_ref());
    bytes
}

/// Format 7 record `i`: every field varies with the point.
fn record(p: [f64; 3], i: usize) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    let coord = |axis: usize| {
        let offset = if axis == 2 { 0.0 } else { CENTER[axis] };
        (((p[axis] - offset) / SCALE).round() as i32).to_le_bytes()
    };
    r[0..4].copy_from_slice(&coord(0));
    r[4..8].copy_from_slice(&coord(1));
    r[8..12].copy_from_slice(&coord(2));
    r[12..14].copy_from_slice(&((i * 37 % 65_536) as u16).to_le_bytes());
    r[14] = 1 | (1 << 4); // return 1 of 1
    r[16] = [1u8, 2, 5, 6][i % 4];
    r[22..30].copy_from_slice(&(i as f64).to_le_bytes());
    for (k, c) in [(30, i * 11), (32, i * 13), (34, i * 17)] {
        r[k..k + 2].copy_from_slice(&((c % 65_536) as u16).to_le_bytes());
    }
    r
}

/// Where the chunk table starts: the 8-byte offset at the start of the point data.
fn chunk_table_start(bytes: &[u8], data_start: usize) -> u64 {
    u64::from_le_bytes(bytes[data_start..data_start + 8].try_into().unwrap())
}

fn write_vlr_header(out: &mut Cursor<Vec<u8>>, user_id: &str, record_id: u16, len: u64, extended: bool) {
    let mut user = [0u8; 16];
    user[..user_id.len()].copy_from_slice(user_id.as_bytes());
    out.write_all(&0u16.to_le_bytes()).unwrap();
    out.write_all(&user).unwrap();
    out.write_all(&record_id.to_le_bytes()).unwrap();
    if extended {
        out.write_all(&len.to_le_bytes()).unwrap();
    } else {
        out.write_all(&(len as u16).to_le_bytes()).unwrap();
    }
    out.write_all(&[0u8; 32]).unwrap();
}
