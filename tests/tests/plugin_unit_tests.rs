//! The bundled plugins' own unit tests (`plugins/`, a workspace of its own), run natively so that
//! `cargo test --workspace` covers them too. One cargo call per plugin kind: the SDK is built for one
//! kind at a time.

use std::path::Path;

/// Package names of the plugins under `plugins/<group>`.
fn packages(group: &str) -> Vec<String> {
    let dir = Path::new(cairn_bundled_plugins::PLUGINS_SOURCE_DIR).join(group);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("Cargo.toml"))
        .filter(|m| m.is_file())
        .map(|m| {
            let text = std::fs::read_to_string(&m).unwrap();
            let line = text.lines().find(|l| l.trim_start().starts_with("name")).unwrap();
            line.split('=').nth(1).unwrap().trim().trim_matches('"').to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_bundled_plugins_pass_their_unit_tests() {
    // Beside the wasm build's target directory, so repeated runs are incremental.
    let target = Path::new(cairn_bundled_plugins::WASM_TARGET_DIR).with_file_name("plugins-native");
    for group in ["exporters", "tasks"] {
        let packages = packages(group);
        assert!(packages.len() >= 2, "{group}: {packages:?}");
        let mut test = std::process::Command::new(env!("CARGO"));
        test.args(["test", "--offline", "--lib"]).current_dir(cairn_bundled_plugins::PLUGINS_SOURCE_DIR).env("CARGO_TARGET_DIR", &target);
        for p in &packages {
            test.args(["-p", p]);
        }
        let out = test.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{group}:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
        let passed: usize =
            text.lines().filter_map(|l| l.strip_prefix("test result: ok. ")).filter_map(|l| l.split(' ').next()?.parse::<usize>().ok()).sum();
        assert!(passed > 0, "{group}: no unit test ran:\n{text}");
    }
}
