//! `cairn stats`: agreement between annotators, gold accuracy, speed, position bias and a
//! Bradley–Terry leaderboard of the models, computed from the project's current verdicts and rankings
//! with the pure statistics in `cairn_model::stats`.

use crate::db::vals;
use crate::error::{Result, StoreError};
use crate::project::Project;
use crate::revision::RevisionAction;
use cairn_model::stats::{self, Battle, BtOptions, Metric, Outcome, PositionBias, ShownOutcome};
use cairn_model::{AnnotatorKind, ItemData, Modality, Payload, PayloadKind, Winner};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug, Default)]
pub struct QualityOptions {
    /// The reference annotator for gold accuracy (e.g. `import:hh-rlhf`).
    pub gold_annotator: Option<String>,
    /// Count imported (source) and model verdicts too; by default only people's.
    pub include_sources: bool,
    /// Bootstrap resamples for the leaderboard's intervals.
    pub rounds: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct QualityReport {
    /// Verdicts and rankings counted.
    pub judgments: u64,
    pub items_judged: u64,
    pub agreement: Agreement,
    pub position_bias: Option<PositionBias>,
    pub annotators: Vec<AnnotatorQuality>,
    pub leaderboard: Vec<ModelRating>,
    /// 0 for the plain maximum-likelihood fit; 1 when one virtual tie per model was needed.
    pub leaderboard_prior: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Agreement {
    /// Comparisons (item and response pair) judged by two or more annotators.
    pub shared_items: u64,
    pub percent: Option<f64>,
    /// Over the shared items with the most common number of raters (Fleiss needs a fixed number).
    pub fleiss_kappa: Option<f64>,
    pub fleiss_raters: u32,
    pub krippendorff_alpha_nominal: Option<f64>,
    /// On the signed strength scale: +3 … +1 for the first response, 0 tie, −1 … −3 for the second.
    pub krippendorff_alpha_ordinal_strength: Option<f64>,
    pub cohen_kappa: Vec<PairKappa>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PairKappa {
    pub a: String,
    pub b: String,
    pub shared: u64,
    pub kappa: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnnotatorQuality {
    pub name: String,
    pub judgments: u64,
    /// Median active time per judgment.
    pub median_active_ms: Option<u64>,
    pub gold_checked: u64,
    pub gold_correct: u64,
    pub gold_accuracy: Option<f64>,
    pub position_bias: Option<PositionBias>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelRating {
    pub model: String,
    pub rating: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub battles: u32,
    pub wins: f64,
}

/// A comparison unit (item, lower response, higher response) → each rater's answer (winner, signed strength).
type Units = BTreeMap<(u64, u32, u32), BTreeMap<usize, (Winner, Option<f64>)>>;

fn code(w: Winner) -> u32 {
    match w {
        Winner::A => 0,
        Winner::B => 1,
        Winner::Tie => 2,
        Winner::BothBad => 3,
    }
}

impl Project {
    pub fn quality(&self, options: &QualityOptions) -> Result<QualityReport> {
        let counted = |kind: AnnotatorKind| options.include_sources || kind == AnnotatorKind::Human;
        let mut raters: Vec<String> = Vec::new();
        let rater_index = |name: &str, raters: &mut Vec<String>| match raters.iter().position(|r| r == name) {
            Some(i) => i,
            None => {
                raters.push(name.to_string());
                raters.len() - 1
            }
        };
        // (item, a, b) → per rater (winner, signed strength); gold answers by unit.
        let mut units: Units = BTreeMap::new();
        let mut gold: HashMap<(u64, u32, u32), Winner> = HashMap::new();
        let mut shown: BTreeMap<usize, Vec<ShownOutcome>> = BTreeMap::new();
        let mut judgments_by: BTreeMap<usize, u64> = BTreeMap::new();
        let mut models: Vec<String> = Vec::new();
        let mut battles = Vec::new();
        let mut judgments = 0u64;
        let mut items_judged = 0u64;
        let mut item_no = 0u64;
        self.for_each_record::<StoreError>(&[PayloadKind::Verdict, PayloadKind::Ranking], &[Modality::Comparison], |record| {
            item_no += 1;
            let ItemData::Comparison(c) = &record.item else { return Ok(()) };
            let model_of = |i: u32, models: &mut Vec<String>| {
                let name = c.responses.get(i as usize).and_then(|r| r.model.clone()).unwrap_or_else(|| format!("response-{i}"));
                match models.iter().position(|m| *m == name) {
                    Some(at) => at,
                    None => {
                        models.push(name);
                        models.len() - 1
                    }
                }
            };
            let mut judged = false;
            for a in &record.annotations {
                if options.gold_annotator.as_deref() == Some(a.annotator.as_str()) {
                    if let Payload::Verdict(v) = &a.payload {
                        let (lo, hi, w) = if v.a <= v.b { (v.a, v.b, v.winner) } else { (v.b, v.a, v.winner.swapped()) };
                        gold.insert((item_no, lo, hi), w);
                    }
                    continue;
                }
                if !counted(a.annotator_kind) {
                    continue;
                }
                let rater = rater_index(&a.annotator, &mut raters);
                judged = true;
                judgments += 1;
                *judgments_by.entry(rater).or_default() += 1;
                match &a.payload {
                    Payload::Verdict(v) => {
                        let (lo, hi, w) = if v.a <= v.b { (v.a, v.b, v.winner) } else { (v.b, v.a, v.winner.swapped()) };
                        let signed = match w {
                            Winner::A => Some(v.strength.unwrap_or(1) as f64),
                            Winner::B => Some(-(v.strength.unwrap_or(1) as f64)),
                            Winner::Tie => Some(0.0),
                            Winner::BothBad => None,
                        };
                        units.entry((item_no, lo, hi)).or_default().insert(rater, (w, signed));
                        if let Some(outcome) = ShownOutcome::from_verdict(v) {
                            shown.entry(rater).or_default().push(outcome);
                        }
                        // "Both bad" says nothing about which model is better: no battle.
                        if let Some(outcome) = Outcome::from_winner(v.winner) {
                            battles.push(Battle { a: model_of(v.a, &mut models), b: model_of(v.b, &mut models), outcome });
                        }
                    }
                    Payload::Ranking(r) => {
                        for (upper, lower) in r.pairs() {
                            battles.push(Battle { a: model_of(upper, &mut models), b: model_of(lower, &mut models), outcome: Outcome::AWins });
                        }
                    }
                    _ => {}
                }
            }
            items_judged += u64::from(judged);
            Ok(())
        })?;

        let shared: Vec<&BTreeMap<usize, (Winner, Option<f64>)>> = units.values().filter(|u| u.len() >= 2).collect();
        let nominal: Vec<Vec<Option<u32>>> = shared.iter().map(|u| (0..raters.len()).map(|r| u.get(&r).map(|(w, _)| code(*w))).collect()).collect();
        let mut counts_by_size: BTreeMap<usize, u64> = BTreeMap::new();
        for u in &shared {
            *counts_by_size.entry(u.len()).or_default() += 1;
        }
        let fleiss_raters = counts_by_size.iter().max_by_key(|(size, n)| (**n, **size)).map(|(size, _)| *size).unwrap_or(0);
        let fleiss_table: Vec<Vec<u32>> = shared
            .iter()
            .filter(|u| u.len() == fleiss_raters)
            .map(|u| {
                let mut row = vec![0u32; 4];
                for (w, _) in u.values() {
                    row[code(*w) as usize] += 1;
                }
                row
            })
            .collect();
        let as_f64 =
            |rows: &[Vec<Option<u32>>]| -> Vec<Vec<Option<f64>>> { rows.iter().map(|r| r.iter().map(|v| v.map(f64::from)).collect()).collect() };
        let strengths: Vec<Vec<Option<f64>>> = shared.iter().map(|u| (0..raters.len()).map(|r| u.get(&r).and_then(|(_, s)| *s)).collect()).collect();
        let mut cohen = Vec::new();
        for a in 0..raters.len() {
            for b in a + 1..raters.len() {
                let pairs: Vec<(u32, u32)> = shared.iter().filter_map(|u| Some((code(u.get(&a)?.0), code(u.get(&b)?.0)))).collect();
                if pairs.len() >= 2 {
                    cohen.push(PairKappa {
                        a: raters[a].clone(),
                        b: raters[b].clone(),
                        shared: pairs.len() as u64,
                        kappa: stats::cohen_kappa(&pairs),
                    });
                }
            }
        }
        let agreement = Agreement {
            shared_items: shared.len() as u64,
            percent: stats::percent_agreement(&nominal),
            fleiss_kappa: if fleiss_raters >= 2 { stats::fleiss_kappa(&fleiss_table) } else { None },
            fleiss_raters: fleiss_raters as u32,
            krippendorff_alpha_nominal: stats::krippendorff_alpha(&as_f64(&nominal), Metric::Nominal),
            krippendorff_alpha_ordinal_strength: stats::krippendorff_alpha(&strengths, Metric::Ordinal),
            cohen_kappa: cohen,
        };

        // Gold accuracy: each rater's verdicts on units the gold annotator answered.
        let mut gold_tally: HashMap<usize, (u64, u64)> = HashMap::new();
        for (unit, answers) in &units {
            if let Some(reference) = gold.get(unit) {
                for (rater, (w, _)) in answers {
                    let tally = gold_tally.entry(*rater).or_default();
                    tally.0 += 1;
                    tally.1 += u64::from(w == reference);
                }
            }
        }
        let active = self.active_times()?;
        let annotators = raters
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (checked, correct) = gold_tally.get(&i).copied().unwrap_or_default();
                AnnotatorQuality {
                    name: name.clone(),
                    judgments: judgments_by.get(&i).copied().unwrap_or(0),
                    median_active_ms: active.get(name).and_then(|times| median(times)),
                    gold_checked: checked,
                    gold_correct: correct,
                    gold_accuracy: (checked > 0).then(|| correct as f64 / checked as f64),
                    position_bias: shown.get(&i).and_then(|o| stats::position_bias(o)),
                }
            })
            .collect();
        let all_shown: Vec<ShownOutcome> = shown.values().flatten().copied().collect();
        // Maximum likelihood; when the data cannot pin it down (a model never lost, or groups of
        // models never met), one virtual tie per model against a reference keeps ratings finite.
        let mut bt = BtOptions { rounds: if options.rounds == 0 { 200 } else { options.rounds }, ..BtOptions::default() };
        let mut board = stats::bradley_terry(models.len(), &battles, &bt);
        if !board.converged && !battles.is_empty() {
            bt.prior = 1.0;
            board = stats::bradley_terry(models.len(), &battles, &bt);
        }
        let leaderboard = board
            .rows
            .into_iter()
            .map(|r| ModelRating {
                model: models[r.model].clone(),
                rating: r.rating,
                lower: r.lower,
                upper: r.upper,
                battles: r.battles,
                wins: r.wins,
            })
            .collect();
        Ok(QualityReport {
            judgments,
            items_judged,
            agreement,
            position_bias: stats::position_bias(&all_shown),
            annotators,
            leaderboard,
            leaderboard_prior: bt.prior,
        })
    }

    /// Active milliseconds of each judgment (the revision that created it), by annotator name.
    fn active_times(&self) -> Result<HashMap<String, Vec<u64>>> {
        let rows = self.db.query(
            "SELECT n.name, r.active_ms FROM revisions r
             JOIN annotators n ON n.id = r.annotator_id JOIN annotations a ON a.id = r.annotation_id
             WHERE r.action = ?1 AND a.kind IN ('verdict', 'ranking') AND r.active_ms > 0",
            &vals![RevisionAction::Create],
        )?;
        let mut out: HashMap<String, Vec<u64>> = HashMap::new();
        for r in rows {
            out.entry(r.get(0)?).or_default().push(r.get::<i64>(1)? as u64);
        }
        Ok(out)
    }
}

fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}
