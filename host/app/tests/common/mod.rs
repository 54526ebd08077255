//! Input for the headless app tests: presses go in as Bevy's `KeyboardInput` messages, one update
//! each, as a window would send them. The helpers that stand for a person's key press wait until
//! the store worker has answered everything sent (`settle`), so a test can read the project right
//! after; `key` alone does not wait.

#![allow(dead_code)]

pub mod comparisons;
pub mod frames;

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput, NativeKey};
use bevy::prelude::*;
use std::time::{Duration, Instant};

/// A key going down or up, as a window sends it.
pub fn keyboard(code: KeyCode, state: ButtonState) -> KeyboardInput {
    KeyboardInput {
        key_code: code,
        logical_key: Key::Unidentified(NativeKey::Unidentified),
        state,
        text: None,
        repeat: false,
        window: Entity::PLACEHOLDER,
    }
}

pub fn key(app: &mut App, code: KeyCode, state: ButtonState) {
    app.world_mut().write_message(keyboard(code, state));
    app.update();
}

/// Updates (at least once, so that messages written are handled) until every command sent has
/// its answer applied: the changes are durable.
pub fn settle(app: &mut App) {
    app.update();
    wait_for_answers(app);
}

pub fn press(app: &mut App, code: KeyCode) {
    key(app, code, ButtonState::Pressed);
    key(app, code, ButtonState::Released);
    wait_for_answers(app);
}

/// As `settle`, without the first update: a key press has had its own.
pub fn wait_for_answers(app: &mut App) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !app.world().resource::<cairn_app::StoreLink>().idle() {
        app.update();
        assert!(Instant::now() < deadline, "the store worker did not answer");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `code` pressed while `modifiers` are held.
pub fn chord(app: &mut App, modifiers: &[KeyCode], code: KeyCode) {
    for m in modifiers {
        key(app, *m, ButtonState::Pressed);
    }
    key(app, code, ButtonState::Pressed);
    key(app, code, ButtonState::Released);
    for m in modifiers {
        key(app, *m, ButtonState::Released);
    }
    wait_for_answers(app);
}
