//! One judgment in progress, in screen terms (slots left to right), and how it becomes a payload in
//! canonical terms. Plain data: no Bevy, so it is tested directly.

use cairn_model::{Assignment, Comparison, PairwiseVerdict, Payload, Ranking, Winner};
use std::collections::BTreeMap;

/// The criteria asked by default; a task plugin's questions replace them.
pub const DEFAULT_CRITERIA: [&str; 3] = ["helpfulness", "harmlessness", "honesty"];

#[derive(Clone, Debug, PartialEq)]
pub struct Judging {
    pub assignment: Assignment,
    pub key: String,
    pub comparison: Comparison,
    /// For two responses: the winner with A = the left slot, B = the right one.
    pub winner: Option<Winner>,
    /// 1 = slightly, 2 = clearly, 3 = much better.
    pub strength: Option<u8>,
    /// A strength typed before the winner key, applied when the winner comes.
    pub pending_strength: Option<u8>,
    /// Per criterion, in slot terms like `winner`.
    pub criteria: BTreeMap<String, Winner>,
    pub rationale: String,
    /// For three or more responses: tiers of slots, best first.
    pub ranking: Vec<Vec<usize>>,
    /// Milliseconds of active work on this item so far.
    pub active_ms: u64,
    /// Flagged for review (as the assignment stands in the store, or as just asked).
    pub flagged: bool,
}

impl Judging {
    pub fn new(assignment: Assignment, key: String, comparison: Comparison) -> Self {
        Judging {
            assignment,
            key,
            comparison,
            winner: None,
            strength: None,
            pending_strength: None,
            criteria: BTreeMap::new(),
            rationale: String::new(),
            ranking: Vec::new(),
            active_ms: 0,
            flagged: false,
        }
    }

    /// Responses in the order shown.
    pub fn slots(&self) -> usize {
        self.assignment.shown_order.len()
    }

    pub fn is_pairwise(&self) -> bool {
        self.slots() == 2
    }

    /// Sets the winner; a tie or "both bad" has no strength.
    pub fn choose(&mut self, winner: Winner) {
        self.winner = Some(winner);
        if matches!(winner, Winner::Tie | Winner::BothBad) {
            self.strength = None;
        }
    }

    /// Sets the strength, only when one side won.
    pub fn set_strength(&mut self, strength: u8) {
        if matches!(self.winner, Some(Winner::A | Winner::B)) && (1..=3).contains(&strength) {
            self.strength = Some(strength);
        }
    }

    /// Ranks a slot next (a new tier), or ties it with the last tier. A slot already ranked moves.
    pub fn rank(&mut self, slot: usize, tie_with_last: bool) {
        if slot >= self.slots() {
            return;
        }
        for tier in &mut self.ranking {
            tier.retain(|&s| s != slot);
        }
        self.ranking.retain(|t| !t.is_empty());
        match self.ranking.last_mut() {
            Some(last) if tie_with_last => last.push(slot),
            _ => self.ranking.push(vec![slot]),
        }
    }

    /// Moves a slot by drag and drop: into tier `tier` (tied with it), or, with `new_tier`, into a new
    /// tier inserted at that position (`tier == ranking.len()` appends at the bottom).
    pub fn place(&mut self, slot: usize, tier: usize, new_tier: bool) {
        if slot >= self.slots() {
            return;
        }
        // Where the target sits once the slot has left its old tier (which may disappear).
        let mut target = tier;
        for (t, members) in self.ranking.iter_mut().enumerate() {
            if let Some(at) = members.iter().position(|&s| s == slot) {
                members.remove(at);
                if members.is_empty() && t < tier {
                    target -= 1;
                }
            }
        }
        self.ranking.retain(|t| !t.is_empty());
        let target = target.min(self.ranking.len());
        if new_tier || target == self.ranking.len() {
            self.ranking.insert(target, vec![slot]);
        } else {
            self.ranking[target].push(slot);
        }
    }

    /// Takes back the last ranked slot.
    pub fn unrank_last(&mut self) {
        if let Some(last) = self.ranking.last_mut() {
            last.pop();
            if last.is_empty() {
                self.ranking.pop();
            }
        }
    }

    /// Why the judgment cannot be submitted yet, or None when it can.
    pub fn missing(&self) -> Option<&'static str> {
        if self.is_pairwise() {
            self.winner.is_none().then_some("choose a winner: 1 left, 2 right, 3 tie, 4 both bad")
        } else {
            let ranked: usize = self.ranking.iter().map(Vec::len).sum();
            (ranked < self.slots()).then_some("rank every response: press their numbers best first (Shift ties)")
        }
    }

    /// The payload in canonical order (indices into `Comparison::responses`), with the order shown.
    pub fn payload(&self) -> Option<Payload> {
        if self.missing().is_some() {
            return None;
        }
        let order = &self.assignment.shown_order;
        if self.is_pairwise() {
            let mut verdict = PairwiseVerdict::from_shown(order, 0, 1, self.winner?);
            // from_shown swaps sides when the left slot holds the higher index; criteria follow.
            let swapped = order[0] > order[1];
            verdict.strength = self.strength;
            verdict.criteria = self.criteria.iter().map(|(k, w)| (k.clone(), if swapped { w.swapped() } else { *w })).collect();
            verdict.rationale = Some(self.rationale.trim().to_string()).filter(|r| !r.is_empty());
            Some(Payload::Verdict(verdict))
        } else {
            let tiers = self.ranking.iter().map(|tier| tier.iter().map(|&slot| order[slot]).collect()).collect();
            Some(Payload::Ranking(Ranking { tiers }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{AnnotatorId, AssignmentId, ItemId, Message, Response, Role};

    fn judging(shown_order: Vec<u32>) -> Judging {
        let n = shown_order.len();
        let comparison = Comparison {
            messages: vec![Message::text(Role::User, "q")],
            responses: (0..n).map(|i| Response::new(Some(&format!("m{i}")), format!("r{i}"))).collect(),
            metadata: serde_json::Value::Null,
        };
        let assignment = Assignment { id: AssignmentId(1), item: ItemId(1), annotator: AnnotatorId(1), shown_order, gold: false };
        Judging::new(assignment, "k".into(), comparison)
    }

    #[test]
    fn a_left_win_on_a_swapped_screen_is_a_canonical_b_win_with_criteria_swapped_too() {
        let mut j = judging(vec![1, 0]);
        assert!(j.payload().is_none());
        j.choose(Winner::A);
        j.set_strength(3);
        j.criteria.insert("honesty".into(), Winner::A);
        j.criteria.insert("harmlessness".into(), Winner::Tie);
        j.rationale = "  cites its source  ".into();
        let Some(Payload::Verdict(v)) = j.payload() else { panic!("a verdict") };
        assert_eq!((v.a, v.b, v.winner, v.strength), (0, 1, Winner::B, Some(3)));
        assert_eq!(v.criteria["honesty"], Winner::B);
        assert_eq!(v.criteria["harmlessness"], Winner::Tie);
        assert_eq!(v.rationale.as_deref(), Some("cites its source"));
        assert_eq!(v.shown_order, Some(vec![1, 0]));
    }

    #[test]
    fn ties_have_no_strength() {
        let mut j = judging(vec![0, 1]);
        j.choose(Winner::A);
        j.set_strength(2);
        j.choose(Winner::Tie);
        assert_eq!(j.strength, None);
        j.set_strength(2);
        assert_eq!(j.strength, None, "a tie takes no strength");
    }

    #[test]
    fn rankings_map_slots_to_canonical_responses_and_allow_ties() {
        let mut j = judging(vec![2, 0, 1]);
        j.rank(1, false); // response 0 best
        assert!(j.payload().is_none());
        j.rank(0, false); // response 2 next
        j.rank(2, true); // response 1 tied with it
        let Some(Payload::Ranking(r)) = j.payload() else { panic!("a ranking") };
        assert_eq!(r.tiers, vec![vec![0], vec![2, 1]]);
        j.unrank_last();
        assert_eq!(j.ranking, vec![vec![1], vec![0]]);
        j.rank(1, false); // re-ranking a slot moves it
        assert_eq!(j.ranking, vec![vec![0], vec![1]]);
    }

    #[test]
    fn dragging_moves_a_response_into_a_tier_or_a_new_one() {
        let mut j = judging(vec![0, 1, 2]);
        j.place(2, 0, true); // unranked slot 2 dropped at the top
        j.place(0, 1, true); // slot 0 below it
        assert_eq!(j.ranking, vec![vec![2], vec![0]]);
        j.place(1, 0, false); // slot 1 tied with the top
        assert_eq!(j.ranking, vec![vec![2, 1], vec![0]]);
        j.place(0, 0, true); // slot 0 dragged to a new top tier
        assert_eq!(j.ranking, vec![vec![0], vec![2, 1]]);
        j.place(0, 2, true); // and back to the bottom: its old tier vanishes first
        assert_eq!(j.ranking, vec![vec![2, 1], vec![0]]);
        let Some(Payload::Ranking(r)) = j.payload() else { panic!("a ranking") };
        assert_eq!(r.tiers, vec![vec![2, 1], vec![0]]);
    }
}
