//! The coverage map's check (`COVERAGE.md`): every attribute the provider's schemas define has an
//! entry naming the tests that prove it on real LVM, every entry names tests that exist, and an
//! entry may say `GAP` only when its key is in the allow-list of known gaps
//! (`coverage-gaps.txt`). So a new attribute cannot land without an entry, and cannot land as a
//! gap without someone adding it to the list in the same change, where a reviewer sees it.
//!
//! Entries are the rows of Markdown tables whose first cell is one backticked key:
//!
//! - `provider.ATTR`, `TYPE.ATTR`, `TYPE.BLOCK.ATTR`, `TYPE.identity.ATTR` (resources),
//!   `data.TYPE.ATTR` (data sources), `function.NAME`: taken from the provider crate's schemas;
//! - `promise.NAME`: a promise the docs or the README make in words (free names, unique).
//!
//! The second cell lists tests, each backticked: `FILE::FUNCTION` for
//! `acceptance-tests/tests/FILE.rs`, or `PATH::FUNCTION` for a test file elsewhere in the
//! workspace (a path with a `/`, from the workspace root); or it is exactly `GAP`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One row of the map.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    key: String,
    /// The tests named, or `None` for `GAP`.
    tests: Option<Vec<String>>,
    line: usize,
}

/// The rows of `text` whose first cell is one backticked key.
fn parse_map(text: &str) -> Result<Vec<Entry>, Vec<String>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if !line.trim_start().starts_with('|') || cells.len() < 2 {
            continue;
        }
        let Some(key) = single_code(cells[0]) else {
            continue;
        };
        let tests = if cells[1] == "GAP" {
            None
        } else {
            let refs: Vec<String> = cells[1]
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| single_code(r).map(str::to_string).ok_or(r))
                .collect::<Result<_, _>>()
                .unwrap_or_else(|bad| {
                    errors.push(format!(
                        "line {}: `{key}`: {bad:?} is neither a backticked test nor GAP",
                        i + 1
                    ));
                    Vec::new()
                });
            if refs.is_empty() {
                errors.push(format!(
                    "line {}: `{key}` names no test (write GAP if none exists)",
                    i + 1
                ));
            }
            Some(refs)
        };
        entries.push(Entry {
            key: key.to_string(),
            tests,
            line: i + 1,
        });
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// `x` when `cell` is exactly one `` `x` ``.
fn single_code(cell: &str) -> Option<&str> {
    let inner = cell.strip_prefix('`')?.strip_suffix('`')?;
    (!inner.is_empty() && !inner.contains('`')).then_some(inner)
}

/// The keys of the allow-list: one per line, `#` starts a comment.
fn parse_gaps(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The names of the test functions (`#[test]` or `#[tokio::test]`, possibly with further
/// attributes in between) defined in `source`.
fn test_functions(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut armed = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
            armed = true;
        } else if armed && line.starts_with("#[") {
            continue;
        } else if armed {
            let sig = line.strip_prefix("async ").unwrap_or(line);
            if let Some(rest) = sig.strip_prefix("fn ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
            armed = false;
        }
    }
    out
}

/// Everything wrong with the map: `schema_keys` are the keys the schemas require, `tests`
/// resolves a reference to the test functions of its file (None: no such file).
fn check(
    entries: &[Entry],
    schema_keys: &BTreeSet<String>,
    gaps: &BTreeSet<String>,
    mut tests_of: impl FnMut(&str) -> Option<BTreeSet<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for e in entries {
        if let Some(first) = seen.insert(&e.key, e.line) {
            problems.push(format!(
                "line {}: `{}` is listed twice (also line {first})",
                e.line, e.key
            ));
        }
        let is_promise = e.key.starts_with("promise.") && e.key.len() > "promise.".len();
        if !is_promise && !schema_keys.contains(&e.key) {
            problems.push(format!(
                "line {}: `{}` is not an attribute, block attribute, identity attribute or function of the \
                 provider's schemas (nor a promise.NAME)",
                e.line, e.key
            ));
        }
        match &e.tests {
            None if !gaps.contains(&e.key) => problems.push(format!(
                "line {}: `{}` is a GAP but not in coverage-gaps.txt: add a test that proves it on the lab \
                 (or, knowingly, the key to the allow-list)",
                e.line, e.key
            )),
            None => {}
            Some(_) if gaps.contains(&e.key) => problems.push(format!(
                "line {}: `{}` names tests but is still in coverage-gaps.txt: remove it from the list",
                e.line, e.key
            )),
            Some(tests) => {
                for t in tests {
                    let Some((file, function)) = t.rsplit_once("::") else {
                        problems.push(format!("line {}: `{t}` is not FILE::FUNCTION", e.line));
                        continue;
                    };
                    match tests_of(file) {
                        None => problems.push(format!("line {}: `{t}`: no test file {file:?}", e.line)),
                        Some(fns) if !fns.contains(function) => problems.push(format!(
                            "line {}: `{t}`: {file} has no test function {function}",
                            e.line
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    for key in schema_keys {
        if !seen.contains_key(key.as_str()) {
            problems.push(format!(
                "`{key}` has no entry: add a row naming the tests that prove it on the lab"
            ));
        }
    }
    for key in gaps {
        if !seen.contains_key(key.as_str()) {
            problems.push(format!(
                "coverage-gaps.txt lists `{key}`, which the map does not have"
            ));
        }
    }
    problems
}

/// The keys the provider's schemas define (see the module docs).
fn schema_keys() -> BTreeSet<String> {
    use terraform_provider_libvirt::framework::Schema;
    use terraform_provider_libvirt::{data_sources, functions, provider, resources};

    fn of(prefix: &str, schema: &Schema, out: &mut BTreeSet<String>) {
        out.extend(schema.attributes.iter().map(|a| format!("{prefix}.{}", a.name)));
        for b in &schema.blocks {
            out.extend(
                b.attributes
                    .iter()
                    .map(|a| format!("{prefix}.{}.{}", b.name, a.name)),
            );
        }
    }
    let mut keys = BTreeSet::new();
    of("provider", &provider::schema(), &mut keys);
    for r in resources::all() {
        of(r.type_name(), r.schema(), &mut keys);
        if let Some(identity) = r.identity_schema() {
            keys.extend(
                identity
                    .attributes
                    .iter()
                    .map(|(name, ..)| format!("{}.identity.{name}", r.type_name())),
            );
        }
    }
    for d in data_sources::all() {
        of(&format!("data.{}", d.type_name()), d.schema(), &mut keys);
    }
    keys.extend(
        functions::functions()
            .iter()
            .map(|f| format!("function.{}", f.name)),
    );
    keys
}

/// The test functions of a reference's file: `FILE` is `acceptance-tests/tests/FILE.rs`, a path
/// with a `/` is relative to the workspace root.
fn tests_in_workspace(root: &Path, file: &str) -> Option<BTreeSet<String>> {
    let path = if file.contains('/') {
        root.join(file)
    } else {
        root.join("acceptance-tests/tests").join(format!("{file}.rs"))
    };
    std::fs::read_to_string(path).ok().map(|s| test_functions(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> BTreeSet<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    /// The committed map against the provider's schemas and the committed test files.
    #[test]
    fn the_coverage_map_covers_every_schema_attribute_with_existing_tests() {
        let root = crate::workspace_root();
        let map = std::fs::read_to_string(root.join("acceptance-tests/COVERAGE.md")).expect("COVERAGE.md");
        let gaps = std::fs::read_to_string(root.join("acceptance-tests/coverage-gaps.txt"))
            .expect("coverage-gaps.txt");
        let entries = parse_map(&map).unwrap_or_else(|e| panic!("COVERAGE.md:\n  {}", e.join("\n  ")));
        let schema = schema_keys();
        assert!(
            schema.len() > 50 && schema.contains("libvirt_lvm_volume.capacity"),
            "{schema:?}"
        );
        let problems = check(&entries, &schema, &parse_gaps(&gaps), |f| {
            tests_in_workspace(&root, f)
        });
        assert!(
            problems.is_empty(),
            "acceptance-tests/COVERAGE.md:\n  {}",
            problems.join("\n  ")
        );
        let promised = entries.iter().filter(|e| e.key.starts_with("promise.")).count();
        let proven = entries.iter().filter(|e| e.tests.is_some()).count();
        println!(
            "coverage map: {} entries ({} schema keys, {promised} promises), {proven} with tests, {} known gaps",
            entries.len(),
            schema.len(),
            entries.len() - proven
        );
    }

    const FILE: &str =
        "#[test]\nfn alpha() {}\n\n#[tokio::test]\n#[cfg(unix)]\nasync fn beta() {}\nfn helper() {}\n";

    fn files(f: &str) -> Option<BTreeSet<String>> {
        (f == "pool" || f == "tests/startup.rs").then(|| test_functions(FILE))
    }

    #[test]
    fn test_functions_are_found_helpers_are_not() {
        assert_eq!(test_functions(FILE), keys(&["alpha", "beta"]));
    }

    #[test]
    fn a_complete_map_passes() {
        let map = "| key | tests |\n|---|---|\n| `p.a` | `pool::alpha`, `tests/startup.rs::beta` |\n\
                   | `p.b` | GAP |\n| `promise.x` | `pool::beta` |\n";
        let e = parse_map(map).expect("parses");
        assert_eq!(e.len(), 3);
        assert_eq!(
            check(&e, &keys(&["p.a", "p.b"]), &keys(&["p.b"]), files),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_kind_of_mistake_is_reported() {
        let cases: &[(&str, &[&str], &[&str], &str)] = &[
            (
                "| `p.a` | `pool::alpha` |",
                &["p.a", "p.new"],
                &[],
                "`p.new` has no entry",
            ),
            (
                "| `p.a` | `pool::gamma` |",
                &["p.a"],
                &[],
                "pool has no test function gamma",
            ),
            (
                "| `p.a` | `pool::helper` |",
                &["p.a"],
                &[],
                "pool has no test function helper",
            ),
            (
                "| `p.a` | `nofile::alpha` |",
                &["p.a"],
                &[],
                "no test file \"nofile\"",
            ),
            ("| `p.a` | GAP |", &["p.a"], &[], "not in coverage-gaps.txt"),
            (
                "| `p.a` | `pool::alpha` |",
                &["p.a"],
                &["p.a"],
                "still in coverage-gaps.txt",
            ),
            (
                "| `p.a` | `pool::alpha` |",
                &["p.a"],
                &["p.gone"],
                "lists `p.gone`",
            ),
            (
                "| `p.a` | `pool::alpha` |\n| `p.z` | `pool::alpha` |",
                &["p.a"],
                &[],
                "`p.z` is not an attribute",
            ),
            (
                "| `p.a` | `pool::alpha` |\n| `p.a` | `pool::beta` |",
                &["p.a"],
                &[],
                "listed twice",
            ),
            ("| `p.a` | `alpha` |", &["p.a"], &[], "is not FILE::FUNCTION"),
        ];
        for (map, schema, gaps, want) in cases {
            let e = parse_map(map).expect("parses");
            let problems = check(&e, &keys(schema), &keys(gaps), files);
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "{map:?}: expected a problem containing {want:?}, got {problems:?}"
            );
        }
        let bad = parse_map("| `p.a` | pool::alpha |").expect_err("unquoted");
        assert!(bad[0].contains("neither a backticked test nor GAP"), "{bad:?}");
        let empty = parse_map("| `p.a` |  |").expect_err("empty");
        assert!(empty[0].contains("names no test"), "{empty:?}");
    }

    #[test]
    fn gaps_file_comments_and_blank_lines() {
        assert_eq!(
            parse_gaps("# known gaps\n\np.a   # why\n  p.b\n"),
            keys(&["p.a", "p.b"])
        );
    }
}
