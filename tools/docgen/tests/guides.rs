//! The hand-written guides (`tools/docgen/guides/`): their Terraform snippets are formatted
//! (`terraform fmt -check`), and the migration guide's attribute tables name attributes this
//! provider has.
//!
//! Uses `terraform` from PATH, or the binary named by `TF_BIN`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use terraform_provider_libvirt::framework::Schema;
use tfrun::TfDir;

fn guides() -> Vec<(PathBuf, String)> {
    let dir = docgen::workspace_root().join(docgen::GUIDES);
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "guides in {}: {out:?}", dir.display());
    out
}

/// The bodies of the ```` ```terraform ```` blocks of a Markdown text.
fn terraform_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```terraform") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn guide_snippets_are_formatted() {
    let dir = TfDir::with_cli_config("docgen-guides", "").expect("tempdir");
    let mut written = Vec::new();
    for (path, text) in guides() {
        let stem = path.file_stem().expect("name").to_string_lossy().to_string();
        for (i, block) in terraform_blocks(&text).iter().enumerate() {
            let name = format!("{stem}-{i}.tf");
            dir.write(&name, block).expect("write snippet");
            written.push(name);
        }
    }
    assert!(written.len() >= 5, "snippets found: {written:?}");
    let run = dir.run(&["fmt", "-check", "-diff", "-no-color"], Duration::from_secs(120));
    assert!(
        run.ok(),
        "guide snippets are not formatted as `terraform fmt` writes them (file <guide>-<n>.tf is the \
         n-th terraform block of the guide):\n{run}"
    );
}

/// Every attribute and nested attribute name of a schema.
fn names(schema: &Schema) -> BTreeSet<String> {
    let mut n: BTreeSet<String> = schema.attributes.iter().map(|a| a.name.to_string()).collect();
    for b in &schema.blocks {
        n.insert(b.name.to_string());
        n.extend(b.attributes.iter().map(|a| a.name.to_string()));
    }
    n
}

/// The identifiers in backticks in the third column of the table under `heading`.
fn third_column_names(text: &str, heading: &str) -> Vec<String> {
    let table = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("no heading {heading:?}"))
        .1
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect::<Vec<_>>();
    assert!(table.len() >= 8, "the table under {heading:?}: {table:?}");
    let mut out = Vec::new();
    for row in table {
        let cell = row.split('|').nth(3).unwrap_or_else(|| panic!("row {row:?}"));
        for (i, quoted) in cell.split('`').enumerate() {
            if i % 2 == 1 {
                let ident: String = quoted
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    out.push(ident);
                }
            }
        }
    }
    out
}

#[test]
fn the_migration_tables_name_attributes_this_provider_has() {
    let (_, text) = guides()
        .into_iter()
        .find(|(p, _)| p.ends_with(Path::new("migrating-from-the-go-provider.md")))
        .expect("the migration guide");
    for r in terraform_provider_libvirt::resources::all() {
        let heading = match r.type_name() {
            "libvirt_lvm_volume" => "### `libvirt_volume` → `libvirt_lvm_volume`",
            "libvirt_lvm_pool" => "### `libvirt_pool` → `libvirt_lvm_pool`",
            _ => continue,
        };
        let known = names(r.schema());
        let unknown: Vec<String> = third_column_names(&text, heading)
            .into_iter()
            .filter(|n| !known.contains(n))
            .collect();
        assert!(
            unknown.is_empty(),
            "{heading}: {unknown:?} are not attributes of {} ({known:?})",
            r.type_name()
        );
    }
}
