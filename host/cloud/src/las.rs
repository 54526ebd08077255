//! LAS 1.0–1.4 (point formats 0–10, extra bytes tolerated) and LAZ / COPC, decoded straight into
//! columns. Uncompressed records are decoded in parallel blocks; LAZ chunks are decompressed in
//! parallel, each on its own, so an error names the chunk it came from.

use crate::cloud::{CloudInfo, ColumnSet, PointCloud, choose_origin};
use cairn_model::CloudFormat;
use rayon::prelude::*;
use std::io::{Cursor, Read, Seek, SeekFrom};

/// Points per parallel block of uncompressed records: small enough to stay in cache.
const BLOCK: usize = 16_384;
/// The most points a LAZ chunk may claim per compressed byte (real data: 0.1–1).
const MAX_POINTS_PER_BYTE: u64 = 64;

/// Where the points are and how they are laid out, checked against the file's size.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub points: u64,
    pub data_start: u64,
    pub record_len: usize,
    pub format: u8,
    pub compressed: bool,
}

/// The point count a header claims. LAS 1.4 keeps it in the large-file field; the legacy field may
/// be 0.
pub(crate) fn point_count(raw: &las::raw::Header) -> u64 {
    match &raw.large_file {
        Some(large) if large.number_of_point_records > 0 => large.number_of_point_records,
        _ => u64::from(raw.number_of_point_records),
    }
}

/// Checks a raw header against the file length, so that nothing is ever sized from a false claim.
pub(crate) fn layout(raw: &las::raw::Header, file_len: u64) -> Result<Layout, String> {
    let points = point_count(raw);
    let data_start = u64::from(raw.offset_to_point_data);
    let record_len = usize::from(raw.point_data_record_length);
    let compressed = raw.point_data_record_format & 0xC0 != 0;
    let format = raw.point_data_record_format & 0x3F;
    if format > 10 {
        return Err(format!("point data record format {format} does not exist (0–10)"));
    }
    let needed = [20, 28, 26, 34, 57, 63, 30, 36, 38, 59, 67][format as usize];
    if record_len < needed {
        return Err(format!("records of {record_len} bytes are too short for point format {format} ({needed} bytes)"));
    }
    if data_start < u64::from(raw.header_size) || data_start > file_len {
        return Err(format!("the header puts the point data at byte {data_start}, outside the file ({file_len} bytes)"));
    }
    if let Some(evlr) = &raw.evlr
        && evlr.start_of_first_evlr > file_len
    {
        return Err(format!("the header puts extended records at byte {}, past the end of the file ({file_len} bytes)", evlr.start_of_first_evlr));
    }
    for (axis, t) in [("x", raw.x_scale_factor), ("y", raw.y_scale_factor), ("z", raw.z_scale_factor)] {
        if !t.is_finite() || t == 0.0 {
            return Err(format!("the {axis} scale factor is {t}"));
        }
    }
    for (axis, o) in [("x", raw.x_offset), ("y", raw.y_offset), ("z", raw.z_offset)] {
        if !o.is_finite() {
            return Err(format!("the {axis} offset is {o}"));
        }
    }
    if !compressed {
        let end = raw.evlr.as_ref().map_or(file_len, |e| e.start_of_first_evlr.clamp(data_start, file_len));
        let room = (end - data_start) / record_len as u64;
        if points > room {
            return Err(format!("the header claims {points} points of {record_len} bytes, but the file holds room for only {room} (truncated?)"));
        }
    }
    Ok(Layout { points, data_start, record_len, format, compressed })
}

fn io_msg(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "the file ends early (truncated?)".into(),
        _ => e.to_string(),
    }
}

/// Walks the extended records' headers before the `las` crate reads them: it sizes each record's
/// buffer from the length the file claims, so every claim is checked against the file first.
pub(crate) fn check_evlrs<R: Read + Seek>(src: &mut R, raw: &las::raw::Header, file_len: u64) -> Result<(), String> {
    let Some(evlr) = &raw.evlr else { return Ok(()) };
    let mut at = evlr.start_of_first_evlr;
    for i in 0..evlr.number_of_evlrs {
        let mut head = [0u8; 60];
        if at.saturating_add(60) > file_len {
            return Err(format!("extended record {i} starts at byte {at}, past the end of the file ({file_len} bytes)"));
        }
        src.seek(SeekFrom::Start(at)).and_then(|_| src.read_exact(&mut head)).map_err(io_msg)?;
        let len = u64::from_le_bytes(head[20..28].try_into().expect("8 bytes"));
        let end = at.saturating_add(60).saturating_add(len);
        if end > file_len {
            return Err(format!("extended record {i} claims {len} bytes, past the end of the file ({file_len} bytes)"));
        }
        at = end;
    }
    Ok(())
}

pub(crate) fn raw_header(src: impl Read) -> Result<las::raw::Header, String> {
    las::raw::Header::read_from(src).map_err(|e| match e {
        las::Error::Io(io) => io_msg(io),
        other => format!("not a LAS/LAZ file: {other}"),
    })
}

/// One LAZ chunk: its first point, how many points it holds, and where its compressed bytes lie in
/// the file. Chunks vary in size in COPC files (one per octree node) and in other variable-chunk LAZ.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chunk {
    pub first_point: u64,
    pub points: u64,
    pub byte_start: u64,
    pub byte_count: u64,
}

/// Reads the LAZ chunk table and checks it against the file and the header's point count.
pub(crate) fn laz_chunks<R: Read + Seek>(src: &mut R, vlr: &laz::LazVlr, layout: &Layout, file_len: u64) -> Result<Vec<Chunk>, String> {
    let mut at = [0u8; 8];
    src.seek(SeekFrom::Start(layout.data_start)).and_then(|_| src.read_exact(&mut at)).map_err(io_msg)?;
    let table_at = i64::from_le_bytes(at);
    if table_at <= layout.data_start as i64 || (table_at as u64).saturating_add(8) > file_len {
        return Err(format!("the LAZ chunk table should start at byte {table_at}, which is outside the file ({file_len} bytes; truncated?)"));
    }
    let mut head = [0u8; 8];
    src.seek(SeekFrom::Start(table_at as u64)).and_then(|_| src.read_exact(&mut head)).map_err(io_msg)?;
    let count = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    let compressed_bytes = table_at as u64 - layout.data_start - 8;
    // Every chunk starts with one point stored whole: this bounds what reading the table may allocate.
    if count.saturating_mul(layout.record_len as u64) > compressed_bytes {
        return Err(format!("the LAZ chunk table claims {count} chunks in {compressed_bytes} bytes of points"));
    }
    src.seek(SeekFrom::Start(layout.data_start)).map_err(|e| e.to_string())?;
    let table = laz::laszip::ChunkTable::read_from(&mut *src, vlr).map_err(|e| format!("bad LAZ chunk table: {e}"))?;
    let bytes: u64 = (0..table.len()).map(|i| table[i].byte_count).sum();
    if bytes > compressed_bytes {
        return Err(format!("the LAZ chunks add up to {bytes} bytes, but the file holds {compressed_bytes} (truncated?)"));
    }
    let mut chunks = Vec::with_capacity(table.len());
    let mut first = 0u64;
    // The chunks follow the 8-byte offset of the chunk table, one after the other.
    let mut byte_start = layout.data_start + 8;
    for i in 0..table.len() {
        let capacity = if vlr.uses_variable_size_chunks() { table[i].point_count } else { u64::from(vlr.chunk_size()) };
        let points = capacity.min(layout.points.saturating_sub(first));
        // Real scans compress to a byte or more per point; far beyond that, the counts are a lie (or
        // a decompression bomb), and believing them would size the columns from the lie.
        if points > table[i].byte_count.saturating_mul(MAX_POINTS_PER_BYTE) {
            return Err(format!("LAZ chunk {i} claims {points} points in {} bytes, beyond any real compression", table[i].byte_count));
        }
        chunks.push(Chunk { first_point: first, points, byte_start, byte_count: table[i].byte_count });
        first += points;
        byte_start += table[i].byte_count;
    }
    if first < layout.points {
        return Err(format!("the header claims {} points, but the LAZ chunks hold at most {first} (truncated?)", layout.points));
    }
    chunks.retain(|c| c.points > 0);
    Ok(chunks)
}

/// A readable name for the file's CRS: its WKT, or the EPSG code of its GeoTIFF keys.
pub(crate) fn crs_of(header: &las::Header) -> Option<String> {
    if let Some(wkt) = header.get_wkt_crs_bytes() {
        let text = String::from_utf8_lossy(wkt).trim_end_matches('\0').trim().to_owned();
        if !text.is_empty() {
            return Some(text);
        }
    }
    let keys = header.get_geotiff_crs().ok().flatten()?;
    let horizontal = keys.get_projected_crs_geo_key_value().or_else(|| keys.get_geodetic_crs_geo_key_value());
    let vertical = keys.get_vertical_crs_geo_key_value();
    match (horizontal, vertical) {
        (Some(h), Some(v)) => Some(format!("EPSG:{h} + EPSG:{v}")),
        (Some(h), None) => Some(format!("EPSG:{h}")),
        _ => None,
    }
}

/// Field names of a point format, for display.
pub(crate) fn field_names(format: u8, extra_bytes: usize) -> Vec<String> {
    let mut f: Vec<&str> = vec!["x", "y", "z", "intensity", "return_number", "number_of_returns", "classification"];
    if format >= 6 {
        f.push("scanner_channel");
    }
    f.extend(["scan_angle", "user_data", "point_source_id"]);
    if format != 0 && format != 2 {
        f.push("gps_time");
    }
    if matches!(format, 2 | 3 | 5 | 7 | 8 | 10) {
        f.extend(["red", "green", "blue"]);
    }
    if matches!(format, 8 | 10) {
        f.push("nir");
    }
    if matches!(format, 4 | 5 | 9 | 10) {
        f.push("wave_packet");
    }
    let mut out: Vec<String> = f.into_iter().map(String::from).collect();
    if extra_bytes > 0 {
        out.push(format!("extra_bytes[{extra_bytes}]"));
    }
    out
}

/// Byte offsets of the decoded fields within a record.
#[derive(Clone, Copy)]
struct Offsets {
    intensity: usize,
    return_byte: usize,
    return_mask: u8,
    class: usize,
    class_mask: u8,
    gps: Option<usize>,
    rgb: Option<usize>,
}

fn offsets(format: u8) -> Offsets {
    let legacy = format < 6;
    Offsets {
        intensity: 12,
        return_byte: 14,
        return_mask: if legacy { 0x07 } else { 0x0F },
        class: if legacy { 15 } else { 16 },
        class_mask: if legacy { 0x1F } else { 0xFF },
        gps: match format {
            1 | 3 | 4 | 5 => Some(20),
            6..=10 => Some(22),
            _ => None,
        },
        rgb: match format {
            2 => Some(20),
            3 | 5 => Some(28),
            7 | 8 | 10 => Some(30),
            _ => None,
        },
    }
}

/// Column slices for one block of points.
struct BlockOut<'a> {
    positions: &'a mut [[f32; 3]],
    intensity: &'a mut [u16],
    classification: &'a mut [u8],
    return_number: &'a mut [u8],
    rgb: Option<&'a mut [[u16; 3]]>,
    gps_time: Option<&'a mut [f64]>,
}

/// Per-axis `local = raw * scale + shift`, with `shift = offset - origin` folded in once.
#[derive(Clone, Copy)]
struct Transform {
    scale: [f64; 3],
    shift: [f64; 3],
}

#[inline]
fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Decodes `out.positions.len()` records from `raw` into the block's columns, one column per pass.
/// Returns the block's bounds.
fn decode_block(raw: &[u8], stride: usize, o: Offsets, t: Transform, out: &mut BlockOut<'_>) -> ([f32; 3], [f32; 3]) {
    let records = raw.chunks_exact(stride);
    let (mut lo, mut hi) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for (p, r) in out.positions.iter_mut().zip(records.clone()) {
        *p = [
            (le_i32(r, 0) as f64 * t.scale[0] + t.shift[0]) as f32,
            (le_i32(r, 4) as f64 * t.scale[1] + t.shift[1]) as f32,
            (le_i32(r, 8) as f64 * t.scale[2] + t.shift[2]) as f32,
        ];
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    for (v, r) in out.intensity.iter_mut().zip(records.clone()) {
        *v = le_u16(r, o.intensity);
    }
    for (v, r) in out.classification.iter_mut().zip(records.clone()) {
        *v = r[o.class] & o.class_mask;
    }
    for (v, r) in out.return_number.iter_mut().zip(records.clone()) {
        *v = r[o.return_byte] & o.return_mask;
    }
    if let (Some(col), Some(at)) = (out.rgb.as_deref_mut(), o.rgb) {
        for (v, r) in col.iter_mut().zip(records.clone()) {
            *v = [le_u16(r, at), le_u16(r, at + 2), le_u16(r, at + 4)];
        }
    }
    if let (Some(col), Some(at)) = (out.gps_time.as_deref_mut(), o.gps) {
        for (v, r) in col.iter_mut().zip(records) {
            *v = f64::from_le_bytes(r[at..at + 8].try_into().expect("8 bytes"));
        }
    }
    (lo, hi)
}

/// Splits every column into consecutive pieces of the given sizes.
fn split_columns<'a>(cloud: &'a mut PointCloud, sizes: &[usize]) -> Vec<BlockOut<'a>> {
    fn pieces<'a, T>(mut rest: &'a mut [T], sizes: &[usize]) -> Vec<&'a mut [T]> {
        let mut out = Vec::with_capacity(sizes.len());
        for &n in sizes {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
            out.push(head);
            rest = tail;
        }
        out
    }
    let positions = pieces(&mut cloud.positions, sizes);
    let intensity = pieces(cloud.intensity.as_mut().expect("LAS has intensity"), sizes);
    let classification = pieces(cloud.classification.as_mut().expect("LAS has classification"), sizes);
    let return_number = pieces(cloud.return_number.as_mut().expect("LAS has return numbers"), sizes);
    let mut rgb = cloud.rgb.as_mut().map(|c| pieces(c, sizes).into_iter());
    let mut gps = cloud.gps_time.as_mut().map(|c| pieces(c, sizes).into_iter());
    positions
        .into_iter()
        .zip(intensity)
        .zip(classification)
        .zip(return_number)
        .map(|(((positions, intensity), classification), return_number)| BlockOut {
            positions,
            intensity,
            classification,
            return_number,
            rgb: rgb.as_mut().and_then(Iterator::next),
            gps_time: gps.as_mut().and_then(Iterator::next),
        })
        .collect()
}

/// Reads a LAS or LAZ file held in memory.
pub fn read(bytes: &[u8]) -> Result<PointCloud, String> {
    read_share(bytes, None)
}

/// Reads about `max_points` of a LAS or LAZ file, spread over it: every k-th LAZ chunk (chunks are
/// decoded whole), or every k-th record of an uncompressed file. Enough for a first picture long
/// before the whole file is decoded; `source_index` maps the points to their place in the file.
pub fn read_preview(bytes: &[u8], max_points: usize) -> Result<PointCloud, String> {
    read_share(bytes, Some(max_points.max(1)))
}

fn read_share(bytes: &[u8], share: Option<usize>) -> Result<PointCloud, String> {
    let raw = raw_header(Cursor::new(bytes))?;
    let file_len = bytes.len() as u64;
    let layout = layout(&raw, file_len)?;
    check_evlrs(&mut Cursor::new(bytes), &raw, file_len)?;
    let version = raw.version;
    let header = las::Header::new(Cursor::new(bytes)).map_err(|e| format!("bad LAS header: {e}"))?;
    let b = header.bounds();
    let origin = if [b.min.x, b.min.y, b.min.z, b.max.x, b.max.y, b.max.z].iter().all(|v| v.is_finite()) {
        choose_origin([b.min.x, b.min.y, b.min.z], [b.max.x, b.max.y, b.max.z])
    } else {
        [0.0; 3]
    };
    let tr = header.transforms();
    let transform =
        Transform { scale: [tr.x.scale, tr.y.scale, tr.z.scale], shift: [tr.x.offset - origin[0], tr.y.offset - origin[1], tr.z.offset - origin[2]] };
    let o = offsets(layout.format);
    let columns = ColumnSet { intensity: true, classification: true, return_number: true, rgb: o.rgb.is_some(), gps_time: o.gps.is_some() };
    // For LAZ, the chunk table must vouch for the point count before any column is sized from it.
    let laz = if layout.compressed {
        let vlr = header.laz_vlr().map_err(|e| format!("bad LAZ header: {e}"))?;
        let chunks = laz_chunks(&mut Cursor::new(bytes), &vlr, &layout, file_len)?;
        Some((vlr, chunks))
    } else {
        None
    };
    // Every k-th LAZ chunk or LAS record when only a share is wanted.
    let every = share.map_or(1, |max| (layout.points as usize).div_ceil(max).max(1));
    let laz = laz.map(|(vlr, chunks)| {
        let chunks: Vec<Chunk> = chunks.into_iter().enumerate().filter(|(i, _)| i % every == 0).map(|(_, c)| c).collect();
        (vlr, chunks)
    });
    let n = match &laz {
        Some((_, chunks)) => chunks.iter().map(|c| c.points as usize).sum(),
        None => (layout.points as usize).div_ceil(every),
    };
    let mut cloud = PointCloud {
        origin,
        positions: vec![[0.0; 3]; n],
        intensity: Some(vec![0; n]),
        classification: Some(vec![0; n]),
        return_number: Some(vec![0; n]),
        rgb: columns.rgb.then(|| vec![[0; 3]; n]),
        gps_time: columns.gps_time.then(|| vec![0.0; n]),
        info: CloudInfo {
            format: Some(if layout.compressed { CloudFormat::Laz } else { CloudFormat::Las }),
            version: Some(format!("{}.{}", version.major, version.minor)),
            encoding: Some(format!("point format {}", layout.format)),
            declared_points: layout.points,
            fields: field_names(layout.format, layout.record_len - [20, 28, 26, 34, 57, 63, 30, 36, 38, 59, 67][layout.format as usize]),
            crs: crs_of(&header),
        },
        ..PointCloud::default()
    };
    if every > 1 {
        cloud.source_index = Some(match &laz {
            Some((_, chunks)) => chunks.iter().flat_map(|c| c.first_point as u32..(c.first_point + c.points) as u32).collect(),
            None => (0..n as u32).map(|i| i * every as u32).collect(),
        });
    }
    let stride = layout.record_len;
    let Some((vlr, chunks)) = laz else {
        let start = layout.data_start as usize;
        let picked: Vec<u8>;
        let data = if every == 1 {
            &bytes[start..start + n * stride]
        } else {
            picked = (0..n).flat_map(|i| &bytes[start + i * every * stride..start + (i * every + 1) * stride]).copied().collect();
            &picked[..]
        };
        let sizes: Vec<usize> = (0..n.div_ceil(BLOCK)).map(|b| BLOCK.min(n - b * BLOCK)).collect();
        split_columns(&mut cloud, &sizes).into_par_iter().enumerate().for_each(|(b, mut out)| {
            decode_block(&data[b * BLOCK * stride..], stride, o, transform, &mut out);
        });
        return Ok(cloud);
    };
    let sizes: Vec<usize> = chunks.iter().map(|c| c.points as usize).collect();
    let item_len = vlr.items_size() as usize;
    let bounds = Bounds::around(&header);
    let outs = split_columns(&mut cloud, &sizes);
    outs.into_par_iter().zip(chunks.par_iter().enumerate()).try_for_each_init(Vec::new, |raw, (mut out, (i, chunk))| {
        let name = |e: String| format!("LAZ chunk {i} (points {}..{}): {e}", chunk.first_point, chunk.first_point + chunk.points);
        // One decompression buffer per worker, reused from chunk to chunk.
        raw.resize(chunk.points as usize * item_len, 0);
        // The decoder asserts on some damaged input instead of returning an error: contain that.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decompress_chunk(bytes, &vlr, chunk, raw)))
            .unwrap_or_else(|_| Err("the LAZ decoder gave up on damaged data".into()))
            .map_err(name)?;
        let (lo, hi) = decode_block(raw, item_len, o, transform, &mut out);
        bounds.check(lo, hi, out.positions).map_err(name)
    })?;
    Ok(cloud)
}

/// Decompresses one chunk from its own bytes. (Seeking a `LasZipDecompressor` to the chunk's first
/// point finds the wrong place inside variable-size chunks: laz 0.13 takes the point's offset in its
/// chunk modulo that chunk's size.)
fn decompress_chunk(bytes: &[u8], vlr: &laz::LazVlr, chunk: &Chunk, out: &mut [u8]) -> Result<(), String> {
    let end = chunk.byte_start.saturating_add(chunk.byte_count);
    let data = usize::try_from(end)
        .ok()
        .and_then(|end| bytes.get(chunk.byte_start as usize..end))
        .ok_or_else(|| io_msg(std::io::ErrorKind::UnexpectedEof.into()))?;
    let entry = laz::laszip::ChunkTableEntry { point_count: chunk.points, byte_count: chunk.byte_count };
    laz::par_decompress(data, out, vlr, &[entry]).map_err(|e| match e {
        laz::LasZipError::IoError(e) => io_msg(e),
        other => other.to_string(),
    })
}

/// The header's bounds in local coordinates, grown by a tolerance, to catch chunks that decode to
/// garbage (a damaged arithmetic-coded chunk does not always fail, it can produce nonsense).
struct Bounds {
    min: [f32; 3],
    max: [f32; 3],
}

impl Bounds {
    fn around(header: &las::Header) -> Self {
        let b = header.bounds();
        let (min, max) = ([b.min.x, b.min.y, b.min.z], [b.max.x, b.max.y, b.max.z]);
        let origin = choose_origin(min, max);
        let grow = |k: usize| (max[k] - min[k]).abs() * 0.01 + 1.0;
        Bounds {
            min: std::array::from_fn(|k| (min[k] - origin[k] - grow(k)) as f32),
            max: std::array::from_fn(|k| (max[k] - origin[k] + grow(k)) as f32),
        }
    }

    /// `lo` / `hi`: the chunk's own bounds; the points are counted only when they stray.
    fn check(&self, lo: [f32; 3], hi: [f32; 3], positions: &[[f32; 3]]) -> Result<(), String> {
        if !self.min.iter().chain(&self.max).all(|v| v.is_finite()) {
            return Ok(()); // no usable bounds in the header: nothing to check against
        }
        if (0..3).all(|k| lo[k] >= self.min[k] && hi[k] <= self.max[k]) || positions.is_empty() {
            return Ok(());
        }
        let outside = positions.iter().filter(|p| (0..3).any(|k| !(self.min[k]..=self.max[k]).contains(&p[k]))).count();
        if outside > 0 {
            return Err(format!("{outside} points decode outside the header's bounds (damaged data?)"));
        }
        Ok(())
    }
}
