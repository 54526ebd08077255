//! `cairn open --screenshot <png>`: waits until an item is drawn (and the renderer has settled), saves
//! a picture of the window and exits.

use crate::Current;
use bevy::prelude::*;
use bevy::render::view::screenshot::{save_to_disk, Screenshot, ScreenshotCaptured};
use std::path::PathBuf;

/// Frames drawn with the item on screen before the picture, so fonts and layout have settled.
const SETTLE_FRAMES: u32 = 5;

pub struct ScreenshotPlugin {
    pub path: PathBuf,
}

#[derive(Resource)]
struct Pending {
    path: PathBuf,
    frames: u32,
    taken: bool,
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Pending { path: self.path.clone(), frames: 0, taken: false }).add_systems(Last, take);
    }
}

fn take(mut commands: Commands, current: Res<Current>, status: Res<crate::Status>, mut pending: ResMut<Pending>) {
    // Ready: an item is on screen, or the queue is known to be empty.
    if pending.taken || (current.0.is_none() && !status.queue_empty) {
        return;
    }
    pending.frames += 1;
    if pending.frames < SETTLE_FRAMES {
        return;
    }
    pending.taken = true;
    commands
        .spawn(Screenshot::primary_window())
        .observe(save_to_disk(pending.path.clone()))
        .observe(|_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            exit.write(AppExit::Success);
        });
}
