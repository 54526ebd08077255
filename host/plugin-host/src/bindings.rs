//! Host bindings generated from `wit/plugin.wit`, one module per world. The exporter world reuses the
//! task world's `host` and `types` interfaces so both worlds share one implementation of them.

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
            "cairn:plugin/export-io.dataset": crate::exporter::DatasetHandle,
            "cairn:plugin/export-io.output": crate::exporter::OutputHandle,
        },
    });
}
