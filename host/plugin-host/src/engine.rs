//! The process-wide engine: compilation (with an on-disk cache of machine code), the epoch ticker
//! behind every deadline, and the linkers for the two worlds.

use crate::bindings;
use crate::error::{Failure, PluginError};
use crate::inspect::{self, ComponentKind, Declared};
use crate::manifest::{Limits, Manifest, PluginKind};
use crate::sandbox::{Caps, HostState};
use std::hash::Hasher;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

/// Epoch length: deadlines are counted in ticks of this size.
const TICK: Duration = Duration::from_millis(10);

/// What the host allows. Manifests may ask for more than the defaults, up to the maxima.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Where compiled components are kept; None compiles every time.
    pub cache_dir: Option<PathBuf>,
    pub default_memory_mib: u64,
    pub max_memory_mib: u64,
    pub default_timeout_ms: u64,
    pub max_timeout_ms: u64,
    pub default_output_mib: u64,
    pub max_output_mib: u64,
    /// Files one export may create.
    pub default_output_files: u64,
    pub max_output_files: u64,
    /// Per stream (log calls, stdout, stderr) and call.
    pub log_kib: usize,
    pub max_wasm_stack: usize,
    /// Crashes in a row after which a plugin is disabled.
    pub strikes: u32,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: dirs::cache_dir().map(|d| d.join("cairn").join("plugins")),
            default_memory_mib: 256,
            max_memory_mib: 4096,
            default_timeout_ms: 5_000,
            max_timeout_ms: 120_000,
            default_output_mib: 4096,
            max_output_mib: 64 * 1024,
            default_output_files: 1_000_000,
            max_output_files: 20_000_000,
            log_kib: 64,
            max_wasm_stack: 1 << 20,
            strikes: 3,
        }
    }
}

/// The limits one plugin gets: its manifest's wishes, clamped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Granted {
    pub caps: Caps,
    pub timeout_ms: u64,
    pub output_bytes: u64,
    pub output_files: u64,
}

/// Timings for `cairn bench plugins`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineStats {
    pub compiles: u32,
    pub compile_time: Duration,
    pub cache_loads: u32,
    pub cache_load_time: Duration,
}

pub struct PluginEngine {
    engine: Engine,
    config: HostConfig,
    pub(crate) task_linker: Linker<HostState>,
    pub(crate) exporter_linker: Linker<HostState>,
    stats: Mutex<EngineStats>,
}

impl PluginEngine {
    pub fn new(config: HostConfig) -> Result<PluginEngine, String> {
        let mut wasm = Config::new();
        wasm.epoch_interruption(true);
        wasm.max_wasm_stack(config.max_wasm_stack);
        wasm.wasm_component_model(true);
        let engine = Engine::new(&wasm).map_err(|e| format!("cannot start the plugin engine: {e:#}"))?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("cairn-plugin-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| format!("cannot start the plugin deadline thread: {e}"))?;
        let link = |kind: PluginKind| -> wasmtime::Result<Linker<HostState>> {
            let mut linker = Linker::new(&engine);
            // Only the interfaces a pure-compute plugin needs (clocks, random, io, cli streams). A
            // component importing wasi:filesystem or wasi:sockets is refused before it gets here.
            wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
            match kind {
                PluginKind::Task => bindings::task::TaskPlugin::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?,
                PluginKind::Exporter => bindings::exporter::ExporterPlugin::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?,
            }
            Ok(linker)
        };
        let task_linker = link(PluginKind::Task).map_err(|e| format!("cannot link the task world: {e:#}"))?;
        let exporter_linker = link(PluginKind::Exporter).map_err(|e| format!("cannot link the exporter world: {e:#}"))?;
        Ok(PluginEngine { engine, config, task_linker, exporter_linker, stats: Mutex::new(EngineStats::default()) })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    pub fn stats(&self) -> EngineStats {
        *self.stats.lock().expect("stats lock")
    }

    pub(crate) fn grant(&self, limits: &Limits) -> Granted {
        let c = &self.config;
        let memory_mib = limits.memory_mib.unwrap_or(c.default_memory_mib).clamp(1, c.max_memory_mib);
        let timeout_ms = limits.timeout_ms.unwrap_or(c.default_timeout_ms).clamp(10, c.max_timeout_ms);
        let output_mib = limits.output_mib.unwrap_or(c.default_output_mib).min(c.max_output_mib);
        let output_files = limits.output_files.unwrap_or(c.default_output_files).min(c.max_output_files);
        Granted {
            caps: Caps {
                memory_bytes: (memory_mib << 20) as usize,
                timeout_ticks: timeout_ms.div_ceil(TICK.as_millis() as u64).max(1),
                log_bytes: c.log_kib << 10,
            },
            timeout_ms,
            output_bytes: output_mib << 20,
            output_files,
        }
    }

    /// Compiles a component (or loads its cached machine code) and checks what it imports and
    /// exports against the manifest.
    pub fn load(&self, manifest: &Manifest, wasm: &[u8]) -> Result<Component, PluginError> {
        self.load_declared(manifest, wasm).map(|(component, _)| component)
    }

    /// [`PluginEngine::load`], and what the component declares (its contract version among it).
    pub(crate) fn load_declared(&self, manifest: &Manifest, wasm: &[u8]) -> Result<(Component, Declared), PluginError> {
        let refuse = |message: String| PluginError::new(&manifest.id, "load", Failure::Refused, message);
        manifest.verify(wasm).map_err(refuse)?;
        let component = self.compile(wasm).map_err(refuse)?;
        let declared = inspect::declared(&self.engine, &component).map_err(refuse)?;
        let expected = match manifest.kind {
            PluginKind::Task => ComponentKind::Task,
            PluginKind::Exporter => ComponentKind::Exporter,
        };
        if declared.kind != expected {
            return Err(refuse(format!("the manifest says kind = \"{}\" but the component is {}", manifest.kind.as_str(), declared.kind.describe())));
        }
        Ok((component, declared))
    }

    /// What a compiled component imports and exports, checked against what the host provides.
    pub fn inspect(&self, component: &Component) -> Result<Declared, String> {
        inspect::declared(&self.engine, component)
    }

    /// Compiles, going through the on-disk cache. The key covers the engine's configuration and
    /// wasmtime's version (its compatibility hash) and the component's bytes.
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, String> {
        let Some(dir) = &self.config.cache_dir else { return self.compile_fresh(wasm) };
        let mut key = Blake3Hasher(blake3::Hasher::new());
        std::hash::Hash::hash(&self.engine.precompile_compatibility_hash(), &mut key);
        key.0.update(wasm);
        let path = dir.join(format!("{}.cwasm", &key.0.finalize().to_hex()[..32]));
        if path.is_file() {
            let started = Instant::now();
            // SAFETY: the cache holds only files this host serialized, under a key that includes the
            // engine's compatibility hash; wasmtime still checks the header and refuses a mismatch.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => {
                    let mut stats = self.stats.lock().expect("stats lock");
                    stats.cache_loads += 1;
                    stats.cache_load_time += started.elapsed();
                    return Ok(component);
                }
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = self.compile_fresh(wasm)?;
        // A cache that cannot be written only costs time later.
        if let Ok(bytes) = component.serialize()
            && std::fs::create_dir_all(dir).is_ok()
            && let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir)
            && std::io::Write::write_all(&mut tmp, &bytes).is_ok()
        {
            let _ = tmp.persist(&path);
        }
        Ok(component)
    }

    fn compile_fresh(&self, wasm: &[u8]) -> Result<Component, String> {
        if !wasm.starts_with(b"\0asm") {
            return Err("not a WebAssembly file".to_string());
        }
        let started = Instant::now();
        let component = Component::from_binary(&self.engine, wasm).map_err(|e| {
            let text = format!("{e:#}");
            if text.contains("component") || text.contains("version") {
                format!("not a WebAssembly component (build with --target wasm32-wasip2): {text}")
            } else {
                format!("invalid component: {text}")
            }
        })?;
        let mut stats = self.stats.lock().expect("stats lock");
        stats.compiles += 1;
        stats.compile_time += started.elapsed();
        Ok(component)
    }
}

/// Feeds wasmtime's compatibility hash into BLAKE3, which is stable across runs and builds.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        u64::from_le_bytes(self.0.finalize().as_bytes()[..8].try_into().expect("8 bytes"))
    }
}
