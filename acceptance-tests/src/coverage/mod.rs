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
//!
//! A named test must be one `scripts/test` runs ([`selection`]: not `#[ignore]`d, and selected by
//! the file groups and `--exact` filters `scripts/test --selection` prints), and, for a row that
//! promises an effect on the hypervisor, it must read the hypervisor ([`source`]: `lvs`, virsh,
//! sha256, the domain XML, the harness's snapshots and judges), itself or through a helper of its
//! file. Rows promise a hypervisor effect unless they are provider functions (`function.*`) or
//! their notes start with `(no hypervisor effect: WHY)`.

mod selection;
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use selection::Selection;
use source::Tests;

/// One row of the map.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    key: String,
    /// The tests named, or `None` for `GAP`.
    tests: Option<Vec<String>>,
    /// The row promises an effect on the hypervisor (see the module docs).
    hypervisor: bool,
    line: usize,
}

/// The notes of a row that promises no effect on the hypervisor start with this.
const NO_HYPERVISOR_EFFECT: &str = "(no hypervisor effect";

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
        let notes = cells.get(2).copied().unwrap_or_default();
        entries.push(Entry {
            key: key.to_string(),
            tests,
            hypervisor: !key.starts_with("function.") && !notes.starts_with(NO_HYPERVISOR_EFFECT),
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

/// Everything wrong with the map: `schema_keys` are the keys the schemas require, `tests_of`
/// resolves a reference to the tests of its file (None: no such file), `selection` is what
/// `scripts/test` runs.
fn check(
    entries: &[Entry],
    schema_keys: &BTreeSet<String>,
    gaps: &BTreeSet<String>,
    selection: &Selection,
    mut tests_of: impl FnMut(&str) -> Option<Tests>,
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
                    let tests = tests_of(file);
                    let Some(test) = tests.as_ref().and_then(|ts| ts.get(function)) else {
                        problems.push(match tests {
                            None => format!("line {}: `{t}`: no test file {file:?}", e.line),
                            Some(_) => {
                                format!("line {}: `{t}`: {file} has no test function {function}", e.line)
                            }
                        });
                        continue;
                    };
                    if test.ignored {
                        problems.push(format!(
                            "line {}: `{t}` is #[ignore]d: scripts/test never runs it",
                            e.line
                        ));
                    } else if let Some(why) = selection.not_run(file, function) {
                        problems.push(format!("line {}: `{t}` is not run: {why}", e.line));
                    }
                    if e.hypervisor && !test.reads_hypervisor {
                        problems.push(format!(
                            "line {}: `{t}` reads nothing on the hypervisor (lvs, virsh, sha256, the XML, a \
                             snapshot), yet `{}` promises an effect there (or its notes must start with \
                             \"{NO_HYPERVISOR_EFFECT}: WHY)\")",
                            e.line, e.key
                        ));
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

/// The tests of a reference's file: `FILE` is `acceptance-tests/tests/FILE.rs`, a path with a `/`
/// is relative to the workspace root.
fn tests_in_workspace(root: &Path, file: &str) -> Option<Tests> {
    let path = if file.contains('/') {
        root.join(file)
    } else {
        root.join("acceptance-tests/tests").join(format!("{file}.rs"))
    };
    std::fs::read_to_string(path).ok().map(|s| source::tests(&s))
}

/// What `scripts/test` runs, as it says itself.
fn scripts_test_selection(root: &Path) -> Selection {
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/test"))
        .arg("--selection")
        .output()
        .unwrap_or_else(|e| panic!("running scripts/test --selection: {e}"));
    assert!(
        out.status.success(),
        "scripts/test --selection failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Selection::parse(&String::from_utf8_lossy(&out.stdout)).unwrap_or_else(|e| panic!("{e}"))
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
        let selection = scripts_test_selection(&root);
        let problems = check(&entries, &schema, &parse_gaps(&gaps), &selection, |f| {
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

    const FILE: &str = "#[test]\nfn alpha() { lab.lvs(); }\n\n#[tokio::test]\n#[cfg(unix)]\nasync fn beta() { \
                        helper() }\nfn helper() { lab.virsh_ok(&[]); }\n#[test]\n#[ignore]\nfn slow() { lab.lvs(); }\n\
                        #[test]\nfn state_only() { wd.apply(); }\n";

    fn files(f: &str) -> Option<Tests> {
        (f == "pool" || f == "sequence" || f == "tests/startup.rs").then(|| source::tests(FILE))
    }

    fn selection() -> Selection {
        Selection::parse("workspace\nharness\nacceptance pool\nacceptance sequence --exact alpha\n")
            .expect("parses")
    }

    #[test]
    fn test_functions_are_found_helpers_are_not() {
        let names: Vec<String> = source::tests(FILE).into_keys().collect();
        assert_eq!(names, ["alpha", "beta", "slow", "state_only"]);
    }

    #[test]
    fn a_complete_map_passes() {
        let map = "| key | tests |\n|---|---|\n| `p.a` | `pool::alpha`, `tests/startup.rs::beta` |\n\
                   | `p.b` | GAP |\n| `promise.x` | `pool::beta` |\n";
        let e = parse_map(map).expect("parses");
        assert_eq!(e.len(), 3);
        assert_eq!(
            check(&e, &keys(&["p.a", "p.b"]), &keys(&["p.b"]), &selection(), files),
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
            (
                "| `p.a` | `pool::slow` |",
                &["p.a"],
                &[],
                "`pool::slow` is #[ignore]d: scripts/test never runs it",
            ),
            (
                "| `p.a` | `sequence::beta` |",
                &["p.a"],
                &[],
                "`sequence::beta` is not run: scripts/test runs only alpha of sequence.rs",
            ),
            (
                "| `p.a` | `nolab::alpha` |",
                &["p.a"],
                &[],
                "no test file \"nolab\"",
            ),
            (
                "| `p.a` | `pool::state_only` |",
                &["p.a"],
                &[],
                "`pool::state_only` reads nothing on the hypervisor",
            ),
            (
                "| `promise.x` | `pool::state_only` | what it says |",
                &[],
                &[],
                "`pool::state_only` reads nothing on the hypervisor",
            ),
        ];
        for (map, schema, gaps, want) in cases {
            let e = parse_map(map).expect("parses");
            let problems = check(&e, &keys(schema), &keys(gaps), &selection(), files);
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
    fn rows_without_a_hypervisor_effect_say_so() {
        let map = "| `function.f` | `pool::state_only` | pure |\n\
                   | `promise.y` | `pool::state_only` | (no hypervisor effect: the diagnostic is the promise) |\n";
        let e = parse_map(map).expect("parses");
        assert!(!e[0].hypervisor && !e[1].hypervisor);
        let files = |f: &str| (f == "pool").then(|| source::tests(FILE));
        let schema = keys(&["function.f"]);
        assert_eq!(
            check(&e, &schema, &keys(&[]), &selection(), files),
            Vec::<String>::new()
        );
    }

    #[test]
    fn gaps_file_comments_and_blank_lines() {
        assert_eq!(
            parse_gaps("# known gaps\n\np.a   # why\n  p.b\n"),
            keys(&["p.a", "p.b"])
        );
    }
}
