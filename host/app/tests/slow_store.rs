//! The frame loop never waits on the project: with every commit taking 100 ms (a slow disk, a far
//! database), 20 judgments and 50 box edits made by keys as fast as they come keep every update
//! short, land in the order made, and each is in the file (read through a second connection) as
//! soon as the app reports it durable.

mod common;

use bevy::input::mouse::MouseButtonInput;
use bevy::input::{ButtonState, InputPlugin};
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use cairn_app::scene::{Classes, Scene, Selection};
use cairn_app::{AppOptions, AppSet, Current, StoreLink, StoreReply, View};
use cairn_model::{Payload, RevisionId};
use cairn_store::{Project, RevisionAction};
use common::comparisons::add_comparisons;
use common::frames::{aim, bundled, car_centre, project};
use std::time::{Duration, Instant};

const COMMIT: Duration = Duration::from_millis(100);
/// No update may take this long: a fifth of one commit.
const LONGEST_UPDATE: Duration = Duration::from_millis(20);

/// Revisions the app has reported durable, in the order reported.
#[derive(Resource, Default)]
struct Durable(Vec<RevisionId>);

fn record(mut replies: MessageReader<StoreReply>, mut durable: ResMut<Durable>) {
    for reply in replies.read() {
        durable.0.extend(&reply.revisions);
    }
}

/// Runs updates and checks, after each, that every revision reported durable is in the file.
struct Driver {
    app: App,
    reader: Project,
    checked: usize,
    updates: Vec<Duration>,
}

impl Driver {
    fn step(&mut self) {
        let started = Instant::now();
        self.app.update();
        self.updates.push(started.elapsed());
        let durable = &self.app.world().resource::<Durable>().0;
        if durable.len() > self.checked {
            let stored: Vec<RevisionId> = self.reader.history(None).unwrap().into_iter().map(|r| r.id).collect();
            for id in &durable[self.checked..] {
                assert!(stored.contains(id), "revision {id:?} was reported durable but a second connection does not see it");
            }
            self.checked = durable.len();
        }
    }

    fn until(&mut self, what: &str, done: impl Fn(&World) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done(self.app.world()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.step();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn key(&mut self, code: KeyCode, state: ButtonState) {
        self.app.world_mut().write_message(common::keyboard(code, state));
        self.step();
    }

    fn press(&mut self, code: KeyCode) {
        self.key(code, ButtonState::Pressed);
        self.key(code, ButtonState::Released);
    }

    fn mouse(&mut self, state: ButtonState) {
        self.app.world_mut().write_message(MouseButtonInput { button: MouseButton::Left, state, window: Entity::PLACEHOLDER });
        self.step();
    }
}

#[test]
fn with_100_ms_commits_the_frame_loop_keeps_running_and_every_change_lands_in_order() {
    let (_dir, path) = project(1);
    add_comparisons(&mut Project::open(&path).unwrap(), 25, 2);
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, InputPlugin)).insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(100)));
    let options = AppOptions {
        project: path.clone(),
        annotator: Some("tester".into()),
        plugins: bundled(),
        view: View::Compare,
        commit_delay: Some(COMMIT),
        ..AppOptions::default()
    };
    cairn_app::build(&mut app, &options).unwrap();
    app.init_resource::<Durable>().add_systems(Update, record.after(AppSet::Receive).before(AppSet::Apply));
    let mut driver = Driver { app, reader: Project::open(&path).unwrap(), checked: 0, updates: Vec::new() };

    // 20 judgments: each key as soon as the next item is on screen.
    let mut judged = Vec::new();
    for i in 0..20 {
        driver.until("the next item", |w| w.resource::<Current>().0.is_some());
        let key = driver.app.world().resource::<Current>().0.as_ref().unwrap().key.clone();
        judged.push(key);
        driver.press(if i % 2 == 0 { KeyCode::Digit1 } else { KeyCode::Digit2 });
    }

    // The 3D view: a box by a double click on the car, then 50 edit keys without waiting.
    driver.app.world_mut().resource_mut::<NextState<View>>().set(View::Scene);
    driver.until("the frame and the cuboid task", |w| {
        let scene = w.resource::<Scene>();
        scene.cloud.is_some() && scene.loading.is_none() && w.resource::<Classes>().loaded
    });
    let c0 = car_centre(0).truncate();
    aim(&mut driver.app, c0, Vec2::new(300.0, 300.0));
    for state in [ButtonState::Pressed, ButtonState::Released, ButtonState::Pressed, ButtonState::Released] {
        driver.mouse(state);
    }
    driver.until("the new box", |w| w.resource::<Selection>().0.is_some());
    let id = driver.app.world().resource::<Selection>().0.unwrap();
    let start = match driver.reader.annotation(id).unwrap().unwrap().payload {
        Payload::Cuboid(c) => c,
        other => panic!("{other:?}"),
    };
    for i in 0..50 {
        driver.press(if i % 2 == 0 { KeyCode::ArrowUp } else { KeyCode::PageUp });
    }
    let pending_after_keys = driver.app.world().resource::<StoreLink>().unsaved();
    driver.until("every change saved", |w| w.resource::<StoreLink>().idle());

    // The frame loop never waited on a commit.
    let longest = *driver.updates.iter().max().unwrap();
    let mean = driver.updates.iter().sum::<Duration>() / driver.updates.len() as u32;
    println!(
        "{} updates with {} ms commits: longest {:.2} ms, mean {:.3} ms; {pending_after_keys} edits still unsaved when the last key was pressed",
        driver.updates.len(),
        COMMIT.as_millis(),
        longest.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3
    );
    assert!(longest < LONGEST_UPDATE, "an update took {longest:?}");
    assert!(pending_after_keys > 10, "the keys did not outrun the store ({pending_after_keys} pending): the test measures nothing");

    // Everything landed, in order: 20 verdicts on the items as shown, one box, 50 edits of it.
    let reader = Project::open(&path).unwrap();
    let tester = reader.annotator_by_name("tester").unwrap().unwrap().id;
    let history = reader.history(Some(tester)).unwrap();
    assert_eq!(history.len(), 71);
    assert!(history.windows(2).all(|w| w[0].id.0 < w[1].id.0));
    for (record, key) in history.iter().zip(&judged) {
        assert_eq!(record.action, RevisionAction::Create);
        assert_eq!(&reader.item(record.item).unwrap().key, key);
    }
    assert_eq!(history[20].action, RevisionAction::Create);
    assert!(history[21..].iter().all(|r| r.action == RevisionAction::Update && r.annotation == Some(id)));
    let Payload::Cuboid(end) = reader.annotation(id).unwrap().unwrap().payload else { panic!("a box") };
    // 25 steps of 10 cm forward along the heading and 25 of 10 cm up, exactly.
    let (s, c) = start.yaw.sin_cos();
    let want = [start.center[0] + 2.5 * c, start.center[1] + 2.5 * s, start.center[2] + 2.5];
    for k in 0..3 {
        assert!((end.center[k] - want[k]).abs() < 1e-9, "axis {k}: {:?} vs {want:?}", end.center);
    }
    assert_eq!(driver.checked, 71, "every revision was reported durable and seen by the second connection");
}
