//! The task side: a trait and its connection to the generated bindings.

use crate::bindings::cairn::plugin::types as wit_types;
use crate::bindings::exports::cairn::plugin::task as wit;
use crate::info::{AttributeKind, Finding, Options, QuestionKind, Severity, TaskInfo};
use cairn_model::{ItemData, Modality, Payload};

/// A task plugin: the label schema and questions (`describe`), checks on annotations (`validate`) and,
/// optionally, proposed annotations (`prelabel`).
pub trait Task {
    fn describe() -> TaskInfo;

    /// Findings for a batch of annotations of one item, each with the index of its subject.
    fn validate(item: &ItemData, subjects: &[Subject], options: &Options) -> Vec<(usize, Finding)>;

    /// Proposed annotations for an item. The host validates them before anyone sees them.
    fn prelabel(_item: &ItemData, _points: Option<&CloudChunk>, _options: &Options) -> Result<Vec<Payload>, String> {
        Ok(Vec::new())
    }
}

/// One annotation to validate.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub payload: Payload,
    /// Points inside the box, when the host counted them.
    pub point_count: Option<u64>,
}

/// Points of a frame as x, y, z triples relative to `origin`.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudChunk {
    pub origin: [f64; 3],
    pub positions: Vec<f32>,
}

/// Connects a [`Task`] to the generated bindings; used by [`export_task!`].
#[doc(hidden)]
pub struct TaskAdapter<T>(std::marker::PhantomData<T>);

fn finding(f: Finding) -> wit_types::Finding {
    let severity = match f.severity {
        Severity::Info => wit_types::Severity::Info,
        Severity::Warning => wit_types::Severity::Warning,
        Severity::Error => wit_types::Severity::Error,
    };
    wit_types::Finding { severity, field: f.field, message: f.message }
}

impl<T: Task> wit::Guest for TaskAdapter<T> {
    fn describe() -> wit::TaskInfo {
        let info = T::describe();
        wit::TaskInfo {
            id: info.id,
            name: info.name,
            modality: match info.modality {
                Modality::PointCloud => wit::Modality::PointCloud,
                Modality::Comparison => wit::Modality::Comparison,
            },
            produces: info.produces,
            classes: info
                .classes
                .into_iter()
                .map(|c| wit::LabelClass {
                    id: c.id,
                    name: c.name,
                    color: c.color,
                    hotkey: c.hotkey,
                    default_size: c.default_size.map(|[l, w, h]| (l, w, h)),
                })
                .collect(),
            attributes: info
                .attributes
                .into_iter()
                .map(|a| wit::Attribute {
                    id: a.id,
                    name: a.name,
                    kind: match a.kind {
                        AttributeKind::Boolean => wit::AttributeKind::Boolean,
                        AttributeKind::Number { min, max } => wit::AttributeKind::Number((min, max)),
                        AttributeKind::Choice(choices) => wit::AttributeKind::Choice(choices),
                        AttributeKind::Text => wit::AttributeKind::Text,
                    },
                })
                .collect(),
            questions: info
                .questions
                .into_iter()
                .map(|q| wit::Question {
                    id: q.id,
                    prompt: q.prompt,
                    kind: match q.kind {
                        QuestionKind::Choice(choices) => wit::QuestionKind::Choice(choices),
                        QuestionKind::Likert(points) => wit::QuestionKind::Likert(points),
                        QuestionKind::Ranking => wit::QuestionKind::Ranking,
                        QuestionKind::Text => wit::QuestionKind::Text,
                    },
                    required: q.required,
                })
                .collect(),
            guidelines: info.guidelines,
            tools: info.tools,
            options: info
                .options
                .into_iter()
                .map(|o| wit_types::OptionSpec { name: o.name, description: o.description, default_value: o.default, choices: o.choices })
                .collect(),
        }
    }

    fn validate(item: String, subjects: Vec<wit::Subject>, options: Vec<(String, String)>) -> Vec<(u32, wit_types::Finding)> {
        let options = Options::new(&[], options);
        let item: ItemData = match serde_json::from_str(&item) {
            Ok(item) => item,
            Err(e) => return vec![(0, finding(Finding::error("item", format!("unreadable item: {e}"))))],
        };
        let mut findings = Vec::new();
        let mut parsed = Vec::with_capacity(subjects.len());
        let mut indices = Vec::with_capacity(subjects.len());
        for (index, subject) in subjects.into_iter().enumerate() {
            match serde_json::from_str::<Payload>(&subject.payload) {
                Ok(payload) => {
                    parsed.push(Subject { payload, point_count: subject.point_count });
                    indices.push(index as u32);
                }
                Err(e) => findings.push((index as u32, finding(Finding::error("payload", format!("unreadable payload: {e}"))))),
            }
        }
        for (i, f) in T::validate(&item, &parsed, &options) {
            match indices.get(i) {
                Some(&index) => findings.push((index, finding(f))),
                None => crate::log::warn(&format!("validate: dropped a finding for subject {i}; only {} were given", parsed.len())),
            }
        }
        findings
    }

    fn prelabel(item: String, points: Option<wit::CloudChunk>, options: Vec<(String, String)>) -> Result<Vec<String>, String> {
        let options = Options::new(&[], options);
        let item: ItemData = serde_json::from_str(&item).map_err(|e| format!("unreadable item: {e}"))?;
        let points = points.map(|c| CloudChunk { origin: [c.origin.0, c.origin.1, c.origin.2], positions: c.positions });
        let proposals = T::prelabel(&item, points.as_ref(), &options)?;
        proposals.iter().map(|p| serde_json::to_string(p).map_err(|e| e.to_string())).collect()
    }
}

/// Makes the type the plugin's task: `export_task!(MyTask);`.
#[macro_export]
macro_rules! export_task {
    ($task:ty) => {
        // Only a wasm build exports anything; native builds (unit tests) skip the component glue.
        #[cfg(target_family = "wasm")]
        type __CairnTask = $crate::TaskAdapter<$task>;
        #[cfg(target_family = "wasm")]
        $crate::bindings::__export_task_plugin!(__CairnTask with_types_in $crate::bindings);
    };
}
