//! cty msgpack decoder (`framework::msgpack`), driven by a cty type chosen by
//! the first input byte (see `fuzz/src/lib.rs`).
//!
//! Decoding must never panic. Whatever decodes must encode again, decode back
//! to an equal value, and encode to the same bytes the second time (the
//! encoding is canonical); wholly known values must survive the JSON codec too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::framework::{json, msgpack};
use terraform_provider_libvirt_fuzz::{has_infinity, split_type};

fuzz_target!(|data: &[u8]| {
    let Some((ty, bytes)) = split_type(data) else {
        return;
    };
    let Ok(v) = msgpack::decode(bytes, &ty) else {
        return;
    };
    let enc = msgpack::encode(&v, &ty)
        .unwrap_or_else(|e| panic!("decoded value {v:?} of type {ty:?} does not encode: {e}"));
    let back = msgpack::decode(&enc, &ty)
        .unwrap_or_else(|e| panic!("re-encoded {enc:02x?} of {v:?} does not decode: {e}"));
    assert_eq!(back, v, "msgpack round trip changed the value (type {ty:?})");
    let enc2 = msgpack::encode(&back, &ty).expect("a decoded value encodes");
    assert_eq!(enc2, enc, "msgpack encoding is not canonical for {v:?}");

    // The same value through cty JSON (which has no unknowns or infinities).
    if v.is_wholly_known() && !has_infinity(&v) {
        let j = json::encode(&v, &ty).unwrap_or_else(|e| panic!("{v:?} does not encode as JSON: {e}"));
        let from_json = json::decode(&j, &ty).unwrap_or_else(|e| {
            panic!(
                "JSON {:?} of {v:?} does not decode: {e}",
                String::from_utf8_lossy(&j)
            )
        });
        assert_eq!(
            from_json, v,
            "msgpack → JSON → value changed the value (type {ty:?})"
        );
    }
});
