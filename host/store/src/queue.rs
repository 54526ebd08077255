//! The judging queue: which comparison an annotator sees next, in which (blind, shuffled) order, and
//! what became of it (done, skipped with a reason, flagged).
//!
//! An item stays in the queue until `overlap` annotators hold it (open or done). With a gold
//! annotator set, items that annotator has answered are reference checks: they never enter the
//! normal queue, and every `gold_every`-th assignment of an annotator is one of them.

use crate::clock::now_ms;
use crate::edit::{Edit, EditOutcome, apply_in};
use crate::error::{At, Result, StoreError};
use crate::project::Project;
use crate::text_enum::text_enum;
use cairn_model::{AnnotatorId, Assignment, AssignmentId, DatasetId, ItemData, ItemId};
use rusqlite::{OptionalExtension, ToSql, params};

#[derive(Clone, Debug, PartialEq)]
pub struct QueuePolicy {
    /// Only this dataset; every comparison dataset when None.
    pub dataset: Option<DatasetId>,
    /// How many annotators judge each item.
    pub overlap: u32,
    /// Whose answers are the reference (e.g. `import:hh-rlhf`, or a `gold` annotator).
    pub gold_annotator: Option<AnnotatorId>,
    /// Every n-th assignment is a gold item (0: never).
    pub gold_every: u32,
    /// Seeds the shown order, so the same project gives the same blinding.
    pub seed: u64,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        QueuePolicy { dataset: None, overlap: 1, gold_annotator: None, gold_every: 0, seed: 0x5eed }
    }
}

text_enum! {
    /// Where an assignment stands, as stored in `assignments.state`.
    AssignmentStatus("assignment state") {
        /// Shown and not answered yet: the queue hands it out again first.
        Open = "open",
        Done = "done",
        /// Passed on, with a reason: it goes back to the queue for others.
        Skipped = "skipped",
    }
}

/// Where an assignment stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentState {
    pub assignment: Assignment,
    pub state: AssignmentStatus,
    pub skip_reason: Option<String>,
    pub flagged: bool,
}

impl Project {
    /// The annotator's open assignment, or a new one from the queue; None when the queue is empty.
    pub fn next_assignment(&mut self, annotator: AnnotatorId, policy: &QueuePolicy) -> Result<Option<Assignment>> {
        if let Some(open) = self.open_assignment(annotator)? {
            return Ok(Some(open));
        }
        let taken: i64 =
            self.conn.query_row("SELECT count(*) FROM assignments WHERE annotator_id = ?1", [annotator.0], |r| r.get(0)).at(&self.path)?;
        let gold_turn = policy.gold_annotator.is_some() && policy.gold_every > 0 && (taken + 1) % policy.gold_every as i64 == 0;
        // Search on from the annotator's last item first: everything before it was theirs or full
        // when they passed it, so the next free item is almost always just after it. Items freed
        // since (skipped by others) are found by the second, full pass once the tail is done.
        let last: i64 = self
            .conn
            .query_row(
                "SELECT coalesce((SELECT item_id FROM assignments WHERE annotator_id = ?1 AND gold = 0 ORDER BY id DESC LIMIT 1), 0)",
                [annotator.0],
                |r| r.get(0),
            )
            .at(&self.path)?;
        let mut pick = None;
        for after in [last, 0] {
            if gold_turn && pick.is_none() {
                pick = self.pick(annotator, policy, true, 0)?.map(|item| (item, true));
            }
            if pick.is_none() {
                pick = self.pick(annotator, policy, false, after)?.map(|item| (item, false));
            }
            if pick.is_some() || last == 0 {
                break;
            }
        }
        let Some((item, gold)) = pick else { return Ok(None) };
        let responses = match self.item(item)?.data {
            ItemData::Comparison(c) => c.responses.len() as u32,
            ItemData::Frame(_) => 1,
        };
        let order = shuffled(responses, policy.seed ^ (annotator.0 as u64).rotate_left(32) ^ item.0 as u64);
        let order_json = serde_json::to_string(&order).expect("a list of integers serializes");
        self.conn
            .execute(
                "INSERT INTO assignments (item_id, annotator_id, shown_order, created_at, gold) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![item.0, annotator.0, order_json, now_ms(), gold],
            )
            .at(&self.path)?;
        let id = AssignmentId(self.conn.last_insert_rowid());
        Ok(Some(Assignment { id, item, annotator, shown_order: order, gold }))
    }

    /// The first comparison in import order this annotator has not had, that fewer than `overlap`
    /// others hold, and that is (or, for normal turns, is not) a gold item.
    fn pick(&self, annotator: AnnotatorId, policy: &QueuePolicy, gold: bool, after: i64) -> Result<Option<ItemId>> {
        let gold_filter = match (policy.gold_annotator, gold) {
            (None, true) => return Ok(None),
            // Mentions ?4 so that every form of the statement takes the same parameters.
            (None, false) => "?4 = ?4",
            (Some(_), true) => "EXISTS (SELECT 1 FROM annotations g WHERE g.item_id = i.id AND g.annotator_id = ?4 AND g.payload IS NOT NULL)",
            (Some(_), false) => "NOT EXISTS (SELECT 1 FROM annotations g WHERE g.item_id = i.id AND g.annotator_id = ?4 AND g.payload IS NOT NULL)",
        };
        let overlap = if gold { i64::MAX } else { policy.overlap.max(1) as i64 };
        let sql = format!(
            "SELECT i.id FROM items i JOIN datasets d ON d.id = i.dataset_id
             WHERE i.id > ?5 AND d.modality = 'comparison' AND (?1 IS NULL OR i.dataset_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.annotator_id = ?2)
               AND (SELECT count(*) FROM assignments a WHERE a.item_id = i.id AND a.state != ?6) < ?3
               AND {gold_filter}
             ORDER BY i.id LIMIT 1"
        );
        let gold_annotator = policy.gold_annotator.map(|a| a.0).unwrap_or(-1);
        self.conn
            .prepare_cached(&sql)
            .at(&self.path)?
            .query_row(params![policy.dataset.map(|d| d.0), annotator.0, overlap, gold_annotator, after, AssignmentStatus::Skipped], |r| r.get(0))
            .optional()
            .at(&self.path)
            .map(|id| id.map(ItemId))
    }

    fn open_assignment(&self, annotator: AnnotatorId) -> Result<Option<Assignment>> {
        let row: Option<(i64, i64, String, bool)> = self
            .conn
            .query_row(
                "SELECT id, item_id, shown_order, gold FROM assignments WHERE annotator_id = ?1 AND state = ?2 ORDER BY id LIMIT 1",
                params![annotator.0, AssignmentStatus::Open],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .at(&self.path)?;
        let Some((id, item, order, gold)) = row else { return Ok(None) };
        let shown_order =
            serde_json::from_str(&order).map_err(|source| StoreError::BadJson { path: self.path.clone(), table: "assignments", id, source })?;
        Ok(Some(Assignment { id: AssignmentId(id), item: ItemId(item), annotator, shown_order, gold }))
    }

    /// Stores a judgment and closes its assignment in one transaction: both happen or neither does.
    pub fn submit(&mut self, assignment: &Assignment, active_ms: u64, edits: &[Edit]) -> Result<Vec<EditOutcome>> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).at(&path)?;
        let mut outcomes = Vec::with_capacity(edits.len());
        for edit in edits {
            if let Edit::Create { item, .. } = edit
                && *item != assignment.item
            {
                return Err(StoreError::Assignment { assignment: assignment.id, message: format!("it is for item {}, not {item}", assignment.item) });
            }
            // The whole submission's active time is booked on its first edit.
            let active = if outcomes.is_empty() { active_ms } else { 0 };
            outcomes.push(apply_in(&tx, &path, assignment.annotator, active, edit)?);
        }
        let changed = tx
            .execute(
                "UPDATE assignments SET state = ?3 WHERE id = ?1 AND annotator_id = ?2",
                params![assignment.id.0, assignment.annotator.0, AssignmentStatus::Done],
            )
            .at(&path)?;
        if changed != 1 {
            return Err(StoreError::Assignment {
                assignment: assignment.id,
                message: format!("it does not belong to annotator {}", assignment.annotator),
            });
        }
        tx.commit().at(&path)?;
        Ok(outcomes)
    }

    /// Opens a finished assignment again (after its submission was taken back with undo).
    pub fn reopen(&mut self, assignment: AssignmentId) -> Result<()> {
        self.set_assignment(assignment, "state = ?2", &[&AssignmentStatus::Open])
    }

    /// Passes on an item, with the annotator's reason; it goes back to the queue for others.
    pub fn skip(&mut self, assignment: AssignmentId, reason: &str) -> Result<()> {
        self.set_assignment(assignment, "state = ?2, skip_reason = ?3", &[&AssignmentStatus::Skipped, &reason])
    }

    /// Marks an item for review (bad prompt, broken response, …) without closing the assignment.
    pub fn flag(&mut self, assignment: AssignmentId, flagged: bool) -> Result<()> {
        self.set_assignment(assignment, "flagged = ?2", &[&flagged])
    }

    /// Whether an assignment is flagged for review (a flag set in an earlier session shows again).
    pub fn is_flagged(&self, assignment: AssignmentId) -> Result<bool> {
        self.conn
            .query_row("SELECT flagged FROM assignments WHERE id = ?1", [assignment.0], |r| r.get(0))
            .optional()
            .at(&self.path)?
            .ok_or_else(|| StoreError::Assignment { assignment, message: "no such assignment".to_string() })
    }

    /// Sets columns of one assignment: `set` names them with parameters from ?2 on (?1 is its id).
    fn set_assignment(&mut self, assignment: AssignmentId, set: &str, values: &[&dyn ToSql]) -> Result<()> {
        let sql = format!("UPDATE assignments SET {set} WHERE id = ?1");
        let params = std::iter::once(&assignment.0 as &dyn ToSql).chain(values.iter().copied());
        let changed = self.conn.execute(&sql, rusqlite::params_from_iter(params)).at(&self.path)?;
        if changed == 0 {
            return Err(StoreError::Assignment { assignment, message: "no such assignment".to_string() });
        }
        Ok(())
    }

    /// Every assignment of an annotator (all annotators when None), oldest first.
    pub fn assignments(&self, annotator: Option<AnnotatorId>) -> Result<Vec<AssignmentState>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, item_id, annotator_id, shown_order, gold, state, skip_reason, flagged FROM assignments
                 WHERE ?1 IS NULL OR annotator_id = ?1 ORDER BY id",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map([annotator.map(|a| a.0)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, bool>(4)?,
                    r.get::<_, AssignmentStatus>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, bool>(7)?,
                ))
            })
            .at(&self.path)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, item, who, order, gold, state, skip_reason, flagged) = row.at(&self.path)?;
            let shown_order =
                serde_json::from_str(&order).map_err(|source| StoreError::BadJson { path: self.path.clone(), table: "assignments", id, source })?;
            let assignment = Assignment { id: AssignmentId(id), item: ItemId(item), annotator: AnnotatorId(who), shown_order, gold };
            out.push(AssignmentState { assignment, state, skip_reason, flagged });
        }
        Ok(out)
    }
}

/// 0..n in an order fixed by `seed` (Fisher–Yates over splitmix64).
fn shuffled(n: u32, seed: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n).collect();
    let mut rng = cairn_model::rng::SplitMix64::new(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::shuffled;

    #[test]
    fn shuffles_are_permutations_fixed_by_their_seed() {
        for n in 1..6 {
            let mut a = shuffled(n, 42);
            assert_eq!(a, shuffled(n, 42));
            a.sort();
            assert_eq!(a, (0..n).collect::<Vec<_>>());
        }
        let orders: std::collections::HashSet<_> = (0..200).map(|s| shuffled(2, s)).collect();
        assert_eq!(orders.len(), 2, "both orders of two responses occur");
    }
}
