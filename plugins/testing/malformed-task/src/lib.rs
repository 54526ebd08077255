//! A task whose answers are malformed, for the host's tests; never bundled with the app.
//!
//! `describe` is valid: one class, `car`, with a default size. `prelabel` proposes a box with NaN sizes
//! (the SDK writes NaN as JSON `null`, as any serde plugin would) and a box of the undeclared class
//! `spaceship`; on odd frames the spaceship comes first. `validate` reports a finding about subject 4,000,000,000, which no batch holds. The
//! host must reject all of these rather than store or show them.
//!
//! `validate` bypasses the SDK's [`Task`] adapter, which maps each finding back to its subject and would
//! trap on an index that does not exist; the point here is to hand that index to the host. `describe`
//! and `prelabel` still go through the adapter so they are exactly what an SDK plugin sends.

use cairn_plugin_sdk::TaskAdapter;
use cairn_plugin_sdk::bindings::cairn::plugin::types::{Finding as WitFinding, Severity as WitSeverity};
use cairn_plugin_sdk::bindings::exports::cairn::plugin::task::{CloudChunk as WitChunk, Guest, Subject as WitSubject, TaskInfo as WitInfo};
use cairn_plugin_sdk::prelude::*;

/// The task as the SDK sees it: a valid schema and bad proposals.
pub struct MalformedTask;

/// A subject index far past any batch the host sends (still a valid u32).
pub const BOGUS_SUBJECT: u32 = 4_000_000_000;

impl Task for MalformedTask {
    fn describe() -> TaskInfo {
        let mut info = TaskInfo::new("malformed-task", "Malformed task", Modality::PointCloud, &["cuboid"]);
        info.classes.push(LabelClass {
            id: "car".into(),
            name: "Car".into(),
            color: 0x1F77B4,
            hotkey: Some("1".into()),
            default_size: Some([4.5, 1.9, 1.6]),
        });
        info.guidelines = "Sandbox test plugin: its proposals and findings are malformed on purpose.".into();
        info.tools = vec!["cuboid".into()];
        info
    }

    /// Never called: the raw `validate` below replaces it.
    fn validate(_item: &ItemData, _subjects: &[Subject], _options: &Options) -> Vec<(usize, Finding)> {
        Vec::new()
    }

    /// Both bad boxes, every time. A host stops at the first bad proposal, so the frame index picks
    /// which comes first: even frames lead with the NaN box, odd frames with the spaceship.
    fn prelabel(item: &ItemData, _points: Option<&CloudChunk>, _options: &Options) -> Result<Vec<Payload>, String> {
        let cuboid = |class: &str, size: [f64; 3]| {
            Payload::Cuboid(Cuboid {
                center: [10.0, 0.0, 0.8],
                size,
                yaw: 0.0,
                pitch: 0.0,
                roll: 0.0,
                class: class.into(),
                attributes: Default::default(),
                track_id: None,
            })
        };
        let mut proposals = vec![cuboid("car", [f64::NAN, f64::NAN, f64::NAN]), cuboid("spaceship", [4.5, 1.9, 1.6])];
        if matches!(item, ItemData::Frame(f) if f.index % 2 == 1) {
            proposals.reverse();
        }
        Ok(proposals)
    }
}

/// The exported component: the SDK adapter for `describe` and `prelabel`, raw bindings for `validate`.
pub struct Malformed;

impl Guest for Malformed {
    fn describe() -> WitInfo {
        <TaskAdapter<MalformedTask> as Guest>::describe()
    }

    fn validate(_item: String, _subjects: Vec<WitSubject>, _options: Vec<(String, String)>) -> Vec<(u32, WitFinding)> {
        let finding =
            WitFinding { severity: WitSeverity::Error, field: "size".into(), message: "a finding about a subject that was never sent".into() };
        vec![(BOGUS_SUBJECT, finding)]
    }

    fn prelabel(item: String, points: Option<WitChunk>, options: Vec<(String, String)>) -> Result<Vec<String>, String> {
        <TaskAdapter<MalformedTask> as Guest>::prelabel(item, points, options)
    }
}

cairn_plugin_sdk::bindings::__export_task_plugin!(Malformed with_types_in cairn_plugin_sdk::bindings);
