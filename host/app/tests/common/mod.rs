//! Keyboard input for the headless app tests: presses go in as Bevy's `KeyboardInput` messages,
//! one update each, as a window would send them.

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput, NativeKey};
use bevy::prelude::*;

pub fn key(app: &mut App, code: KeyCode, state: ButtonState) {
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

pub fn press(app: &mut App, code: KeyCode) {
    key(app, code, ButtonState::Pressed);
    key(app, code, ButtonState::Released);
}

/// `code` pressed while `modifiers` are held.
pub fn chord(app: &mut App, modifiers: &[KeyCode], code: KeyCode) {
    for m in modifiers {
        key(app, *m, ButtonState::Pressed);
    }
    press(app, code);
    for m in modifiers {
        key(app, *m, ButtonState::Released);
    }
}
