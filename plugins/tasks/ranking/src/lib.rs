//! Ranking: order every response of a comparison from best to worst, ties allowed. Produces
//! `ranking` payloads: tiers of canonical response indices, best tier first.

use cairn_plugin_sdk::prelude::*;

pub struct RankingTask;

const GUIDELINES: &str = "\
# Ranking

Read the conversation, then every response, and order the responses from best to worst as replies to
the **last** turn. Model names are hidden and the order shown is random: judge the text only.

- Put the best response in the top tier and work down.
- Responses that are equally good go in the **same tier**; do not break a tie by a coin flip.
- Every response must be placed exactly once, and no tier may be left empty.
- Judge helpfulness first, then harmlessness and honesty: a fluent answer that is wrong or unsafe
  ranks below a plain one that is right.
";

impl Task for RankingTask {
    fn describe() -> TaskInfo {
        let mut info = TaskInfo::new("ranking", "Ranking", Modality::Comparison, &["ranking"]);
        info.questions.push(Question {
            id: "ranking".into(),
            prompt: "Order the responses from best to worst; put equally good ones in the same tier.".into(),
            kind: QuestionKind::Ranking,
            required: true,
        });
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
    if !matches!(payload, Payload::Ranking(_)) {
        return vec![Finding::error("kind", format!("this task records rankings, not {}", payload.kind().as_str()))];
    }
    // The model's ranking rules are exactly this task's: no empty tier, indices in range, each response
    // once, all responses ranked.
    validate_payload(payload, Some(item)).into_iter().map(|e| Finding::error(&e.field, e.message)).collect()
}

// Native builds (unit tests) skip the export: its symbol names (`cairn:plugin/task@1.0.0#…`) are not
// valid in an ELF version script, so linking the cdylib natively would fail.
export_task!(RankingTask);

#[cfg(test)]
mod tests {
    use super::*;

    fn item(responses: usize) -> ItemData {
        ItemData::Comparison(Comparison {
            messages: vec![Message::text(Role::User, "Write a haiku about rain.")],
            responses: (0..responses).map(|i| Response::new(None, format!("haiku {i}"))).collect(),
            metadata: Default::default(),
        })
    }

    fn findings(item: &ItemData, tiers: Vec<Vec<u32>>) -> Vec<(String, Severity)> {
        let subject = Subject { payload: Payload::Ranking(Ranking { tiers }), point_count: None };
        RankingTask::validate(item, &[subject], &Options::default()).into_iter().map(|(_, f)| (f.field, f.severity)).collect()
    }

    fn is_error(found: &[(String, Severity)]) -> bool {
        !found.is_empty() && found.iter().all(|(field, s)| field == "tiers" && *s == Severity::Error)
    }

    #[test]
    fn a_complete_ranking_has_no_findings() {
        assert_eq!(findings(&item(3), vec![vec![2], vec![0], vec![1]]), vec![]);
        assert_eq!(findings(&item(4), vec![vec![3, 1], vec![0], vec![2]]), vec![], "ties share a tier");
        assert_eq!(findings(&item(2), vec![vec![0, 1]]), vec![], "all tied");
    }

    #[test]
    fn a_response_ranked_twice_is_an_error() {
        assert!(is_error(&findings(&item(3), vec![vec![0], vec![1, 0], vec![2]])));
        assert!(is_error(&findings(&item(3), vec![vec![0, 0], vec![1], vec![2]])));
    }

    #[test]
    fn a_missing_response_is_an_error() {
        assert!(is_error(&findings(&item(3), vec![vec![0], vec![2]])));
    }

    #[test]
    fn an_empty_tier_is_an_error() {
        assert!(is_error(&findings(&item(2), vec![vec![0], vec![], vec![1]])));
        assert!(is_error(&findings(&item(2), vec![])), "an empty ranking");
    }

    #[test]
    fn an_index_out_of_range_is_an_error() {
        assert!(is_error(&findings(&item(2), vec![vec![0], vec![1], vec![2]])));
        assert!(is_error(&findings(&item(2), vec![vec![0], vec![u32::MAX]])));
    }

    #[test]
    fn other_payload_kinds_are_refused() {
        let verdict = Subject { payload: Payload::Verdict(PairwiseVerdict::new(Winner::A)), point_count: None };
        let found = RankingTask::validate(&item(2), &[verdict], &Options::default());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].1.field.as_str(), found[0].1.severity), ("kind", Severity::Error));
    }

    #[test]
    fn findings_carry_their_subject_index() {
        let good = Subject { payload: Payload::Ranking(Ranking { tiers: vec![vec![0], vec![1]] }), point_count: None };
        let bad = Subject { payload: Payload::Ranking(Ranking { tiers: vec![vec![0, 0]] }), point_count: None };
        let found = RankingTask::validate(&item(2), &[good.clone(), good, bad], &Options::default());
        assert!(!found.is_empty());
        assert!(found.iter().all(|(i, _)| *i == 2));
    }

    #[test]
    fn describe_asks_for_one_ranking() {
        let info = RankingTask::describe();
        assert_eq!(info.modality, Modality::Comparison);
        assert_eq!(info.produces, vec!["ranking"]);
        assert_eq!(info.questions.len(), 1);
        assert_eq!(info.questions[0].kind, QuestionKind::Ranking);
        assert!(info.questions[0].required);
    }
}
