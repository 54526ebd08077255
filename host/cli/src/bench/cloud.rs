//! `cairn bench cloud`: point-cloud reading, octree building and auto-fit, on a file of 10 M+
//! points made by tiling the bundled real scan, with the `las` / `laz` crates measured beside them.

use super::{Figure, best_ms, rate, scratch_dir};
use anyhow::{Context, Result};
use cairn_cloud::fit::{FitOptions, auto_fit};
use cairn_cloud::octree::Octree;
use cairn_cloud::spatial::{OrientedBox, points_in_box};
use cairn_model::CloudFormat;
use std::path::{Path, PathBuf};

const SCAN: &[u8] = include_bytes!("../../../../assets/demo/scans/32-1-472-150-76.laz");

pub fn run(points: u64, dir: Option<PathBuf>) -> Result<()> {
    let scratch = scratch_dir(dir.as_deref())?;
    let root = scratch.path();
    let las_path = root.join("tiled.las");
    let laz_path = root.join("tiled.laz");
    eprintln!("tiling the demo scan to {points} points (LAS and LAZ) …");
    let n = write_tiled(&las_path, points, false)?;
    write_tiled(&laz_path, points, true)?;
    let mut figures = Vec::new();

    // Uncompressed LAS: our columns against `las::Reader` producing `las::Point`s.
    let ours = rate(n, || cairn_cloud::read_cloud(&las_path, Some(CloudFormat::Las)))?;
    let theirs = rate(n, || las_points(&las_path))?;
    figures.push(Figure::higher_better("LAS read into columns", ours / 1e6, "M pts/s", 60.0, "las::Reader into las::Point", theirs / 1e6));

    // LAZ on one thread and on all, against the `laz` crate decompressing on one thread.
    let bytes = std::fs::read(&laz_path)?;
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let ours_one = rate(n, || one.install(|| cairn_cloud::read_bytes(&bytes, CloudFormat::Laz)).map_err(anyhow::Error::msg))?;
    let ours_all = rate(n, || cairn_cloud::read_bytes(&bytes, CloudFormat::Laz).map_err(anyhow::Error::msg))?;
    let laz_one = rate(n, || laz_decompress(&bytes))?;
    figures.push(Figure::higher_better(
        "LAZ read, 1 thread",
        ours_one / 1e6,
        "M pts/s",
        laz_one / 1e6,
        "laz::LasZipDecompressor, 1 thread",
        laz_one / 1e6,
    ));
    let threads = rayon::current_num_threads();
    figures.push(Figure::higher_better(
        if threads == 2 { "LAZ read, 2 threads" } else { "LAZ read, all threads" },
        ours_all / 1e6,
        "M pts/s",
        ours_one * threads as f64 * 0.8 / 1e6,
        "ours on 1 thread (goal: 80% of linear scaling)",
        ours_one / 1e6,
    ));

    // Octree, against sorting the same number of 64-bit keys (the core of the build).
    let cloud = cairn_cloud::read_cloud(&las_path, Some(CloudFormat::Las))?;
    let build = rate(n, || Ok::<_, anyhow::Error>(Octree::build(&cloud.positions)))?;
    let sort = rate(n, || {
        let mut keys: Vec<u64> = (0..n).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        keys.sort_unstable();
        Ok::<_, anyhow::Error>(keys)
    })?;
    figures.push(Figure::higher_better("octree build", build / 1e6, "M pts/s", 10.0, "sort of as many u64 keys, 1 thread", sort / 1e6));

    // Auto-fit on a 100k-point neighbourhood, against one scan of those points. An airborne scan
    // is far too sparse for 100k points around one object, so the neighbourhood is a synthetic
    // street-level one: a car standing on ground.
    let (neighbourhood, rough) = car_on_ground(100_000);
    let fit_ms = best_ms(5, || auto_fit(&neighbourhood, &rough, &FitOptions::default()));
    let scan_ms = best_ms(5, || points_in_box(&neighbourhood, &rough));
    figures.push(Figure::lower_better("auto-fit, 100k-point neighbourhood", fit_ms, "ms", 5.0, "points_in_box over the same points", scan_ms));

    super::print(&format!("cloud: {n} points"), &figures);
    Ok(())
}

/// The demo scan repeated on a grid, shifted by its own extent, until `target` points.
pub(super) fn write_tiled(path: &Path, target: u64, compressed: bool) -> Result<u64> {
    let mut reader = las::Reader::new(std::io::Cursor::new(SCAN.to_vec()))?;
    let tile: Vec<las::Point> = reader.read_all()?.points().collect::<Result<_, _>>()?;
    let header = reader.header();
    let b = header.bounds();
    let (w, h) = (b.max.x - b.min.x + 1.0, b.max.y - b.min.y + 1.0);
    let mut builder = las::Builder::from(header.version());
    builder.point_format = *header.point_format();
    builder.point_format.is_compressed = compressed;
    builder.transforms = *header.transforms();
    let mut writer = las::Writer::from_path(path, builder.into_header()?).with_context(|| format!("writing {}", path.display()))?;
    let copies = target.div_ceil(tile.len() as u64);
    let side = (copies as f64).sqrt().ceil() as u64;
    let mut written = 0;
    for c in 0..copies {
        let (dx, dy) = ((c % side) as f64 * w, (c / side) as f64 * h);
        for p in &tile {
            let mut q = p.clone();
            q.x += dx;
            q.y += dy;
            writer.write_point(q)?;
            written += 1;
        }
    }
    writer.close()?;
    Ok(written)
}

fn las_points(path: &Path) -> Result<()> {
    let mut reader = las::Reader::from_path(path)?;
    let mut n = 0u64;
    loop {
        let data = reader.read_points(100_000)?;
        if data.is_empty() {
            break;
        }
        for p in data.points() {
            std::hint::black_box(p?);
            n += 1;
        }
    }
    anyhow::ensure!(n > 0);
    Ok(())
}

fn laz_decompress(bytes: &[u8]) -> Result<()> {
    let header = las::Header::new(std::io::Cursor::new(bytes))?;
    let raw = las::raw::Header::read_from(std::io::Cursor::new(bytes))?;
    let vlr = header.laz_vlr()?;
    let mut src = std::io::Cursor::new(bytes);
    src.set_position(u64::from(raw.offset_to_point_data));
    let mut decoder = laz::LasZipDecompressor::new(src, vlr.clone())?;
    let mut out = vec![0u8; header.number_of_points() as usize * vlr.items_size() as usize];
    decoder.decompress_many(&mut out)?;
    std::hint::black_box(out);
    Ok(())
}

/// `n` points: a 4.5 × 1.9 × 1.5 m car, 0.25 m off the ground, on 30 × 30 m of ground, and a
/// rough box around the car that is off by half a metre and 10°.
fn car_on_ground(n: usize) -> (Vec<[f32; 3]>, OrientedBox) {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    let (yaw, cx, cy) = (0.6f32, 3.0f32, -2.0f32);
    let (c, si) = (yaw.cos(), yaw.sin());
    let mut pts = Vec::with_capacity(n);
    for i in 0..n {
        if i % 2 == 0 {
            pts.push([next() * 30.0 - 15.0, next() * 30.0 - 15.0, (next() - 0.5) * 0.02]);
        } else {
            // A point on one of the car's faces, in the car's frame, then rotated into place.
            let (u, v) = (next() - 0.5, next());
            let (lx, ly, lz) = match i % 6 {
                1 => (u * 4.5, -0.95, 0.25 + v * 1.5),
                3 => (-2.25, u * 1.9, 0.25 + v * 1.5),
                _ => (u * 4.5, (v - 0.5) * 1.9, 1.75),
            };
            pts.push([cx + lx * c - ly * si, cy + lx * si + ly * c, lz]);
        }
    }
    let rough = OrientedBox { center: [cx as f64 + 0.5, cy as f64 - 0.3, 1.0], size: [5.0, 2.5, 2.0], yaw: yaw as f64 + 0.17 };
    (pts, rough)
}
