//! The comparison view, drawn with egui: the conversation, the responses side by side (blind), the
//! verdict controls, guidelines and the key help.

use crate::TaskSchema;
use crate::command::StoreLink;
use crate::judge::Judging;
use crate::keys::{Action, KeyMap};
use crate::session::{Annotator, Current, JudgeRequest, Panels, Status};
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use cairn_model::{Response, Role, Winner};
use egui_commonmark::{CommonMarkCache, CommonMarkViewer};

/// Responses longer than this many characters start collapsed.
const COLLAPSE_AT: usize = 1_500;

pub struct ViewPlugin;

impl Plugin for ViewPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Markdown>().init_resource::<NameEntry>().add_systems(EguiPrimaryContextPass, draw);
    }
}

/// Rendered-Markdown cache and the shared scroll offset of the response columns.
#[derive(Resource, Default)]
struct Markdown {
    cache: CommonMarkCache,
    scroll: f32,
}

#[derive(Resource, Default)]
struct NameEntry(String);

fn role_colour(role: Role) -> egui::Color32 {
    match role {
        Role::System | Role::Developer => egui::Color32::from_rgb(150, 150, 160),
        Role::User => egui::Color32::from_rgb(90, 160, 240),
        Role::Assistant => egui::Color32::from_rgb(120, 200, 130),
        Role::Tool => egui::Color32::from_rgb(220, 170, 80),
    }
}

#[allow(clippy::too_many_arguments)]
fn draw(
    mut contexts: EguiContexts,
    mut commands: Commands,
    annotator: Res<Annotator>,
    mut current: ResMut<Current>,
    status: Res<Status>,
    mut panels: ResMut<Panels>,
    mut markdown: ResMut<Markdown>,
    mut name: ResMut<NameEntry>,
    schema: Res<TaskSchema>,
    map: Res<KeyMap>,
    link: Res<StoreLink>,
    mut requests: MessageWriter<JudgeRequest>,
    view: Res<State<crate::View>>,
) -> Result {
    if *view.get() != crate::View::Compare {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let ctx = &ctx;
    panels.typing = ctx.egui_wants_keyboard_input();
    // egui 0.36 lays panels out inside a root Ui that covers the window.
    let mut root =
        egui::Ui::new(ctx.clone(), "cairn-root".into(), egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()));

    egui::Panel::top("bar").show(&mut root, |ui| {
        ui.horizontal(|ui| {
            ui.strong("Cairn — compare");
            ui.separator();
            match &annotator.0 {
                Some((_, who)) => ui.label(format!("judging as {who}")),
                None => ui.label("not signed in"),
            };
            ui.separator();
            ui.label(format!("{} submitted", status.submitted));
            if let Some(j) = &current.0 {
                ui.separator();
                // Gold checks look like any other item.
                ui.label(format!("item {}", j.key));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("Export…").clicked() {
                    commands.queue(|world: &mut World| {
                        if let Some(mut dialog) = world.get_resource_mut::<crate::ExportDialog>() {
                            dialog.open = true;
                        }
                    });
                }
                if ui.button("Quality").clicked() {
                    commands.queue(|world: &mut World| {
                        if let Some(mut panel) = world.get_resource_mut::<crate::QualityPanel>() {
                            panel.open = true;
                            panel.refresh();
                        }
                    });
                }
                ui.label(save_state(&link));
                ui.separator();
                let key = |action| map.key_label(action);
                ui.label(format!(
                    "{} guidelines · {} flag · {} skip · {} undo · {} 3D view",
                    key(Action::Guidelines),
                    key(Action::Flag),
                    key(Action::Skip),
                    key(Action::TakeBack),
                    key(Action::SwitchView)
                ));
            });
        });
    });
    egui::Panel::bottom("status").show(&mut root, |ui| {
        let hint = format!("{} submits.", map.key_label(Action::Submit));
        ui.label(if status.message.is_empty() { &hint } else { &status.message });
    });

    if annotator.0.is_none() {
        egui::CentralPanel::default().show(&mut root, |ui| {
            ui.heading("Who is judging?");
            ui.label("Your name is stored with every verdict you give.");
            let field = ui.text_edit_singleline(&mut name.0);
            field.request_focus();
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                requests.write(JudgeRequest::SignIn(name.0.clone()));
            }
        });
        return Ok(());
    }

    if panels.guidelines {
        egui::Window::new("Guidelines").default_width(520.0).show(ctx, |ui| {
            egui::ScrollArea::vertical().max_height(500.0).show(ui, |ui| {
                CommonMarkViewer::new().show(ui, &mut markdown.cache, &schema.guidelines);
                ui.separator();
                ui.strong("Keys");
                egui::Grid::new("keys").striped(true).show(ui, |ui| {
                    for (keys, what) in map.help(crate::View::Compare) {
                        ui.monospace(keys);
                        ui.label(what);
                        ui.end_row();
                    }
                });
            });
        });
    }

    if let Some(reason) = panels.skip_reason.as_mut() {
        egui::Window::new("Skip this item").collapsible(false).show(ctx, |ui| {
            ui.label("Why? (Enter to skip, Esc to go back)");
            ui.text_edit_singleline(reason).request_focus();
        });
    }

    egui::Panel::right("verdict").min_size(260.0).show(&mut root, |ui| {
        let Some(j) = current.0.as_mut() else {
            ui.label(if status.queue_empty { "The queue is empty." } else { "Loading…" });
            return;
        };
        controls(ui, j, &schema, &map);
        ui.separator();
        let ready = map.missing_hint(j);
        if ui.add_enabled(ready.is_none(), egui::Button::new(format!("Submit  [{}]", map.key_label(Action::Submit)))).clicked() {
            requests.write(JudgeRequest::Submit);
        } else if let Some(missing) = ready {
            ui.weak(missing.as_str());
        }
        ui.weak(if j.flagged { "flagged for review" } else { "" });
    });

    egui::CentralPanel::default().show(&mut root, |ui| {
        let Some(j) = current.0.as_ref() else { return };
        conversation(ui, j, &mut markdown.cache);
        ui.separator();
        responses(ui, j, &mut panels, &mut markdown, &map);
    });
    Ok(())
}

fn conversation(ui: &mut egui::Ui, j: &Judging, cache: &mut CommonMarkCache) {
    egui::ScrollArea::vertical().id_salt("conversation").max_height(ui.available_height() * 0.35).show(ui, |ui| {
        for m in &j.comparison.messages {
            ui.colored_label(role_colour(m.role), egui::RichText::new(m.role.as_str()).strong());
            CommonMarkViewer::new().show(ui, cache, &m.content.to_text());
            ui.add_space(6.0);
        }
    });
}

/// A side's own turns where its conversation differs from the other's before the last turn (the
/// shared turns are shown above both columns), then a heading for its reply.
fn own_turns(ui: &mut egui::Ui, response: &Response, cache: &mut CommonMarkCache) {
    if response.own_messages.is_empty() {
        return;
    }
    ui.weak("This side's conversation differs from here:");
    for m in &response.own_messages {
        ui.colored_label(role_colour(m.role), egui::RichText::new(m.role.as_str()).strong());
        CommonMarkViewer::new().show(ui, cache, &m.content.to_text());
        ui.add_space(4.0);
    }
    ui.separator();
    ui.colored_label(role_colour(Role::Assistant), egui::RichText::new("assistant (the reply judged)").strong());
}

fn responses(ui: &mut egui::Ui, j: &Judging, panels: &mut Panels, markdown: &mut Markdown, map: &KeyMap) {
    let slots = j.slots();
    let mut scrolled = None;
    ui.columns(slots, |columns| {
        for (slot, column) in columns.iter_mut().enumerate() {
            let response = &j.comparison.responses[j.assignment.shown_order[slot] as usize];
            let text = response.content.to_text();
            let chosen = match j.winner {
                Some(Winner::A) => slot == 0,
                Some(Winner::B) => slot == 1,
                _ => false,
            };
            // The key that picks this response: a winner key in a pair, a ranking key otherwise.
            let key = match (j.is_pairwise(), slot) {
                (true, 0) => map.key_label(Action::LeftBetter),
                (true, _) => map.key_label(Action::RightBetter),
                (false, _) => Action::RANKS.get(slot).map(|a| map.key_label(*a)).unwrap_or_default(),
            };
            let label = format!("Response {}  [{key}]", slot + 1);
            column.colored_label(
                if chosen { egui::Color32::from_rgb(120, 200, 130) } else { column.visuals().text_color() },
                egui::RichText::new(label).strong(),
            );
            let long = text.chars().count() > COLLAPSE_AT;
            let expanded = panels.expanded.get(slot).copied().unwrap_or(true);
            // Both directions, so a wide table scrolls inside its own column instead of spilling over.
            let out = egui::ScrollArea::both().id_salt(("response", slot)).auto_shrink([false, false]).vertical_scroll_offset(markdown.scroll).show(
                column,
                |ui| {
                    own_turns(ui, response, &mut markdown.cache);
                    if long && !expanded {
                        let cut: String = text.chars().take(COLLAPSE_AT).collect();
                        CommonMarkViewer::new().show(ui, &mut markdown.cache, &format!("{cut}…"));
                        if ui.button(format!("Show all ({} lines)", text.lines().count())).clicked()
                            && let Some(e) = panels.expanded.get_mut(slot)
                        {
                            *e = true;
                        }
                    } else {
                        CommonMarkViewer::new().show(ui, &mut markdown.cache, &text);
                        if long
                            && ui.button("Collapse").clicked()
                            && let Some(e) = panels.expanded.get_mut(slot)
                        {
                            *e = false;
                        }
                    }
                },
            );
            if (out.state.offset.y - markdown.scroll).abs() > 0.5 {
                scrolled = Some(out.state.offset.y);
            }
        }
    });
    // Whichever column the person scrolled leads; the others follow next frame.
    if let Some(offset) = scrolled {
        markdown.scroll = offset;
    }
    if panels.diff && slots >= 2 {
        ui.separator();
        ui.strong("Word diff: Response 1 → Response 2");
        let left = j.comparison.responses[j.assignment.shown_order[0] as usize].content.to_text();
        let right = j.comparison.responses[j.assignment.shown_order[1] as usize].content.to_text();
        egui::ScrollArea::vertical().id_salt("diff").show(ui, |ui| word_diff(ui, &left, &right));
    }
}

fn word_diff(ui: &mut egui::Ui, left: &str, right: &str) {
    let diff = similar::TextDiff::from_words(left, right);
    let mut job = egui::text::LayoutJob::default();
    for change in diff.iter_all_changes() {
        let (colour, background) = match change.tag() {
            similar::ChangeTag::Equal => (ui.visuals().text_color(), egui::Color32::TRANSPARENT),
            similar::ChangeTag::Delete => (egui::Color32::from_rgb(250, 200, 200), egui::Color32::from_rgb(110, 30, 30)),
            similar::ChangeTag::Insert => (egui::Color32::from_rgb(200, 250, 200), egui::Color32::from_rgb(30, 90, 30)),
        };
        let format = egui::TextFormat { color: colour, background, ..Default::default() };
        job.append(change.value(), 0.0, format);
    }
    ui.label(job);
}

fn controls(ui: &mut egui::Ui, j: &mut Judging, schema: &TaskSchema, map: &KeyMap) {
    if j.is_pairwise() {
        ui.strong("Which response is better?");
        ui.horizontal_wrapped(|ui| {
            for (winner, label, action) in [
                (Winner::A, "Left", Action::LeftBetter),
                (Winner::B, "Right", Action::RightBetter),
                (Winner::Tie, "Tie", Action::Tie),
                (Winner::BothBad, "Both bad", Action::BothBad),
            ] {
                let label = format!("{label} [{}]", map.key_label(action));
                if ui.selectable_label(j.winner == Some(winner), label).clicked() {
                    j.choose(winner);
                }
            }
        });
        ui.add_space(6.0);
        ui.strong("How much better?");
        ui.add_enabled_ui(!matches!(j.winner, Some(Winner::Tie | Winner::BothBad)), |ui| {
            ui.horizontal(|ui| {
                for (strength, label, action) in [(1u8, "slightly", Action::Slightly), (2, "clearly", Action::Clearly), (3, "much", Action::Much)] {
                    let label = format!("{label} [{}]", map.key_label(action));
                    let on = j.strength == Some(strength) || (j.winner.is_none() && j.pending_strength == Some(strength));
                    if ui.selectable_label(on, label).clicked() {
                        j.pending_strength = Some(strength);
                        j.set_strength(strength);
                    }
                }
            });
        });
        ui.add_space(6.0);
        ui.strong("Criteria");
        egui::Grid::new("criteria").show(ui, |ui| {
            for criterion in &schema.criteria {
                ui.label(criterion);
                for (winner, label) in [(Winner::A, "L"), (Winner::B, "R"), (Winner::Tie, "=")] {
                    let on = j.criteria.get(criterion) == Some(&winner);
                    if ui.selectable_label(on, label).clicked() {
                        if on {
                            j.criteria.remove(criterion);
                        } else {
                            j.criteria.insert(criterion.clone(), winner);
                        }
                    }
                }
                ui.end_row();
            }
        });
    } else {
        ui.strong("Rank the responses, best first");
        ui.label("Press their numbers in order (Shift+number ties with the previous), or drag them.");
        ranking_by_drag(ui, j);
    }
    ui.add_space(6.0);
    ui.strong("Rationale");
    ui.add(egui::TextEdit::multiline(&mut j.rationale).desired_rows(3).hint_text("why (optional)"));
}

/// The ranking as drop zones: each tier (drop to tie with it), a gap before each tier and at the end
/// (drop to make a new tier there), and the responses not ranked yet.
fn ranking_by_drag(ui: &mut egui::Ui, j: &mut Judging) {
    let mut dropped: Option<(usize, usize, bool)> = None;
    let chip = |ui: &mut egui::Ui, slot: usize| {
        ui.dnd_drag_source(egui::Id::new(("rank-chip", slot)), slot, |ui| {
            ui.add(egui::Label::new(egui::RichText::new(format!(" Response {} ", slot + 1)).background_color(ui.visuals().faint_bg_color)).extend());
        });
    };
    let gap = |ui: &mut egui::Ui, at: usize, dropped: &mut Option<(usize, usize, bool)>| {
        let (_, payload) = ui.dnd_drop_zone::<usize, ()>(egui::Frame::NONE, |ui| {
            ui.add_space(4.0);
            ui.weak("  ⤓ new place");
        });
        if let Some(slot) = payload {
            *dropped = Some((*slot, at, true));
        }
    };
    for (place, tier) in j.ranking.clone().iter().enumerate() {
        gap(ui, place, &mut dropped);
        let (_, payload) = ui.dnd_drop_zone::<usize, ()>(egui::Frame::group(ui.style()), |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("{}.", place + 1));
                for &slot in tier {
                    chip(ui, slot);
                }
            });
        });
        if let Some(slot) = payload {
            dropped = Some((*slot, place, false));
        }
    }
    gap(ui, j.ranking.len(), &mut dropped);
    let ranked: Vec<usize> = j.ranking.iter().flatten().copied().collect();
    let unranked: Vec<usize> = (0..j.slots()).filter(|s| !ranked.contains(s)).collect();
    if !unranked.is_empty() {
        ui.weak("not ranked yet:");
        for slot in unranked {
            chip(ui, slot);
        }
    }
    if let Some((slot, tier, new_tier)) = dropped {
        j.place(slot, tier, new_tier);
    }
}

/// "saving 3 changes …" while changes are on their way to the project, "saved" when none is.
pub fn save_state(link: &StoreLink) -> String {
    match (&link.closed, link.unsaved()) {
        (Some(why), _) => format!("not saving: {why}"),
        (None, 0) => "all changes saved".into(),
        (None, 1) => "saving 1 change …".into(),
        (None, n) => format!("saving {n} changes …"),
    }
}
