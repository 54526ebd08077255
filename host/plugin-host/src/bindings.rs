//! Host bindings generated from `wit/plugin.wit`, one module per world. The exporter world reuses the
//! task world's `host` and `types` interfaces so both worlds share one implementation of them. This
//! module depends on nothing else in the crate; everything else builds on it.

/// Host-side marker types behind the `dataset` and `output` resources; the state lives in the store.
pub struct DatasetHandle;
pub struct OutputHandle;

pub mod task {
    wasmtime::component::bindgen!({
        world: "task-plugin",
        path: "../../wit",
        imports: { default: trappable },
    });
}

pub mod exporter {
    wasmtime::component::bindgen!({
        world: "exporter-plugin",
        path: "../../wit",
        imports: { default: trappable },
        with: {
            "cairn:plugin/host": super::task::cairn::plugin::host,
            "cairn:plugin/types": super::task::cairn::plugin::types,
            "cairn:plugin/export-io.dataset": super::DatasetHandle,
            "cairn:plugin/export-io.output": super::OutputHandle,
        },
    });
}
