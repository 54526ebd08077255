use crate::wasm_target::{Action, TARGET, decide, has_target};
use std::path::Path;

/// A sysroot laid out as rustup installs one, with the host's standard library and optionally the
/// plugin target's.
fn sysroot(with_target: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let lib = |target: &str| dir.path().join("lib/rustlib").join(target).join("lib");
    std::fs::create_dir_all(lib("x86_64-unknown-linux-gnu")).unwrap();
    std::fs::write(lib("x86_64-unknown-linux-gnu").join("libstd-0123abcd.rlib"), b"").unwrap();
    if with_target {
        std::fs::create_dir_all(lib(TARGET)).unwrap();
        std::fs::write(lib(TARGET).join("libstd-89abcdef.rlib"), b"").unwrap();
    }
    dir
}

#[test]
fn a_sysroot_with_the_target_is_ready() {
    let root = sysroot(true);
    assert!(has_target(root.path()));
    assert_eq!(decide(root.path(), false, None), Action::Ready);
    assert_eq!(decide(root.path(), true, Some("1.95.0")), Action::Ready);
}

#[test]
fn rustup_adds_a_missing_target_to_the_toolchain_in_use() {
    let root = sysroot(false);
    assert!(!has_target(root.path()));
    assert_eq!(
        decide(root.path(), true, Some("1.95.0-x86_64-unknown-linux-gnu")),
        Action::Install(["target", "add", TARGET, "--toolchain", "1.95.0-x86_64-unknown-linux-gnu"].map(String::from).into())
    );
}

#[test]
fn without_rustup_the_build_stops_with_the_command_to_run() {
    let root = sysroot(false);
    let Action::Stop(message) = decide(root.path(), false, Some("1.95.0")) else { panic!("expected a stop") };
    assert!(message.contains("rustup target add wasm32-wasip2 --toolchain 1.95.0"), "{message}");
    assert!(message.contains(&root.path().display().to_string()), "{message}");
}

#[test]
fn an_empty_target_folder_is_not_an_installed_target() {
    let root = sysroot(false);
    std::fs::create_dir_all(root.path().join("lib/rustlib").join(TARGET).join("lib")).unwrap();
    assert!(!has_target(root.path()));
    assert!(!has_target(Path::new("/nonexistent/sysroot")));
}

/// The toolchain this test runs on can build the plugins (it just did, in the build script).
#[test]
fn the_build_toolchain_has_the_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::process::Command::new(rustc).args(["--print", "sysroot"]).output().unwrap();
    assert!(has_target(Path::new(String::from_utf8_lossy(&out.stdout).trim())));
}
