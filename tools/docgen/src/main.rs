//! `cargo run -p docgen` writes docs/ from the provider's schema and examples/;
//! `cargo run -p docgen -- --check` lists the files that differ and writes nothing.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => false,
        ["--check"] => true,
        _ => {
            eprintln!(
                "usage: cargo run -p docgen [-- --check]\n\n\
                 Writes docs/ from the provider's schema and examples/. With --check, lists the\n\
                 files that differ from what would be written and exits 1 if there are any."
            );
            return ExitCode::from(2);
        }
    };
    let root = docgen::workspace_root();
    for note in docgen::lint() {
        eprintln!("note: {note}");
    }
    let result = if check {
        docgen::check(&root)
    } else {
        docgen::write(&root)
    };
    let diffs = match result {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        if diffs.is_empty() {
            println!("docs/ is up to date");
            return ExitCode::SUCCESS;
        }
        for d in &diffs {
            println!("{d}");
        }
        eprintln!("docs/ is stale: run `{}`", docgen::REGENERATE);
        return ExitCode::FAILURE;
    }
    if diffs.is_empty() {
        println!("docs/ is up to date");
    }
    for d in &diffs {
        match d {
            docgen::Difference::Unexpected(p) => println!("removed {}", p.display()),
            docgen::Difference::Missing(p) | docgen::Difference::Changed(p) => {
                println!("wrote {}", p.display())
            }
        }
    }
    ExitCode::SUCCESS
}
