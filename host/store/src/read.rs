//! Reads: status counts, streaming walks over items and current annotations (what exporters consume),
//! the revision history, and a check that the current state matches the log.

use crate::codec::comparison_content_hash;
use crate::error::{At, Result, StoreError};
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

impl Project {
    pub fn status(&self) -> Result<ProjectStatus> {
        let mut datasets = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare(
                    "WITH
                       human AS (SELECT a.item_id FROM annotations a JOIN annotators n ON n.id = a.annotator_id
                                 WHERE a.payload IS NOT NULL AND n.kind != 'source'
                                 UNION SELECT item_id FROM point_labels),
                       source AS (SELECT a.item_id FROM annotations a JOIN annotators n ON n.id = a.annotator_id
                                  WHERE a.payload IS NOT NULL AND n.kind = 'source')
                     SELECT d.id, d.name, d.modality,
                            (SELECT count(*) FROM items i WHERE i.dataset_id = d.id),
                            (SELECT count(*) FROM items i WHERE i.dataset_id = d.id AND i.id IN human),
                            (SELECT count(*) FROM items i WHERE i.dataset_id = d.id AND i.id IN source)
                     FROM datasets d ORDER BY d.id",
                )
                .at(&self.path)?;
            let rows = stmt
                .query_map([], |r| {
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
                        with_source_labels: r.get::<_, i64>(5)? as u64,
                    })
                })
                .at(&self.path)?;
            for row in rows {
                datasets.push(row.at(&self.path)?);
            }
        }
        let mut annotators = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT n.name, n.kind,
                            (SELECT count(*) FROM annotations a WHERE a.annotator_id = n.id AND a.payload IS NOT NULL),
                            (SELECT count(*) FROM revisions r WHERE r.annotator_id = n.id),
                            (SELECT coalesce(sum(active_ms), 0) FROM revisions r WHERE r.annotator_id = n.id)
                     FROM annotators n ORDER BY n.id",
                )
                .at(&self.path)?;
            let rows = stmt
                .query_map([], |r| {
                    let kind: String = r.get(1)?;
                    Ok(AnnotatorCount {
                        name: r.get(0)?,
                        kind: AnnotatorKind::parse(&kind).unwrap_or(AnnotatorKind::Human),
                        annotations: r.get::<_, i64>(2)? as u64,
                        revisions: r.get::<_, i64>(3)? as u64,
                        active_ms: r.get::<_, i64>(4)? as u64,
                    })
                })
                .at(&self.path)?;
            for row in rows {
                annotators.push(row.at(&self.path)?);
            }
        }
        Ok(ProjectStatus { project: self.info()?, datasets, annotators })
    }

    /// Walks items in import order, optionally of one dataset, without holding them all in memory.
    pub fn for_each_item<E>(&self, dataset: Option<DatasetId>, mut f: impl FnMut(Item) -> Result<(), E>) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, dataset_id, key, content_hash, data FROM items
                 WHERE ?1 IS NULL OR dataset_id = ?1 ORDER BY id",
            )
            .at(&self.path)?;
        let mut rows = stmt.query([dataset.map(|d| d.0)]).at(&self.path)?;
        while let Some(row) = rows.next().at(&self.path)? {
            let raw = raw_item_row(row).at(&self.path)?;
            f(self.decode_item(raw)?)?;
        }
        Ok(())
    }

    /// Walks the current (live) annotations in item import order, optionally of one kind.
    pub fn for_each_annotation<E>(&self, kind: Option<PayloadKind>, mut f: impl FnMut(Annotation) -> Result<(), E>) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, item_id, annotator_id, payload, revision_id FROM annotations
                 WHERE payload IS NOT NULL AND (?1 IS NULL OR kind = ?1) ORDER BY item_id, id",
            )
            .at(&self.path)?;
        let mut rows = stmt.query([kind.map(PayloadKind::as_str)]).at(&self.path)?;
        while let Some(row) = rows.next().at(&self.path)? {
            let id: i64 = row.get(0).at(&self.path)?;
            let text = row.get_ref(3).at(&self.path)?.as_str().map_err(|e| StoreError::sqlite(&self.path, e.into()))?;
            let payload = self.decode_payload(id, text)?;
            f(Annotation {
                id: AnnotationId(id),
                item: ItemId(row.get(1).at(&self.path)?),
                annotator: AnnotatorId(row.get(2).at(&self.path)?),
                payload,
                revision: RevisionId(row.get(4).at(&self.path)?),
            })?;
        }
        Ok(())
    }

    /// Walks items in import order, each with its live annotations (of the given kinds; all when empty),
    /// the annotator's name and when the annotation was last set. Only items of datasets with one of
    /// `modalities` (all when empty). One pass over two ordered queries, so exports stream without
    /// holding the project in memory.
    pub fn for_each_record<E>(
        &self,
        kinds: &[PayloadKind],
        modalities: &[Modality],
        mut f: impl FnMut(ExportRecord) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let datasets: std::collections::HashMap<_, _> =
            self.datasets()?.into_iter().filter(|d| modalities.is_empty() || modalities.contains(&d.modality)).map(|d| (d.id, d.name)).collect();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.id, a.item_id, n.name, n.kind, a.payload, a.revision_id, r.at_ms, a.kind
                 FROM annotations a JOIN annotators n ON n.id = a.annotator_id JOIN revisions r ON r.id = a.revision_id
                 WHERE a.payload IS NOT NULL ORDER BY a.item_id, a.id",
            )
            .at(&self.path)?;
        let mut annotation_rows = stmt.query([]).at(&self.path)?;
        let next_annotation = |rows: &mut rusqlite::Rows<'_>| -> Result<Option<(ItemId, RecordAnnotation)>> {
            while let Some(row) = rows.next().at(&self.path)? {
                let kind: &str = row.get_ref(7).at(&self.path)?.as_str().map_err(|e| StoreError::sqlite(&self.path, e.into()))?;
                if !kinds.is_empty() && !kinds.iter().any(|k| k.as_str() == kind) {
                    continue;
                }
                let id: i64 = row.get(0).at(&self.path)?;
                let text = row.get_ref(4).at(&self.path)?.as_str().map_err(|e| StoreError::sqlite(&self.path, e.into()))?;
                let payload = self.decode_payload(id, text)?;
                let annotator_kind: String = row.get(3).at(&self.path)?;
                let annotation = RecordAnnotation {
                    annotator: row.get(2).at(&self.path)?,
                    annotator_kind: AnnotatorKind::parse(&annotator_kind).unwrap_or(AnnotatorKind::Human),
                    revision: RevisionId(row.get(5).at(&self.path)?),
                    at_ms: row.get(6).at(&self.path)?,
                    payload,
                };
                return Ok(Some((ItemId(row.get(1).at(&self.path)?), annotation)));
            }
            Ok(None)
        };
        // The next annotation not yet handed out, with its item id.
        let mut pending = next_annotation(&mut annotation_rows)?;
        self.for_each_item::<E>(None, |item| {
            let Some(dataset) = datasets.get(&item.dataset) else { return Ok(()) };
            let mut annotations = Vec::new();
            while let Some((owner, _)) = &pending {
                // Annotations of items left out (another modality) are passed over.
                if *owner < item.id {
                    pending = next_annotation(&mut annotation_rows)?;
                    continue;
                }
                if *owner != item.id {
                    break;
                }
                let (_, annotation) = pending.take().expect("checked above");
                annotations.push(annotation);
                pending = next_annotation(&mut annotation_rows)?;
            }
            f(ExportRecord { key: item.key, dataset: dataset.clone(), item: item.data, annotations })
        })
    }

    /// Items in datasets of the given modalities (all when empty).
    pub fn item_count_of(&self, modalities: &[Modality]) -> Result<u64> {
        let mut total = 0;
        for d in self.datasets()? {
            if modalities.is_empty() || modalities.contains(&d.modality) {
                let n: i64 = self.conn.query_row("SELECT count(*) FROM items WHERE dataset_id = ?1", [d.id.0], |r| r.get(0)).at(&self.path)?;
                total += n as u64;
            }
        }
        Ok(total)
    }

    /// Live annotations of one item.
    pub fn annotations_of(&self, item: ItemId) -> Result<Vec<Annotation>> {
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, annotator_id, payload, revision_id FROM annotations
                 WHERE item_id = ?1 AND payload IS NOT NULL ORDER BY id",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map([item.0], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)))
            .at(&self.path)?;
        for row in rows {
            let (id, annotator, payload, revision) = row.at(&self.path)?;
            let payload = self.decode_payload(id, &payload)?;
            out.push(Annotation { id: AnnotationId(id), item, annotator: AnnotatorId(annotator), payload, revision: RevisionId(revision) });
        }
        Ok(out)
    }

    /// The largest track id of any live box in the project (0 when none has one): new tracks
    /// take the next.
    pub fn max_track_id(&self) -> Result<u64> {
        let top: Option<i64> = self
            .conn
            .query_row("SELECT MAX(json_extract(payload, '$.track_id')) FROM annotations WHERE kind = 'cuboid' AND payload IS NOT NULL", [], |r| {
                r.get(0)
            })
            .at(&self.path)?;
        Ok(top.unwrap_or(0).max(0) as u64)
    }

    /// One live annotation, or None when it was deleted or never existed.
    pub fn annotation(&self, id: AnnotationId) -> Result<Option<Annotation>> {
        let row: Option<(i64, i64, Option<String>, i64)> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "SELECT item_id, annotator_id, payload, revision_id FROM annotations WHERE id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        ))
        .at(&self.path)?;
        let Some((item, annotator, Some(payload), revision)) = row else { return Ok(None) };
        let payload = self.decode_payload(id.0, &payload)?;
        Ok(Some(Annotation { id, item: ItemId(item), annotator: AnnotatorId(annotator), payload, revision: RevisionId(revision) }))
    }

    fn decode_payload(&self, annotation: i64, json: &str) -> Result<Payload> {
        serde_json::from_str(json).map_err(|source| StoreError::BadJson { path: self.path.clone(), table: "annotations", id: annotation, source })
    }

    /// The revision log, oldest first, optionally of one annotator.
    pub fn history(&self, annotator: Option<AnnotatorId>) -> Result<Vec<RevisionRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, annotator_id, at_ms, action, annotation_id, item_id, active_ms, reverts, state
                 FROM revisions WHERE ?1 IS NULL OR annotator_id = ?1 ORDER BY id",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map([annotator.map(|a| a.0)], |r| {
                Ok(RevisionRecord {
                    id: RevisionId(r.get(0)?),
                    annotator: AnnotatorId(r.get(1)?),
                    at_ms: r.get(2)?,
                    action: r.get(3)?,
                    annotation: r.get::<_, Option<i64>>(4)?.map(AnnotationId),
                    item: ItemId(r.get(5)?),
                    active_ms: r.get::<_, i64>(6)? as u64,
                    reverts: r.get::<_, Option<i64>>(7)?.map(RevisionId),
                    state: r.get(8)?,
                })
            })
            .at(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().at(&self.path)
    }

    /// Checks that the current state is what the revision log says it is. Returns one line per mismatch.
    pub fn check_derived_state(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.id FROM annotations a
                 LEFT JOIN revisions r ON r.id = (SELECT max(id) FROM revisions WHERE annotation_id = a.id)
                 WHERE r.id IS NULL OR r.id != a.revision_id OR r.after IS NOT a.payload",
            )
            .at(&self.path)?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0)).at(&self.path)?;
        for id in rows {
            problems.push(format!("annotation {} differs from its last revision", id.at(&self.path)?));
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.item_id, p.chunk FROM point_labels p
                 LEFT JOIN point_label_changes c ON c.revision_id = p.revision_id AND c.chunk = p.chunk
                 WHERE c.after IS NOT p.labels",
            )
            .at(&self.path)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).at(&self.path)?;
        for row in rows {
            let (item, chunk) = row.at(&self.path)?;
            problems.push(format!("point labels of item {item}, chunk {chunk} differ from their last change"));
        }
        Ok(problems)
    }

    /// Decodes every item and checks each comparison against its stored content hash. Returns one
    /// line per damaged item, naming it. (A frame's hash is its point-cloud file's, which stays
    /// outside the project; frames are checked by decoding.)
    pub fn check_items(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("SELECT id, dataset_id, key, content_hash, data FROM items ORDER BY id").at(&self.path)?;
        let mut rows = stmt.query([]).at(&self.path)?;
        while let Some(row) = rows.next().at(&self.path)? {
            let raw = raw_item_row(row).at(&self.path)?;
            let (id, key) = (raw.id, raw.key.clone());
            match self.decode_item(raw) {
                Err(StoreError::BadItem { detail, .. }) => problems.push(format!("item {id} (key {key:?}) is unreadable: {detail}")),
                Err(other) => return Err(other),
                Ok(Item { data: ItemData::Comparison(c), content_hash, .. }) if comparison_content_hash(&c) != content_hash => {
                    problems.push(format!("item {id} (key {key:?}) does not match its content hash: its stored data was changed"));
                }
                Ok(_) => {}
            }
        }
        Ok(problems)
    }

    pub fn item_count(&self) -> Result<u64> {
        self.conn.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).at(&self.path)
    }
}
