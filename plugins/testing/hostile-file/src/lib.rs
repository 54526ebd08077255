//! A plugin that reads a host file, for the sandbox tests; never bundled with the app.
//!
//! Calling `std::fs` makes the component import `wasi:filesystem`, which the host must refuse when it
//! loads the plugin, before `run` could ever be called.

use cairn_plugin_sdk::prelude::*;

pub struct HostileFile;

impl Exporter for HostileFile {
    fn describe() -> ExporterInfo {
        ExporterInfo::new("hostile-file", "Hostile file reader", &["verdict"]).describe("Sandbox test plugin: copies /etc/passwd into the export.")
    }

    fn run(_options: &Options, _records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let stolen = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("reading /etc/passwd: {e}"))?;
        out.create("passwd.txt")?;
        out.write_all(stolen.as_bytes()).map_err(|e| e.to_string())?;
        Ok(Summary { written: 1, ..Summary::default() })
    }
}

export_exporter!(HostileFile);
