//! Point clouds for Cairn, with no rendering in it: readers that decode LAS/LAZ/COPC, PCD, KITTI
//! `.bin` and PLY straight into columns (f32 positions around an f64 origin), a level-of-detail
//! octree, spatial queries, and the geometry behind box annotation (ground, auto-fit).

pub mod cloud;
pub mod copc;
mod error;
pub mod fit;
pub mod ground;
mod inspect;
pub mod kitti;
pub mod las;
pub mod octree;
pub mod pcd;
pub mod ply;
pub mod spatial;

pub use cloud::{Aabb, CloudInfo, ColumnSet, ColumnsBuilder, PointCloud, choose_origin};
pub use error::CloudError;
pub use inspect::{CloudInspection, inspect};
pub use kitti::BinLayout;

use cairn_model::{CloudFormat, CloudSummary};
use std::path::Path;

/// The format a path names by its extension.
pub fn format_of(path: &Path) -> Option<CloudFormat> {
    path.extension().and_then(|e| CloudFormat::from_extension(&e.to_string_lossy()))
}

/// Reads a whole cloud. The format comes from the extension unless given, and a `.bin` scan's layout
/// from its name (see [`BinLayout::of_path`]).
pub fn read_cloud(path: &Path, format: Option<CloudFormat>) -> Result<PointCloud, CloudError> {
    read_cloud_as(path, format, None)
}

/// Reads a frame the way its import recorded it: the format and, for `.bin` scans, the layout its
/// summary holds (a stated layout is not one the name would give).
pub fn read_frame(path: &Path, summary: &CloudSummary) -> Result<PointCloud, CloudError> {
    let bin = (summary.format == CloudFormat::KittiBin).then(|| BinLayout::from_fields(&summary.fields, path));
    read_cloud_as(path, Some(summary.format), bin)
}

/// [`read_cloud`] with a stated `.bin` layout.
pub fn read_cloud_as(path: &Path, format: Option<CloudFormat>, bin: Option<BinLayout>) -> Result<PointCloud, CloudError> {
    let format = format.or_else(|| format_of(path)).ok_or_else(|| CloudError::new(path, "not a point-cloud extension (.las .laz .pcd .bin .ply)"))?;
    let bin = bin.unwrap_or_else(|| BinLayout::of_path(path));
    let file = std::fs::File::open(path).map_err(|e| CloudError::new(path, e.to_string()))?;
    // SAFETY: the map is only read, and only for this call; a file truncated meanwhile by another
    // process would fault, as with any reader of a file being rewritten under it.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| CloudError::new(path, e.to_string()))?;
    read_bytes_as(&map, format, bin).map_err(|message| CloudError::new(path, message))
}

/// Reads about `max_points` points spread over a LAS/LAZ file (see [`las::read_preview`]), for a
/// first picture before the whole file is decoded. `None` for other formats and for files that
/// hold no more than that.
pub fn read_preview(path: &Path, max_points: usize) -> Result<Option<PointCloud>, CloudError> {
    if !matches!(format_of(path), Some(CloudFormat::Las | CloudFormat::Laz)) {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| CloudError::new(path, e.to_string()))?;
    // SAFETY: as in `read_cloud`.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| CloudError::new(path, e.to_string()))?;
    let raw = las::raw_header(&map[..]).map_err(|message| CloudError::new(path, message))?;
    if las::point_count(&raw) as usize <= max_points {
        return Ok(None);
    }
    las::read_preview(&map, max_points).map(Some).map_err(|message| CloudError::new(path, message))
}

/// Reads a cloud held in memory (what the fuzz targets drive); `.bin` data as KITTI's.
pub fn read_bytes(bytes: &[u8], format: CloudFormat) -> Result<PointCloud, String> {
    read_bytes_as(bytes, format, BinLayout::Kitti)
}

/// [`read_bytes`] with the layout of `.bin` data.
pub fn read_bytes_as(bytes: &[u8], format: CloudFormat, bin: BinLayout) -> Result<PointCloud, String> {
    match format {
        CloudFormat::Las | CloudFormat::Laz => las::read(bytes),
        CloudFormat::Pcd => pcd::read(bytes),
        CloudFormat::KittiBin => kitti::read(bytes, bin),
        CloudFormat::Ply => ply::read(bytes),
    }
}
