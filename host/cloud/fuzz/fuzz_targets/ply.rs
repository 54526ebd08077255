#![no_main]
//! Any bytes given to the reader give a cloud or an error, never a panic or a huge allocation.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cairn_cloud::read_bytes(data, cairn_model::CloudFormat::Ply);
});
