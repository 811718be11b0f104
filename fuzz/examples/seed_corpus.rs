//! Writes the generated part of the seed corpora into `fuzz/corpus/<target>/`
//! (files named `seed-*`; run from `fuzz/`: `cargo run --example seed_corpus`).
//!
//! * `cty_msgpack`, `cty_json`: for every type of the selector table (see
//!   `src/lib.rs`), null, unknown (msgpack only) and a few representative values
//!   encoded by the provider's own encoders; the golden bytes of the codec unit
//!   tests; refined unknowns; inline-type inputs nesting `dynamic`; cty JSON
//!   conversions (numbers and bools written as strings).
//! * `libvirt_xml`: what the XML writers produce (pool define, volume create,
//!   disk attach). The dumps of the unit tests are copied by hand as files
//!   named `xml-*`.
//!
//! Everything is deterministic, so re-running it changes nothing.

use std::fs;
use std::path::Path;

use terraform_provider_libvirt::framework::value::{conform, Number, Type, Value};
use terraform_provider_libvirt::framework::{json, msgpack};
use terraform_provider_libvirt::libvirt::xml::{logical_pool_xml, volume_xml, DiskSpec, DiskSpecSource};
use terraform_provider_libvirt::names::Bus;
use terraform_provider_libvirt_fuzz::{types, INLINE_TYPE};

/// A representative value of `ty`; `k` varies the choices. With `unknowns`,
/// some leaves are unknown (msgpack can carry them, JSON cannot).
fn sample(ty: &Type, k: usize, unknowns: bool) -> Value {
    if unknowns && k % 7 == 6 {
        return Value::Unknown;
    }
    match ty {
        Type::Bool => Value::Bool(k.is_multiple_of(2)),
        Type::Number => match k % 6 {
            0 => Value::from(1_073_741_824u64),
            1 => Value::Number(Number::Float(1.5)),
            2 => Value::Number(Number::Big("123456789012345678901234567890.5".into())),
            3 => Value::from(-1i64),
            4 => Value::from(u64::MAX),
            _ => Value::from(0i64),
        },
        Type::String => match k % 5 {
            0 => "vg_data".into(),
            1 => "/dev/disk/by-id/virtio-data2".into(),
            2 => "héllo <&> \u{2028}\"\\\n".into(),
            3 => "10GiB".into(),
            _ => "".into(),
        },
        Type::Dynamic => match k % 4 {
            0 => Value::Dynamic(Type::String, Box::new("x".into())),
            1 => Value::Dynamic(
                Type::list(Type::Number),
                Box::new(Value::List(vec![1i64.into(), Value::Number(Number::Float(0.25))])),
            ),
            2 => {
                let t = Type::object([("a", Type::Dynamic), ("b", Type::set(Type::Bool))]);
                let v = sample(&t, k + 1, unknowns);
                Value::Dynamic(t, Box::new(v))
            }
            _ => Value::Null,
        },
        Type::List(e) | Type::Set(e) => {
            let items = (0..k % 3 + 1).map(|i| sample(e, k + i, unknowns)).collect();
            if matches!(ty, Type::List(_)) {
                Value::List(items)
            } else {
                Value::Set(items)
            }
        }
        Type::Map(e) => Value::Map(
            (0..k % 3 + 1)
                .map(|i| (format!("k{i}"), sample(e, k + i, unknowns)))
                .collect(),
        ),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .enumerate()
                .map(|(i, (name, t))| {
                    let v = if (k + i) % 5 == 4 {
                        Value::Null
                    } else {
                        sample(t, k + i, unknowns)
                    };
                    (name.clone(), v)
                })
                .collect(),
        ),
        Type::Tuple(ts) => Value::Tuple(
            ts.iter()
                .enumerate()
                .map(|(i, t)| sample(t, k + i, unknowns))
                .collect(),
        ),
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn with_selector(sel: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![sel];
    out.extend_from_slice(bytes);
    out
}

fn inline(type_json: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![INLINE_TYPE];
    out.extend_from_slice(type_json.as_bytes());
    out.push(0);
    out.extend_from_slice(bytes);
    out
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    fs::create_dir_all(dir).expect("create the corpus directory");
    fs::write(dir.join(format!("seed-{name}")), data).expect("write a seed");
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let (mp, js, xml) = (
        corpus.join("cty_msgpack"),
        corpus.join("cty_json"),
        corpus.join("libvirt_xml"),
    );

    for (i, ty) in types().iter().enumerate() {
        let sel = u8::try_from(i).expect("fewer than 255 types");
        write(&mp, &format!("t{i}-null"), &with_selector(sel, &[0xc0]));
        write(&mp, &format!("t{i}-unknown"), &with_selector(sel, &[0xd4, 0, 0]));
        write(&js, &format!("t{i}-null"), &with_selector(sel, b"null"));
        for k in 0..3 {
            let v = conform(sample(ty, k, true), ty).expect("samples conform");
            let bytes = msgpack::encode(&v, ty).expect("samples encode");
            write(&mp, &format!("t{i}-v{k}"), &with_selector(sel, &bytes));
            let v = conform(sample(ty, k, false), ty).expect("samples conform");
            let bytes = json::encode(&v, ty).expect("samples encode as JSON");
            write(&js, &format!("t{i}-v{k}"), &with_selector(sel, &bytes));
        }
    }

    // Golden bytes and leniency cases of the msgpack unit tests.
    let golden: [(&str, &str, &str); 14] = [
        (
            "golden-obj-order",
            r#"["object",{"a":"number","b":"bool"}]"#,
            "82 a1 61 c0 a1 62 c3",
        ),
        (
            "golden-dyn-string",
            r#""dynamic""#,
            "92 c4 08 22 73 74 72 69 6e 67 22 a1 78",
        ),
        (
            "golden-dyn-strtype",
            r#""dynamic""#,
            "92 a8 22 73 74 72 69 6e 67 22 a1 78",
        ),
        (
            "golden-dyn-dyn-null",
            r#""dynamic""#,
            "92 c4 09 22 64 79 6e 61 6d 69 63 22 c0",
        ),
        ("golden-uint64", r#""number""#, "cf 10 00 00 00 00 00 00 00"),
        ("golden-float64", r#""number""#, "cb 3f f8 00 00 00 00 00 00"),
        ("golden-float32", r#""number""#, "ca 3f c0 00 00"),
        ("golden-int64", r#""number""#, "d3 00 00 00 00 00 00 00 05"),
        (
            "golden-bigtext",
            r#""number""#,
            "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 35",
        ),
        ("golden-text-float", r#""number""#, "a3 31 2e 35"),
        ("refined-unknown-ext8", r#""string""#, "c7 03 0c 81 01 c2"),
        ("refined-unknown-fixext4", r#""string""#, "d6 0c 81 02 a2 61 62"),
        ("unknown-ext-zero", r#"["list","string"]"#, "c7 00 00"),
        ("set-dup", r#"["set","string"]"#, "92 a1 61 a1 61"),
    ];
    for (name, ty, bytes) in golden {
        write(&mp, name, &inline(ty, &hex(bytes)));
    }
    let nested = r#"["object",{"l":["list","dynamic"],"t":["tuple",["string",["map","dynamic"]]]}]"#;
    let ty = Type::from_json_bytes(nested.as_bytes()).expect("type JSON");
    for k in 0..3 {
        let v = conform(sample(&ty, k, true), &ty).expect("conform");
        write(
            &mp,
            &format!("inline-nested-v{k}"),
            &inline(nested, &msgpack::encode(&v, &ty).expect("enc")),
        );
        let v = conform(sample(&ty, k, false), &ty).expect("conform");
        write(
            &js,
            &format!("inline-nested-v{k}"),
            &inline(nested, &json::encode(&v, &ty).expect("enc")),
        );
    }

    // cty JSON conversions and dynamic values.
    let json_cases: [(&str, &str, &str); 9] = [
        ("num-as-string", r#""number""#, r#""1.5e3""#),
        (
            "big-number",
            r#""number""#,
            "123456789012345678901234567890.0000000001",
        ),
        (
            "bool-as-string",
            r#"["list","bool"]"#,
            r#"["true","0","1",false]"#,
        ),
        (
            "string-from-number",
            r#"["map","string"]"#,
            r#"{"a":1e5,"b":true,"c":"\u00e9\ud83d\ude00"}"#,
        ),
        (
            "dynamic",
            r#""dynamic""#,
            r#"{"value":{"a":[1,2]},"type":["object",{"a":["list","number"]}]}"#,
        ),
        (
            "dynamic-tuple-null",
            r#""dynamic""#,
            r#"{"type":["tuple",null],"value":[]}"#,
        ),
        (
            "object-missing-attr",
            r#"["object",{"a":"string","b":"number"}]"#,
            r#"{"a":"x"}"#,
        ),
        (
            "object-dup-key",
            r#"["object",{"a":"string"}]"#,
            r#"{"a":"x","a":"y"}"#,
        ),
        ("surrogate", r#""string""#, r#""\ud800x\\\/\b\f\n\r\t""#),
    ];
    for (name, ty, text) in json_cases {
        write(&js, name, &inline(ty, text.as_bytes()));
    }

    // What the XML writers produce, as libvirt receives it.
    write(
        &xml,
        "pool-define",
        logical_pool_xml(
            "vg_data",
            "3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e",
            "vg_data",
            &["/dev/vdb", "/dev/vdc"],
        )
        .expect("pool")
        .as_bytes(),
    );
    write(
        &xml,
        "volume-create",
        volume_xml("data1", 1 << 30, 1 << 30).expect("vol").as_bytes(),
    );
    let spec = DiskSpec {
        source: DiskSpecSource::Volume {
            pool: "vg_data".into(),
            volume: "data1".into(),
        },
        target_dev: "sdb".into(),
        bus: Bus::Scsi,
        read_only: true,
        shareable: true,
        serial: Some("data1-serial".into()),
        cache: Some("none".into()),
        io: Some("native".into()),
        discard: Some("unmap".into()),
        encryption: None,
    };
    write(&xml, "disk-attach", spec.to_xml().expect("disk").as_bytes());
}
