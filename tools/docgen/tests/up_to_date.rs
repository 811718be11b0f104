//! The committed docs/ are what the generator makes from the current schema
//! and examples.

#[test]
fn docs_are_up_to_date() {
    let root = docgen::workspace_root();
    let diffs = docgen::check(&root).unwrap_or_else(|e| panic!("generating the docs: {e}"));
    let list: Vec<String> = diffs.iter().map(|d| format!("  {d}")).collect();
    assert!(
        diffs.is_empty(),
        "docs/ is stale: run `{}`\n{}",
        docgen::REGENERATE,
        list.join("\n")
    );
}

#[test]
fn generation_is_deterministic() {
    let root = docgen::workspace_root();
    let a = docgen::generate(&root).expect("generate");
    let b = docgen::generate(&root).expect("generate");
    assert_eq!(a, b);
}
