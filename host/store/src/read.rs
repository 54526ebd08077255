//! Reads: status counts, streaming walks over items and current annotations (what exporters consume),
//! the revision history, and a check that the current state matches the log.

use crate::codec::comparison_content_hash;
use crate::db::{Engine, Row, TxKind, vals};
use crate::error::{Result, StoreError};
use crate::project::{Project, raw_item_row};
use crate::revision::{RevisionAction, RevisionState};
use cairn_model::{
    Annotation, AnnotationId, AnnotatorId, AnnotatorKind, DatasetId, ExportRecord, Item, ItemData, ItemId, Modality, Payload, PayloadKind,
    ProjectInfo, RecordAnnotation, RevisionId,
};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectStatus {
    #[serde(flatten)]
    pub project: ProjectInfo,
    pub datasets: Vec<DatasetStatus>,
    pub annotators: Vec<AnnotatorCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetStatus {
    pub id: DatasetId,
    pub name: String,
    pub modality: Modality,
    pub items: u64,
    /// Items with at least one live annotation or point label by a person or a model.
    pub labelled: u64,
    pub unlabelled: u64,
    /// Items that carry a label imported with the data (e.g. HH-RLHF's chosen side).
    pub with_source_labels: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnnotatorCount {
    pub name: String,
    pub kind: AnnotatorKind,
    /// Live annotations authored.
    pub annotations: u64,
    /// Edits in the log (undo/redo records included).
    pub revisions: u64,
    pub active_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevisionRecord {
    pub id: RevisionId,
    pub annotator: AnnotatorId,
    pub at_ms: i64,
    pub action: RevisionAction,
    pub annotation: Option<AnnotationId>,
    pub item: ItemId,
    pub active_ms: u64,
    pub reverts: Option<RevisionId>,
    pub state: RevisionState,
}

/// Rows a streaming read fetches at a time: few enough to keep memory flat, many enough that the
/// round trips to a server do not dominate.
const PAGE: i64 = 512;

impl Project {
    pub fn status(&self) -> Result<ProjectStatus> {
        self.db.transaction(TxKind::Snapshot, |db| {
            let rows = db.query(
                "WITH
                   human AS (SELECT a.item_id FROM annotations a JOIN annotators n ON n.id = a.annotator_id
                             WHERE a.payload IS NOT NULL AND n.kind != 'source'
                             UNION SELECT item_id FROM point_labels),
                   source AS (SELECT a.item_id FROM annotations a JOIN annotators n ON n.id = a.annotator_id
                              WHERE a.payload IS NOT NULL AND n.kind = 'source')
                 SELECT d.id, d.name, d.modality,
                        (SELECT count(*) FROM items i WHERE i.dataset_id = d.id),
                        (SELECT count(*) FROM items i WHERE i.dataset_id = d.id AND i.id IN (SELECT item_id FROM human)),
                        (SELECT count(*) FROM items i WHERE i.dataset_id = d.id AND i.id IN (SELECT item_id FROM source))
                 FROM datasets d ORDER BY d.id",
                &[],
            )?;
            let datasets = rows
                .iter()
                .map(|r| {
                    let modality: String = r.get(2)?;
                    let items: i64 = r.get(3)?;
                    let labelled: i64 = r.get(4)?;
                    Ok(DatasetStatus {
                        id: DatasetId(r.get(0)?),
                        name: r.get(1)?,
                        modality: Modality::parse(&modality).unwrap_or(Modality::Comparison),
                        items: items as u64,
                        labelled: labelled as u64,
                        unlabelled: (items - labelled) as u64,
                        with_source_labels: r.get::<i64>(5)? as u64,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let rows = db.query(
                "SELECT n.name, n.kind,
                        (SELECT count(*) FROM annotations a WHERE a.annotator_id = n.id AND a.payload IS NOT NULL),
                        (SELECT count(*) FROM revisions r WHERE r.annotator_id = n.id),
                        (SELECT CAST(coalesce(sum(active_ms), 0) AS BIGINT) FROM revisions r WHERE r.annotator_id = n.id)
                 FROM annotators n ORDER BY n.id",
                &[],
            )?;
            let annotators = rows
                .iter()
                .map(|r| {
                    let kind: String = r.get(1)?;
                    Ok(AnnotatorCount {
                        name: r.get(0)?,
                        kind: AnnotatorKind::parse(&kind).unwrap_or(AnnotatorKind::Human),
                        annotations: r.get::<i64>(2)? as u64,
                        revisions: r.get::<i64>(3)? as u64,
                        active_ms: r.get::<i64>(4)? as u64,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(ProjectStatus { project: self.info()?, datasets, annotators })
        })
    }

    /// Walks items in import order, optionally of one dataset, without holding them all in memory:
    /// a page at a time, all from one snapshot.
    pub fn for_each_item<E>(&self, dataset: Option<DatasetId>, mut f: impl FnMut(Item) -> Result<(), E>) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        self.in_snapshot(|| {
            let mut after = 0i64;
            loop {
                let rows = self.db.query(
                    "SELECT id, dataset_id, key, content_hash, data FROM items
                     WHERE id > ?2 AND (CAST(?1 AS BIGINT) IS NULL OR dataset_id = ?1) ORDER BY id LIMIT ?3",
                    &vals![dataset.map(|d| d.0), after, PAGE],
                )?;
                let full = rows.len() as i64 == PAGE;
                for row in rows {
                    let raw = raw_item_row(row)?;
                    after = raw.id;
                    f(self.decode_item(raw)?)?;
                }
                if !full {
                    return Ok(());
                }
            }
        })
    }

    /// Runs a long read in one snapshot, so that a writer elsewhere cannot make it see half an edit.
    fn in_snapshot<T, E: From<StoreError>>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.db.transaction_with(TxKind::Snapshot, |_| f())
    }

    /// Walks the current (live) annotations in item import order, optionally of one kind.
    pub fn for_each_annotation<E>(&self, kind: Option<PayloadKind>, mut f: impl FnMut(Annotation) -> Result<(), E>) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        self.in_snapshot(|| {
            let (mut after_item, mut after_id) = (0i64, 0i64);
            loop {
                let rows = self.db.query(
                    "SELECT id, item_id, annotator_id, payload, revision_id FROM annotations
                     WHERE payload IS NOT NULL AND (CAST(?1 AS TEXT) IS NULL OR kind = ?1)
                       AND (item_id > ?2 OR (item_id = ?2 AND id > ?3))
                     ORDER BY item_id, id LIMIT ?4",
                    &vals![kind.map(PayloadKind::as_str), after_item, after_id, PAGE],
                )?;
                let full = rows.len() as i64 == PAGE;
                for mut row in rows {
                    let id: i64 = row.get(0)?;
                    let item: i64 = row.get(1)?;
                    (after_item, after_id) = (item, id);
                    let payload = self.decode_payload(id, &row.take::<String>(3)?)?;
                    f(Annotation {
                        id: AnnotationId(id),
                        item: ItemId(item),
                        annotator: AnnotatorId(row.get(2)?),
                        payload,
                        revision: RevisionId(row.get(4)?),
                    })?;
                }
                if !full {
                    return Ok(());
                }
            }
        })
    }

    /// Walks items in import order, each with its live annotations (of the given kinds; all when empty),
    /// the annotator's name and when the annotation was last set. Only items of datasets with one of
    /// `modalities` (all when empty). A page of items at a time with the annotations of that page,
    /// all from one snapshot, so exports stream without holding the project in memory.
    pub fn for_each_record<E>(
        &self,
        kinds: &[PayloadKind],
        modalities: &[Modality],
        mut f: impl FnMut(ExportRecord) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        self.in_snapshot(|| {
            let datasets: std::collections::HashMap<_, _> =
                self.datasets()?.into_iter().filter(|d| modalities.is_empty() || modalities.contains(&d.modality)).map(|d| (d.id, d.name)).collect();
            let mut after = 0i64;
            loop {
                let rows = self
                    .db
                    .query("SELECT id, dataset_id, key, content_hash, data FROM items WHERE id > ?1 ORDER BY id LIMIT ?2", &vals![after, PAGE])?;
                let full = rows.len() as i64 == PAGE;
                let Some(last) = rows.last().map(|r| r.get::<i64>(0)).transpose()? else { return Ok(()) };
                let annotation_rows = self.db.query(
                    "SELECT a.item_id, n.name, n.kind, a.payload, a.revision_id, r.at_ms, a.kind, a.id
                     FROM annotations a JOIN annotators n ON n.id = a.annotator_id JOIN revisions r ON r.id = a.revision_id
                     WHERE a.payload IS NOT NULL AND a.item_id > ?1 AND a.item_id <= ?2 ORDER BY a.item_id, a.id",
                    &vals![after, last],
                )?;
                let mut annotations = annotation_rows.into_iter().peekable();
                for row in rows {
                    let raw = raw_item_row(row)?;
                    after = raw.id;
                    let mut mine = Vec::new();
                    while let Some(a) = annotations.next_if(|a| a.get::<i64>(0).is_ok_and(|item| item == raw.id)) {
                        if let Some(annotation) = self.record_annotation(a, kinds)? {
                            mine.push(annotation);
                        }
                    }
                    let Some(dataset) = datasets.get(&DatasetId(raw.dataset)) else { continue };
                    let item = self.decode_item(raw)?;
                    f(ExportRecord { key: item.key, dataset: dataset.clone(), item: item.data, annotations: mine })?;
                }
                if !full {
                    return Ok(());
                }
            }
        })
    }

    /// One row of `for_each_record`'s annotation query, or None when its kind is not wanted.
    fn record_annotation(&self, mut row: Row, kinds: &[PayloadKind]) -> Result<Option<RecordAnnotation>> {
        let kind: String = row.get(6)?;
        if !kinds.is_empty() && !kinds.iter().any(|k| k.as_str() == kind) {
            return Ok(None);
        }
        let payload = self.decode_payload(row.get(7)?, &row.take::<String>(3)?)?;
        let annotator_kind: String = row.get(2)?;
        Ok(Some(RecordAnnotation {
            annotator: row.get(1)?,
            annotator_kind: AnnotatorKind::parse(&annotator_kind).unwrap_or(AnnotatorKind::Human),
            revision: RevisionId(row.get(4)?),
            at_ms: row.get(5)?,
            payload,
        }))
    }

    /// Items in datasets of the given modalities (all when empty).
    pub fn item_count_of(&self, modalities: &[Modality]) -> Result<u64> {
        let mut total = 0;
        for d in self.datasets()? {
            if modalities.is_empty() || modalities.contains(&d.modality) {
                total += self.db.scalar::<i64>("SELECT count(*) FROM items WHERE dataset_id = ?1", &vals![d.id.0])? as u64;
            }
        }
        Ok(total)
    }

    /// Live annotations of one item.
    pub fn annotations_of(&self, item: ItemId) -> Result<Vec<Annotation>> {
        let rows = self.db.query(
            "SELECT id, annotator_id, payload, revision_id FROM annotations WHERE item_id = ?1 AND payload IS NOT NULL ORDER BY id",
            &vals![item.0],
        )?;
        rows.into_iter()
            .map(|mut r| {
                let id: i64 = r.get(0)?;
                let payload = self.decode_payload(id, &r.take::<String>(2)?)?;
                Ok(Annotation { id: AnnotationId(id), item, annotator: AnnotatorId(r.get(1)?), payload, revision: RevisionId(r.get(3)?) })
            })
            .collect()
    }

    /// The largest track id of any live box in the project (0 when none has one): new tracks
    /// take the next.
    pub fn max_track_id(&self) -> Result<u64> {
        let sql = match self.db.engine() {
            Engine::Sqlite => "SELECT MAX(json_extract(payload, '$.track_id')) FROM annotations WHERE kind = 'cuboid' AND payload IS NOT NULL",
            Engine::Postgres => "SELECT MAX((payload::jsonb ->> 'track_id')::bigint) FROM annotations WHERE kind = 'cuboid' AND payload IS NOT NULL",
        };
        let top: Option<i64> = self.db.scalar(sql, &[])?;
        Ok(top.unwrap_or(0).max(0) as u64)
    }

    /// One live annotation, or None when it was deleted or never existed.
    pub fn annotation(&self, id: AnnotationId) -> Result<Option<Annotation>> {
        let row = self.db.query_opt("SELECT item_id, annotator_id, payload, revision_id FROM annotations WHERE id = ?1", &vals![id.0])?;
        let Some(mut row) = row else { return Ok(None) };
        let Some(payload) = row.take::<Option<String>>(2)? else { return Ok(None) };
        let payload = self.decode_payload(id.0, &payload)?;
        Ok(Some(Annotation { id, item: ItemId(row.get(0)?), annotator: AnnotatorId(row.get(1)?), payload, revision: RevisionId(row.get(3)?) }))
    }

    fn decode_payload(&self, annotation: i64, json: &str) -> Result<Payload> {
        serde_json::from_str(json).map_err(|source| StoreError::BadJson {
            path: self.path().to_owned(),
            table: "annotations",
            id: annotation,
            source,
        })
    }

    /// The revision log, oldest first, optionally of one annotator.
    pub fn history(&self, annotator: Option<AnnotatorId>) -> Result<Vec<RevisionRecord>> {
        let rows = self.db.query(
            "SELECT id, annotator_id, at_ms, action, annotation_id, item_id, active_ms, reverts, state
             FROM revisions WHERE CAST(?1 AS BIGINT) IS NULL OR annotator_id = ?1 ORDER BY id",
            &vals![annotator.map(|a| a.0)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(RevisionRecord {
                    id: RevisionId(r.get(0)?),
                    annotator: AnnotatorId(r.get(1)?),
                    at_ms: r.get(2)?,
                    action: r.get(3)?,
                    annotation: r.get::<Option<i64>>(4)?.map(AnnotationId),
                    item: ItemId(r.get(5)?),
                    active_ms: r.get::<i64>(6)? as u64,
                    reverts: r.get::<Option<i64>>(7)?.map(RevisionId),
                    state: r.get(8)?,
                })
            })
            .collect()
    }

    /// Checks that the current state is what the revision log says it is. Returns one line per mismatch.
    pub fn check_derived_state(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let rows = self.db.query(
            "SELECT a.id FROM annotations a
             LEFT JOIN revisions r ON r.id = (SELECT max(id) FROM revisions WHERE annotation_id = a.id)
             WHERE r.id IS NULL OR r.id != a.revision_id OR r.after IS DISTINCT FROM a.payload",
            &[],
        )?;
        for r in rows {
            problems.push(format!("annotation {} differs from its last revision", r.get::<i64>(0)?));
        }
        let rows = self.db.query(
            "SELECT p.item_id, p.chunk FROM point_labels p
             LEFT JOIN point_label_changes c ON c.revision_id = p.revision_id AND c.chunk = p.chunk
             WHERE c.after IS DISTINCT FROM p.labels",
            &[],
        )?;
        for r in rows {
            let (item, chunk): (i64, i64) = (r.get(0)?, r.get(1)?);
            problems.push(format!("point labels of item {item}, chunk {chunk} differ from their last change"));
        }
        Ok(problems)
    }

    /// Decodes every item and checks each comparison against its stored content hash. Returns one
    /// line per damaged item, naming it. (A frame's hash is its point-cloud file's, which stays
    /// outside the project; frames are checked by decoding.)
    pub fn check_items(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut after = 0i64;
        loop {
            let rows =
                self.db.query("SELECT id, dataset_id, key, content_hash, data FROM items WHERE id > ?1 ORDER BY id LIMIT ?2", &vals![after, PAGE])?;
            let full = rows.len() as i64 == PAGE;
            for row in rows {
                let raw = raw_item_row(row)?;
                let (id, key) = (raw.id, raw.key.clone());
                after = id;
                match self.decode_item(raw) {
                    Err(StoreError::BadItem { detail, .. }) => problems.push(format!("item {id} (key {key:?}) is unreadable: {detail}")),
                    Err(other) => return Err(other),
                    Ok(Item { data: ItemData::Comparison(c), content_hash, .. }) if comparison_content_hash(&c) != content_hash => {
                        problems.push(format!("item {id} (key {key:?}) does not match its content hash: its stored data was changed"));
                    }
                    Ok(_) => {}
                }
            }
            if !full {
                return Ok(problems);
            }
        }
    }

    pub fn item_count(&self) -> Result<u64> {
        self.db.scalar::<i64>("SELECT count(*) FROM items", &[]).map(|n| n as u64)
    }
}
