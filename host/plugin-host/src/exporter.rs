//! Exporter plugins: describe once, then run exports that stream records in and files out.

use crate::bindings::exporter::cairn::plugin::export_io::{self, DatasetInfo};
use crate::bindings::exporter::{ExporterPlugin as Bindings, ExporterPluginPre};
use crate::engine::{Granted, PluginEngine};
use crate::error::{Failure, PluginError};
use crate::manifest::Manifest;
use crate::output::{LeftStaging, OutputDir, OutputError};
use crate::sandbox::{self, HostState, LogLine};
use crate::task::{PluginOption, option_from_wit};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use wasmtime::component::Resource;

/// Where an export's records come from: one JSON object per record (the SDK's `ExportRecord`), in
/// project order. Implemented over the project store by the caller, so this crate never opens one.
pub trait RecordSource: Send {
    fn project(&self) -> String;
    fn total(&self) -> u64;
    /// Up to `max` records; an empty batch ends the export.
    fn next_batch(&mut self, max: usize) -> Result<Vec<String>, String>;
}

/// The most records one `next-batch` call hands out, whatever the plugin asks.
const MAX_BATCH: usize = 4096;

/// Host-side marker types behind the `dataset` and `output` resources; the state lives in the store.
pub struct DatasetHandle;
pub struct OutputHandle;

pub(crate) struct ExportState {
    source: Box<dyn RecordSource>,
    output: OutputDir,
    plugin: String,
}

impl ExportState {
    fn fail(&self, call: &str, failure: Failure, message: impl Into<String>) -> wasmtime::Error {
        wasmtime::Error::new(PluginError::new(&self.plugin, call, failure, message))
    }

    /// What an output call gives back: an error the plugin may handle, or one that ends the export
    /// (a refused path, a cap: no plugin has a reason to go on after those).
    fn outcome(&self, result: Result<(), OutputError>) -> wasmtime::Result<Result<(), String>> {
        match result {
            Ok(()) => Ok(Ok(())),
            Err(OutputError::Plugin(message)) => Ok(Err(message)),
            Err(OutputError::Path(message)) => Err(self.fail("run", Failure::InvalidResult, message)),
            Err(OutputError::Cap(cap)) => Err(self.fail(
                "run",
                Failure::OutputCap,
                format!("the export went over its output cap of {} MiB (manifest `limits.output-mib`)", cap >> 20),
            )),
            Err(OutputError::Files(cap)) => {
                Err(self.fail("run", Failure::OutputCap, format!("the export went over its cap of {cap} files (manifest `limits.output-files`)")))
            }
            Err(OutputError::Host(message)) => Err(self.fail("run", Failure::Host, message)),
        }
    }
}

fn export_state(state: &mut HostState) -> wasmtime::Result<&mut ExportState> {
    state.export.as_mut().ok_or_else(|| wasmtime::Error::msg("export resources used outside an export"))
}

impl export_io::Host for HostState {}

impl export_io::HostDataset for HostState {
    fn info(&mut self, _: Resource<DatasetHandle>) -> wasmtime::Result<DatasetInfo> {
        let export = export_state(self)?;
        Ok(DatasetInfo { project: export.source.project(), records: export.source.total() })
    }

    fn next_batch(&mut self, _: Resource<DatasetHandle>, max: u32) -> wasmtime::Result<Vec<String>> {
        self.progress += 1;
        let export = export_state(self)?;
        let batch = export.source.next_batch((max as usize).clamp(1, MAX_BATCH));
        batch.map_err(|e| export.fail("run", Failure::Host, format!("reading records: {e}")))
    }

    fn drop(&mut self, handle: Resource<DatasetHandle>) -> wasmtime::Result<()> {
        self.table().delete(handle)?;
        Ok(())
    }
}

impl export_io::HostOutput for HostState {
    fn create_file(&mut self, _: Resource<OutputHandle>, path: String) -> wasmtime::Result<Result<(), String>> {
        self.progress += 1;
        let export = export_state(self)?;
        let result = export.output.create(&path);
        export.outcome(result)
    }

    fn write(&mut self, _: Resource<OutputHandle>, bytes: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        self.progress += 1;
        let export = export_state(self)?;
        let result = export.output.write(&bytes);
        export.outcome(result)
    }

    fn drop(&mut self, handle: Resource<OutputHandle>) -> wasmtime::Result<()> {
        self.table().delete(handle)?;
        Ok(())
    }
}

/// What an exporter declares.
#[derive(Clone, Debug, PartialEq)]
pub struct ExporterInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub accepts: Vec<String>,
    pub options: Vec<PluginOption>,
}

/// What a finished export did.
#[derive(Clone, Debug)]
pub struct ExportOutcome {
    pub written: u64,
    pub skipped: u64,
    pub notes: Vec<String>,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub log: Vec<LogLine>,
    /// Staging directories of earlier exports that did not finish (killed), removed first.
    pub cleaned: Vec<LeftStaging>,
}

pub struct ExporterPlugin {
    manifest: Manifest,
    pre: ExporterPluginPre<HostState>,
    engine: wasmtime::Engine,
    granted: Granted,
    info: ExporterInfo,
    strikes: AtomicU32,
    max_strikes: u32,
}

const PAYLOAD_KINDS: &[&str] = &["cuboid", "verdict", "ranking", "rating", "text"];

impl ExporterPlugin {
    /// Compiles (or loads from cache), links and asks the plugin to describe itself.
    pub fn load(engine: &PluginEngine, manifest: &Manifest, wasm: &[u8]) -> Result<ExporterPlugin, PluginError> {
        let component = engine.load(manifest, wasm)?;
        let refuse = |m: String| PluginError::new(&manifest.id, "load", Failure::Refused, m);
        let pre = engine.exporter_linker.instantiate_pre(&component).map_err(|e| refuse(format!("{e:#}")))?;
        let pre = ExporterPluginPre::new(pre).map_err(|e| refuse(format!("{e:#}")))?;
        let granted = engine.grant(&manifest.limits);
        let mut plugin = ExporterPlugin {
            manifest: manifest.clone(),
            pre,
            engine: engine.engine().clone(),
            granted,
            info: ExporterInfo { id: manifest.id.clone(), name: manifest.name.clone(), description: String::new(), accepts: vec![], options: vec![] },
            strikes: AtomicU32::new(0),
            max_strikes: engine.config().strikes,
        };
        plugin.info = plugin.describe()?;
        Ok(plugin)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn info(&self) -> &ExporterInfo {
        &self.info
    }

    pub fn is_disabled(&self) -> bool {
        self.strikes.load(Ordering::Relaxed) >= self.max_strikes
    }

    fn describe(&self) -> Result<ExporterInfo, PluginError> {
        let (mut store, instance) = self.instantiate("describe", HostState::new(self.granted.caps))?;
        let raw = instance.cairn_plugin_exporter().call_describe(&mut store);
        let raw = raw.map_err(|e| sandbox::classify(&self.manifest.id, "describe", e, store.data(), self.granted.timeout_ms))?;
        let invalid = |m: String| PluginError::new(&self.manifest.id, "describe", Failure::InvalidResult, m);
        if !self.manifest.id.is_empty() && raw.id != self.manifest.id {
            return Err(invalid(format!("describes itself as {:?} but its manifest says {:?}", raw.id, self.manifest.id)));
        }
        if let Some(kind) = raw.accepts.iter().find(|k| !PAYLOAD_KINDS.contains(&k.as_str())) {
            return Err(invalid(format!("accepts unknown payload kind {kind:?} (known: {})", PAYLOAD_KINDS.join(", "))));
        }
        let options: Vec<PluginOption> = raw.options.into_iter().map(option_from_wit).collect();
        crate::task::check_options(&options).map_err(invalid)?;
        Ok(ExporterInfo { id: raw.id, name: raw.name, description: raw.description, accepts: raw.accepts, options })
    }

    fn instantiate(&self, call: &str, state: HostState) -> Result<(wasmtime::Store<HostState>, Bindings), PluginError> {
        let mut store = sandbox::new_store(&self.engine, state);
        sandbox::arm(&mut store);
        match self.pre.instantiate(&mut store) {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(sandbox::classify(&self.manifest.id, call, e, store.data(), self.granted.timeout_ms)),
        }
    }

    /// Makes a sandboxed instance and drops it: what every export starts with. For timing.
    pub fn instantiate_only(&self) -> Result<(), PluginError> {
        self.instantiate("instantiate", HostState::new(self.granted.caps)).map(drop)
    }

    /// Checks `name=value` options against what the plugin declared.
    pub fn check_options(&self, options: &[(String, String)]) -> Result<(), PluginError> {
        for (name, value) in options {
            let Some(spec) = self.info.options.iter().find(|o| &o.name == name) else {
                let known: Vec<_> = self.info.options.iter().map(|o| o.name.as_str()).collect();
                return Err(PluginError::new(
                    &self.manifest.id,
                    "options",
                    Failure::Refused,
                    format!(
                        "unknown option {name:?}; {} takes: {}",
                        self.manifest.id,
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                ));
            };
            if !spec.choices.is_empty() && !spec.choices.contains(value) {
                return Err(PluginError::new(
                    &self.manifest.id,
                    "options",
                    Failure::Refused,
                    format!("option {name}: {value:?} is not one of {}", spec.choices.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// Runs one export into `destination`. Files appear there only if the export succeeds.
    pub fn export(
        &self,
        options: &[(String, String)],
        source: Box<dyn RecordSource>,
        destination: &Path,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<ExportOutcome, PluginError> {
        let id = &self.manifest.id;
        if self.is_disabled() {
            return Err(PluginError::new(id, "run", Failure::Disabled, format!("disabled after {} failed calls in a row", self.max_strikes)));
        }
        self.check_options(options)?;
        let output = OutputDir::new(destination, self.granted.output_bytes, self.granted.output_files)
            .map_err(|m| PluginError::new(id, "run", Failure::Host, m))?;
        let mut state = HostState::new(self.granted.caps);
        state.cancel = cancel;
        state.export = Some(ExportState { source, output, plugin: id.clone() });
        let (mut store, instance) = self.instantiate("run", state)?;
        let dataset = store.data_mut().table().push(DatasetHandle).map_err(|e| PluginError::new(id, "run", Failure::Host, e.to_string()))?;
        let out = store.data_mut().table().push(OutputHandle).map_err(|e| PluginError::new(id, "run", Failure::Host, e.to_string()))?;
        let options = crate::task::with_defaults(&self.info.options, options);
        let result = instance.cairn_plugin_exporter().call_run(&mut store, &options, dataset, out);
        let result = match result {
            Ok(Ok(summary)) => Ok(summary),
            Ok(Err(message)) => Err(PluginError::new(id, "run", Failure::Plugin, message)),
            Err(e) => Err(sandbox::classify(id, "run", e, store.data(), self.granted.timeout_ms)),
        };
        self.count(&result);
        let summary = result?;
        let log = store.data_mut().take_log();
        let export = store.data_mut().export.take().expect("set above");
        let bytes = export.output.written();
        let cleaned = export.output.cleaned().to_vec();
        let files = export.output.commit().map_err(|m| PluginError::new(id, "run", Failure::InvalidResult, m))?;
        Ok(ExportOutcome { written: summary.written, skipped: summary.skipped, notes: summary.notes, files, bytes, log, cleaned })
    }

    fn count<T>(&self, result: &Result<T, PluginError>) {
        match result {
            Err(e) if e.failure.is_crash() => {
                self.strikes.fetch_add(1, Ordering::Relaxed);
            }
            _ => self.strikes.store(0, Ordering::Relaxed),
        }
    }
}
