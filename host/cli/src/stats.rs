//! `cairn stats`: annotation quality and the model leaderboard, as text or JSON.

use anyhow::Result;
use cairn_store::{Project, QualityOptions, QualityReport};
use std::path::Path;

pub fn run(project: &Path, gold_annotator: Option<String>, include_sources: bool, json: bool) -> Result<()> {
    let p = Project::open(project)?;
    let report = p.quality(&QualityOptions { gold_annotator, include_sources, rounds: 200 })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())
}

fn print(r: &QualityReport) {
    println!("{} judgments on {} items", r.judgments, r.items_judged);
    let a = &r.agreement;
    println!("agreement ({} items judged by two or more):", a.shared_items);
    println!("  percent agreement            {}", num(a.percent));
    println!("  Fleiss' kappa ({} raters)     {}", a.fleiss_raters, num(a.fleiss_kappa));
    println!(
        "  Krippendorff's alpha         {} nominal (verdicts), {} ordinal (signed strengths)",
        num(a.krippendorff_alpha_nominal),
        num(a.krippendorff_alpha_ordinal_strength)
    );
    for k in &a.cohen_kappa {
        println!("  Cohen's kappa {} / {}: {} on {} shared items", k.a, k.b, num(k.kappa), k.shared);
    }
    if let Some(b) = &r.position_bias {
        println!("position bias: the left response won {:.1}% of {} decisive verdicts (p = {:.3})", 100.0 * b.left_rate, b.decisive, b.p_value);
    }
    println!("annotators:");
    for an in &r.annotators {
        let speed = an.median_active_ms.map(|ms| format!("{:.1} s median", ms as f64 / 1000.0)).unwrap_or_else(|| "no timed judgments".into());
        let gold = an.gold_accuracy.map(|g| format!(", gold {:.0}% of {}", 100.0 * g, an.gold_checked)).unwrap_or_default();
        let bias = an.position_bias.as_ref().map(|b| format!(", left wins {:.0}%", 100.0 * b.left_rate)).unwrap_or_default();
        println!("  {:<20} {:>5} judgments, {speed}{gold}{bias}", an.name, an.judgments);
    }
    println!(
        "leaderboard (Bradley–Terry, Elo scale, 95% bootstrap interval{}):",
        if r.leaderboard_prior > 0.0 { ", one virtual tie per model" } else { "" }
    );
    for m in &r.leaderboard {
        println!(
            "  {:<24} {:>7}  [{} – {}]  {} battles, {:.1} wins",
            m.model,
            num(m.rating.map(|v| v.round())).trim_end_matches(".000"),
            num(m.lower.map(|v| v.round())).trim_end_matches(".000"),
            num(m.upper.map(|v| v.round())).trim_end_matches(".000"),
            m.battles,
            m.wins
        );
    }
}
