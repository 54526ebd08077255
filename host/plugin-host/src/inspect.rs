//! What a component imports and exports, checked before it may run.

use crate::manifest::API_VERSION;
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
}

/// Interfaces a plugin may import: its contract, and the parts of WASI a pure computation uses.
const ALLOWED: &[&str] = &["cairn:plugin/", "wasi:io/", "wasi:cli/", "wasi:clocks/", "wasi:random/"];

/// Checks imports and exports, and says which world the component implements.
pub fn check(engine: &Engine, component: &Component) -> Result<ComponentKind, String> {
    Ok(declared(engine, component)?.kind)
}

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
    let mut kind = None;
    for name in &exports {
        let found = if name.starts_with("cairn:plugin/task@") {
            ComponentKind::Task
        } else if name.starts_with("cairn:plugin/exporter@") {
            ComponentKind::Exporter
        } else {
            continue;
        };
        check_version(name)?;
        if kind.is_some_and(|k| k != found) {
            return Err("the component exports both the task and the exporter interface; a plugin is one or the other".to_string());
        }
        kind = Some(found);
    }
    let kind = kind.ok_or_else(|| {
        format!(
            "the component exports neither cairn:plugin/task nor cairn:plugin/exporter (it exports: {})",
            if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
        )
    })?;
    Ok(Declared { kind, imports, exports })
}

/// Refuses contract versions this host cannot serve: another major, or a newer minor.
fn check_version(name: &str) -> Result<(), String> {
    let version = name.rsplit_once('@').map(|(_, v)| v).unwrap_or("");
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let (Some(theirs), Some(ours)) = (parse(version), parse(API_VERSION)) else {
        return Err(format!("{name}: unversioned; plugins must use cairn:plugin@{API_VERSION}"));
    };
    if theirs.0 != ours.0 || theirs.1 > ours.1 {
        return Err(format!("{name}: needs a host with cairn:plugin {version}; this host provides {API_VERSION}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_another_major_or_a_newer_minor_are_refused() {
        assert!(check_version("cairn:plugin/host@1.0.0").is_ok());
        let err = check_version("cairn:plugin/exporter@2.0.0").unwrap_err();
        assert!(err.contains("needs a host with cairn:plugin 2.0.0; this host provides 1.0.0"), "{err}");
        assert!(check_version("cairn:plugin/exporter@1.7.0").is_err());
        assert!(check_version("cairn:plugin/exporter").is_err());
    }
}
