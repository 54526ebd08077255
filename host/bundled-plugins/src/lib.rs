//! The plugins inside the `cairn` binary: every crate under `plugins/tasks` and `plugins/exporters`,
//! built for wasm32-wasip2 by this crate's build script.

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

#[cfg(test)]
mod wasm_target;
#[cfg(test)]
mod wasm_target_tests;
