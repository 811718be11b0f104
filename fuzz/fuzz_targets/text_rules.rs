//! The text rules users type into configurations, all fed the same string:
//! sizes (`units::parse_size` / `format_size` and the provider functions
//! `parse_size` / `format_size` over msgpack), durations
//! (`framework::schema::parse_duration`) and the name validators (`names`).
//!
//! Nothing may panic. An accepted size formats to a spelling that parses back
//! to the same bytes, and the provider function agrees with the parser; the
//! first 8 bytes as a `u64` must survive format → parse as well. Names that
//! validate satisfy the documented rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraform_provider_libvirt::framework::msgpack;
use terraform_provider_libvirt::framework::schema::parse_duration;
use terraform_provider_libvirt::framework::value::{Type, Value};
use terraform_provider_libvirt::functions::functions;
use terraform_provider_libvirt::libvirt::xml::logical_pool_xml;
use terraform_provider_libvirt::names;
use terraform_provider_libvirt::plugin::convert::call_function;
use terraform_provider_libvirt::proto::tfplugin6::DynamicValue;
use terraform_provider_libvirt::units::{format_size, parse_size};

/// Calls provider function `name` with one argument of type `ty`; it returns a value of type `ret`.
fn call(name: &str, arg: &Value, ty: &Type, ret: &Type) -> Result<Value, String> {
    let arg = DynamicValue {
        msgpack: msgpack::encode(arg, ty).expect("argument encodes"),
        json: Vec::new(),
    };
    let resp = call_function(&functions(), name, &[arg]);
    match (resp.result, resp.error) {
        (Some(r), None) => Ok(msgpack::decode(&r.msgpack, ret).expect("the result decodes")),
        (None, Some(e)) => Err(e.text),
        other => panic!("function {name} answered {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = <[u8; 8]>::try_from(data.get(..8).unwrap_or_default()) {
        let n = u64::from_le_bytes(raw);
        assert_eq!(
            parse_size(&format_size(n)),
            Ok(n),
            "format_size({n}) does not parse back"
        );
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    // Sizes.
    let size = parse_size(s);
    if let Ok(n) = size {
        let canonical = format_size(n);
        assert_eq!(
            parse_size(&canonical),
            Ok(n),
            "{s:?} → {n} → {canonical:?} does not parse back"
        );
        assert_eq!(
            parse_size(&format!(" {s}\t")),
            Ok(n),
            "surrounding whitespace changed {s:?}"
        );
        let formatted = call("format_size", &Value::from(n), &Type::Number, &Type::String)
            .expect("format_size accepts bytes");
        assert_eq!(formatted.as_str(), Some(canonical.as_str()));
    }
    let via_function = call("parse_size", &Value::from(s), &Type::String, &Type::Number);
    match (&size, &via_function) {
        (Ok(n), Ok(v)) => assert_eq!(v.as_u64(), Some(*n), "parse_size function disagrees on {s:?}"),
        (Err(e), Err(text)) => assert_eq!(&e.to_string(), text),
        _ => panic!("parse_size({s:?}) is {size:?} but the function says {via_function:?}"),
    }

    // Durations.
    if parse_duration(s).is_ok() {
        assert!(!s.trim().is_empty());
    }

    // Names.
    let vg = names::validate_vg_name(s);
    if vg.is_ok() {
        assert!((1..=127).contains(&s.len()) && !s.starts_with('-') && s != "." && s != "..");
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+_.-".contains(&b)));
    }
    if names::validate_lv_name(s).is_ok() {
        assert!(vg.is_ok(), "an LV name {s:?} that is not a valid VG name");
    }
    if names::validate_pool_name(s).is_ok() {
        assert!(!s.is_empty() && !s.contains('/') && s.trim() == s);
        assert!(
            logical_pool_xml(s, "3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e", "vg", &["/dev/sdb"]).is_ok(),
            "a valid pool name {s:?} cannot be written"
        );
    }
    if names::validate_device_path(s).is_ok() {
        assert!(s.starts_with("/dev/") && !s.ends_with('/') && !s.contains("//"));
    }
    if let Ok(bus) = names::validate_domain_target(s) {
        assert!(s.starts_with(bus.target_prefix()), "{s:?} validated as {bus}");
        assert!(s.len() <= bus.target_prefix().len() + 3);
    }
});
