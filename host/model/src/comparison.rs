use serde::{Deserialize, Serialize};

/// A conversation and 2..N candidate responses to its last turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The prompt, in the OpenAI chat shape: the turns every response answers. When the responses'
    /// conversations differ before their last turn, these are the turns they share and each response
    /// carries the rest in [`Response::own_messages`].
    pub messages: Vec<Message>,
    /// Canonical order: verdicts and rankings refer to responses by index into this list.
    pub responses: Vec<Response>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub metadata: serde_json::Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One chat message. Unknown keys are rejected so that typos surface at import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub role: Role,
    pub content: Content,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message { role, content: Content::Text(text.into()), name: None, tool_calls: None, tool_call_id: None }
    }
}

/// Message content: a plain string, or a list of typed parts (`{"type": "text", "text": …}`, images, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<serde_json::Value>),
}

impl Content {
    /// The text a person reads: the string itself, or the `text` of each text part joined by newlines.
    pub fn to_text(&self) -> String {
        match self {
            Content::Text(s) => s.clone(),
            Content::Parts(parts) => parts.iter().filter_map(|p| p.get("text").and_then(|t| t.as_str())).collect::<Vec<_>>().join("\n"),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Content::Text(s) => s.trim().is_empty(),
            Content::Parts(parts) => parts.is_empty(),
        }
    }
}

/// One candidate answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The model that wrote it; hidden from annotators in blind mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub content: Content,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// This response's own turns between the comparison's shared `messages` and its reply, when the
    /// conversations differ before the last turn (an earlier turn was edited, as in some HH-RLHF
    /// pairs). Empty for ordinary comparisons, and then left out of the JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_messages: Vec<Message>,
}

impl Response {
    pub fn new(model: Option<&str>, text: impl Into<String>) -> Self {
        Response { model: model.map(str::to_owned), content: Content::Text(text.into()), id: None, own_messages: Vec::new() }
    }
}

impl Comparison {
    /// The whole conversation response `index` answers: the shared messages, then its own.
    pub fn conversation(&self, index: usize) -> impl Iterator<Item = &Message> {
        let own = self.responses.get(index).map_or(&[][..], |r| &r.own_messages[..]);
        self.messages.iter().chain(own)
    }

    /// Whether some response's conversation differs from the shared messages.
    pub fn has_own_messages(&self) -> bool {
        self.responses.iter().any(|r| !r.own_messages.is_empty())
    }

    /// How many of their own turns the given responses share (the longest common prefix of their
    /// `own_messages`). A preference row over them takes `messages` and that many of their own turns
    /// as its prompt, as TRL's `extract_prompt` takes the longest shared prefix of the conversations.
    pub fn shared_own_turns(&self, responses: &[usize]) -> usize {
        let own = |i: usize| self.responses.get(i).map_or(&[][..], |r| &r.own_messages[..]);
        let Some((&first, rest)) = responses.split_first() else { return 0 };
        rest.iter().fold(own(first).len(), |n, &i| own(first)[..n].iter().zip(own(i)).take_while(|(x, y)| x == y).count())
    }
}
