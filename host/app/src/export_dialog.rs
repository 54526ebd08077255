//! The export dialog: any exporter plugin, run in a background job; the window keeps drawing.

use crate::jobs::{self, Job};
use crate::records::StoreRecords;
use crate::{AppOptions, Plugins};
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use cairn_model::PayloadKind;
use cairn_plugin_host::{PluginEngine, PluginKind, Registry};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Resource)]
pub struct ExportDialog {
    pub open: bool,
    pub exporters: Vec<String>,
    pub chosen: usize,
    pub destination: String,
    pub options: String,
    pub message: String,
    running: Option<Job<String>>,
    registry: Registry,
    engine: Result<Arc<PluginEngine>, String>,
    project: PathBuf,
}

impl ExportDialog {
    /// The exporters `plugins` finds; exports run on its engine.
    pub fn new(options: &AppOptions, plugins: &Plugins) -> Self {
        let registry = plugins.registry();
        let exporters: Vec<String> =
            registry.entries().iter().filter(|e| e.manifest.kind == PluginKind::Exporter).map(|e| e.manifest.id.clone()).collect();
        let chosen = exporters.iter().position(|e| e == "trl-preference").unwrap_or(0);
        let destination = options.project.with_extension("").to_string_lossy().into_owned() + "-export";
        ExportDialog {
            open: false,
            exporters,
            chosen,
            destination,
            options: String::new(),
            message: String::new(),
            running: None,
            registry,
            engine: plugins.engine.clone(),
            project: options.project.clone(),
        }
    }

    /// Starts the chosen exporter on a worker thread.
    pub fn start(&mut self) {
        let Some(id) = self.exporters.get(self.chosen).cloned() else { return };
        let Some(entry) = self.registry.get(&id).cloned() else { return };
        let options: Vec<(String, String)> =
            self.options.split_whitespace().filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let project = self.project.clone();
        let destination = PathBuf::from(self.destination.trim());
        let engine = self.engine.clone();
        self.message = format!("exporting with {id} …");
        self.running = Some(jobs::spawn(format!("exporter {id}"), move |_| {
            let engine = engine?;
            let plugin = entry.load_exporter(&engine).map_err(|e| e.to_string())?;
            let kinds: Vec<PayloadKind> = plugin.info().accepts.iter().filter_map(|k| PayloadKind::parse(k)).collect();
            let records = StoreRecords::open(&project, kinds).map_err(|e| format!("{e:#}"))?;
            let outcome = plugin.export(&options, Box::new(records), &destination, None).map_err(|e| e.to_string())?;
            Ok(format!("{id}: wrote {} to {} ({} files); skipped {}", outcome.written, destination.display(), outcome.files.len(), outcome.skipped))
        }));
    }

    /// Collects a finished export's result, if any; true once it is done.
    pub fn poll(&mut self) -> bool {
        let Some(done) = self.running.as_ref().and_then(|job| job.poll().done) else { return false };
        self.message = match done {
            Ok(done) => done,
            Err(e) => format!("export failed: {e}"),
        };
        self.running = None;
        true
    }

    pub fn busy(&self) -> bool {
        self.running.is_some()
    }
}

pub struct ExportDialogPlugin(pub Mutex<Option<ExportDialog>>);

impl Plugin for ExportDialogPlugin {
    fn build(&self, app: &mut App) {
        if let Some(dialog) = self.0.lock().expect("dialog lock").take() {
            app.insert_resource(dialog).add_systems(Update, poll).add_systems(EguiPrimaryContextPass, draw);
        }
    }
}

fn poll(mut dialog: ResMut<ExportDialog>) {
    dialog.poll();
}

fn draw(mut contexts: EguiContexts, mut dialog: ResMut<ExportDialog>) -> Result {
    if !dialog.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?.clone();
    let mut open = true;
    egui::Window::new("Export").open(&mut open).show(&ctx, |ui| {
        let names = dialog.exporters.clone();
        let chosen = dialog.chosen;
        egui::ComboBox::from_label("exporter").selected_text(names.get(chosen).cloned().unwrap_or_default()).show_ui(ui, |ui| {
            for (i, name) in names.iter().enumerate() {
                ui.selectable_value(&mut dialog.chosen, i, name);
            }
        });
        ui.horizontal(|ui| {
            ui.label("to folder");
            ui.text_edit_singleline(&mut dialog.destination);
        });
        ui.horizontal(|ui| {
            ui.label("options");
            ui.add(egui::TextEdit::singleline(&mut dialog.options).hint_text("e.g. format=standard ties=both-ways"));
        });
        let busy = dialog.busy();
        if ui.add_enabled(!busy, egui::Button::new("Export")).clicked() {
            dialog.start();
        }
        if !dialog.message.is_empty() {
            ui.label(dialog.message.clone());
        }
    });
    dialog.open = open;
    Ok(())
}
