use crate::{Comparison, Cuboid, ItemData, PairwiseVerdict, Payload, Ranking, Rating, Winner};
use std::f64::consts::PI;
use std::fmt;

/// One problem with a value, naming the field it is about (`responses[1].content`, `size[2]`, …).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Joins findings into one line, for error messages.
pub fn describe_findings(findings: &[ValidationError]) -> String {
    findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A comparison needs a prompt and at least two responses. An empty response is allowed: datasets
/// such as HH-RLHF hold some, and judging them is part of the work.
pub fn validate_comparison(c: &Comparison) -> Vec<ValidationError> {
    let mut out = Vec::new();
    // Sides whose conversations differ from the first turn share no messages but have their own.
    if c.messages.is_empty() && c.responses.iter().any(|r| r.own_messages.is_empty()) {
        out.push(ValidationError::new("messages", "the conversation has no messages"));
    }
    if c.responses.len() < 2 {
        out.push(ValidationError::new("responses", format!("a comparison needs at least 2 responses, found {}", c.responses.len())));
    }
    out
}

/// Keeps an angle in [-π, π).
pub fn normalize_angle(a: f64) -> f64 {
    let r = (a + PI).rem_euclid(2.0 * PI) - PI;
    if r >= PI { r - 2.0 * PI } else { r }
}

/// Checks a payload on its own and, when the item is given, against it (response indices, kind).
pub fn validate_payload(payload: &Payload, item: Option<&ItemData>) -> Vec<ValidationError> {
    let responses = match item {
        Some(ItemData::Comparison(c)) => Some(c.responses.len() as u32),
        _ => None,
    };
    let mut out = Vec::new();
    match (payload, item) {
        (Payload::Cuboid(_), Some(ItemData::Comparison(_))) => {
            out.push(ValidationError::new("kind", "a cuboid cannot annotate a comparison"));
        }
        (Payload::Verdict(_) | Payload::Ranking(_), Some(ItemData::Frame(_))) => {
            out.push(ValidationError::new("kind", "a verdict or ranking cannot annotate a point-cloud frame"));
        }
        _ => {}
    }
    match payload {
        Payload::Cuboid(c) => validate_cuboid(c, &mut out),
        Payload::Verdict(v) => validate_verdict(v, responses, &mut out),
        Payload::Ranking(r) => validate_ranking(r, responses, &mut out),
        Payload::Rating(r) => validate_rating(r, responses, &mut out),
        Payload::Text(t) => {
            if t.field.trim().is_empty() {
                out.push(ValidationError::new("field", "the text field has no name"));
            }
        }
    }
    out
}

fn validate_cuboid(c: &Cuboid, out: &mut Vec<ValidationError>) {
    for (i, v) in c.center.iter().enumerate() {
        if !v.is_finite() {
            out.push(ValidationError::new(format!("center[{i}]"), format!("must be finite, got {v}")));
        }
    }
    for (i, v) in c.size.iter().enumerate() {
        if !(v.is_finite() && *v > 0.0) {
            out.push(ValidationError::new(format!("size[{i}]"), format!("must be a positive size, got {v}")));
        }
    }
    for (name, v) in [("yaw", c.yaw), ("pitch", c.pitch), ("roll", c.roll)] {
        if !v.is_finite() || !(-PI..=PI).contains(&v) {
            out.push(ValidationError::new(name, format!("must lie in [-π, π], got {v}")));
        }
    }
    if c.class.trim().is_empty() {
        out.push(ValidationError::new("class", "the box has no class"));
    }
}

fn check_index(field: &str, i: u32, responses: Option<u32>, out: &mut Vec<ValidationError>) {
    if let Some(n) = responses
        && i >= n
    {
        out.push(ValidationError::new(field, format!("response {i} does not exist (the item has {n})")));
    }
}

fn validate_verdict(v: &PairwiseVerdict, responses: Option<u32>, out: &mut Vec<ValidationError>) {
    if v.a == v.b {
        out.push(ValidationError::new("b", "a response cannot be compared with itself"));
    }
    check_index("a", v.a, responses, out);
    check_index("b", v.b, responses, out);
    if let Some(s) = v.strength {
        if !(1..=3).contains(&s) {
            out.push(ValidationError::new("strength", format!("must be 1, 2 or 3, got {s}")));
        }
        if matches!(v.winner, Winner::Tie | Winner::BothBad) {
            out.push(ValidationError::new("strength", "a tie or both-bad verdict has no strength"));
        }
    }
    if let Some(order) = &v.shown_order {
        check_permutation("shown_order", order, responses, out);
    }
}

fn check_permutation(field: &str, order: &[u32], responses: Option<u32>, out: &mut Vec<ValidationError>) {
    let mut seen = std::collections::BTreeSet::new();
    for &i in order {
        check_index(field, i, responses, out);
        if !seen.insert(i) {
            out.push(ValidationError::new(field, format!("response {i} appears twice")));
        }
    }
}

fn validate_ranking(r: &Ranking, responses: Option<u32>, out: &mut Vec<ValidationError>) {
    if r.tiers.is_empty() {
        out.push(ValidationError::new("tiers", "the ranking is empty"));
    }
    if r.tiers.iter().any(Vec::is_empty) {
        out.push(ValidationError::new("tiers", "a tier is empty"));
    }
    let all: Vec<u32> = r.tiers.iter().flatten().copied().collect();
    check_permutation("tiers", &all, responses, out);
    if let Some(n) = responses
        && all.len() as u32 != n
        && out.is_empty()
    {
        out.push(ValidationError::new("tiers", format!("ranks {} of the {n} responses", all.len())));
    }
}

fn validate_rating(r: &Rating, responses: Option<u32>, out: &mut Vec<ValidationError>) {
    if !(r.min.is_finite() && r.max.is_finite() && r.min < r.max) {
        out.push(ValidationError::new("min", format!("the scale [{}, {}] is empty", r.min, r.max)));
    } else if !(r.min..=r.max).contains(&r.value) {
        out.push(ValidationError::new("value", format!("{} lies outside [{}, {}]", r.value, r.min, r.max)));
    }
    if let Some(i) = r.response {
        check_index("response", i, responses, out);
    }
}

#[cfg(test)]
mod tests;
