//! Projects the store's tests start from.
#![allow(dead_code)]

use cairn_model::*;
use cairn_store::{Project, StoreError, comparison_content_hash};
use std::path::Path;

/// A new project at `location` with `items` comparisons (two responses each), in one dataset.
pub fn project_with_comparisons(location: &Path, items: usize) -> Project {
    let mut p = Project::create(location).unwrap();
    p.bulk_import(|bulk| {
        let ds = bulk.ensure_dataset("c", Modality::Comparison)?;
        for i in 0..items {
            let c = Comparison {
                messages: vec![Message::text(Role::User, format!("question {i}"))],
                responses: vec![Response::new(Some("m1"), format!("a{i}")), Response::new(Some("m2"), format!("b{i}"))],
                metadata: serde_json::Value::Null,
            };
            bulk.insert_item(ds, &format!("q{i}"), comparison_content_hash(&c), &ItemData::Comparison(c))?;
        }
        Ok::<_, StoreError>(())
    })
    .unwrap();
    p
}

/// A frame of `points` points in `a.las`.
pub fn frame(points: u64) -> ItemData {
    ItemData::Frame(Frame {
        sequence: None,
        index: 0,
        source: SourceFile {
            path: "a.las".into(),
            byte_len: 1,
            summary: CloudSummary { format: CloudFormat::Las, version: None, encoding: None, point_count: points, bounds: None, fields: vec![] },
        },
    })
}
