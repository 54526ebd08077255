//! The headless app judging comparisons by key presses as fast as the queue hands them out,
//! printing `durable <revision>` for each revision the app reports durable, until it is killed.
//! Used by the crash test of the app's command path.

use bevy::input::keyboard::{Key, KeyboardInput, NativeKey};
use bevy::input::{ButtonState, InputPlugin};
use bevy::prelude::*;
use cairn_app::{AppOptions, AppSet, Current, StoreReply};
use std::io::Write;

fn report(mut replies: MessageReader<StoreReply>) {
    let mut out = std::io::stdout().lock();
    for reply in replies.read() {
        for revision in &reply.revisions {
            writeln!(out, "durable {}", revision.0).expect("stdout");
        }
    }
    out.flush().expect("stdout");
}

fn key(app: &mut App, code: KeyCode, state: ButtonState) {
    app.world_mut().write_message(KeyboardInput {
        key_code: code,
        logical_key: Key::Unidentified(NativeKey::Unidentified),
        state,
        text: None,
        repeat: false,
        window: Entity::PLACEHOLDER,
    });
    app.update();
}

fn main() {
    let project = std::env::args().nth(1).expect("usage: app-crash-child <project>");
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, InputPlugin));
    let options = AppOptions { project: project.into(), annotator: Some("app-crash-child".into()), ..AppOptions::default() };
    cairn_app::build(&mut app, &options).expect("the app starts");
    app.add_systems(Update, report.after(AppSet::Receive).before(AppSet::Apply));
    let mut n = 0u64;
    loop {
        if app.world().resource::<Current>().0.is_some() {
            n += 1;
            // Left, right, tie, both bad in turn; every fifth judgment taken back and judged again.
            let code = [KeyCode::Digit1, KeyCode::Digit2, KeyCode::Digit3, KeyCode::Digit4][(n % 4) as usize];
            key(&mut app, code, ButtonState::Pressed);
            key(&mut app, code, ButtonState::Released);
            if n.is_multiple_of(5) {
                key(&mut app, KeyCode::ControlLeft, ButtonState::Pressed);
                key(&mut app, KeyCode::KeyZ, ButtonState::Pressed);
                key(&mut app, KeyCode::KeyZ, ButtonState::Released);
                key(&mut app, KeyCode::ControlLeft, ButtonState::Released);
            }
        } else {
            app.update();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
