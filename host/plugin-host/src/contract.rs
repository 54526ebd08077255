//! The `cairn:plugin` contract's versions, and the JSON each version carries.
//!
//! Items, records and payloads cross to plugins as JSON in `cairn-model`'s serde shape, and a plugin
//! reads them with the copy of the model it was compiled with, which refuses fields it does not know.
//! So that shape is frozen per contract version: a field the model gains raises the contract's minor
//! version and is listed in [`ADDED`], and a plugin built for an earlier minor is handed each
//! document with the fields of later versions taken out. A plugin's version is the one in the names
//! of the interfaces it exports (`cairn:plugin/exporter@1.0.0`), which the SDK it was built with put
//! there; its manifest's `api` is a statement, the component is the fact.

use serde_json::Value;
use std::fmt;

/// The contract version this host implements (`wit/plugin.wit`).
pub const API_VERSION: &str = "1.1.0";

/// A contract version. Patch releases never change what crosses, so only major and minor count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContractVersion {
    pub major: u64,
    pub minor: u64,
}

const V1_1: ContractVersion = ContractVersion { major: 1, minor: 1 };

impl ContractVersion {
    /// What this host implements ([`API_VERSION`]).
    pub const CURRENT: ContractVersion = V1_1;

    /// `"1.1.0"`, `"1.1"`, or `"1"` for 1.0.
    pub fn parse(text: &str) -> Option<ContractVersion> {
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        Some(ContractVersion { major, minor })
    }

    /// The version in an interface name such as `cairn:plugin/exporter@1.0.0`.
    pub fn of_interface(name: &str) -> Option<ContractVersion> {
        ContractVersion::parse(name.rsplit_once('@')?.1)
    }

    /// This host serves plugins of its own major version and no newer minor.
    pub fn is_served(self) -> bool {
        self.major == Self::CURRENT.major && self.minor <= Self::CURRENT.minor
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Refuses a version this host cannot serve, naming it as it was written.
pub(crate) fn check_served(version: &str) -> Result<ContractVersion, String> {
    match ContractVersion::parse(version) {
        Some(v) if v.is_served() => Ok(v),
        Some(_) => Err(format!("needs cairn:plugin {version}; this host provides {API_VERSION}")),
        None => Err(format!("{version:?} is not a version like \"{API_VERSION}\"")),
    }
}

/// The payload kinds a plugin may name in `produces` and `accepts`.
const PAYLOAD_KINDS: &[&str] = &["cuboid", "verdict", "ranking", "rating", "text"];

/// Refuses a payload kind the contract does not name.
pub(crate) fn check_payload_kinds(kinds: &[String]) -> Result<(), String> {
    match kinds.iter().find(|k| !PAYLOAD_KINDS.contains(&k.as_str())) {
        Some(kind) => Err(format!("unknown payload kind {kind:?} (known: {})", PAYLOAD_KINDS.join(", "))),
        None => Ok(()),
    }
}

/// A field the model gained after the contract's first version: the version it arrived with, where it
/// sits in an export record (`*` is every element of an array), and what it holds, for the note
/// an export's user gets when a plugin could not be handed it.
struct Added {
    since: ContractVersion,
    path: &'static [&'static str],
    what: &'static str,
}

/// Every field added since 1.0, oldest first. A new model field that plugins can receive goes here,
/// with a new minor version in `wit/plugin.wit` and [`API_VERSION`].
const ADDED: &[Added] = &[Added {
    since: V1_1,
    path: &["item", "responses", "*", "own_messages"],
    what: "per-response turns of comparisons whose conversations differ before the last turn",
}];

/// Which document crosses: a whole export record, or one of its parts on its own (task calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Record,
    Item,
    Payload,
}

impl Part {
    /// Where this part sits in a record.
    fn within_record(self) -> &'static [&'static str] {
        match self {
            Part::Record => &[],
            Part::Item => &["item"],
            Part::Payload => &["annotations", "*", "payload"],
        }
    }
}

/// The JSON shape of one contract version: turns current documents into what a plugin built for
/// that version reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataShape {
    version: ContractVersion,
}

impl DataShape {
    pub fn of(version: ContractVersion) -> DataShape {
        DataShape { version }
    }

    /// The fields this version lacks, with their paths inside `part`.
    fn missing(self, part: Part) -> impl Iterator<Item = (&'static Added, &'static [&'static str])> {
        let prefix = part.within_record();
        ADDED.iter().filter(move |a| a.since > self.version).filter_map(move |a| Some((a, a.path.strip_prefix(prefix)?)))
    }

    /// `json` as this version has it, and whether anything was taken out. Documents that hold none of
    /// the newer fields are passed on as they are, byte for byte.
    pub fn project(self, part: Part, json: String) -> (String, bool) {
        // Most documents hold none of the newer fields; finding a field's quoted name is far cheaper
        // than parsing, and a false hit only costs the parse.
        let missing: Vec<&[&str]> = self.missing(part).map(|(_, path)| path).collect();
        let named = |path: &&[&str]| path.last().is_some_and(|field| json.contains(&format!("\"{field}\"")));
        if !missing.iter().any(named) {
            return (json, false);
        }
        // What does not parse is the plugin's to report, as it would have been.
        let Ok(mut value) = serde_json::from_str::<Value>(&json) else { return (json, false) };
        let removed = missing.iter().fold(false, |removed, path| remove_at(&mut value, path) | removed);
        if removed { (value.to_string(), true) } else { (json, false) }
    }

    /// What a user is told when some records lost fields this version does not have.
    pub fn note(self, records: u64) -> String {
        let what: Vec<&str> = self.missing(Part::Record).map(|(a, _)| a.what).collect();
        format!(
            "{records} record(s) held data that plugins built for cairn:plugin {} cannot read ({}); it was left out of what this \
             plugin saw. Rebuilt against cairn:plugin {}, it would see it",
            self.version,
            what.join("; "),
            ContractVersion::CURRENT
        )
    }
}

/// Removes the field at `path` (its last step) wherever the path leads; true if one was there.
fn remove_at(value: &mut Value, path: &[&str]) -> bool {
    match (path, value) {
        ([field], Value::Object(map)) => map.remove(*field).is_some(),
        (["*", rest @ ..], Value::Array(items)) => items.iter_mut().fold(false, |removed, item| remove_at(item, rest) | removed),
        ([step, rest @ ..], Value::Object(map)) => map.get_mut(*step).is_some_and(|inner| remove_at(inner, rest)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{Comparison, ExportRecord, ItemData, Message, Response, Role};

    const V1_0: ContractVersion = ContractVersion { major: 1, minor: 0 };

    fn record(own: bool) -> String {
        let mut responses = vec![Response::new(Some("m"), "a"), Response::new(None, "b")];
        if own {
            responses[1].own_messages = vec![Message::text(Role::User, "again?"), Message::text(Role::Assistant, "sure")];
        }
        let item = ItemData::Comparison(Comparison {
            messages: vec![Message::text(Role::User, "q")],
            responses,
            metadata: serde_json::json!({"z": 1, "a": 2}),
        });
        serde_json::to_string(&ExportRecord { key: "k".into(), dataset: "d".into(), item, annotations: vec![] }).unwrap()
    }

    #[test]
    fn the_constant_the_wit_package_and_the_current_version_agree() {
        assert_eq!(ContractVersion::parse(API_VERSION), Some(ContractVersion::CURRENT));
        let wit = include_str!("../../../wit/plugin.wit");
        assert!(wit.starts_with(&format!("package cairn:plugin@{API_VERSION};")), "wit/plugin.wit names another version");
        assert!(ADDED.iter().all(|a| a.since <= ContractVersion::CURRENT && a.since > V1_0));
    }

    #[test]
    fn versions_are_read_from_interface_names_and_served_within_the_major() {
        assert_eq!(ContractVersion::of_interface("cairn:plugin/exporter@1.0.0"), Some(V1_0));
        assert_eq!(ContractVersion::of_interface("cairn:plugin/exporter"), None);
        assert!(V1_0.is_served() && V1_1.is_served());
        assert!(!ContractVersion { major: 1, minor: 7 }.is_served());
        assert!(!ContractVersion { major: 2, minor: 0 }.is_served());
        assert_eq!(ContractVersion::parse("1"), Some(V1_0));
        assert_eq!(ContractVersion::parse("1.x"), None);
        assert_eq!(check_served("1.0.0"), Ok(V1_0));
        assert_eq!(check_served("2.0.0").unwrap_err(), "needs cairn:plugin 2.0.0; this host provides 1.1.0");
        assert_eq!(check_served("one").unwrap_err(), "\"one\" is not a version like \"1.1.0\"");
    }

    #[test]
    fn the_payload_kinds_are_the_model_s() {
        assert!(PAYLOAD_KINDS.iter().all(|k| cairn_model::PayloadKind::parse(k).is_some_and(|kind| kind.as_str() == *k)));
        assert!(check_payload_kinds(&["verdict".into(), "ranking".into()]).is_ok());
        let err = check_payload_kinds(&["cuboid".into(), "polygon".into()]).unwrap_err();
        assert_eq!(err, "unknown payload kind \"polygon\" (known: cuboid, verdict, ranking, rating, text)");
    }

    #[test]
    fn a_1_0_plugin_gets_records_without_own_messages_and_others_unchanged() {
        let current = record(true);
        let (old, removed) = DataShape::of(V1_0).project(Part::Record, current.clone());
        assert!(removed);
        let value: Value = serde_json::from_str(&old).unwrap();
        assert!(value["item"]["responses"].as_array().unwrap().iter().all(|r| r.get("own_messages").is_none()), "{old}");
        assert_eq!(value["item"]["responses"][1]["content"], "b");
        assert_eq!(value["item"]["metadata"]["z"], 1);
        // What the 1.0 shape has anyway, and any record for a 1.1 plugin, passes byte for byte.
        assert_eq!(DataShape::of(V1_0).project(Part::Record, record(false)), (record(false), false));
        assert_eq!(DataShape::of(V1_1).project(Part::Record, current.clone()), (current, false));
        // A bare item (a task call) is projected the same way.
        let item = serde_json::to_string(&serde_json::from_str::<Value>(&record(true)).unwrap()["item"]).unwrap();
        let (old_item, removed) = DataShape::of(V1_0).project(Part::Item, item);
        assert!(removed && !old_item.contains("own_messages"), "{old_item}");
        // Text that only mentions the name is left alone.
        let mention = record(false).replace("\"q\"", "\"what are \\\"own_messages\\\"?\"");
        assert_eq!(DataShape::of(V1_0).project(Part::Record, mention.clone()), (mention, false));
    }

    #[test]
    fn the_note_names_what_was_left_out_and_the_version_that_has_it() {
        let note = DataShape::of(V1_0).note(2);
        assert!(note.starts_with("2 record(s) held data that plugins built for cairn:plugin 1.0 cannot read (per-response turns"), "{note}");
        assert!(note.ends_with("Rebuilt against cairn:plugin 1.1, it would see it"), "{note}");
    }
}
