//! `plugin.toml`: who a plugin is and what it asks of the host.

use crate::contract::{self, API_VERSION};
use serde::Deserialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    Task,
    Exporter,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Task => "task",
            PluginKind::Exporter => "exporter",
        }
    }
}

/// What a plugin may ask for; the host clamps each value to its own maximum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Linear memory per instance.
    pub memory_mib: Option<u64>,
    /// Time a call may run without handing back control (exports: without reading or writing).
    pub timeout_ms: Option<u64>,
    /// Bytes an export may write in all.
    pub output_mib: Option<u64>,
    /// Files an export may create.
    pub output_files: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Lower-case letters, digits and `-`; unique among the plugins in use.
    pub id: String,
    pub name: String,
    pub version: String,
    /// The `cairn:plugin` contract version it was built for.
    pub api: String,
    pub kind: PluginKind,
    #[serde(default)]
    pub description: String,
    /// The component file, relative to the manifest.
    #[serde(default = "default_wasm")]
    pub wasm: String,
    /// Hex SHA-256 of the component; checked when present.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub limits: Limits,
}

fn default_wasm() -> String {
    "plugin.wasm".to_string()
}

impl Manifest {
    /// Parses and checks a manifest; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| format!("{}: {}", origin.display(), e.to_string().trim_end()))?;
        manifest.check().map_err(|e| format!("{}: {e}", origin.display()))?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), String> {
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || self.id.starts_with('-')
        {
            return Err(format!("field `id`: {:?} must be 1-64 lower-case letters, digits and '-'", self.id));
        }
        contract::check_served(&self.api).map_err(|e| format!("field `api`: {e}"))?;
        if self.wasm.contains("..") || Path::new(&self.wasm).is_absolute() {
            return Err(format!("field `wasm`: {:?} must be a file name next to the manifest", self.wasm));
        }
        if let Some(hash) = &self.sha256
            && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("field `sha256`: expected 64 hex digits".to_string());
        }
        Ok(())
    }

    /// A stand-in for checking a bare component: the id is taken from what it describes.
    pub fn unnamed(kind: PluginKind) -> Manifest {
        Manifest {
            id: String::new(),
            name: String::new(),
            version: "0.0.0".to_string(),
            api: API_VERSION.to_string(),
            kind,
            description: String::new(),
            wasm: default_wasm(),
            sha256: None,
            limits: Limits::default(),
        }
    }

    /// Checks the component's bytes against `sha256`, when the manifest gives one.
    pub fn verify(&self, wasm: &[u8]) -> Result<(), String> {
        use sha2::Digest;
        let Some(expected) = &self.sha256 else { return Ok(()) };
        let actual: String = sha2::Sha256::digest(wasm).iter().map(|b| format!("{b:02x}")).collect();
        if actual.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(format!("{} does not match the manifest's sha256 (expected {expected}, found {actual})", self.wasm))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, Path::new("x/plugin.toml"))
    }

    #[test]
    fn a_minimal_manifest_reads_and_bad_fields_are_named() {
        let m = parse("id = \"a-1\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"1.0.0\"\nkind = \"exporter\"\n").unwrap();
        assert_eq!(m.kind, PluginKind::Exporter);
        assert_eq!(m.wasm, "plugin.wasm");
        let err = parse("id = \"A B\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"1.0.0\"\nkind = \"task\"\n").unwrap_err();
        assert!(err.starts_with("x/plugin.toml: field `id`"), "{err}");
        let err = parse("id = \"a\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"2.0.0\"\nkind = \"task\"\n").unwrap_err();
        assert!(err.ends_with("field `api`: needs cairn:plugin 2.0.0; this host provides 1.1.0"), "{err}");
        let err = parse("id = \"a\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"one\"\nkind = \"task\"\n").unwrap_err();
        assert!(err.ends_with("field `api`: \"one\" is not a version like \"1.1.0\""), "{err}");
        let err = parse("id = \"a\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"1.0.0\"\nkind = \"theme\"\n").unwrap_err();
        assert!(err.contains("kind"), "{err}");
        let err = parse("id = \"a\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"1.0.0\"\nkind = \"task\"\n[limits]\nmemory = 1\n").unwrap_err();
        assert!(err.contains("memory"), "{err}");
    }

    #[test]
    fn the_hash_is_checked_when_given() {
        let text = "id = \"a\"\nname = \"A\"\nversion = \"0.1.0\"\napi = \"1.0.0\"\nkind = \"task\"\nsha256 = \"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"\n";
        let m = parse(text).unwrap();
        assert!(m.verify(b"hello").is_ok());
        assert!(m.verify(b"hellO").unwrap_err().contains("does not match"));
    }
}
