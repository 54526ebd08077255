//! TRL preference datasets (`trl` DPO, reward and KTO trainers).
//!
//! - standard: `{"prompt": "…", "chosen": "…", "rejected": "…"}` with text; conversational: the same
//!   keys holding chat messages.
//! - explicit prompt (the default, what DPO wants): `chosen`/`rejected` hold only the final assistant
//!   turn. Implicit (reward modelling): they hold the whole conversation and there is no `prompt`.
//! - unpaired (KTO): `{"prompt", "completion", "label"}`.
//! - ties and "both bad" are dropped unless `ties=both-ways`; rankings become pairs by `rankings`;
//!   `margin=strength` adds the verdict's strength as `margin`.

use cairn_plugin_sdk::preference::{self, Policy, TiePolicy};
use cairn_plugin_sdk::prelude::*;
use serde::Serialize;

pub struct TrlPreference;

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Standard,
    Conversational,
}

struct Settings {
    shape: Shape,
    explicit_prompt: bool,
    unpaired: bool,
    margin: bool,
    annotator_column: bool,
    hh_template: bool,
    policy: Policy,
}

impl Settings {
    fn read(options: &Options) -> Result<Settings, String> {
        Ok(Settings {
            shape: match options.value("format") {
                "standard" => Shape::Standard,
                "conversational" => Shape::Conversational,
                other => return Err(format!("option format: unknown value {other:?} (conversational, standard)")),
            },
            explicit_prompt: match options.value("prompt") {
                "explicit" => true,
                "implicit" => false,
                other => return Err(format!("option prompt: unknown value {other:?} (explicit, implicit)")),
            },
            unpaired: match options.value("pairing") {
                "paired" => false,
                "unpaired" => true,
                other => return Err(format!("option pairing: unknown value {other:?} (paired, unpaired)")),
            },
            margin: match options.value("margin") {
                "none" => false,
                "strength" => true,
                other => return Err(format!("option margin: unknown value {other:?} (none, strength)")),
            },
            annotator_column: options.flag("annotator-column")?,
            hh_template: match options.value("template") {
                "hh" => true,
                "plain" => false,
                other => return Err(format!("option template: unknown value {other:?} (hh, plain)")),
            },
            policy: Policy::from_options(|name| options.get(name).map(str::to_string))?,
        })
    }

    /// The prompt column and one completion per response of `set` (a pair, or every response of
    /// the item for unpaired rows). The prompt is what every conversation of the set shares; each
    /// completion is that response's own turns after it (explicit prompt), or its whole conversation
    /// (implicit), then its reply. Only comparisons whose sides differ before the last turn have own
    /// turns (HH-RLHF pairs with an edited earlier turn).
    fn columns<'a>(&self, c: &'a Comparison, set: &[usize]) -> (Side<'a>, Vec<Side<'a>>) {
        match self.shape {
            Shape::Conversational => {
                let n = c.shared_own_turns(set);
                let own = |i: usize| &c.responses[i].own_messages[..];
                let prompt = Side::Messages(c.conversation(set[0]).take(c.messages.len() + n).collect());
                let completions = set
                    .iter()
                    .map(|&i| {
                        let before = if self.explicit_prompt { own(i)[n..].iter().collect() } else { c.conversation(i).collect() };
                        Side::Conversation(before, &c.responses[i].content)
                    })
                    .collect();
                (prompt, completions)
            }
            Shape::Standard if self.hh_template => {
                let prompts: Vec<String> = set.iter().map(|&i| hh_prompt(c, i)).collect();
                let shared = prompts.iter().skip(1).map(|p| hh_shared_turns_len(&prompts[0], p)).min().unwrap_or(prompts[0].len());
                let completions = set
                    .iter()
                    .zip(&prompts)
                    .map(|(&i, p)| {
                        let before = if self.explicit_prompt { &p[shared..] } else { &p[..] };
                        Side::Text(format!("{before}{}", hh_completion(c, i)))
                    })
                    .collect();
                (Side::Text(prompts[0][..shared].to_string()), completions)
            }
            Shape::Standard => {
                let n = c.shared_own_turns(set);
                let texts = |messages: &mut dyn Iterator<Item = &Message>| messages.map(|m| m.content.to_text()).collect::<Vec<_>>();
                let prompt = texts(&mut c.conversation(set[0]).take(c.messages.len() + n)).join("\n\n");
                let completions = set
                    .iter()
                    .map(|&i| {
                        let mut parts =
                            if self.explicit_prompt { texts(&mut c.responses[i].own_messages[n..].iter()) } else { texts(&mut c.conversation(i)) };
                        parts.push(c.responses[i].content.to_text());
                        Side::Text(parts.join("\n\n"))
                    })
                    .collect();
                (Side::Text(prompt), completions)
            }
        }
    }
}

/// One column of a row, serialized straight from the record (no intermediate JSON values: this is
/// the hot loop of an export).
enum Side<'a> {
    Text(String),
    Messages(Vec<&'a Message>),
    /// The messages, then `{"role": "assistant", "content": …}`.
    Conversation(Vec<&'a Message>, &'a Content),
}

#[derive(Serialize)]
struct AssistantTurn<'a> {
    role: &'static str,
    content: &'a Content,
}

impl Serialize for Side<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self {
            Side::Text(text) => s.serialize_str(text),
            Side::Messages(messages) => messages.serialize(s),
            Side::Conversation(messages, content) => {
                let mut seq = s.serialize_seq(Some(messages.len() + 1))?;
                for m in messages {
                    seq.serialize_element(m)?;
                }
                seq.serialize_element(&AssistantTurn { role: "assistant", content })?;
                seq.end()
            }
        }
    }
}

#[derive(Serialize)]
struct PairedRow<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a Side<'a>>,
    chosen: Side<'a>,
    rejected: Side<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    margin: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotator: Option<&'a str>,
}

#[derive(Serialize)]
struct UnpairedRow<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a Side<'a>>,
    completion: &'a Side<'a>,
    label: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotator: Option<&'a str>,
}

impl Exporter for TrlPreference {
    fn describe() -> ExporterInfo {
        let mut info = ExporterInfo::new("trl-preference", "TRL preference", &["verdict", "ranking"])
            .describe("Preference pairs for TRL's DPO and reward trainers, or unpaired rows for KTO, as JSON Lines.")
            .option(OptionSpec::choice("format", "message lists or plain text", &["conversational", "standard"]))
            .option(OptionSpec::choice(
                "prompt",
                "explicit: a prompt column and final turns only; implicit: whole conversations",
                &["explicit", "implicit"],
            ))
            .option(OptionSpec::choice("pairing", "paired rows (DPO, reward) or unpaired rows with a label (KTO)", &["paired", "unpaired"]))
            .option(OptionSpec::choice("margin", "add the verdict's strength (1-3) as `margin`", &["none", "strength"]))
            .option(OptionSpec::choice(
                "template",
                "standard format: HH-style turns (\\n\\nHuman: / \\n\\nAssistant:) or the bare texts",
                &["hh", "plain"],
            ))
            .option(OptionSpec::choice("annotator-column", "add who gave the preference as `annotator`", &["false", "true"]));
        info.options.extend(Policy::options());
        info
    }

    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let settings = Settings::read(options)?;
        out.create("preference.jsonl")?;
        let mut summary = Summary::default();
        let mut line = Vec::with_capacity(4096);
        for record in records {
            let record = record?;
            let c = preference::comparison(&record)?;
            let mut write = |row: &dyn erased::Row| -> Result<(), String> {
                line.clear();
                row.write(&mut line).map_err(|e| format!("item {}: {e}", record.key))?;
                line.push(b'\n');
                out.write_all(&line).map_err(|e| e.to_string())?;
                summary.written += 1;
                Ok(())
            };
            if settings.unpaired {
                let labels = unpaired_labels(&settings, &record, c, &mut summary.skipped)?;
                if labels.is_empty() {
                    continue;
                }
                let all: Vec<usize> = (0..c.responses.len()).collect();
                let (prompt, completions) = settings.columns(c, &all);
                let prompt = settings.explicit_prompt.then_some(&prompt);
                for (response, label, annotator) in labels {
                    let annotator = settings.annotator_column.then_some(annotator.as_str());
                    write(&UnpairedRow { prompt, completion: &completions[response as usize], label, annotator })?;
                }
            } else {
                let (pairs, skipped) = settings.policy.pairs(&record);
                summary.skipped += skipped;
                for pair in &pairs {
                    check_index(&record, c, pair.chosen)?;
                    check_index(&record, c, pair.rejected)?;
                    let (prompt, completions) = settings.columns(c, &[pair.chosen as usize, pair.rejected as usize]);
                    let [chosen, rejected]: [Side; 2] = completions.try_into().map_err(|_| "two completions".to_string())?;
                    write(&PairedRow {
                        prompt: settings.explicit_prompt.then_some(&prompt),
                        chosen,
                        rejected,
                        margin: if settings.margin { pair.strength.map(f64::from) } else { None },
                        annotator: settings.annotator_column.then_some(pair.annotator.as_str()),
                    })?;
                }
            }
        }
        Ok(summary)
    }
}

/// Rows of either shape behind one writer.
mod erased {
    pub trait Row {
        fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
    }
    impl<T: serde::Serialize> Row for T {
        fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
            serde_json::to_writer(out, self)
        }
    }
}

fn check_index(record: &ExportRecord, c: &Comparison, index: u32) -> Result<(), String> {
    if (index as usize) < c.responses.len() {
        Ok(())
    } else {
        Err(format!("item {}: response {index} does not exist ({} responses)", record.key, c.responses.len()))
    }
}

/// KTO labels: each judged response once per annotator, desirable or not. A tie marks both responses
/// desirable (under `ties=both-ways`), "both bad" marks both undesirable.
fn unpaired_labels(settings: &Settings, record: &ExportRecord, c: &Comparison, skipped: &mut u64) -> Result<Vec<(u32, bool, String)>, String> {
    fn add(response: u32, label: bool, who: &str, labelled: &mut Vec<(u32, bool, String)>) {
        if !labelled.iter().any(|(r, l, w)| *r == response && *l == label && w == who) {
            labelled.push((response, label, who.to_string()));
        }
    }
    let mut labels: Vec<(u32, bool, String)> = Vec::new();
    for a in settings.policy.annotations(record) {
        match &a.payload {
            Payload::Verdict(v) => match v.winner {
                Winner::A => {
                    add(v.a, true, &a.annotator, &mut labels);
                    add(v.b, false, &a.annotator, &mut labels);
                }
                Winner::B => {
                    add(v.b, true, &a.annotator, &mut labels);
                    add(v.a, false, &a.annotator, &mut labels);
                }
                Winner::BothBad => {
                    add(v.a, false, &a.annotator, &mut labels);
                    add(v.b, false, &a.annotator, &mut labels);
                }
                Winner::Tie if settings.policy.ties == TiePolicy::BothWays => {
                    add(v.a, true, &a.annotator, &mut labels);
                    add(v.b, true, &a.annotator, &mut labels);
                }
                Winner::Tie => *skipped += 1,
            },
            Payload::Ranking(r) => {
                for (upper, lower) in preference::ranking_pairs(&r.tiers, settings.policy.rankings) {
                    add(upper, true, &a.annotator, &mut labels);
                    add(lower, false, &a.annotator, &mut labels);
                }
            }
            _ => {}
        }
    }
    for (response, _, _) in &labels {
        check_index(record, c, *response)?;
    }
    Ok(labels)
}

export_exporter!(TrlPreference);
