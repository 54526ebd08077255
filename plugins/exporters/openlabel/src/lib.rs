//! ASAM OpenLABEL 1.0.0 JSON from LiDAR cuboids.
//!
//! One document, `openlabel.json`, or one per sequence, `openlabel/{sequence}.json`, when the export
//! spans several. Frames are keyed by their index; each box is a `cuboid` in the `lidar` coordinate
//! system with `val = [x, y, z, qx, qy, qz, qw, length, width, height]`, the centre exactly as stored
//! (georeferenced coordinates survive) and the rotation as a quaternion from yaw, pitch and roll.
//! Objects are tracks: one object per `track_id` within a sequence, and one per box without a track.
//!
//! Frames are written as records arrive; only the object table (class and frame intervals per object)
//! stays in memory and is written after the frames. JSON key order is free, so `objects` follows
//! `frames` inside the root. Until a second sequence appears the frames of the first are held back,
//! because only then is it known whether they go to `openlabel.json`.

use cairn_plugin_sdk::frames::{Sequences, frame_of, path_segment};
use cairn_plugin_sdk::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

pub struct OpenLabel;

impl Exporter for OpenLabel {
    fn describe() -> ExporterInfo {
        ExporterInfo::new("openlabel", "ASAM OpenLABEL", &["cuboid"]).describe(
            "ASAM OpenLABEL 1.0.0 JSON: 3D boxes per frame in the LiDAR frame, one object per track; one file per sequence when there are several.",
        )
    }

    fn run(_options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let mut export = Export {
            sequences: Sequences::default(),
            document: None,
            held: Some(Vec::new()),
            summary: Summary::default(),
            files: 0,
            objects: 0,
            reclassified: 0,
        };
        for record in records {
            let record = record?;
            export.record(&record, out).map_err(|e| format!("item {}: {e}", record.key))?;
        }
        export.finish(out)?;
        let mut summary = export.summary;
        summary.notes.push(format!("{} objects in {} files", export.objects, export.files));
        if export.reclassified > 0 {
            summary.notes.push(format!("{} boxes have a class other than their track's first; objects keep the first", export.reclassified));
        }
        Ok(summary)
    }
}

/// Everything before the first frame of a document.
const HEAD: &str = r#"{"openlabel":{"metadata":{"schema_version":"1.0.0"},"coordinate_systems":{"lidar":{"type":"sensor_cs","parent":"","children":[]}},"streams":{"lidar":{"type":"lidar"}},"frames":{"#;

/// One run's output state and counts.
struct Export {
    sequences: Sequences,
    /// The document of the current sequence.
    document: Option<Document>,
    /// Frames of the first sequence, held until a second sequence shows whether each sequence needs a
    /// file of its own; None once one has.
    held: Option<Vec<u8>>,
    summary: Summary,
    files: u64,
    objects: u64,
    /// Boxes whose class differs from the first class of their track.
    reclassified: u64,
}

impl Export {
    fn record(&mut self, record: &ExportRecord, out: &mut Output) -> Result<(), String> {
        let (frame, sequence) = frame_of(record)?;
        if self.sequences.enter(sequence, frame.index)? {
            if let Some(previous) = self.document.take() {
                if let Some(frames) = self.held.take() {
                    let path = format!("openlabel/{}.json", path_segment(&self.sequences.first));
                    self.start(out, &path, &frames)?;
                }
                self.end(out, previous)?;
            }
            if self.held.is_none() {
                self.start(out, &format!("openlabel/{}.json", path_segment(sequence)), &[])?;
            }
            self.document = Some(Document::default());
        }
        let document = self.document.as_mut().expect("a document is open once a frame is placed");
        let text = document.frame(frame, record, &mut self.summary, &mut self.reclassified)?;
        match &mut self.held {
            Some(held) => held.extend_from_slice(&text),
            None => out.write_all(&text).map_err(|e| e.to_string())?,
        }
        Ok(())
    }

    /// Closes the last document; with at most one sequence, that is `openlabel.json`.
    fn finish(&mut self, out: &mut Output) -> Result<(), String> {
        if let Some(frames) = self.held.take() {
            self.start(out, "openlabel.json", &frames)?;
        }
        let last = self.document.take().unwrap_or_default();
        self.end(out, last)
    }

    /// Creates a document's file and writes its head and any frames so far.
    fn start(&mut self, out: &mut Output, path: &str, frames: &[u8]) -> Result<(), String> {
        out.create(path).map_err(|e| format!("{path}: {e}"))?;
        self.files += 1;
        out.write_all(HEAD.as_bytes()).and_then(|_| out.write_all(frames)).map_err(|e| format!("{path}: {e}"))
    }

    /// Closes the frames and writes the object table, which only now is complete.
    fn end(&mut self, out: &mut Output, document: Document) -> Result<(), String> {
        let mut text = Vec::from(&b"\n},\"objects\":{"[..]);
        for (uid, object) in document.objects.iter().enumerate() {
            let intervals: Vec<Value> = object.intervals.iter().map(|[start, end]| json!({"frame_start": start, "frame_end": end})).collect();
            let value = json!({"name": format!("{}-{uid}", object.class), "type": object.class, "frame_intervals": intervals});
            text.extend_from_slice(format!("{}\n\"{uid}\":", if uid == 0 { "" } else { "," }).as_bytes());
            serde_json::to_writer(&mut text, &value).map_err(|e| e.to_string())?;
        }
        text.extend_from_slice(b"\n}}}\n");
        self.objects += document.objects.len() as u64;
        out.write_all(&text).map_err(|e| e.to_string())
    }
}

/// What one sequence's document needs to remember: its objects, in uid order.
#[derive(Default)]
struct Document {
    objects: Vec<Object>,
    /// Object uid per track id.
    tracks: HashMap<u64, usize>,
    frames: u64,
}

struct Object {
    class: String,
    /// Inclusive frame ranges; consecutive frames merge into one.
    intervals: Vec<[u32; 2]>,
}

impl Object {
    /// Notes that the object appears in `frame`; frames arrive in order.
    fn seen_in(&mut self, frame: u32) {
        match self.intervals.last_mut() {
            Some([_, end]) if *end == frame || frame.checked_sub(1) == Some(*end) => *end = frame,
            _ => self.intervals.push([frame, frame]),
        }
    }
}

impl Document {
    /// The JSON text of one frame, `"index":{…}`, with the separator before it.
    fn frame(&mut self, frame: &Frame, record: &ExportRecord, summary: &mut Summary, reclassified: &mut u64) -> Result<Vec<u8>, String> {
        let mut objects: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
        for annotation in &record.annotations {
            let Payload::Cuboid(cuboid) = &annotation.payload else {
                summary.skipped += 1;
                continue;
            };
            let box3d = cuboid_value(cuboid);
            let uid = self.object(cuboid, reclassified);
            self.objects[uid].seen_in(frame.index);
            objects.entry(uid).or_default().push(box3d);
            summary.written += 1;
        }
        let objects: BTreeMap<usize, Value> = objects.into_iter().map(|(uid, boxes)| (uid, json!({"object_data": {"cuboid": boxes}}))).collect();
        let value = json!({"objects": objects, "frame_properties": {"streams": {"lidar": {"uri": frame.source.path}}}});
        let mut text = format!("{}\n\"{}\":", if self.frames == 0 { "" } else { "," }, frame.index).into_bytes();
        serde_json::to_writer(&mut text, &value).map_err(|e| e.to_string())?;
        self.frames += 1;
        Ok(text)
    }

    /// The uid of the box's object: its track's, or a new one.
    fn object(&mut self, cuboid: &Cuboid, reclassified: &mut u64) -> usize {
        if let Some(track) = cuboid.track_id
            && let Some(&uid) = self.tracks.get(&track)
        {
            if self.objects[uid].class != cuboid.class {
                *reclassified += 1;
            }
            return uid;
        }
        let uid = self.objects.len();
        self.objects.push(Object { class: cuboid.class.clone(), intervals: Vec::new() });
        if let Some(track) = cuboid.track_id {
            self.tracks.insert(track, uid);
        }
        uid
    }
}

/// One `cuboid` entry of a frame's `object_data`. Numbers are finite: records arrive as JSON, which
/// cannot hold NaN or infinity.
fn cuboid_value(cuboid: &Cuboid) -> Value {
    let [x, y, z] = cuboid.center;
    let [qx, qy, qz, qw] = quaternion(cuboid.yaw, cuboid.pitch, cuboid.roll);
    let [length, width, height] = cuboid.size;
    let val = [x, y, z, qx, qy, qz, qw, length, width, height];
    let mut entry = json!({"name": "box3d", "coordinate_system": "lidar", "val": val});
    if !cuboid.attributes.is_empty() {
        entry["attributes"] = attributes(&cuboid.attributes);
    }
    entry
}

/// Intrinsic Z-Y-X rotation (yaw about z, then pitch about the new y, then roll about the new x) as a
/// unit quaternion `[x, y, z, w]`: q = qz(yaw) · qy(pitch) · qx(roll).
fn quaternion(yaw: f64, pitch: f64, roll: f64) -> [f64; 4] {
    let (sy, cy) = (yaw / 2.0).sin_cos();
    let (sp, cp) = (pitch / 2.0).sin_cos();
    let (sr, cr) = (roll / 2.0).sin_cos();
    [sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy]
}

/// OpenLABEL attributes, grouped by type: `boolean`, `num`, `text`, each a list of `{name, val}`.
fn attributes(values: &BTreeMap<String, AttributeValue>) -> Value {
    let mut grouped: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (name, value) in values {
        let (group, val) = match value {
            AttributeValue::Bool(b) => ("boolean", json!(b)),
            AttributeValue::Number(n) => ("num", json!(n)),
            AttributeValue::Text(t) => ("text", json!(t)),
        };
        grouped.entry(group).or_default().push(json!({"name": name, "val": val}));
    }
    json!(grouped)
}

#[cfg(test)]
mod tests;

// Only the WebAssembly build exports: natively, the linker rejects the component's export names
// (`cairn:plugin/exporter@1.0.0#…`) in the cdylib that `cargo test` also builds.
export_exporter!(OpenLabel);
