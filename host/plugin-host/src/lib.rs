//! Cairn's WebAssembly plugin host.
//!
//! Plugins are components for the `cairn:plugin@1.1.0` contract (`wit/plugin.wit`): task plugins
//! (label schema, validation, pre-labels) and exporters (project records in, files out). This crate
//! finds them ([`Registry`]), compiles them once and caches the machine code ([`PluginEngine`]), and
//! runs every call in a fresh-enough sandbox: no files, no network, no environment, capped memory,
//! an epoch deadline, capped output. A plugin that traps is re-instantiated; one that keeps failing is
//! disabled. Nothing here touches the project: exporters read records through [`RecordSource`] and
//! task results are checked before anyone applies them. A plugin built for an earlier 1.x contract
//! gets items and records in the JSON shape of its version ([`ContractVersion`]).

mod bindings;
mod contract;
mod engine;
mod error;
mod export_io;
mod exporter;
mod inspect;
mod manifest;
mod options;
mod output;
mod registry;
mod sandbox;
mod task;

pub use contract::{API_VERSION, ContractVersion};
pub use engine::{EngineStats, HostConfig, PluginEngine};
pub use error::{Failure, PluginError};
pub use export_io::RecordSource;
pub use exporter::{ExportOutcome, ExporterInfo, ExporterPlugin};
pub use inspect::{ComponentKind, Declared};
pub use manifest::{Limits, Manifest, PluginKind};
pub use options::{PluginOption, parse_option};
pub use output::{LeftStaging, check_relative_path};
pub use registry::{BundledPlugin, PluginEntry, PluginSource, Registry, project_plugin_dir, user_plugin_dir};
pub use sandbox::LogLine;
pub use task::{Attribute, AttributeKind, CloudChunk, Finding, LabelClass, Question, QuestionKind, Severity, Subject, TaskInfo, TaskPlugin};
