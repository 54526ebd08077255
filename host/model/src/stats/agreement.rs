//! Inter-annotator agreement: percent agreement, Cohen's κ, Fleiss' κ and Krippendorff's α.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Mean pairwise agreement over items.
///
/// `units` holds one entry per item; each entry holds one slot per rater with the rater's nominal
/// label, or `None` where that rater gave none. For an item with `m ≥ 2` labels, its agreement is
/// the share of its `m(m−1)/2` rater pairs that gave the same label; the result is the unweighted
/// mean of that share over all items with at least two labels. Items with fewer than two labels
/// are skipped.
///
/// `None` when no item has two labels.
pub fn percent_agreement(units: &[Vec<Option<u32>>]) -> Option<f64> {
    let mut sum = 0.0;
    let mut items = 0u64;
    for unit in units {
        let counts = tally(unit.iter().flatten().copied());
        let m: u64 = counts.values().sum();
        if m < 2 {
            continue;
        }
        let agreeing: u64 = counts.values().map(|&c| c * (c - 1) / 2).sum();
        sum += agreeing as f64 / (m * (m - 1) / 2) as f64;
        items += 1;
    }
    (items > 0).then(|| sum / items as f64)
}

/// Cohen's κ for two raters who gave nominal labels to the same items.
///
/// Each pair is `(label of rater 1, label of rater 2)` for one item. With observed agreement
/// `po = A/n` and chance agreement `pe = Σ_k (r1_k/n)(r2_k/n)` (`r1_k`, `r2_k`: how often each rater
/// used label `k`), `κ = (po − pe)/(1 − pe)`, computed as `(n·A − Σ r1_k r2_k)/(n² − Σ r1_k r2_k)`
/// from exact counts.
///
/// `None` when there are no pairs or `pe = 1` (both raters used one and the same label throughout),
/// where κ is undefined.
pub fn cohen_kappa(pairs: &[(u32, u32)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as u128;
    let agree = pairs.iter().filter(|(x, y)| x == y).count() as u128;
    let first = tally(pairs.iter().map(|p| p.0));
    let second = tally(pairs.iter().map(|p| p.1));
    let chance: u128 = first.iter().map(|(k, &c)| c as u128 * second.get(k).copied().unwrap_or(0) as u128).sum();
    let denominator = n * n - chance;
    if denominator == 0 {
        return None;
    }
    // n·A − chance is negative when agreement is below chance.
    let numerator = (n * agree) as i128 - chance as i128;
    finite(numerator as f64 / denominator as f64)
}

/// Fleiss' κ for many raters, nominal categories, the same number of ratings per item.
///
/// `counts[i][j]` is how many raters put item `i` in category `j`. Every row must have the same
/// length and the same sum `n ≥ 2` (the number of raters per item; the raters need not be the same
/// people). With `N` items:
///
/// - `P_i = (Σ_j n_ij² − n) / (n(n−1))`, the agreement on item `i`, and `P̄` its mean;
/// - `p_j = Σ_i n_ij / (N n)`, the share of all ratings in category `j`, and `P̄e = Σ_j p_j²`;
/// - `κ = (P̄ − P̄e) / (1 − P̄e)`.
///
/// `None` when there are no items, rows differ in length or sum, `n < 2`, or every rating is in a
/// single category (`P̄e = 1`).
pub fn fleiss_kappa(counts: &[Vec<u32>]) -> Option<f64> {
    let first = counts.first()?;
    let categories = first.len();
    let n: u64 = first.iter().map(|&c| c as u64).sum();
    if n < 2 {
        return None;
    }
    let mut column = vec![0u64; categories];
    let mut squares: u128 = 0;
    for row in counts {
        if row.len() != categories || row.iter().map(|&c| c as u64).sum::<u64>() != n {
            return None;
        }
        for (total, &c) in column.iter_mut().zip(row) {
            *total += c as u64;
            squares += c as u128 * c as u128;
        }
    }
    let total = counts.len() as u128 * n as u128; // N·n ratings in all
    let column_squares: u128 = column.iter().map(|&c| c as u128 * c as u128).sum();
    if column_squares == total * total {
        return None;
    }
    let p_bar = (squares - total) as f64 / (total as f64 * (n - 1) as f64);
    let p_e = column_squares as f64 / (total as f64 * total as f64);
    finite((p_bar - p_e) / (1.0 - p_e))
}

/// The difference function for [`krippendorff_alpha`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// δ²(c,k) = 0 when c = k, else 1. For verdicts and other unordered labels.
    Nominal,
    /// δ²(c,k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², with n_g the number of pairable values equal to
    /// g: only the order of the values matters. For strengths and Likert ratings.
    Ordinal,
    /// δ²(c,k) = (c − k)². For ratings whose differences are meaningful.
    Interval,
}

/// Krippendorff's α: any number of raters, missing data, nominal, ordinal or interval values.
///
/// `units` holds one entry per item (unit); each entry holds the values the raters gave, `None`
/// where a rater gave none (the slots need not line up between units). Non-finite values count as
/// missing. A unit with fewer than two values is not pairable and is dropped.
///
/// Coincidence-matrix formulation (Krippendorff, "Computing Krippendorff's alpha-reliability",
/// 2011): each pairable unit `u` with `m_u` values adds `1/(m_u − 1)` to `o_ck` for every ordered
/// pair of its values `(c, k)` taken from different raters; `n_c = Σ_k o_ck` is the number of
/// pairable values equal to `c` and `n = Σ_c n_c`. Then
///
/// `α = 1 − D_o/D_e = 1 − (n − 1) · Σ_{c,k} o_ck δ²(c,k) / Σ_{c,k} n_c n_k δ²(c,k)`.
///
/// α = 1 is perfect agreement, 0 is chance level, below 0 is systematic disagreement.
///
/// `None` when fewer than two distinct values occur among the pairable values (no unit has two
/// values, or everyone gave the same value), where α is undefined.
pub fn krippendorff_alpha(units: &[Vec<Option<f64>>], metric: Metric) -> Option<f64> {
    // Pairable units, values sorted; `+ 0.0` turns −0 into +0 so the two count as one value.
    let pairable: Vec<Vec<f64>> = units
        .iter()
        .map(|u| {
            let mut values: Vec<f64> = u.iter().flatten().filter(|v| v.is_finite()).map(|v| v + 0.0).collect();
            values.sort_by(f64::total_cmp);
            values
        })
        .filter(|values| values.len() >= 2)
        .collect();
    let mut all: Vec<f64> = pairable.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let distinct = runs(&all);
    if distinct.len() < 2 {
        return None;
    }
    let n = all.len() as f64;

    let (observed, expected) = match metric {
        Metric::Nominal => {
            // Σ_{c≠k} n_uc n_uk = m_u² − Σ_c n_uc² within a unit; likewise n² − Σ_c n_c² overall.
            let observed: f64 = pairable
                .iter()
                .map(|values| {
                    let m = values.len() as f64;
                    let same: f64 = runs(values).iter().map(|&(_, c)| (c * c) as f64).sum();
                    (m * m - same) / (m - 1.0)
                })
                .sum();
            let same: f64 = distinct.iter().map(|&(_, c)| (c * c) as f64).sum();
            (observed, n * n - same)
        }
        Metric::Ordinal | Metric::Interval => {
            // Both metrics are squared differences of a position x_c: the value itself (interval),
            // or its mid-rank M_c = Σ_{g<c} n_g + n_c/2 (ordinal), since for c < k
            // Σ_{g=c..k} n_g − (n_c + n_k)/2 = M_k − M_c. Over a multiset of positions,
            // Σ_{i,j} (x_i − x_j)² = 2m Σ_i (x_i − x̄)², which is linear in the number of values.
            let mut position = Vec::with_capacity(distinct.len());
            let mut below = 0usize;
            for &(value, count) in &distinct {
                position.push(match metric {
                    Metric::Interval => value,
                    _ => below as f64 + count as f64 / 2.0,
                });
                below += count;
            }
            let x = |value: f64| {
                let i = distinct.partition_point(|&(v, _)| v.total_cmp(&value).is_lt());
                position[i]
            };
            let observed: f64 = pairable
                .iter()
                .map(|values| {
                    let xs: Vec<f64> = values.iter().map(|&v| x(v)).collect();
                    let m = xs.len() as f64;
                    2.0 * m * spread(&xs) / (m - 1.0)
                })
                .sum();
            let xs: Vec<f64> = all.iter().map(|&v| x(v)).collect();
            (observed, 2.0 * n * spread(&xs))
        }
    };
    if !expected.is_finite() || expected <= 0.0 {
        return None;
    }
    finite(1.0 - (n - 1.0) * observed / expected)
}

/// How often each label occurs.
fn tally(labels: impl Iterator<Item = u32>) -> BTreeMap<u32, u64> {
    let mut counts = BTreeMap::new();
    for label in labels {
        *counts.entry(label).or_insert(0) += 1;
    }
    counts
}

/// Distinct values of a sorted slice with their counts.
fn runs(sorted: &[f64]) -> Vec<(f64, usize)> {
    let mut out: Vec<(f64, usize)> = Vec::new();
    for &v in sorted {
        match out.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

/// Σ (x_i − x̄)².
fn spread(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    xs.iter().map(|x| (x - mean) * (x - mean)).sum()
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
