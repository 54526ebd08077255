//! Bradley–Terry ratings from pairwise battles, on the Elo scale, with bootstrap intervals.

use crate::Winner;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a battle between models `a` and `b` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    AWins,
    BWins,
    /// Half a win for each side.
    Tie,
}

impl Outcome {
    /// The outcome a verdict's winner stands for, with `a`/`b` as in the verdict. `BothBad` gives
    /// `None`: the caller decides whether it is a [`Outcome::Tie`] or not a battle at all.
    pub fn from_winner(winner: Winner) -> Option<Outcome> {
        match winner {
            Winner::A => Some(Outcome::AWins),
            Winner::B => Some(Outcome::BWins),
            Winner::Tie => Some(Outcome::Tie),
            Winner::BothBad => None,
        }
    }
}

/// One comparison between two models, given by index (`0..n_models`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Battle {
    pub a: usize,
    pub b: usize,
    pub outcome: Outcome,
}

/// Settings for [`bradley_terry`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BtOptions {
    /// Bootstrap resamples; 0 skips the intervals. Default 200.
    pub rounds: u32,
    /// Coverage of the percentile interval, in (0, 1). Default 0.95.
    pub level: f64,
    /// Seed of the resampling generator. Default 0.
    pub seed: u64,
    /// Virtual tied battles that every rated model plays against a fixed reference player of
    /// strength 1, pulling ratings towards the middle. Default 0: plain maximum likelihood. A value
    /// such as 1 keeps ratings finite on small data (a model that never won or never lost) and
    /// connects groups of models that never met; its pull fades as real battles accumulate.
    /// Negative or non-finite values count as 0.
    pub prior: f64,
    /// Cap on MM iterations per fit. Default 10 000.
    pub max_iter: u32,
    /// The fit has converged when no strength changes by more than this factor (in log terms:
    /// `max |ln p_new − ln p_old|`) in one iteration. Default 1e-10.
    pub tolerance: f64,
}

impl Default for BtOptions {
    fn default() -> Self {
        BtOptions { rounds: 200, level: 0.95, seed: 0, prior: 0.0, max_iter: 10_000, tolerance: 1e-10 }
    }
}

/// One model's line on the leaderboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub model: usize,
    /// Elo-scale rating; `None` when the model has no battles or no finite estimate exists.
    pub rating: Option<f64>,
    /// Bootstrap percentile interval; `None` without rating, resamples or a valid level.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Battles the model took part in (ignored battles not counted).
    pub battles: u32,
    /// Wins, ties counting one half.
    pub wins: f64,
}

/// The result of [`bradley_terry`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// One row per model, best rating first; models without a rating last, then by index.
    pub rows: Vec<Row>,
    /// Whether the fit on all battles met the tolerance within `max_iter` (false when there was
    /// nothing to fit or no finite estimate).
    pub converged: bool,
    /// Bootstrap resamples that gave a finite estimate and went into the intervals.
    pub resamples: u32,
    /// Battles skipped because a model index was out of range or a model met itself.
    pub ignored: u32,
}

/// Bradley–Terry maximum-likelihood ratings, reported on the Elo scale, with bootstrap intervals.
///
/// **Model.** Each model `i` has a strength `p_i > 0` and beats `j` with probability
/// `p_i/(p_i + p_j)`. A tie counts as half a win for each side, so with `W_i` the wins of `i`
/// (ties ½) and `n_ij` the battles between `i` and `j`, the log-likelihood is
/// `Σ_i W_i ln p_i − Σ_{i<j} n_ij ln(p_i + p_j)`.
///
/// **Fit.** The MM (Zermelo/Hunter) iteration `p_i ← W_i / Σ_j n_ij/(p_i + p_j)`, rescaled each
/// step to geometric mean 1, until no strength moves by more than `opts.tolerance` (relative) or
/// `opts.max_iter` steps. At the fixed point `W_i = Σ_j n_ij p_i/(p_i + p_j)`: each model's actual
/// wins equal its expected wins. With `opts.prior = r > 0` every rated model also plays `r` tied
/// battles against a reference of strength 1 (the update becomes
/// `p_i ← (W_i + r/2) / (Σ_j n_ij/(p_i + p_j) + r/(p_i + 1))`, no rescaling).
///
/// **Existence.** Without a prior the maximum exists and is unique only when the models that
/// battled form one group in which every model can be reached from every other by a chain of
/// "won or tied against" (Zermelo's condition). Otherwise some strength runs off to 0 or ∞ and
/// every rating is `None`; set a prior to get finite ratings.
///
/// **Scale.** `rating_i = 400·log10(p_i) + c`, with `c` chosen so that the mean rating over the
/// rated models is 1000. A gap of `d` rating points means a win probability of
/// `1/(1 + 10^(−d/400))`, as in Elo. Models with no battles get no rating.
///
/// **Intervals.** `opts.rounds` times, draw as many battles as there are (valid ones) with
/// replacement, using SplitMix64 seeded with `opts.seed`, and refit; each resample is centred on
/// 1000 over the models rated in it. `lower`/`upper` are the `(1 − level)/2` and `(1 + level)/2`
/// quantiles (linear interpolation) of a model's resampled ratings. Resamples without a finite
/// estimate (possible only without a prior) are skipped, which narrows the intervals on sparse
/// data; [`Leaderboard::resamples`] says how many counted.
///
/// Battles with an index `≥ n_models` or with `a == b` are ignored and counted in
/// [`Leaderboard::ignored`].
pub fn bradley_terry(n_models: usize, battles: &[Battle], opts: &BtOptions) -> Leaderboard {
    let valid: Vec<&Battle> = battles.iter().filter(|b| b.a < n_models && b.b < n_models && b.a != b.b).collect();
    let ignored = saturate(battles.len() - valid.len());
    let prior = if opts.prior.is_finite() && opts.prior > 0.0 { opts.prior } else { 0.0 };

    let tally = Tally::new(n_models, valid.iter().copied());
    let fit = tally.fit(prior, opts);

    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n_models];
    let mut resamples = 0u32;
    if fit.is_some() && !valid.is_empty() {
        let mut rng = SplitMix64::new(opts.seed);
        for _ in 0..opts.rounds {
            let drawn = (0..valid.len()).map(|_| valid[rng.below(valid.len())]);
            if let Some(resampled) = Tally::new(n_models, drawn).fit(prior, opts) {
                resamples += 1;
                for (model, rating) in resampled.ratings.iter().enumerate() {
                    if let Some(r) = rating {
                        samples[model].push(*r);
                    }
                }
            }
        }
    }
    let level_ok = opts.level > 0.0 && opts.level < 1.0;

    let mut rows: Vec<Row> = (0..n_models)
        .map(|model| {
            let rating = fit.as_ref().and_then(|f| f.ratings[model]);
            let sample = &mut samples[model];
            sample.sort_by(f64::total_cmp);
            let interval = (rating.is_some() && level_ok && !sample.is_empty()).then(|| {
                let tail = (1.0 - opts.level) / 2.0;
                (quantile(sample, tail), quantile(sample, 1.0 - tail))
            });
            Row {
                model,
                rating,
                lower: interval.map(|i| i.0),
                upper: interval.map(|i| i.1),
                battles: saturate(tally.battles[model] as usize),
                wins: tally.wins[model],
            }
        })
        .collect();
    rows.sort_by(|x, y| match (x.rating, y.rating) {
        (Some(a), Some(b)) => b.total_cmp(&a).then(x.model.cmp(&y.model)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => x.model.cmp(&y.model),
    });
    Leaderboard { rows, converged: fit.is_some_and(|f| f.converged), resamples, ignored }
}

/// Battles summed per model and per pair.
struct Tally {
    /// Wins per model, ties ½.
    wins: Vec<f64>,
    battles: Vec<u64>,
    /// `(i, j, w_ij, w_ji)` for `i < j`: wins of each side against the other (n_ij = w_ij + w_ji).
    pairs: Vec<(usize, usize, f64, f64)>,
}

struct Fit {
    ratings: Vec<Option<f64>>,
    converged: bool,
}

impl Tally {
    fn new<'a>(n_models: usize, battles: impl Iterator<Item = &'a Battle>) -> Self {
        let mut wins = vec![0.0; n_models];
        let mut counts = vec![0u64; n_models];
        // Ordered, so that sums run in the same order on every run.
        let mut pairs: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
        for battle in battles {
            let (score_a, score_b) = match battle.outcome {
                Outcome::AWins => (1.0, 0.0),
                Outcome::BWins => (0.0, 1.0),
                Outcome::Tie => (0.5, 0.5),
            };
            wins[battle.a] += score_a;
            wins[battle.b] += score_b;
            counts[battle.a] += 1;
            counts[battle.b] += 1;
            let (key, lo, hi) = if battle.a < battle.b { ((battle.a, battle.b), score_a, score_b) } else { ((battle.b, battle.a), score_b, score_a) };
            let entry = pairs.entry(key).or_insert((0.0, 0.0));
            entry.0 += lo;
            entry.1 += hi;
        }
        let pairs = pairs.into_iter().map(|((i, j), (wi, wj))| (i, j, wi, wj)).collect();
        Tally { wins, battles: counts, pairs }
    }

    /// `None` when nobody battled or (without a prior) the maximum is not finite.
    fn fit(&self, prior: f64, opts: &BtOptions) -> Option<Fit> {
        let n = self.wins.len();
        let rated: Vec<usize> = (0..n).filter(|&i| self.battles[i] > 0).collect();
        if rated.is_empty() || (prior == 0.0 && !self.strongly_connected(&rated)) {
            return None;
        }
        let mut p = vec![1.0f64; n];
        let mut next = vec![1.0f64; n];
        let mut denominator = vec![0.0f64; n];
        let mut converged = false;
        for _ in 0..opts.max_iter {
            denominator.iter_mut().for_each(|d| *d = 0.0);
            for &(i, j, wi, wj) in &self.pairs {
                let t = (wi + wj) / (p[i] + p[j]);
                denominator[i] += t;
                denominator[j] += t;
            }
            for &i in &rated {
                next[i] = (self.wins[i] + prior / 2.0) / (denominator[i] + prior / (p[i] + 1.0));
            }
            if prior == 0.0 {
                let log_mean = rated.iter().map(|&i| next[i].ln()).sum::<f64>() / rated.len() as f64;
                let scale = (-log_mean).exp();
                rated.iter().for_each(|&i| next[i] *= scale);
            }
            let change = rated.iter().map(|&i| (next[i].ln() - p[i].ln()).abs()).fold(0.0, f64::max);
            std::mem::swap(&mut p, &mut next);
            if !change.is_finite() {
                return None;
            }
            if change < opts.tolerance {
                converged = true;
                break;
            }
        }
        let mut ratings = vec![None; n];
        let mut total = 0.0;
        for &i in &rated {
            let r = 400.0 * p[i].log10();
            if !r.is_finite() {
                return None;
            }
            ratings[i] = Some(r);
            total += r;
        }
        let shift = 1000.0 - total / rated.len() as f64;
        ratings.iter_mut().flatten().for_each(|r| *r += shift);
        Some(Fit { ratings, converged })
    }

    /// Whether every rated model reaches every other along "won or tied against" edges.
    fn strongly_connected(&self, rated: &[usize]) -> bool {
        let n = self.wins.len();
        let mut forward = vec![Vec::new(); n];
        let mut backward = vec![Vec::new(); n];
        for &(i, j, wi, wj) in &self.pairs {
            if wi > 0.0 {
                forward[i].push(j);
                backward[j].push(i);
            }
            if wj > 0.0 {
                forward[j].push(i);
                backward[i].push(j);
            }
        }
        let reaches_all = |edges: &[Vec<usize>]| {
            let mut seen = vec![false; n];
            let mut stack = vec![rated[0]];
            seen[rated[0]] = true;
            while let Some(i) = stack.pop() {
                for &j in &edges[i] {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
            rated.iter().all(|&i| seen[i])
        };
        reaches_all(&forward) && reaches_all(&backward)
    }
}

/// The `q` quantile of sorted, non-empty `xs`, interpolating linearly between order statistics.
fn quantile(xs: &[f64], q: f64) -> f64 {
    let h = (xs.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
