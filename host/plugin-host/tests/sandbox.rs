//! Misbehaving plugins, each a real component built from `plugins/testing`: for every one the host
//! survives, the error names the plugin, the call and the cause, nothing lands in the destination,
//! and the next call to a well-behaved plugin works.

use cairn_plugin_host::{ExporterPlugin, Failure, HostConfig, PluginEngine, PluginError, RecordSource, Registry, TaskPlugin};
use std::path::Path;
use std::sync::OnceLock;

/// Tight limits so the tests are quick: 300 ms without progress, 64 MiB of memory, 16 MiB of output,
/// 1,000 files (plugins may ask for up to 5,000).
fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        PluginEngine::new(HostConfig {
            cache_dir: None,
            default_timeout_ms: 300,
            default_memory_mib: 64,
            default_output_mib: 16,
            max_output_mib: 16,
            default_output_files: 1_000,
            max_output_files: 5_000,
            ..HostConfig::default()
        })
        .unwrap()
    })
}

fn registry() -> Registry {
    Registry::discover(&[], Some(Path::new(cairn_bundled_plugins::TESTING_PLUGIN_DIR)), None)
}

fn hostile() -> ExporterPlugin {
    registry().get("hostile-exporter").expect("built by cairn-bundled-plugins").load_exporter(engine()).unwrap()
}

/// Records from memory, in the shape the store hands out.
struct Fixed(Vec<String>);

impl RecordSource for Fixed {
    fn project(&self) -> String {
        "test".into()
    }
    fn total(&self) -> u64 {
        self.0.len() as u64
    }
    fn next_batch(&mut self, max: usize) -> Result<Vec<String>, String> {
        let n = max.min(self.0.len());
        Ok(self.0.drain(..n).collect())
    }
}

fn records(n: usize) -> Box<dyn RecordSource> {
    let lines = (0..n)
        .map(|i| {
            serde_json::json!({
                "key": format!("item-{i}"),
                "dataset": "d",
                "item": {"kind": "comparison", "messages": [{"role": "user", "content": "q"}],
                         "responses": [{"content": "a"}, {"content": "b"}]},
                "annotations": [],
            })
            .to_string()
        })
        .collect();
    Box::new(Fixed(lines))
}

fn run(plugin: &ExporterPlugin, behaviour: &str, dest: &Path) -> Result<cairn_plugin_host::ExportOutcome, PluginError> {
    plugin.export(&[("behaviour".into(), behaviour.into())], records(3), dest, None)
}

fn many_files(plugin: &ExporterPlugin, files: u64, dest: &Path) -> Result<cairn_plugin_host::ExportOutcome, PluginError> {
    plugin.export(&[("behaviour".into(), "many-files".into()), ("files".into(), files.to_string())], records(3), dest, None)
}

/// The failure is the expected one, the destination is empty, and the same plugin then works.
#[track_caller]
fn expect_contained(plugin: &ExporterPlugin, behaviour: &str, failure: Failure, words: &str) {
    let dest = tempfile::tempdir().unwrap();
    let err = run(plugin, behaviour, dest.path()).unwrap_err();
    assert_eq!(err.failure, failure, "{err}");
    assert_eq!(err.plugin, "hostile-exporter");
    assert_eq!(err.call, "run");
    assert!(err.to_string().contains(words), "{err}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0, "a failed export left files behind");
    let good = run(plugin, "ok", dest.path()).expect("the next call works");
    assert_eq!(good.written, 3);
    assert_eq!(std::fs::read_to_string(dest.path().join("ok.txt")).unwrap(), "item-0\nitem-1\nitem-2\n");
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() {
    let started = std::time::Instant::now();
    expect_contained(&hostile(), "loop", Failure::Timeout, "no progress for 300 ms");
    assert!(started.elapsed().as_secs() < 10, "took {:?}", started.elapsed());
}

#[test]
fn a_memory_bomb_hits_the_cap() {
    expect_contained(&hostile(), "memory", Failure::OutOfMemory, "more than its 64 MiB");
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    // Depending on frame sizes the wasm stack or the plugin's in-memory stack runs out first.
    let dest = tempfile::tempdir().unwrap();
    let failure = run(&hostile(), "recursion", dest.path()).unwrap_err().failure;
    let words = if failure == Failure::StackOverflow { "recursed past the stack limit" } else { "a recursion too deep" };
    expect_contained(&hostile(), "recursion", failure, words);
}

#[test]
fn a_panic_is_reported_with_its_message() {
    expect_contained(&hostile(), "panic", Failure::Panic, "hostile plugin panicked on purpose");
}

#[test]
fn paths_that_leave_the_destination_are_refused() {
    let outside = std::env::temp_dir().join("cairn-escape.txt");
    let _ = std::fs::remove_file(&outside);
    expect_contained(&hostile(), "dotdot", Failure::InvalidResult, "'..' would leave the destination");
    expect_contained(&hostile(), "absolute", Failure::InvalidResult, "must be relative");
    assert!(!outside.exists(), "the absolute path was written");
}

#[test]
fn names_other_systems_refuse_stop_the_export() {
    expect_contained(&hostile(), "newline-name", Failure::InvalidResult, r#"output path "labels/bad\nname.txt": control characters"#);
    expect_contained(&hostile(), "device-name", Failure::InvalidResult, "\"aux.txt\" is a device name on Windows");
    expect_contained(&hostile(), "trailing-dot", Failure::InvalidResult, "\"notes.\" ends in a dot or a space");
}

/// 200,000 one-byte files never reach the byte cap and keep the deadline alive; the file cap stops
/// them.
#[test]
fn too_many_files_are_stopped_at_the_cap() {
    expect_contained(&hostile(), "many-files", Failure::OutputCap, "cap of 1000 files (manifest `limits.output-files`)");
    let dest = tempfile::tempdir().unwrap();
    let done = many_files(&hostile(), 1_000, dest.path()).expect("exactly the cap is allowed");
    assert_eq!(done.files.len(), 1_000);
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 100, "d00 … d99, and no staging left");
}

#[test]
fn a_manifest_may_ask_for_more_files_up_to_the_host_maximum() {
    let with_limit = |files: u64| {
        let mut entry = registry().get("hostile-exporter").unwrap().clone();
        entry.manifest.limits.output_files = Some(files);
        entry.load_exporter(engine()).unwrap()
    };
    let dest = tempfile::tempdir().unwrap();
    assert_eq!(many_files(&with_limit(3_000), 3_000, dest.path()).unwrap().files.len(), 3_000);
    let dest = tempfile::tempdir().unwrap();
    let err = many_files(&with_limit(1_000_000_000), 6_000, dest.path()).unwrap_err();
    assert!(err.to_string().contains("cap of 5000 files"), "clamped to the host's maximum: {err}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

#[test]
fn output_past_the_cap_stops_the_export() {
    expect_contained(&hostile(), "huge-output", Failure::OutputCap, "output cap of 16 MiB");
}

#[test]
fn ten_gigabytes_on_stdout_are_capped_and_cut_off() {
    // Past the 64 KiB log cap every write fails; the plugin ignores that and keeps writing, copying
    // 1 MiB per call into the host without progress on its export, until the deadline.
    let plugin = hostile();
    let dest = tempfile::tempdir().unwrap();
    match run(&plugin, "stdout", dest.path()) {
        Ok(outcome) => {
            let logged: usize = outcome.log.iter().map(|l| l.message.len()).sum();
            assert!(logged <= 64 * 1024 + 100, "{logged} bytes of log kept");
            assert!(outcome.log.iter().any(|l| l.level == "stdout" && l.message.contains("cap reached")));
        }
        Err(e) => assert_eq!(e.failure, Failure::Timeout, "{e}"),
    }
    assert_eq!(run(&plugin, "ok", dest.path()).unwrap().written, 3);
}

#[test]
fn file_and_network_access_is_refused_at_load() {
    let registry = registry();
    for (id, words) in [("hostile-file", "may not use the file system"), ("hostile-socket", "wasi:sockets/")] {
        let err = registry.get(id).unwrap().load_exporter(engine()).err().expect("refused");
        assert_eq!(err.failure, Failure::Refused, "{err}");
        assert_eq!(err.call, "load");
        assert!(err.to_string().contains(words), "{err}");
    }
    // The host still loads and runs a good plugin.
    let dest = tempfile::tempdir().unwrap();
    assert_eq!(run(&hostile(), "ok", dest.path()).unwrap().written, 3);
}

#[test]
fn a_plugin_that_keeps_crashing_is_disabled() {
    let plugin = hostile();
    let dest = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        assert_eq!(run(&plugin, "panic", dest.path()).unwrap_err().failure, Failure::Panic);
    }
    let err = run(&plugin, "ok", dest.path()).unwrap_err();
    assert_eq!(err.failure, Failure::Disabled, "{err}");
    assert!(plugin.is_disabled());
    // Another instance of the same component is unaffected.
    assert_eq!(run(&hostile(), "ok", dest.path()).unwrap().written, 3);
}

#[test]
fn unknown_options_and_values_are_refused_before_running() {
    let plugin = hostile();
    let dest = tempfile::tempdir().unwrap();
    let err = plugin.export(&[("colour".into(), "red".into())], records(1), dest.path(), None).unwrap_err();
    assert!(err.to_string().contains("unknown option \"colour\"; hostile-exporter takes: behaviour"), "{err}");
    let err = run(&plugin, "explode", dest.path()).unwrap_err();
    assert!(err.to_string().contains("\"explode\" is not one of ok, loop"), "{err}");
}

fn frame(index: u32) -> cairn_model::ItemData {
    serde_json::from_value(serde_json::json!({
        "kind": "frame", "index": index,
        "source": {"path": "a.las", "byte_len": 1, "summary": {"format": "las", "point_count": 1}}
    }))
    .unwrap()
}

#[test]
fn malformed_task_results_are_caught_and_the_task_keeps_working() {
    let mut task: TaskPlugin = registry().get("malformed-task").unwrap().load_task(engine()).unwrap();
    // Even frames lead with a box of NaN sizes (null in JSON), odd frames with an unknown class.
    let err = task.prelabel(&frame(0), None, &[]).unwrap_err();
    assert_eq!(err.failure, Failure::InvalidResult, "{err}");
    assert!(err.to_string().contains("plugin malformed-task (prelabel): invalid result: proposal 0"), "{err}");
    let err = task.prelabel(&frame(1), None, &[]).unwrap_err();
    assert!(err.to_string().contains("unknown class \"spaceship\""), "{err}");
    let subject = cairn_plugin_host::Subject {
        payload: serde_json::from_value(serde_json::json!({"kind": "cuboid", "center": [0, 0, 0], "size": [1, 1, 1], "yaw": 0, "class": "car"}))
            .unwrap(),
        point_count: None,
    };
    let err = task.validate(&frame(0), std::slice::from_ref(&subject), &[]).unwrap_err();
    assert!(err.to_string().contains("names subject 4000000000, but only 1 were given"), "{err}");
    // None of that poisoned the instance: describe's classes are intact and calls still run.
    assert_eq!(task.info().classes[0].id, "car");
    assert!(!task.is_disabled());
}

#[test]
fn the_bundled_tasks_validate_real_annotations() {
    let registry = Registry::discover(
        &cairn_bundled_plugins::BUNDLED.iter().map(|&(manifest, wasm)| cairn_plugin_host::BundledPlugin { manifest, wasm }).collect::<Vec<_>>(),
        None,
        None,
    );
    let mut cuboids = registry.get("cuboid-detection").unwrap().load_task(engine()).unwrap();
    let car = cuboids.info().class("car").unwrap().clone();
    assert!(car.hotkey.is_some() && car.default_size.is_some());
    let good: cairn_model::Payload =
        serde_json::from_value(serde_json::json!({"kind": "cuboid", "center": [1, 2, 0.8], "size": [4.5, 1.9, 1.6], "yaw": 0.3, "class": "car"}))
            .unwrap();
    let bad: cairn_model::Payload = serde_json::from_value(
        serde_json::json!({"kind": "cuboid", "center": [1, 2, 0.8], "size": [4.5, 1.9, 1.6], "yaw": 0.3, "class": "spaceship"}),
    )
    .unwrap();
    let subjects = [
        cairn_plugin_host::Subject { payload: good.clone(), point_count: Some(200) },
        cairn_plugin_host::Subject { payload: bad, point_count: Some(200) },
        cairn_plugin_host::Subject { payload: good, point_count: Some(2) },
    ];
    let findings = cuboids.validate(&frame(0), &subjects, &[]).unwrap();
    assert!(findings.iter().any(|f| f.subject == 1 && f.field == "class" && f.severity == cairn_plugin_host::Severity::Error), "{findings:?}");
    assert!(findings.iter().any(|f| f.subject == 2 && f.severity == cairn_plugin_host::Severity::Warning && f.message.contains('2')), "{findings:?}");
    assert!(!findings.iter().any(|f| f.subject == 0), "{findings:?}");
    // The task's option reaches validation: with min-points=1 two points are enough.
    let findings = cuboids.validate(&frame(0), &subjects[2..], &[("min-points".into(), "1".into())]).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn exports_and_task_calls_run_on_worker_threads() {
    // The app keeps plugin calls off its frame loop: plugins must move to, and be shared with, workers.
    let plugin = std::sync::Arc::new(hostile());
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let plugin = plugin.clone();
            std::thread::spawn(move || {
                let dest = tempfile::tempdir().unwrap();
                run(&plugin, "ok", dest.path()).unwrap().written
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap(), 3);
    }
    let mut task: TaskPlugin = registry().get("malformed-task").unwrap().load_task(engine()).unwrap();
    let classes = std::thread::spawn(move || {
        let _ = task.prelabel(&frame(0), None, &[]);
        task.info().classes.len()
    });
    assert_eq!(classes.join().unwrap(), 1);
}
