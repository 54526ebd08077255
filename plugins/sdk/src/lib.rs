//! Write Cairn plugins in plain Rust.
//!
//! A plugin is one crate built for `wasm32-wasip2`. It implements [`Task`] or [`Exporter`] and names
//! its type with [`export_task!`] or [`export_exporter!`]; the SDK does the WebAssembly plumbing.
//! Enable the SDK feature that matches the plugin's kind (`task` or `exporter`).
//!
//! ```ignore
//! use cairn_plugin_sdk::prelude::*;
//!
//! struct Lines;
//!
//! impl Exporter for Lines {
//!     fn describe() -> ExporterInfo {
//!         ExporterInfo::new("lines", "One line per item", &["verdict"])
//!     }
//!
//!     fn run(_options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
//!         out.create("items.txt")?;
//!         let mut summary = Summary::default();
//!         for record in records {
//!             writeln!(out, "{}", record?.key).map_err(|e| e.to_string())?;
//!             summary.written += 1;
//!         }
//!         Ok(summary)
//!     }
//! }
//!
//! export_exporter!(Lines);
//! ```

#[cfg(all(feature = "task", feature = "exporter"))]
compile_error!(
    "a plugin is either a task or an exporter: enable only one of the SDK's `task` and `exporter` features \
     (build task and exporter crates in separate cargo invocations, so features are not merged)"
);

pub use cairn_model as model;

pub mod frames;
mod info;
pub mod preference;
pub use info::*;

#[cfg(feature = "exporter")]
mod exporter;
#[cfg(feature = "exporter")]
pub use exporter::*;

#[cfg(feature = "task")]
mod task;
#[cfg(feature = "task")]
pub use task::*;

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::info::*;
    pub use crate::log;
    pub use crate::model::*;
    #[cfg(feature = "task")]
    pub use crate::{CloudChunk, Subject, Task, export_task};
    #[cfg(feature = "exporter")]
    pub use crate::{Exporter, Output, Records, export_exporter, run_in_memory};
    pub use std::io::Write as _;
}

/// Generated bindings; plugins use the plain types above instead.
#[cfg(feature = "task")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "task-plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_task_plugin",
        default_bindings_module: "cairn_plugin_sdk::bindings",
    });
}

/// Generated bindings; plugins use the plain types above instead.
#[cfg(feature = "exporter")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "exporter-plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_exporter_plugin",
        default_bindings_module: "cairn_plugin_sdk::bindings",
    });
}

/// Messages for the host's log (also where a plugin's stdout and stderr end up, capped).
#[cfg(any(feature = "task", feature = "exporter"))]
pub mod log {
    use crate::bindings::cairn::plugin::host::{self, LogLevel};

    pub fn debug(message: &str) {
        host::log(LogLevel::Debug, message);
    }
    pub fn info(message: &str) {
        host::log(LogLevel::Info, message);
    }
    pub fn warn(message: &str) {
        host::log(LogLevel::Warn, message);
    }
    pub fn error(message: &str) {
        host::log(LogLevel::Error, message);
    }
}
