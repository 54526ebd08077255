//! What `cairn import` records about a cloud file: a summary checked against the file, and a hash.
//! LAS/LAZ are summarized from the header (and the LAZ chunk table) without decoding points; the
//! other formats have little or no header, so they are read in full.

use crate::{BinLayout, CloudError, format_of, las, read_bytes_as};
use cairn_model::{Bounds, CloudFormat, CloudSummary, ContentHash};
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct CloudInspection {
    pub summary: CloudSummary,
    pub content_hash: ContentHash,
    pub byte_len: u64,
    /// Coordinate reference system, when the file declares one.
    pub crs: Option<String>,
}

/// `format` and `bin` (a `.bin` scan's layout) come from the file's name unless given.
pub fn inspect(path: &Path, format: Option<CloudFormat>, bin: Option<BinLayout>) -> Result<CloudInspection, CloudError> {
    let fail = |message: String| CloudError::new(path, message);
    let format = format.or_else(|| format_of(path)).ok_or_else(|| fail("not a point-cloud extension (.las .laz .pcd .bin .ply)".into()))?;
    let mut file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let byte_len = file.metadata().map_err(|e| fail(e.to_string()))?.len();
    let (summary, crs) = match format {
        CloudFormat::Las | CloudFormat::Laz => las_summary(&mut file, byte_len).map_err(fail)?,
        other => {
            let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
            let cloud = read_bytes_as(&bytes, other, bin.unwrap_or_else(|| BinLayout::of_path(path))).map_err(fail)?;
            let bounds = cloud.local_bounds().map(|b| Bounds {
                min: std::array::from_fn(|k| cloud.origin[k] + b.min[k] as f64),
                max: std::array::from_fn(|k| cloud.origin[k] + b.max[k] as f64),
            });
            let info = cloud.info;
            let summary = CloudSummary {
                format: other,
                version: info.version,
                encoding: info.encoding,
                point_count: info.declared_points,
                bounds,
                fields: info.fields,
            };
            (summary, info.crs)
        }
    };
    file.seek(SeekFrom::Start(0)).map_err(|e| fail(e.to_string()))?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(&mut file).map_err(|e| fail(e.to_string()))?;
    Ok(CloudInspection { summary, content_hash: ContentHash::from_digest(hasher.finalize().as_bytes()), byte_len, crs })
}

fn las_summary(file: &mut File, byte_len: u64) -> Result<(CloudSummary, Option<String>), String> {
    let raw = las::raw_header(BufReader::new(&mut *file))?;
    let layout = las::layout(&raw, byte_len)?;
    las::check_evlrs(&mut BufReader::new(&mut *file), &raw, byte_len)?;
    let version = raw.version;
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let header = ::las::Header::new(BufReader::new(&mut *file)).map_err(|e| format!("bad LAS header: {e}"))?;
    if layout.compressed {
        let vlr = header.laz_vlr().map_err(|e| format!("bad LAZ header: {e}"))?;
        las::laz_chunks(&mut BufReader::new(&mut *file), &vlr, &layout, byte_len)?;
    }
    let b = header.bounds();
    let extra = usize::from(header.point_format().extra_bytes);
    let summary = CloudSummary {
        format: if layout.compressed { CloudFormat::Laz } else { CloudFormat::Las },
        version: Some(format!("{}.{}", version.major, version.minor)),
        encoding: Some(format!("point format {}", layout.format)),
        point_count: layout.points,
        bounds: Some(Bounds { min: [b.min.x, b.min.y, b.min.z], max: [b.max.x, b.max.y, b.max.z] }),
        fields: las::field_names(layout.format, extra),
    };
    Ok((summary, las::crs_of(&header)))
}
