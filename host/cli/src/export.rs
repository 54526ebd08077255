use anyhow::{Context, Result};
use cairn_model::{ItemData, Payload, RevisionId};
use cairn_store::Project;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// One line of the dump, fields in this order.
#[derive(Serialize)]
struct DumpLine<'a> {
    id: &'a str,
    dataset: Option<&'a String>,
    item: &'a ItemData,
    annotations: Vec<DumpAnnotation<'a>>,
}

#[derive(Serialize)]
struct DumpAnnotation<'a> {
    annotator: Option<&'a String>,
    revision: RevisionId,
    payload: Payload,
}

/// The plain dump: one line per item, in import order, with its current annotations.
pub fn jsonl(project: &Project, out: Option<&Path>) -> Result<()> {
    let annotators: HashMap<_, _> = project.annotators()?.into_iter().map(|a| (a.id, a.name)).collect();
    let datasets: HashMap<_, _> = project.datasets()?.into_iter().map(|d| (d.id, d.name)).collect();
    let write_all = |w: &mut dyn Write| -> Result<()> {
        project.for_each_item::<anyhow::Error>(None, |item| {
            let annotations: Vec<_> = project
                .annotations_of(item.id)?
                .into_iter()
                .map(|a| DumpAnnotation { annotator: annotators.get(&a.annotator), revision: a.revision, payload: a.payload })
                .collect();
            let line = DumpLine { id: &item.key, dataset: datasets.get(&item.dataset), item: &item.data, annotations };
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
            Ok(())
        })
    };
    match out {
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            write_all(&mut w)?;
            w.flush()?;
        }
        Some(path) => {
            // Write beside the target and rename, so a failed export never leaves half a file.
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
            {
                let mut w = std::io::BufWriter::new(tmp.as_file_mut());
                write_all(&mut w)?;
                w.flush()?;
            }
            tmp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}
