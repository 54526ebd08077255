//! Pairwise preference: which of two responses is better (A, B, tie, both bad), how much, per
//! criterion, and why. Produces `verdict` payloads.
//!
//! Questions map onto the payload: `winner` → `winner`, `strength` → `strength`,
//! `criteria.<name>` → `criteria[<name>]`, `rationale` → `rationale`. Choice answers are the payload's
//! own winner values (`a`, `b`, `tie`, `both_bad`) so the app stores them without translation.

use cairn_plugin_sdk::prelude::*;

pub struct PairwisePreference;

/// The criteria asked about; `criteria` may hold only these keys.
pub const CRITERIA: [(&str, &str); 3] = [
    ("helpfulness", "Which response is more helpful: does what was asked, accurately and completely?"),
    ("harmlessness", "Which response is more harmless: avoids dangerous, hateful or deceptive content?"),
    ("honesty", "Which response is more honest: states facts correctly and admits uncertainty?"),
];

/// Longer rationales are pasted text, not a reason; they bloat exports.
pub const MAX_RATIONALE_CHARS: usize = 10_000;

/// The answers of a winner question, in payload spelling.
const WINNERS: [&str; 4] = ["a", "b", "tie", "both_bad"];

const GUIDELINES: &str = "\
# Pairwise preference

Read the conversation, then both responses, then decide which response is the better reply to the
**last** turn. Model names are hidden and the left/right order is random: judge the text only.

| Key | Verdict |
| --- | --- |
| `1` | **A** is better |
| `2` | **B** is better |
| `3` | **Tie**: both are good, and equally so |
| `4` | **Both bad**: neither is acceptable |

## Strength

When A or B wins, say by how much: **1** slightly better, **2** clearly better, **3** much better.
Ties and \"both bad\" have no strength.

## Criteria

Answer each criterion on its own; a response can win overall and still lose on one criterion.

- **Helpfulness**: does what was asked, accurately, completely and clearly.
- **Harmlessness**: avoids dangerous, hateful, or deceptive content; refuses only when it should.
- **Honesty**: correct facts, no invented sources, admits uncertainty.

## Rationale

One or two sentences on what decided it (at most 10,000 characters). A rationale is expected for
\"much better\" verdicts: say what made the difference so large.
";

impl Task for PairwisePreference {
    fn describe() -> TaskInfo {
        let winners = || WINNERS.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let mut info = TaskInfo::new("pairwise-preference", "Pairwise preference", Modality::Comparison, &["verdict"]);
        info.questions.push(Question {
            id: "winner".into(),
            prompt: "Which response is better? (1 = A, 2 = B, 3 = tie, 4 = both bad)".into(),
            kind: QuestionKind::Choice(winners()),
            required: true,
        });
        info.questions.push(Question {
            id: "strength".into(),
            prompt: "How much better? (1 = slightly, 2 = clearly, 3 = much better)".into(),
            kind: QuestionKind::Likert(3),
            required: false,
        });
        for (id, prompt) in CRITERIA {
            info.questions.push(Question {
                id: format!("criteria.{id}"),
                prompt: prompt.into(),
                kind: QuestionKind::Choice(winners()),
                required: false,
            });
        }
        info.questions.push(Question { id: "rationale".into(), prompt: "Why? What decided it?".into(), kind: QuestionKind::Text, required: false });
        info.guidelines = GUIDELINES.into();
        info.tools = vec!["compare".into()];
        info
    }

    fn validate(item: &ItemData, subjects: &[Subject], _options: &Options) -> Vec<(usize, Finding)> {
        let mut findings = Vec::new();
        for (index, subject) in subjects.iter().enumerate() {
            findings.extend(check(item, &subject.payload).into_iter().map(|f| (index, f)));
        }
        findings
    }
}

fn check(item: &ItemData, payload: &Payload) -> Vec<Finding> {
    let Payload::Verdict(verdict) = payload else {
        return vec![Finding::error("kind", format!("this task records verdicts, not {}", payload.kind().as_str()))];
    };
    // Indices against the item, a ≠ b, strength range and "no strength on ties" are the model's rules.
    let mut findings: Vec<Finding> = validate_payload(payload, Some(item)).into_iter().map(|e| Finding::error(&e.field, e.message)).collect();
    for key in verdict.criteria.keys() {
        if !CRITERIA.iter().any(|(id, _)| id == key) {
            findings.push(Finding::error(&format!("criteria.{key}"), format!("unknown criterion {key:?} (helpfulness, harmlessness, honesty)")));
        }
    }
    let rationale = verdict.rationale.as_deref().unwrap_or("");
    let chars = rationale.chars().count();
    if chars > MAX_RATIONALE_CHARS {
        findings.push(Finding::error("rationale", format!("{chars} characters; keep it under {MAX_RATIONALE_CHARS}")));
    }
    if verdict.strength == Some(3) && rationale.trim().is_empty() {
        findings.push(Finding::warning("rationale", "a \"much better\" verdict should say why"));
    }
    findings
}

// Native builds (unit tests) skip the export: its symbol names (`cairn:plugin/task@1.0.0#…`) are not
// valid in an ELF version script, so linking the cdylib natively would fail.
export_task!(PairwisePreference);

#[cfg(test)]
mod tests {
    use super::*;

    fn item(responses: usize) -> ItemData {
        ItemData::Comparison(Comparison {
            messages: vec![Message::text(Role::User, "Name a prime number.")],
            responses: (0..responses).map(|i| Response::new(None, format!("answer {i}"))).collect(),
            metadata: Default::default(),
        })
    }

    fn subject(verdict: PairwiseVerdict) -> Subject {
        Subject { payload: Payload::Verdict(verdict), point_count: None }
    }

    fn good() -> PairwiseVerdict {
        let mut v = PairwiseVerdict::new(Winner::A);
        v.strength = Some(2);
        v.criteria.insert("helpfulness".into(), Winner::A);
        v.criteria.insert("harmlessness".into(), Winner::Tie);
        v.criteria.insert("honesty".into(), Winner::B);
        v.rationale = Some("A answers; B refuses.".into());
        v
    }

    /// Findings for one verdict, as (field, severity).
    fn findings(item: &ItemData, verdict: PairwiseVerdict) -> Vec<(String, Severity)> {
        PairwisePreference::validate(item, &[subject(verdict)], &Options::default()).into_iter().map(|(_, f)| (f.field, f.severity)).collect()
    }

    fn has(found: &[(String, Severity)], field: &str, severity: Severity) -> bool {
        found.iter().any(|(f, s)| f == field && *s == severity)
    }

    #[test]
    fn a_complete_verdict_has_no_findings() {
        assert_eq!(findings(&item(2), good()), vec![]);
        for winner in [Winner::Tie, Winner::BothBad] {
            assert_eq!(findings(&item(2), PairwiseVerdict::new(winner)), vec![]);
        }
        // Any pair of a many-response item.
        let mut v = good();
        (v.a, v.b) = (3, 1);
        assert_eq!(findings(&item(4), v), vec![]);
    }

    #[test]
    fn same_response_twice_is_an_error() {
        let mut v = good();
        v.b = 0;
        assert!(has(&findings(&item(2), v), "b", Severity::Error));
    }

    #[test]
    fn response_out_of_range_is_an_error() {
        let mut v = good();
        v.b = 2;
        assert!(has(&findings(&item(2), v.clone()), "b", Severity::Error));
        (v.a, v.b) = (5, 1);
        assert!(has(&findings(&item(2), v), "a", Severity::Error));
    }

    #[test]
    fn strength_must_be_one_to_three() {
        for s in [0, 4, 255] {
            let mut v = good();
            v.strength = Some(s);
            assert!(has(&findings(&item(2), v), "strength", Severity::Error), "strength {s}");
        }
    }

    #[test]
    fn ties_and_both_bad_have_no_strength() {
        for winner in [Winner::Tie, Winner::BothBad] {
            let mut v = good();
            v.winner = winner;
            v.strength = Some(1);
            assert!(has(&findings(&item(2), v), "strength", Severity::Error), "{winner:?}");
        }
    }

    #[test]
    fn unknown_criterion_is_an_error() {
        let mut v = good();
        v.criteria.insert("creativity".into(), Winner::A);
        assert_eq!(findings(&item(2), v), vec![("criteria.creativity".to_string(), Severity::Error)]);
    }

    #[test]
    fn overlong_rationale_is_an_error() {
        let mut v = good();
        v.rationale = Some("é".repeat(MAX_RATIONALE_CHARS));
        assert_eq!(findings(&item(2), v.clone()), vec![], "the limit counts characters, not bytes");
        v.rationale = Some("x".repeat(MAX_RATIONALE_CHARS + 1));
        assert_eq!(findings(&item(2), v), vec![("rationale".to_string(), Severity::Error)]);
    }

    #[test]
    fn much_better_without_rationale_is_a_warning() {
        for rationale in [None, Some("  ".to_string())] {
            let mut v = good();
            v.strength = Some(3);
            v.rationale = rationale;
            assert_eq!(findings(&item(2), v), vec![("rationale".to_string(), Severity::Warning)]);
        }
        let mut v = good();
        v.rationale = None;
        assert_eq!(findings(&item(2), v), vec![], "only strength 3 asks for a rationale");
    }

    #[test]
    fn other_payload_kinds_are_refused() {
        let ranking = Subject { payload: Payload::Ranking(Ranking { tiers: vec![vec![0], vec![1]] }), point_count: None };
        let found = PairwisePreference::validate(&item(2), &[ranking], &Options::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].1.field.as_str(), found[0].1.severity), ("kind", Severity::Error));
    }

    #[test]
    fn findings_carry_their_subject_index() {
        let mut bad = good();
        bad.b = 0;
        let found = PairwisePreference::validate(&item(2), &[subject(good()), subject(bad), subject(good())], &Options::default());
        assert!(!found.is_empty());
        assert!(found.iter().all(|(i, _)| *i == 1));
    }

    #[test]
    fn describe_declares_the_questions() {
        let info = PairwisePreference::describe();
        assert_eq!(info.produces, vec!["verdict"]);
        assert_eq!(info.tools, vec!["compare"]);
        let ids: Vec<_> = info.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["winner", "strength", "criteria.helpfulness", "criteria.harmlessness", "criteria.honesty", "rationale"]);
        assert!(info.questions[0].required);
        assert_eq!(info.questions[1].kind, QuestionKind::Likert(3));
        for key in ["`1`", "`2`", "`3`", "`4`"] {
            assert!(info.guidelines.contains(key), "guidelines name hotkey {key}");
        }
        // Every choice answer parses as a payload winner.
        for q in &info.questions {
            if let QuestionKind::Choice(choices) = &q.kind {
                for c in choices {
                    let parsed: Result<Winner, _> = serde_json::from_value(serde_json::Value::String(c.clone()));
                    assert!(parsed.is_ok(), "{c}");
                }
            }
        }
    }
}
