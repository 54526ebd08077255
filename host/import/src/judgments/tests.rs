use super::*;
use crate::{ImportOptions, import_path};
use cairn_model::Message;
use serde_json::json;

fn comparison(models: &[Option<&str>]) -> Comparison {
    Comparison {
        messages: vec![Message::text(cairn_model::Role::User, "q")],
        responses: models.iter().map(|m| Response::new(*m, "answer")).collect(),
        metadata: Value::Null,
    }
}

/// Items: "two" (m1, m2), "three" (m1, m2, m3), "dup-models" (m1, m2, m1), "anon" (no models, 3).
fn index() -> ItemIndex {
    let mut index = ItemIndex::default();
    index.name_dataset(DatasetId(1), "prefs");
    index.add("two".into(), ItemId(10), DatasetId(1), &comparison(&[Some("m1"), Some("m2")]));
    index.add("three".into(), ItemId(11), DatasetId(1), &comparison(&[Some("m1"), Some("m2"), Some("m3")]));
    index.add("dup-models".into(), ItemId(12), DatasetId(1), &comparison(&[Some("m1"), Some("m2"), Some("m1")]));
    index.add("anon".into(), ItemId(13), DatasetId(1), &comparison(&[None, None, None]));
    index
}

fn parse(line: Value) -> Result<Judgment, String> {
    parse_judgment(&line.to_string(), &index()).map_err(|e| e.message)
}

fn only_verdict(j: &Judgment) -> &PairwiseVerdict {
    match j.payloads.as_slice() {
        [Payload::Verdict(v)] => v,
        other => panic!("expected one verdict, got {other:?}"),
    }
}

fn only_ranking(j: &Judgment) -> &[Vec<u32>] {
    match j.payloads.as_slice() {
        [Payload::Ranking(r)] => &r.tiers,
        other => panic!("expected one ranking, got {other:?}"),
    }
}

#[track_caller]
fn err(line: Value, needle: &str) {
    let e = parse(line).expect_err("the line should be refused");
    assert!(e.contains(needle), "{e:?} does not contain {needle:?}");
}

#[test]
fn verdict_with_strength_and_rationale_on_a_two_response_item() {
    let j = parse(json!({"item": "two", "annotator": "ana", "verdict": "b", "strength": 2, "rationale": "B cites sources"})).unwrap();
    assert_eq!((j.item, j.dataset, j.annotator.as_str()), (ItemId(10), DatasetId(1), "ana"));
    let v = only_verdict(&j);
    assert_eq!((v.a, v.b, v.winner, v.strength), (0, 1, Winner::B, Some(2)));
    assert_eq!(v.rationale.as_deref(), Some("B cites sources"));
}

#[test]
fn every_verdict_value_parses() {
    for (text, winner) in [("a", Winner::A), ("b", Winner::B), ("tie", Winner::Tie), ("both_bad", Winner::BothBad)] {
        let j = parse(json!({"item": "two", "annotator": "ana", "verdict": text})).unwrap();
        assert_eq!(only_verdict(&j).winner, winner);
        assert_eq!(only_verdict(&j).strength, None);
    }
    err(json!({"item": "two", "annotator": "ana", "verdict": "left"}), "verdict: expected \"a\", \"b\", \"tie\" or \"both_bad\", got \"left\"");
    err(json!({"item": "two", "annotator": "ana", "verdict": 1}), "verdict: expected");
}

#[test]
fn pair_picks_two_of_several_responses_and_is_stored_in_canonical_order() {
    let j = parse(json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [0, 2], "strength": 3})).unwrap();
    let v = only_verdict(&j);
    assert_eq!((v.a, v.b, v.winner, v.strength), (0, 2, Winner::A, Some(3)));
    // [2, 0] with "a" means response 2 wins: stored as (0, 2) with b winning.
    let j = parse(json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [2, 0]})).unwrap();
    let v = only_verdict(&j);
    assert_eq!((v.a, v.b, v.winner), (0, 2, Winner::B));
    let j = parse(json!({"item": "three", "annotator": "ana", "verdict": "tie", "pair": [2, 1]})).unwrap();
    assert_eq!((only_verdict(&j).a, only_verdict(&j).b, only_verdict(&j).winner), (1, 2, Winner::Tie));
    // On a two-response item, [1, 0] swaps too.
    let j = parse(json!({"item": "two", "annotator": "ana", "verdict": "b", "pair": [1, 0]})).unwrap();
    assert_eq!(only_verdict(&j).winner, Winner::A);
}

#[test]
fn verdicts_on_more_than_two_responses_need_a_valid_pair() {
    err(json!({"item": "three", "annotator": "ana", "verdict": "a"}), "pair: item \"three\" has 3 responses");
    err(json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [0, 3]}), "pair: response 3 does not exist (the item has 3)");
    err(json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [1, 1]}), "pair: a response cannot be compared with itself");
    err(json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [0]}), "pair: expected two response indices");
    err(json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [0, -1]}), "pair: expected two response indices");
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, 1, 2], "pair": [0, 1]}), "pair: goes with a verdict");
}

#[test]
fn strength_is_only_for_a_or_b_and_within_1_to_3() {
    err(json!({"item": "two", "annotator": "ana", "verdict": "tie", "strength": 1}), "strength: a tie or both-bad verdict has no strength");
    err(json!({"item": "two", "annotator": "ana", "verdict": "both_bad", "strength": 2}), "strength: a tie or both-bad verdict has no strength");
    err(json!({"item": "two", "annotator": "ana", "verdict": "a", "strength": 4}), "strength: must be 1, 2 or 3, got 4");
    err(json!({"item": "two", "annotator": "ana", "verdict": "a", "strength": 0}), "strength: must be 1, 2 or 3, got 0");
    err(json!({"item": "two", "annotator": "ana", "verdict": "a", "strength": 1000}), "strength: must be 1, 2 or 3, got 1000");
    err(json!({"item": "two", "annotator": "ana", "verdict": "a", "strength": "big"}), "strength: must be 1, 2 or 3");
    err(json!({"item": "two", "annotator": "ana", "ranking": ["m1", "m2"], "strength": 2}), "strength: goes with a verdict");
}

#[test]
fn ranking_by_model_names_with_ties() {
    let j = parse(json!({"item": "three", "annotator": "ana", "ranking": ["m2", ["m3", "m1"]]})).unwrap();
    assert_eq!(only_ranking(&j), [vec![1], vec![0, 2]]);
    let j = parse(json!({"item": "three", "annotator": "ana", "ranking": [["m1", "m2", "m3"]]})).unwrap();
    assert_eq!(only_ranking(&j), [vec![0, 1, 2]]);
}

#[test]
fn ranking_by_index_as_number_or_digit_string() {
    let j = parse(json!({"item": "anon", "annotator": "ana", "ranking": [2, "0", 1]})).unwrap();
    assert_eq!(only_ranking(&j), [vec![2], vec![0], vec![1]]);
    let j = parse(json!({"item": "anon", "annotator": "ana", "ranking": [[0, "2"], 1]})).unwrap();
    assert_eq!(only_ranking(&j), [vec![0, 2], vec![1]]);
    // Names and indices mix.
    let j = parse(json!({"item": "three", "annotator": "ana", "ranking": ["m3", 0, "1"]})).unwrap();
    assert_eq!(only_ranking(&j), [vec![2], vec![0], vec![1]]);
}

#[test]
fn ranking_refuses_unknown_and_ambiguous_names_and_bad_orders() {
    err(
        json!({"item": "three", "annotator": "ana", "ranking": ["m1", "m2", "gpt"]}),
        "ranking: no response of item \"three\" comes from a model named \"gpt\" (its models: \"m1\", \"m2\", \"m3\")",
    );
    err(json!({"item": "anon", "annotator": "ana", "ranking": ["x", 1, 2]}), "its responses name no models; use indices 0 to 2");
    err(
        json!({"item": "dup-models", "annotator": "ana", "ranking": ["m1", "m2", 2]}),
        "ranking: the model name \"m1\" is ambiguous in item \"dup-models\" (responses 0, 2 come from it)",
    );
    // The ambiguous model is still reachable by index.
    let j = parse(json!({"item": "dup-models", "annotator": "ana", "ranking": [2, "m2", 0]})).unwrap();
    assert_eq!(only_ranking(&j), [vec![2], vec![1], vec![0]]);
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, 1]}), "ranking: ranks 2 of the 3 responses");
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, 1, 1]}), "ranking: response 1 appears twice");
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, 1, 5]}), "ranking: response 5 does not exist");
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, [], [1, 2]]}), "ranking: a tier is empty");
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, [1, [2]]]}), "cannot hold another list");
    err(json!({"item": "three", "annotator": "ana", "ranking": [0, 1.5, 2]}), "ranking: expected a model name or a response index, got 1.5");
    err(json!({"item": "three", "annotator": "ana", "ranking": "m1 > m2"}), "ranking: expected a list");
}

#[test]
fn verdict_and_ranking_together_and_a_rationale_without_a_verdict() {
    let j = parse(json!({"item": "two", "annotator": "ana", "verdict": "a", "ranking": ["m1", "m2"], "rationale": "why"})).unwrap();
    match j.payloads.as_slice() {
        [Payload::Verdict(v), Payload::Ranking(r)] => {
            assert_eq!(v.rationale.as_deref(), Some("why"));
            assert_eq!(r.tiers, [vec![0], vec![1]]);
        }
        other => panic!("{other:?}"),
    }
    let j = parse(json!({"item": "two", "annotator": "ana", "ranking": ["m2", "m1"], "rationale": "why"})).unwrap();
    match j.payloads.as_slice() {
        [Payload::Ranking(r), Payload::Text(t)] => {
            assert_eq!(r.tiers, [vec![1], vec![0]]);
            assert_eq!((t.field.as_str(), t.text.as_str()), ("rationale", "why"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_line_needs_item_annotator_and_a_verdict_or_ranking() {
    err(json!({"item": "two", "annotator": "ana"}), "verdict: missing; a judgment needs a \"verdict\", a \"ranking\" or both");
    err(json!({"item": "two", "annotator": "ana", "verdict": null, "rationale": "x"}), "a judgment needs a \"verdict\", a \"ranking\" or both");
    err(json!({"annotator": "ana", "verdict": "a"}), "item: missing");
    err(json!({"item": "", "annotator": "ana", "verdict": "a"}), "item: must not be empty");
    err(json!({"item": "two", "verdict": "a"}), "annotator: missing");
    err(json!({"item": "two", "annotator": " ", "verdict": "a"}), "annotator: must not be empty");
    err(json!({"item": "two", "annotator": 7, "verdict": "a"}), "annotator: expected a name");
    err(json!(["two", "ana", "a"]), "expected a JSON object");
    let e = parse_judgment(r#"{"item": "two", "annotator": oops}"#, &index()).unwrap_err();
    assert!(e.column.is_some() && e.message.starts_with("expected value"), "{e:?}");
}

#[test]
fn unknown_item_keys_are_named() {
    err(json!({"item": "nope", "annotator": "ana", "verdict": "a"}), "item: no comparison with the key \"nope\" in the project");
    let e = parse_judgment(&json!({"item": "x", "annotator": "ana", "verdict": "a"}).to_string(), &ItemIndex::default()).unwrap_err();
    assert!(e.message.contains("import the comparisons first"), "{}", e.message);
}

#[test]
fn numeric_item_keys_match_numeric_ids() {
    let mut index = index();
    index.add("42".into(), ItemId(20), DatasetId(1), &comparison(&[Some("m1"), Some("m2")]));
    let j = parse_judgment(&json!({"item": 42, "annotator": "ana", "verdict": "a"}).to_string(), &index).unwrap();
    assert_eq!(j.item, ItemId(20));
}

#[test]
fn a_key_in_two_datasets_is_ambiguous() {
    let mut index = index();
    index.name_dataset(DatasetId(2), "more");
    index.add("two".into(), ItemId(30), DatasetId(2), &comparison(&[Some("m1"), Some("m2")]));
    let e = parse_judgment(&json!({"item": "two", "annotator": "ana", "verdict": "a"}).to_string(), &index).unwrap_err();
    assert!(e.message.contains("item: the key \"two\" is ambiguous: 2 comparisons have it (in datasets 'prefs', 'more')"), "{}", e.message);
    assert!(e.message.contains("--dataset"), "{}", e.message);
    // Other keys still resolve.
    assert!(parse_judgment(&json!({"item": "three", "annotator": "ana", "verdict": "a", "pair": [0, 1]}).to_string(), &index).is_ok());
}

#[test]
fn judgments_cannot_be_filed_under_source_or_model_annotators() {
    let mut index = index();
    index.note_annotator("judge-llm", AnnotatorKind::Model);
    let e = parse_judgment(&json!({"item": "two", "annotator": "judge-llm", "verdict": "a"}).to_string(), &index).unwrap_err();
    assert!(e.message.contains("annotator: \"judge-llm\" is a model annotator"), "{}", e.message);
    err(json!({"item": "two", "annotator": "import:hh-rlhf", "verdict": "a"}), "annotator: \"import:hh-rlhf\": names starting with \"import:\"");
}

// --- Through a project file -------------------------------------------------------------------

struct Fixture {
    dir: tempfile::TempDir,
    project: Project,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(dir.path().join("p.cairn")).unwrap();
    let lines: Vec<String> = [("c1", 2), ("c2", 2), ("c3", 3)]
        .iter()
        .map(|(id, n)| {
            let responses: Vec<Value> = (1..=*n).map(|m| json!({"model": format!("m{m}"), "content": format!("{id} answer {m}")})).collect();
            json!({"id": id, "messages": [{"role": "user", "content": format!("question {id}")}], "responses": responses}).to_string()
        })
        .collect();
    let file = dir.path().join("prefs.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    import_path(&mut project, &file, &ImportOptions::default(), &mut |_, _| {}).unwrap();
    Fixture { dir, project }
}

fn judgments_options() -> ImportOptions {
    ImportOptions { format: Some(Format::Judgments), ..ImportOptions::default() }
}

impl Fixture {
    fn write(&self, name: &str, lines: &[Value]) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
        path
    }

    fn import(&mut self, path: &Path, options: &ImportOptions) -> Result<ImportReport, ImportError> {
        import_path(&mut self.project, path, options, &mut |_, _| {})
    }

    /// (item key, annotator name, payload) of every live annotation.
    fn annotations(&self) -> Vec<(String, String, Payload)> {
        let names: HashMap<AnnotatorId, String> = self.project.annotators().unwrap().into_iter().map(|a| (a.id, a.name)).collect();
        let mut out = Vec::new();
        self.project
            .for_each_annotation::<cairn_store::StoreError>(None, |a| {
                out.push((self.project.item(a.item)?.key, names[&a.annotator].clone(), a.payload));
                Ok(())
            })
            .unwrap();
        out
    }
}

fn good_lines() -> Vec<Value> {
    vec![
        json!({"item": "c1", "annotator": "ana", "verdict": "a", "strength": 2}),
        json!({"item": "c2", "annotator": "ben", "verdict": "b", "pair": [1, 0], "rationale": "first is right"}),
        json!({"item": "c3", "annotator": "ana", "ranking": ["m3", ["m1", "m2"]]}),
    ]
}

#[test]
fn judgments_are_stored_once_under_human_annotators() {
    let mut f = fixture();
    let path = f.write("labels.jsonl", &good_lines());
    let report = f.import(&path, &judgments_options()).unwrap();
    assert_eq!((report.format, report.records, report.added, report.already_present), ("judgments", 3, 3, 0));
    assert_eq!(report.dataset, "prefs");
    assert!(report.skipped.is_empty());

    let got = f.annotations();
    assert_eq!(got.len(), 3, "{got:?}");
    let (key, who, Payload::Verdict(v)) = &got[0] else { panic!("{got:?}") };
    assert_eq!((key.as_str(), who.as_str(), v.a, v.b, v.winner, v.strength), ("c1", "ana", 0, 1, Winner::A, Some(2)));
    let (key, who, Payload::Verdict(v)) = &got[1] else { panic!("{got:?}") };
    assert_eq!((key.as_str(), who.as_str(), v.winner), ("c2", "ben", Winner::A), "pair [1, 0] with b = response 0 wins");
    assert_eq!(v.rationale.as_deref(), Some("first is right"));
    let (key, who, Payload::Ranking(r)) = &got[2] else { panic!("{got:?}") };
    assert_eq!((key.as_str(), who.as_str(), r.tiers.clone()), ("c3", "ana", vec![vec![2], vec![0, 1]]));
    for a in f.project.annotators().unwrap() {
        assert_eq!(a.kind, AnnotatorKind::Human, "{}", a.name);
    }

    // The same file again adds nothing.
    let again = f.import(&path, &judgments_options()).unwrap();
    assert_eq!((again.records, again.added, again.already_present), (3, 0, 3));
    assert_eq!(f.annotations().len(), 3);
    assert!(f.project.check_derived_state().unwrap().is_empty());
}

#[test]
fn a_bad_line_stores_nothing_unless_skip_invalid() {
    let mut f = fixture();
    let mut lines = good_lines();
    lines.insert(1, json!({"item": "c9", "annotator": "ana", "verdict": "a"}));
    lines.push(json!({"item": "c1", "annotator": "cy", "verdict": "tie", "strength": 1}));
    let path = f.write("labels.jsonl", &lines);
    let e = f.import(&path, &judgments_options()).unwrap_err();
    assert!(e.is_bad_input());
    assert_eq!(e.to_string(), format!("{}:2: item: no comparison with the key \"c9\" in the project", path.display()));
    assert!(f.annotations().is_empty());
    assert!(f.project.annotators().unwrap().is_empty(), "annotators are not created either");

    let skip = ImportOptions { skip_invalid: true, ..judgments_options() };
    let report = f.import(&path, &skip).unwrap();
    assert_eq!((report.records, report.added), (3, 3));
    let skipped: Vec<_> = report.skipped.iter().map(|s| (s.location.clone(), s.reason.clone())).collect();
    assert_eq!(
        skipped,
        [
            (format!("{}:2", path.display()), "item: no comparison with the key \"c9\" in the project".to_string()),
            (format!("{}:5", path.display()), "strength: a tie or both-bad verdict has no strength".to_string()),
        ]
    );
    assert_eq!(f.annotations().len(), 3);
}

#[test]
fn dataset_restricts_the_lookup_and_resolves_ambiguous_keys() {
    let mut f = fixture();
    // The same ids in a second dataset (different content, so new items).
    let other = f.dir.path().join("other.jsonl");
    let line = json!({"id": "c1", "messages": [{"role": "user", "content": "another question"}],
                      "responses": [{"model": "x", "content": "1"}, {"model": "y", "content": "2"}]});
    std::fs::write(&other, line.to_string()).unwrap();
    f.import(&other, &ImportOptions::default()).unwrap();

    let path = f.write("labels.jsonl", &[json!({"item": "c1", "annotator": "ana", "verdict": "b"})]);
    let e = f.import(&path, &judgments_options()).unwrap_err();
    assert!(e.to_string().contains(":1: item: the key \"c1\" is ambiguous"), "{e}");

    let in_other = ImportOptions { dataset: Some("other".into()), ..judgments_options() };
    let report = f.import(&path, &in_other).unwrap();
    assert_eq!((report.added, report.dataset.as_str()), (1, "other"));
    let c1s = f.project.items_by_key("c1").unwrap();
    assert_eq!(c1s.len(), 2);
    assert!(f.project.annotations_of(c1s[0].id).unwrap().is_empty());
    assert_eq!(f.project.annotations_of(c1s[1].id).unwrap().len(), 1, "the verdict is on the item of dataset 'other'");

    let missing = ImportOptions { dataset: Some("nope".into()), ..judgments_options() };
    let e = f.import(&path, &missing).unwrap_err();
    assert!(e.to_string().contains("--dataset 'nope': the project has no such dataset"), "{e}");
}

#[test]
fn an_empty_file_is_refused() {
    let mut f = fixture();
    let path = f.dir.path().join("empty.jsonl");
    std::fs::write(&path, "\n \n").unwrap();
    assert!(matches!(f.import(&path, &judgments_options()), Err(ImportError::Empty { .. })));
}

#[test]
fn detection_suggests_the_judgments_format() {
    let f = fixture();
    let path = f.write("labels.jsonl", &good_lines());
    let e = crate::detect_format(&path).unwrap_err();
    assert!(e.to_string().contains("pass --format judgments"), "{e}");
    assert_eq!(Format::parse("judgments"), Some(Format::Judgments));
    assert!(Format::NAMES.contains(&"judgments"));
}
