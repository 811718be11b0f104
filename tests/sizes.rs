//! Rooms a newcomer can find their way in: no file of the provider, the framework or the test
//! harness over 1,000 lines, and no function of the provider or the framework over 100 lines of
//! code, unless a comment says why (`… on purpose: …`; for a file, near its top; for a function,
//! in the comments just above it). Comments, blank lines, strings and character literals do not
//! count: a long explanation is never a reason to split code.

use std::path::{Path, PathBuf};

const FILE_LIMIT: usize = 1000;
const FN_LIMIT: usize = 100;

/// The text with comments, strings and character literals blanked (newlines kept, so line
/// numbers hold).
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
                out.push(' ');
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r' && (next == Some('#') || next == Some('"')) && !prev_is_ident(&c, i) {
            // A raw string: r"…", r#"…"#.
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            if c.get(i + 1 + hashes) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let end: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push('"');
            i += 2 + hashes;
            while i < c.len() && !c[i..].starts_with(&end.chars().collect::<Vec<_>>()) {
                blank(&mut out, c[i]);
                i += 1;
            }
            out.push('"');
            i += end.len();
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' && is_char_literal(&c, i) {
            // 'x', '\n', '\u{1F600}' (a lifetime has no closing quote).
            let close =
                (i + 1..c.len().min(i + 12)).find(|&j| c[j] == '\'' && (j != i + 1 || c[i + 1] == '\\'));
            let end = close.unwrap_or(i);
            for _ in i..=end {
                out.push(' ');
            }
            i = end + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

fn is_char_literal(c: &[char], i: usize) -> bool {
    matches!(
        (c.get(i + 1), c.get(i + 2)),
        (Some('\\'), _) | (Some(_), Some('\''))
    )
}

/// Lines that hold code.
fn code_lines(code: &str) -> usize {
    code.lines().filter(|l| !l.trim().is_empty()).count()
}

/// Each function of `text`: its name, the line of its `fn` (1-based) and its lines of code.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let code = code_only(text);
    let b = code.as_bytes();
    let mut found = Vec::new();
    for (at, _) in code.match_indices("fn ") {
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body: the first `{` before any `;` (a declaration without a body has none).
        let Some(open) = code[at..].find(['{', ';']).map(|o| at + o) else {
            continue;
        };
        if b[open] == b';' {
            continue;
        }
        let mut depth = 0usize;
        let mut close = open;
        for (j, ch) in code[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let line = code[..at].matches('\n').count() + 1;
        found.push((name, line, code_lines(&code[at..=close])));
    }
    found
}

/// Whether the comments just above line `line` (1-based) give a reason.
fn reason_above(text: &str, line: usize) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines[..line - 1]
        .iter()
        .rev()
        .take_while(|l| {
            let t = l.trim_start();
            t.starts_with("//") || t.starts_with("#[")
        })
        .any(|l| l.contains("on purpose"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// What is over its limit without a reason, in the files under `dirs` (functions only when
/// `functions_too`).
fn over(dirs: &[&str], functions_too: bool) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in dirs {
        rust_files(&root.join(d), &mut files);
    }
    let mut problems = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
        let lines = text.lines().count();
        let top: String = text.lines().take(15).collect::<Vec<_>>().join("\n");
        if lines > FILE_LIMIT && !top.contains("on purpose") {
            problems.push(format!("{rel}: {lines} lines"));
        }
        if functions_too {
            for (name, line, n) in functions(&text) {
                if n > FN_LIMIT && !reason_above(&text, line) {
                    problems.push(format!("{rel}:{line}: fn {name}: {n} lines of code"));
                }
            }
        }
    }
    problems
}

#[test]
fn no_room_too_large_without_a_reason() {
    let mut problems = over(&["src", "framework/src"], true);
    problems.extend(over(&["acceptance-tests/src"], false));
    assert!(
        problems.is_empty(),
        "over {FILE_LIMIT} lines a file, or {FN_LIMIT} lines of code a function, with no comment saying why \
         (\"… on purpose: …\"):\n{}",
        problems.join("\n")
    );
}

/// The measure itself: comments, strings and character literals are not code; a reason counts
/// only just above its function.
#[test]
fn the_measure_counts_code_only() {
    let text = "/// Doc.\nfn a() {\n    // a comment { not a brace\n    let s = \"}\";\n    let c = '}';\n\n    \
                let r = r#\"}\"#;\n}\n// Long on purpose: a table.\nfn b<'x>(v: &'x str) -> &'x str {\n    v\n}\n\
                fn decl();\n";
    let f = functions(text);
    assert_eq!(
        f,
        [("a".to_string(), 2, 5), ("b".to_string(), 10, 3)],
        "{}",
        code_only(text)
    );
    assert!(!reason_above(text, 2));
    assert!(reason_above(text, 10));
    let long = format!("fn big() {{\n{}}}\n", "    x();\n".repeat(FN_LIMIT));
    assert_eq!(functions(&long)[0].2, FN_LIMIT + 2);
}
