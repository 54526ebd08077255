//! The HH-RLHF transcript convention (`\n\nHuman: …\n\nAssistant: …`), shared by the importer and
//! the exporters so both sides agree byte for byte.
//!
//! What the importer keeps under `metadata.hh_rlhf` so that a row comes back exactly:
//! - `prompt`: the shared transcript before the last `\n\nAssistant:`, when joining the messages
//!   would not reproduce it;
//! - `prompts`: the same per response (null where joining reproduces it), when the two sides'
//!   conversations differ before the last turn;
//! - `no_space_after_marker`: the responses whose reply did not follow the marker after one space;
//! - `ascii`: true when the row was written with `\uXXXX` escapes (Python's `ensure_ascii`).

use crate::{Comparison, Message, Role};

pub const HH_HUMAN: &str = "\n\nHuman:";
pub const HH_ASSISTANT: &str = "\n\nAssistant:";

/// Joins chat messages into an HH-RLHF transcript: `\n\nHuman: …\n\nAssistant: …`. A system message
/// (the text before the first marker, on import) is written as it is, without a marker.
pub fn hh_transcript<'a>(messages: impl IntoIterator<Item = &'a Message>) -> String {
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

/// The transcript of response `response`'s conversation up to and including the final
/// `\n\nAssistant:`. Uses the exact text the importer kept when joining would not reproduce it.
pub fn hh_prompt(c: &Comparison, response: usize) -> String {
    let exact = &c.metadata["hh_rlhf"];
    let mut prompt = exact["prompts"][response]
        .as_str()
        .or_else(|| exact["prompt"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| hh_transcript(c.conversation(response)));
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

/// Whether the row the comparison came from escaped non-ASCII characters as `\uXXXX`.
pub fn hh_ascii(c: &Comparison) -> bool {
    c.metadata["hh_rlhf"]["ascii"].as_bool().unwrap_or(false)
}

/// Where two transcripts stop sharing whole turns: the last position, within their common prefix,
/// at which both start a `\n\nHuman:` or `\n\nAssistant:` marker (0 when there is none). Cutting
/// both there gives the shared turns as the prompt and each side's own turns after it.
pub fn hh_shared_turns_len(a: &str, b: &str) -> usize {
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    if a.len() == b.len() && common == a.len() {
        return common;
    }
    let starts_turn = |s: &str, at: usize| s.get(at..).is_some_and(|t| t.starts_with(HH_HUMAN) || t.starts_with(HH_ASSISTANT));
    // Markers begin with "\n", so only positions of a '\n' in the common prefix can start one.
    a.as_bytes()[..common.min(a.len())]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, byte)| **byte == b'\n')
        .map(|(at, _)| at)
        .find(|&at| starts_turn(a, at) && starts_turn(b, at))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_turns_end_at_the_last_marker_both_sides_start() {
        let a = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: what is 2+2?\n\nAssistant:";
        let b = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: what is 3+3?\n\nAssistant:";
        let at = hh_shared_turns_len(a, b);
        assert_eq!(&a[..at], "\n\nHuman: hi\n\nAssistant: hello");
        assert_eq!(hh_shared_turns_len(a, a), a.len());
        // A turn of one side that is a prefix of the other's still ends the shared part at its start.
        let c = "\n\nHuman: hi\n\nAssistant: hello there\n\nHuman: ok\n\nAssistant:";
        assert_eq!(&a[..hh_shared_turns_len(a, c)], "\n\nHuman: hi");
        assert_eq!(hh_shared_turns_len("\n\nHuman: x", "\n\nHuman: y"), 0);
        assert_eq!(hh_shared_turns_len("", "\n\nHuman: y"), 0);
    }
}
