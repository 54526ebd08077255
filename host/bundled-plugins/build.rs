//! Builds the plugin workspace (`plugins/`) for wasm32-wasip2 and embeds the bundled plugins, the way
//! wasmtime builds its own test programs: one nested cargo call per plugin kind (the SDK is compiled
//! with exactly one of its `task` / `exporter` features per call), into a target directory of its own
//! next to the outer one, so repeated builds are incremental.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/wasm_target.rs"]
mod wasm_target;

struct Plugin {
    dir: PathBuf,
    package: String,
    kind: String,
    bundled: bool,
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().and_then(Path::parent).expect("host/bundled-plugins sits two levels below the root").to_path_buf();
    let plugins_dir = root.join("plugins");
    for watched in
        ["plugins/Cargo.toml", "plugins/Cargo.lock", "plugins/sdk", "plugins/tasks", "plugins/exporters", "plugins/testing", "wit", "host/model"]
    {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_wasm_target();

    let mut plugins = Vec::new();
    for (group, bundled) in [("tasks", true), ("exporters", true), ("testing", false)] {
        let Ok(entries) = std::fs::read_dir(plugins_dir.join(group)) else { continue };
        let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("plugin.toml").is_file()).collect();
        dirs.sort();
        for dir in dirs {
            let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
            let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            plugins.push(Plugin { package: value_of(&cargo, "name"), kind: value_of(&manifest, "kind"), dir, bundled });
        }
    }

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let target_dir = wasm_target_dir(&out_dir);
    for kind in ["task", "exporter"] {
        let packages: Vec<&Plugin> = plugins.iter().filter(|p| p.kind == kind).collect();
        if packages.is_empty() {
            continue;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .arg("build")
            .arg("--release")
            .args(["--target", "wasm32-wasip2"])
            .arg("--manifest-path")
            .arg(plugins_dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir);
        for p in &packages {
            command.args(["-p", &p.package]);
        }
        // The outer build's flags and target are for the host, not for the plugins.
        for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", "CARGO_BUILD_RUSTFLAGS"] {
            command.env_remove(var);
        }
        let status = command.status().expect("cannot run cargo to build the plugins");
        assert!(status.success(), "building the {kind} plugins in {} failed (see the errors above)", plugins_dir.display());
    }

    let wasm_of = |p: &Plugin| target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", p.package.replace('-', "_")));
    let mut code = String::from("/// (plugin.toml, component) of every bundled plugin.\npub static BUNDLED: &[(&str, &[u8])] = &[\n");
    for p in plugins.iter().filter(|p| p.bundled) {
        writeln!(code, "    (include_str!({:?}), include_bytes!({:?})),", p.dir.join("plugin.toml"), wasm_of(p)).unwrap();
    }
    code.push_str("];\n");

    // Test plugins are laid out as a plugin directory (one folder per plugin) for the tests to load.
    let testing = out_dir.join("testing-plugins");
    for p in plugins.iter().filter(|p| !p.bundled) {
        let dir = testing.join(p.dir.file_name().unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(p.dir.join("plugin.toml"), dir.join("plugin.toml")).unwrap();
        std::fs::copy(wasm_of(p), dir.join("plugin.wasm")).unwrap();
    }
    writeln!(
        code,
        "/// A plugin directory holding the misbehaving plugins the sandbox is tested against.\npub const TESTING_PLUGIN_DIR: &str = {:?};",
        testing
    )
    .unwrap();
    writeln!(
        code,
        "/// The plugin workspace these were built from (for scaffolding new plugins against its SDK).\npub const PLUGINS_SOURCE_DIR: &str = {:?};",
        plugins_dir
    )
    .unwrap();
    writeln!(
        code,
        "/// The target directory the plugins were built in (reusable by scaffolded plugins).\npub const WASM_TARGET_DIR: &str = {:?};",
        target_dir
    )
    .unwrap();
    std::fs::write(out_dir.join("bundled.rs"), code).unwrap();
}

/// Checks for the plugin target before anything is compiled for it: adds it with rustup when rustup
/// manages this toolchain (`rust-toolchain.toml` lists it, but rustup adds listed targets only when it
/// installs the toolchain), or stops at once with the command to run.
fn ensure_wasm_target() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc).args(["--print", "sysroot"]).output().expect("cannot run rustc --print sysroot");
    assert!(output.status.success(), "rustc --print sysroot failed: {}", String::from_utf8_lossy(&output.stderr));
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    let rustup = || {
        let mut command = Command::new("rustup");
        // rustup's own settings for this build must not pick another toolchain than the one asked for.
        command.env_remove("RUSTUP_TOOLCHAIN");
        command
    };
    let rustup_available = toolchain.is_some() && rustup().arg("--version").output().is_ok_and(|o| o.status.success());
    match wasm_target::decide(&sysroot, rustup_available, toolchain.as_deref()) {
        wasm_target::Action::Ready => {}
        wasm_target::Action::Install(args) => {
            println!("cargo:warning=the {} target was missing; adding it: rustup {}", wasm_target::TARGET, args.join(" "));
            let status = rustup().args(&args).status().expect("cannot run rustup");
            assert!(
                status.success() && wasm_target::has_target(&sysroot),
                "could not add the {} target; run: rustup {}",
                wasm_target::TARGET,
                args.join(" ")
            );
        }
        wasm_target::Action::Stop(message) => panic!("{message}"),
    }
}

/// `name = "value"` from a TOML file's top-level table (the manifests here are simple and ours).
fn value_of(toml: &str, key: &str) -> String {
    toml.lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
        .next()
        .unwrap_or_else(|| panic!("no `{key}` in a plugin's manifest"))
}

/// `<outer target dir>/wasm-plugins`: the outer target directory is the ancestor of OUT_DIR that
/// holds cargo's CACHEDIR.TAG. Falls back to OUT_DIR.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    out_dir.ancestors().find(|a| a.join("CACHEDIR.TAG").is_file()).unwrap_or(out_dir).join("wasm-plugins")
}
