//! Worked examples for `cairn_model::stats`. Each expected value is written out with the arithmetic
//! behind it; the published ones (Fleiss, Krippendorff 2011) and the hand-worked ones were also
//! recomputed with exact fractions in a plain-Python transcription of the textbook formulas.

use cairn_model::stats::*;
use cairn_model::{PairwiseVerdict, Winner};

fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want} (±{tol})");
}

// ---------------------------------------------------------------------------------------------
// Percent agreement

#[test]
fn percent_agreement_worked_example() {
    let units = vec![
        vec![Some(1), Some(1), Some(1)], // 3 of 3 pairs agree      → 1
        vec![Some(1), Some(1), Some(2)], // 1 of 3 pairs (the 1–1)  → 1/3
        vec![Some(1), Some(2), None],    // 0 of 1 pair             → 0
        vec![Some(2), None, None],       // one label: skipped
    ];
    // (1 + 1/3 + 0) / 3 = 4/9
    close(percent_agreement(&units).unwrap(), 4.0 / 9.0, 1e-15);
}

#[test]
fn percent_agreement_degenerate() {
    assert_eq!(percent_agreement(&[]), None);
    assert_eq!(percent_agreement(&[vec![Some(1)], vec![None, Some(2)], vec![]]), None);
    // Everyone agrees: defined, and 1.
    assert_eq!(percent_agreement(&[vec![Some(3), Some(3)], vec![Some(3), Some(3), Some(3)]]), Some(1.0));
}

// ---------------------------------------------------------------------------------------------
// Cohen's kappa

fn repeat(pair: (u32, u32), times: usize) -> impl Iterator<Item = (u32, u32)> {
    std::iter::repeat_n(pair, times)
}

#[test]
fn cohen_kappa_two_by_two() {
    // 50 items, labels 1 = yes, 0 = no:
    //                 rater 2 yes   rater 2 no
    //   rater 1 yes        20            5        (25)
    //   rater 1 no         10           15        (25)
    //                     (30)         (20)
    // po = (20 + 15)/50 = 0.7
    // pe = (25/50)(30/50) + (25/50)(20/50) = 0.30 + 0.20 = 0.5
    // κ  = (0.7 − 0.5)/(1 − 0.5) = 0.4
    let pairs: Vec<(u32, u32)> = repeat((1, 1), 20).chain(repeat((1, 0), 5)).chain(repeat((0, 1), 10)).chain(repeat((0, 0), 15)).collect();
    close(cohen_kappa(&pairs).unwrap(), 0.4, 1e-15);
}

#[test]
fn cohen_kappa_three_labels_and_below_chance() {
    // Labels a=0, b=1, c=2 over 10 items:
    //   (0,0)×3, (1,1)×2, (2,2)×1, (0,1)×2, (2,0)×2
    // po = 6/10; rater 1: 0→5, 1→2, 2→3; rater 2: 0→5, 1→4, 2→1
    // pe = (5·5 + 2·4 + 3·1)/100 = 36/100
    // κ  = (0.6 − 0.36)/(1 − 0.36) = 0.24/0.64 = 0.375
    let pairs: Vec<(u32, u32)> =
        repeat((0, 0), 3).chain(repeat((1, 1), 2)).chain(repeat((2, 2), 1)).chain(repeat((0, 1), 2)).chain(repeat((2, 0), 2)).collect();
    close(cohen_kappa(&pairs).unwrap(), 0.375, 1e-15);

    // Always disagreeing: po = 0, pe = (1·1 + 1·1)/4 = 0.5, κ = −0.5/0.5 = −1.
    close(cohen_kappa(&[(0, 1), (1, 0)]).unwrap(), -1.0, 1e-15);
}

#[test]
fn cohen_kappa_degenerate() {
    assert_eq!(cohen_kappa(&[]), None);
    // Both raters always say 7: pe = 1, κ undefined.
    assert_eq!(cohen_kappa(&[(7, 7), (7, 7), (7, 7)]), None);
    // One rater constant, the other not: pe = (3·2)/9 ≠ 1, po = pe, κ = 0.
    assert_eq!(cohen_kappa(&[(1, 1), (1, 1), (1, 2)]), Some(0.0));
}

// ---------------------------------------------------------------------------------------------
// Fleiss' kappa

#[test]
fn fleiss_kappa_wikipedia_example() {
    // 10 subjects, 14 raters each, 5 categories (the worked example in Wikipedia's "Fleiss' kappa").
    let counts = vec![
        vec![0, 0, 0, 0, 14],
        vec![0, 2, 6, 4, 2],
        vec![0, 0, 3, 5, 6],
        vec![0, 3, 9, 2, 0],
        vec![2, 2, 8, 1, 1],
        vec![7, 7, 0, 0, 0],
        vec![3, 2, 6, 3, 0],
        vec![2, 5, 3, 2, 2],
        vec![6, 5, 2, 1, 0],
        vec![0, 2, 2, 3, 7],
    ];
    // Σ_ij n_ij² per row: 196 60 70 94 74 98 58 46 66 66 → 828; N·n = 140 ratings.
    // P̄  = (828 − 140)/(140 · 13) = 688/1820 = 0.378022
    // column totals 20 28 39 21 32 → p_j = 0.143 0.200 0.279 0.150 0.229
    // P̄e = (20² + 28² + 39² + 21² + 32²)/140² = 4170/19600 = 0.212755
    // κ   = (0.378022 − 0.212755)/(1 − 0.212755) = 4211/20059 = 0.209931 ≈ 0.210
    close(fleiss_kappa(&counts).unwrap(), 4211.0 / 20059.0, 1e-12);
    close(fleiss_kappa(&counts).unwrap(), 0.210, 5e-4);
}

#[test]
fn fleiss_kappa_small_table() {
    // 3 items, 3 raters, 2 categories: [3,0], [0,3], [2,1].
    // P_i = (9−3)/6 = 1, 1, (4+1−3)/6 = 1/3 → P̄ = 7/9
    // columns 5, 4 of 9 → P̄e = (25 + 16)/81 = 41/81
    // κ = (63/81 − 41/81)/(40/81) = 22/40 = 0.55
    close(fleiss_kappa(&[vec![3, 0], vec![0, 3], vec![2, 1]]).unwrap(), 0.55, 1e-15);
}

#[test]
fn fleiss_kappa_degenerate() {
    assert_eq!(fleiss_kappa(&[]), None);
    assert_eq!(fleiss_kappa(&[vec![], vec![]]), None); // no categories, n = 0
    assert_eq!(fleiss_kappa(&[vec![1, 0], vec![0, 1]]), None); // one rater per item
    assert_eq!(fleiss_kappa(&[vec![2, 1], vec![1, 1]]), None); // 3 raters, then 2
    assert_eq!(fleiss_kappa(&[vec![2, 1], vec![1, 1, 1]]), None); // ragged rows
    assert_eq!(fleiss_kappa(&[vec![0, 4], vec![0, 4]]), None); // one category throughout: P̄e = 1
}

// ---------------------------------------------------------------------------------------------
// Krippendorff's alpha

/// Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 observers × 12 units
/// example with missing data. One entry per unit, observers A, B, C, D.
fn krippendorff_2011() -> Vec<Vec<Option<f64>>> {
    let table: [[Option<u8>; 4]; 12] = [
        [Some(1), Some(1), None, Some(1)],
        [Some(2), Some(2), Some(3), Some(2)],
        [Some(3), Some(3), Some(3), Some(3)],
        [Some(3), Some(3), Some(3), Some(3)],
        [Some(2), Some(2), Some(2), Some(2)],
        [Some(1), Some(2), Some(3), Some(4)],
        [Some(4), Some(4), Some(4), Some(4)],
        [Some(1), Some(1), Some(2), Some(1)],
        [Some(2), Some(2), Some(2), Some(2)],
        [None, Some(5), Some(5), Some(5)],
        [None, None, Some(1), Some(1)],
        [None, Some(3), None, None], // one value: not pairable
    ];
    table.iter().map(|unit| unit.iter().map(|v| v.map(f64::from)).collect()).collect()
}

#[test]
fn krippendorff_alpha_2011_example() {
    let units = krippendorff_2011();
    // Nominal: 40 pairable values, n_c = 9, 13, 10, 5, 3 for values 1..5; the coincidence matrix's
    // diagonal holds 7 + 10 + 8 + 4 + 3 = 32, so Σ_{c≠k} o_ck = 40 − 32 = 8.
    // Σ_{c≠k} n_c n_k = 40² − (81 + 169 + 100 + 25 + 9) = 1600 − 384 = 1216.
    // α = 1 − 39 · 8/1216 = 1 − 312/1216 = 113/152 = 0.743
    close(krippendorff_alpha(&units, Metric::Nominal).unwrap(), 113.0 / 152.0, 1e-12);
    close(krippendorff_alpha(&units, Metric::Nominal).unwrap(), 0.743, 5e-4);
    // The paper also gives α_ordinal = 0.815 and α_interval = 0.849 (exact: 108577/133160, 951/1120).
    close(krippendorff_alpha(&units, Metric::Ordinal).unwrap(), 108577.0 / 133160.0, 1e-12);
    close(krippendorff_alpha(&units, Metric::Interval).unwrap(), 951.0 / 1120.0, 1e-12);
}

#[test]
fn krippendorff_alpha_small_example_by_hand() {
    let n = None;
    let units: Vec<Vec<Option<f64>>> = [
        [Some(1.0), Some(1.0), n],
        [Some(1.0), Some(2.0), n],
        [Some(2.0), Some(3.0), n],
        [Some(3.0), Some(3.0), n],
        [Some(2.0), Some(2.0), Some(3.0)],
        [n, Some(3.0), n], // one value: dropped
    ]
    .iter()
    .map(|u| u.to_vec())
    .collect();
    // Coincidences (each unit adds 1/(m_u − 1) per ordered pair of its values):
    //   units 1–4 (m = 2, weight 1): o11 += 2; o12 = o21 += 1; o23 = o32 += 1; o33 += 2
    //   unit 5 (m = 3, weight ½):    pairs (2,2)×2 → o22 += 1; (2,3)×2 and (3,2)×2 → o23 = o32 += 1
    //   o = [[2, 1, 0], [1, 1, 2], [0, 2, 2]]  → n_1 = 3, n_2 = 4, n_3 = 4, n = 11
    //
    // Ordinal: δ(c,k) = Σ_{g=c..k} n_g − (n_c + n_k)/2
    //   δ(1,2) = (3 + 4)/2 = 3.5 → 12.25;  δ(2,3) = (4 + 4)/2 = 4 → 16;
    //   δ(1,3) = 3/2 + 4 + 4/2 = 7.5 → 56.25
    //   Σ o δ²     = 2 · (1 · 12.25 + 2 · 16 + 0 · 56.25) = 88.5
    //   Σ n n δ²   = 2 · (3·4 · 12.25 + 4·4 · 16 + 3·4 · 56.25) = 2 · (147 + 256 + 675) = 2156
    //   α_ordinal  = 1 − 10 · 88.5/2156 = 1271/2156 = 0.589518
    close(krippendorff_alpha(&units, Metric::Ordinal).unwrap(), 1271.0 / 2156.0, 1e-12);
    // Nominal: Σ_{c≠k} o = 2 · (1 + 2 + 0) = 6; Σ_{c≠k} n n = 11² − (9 + 16 + 16) = 80;
    //   α = 1 − 10 · 6/80 = 0.25
    close(krippendorff_alpha(&units, Metric::Nominal).unwrap(), 0.25, 1e-12);
    // Interval: δ² = 1, 1, 4; Σ o δ² = 2 · (1 + 2) = 6; Σ n n δ² = 2 · (12 + 16 + 12 · 4) = 152;
    //   α = 1 − 10 · 6/152 = 23/38 = 0.605263
    close(krippendorff_alpha(&units, Metric::Interval).unwrap(), 23.0 / 38.0, 1e-12);

    // Ordinal depends only on order: relabelling 1, 2, 3 as −5, 0.5, 100 changes nothing.
    let relabelled: Vec<Vec<Option<f64>>> = units.iter().map(|u| u.iter().map(|v| v.map(|x| [-5.0, 0.5, 100.0][x as usize - 1])).collect()).collect();
    close(krippendorff_alpha(&relabelled, Metric::Ordinal).unwrap(), 1271.0 / 2156.0, 1e-12);
}

#[test]
fn krippendorff_alpha_degenerate() {
    for metric in [Metric::Nominal, Metric::Ordinal, Metric::Interval] {
        assert_eq!(krippendorff_alpha(&[], metric), None);
        // One rater: no unit has two values.
        assert_eq!(krippendorff_alpha(&[vec![Some(1.0)], vec![Some(2.0)], vec![None]], metric), None);
        // Everyone gave the same value: D_e = 0.
        assert_eq!(krippendorff_alpha(&[vec![Some(2.0), Some(2.0)], vec![Some(2.0), Some(2.0), None]], metric), None);
        // Perfect agreement on varied values.
        assert_eq!(krippendorff_alpha(&[vec![Some(1.0), Some(1.0)], vec![Some(4.0), Some(4.0)]], metric), Some(1.0));
        // NaN and infinities count as missing: this is the perfect-agreement table again.
        let odd = [vec![Some(1.0), Some(1.0), Some(f64::NAN)], vec![Some(4.0), Some(f64::INFINITY), Some(4.0)]];
        assert_eq!(krippendorff_alpha(&odd, metric), Some(1.0));
        // −0 and +0 are one value.
        assert_eq!(krippendorff_alpha(&[vec![Some(-0.0), Some(0.0)], vec![Some(1.0), Some(1.0)]], metric), Some(1.0));
    }
}

// ---------------------------------------------------------------------------------------------
// Bradley–Terry

fn battles(a: usize, b: usize, outcome: Outcome, times: usize) -> impl Iterator<Item = Battle> {
    std::iter::repeat_n(Battle { a, b, outcome }, times)
}

/// Model 0 beats 1 in 4 of 6, 0 beats 2 in 4 of 5, 1 beats 2 in 2 of 3.
fn three_models() -> Vec<Battle> {
    use Outcome::*;
    battles(0, 1, AWins, 4)
        .chain(battles(0, 1, BWins, 2))
        .chain(battles(2, 0, BWins, 4)) // listed the other way round on purpose
        .chain(battles(2, 0, AWins, 1))
        .chain(battles(1, 2, AWins, 2))
        .chain(battles(1, 2, BWins, 1))
        .collect()
}

fn rating(board: &Leaderboard, model: usize) -> Option<f64> {
    board.rows.iter().find(|r| r.model == model).unwrap().rating
}

fn row(board: &Leaderboard, model: usize) -> &Row {
    board.rows.iter().find(|r| r.model == model).unwrap()
}

#[test]
fn bradley_terry_three_models() {
    let data = three_models();
    let board = bradley_terry(3, &data, &BtOptions { rounds: 0, ..BtOptions::default() });
    assert!(board.converged);
    // Wins W = (8, 4, 2); battles n_01 = 6, n_02 = 5, n_12 = 3.
    // p = (4, 2, 1) solves W_i = Σ_j n_ij p_i/(p_i + p_j):
    //   W_0 = 6·4/6 + 5·4/5 = 8;  W_1 = 6·2/6 + 3·2/3 = 4;  W_2 = 5·1/5 + 3·1/3 = 2
    // and every model won and lost something, so this is the unique MLE (up to scale).
    // Elo: 400·log10(4, 2, 1) = 240.824, 120.412, 0; mean 120.412 → 1120.412, 1000, 879.588
    let r: Vec<f64> = (0..3).map(|m| rating(&board, m).unwrap()).collect();
    close(r[0], 1000.0 + 400.0 * 2f64.log10(), 1e-7);
    close(r[1], 1000.0, 1e-7);
    close(r[2], 1000.0 - 400.0 * 2f64.log10(), 1e-7);
    close(r.iter().sum::<f64>() / 3.0, 1000.0, 1e-9);
    assert_eq!(board.rows.iter().map(|r| r.model).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!((row(&board, 0).battles, row(&board, 0).wins), (11, 8.0));
    assert_eq!((row(&board, 2).battles, row(&board, 2).wins), (8, 2.0));

    // Fixed-point equations, with strengths recovered from the ratings.
    let p: Vec<f64> = r.iter().map(|x| 10f64.powf((x - 1000.0) / 400.0)).collect();
    let n = [[0.0, 6.0, 5.0], [6.0, 0.0, 3.0], [5.0, 3.0, 0.0]];
    for (i, wins) in [8.0, 4.0, 2.0].into_iter().enumerate() {
        let expected: f64 = (0..3).map(|j| n[i][j] * p[i] / (p[i] + p[j])).sum();
        close(expected, wins, 1e-9);
    }
}

#[test]
fn bradley_terry_two_models_is_the_win_ratio() {
    // w = 7 wins, l = 3 losses: p_a/p_b = 7/3 exactly, so the gap is 400·log10(7/3) = 147.1907,
    // split evenly about 1000.
    let data: Vec<Battle> = battles(0, 1, Outcome::AWins, 7).chain(battles(0, 1, Outcome::BWins, 3)).collect();
    let board = bradley_terry(2, &data, &BtOptions { rounds: 0, ..BtOptions::default() });
    let gap = 400.0 * (7.0f64 / 3.0).log10();
    close(gap, 147.190_714_117_837_8, 1e-9);
    close(rating(&board, 0).unwrap(), 1000.0 + gap / 2.0, 1e-9);
    close(rating(&board, 1).unwrap(), 1000.0 - gap / 2.0, 1e-9);

    // Ties are half a win each: 5 wins, 3 losses, 4 ties → W = (7, 5) → gap 400·log10(7/5) = 58.4508.
    let data: Vec<Battle> = battles(0, 1, Outcome::AWins, 5).chain(battles(0, 1, Outcome::BWins, 3)).chain(battles(0, 1, Outcome::Tie, 4)).collect();
    let board = bradley_terry(2, &data, &BtOptions { rounds: 0, ..BtOptions::default() });
    close(rating(&board, 0).unwrap() - rating(&board, 1).unwrap(), 400.0 * 1.4f64.log10(), 1e-9);
    assert_eq!(row(&board, 0).wins, 7.0);
}

fn width(board: &Leaderboard, model: usize) -> f64 {
    let r = row(board, model);
    r.upper.unwrap() - r.lower.unwrap()
}

#[test]
fn bradley_terry_bootstrap_intervals() {
    let base: Vec<Battle> = three_models().repeat(3); // 42 battles
    let tenfold: Vec<Battle> = base.repeat(10); // 420 battles
    let opts = BtOptions { seed: 42, ..BtOptions::default() };
    let small = bradley_terry(3, &base, &opts);
    let large = bradley_terry(3, &tenfold, &opts);
    for board in [&small, &large] {
        assert!(board.resamples > 150, "{} usable resamples", board.resamples);
        for r in &board.rows {
            let (lo, x, hi) = (r.lower.unwrap(), r.rating.unwrap(), r.upper.unwrap());
            assert!(lo < x && x < hi, "model {}: {lo} < {x} < {hi}", r.model);
        }
    }
    // Repeating the battles leaves the MLE where it was and narrows the intervals (by about √10).
    for m in 0..3 {
        close(rating(&small, m).unwrap(), rating(&large, m).unwrap(), 1e-7);
        assert!(width(&large, m) < width(&small, m) / 2.0, "model {m}: {} vs {}", width(&large, m), width(&small, m));
    }
    // Deterministic for a seed, different for another.
    assert_eq!(bradley_terry(3, &base, &opts), small);
    assert_ne!(bradley_terry(3, &base, &BtOptions { seed: 43, ..opts.clone() }).rows[0].lower, small.rows[0].lower);
    // A narrower level gives a narrower interval.
    let narrow = bradley_terry(3, &base, &BtOptions { level: 0.5, ..opts });
    assert!(width(&narrow, 0) < width(&small, 0));
}

#[test]
fn bradley_terry_degenerate() {
    let opts = BtOptions::default();
    let empty = bradley_terry(0, &[], &opts);
    assert!(empty.rows.is_empty() && !empty.converged);

    // No battles: every model listed, none rated.
    let board = bradley_terry(3, &[], &opts);
    assert_eq!(board.rows.len(), 3);
    assert!(board.rows.iter().all(|r| r.rating.is_none() && r.lower.is_none() && r.battles == 0));

    // Out-of-range indices and self-battles are ignored; a model without battles has no rating
    // and sorts last.
    let data: Vec<Battle> = battles(0, 2, Outcome::AWins, 3)
        .chain(battles(0, 2, Outcome::BWins, 1))
        .chain([Battle { a: 0, b: 9, outcome: Outcome::AWins }, Battle { a: 1, b: 1, outcome: Outcome::Tie }])
        .collect();
    let board = bradley_terry(3, &data, &BtOptions { rounds: 0, ..opts.clone() });
    assert_eq!(board.ignored, 2);
    assert_eq!(board.rows.iter().map(|r| r.model).collect::<Vec<_>>(), [0, 2, 1]);
    assert_eq!(rating(&board, 1), None);
    close(rating(&board, 0).unwrap() - rating(&board, 2).unwrap(), 400.0 * 3f64.log10(), 1e-9);
    assert!(board.rows.iter().all(|r| r.lower.is_none())); // rounds = 0

    // An undefeated model has no finite MLE: no ratings without a prior …
    let sweep: Vec<Battle> = battles(0, 1, Outcome::AWins, 3).collect();
    let board = bradley_terry(2, &sweep, &opts);
    assert!(board.rows.iter().all(|r| r.rating.is_none()) && !board.converged);
    assert_eq!(row(&board, 0).wins, 3.0);
    // … finite ones with a prior. With one virtual tie against the reference (strength 1) each:
    //   p_0 = 3.5/(3/(p_0 + p_1) + 1/(p_0 + 1)),  p_1 = 0.5/(3/(p_0 + p_1) + 1/(p_1 + 1)).
    let board = bradley_terry(2, &sweep, &BtOptions { prior: 1.0, ..opts.clone() });
    let (r0, r1) = (rating(&board, 0).unwrap(), rating(&board, 1).unwrap());
    assert!(board.converged && r0 > r1);
    let (p0, p1) = (10f64.powf((r0 - 1000.0) / 400.0), 10f64.powf((r1 - 1000.0) / 400.0));
    // Ratings are centred on 1000, so the strengths come back up to a common factor s with
    // p_0 s · p_1 s = 1 (the reference sits at the geometric mean here by symmetry of the prior).
    close(p0 * p1, 1.0, 1e-9);
    close(p0, 3.5 / (3.0 / (p0 + p1) + 1.0 / (p0 + 1.0)), 1e-9);
    close(p1, 0.5 / (3.0 / (p0 + p1) + 1.0 / (p1 + 1.0)), 1e-9);
    let r = row(&board, 0);
    assert!(r.lower.unwrap() <= r0 && r0 <= r.upper.unwrap());

    // Two groups that never met: not identifiable without a prior.
    let apart: Vec<Battle> = [(0, 1), (1, 0), (2, 3), (3, 2)].iter().map(|&(a, b)| Battle { a, b, outcome: Outcome::AWins }).collect();
    assert!(bradley_terry(4, &apart, &opts).rows.iter().all(|r| r.rating.is_none()));
    assert!(bradley_terry(4, &apart, &BtOptions { prior: 1.0, ..opts.clone() }).rows.iter().all(|r| r.rating.is_some()));

    // Nonsense options do not panic and give no intervals.
    let data = three_models();
    let board = bradley_terry(3, &data, &BtOptions { level: f64::NAN, prior: f64::NAN, tolerance: f64::NAN, max_iter: 5, ..opts });
    assert!(board.rows.iter().all(|r| r.rating.is_some_and(f64::is_finite) && r.lower.is_none()));
    assert!(!board.converged);
}

#[test]
fn outcome_from_winner() {
    assert_eq!(Outcome::from_winner(Winner::A), Some(Outcome::AWins));
    assert_eq!(Outcome::from_winner(Winner::B), Some(Outcome::BWins));
    assert_eq!(Outcome::from_winner(Winner::Tie), Some(Outcome::Tie));
    assert_eq!(Outcome::from_winner(Winner::BothBad), None);
}

// ---------------------------------------------------------------------------------------------
// Position bias

#[test]
fn position_bias_fifteen_of_twenty() {
    let verdicts: Vec<ShownOutcome> = std::iter::repeat_n(ShownOutcome::LeftWon, 15)
        .chain(std::iter::repeat_n(ShownOutcome::RightWon, 5))
        .chain(std::iter::repeat_n(ShownOutcome::NoPreference, 4))
        .collect();
    let bias = position_bias(&verdicts).unwrap();
    assert_eq!((bias.left_wins, bias.right_wins, bias.no_preference, bias.decisive), (15, 5, 4, 20));
    close(bias.left_rate, 0.75, 1e-15);
    // P(X ≥ 15 | n = 20, ½) = (C(20,15) + C(20,16) + … + C(20,20))/2²⁰
    //                       = (15504 + 4845 + 1140 + 190 + 20 + 1)/1048576 = 21700/1048576
    // two-sided: 2 · 21700/1048576 = 5425/131072 = 0.0413895
    close(bias.p_value, 5425.0 / 131072.0, 1e-12);
    close(bias.p_value, 0.04139, 5e-6);
    assert!(bias.exact);
}

#[test]
fn binomial_test_values() {
    // 10 of 20: as likely as it gets → 1.  0 of 5: 2 · (1/32) = 0.0625.  1 of 1: 2 · ½ = 1.
    assert_eq!(binomial_test_half(10, 20), Some(1.0));
    close(binomial_test_half(0, 5).unwrap(), 0.0625, 1e-15);
    close(binomial_test_half(5, 5).unwrap(), 0.0625, 1e-15);
    assert_eq!(binomial_test_half(1, 1), Some(1.0));
    // Exact tails from Python's math.comb: 530/1000 → 0.0620232, 600/1000 → 2.72846e-10.
    close(binomial_test_half(530, 1000).unwrap(), 0.062_023_195_098_363_18, 1e-12);
    close(binomial_test_half(600, 1000).unwrap() / 2.728_464_156_066_018_4e-10, 1.0, 1e-9);
    // Above 1000 trials, the normal approximation: 1100/2000 → z = 99.5/√500 = 4.44977,
    // erfc(z/√2) = 8.596e-6 (the exact tail is 8.457e-6).
    close(binomial_test_half(1100, 2000).unwrap() / 8.596_018_738_181_893e-6, 1.0, 1e-6);
    assert_eq!(binomial_test_half(1000, 2000), Some(1.0));
    assert_eq!(binomial_test_half(0, 0), None);
    assert_eq!(binomial_test_half(3, 2), None);
}

#[test]
fn position_bias_degenerate() {
    assert_eq!(position_bias(&[]), None);
    assert_eq!(position_bias(&[ShownOutcome::NoPreference; 3]), None);
    let one = position_bias(&[ShownOutcome::RightWon]).unwrap();
    assert_eq!((one.left_rate, one.p_value), (0.0, 1.0));
}

#[test]
fn shown_outcome_from_verdict() {
    let verdict = |winner, shown: Option<Vec<u32>>| PairwiseVerdict { shown_order: shown, ..PairwiseVerdict::new(winner) };
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::A, Some(vec![0, 1]))), Some(ShownOutcome::LeftWon));
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::A, Some(vec![1, 0]))), Some(ShownOutcome::RightWon));
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::B, Some(vec![1, 0]))), Some(ShownOutcome::LeftWon));
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::BothBad, Some(vec![1, 0]))), Some(ShownOutcome::NoPreference));
    // Three responses shown 2, 1, 0: comparing a = 0 with b = 1, response 1 was further left.
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::B, Some(vec![2, 1, 0]))), Some(ShownOutcome::LeftWon));
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::A, None)), None);
    assert_eq!(ShownOutcome::from_verdict(&verdict(Winner::A, Some(vec![0, 2]))), None);
}
