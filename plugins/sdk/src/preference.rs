//! Preference pairs from verdicts and rankings, with the policies every preference exporter offers:
//! ties, rankings to pairs, which annotators count, and agreement filtering.

use crate::info::OptionSpec;
use cairn_model::{AnnotatorKind, Comparison, ExportRecord, Payload, RecordAnnotation, Winner};

/// One preference between two responses of a comparison (canonical indices).
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub chosen: u32,
    pub rejected: u32,
    /// The pair came from a tie (emitted under `ties=both-ways`); both orders are written.
    pub tie: bool,
    /// 1 = slightly better … 3 = much better, when the annotator said.
    pub strength: Option<u8>,
    pub annotator: String,
    pub at_ms: i64,
}

/// One verdict as the formats that keep ties and "both bad" see it (Arena).
#[derive(Clone, Debug, PartialEq)]
pub struct Battle {
    pub a: u32,
    pub b: u32,
    pub winner: Winner,
    pub annotator: String,
    pub at_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TiePolicy {
    Drop,
    BothWays,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankingPolicy {
    AllPairs,
    BestVsRest,
    Adjacent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnotatorFilter {
    All,
    Human,
    Source,
    Model,
}

/// The preference policies, read from an exporter's options.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub ties: TiePolicy,
    pub rankings: RankingPolicy,
    pub annotators: AnnotatorFilter,
    /// Drop items whose verdicts agree less than this share (0..=1) on the majority answer.
    pub min_agreement: Option<f64>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { ties: TiePolicy::Drop, rankings: RankingPolicy::AllPairs, annotators: AnnotatorFilter::All, min_agreement: None }
    }
}

impl Policy {
    /// The option declarations behind [`Policy::from_options`].
    pub fn options() -> Vec<OptionSpec> {
        vec![
            OptionSpec::choice("ties", "ties and \"both bad\": drop them, or write both orders", &["drop", "both-ways"]),
            OptionSpec::choice("rankings", "how a ranking becomes pairs", &["all-pairs", "best-vs-rest", "adjacent"]),
            OptionSpec::choice(
                "annotators",
                "whose answers count: everyone, people, imported gold labels, models",
                &["all", "human", "source", "model"],
            ),
            OptionSpec::text("min-agreement", "leave out items whose verdicts agree less than this share (0 to 1)", None),
        ]
    }

    pub fn from_options(get: impl Fn(&str) -> Option<String>) -> Result<Policy, String> {
        let ties = match get("ties").as_deref() {
            None | Some("drop") => TiePolicy::Drop,
            Some("both-ways") => TiePolicy::BothWays,
            Some(other) => return Err(format!("option ties: unknown value {other:?} (drop, both-ways)")),
        };
        let rankings = match get("rankings").as_deref() {
            None | Some("all-pairs") => RankingPolicy::AllPairs,
            Some("best-vs-rest") => RankingPolicy::BestVsRest,
            Some("adjacent") => RankingPolicy::Adjacent,
            Some(other) => return Err(format!("option rankings: unknown value {other:?} (all-pairs, best-vs-rest, adjacent)")),
        };
        let annotators = match get("annotators").as_deref() {
            None | Some("all") => AnnotatorFilter::All,
            Some("human") => AnnotatorFilter::Human,
            Some("source") => AnnotatorFilter::Source,
            Some("model") => AnnotatorFilter::Model,
            Some(other) => return Err(format!("option annotators: unknown value {other:?} (all, human, source, model)")),
        };
        let min_agreement = match get("min-agreement").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => match v.parse::<f64>() {
                Ok(share) if (0.0..=1.0).contains(&share) => Some(share),
                _ => return Err(format!("option min-agreement: expected a share from 0 to 1, got {v:?}")),
            },
        };
        Ok(Policy { ties, rankings, annotators, min_agreement })
    }

    fn counts(&self, a: &RecordAnnotation) -> bool {
        match self.annotators {
            AnnotatorFilter::All => true,
            AnnotatorFilter::Human => a.annotator_kind == AnnotatorKind::Human,
            AnnotatorFilter::Source => a.annotator_kind == AnnotatorKind::Source,
            AnnotatorFilter::Model => a.annotator_kind == AnnotatorKind::Model,
        }
    }

    /// The annotations of a record that count under this policy, or none when the item falls under
    /// the agreement threshold.
    pub fn annotations<'r>(&self, record: &'r ExportRecord) -> Vec<&'r RecordAnnotation> {
        let counted: Vec<_> = record.annotations.iter().filter(|a| self.counts(a)).collect();
        if let Some(threshold) = self.min_agreement
            && agreement(&counted).is_some_and(|share| share < threshold)
        {
            return Vec::new();
        }
        counted
    }

    /// Every preference pair of a record under this policy, in annotation order.
    pub fn pairs(&self, record: &ExportRecord) -> (Vec<Pair>, u64) {
        let mut pairs = Vec::new();
        let mut skipped = 0;
        for a in self.annotations(record) {
            let mut push = |chosen, rejected, tie, strength| {
                pairs.push(Pair { chosen, rejected, tie, strength, annotator: a.annotator.clone(), at_ms: a.at_ms })
            };
            match &a.payload {
                Payload::Verdict(v) => match (v.winner, self.ties) {
                    (Winner::A, _) => push(v.a, v.b, false, v.strength),
                    (Winner::B, _) => push(v.b, v.a, false, v.strength),
                    (Winner::Tie | Winner::BothBad, TiePolicy::BothWays) => {
                        push(v.a, v.b, true, None);
                        push(v.b, v.a, true, None);
                    }
                    (Winner::Tie | Winner::BothBad, TiePolicy::Drop) => skipped += 1,
                },
                Payload::Ranking(r) => {
                    let ranked = ranking_pairs(&r.tiers, self.rankings);
                    if ranked.is_empty() {
                        skipped += 1;
                    }
                    for (upper, lower) in ranked {
                        push(upper, lower, false, None);
                    }
                }
                _ => {}
            }
        }
        (pairs, skipped)
    }

    /// Every verdict of a record as a battle, ties and "both bad" kept.
    pub fn battles(&self, record: &ExportRecord) -> Vec<Battle> {
        self.annotations(record)
            .into_iter()
            .filter_map(|a| match &a.payload {
                Payload::Verdict(v) => Some(Battle { a: v.a, b: v.b, winner: v.winner, annotator: a.annotator.clone(), at_ms: a.at_ms }),
                _ => None,
            })
            .collect()
    }
}

/// (better, worse) pairs of a ranking (best tier first; members of a tier are tied).
pub fn ranking_pairs(tiers: &[Vec<u32>], policy: RankingPolicy) -> Vec<(u32, u32)> {
    if policy == RankingPolicy::AllPairs {
        return cairn_model::Ranking { tiers: tiers.to_vec() }.pairs();
    }
    let mut out = Vec::new();
    for (t, tier) in tiers.iter().enumerate() {
        let lower: Vec<u32> = match policy {
            RankingPolicy::AllPairs => unreachable!("handled above"),
            RankingPolicy::BestVsRest if t == 0 => tiers[1..].iter().flatten().copied().collect(),
            RankingPolicy::BestVsRest => Vec::new(),
            RankingPolicy::Adjacent => tiers.get(t + 1).cloned().unwrap_or_default(),
        };
        for &upper in tier {
            out.extend(lower.iter().map(|&l| (upper, l)));
        }
    }
    out
}

/// The share of verdicts that give the most common answer (sides normalised so `a < b`), or None
/// when fewer than two verdicts exist.
pub fn agreement(annotations: &[&RecordAnnotation]) -> Option<f64> {
    let answers: Vec<(u32, u32, Winner)> = annotations
        .iter()
        .filter_map(|a| match &a.payload {
            Payload::Verdict(v) if v.a <= v.b => Some((v.a, v.b, v.winner)),
            Payload::Verdict(v) => Some((v.b, v.a, v.winner.swapped())),
            _ => None,
        })
        .collect();
    if answers.len() < 2 {
        return None;
    }
    let most = answers.iter().map(|x| answers.iter().filter(|y| *y == x).count()).max().unwrap_or(0);
    Some(most as f64 / answers.len() as f64)
}

/// The comparison of a record, or an error naming the record.
pub fn comparison(record: &ExportRecord) -> Result<&Comparison, String> {
    match &record.item {
        cairn_model::ItemData::Comparison(c) => Ok(c),
        _ => Err(format!("item {}: not a comparison", record.key)),
    }
}

/// The text of a response, or an error naming the record when the index is out of range.
pub fn response_text(record: &ExportRecord, index: u32) -> Result<String, String> {
    let c = comparison(record)?;
    c.responses
        .get(index as usize)
        .map(|r| r.content.to_text())
        .ok_or_else(|| format!("item {}: response {index} does not exist ({} responses)", record.key, c.responses.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rankings_become_pairs_by_policy() {
        let tiers = vec![vec![2], vec![0, 3], vec![1]];
        assert_eq!(ranking_pairs(&tiers, RankingPolicy::AllPairs), vec![(2, 0), (2, 3), (2, 1), (0, 1), (3, 1)]);
        assert_eq!(ranking_pairs(&tiers, RankingPolicy::BestVsRest), vec![(2, 0), (2, 3), (2, 1)]);
        assert_eq!(ranking_pairs(&tiers, RankingPolicy::Adjacent), vec![(2, 0), (2, 3), (0, 1), (3, 1)]);
    }
}
