//! Task plugins: what is annotated (classes, attributes, questions), checks on annotations, and
//! proposed annotations. Every result is checked before the host uses it.

use crate::bindings::task::cairn::plugin::types as wit_types;
use crate::bindings::task::exports::cairn::plugin::task as wit;
use crate::bindings::task::{TaskPlugin as Bindings, TaskPluginPre};
use crate::contract::{self, DataShape, Part};
use crate::engine::{Granted, PluginEngine};
use crate::error::{Failure, PluginError};
use crate::manifest::Manifest;
use crate::options::{self, PluginOption};
use crate::sandbox::{self, HostState, LogLine, Strikes};
use cairn_model::{ItemData, Modality, Payload};
use wasmtime::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Index of the subject it is about.
    pub subject: usize,
    pub severity: Severity,
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabelClass {
    pub id: String,
    pub name: String,
    pub color: [u8; 3],
    pub hotkey: Option<char>,
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

/// What a task declares, checked: unique ids and hotkeys, real colours, finite positive sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    pub id: String,
    pub name: String,
    pub modality: Modality,
    pub produces: Vec<String>,
    pub classes: Vec<LabelClass>,
    pub attributes: Vec<Attribute>,
    pub questions: Vec<Question>,
    pub guidelines: String,
    pub tools: Vec<String>,
    pub options: Vec<PluginOption>,
}

impl TaskInfo {
    pub fn class(&self, id: &str) -> Option<&LabelClass> {
        self.classes.iter().find(|c| c.id == id)
    }
}

/// One annotation to validate.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub payload: Payload,
    pub point_count: Option<u64>,
}

/// Points relative to `origin`, x, y, z per point.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudChunk {
    pub origin: [f64; 3],
    pub positions: Vec<f32>,
}

/// Most proposals one prelabel call may return, and the most findings per validate call.
const MAX_PROPOSALS: usize = 10_000;
const MAX_FINDINGS: usize = 100_000;

pub struct TaskPlugin {
    manifest: Manifest,
    pre: TaskPluginPre<HostState>,
    engine: wasmtime::Engine,
    granted: Granted,
    /// The JSON shape of the contract version the component was built for.
    shape: DataShape,
    info: TaskInfo,
    /// The live instance; dropped after any trap and made again on the next call.
    live: Option<(Store<HostState>, Bindings)>,
    strikes: Strikes,
    log: Vec<LogLine>,
}

impl TaskPlugin {
    pub fn load(engine: &PluginEngine, manifest: &Manifest, wasm: &[u8]) -> Result<TaskPlugin, PluginError> {
        let (component, declared) = engine.load_declared(manifest, wasm)?;
        let refuse = |m: String| PluginError::new(&manifest.id, "load", Failure::Refused, m);
        let pre = engine.task_linker.instantiate_pre(&component).map_err(|e| refuse(format!("{e:#}")))?;
        let pre = TaskPluginPre::new(pre).map_err(|e| refuse(format!("{e:#}")))?;
        let mut plugin = TaskPlugin {
            manifest: manifest.clone(),
            pre,
            engine: engine.engine().clone(),
            granted: engine.grant(&manifest.limits),
            shape: DataShape::of(declared.contract),
            info: TaskInfo {
                id: manifest.id.clone(),
                name: manifest.name.clone(),
                modality: Modality::Comparison,
                produces: vec![],
                classes: vec![],
                attributes: vec![],
                questions: vec![],
                guidelines: String::new(),
                tools: vec![],
                options: vec![],
            },
            live: None,
            strikes: Strikes::new(engine.config().strikes),
            log: Vec::new(),
        };
        let raw = plugin.call("describe", |store, b| b.cairn_plugin_task().call_describe(store))?;
        plugin.info = check_info(raw, manifest).map_err(|m| PluginError::new(&manifest.id, "describe", Failure::InvalidResult, m))?;
        Ok(plugin)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn info(&self) -> &TaskInfo {
        &self.info
    }

    pub fn is_disabled(&self) -> bool {
        self.strikes.out()
    }

    /// Checks `name=value` options against what the task declared.
    pub fn check_options(&self, options: &[(String, String)]) -> Result<(), PluginError> {
        options::check_given(&self.manifest.id, &self.info.options, options)
    }

    /// What the plugin logged since the last call to this.
    pub fn take_log(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.log)
    }

    /// A model value as JSON in the shape of the plugin's contract version.
    fn to_plugin(&self, part: Part, value: &impl serde::Serialize) -> String {
        self.shape.project(part, serde_json::to_string(value).expect("model types serialize")).0
    }

    /// Runs one call on the live instance (made if needed), with a fresh deadline. A failure that
    /// traps drops the instance and counts a strike.
    fn call<R>(&mut self, call: &str, f: impl FnOnce(&mut Store<HostState>, &Bindings) -> wasmtime::Result<R>) -> Result<R, PluginError> {
        let id = self.manifest.id.clone();
        self.strikes.check(&id, call)?;
        let result = self.call_live(&id, call, f);
        self.strikes.record(&result);
        result
    }

    fn call_live<R>(
        &mut self,
        id: &str,
        call: &str,
        f: impl FnOnce(&mut Store<HostState>, &Bindings) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.live.is_none() {
            let state = HostState::new(self.granted.caps);
            self.live = Some(sandbox::start(&self.engine, state, id, call, self.granted.timeout_ms, |store| self.pre.instantiate(store))?);
        }
        let (store, bindings) = self.live.as_mut().expect("made above");
        sandbox::arm(store);
        let result = f(store, bindings);
        self.log.extend(store.data_mut().take_log());
        match result {
            Ok(value) => Ok(value),
            Err(e) => {
                let error = sandbox::classify(id, call, e, store.data(), self.granted.timeout_ms);
                self.live = None;
                Err(error)
            }
        }
    }

    /// Validates annotations of one item in one call. `options` are the task's `name=value` settings.
    pub fn validate(&mut self, item: &ItemData, subjects: &[Subject], options: &[(String, String)]) -> Result<Vec<Finding>, PluginError> {
        let item_json = self.to_plugin(Part::Item, item);
        let raw: Vec<wit::Subject> =
            subjects.iter().map(|s| wit::Subject { payload: self.to_plugin(Part::Payload, &s.payload), point_count: s.point_count }).collect();
        let options = options::with_defaults(&self.info.options, options);
        let findings = self.call("validate", |store, b| b.cairn_plugin_task().call_validate(store, &item_json, &raw, &options))?;
        let invalid = |m: String| PluginError::new(&self.manifest.id, "validate", Failure::InvalidResult, m);
        if findings.len() > MAX_FINDINGS {
            return Err(invalid(format!("returned {} findings (at most {MAX_FINDINGS})", findings.len())));
        }
        findings
            .into_iter()
            .map(|(index, f)| {
                if index as usize >= subjects.len() {
                    return Err(invalid(format!("a finding names subject {index}, but only {} were given", subjects.len())));
                }
                let severity = match f.severity {
                    wit_types::Severity::Info => Severity::Info,
                    wit_types::Severity::Warning => Severity::Warning,
                    wit_types::Severity::Error => Severity::Error,
                };
                Ok(Finding { subject: index as usize, severity, field: f.field, message: f.message })
            })
            .collect()
    }

    /// Proposed annotations, each checked: it parses, passes the model's rules, is a kind the task
    /// produces, and names a declared class.
    pub fn prelabel(&mut self, item: &ItemData, points: Option<&CloudChunk>, options: &[(String, String)]) -> Result<Vec<Payload>, PluginError> {
        let item_json = self.to_plugin(Part::Item, item);
        let chunk = points.map(|c| wit::CloudChunk { origin: (c.origin[0], c.origin[1], c.origin[2]), positions: c.positions.clone() });
        let options = options::with_defaults(&self.info.options, options);
        let result = self.call("prelabel", |store, b| b.cairn_plugin_task().call_prelabel(store, &item_json, chunk.as_ref(), &options))?;
        let id = self.manifest.id.clone();
        let proposals = result.map_err(|m| PluginError::new(&id, "prelabel", Failure::Plugin, m))?;
        let invalid = |m: String| PluginError::new(&id, "prelabel", Failure::InvalidResult, m);
        if proposals.len() > MAX_PROPOSALS {
            return Err(invalid(format!("returned {} proposals (at most {MAX_PROPOSALS})", proposals.len())));
        }
        let mut out = Vec::with_capacity(proposals.len());
        for (i, json) in proposals.iter().enumerate() {
            let payload: Payload = serde_json::from_str(json).map_err(|e| invalid(format!("proposal {i}: {e}")))?;
            if let Some(problem) = cairn_model::validate_payload(&payload, Some(item)).into_iter().next() {
                return Err(invalid(format!("proposal {i}: {}: {}", problem.field, problem.message)));
            }
            if !self.info.produces.iter().any(|k| k == payload.kind().as_str()) {
                return Err(invalid(format!("proposal {i}: a {} annotation, which this task does not produce", payload.kind().as_str())));
            }
            if let Payload::Cuboid(c) = &payload
                && self.info.class(&c.class).is_none()
            {
                return Err(invalid(format!("proposal {i}: unknown class {:?}", c.class)));
            }
            out.push(payload);
        }
        Ok(out)
    }
}

fn check_info(raw: wit::TaskInfo, manifest: &Manifest) -> Result<TaskInfo, String> {
    if !manifest.id.is_empty() && raw.id != manifest.id {
        return Err(format!("describes itself as {:?} but its manifest says {:?}", raw.id, manifest.id));
    }
    let mut classes = Vec::with_capacity(raw.classes.len());
    for c in raw.classes {
        if c.id.is_empty() || classes.iter().any(|k: &LabelClass| k.id == c.id) {
            return Err(format!("class id {:?} is empty or declared twice", c.id));
        }
        if c.color > 0xFF_FF_FF {
            return Err(format!("class {}: colour {:#x} is not 0xRRGGBB", c.id, c.color));
        }
        let hotkey = match c.hotkey.as_deref() {
            None | Some("") => None,
            Some(k) => {
                let mut chars = k.chars();
                match (chars.next(), chars.next()) {
                    (Some(ch), None) => Some(ch),
                    _ => return Err(format!("class {}: hotkey {k:?} must be a single key", c.id)),
                }
            }
        };
        if let Some(key) = hotkey
            && classes.iter().any(|k: &LabelClass| k.hotkey == Some(key))
        {
            return Err(format!("class {}: hotkey {key:?} is already taken", c.id));
        }
        let default_size = match c.default_size {
            None => None,
            Some((l, w, h)) if [l, w, h].iter().all(|v| v.is_finite() && *v > 0.0) => Some([l, w, h]),
            Some(size) => return Err(format!("class {}: default size {size:?} must be finite and positive", c.id)),
        };
        let [r, g, b] = [(c.color >> 16) as u8, (c.color >> 8) as u8, c.color as u8];
        classes.push(LabelClass { id: c.id, name: c.name, color: [r, g, b], hotkey, default_size });
    }
    let attributes = raw
        .attributes
        .into_iter()
        .map(|a| {
            let kind = match a.kind {
                wit::AttributeKind::Boolean => AttributeKind::Boolean,
                wit::AttributeKind::Number((min, max)) if min.is_finite() && max.is_finite() && min <= max => AttributeKind::Number { min, max },
                wit::AttributeKind::Number(range) => return Err(format!("attribute {}: range {range:?} is not finite and ordered", a.id)),
                wit::AttributeKind::Choice(choices) => AttributeKind::Choice(choices),
                wit::AttributeKind::Text => AttributeKind::Text,
            };
            Ok(Attribute { id: a.id, name: a.name, kind })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let questions = raw
        .questions
        .into_iter()
        .map(|q| {
            let kind = match q.kind {
                wit::QuestionKind::Choice(c) => QuestionKind::Choice(c),
                wit::QuestionKind::Likert(n) if n >= 2 => QuestionKind::Likert(n),
                wit::QuestionKind::Likert(n) => return Err(format!("question {}: a scale of {n} points", q.id)),
                wit::QuestionKind::Ranking => QuestionKind::Ranking,
                wit::QuestionKind::Text => QuestionKind::Text,
            };
            Ok(Question { id: q.id, prompt: q.prompt, kind, required: q.required })
        })
        .collect::<Result<Vec<_>, String>>()?;
    contract::check_payload_kinds(&raw.produces).map_err(|e| format!("produces {e}"))?;
    let options = options::from_declared(raw.options)?;
    Ok(TaskInfo {
        id: raw.id,
        name: raw.name,
        modality: match raw.modality {
            wit::Modality::PointCloud => Modality::PointCloud,
            wit::Modality::Comparison => Modality::Comparison,
        },
        produces: raw.produces,
        classes,
        attributes,
        questions,
        guidelines: raw.guidelines,
        tools: raw.tools,
        options,
    })
}
