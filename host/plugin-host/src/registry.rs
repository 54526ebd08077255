//! Finding plugins: bundled in the binary, in the user's plugin directory, in the project's. The same
//! id from a nearer source (project, then user) overrides a farther one.

use crate::engine::PluginEngine;
use crate::error::{Failure, PluginError};
use crate::exporter::ExporterPlugin;
use crate::manifest::{Manifest, PluginKind};
use crate::task::TaskPlugin;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A plugin compiled into the binary.
#[derive(Clone, Copy, Debug)]
pub struct BundledPlugin {
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginSource {
    Bundled,
    User(PathBuf),
    Project(PathBuf),
}

impl PluginSource {
    pub fn describe(&self) -> String {
        match self {
            PluginSource::Bundled => "bundled".to_string(),
            PluginSource::User(dir) => format!("user ({})", dir.display()),
            PluginSource::Project(dir) => format!("project ({})", dir.display()),
        }
    }

    /// Nearer sources win: project over user over bundled.
    fn rank(&self) -> u8 {
        match self {
            PluginSource::Bundled => 0,
            PluginSource::User(_) => 1,
            PluginSource::Project(_) => 2,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PluginEntry {
    pub manifest: Manifest,
    pub source: PluginSource,
    /// Sources of the same id this one overrides, farthest first.
    pub overrides: Vec<PluginSource>,
    wasm: Wasm,
}

#[derive(Clone, Debug)]
enum Wasm {
    Static(&'static [u8]),
    File(PathBuf),
}

impl PluginEntry {
    pub fn wasm(&self) -> Result<Cow<'static, [u8]>, PluginError> {
        match &self.wasm {
            Wasm::Static(bytes) => Ok(Cow::Borrowed(bytes)),
            Wasm::File(path) => std::fs::read(path)
                .map(Cow::Owned)
                .map_err(|e| PluginError::new(&self.manifest.id, "load", Failure::Refused, format!("cannot read {}: {e}", path.display()))),
        }
    }

    pub fn load_exporter(&self, engine: &PluginEngine) -> Result<ExporterPlugin, PluginError> {
        if self.manifest.kind != PluginKind::Exporter {
            return Err(PluginError::new(&self.manifest.id, "load", Failure::Refused, "is a task plugin, not an exporter"));
        }
        ExporterPlugin::load(engine, &self.manifest, &self.wasm()?)
    }

    pub fn load_task(&self, engine: &PluginEngine) -> Result<TaskPlugin, PluginError> {
        if self.manifest.kind != PluginKind::Task {
            return Err(PluginError::new(&self.manifest.id, "load", Failure::Refused, "is an exporter, not a task plugin"));
        }
        TaskPlugin::load(engine, &self.manifest, &self.wasm()?)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: Vec<PluginEntry>,
    /// Manifests that could not be read, with why; listed, never fatal.
    pub problems: Vec<String>,
}

impl Registry {
    /// Collects plugins from every source. A plugin directory holds one sub-directory per plugin, each
    /// with `plugin.toml` and the component it names.
    pub fn discover(bundled: &[BundledPlugin], user_dir: Option<&Path>, project_dir: Option<&Path>) -> Registry {
        let mut registry = Registry::default();
        for plugin in bundled {
            match Manifest::parse(plugin.manifest, Path::new("(bundled)/plugin.toml")) {
                Ok(manifest) => {
                    registry.add(PluginEntry { manifest, source: PluginSource::Bundled, overrides: vec![], wasm: Wasm::Static(plugin.wasm) })
                }
                Err(e) => registry.problems.push(e),
            }
        }
        if let Some(dir) = user_dir {
            registry.scan(dir, PluginSource::User);
        }
        if let Some(dir) = project_dir {
            registry.scan(dir, PluginSource::Project);
        }
        registry.entries.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
        registry
    }

    fn scan(&mut self, root: &Path, source: impl Fn(PathBuf) -> PluginSource) {
        let Ok(read) = std::fs::read_dir(root) else { return };
        let mut dirs: Vec<PathBuf> = read.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("plugin.toml").is_file()).collect();
        dirs.sort();
        for dir in dirs {
            let path = dir.join("plugin.toml");
            let manifest =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display())).and_then(|text| Manifest::parse(&text, &path));
            match manifest {
                Ok(manifest) => {
                    let wasm = dir.join(&manifest.wasm);
                    if !wasm.is_file() {
                        self.problems.push(format!("{}: field `wasm`: {} does not exist", path.display(), wasm.display()));
                        continue;
                    }
                    self.add(PluginEntry { manifest, source: source(dir), overrides: vec![], wasm: Wasm::File(wasm) });
                }
                Err(e) => self.problems.push(e),
            }
        }
    }

    fn add(&mut self, entry: PluginEntry) {
        match self.entries.iter_mut().find(|e| e.manifest.id == entry.manifest.id) {
            Some(existing) if entry.source.rank() > existing.source.rank() => {
                let mut overrides = std::mem::take(&mut existing.overrides);
                overrides.push(existing.source.clone());
                *existing = PluginEntry { overrides, ..entry };
            }
            Some(existing) => self.problems.push(format!(
                "plugin {} from {} is ignored: {} already provides it",
                entry.manifest.id,
                entry.source.describe(),
                existing.source.describe()
            )),
            None => self.entries.push(entry),
        }
    }

    /// Every plugin in use, by id.
    pub fn entries(&self) -> &[PluginEntry] {
        &self.entries
    }

    pub fn get(&self, id: &str) -> Option<&PluginEntry> {
        self.entries.iter().find(|e| e.manifest.id == id)
    }
}

/// `$CAIRN_PLUGIN_DIR`, else `<data dir>/cairn/plugins` (e.g. `~/.local/share/cairn/plugins`).
pub fn user_plugin_dir() -> Option<PathBuf> {
    std::env::var_os("CAIRN_PLUGIN_DIR").map(PathBuf::from).or_else(|| dirs::data_dir().map(|d| d.join("cairn").join("plugins")))
}

/// `cairn-plugins/` beside the project file.
pub fn project_plugin_dir(project: &Path) -> PathBuf {
    project.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("cairn-plugins")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_plugin(root: &Path, dir: &str, id: &str) {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("plugin.toml"), format!("id = \"{id}\"\nname = \"{id}\"\nversion = \"1.0.0\"\napi = \"1.0.0\"\nkind = \"exporter\"\n"))
            .unwrap();
        std::fs::write(d.join("plugin.wasm"), b"\0asm").unwrap();
    }

    #[test]
    fn nearer_sources_override_and_say_what_they_override() {
        let user = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        write_plugin(user.path(), "a", "shared");
        write_plugin(user.path(), "b", "only-user");
        write_plugin(project.path(), "a", "shared");
        std::fs::create_dir_all(project.path().join("broken")).unwrap();
        std::fs::write(project.path().join("broken/plugin.toml"), "id = 3").unwrap();
        let bundled = [BundledPlugin {
            manifest: "id = \"shared\"\nname = \"s\"\nversion = \"1.0.0\"\napi = \"1.0.0\"\nkind = \"exporter\"\n",
            wasm: b"\0asm",
        }];
        let r = Registry::discover(&bundled, Some(user.path()), Some(project.path()));
        let ids: Vec<_> = r.entries().iter().map(|e| e.manifest.id.as_str()).collect();
        assert_eq!(ids, ["only-user", "shared"]);
        let shared = r.get("shared").unwrap();
        assert!(matches!(shared.source, PluginSource::Project(_)));
        assert_eq!(shared.overrides.len(), 2);
        assert_eq!(shared.overrides[0], PluginSource::Bundled);
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].contains("broken/plugin.toml"), "{:?}", r.problems);
    }
}
