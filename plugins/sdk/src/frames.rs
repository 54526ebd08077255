//! What exporters of point-cloud frames share: the frame of a record, sequences in the order they
//! arrive, and sequence names made safe as path segments.

use cairn_model::{ExportRecord, Frame, ItemData};
use std::collections::{BTreeSet, HashSet};

/// The record's frame and its sequence name. A frame imported on its own has no sequence; it counts as
/// a sequence of one, named by its key, so such frames never collide.
pub fn frame_of(record: &ExportRecord) -> Result<(&Frame, &str), String> {
    match &record.item {
        ItemData::Frame(frame) => Ok((frame, frame.sequence.as_deref().unwrap_or(&record.key))),
        ItemData::Comparison(_) => Err("not a point-cloud frame".into()),
    }
}

/// Sequences in order of first appearance. A sequence's frames must come together and each once, as
/// formats that give a sequence one file or folder need.
#[derive(Default)]
pub struct Sequences {
    seen: HashSet<String>,
    /// The first sequence's name.
    pub first: String,
    current: String,
    indices: BTreeSet<u32>,
}

impl Sequences {
    /// Places a frame; true when it starts a sequence.
    pub fn enter(&mut self, name: &str, index: u32) -> Result<bool, String> {
        let new = self.seen.is_empty() || name != self.current;
        if new {
            if !self.seen.insert(name.to_string()) {
                return Err(format!("sequence {name:?} resumes after sequence {:?}; the frames of a sequence must come together", self.current));
            }
            if self.seen.len() == 1 {
                self.first = name.to_string();
            }
            self.current = name.to_string();
            self.indices.clear();
        }
        if !self.indices.insert(index) {
            return Err(format!("frame {index} of sequence {name:?} appears twice"));
        }
        Ok(new)
    }

    /// Sequences seen so far.
    pub fn count(&self) -> usize {
        self.seen.len()
    }
}

/// A sequence name as one path segment, so a path built from it cannot leave its folder.
pub fn path_segment(name: &str) -> String {
    let segment: String = name.chars().map(|c| if matches!(c, '/' | '\\') || c.is_control() { '_' } else { c }).collect();
    if segment.is_empty() || segment == "." || segment == ".." { "_".into() } else { segment }
}
