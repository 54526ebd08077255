//! Anthropic HH-RLHF: one JSON line per preference pair, `{"chosen": "…", "rejected": "…"}`, each a
//! whole transcript (`\n\nHuman: …\n\nAssistant: …`) ending in the chosen or rejected reply.
//!
//! The lines are written the way the original files were, by Python's `json.dumps` (`", "` and `": "`
//! separators), so that importing an HH-RLHF file and exporting it again gives the same bytes: raw
//! UTF-8 as in the public release, or `\uXXXX` escapes (`ensure_ascii`) for rows imported from a file
//! written that way (`ascii=auto`, the default; `true` / `false` force one style). The transcript
//! text comes from the model's `hh_prompt` and `hh_completion`, which honour what the importer kept,
//! including each side's own transcript where the two differ before the last turn.

use cairn_plugin_sdk::preference::{self, Policy};
use cairn_plugin_sdk::prelude::*;

pub struct HhRlhf;

impl Exporter for HhRlhf {
    fn describe() -> ExporterInfo {
        let mut info = ExporterInfo::new("hh-rlhf", "HH-RLHF", &["verdict", "ranking"])
            .describe("Preference pairs as Anthropic HH-RLHF chosen/rejected transcripts, as JSON Lines.")
            .option(OptionSpec::choice(
                "ascii",
                "auto: each row as its source was written (raw UTF-8 unless it was imported with \\uXXXX escapes); \
                 true: escape every non-ASCII character as \\uXXXX; false: raw UTF-8",
                &["auto", "true", "false"],
            ));
        info.options.extend(Policy::options());
        info
    }

    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let ascii = match options.value("ascii") {
            "auto" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => return Err(format!("option ascii: unknown value {other:?} (auto, true, false)")),
        };
        let policy = Policy::from_options(|name| options.get(name).map(str::to_string))?;
        out.create("hh-rlhf.jsonl")?;
        let mut summary = Summary::default();
        let mut line = Vec::with_capacity(4096);
        for record in records {
            let record = record?;
            let c = preference::comparison(&record)?;
            let (pairs, skipped) = policy.pairs(&record);
            summary.skipped += skipped;
            if pairs.is_empty() {
                continue;
            }
            let ascii = ascii.unwrap_or_else(|| hh_ascii(c));
            for pair in pairs {
                let side = |i: u32| Ok::<_, String>([hh_prompt(c, i as usize), completion(&record, c, i)?]);
                let (chosen, rejected) = (side(pair.chosen)?, side(pair.rejected)?);
                line.clear();
                line.extend_from_slice(b"{\"chosen\": ");
                write_python_string(&mut line, &[&chosen[0], &chosen[1]], ascii);
                line.extend_from_slice(b", \"rejected\": ");
                write_python_string(&mut line, &[&rejected[0], &rejected[1]], ascii);
                line.extend_from_slice(b"}\n");
                out.write_all(&line).map_err(|e| format!("item {}: {e}", record.key))?;
                summary.written += 1;
            }
        }
        Ok(summary)
    }
}

/// `hh_completion` quietly writes nothing for a response that does not exist; refuse instead.
fn completion(record: &ExportRecord, c: &Comparison, index: u32) -> Result<String, String> {
    preference::response_text(record, index)?;
    Ok(hh_completion(c, index as usize))
}

/// Writes the concatenated `parts` as one JSON string, byte for byte as Python's `json.dumps` does:
/// short escapes for `"`, `\` and `\n \r \t \b \f`, lowercase `\u00xx` for other control characters;
/// with `ascii` (Python's `ensure_ascii=True`) also DEL and everything beyond ASCII as lowercase
/// `\uxxxx`, in UTF-16 surrogate pairs above U+FFFF. Without it, those stay raw UTF-8. `/` is never
/// escaped.
fn write_python_string(out: &mut Vec<u8>, parts: &[&str], ascii: bool) {
    out.push(b'"');
    for ch in parts.iter().flat_map(|p| p.chars()) {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(ch as u8),
            _ if !ascii && ch >= ' ' => out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
            _ => {
                for unit in ch.encode_utf16(&mut [0; 2]) {
                    out.extend_from_slice(b"\\u");
                    out.extend([12, 8, 4, 0].map(|shift| b"0123456789abcdef"[usize::from(*unit >> shift & 0xf)]));
                }
            }
        }
    }
    out.push(b'"');
}

export_exporter!(HhRlhf);

#[cfg(test)]
mod tests {
    use super::*;

    /// A comparison as the importer makes it from an HH-RLHF row: the chosen reply first, and the
    /// row's own label as a source verdict.
    fn imported(key: &str, messages: Vec<Message>, replies: [&str; 2], metadata: serde_json::Value) -> ExportRecord {
        ExportRecord {
            key: key.to_string(),
            dataset: "hh".to_string(),
            item: ItemData::Comparison(Comparison { messages, responses: replies.iter().map(|r| Response::new(None, *r)).collect(), metadata }),
            annotations: vec![annotation(PairwiseVerdict::new(Winner::A))],
        }
    }

    fn annotation(verdict: PairwiseVerdict) -> RecordAnnotation {
        RecordAnnotation {
            annotator: "import:hh-rlhf".to_string(),
            annotator_kind: AnnotatorKind::Source,
            revision: RevisionId(1),
            at_ms: 0,
            payload: Payload::Verdict(verdict),
        }
    }

    fn export(records: &[ExportRecord], options: &[(&str, &str)]) -> Result<(Summary, Vec<u8>), String> {
        let (summary, mut files) = run_in_memory::<HhRlhf>(records, options)?;
        assert_eq!(files.len(), 1);
        let (path, bytes) = files.remove(0);
        assert_eq!(path, "hh-rlhf.jsonl");
        Ok((summary, bytes))
    }

    fn python(parts: &[&str], ascii: bool) -> String {
        let mut out = Vec::new();
        write_python_string(&mut out, parts, ascii);
        String::from_utf8(out).unwrap()
    }

    /// Expected strings from `python3 -c 'import json; print(json.dumps(s[, ensure_ascii=False]))'`.
    #[test]
    fn strings_are_escaped_exactly_as_python_json_dumps() {
        let s = "q\"b\\s/n\nr\rt\tb\u{8}f\u{c}z\u{0}u\u{1f}d\u{7f}é中😀\u{2028}\u{ffff}~ ";
        assert_eq!(python(&[s], true), r#""q\"b\\s/n\nr\rt\tb\bf\fz\u0000u\u001fd\u007f\u00e9\u4e2d\ud83d\ude00\u2028\uffff~ ""#);
        assert_eq!(python(&[s], false), "\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\fz\\u0000u\\u001fd\u{7f}é中😀\u{2028}\u{ffff}~ \"");
        assert_eq!(python(&["ab", "", "c\""], true), r#""abc\"""#);
    }

    #[test]
    fn an_imported_file_is_written_back_byte_for_byte() {
        // python3: p = '\n\nHuman: Café? 😀 "hi" C:\\path\tx'
        //   json.dumps({"chosen": p + "\n\nAssistant: Oui \u0007 bell\x7f", "rejected": p + "\n\nAssistant:Non"})
        //   p2 = "Intro\n\nHuman: a\n\nAssistant: b\n\nHuman:c"
        //   json.dumps({"chosen": p2 + "\n\nAssistant: d", "rejected": p2 + "\n\nAssistant: e"})
        let original = concat!(
            r#"{"chosen": "\n\nHuman: Caf\u00e9? \ud83d\ude00 \"hi\" C:\\path\tx\n\nAssistant: Oui \u0007 bell\u007f", "#,
            r#""rejected": "\n\nHuman: Caf\u00e9? \ud83d\ude00 \"hi\" C:\\path\tx\n\nAssistant:Non"}"#,
            "\n",
            r#"{"chosen": "Intro\n\nHuman: a\n\nAssistant: b\n\nHuman:c\n\nAssistant: d", "#,
            r#""rejected": "Intro\n\nHuman: a\n\nAssistant: b\n\nHuman:c\n\nAssistant: e"}"#,
            "\n",
        );
        let records = [
            imported(
                "0",
                vec![Message::text(Role::User, "Café? 😀 \"hi\" C:\\path\tx")],
                ["Oui \u{7} bell\u{7f}", "Non"],
                serde_json::json!({"hh_rlhf": {"no_space_after_marker": [1], "ascii": true}}),
            ),
            imported(
                "1",
                vec![
                    Message::text(Role::System, "Intro"),
                    Message::text(Role::User, "a"),
                    Message::text(Role::Assistant, "b"),
                    Message::text(Role::User, "c"),
                ],
                ["d", "e"],
                serde_json::json!({"hh_rlhf": {"prompt": "Intro\n\nHuman: a\n\nAssistant: b\n\nHuman:c"}}),
            ),
        ];
        let (summary, bytes) = export(&records, &[]).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), original);
        assert_eq!(summary, Summary { written: 2, skipped: 0, notes: vec![] });
    }

    #[test]
    fn ascii_false_writes_utf8_with_the_same_separators() {
        let record = imported("0", vec![Message::text(Role::User, "Café 😀")], ["ja\u{7f}", "nein\u{1}"], serde_json::Value::Null);
        let (_, bytes) = export(&[record], &[("ascii", "false")]).unwrap();
        // python3: json.dumps({...}, ensure_ascii=False)
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"chosen\": \"\\n\\nHuman: Café 😀\\n\\nAssistant: ja\u{7f}\", \"rejected\": \"\\n\\nHuman: Café 😀\\n\\nAssistant: nein\\u0001\"}\n"
        );
    }

    /// Sides whose conversations differ before the last turn: each transcript comes back whole, also
    /// when a human verdict picks the other side; rows not imported escaped stay raw UTF-8.
    #[test]
    fn each_side_keeps_its_own_turns_and_rows_keep_their_style() {
        let mut c = Comparison {
            messages: vec![Message::text(Role::User, "Hi"), Message::text(Role::Assistant, "Hello.")],
            responses: vec![Response::new(None, "They hunt at night."), Response::new(None, "No.")],
            metadata: serde_json::Value::Null,
        };
        c.responses[0].own_messages = vec![Message::text(Role::User, "Tell me about owls’ eyes.")];
        c.responses[1].own_messages =
            vec![Message::text(Role::User, "Cats?"), Message::text(Role::Assistant, "Sure!"), Message::text(Role::User, "Owls?")];
        let record = |verdict: PairwiseVerdict| ExportRecord {
            key: "0".into(),
            dataset: "hh".into(),
            item: ItemData::Comparison(c.clone()),
            annotations: vec![annotation(verdict)],
        };
        let chosen = "\\n\\nHuman: Hi\\n\\nAssistant: Hello.\\n\\nHuman: Tell me about owls’ eyes.\\n\\nAssistant: They hunt at night.";
        let rejected = "\\n\\nHuman: Hi\\n\\nAssistant: Hello.\\n\\nHuman: Cats?\\n\\nAssistant: Sure!\\n\\nHuman: Owls?\\n\\nAssistant: No.";
        let (_, bytes) = export(&[record(PairwiseVerdict::new(Winner::A))], &[]).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), format!("{{\"chosen\": \"{chosen}\", \"rejected\": \"{rejected}\"}}\n"));
        let (_, bytes) = export(&[record(PairwiseVerdict::new(Winner::B))], &[]).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), format!("{{\"chosen\": \"{rejected}\", \"rejected\": \"{chosen}\"}}\n"));
        let (_, bytes) = export(&[record(PairwiseVerdict::new(Winner::A))], &[("ascii", "true")]).unwrap();
        assert!(String::from_utf8(bytes).unwrap().contains("owls\\u2019 eyes"));
    }

    #[test]
    fn the_policy_decides_the_pairs() {
        let mut record = imported("0", vec![Message::text(Role::User, "hi")], ["x", "y"], serde_json::Value::Null);
        record.annotations = vec![annotation(PairwiseVerdict::new(Winner::Tie)), annotation(PairwiseVerdict::new(Winner::B))];
        let (summary, bytes) = export(std::slice::from_ref(&record), &[]).unwrap();
        assert_eq!((summary.written, summary.skipped), (1, 1));
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: y\", \"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant: x\"}\n"
        );

        let (summary, bytes) = export(std::slice::from_ref(&record), &[("ties", "both-ways")]).unwrap();
        assert_eq!((summary.written, summary.skipped), (3, 0));
        let chosen: Vec<String> = String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["chosen"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(chosen, ["\n\nHuman: hi\n\nAssistant: x", "\n\nHuman: hi\n\nAssistant: y", "\n\nHuman: hi\n\nAssistant: y"]);

        record.annotations = vec![RecordAnnotation {
            payload: Payload::Ranking(Ranking { tiers: vec![vec![1], vec![0]] }),
            ..annotation(PairwiseVerdict::new(Winner::A))
        }];
        let (summary, _) = export(&[record], &[]).unwrap();
        assert_eq!(summary.written, 1);
    }

    #[test]
    fn a_missing_response_names_the_item() {
        let mut record = imported("row-9", vec![Message::text(Role::User, "hi")], ["x", "y"], serde_json::Value::Null);
        record.annotations = vec![annotation(PairwiseVerdict { b: 3, ..PairwiseVerdict::new(Winner::A) })];
        let err = export(&[record], &[]).unwrap_err();
        assert!(err.contains("item row-9"), "{err}");
    }
}
