//! The quality panel: the same report as `cairn stats`, computed in a background job from its own
//! connection to the project.

use crate::jobs::{self, Job};
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use cairn_store::{Project, QualityOptions, QualityReport};
use std::path::PathBuf;

#[derive(Resource)]
pub struct QualityPanel {
    pub open: bool,
    project: PathBuf,
    report: Option<Result<QualityReport, String>>,
    running: Option<Job<QualityReport>>,
}

impl QualityPanel {
    pub fn new(project: PathBuf) -> Self {
        QualityPanel { open: false, project, report: None, running: None }
    }

    /// Recomputes in the background.
    pub fn refresh(&mut self) {
        let project = self.project.clone();
        self.running = Some(jobs::spawn("quality report", move |_| {
            Project::open(&project).and_then(|p| p.quality(&QualityOptions::default())).map_err(|e| e.to_string())
        }));
    }
}

pub struct QualityPanelPlugin(pub PathBuf);

impl Plugin for QualityPanelPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(QualityPanel::new(self.0.clone())).add_systems(EguiPrimaryContextPass, draw);
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())
}

fn draw(mut contexts: EguiContexts, mut panel: ResMut<QualityPanel>) -> Result {
    if let Some(report) = panel.running.as_ref().and_then(|job| job.poll().done) {
        panel.report = Some(report);
        panel.running = None;
    }
    if !panel.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let mut open = true;
    egui::Window::new("Quality").open(&mut open).default_width(460.0).show(&ctx, |ui| {
        if ui.add_enabled(panel.running.is_none(), egui::Button::new("Refresh")).clicked() {
            panel.refresh();
        }
        match &panel.report {
            None => {
                ui.label("computing …");
            }
            Some(Err(e)) => {
                ui.label(format!("cannot compute: {e}"));
            }
            Some(Ok(r)) => {
                ui.label(format!("{} judgments on {} items; {} judged by two or more", r.judgments, r.items_judged, r.agreement.shared_items));
                egui::Grid::new("agreement").striped(true).show(ui, |ui| {
                    for (what, value) in [
                        ("percent agreement", num(r.agreement.percent)),
                        ("Fleiss' kappa", num(r.agreement.fleiss_kappa)),
                        ("Krippendorff's alpha (verdicts)", num(r.agreement.krippendorff_alpha_nominal)),
                        ("Krippendorff's alpha (strengths)", num(r.agreement.krippendorff_alpha_ordinal_strength)),
                        ("left response wins", r.position_bias.as_ref().map(|b| format!("{:.1}%", 100.0 * b.left_rate)).unwrap_or("–".into())),
                    ] {
                        ui.label(what);
                        ui.monospace(value);
                        ui.end_row();
                    }
                });
                ui.separator();
                egui::Grid::new("annotators").striped(true).show(ui, |ui| {
                    for h in ["annotator", "judgments", "median s", "gold"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for a in &r.annotators {
                        ui.label(&a.name);
                        ui.monospace(a.judgments.to_string());
                        ui.monospace(a.median_active_ms.map(|ms| format!("{:.1}", ms as f64 / 1000.0)).unwrap_or("–".into()));
                        ui.monospace(a.gold_accuracy.map(|g| format!("{:.0}%", 100.0 * g)).unwrap_or("–".into()));
                        ui.end_row();
                    }
                });
                ui.separator();
                egui::Grid::new("leaderboard").striped(true).show(ui, |ui| {
                    for h in ["model", "rating", "95% interval", "battles"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for m in &r.leaderboard {
                        ui.label(&m.model);
                        ui.monospace(m.rating.map(|v| format!("{v:.0}")).unwrap_or("–".into()));
                        ui.monospace(match (m.lower, m.upper) {
                            (Some(l), Some(u)) => format!("{l:.0} – {u:.0}"),
                            _ => "–".into(),
                        });
                        ui.monospace(m.battles.to_string());
                        ui.end_row();
                    }
                });
            }
        }
    });
    panel.open = open;
    Ok(())
}
