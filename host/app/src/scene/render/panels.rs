//! The 3D view's panels: frame navigation and display settings on top, the boxes of the frame with
//! the plugin's findings and the selected box's numbers, class and attributes on the right, the
//! status below, labels next to boxes with findings, and the help overlay (every key).

use super::camera::{BOX_VIEW_SIZE, BoxView, MainCamera};
use super::points::{ColourMode, NodeMeshes, PointStyle};
use crate::boxes::BoxEdit;
use crate::keys::{Action, KeyMap};
use crate::scene::edit::{SceneRequest, SceneStatus, is_keyframe, track_name};
use crate::scene::{Classes, Findings, Frames, Scene, Selection, Tool, local_center};
use crate::{Annotator, Panels};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, egui};
use cairn_model::{AnnotationId, AttributeValue, Cuboid};

/// Where the panels are this frame (logical pixels), and whether the pointer is over a window
/// (export, help): clicks there are not for the 3D view.
#[derive(Resource, Default)]
pub struct PanelRects(pub Vec<Rect>, pub bool);

#[derive(Resource, Default)]
pub struct HelpOverlay(pub bool);

/// The selected box as being typed in the panel; written when a field is left.
#[derive(Default)]
pub struct Draft {
    of: Option<(AnnotationId, Cuboid)>,
    cuboid: Option<Cuboid>,
    name: String,
}

/// Keys that only change what is shown.
pub fn view_keys(
    keys: Res<ButtonInput<KeyCode>>,
    map: Res<KeyMap>,
    panels: Res<Panels>,
    mut help: ResMut<HelpOverlay>,
    mut style: ResMut<PointStyle>,
) {
    if panels.typing {
        return;
    }
    if map.just_pressed(Action::Help, &keys) {
        help.0 = !help.0;
    }
    if map.just_pressed(Action::ColourMode, &keys) {
        style.mode = style.mode.next();
    }
}

fn rect(r: egui::Rect) -> Rect {
    Rect::new(r.min.x, r.min.y, r.max.x, r.max.y)
}

/// What the panels show.
#[derive(SystemParam)]
pub struct Shown<'w> {
    scene: Res<'w, Scene>,
    frames: Res<'w, Frames>,
    classes: Res<'w, Classes>,
    findings: Res<'w, Findings>,
    selection: Res<'w, Selection>,
    status: Res<'w, SceneStatus>,
    annotator: Res<'w, Annotator>,
    map: Res<'w, KeyMap>,
    nodes: Res<'w, NodeMeshes>,
    link: Res<'w, crate::StoreLink>,
}

#[allow(clippy::too_many_arguments)]
pub fn panels(
    mut contexts: EguiContexts,
    shown: Shown,
    pictures: Res<super::camera::BoxViewImages>,
    mut help: ResMut<HelpOverlay>,
    mut style: ResMut<PointStyle>,
    mut session_panels: ResMut<Panels>,
    mut rects: ResMut<PanelRects>,
    mut requests: MessageWriter<SceneRequest>,
    mut judge: MessageWriter<crate::JudgeRequest>,
    mut tool: ResMut<Tool>,
    mut commands: Commands,
    cameras: Query<(&Camera, &GlobalTransform), With<MainCamera>>,
    mut draft: Local<Draft>,
) -> Result {
    let Shown { scene, frames, classes, findings, selection, status, annotator, map, nodes, link } = shown;
    let pictures_ids: Vec<(BoxView, egui::TextureId)> =
        pictures.0.iter().filter_map(|(v, image)| contexts.image_id(image).map(|id| (*v, id))).collect();
    let ctx = contexts.ctx_mut()?.clone();
    rects.0.clear();
    let mut typing = false;
    let mut root = egui::Ui::new(
        ctx.clone(),
        "cairn-scene-root".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
    );

    let top = egui::Panel::top("scene-bar").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            ui.strong("Cairn — 3D");
            ui.separator();
            if ui.button("◀").on_hover_text(format!("previous frame ({})", map.key_label(Action::PreviousFrame))).clicked() {
                requests.write(SceneRequest::GoToFrame(scene.frame.wrapping_sub(1)));
            }
            ui.label(format!("frame {} / {}  {}", scene.frame + 1, frames.list.len(), scene.key));
            if ui.button("▶").on_hover_text(format!("next frame ({})", map.key_label(Action::NextFrame))).clicked() {
                requests.write(SceneRequest::GoToFrame(scene.frame + 1));
            }
            ui.separator();
            let placing = matches!(*tool, Tool::Placing { .. });
            if ui
                .selectable_label(placing, "＋ New box")
                .on_hover_text(format!("click both ends of its length, then its width ({})", map.key_label(Action::NewBox)))
                .clicked()
            {
                *tool = if placing { Tool::Idle } else { Tool::Placing { points: Vec::new(), pressed_at: None, started_here: false } };
            }
            ui.separator();
            egui::ComboBox::from_id_salt("colour-mode").selected_text(format!("colour: {}", style.mode.name())).show_ui(ui, |ui| {
                for mode in ColourMode::ALL {
                    ui.selectable_value(&mut style.mode, mode, mode.name());
                }
            });
            egui::ComboBox::from_id_salt("budget").selected_text(format!("budget: {} M", style.budget / 1_000_000)).show_ui(ui, |ui| {
                for m in [1, 3, 5, 10, 20] {
                    ui.selectable_value(&mut style.budget, m * 1_000_000, format!("{m} M points"));
                }
            });
            ui.separator();
            match &annotator.0 {
                Some((_, name)) => {
                    ui.label(format!("annotator: {name}"));
                }
                None => {
                    ui.label("your name:");
                    let field = ui.add(egui::TextEdit::singleline(&mut draft.name).desired_width(100.0));
                    typing |= field.has_focus();
                    if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        judge.write(crate::JudgeRequest::SignIn(draft.name.clone()));
                    }
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(format!("Help ({})", map.key_label(Action::Help))).clicked() {
                    help.0 = !help.0;
                }
                if ui.button("Export…").on_hover_text("KITTI, OpenLABEL and every other exporter plugin").clicked() {
                    commands.queue(|world: &mut World| {
                        if let Some(mut dialog) = world.get_resource_mut::<crate::ExportDialog>() {
                            dialog.open = true;
                        }
                    });
                }
                ui.label(format!("{}: comparisons", map.key_label(Action::SwitchView)));
            });
        });
    });
    rects.0.push(rect(top.response.rect));

    let bottom = egui::Panel::bottom("scene-status").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            if let Some(stage) = &scene.loading {
                ui.spinner();
                ui.label(stage);
            } else {
                ui.label(&scene.message);
            }
            if !status.message.is_empty() {
                ui.separator();
                ui.label(&status.message);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(format!("{} points drawn", nodes.drawn));
                ui.separator();
                ui.label(crate::view::save_state(&link));
                if let Some(note) = &nodes.note {
                    ui.label(note);
                }
            });
        });
    });
    rects.0.push(rect(bottom.response.rect));

    let selected = selection.0.and_then(|s| scene.boxes.iter().find(|b| b.annotation == s));
    if selected.is_some() {
        let views = egui::Panel::bottom("box-views").show(&mut root, |ui| {
            ui.horizontal(|ui| {
                for (view, _) in &pictures.0 {
                    ui.vertical(|ui| {
                        ui.small(view.name());
                        if let Some(id) = pictures_ids.iter().find(|(v, _)| v == view).map(|(_, id)| *id) {
                            ui.image(egui::load::SizedTexture::new(id, [BOX_VIEW_SIZE.x as f32, BOX_VIEW_SIZE.y as f32]));
                        }
                    });
                }
            });
        });
        rects.0.push(rect(views.response.rect));
    }
    // Start the draft again when the selection or the stored box changes.
    let stored = selected.map(|b| (b.annotation, b.cuboid.clone()));
    if draft.of != stored {
        draft.of = stored;
        draft.cuboid = selected.map(|b| b.cuboid.clone());
    }

    let right = egui::Panel::right("scene-boxes").default_size(300.0).show(&mut root, |ui| {
        ui.heading("New boxes");
        ui.horizontal_wrapped(|ui| {
            for class in &classes.list {
                let [r, g, b] = class.color;
                let text = egui::RichText::new(format!("{} {}", class.hotkey.map(String::from).unwrap_or_default(), class.name))
                    .color(egui::Color32::from_rgb(r, g, b));
                if ui.selectable_label(classes.current == class.id, text).clicked() {
                    requests.write(SceneRequest::Edit(BoxEdit::Class(class.id.clone())));
                }
            }
        });
        if let Some(e) = &classes.error {
            ui.colored_label(egui::Color32::LIGHT_RED, e);
        }
        let clashes = classes.hotkey_clashes(&map);
        if !clashes.is_empty() {
            ui.colored_label(egui::Color32::from_rgb(255, 180, 90), format!("class hotkeys not used: {}", clashes.join("; ")));
        }
        ui.separator();
        ui.heading(format!("Boxes ({})", scene.boxes.len()));
        egui::ScrollArea::vertical().id_salt("box-list").max_height(220.0).show(ui, |ui| {
            for b in &scene.boxes {
                let found = findings.by_box.get(&b.annotation).map_or(0, Vec::len);
                let points = findings.points.get(&b.annotation).map_or(String::from("…"), |n| n.to_string());
                let mut text = format!("#{}  {}  track {}  {} pts", b.annotation.0, b.cuboid.class, track_name(&b.cuboid), points);
                if !is_keyframe(&b.cuboid) {
                    text.push_str("  (interpolated)");
                }
                if found > 0 {
                    text.push_str(&format!("  ⚠ {found}"));
                }
                if ui.selectable_label(selection.0 == Some(b.annotation), text).clicked() {
                    requests.write(SceneRequest::Select(Some(b.annotation)));
                }
            }
        });
        ui.separator();
        let (Some(b), Some(cuboid)) = (selected, draft.cuboid.as_mut()) else {
            ui.label("Click a box to select it; double-click an object for a new box there.");
            return;
        };
        ui.heading(format!("Box #{} · track {}", b.annotation.0, track_name(&b.cuboid)));
        let mut commit = false;
        egui::Grid::new("box-numbers").num_columns(4).show(ui, |ui| {
            let mut field = |ui: &mut egui::Ui, label: &str, value: &mut f64, speed: f64, decimals: usize| {
                ui.label(label);
                let r = ui.add(egui::DragValue::new(value).speed(speed).max_decimals(decimals).min_decimals(decimals));
                typing |= r.has_focus();
                commit |= r.drag_stopped() || r.lost_focus();
            };
            field(ui, "x", &mut cuboid.center[0], 0.05, 3);
            field(ui, "length", &mut cuboid.size[0], 0.05, 3);
            ui.end_row();
            field(ui, "y", &mut cuboid.center[1], 0.05, 3);
            field(ui, "width", &mut cuboid.size[1], 0.05, 3);
            ui.end_row();
            field(ui, "z", &mut cuboid.center[2], 0.05, 3);
            field(ui, "height", &mut cuboid.size[2], 0.05, 3);
            ui.end_row();
            let mut degrees = cuboid.yaw.to_degrees();
            field(ui, "yaw °", &mut degrees, 0.5, 1);
            cuboid.yaw = cairn_model::normalize_angle(degrees.to_radians());
            ui.end_row();
        });
        egui::ComboBox::from_label("class").selected_text(cuboid.class.clone()).show_ui(ui, |ui| {
            for class in &classes.list {
                if ui.selectable_value(&mut cuboid.class, class.id.clone(), &class.name).clicked() {
                    commit = true;
                }
            }
        });
        for attribute in classes.attributes.iter().filter(|a| a.id != crate::scene::edit::INTERPOLATED) {
            let mut on = matches!(cuboid.attributes.get(&attribute.id), Some(AttributeValue::Bool(true)));
            if ui.checkbox(&mut on, &attribute.name).changed() {
                if on {
                    cuboid.attributes.insert(attribute.id.clone(), AttributeValue::Bool(true));
                } else {
                    cuboid.attributes.remove(&attribute.id);
                }
                commit = true;
            }
        }
        ui.horizontal(|ui| {
            if ui.button(format!("Fit ({})", map.key_label(Action::AutoFit))).clicked() {
                requests.write(SceneRequest::Edit(BoxEdit::AutoFit));
            }
            if ui.button(format!("Copy to next frame ({})", map.key_label(Action::CopyToNextFrame))).clicked() {
                requests.write(SceneRequest::Edit(BoxEdit::CopyToNextFrame));
            }
        });
        ui.horizontal(|ui| {
            if ui.button(format!("Interpolate track ({})", map.key_label(Action::Interpolate))).clicked() {
                requests.write(SceneRequest::Edit(BoxEdit::Interpolate));
            }
            if ui.button("Delete").clicked() {
                requests.write(SceneRequest::Edit(BoxEdit::Delete));
            }
        });
        if commit && *cuboid != b.cuboid {
            requests.write(SceneRequest::Edit(BoxEdit::Replace(b.annotation, cuboid.clone())));
        }
        for finding in findings.by_box.get(&b.annotation).into_iter().flatten() {
            ui.colored_label(egui::Color32::from_rgb(255, 180, 90), finding);
        }
    });
    let view_right = right.response.rect.min.x;
    rects.0.push(rect(right.response.rect));
    // Text fields of other windows (the export dialog) take the keys too.
    session_panels.typing = typing || ctx.egui_wants_keyboard_input();
    // Over a window (export, help): the panels above sit on the background layer, which covers
    // the whole screen, so only the layers above it count.
    rects.1 = ctx.input(|i| i.pointer.hover_pos()).and_then(|at| ctx.layer_id_at(at)).is_some_and(|layer| layer.order != egui::Order::Background);

    // Findings next to their boxes, and names on the box views.
    if let Ok((camera, transform)) = cameras.single() {
        for b in &scene.boxes {
            let Some(found) = findings.by_box.get(&b.annotation).filter(|f| !f.is_empty()) else { continue };
            let top = local_center(scene.origin, &b.cuboid) + Vec3::Z * (b.cuboid.size[2] as f32 / 2.0 + 0.3);
            // Beside the box, kept to the 3D view (the full text is in the panel).
            if let Ok(at) = camera.world_to_viewport(transform, top)
                && at.x < view_right - 40.0
            {
                let mut text: String = found[0].chars().take(48).collect();
                if found[0].chars().count() > 48 {
                    text.push('…');
                }
                egui::Area::new(egui::Id::new(("finding", b.annotation.0))).fixed_pos(egui::pos2(at.x, at.y)).interactable(false).show(&ctx, |ui| {
                    ui.set_max_width((view_right - at.x - 8.0).max(40.0));
                    ui.colored_label(egui::Color32::from_rgb(255, 180, 90), format!("⚠ {text}"));
                });
            }
        }
    }
    if help.0 {
        let window = egui::Window::new("Keys").open(&mut help.0).default_width(520.0).show(&ctx, |ui| {
            egui::ScrollArea::vertical().max_height(560.0).show(ui, |ui| {
                egui::Grid::new("scene-keys").striped(true).show(ui, |ui| {
                    for (keys, what) in map.help(crate::View::Scene) {
                        ui.monospace(keys);
                        ui.label(what);
                        ui.end_row();
                    }
                    for class in &classes.list {
                        if let Some(key) = class.hotkey {
                            ui.monospace(key.to_uppercase().to_string());
                            ui.label(format!("class {} (selected box and new boxes)", class.name));
                            ui.end_row();
                        }
                    }
                    for (keys, what) in MOUSE {
                        ui.monospace(*keys);
                        ui.label(*what);
                        ui.end_row();
                    }
                });
                ui.label(match KeyMap::config_path() {
                    Some(path) => format!("Keys can be changed in {}.", path.display()),
                    None => "Keys can be changed in a keys.toml file (see the README).".into(),
                });
            });
        });
        if let Some(w) = window {
            rects.0.push(rect(w.response.rect));
        }
    }
    Ok(())
}

/// The mouse, for the help overlay.
pub const MOUSE: &[(&str, &str)] = &[
    ("left drag", "turn the camera around its target"),
    ("right / middle drag", "pan"),
    ("wheel", "zoom"),
    ("click", "select a box (or deselect)"),
    ("double-click", "a new box of the current class on the object under the cursor"),
    ("drag a handle", "top centre moves, arrow tip turns, side dots pull that side"),
];
