//! Is the `wasm32-wasip2` standard library installed, and if not, what to do about it. Used by the
//! build script before it compiles any plugin (a missing target otherwise shows up only after the
//! whole host is built, as "can't find crate for `std`"), and unit-tested from the library.

use std::path::Path;

/// The target the plugins are compiled for.
pub const TARGET: &str = "wasm32-wasip2";

/// What the build does about the plugin target.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// The toolchain has the target's standard library.
    Ready,
    /// Run rustup with these arguments, then build.
    Install(Vec<String>),
    /// Stop the build with this message.
    Stop(String),
}

/// Whether `sysroot` (what `rustc --print sysroot` says) holds the target's standard library.
pub fn has_target(sysroot: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(sysroot.join("lib/rustlib").join(TARGET).join("lib")) else { return false };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name.starts_with("libstd-") && name.ends_with(".rlib")
    })
}

/// The rustup arguments that add the target to `toolchain` (the active one when unknown).
pub fn rustup_args(toolchain: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = ["target", "add", TARGET].map(String::from).into();
    if let Some(t) = toolchain {
        args.extend(["--toolchain".to_string(), t.to_string()]);
    }
    args
}

/// Decides from the sysroot, whether rustup manages this toolchain, and the toolchain's name (rustup
/// sets `RUSTUP_TOOLCHAIN` for the tools it starts).
pub fn decide(sysroot: &Path, rustup_available: bool, toolchain: Option<&str>) -> Action {
    if has_target(sysroot) {
        return Action::Ready;
    }
    if rustup_available {
        return Action::Install(rustup_args(toolchain));
    }
    Action::Stop(format!(
        "the Rust standard library for {TARGET} is not installed in {} (the bundled plugins are built for it). \
         With rustup, run: rustup {}; with a distribution's Rust, install its {TARGET} standard library package",
        sysroot.display(),
        rustup_args(toolchain).join(" "),
    ))
}
