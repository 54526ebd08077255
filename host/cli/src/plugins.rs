//! `cairn plugin …` and `cairn export --with`: the command line over the plugin host.

use anyhow::{Context, Result, bail};
use cairn_app::records::StoreRecords;
use cairn_model::PayloadKind;
use cairn_plugin_host::{
    API_VERSION, BundledPlugin, ExporterPlugin, HostConfig, Manifest, PluginEngine, PluginKind, Registry, TaskPlugin, project_plugin_dir,
    user_plugin_dir,
};
use std::path::{Path, PathBuf};

pub fn bundled() -> Vec<BundledPlugin> {
    cairn_bundled_plugins::BUNDLED.iter().map(|&(manifest, wasm)| BundledPlugin { manifest, wasm }).collect()
}

/// Bundled plugins, then the user's, then the project's (nearer sources override).
pub fn registry(project: Option<&Path>) -> Registry {
    let project_dir = project.map(project_plugin_dir);
    Registry::discover(&bundled(), user_plugin_dir().as_deref(), project_dir.as_deref())
}

pub fn engine() -> Result<PluginEngine> {
    PluginEngine::new(HostConfig::default()).map_err(anyhow::Error::msg)
}

pub fn list(project: Option<&Path>, json: bool) -> Result<()> {
    let registry = registry(project);
    if json {
        let rows: Vec<_> = registry
            .entries()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.manifest.id,
                    "kind": e.manifest.kind.as_str(),
                    "version": e.manifest.version,
                    "source": e.source.describe(),
                    "overrides": e.overrides.iter().map(|s| s.describe()).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{:<24} {:<9} {:<9} source", "id", "kind", "version");
        for e in registry.entries() {
            let overrides = if e.overrides.is_empty() {
                String::new()
            } else {
                format!(" (overrides {})", e.overrides.iter().map(|s| s.describe()).collect::<Vec<_>>().join(", "))
            };
            println!("{:<24} {:<9} {:<9} {}{overrides}", e.manifest.id, e.manifest.kind.as_str(), e.manifest.version, e.source.describe());
        }
    }
    for problem in &registry.problems {
        eprintln!("warning: {problem}");
    }
    Ok(())
}

/// Loads a component the way the host would, calls `describe`, and prints what it declares.
pub fn check(wasm_path: &Path, manifest_path: Option<&Path>) -> Result<()> {
    let wasm = std::fs::read(wasm_path).with_context(|| format!("cannot read {}", wasm_path.display()))?;
    let beside = wasm_path.parent().unwrap_or(Path::new(".")).join("plugin.toml");
    let manifest_path = manifest_path.map(Path::to_path_buf).or_else(|| beside.is_file().then_some(beside));
    let engine = engine()?;
    let component = engine.compile(&wasm).map_err(|e| anyhow::anyhow!("{}: {e}", wasm_path.display()))?;
    let declared = engine.inspect(&component).map_err(|e| anyhow::anyhow!("{}: {e}", wasm_path.display()))?;
    let kind = match declared.kind {
        cairn_plugin_host::ComponentKind::Task => PluginKind::Task,
        cairn_plugin_host::ComponentKind::Exporter => PluginKind::Exporter,
    };
    let manifest = match &manifest_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Manifest::parse(&text, path).map_err(anyhow::Error::msg)?
        }
        None => Manifest::unnamed(kind),
    };
    println!("{}: {} for cairn:plugin {API_VERSION}", wasm_path.display(), declared.kind.describe());
    match &manifest_path {
        Some(path) => println!("manifest: {} ({} {})", path.display(), manifest.id, manifest.version),
        None => println!("manifest: none found beside it (pass --manifest to check one)"),
    }
    println!("imports: {}", declared.imports.join(", "));
    println!("exports: {}", declared.exports.join(", "));
    match kind {
        PluginKind::Exporter => {
            let plugin = ExporterPlugin::load(&engine, &manifest, &wasm)?;
            let info = plugin.info();
            println!("exporter {} ({}): {}", info.id, info.name, info.description);
            println!("accepts: {}", info.accepts.join(", "));
            print_options(&info.options);
        }
        PluginKind::Task => {
            let plugin = TaskPlugin::load(&engine, &manifest, &wasm)?;
            let info = plugin.info();
            println!("task {} ({}), {}, produces {}", info.id, info.name, info.modality.as_str(), info.produces.join(", "));
            for c in &info.classes {
                let key = c.hotkey.map(|k| format!(" key {k}")).unwrap_or_default();
                let size = c.default_size.map(|s| format!(" default {:.2}×{:.2}×{:.2} m", s[0], s[1], s[2])).unwrap_or_default();
                println!("  class {:<16} #{:02x}{:02x}{:02x}{key}{size}", c.id, c.color[0], c.color[1], c.color[2]);
            }
            for a in &info.attributes {
                println!("  attribute {} ({:?})", a.id, a.kind);
            }
            for q in &info.questions {
                println!("  question {}: {} ({:?}{})", q.id, q.prompt, q.kind, if q.required { ", required" } else { "" });
            }
            if !info.tools.is_empty() {
                println!("tools: {}", info.tools.join(", "));
            }
            print_options(&info.options);
        }
    }
    println!("ok");
    Ok(())
}

fn print_options(options: &[cairn_plugin_host::PluginOption]) {
    for o in options {
        let default = o.default.as_deref().map(|d| format!(" (default {d})")).unwrap_or_default();
        let choices = if o.choices.is_empty() { String::new() } else { format!(" [{}]", o.choices.join("|")) };
        println!("  --option {}=…{choices}{default}: {}", o.name, o.description);
    }
}

/// Parses `name=value`; a value `@path` is replaced by the file's text (e.g. a calibration file).
pub fn parse_options(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|pair| {
            let (name, value) = pair.split_once('=').with_context(|| format!("--option {pair:?}: expected name=value"))?;
            let value = match value.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("--option {name}: cannot read {path}"))?,
                None => value.to_string(),
            };
            Ok((name.to_string(), value))
        })
        .collect()
}

pub fn export(project: &Path, plugin_id: &str, options: &[String], out: &Path) -> Result<()> {
    let options = parse_options(options)?;
    // Fail on a bad project before compiling anything.
    drop(cairn_store::Project::open(project)?);
    let registry = registry(Some(project));
    let Some(entry) = registry.get(plugin_id) else {
        let exporters: Vec<_> =
            registry.entries().iter().filter(|e| e.manifest.kind == PluginKind::Exporter).map(|e| e.manifest.id.as_str()).collect();
        bail!("no exporter plugin {plugin_id:?}; available: {}", exporters.join(", "));
    };
    let engine = engine()?;
    let plugin = entry.load_exporter(&engine)?;
    plugin.check_options(&options)?;
    let kinds: Vec<PayloadKind> = plugin.info().accepts.iter().filter_map(|k| PayloadKind::parse(k)).collect();
    let records = StoreRecords::open(project, kinds)?;
    let stop = crate::stop::flag();
    let outcome =
        crate::progress::with_spinner(&format!("exporting with {plugin_id}"), || plugin.export(&options, Box::new(records), out, Some(stop.clone())));
    let outcome = match outcome {
        Err(_) if crate::stop::requested(&stop) => {
            return Err(crate::exit::Stopped(format!("the export wrote nothing to {}", out.display())).into());
        }
        other => other?,
    };
    for left in &outcome.cleaned {
        eprintln!("removed {} ({} files), left by an export that did not finish", left.path.display(), left.files);
    }
    for line in &outcome.log {
        eprintln!("{plugin_id} [{}]: {}", line.level, line.message.trim_end());
    }
    let files: Vec<String> =
        outcome.files.iter().map(|f| f.strip_prefix(out.canonicalize().unwrap_or_default()).unwrap_or(f).display().to_string()).collect();
    println!(
        "{plugin_id}: wrote {} in {} file(s), {} bytes, to {} ({}); skipped {}",
        outcome.written,
        files.len(),
        outcome.bytes,
        out.display(),
        abbreviate(&files),
        outcome.skipped
    );
    for note in &outcome.notes {
        println!("  {note}");
    }
    Ok(())
}

fn abbreviate(files: &[String]) -> String {
    match files.len() {
        0 => "no files".to_string(),
        1..=4 => files.join(", "),
        n => format!("{}, … {} more", files[..3].join(", "), n - 3),
    }
}

/// Scaffolds a plugin crate that builds and passes `cairn plugin check` as it is.
pub fn new(name: &str, kind: PluginKind, dir: &Path, sdk: Option<&Path>) -> Result<PathBuf> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') || name.starts_with('-') {
        bail!("plugin name {name:?}: use lower-case letters, digits and '-' (it becomes the plugin id)");
    }
    let sdk = match sdk {
        Some(path) => path.to_path_buf(),
        None => {
            let built_from = Path::new(cairn_bundled_plugins::PLUGINS_SOURCE_DIR).join("sdk");
            if !built_from.join("Cargo.toml").is_file() {
                bail!("cannot find the plugin SDK at {}; pass --sdk <path to plugins/sdk>", built_from.display());
            }
            built_from
        }
    };
    let sdk = sdk.canonicalize().with_context(|| format!("cannot resolve the SDK path {}", sdk.display()))?;
    let crate_dir = dir.join(name);
    if crate_dir.exists() {
        bail!("{} already exists", crate_dir.display());
    }
    std::fs::create_dir_all(crate_dir.join("src")).with_context(|| format!("cannot create {}", crate_dir.display()))?;
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{kind}}", kind.as_str())
            .replace("{{api}}", API_VERSION)
            .replace("{{sdk}}", &sdk.display().to_string())
            .replace("{{type}}", &camel(name))
    };
    let lib = match kind {
        PluginKind::Exporter => include_str!("scaffold/exporter.rs.in"),
        PluginKind::Task => include_str!("scaffold/task.rs.in"),
    };
    for (file, template) in [
        ("Cargo.toml", include_str!("scaffold/Cargo.toml.in")),
        ("plugin.toml", include_str!("scaffold/plugin.toml.in")),
        ("README.md", include_str!("scaffold/README.md.in")),
        ("rust-toolchain.toml", include_str!("../../../rust-toolchain.toml")),
        ("src/lib.rs", lib),
    ] {
        std::fs::write(crate_dir.join(file), fill(template)).with_context(|| format!("cannot write {}", crate_dir.join(file).display()))?;
    }
    Ok(crate_dir)
}

fn camel(name: &str) -> String {
    let camel: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    if camel.starts_with(|c: char| c.is_ascii_digit()) { format!("Plugin{camel}") } else { camel }
}
