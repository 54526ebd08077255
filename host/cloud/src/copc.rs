//! COPC region and level-of-detail reads: only the octree nodes a view needs are decompressed,
//! through the `las` crate's COPC reader (whole-file reads go through `las::read`, like any LAZ).

use crate::cloud::{CloudInfo, ColumnSet, ColumnsBuilder, PointCloud, choose_origin};
use crate::{Aabb, las};
use cairn_model::CloudFormat;
use std::io::Cursor;

/// What to read from a COPC file.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CopcQuery {
    /// Octree levels `0..=max_level` (all when `None`): level 0 is a coarse overview of the whole file.
    pub max_level: Option<u32>,
    /// Only points inside these bounds, in file coordinates (everywhere when `None`).
    pub within: Option<Aabb<f64>>,
}

/// Reads part of a COPC file held in memory into columns.
pub fn read_region(bytes: &[u8], query: &CopcQuery) -> Result<PointCloud, String> {
    let raw = las::raw_header(Cursor::new(bytes))?;
    las::layout(&raw, bytes.len() as u64)?;
    las::check_evlrs(&mut Cursor::new(bytes), &raw, bytes.len() as u64)?;
    let mut reader = ::las::CopcReader::new(Cursor::new(bytes)).map_err(|e| format!("not a COPC file: {e}"))?;
    let levels = match query.max_level {
        None => ::las::LodSelection::All,
        Some(max) => ::las::LodSelection::LevelMinMax(0, max as i32 + 1),
    };
    let bounds = match query.within {
        None => ::las::BoundsSelection::All,
        Some(b) => ::las::BoundsSelection::Within(::las::Bounds {
            min: ::las::Vector { x: b.min[0], y: b.min[1], z: b.min[2] },
            max: ::las::Vector { x: b.max[0], y: b.max[1], z: b.max[2] },
        }),
    };
    let data = reader.query(levels, bounds).map_err(|e| format!("COPC query failed: {e}"))?;
    let header = reader.header();
    let hb = header.bounds();
    let origin = choose_origin([hb.min.x, hb.min.y, hb.min.z], [hb.max.x, hb.max.y, hb.max.z]);
    let rgb = data.rgb().is_some();
    let gps = data.gps_time().is_some();
    let columns = ColumnSet { intensity: true, classification: true, return_number: true, rgb, gps_time: gps };
    // Coordinates of integer records with a checked scale are finite: no point is dropped, so the
    // attribute columns below line up with the positions.
    let mut out = ColumnsBuilder::new(origin, data.len(), columns);
    for (i, ((x, y), z)) in data.x().zip(data.y()).zip(data.z()).enumerate() {
        out.push_world(i as u64, [x, y, z]);
    }
    let mut cloud = out.finish();
    cloud.intensity = Some(data.intensity().collect());
    cloud.classification = Some(data.classification().collect());
    cloud.return_number = Some(data.return_number().collect());
    cloud.rgb = data.rgb().map(|c| c.map(|(r, g, b)| [r, g, b]).collect());
    cloud.gps_time = data.gps_time().map(Iterator::collect);
    let version = header.version();
    cloud.info = CloudInfo {
        format: Some(CloudFormat::Laz),
        version: Some(format!("{}.{}", version.major, version.minor)),
        encoding: header.point_format().to_u8().ok().map(|f| format!("point format {f} (COPC)")),
        declared_points: header.number_of_points(),
        fields: las::field_names(header.point_format().to_u8().unwrap_or(6), usize::from(header.point_format().extra_bytes)),
        crs: las::crs_of(header),
    };
    Ok(cloud)
}
