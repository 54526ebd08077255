//! The HH-RLHF transcript convention (`\n\nHuman: …\n\nAssistant: …`), shared by the importer and
//! the exporters so both sides agree byte for byte.

use crate::{Comparison, Message, Role};

pub const HH_HUMAN: &str = "\n\nHuman:";
pub const HH_ASSISTANT: &str = "\n\nAssistant:";

/// Joins chat messages into an HH-RLHF transcript: `\n\nHuman: …\n\nAssistant: …`. A system message
/// (the text before the first marker, on import) is written as it is, without a marker.
pub fn hh_transcript(messages: &[Message]) -> String {
    let mut out = String::new();
    for m in messages {
        match m.role {
            Role::User => out.push_str("\n\nHuman: "),
            Role::Assistant => out.push_str("\n\nAssistant: "),
            _ => {}
        }
        out.push_str(&m.content.to_text());
    }
    out
}

/// The prompt of an HH-RLHF row up to and including the final `\n\nAssistant:`. Uses the exact prompt
/// the importer kept under `metadata.hh_rlhf.prompt` when joining the messages would not reproduce it.
pub fn hh_prompt(c: &Comparison) -> String {
    let mut prompt = c.metadata["hh_rlhf"]["prompt"].as_str().map(str::to_owned).unwrap_or_else(|| hh_transcript(&c.messages));
    prompt.push_str(HH_ASSISTANT);
    prompt
}

/// What follows [`hh_prompt`] for one response: a space and the reply, unless the source row had no
/// space after the marker (`metadata.hh_rlhf.no_space_after_marker` lists those responses).
pub fn hh_completion(c: &Comparison, response: usize) -> String {
    let bare = c.metadata["hh_rlhf"]["no_space_after_marker"].as_array().is_some_and(|v| v.iter().any(|i| i == response));
    let text = c.responses.get(response).map(|r| r.content.to_text()).unwrap_or_default();
    if bare { text } else { format!(" {text}") }
}
