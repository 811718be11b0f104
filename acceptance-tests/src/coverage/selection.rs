//! Which tests `scripts/test` runs, as it prints them itself (`scripts/test --selection`): the
//! coverage map may name only tests that a full run executes.
//!
//! One line per `cargo test` invocation's selection:
//!
//! ```text
//! workspace                        every test of the workspace's other crates (not #[ignore]d)
//! harness                          the acceptance harness's own unit tests (--lib)
//! acceptance FILE                  every test of acceptance-tests/tests/FILE.rs (not #[ignore]d)
//! acceptance FILE --exact NAME...  only these tests of that file
//! ```

use std::collections::{BTreeMap, BTreeSet};

/// The tests a full `scripts/test` runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// `cargo test --workspace --exclude acceptance-tests` runs.
    pub(crate) workspace: bool,
    /// `cargo test -p acceptance-tests --lib` runs.
    pub(crate) harness: bool,
    /// Acceptance test file → `None` (all its tests) or the exact names run.
    pub(crate) files: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Selection {
    /// Reads `scripts/test --selection`; a line it does not know is an error quoting it.
    pub(crate) fn parse(text: &str) -> Result<Selection, String> {
        let mut s = Selection::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["workspace"] => s.workspace = true,
                ["harness"] => s.harness = true,
                ["acceptance", file] => {
                    s.files.insert(file.to_string(), None);
                }
                ["acceptance", file, "--exact", names @ ..] if !names.is_empty() => {
                    let entry = s
                        .files
                        .entry(file.to_string())
                        .or_insert_with(|| Some(BTreeSet::new()));
                    if let Some(set) = entry {
                        set.extend(names.iter().map(|n| n.to_string()));
                    }
                }
                _ => return Err(format!("scripts/test --selection printed {line:?}")),
            }
        }
        Ok(s)
    }

    /// Why `function` of the reference's `file` is not run, or None when it is. `file` is an
    /// acceptance test file's name, or a path from the workspace root (a test elsewhere).
    pub(crate) fn not_run(&self, file: &str, function: &str) -> Option<String> {
        if file.contains('/') {
            let harness = file.starts_with("acceptance-tests/");
            return match (harness, self.workspace, self.harness) {
                (false, true, _) | (true, _, true) => None,
                _ => Some(format!("scripts/test runs no cargo test that reaches {file}")),
            };
        }
        match self.files.get(file) {
            None => Some(format!(
                "scripts/test runs no test of acceptance-tests/tests/{file}.rs"
            )),
            Some(None) => None,
            Some(Some(names)) if names.contains(function) => None,
            Some(Some(names)) => Some(format!(
                "scripts/test runs only {} of {file}.rs (with --exact)",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse_and_decide() {
        let s = Selection::parse(
            "workspace\nharness\nacceptance pool\nacceptance sequence --exact sequence_test_driver\n\
             acceptance sequence --exact sequence_lab\n",
        )
        .expect("parses");
        assert_eq!(s.not_run("pool", "anything"), None);
        assert_eq!(s.not_run("sequence", "sequence_lab"), None);
        assert!(s
            .not_run("sequence", "sequence_other")
            .expect("not run")
            .contains("runs only sequence_lab, sequence_test_driver"));
        assert!(s
            .not_run("volume", "x")
            .expect("no such file")
            .contains("volume.rs"));
        assert_eq!(s.not_run("tests/startup.rs", "x"), None);
        let quick = Selection::parse("harness\n").expect("parses");
        assert!(quick.not_run("tests/startup.rs", "x").is_some());
        assert_eq!(quick.not_run("acceptance-tests/src/lab.rs", "x"), None);
        assert!(Selection::parse("acceptance\n").is_err());
        assert!(Selection::parse("acceptance f --exact\n").is_err());
    }
}
