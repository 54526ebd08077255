use crate::{AnnotationId, AnnotatorId, ItemId, RevisionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an annotation says. Each kind is plain data; the store keeps it as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    Cuboid(Cuboid),
    Verdict(PairwiseVerdict),
    Ranking(Ranking),
    Rating(Rating),
    Text(FreeText),
}

impl Payload {
    pub fn kind(&self) -> PayloadKind {
        match self {
            Payload::Cuboid(_) => PayloadKind::Cuboid,
            Payload::Verdict(_) => PayloadKind::Verdict,
            Payload::Ranking(_) => PayloadKind::Ranking,
            Payload::Rating(_) => PayloadKind::Rating,
            Payload::Text(_) => PayloadKind::Text,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKind {
    Cuboid,
    Verdict,
    Ranking,
    Rating,
    Text,
}

impl PayloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadKind::Cuboid => "cuboid",
            PayloadKind::Verdict => "verdict",
            PayloadKind::Ranking => "ranking",
            PayloadKind::Rating => "rating",
            PayloadKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [PayloadKind::Cuboid, PayloadKind::Verdict, PayloadKind::Ranking, PayloadKind::Rating, PayloadKind::Text]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// An oriented 3D box in the cloud's coordinates (metres). Angles in radians: yaw about +z
/// (0 = facing +x, counter-clockwise), pitch about the box's y axis, roll about its x axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cuboid {
    /// Centre of the box, in the file's coordinates (f64 keeps georeferenced millimetres).
    pub center: [f64; 3],
    /// Length (along heading), width, height.
    pub size: [f64; 3],
    pub yaw: f64,
    #[serde(default)]
    pub pitch: f64,
    #[serde(default)]
    pub roll: f64,
    pub class: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Same id across frames of a sequence = same physical object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_id: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// The outcome of comparing two responses, in canonical order (`a`, `b` index `Comparison::responses`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    A,
    B,
    Tie,
    BothBad,
}

impl Winner {
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::A => "a",
            Winner::B => "b",
            Winner::Tie => "tie",
            Winner::BothBad => "both_bad",
        }
    }

    /// The same verdict seen with the two sides swapped.
    pub fn swapped(self) -> Self {
        match self {
            Winner::A => Winner::B,
            Winner::B => Winner::A,
            other => other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairwiseVerdict {
    /// Canonical index of the first response compared (0 for two-response items).
    #[serde(default)]
    pub a: u32,
    #[serde(default = "one")]
    pub b: u32,
    pub winner: Winner,
    /// 1 = slightly better … 3 = much better. None for ties or when not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<u8>,
    /// Per-criterion answers (helpfulness, harmlessness, honesty, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub criteria: BTreeMap<String, Winner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Canonical indices in the order they were shown (left to right), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_order: Option<Vec<u32>>,
}

fn one() -> u32 {
    1
}

impl PairwiseVerdict {
    /// A verdict given on screen (`winner` in terms of the left and right slots) stored in canonical
    /// order: `a < b` index `Comparison::responses`, and the order shown is kept with it.
    pub fn from_shown(shown_order: &[u32], left_slot: usize, right_slot: usize, winner: Winner) -> Self {
        let (left, right) = (shown_order[left_slot], shown_order[right_slot]);
        let (a, b, winner) = if left < right { (left, right, winner) } else { (right, left, winner.swapped()) };
        PairwiseVerdict { a, b, winner, strength: None, criteria: BTreeMap::new(), rationale: None, shown_order: Some(shown_order.to_vec()) }
    }

    pub fn new(winner: Winner) -> Self {
        PairwiseVerdict { a: 0, b: 1, winner, strength: None, criteria: BTreeMap::new(), rationale: None, shown_order: None }
    }
}

/// Best first; each tier holds canonical response indices that are tied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranking {
    pub tiers: Vec<Vec<u32>>,
}

impl Ranking {
    /// Every (better, worse) pair: each member of a tier beats every member of each lower tier.
    pub fn pairs(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (t, tier) in self.tiers.iter().enumerate() {
            for &upper in tier {
                out.extend(self.tiers[t + 1..].iter().flatten().map(|&lower| (upper, lower)));
            }
        }
        out
    }
}

/// A score on an anchored scale, for one response (or the item as a whole).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub criterion: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<u32>,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeText {
    pub field: String,
    pub text: String,
}

/// An annotation as it stands now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub id: AnnotationId,
    pub item: ItemId,
    pub annotator: AnnotatorId,
    pub payload: Payload,
    /// The revision that last set this payload.
    pub revision: RevisionId,
}

/// Points per label chunk. Labels are stored per chunk so painting touches only the chunks it changes.
pub const POINT_LABEL_CHUNK: u32 = 65_536;

/// Class labels for a run of points: `labels[i]` is the class of point `chunk * POINT_LABEL_CHUNK + i`
/// (original file order). 0 means unlabelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointLabelChunk {
    pub chunk: u32,
    pub labels: Vec<u16>,
}

impl PointLabelChunk {
    /// Little-endian u16s, the form kept in the project file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.labels.iter().flat_map(|l| l.to_le_bytes()).collect()
    }

    pub fn from_bytes(chunk: u32, bytes: &[u8]) -> Result<Self, crate::ValidationError> {
        if !bytes.len().is_multiple_of(2) || bytes.len() / 2 > POINT_LABEL_CHUNK as usize {
            return Err(crate::ValidationError::new(
                "labels",
                format!("chunk {chunk} holds {} bytes; expected an even count of at most {}", bytes.len(), 2 * POINT_LABEL_CHUNK),
            ));
        }
        let labels = bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        Ok(PointLabelChunk { chunk, labels })
    }

    /// Index of the first point this chunk covers.
    pub fn first_point(&self) -> u64 {
        self.chunk as u64 * POINT_LABEL_CHUNK as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_given_on_screen_are_stored_in_canonical_order() {
        // Response 1 shown on the left, 0 on the right; the person picks the left one.
        let v = PairwiseVerdict::from_shown(&[1, 0], 0, 1, Winner::A);
        assert_eq!((v.a, v.b, v.winner), (0, 1, Winner::B));
        assert_eq!(v.shown_order, Some(vec![1, 0]));
        // Shown in canonical order: nothing changes.
        let v = PairwiseVerdict::from_shown(&[0, 1], 0, 1, Winner::A);
        assert_eq!((v.a, v.b, v.winner), (0, 1, Winner::A));
        // Three responses, slots 1 and 2 compared, a tie stays a tie.
        let v = PairwiseVerdict::from_shown(&[2, 1, 0], 1, 2, Winner::Tie);
        assert_eq!((v.a, v.b, v.winner), (0, 1, Winner::Tie));
    }
}
