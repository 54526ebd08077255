//! Position bias: does the response shown first (on the left) win more often than chance?

use crate::{PairwiseVerdict, Winner};
use serde::{Deserialize, Serialize};

/// A verdict seen by screen position rather than by canonical response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShownOutcome {
    /// The response shown first (left) won.
    LeftWon,
    /// The response shown second (right) won.
    RightWon,
    /// A tie or "both bad": no side preferred.
    NoPreference,
}

impl ShownOutcome {
    /// The verdict by position, from its `shown_order` (canonical indices, left to right): the
    /// left side is whichever of `a` and `b` was shown first. `None` when the shown order is not
    /// recorded or lacks `a` or `b`.
    pub fn from_verdict(verdict: &PairwiseVerdict) -> Option<ShownOutcome> {
        let order = verdict.shown_order.as_ref()?;
        let at = |index: u32| order.iter().position(|&shown| shown == index);
        let (pos_a, pos_b) = (at(verdict.a)?, at(verdict.b)?);
        if pos_a == pos_b {
            return None;
        }
        let a_left = pos_a < pos_b;
        Some(match verdict.winner {
            Winner::A if a_left => ShownOutcome::LeftWon,
            Winner::B if !a_left => ShownOutcome::LeftWon,
            Winner::A | Winner::B => ShownOutcome::RightWon,
            Winner::Tie | Winner::BothBad => ShownOutcome::NoPreference,
        })
    }
}

/// The result of [`position_bias`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionBias {
    pub left_wins: u64,
    pub right_wins: u64,
    /// Ties and "both bad"; left out of the rate and the test.
    pub no_preference: u64,
    /// `left_wins + right_wins`.
    pub decisive: u64,
    /// `left_wins / decisive`; 0.5 is no bias.
    pub left_rate: f64,
    /// Two-sided binomial test of `left_rate = 0.5`, see [`binomial_test_half`].
    pub p_value: f64,
    /// Whether `p_value` is exact (`decisive ≤ 1000`) rather than the normal approximation.
    pub exact: bool,
}

/// How often the response shown first wins, among verdicts that prefer one side.
///
/// Ties and "both bad" are counted but excluded: `left_rate = left_wins / (left_wins + right_wins)`,
/// tested against 0.5 with [`binomial_test_half`]. Apply it per annotator and overall by passing the
/// corresponding verdicts. `None` when no verdict prefers a side.
pub fn position_bias(verdicts: &[ShownOutcome]) -> Option<PositionBias> {
    let count = |which: ShownOutcome| verdicts.iter().filter(|&&v| v == which).count() as u64;
    let (left_wins, right_wins) = (count(ShownOutcome::LeftWon), count(ShownOutcome::RightWon));
    let decisive = left_wins + right_wins;
    let p_value = binomial_test_half(left_wins, decisive)?;
    Some(PositionBias {
        left_wins,
        right_wins,
        no_preference: verdicts.len() as u64 - decisive,
        decisive,
        left_rate: left_wins as f64 / decisive as f64,
        p_value,
        exact: decisive <= EXACT_UP_TO,
    })
}

/// Largest number of trials for which [`binomial_test_half`] sums the exact tail.
const EXACT_UP_TO: u64 = 1000;

/// Two-sided p-value of `successes` in `trials` under a fair coin (the sign test).
///
/// With `m = max(k, n − k)`, `p = min(1, 2·P(X ≥ m))` for `X ~ Binomial(n, ½)`; as the distribution
/// is symmetric this equals the sum of the probabilities of all outcomes no more likely than the
/// observed one (the definition R's `binom.test` uses). For `n ≤ 1000` the tail
/// `Σ_{i=m..n} C(n,i)/2ⁿ` is summed exactly, in log space; above that, the normal approximation
/// with continuity correction, `z = (|k − n/2| − ½)/(√n/2)` and `p = erfc(z/√2)` (relative error
/// of the erfc below 1.2·10⁻⁷).
///
/// `None` when `trials` is 0 or `successes > trials`.
pub fn binomial_test_half(successes: u64, trials: u64) -> Option<f64> {
    if trials == 0 || successes > trials {
        return None;
    }
    let p = if trials <= EXACT_UP_TO { exact_two_sided(successes, trials) } else { normal_two_sided(successes, trials) };
    Some(p.min(1.0))
}

/// `2·P(X ≥ max(k, n − k))` for `X ~ Binomial(n, ½)`, summed in log space; O(n).
fn exact_two_sided(k: u64, n: u64) -> f64 {
    let m = k.max(n - k);
    // ln C(n, m) = Σ_{i=m+1..n} ln i − Σ_{i=1..n−m} ln i.
    let ln_choose = (m + 1..=n).map(|i| (i as f64).ln()).sum::<f64>() - (1..=n - m).map(|i| (i as f64).ln()).sum::<f64>();
    // The tail relative to its largest (first) term: t_m = 1, t_{i+1} = t_i (n − i)/(i + 1).
    let mut term = 1.0;
    let mut relative = 0.0;
    for i in m..=n {
        relative += term;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    2.0 * (ln_choose + relative.ln() - n as f64 * std::f64::consts::LN_2).exp()
}

/// The normal approximation to [`exact_two_sided`], with continuity correction.
fn normal_two_sided(k: u64, n: u64) -> f64 {
    // Mean n/2, standard deviation √n/2.
    let z = ((k as f64 - n as f64 / 2.0).abs() - 0.5) / ((n as f64).sqrt() / 2.0);
    if z <= 0.0 { 1.0 } else { erfc(z / std::f64::consts::SQRT_2) }
}

/// Complementary error function (Numerical Recipes' `erfcc`, fractional error < 1.2·10⁻⁷).
fn erfc(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let y = t * (-x * x + poly).exp();
    if x >= 0.0 { y } else { 2.0 - y }
}

#[cfg(test)]
mod tests {
    use super::{EXACT_UP_TO, binomial_test_half, erfc, exact_two_sided, normal_two_sided};

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1, erfc(1) = 0.157299207050285, erfc(2) = 0.004677734981047266, erfc(−1) = 1.842700792949715.
        for (x, want) in [(0.0, 1.0), (1.0, 0.157_299_207_050_285), (2.0, 0.004_677_734_981_047_266), (-1.0, 1.842_700_792_949_715)] {
            assert!((erfc(x) - want).abs() <= 1.2e-7 * want, "erfc({x}) = {}", erfc(x));
        }
    }

    #[test]
    fn normal_approximation_tracks_the_exact_tail() {
        // Just past the exact range, both computed for the same (k, n). Python, exact:
        // 521/1001 → 0.2061073, 541/1001 → 0.0114161, 561/1001 → 1.46407e-4; normal: 0.2061299,
        // 0.0114532, 1.48936e-4.
        let n = EXACT_UP_TO + 1;
        for (k, python) in [(521, 0.206_107_310_832_953_2), (541, 0.011_416_138_921_663_795), (561, 1.464_070_944_373_708_7e-4)] {
            let (exact, approx) = (exact_two_sided(k, n), normal_two_sided(k, n));
            assert!((exact / python - 1.0).abs() < 1e-9, "k={k}: exact {exact}, python {python}");
            assert!((approx / exact - 1.0).abs() < 0.02, "k={k}: exact {exact}, approx {approx}");
            assert_eq!(binomial_test_half(k, n), Some(approx));
        }
        assert_eq!(normal_two_sided(500, 1001), 1.0);
    }
}
