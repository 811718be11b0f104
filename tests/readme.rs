//! The README's table of types names every resource and data source the provider serves: a
//! type added without its row fails here.

use terraform_provider_libvirt::{data_sources, resources};

#[test]
fn the_readme_table_names_every_type() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let table: String = readme
        .lines()
        .filter(|l| l.starts_with("| "))
        .collect::<Vec<_>>()
        .join("\n");
    let mut missing = Vec::new();
    for name in resources::all().iter().map(|r| r.type_name()) {
        if !table.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    for name in data_sources::all().iter().map(|d| d.type_name()) {
        if !table.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "README.md's table has no row naming {missing:?}"
    );
}
