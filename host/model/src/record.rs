use crate::{AnnotatorKind, ItemData, Payload, RevisionId};
use serde::{Deserialize, Serialize};

/// One item with its current annotations: the unit an exporter reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// The item's id in its source (comparison `id`, or the frame's file name).
    pub key: String,
    /// The dataset's name.
    pub dataset: String,
    pub item: ItemData,
    /// Current annotations, oldest first.
    #[serde(default)]
    pub annotations: Vec<RecordAnnotation>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordAnnotation {
    /// Who made it: a person, a model, or a source format (`import:hh-rlhf`).
    pub annotator: String,
    pub annotator_kind: AnnotatorKind,
    /// The revision that last set it, and when (Unix milliseconds).
    pub revision: RevisionId,
    pub at_ms: i64,
    pub payload: Payload,
}
