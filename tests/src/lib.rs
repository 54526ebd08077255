//! Helpers for the end-to-end tests: run the real `cairn` binary and build input files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod copc;

/// The `cairn` binary under test: `$CAIRN_BIN`, or the one cargo builds beside this test executable
/// (built on first use, so `cargo test -p cairn-e2e` alone also tests fresh code).
pub fn cairn_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CAIRN_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps");
        let bin = profile_dir.join(format!("cairn{}", std::env::consts::EXE_SUFFIX));
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "cairn-cli", "--bin", "cairn"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "cargo build of the cairn binary failed");
        bin
    })
}

/// The binary as a command with no display: `cairn demo` must not open a window in a test (the
/// screenshot tests give it one of their own under Xvfb).
pub fn cairn_command() -> Command {
    let mut command = Command::new(cairn_bin());
    command.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    command
}

pub fn cairn(args: &[&str]) -> Output {
    cairn_command().args(args).output().expect("running cairn")
}

/// Runs cairn with its address space capped at 4 GiB, so that allocating for a header's false claim
/// (tens of gigabytes) fails the run instead of going unnoticed.
pub fn cairn_capped(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" \"$@\"")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .arg(cairn_bin())
        .args(args)
        .output()
        .expect("running cairn under sh")
}

/// Runs cairn in `dir` (for commands with relative default paths).
pub fn cairn_in(dir: &Path, args: &[&str]) -> Output {
    cairn_command().current_dir(dir).args(args).output().expect("running cairn")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
#[track_caller]
pub fn expect_code(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(o), stderr(o));
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A fresh project in a temporary directory.
pub fn new_project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p.cairn");
    expect_code(&cairn(&["init", path_str(&project)]), 0);
    (dir, project)
}

/// One native-format comparison line.
pub fn comparison_line(id: &str, question: &str) -> String {
    serde_json::json!({
        "id": id,
        "messages": [{"role": "user", "content": question}],
        "responses": [{"model": "m1", "content": format!("first answer to {question}")},
                      {"model": "m2", "content": format!("second answer to {question}")}],
    })
    .to_string()
}

/// A LAS 1.2, point format 1 writer with a millimetre grid around (500,000, 5,000,000).
pub fn georeferenced_las_writer(path: &Path) -> las::Writer<std::io::BufWriter<std::fs::File>> {
    let mut builder = las::Builder::from((1, 2));
    builder.point_format = las::point::Format::new(1).unwrap();
    builder.transforms = las::Vector {
        x: las::Transform { scale: 0.001, offset: 500_000.0 },
        y: las::Transform { scale: 0.001, offset: 5_000_000.0 },
        z: las::Transform { scale: 0.001, offset: 0.0 },
    };
    las::Writer::from_path(path, builder.into_header().unwrap()).unwrap()
}

/// Writes a small uncompressed, georeferenced LAS file with `n` points using the `las` crate.
pub fn write_las(path: &Path, n: usize) {
    let mut writer = georeferenced_las_writer(path);
    for i in 0..n {
        let point = las::Point {
            x: 500_000.0 + i as f64 * 0.5,
            y: 5_000_000.0 + i as f64 * 0.25,
            z: 10.0 + i as f64 * 0.01,
            gps_time: Some(i as f64),
            ..Default::default()
        };
        writer.write_point(point).unwrap();
    }
    writer.close().unwrap();
}

/// Installs one of the misbehaving plugins from `plugins/testing` beside the projects in `dir`.
pub fn install_testing_plugin(dir: &Path, id: &str) {
    let plugin_dir = dir.join("cairn-plugins").join(id);
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let built = Path::new(cairn_bundled_plugins::TESTING_PLUGIN_DIR).join(id);
    for file in ["plugin.toml", "plugin.wasm"] {
        std::fs::copy(built.join(file), plugin_dir.join(file)).unwrap();
    }
}

/// Counts rows of a table with a read-only connection.
pub fn count(project: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}
