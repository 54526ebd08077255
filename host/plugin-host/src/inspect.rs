//! What a component imports and exports, checked before it may run.

use crate::contract::{self, ContractVersion};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Task,
    Exporter,
}

impl ComponentKind {
    pub fn describe(self) -> &'static str {
        match self {
            ComponentKind::Task => "a task plugin",
            ComponentKind::Exporter => "an exporter plugin",
        }
    }
}

/// What `cairn plugin check` prints about a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub kind: ComponentKind,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// The contract version it was built against, from its exported interface's name.
    pub contract: ContractVersion,
}

/// Interfaces a plugin may import: its contract, and the parts of WASI a pure computation uses.
const ALLOWED: &[&str] = &["cairn:plugin/", "wasi:io/", "wasi:cli/", "wasi:clocks/", "wasi:random/"];

pub fn declared(engine: &Engine, component: &Component) -> Result<Declared, String> {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    // The network first: a component that opens sockets usually pulls in the file system too.
    if let Some(name) = imports.iter().find(|n| n.starts_with("wasi:sockets/")) {
        return Err(format!("the component imports {name}: plugins may not use the network"));
    }
    if let Some(name) = imports.iter().find(|n| n.starts_with("wasi:filesystem/")) {
        return Err(format!("the component imports {name}: plugins may not use the file system (exporters write through the host's output)"));
    }
    for name in &imports {
        if !ALLOWED.iter().any(|prefix| name.starts_with(prefix)) {
            return Err(format!("the component imports {name}, which Cairn does not provide to plugins"));
        }
        if name.starts_with("cairn:plugin/") {
            check_version(name)?;
        }
    }
    let mut found_kind = None;
    for name in &exports {
        let found = if name.starts_with("cairn:plugin/task@") {
            ComponentKind::Task
        } else if name.starts_with("cairn:plugin/exporter@") {
            ComponentKind::Exporter
        } else {
            continue;
        };
        let version = check_version(name)?;
        if found_kind.is_some_and(|(k, _)| k != found) {
            return Err("the component exports both the task and the exporter interface; a plugin is one or the other".to_string());
        }
        found_kind = Some((found, version));
    }
    let (kind, contract) = found_kind.ok_or_else(|| {
        format!(
            "the component exports neither cairn:plugin/task nor cairn:plugin/exporter (it exports: {})",
            if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
        )
    })?;
    Ok(Declared { kind, imports, exports, contract })
}

/// Refuses contract versions this host cannot serve: another major, or a newer minor.
fn check_version(name: &str) -> Result<ContractVersion, String> {
    let version = name.rsplit_once('@').map(|(_, v)| v).unwrap_or("");
    if version.is_empty() {
        return Err(format!("{name}: unversioned; plugins must use cairn:plugin@{}", contract::API_VERSION));
    }
    contract::check_served(version).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_another_major_or_a_newer_minor_are_refused() {
        assert_eq!(check_version("cairn:plugin/host@1.0.0"), Ok(ContractVersion { major: 1, minor: 0 }));
        assert_eq!(check_version("cairn:plugin/host@1.1.0"), Ok(ContractVersion::CURRENT));
        let err = check_version("cairn:plugin/exporter@2.0.0").unwrap_err();
        assert_eq!(err, "cairn:plugin/exporter@2.0.0: needs cairn:plugin 2.0.0; this host provides 1.1.0");
        assert!(check_version("cairn:plugin/exporter@1.7.0").is_err());
        assert!(check_version("cairn:plugin/exporter").is_err());
    }
}
