//! Projects of synthetic comparisons.

use cairn_model::{Comparison, ContentHash, ItemData, Message, Modality, Response, Role};
use cairn_store::Project;

/// `items` comparisons of `responses` responses each, in a project of their own.
pub fn project_with(items: usize, responses: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("judge.cairn");
    let mut p = Project::create(&path).unwrap();
    add_comparisons(&mut p, items, responses);
    (dir, path)
}

/// Adds `items` comparisons (keys `item-0`…) to a project.
pub fn add_comparisons(p: &mut Project, items: usize, responses: usize) {
    p.bulk_import(|bulk| {
        let ds = bulk.ensure_dataset("c", Modality::Comparison)?;
        for i in 0..items {
            let c = Comparison {
                messages: vec![Message::text(Role::User, format!("question {i}"))],
                responses: (0..responses).map(|r| Response::new(Some(&format!("model-{r}")), format!("answer {r} to {i}"))).collect(),
                metadata: serde_json::Value::Null,
            };
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
            bulk.insert_item(ds, &format!("item-{i}"), ContentHash::from_digest(&hash), &ItemData::Comparison(c))?;
        }
        Ok::<_, cairn_store::StoreError>(())
    })
    .unwrap();
}
