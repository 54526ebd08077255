//! Cairn's WebAssembly plugin host.
//!
//! Plugins are components for the `cairn:plugin@1.0.0` contract (`wit/plugin.wit`): task plugins
//! (label schema, validation, pre-labels) and exporters (project records in, files out). This crate
//! finds them ([`Registry`]), compiles them once and caches the machine code ([`PluginEngine`]), and
//! runs every call in a fresh-enough sandbox: no files, no network, no environment, capped memory,
//! an epoch deadline, capped output. A plugin that traps is re-instantiated; one that keeps failing is
//! disabled. Nothing here touches the project: exporters read records through [`RecordSource`] and
//! task results are checked before anyone applies them.

mod bindings;
mod engine;
mod error;
mod exporter;
mod inspect;
mod manifest;
mod output;
mod registry;
mod sandbox;
mod task;

pub use engine::{EngineStats, HostConfig, PluginEngine};
pub use error::{Failure, PluginError};
pub use exporter::{ExportOutcome, ExporterInfo, ExporterPlugin, RecordSource};
pub use inspect::{ComponentKind, Declared};
pub use manifest::{API_VERSION, Limits, Manifest, PluginKind};
pub use output::{LeftStaging, check_relative_path};
pub use registry::{BundledPlugin, PluginEntry, PluginSource, Registry, project_plugin_dir, user_plugin_dir};
pub use sandbox::LogLine;
pub use task::{
    Attribute, AttributeKind, CloudChunk, Finding, LabelClass, PluginOption, Question, QuestionKind, Severity, Subject, TaskInfo, TaskPlugin,
};
