//! cty JSON decoder (`framework::json`, strict and lenient), driven by a cty
//! type chosen by the first input byte (see `fuzz/src/lib.rs`).
//!
//! Decoding must never panic. Whatever decodes must encode again (unless it
//! holds an infinity, which cty JSON cannot write), decode back to an equal
//! value, and encode to the same bytes the second time; the value must also
//! survive msgpack. The lenient decoder must accept whatever the strict one
//! accepts, with the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::framework::{json, msgpack};
use terraform_provider_libvirt_fuzz::{has_infinity, split_type};

fuzz_target!(|data: &[u8]| {
    let Some((ty, bytes)) = split_type(data) else {
        return;
    };
    let lenient = json::decode_lenient(bytes, &ty);
    let Ok(v) = json::decode(bytes, &ty) else {
        return;
    };
    assert_eq!(
        lenient.as_ref().ok(),
        Some(&v),
        "lenient decoding differs from strict"
    );

    let m = msgpack::encode(&v, &ty).unwrap_or_else(|e| panic!("{v:?} does not encode as msgpack: {e}"));
    let from_m = msgpack::decode(&m, &ty).unwrap_or_else(|e| panic!("msgpack {m:02x?} of {v:?}: {e}"));
    assert_eq!(
        from_m, v,
        "JSON → msgpack → value changed the value (type {ty:?})"
    );

    if has_infinity(&v) {
        assert!(json::encode(&v, &ty).is_err(), "an infinity was written as JSON");
        return;
    }
    let enc = json::encode(&v, &ty).unwrap_or_else(|e| panic!("decoded {v:?} does not encode: {e}"));
    let back = json::decode(&enc, &ty).unwrap_or_else(|e| {
        panic!(
            "re-encoded {:?} of {v:?} does not decode: {e}",
            String::from_utf8_lossy(&enc)
        )
    });
    assert_eq!(back, v, "JSON round trip changed the value (type {ty:?})");
    let enc2 = json::encode(&back, &ty).expect("a decoded value encodes");
    assert_eq!(enc2, enc, "JSON encoding is not canonical for {v:?}");
});
