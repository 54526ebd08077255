//! KITTI labels from LiDAR cuboids.
//!
//! - `variant=object`: KITTI object `label_2`, one file per frame, `label_2/{index:06}.txt`
//!   (`label_2/{sequence}/{index:06}.txt` when the export spans several sequences). Every frame gets
//!   a file, an empty one when it has no boxes.
//! - `variant=tracking`: KITTI tracking `label_02/{sequence number:04}.txt`, numbered by first
//!   appearance, each line prefixed with `frame track_id` (-1 without a track).
//!
//! A line is `type truncated occluded alpha left top right bottom h w l x y z rotation_y`. KITTI wants
//! the bottom centre of the box in rectified camera coordinates (x right, y down, z forward) and the
//! heading as `rotation_y` about camera y. The LiDAR frame (x forward, y left, z up) gets there through
//! the `calib` option's `Tr_velo_to_cam` and `R0_rect`, or, without one, through the usual axis swap
//! (x_cam = -y, y_cam = -z, z_cam = x, so `rotation_y = -(yaw + π/2)`). There is no image, so the 2D
//! box is zeros; pitch and roll have no place in KITTI and are dropped.

use cairn_plugin_sdk::frames::{Sequences, frame_of, path_segment};
use cairn_plugin_sdk::prelude::*;
use std::f64::consts::PI;
use std::fmt::Write as _;

pub struct KittiLabel;

impl Exporter for KittiLabel {
    fn describe() -> ExporterInfo {
        ExporterInfo::new("kitti-label", "KITTI labels", &["cuboid"])
            .describe(
                "KITTI object label_2 files (one per frame) or tracking label_02 files (one per sequence), boxes in rectified camera coordinates.",
            )
            .option(OptionSpec::choice(
                "variant",
                "object: label_2, a file per frame; tracking: label_02, a file per sequence with frame and track id on each line",
                &["object", "tracking"],
            ))
            .option(OptionSpec::text(
                "calib",
                "the text of a KITTI calib file (Tr_velo_to_cam, R0_rect); without it the LiDAR axes are swapped into camera axes",
                None,
            ))
    }

    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let tracking = match options.value("variant") {
            "object" => false,
            "tracking" => true,
            other => return Err(format!("option variant: unknown value {other:?} (object, tracking)")),
        };
        let calibration = options.get("calib").map(Calibration::parse).transpose()?;
        let mut export = Export {
            tracking,
            calibration: calibration.unwrap_or(Calibration::AXES),
            files: Files { tracking, sequences: Sequences::default(), held: (!tracking).then(Vec::new), written: 0 },
            summary: Summary::default(),
            tilted: 0,
        };
        for record in records {
            let record = record?;
            export.record(&record, out).map_err(|e| format!("item {}: {e}", record.key))?;
        }
        export.files.finish(out)?;
        let mut summary = export.summary;
        summary.notes.push(format!("{} label files", export.files.written));
        if calibration.is_none() {
            summary.notes.push("no calib given: LiDAR axes swapped into camera axes (x = -y, y = -z, z = x)".into());
        }
        if export.tilted > 0 {
            summary.notes.push(format!("{} boxes had pitch or roll, which KITTI cannot hold; only yaw was kept", export.tilted));
        }
        Ok(summary)
    }
}

/// One run's settings, output and counts.
struct Export {
    tracking: bool,
    calibration: Calibration,
    files: Files,
    summary: Summary,
    /// Boxes with pitch or roll, which KITTI drops.
    tilted: u64,
}

impl Export {
    /// Writes the labels of one frame.
    fn record(&mut self, record: &ExportRecord, out: &mut Output) -> Result<(), String> {
        let (frame, sequence) = frame_of(record)?;
        let mut text = String::new();
        for annotation in &record.annotations {
            let Payload::Cuboid(cuboid) = &annotation.payload else {
                self.summary.skipped += 1;
                continue;
            };
            if self.tracking {
                // Writing to a String cannot fail.
                let _ = match cuboid.track_id {
                    Some(track) => write!(text, "{} {track} ", frame.index),
                    None => write!(text, "{} -1 ", frame.index),
                };
            }
            write_label(&mut text, cuboid, &self.calibration)?;
            self.summary.written += 1;
            if cuboid.pitch != 0.0 || cuboid.roll != 0.0 {
                self.tilted += 1;
            }
        }
        self.files.add(out, sequence, frame.index, text)
    }
}

/// LiDAR to rectified camera coordinates: `p_cam = rotation · p + translation`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Calibration {
    rotation: [[f64; 3]; 3],
    translation: [f64; 3],
}

impl Calibration {
    /// The convention used without calibration: x_cam = -y, y_cam = -z, z_cam = x.
    const AXES: Calibration = Calibration { rotation: [[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], translation: [0.0; 3] };

    /// Reads `Tr_velo_to_cam` (3×4, row-major) and `R0_rect` (3×3, identity when missing) from a KITTI
    /// calib file, giving `R0_rect · Tr_velo_to_cam`. The tracking set's spellings `Tr_velo_cam` and
    /// `R_rect` are accepted; other lines (P0..P3, Tr_imu_to_velo) are ignored.
    fn parse(text: &str) -> Result<Calibration, String> {
        let mut velo: Option<[f64; 12]> = None;
        let mut rect = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            let (key, values) = line.split_once(|c: char| c == ':' || c.is_whitespace()).unwrap_or((line, ""));
            let at_line = |e: String| format!("option calib, line {} ({key}): {e}", number + 1);
            match key {
                "Tr_velo_to_cam" | "Tr_velo_cam" => velo = Some(numbers(values).map_err(at_line)?),
                "R0_rect" | "R_rect" => rect = numbers(values).map_err(at_line)?,
                _ => {}
            }
        }
        let velo = velo.ok_or("option calib: no Tr_velo_to_cam line")?;
        let r0 = |i: usize, j: usize| rect[3 * i + j];
        let tr = |i: usize, j: usize| velo[4 * i + j];
        let mut calibration = Calibration { rotation: [[0.0; 3]; 3], translation: [0.0; 3] };
        for i in 0..3 {
            for j in 0..3 {
                calibration.rotation[i][j] = (0..3).map(|k| r0(i, k) * tr(k, j)).sum();
            }
            calibration.translation[i] = (0..3).map(|k| r0(i, k) * tr(k, 3)).sum();
        }
        Ok(calibration)
    }

    fn direction(&self, v: [f64; 3]) -> [f64; 3] {
        self.rotation.map(|row| row[0] * v[0] + row[1] * v[1] + row[2] * v[2])
    }

    fn point(&self, p: [f64; 3]) -> [f64; 3] {
        let d = self.direction(p);
        [d[0] + self.translation[0], d[1] + self.translation[1], d[2] + self.translation[2]]
    }
}

/// Exactly `N` whitespace-separated finite numbers.
fn numbers<const N: usize>(values: &str) -> Result<[f64; N], String> {
    let parsed = values
        .split_whitespace()
        .map(|v| v.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| format!("{v:?} is not a number")))
        .collect::<Result<Vec<f64>, String>>()?;
    let found = parsed.len();
    parsed.try_into().map_err(|_| format!("expected {N} numbers, found {found}"))
}

/// Appends one label line (without the tracking prefix). Box numbers are finite: records arrive as JSON,
/// which cannot hold NaN or infinity.
fn write_label(text: &mut String, cuboid: &Cuboid, calibration: &Calibration) -> Result<(), String> {
    let [length, width, height] = cuboid.size;
    let [cx, cy, cz] = cuboid.center;
    let [x, y, z] = calibration.point([cx, cy, cz - height / 2.0]);
    let heading = calibration.direction([cuboid.yaw.cos(), cuboid.yaw.sin(), 0.0]);
    let rotation_y = wrap(f64::atan2(-heading[2], heading[0]));
    let alpha = wrap(rotation_y - f64::atan2(x, z));
    let truncated = number_attribute(cuboid, "truncated")?.unwrap_or(0.0);
    // KITTI's levels: 0 fully visible, 1 partly occluded, 2 largely occluded, 3 unknown.
    let occluded = number_attribute(cuboid, "occluded")?.map_or(0, |n| n.round().clamp(0.0, 3.0) as u8);
    // Writing to a String cannot fail.
    let _ = writeln!(
        text,
        "{} {} {occluded} {} 0.00 0.00 0.00 0.00 {} {} {} {} {} {} {}",
        kitti_type(&cuboid.class)?,
        Fixed(truncated),
        Fixed(alpha),
        Fixed(height),
        Fixed(width),
        Fixed(length),
        Fixed(x),
        Fixed(y),
        Fixed(z),
        Fixed(rotation_y),
    );
    Ok(())
}

/// An angle in [-π, π].
fn wrap(angle: f64) -> f64 {
    (angle + PI).rem_euclid(2.0 * PI) - PI
}

/// A boolean (1 or 0) or numeric attribute, or text holding a number (choice attributes).
fn number_attribute(cuboid: &Cuboid, name: &str) -> Result<Option<f64>, String> {
    let value = match cuboid.attributes.get(name) {
        None => return Ok(None),
        Some(AttributeValue::Bool(b)) => f64::from(u8::from(*b)),
        Some(AttributeValue::Number(n)) => *n,
        Some(AttributeValue::Text(t)) => t.trim().parse().unwrap_or(f64::NAN),
    };
    if value.is_finite() {
        Ok(Some(value))
    } else {
        Err(format!("attribute {name}: expected a boolean or a number, got {:?}", cuboid.attributes[name]))
    }
}

/// KITTI's spelling of a class id; other classes get a capital first letter. Whitespace becomes `_`
/// because a label line is space-separated.
fn kitti_type(class: &str) -> Result<String, String> {
    const NAMES: [(&str, &str); 9] = [
        ("car", "Car"),
        ("van", "Van"),
        ("truck", "Truck"),
        ("pedestrian", "Pedestrian"),
        ("person_sitting", "Person_sitting"),
        ("cyclist", "Cyclist"),
        ("tram", "Tram"),
        ("misc", "Misc"),
        ("dontcare", "DontCare"),
    ];
    if let Some((_, name)) = NAMES.iter().find(|(id, _)| id.eq_ignore_ascii_case(class)) {
        return Ok(name.to_string());
    }
    let mut chars = class.trim().chars().map(|c| if c.is_whitespace() { '_' } else { c });
    let first = chars.next().ok_or("a box has an empty class")?;
    Ok(first.to_uppercase().chain(chars).collect())
}

/// A number with two decimals, as KITTI writes them; tiny negatives print as 0.00, not -0.00.
struct Fixed(f64);

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{:.2}", self.0);
        f.write_str(if text == "-0.00" { "0.00" } else { &text })
    }
}

/// Label files as they are written.
struct Files {
    tracking: bool,
    sequences: Sequences,
    /// Object labels of the first sequence, (frame index, text), held until a second sequence shows
    /// whether each sequence needs a folder; None once one has.
    held: Option<Vec<(u32, String)>>,
    written: u64,
}

impl Files {
    fn add(&mut self, out: &mut Output, sequence: &str, index: u32, text: String) -> Result<(), String> {
        let new = self.sequences.enter(sequence, index)?;
        if self.tracking {
            if new {
                self.create(out, &format!("label_02/{:04}.txt", self.sequences.count() - 1))?;
            }
            return out.write_all(text.as_bytes()).map_err(|e| e.to_string());
        }
        if new && self.sequences.count() == 2 {
            let first = path_segment(&self.sequences.first);
            for (index, held) in self.held.take().unwrap_or_default() {
                self.file(out, &format!("label_2/{first}/{index:06}.txt"), &held)?;
            }
        }
        match &mut self.held {
            Some(held) => held.push((index, text)),
            None => self.file(out, &format!("label_2/{}/{index:06}.txt", path_segment(sequence)), &text)?,
        }
        Ok(())
    }

    /// Writes what is still held: a single sequence, whose files need no folder.
    fn finish(&mut self, out: &mut Output) -> Result<(), String> {
        for (index, text) in self.held.take().unwrap_or_default() {
            self.file(out, &format!("label_2/{index:06}.txt"), &text)?;
        }
        Ok(())
    }

    fn create(&mut self, out: &mut Output, path: &str) -> Result<(), String> {
        out.create(path).map_err(|e| format!("{path}: {e}"))?;
        self.written += 1;
        Ok(())
    }

    fn file(&mut self, out: &mut Output, path: &str, text: &str) -> Result<(), String> {
        self.create(out, path)?;
        out.write_all(text.as_bytes()).map_err(|e| format!("{path}: {e}"))
    }
}

#[cfg(test)]
mod tests;

// Only the WebAssembly build exports: natively, the linker rejects the component's export names
// (`cairn:plugin/exporter@1.0.0#…`) in the cdylib that `cargo test` also builds.
export_exporter!(KittiLabel);
