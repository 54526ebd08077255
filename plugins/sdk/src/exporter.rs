//! The exporter side: a trait, the records a run reads, the files it writes.

use crate::bindings::cairn::plugin::export_io::{Dataset, Output as HostOutput};
use crate::bindings::cairn::plugin::types as wit_types;
use crate::bindings::exports::cairn::plugin::exporter as wit;
use crate::info::{ExporterInfo, Options, Summary};
use cairn_model::ExportRecord;

/// An exporter plugin. `describe` says what it reads and which options it takes; `run` streams the
/// records and writes files through `out`.
pub trait Exporter {
    fn describe() -> ExporterInfo;
    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String>;
}

/// The records of the export, pulled from the host in batches.
pub struct Records<'a> {
    source: Source<'a>,
    batch: std::vec::IntoIter<String>,
    index: u64,
    total: u64,
}

enum Source<'a> {
    Host(&'a Dataset),
    Memory(std::vec::IntoIter<String>),
}

/// Records per host call: large enough that call costs vanish, small enough to keep memory flat.
const BATCH: u32 = 512;

impl<'a> Records<'a> {
    fn from_host(dataset: &'a Dataset) -> Self {
        let total = dataset.info().records;
        Records { source: Source::Host(dataset), batch: Vec::new().into_iter(), index: 0, total }
    }

    /// Records from memory, for testing an exporter's logic natively.
    pub fn from_json_lines(lines: Vec<String>) -> Records<'static> {
        let total = lines.len() as u64;
        Records { source: Source::Memory(lines.into_iter()), batch: Vec::new().into_iter(), index: 0, total }
    }

    /// How many records the export holds in all.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl Iterator for Records<'_> {
    type Item = Result<ExportRecord, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match &mut self.source {
            Source::Memory(lines) => lines.next()?,
            Source::Host(dataset) => match self.batch.next() {
                Some(line) => line,
                None => {
                    self.batch = dataset.next_batch(BATCH).into_iter();
                    self.batch.next()?
                }
            },
        };
        let index = self.index;
        self.index += 1;
        Some(serde_json::from_str(&line).map_err(|e| format!("record {index}: {e}")))
    }
}

/// Files written through the host, buffered so each host call moves a large block.
pub struct Output<'a> {
    sink: Sink<'a>,
    buffer: Vec<u8>,
    open: bool,
}

enum Sink<'a> {
    Host(&'a HostOutput),
    /// (path, bytes) per file, for native tests.
    Memory(Vec<(String, Vec<u8>)>),
}

const FLUSH_AT: usize = 256 * 1024;

impl<'a> Output<'a> {
    fn to_host(output: &'a HostOutput) -> Self {
        Output { sink: Sink::Host(output), buffer: Vec::with_capacity(FLUSH_AT), open: false }
    }

    /// An output that keeps files in memory, for testing an exporter's logic natively.
    pub fn in_memory() -> Output<'static> {
        Output { sink: Sink::Memory(Vec::new()), buffer: Vec::new(), open: false }
    }

    /// Starts a file at a relative, `/`-separated path; later writes go to it.
    pub fn create(&mut self, path: &str) -> Result<(), String> {
        self.flush_buffer()?;
        match &mut self.sink {
            Sink::Host(host) => host.create_file(path)?,
            Sink::Memory(files) => files.push((path.to_string(), Vec::new())),
        }
        self.open = true;
        Ok(())
    }

    /// Writes any buffered bytes to the host.
    pub fn finish(&mut self) -> Result<(), String> {
        self.flush_buffer()
    }

    /// The files written so far (in-memory outputs only).
    pub fn files(&mut self) -> Vec<(String, Vec<u8>)> {
        let _ = self.flush_buffer();
        match &self.sink {
            Sink::Host(_) => Vec::new(),
            Sink::Memory(files) => files.clone(),
        }
    }

    fn flush_buffer(&mut self) -> Result<(), String> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        match &mut self.sink {
            Sink::Host(host) => host.write(&self.buffer)?,
            Sink::Memory(files) => files.last_mut().ok_or("no file created")?.1.extend_from_slice(&self.buffer),
        }
        self.buffer.clear();
        Ok(())
    }
}

impl std::io::Write for Output<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if !self.open {
            return Err(std::io::Error::other("write before any file was created"));
        }
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= FLUSH_AT {
            self.flush_buffer().map_err(std::io::Error::other)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_buffer().map_err(std::io::Error::other)
    }
}

/// A file an in-memory export wrote: (path, bytes).
pub type WrittenFile = (String, Vec<u8>);

/// Runs an exporter natively on records in memory, with its declared defaults under `options`: what a
/// plugin's unit tests need. Returns the summary and each file written (path, bytes).
pub fn run_in_memory<T: Exporter>(records: &[ExportRecord], options: &[(&str, &str)]) -> Result<(Summary, Vec<WrittenFile>), String> {
    let lines = records.iter().map(|r| serde_json::to_string(r).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    let options = Options::new(&T::describe().options, options.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut out = Output::in_memory();
    let summary = T::run(&options, &mut Records::from_json_lines(lines), &mut out)?;
    Ok((summary, out.files()))
}

/// Connects an [`Exporter`] to the generated bindings; used by [`export_exporter!`].
#[doc(hidden)]
pub struct ExporterAdapter<T>(std::marker::PhantomData<T>);

impl<T: Exporter> wit::Guest for ExporterAdapter<T> {
    fn describe() -> wit::ExporterInfo {
        let info = T::describe();
        wit::ExporterInfo {
            id: info.id,
            name: info.name,
            description: info.description,
            accepts: info.accepts,
            options: info
                .options
                .into_iter()
                .map(|o| wit_types::OptionSpec { name: o.name, description: o.description, default_value: o.default, choices: o.choices })
                .collect(),
        }
    }

    fn run(options: Vec<(String, String)>, data: &Dataset, out: &HostOutput) -> Result<wit::ExportSummary, String> {
        let options = Options::new(&[], options);
        let mut records = Records::from_host(data);
        let mut output = Output::to_host(out);
        let summary = T::run(&options, &mut records, &mut output)?;
        output.finish()?;
        Ok(wit::ExportSummary { written: summary.written, skipped: summary.skipped, notes: summary.notes })
    }
}

/// Makes the type the plugin's exporter: `export_exporter!(MyExporter);`.
#[macro_export]
macro_rules! export_exporter {
    ($exporter:ty) => {
        // Only a wasm build exports anything; native builds (unit tests) skip the component glue.
        #[cfg(target_family = "wasm")]
        type __CairnExporter = $crate::ExporterAdapter<$exporter>;
        #[cfg(target_family = "wasm")]
        $crate::bindings::__export_exporter_plugin!(__CairnExporter with_types_in $crate::bindings);
    };
}
