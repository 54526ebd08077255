//! `cairn open --screenshot <png>`: waits until an item is drawn (and the renderer has settled), saves
//! a picture of the window and exits.

use crate::Current;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use std::path::PathBuf;

/// Frames drawn with the item on screen before the picture, so fonts and layout have settled.
const SETTLE_FRAMES: u32 = 5;
/// Pictures taken while the renderer still compiles its pipelines come out blank; try again this
/// many times before saving whatever there is.
const ATTEMPTS: u32 = 60;

pub struct ScreenshotPlugin {
    pub path: PathBuf,
}

#[derive(Resource)]
struct Pending {
    path: PathBuf,
    frames: u32,
    taken: bool,
    attempts: u32,
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Pending { path: self.path.clone(), frames: 0, taken: false, attempts: 0 }).add_systems(Last, take);
    }
}

fn take(
    mut commands: Commands,
    current: Res<Current>,
    status: Res<crate::Status>,
    view: Res<State<crate::View>>,
    scene: Option<Res<crate::scene::Scene>>,
    mut pending: ResMut<Pending>,
) {
    // Ready: an item is on screen (or the queue is known to be empty); in the 3D view, the cloud is
    // drawn (or could not be read).
    let ready = match view.get() {
        crate::View::Compare => current.0.is_some() || status.queue_empty,
        crate::View::Scene => scene.is_some_and(|s| s.ready),
    };
    if pending.taken || !ready {
        return;
    }
    pending.frames += 1;
    if pending.frames < SETTLE_FRAMES {
        return;
    }
    pending.taken = true;
    pending.attempts += 1;
    commands.spawn(Screenshot::primary_window()).observe(save_when_drawn);
}

/// Saves the picture and exits, unless it is blank (one colour: nothing drawn yet), in which case
/// the next settled frame is tried.
fn save_when_drawn(captured: On<ScreenshotCaptured>, mut pending: ResMut<Pending>, mut exit: MessageWriter<AppExit>) {
    let Ok(image) = captured.image.clone().try_into_dynamic() else {
        error!("cannot read the screenshot");
        exit.write(AppExit::error());
        return;
    };
    let rgb = image.to_rgb8();
    let first = rgb.pixels().next().copied();
    let blank = rgb.pixels().all(|p| Some(*p) == first);
    if blank && pending.attempts < ATTEMPTS {
        pending.taken = false;
        pending.frames = 0;
        return;
    }
    match rgb.save(&pending.path) {
        Ok(()) => {
            exit.write(AppExit::Success);
        }
        Err(e) => {
            error!("cannot save the screenshot to {}: {e}", pending.path.display());
            exit.write(AppExit::error());
        }
    }
}
