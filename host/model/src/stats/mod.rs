//! Preference statistics over plain data: inter-annotator agreement, a Bradley–Terry leaderboard
//! and position bias (see `FORMATS.md`, "Preference statistics").
//!
//! Everything here is a pure function of its arguments: no I/O, no clocks, no global randomness
//! (the bootstrap draws from a small seeded generator, so the same input and seed give the same
//! intervals on every machine). Callers translate annotations into the plain shapes these functions
//! take: nominal codes for agreement, [`Battle`]s for the leaderboard, [`ShownOutcome`]s for
//! position bias.
//!
//! Degenerate input (nothing to compare, one rater, a single label everywhere) gives `None`, never
//! `NaN`, and nothing here panics.
//!
//! | Statistic | Function |
//! |---|---|
//! | percent agreement | [`percent_agreement`] |
//! | Cohen's κ (two raters) | [`cohen_kappa`] |
//! | Fleiss' κ (fixed number of raters) | [`fleiss_kappa`] |
//! | Krippendorff's α (any raters, missing data) | [`krippendorff_alpha`] |
//! | Bradley–Terry ratings on the Elo scale, bootstrap intervals | [`bradley_terry`] |
//! | left/first-shown win rate and binomial test | [`position_bias`] |

mod agreement;
mod bradley_terry;
mod position;

pub use agreement::{Metric, cohen_kappa, fleiss_kappa, krippendorff_alpha, percent_agreement};
pub use bradley_terry::{Battle, BtOptions, Leaderboard, Outcome, Row, bradley_terry};
pub use position::{PositionBias, ShownOutcome, binomial_test_half, position_bias};
