//! `cairn cloud info`: what a cloud file holds, and how fast it decodes.

use anyhow::{Result, bail};
use cairn_import::Format;
use std::path::Path;
use std::time::Instant;

pub fn run(file: &Path, format: Option<Format>, bin: Option<cairn_cloud::BinLayout>, json: bool) -> Result<()> {
    let format = match format {
        None => None,
        Some(Format::Cloud(f)) => Some(f),
        Some(other) => bail!("--format {} is not a point-cloud format", other.name()),
    };
    let inspection = cairn_cloud::inspect(file, format, bin)?;
    let start = Instant::now();
    let cloud = cairn_cloud::read_cloud_as(file, format, bin)?;
    let seconds = start.elapsed().as_secs_f64();
    let s = &inspection.summary;
    let rate = cloud.len() as f64 / seconds / 1e6;
    if json {
        let value = serde_json::json!({
            "file": file,
            "summary": s,
            "crs": inspection.crs,
            "points_read": cloud.len(),
            "dropped_non_finite": cloud.dropped_non_finite,
            "origin": cloud.origin,
            "columns": cloud.columns(),
            "decode_seconds": seconds,
            "decode_million_points_per_second": rate,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("{}", file.display());
    println!("  format        {}{}", s.format.as_str(), s.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default());
    if let Some(e) = &s.encoding {
        println!("  encoding      {e}");
    }
    println!("  points        {} declared, {} read, {} dropped (non-finite)", s.point_count, cloud.len(), cloud.dropped_non_finite);
    if let Some(b) = &s.bounds {
        println!("  bounds        x {:.3} .. {:.3}", b.min[0], b.max[0]);
        println!("                y {:.3} .. {:.3}", b.min[1], b.max[1]);
        println!("                z {:.3} .. {:.3}", b.min[2], b.max[2]);
    }
    println!("  fields        {}", s.fields.join(" "));
    println!("  columns       {}", cloud.columns().join(" "));
    println!("  origin        {:.3} {:.3} {:.3} (positions are f32 offsets from it)", cloud.origin[0], cloud.origin[1], cloud.origin[2]);
    println!("  crs           {}", inspection.crs.as_deref().unwrap_or("none declared"));
    println!("  decode        {:.1} ms, {rate:.1} M points/s", seconds * 1e3);
    Ok(())
}
