//! A scripted session through Bevy's own input path, headless: key presses go in as `KeyboardInput`
//! messages, the store must hold exactly what was judged.

mod common;

use bevy::input::InputPlugin;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use cairn_app::{AppOptions, Current, Panels};
use cairn_model::{AnnotatorKind, Payload, Winner};
use cairn_store::{Project, QueuePolicy};
use common::comparisons::project_with;
use common::{chord, press, settle};
use std::time::Duration;

fn app(project: &std::path::Path) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, InputPlugin)).insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(100)));
    let options =
        AppOptions { project: project.to_path_buf(), annotator: Some("tester".into()), policy: QueuePolicy::default(), ..AppOptions::default() };
    cairn_app::build(&mut app, &options).unwrap();
    settle(&mut app);
    app
}

fn on_screen(app: &App) -> (String, Vec<u32>) {
    let j = app.world().resource::<Current>().0.as_ref().expect("an item on screen");
    (j.key.clone(), j.assignment.shown_order.clone())
}

#[test]
fn twenty_items_judged_by_keyboard_are_stored_canonically_with_their_orders_and_times() {
    let (_dir, path) = project_with(25, 2);
    let mut app = app(&path);
    let mut expected = Vec::new();
    for i in 0..20 {
        let (key_of_item, order) = on_screen(&app);
        let left_wins = i % 3 != 0;
        // Strength first when wanted; the winner key alone judges the pair.
        if i % 2 == 0 {
            press(&mut app, KeyCode::KeyW);
        }
        press(&mut app, if left_wins { KeyCode::Digit1 } else { KeyCode::Digit2 });
        // The slot that won, in canonical terms.
        let winning_response = if left_wins { order[0] } else { order[1] };
        expected.push((key_of_item, winning_response, order, i % 2 == 0));
    }
    let p = Project::open(&path).unwrap();
    let tester = p.annotator_by_name("tester").unwrap().unwrap();
    assert_eq!(tester.kind, AnnotatorKind::Human);
    let history = p.history(Some(tester.id)).unwrap();
    assert_eq!(history.len(), 20, "one revision per judgment");
    assert!(history.iter().all(|r| r.active_ms >= 100), "{:?}", history.iter().map(|r| r.active_ms).collect::<Vec<_>>());
    for (key_of_item, winning_response, order, strong) in expected {
        let item = p.items_by_key(&key_of_item).unwrap().remove(0);
        let annotations = p.annotations_of(item.id).unwrap();
        assert_eq!(annotations.len(), 1, "{key_of_item}");
        let Payload::Verdict(v) = &annotations[0].payload else { panic!("a verdict") };
        assert_eq!((v.a, v.b), (0, 1));
        assert_eq!(v.winner, if winning_response == 0 { Winner::A } else { Winner::B }, "{key_of_item} shown {order:?}");
        assert_eq!(v.shown_order.as_deref(), Some(&order[..]));
        assert_eq!(v.strength, strong.then_some(2));
    }
    let states = p.assignments(Some(tester.id)).unwrap();
    assert_eq!(states.iter().filter(|s| s.state == "done").count(), 20);
}

#[test]
fn ctrl_z_takes_back_the_last_submission_and_brings_the_item_back() {
    let (_dir, path) = project_with(3, 2);
    let mut app = app(&path);
    let (first, _) = on_screen(&app);
    press(&mut app, KeyCode::Digit3);
    assert_ne!(on_screen(&app).0, first);
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyZ);
    assert_eq!(on_screen(&app).0, first, "the taken-back item is on screen again");
    let p = Project::open(&path).unwrap();
    let item = p.items_by_key(&first).unwrap().remove(0);
    assert!(p.annotations_of(item.id).unwrap().is_empty(), "the verdict was undone");
    // Judged again, it is stored once.
    press(&mut app, KeyCode::Digit4);
    let p = Project::open(&path).unwrap();
    let Payload::Verdict(v) = &p.annotations_of(item.id).unwrap()[0].payload else { panic!() };
    assert_eq!(v.winner, Winner::BothBad);
}

#[test]
fn enter_without_a_winner_stores_nothing_and_skips_need_a_reason() {
    let (_dir, path) = project_with(2, 2);
    let mut app = app(&path);
    let (first, _) = on_screen(&app);
    press(&mut app, KeyCode::Enter);
    assert_eq!(on_screen(&app).0, first, "still on the same item");
    press(&mut app, KeyCode::KeyS);
    press(&mut app, KeyCode::Enter);
    assert_eq!(on_screen(&app).0, first, "a skip needs a reason");
    app.world_mut().resource_mut::<Panels>().skip_reason = Some("the prompt is cut off".into());
    press(&mut app, KeyCode::Enter);
    settle(&mut app);
    assert_ne!(on_screen(&app).0, first);
    let p = Project::open(&path).unwrap();
    let states = p.assignments(None).unwrap();
    assert_eq!(states[0].state, "skipped");
    assert_eq!(states[0].skip_reason.as_deref(), Some("the prompt is cut off"));
}

#[test]
fn three_responses_are_ranked_with_ties() {
    let (_dir, path) = project_with(1, 3);
    let mut app = app(&path);
    let (item_key, order) = on_screen(&app);
    press(&mut app, KeyCode::Digit3);
    chord(&mut app, &[KeyCode::ShiftLeft], KeyCode::Digit1);
    press(&mut app, KeyCode::Digit2);
    press(&mut app, KeyCode::Enter);
    let p = Project::open(&path).unwrap();
    let item = p.items_by_key(&item_key).unwrap().remove(0);
    let Payload::Ranking(r) = &p.annotations_of(item.id).unwrap()[0].payload else { panic!("a ranking") };
    assert_eq!(r.tiers, vec![vec![order[2], order[0]], vec![order[1]]]);
}

#[test]
fn ten_judgments_leave_through_the_export_dialog_and_show_in_the_quality_report() {
    let (dir, path) = project_with(12, 2);
    let mut app = app(&path);
    for i in 0..10 {
        press(&mut app, if i % 2 == 0 { KeyCode::Digit1 } else { KeyCode::Digit2 });
    }
    let plugins = cairn_bundled_plugins::BUNDLED.iter().map(|&(manifest, wasm)| cairn_plugin_host::BundledPlugin { manifest, wasm }).collect();
    let out = dir.path().join("trl");
    let options = AppOptions { project: path.clone(), plugins, ..AppOptions::default() };
    let plugins_of_app = cairn_app::Plugins::new(options.plugins.clone(), path.clone());
    let mut dialog = cairn_app::ExportDialog::new(&options, &plugins_of_app);
    assert_eq!(dialog.exporters[dialog.chosen], "trl-preference");
    dialog.destination = out.to_string_lossy().into_owned();
    dialog.start();
    let started = std::time::Instant::now();
    while !dialog.poll() {
        assert!(started.elapsed().as_secs() < 120, "the export did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dialog.message.starts_with("trl-preference: wrote 10"), "{}", dialog.message);
    let rows = std::fs::read_to_string(out.join("preference.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 10);
    let report = Project::open(&path).unwrap().quality(&cairn_store::QualityOptions::default()).unwrap();
    assert_eq!(report.judgments, 10);
    assert_eq!(report.annotators[0].name, "tester");
    assert_eq!(report.annotators[0].judgments, 10);
}

#[test]
fn a_task_plugin_that_cannot_load_says_why_instead_of_loading_forever() {
    let (_dir, path) = project_with(2, 2);
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, InputPlugin));
    let plugins = cairn_bundled_plugins::BUNDLED.iter().map(|&(manifest, wasm)| cairn_plugin_host::BundledPlugin { manifest, wasm }).collect();
    let options = AppOptions { project: path, annotator: Some("tester".into()), task: "no-such-task".into(), plugins, ..AppOptions::default() };
    cairn_app::build(&mut app, &options).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !app.world().resource::<cairn_app::TaskSchema>().loaded {
        assert!(std::time::Instant::now() < deadline, "still loading the guidelines");
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
    let schema = app.world().resource::<cairn_app::TaskSchema>();
    assert!(schema.guidelines.contains("no task plugin \"no-such-task\""), "{}", schema.guidelines);
    assert_eq!(schema.criteria, ["helpfulness", "harmlessness", "honesty"], "the default questions");
    let status = &app.world().resource::<cairn_app::Status>().message;
    assert!(status.contains("no-such-task"), "{status}");
}

#[test]
fn f_flags_and_unflags_by_the_stored_flag_which_a_restart_brings_back() {
    let (_dir, path) = project_with(2, 2);
    let mut app = app(&path);
    let flagged = |app: &App| {
        let j = app.world().resource::<Current>().0.as_ref().expect("an item on screen");
        (j.flagged, Project::open(&path).unwrap().is_flagged(j.assignment.id).unwrap())
    };
    assert_eq!(flagged(&app), (false, false));
    press(&mut app, KeyCode::KeyF);
    assert_eq!(flagged(&app), (true, true));
    // The status line says something else in between; F still unflags.
    app.world_mut().resource_mut::<cairn_app::Status>().message = "flagged? no: a message about something else".into();
    press(&mut app, KeyCode::KeyF);
    assert_eq!(flagged(&app), (false, false));
    press(&mut app, KeyCode::KeyF);
    drop(app);
    let app = self::app(&path);
    assert_eq!(flagged(&app), (true, true), "the open assignment comes back flagged");
}

/// The same app on a project on the PostgreSQL test server: judging by keys, and Ctrl+Z, store
/// there exactly what they would store in a file.
#[test]
fn judging_by_keys_works_the_same_on_a_server_project() {
    let Some(server) = cairn_store::testing::Scratch::new(cairn_store::Engine::Postgres, "unused") else { return };
    let (_dir, path) = project_with(6, 2);
    drop(Project::open(&path).unwrap().copy_to(&server.location).unwrap());
    let mut app = app(&server.location);
    let mut judged = Vec::new();
    for _ in 0..5 {
        judged.push(on_screen(&app).0);
        press(&mut app, KeyCode::Digit1);
    }
    chord(&mut app, &[KeyCode::ControlLeft], KeyCode::KeyZ);
    settle(&mut app);
    assert_eq!(on_screen(&app).0, judged[4], "the taken-back item is back on screen");
    let p = Project::open(&server.location).unwrap();
    let tester = p.annotator_by_name("tester").unwrap().unwrap().id;
    let live: Vec<String> = p
        .assignments(Some(tester))
        .unwrap()
        .into_iter()
        .filter(|a| !p.annotations_of(a.assignment.item).unwrap().is_empty())
        .map(|a| p.item(a.assignment.item).unwrap().key)
        .collect();
    assert_eq!(live, judged[..4], "four judgments stand, the fifth was taken back");
    assert!(p.check_derived_state().unwrap().is_empty());
}
