//! The host's side of an export while it runs: the records it reads, in the plugin's data shape, and
//! the destination it writes to. Held in the plugin's store; the `export-io` interface calls land here.

use crate::contract::{DataShape, Part};
use crate::error::{Failure, PluginError};
use crate::output::{OutputDir, OutputError};

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

pub(crate) struct ExportState {
    source: Box<dyn RecordSource>,
    shape: DataShape,
    pub output: OutputDir,
    plugin: String,
    /// Records handed out with fields taken out that the plugin's contract version lacks.
    pub projected: u64,
}

impl ExportState {
    pub fn new(plugin: &str, source: Box<dyn RecordSource>, shape: DataShape, output: OutputDir) -> ExportState {
        ExportState { source, shape, output, plugin: plugin.to_string(), projected: 0 }
    }

    fn fail(&self, failure: Failure, message: impl Into<String>) -> wasmtime::Error {
        wasmtime::Error::new(PluginError::new(&self.plugin, "run", failure, message))
    }

    pub fn project(&self) -> String {
        self.source.project()
    }

    pub fn total(&self) -> u64 {
        self.source.total()
    }

    pub fn next_batch(&mut self, max: u32) -> wasmtime::Result<Vec<String>> {
        let batch =
            self.source.next_batch((max as usize).clamp(1, MAX_BATCH)).map_err(|e| self.fail(Failure::Host, format!("reading records: {e}")))?;
        let mut projected = 0;
        let batch = batch
            .into_iter()
            .map(|record| {
                let (record, changed) = self.shape.project(Part::Record, record);
                projected += u64::from(changed);
                record
            })
            .collect();
        self.projected += projected;
        Ok(batch)
    }

    pub fn create_file(&mut self, path: &str) -> wasmtime::Result<Result<(), String>> {
        let result = self.output.create(path);
        self.outcome(result)
    }

    pub fn write(&mut self, bytes: &[u8]) -> wasmtime::Result<Result<(), String>> {
        let result = self.output.write(bytes);
        self.outcome(result)
    }

    /// What an output call gives back: an error the plugin may handle, or one that ends the export
    /// (a refused path, a cap: no plugin has a reason to go on after those).
    fn outcome(&self, result: Result<(), OutputError>) -> wasmtime::Result<Result<(), String>> {
        match result {
            Ok(()) => Ok(Ok(())),
            Err(OutputError::Plugin(message)) => Ok(Err(message)),
            Err(OutputError::Path(message)) => Err(self.fail(Failure::InvalidResult, message)),
            Err(OutputError::Cap(cap)) => {
                Err(self.fail(Failure::OutputCap, format!("the export went over its output cap of {} MiB (manifest `limits.output-mib`)", cap >> 20)))
            }
            Err(OutputError::Files(cap)) => {
                Err(self.fail(Failure::OutputCap, format!("the export went over its cap of {cap} files (manifest `limits.output-files`)")))
            }
            Err(OutputError::Host(message)) => Err(self.fail(Failure::Host, message)),
        }
    }
}
