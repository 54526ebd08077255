use crate::{AnnotatorId, AssignmentId, Comparison, ContentHash, DatasetId, ItemId};
use serde::{Deserialize, Serialize};

/// What a dataset holds. One dataset never mixes the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    PointCloud,
    Comparison,
}

impl Modality {
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::PointCloud => "point_cloud",
            Modality::Comparison => "comparison",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "point_cloud" => Some(Modality::PointCloud),
            "comparison" => Some(Modality::Comparison),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectInfo {
    pub name: String,
    pub schema_version: u32,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub id: DatasetId,
    pub name: String,
    pub modality: Modality,
}

/// One unit of work: a frame of a scan or a conversation with candidate responses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    pub dataset: DatasetId,
    /// The id the item had in its source (comparison `id`, or the frame's file name).
    pub key: String,
    /// Re-importing the same content is a no-op.
    pub content_hash: ContentHash,
    pub data: ItemData,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemData {
    Frame(Frame),
    Comparison(Comparison),
}

impl ItemData {
    pub fn modality(&self) -> Modality {
        match self {
            ItemData::Frame(_) => Modality::PointCloud,
            ItemData::Comparison(_) => Modality::Comparison,
        }
    }
}

/// A point-cloud frame. The points stay in their file; the project keeps where it is and what it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Sequence name, when the frame is part of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// Position in the sequence (0-based), sorted by file name.
    pub index: u32,
    pub source: SourceFile,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Relative to the project file's directory when the file lies under it, otherwise absolute.
    pub path: String,
    pub byte_len: u64,
    pub summary: CloudSummary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudFormat {
    Las,
    Laz,
    Pcd,
    KittiBin,
    Ply,
}

impl CloudFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudFormat::Las => "las",
            CloudFormat::Laz => "laz",
            CloudFormat::Pcd => "pcd",
            CloudFormat::KittiBin => "kitti_bin",
            CloudFormat::Ply => "ply",
        }
    }

    /// The format a file name suggests, by extension.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "las" => Some(CloudFormat::Las),
            "laz" => Some(CloudFormat::Laz),
            "pcd" => Some(CloudFormat::Pcd),
            "bin" => Some(CloudFormat::KittiBin),
            "ply" => Some(CloudFormat::Ply),
            _ => None,
        }
    }
}

/// What a header (or a cheap scan of the file) says about a cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudSummary {
    pub format: CloudFormat,
    /// e.g. "1.2" for LAS, "0.7" for PCD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// LAS point data record format, PCD/PLY encoding, and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    pub point_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Bounds>,
    /// Per-point fields the file declares (x, y, z, intensity, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Axis-aligned bounds in the file's own (possibly georeferenced) coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotatorKind {
    Human,
    /// Labels that came with imported data, e.g. the chosen side of an HH-RLHF row.
    Source,
    Model,
}

impl AnnotatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotatorKind::Human => "human",
            AnnotatorKind::Source => "source",
            AnnotatorKind::Model => "model",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "human" => Some(AnnotatorKind::Human),
            "source" => Some(AnnotatorKind::Source),
            "model" => Some(AnnotatorKind::Model),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotator {
    pub id: AnnotatorId,
    pub name: String,
    pub kind: AnnotatorKind,
}

/// The annotator name under which labels from a source format are kept.
pub fn source_annotator_name(source: &str) -> String {
    format!("import:{source}")
}

/// An item handed to an annotator. `shown_order[i]` is the canonical response index shown in slot i.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub id: AssignmentId,
    pub item: ItemId,
    pub annotator: AnnotatorId,
    pub shown_order: Vec<u32>,
    /// A reference check: the item has a known answer the annotator does not see.
    #[serde(default)]
    pub gold: bool,
}
