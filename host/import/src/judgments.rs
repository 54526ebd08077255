//! Judgments: preference labels made in other tools, imported as annotations on comparisons the
//! project already holds.
//!
//! One JSON object per line:
//! `{"item", "annotator", "verdict"?, "strength"?, "pair"?, "ranking"?, "rationale"?}`.
//!
//! - `item` is the comparison's key (its `id` in the comparisons file). Keys are looked up in a map
//!   built once per import; a key that names more than one comparison is refused as ambiguous.
//! - `verdict` (`a`, `b`, `tie`, `both_bad`) compares responses 0 and 1 of a two-response item, or
//!   the two given by `pair: [i, j]` (`a` = response `i`). It is stored in canonical order, the lower
//!   index first, the winner swapped to match.
//! - `ranking` lists responses best first, by model name (when unique within the item) or by index
//!   (a number or a digit string); an inner list holds tied responses.
//! - `rationale` goes with the verdict; on a line with only a ranking it is kept as a text annotation
//!   (field `rationale`), since a ranking has no place for one.
//!
//! Annotators are people (`human`), created on first use. Each payload is checked against its item
//! with `validate_payload` before anything is stored; the file is imported in one transaction. An
//! annotation the annotator already has on the item, unchanged, is not added again.

use crate::comparisons::RecordError;
use crate::jsonl::{decode_line, read_batches};
use crate::{Format, ImportError, ImportReport, ProgressFn, Skipped};
use cairn_model::{
    AnnotatorId, AnnotatorKind, Comparison, Content, DatasetId, FreeText, ItemData, ItemId, Modality, PairwiseVerdict, Payload, Ranking, Response,
    ValidationError, Winner, describe_findings, source_annotator_name, validate_payload,
};
use cairn_store::{Inserted, Project};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::mpsc::sync_channel;

/// A comparison judgments can name: its id, dataset, and what validation needs of it (the responses'
/// models; their text is left out to keep the map small).
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) item: ItemId,
    pub(crate) dataset: DatasetId,
    stub: ItemData,
}

impl Target {
    fn responses(&self) -> &[Response] {
        match &self.stub {
            ItemData::Comparison(c) => &c.responses,
            ItemData::Frame(_) => &[],
        }
    }
}

#[derive(Clone, Debug)]
enum Entry {
    One(Target),
    /// The key names several comparisons: the datasets they are in.
    Ambiguous(Vec<DatasetId>),
}

/// Comparison items by key, and what else a judgment is checked against, built once per import.
#[derive(Clone, Debug, Default)]
pub(crate) struct ItemIndex {
    items: HashMap<String, Entry>,
    datasets: HashMap<DatasetId, String>,
    /// Annotators the project holds that are not people, by name: judgments cannot be filed under them.
    not_human: HashMap<String, AnnotatorKind>,
    /// `--dataset`, when it restricts the lookup.
    only: Option<String>,
}

impl ItemIndex {
    /// Every comparison of the project (or of one dataset), in one pass over the items.
    pub(crate) fn load(project: &Project, path: &Path, dataset: Option<&str>) -> Result<ItemIndex, ImportError> {
        let mut index = ItemIndex::default();
        let datasets = project.datasets()?;
        let only = match dataset {
            None => None,
            Some(name) => {
                let Some(d) = datasets.iter().find(|d| d.name == name) else {
                    let names: Vec<_> = datasets.iter().filter(|d| d.modality == Modality::Comparison).map(|d| format!("'{}'", d.name)).collect();
                    return Err(ImportError::File {
                        path: path.to_owned(),
                        message: format!(
                            "--dataset '{name}': the project has no such dataset (its comparison datasets: {})",
                            if names.is_empty() { "none".to_string() } else { names.join(", ") }
                        ),
                    });
                };
                if d.modality != Modality::Comparison {
                    return Err(ImportError::File {
                        path: path.to_owned(),
                        message: format!("--dataset '{name}' holds point-cloud frames; judgments annotate comparisons"),
                    });
                }
                index.only = Some(name.to_owned());
                Some(d.id)
            }
        };
        for d in datasets {
            index.datasets.insert(d.id, d.name);
        }
        for a in project.annotators()? {
            if a.kind != AnnotatorKind::Human {
                index.not_human.insert(a.name, a.kind);
            }
        }
        project.for_each_item::<ImportError>(only, |item| {
            if let ItemData::Comparison(c) = &item.data {
                index.add(item.key, item.id, item.dataset, c);
            }
            Ok(())
        })?;
        Ok(index)
    }

    /// Names a dataset (for messages and the report).
    #[cfg(test)]
    pub(crate) fn name_dataset(&mut self, id: DatasetId, name: &str) {
        self.datasets.insert(id, name.to_owned());
    }

    #[cfg(test)]
    pub(crate) fn note_annotator(&mut self, name: &str, kind: AnnotatorKind) {
        self.not_human.insert(name.to_owned(), kind);
    }

    pub(crate) fn add(&mut self, key: String, item: ItemId, dataset: DatasetId, comparison: &Comparison) {
        use std::collections::hash_map::Entry as Slot;
        match self.items.entry(key) {
            Slot::Vacant(slot) => {
                let responses = comparison
                    .responses
                    .iter()
                    .map(|r| Response { model: r.model.clone(), content: Content::Text(String::new()), id: None, own_messages: Vec::new() })
                    .collect();
                let stub = ItemData::Comparison(Comparison { messages: Vec::new(), responses, metadata: Value::Null });
                slot.insert(Entry::One(Target { item, dataset, stub }));
            }
            Slot::Occupied(mut slot) => {
                let e = slot.get_mut();
                match e {
                    Entry::One(first) => *e = Entry::Ambiguous(vec![first.dataset, dataset]),
                    Entry::Ambiguous(list) => list.push(dataset),
                }
            }
        }
    }

    pub(crate) fn dataset_name(&self, id: DatasetId) -> &str {
        self.datasets.get(&id).map_or("?", String::as_str)
    }

    fn lookup(&self, key: &str) -> Result<&Target, RecordError> {
        match self.items.get(key) {
            Some(Entry::One(target)) => Ok(target),
            Some(Entry::Ambiguous(datasets)) => {
                let names: Vec<&str> = datasets.iter().map(|d| self.dataset_name(*d)).collect();
                let mut distinct = names.clone();
                distinct.sort_unstable();
                distinct.dedup();
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                let hint = if distinct.len() == names.len() {
                    "; pass --dataset to say which dataset's comparisons the keys name"
                } else {
                    "; give the comparisons distinct ids"
                };
                Err(RecordError::msg(format!(
                    "item: the key \"{key}\" is ambiguous: {} comparisons have it (in datasets {}){hint}",
                    names.len(),
                    quoted.join(", ")
                )))
            }
            None => {
                let scope = match &self.only {
                    Some(name) => format!("in dataset '{name}'"),
                    None => "in the project".to_string(),
                };
                let hint = if self.items.is_empty() { " (it holds none yet: import the comparisons first)" } else { "" };
                Err(RecordError::msg(format!("item: no comparison with the key \"{key}\" {scope}{hint}")))
            }
        }
    }
}

/// One line, resolved and checked: what to store, and under whom.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Judgment {
    pub(crate) item: ItemId,
    pub(crate) dataset: DatasetId,
    pub(crate) annotator: String,
    /// A verdict, a ranking, or both; a rationale without a verdict as a text annotation.
    pub(crate) payloads: Vec<Payload>,
}

/// Parses one line and resolves it against the project's comparisons.
pub(crate) fn parse_judgment(line: &str, index: &ItemIndex) -> Result<Judgment, RecordError> {
    let value: Value = serde_json::from_str(line)?;
    let Value::Object(obj) = value else {
        return Err(RecordError::msg(format!("expected a JSON object (one judgment per line), got {}", type_name(&value))));
    };
    let key = item_key(&obj)?;
    let annotator = annotator(&obj, index)?;
    let verdict = winner(&obj)?;
    let strength = strength(&obj)?;
    let pair = pair(&obj)?;
    let ranking = field(&obj, "ranking");
    let rationale = match field(&obj, "rationale") {
        None => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(RecordError::msg(format!("rationale: expected a string, got {}", type_name(other)))),
    };
    if verdict.is_none() && ranking.is_none() {
        return Err(RecordError::msg("verdict: missing; a judgment needs a \"verdict\", a \"ranking\" or both"));
    }
    if verdict.is_none() {
        if strength.is_some() {
            return Err(RecordError::msg("strength: goes with a verdict, and the line has none"));
        }
        if pair.is_some() {
            return Err(RecordError::msg("pair: goes with a verdict, and the line has none"));
        }
    }
    let target = index.lookup(&key)?;
    let responses = target.responses();
    let mut payloads = Vec::new();
    if let Some(winner) = verdict {
        let (a, b) = match pair {
            Some(p) => p,
            None if responses.len() == 2 => (0, 1),
            None => {
                return Err(RecordError::msg(format!(
                    "pair: item \"{key}\" has {} responses; say which two the verdict compares with \"pair\": [i, j]",
                    responses.len()
                )));
            }
        };
        // Canonical order: the lower index is `a`.
        let (a, b, winner) = if a > b { (b, a, winner.swapped()) } else { (a, b, winner) };
        let mut v = PairwiseVerdict::new(winner);
        v.a = a;
        v.b = b;
        v.strength = strength;
        v.rationale = rationale.clone();
        payloads.push(Payload::Verdict(v));
    }
    if let Some(ranking) = ranking {
        let tiers = ranking_tiers(ranking, &key, responses)?;
        payloads.push(Payload::Ranking(Ranking { tiers }));
        if verdict.is_none()
            && let Some(text) = rationale
        {
            payloads.push(Payload::Text(FreeText { field: "rationale".into(), text }));
        }
    }
    for payload in &payloads {
        let findings = validate_payload(payload, Some(&target.stub));
        if !findings.is_empty() {
            let renamed: Vec<ValidationError> =
                findings.into_iter().map(|f| ValidationError::new(line_field(payload, &f.field), f.message)).collect();
            return Err(RecordError::msg(describe_findings(&renamed)));
        }
    }
    Ok(Judgment { item: target.item, dataset: target.dataset, annotator, payloads })
}

/// The field of the judgment line a payload finding is about.
fn line_field(payload: &Payload, field: &str) -> String {
    match (payload, field) {
        (Payload::Verdict(_), "a" | "b") => "pair".into(),
        (Payload::Ranking(_), "tiers") => "ranking".into(),
        (Payload::Text(_), _) => "rationale".into(),
        _ => field.into(),
    }
}

/// A field, with `null` read as absent.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn item_key(obj: &Map<String, Value>) -> Result<String, RecordError> {
    match field(obj, "item") {
        Some(Value::String(s)) if s.trim().is_empty() => Err(RecordError::msg("item: must not be empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        // Native ids may be numbers; their keys are the numbers' text.
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(other) => Err(RecordError::msg(format!("item: expected the comparison's key as a string, got {}", type_name(other)))),
        None => Err(RecordError::msg("item: missing (the key of a comparison in the project)")),
    }
}

fn annotator(obj: &Map<String, Value>, index: &ItemIndex) -> Result<String, RecordError> {
    let name = match field(obj, "annotator") {
        Some(Value::String(s)) if s.trim().is_empty() => return Err(RecordError::msg("annotator: must not be empty")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(RecordError::msg(format!("annotator: expected a name, got {}", type_name(other)))),
        None => return Err(RecordError::msg("annotator: missing (who made the judgment)")),
    };
    if name.starts_with(&source_annotator_name("")) {
        return Err(RecordError::msg(format!(
            "annotator: \"{name}\": names starting with \"{}\" are kept for labels that came with imported data",
            source_annotator_name("")
        )));
    }
    if let Some(kind) = index.not_human.get(&name) {
        return Err(RecordError::msg(format!(
            "annotator: \"{name}\" is a {} annotator in this project; judgments are imported as people's",
            kind.as_str()
        )));
    }
    Ok(name)
}

fn winner(obj: &Map<String, Value>) -> Result<Option<Winner>, RecordError> {
    let expected = "expected \"a\", \"b\", \"tie\" or \"both_bad\"";
    match field(obj, "verdict") {
        None => Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "a" => Ok(Some(Winner::A)),
            "b" => Ok(Some(Winner::B)),
            "tie" => Ok(Some(Winner::Tie)),
            "both_bad" => Ok(Some(Winner::BothBad)),
            other => Err(RecordError::msg(format!("verdict: {expected}, got \"{other}\""))),
        },
        Some(other) => Err(RecordError::msg(format!("verdict: {expected}, got {}", type_name(other)))),
    }
}

/// The strength as given; its range is checked with the rest of the verdict.
fn strength(obj: &Map<String, Value>) -> Result<Option<u8>, RecordError> {
    match field(obj, "strength") {
        None => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u8::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(RecordError::msg(format!("strength: must be 1, 2 or 3, got {v}"))),
        },
    }
}

fn pair(obj: &Map<String, Value>) -> Result<Option<(u32, u32)>, RecordError> {
    let Some(v) = field(obj, "pair") else { return Ok(None) };
    let index = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    match v.as_array().map(Vec::as_slice) {
        Some([i, j]) => match (index(i), index(j)) {
            (Some(i), Some(j)) => Ok(Some((i, j))),
            _ => Err(RecordError::msg(format!("pair: expected two response indices, e.g. [0, 2], got {v}"))),
        },
        _ => Err(RecordError::msg(format!("pair: expected two response indices, e.g. [0, 2], got {v}"))),
    }
}

/// Tiers of canonical indices (each sorted), best first.
fn ranking_tiers(ranking: &Value, key: &str, responses: &[Response]) -> Result<Vec<Vec<u32>>, RecordError> {
    let Value::Array(entries) = ranking else {
        return Err(RecordError::msg(format!("ranking: expected a list of responses, best first, got {}", type_name(ranking))));
    };
    let mut tiers = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut tier = match entry {
            Value::Array(tied) => tied
                .iter()
                .map(|t| match t {
                    Value::Array(_) => Err(RecordError::msg(format!("ranking: a group of tied responses cannot hold another list: {entry}"))),
                    t => response_index(t, key, responses),
                })
                .collect::<Result<Vec<_>, _>>()?,
            one => vec![response_index(one, key, responses)?],
        };
        tier.sort_unstable();
        tiers.push(tier);
    }
    Ok(tiers)
}

/// A ranking entry: a model name unique within the item, else a response index (number or digits).
fn response_index(entry: &Value, key: &str, responses: &[Response]) -> Result<u32, RecordError> {
    match entry {
        Value::String(name) => {
            let matches: Vec<usize> =
                responses.iter().enumerate().filter(|(_, r)| r.model.as_deref() == Some(name.as_str())).map(|(i, _)| i).collect();
            match matches.as_slice() {
                [i] => Ok(*i as u32),
                [] if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) => {
                    name.parse().map_err(|_| RecordError::msg(format!("ranking: response index {name} is out of range")))
                }
                [] => {
                    let models: Vec<String> = responses.iter().filter_map(|r| r.model.as_ref()).map(|m| format!("\"{m}\"")).collect();
                    let known = if models.is_empty() {
                        format!("its responses name no models; use indices 0 to {}", responses.len().saturating_sub(1))
                    } else {
                        format!("its models: {}", models.join(", "))
                    };
                    Err(RecordError::msg(format!("ranking: no response of item \"{key}\" comes from a model named \"{name}\" ({known})")))
                }
                many => {
                    let list: Vec<String> = many.iter().map(ToString::to_string).collect();
                    Err(RecordError::msg(format!(
                        "ranking: the model name \"{name}\" is ambiguous in item \"{key}\" (responses {} come from it); use response indices",
                        list.join(", ")
                    )))
                }
            }
        }
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| RecordError::msg(format!("ranking: expected a model name or a response index, got {n}"))),
        other => Err(RecordError::msg(format!("ranking: expected a model name or a response index, got {}", type_name(other)))),
    }
}

pub(crate) fn import_judgments(
    project: &mut Project,
    path: &Path,
    dataset: Option<&str>,
    skip_invalid: bool,
    progress: ProgressFn<'_>,
) -> Result<ImportReport, ImportError> {
    let io = |source| ImportError::Io { path: path.to_owned(), source };
    let file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let index = ItemIndex::load(project, path, dataset)?;
    let mut report = ImportReport::new(path, Format::Judgments.name(), dataset.unwrap_or_default());
    let mut touched: Vec<DatasetId> = Vec::new();

    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = sync_channel(4);
        scope.spawn(move || read_batches(BufReader::with_capacity(1 << 20, file), raw_tx));
        // Dropping `raw_rx` on an early return stops the reader at its next send.
        project.bulk_import(|bulk| {
            let mut annotators: HashMap<String, AnnotatorId> = HashMap::new();
            let mut seen_any = false;
            for batch in raw_rx {
                let batch = batch.map_err(io)?;
                let parsed: Vec<(u64, Result<Judgment, RecordError>)> = batch
                    .lines
                    .par_iter()
                    .enumerate()
                    .filter_map(|(i, bytes)| {
                        let line = batch.first_line + i as u64;
                        let judgment = match decode_line(bytes)? {
                            Ok(text) => parse_judgment(text, &index),
                            Err(e) => Err(e),
                        };
                        Some((line, judgment))
                    })
                    .collect();
                for (line, judgment) in parsed {
                    seen_any = true;
                    let judgment = match judgment {
                        Ok(j) => j,
                        Err(e) if skip_invalid => {
                            report.skipped.push(Skipped { location: format!("{}:{line}", path.display()), reason: e.message });
                            continue;
                        }
                        Err(e) => {
                            return Err(ImportError::Line { path: path.to_owned(), line, column: e.column, message: e.message });
                        }
                    };
                    report.records += 1;
                    let annotator = match annotators.get(&judgment.annotator) {
                        Some(a) => *a,
                        None => {
                            let a = bulk.ensure_annotator(&judgment.annotator, AnnotatorKind::Human)?;
                            *annotators.entry(judgment.annotator.clone()).or_insert(a)
                        }
                    };
                    // The item exists, so an identical live annotation by the same annotator is kept
                    // as it is rather than added again.
                    let mut added = false;
                    for payload in &judgment.payloads {
                        added |= bulk.import_annotation(Inserted::Existing(judgment.item), annotator, payload)?.is_some();
                    }
                    if added {
                        report.added += 1;
                    } else {
                        report.already_present += 1;
                    }
                    if !touched.contains(&judgment.dataset) {
                        touched.push(judgment.dataset);
                    }
                }
                progress(batch.bytes_done, total);
            }
            if !seen_any {
                return Err(ImportError::Empty { path: path.to_owned() });
            }
            Ok(())
        })
    })?;
    if dataset.is_none() {
        report.dataset = touched.iter().map(|d| index.dataset_name(*d)).collect::<Vec<_>>().join(", ");
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
