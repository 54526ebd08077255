//! Turning one JSON record into a comparison, for each supported preference format.

use cairn_model::{Comparison, Content, Message, PairwiseVerdict, Response, Role, Winner, validate_comparison};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComparisonFormat {
    /// `{"id", "messages", "responses": [{"model", "content"}], "metadata"}`
    Native,
    /// `{"chosen": "\n\nHuman: …\n\nAssistant: …", "rejected": …}`
    HhRlhf,
    /// `{"prompt"?, "chosen", "rejected"}`, strings or message lists.
    Trl,
}

impl ComparisonFormat {
    pub fn name(self) -> &'static str {
        match self {
            ComparisonFormat::Native => "jsonl",
            ComparisonFormat::HhRlhf => "hh-rlhf",
            ComparisonFormat::Trl => "trl",
        }
    }
}

/// One record, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedComparison {
    /// The record's own id, when it has one.
    pub key: Option<String>,
    pub comparison: Comparison,
    /// The preference the source already holds (chosen = response 0), kept under a source annotator.
    pub source_verdict: Option<PairwiseVerdict>,
}

/// A record-level error: a message and, for JSON syntax errors, the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub column: Option<u64>,
    pub message: String,
}

impl RecordError {
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        RecordError { column: None, message: message.into() }
    }
}

impl From<serde_json::Error> for RecordError {
    fn from(e: serde_json::Error) -> Self {
        // serde_json appends " at line L column C"; the caller already names the line.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        RecordError { column: (e.column() > 0).then_some(e.column() as u64), message }
    }
}

pub fn parse_comparison(format: ComparisonFormat, line: &str) -> Result<ParsedComparison, RecordError> {
    let parsed = match format {
        ComparisonFormat::Native => parse_native(line)?,
        ComparisonFormat::HhRlhf => {
            let row: HhRow = serde_json::from_str(line)?;
            hh_to_comparison(&row.chosen, &row.rejected, line)?
        }
        ComparisonFormat::Trl => parse_trl(line)?,
    };
    let findings = validate_comparison(&parsed.comparison);
    if !findings.is_empty() {
        return Err(RecordError::msg(cairn_model::describe_findings(&findings)));
    }
    Ok(parsed)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
struct NativeRow {
    id: IdValue,
    messages: Vec<Message>,
    responses: Vec<Response>,
    #[serde(default)]
    metadata: serde_json::Value,
}

fn parse_native(line: &str) -> Result<ParsedComparison, RecordError> {
    let row: NativeRow = serde_json::from_str(line)?;
    let key = match row.id {
        IdValue::Text(s) if s.trim().is_empty() => return Err(RecordError::msg("id: must not be empty")),
        IdValue::Text(s) => s,
        IdValue::Number(n) => n.to_string(),
    };
    Ok(ParsedComparison {
        key: Some(key),
        comparison: Comparison { messages: row.messages, responses: row.responses, metadata: row.metadata },
        source_verdict: None,
    })
}

#[derive(Deserialize)]
struct HhRow {
    chosen: String,
    rejected: String,
}

use cairn_model::{HH_ASSISTANT as ASSISTANT, HH_HUMAN as HUMAN, hh_transcript};

/// Splits an HH-RLHF transcript at its last `\n\nAssistant:` into the prompt (everything before it)
/// and the final reply (everything after it, less the one space that follows the colon).
pub fn split_hh(text: &str) -> Option<(&str, &str)> {
    let at = text.rfind(ASSISTANT)?;
    let reply = &text[at + ASSISTANT.len()..];
    Some((&text[..at], reply.strip_prefix(' ').unwrap_or(reply)))
}

/// Turns `\n\nHuman: …\n\nAssistant: …` turns into chat messages. Text before the first marker, if any,
/// becomes a system message, kept as it was.
pub fn parse_hh_dialogue(prompt: &str) -> Vec<Message> {
    let mut marks: Vec<(usize, Role, usize)> = Vec::new();
    for (marker, role) in [(HUMAN, Role::User), (ASSISTANT, Role::Assistant)] {
        marks.extend(prompt.match_indices(marker).map(|(i, m)| (i, role, m.len())));
    }
    marks.sort_by_key(|m| m.0);
    let mut out = Vec::new();
    let preamble = &prompt[..marks.first().map_or(prompt.len(), |m| m.0)];
    if !preamble.is_empty() {
        out.push(Message::text(Role::System, preamble));
    }
    for (k, &(at, role, len)) in marks.iter().enumerate() {
        let end = marks.get(k + 1).map_or(prompt.len(), |m| m.0);
        let text = &prompt[at + len..end];
        out.push(Message::text(role, text.strip_prefix(' ').unwrap_or(text)));
    }
    out
}

/// What an HH-RLHF exporter needs, beyond the messages, to write the row back byte for byte (see
/// `cairn_model::hh` for the keys). Kept in the item's metadata under `hh_rlhf` only when the plain
/// joining rule and the default style would not reproduce it.
fn hh_exact(c: &Comparison, prompts: [&str; 2], sides: [&str; 2], line: &str) -> serde_json::Value {
    let mut exact = serde_json::Map::new();
    if prompts[0] == prompts[1] {
        if hh_transcript(&c.messages) != prompts[0] {
            exact.insert("prompt".into(), prompts[0].into());
        }
    } else {
        let per_side: Vec<serde_json::Value> =
            (0..2).map(|i| if hh_transcript(c.conversation(i)) == prompts[i] { serde_json::Value::Null } else { prompts[i].into() }).collect();
        if per_side.iter().any(|p| !p.is_null()) {
            exact.insert("prompts".into(), per_side.into());
        }
    }
    // Replies normally follow "Assistant:" after one space; note the ones that did not.
    let no_space: Vec<usize> = sides
        .iter()
        .enumerate()
        .filter(|(_, text)| text.rfind(ASSISTANT).is_some_and(|at| !text[at + ASSISTANT.len()..].starts_with(' ')))
        .map(|(i, _)| i)
        .collect();
    if !no_space.is_empty() {
        exact.insert("no_space_after_marker".into(), no_space.into());
    }
    // Python's json.dumps escapes DEL and everything beyond ASCII unless ensure_ascii is off: a line
    // of plain ASCII whose text holds such characters was written escaped.
    if line.bytes().all(|b| b < 0x7f) && sides.iter().any(|t| t.chars().any(|ch| ch >= '\u{7f}')) {
        exact.insert("ascii".into(), true.into());
    }
    if exact.is_empty() { serde_json::Value::Null } else { serde_json::json!({ "hh_rlhf": exact }) }
}

/// An HH-RLHF pair as a comparison of its two replies. The turns both transcripts share are the
/// comparison's messages; where an earlier turn differs (the real release has such pairs), each
/// reply keeps its own turns from there on, so nothing of either transcript is lost.
fn hh_to_comparison(chosen: &str, rejected: &str, line: &str) -> Result<ParsedComparison, RecordError> {
    let (Some((prompt_c, reply_c)), Some((prompt_r, reply_r))) = (split_hh(chosen), split_hh(rejected)) else {
        return Err(RecordError::msg("chosen and rejected must each contain an \"\\n\\nAssistant:\" turn"));
    };
    let mut responses = vec![Response::new(None, reply_c), Response::new(None, reply_r)];
    let messages = if prompt_c == prompt_r {
        parse_hh_dialogue(prompt_c)
    } else {
        let mut turns_c = parse_hh_dialogue(prompt_c);
        let turns_r = parse_hh_dialogue(prompt_r);
        let shared = turns_c.iter().zip(&turns_r).take_while(|(a, b)| a == b).count();
        responses[0].own_messages = turns_c.split_off(shared);
        responses[1].own_messages = turns_r[shared..].to_vec();
        turns_c
    };
    let mut comparison = Comparison { messages, responses, metadata: serde_json::Value::Null };
    comparison.metadata = hh_exact(&comparison, [prompt_c, prompt_r], [chosen, rejected], line);
    Ok(ParsedComparison { key: None, comparison, source_verdict: Some(PairwiseVerdict::new(Winner::A)) })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrMessages {
    Text(String),
    Messages(Vec<Message>),
}

#[derive(Deserialize)]
struct TrlRow {
    #[serde(default)]
    id: Option<IdValue>,
    #[serde(default)]
    prompt: Option<TextOrMessages>,
    chosen: TextOrMessages,
    rejected: TextOrMessages,
}

fn parse_trl(line: &str) -> Result<ParsedComparison, RecordError> {
    let row: TrlRow = serde_json::from_str(line)?;
    let key = row.id.map(|id| match id {
        IdValue::Text(s) => s,
        IdValue::Number(n) => n.to_string(),
    });
    use TextOrMessages::{Messages, Text};
    let (messages, chosen, rejected) = match (row.prompt, row.chosen, row.rejected) {
        (Some(Text(p)), Text(c), Text(r)) => (vec![Message::text(Role::User, p)], Content::Text(c), Content::Text(r)),
        (Some(Messages(p)), Messages(c), Messages(r)) => (p, completion(&c, "chosen")?, completion(&r, "rejected")?),
        (None, Messages(c), Messages(r)) => {
            let shared = c.iter().zip(&r).take_while(|(a, b)| a == b).count();
            if shared == 0 || c.len() != shared + 1 || r.len() != shared + 1 {
                return Err(RecordError::msg("implicit-prompt rows need chosen and rejected to share every message but one final assistant reply"));
            }
            let chosen = completion(&c[shared..], "chosen")?;
            let rejected = completion(&r[shared..], "rejected")?;
            (c[..shared].to_vec(), chosen, rejected)
        }
        (None, Text(c), Text(r)) => {
            if c.contains(ASSISTANT) && r.contains(ASSISTANT) {
                let mut parsed = hh_to_comparison(&c, &r, line)?;
                parsed.key = key;
                return Ok(parsed);
            }
            return Err(RecordError::msg("implicit-prompt rows with plain strings cannot be split into prompt and reply; add a \"prompt\" field"));
        }
        _ => return Err(RecordError::msg("prompt, chosen and rejected must all be strings or all be message lists")),
    };
    Ok(ParsedComparison {
        key,
        comparison: Comparison {
            messages,
            responses: vec![Response { content: chosen, ..Response::new(None, "") }, Response { content: rejected, ..Response::new(None, "") }],
            metadata: serde_json::Value::Null,
        },
        source_verdict: Some(PairwiseVerdict::new(Winner::A)),
    })
}

/// The reply held by a conversational `chosen` / `rejected` list: its assistant message(s).
fn completion(messages: &[Message], field: &str) -> Result<Content, RecordError> {
    match messages {
        [one] if one.role == Role::Assistant => Ok(one.content.clone()),
        [] => Err(RecordError::msg(format!("{field}: the list holds no message"))),
        many if many.iter().all(|m| m.role == Role::Assistant) => {
            Ok(Content::Text(many.iter().map(|m| m.content.to_text()).collect::<Vec<_>>().join("\n")))
        }
        _ => Err(RecordError::msg(format!(
            "{field}: expected only the assistant reply; with an explicit prompt, the prompt must not be repeated here"
        ))),
    }
}

#[cfg(test)]
mod tests;
