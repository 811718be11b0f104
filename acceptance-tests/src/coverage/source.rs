//! What a test file's source says about its tests: which functions are tests, which of them are
//! `#[ignore]`d, and whether a test (or a function of the same file it calls, transitively) reads
//! the hypervisor, which its assertions then judge.

use std::collections::{BTreeMap, BTreeSet};

/// One test function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TestFn {
    /// `#[ignore]`: compiled, never run by `cargo test` without `--ignored`.
    pub(crate) ignored: bool,
    /// It, or a function of its file it calls, reads the hypervisor ([`HYPERVISOR_READS`]).
    pub(crate) reads_hypervisor: bool,
}

/// The tests of one file.
pub(crate) type Tests = BTreeMap<String, TestFn>;

/// Calls that read what the hypervisor holds: the guest's LVM reports and files (ssh), libvirt
/// through virsh (XML, pool and domain state), content checksums, the harness's snapshots and
/// judges, libvirtd's client list. A test whose body (or a helper it calls) has none of them
/// checks only what Terraform says.
pub(crate) const HYPERVISOR_READS: &[&str] = &[
    ".lvs(",
    ".lvs_in(",
    ".lv(",
    ".vgs(",
    ".vg(",
    ".pvs(",
    "virsh",
    "sha256",
    "domain_xml",
    "pool_xml",
    "vol_xml",
    "pool_info(",
    "pool_names(",
    ".snapshot()",
    "assert_unchanged",
    ".disk(",
    ".xml(",
    ".disk_targets(",
    "assert_not_restarted",
    ".runtime()",
    ".ssh_ok(",
    ".ssh(",
    ".ssh_run(",
    ".clients()",
    "record_clients_at_lvcreate",
    "world(",
    "probe(",
    "lab_seed(",
    "test_driver_seed(",
];

/// The tests `source` defines (`#[test]` or `#[tokio::test]`, with any other attributes around).
pub(crate) fn tests(source: &str) -> Tests {
    let fns = functions(source);
    let mut out = Tests::new();
    let mut attrs: Vec<&str> = Vec::new();
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[") {
            attrs.push(line);
            continue;
        }
        let sig = line.strip_prefix("pub ").unwrap_or(line);
        let sig = sig.strip_prefix("async ").unwrap_or(sig);
        if let Some(rest) = sig.strip_prefix("fn ") {
            let is_test = attrs
                .iter()
                .any(|a| a.starts_with("#[test]") || a.starts_with("#[tokio::test"));
            if is_test {
                let name = ident(rest);
                out.insert(
                    name.clone(),
                    TestFn {
                        ignored: attrs.iter().any(|a| a.starts_with("#[ignore")),
                        reads_hypervisor: reaches(&fns, &name),
                    },
                );
            }
        }
        if !line.is_empty() && !line.starts_with("//") {
            attrs.clear();
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Whether `name`'s body, or the body of a function of `fns` it calls (transitively), holds one
/// of [`HYPERVISOR_READS`].
fn reaches(fns: &BTreeMap<String, String>, name: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(f) = todo.pop() {
        if !seen.insert(f.clone()) {
            continue;
        }
        let Some(body) = fns.get(&f) else {
            continue;
        };
        if HYPERVISOR_READS.iter().any(|m| body.contains(m)) {
            return true;
        }
        todo.extend(
            fns.keys()
                .filter(|g| !seen.contains(*g) && calls(body, g))
                .cloned(),
        );
    }
    false
}

/// Whether `body` calls `name` (as a function, a method or a path: `name(`, `.name(`, `::name(`).
fn calls(body: &str, name: &str) -> bool {
    let pat = format!("{name}(");
    body.match_indices(&pat).any(|(i, _)| {
        body[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// Every function of `source` (top level, in impls, nested) → its body, with string and char
/// literals and comments blanked out: braces inside them do not count, and a marker in a comment
/// or a string proves nothing (the call that runs a guest script is the marker, not the script).
/// Same-named functions (methods of two types) share one entry holding both bodies.
pub(crate) fn functions(source: &str) -> BTreeMap<String, String> {
    let code = blank_strings_and_comments(source);
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("fn ").map(|i| i + from) {
        from = i + 3;
        if code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let name = ident(&code[i + 3..]);
        if name.is_empty() {
            continue;
        }
        // The body: from the first `{` before any `;` (a declaration without body has none).
        let rest = &code[i..];
        let Some(open) = rest.find(['{', ';']).filter(|j| rest.as_bytes()[*j] == b'{') else {
            continue;
        };
        let mut depth = 0usize;
        let mut end = rest.len();
        for (j, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.entry(name).or_default().push_str(&rest[open..end]);
    }
    out
}

/// `source` with the contents of string and char literals and of comments replaced by spaces
/// (same length, so offsets stay), for brace counting.
pub(crate) fn blank_strings_and_comments(source: &str) -> String {
    lex(source, true)
}

fn lex(source: &str, blank_strings: bool) -> String {
    let b = source.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for x in &mut out[from..to] {
            if *x != b'\n' {
                *x = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = source[i..].find('\n').map_or(b.len(), |j| i + j);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = source[i + 2..].find("*/").map_or(b.len(), |j| i + 2 + j + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = source[start..].find(&close).map_or(b.len(), |j| start + j);
                if blank_strings {
                    blank(&mut out, start, end);
                }
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if blank_strings {
                    blank(&mut out, i + 1, j.min(b.len()));
                }
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\''), not a lifetime ('a).
                let lit = if b.get(i + 1) == Some(&b'\\') {
                    source[i + 2..].find('\'').map(|j| i + 2 + j)
                } else if b.get(i + 2) == Some(&b'\'') {
                    Some(i + 2)
                } else {
                    // Multi-byte chars: up to 4 bytes, then a quote.
                    (3..=5)
                        .find(|k| b.get(i + k) == Some(&b'\'') && source.is_char_boundary(i + 1))
                        .filter(|k| source[i + 1..i + k].chars().count() == 1)
                        .map(|k| i + k)
                };
                match lit {
                    Some(end) => {
                        if blank_strings {
                            blank(&mut out, i + 1, end);
                        }
                        i = end + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r##"
use x::y;

/// A helper that reads the guest.
fn count_lvs(lab: &Lab) -> usize {
    lab.lvs().len() // "}" in a comment
}

fn indirect(lab: &Lab) -> usize {
    let brace = '{';
    count_lvs(lab) + usize::from(brace == '}')
}

#[test]
fn reads_through_a_helper() {
    let s = format!("{{ not a block");
    assert_eq!(indirect(s.lab()), 1);
}

#[test]
#[ignore = "slow"]
fn ignored_one() {
    lab.virsh_ok(&["list"]);
}

#[ignore]
#[tokio::test]
async fn ignored_before_test() {}

#[test]
fn state_only() {
    // lab.lvs() in a comment proves nothing
    let r = r#"lab.virsh_ok(&[]) }"#;
    wd.apply();
    assert_eq!(wd.state_str("a", "b"), r);
}

#[test]
fn state_only_too() {
    let text = "virsh list";
    not_a_helper_named_count_lvs_x(text);
}
"##;

    #[test]
    fn tests_ignores_and_hypervisor_reads_are_found() {
        let t = tests(FILE);
        let names: Vec<&str> = t.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "ignored_before_test",
                "ignored_one",
                "reads_through_a_helper",
                "state_only",
                "state_only_too"
            ]
        );
        assert!(t["reads_through_a_helper"].reads_hypervisor && !t["reads_through_a_helper"].ignored);
        assert!(t["ignored_one"].ignored && t["ignored_one"].reads_hypervisor);
        assert!(t["ignored_before_test"].ignored && !t["ignored_before_test"].reads_hypervisor);
        // Strings and comments naming a read are not reads.
        assert!(!t["state_only"].reads_hypervisor && !t["state_only_too"].reads_hypervisor);
    }

    #[test]
    fn comments_prove_nothing_and_braces_in_literals_do_not_break_bodies() {
        let src = "fn a() {\n    // lab.lvs()\n    let c = '}';\n    let s = \"}}}\";\n    b();\n}\nfn b() { wd.apply(); }\n";
        let f = functions(src);
        assert!(f["a"].contains("b();"), "{f:?}");
        assert!(!f["a"].contains("lab.lvs()"), "{f:?}");
        assert!(!reaches(&f, "a"));
        assert!(calls("x.b(1)", "b") && calls("b(1)", "b") && !calls("ab(1)", "b"));
    }
}
