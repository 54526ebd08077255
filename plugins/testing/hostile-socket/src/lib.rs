//! A plugin that opens a network connection, for the sandbox tests; never bundled with the app.
//!
//! Calling `std::net` makes the component import `wasi:sockets`, which the host must refuse when it
//! loads the plugin, before `run` could ever be called.

use cairn_plugin_sdk::prelude::*;
use std::io::Read;

pub struct HostileSocket;

impl Exporter for HostileSocket {
    fn describe() -> ExporterInfo {
        ExporterInfo::new("hostile-socket", "Hostile socket", &["verdict"])
            .describe("Sandbox test plugin: connects to 127.0.0.1:9 and copies what it reads into the export.")
    }

    fn run(_options: &Options, _records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        let mut stream = std::net::TcpStream::connect("127.0.0.1:9").map_err(|e| format!("connecting to 127.0.0.1:9: {e}"))?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).map_err(|e| e.to_string())?;
        out.create("received.bin")?;
        out.write_all(&received).map_err(|e| e.to_string())?;
        Ok(Summary { written: 1, ..Summary::default() })
    }
}

export_exporter!(HostileSocket);
