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
use serde_json::{json, Map, Value};

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

    /// The prompt part of a row, and how a completion is written after it.
    fn prompt(&self, c: &Comparison) -> Value {
        match self.shape {
            Shape::Conversational => json!(c.messages),
            Shape::Standard if self.hh_template => Value::String(hh_prompt(c)),
            Shape::Standard => Value::String(c.messages.iter().map(|m| m.content.to_text()).collect::<Vec<_>>().join("\n\n")),
        }
    }

    /// A completion on its own (explicit prompt) or with the conversation (implicit prompt).
    fn completion(&self, c: &Comparison, response: u32, prompt: &Value) -> Value {
        let index = response as usize;
        match self.shape {
            Shape::Conversational => {
                let turn = json!({"role": "assistant", "content": c.responses[index].content});
                if self.explicit_prompt {
                    json!([turn])
                } else {
                    let mut all = prompt.as_array().cloned().unwrap_or_default();
                    all.push(turn);
                    Value::Array(all)
                }
            }
            Shape::Standard => {
                let text = if self.hh_template { hh_completion(c, index) } else { c.responses[index].content.to_text() };
                if self.explicit_prompt {
                    Value::String(text)
                } else {
                    let joiner = if self.hh_template { "" } else { "\n\n" };
                    Value::String(format!("{}{joiner}{text}", prompt.as_str().unwrap_or_default()))
                }
            }
        }
    }
}

impl Exporter for TrlPreference {
    fn describe() -> ExporterInfo {
        let mut info = ExporterInfo::new("trl-preference", "TRL preference", &["verdict", "ranking"])
            .describe("Preference pairs for TRL's DPO and reward trainers, or unpaired rows for KTO, as JSON Lines.")
            .option(OptionSpec::choice("format", "message lists or plain text", &["conversational", "standard"]))
            .option(OptionSpec::choice("prompt", "explicit: a prompt column and final turns only; implicit: whole conversations", &[
                "explicit", "implicit",
            ]))
            .option(OptionSpec::choice("pairing", "paired rows (DPO, reward) or unpaired rows with a label (KTO)", &["paired", "unpaired"]))
            .option(OptionSpec::choice("margin", "add the verdict's strength (1-3) as `margin`", &["none", "strength"]))
            .option(OptionSpec::choice("template", "standard format: HH-style turns (\\n\\nHuman: / \\n\\nAssistant:) or the bare texts", &[
                "hh", "plain",
            ]))
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
            let prompt = settings.prompt(c);
            let rows = if settings.unpaired { unpaired_rows(&settings, &record, c, &prompt, &mut summary)? } else {
                paired_rows(&settings, &record, c, &prompt, &mut summary)?
            };
            for row in rows {
                line.clear();
                serde_json::to_writer(&mut line, &row).map_err(|e| e.to_string())?;
                line.push(b'\n');
                out.write_all(&line).map_err(|e| e.to_string())?;
                summary.written += 1;
            }
        }
        Ok(summary)
    }
}

fn check_index(record: &ExportRecord, c: &Comparison, index: u32) -> Result<(), String> {
    if (index as usize) < c.responses.len() {
        Ok(())
    } else {
        Err(format!("item {}: response {index} does not exist ({} responses)", record.key, c.responses.len()))
    }
}

fn paired_rows(settings: &Settings, record: &ExportRecord, c: &Comparison, prompt: &Value, summary: &mut Summary) -> Result<Vec<Value>, String> {
    let (pairs, skipped) = settings.policy.pairs(record);
    summary.skipped += skipped;
    let mut rows = Vec::with_capacity(pairs.len());
    for pair in pairs {
        check_index(record, c, pair.chosen)?;
        check_index(record, c, pair.rejected)?;
        let mut row = Map::new();
        if settings.explicit_prompt {
            row.insert("prompt".into(), prompt.clone());
        }
        row.insert("chosen".into(), settings.completion(c, pair.chosen, prompt));
        row.insert("rejected".into(), settings.completion(c, pair.rejected, prompt));
        if settings.margin && let Some(strength) = pair.strength {
            row.insert("margin".into(), json!(strength as f64));
        }
        if settings.annotator_column {
            row.insert("annotator".into(), json!(pair.annotator));
        }
        rows.push(Value::Object(row));
    }
    Ok(rows)
}

/// KTO rows: each judged response once per annotator, labelled desirable or not. A tie marks both
/// responses desirable (under `ties=both-ways`), "both bad" marks both undesirable.
fn unpaired_rows(settings: &Settings, record: &ExportRecord, c: &Comparison, prompt: &Value, summary: &mut Summary) -> Result<Vec<Value>, String> {
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
                Winner::Tie => summary.skipped += 1,
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
    let mut rows = Vec::with_capacity(labels.len());
    for (response, label, annotator) in labels {
        check_index(record, c, response)?;
        let mut row = Map::new();
        if settings.explicit_prompt {
            row.insert("prompt".into(), prompt.clone());
        }
        row.insert("completion".into(), settings.completion(c, response, prompt));
        row.insert("label".into(), json!(label));
        if settings.annotator_column {
            row.insert("annotator".into(), json!(annotator));
        }
        rows.push(Value::Object(row));
    }
    Ok(rows)
}

export_exporter!(TrlPreference);
