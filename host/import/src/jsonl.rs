//! JSON Lines import: a reader thread cuts the file into batches of lines, a parser thread turns each
//! batch into ready-to-store rows on the rayon pool, and the calling thread inserts them in order inside
//! one store transaction.

use crate::comparisons::{ComparisonFormat, ParsedComparison, RecordError, parse_comparison};
use crate::{Format, ImportError, ImportReport, ProgressFn, Skipped};
use cairn_model::{AnnotatorKind, ItemData, Modality, Payload, source_annotator_name};
use cairn_store::Project;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc::{Receiver, sync_channel};

const LINES_PER_BATCH: usize = 2048;

/// Raw lines as read, with the number of the first one.
pub(crate) struct RawBatch {
    pub(crate) first_line: u64,
    pub(crate) lines: Vec<Vec<u8>>,
    /// Bytes of the file read up to the end of this batch.
    pub(crate) bytes_done: u64,
}

/// A record turned into what the store keeps.
struct Row {
    line: u64,
    key: String,
    hash: cairn_model::ContentHash,
    data: cairn_store::EncodedItem,
    verdict: Option<Payload>,
}

struct ParsedBatch {
    rows: Vec<Result<Row, (u64, RecordError)>>,
    bytes_done: u64,
}

pub(crate) fn import_comparisons(
    project: &mut Project,
    path: &Path,
    format: ComparisonFormat,
    dataset: &str,
    skip_invalid: bool,
    progress: ProgressFn<'_>,
) -> Result<ImportReport, ImportError> {
    let io = |source| ImportError::Io { path: path.to_owned(), source };
    let file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut report = ImportReport::new(path, Format::Comparisons(format).name(), dataset);

    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = sync_channel::<std::io::Result<RawBatch>>(4);
        let (parsed_tx, parsed_rx) = sync_channel::<std::io::Result<ParsedBatch>>(4);
        scope.spawn(move || read_batches(BufReader::with_capacity(1 << 20, file), raw_tx));
        scope.spawn(move || {
            for batch in raw_rx {
                let out = batch.map(|b| parse_batch(format, &stem, b));
                if parsed_tx.send(out).is_err() {
                    return;
                }
            }
        });
        // Dropping `parsed_rx` on an early return stops both threads at their next send.
        store_batches(project, path, format, dataset, skip_invalid, parsed_rx, &mut report, total, progress)
    })?;
    Ok(report)
}

/// Cuts the file into batches of `LINES_PER_BATCH` lines and sends them until the file ends, a read
/// fails (sent as the last message) or the receiver hangs up.
pub(crate) fn read_batches(mut reader: BufReader<File>, tx: std::sync::mpsc::SyncSender<std::io::Result<RawBatch>>) {
    let mut line_no = 0u64;
    let mut bytes = 0u64;
    loop {
        let mut batch = RawBatch { first_line: line_no + 1, lines: Vec::with_capacity(LINES_PER_BATCH), bytes_done: 0 };
        while batch.lines.len() < LINES_PER_BATCH {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(n) => {
                    bytes += n as u64;
                    line_no += 1;
                    batch.lines.push(line);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        batch.bytes_done = bytes;
        if batch.lines.is_empty() {
            return;
        }
        let last = batch.lines.len() < LINES_PER_BATCH;
        if tx.send(Ok(batch)).is_err() || last {
            return;
        }
    }
}

fn parse_batch(format: ComparisonFormat, stem: &str, batch: RawBatch) -> ParsedBatch {
    let rows = batch
        .lines
        .par_iter()
        .enumerate()
        .filter_map(|(i, bytes)| {
            let line = batch.first_line + i as u64;
            let text = match decode_line(bytes)? {
                Ok(t) => t,
                Err(e) => return Some(Err((line, e))),
            };
            Some(parse_comparison(format, text).map(|p| to_row(p, line, stem)).map_err(|e| (line, e)))
        })
        .collect();
    ParsedBatch { rows, bytes_done: batch.bytes_done }
}

/// The text of one raw line: None for a blank line, an error naming the column for bytes that are not
/// UTF-8.
pub(crate) fn decode_line(bytes: &[u8]) -> Option<Result<&str, RecordError>> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => None,
        Ok(text) => Some(Ok(text)),
        Err(e) => {
            let message = format!("not valid UTF-8 (invalid byte at column {})", e.valid_up_to() + 1);
            Some(Err(RecordError { column: Some(e.valid_up_to() as u64 + 1), message }))
        }
    }
}

fn to_row(parsed: ParsedComparison, line: u64, stem: &str) -> Row {
    let hash = cairn_store::comparison_content_hash(&parsed.comparison);
    let key = parsed.key.unwrap_or_else(|| format!("{stem}:{line}"));
    let data = cairn_store::encode_item(&ItemData::Comparison(parsed.comparison));
    Row { line, key, hash, data, verdict: parsed.source_verdict.map(Payload::Verdict) }
}

#[allow(clippy::too_many_arguments)]
fn store_batches(
    project: &mut Project,
    path: &Path,
    format: ComparisonFormat,
    dataset: &str,
    skip_invalid: bool,
    batches: Receiver<std::io::Result<ParsedBatch>>,
    report: &mut ImportReport,
    total: u64,
    progress: ProgressFn<'_>,
) -> Result<(), ImportError> {
    let mut seen_any = false;
    project.bulk_import(|bulk| {
        let ds = bulk.ensure_dataset(dataset, Modality::Comparison)?;
        let mut source = None;
        for batch in batches {
            let batch = batch.map_err(|source| ImportError::Io { path: path.to_owned(), source })?;
            for row in batch.rows {
                seen_any = true;
                let row = match row {
                    Ok(row) => row,
                    Err((line, e)) if skip_invalid => {
                        report.skipped.push(Skipped { location: format!("{}:{line}", path.display()), reason: e.message });
                        continue;
                    }
                    Err((line, e)) => {
                        return Err(ImportError::Line { path: path.to_owned(), line, column: e.column, message: e.message });
                    }
                };
                report.records += 1;
                let inserted = bulk.insert_encoded(ds, &row.key, row.hash, &row.data).map_err(|e| line_error(path, row.line, e))?;
                match inserted {
                    cairn_store::Inserted::New(_) => report.added += 1,
                    cairn_store::Inserted::Existing(_) => report.already_present += 1,
                }
                if let Some(verdict) = &row.verdict {
                    let annotator = match source {
                        Some(a) => a,
                        None => *source.insert(bulk.ensure_annotator(&source_annotator_name(format.name()), AnnotatorKind::Source)?),
                    };
                    if bulk.import_annotation(inserted, annotator, verdict)?.is_some() {
                        report.source_labels += 1;
                    }
                }
            }
            progress(batch.bytes_done, total);
        }
        if !seen_any {
            return Err(ImportError::Empty { path: path.to_owned() });
        }
        Ok(())
    })
}

fn line_error(path: &Path, line: u64, e: cairn_store::StoreError) -> ImportError {
    match e {
        cairn_store::StoreError::Invalid { .. } => ImportError::Line { path: path.to_owned(), line, column: None, message: e.to_string() },
        other => ImportError::Store(other),
    }
}

/// Reads the first record and tells which preference format it is.
pub(crate) fn sniff(path: &Path) -> Result<ComparisonFormat, ImportError> {
    let file = File::open(path).map_err(|source| ImportError::Io { path: path.to_owned(), source })?;
    let mut reader = BufReader::new(file);
    let mut line_no = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        line_no += 1;
        if reader.read_until(b'\n', &mut line).map_err(|source| ImportError::Io { path: path.to_owned(), source })? == 0 {
            return Err(ImportError::Empty { path: path.to_owned() });
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            break;
        }
    }
    let bad = |message: String| ImportError::Line { path: path.to_owned(), line: line_no, column: None, message };
    let text = std::str::from_utf8(&line).map_err(|e| bad(format!("not valid UTF-8 (invalid byte at column {})", e.valid_up_to() + 1)))?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let e = RecordError::from(e);
        ImportError::Line { path: path.to_owned(), line: line_no, column: e.column, message: e.message }
    })?;
    let has = |k: &str| value.get(k).is_some();
    if has("responses") || has("messages") {
        Ok(ComparisonFormat::Native)
    } else if has("chosen") && has("rejected") {
        let hh = !has("prompt") && value["chosen"].as_str().is_some_and(|s| s.contains("\n\nAssistant:"));
        Ok(if hh { ComparisonFormat::HhRlhf } else { ComparisonFormat::Trl })
    } else if has("item") && (has("verdict") || has("ranking")) {
        // Judgments are imported only when asked for (they add annotations to items already in the
        // project, not items); say how to ask.
        Err(bad("this looks like judgments on comparisons already in the project (\"item\" with \"verdict\" or \"ranking\"); \
             pass --format judgments to import them"
            .into()))
    } else {
        Err(bad("cannot tell the format: expected \"messages\" and \"responses\" (native), or \"chosen\" and \"rejected\" \
             (HH-RLHF, TRL); pass --format to say which"
            .into()))
    }
}
