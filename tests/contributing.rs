//! CONTRIBUTING.md is the first document a newcomer reads, so what it writes as code must exist:
//! every path (`src/lvm/command.rs`, `rules/usage.rs`, `src/resources/<name>/mod.rs` up to its
//! placeholder) names a file or directory of this tree, and every Rust name (`Connection::read`,
//! `facts::domain::all_domains`, `ctx.lvm()`, `DiskSpec`, `pool_change_lock(pool)`) is defined,
//! a method in a file that implements its type, an item in the module its path names. Single
//! lowercase words (`create`, `lvs`, `dlopen`) are prose as often as code and are not checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The code spans of a Markdown text, fenced blocks left out.
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'`' {
                i += 1;
                continue;
            }
            let run = b[i..].iter().take_while(|&&c| c == b'`').count();
            let body = i + run;
            let close = (body..b.len()).find(|&j| {
                b[j..].iter().take_while(|&&c| c == b'`').count() == run && (j == 0 || b[j - 1] != b'`')
            });
            match close {
                Some(j) => {
                    spans.push(line[body..j].trim().to_string());
                    i = j + run;
                }
                None => i = body,
            }
        }
    }
    spans
}

/// Everything a span can be checked against: the tree's paths and its Rust sources.
struct Tree {
    /// Paths relative to the root, directories with a trailing `/`.
    paths: BTreeSet<String>,
    /// (path, text) of every `.rs` file.
    sources: Vec<(String, String)>,
}

impl Tree {
    fn read(root: &Path) -> Tree {
        let mut t = Tree {
            paths: BTreeSet::new(),
            sources: Vec::new(),
        };
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let dir = root.join(&rel);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
            for e in entries {
                let e = e.expect("directory entry");
                let name = e.file_name().to_string_lossy().into_owned();
                if matches!(name.as_str(), "target" | ".git" | "corpus" | "artifacts") {
                    continue;
                }
                let r = rel.join(&name);
                let s = r.to_string_lossy().into_owned();
                if e.file_type().expect("file type").is_dir() {
                    t.paths.insert(format!("{s}/"));
                    stack.push(r);
                } else {
                    if s.ends_with(".rs") {
                        let text = std::fs::read_to_string(root.join(&r)).unwrap_or_default();
                        t.sources.push((s.clone(), text));
                    }
                    t.paths.insert(s);
                }
            }
        }
        t
    }

    /// Whether `p` is a path of the tree, from the root or as the tail of a longer one.
    fn has_path(&self, p: &str) -> bool {
        self.paths.iter().any(|q| q == p || q.ends_with(&format!("/{p}")))
    }

    /// Files that define the item `name` (a fn, type, trait, module, constant or macro).
    fn defining(&self, name: &str) -> Vec<&(String, String)> {
        let kinds = [
            "fn",
            "struct",
            "enum",
            "trait",
            "type",
            "mod",
            "const",
            "static",
            "macro_rules!",
        ];
        self.sources
            .iter()
            .filter(|(_, text)| {
                kinds.iter().any(|k| {
                    text.match_indices(&format!("{k} {name}")).any(|(i, m)| {
                        let next = text[i + m.len()..].chars().next().unwrap_or(' ');
                        let before = text[..i].chars().next_back().unwrap_or(' ');
                        let word = |c: char| c.is_alphanumeric() || c == '_';
                        !word(next) && !word(before)
                    })
                })
            })
            .collect()
    }

    /// Why the span `s` names nothing of this tree, if it does not.
    fn problem(&self, s: &str) -> Option<String> {
        const STD: &[&str] = &[
            "None", "Some", "Ok", "Err", "String", "Vec", "Option", "Result", "Box", "Arc", "unwrap",
            "expect",
        ];
        let ident = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_');
        let camel = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
        if s.contains(char::is_whitespace) {
            // A command line: only the script it runs is checked.
            let first = s.split_whitespace().next().unwrap_or_default();
            return (first.starts_with("scripts/") && !self.has_path(first))
                .then(|| format!("no script {first}"));
        }
        if s.contains("://") || s.starts_with("target/") {
            // A URI, or what a build or a run writes.
            return None;
        }
        let is_path = s.contains('/') && !s.contains("::")
            || [".rs", ".md", ".tf", ".sh", ".toml"]
                .iter()
                .any(|e| s.ends_with(e));
        if is_path {
            // Up to a placeholder: `src/resources/<name>/mod.rs` names `src/resources/`.
            let p = match s.find('<') {
                Some(i) => &s[..i],
                None => s,
            };
            return (!p.is_empty() && !self.has_path(p)).then(|| format!("no file or directory {p}"));
        }
        // Code: the path before any call's arguments, then each `.method` after.
        let head = s.split('(').next().unwrap_or_default();
        let mut problems = Vec::new();
        for method in s.split('.').skip(1) {
            let m = method.split('(').next().unwrap_or_default();
            if ident(m) && s.contains(&format!(".{m}(")) && self.defining(m).is_empty() {
                problems.push(format!("no fn {m}"));
            }
        }
        let head = head.split('.').next().unwrap_or_default();
        let segs: Vec<&str> = head.split("::").collect();
        if segs.iter().any(|w| !ident(w)) {
            // `virt::`, `impl Resource for <Type>`: an external crate or a pattern.
            return problems.pop();
        }
        match segs.as_slice() {
            [one] if STD.contains(one) => {}
            [one] if camel(one) || s.starts_with(&format!("{one}(")) => {
                if self.defining(one).is_empty() {
                    problems.push(format!("nothing defines {one}"));
                }
            }
            [_] => {}
            _ => {
                let split = segs.iter().position(|w| camel(w));
                let modules = &segs[..split.unwrap_or(segs.len() - 1)];
                let rest = &segs[modules.len()..];
                let files = self.defining(rest[0]);
                let in_module = |path: &str| {
                    let m = modules.join("/");
                    modules.is_empty()
                        || path.ends_with(&format!("{m}.rs"))
                        || path.ends_with(&format!("{m}/mod.rs"))
                        || path.ends_with(&format!("{m}/lib.rs"))
                };
                if !files.iter().any(|(p, _)| in_module(p)) {
                    problems.push(format!("no {} in module {}", rest[0], modules.join("::")));
                } else if let [ty, method] = rest {
                    // A method lives in a file that implements its type.
                    let implements = |text: &str| {
                        text.contains(&format!("impl {ty} ")) || text.contains(&format!("for {ty} "))
                    };
                    if !self.defining(method).iter().any(|(_, text)| implements(text)) {
                        problems.push(format!("no fn {method} in an impl of {ty}"));
                    }
                }
            }
        }
        problems.pop()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_path_and_rust_name_in_contributing_exists() {
    let tree = Tree::read(&root());
    let text = std::fs::read_to_string(root().join("CONTRIBUTING.md")).expect("CONTRIBUTING.md");
    let stale: Vec<String> = code_spans(&text)
        .iter()
        .filter_map(|s| tree.problem(s).map(|p| format!("`{s}`: {p}")))
        .collect();
    assert!(
        stale.is_empty(),
        "CONTRIBUTING.md names what does not exist:\n{}",
        stale.join("\n")
    );
}

/// The check itself: the stale names of an older guide are found, and the true ones pass.
#[test]
fn the_check_names_what_does_not_exist() {
    let tree = Tree::read(&root());
    for stale in [
        "DomainInfo::users",
        "src/libvirt/gone.rs",
        "Connection::no_such_operation",
        "facts::pool::all_domains",
        "ctx.no_such_method()",
        "NoSuchType",
        "scripts/no-such-script --quick",
    ] {
        assert!(tree.problem(stale).is_some(), "{stale} was not found stale");
    }
    for true_name in [
        "Connection::volume_change",
        "facts::domain::all_domains",
        "libvirt::testing::TestDriver",
        "ctx.lvm()",
        "DiskSpec",
        "pool_change_lock(pool)",
        "src/resources/<name>/mod.rs",
        "rules/usage.rs",
        "scripts/test --quick",
        "virt::",
    ] {
        assert_eq!(tree.problem(true_name), None, "{true_name}");
    }
    assert_eq!(
        code_spans("a `x` and ``y `z` y`` and\n```\n`fenced`\n```\n"),
        ["x", "y `z` y"]
    );
}
