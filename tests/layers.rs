//! The layers of the crate, as src/lib.rs describes them, checked on the source: a `use` that
//! crosses a layer the wrong way fails here. (The framework is a crate of its own, so the compiler
//! keeps it from naming anything above it.)

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `text` names `word` as a path root (`word::`), not as the end of a longer name.
fn names(text: &str, word: &str) -> bool {
    let needle = format!("{word}::");
    text.match_indices(&needle).any(|(i, _)| {
        !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// `text` without its `//` comments (doc comments included): a comment that names a layer is no
/// use of it. A `//` inside a string literal cuts the rest of that line too, which can only hide a
/// name, and string literals name no paths.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (files under this directory, what they must not name, why)
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "src/libvirt",
        &[
            "crate::provider",
            "crate::resources",
            "crate::data_sources",
            "crate::plugin",
            "crate::functions",
        ],
        "the libvirt layer sits below the provider and its resources",
    ),
    (
        "src/resources",
        &[
            "virt",
            "virt_sys",
            "crate::plugin",
            "crate::proto",
            "tonic",
            "prost",
        ],
        "resources use the libvirt layer's named operations and never see the protocol",
    ),
    (
        "src/data_sources",
        &[
            "virt",
            "virt_sys",
            "crate::plugin",
            "crate::proto",
            "tonic",
            "prost",
        ],
        "data sources use the libvirt layer's named operations and never see the protocol",
    ),
    (
        "src/provider.rs",
        &[
            "virt",
            "virt_sys",
            "crate::plugin",
            "crate::proto",
            "tonic",
            "prost",
        ],
        "the provider's configuration never sees the protocol or the virt crate",
    ),
    (
        "src/functions.rs",
        &["crate::proto", "tonic", "prost", "crate::libvirt"],
        "functions are pure and protocol-free",
    ),
    (
        "src/lvm",
        &[
            "crate::libvirt",
            "crate::provider",
            "crate::resources",
            "crate::data_sources",
            "crate::plugin",
            "crate::image",
            "virt",
            "virt_sys",
        ],
        "LVM's tools are a layer beside libvirt: the libvirt layer's guards ask it, never the reverse",
    ),
    (
        "src/image",
        &[
            "crate::libvirt",
            "crate::lvm",
            "crate::provider",
            "crate::resources",
            "crate::data_sources",
            "crate::plugin",
            "virt",
            "virt_sys",
        ],
        "image formats and streams know nothing of where they are written",
    ),
    (
        "src/units.rs",
        &["crate::proto", "crate::libvirt", "crate::provider"],
        "size rules are pure",
    ),
    (
        "src/names.rs",
        &["crate::proto", "crate::libvirt", "crate::provider"],
        "naming rules are pure",
    ),
];

#[test]
fn no_layer_uses_what_it_must_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for (place, forbidden, why) in RULES {
        let path = root.join(place);
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
        assert!(!files.is_empty(), "{place}: no files (a rule about nothing)");
        for f in files {
            let text = code(&std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
            for word in *forbidden {
                if names(&text, word) {
                    broken.push(format!("{} names {word}:: ({why})", f.display()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layer rules broken:\n  {}",
        broken.join("\n  ")
    );
}

/// Protobuf types appear only in the plugin layer.
#[test]
fn only_the_plugin_layer_sees_protobuf() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tools/docgen/src", "bench/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(root.join("src/plugin")) && !f.ends_with("src/lib.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            ["proto", "tfplugin6", "prost", "tonic"]
                .iter()
                .any(|w| names(&text, w))
                || text.contains("crate::proto")
                || text.contains("terraform_provider_libvirt::proto")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "protobuf outside src/plugin: {offenders:?}");
}

#[test]
fn the_word_check_sees_roots_only() {
    assert!(names("use virt::connect::Connect;", "virt"));
    assert!(!names("use crate::libvirt::Connection;", "virt"));
    assert!(names("x(crate::plugin::serve)", "crate::plugin"));
}

#[test]
fn comments_are_no_use() {
    let text =
        "//! beside [`crate::libvirt`]\nuse crate::units::human; // not crate::plugin::x\n/// see crate::provider\n";
    let c = code(text);
    assert!(!names(&c, "crate::libvirt") && !names(&c, "crate::plugin") && !names(&c, "crate::provider"));
    assert!(names(&c, "crate::units"), "code before a comment still counts");
}
