//! What plugins declare and report, as plain Rust types.

use cairn_model::Modality;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Something a task's validation noticed about one annotation.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub field: String,
    pub message: String,
}

impl Finding {
    pub fn error(field: &str, message: impl Into<String>) -> Self {
        Finding { severity: Severity::Error, field: field.to_string(), message: message.into() }
    }
    pub fn warning(field: &str, message: impl Into<String>) -> Self {
        Finding { severity: Severity::Warning, field: field.to_string(), message: message.into() }
    }
}

/// An option set with `--option name=value`.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionSpec {
    pub name: String,
    pub description: String,
    pub default: Option<String>,
    /// The allowed values; empty means any text.
    pub choices: Vec<String>,
}

impl OptionSpec {
    /// An option with a fixed set of values; the first is the default.
    pub fn choice(name: &str, description: &str, choices: &[&str]) -> Self {
        OptionSpec {
            name: name.to_string(),
            description: description.to_string(),
            default: choices.first().map(|c| c.to_string()),
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// A free-text option; `default` None means "not set".
    pub fn text(name: &str, description: &str, default: Option<&str>) -> Self {
        OptionSpec { name: name.to_string(), description: description.to_string(), default: default.map(str::to_string), choices: Vec::new() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExporterInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Payload kinds read: `cuboid`, `verdict`, `ranking`, `rating`, `text`.
    pub accepts: Vec<String>,
    pub options: Vec<OptionSpec>,
}

impl ExporterInfo {
    pub fn new(id: &str, name: &str, accepts: &[&str]) -> Self {
        ExporterInfo {
            id: id.to_string(),
            name: name.to_string(),
            description: String::new(),
            accepts: accepts.iter().map(|a| a.to_string()).collect(),
            options: Vec::new(),
        }
    }

    pub fn describe(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    pub fn option(mut self, option: OptionSpec) -> Self {
        self.options.push(option);
        self
    }
}

/// What an export did, in the format's own unit (rows, objects, files).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub written: u64,
    pub skipped: u64,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabelClass {
    pub id: String,
    pub name: String,
    /// 0xRRGGBB.
    pub color: u32,
    pub hotkey: Option<String>,
    /// Length, width, height in metres.
    pub default_size: Option<[f64; 3]>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttributeKind {
    Boolean,
    Number { min: f64, max: f64 },
    Choice(Vec<String>),
    Text,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub id: String,
    pub name: String,
    pub kind: AttributeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QuestionKind {
    Choice(Vec<String>),
    Likert(u8),
    Ranking,
    Text,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub id: String,
    pub prompt: String,
    pub kind: QuestionKind,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    pub id: String,
    pub name: String,
    pub modality: Modality,
    /// Payload kinds produced.
    pub produces: Vec<String>,
    pub classes: Vec<LabelClass>,
    pub attributes: Vec<Attribute>,
    pub questions: Vec<Question>,
    /// Markdown.
    pub guidelines: String,
    pub tools: Vec<String>,
    pub options: Vec<OptionSpec>,
}

impl TaskInfo {
    pub fn new(id: &str, name: &str, modality: Modality, produces: &[&str]) -> Self {
        TaskInfo {
            id: id.to_string(),
            name: name.to_string(),
            modality,
            produces: produces.iter().map(|p| p.to_string()).collect(),
            classes: Vec::new(),
            attributes: Vec::new(),
            questions: Vec::new(),
            guidelines: String::new(),
            tools: Vec::new(),
            options: Vec::new(),
        }
    }
}

/// A plugin's options (`name=value`) with every declared default filled in.
#[derive(Clone, Debug, Default)]
pub struct Options {
    values: BTreeMap<String, String>,
}

impl Options {
    /// Declared defaults, overridden by the given pairs.
    pub fn new(declared: &[OptionSpec], given: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut values: BTreeMap<_, _> = declared.iter().filter_map(|o| o.default.clone().map(|d| (o.name.clone(), d))).collect();
        values.extend(given);
        Options { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The value, or "" when unset (choice options always have one).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    pub fn flag(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            None | Some("false") | Some("no") | Some("0") => Ok(false),
            Some("true") | Some("yes") | Some("1") => Ok(true),
            Some(other) => Err(format!("option {name}: expected true or false, got {other:?}")),
        }
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, String> {
        self.get(name)
            .map(|v| v.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| format!("option {name}: {v:?} is not a number")))
            .transpose()
    }
}
