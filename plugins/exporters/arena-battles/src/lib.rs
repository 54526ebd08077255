//! Chatbot Arena battles (the `lmsys/chatbot_arena_conversations` shape): one JSON line per verdict,
//! `{"question_id", "model_a", "model_b", "winner", "judge", "conversation_a", "conversation_b",
//! "turn", "tstamp"}`.
//!
//! Leaderboards count ties and "both bad" as outcomes, so every verdict is kept; only the annotator
//! and agreement filters of the preference policy apply. Rankings are not battles and are not read.

use cairn_plugin_sdk::preference::{self, Battle, Policy};
use cairn_plugin_sdk::prelude::*;
use serde::Serialize;

pub struct ArenaBattles;

/// One line, keys in the order of the Arena release.
#[derive(Serialize)]
struct Row<'a> {
    question_id: &'a str,
    model_a: String,
    model_b: String,
    winner: &'static str,
    judge: &'a str,
    conversation_a: Vec<&'a Message>,
    conversation_b: Vec<&'a Message>,
    /// User turns in the conversation.
    turn: usize,
    /// Unix seconds.
    tstamp: f64,
}

/// The policy options that make sense when every verdict is kept.
const POLICY_OPTIONS: [&str; 2] = ["annotators", "min-agreement"];

impl Exporter for ArenaBattles {
    fn describe() -> ExporterInfo {
        let mut info = ExporterInfo::new("arena-battles", "Chatbot Arena battles", &["verdict"])
            .describe("One Chatbot Arena battle per verdict, ties and \"both bad\" kept, as JSON Lines.");
        info.options.extend(Policy::options().into_iter().filter(|o| POLICY_OPTIONS.contains(&o.name.as_str())));
        info
    }

    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let policy = Policy::from_options(|name| options.get(name).map(str::to_string))?;
        out.create("battles.jsonl")?;
        let mut summary = Summary::default();
        let mut line = Vec::with_capacity(4096);
        for record in records {
            let record = record?;
            let c = preference::comparison(&record)?;
            for battle in policy.battles(&record) {
                let (model_a, reply_a) = side(&record, c, battle.a)?;
                let (model_b, reply_b) = side(&record, c, battle.b)?;
                let row = Row {
                    question_id: &record.key,
                    model_a,
                    model_b,
                    winner: winner(&battle),
                    judge: &battle.annotator,
                    conversation_a: c.conversation(battle.a as usize).chain([&reply_a]).collect(),
                    conversation_b: c.conversation(battle.b as usize).chain([&reply_b]).collect(),
                    turn: c.conversation(battle.a as usize).filter(|m| m.role == Role::User).count(),
                    tstamp: battle.at_ms as f64 / 1000.0,
                };
                line.clear();
                serde_json::to_writer(&mut line, &row).map_err(|e| format!("item {}: {e}", record.key))?;
                line.push(b'\n');
                out.write_all(&line).map_err(|e| format!("item {}: {e}", record.key))?;
                summary.written += 1;
            }
        }
        Ok(summary)
    }
}

/// Arena's spelling of an outcome.
fn winner(battle: &Battle) -> &'static str {
    match battle.winner {
        Winner::A => "model_a",
        Winner::B => "model_b",
        Winner::Tie => "tie",
        Winner::BothBad => "tie (bothbad)",
    }
}

/// A response's model name (`response-<index>` when unknown, e.g. blind imports) and its reply turn.
fn side(record: &ExportRecord, c: &Comparison, index: u32) -> Result<(String, Message), String> {
    let reply = Message::text(Role::Assistant, preference::response_text(record, index)?);
    let model = c.responses[index as usize].model.clone().unwrap_or_else(|| format!("response-{index}"));
    Ok((model, reply))
}

export_exporter!(ArenaBattles);

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, verdicts: Vec<(PairwiseVerdict, AnnotatorKind)>) -> ExportRecord {
        ExportRecord {
            key: key.to_string(),
            dataset: "arena".to_string(),
            item: ItemData::Comparison(Comparison {
                messages: vec![Message::text(Role::User, "Hi"), Message::text(Role::Assistant, "Hello!"), Message::text(Role::User, "2+2?")],
                responses: vec![Response::new(Some("gpt-4"), "4"), Response::new(None, "Four"), Response::new(Some("claude"), "4.")],
                metadata: serde_json::Value::Null,
            }),
            annotations: verdicts
                .into_iter()
                .enumerate()
                .map(|(i, (verdict, kind))| RecordAnnotation {
                    annotator: format!("judge{i}"),
                    annotator_kind: kind,
                    revision: RevisionId(i as i64),
                    at_ms: 1_700_000_000_250 + i as i64 * 750,
                    payload: Payload::Verdict(verdict),
                })
                .collect(),
        }
    }

    fn verdict(a: u32, b: u32, winner: Winner) -> (PairwiseVerdict, AnnotatorKind) {
        (PairwiseVerdict { a, b, ..PairwiseVerdict::new(winner) }, AnnotatorKind::Human)
    }

    fn export(records: &[ExportRecord], options: &[(&str, &str)]) -> Result<(Summary, String), String> {
        let (summary, mut files) = run_in_memory::<ArenaBattles>(records, options)?;
        assert_eq!(files.len(), 1);
        let (path, bytes) = files.remove(0);
        assert_eq!(path, "battles.jsonl");
        Ok((summary, String::from_utf8(bytes).unwrap()))
    }

    #[test]
    fn only_the_annotator_and_agreement_options_are_offered() {
        let names: Vec<String> = ArenaBattles::describe().options.into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["annotators", "min-agreement"]);
    }

    #[test]
    fn a_verdict_becomes_a_battle_in_arena_key_order() {
        let (summary, text) = export(&[record("q1", vec![verdict(0, 2, Winner::B)])], &[]).unwrap();
        let conversation = r#"{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"2+2?"}"#;
        let expected = format!(
            concat!(
                r#"{{"question_id":"q1","model_a":"gpt-4","model_b":"claude","winner":"model_b","judge":"judge0","#,
                r#""conversation_a":[{c},{{"role":"assistant","content":"4"}}],"#,
                r#""conversation_b":[{c},{{"role":"assistant","content":"4."}}],"#,
                r#""turn":2,"tstamp":1700000000.25}}"#,
                "\n"
            ),
            c = conversation
        );
        assert_eq!(text, expected);
        assert_eq!(summary, Summary { written: 1, skipped: 0, notes: vec![] });
    }

    #[test]
    fn ties_and_both_bad_are_kept_and_unknown_models_get_a_stand_in_name() {
        let verdicts = vec![verdict(0, 1, Winner::A), verdict(0, 1, Winner::Tie), verdict(1, 2, Winner::BothBad)];
        let (_, text) = export(&[record("q1", verdicts)], &[]).unwrap();
        let rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let field = |k: &str| rows.iter().map(|r| r[k].to_string()).collect::<Vec<_>>().join(" ");
        assert_eq!(field("winner"), r#""model_a" "tie" "tie (bothbad)""#);
        assert_eq!(field("model_a"), r#""gpt-4" "gpt-4" "response-1""#);
        assert_eq!(field("model_b"), r#""response-1" "response-1" "claude""#);
        assert_eq!(field("judge"), r#""judge0" "judge1" "judge2""#);
        assert_eq!(field("tstamp"), "1700000000.25 1700000001.0 1700000001.75");
    }

    #[test]
    fn annotator_and_agreement_filters_apply() {
        let mut verdicts = vec![verdict(0, 1, Winner::A), verdict(0, 1, Winner::B), verdict(0, 1, Winner::A)];
        verdicts[2].1 = AnnotatorKind::Source;
        let r = record("q1", verdicts);
        let (summary, _) = export(std::slice::from_ref(&r), &[("annotators", "human")]).unwrap();
        assert_eq!(summary.written, 2);
        // 2 of 3 agree: kept at 0.6, left out at 0.7.
        let (summary, _) = export(std::slice::from_ref(&r), &[("min-agreement", "0.6")]).unwrap();
        assert_eq!(summary.written, 3);
        let (summary, _) = export(&[r], &[("min-agreement", "0.7")]).unwrap();
        assert_eq!(summary.written, 0);
    }

    #[test]
    fn a_missing_response_names_the_item() {
        let err = export(&[record("q9", vec![verdict(0, 4, Winner::A)])], &[]).unwrap_err();
        assert!(err.contains("item q9"), "{err}");
    }
}
