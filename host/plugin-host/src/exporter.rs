//! Exporter plugins: describe once, then run exports that stream records in and files out.

use crate::bindings::exporter::exports::cairn::plugin::exporter::ExportSummary;
use crate::bindings::exporter::{ExporterPlugin as Bindings, ExporterPluginPre};
use crate::bindings::{DatasetHandle, OutputHandle};
use crate::contract::{self, DataShape};
use crate::engine::{Granted, PluginEngine};
use crate::error::{Failure, PluginError};
use crate::export_io::{ExportState, RecordSource};
use crate::manifest::Manifest;
use crate::options::{self, PluginOption};
use crate::output::{LeftStaging, OutputDir};
use crate::sandbox::{self, HostState, LogLine, Strikes};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

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
    /// The JSON shape of the contract version the component was built for.
    shape: DataShape,
    info: ExporterInfo,
    strikes: Strikes,
}

impl ExporterPlugin {
    /// Compiles (or loads from cache), links and asks the plugin to describe itself.
    pub fn load(engine: &PluginEngine, manifest: &Manifest, wasm: &[u8]) -> Result<ExporterPlugin, PluginError> {
        let (component, declared) = engine.load_declared(manifest, wasm)?;
        let refuse = |m: String| PluginError::new(&manifest.id, "load", Failure::Refused, m);
        let pre = engine.exporter_linker.instantiate_pre(&component).map_err(|e| refuse(format!("{e:#}")))?;
        let pre = ExporterPluginPre::new(pre).map_err(|e| refuse(format!("{e:#}")))?;
        let granted = engine.grant(&manifest.limits);
        let mut plugin = ExporterPlugin {
            manifest: manifest.clone(),
            pre,
            engine: engine.engine().clone(),
            granted,
            shape: DataShape::of(declared.contract),
            info: ExporterInfo { id: manifest.id.clone(), name: manifest.name.clone(), description: String::new(), accepts: vec![], options: vec![] },
            strikes: Strikes::new(engine.config().strikes),
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
        self.strikes.out()
    }

    fn describe(&self) -> Result<ExporterInfo, PluginError> {
        let (mut store, instance) = self.instantiate("describe", HostState::new(self.granted.caps))?;
        let raw = instance.cairn_plugin_exporter().call_describe(&mut store);
        let raw = raw.map_err(|e| sandbox::classify(&self.manifest.id, "describe", e, store.data(), self.granted.timeout_ms))?;
        let invalid = |m: String| PluginError::new(&self.manifest.id, "describe", Failure::InvalidResult, m);
        if !self.manifest.id.is_empty() && raw.id != self.manifest.id {
            return Err(invalid(format!("describes itself as {:?} but its manifest says {:?}", raw.id, self.manifest.id)));
        }
        contract::check_payload_kinds(&raw.accepts).map_err(|e| invalid(format!("accepts {e}")))?;
        let options = options::from_declared(raw.options).map_err(invalid)?;
        Ok(ExporterInfo { id: raw.id, name: raw.name, description: raw.description, accepts: raw.accepts, options })
    }

    fn instantiate(&self, call: &str, state: HostState) -> Result<(wasmtime::Store<HostState>, Bindings), PluginError> {
        sandbox::start(&self.engine, state, &self.manifest.id, call, self.granted.timeout_ms, |store| self.pre.instantiate(store))
    }

    /// Makes a sandboxed instance and drops it: what every export starts with. For timing.
    pub fn instantiate_only(&self) -> Result<(), PluginError> {
        self.instantiate("instantiate", HostState::new(self.granted.caps)).map(drop)
    }

    /// Checks `name=value` options against what the plugin declared.
    pub fn check_options(&self, options: &[(String, String)]) -> Result<(), PluginError> {
        options::check_given(&self.manifest.id, &self.info.options, options)
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
        self.strikes.check(id, "run")?;
        self.check_options(options)?;
        let output = OutputDir::new(destination, self.granted.output_bytes, self.granted.output_files)
            .map_err(|m| PluginError::new(id, "run", Failure::Host, m))?;
        let mut state = HostState::new(self.granted.caps);
        state.cancel = cancel;
        state.export = Some(ExportState::new(id, source, self.shape, output));
        let result = self.run(state, options);
        self.strikes.record(&result);
        let (summary, mut store) = result?;
        let log = store.data_mut().take_log();
        let export = store.data_mut().export.take().expect("set above");
        let bytes = export.output.written();
        let cleaned = export.output.cleaned().to_vec();
        let mut notes = summary.notes;
        if export.projected > 0 {
            notes.push(self.shape.note(export.projected));
        }
        let files = export.output.commit().map_err(|m| PluginError::new(id, "run", Failure::InvalidResult, m))?;
        Ok(ExportOutcome { written: summary.written, skipped: summary.skipped, notes, files, bytes, log, cleaned })
    }

    /// One `run` call on a fresh instance; the store comes back for what the export left in it.
    fn run(&self, state: HostState, options: &[(String, String)]) -> Result<(ExportSummary, wasmtime::Store<HostState>), PluginError> {
        let id = &self.manifest.id;
        let (mut store, instance) = self.instantiate("run", state)?;
        let host_error = |e: wasmtime::component::ResourceTableError| PluginError::new(id, "run", Failure::Host, e.to_string());
        let dataset = store.data_mut().table().push(DatasetHandle).map_err(host_error)?;
        let out = store.data_mut().table().push(OutputHandle).map_err(host_error)?;
        let options = options::with_defaults(&self.info.options, options);
        match instance.cairn_plugin_exporter().call_run(&mut store, &options, dataset, out) {
            Ok(Ok(summary)) => Ok((summary, store)),
            Ok(Err(message)) => Err(PluginError::new(id, "run", Failure::Plugin, message)),
            Err(e) => Err(sandbox::classify(id, "run", e, store.data(), self.granted.timeout_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ContractVersion;
    use crate::engine::HostConfig;

    /// A record as the current model writes it, with a response that has turns of its own (1.1).
    fn record_with_own_messages() -> String {
        serde_json::json!({
            "key": "edited", "dataset": "prefs", "annotations": [],
            "item": {"kind": "comparison", "messages": [{"role": "user", "content": "q"}],
                     "responses": [{"content": "a"}, {"content": "b", "own_messages": [{"role": "user", "content": "again?"}]}]},
        })
        .to_string()
    }

    struct One(Option<String>);

    impl RecordSource for One {
        fn project(&self) -> String {
            "p".into()
        }
        fn total(&self) -> u64 {
            1
        }
        fn next_batch(&mut self, _: usize) -> Result<Vec<String>, String> {
            Ok(self.0.take().into_iter().collect())
        }
    }

    /// The projection is what keeps the 1.0 fixture working (`tests/contract.rs`): handed the current
    /// JSON as it is, the plugin's own copy of the 1.0 model refuses the record.
    #[test]
    fn without_the_projection_a_1_0_exporter_fails_on_a_newer_field() {
        let engine = PluginEngine::new(HostConfig { cache_dir: None, ..HostConfig::default() }).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openai-dpo-1.0");
        let manifest = Manifest::parse(&std::fs::read_to_string(dir.join("plugin.toml")).unwrap(), &dir.join("plugin.toml")).unwrap();
        let mut plugin = ExporterPlugin::load(&engine, &manifest, &std::fs::read(dir.join("plugin.wasm")).unwrap()).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let export = |plugin: &ExporterPlugin| plugin.export(&[], Box::new(One(Some(record_with_own_messages()))), dest.path(), None);
        assert_eq!(export(&plugin).expect("projected to 1.0").notes.len(), 1);

        plugin.shape = DataShape::of(ContractVersion::CURRENT);
        let err = export(&plugin).unwrap_err();
        assert_eq!(err.failure, Failure::Plugin, "{err}");
        assert!(err.message.contains("unknown field `own_messages`"), "{err}");
    }
}
