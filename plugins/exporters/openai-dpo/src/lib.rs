//! OpenAI preference fine-tuning (DPO) data: one JSON line per preference pair,
//! `{"input": {"messages": […]}, "preferred_output": [assistant turn], "non_preferred_output": [assistant turn]}`.
//!
//! OpenAI takes exactly one preferred and one non-preferred reply per line, so ties and "both bad"
//! are dropped unless `ties=both-ways`, and rankings become pairs by `rankings`. Where the two sides'
//! conversations differ before the last turn, `input` holds the turns they share and each output
//! that side's own later turns before its reply.

use cairn_plugin_sdk::preference::{self, Policy};
use cairn_plugin_sdk::prelude::*;
use serde::Serialize;

pub struct OpenAiDpo;

/// One line, keys in the order OpenAI documents them.
#[derive(Serialize)]
struct Row<'a> {
    input: Input<'a>,
    preferred_output: Vec<&'a Message>,
    non_preferred_output: Vec<&'a Message>,
}

#[derive(Serialize)]
struct Input<'a> {
    messages: Vec<&'a Message>,
}

impl Exporter for OpenAiDpo {
    fn describe() -> ExporterInfo {
        let mut info = ExporterInfo::new("openai-dpo", "OpenAI DPO", &["verdict", "ranking"])
            .describe("Preference pairs for OpenAI's preference (DPO) fine-tuning, as JSON Lines.");
        info.options.extend(Policy::options());
        info
    }

    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let policy = Policy::from_options(|name| options.get(name).map(str::to_string))?;
        out.create("preference.jsonl")?;
        let mut summary = Summary::default();
        let mut line = Vec::with_capacity(4096);
        for record in records {
            let record = record?;
            let c = preference::comparison(&record)?;
            let (pairs, skipped) = policy.pairs(&record);
            summary.skipped += skipped;
            for pair in pairs {
                let (chosen, rejected) = (reply(&record, pair.chosen)?, reply(&record, pair.rejected)?);
                // The turns both sides share are the input; a side's own earlier turns (where the
                // conversations differ before the last turn) come before its reply.
                let set = [pair.chosen as usize, pair.rejected as usize];
                let shared = c.messages.len() + c.shared_own_turns(&set);
                let row = Row {
                    input: Input { messages: c.conversation(set[0]).take(shared).collect() },
                    preferred_output: output(c, set[0], shared, &chosen),
                    non_preferred_output: output(c, set[1], shared, &rejected),
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

/// A side's output: its turns after the `shared` ones, then its reply.
fn output<'a>(c: &'a Comparison, response: usize, shared: usize, reply: &'a Message) -> Vec<&'a Message> {
    c.conversation(response).skip(shared).chain([reply]).collect()
}

/// A response as the assistant turn OpenAI expects: plain text content.
fn reply(record: &ExportRecord, index: u32) -> Result<Message, String> {
    Ok(Message::text(Role::Assistant, preference::response_text(record, index)?))
}

export_exporter!(OpenAiDpo);

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, responses: &[&str], payloads: Vec<Payload>) -> ExportRecord {
        ExportRecord {
            key: key.to_string(),
            dataset: "prefs".to_string(),
            item: ItemData::Comparison(Comparison {
                messages: vec![Message::text(Role::System, "Be brief."), Message::text(Role::User, "Capital of France?")],
                responses: responses.iter().map(|r| Response::new(Some("m"), *r)).collect(),
                metadata: serde_json::Value::Null,
            }),
            annotations: payloads
                .into_iter()
                .map(|payload| RecordAnnotation {
                    annotator: "ann".to_string(),
                    annotator_kind: AnnotatorKind::Human,
                    revision: RevisionId(1),
                    at_ms: 1_700_000_000_000,
                    payload,
                })
                .collect(),
        }
    }

    fn verdict(a: u32, b: u32, winner: Winner) -> Payload {
        Payload::Verdict(PairwiseVerdict { a, b, ..PairwiseVerdict::new(winner) })
    }

    fn export(records: &[ExportRecord], options: &[(&str, &str)]) -> Result<(Summary, String), String> {
        let (summary, mut files) = run_in_memory::<OpenAiDpo>(records, options)?;
        assert_eq!(files.len(), 1);
        let (path, bytes) = files.remove(0);
        assert_eq!(path, "preference.jsonl");
        Ok((summary, String::from_utf8(bytes).unwrap()))
    }

    #[test]
    fn a_verdict_becomes_one_line_in_openai_key_order() {
        let (summary, text) = export(&[record("q1", &["Paris.", "Lyon."], vec![verdict(0, 1, Winner::B)])], &[]).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"input":{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}]},"#,
                r#""preferred_output":[{"role":"assistant","content":"Lyon."}],"#,
                r#""non_preferred_output":[{"role":"assistant","content":"Paris."}]}"#,
                "\n"
            )
        );
        assert_eq!(summary, Summary { written: 1, skipped: 0, notes: vec![] });
    }

    #[test]
    fn ties_are_dropped_by_default_and_written_both_ways_on_request() {
        let tied = [record("q1", &["x", "y"], vec![verdict(0, 1, Winner::Tie), verdict(0, 1, Winner::BothBad)])];
        let (summary, text) = export(&tied, &[]).unwrap();
        assert_eq!((summary.written, summary.skipped, text.as_str()), (0, 2, ""));

        let (summary, text) = export(&tied, &[("ties", "both-ways")]).unwrap();
        assert_eq!((summary.written, summary.skipped), (4, 0));
        let preferred: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["preferred_output"][0]["content"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(preferred, ["x", "y", "x", "y"]);
    }

    #[test]
    fn rankings_become_pairs_by_policy() {
        let ranked = [record("q1", &["r0", "r1", "r2"], vec![Payload::Ranking(Ranking { tiers: vec![vec![2], vec![0], vec![1]] })])];
        let pairs = |text: &str| -> Vec<(String, String)> {
            text.lines()
                .map(|l| {
                    let row: serde_json::Value = serde_json::from_str(l).unwrap();
                    let side = |k: &str| row[k][0]["content"].as_str().unwrap().to_string();
                    (side("preferred_output"), side("non_preferred_output"))
                })
                .collect()
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        let (_, text) = export(&ranked, &[]).unwrap();
        assert_eq!(pairs(&text), [s("r2", "r0"), s("r2", "r1"), s("r0", "r1")]);
        let (_, text) = export(&ranked, &[("rankings", "adjacent")]).unwrap();
        assert_eq!(pairs(&text), [s("r2", "r0"), s("r0", "r1")]);
    }

    #[test]
    fn annotator_filter_applies() {
        let mut r = record("q1", &["x", "y"], vec![verdict(0, 1, Winner::A)]);
        r.annotations[0].annotator_kind = AnnotatorKind::Source;
        let (summary, _) = export(&[r.clone()], &[("annotators", "human")]).unwrap();
        assert_eq!(summary.written, 0);
        let (summary, _) = export(&[r], &[("annotators", "source")]).unwrap();
        assert_eq!(summary.written, 1);
    }

    #[test]
    fn a_missing_response_names_the_item() {
        let err = export(&[record("q7", &["x", "y"], vec![verdict(0, 5, Winner::A)])], &[]).unwrap_err();
        assert!(err.contains("item q7"), "{err}");
    }
}
