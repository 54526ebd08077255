use super::*;

#[test]
fn hh_multi_turn_separates_prompt_and_final_replies_exactly() {
    let prompt = "\n\nHuman: What is a LiDAR return?\n\nAssistant: A reflection of one laser pulse.\n\nHuman: And a second return?";
    let chosen = format!("{prompt}\n\nAssistant: A later echo of the same pulse, e.g. from the ground under leaves.");
    let rejected = format!("{prompt}\n\nAssistant: ");
    let row = serde_json::json!({"chosen": chosen, "rejected": rejected}).to_string();
    let p = parse_comparison(ComparisonFormat::HhRlhf, &row).unwrap();
    let c = &p.comparison;
    assert_eq!(c.responses[0].content.to_text(), "A later echo of the same pulse, e.g. from the ground under leaves.");
    assert_eq!(c.responses[1].content.to_text(), "");
    let roles: Vec<_> = c.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    assert_eq!(c.messages[0].content.to_text(), "What is a LiDAR return?");
    assert_eq!(c.messages[1].content.to_text(), "A reflection of one laser pulse.");
    assert_eq!(c.messages[2].content.to_text(), "And a second return?");
    // Rejoining the turns gives back the exact shared prefix, so nothing extra is kept.
    assert_eq!(hh_transcript(&c.messages), prompt);
    assert!(c.metadata.is_null(), "{}", c.metadata);
    assert_eq!(p.source_verdict.unwrap().winner, Winner::A);
}

#[test]
fn hh_split_uses_the_last_assistant_marker() {
    let (prompt, reply) = split_hh("\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d").unwrap();
    assert_eq!(prompt, "\n\nHuman: a\n\nAssistant: b\n\nHuman: c");
    assert_eq!(reply, "d");
    assert!(split_hh("no markers").is_none());
}

/// As in the public release: an earlier turn of one side was edited, so the transcripts differ
/// before their last `Assistant:` turn.
#[test]
fn hh_rows_whose_earlier_turns_differ_keep_each_sides_own_turns() {
    let chosen = "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Tell me about owls.\n\nAssistant: They hunt at night.";
    let rejected = "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Tell me about cats.\n\nAssistant: Sure!\n\nHuman: And owls?\n\nAssistant: No.";
    let row = serde_json::json!({"chosen": chosen, "rejected": rejected}).to_string();
    let p = parse_comparison(ComparisonFormat::HhRlhf, &row).unwrap();
    let c = &p.comparison;
    assert_eq!(c.messages, [Message::text(Role::User, "Hi"), Message::text(Role::Assistant, "Hello.")]);
    assert_eq!(c.responses[0].own_messages, [Message::text(Role::User, "Tell me about owls.")]);
    assert_eq!(
        c.responses[1].own_messages,
        [Message::text(Role::User, "Tell me about cats."), Message::text(Role::Assistant, "Sure!"), Message::text(Role::User, "And owls?")]
    );
    assert_eq!(c.responses[0].content.to_text(), "They hunt at night.");
    assert_eq!(c.responses[1].content.to_text(), "No.");
    // Joining each side's conversation gives its transcript back, so nothing extra is kept.
    assert!(c.metadata.is_null(), "{}", c.metadata);
    assert_eq!((rewrite(c, 0), rewrite(c, 1)), (chosen.to_string(), rejected.to_string()));

    // Even the first turn may differ: then nothing is shared and each side has its whole conversation.
    let row = serde_json::json!({"chosen": "\n\nHuman: a\n\nAssistant: x", "rejected": "\n\nHuman:b\n\nAssistant: y"}).to_string();
    let c = parse_comparison(ComparisonFormat::HhRlhf, &row).unwrap().comparison;
    assert!(c.messages.is_empty());
    assert_eq!(c.responses[1].own_messages, [Message::text(Role::User, "b")]);
    assert_eq!(c.metadata["hh_rlhf"]["prompts"], serde_json::json!([null, "\n\nHuman:b"]));
    assert_eq!((rewrite(&c, 0), rewrite(&c, 1)), ("\n\nHuman: a\n\nAssistant: x".to_string(), "\n\nHuman:b\n\nAssistant: y".to_string()));
}

#[test]
fn hh_rows_remember_whether_they_were_written_with_ascii_escapes() {
    let escaped = r#"{"chosen": "\n\nHuman: Caf\u00e9?\n\nAssistant: Oui", "rejected": "\n\nHuman: Caf\u00e9?\n\nAssistant: Non"}"#;
    let raw = "{\"chosen\": \"\\n\\nHuman: Café?\\n\\nAssistant: Oui\", \"rejected\": \"\\n\\nHuman: Café?\\n\\nAssistant: Non\"}";
    let plain = r#"{"chosen": "\n\nHuman: Tea?\n\nAssistant: Yes", "rejected": "\n\nHuman: Tea?\n\nAssistant: No"}"#;
    let style = |line: &str| {
        let c = parse_comparison(ComparisonFormat::HhRlhf, line).unwrap().comparison;
        assert_eq!(c.messages[0].content.to_text(), if line == plain { "Tea?" } else { "Café?" });
        cairn_model::hh_ascii(&c)
    };
    assert!(style(escaped));
    assert!(!style(raw));
    assert!(!style(plain));
}

#[test]
fn trl_standard_explicit_prompt() {
    let row = r#"{"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven."}"#;
    let p = parse_comparison(ComparisonFormat::Trl, row).unwrap();
    assert_eq!(p.comparison.messages, [Message::text(Role::User, "Name a colour.")]);
    assert_eq!(p.comparison.responses[0].content.to_text(), "Blue.");
    assert_eq!(p.comparison.responses[1].content.to_text(), "Seven.");
}

#[test]
fn trl_conversational_explicit_and_implicit_prompt() {
    let explicit = r#"{"id": 7, "prompt": [{"role": "user", "content": "Hi"}],
        "chosen": [{"role": "assistant", "content": "Hello!"}], "rejected": [{"role": "assistant", "content": "Go away."}]}"#;
    let p = parse_comparison(ComparisonFormat::Trl, explicit).unwrap();
    assert_eq!(p.key.as_deref(), Some("7"));
    assert_eq!(p.comparison.messages.len(), 1);
    assert_eq!(p.comparison.responses[1].content.to_text(), "Go away.");

    let implicit = r#"{"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away."}]}"#;
    let q = parse_comparison(ComparisonFormat::Trl, implicit).unwrap();
    assert_eq!(q.comparison.messages, p.comparison.messages);
    assert_eq!(q.comparison.responses, p.comparison.responses);
}

#[test]
fn trl_explicit_prompt_repeated_in_chosen_is_refused() {
    let row = r#"{"prompt": [{"role": "user", "content": "Hi"}],
        "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "assistant", "content": "No."}]}"#;
    let err = parse_comparison(ComparisonFormat::Trl, row).unwrap_err();
    assert!(err.message.starts_with("chosen:"), "{}", err.message);
}

#[test]
fn native_needs_its_fields_and_two_responses() {
    let missing = r#"{"id": "a", "messages": [{"role": "user", "content": "q"}]}"#;
    let err = parse_comparison(ComparisonFormat::Native, missing).unwrap_err();
    assert!(err.message.contains("missing field `responses`"), "{}", err.message);
    let one = r#"{"id": "a", "messages": [{"role": "user", "content": "q"}], "responses": [{"content": "x"}]}"#;
    let err = parse_comparison(ComparisonFormat::Native, one).unwrap_err();
    assert!(err.message.contains("at least 2 responses, found 1"), "{}", err.message);
    let syntax = r#"{"id": "a", "messages": [}"#;
    let err = parse_comparison(ComparisonFormat::Native, syntax).unwrap_err();
    assert!(err.column.is_some());
    let ok = r#"{"id": "a", "messages": [{"role": "user", "content": "q"}], "responses": [{"model": "m", "content": "x"}, {"content": [{"type": "text", "text": "y"}]}], "metadata": {"k": 1}}"#;
    let p = parse_comparison(ComparisonFormat::Native, ok).unwrap();
    assert_eq!(p.key.as_deref(), Some("a"));
    assert_eq!(p.comparison.responses[1].content.to_text(), "y");
    assert!(p.source_verdict.is_none());
}

/// Writes an HH-RLHF side back from a comparison, the way an exporter does.
fn rewrite(c: &Comparison, response: usize) -> String {
    format!("{}{}", cairn_model::hh_prompt(c, response), cairn_model::hh_completion(c, response))
}

#[test]
fn hh_rows_keep_what_is_needed_to_write_them_back_byte_for_byte() {
    let rows = [
        ("\n\nHuman: a\n\nAssistant: b", "\n\nHuman: a\n\nAssistant: c"),
        ("\n\nHuman:  two spaces\n\nAssistant: x", "\n\nHuman:  two spaces\n\nAssistant:"),
        ("Preamble line\n\nHuman:no space\n\nAssistant:y", "Preamble line\n\nHuman:no space\n\nAssistant: z"),
        ("\n\nHuman: q\n\nAssistant: \n\nHuman: again\n\nAssistant:  spaced", "\n\nHuman: q\n\nAssistant: \n\nHuman: again\n\nAssistant: "),
    ];
    for (chosen, rejected) in rows {
        let line = serde_json::json!({"chosen": chosen, "rejected": rejected}).to_string();
        let c = parse_comparison(ComparisonFormat::HhRlhf, &line).unwrap().comparison;
        assert_eq!(rewrite(&c, 0), chosen);
        assert_eq!(rewrite(&c, 1), rejected);
    }
}
