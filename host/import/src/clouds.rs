//! Point-cloud registration: the project keeps each frame's path, content hash and header summary;
//! the points stay in their files. Headers are checked against the file size so that a header that
//! claims more points than the file holds is refused without allocating for the claim.

use crate::{Format, ImportError, ImportOptions, ImportReport, ProgressFn, Skipped, short_hash};
use cairn_model::{Bounds, CloudFormat, CloudSummary, Frame, ItemData, Modality, SourceFile};
use cairn_store::Project;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What a look at a cloud file found.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudInspection {
    pub summary: CloudSummary,
    pub content_hash: cairn_model::ContentHash,
    pub byte_len: u64,
}

/// Reads a cloud file's header (and, where the format has none, scans it), checks it against the file,
/// and hashes the content.
pub fn inspect_cloud(path: &Path, format: Option<CloudFormat>) -> Result<CloudInspection, ImportError> {
    let fail = |message: String| ImportError::File { path: path.to_owned(), message };
    let format = match format {
        Some(f) => f,
        None => {
            let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
            CloudFormat::from_extension(&ext).ok_or_else(|| fail(format!("'.{ext}' is not a point-cloud extension")))?
        }
    };
    let io = |source| ImportError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io)?;
    let byte_len = file.metadata().map_err(io)?.len();
    let summary = match format {
        CloudFormat::Las | CloudFormat::Laz => las_summary(&mut file, byte_len),
        CloudFormat::Pcd => pcd_summary(&mut file, byte_len),
        CloudFormat::KittiBin => kitti_summary(&mut file, byte_len),
        CloudFormat::Ply => ply_summary(&mut file, byte_len),
    }
    .map_err(fail)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(&mut file).map_err(io)?;
    Ok(CloudInspection { summary, content_hash: short_hash(hasher.finalize()), byte_len })
}

fn io_msg(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "the file ends inside its header (truncated?)".into(),
        _ => e.to_string(),
    }
}

fn las_summary(file: &mut File, byte_len: u64) -> Result<CloudSummary, String> {
    let raw = las::raw::Header::read_from(BufReader::new(&mut *file)).map_err(|e| match e {
        las::Error::Io(io) => io_msg(io),
        other => format!("not a LAS/LAZ file: {other}"),
    })?;
    // LAS 1.4 keeps the count in the large-file field; the legacy field may be 0.
    let n = match &raw.large_file {
        Some(large) if large.number_of_point_records > 0 => large.number_of_point_records,
        _ => u64::from(raw.number_of_point_records),
    };
    let data_start = u64::from(raw.offset_to_point_data);
    let record_len = u64::from(raw.point_data_record_length);
    let compressed = raw.point_data_record_format & 0xC0 != 0;
    if data_start < u64::from(raw.header_size) || data_start > byte_len {
        return Err(format!("the header puts the point data at byte {data_start}, outside the file ({byte_len} bytes)"));
    }
    if let Some(evlr) = &raw.evlr
        && evlr.start_of_first_evlr > byte_len
    {
        return Err(format!(
            "the header puts extended records at byte {}, past the end of the file ({byte_len} bytes)",
            evlr.start_of_first_evlr
        ));
    }
    if !compressed {
        let end = raw.evlr.as_ref().map_or(byte_len, |e| e.start_of_first_evlr.min(byte_len));
        let room = end.saturating_sub(data_start) / record_len.max(1);
        if n > room {
            return Err(format!(
                "the header claims {n} points of {record_len} bytes, but the file holds room for only {room} (truncated?)"
            ));
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let header = las::Header::new(BufReader::new(&mut *file)).map_err(|e| format!("bad LAS header: {e}"))?;
    if compressed {
        check_laz_chunks(file, &header, data_start, byte_len, n)?;
    }
    let format = header.point_format();
    let mut fields: Vec<String> = ["x", "y", "z", "intensity", "return_number", "number_of_returns", "classification"]
        .map(String::from)
        .into();
    if format.has_gps_time {
        fields.push("gps_time".into());
    }
    if format.has_color {
        fields.extend(["red", "green", "blue"].map(String::from));
    }
    if format.has_nir {
        fields.push("nir".into());
    }
    if format.extra_bytes > 0 {
        fields.push(format!("extra_bytes[{}]", format.extra_bytes));
    }
    let b = header.bounds();
    // The version the file declares (the `las` header may report the one it would write).
    let version = raw.version;
    Ok(CloudSummary {
        format: if compressed { CloudFormat::Laz } else { CloudFormat::Las },
        version: Some(format!("{}.{}", version.major, version.minor)),
        encoding: format.to_u8().ok().map(|f| format!("point format {f}")),
        point_count: header.number_of_points(),
        bounds: Some(Bounds { min: [b.min.x, b.min.y, b.min.z], max: [b.max.x, b.max.y, b.max.z] }),
        fields,
    })
}

/// Checks the LAZ chunk table against the file and the header's point count.
fn check_laz_chunks(file: &mut File, header: &las::Header, data_start: u64, byte_len: u64, n: u64) -> Result<(), String> {
    let vlr = header.laz_vlr().map_err(|e| format!("bad LAZ header: {e}"))?;
    let mut at = [0u8; 8];
    file.seek(SeekFrom::Start(data_start)).and_then(|_| file.read_exact(&mut at)).map_err(io_msg)?;
    let table_at = i64::from_le_bytes(at);
    if table_at <= data_start as i64 || table_at as u64 + 8 > byte_len {
        return Err(format!(
            "the LAZ chunk table should start at byte {table_at}, which is outside the file ({byte_len} bytes; truncated?)"
        ));
    }
    let mut head = [0u8; 8];
    file.seek(SeekFrom::Start(table_at as u64)).and_then(|_| file.read_exact(&mut head)).map_err(io_msg)?;
    let chunks = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    let compressed_bytes = table_at as u64 - data_start - 8;
    // Each chunk takes at least one byte, so this bounds what reading the table may allocate.
    if chunks > compressed_bytes {
        return Err(format!("the LAZ chunk table claims {chunks} chunks in {compressed_bytes} bytes of points"));
    }
    file.seek(SeekFrom::Start(data_start)).map_err(|e| e.to_string())?;
    let table = laz::laszip::ChunkTable::read_from(&mut *file, &vlr).map_err(|e| format!("bad LAZ chunk table: {e}"))?;
    let entries: Vec<_> = (0..table.len()).map(|i| table[i]).collect();
    let bytes: u64 = entries.iter().map(|e| e.byte_count).sum();
    if bytes > compressed_bytes {
        return Err(format!("the LAZ chunks add up to {bytes} bytes, but the file holds {compressed_bytes} (truncated?)"));
    }
    let capacity: u64 = if vlr.uses_variable_size_chunks() {
        entries.iter().map(|e| e.point_count).sum()
    } else {
        entries.len() as u64 * u64::from(vlr.chunk_size())
    };
    if n > capacity {
        return Err(format!("the header claims {n} points, but the LAZ chunks hold at most {capacity} (truncated?)"));
    }
    Ok(())
}

/// Reads an ASCII header line by line until `stop` says it ended; returns the lines and the byte length.
fn read_header_lines(file: &mut File, stop: impl Fn(&str) -> bool) -> Result<(Vec<String>, u64), String> {
    let mut reader = BufReader::new(file);
    let mut lines = Vec::new();
    let mut consumed = 0u64;
    loop {
        let mut raw = Vec::new();
        let n = reader.by_ref().take(4096).read_until(b'\n', &mut raw).map_err(io_msg)?;
        if n == 0 {
            return Err("the file ends inside its header (truncated?)".into());
        }
        consumed += n as u64;
        let line = String::from_utf8(raw).map_err(|_| "the header is not text".to_owned())?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        let done = stop(&line);
        lines.push(line);
        if done {
            return Ok((lines, consumed));
        }
        if lines.len() > 10_000 {
            return Err("the header never ends".into());
        }
    }
}

fn pcd_summary(file: &mut File, byte_len: u64) -> Result<CloudSummary, String> {
    let (lines, header_len) = read_header_lines(file, |l| l.starts_with("DATA"))
        .map_err(|e| if e.contains("not text") { "not a PCD file (the header is not text)".into() } else { e })?;
    let get = |key: &str| -> Option<Vec<String>> {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(key))
            .map(|l| l.split_whitespace().skip(1).map(String::from).collect())
    };
    let need = |v: Option<Vec<String>>, key: &str| v.ok_or_else(|| format!("PCD header: missing {key}"));
    let fields = need(get("FIELDS"), "FIELDS")?;
    let sizes = need(get("SIZE"), "SIZE")?;
    let counts = get("COUNT").unwrap_or_else(|| vec!["1".into(); fields.len()]);
    let data = need(get("DATA"), "DATA")?;
    let num = |s: &str, key: &str| s.parse::<u64>().map_err(|_| format!("PCD header: {key} '{s}' is not a number"));
    if sizes.len() != fields.len() || counts.len() != fields.len() {
        return Err(format!("PCD header: {} FIELDS but {} SIZE and {} COUNT entries", fields.len(), sizes.len(), counts.len()));
    }
    let points = match get("POINTS") {
        Some(v) if !v.is_empty() => num(&v[0], "POINTS")?,
        _ => {
            let w = need(get("WIDTH"), "WIDTH")?;
            let h = need(get("HEIGHT"), "HEIGHT")?;
            num(w.first().map_or("", String::as_str), "WIDTH")? * num(h.first().map_or("", String::as_str), "HEIGHT")?
        }
    };
    let mut stride = 0u64;
    for (s, c) in sizes.iter().zip(&counts) {
        stride += num(s, "SIZE")? * num(c, "COUNT")?;
    }
    let encoding = data.first().cloned().unwrap_or_default();
    let body = byte_len - header_len;
    match encoding.as_str() {
        "binary" => {
            if points.saturating_mul(stride) > body {
                return Err(format!("the header claims {points} points of {stride} bytes, but only {body} bytes follow it (truncated?)"));
            }
        }
        "binary_compressed" => {
            let mut sizes = [0u8; 8];
            file.seek(SeekFrom::Start(header_len)).and_then(|_| file.read_exact(&mut sizes)).map_err(io_msg)?;
            let compressed = u64::from(u32::from_le_bytes([sizes[0], sizes[1], sizes[2], sizes[3]]));
            let raw = u64::from(u32::from_le_bytes([sizes[4], sizes[5], sizes[6], sizes[7]]));
            if compressed + 8 > body {
                return Err(format!("the compressed block claims {compressed} bytes, but only {} follow (truncated?)", body.saturating_sub(8)));
            }
            if raw != points.saturating_mul(stride) {
                return Err(format!("the compressed block unpacks to {raw} bytes, not {points} points × {stride} bytes"));
            }
        }
        "ascii" => {
            file.seek(SeekFrom::Start(header_len)).map_err(|e| e.to_string())?;
            let rows = BufReader::new(&mut *file).split(b'\n').filter(|l| l.as_ref().is_ok_and(|l| !l.trim_ascii().is_empty())).count() as u64;
            if rows < points {
                return Err(format!("the header claims {points} points, but the file holds {rows} rows (truncated?)"));
            }
        }
        other => return Err(format!("PCD header: unknown DATA encoding '{other}'")),
    }
    let version = get("VERSION").and_then(|v| v.first().cloned());
    Ok(CloudSummary { format: CloudFormat::Pcd, version, encoding: Some(encoding), point_count: points, bounds: None, fields })
}

fn kitti_summary(file: &mut File, byte_len: u64) -> Result<CloudSummary, String> {
    if byte_len % 16 != 0 {
        return Err(format!("{byte_len} bytes is not a whole number of 16-byte x y z reflectance records"));
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut record = [0u8; 16];
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    for _ in 0..byte_len / 16 {
        reader.read_exact(&mut record).map_err(io_msg)?;
        let v: [f32; 3] = std::array::from_fn(|k| f32::from_le_bytes(record[4 * k..4 * k + 4].try_into().unwrap()));
        if v.iter().all(|c| c.is_finite()) {
            for k in 0..3 {
                min[k] = min[k].min(v[k] as f64);
                max[k] = max[k].max(v[k] as f64);
            }
        }
    }
    Ok(CloudSummary {
        format: CloudFormat::KittiBin,
        version: None,
        encoding: Some("float32 x y z reflectance".into()),
        point_count: byte_len / 16,
        bounds: (min[0] <= max[0]).then_some(Bounds { min, max }),
        fields: ["x", "y", "z", "reflectance"].map(String::from).into(),
    })
}

fn ply_summary(file: &mut File, byte_len: u64) -> Result<CloudSummary, String> {
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(io_msg)?;
    if &magic[..3] != b"ply" {
        return Err("not a PLY file (it does not start with 'ply')".into());
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let (lines, header_len) = read_header_lines(file, |l| l.trim() == "end_header")?;
    let encoding = lines
        .iter()
        .find_map(|l| l.strip_prefix("format "))
        .map(|f| f.split_whitespace().next().unwrap_or("").to_owned())
        .ok_or("PLY header: missing format line")?;
    let mut vertices = None;
    let mut first_element = true;
    let mut fields = Vec::new();
    let mut stride = Some(0u64);
    let mut in_vertex = false;
    for l in &lines {
        let parts: Vec<&str> = l.split_whitespace().collect();
        match parts.as_slice() {
            ["element", name, count] => {
                in_vertex = *name == "vertex";
                if in_vertex {
                    vertices = Some(count.parse::<u64>().map_err(|_| format!("PLY header: vertex count '{count}' is not a number"))?);
                    if !first_element {
                        stride = None; // other elements come first: their size is not checked here
                    }
                }
                first_element = false;
            }
            ["property", "list", ..] if in_vertex => stride = None,
            ["property", ty, name] if in_vertex => {
                let size = match *ty {
                    "char" | "uchar" | "int8" | "uint8" => 1,
                    "short" | "ushort" | "int16" | "uint16" => 2,
                    "int" | "uint" | "float" | "int32" | "uint32" | "float32" => 4,
                    "double" | "float64" => 8,
                    other => return Err(format!("PLY header: unknown property type '{other}'")),
                };
                stride = stride.map(|s| s + size);
                fields.push((*name).to_owned());
            }
            _ => {}
        }
    }
    let points = vertices.ok_or("PLY header: no vertex element")?;
    let body = byte_len - header_len;
    match encoding.as_str() {
        "binary_little_endian" | "binary_big_endian" => {
            if let Some(stride) = stride
                && points.saturating_mul(stride) > body
            {
                return Err(format!("the header claims {points} vertices of {stride} bytes, but only {body} bytes follow it (truncated?)"));
            }
        }
        "ascii" => {}
        other => return Err(format!("PLY header: unknown format '{other}'")),
    }
    Ok(CloudSummary { format: CloudFormat::Ply, version: None, encoding: Some(encoding), point_count: points, bounds: None, fields })
}

/// Name order that puts `frame2` before `frame10`.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let dx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let dy = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let nx = std::str::from_utf8(&x[..dx]).unwrap().trim_start_matches('0');
                let ny = std::str::from_utf8(&y[..dy]).unwrap().trim_start_matches('0');
                let ord = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny)).then_with(|| dx.cmp(&dy));
                if ord.is_ne() {
                    return ord;
                }
                x = &x[dx..];
                y = &y[dy..];
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// Frames to register: (sequence, index, path).
fn collect_frames(path: &Path) -> Result<Vec<(Option<String>, u32, PathBuf)>, ImportError> {
    let io = |p: &Path, source| ImportError::Io { path: p.to_owned(), source };
    if !path.is_dir() {
        return Ok(vec![(None, 0, path.to_owned())]);
    }
    let list = |dir: &Path| -> Result<(Vec<PathBuf>, Vec<PathBuf>), ImportError> {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let p = entry.map_err(|e| io(dir, e))?.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().and_then(|e| CloudFormat::from_extension(&e.to_string_lossy())).is_some() {
                files.push(p);
            }
        }
        let by_name = |a: &PathBuf, b: &PathBuf| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy());
        files.sort_by(by_name);
        dirs.sort_by(by_name);
        Ok((files, dirs))
    };
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let (files, dirs) = list(path)?;
    let mut out: Vec<_> = files.into_iter().enumerate().map(|(i, f)| (name(path), i as u32, f)).collect();
    // One level of subdirectories: each is a sequence of its own.
    for dir in dirs {
        let (files, _) = list(&dir)?;
        out.extend(files.into_iter().enumerate().map(|(i, f)| (name(&dir), i as u32, f)));
    }
    if out.is_empty() {
        return Err(ImportError::File { path: path.to_owned(), message: "no point-cloud files (.las .laz .pcd .bin .ply) here".into() });
    }
    Ok(out)
}

/// How the project refers to a file: relative to the project's directory when it lies inside it.
fn stored_path(project: &Project, file: &Path) -> String {
    let absolute = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let base = std::fs::canonicalize(project.base_dir()).unwrap_or_else(|_| project.base_dir());
    match absolute.strip_prefix(&base) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => absolute.to_string_lossy().into_owned(),
    }
}

pub(crate) fn import_clouds(
    project: &mut Project,
    path: &Path,
    dataset: &str,
    options: &ImportOptions,
    progress: ProgressFn<'_>,
) -> Result<ImportReport, ImportError> {
    let forced = match options.format {
        Some(Format::Cloud(f)) => Some(f),
        Some(other) => {
            return Err(ImportError::File { path: path.to_owned(), message: format!("--format {} is not a point-cloud format", other.name()) });
        }
        None => None,
    };
    let frames = collect_frames(path)?;
    let mut report = ImportReport::new(path, forced.map_or("point-cloud", |f| Format::Cloud(f).name()), dataset);
    // Inspect every file before the transaction starts: a bad file stops the import with nothing stored.
    let mut ready = Vec::new();
    let total = frames.len() as u64;
    for (done, (sequence, index, file)) in frames.into_iter().enumerate() {
        match inspect_cloud(&file, forced) {
            Ok(found) => ready.push((sequence, index, file, found)),
            Err(e) if options.skip_invalid && !matches!(e, ImportError::Store(_)) => {
                report.skipped.push(Skipped { location: file.display().to_string(), reason: e.to_string() });
            }
            Err(e) => return Err(e),
        }
        progress(done as u64 + 1, total);
    }
    let stored: Vec<String> = ready.iter().map(|(_, _, file, _)| stored_path(project, file)).collect();
    project.bulk_import(|bulk| {
        let ds = bulk.ensure_dataset(dataset, Modality::PointCloud)?;
        for ((sequence, index, file, found), stored) in ready.into_iter().zip(stored) {
            report.records += 1;
            let key = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let data = ItemData::Frame(Frame {
                sequence,
                index,
                source: SourceFile { path: stored, byte_len: found.byte_len, summary: found.summary },
            });
            match bulk.insert_item(ds, &key, found.content_hash, &data)? {
                cairn_store::Inserted::New(_) => report.added += 1,
                cairn_store::Inserted::Existing(_) => report.already_present += 1,
            }
        }
        Ok::<_, ImportError>(())
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn natural_order_sorts_numbers_by_value() {
        let mut names = vec!["f10.pcd", "f2.pcd", "f1.pcd", "f02.pcd", "a.pcd"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a.pcd", "f1.pcd", "f2.pcd", "f02.pcd", "f10.pcd"]);
    }
}
