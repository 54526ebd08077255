//! Exporter plugins through the real binary: every bundled format on the demo project, parsed back and
//! checked against the conventions in FORMATS.md; the HH-RLHF round trip; a scaffolded plugin; and a
//! misbehaving plugin that leaves the project and the destination untouched.

use cairn_e2e::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const BUNDLED: [&str; 9] =
    ["arena-battles", "cuboid-detection", "hh-rlhf", "kitti-label", "openai-dpo", "openlabel", "pairwise-preference", "ranking", "trl-preference"];

fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    expect_code(&cairn_in(dir.path(), &["demo"]), 0);
    let project = dir.path().join("cairn-demo.cairn");
    (dir, project)
}

fn export(project: &Path, plugin: &str, options: &[&str], out: &Path) -> std::process::Output {
    let mut args = vec!["export", path_str(project), "--with", plugin, "--out", path_str(out)];
    for o in options {
        args.extend(["--option", o]);
    }
    cairn(&args)
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The top-level keys of each line, in the order written (a `Value` would sort them).
fn key_orders(path: &Path) -> Vec<Vec<String>> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(Visit)
        }
    }
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str::<Keys>(l).unwrap().0).collect()
}

/// The demo's own annotations, as shipped in assets/.
fn demo_annotations() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/annotations.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Pairs a preference exporter writes by default: a/b verdicts, and every better-worse pair of a ranking.
fn expected_pairs() -> usize {
    demo_annotations()
        .iter()
        .map(|a| match a["payload"]["kind"].as_str().unwrap() {
            "verdict" => usize::from(matches!(a["payload"]["winner"].as_str(), Some("a" | "b"))),
            "ranking" => {
                let sizes: Vec<usize> = a["payload"]["tiers"].as_array().unwrap().iter().map(|t| t.as_array().unwrap().len()).collect();
                (0..sizes.len()).map(|i| sizes[i] * sizes[i + 1..].iter().sum::<usize>()).sum()
            }
            _ => 0,
        })
        .sum()
}

fn content(message: &Value) -> &str {
    message["content"].as_str().unwrap()
}

#[test]
fn plugin_list_shows_every_bundled_plugin() {
    let out = cairn(&["plugin", "list", "--json"]);
    expect_code(&out, 0);
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in BUNDLED {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(rows.iter().all(|r| r["source"] == "bundled" && r["version"] == "1.0.0"), "{rows:?}");
    let text = stdout(&cairn(&["plugin", "list"]));
    assert!(text.contains("trl-preference") && text.contains("exporter") && text.contains("bundled"), "{text}");
}

#[test]
fn demo_preference_exports_follow_the_conventions() {
    let (dir, project) = demo();
    let pairs = expected_pairs();
    assert!(pairs > 20, "the demo should hold enough preferences, found {pairs}");

    // TRL, conversational with an explicit prompt (the default): chosen/rejected are the final turn only.
    let trl = dir.path().join("trl");
    expect_code(&export(&project, "trl-preference", &[], &trl), 0);
    let rows = json_lines(&trl.join("preference.jsonl"));
    assert_eq!(rows.len(), pairs);
    assert!(key_orders(&trl.join("preference.jsonl")).iter().all(|k| k == &["prompt", "chosen", "rejected"]));
    for row in &rows {
        let prompt = row["prompt"].as_array().unwrap();
        assert_eq!(prompt.last().unwrap()["role"], "user");
        for side in ["chosen", "rejected"] {
            let turn = row[side].as_array().unwrap();
            assert_eq!(turn.len(), 1, "{side} must hold only the final assistant turn");
            assert_eq!(turn[0]["role"], "assistant");
        }
        assert_ne!(content(&row["chosen"][0]), content(&row["rejected"][0]));
    }

    // TRL standard: text, and prompt + completion reads as one HH-style transcript.
    let standard = dir.path().join("trl-standard");
    expect_code(&export(&project, "trl-preference", &["format=standard", "margin=strength"], &standard), 0);
    let rows = json_lines(&standard.join("preference.jsonl"));
    assert_eq!(rows.len(), pairs);
    for row in &rows {
        let prompt = row["prompt"].as_str().unwrap();
        assert!(prompt.starts_with("\n\nHuman: ") || !prompt.starts_with("\n\n"), "{prompt:?}");
        assert!(prompt.ends_with("\n\nAssistant:"), "{prompt:?}");
        assert!(row["chosen"].as_str().unwrap().starts_with(' '));
    }
    assert!(rows.iter().any(|r| r["margin"].is_number()), "strengths become margins");

    // TRL implicit prompt: whole conversations, no prompt column.
    let implicit = dir.path().join("trl-implicit");
    expect_code(&export(&project, "trl-preference", &["prompt=implicit"], &implicit), 0);
    for row in json_lines(&implicit.join("preference.jsonl")) {
        assert!(row.get("prompt").is_none());
        assert!(row["chosen"].as_array().unwrap().len() >= 2);
    }

    // KTO: unpaired rows with a label.
    let kto = dir.path().join("kto");
    expect_code(&export(&project, "trl-preference", &["pairing=unpaired"], &kto), 0);
    let rows = json_lines(&kto.join("preference.jsonl"));
    assert!(rows.iter().any(|r| r["label"] == true) && rows.iter().any(|r| r["label"] == false));

    // Ties written both ways add two rows per tie and both-bad verdict.
    let ties = demo_annotations().iter().filter(|a| matches!(a["payload"]["winner"].as_str(), Some("tie" | "both_bad"))).count();
    let both = dir.path().join("trl-ties");
    expect_code(&export(&project, "trl-preference", &["ties=both-ways"], &both), 0);
    assert_eq!(json_lines(&both.join("preference.jsonl")).len(), pairs + 2 * ties);

    // OpenAI preference fine-tuning.
    let dpo = dir.path().join("dpo");
    expect_code(&export(&project, "openai-dpo", &[], &dpo), 0);
    let rows = json_lines(&dpo.join("preference.jsonl"));
    assert_eq!(rows.len(), pairs);
    for row in &rows {
        assert!(row["input"]["messages"].as_array().unwrap().iter().any(|m| m["role"] == "user"));
        for side in ["preferred_output", "non_preferred_output"] {
            assert_eq!(row[side].as_array().unwrap().len(), 1);
            assert_eq!(row[side][0]["role"], "assistant");
        }
    }

    // HH-RLHF: both sides share the prompt up to the last "\n\nAssistant:".
    let hh = dir.path().join("hh");
    expect_code(&export(&project, "hh-rlhf", &[], &hh), 0);
    let rows = json_lines(&hh.join("hh-rlhf.jsonl"));
    assert_eq!(rows.len(), pairs);
    for row in &rows {
        let (chosen, rejected) = (row["chosen"].as_str().unwrap(), row["rejected"].as_str().unwrap());
        assert!(chosen.starts_with("\n\nHuman: ") || chosen.contains("\n\nHuman: "));
        let cut = |s: &str| s[..s.rfind("\n\nAssistant:").unwrap()].to_string();
        assert_eq!(cut(chosen), cut(rejected));
    }

    // Arena battles: every verdict, ties and both-bad kept, with the four winner values.
    let arena = dir.path().join("arena");
    expect_code(&export(&project, "arena-battles", &[], &arena), 0);
    let rows = json_lines(&arena.join("battles.jsonl"));
    let verdicts = demo_annotations().iter().filter(|a| a["payload"]["kind"] == "verdict").count();
    assert_eq!(rows.len(), verdicts);
    let arena_keys = ["question_id", "model_a", "model_b", "winner", "judge", "conversation_a", "conversation_b", "turn", "tstamp"];
    assert!(key_orders(&arena.join("battles.jsonl")).iter().all(|k| k == &arena_keys));
    for row in &rows {
        assert!(["model_a", "model_b", "tie", "tie (bothbad)"].contains(&row["winner"].as_str().unwrap()));
        assert!(["ana", "ben"].contains(&row["judge"].as_str().unwrap()));
        let conversation = row["conversation_a"].as_array().unwrap();
        assert_eq!(conversation.last().unwrap()["role"], "assistant");
        let users = conversation.iter().filter(|m| m["role"] == "user").count();
        assert_eq!(row["turn"].as_u64().unwrap() as usize, users);
        assert!(row["tstamp"].as_f64().unwrap() > 1.7e9);
    }
    assert!(rows.iter().any(|r| r["winner"] == "tie (bothbad)") || ties == 0 || rows.iter().any(|r| r["winner"] == "tie"));
}

#[test]
fn demo_cuboid_exports_follow_the_conventions() {
    let (dir, project) = demo();
    let boxes: Vec<Value> = demo_annotations().into_iter().filter(|a| a["payload"]["kind"] == "cuboid").map(|a| a["payload"].clone()).collect();
    assert!(boxes.len() >= 2, "the demo scan carries boxes");

    // KITTI label_2: 15 fields; h w l; bottom centre in camera axes (x right, y down, z forward).
    let kitti = dir.path().join("kitti");
    expect_code(&export(&project, "kitti-label", &[], &kitti), 0);
    let text = std::fs::read_to_string(kitti.join("label_2/000000.txt")).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), boxes.len());
    for (fields, b) in lines.iter().zip(&boxes) {
        assert_eq!(fields.len(), 15, "{fields:?}");
        let num = |i: usize| fields[i].parse::<f64>().unwrap();
        let [cx, cy, cz] = [0, 1, 2].map(|i| b["center"][i].as_f64().unwrap());
        let [l, w, h] = [0, 1, 2].map(|i| b["size"][i].as_f64().unwrap());
        let yaw = b["yaw"].as_f64().unwrap();
        assert!((num(8) - h).abs() < 0.006 && (num(9) - w).abs() < 0.006 && (num(10) - l).abs() < 0.006, "h w l order: {fields:?}");
        assert!((num(11) + cy).abs() < 0.006, "x_cam = -y_lidar: {fields:?}");
        assert!((num(12) + (cz - h / 2.0)).abs() < 0.006, "y_cam = -(bottom z): {fields:?}");
        assert!((num(13) - cx).abs() < 0.006, "z_cam = x_lidar: {fields:?}");
        let mut ry = -(yaw + std::f64::consts::FRAC_PI_2);
        while ry < -std::f64::consts::PI {
            ry += std::f64::consts::TAU;
        }
        assert!((num(14) - ry).abs() < 0.006, "rotation_y = -(yaw + pi/2): {fields:?}");
    }

    // OpenLABEL 1.0.0: cuboid val = x y z qx qy qz qw sx sy sz, coordinates kept to the bit.
    let openlabel = dir.path().join("openlabel");
    expect_code(&export(&project, "openlabel", &[], &openlabel), 0);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(openlabel.join("openlabel.json")).unwrap()).unwrap();
    let root = &doc["openlabel"];
    assert_eq!(root["metadata"]["schema_version"], "1.0.0");
    let objects = root["frames"]["0"]["objects"].as_object().unwrap();
    let mut vals: Vec<Vec<f64>> = objects
        .values()
        .flat_map(|o| {
            o["object_data"]["cuboid"].as_array().unwrap().iter().map(|c| c["val"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
        })
        .collect();
    assert_eq!(vals.len(), boxes.len());
    vals.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut expected = boxes.clone();
    expected.sort_by(|a, b| a["center"][0].as_f64().unwrap().total_cmp(&b["center"][0].as_f64().unwrap()));
    for (val, b) in vals.iter().zip(&expected) {
        assert_eq!(val.len(), 10);
        for i in 0..3 {
            assert_eq!(val[i], b["center"][i].as_f64().unwrap(), "centre kept exactly");
            assert_eq!(val[7 + i], b["size"][i].as_f64().unwrap(), "sizes l, w, h");
        }
        let yaw = b["yaw"].as_f64().unwrap();
        assert!((val[5] - (yaw / 2.0).sin()).abs() < 1e-9 && (val[6] - (yaw / 2.0).cos()).abs() < 1e-9, "quaternion x, y, z, w: {val:?}");
        assert_eq!([val[3], val[4]], [0.0, 0.0]);
    }
    for object in root["objects"].as_object().unwrap().values() {
        assert!(object["name"].is_string() && object["type"].is_string());
        assert_eq!(object["frame_intervals"][0]["frame_start"], 0);
    }
}

/// Lines as Anthropic's files have them (Python's json.dumps: ", " and ": ", non-ASCII escaped).
const HH_LINES: &[&str] = &[
    r#"{"chosen": "\n\nHuman: What is a LiDAR return?\n\nAssistant: A reflection of one laser pulse.", "rejected": "\n\nHuman: What is a LiDAR return?\n\nAssistant: A kind of radar."}"#,
    r#"{"chosen": "\n\nHuman: Caf\u00e9 or tea? \ud83d\ude00\n\nAssistant: Tea \u2014 \"always\".\n\nHuman: Why?\n\nAssistant: It keeps\tbetter.", "rejected": "\n\nHuman: Caf\u00e9 or tea? \ud83d\ude00\n\nAssistant: Tea \u2014 \"always\".\n\nHuman: Why?\n\nAssistant:No reason \\ at all."}"#,
    r#"{"chosen": "Preamble line\n\nHuman:no space\n\nAssistant: y", "rejected": "Preamble line\n\nHuman:no space\n\nAssistant: z"}"#,
    r#"{"chosen": "\n\nHuman: Empty reply next\n\nAssistant: Here it is.", "rejected": "\n\nHuman: Empty reply next\n\nAssistant:"}"#,
];

#[test]
fn hh_rlhf_round_trip_is_byte_for_byte_and_trl_prompt_plus_chosen_is_the_original() {
    let (dir, project) = new_project();
    let input = dir.path().join("hh.jsonl");
    let text = HH_LINES.join("\n") + "\n";
    std::fs::write(&input, &text).unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&input), "--format", "hh-rlhf"]), 0);

    let hh = dir.path().join("hh-out");
    expect_code(&export(&project, "hh-rlhf", &[], &hh), 0);
    assert_eq!(std::fs::read_to_string(hh.join("hh-rlhf.jsonl")).unwrap(), text, "HH-RLHF written back byte for byte");

    let trl = dir.path().join("trl-out");
    expect_code(&export(&project, "trl-preference", &["format=standard"], &trl), 0);
    let rows = json_lines(&trl.join("preference.jsonl"));
    assert_eq!(rows.len(), HH_LINES.len());
    for (row, line) in rows.iter().zip(HH_LINES) {
        let original: Value = serde_json::from_str(line).unwrap();
        let joined = format!("{}{}", row["prompt"].as_str().unwrap(), row["chosen"].as_str().unwrap());
        assert_eq!(joined, original["chosen"].as_str().unwrap());
        let joined = format!("{}{}", row["prompt"].as_str().unwrap(), row["rejected"].as_str().unwrap());
        assert_eq!(joined, original["rejected"].as_str().unwrap());
    }
}

/// A file shaped like the public `harmless-base` release: raw UTF-8, `", "` separators, and pairs whose
/// transcripts differ before the last turn. Every pair imports; HH-RLHF comes back byte for byte; TRL
/// and OpenAI DPO put the shared turns in the prompt and each side's own turns before its reply.
#[test]
fn a_release_shaped_hh_rlhf_file_imports_whole_and_comes_back_byte_for_byte() {
    let (dir, project) = new_project();
    let input = dir.path().join("harmless-base-test.jsonl");
    let mut text = Vec::new();
    cairn_import::sample::write_hh_rlhf(&mut text, 2312, 2312).unwrap();
    let text = String::from_utf8(text).unwrap();
    std::fs::write(&input, &text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let raw_utf8 = lines.iter().filter(|l| !l.is_ascii()).count();
    let split = |s: &str| s[..s.rfind("\n\nAssistant:").unwrap()].to_string();
    let originals: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let diverging: Vec<usize> = (0..originals.len())
        .filter(|&i| split(originals[i]["chosen"].as_str().unwrap()) != split(originals[i]["rejected"].as_str().unwrap()))
        .collect();
    assert!(raw_utf8 > 1500 && diverging.len() == 5, "{raw_utf8} raw UTF-8 lines, {} diverging", diverging.len());

    let out = cairn(&["import", path_str(&project), path_str(&input), "--json"]);
    expect_code(&out, 0);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((report["format"].as_str(), report["added"].as_u64()), (Some("hh-rlhf"), Some(2312)), "{report}");
    assert_eq!(report["skipped"], serde_json::json!([]));

    let hh = dir.path().join("hh-out");
    expect_code(&export(&project, "hh-rlhf", &[], &hh), 0);
    let back = std::fs::read_to_string(hh.join("hh-rlhf.jsonl")).unwrap();
    let same = back.lines().zip(&lines).filter(|(a, b)| a == *b).count();
    assert_eq!((back.lines().count(), same), (2312, 2312), "lines written back, and of those byte-identical");
    assert_eq!(back, text);
    // The escaped style stays an option.
    let escaped = dir.path().join("hh-ascii");
    expect_code(&export(&project, "hh-rlhf", &["ascii=true"], &escaped), 0);
    let escaped = std::fs::read_to_string(escaped.join("hh-rlhf.jsonl")).unwrap();
    assert!(escaped.is_ascii() && escaped.contains("\\u2019"));
    assert_eq!(json_lines(&hh.join("hh-rlhf.jsonl")), escaped.lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<Value>>());

    let trl = dir.path().join("trl");
    expect_code(&export(&project, "trl-preference", &[], &trl), 0);
    let dpo = dir.path().join("dpo");
    expect_code(&export(&project, "openai-dpo", &[], &dpo), 0);
    let trl_text = dir.path().join("trl-text");
    expect_code(&export(&project, "trl-preference", &["format=standard"], &trl_text), 0);
    let (trl, dpo, trl_text) =
        (json_lines(&trl.join("preference.jsonl")), json_lines(&dpo.join("preference.jsonl")), json_lines(&trl_text.join("preference.jsonl")));
    assert_eq!((trl.len(), dpo.len(), trl_text.len()), (2312, 2312, 2312));
    for &i in &diverging {
        let row = &trl[i];
        // Conversational: the prompt is what both conversations share, TRL's longest shared prefix.
        let prompt = row["prompt"].as_array().unwrap();
        let (chosen, rejected) = (row["chosen"].as_array().unwrap(), row["rejected"].as_array().unwrap());
        assert!(chosen[0] != rejected[0], "row {i}: the sides differ right after the prompt");
        assert!(chosen.len() > 1 || rejected.len() > 1, "row {i}: a side carries its own earlier turns");
        for side in [chosen, rejected] {
            assert_eq!(side.last().unwrap()["role"], "assistant");
        }
        assert_eq!(dpo[i]["input"]["messages"].as_array().unwrap(), prompt, "row {i}");
        assert_eq!(dpo[i]["preferred_output"].as_array().unwrap(), chosen, "row {i}");
        assert_eq!(dpo[i]["non_preferred_output"].as_array().unwrap(), rejected, "row {i}");
    }
    for (i, (row, original)) in trl_text.iter().zip(&originals).enumerate() {
        // Standard (text): prompt + completion is each original transcript, for every row.
        for side in ["chosen", "rejected"] {
            let joined = format!("{}{}", row["prompt"].as_str().unwrap(), row[side].as_str().unwrap());
            assert_eq!(joined, original[side].as_str().unwrap(), "row {i} {side}");
        }
    }
    expect_code(&cairn(&["check", path_str(&project)]), 0);
}

fn project_bytes(project: &Path) -> Vec<u8> {
    std::fs::read(project).unwrap()
}

#[test]
fn a_misbehaving_plugin_leaves_the_project_and_the_destination_untouched() {
    let (dir, project) = demo();
    install_testing_plugin(dir.path(), "hostile-exporter");
    let list = stdout(&cairn(&["plugin", "list", "--project", path_str(&project)]));
    assert!(list.contains("hostile-exporter") && list.contains("project ("), "{list}");

    let before = project_bytes(&project);
    let out = dir.path().join("out");
    for (behaviour, words) in [("panic", "panicked on purpose"), ("dotdot", "'..' would leave the destination"), ("memory", "memory")] {
        let run = export(&project, "hostile-exporter", &[&format!("behaviour={behaviour}")], &out);
        expect_code(&run, 5);
        assert!(stderr(&run).contains("plugin hostile-exporter (run)") && stderr(&run).contains(words), "{}", stderr(&run));
        assert_eq!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0), 0, "{behaviour}: files left behind");
    }
    assert_eq!(project_bytes(&project), before, "the project file changed");
    expect_code(&cairn(&["check", path_str(&project)]), 0);
    // A good plugin still exports from the same project.
    expect_code(&export(&project, "trl-preference", &[], &out), 0);
}

#[test]
fn a_scaffolded_plugin_builds_passes_check_and_runs_in_an_export() {
    let (dir, project) = demo();
    let target = Path::new(cairn_bundled_plugins::WASM_TARGET_DIR);
    for (name, kind) in [("item-counter", "exporter"), ("my-boxes", "task")] {
        let made = cairn(&["plugin", "new", name, "--kind", kind, "--dir", path_str(dir.path())]);
        expect_code(&made, 0);
        let crate_dir = dir.path().join(name);
        // Offline: the SDK's dependencies are already in the local registry from building the bundled plugins.
        let build = std::process::Command::new(env!("CARGO"))
            .args(["build", "--release", "--offline", "--target", "wasm32-wasip2"])
            .env("CARGO_TARGET_DIR", target)
            .current_dir(&crate_dir)
            .output()
            .unwrap();
        assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
        let wasm = target.join(format!("wasm32-wasip2/release/{}.wasm", name.replace('-', "_")));
        let manifest = crate_dir.join("plugin.toml");
        let check = cairn(&["plugin", "check", path_str(&wasm), "--manifest", path_str(&manifest)]);
        expect_code(&check, 0);
        assert!(stdout(&check).contains(&format!("{kind} {name}")) && stdout(&check).ends_with("ok\n"), "{}", stdout(&check));
        let installed = dir.path().join("cairn-plugins").join(name);
        std::fs::create_dir_all(&installed).unwrap();
        std::fs::copy(&manifest, installed.join("plugin.toml")).unwrap();
        std::fs::copy(&wasm, installed.join("plugin.wasm")).unwrap();
    }
    let out = dir.path().join("counted");
    expect_code(&export(&project, "item-counter", &[], &out), 0);
    let rows = json_lines(&out.join("items.jsonl"));
    assert_eq!(rows.len(), 37, "36 comparisons and one scan frame");
    assert!(rows.iter().any(|r| r["annotations"].as_u64().unwrap() >= 2));
}
