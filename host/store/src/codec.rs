//! How item data is kept: `ItemData` as JSON, zstd-compressed when it is long. Long LLM responses
//! compress 2–3×, which cuts what a bulk import writes (twice, in WAL mode) and the size of the
//! project file; short items stay plain JSON, where compressing costs more time than it saves.
//! Encoding is a free function so that importers can run it on their worker threads.

use cairn_model::{Comparison, ContentHash, ItemData};
use std::cell::RefCell;

/// Items whose JSON is shorter than this are stored as is.
const COMPRESS_FROM: usize = 1024;
/// Fast level: imports are bound by bytes written more than by the compression ratio.
const LEVEL: i32 = 1;

/// An item ready to store.
pub struct EncodedItem(pub(crate) Vec<u8>);

impl EncodedItem {
    /// Stored size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

pub fn encode_item(data: &ItemData) -> EncodedItem {
    let json = serde_json::to_vec(data).expect("item data serializes");
    if json.len() < COMPRESS_FROM {
        return EncodedItem(json);
    }
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(c) => c,
            None => {
                let mut compressor = zstd::bulk::Compressor::new(LEVEL).expect("zstd compressor");
                // A checksum in each frame, so that damage is found on decoding instead of read as data.
                compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true)).expect("zstd checksum flag");
                cell.insert(compressor)
            }
        };
        EncodedItem(compressor.compress(&json).expect("compressing into memory"))
    })
}

/// What makes a comparison new: its conversation and its responses (ids and metadata do not), as the
/// first 128 bits of a BLAKE3 digest of their JSON. Importers dedupe by it; `cairn check` recomputes it.
pub fn comparison_content_hash(c: &Comparison) -> ContentHash {
    let content = serde_json::to_vec(&(&c.messages, &c.responses)).expect("comparison serializes");
    ContentHash::from_digest(blake3::hash(&content).as_bytes())
}

/// JSON starts with `{`; a zstd frame starts with its magic number 28 B5 2F FD.
pub(crate) fn decode_item(bytes: &[u8]) -> Result<ItemData, String> {
    let parsed = if bytes.first() == Some(&b'{') {
        serde_json::from_slice(bytes)
    } else {
        let json = zstd::stream::decode_all(bytes).map_err(|e| format!("cannot decompress: {e}"))?;
        serde_json::from_slice(&json)
    };
    parsed.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{Comparison, Message, Response, Role};

    fn comparison(len: usize) -> ItemData {
        ItemData::Comparison(Comparison {
            messages: vec![Message::text(Role::User, "Explain WAL mode.")],
            responses: vec![Response::new(Some("a"), "The log comes first. ".repeat(len / 21 + 1)), Response::new(Some("b"), "No.")],
            metadata: serde_json::Value::Null,
        })
    }

    #[test]
    fn short_items_stay_json_and_long_ones_shrink() {
        let short = comparison(100);
        let encoded = encode_item(&short);
        assert_eq!(encoded.0[0], b'{');
        assert_eq!(decode_item(&encoded.0).unwrap(), short);

        let long = comparison(5000);
        let json_len = serde_json::to_vec(&long).unwrap().len();
        let encoded = encode_item(&long);
        assert_eq!(&encoded.0[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
        assert!(encoded.len() * 2 < json_len, "{} of {json_len} bytes", encoded.len());
        assert_eq!(decode_item(&encoded.0).unwrap(), long);
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        assert!(decode_item(br#"{"kind": "#).is_err());
        assert!(decode_item(&[0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3]).is_err());
    }

    /// Each compressed item carries a checksum: a flipped byte anywhere in it is an error, never
    /// other data.
    #[test]
    fn any_flipped_byte_of_a_compressed_item_is_found() {
        let encoded = encode_item(&comparison(5000));
        for at in 0..encoded.len() {
            let mut damaged = encoded.0.clone();
            damaged[at] ^= 0x24;
            assert!(decode_item(&damaged).is_err(), "byte {at} of {} flipped and still read", encoded.len());
        }
    }
}
