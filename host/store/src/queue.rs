//! The judging queue: which comparison an annotator sees next, in which (blind, shuffled) order, and
//! what became of it (done, skipped with a reason, flagged).
//!
//! An item stays in the queue until `overlap` annotators hold it (open or done). With a gold
//! annotator set, items that annotator has answered are reference checks: they never enter the
//! normal queue, and every `gold_every`-th assignment of an annotator is one of them.

use crate::clock::now_ms;
use crate::db::{Db, Engine, TxKind, Value, vals};
use crate::edit::{Edit, EditOutcome, apply_in};
use crate::error::{Result, StoreError};
use crate::project::Project;
use crate::text_enum::text_enum;
use cairn_model::{AnnotatorId, Assignment, AssignmentId, DatasetId, ItemData, ItemId};

/// The reason an assignment whose lease ran out was passed to someone else.
pub const LEASE_EXPIRED: &str = "lease expired";

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
    /// How long an item stays an annotator's without a renewal; after that, another annotator may
    /// be given it (the first one's submission is then refused).
    pub lease_ms: u64,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        QueuePolicy { dataset: None, overlap: 1, gold_annotator: None, gold_every: 0, seed: 0x5eed, lease_ms: 30 * 60 * 1000 }
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

/// Whether a pick locks the item it finds (passing over items others hold locked), or only looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    SkipLocked,
    None,
}

/// An assignment holds its item while it is done, or open with a lease that has not run out.
const HOLDS: &str = "(a.state = 'done' OR (a.state = 'open' AND (a.lease_until IS NULL OR a.lease_until > ?1)))";

/// Picks that lost a race to another connection, or found every free item being taken, tried again
/// at most (each try sees what the others committed meanwhile, so the queue converges long before).
const PICK_ATTEMPTS: usize = 2_000;

impl Project {
    /// The annotator's open assignment (its lease renewed), or a new one from the queue; None when
    /// the queue is empty. One transaction: on PostgreSQL, connections picking at once skip the
    /// items others are taking (`FOR UPDATE SKIP LOCKED`) instead of waiting for them.
    pub fn next_assignment(&mut self, annotator: AnnotatorId, policy: &QueuePolicy) -> Result<Option<Assignment>> {
        self.db.transaction(TxKind::Write, |db| {
            if let Some(open) = open_assignment(db, annotator)? {
                renew(db, open.id, policy)?;
                return Ok(Some(open));
            }
            for attempt in 0..PICK_ATTEMPTS {
                // A lost try keeps its lock on the item it found full, which only others' picks
                // skip: they would find it full as well.
                if let Some((item, gold)) = pick_any(db, annotator, policy, Lock::SkipLocked)?
                    && let Some(assignment) = take(db, annotator, policy, item, gold)?
                {
                    return Ok(Some(assignment));
                }
                if db.engine() == Engine::Sqlite {
                    // One writer at a time: nothing raced this pick, so the queue is empty.
                    return Ok(None);
                }
                // Nothing unlocked was free: when nothing is free at all, locks aside, the queue is
                // empty; otherwise the items free are being taken right now, and may still have room.
                if pick_any(db, annotator, policy, Lock::None)?.is_none() {
                    return Ok(None);
                }
                std::thread::sleep(std::time::Duration::from_micros(200 * (attempt as u64 % 10 + 1)));
            }
            Err(StoreError::Assignment {
                assignment: AssignmentId(0),
                message: format!("no item could be taken after {PICK_ATTEMPTS} tries: every pick lost a race to another annotator"),
            })
        })
    }

    /// Keeps an open assignment the annotator's for another lease (they are still working on it).
    pub fn renew_lease(&mut self, assignment: AssignmentId, policy: &QueuePolicy) -> Result<()> {
        renew(&self.db, assignment, policy)
    }

    /// Stores a judgment and closes its assignment in one transaction: both happen or neither does.
    /// Refused when the assignment is not the annotator's, not open (already submitted), or its
    /// lease ran out and the item went to someone else.
    pub fn submit(&mut self, assignment: &Assignment, active_ms: u64, edits: &[Edit]) -> Result<Vec<EditOutcome>> {
        self.db.transaction(TxKind::Write, |db| {
            let changed = db.execute(
                "UPDATE assignments SET state = ?3 WHERE id = ?1 AND annotator_id = ?2 AND state = ?4",
                &vals![assignment.id.0, assignment.annotator.0, AssignmentStatus::Done, AssignmentStatus::Open],
            )?;
            if changed != 1 {
                return Err(StoreError::Assignment { assignment: assignment.id, message: why_not_open(db, assignment)? });
            }
            let mut outcomes = Vec::with_capacity(edits.len());
            for edit in edits {
                if let Edit::Create { item, .. } = edit
                    && *item != assignment.item
                {
                    return Err(StoreError::Assignment {
                        assignment: assignment.id,
                        message: format!("it is for item {}, not {item}", assignment.item),
                    });
                }
                // The whole submission's active time is booked on its first edit.
                let active = if outcomes.is_empty() { active_ms } else { 0 };
                outcomes.push(apply_in(db, assignment.annotator, active, edit)?);
            }
            Ok(outcomes)
        })
    }

    /// Opens a finished assignment again (after its submission was taken back with undo).
    pub fn reopen(&mut self, assignment: AssignmentId) -> Result<()> {
        self.set_assignment(assignment, "state = ?2", &vals![AssignmentStatus::Open])
    }

    /// Passes on an item, with the annotator's reason; it goes back to the queue for others.
    pub fn skip(&mut self, assignment: AssignmentId, reason: &str) -> Result<()> {
        self.set_assignment(assignment, "state = ?2, skip_reason = ?3", &vals![AssignmentStatus::Skipped, reason])
    }

    /// Marks an item for review (bad prompt, broken response, …) without closing the assignment.
    pub fn flag(&mut self, assignment: AssignmentId, flagged: bool) -> Result<()> {
        self.set_assignment(assignment, "flagged = ?2", &vals![flagged])
    }

    /// Whether an assignment is flagged for review (a flag set in an earlier session shows again).
    pub fn is_flagged(&self, assignment: AssignmentId) -> Result<bool> {
        self.db
            .query_opt("SELECT flagged FROM assignments WHERE id = ?1", &vals![assignment.0])?
            .ok_or_else(|| StoreError::Assignment { assignment, message: "no such assignment".to_string() })?
            .get(0)
    }

    /// Sets columns of one assignment: `set` names them with parameters from ?2 on (?1 is its id).
    fn set_assignment(&mut self, assignment: AssignmentId, set: &str, values: &[Value]) -> Result<()> {
        let sql = format!("UPDATE assignments SET {set} WHERE id = ?1");
        let params: Vec<Value> = std::iter::once(Value::Int(assignment.0)).chain(values.iter().cloned()).collect();
        if self.db.execute(&sql, &params)? == 0 {
            return Err(StoreError::Assignment { assignment, message: "no such assignment".to_string() });
        }
        Ok(())
    }

    /// Every assignment of an annotator (all annotators when None), oldest first.
    pub fn assignments(&self, annotator: Option<AnnotatorId>) -> Result<Vec<AssignmentState>> {
        let rows = self.db.query(
            "SELECT id, item_id, annotator_id, shown_order, gold, state, skip_reason, flagged FROM assignments
             WHERE CAST(?1 AS BIGINT) IS NULL OR annotator_id = ?1 ORDER BY id",
            &vals![annotator.map(|a| a.0)],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.get(0)?;
            let order: String = r.get(3)?;
            let shown_order = serde_json::from_str(&order).map_err(|source| StoreError::BadJson {
                path: self.path().to_owned(),
                table: "assignments",
                id,
                source,
            })?;
            let assignment =
                Assignment { id: AssignmentId(id), item: ItemId(r.get(1)?), annotator: AnnotatorId(r.get(2)?), shown_order, gold: r.get(4)? };
            out.push(AssignmentState { assignment, state: r.get(5)?, skip_reason: r.get(6)?, flagged: r.get(7)? });
        }
        Ok(out)
    }
}

fn renew(db: &Db, assignment: AssignmentId, policy: &QueuePolicy) -> Result<()> {
    db.execute(
        "UPDATE assignments SET lease_until = ?2 WHERE id = ?1 AND state = ?3",
        &vals![assignment.0, now_ms() + policy.lease_ms as i64, AssignmentStatus::Open],
    )?;
    Ok(())
}

/// Why a submission found its assignment not open, in the annotator's words.
fn why_not_open(db: &Db, assignment: &Assignment) -> Result<String> {
    let row = db.query_opt("SELECT annotator_id, state, skip_reason FROM assignments WHERE id = ?1", &vals![assignment.id.0])?;
    let Some(row) = row else { return Ok("no such assignment".into()) };
    let (owner, state, reason): (i64, AssignmentStatus, Option<String>) = (row.get(0)?, row.get(1)?, row.get(2)?);
    Ok(if owner != assignment.annotator.0 {
        format!("it does not belong to annotator {}", assignment.annotator)
    } else if state == AssignmentStatus::Done {
        "it was submitted already".into()
    } else if reason.as_deref() == Some(LEASE_EXPIRED) {
        "its lease ran out and the item went to another annotator; the judgment was not stored".into()
    } else {
        format!("it was skipped ({})", reason.unwrap_or_default())
    })
}

/// The next item for the annotator: a gold check when it is their turn for one, otherwise the next
/// free item (searched on from their last item first: everything before it was theirs or full when
/// they passed it, so the next free item is almost always just after it; items freed since, by
/// skips and expired leases, are found by the second, full pass).
fn pick_any(db: &Db, annotator: AnnotatorId, policy: &QueuePolicy, lock: Lock) -> Result<Option<(ItemId, bool)>> {
    let gold_turn = policy.gold_annotator.is_some() && policy.gold_every > 0 && {
        let taken: i64 = db.scalar("SELECT count(*) FROM assignments WHERE annotator_id = ?1", &vals![annotator.0])?;
        (taken + 1) % policy.gold_every as i64 == 0
    };
    let last: i64 = db.scalar(
        "SELECT coalesce((SELECT item_id FROM assignments WHERE annotator_id = ?1 AND gold = ?2 ORDER BY id DESC LIMIT 1), 0)",
        &vals![annotator.0, false],
    )?;
    let mut pick = None;
    for after in [last, 0] {
        if gold_turn && pick.is_none() {
            pick = pick_one(db, annotator, policy, true, 0, lock)?.map(|item| (item, true));
        }
        if pick.is_none() {
            pick = pick_one(db, annotator, policy, false, after, lock)?.map(|item| (item, false));
        }
        if pick.is_some() || last == 0 {
            break;
        }
    }
    Ok(pick)
}

/// The first comparison in import order after `after` this annotator has not had, that fewer than
/// `overlap` others hold, and that is (or, for normal turns, is not) a gold item.
fn pick_one(db: &Db, annotator: AnnotatorId, policy: &QueuePolicy, gold: bool, after: i64, lock: Lock) -> Result<Option<ItemId>> {
    let gold_filter = match (policy.gold_annotator, gold) {
        (None, true) => return Ok(None),
        // Mentions ?5 so that every form of the statement takes the same parameters.
        (None, false) => "CAST(?5 AS BIGINT) = ?5",
        (Some(_), true) => "EXISTS (SELECT 1 FROM annotations g WHERE g.item_id = i.id AND g.annotator_id = ?5 AND g.payload IS NOT NULL)",
        (Some(_), false) => "NOT EXISTS (SELECT 1 FROM annotations g WHERE g.item_id = i.id AND g.annotator_id = ?5 AND g.payload IS NOT NULL)",
    };
    let lock = match (db.engine(), lock) {
        (Engine::Postgres, Lock::SkipLocked) => "FOR UPDATE OF i SKIP LOCKED",
        _ => "",
    };
    let overlap = if gold { i64::MAX } else { policy.overlap.max(1) as i64 };
    let sql = format!(
        "SELECT i.id FROM items i JOIN datasets d ON d.id = i.dataset_id
         WHERE i.id > ?6 AND d.modality = 'comparison' AND (CAST(?2 AS BIGINT) IS NULL OR i.dataset_id = ?2)
           AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.annotator_id = ?3)
           AND (SELECT count(*) FROM assignments a WHERE a.item_id = i.id AND {HOLDS}) < ?4
           AND {gold_filter}
         ORDER BY i.id LIMIT 1 {lock}"
    );
    let gold_annotator = policy.gold_annotator.map(|a| a.0).unwrap_or(-1);
    db.query_opt(&sql, &vals![now_ms(), policy.dataset.map(|d| d.0), annotator.0, overlap, gold_annotator, after])?
        .map(|r| r.get(0).map(ItemId))
        .transpose()
}

/// Gives a picked item to the annotator; None when another connection filled it first.
fn take(db: &Db, annotator: AnnotatorId, policy: &QueuePolicy, item: ItemId, gold: bool) -> Result<Option<Assignment>> {
    let now = now_ms();
    if !gold {
        // The pick counted holders in its statement's snapshot, which can predate the commit of the
        // connection that held the item's lock before; with the lock held now, a new statement sees
        // every assignment committed for the item.
        let row = db.query_one(
            &format!(
                "SELECT CAST(coalesce(sum(CASE WHEN {HOLDS} THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(coalesce(sum(CASE WHEN a.state = 'open' AND a.lease_until <= ?1 THEN 1 ELSE 0 END), 0) AS BIGINT)
                 FROM assignments a WHERE a.item_id = ?2"
            ),
            &vals![now, item.0],
        )?;
        let (holders, expired): (i64, i64) = (row.get(0)?, row.get(1)?);
        if holders >= policy.overlap.max(1) as i64 {
            return Ok(None);
        }
        // Leases that ran out give their place to this annotator.
        if expired > 0 {
            db.execute(
                "UPDATE assignments SET state = ?3, skip_reason = ?4 WHERE item_id = ?2 AND state = ?5 AND lease_until IS NOT NULL AND lease_until <= ?1",
                &vals![now, item.0, AssignmentStatus::Skipped, LEASE_EXPIRED, AssignmentStatus::Open],
            )?;
        }
    }
    let responses = match crate::project::item_data(db, item)? {
        ItemData::Comparison(c) => c.responses.len() as u32,
        ItemData::Frame(_) => 1,
    };
    let order = shuffled(responses, policy.seed ^ (annotator.0 as u64).rotate_left(32) ^ item.0 as u64);
    let order_json = serde_json::to_string(&order).expect("a list of integers serializes");
    let id: Option<i64> = db
        .query_opt(
            "INSERT INTO assignments (item_id, annotator_id, shown_order, created_at, gold, lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (item_id, annotator_id) DO NOTHING RETURNING id",
            &vals![item.0, annotator.0, order_json, now, gold, now + policy.lease_ms as i64],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(id.map(|id| Assignment { id: AssignmentId(id), item, annotator, shown_order: order, gold }))
}

fn open_assignment(db: &Db, annotator: AnnotatorId) -> Result<Option<Assignment>> {
    let row = db.query_opt(
        "SELECT id, item_id, shown_order, gold FROM assignments WHERE annotator_id = ?1 AND state = ?2 ORDER BY id LIMIT 1",
        &vals![annotator.0, AssignmentStatus::Open],
    )?;
    let Some(row) = row else { return Ok(None) };
    let (id, item, order, gold): (i64, i64, String, bool) = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    let shown_order = serde_json::from_str(&order).map_err(|source| StoreError::BadJson {
        path: db.location.as_path().to_owned(),
        table: "assignments",
        id,
        source,
    })?;
    Ok(Some(Assignment { id: AssignmentId(id), item: ItemId(item), annotator, shown_order, gold }))
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
