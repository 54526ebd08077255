//! One plugin instance's world: what its store holds and the limits on it, the host interfaces it
//! calls, how a failed call is classified, and how failures in a row disable a plugin.

use crate::bindings::exporter::cairn::plugin::export_io::{self, DatasetInfo};
use crate::bindings::task::cairn::plugin::host::{self, LogLevel};
use crate::bindings::{DatasetHandle, OutputHandle};
use crate::error::{Failure, PluginError};
use crate::export_io::ExportState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// One line a plugin logged (through `host.log`, stdout or stderr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// The limits one instance runs under, already clamped by the host.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caps {
    pub memory_bytes: usize,
    pub timeout_ticks: u64,
    pub log_bytes: usize,
}

/// What a plugin's store holds. Built closed: WASI gets no preopens, no environment, no arguments, no
/// network and no stdin; stdout and stderr land in capped buffers.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    log: Vec<LogLine>,
    log_bytes: usize,
    caps: Caps,
    /// Bumped when an export reads or writes: a long export that keeps making progress keeps its
    /// deadline, one that stops talking to the host does not.
    pub progress: u64,
    seen_progress: u64,
    pub cancel: Option<Arc<AtomicBool>>,
    pub export: Option<ExportState>,
}

impl HostState {
    pub fn new(caps: Caps) -> Self {
        let stdout = MemoryOutputPipe::new(caps.log_bytes);
        let stderr = MemoryOutputPipe::new(caps.log_bytes);
        let wasi = WasiCtx::builder().stdout(stdout.clone()).stderr(stderr.clone()).build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(caps.memory_bytes)
            .instances(16)
            .tables(64)
            .memories(16)
            .table_elements(1 << 20)
            .trap_on_grow_failure(true)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(4096);
        HostState {
            wasi,
            table,
            limits,
            stdout,
            stderr,
            log: Vec::new(),
            log_bytes: 0,
            caps,
            progress: 0,
            seen_progress: 0,
            cancel: None,
            export: None,
        }
    }

    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    fn push_log(&mut self, level: &'static str, message: &str) {
        if self.log_bytes >= self.caps.log_bytes {
            return;
        }
        let room = self.caps.log_bytes - self.log_bytes;
        let mut message = message.to_string();
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [log cap reached]");
        }
        self.log_bytes += message.len();
        self.log.push(LogLine { level, message });
    }

    /// Everything logged so far, stdout and stderr included, and empties the buffers.
    pub fn take_log(&mut self) -> Vec<LogLine> {
        for (level, pipe) in [("stdout", self.stdout.contents()), ("stderr", self.stderr.contents())] {
            if !pipe.is_empty() {
                let text = String::from_utf8_lossy(&pipe).into_owned();
                let capped = if pipe.len() >= self.caps.log_bytes { format!("{text} [output cap reached]") } else { text };
                self.push_log(level, &capped);
            }
        }
        std::mem::take(&mut self.log)
    }

    /// The last thing the plugin wrote to stderr (a panic message, usually).
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end();
        let start = text.len().saturating_sub(600);
        let mut start = start;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text[start..].to_string()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        self.push_log(level, &message);
        Ok(())
    }
}

impl crate::bindings::task::cairn::plugin::types::Host for HostState {}

impl HostState {
    fn running_export(&mut self) -> wasmtime::Result<&mut ExportState> {
        self.export.as_mut().ok_or_else(|| wasmtime::Error::msg("export resources used outside an export"))
    }
}

impl export_io::Host for HostState {}

impl export_io::HostDataset for HostState {
    fn info(&mut self, _: Resource<DatasetHandle>) -> wasmtime::Result<DatasetInfo> {
        let export = self.running_export()?;
        Ok(DatasetInfo { project: export.project(), records: export.total() })
    }

    fn next_batch(&mut self, _: Resource<DatasetHandle>, max: u32) -> wasmtime::Result<Vec<String>> {
        self.progress += 1;
        self.running_export()?.next_batch(max)
    }

    fn drop(&mut self, handle: Resource<DatasetHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl export_io::HostOutput for HostState {
    fn create_file(&mut self, _: Resource<OutputHandle>, path: String) -> wasmtime::Result<Result<(), String>> {
        self.progress += 1;
        self.running_export()?.create_file(&path)
    }

    fn write(&mut self, _: Resource<OutputHandle>, bytes: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        self.progress += 1;
        self.running_export()?.write(&bytes)
    }

    fn drop(&mut self, handle: Resource<OutputHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

/// A store with the caps and a deadline that runs out unless an export keeps making progress (or
/// the user cancels).
pub(crate) fn new_store(engine: &wasmtime::Engine, state: HostState) -> Store<HostState> {
    let ticks = state.caps.timeout_ticks;
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_callback(move |mut ctx| {
        let state = ctx.data_mut();
        if state.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Ok(UpdateDeadline::Interrupt);
        }
        if state.progress != state.seen_progress {
            state.seen_progress = state.progress;
            return Ok(UpdateDeadline::Continue(ticks));
        }
        Ok(UpdateDeadline::Interrupt)
    });
    store
}

/// A fresh sandboxed instance: a new store, its deadline armed, then `instantiate` (a world's `*Pre`).
pub(crate) fn start<B>(
    engine: &wasmtime::Engine,
    state: HostState,
    plugin: &str,
    call: &str,
    timeout_ms: u64,
    instantiate: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<B>,
) -> Result<(Store<HostState>, B), PluginError> {
    let mut store = new_store(engine, state);
    arm(&mut store);
    match instantiate(&mut store) {
        Ok(instance) => Ok((store, instance)),
        Err(e) => Err(classify(plugin, call, e, store.data(), timeout_ms)),
    }
}

/// Re-arms the deadline before a call.
pub(crate) fn arm(store: &mut Store<HostState>) {
    let ticks = store.data().caps.timeout_ticks;
    let state = store.data_mut();
    state.seen_progress = state.progress;
    store.set_epoch_deadline(ticks);
}

/// Turns a failed call into an error that names the plugin, the call and the cause.
pub(crate) fn classify(plugin: &str, call: &str, err: wasmtime::Error, state: &HostState, timeout_ms: u64) -> PluginError {
    if let Some(host_error) = err.downcast_ref::<PluginError>() {
        return host_error.clone();
    }
    let cancelled = state.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
    let (failure, message) = match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) if cancelled => (Failure::Timeout, "cancelled".to_string()),
        Some(wasmtime::Trap::Interrupt) => (Failure::Timeout, format!("no progress for {timeout_ms} ms; the call was stopped")),
        Some(wasmtime::Trap::StackOverflow) => (Failure::StackOverflow, "the call recursed past the stack limit".to_string()),
        // Compiled Rust keeps most of its stack in linear memory; running off its end is this trap.
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            (Failure::Trap, "memory access out of bounds (a recursion too deep for the plugin's stack, or a bug in the plugin)".to_string())
        }
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            let tail = state.stderr_tail();
            let message = if tail.is_empty() { "the plugin panicked".to_string() } else { format!("the plugin panicked: {tail}") };
            (Failure::Panic, message)
        }
        Some(trap) => (Failure::Trap, trap.to_string()),
        None => {
            let text = format!("{err:#}");
            if text.contains("forcing trap when growing memory") || text.contains("memory") && text.contains("grow") {
                (Failure::OutOfMemory, format!("the plugin asked for more than its {} MiB of memory", state.caps.memory_bytes >> 20))
            } else {
                (Failure::Trap, text)
            }
        }
    };
    PluginError::new(plugin, call, failure, message)
}

/// Crashes in a row (failures that poison an instance); at the host's limit the plugin is disabled.
/// Atomic, so an exporter shared between threads counts them too.
pub(crate) struct Strikes {
    count: AtomicU32,
    max: u32,
}

impl Strikes {
    pub fn new(max: u32) -> Strikes {
        Strikes { count: AtomicU32::new(0), max }
    }

    pub fn out(&self) -> bool {
        self.count.load(Ordering::Relaxed) >= self.max
    }

    /// Refuses the call once the plugin is disabled.
    pub fn check(&self, plugin: &str, call: &str) -> Result<(), PluginError> {
        if self.out() {
            return Err(PluginError::new(plugin, call, Failure::Disabled, format!("disabled after {} failed calls in a row", self.max)));
        }
        Ok(())
    }

    /// Counts a crash, and clears the count after anything else.
    pub fn record<T>(&self, result: &Result<T, PluginError>) {
        match result {
            Err(e) if e.failure.is_crash() => {
                self.count.fetch_add(1, Ordering::Relaxed);
            }
            _ => self.count.store(0, Ordering::Relaxed),
        }
    }
}
