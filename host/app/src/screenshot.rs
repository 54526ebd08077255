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

fn take(
    mut commands: Commands,
    current: Res<Current>,
    status: Res<crate::Status>,
    view: Res<crate::ActiveView>,
    scene: Option<Res<crate::scene::Scene>>,
    mut pending: ResMut<Pending>,
) {
    // Ready: an item is on screen (or the queue is known to be empty); in the 3D view, the cloud is
    // drawn (or could not be read).
    let ready = match view.0 {
        crate::View::Compare => current.0.is_some() || status.queue_empty,
        crate::View::Scene => scene.is_some_and(|s| s.ready || s.message.starts_with("cannot") || s.message.starts_with("the project has no")),
    };
    if pending.taken || !ready {
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
