//! The records an exporter plugin reads, streamed from the project on a thread of their own so that
//! reading the store overlaps with the plugin's work and memory stays bounded. Used by the app's
//! export dialog and by `cairn export --with`.

use cairn_model::{Modality, PayloadKind};
use cairn_plugin_host::RecordSource;
use cairn_store::Project;
use std::path::Path;
use std::sync::mpsc::{Receiver, sync_channel};

/// Records per message between the reader thread and the plugin.
const CHUNK: usize = 512;
/// Messages in flight: bounds memory to a few thousand records.
const IN_FLIGHT: usize = 8;

pub struct StoreRecords {
    project: String,
    total: u64,
    chunks: Receiver<Result<Vec<String>, String>>,
    pending: Vec<String>,
    done: bool,
}

impl StoreRecords {
    /// Opens its own connection to the project and starts reading. `kinds` limits the annotations
    /// handed out (empty: all), and the items to datasets that can hold them.
    pub fn open(path: &Path, kinds: Vec<PayloadKind>) -> anyhow::Result<StoreRecords> {
        let project = Project::open(path)?;
        let name = project.name()?;
        let modalities = modalities_for(&kinds);
        let total = project.item_count_of(&modalities)?;
        let (send, chunks) = sync_channel(IN_FLIGHT);
        std::thread::Builder::new().name("cairn-export-reader".into()).spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let result = project.for_each_record::<anyhow::Error>(&kinds, &modalities, |record| {
                chunk.push(serde_json::to_string(&record)?);
                if chunk.len() == CHUNK {
                    // A closed channel means the export ended early; stop reading.
                    send.send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))))?;
                }
                Ok(())
            });
            let last = result.map(|()| chunk).map_err(|e| format!("{e:#}"));
            let _ = send.send(last);
        })?;
        Ok(StoreRecords { project: name, total, chunks, pending: Vec::new(), done: false })
    }
}

/// The modalities whose items can carry one of these payload kinds (all, when any kind fits both).
fn modalities_for(kinds: &[PayloadKind]) -> Vec<Modality> {
    let mut out = Vec::new();
    for kind in kinds {
        let fits: &[Modality] = match kind {
            PayloadKind::Cuboid => &[Modality::PointCloud],
            PayloadKind::Verdict | PayloadKind::Ranking => &[Modality::Comparison],
            PayloadKind::Rating | PayloadKind::Text => &[Modality::PointCloud, Modality::Comparison],
        };
        for m in fits {
            if !out.contains(m) {
                out.push(*m);
            }
        }
    }
    out
}

impl RecordSource for StoreRecords {
    fn project(&self) -> String {
        self.project.clone()
    }

    fn total(&self) -> u64 {
        self.total
    }

    fn next_batch(&mut self, max: usize) -> Result<Vec<String>, String> {
        while self.pending.len() < max && !self.done {
            match self.chunks.recv() {
                Ok(Ok(chunk)) if chunk.len() < CHUNK => {
                    self.pending.extend(chunk);
                    self.done = true;
                }
                Ok(Ok(chunk)) => self.pending.extend(chunk),
                Ok(Err(e)) => return Err(e),
                Err(_) => self.done = true,
            }
        }
        let take = self.pending.len().min(max);
        Ok(self.pending.drain(..take).collect())
    }
}
