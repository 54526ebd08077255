//! A plugin built for an earlier contract version keeps working after the model grows: the committed
//! fixture `fixtures/openai-dpo-1.0` is the OpenAI DPO exporter as built for cairn:plugin 1.0.0, before
//! `Response::own_messages` existed (see its README), and is only loaded here, never rebuilt.

use cairn_model::{
    AnnotatorKind, Comparison, ExportRecord, ItemData, Message, PairwiseVerdict, Payload, RecordAnnotation, Response, RevisionId, Role, Winner,
};
use cairn_plugin_host::{ContractVersion, ExporterPlugin, HostConfig, Manifest, PluginEngine, RecordSource};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openai-dpo-1.0")
}

fn engine() -> PluginEngine {
    PluginEngine::new(HostConfig { cache_dir: None, ..HostConfig::default() }).unwrap()
}

fn load(engine: &PluginEngine) -> ExporterPlugin {
    let dir = fixture();
    let manifest = Manifest::parse(&std::fs::read_to_string(dir.join("plugin.toml")).unwrap(), &dir.join("plugin.toml")).unwrap();
    ExporterPlugin::load(engine, &manifest, &std::fs::read(dir.join(&manifest.wasm)).unwrap()).expect("a 1.0 exporter loads")
}

struct Fixed(Vec<String>);

impl RecordSource for Fixed {
    fn project(&self) -> String {
        "contract".into()
    }
    fn total(&self) -> u64 {
        self.0.len() as u64
    }
    fn next_batch(&mut self, max: usize) -> Result<Vec<String>, String> {
        let n = max.min(self.0.len());
        Ok(self.0.drain(..n).collect())
    }
}

fn record(key: &str, responses: Vec<Response>, winner: Winner) -> String {
    let item = ItemData::Comparison(Comparison {
        messages: vec![Message::text(Role::System, "Be brief."), Message::text(Role::User, "Capital of France?")],
        responses,
        metadata: serde_json::Value::Null,
    });
    let verdict = RecordAnnotation {
        annotator: "ann".into(),
        annotator_kind: AnnotatorKind::Human,
        revision: RevisionId(1),
        at_ms: 1_700_000_000_000,
        payload: Payload::Verdict(PairwiseVerdict::new(winner)),
    };
    serde_json::to_string(&ExportRecord { key: key.into(), dataset: "prefs".into(), item, annotations: vec![verdict] }).unwrap()
}

/// One ordinary comparison, and one whose second response answers a conversation with turns of its
/// own (the field added in 1.1).
fn records() -> Vec<String> {
    let mut edited = Response::new(Some("m2"), "Lyon.");
    edited.own_messages = vec![Message::text(Role::Assistant, "Paris."), Message::text(Role::User, "And the second city?")];
    let records = vec![
        record("plain", vec![Response::new(Some("m1"), "Paris."), Response::new(Some("m2"), "Marseille.")], Winner::A),
        record("edited", vec![Response::new(Some("m1"), "Paris."), edited], Winner::B),
    ];
    assert!(records[1].contains("\"own_messages\"") && !records[0].contains("own_messages"), "the model no longer writes own_messages");
    records
}

#[test]
fn the_fixture_was_built_for_contract_1_0() {
    let engine = engine();
    let component = engine.compile(&std::fs::read(fixture().join("plugin.wasm")).unwrap()).unwrap();
    let declared = engine.inspect(&component).unwrap();
    assert_eq!(declared.contract, ContractVersion { major: 1, minor: 0 });
    assert!(declared.exports.iter().any(|e| e == "cairn:plugin/exporter@1.0.0"), "{:?}", declared.exports);
    assert!(declared.imports.iter().any(|i| i == "cairn:plugin/export-io@1.0.0"), "{:?}", declared.imports);
    assert!(ContractVersion::CURRENT > declared.contract, "the host implements a newer contract than the fixture's");
}

#[test]
fn a_1_0_exporter_exports_records_that_carry_newer_fields() {
    let engine = engine();
    let plugin = load(&engine);
    assert_eq!(plugin.info().id, "openai-dpo");
    let dest = tempfile::tempdir().unwrap();
    let outcome = plugin.export(&[], Box::new(Fixed(records())), dest.path(), None).expect("the export succeeds");
    assert_eq!((outcome.written, outcome.skipped), (2, 0));
    let text = std::fs::read_to_string(dest.path().join("preference.jsonl")).unwrap();
    // The 1.0 plugin sees the 1.0 shape: the shared prompt, without the second response's own turns.
    let prompt = r#"{"input":{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}]},"#;
    assert_eq!(
        text,
        [
            format!(r#"{prompt}"preferred_output":[{{"role":"assistant","content":"Paris."}}],"non_preferred_output":[{{"role":"assistant","content":"Marseille."}}]}}"#),
            format!(r#"{prompt}"preferred_output":[{{"role":"assistant","content":"Lyon."}}],"non_preferred_output":[{{"role":"assistant","content":"Paris."}}]}}"#),
            String::new(),
        ]
        .join("\n")
    );
    // The user is told what the plugin could not see, and how it would.
    assert_eq!(outcome.notes.len(), 1, "{:?}", outcome.notes);
    assert!(outcome.notes[0].starts_with("1 record(s) held data that plugins built for cairn:plugin 1.0 cannot read"), "{:?}", outcome.notes);
}
