//! Generates the provider's documentation in the Terraform registry layout
//! (`docs/index.md`, `docs/resources/`, `docs/data-sources/`, `docs/functions/`,
//! `docs/guides/`) from the schemas the provider serves, the example files
//! under `examples/`, and the hand-written guides in `tools/docgen/guides/`
//! (each with its registry front matter checked and rewritten).
//!
//! The output is deterministic: attributes are sorted by name within each
//! section, types by name, and nothing depends on the time or the machine.
//! [`check`] compares what would be written with what is committed; the
//! `up_to_date` test and `cargo run -p docgen -- --check` use it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use terraform_provider_libvirt::framework::resource::IdentitySchema;
use terraform_provider_libvirt::framework::schema::{Attribute, Block};
use terraform_provider_libvirt::framework::Function;
use terraform_provider_libvirt::framework::{Schema, Type, Value};
use terraform_provider_libvirt::functions::functions;
use terraform_provider_libvirt::provider;

/// The provider's local name, as in `provider "libvirt"` and `libvirt_…` type names.
pub const PROVIDER_NAME: &str = "libvirt";

/// What to run to regenerate the docs.
pub const REGENERATE: &str = "cargo run -p docgen";

/// Hand-written part of the provider page: connection URIs and authentication.
const PROVIDER_GUIDE: &str = include_str!("../templates/provider.md");

/// The directories whose `.md` files are all generated (others under `docs/` are left alone).
const GENERATED_DIRS: &[&str] = &[
    "docs/resources",
    "docs/data-sources",
    "docs/functions",
    "docs/guides",
];

/// Where the guides are written by hand: `<name>.md` becomes `docs/guides/<name>.md`.
pub const GUIDES: &str = "tools/docgen/guides";

/// Where function examples live (the owned `examples/` subdirectories have no `functions/`).
const FUNCTION_EXAMPLES: &str = "tools/docgen/function-examples";

/// A failure to generate (a missing example file, an unreadable directory).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// How a committed file differs from what would be generated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// It would be written but does not exist.
    Missing(PathBuf),
    /// It exists with other contents.
    Changed(PathBuf),
    /// It exists in a generated directory but would not be written.
    Unexpected(PathBuf),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Missing(p) => write!(f, "{} (missing)", p.display()),
            Difference::Changed(p) => write!(f, "{} (differs)", p.display()),
            Difference::Unexpected(p) => write!(f, "{} (not generated any more)", p.display()),
        }
    }
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Every generated file: path relative to `root`, and contents.
pub fn generate(root: &Path) -> Result<BTreeMap<PathBuf, String>, Error> {
    let mut files = BTreeMap::new();
    let examples = Examples { root };

    files.insert(PathBuf::from("docs/index.md"), provider_page(&examples)?);

    let mut resources = terraform_provider_libvirt::resources::all();
    resources.sort_by_key(|r| r.type_name());
    for r in &resources {
        let name = r.type_name();
        let page = resource_page(name, r.schema(), r.identity_schema().as_ref(), &examples)?;
        files.insert(PathBuf::from(format!("docs/resources/{}.md", short(name))), page);
    }

    let mut data_sources = terraform_provider_libvirt::data_sources::all();
    data_sources.sort_by_key(|d| d.type_name());
    for d in &data_sources {
        let name = d.type_name();
        let page = data_source_page(name, d.schema(), &examples)?;
        files.insert(
            PathBuf::from(format!("docs/data-sources/{}.md", short(name))),
            page,
        );
    }

    let functions: BTreeMap<_, _> = functions().into_iter().map(|f| (f.name, f)).collect();
    for (name, def) in &functions {
        let page = function_page(name, def, &examples)?;
        files.insert(PathBuf::from(format!("docs/functions/{name}.md")), page);
    }

    for source in markdown_files(root, Path::new(GUIDES))? {
        let name = source.file_name().expect("a file name").to_owned();
        let text = examples.read(&source.to_string_lossy())?;
        let page = guide_page(&source, &text)?;
        files.insert(Path::new("docs/guides").join(name), page);
    }
    Ok(files)
}

/// A guide's registry front matter, as written at the top of its source.
#[derive(Debug, PartialEq, Eq)]
pub struct GuideMeta {
    /// `page_title`.
    pub title: String,
    /// `subcategory`: the group the registry lists the guide under.
    pub subcategory: String,
    /// `description`, one paragraph.
    pub description: String,
}

/// Splits a guide source into its front matter and its body. The front matter is the registry's:
/// `page_title: "…"`, `subcategory: "…"` (not empty) and `description: |-` followed by indented
/// lines; anything else in it, or any of them missing, is an error naming the file.
pub fn parse_guide(source: &Path, text: &str) -> Result<(GuideMeta, String), Error> {
    let bad = |why: &str| Error(format!("{}: {why}", source.display()));
    let rest = text
        .strip_prefix("---\n")
        .ok_or_else(|| bad("does not start with front matter (a line `---`)"))?;
    let (front, body) = rest
        .split_once("\n---\n")
        .ok_or_else(|| bad("its front matter has no closing `---` line"))?;
    let quoted = |line: &str, key: &str| -> Option<Result<String, Error>> {
        let v = line.strip_prefix(key)?.strip_prefix(": ")?.trim();
        Some(match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(v) if !v.is_empty() && !v.contains('"') => Ok(v.to_string()),
            _ => Err(bad(&format!("`{key}` must be a non-empty double-quoted string"))),
        })
    };
    let (mut title, mut subcategory, mut description) = (None, None, None);
    let mut lines = front.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(v) = quoted(line, "page_title") {
            title = Some(v?);
        } else if let Some(v) = quoted(line, "subcategory") {
            subcategory = Some(v?);
        } else if line == "description: |-" {
            let mut text = Vec::new();
            while let Some(l) = lines.next_if(|l| l.starts_with("  ")) {
                text.push(l.trim());
            }
            description = Some(text.join("\n")).filter(|d| !d.is_empty());
        } else {
            return Err(bad(&format!(
                "unexpected front matter line {line:?} (page_title, subcategory and description only)"
            )));
        }
    }
    let meta = GuideMeta {
        title: title.ok_or_else(|| bad("no page_title"))?,
        subcategory: subcategory.ok_or_else(|| bad("no subcategory"))?,
        description: description
            .ok_or_else(|| bad("no description (`description: |-` and indented lines)"))?,
    };
    Ok((meta, body.to_string()))
}

fn guide_page(source: &Path, text: &str) -> Result<String, Error> {
    let (meta, body) = parse_guide(source, text)?;
    let mut out = String::from("---\n");
    let _ = writeln!(
        out,
        "# generated by tools/docgen ({REGENERATE}) from {}",
        source.display()
    );
    let _ = writeln!(out, "page_title: \"{}\"", meta.title);
    let _ = writeln!(out, "subcategory: \"{}\"", meta.subcategory);
    out.push_str("description: |-\n");
    for line in meta.description.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("---\n");
    out.push_str(&body);
    Ok(finish(out))
}

/// The differences between the committed docs under `root` and what
/// [`generate`] gives (empty when the docs are up to date). Writes nothing.
pub fn check(root: &Path) -> Result<Vec<Difference>, Error> {
    let files = generate(root)?;
    let mut diffs = Vec::new();
    for (path, contents) in &files {
        match std::fs::read_to_string(root.join(path)) {
            Ok(existing) if existing == *contents => {}
            Ok(_) => diffs.push(Difference::Changed(path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                diffs.push(Difference::Missing(path.clone()))
            }
            Err(e) => return Err(Error(format!("reading {}: {e}", path.display()))),
        }
    }
    for dir in GENERATED_DIRS {
        for path in markdown_files(root, Path::new(dir))? {
            if !files.contains_key(&path) {
                diffs.push(Difference::Unexpected(path));
            }
        }
    }
    diffs.sort();
    Ok(diffs)
}

/// Brings the docs under `root` up to date: writes what differs and removes
/// pages of types that no longer exist. Returns what it changed.
pub fn write(root: &Path) -> Result<Vec<Difference>, Error> {
    let files = generate(root)?;
    let diffs = check(root)?;
    for d in &diffs {
        match d {
            Difference::Missing(p) | Difference::Changed(p) => {
                let full = root.join(p);
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error(format!("creating {}: {e}", parent.display())))?;
                }
                std::fs::write(&full, &files[p])
                    .map_err(|e| Error(format!("writing {}: {e}", p.display())))?;
            }
            Difference::Unexpected(p) => {
                std::fs::remove_file(root.join(p))
                    .map_err(|e| Error(format!("removing {}: {e}", p.display())))?;
            }
        }
    }
    Ok(diffs)
}

/// Schema texts that will read badly in the docs: missing descriptions,
/// descriptions that do not end a sentence. For the maintainers, not fatal.
pub fn lint() -> Vec<String> {
    let mut notes = Vec::new();
    let mut schemas = vec![("provider".to_string(), provider::schema())];
    for r in terraform_provider_libvirt::resources::all() {
        schemas.push((format!("resource {}", r.type_name()), r.schema().clone()));
    }
    for d in terraform_provider_libvirt::data_sources::all() {
        schemas.push((format!("data source {}", d.type_name()), d.schema().clone()));
    }
    for (what, s) in &schemas {
        if s.description.trim().is_empty() {
            notes.push(format!("{what}: no description"));
        }
        let mut attrs: Vec<(String, &Attribute)> = s
            .attributes
            .iter()
            .map(|a| (format!("{what}.{}", a.name), a))
            .collect();
        for b in &s.blocks {
            if b.description.trim().is_empty() {
                notes.push(format!("{what}.{}: no description", b.name));
            }
            attrs.extend(
                b.attributes
                    .iter()
                    .map(|a| (format!("{what}.{}.{}", b.name, a.name), a)),
            );
        }
        for (path, a) in attrs {
            lint_attribute(&path, a, &mut notes);
        }
    }
    for def in functions() {
        let name = def.name;
        if def.summary.trim().is_empty() || def.description.trim().is_empty() {
            notes.push(format!("function {name}: no summary or description"));
        }
        for p in &def.params {
            if p.description.trim().is_empty() {
                notes.push(format!("function {name}({}): no description", p.name));
            }
        }
    }
    notes.sort();
    notes
}

fn lint_attribute(path: &str, a: &Attribute, notes: &mut Vec<String>) {
    let text = a.full_description();
    let text = text.trim();
    if text.is_empty() {
        notes.push(format!("{path}: no description"));
        return;
    }
    if !text.ends_with(['.', ')', ':']) && !text.ends_with(".`") {
        notes.push(format!(
            "{path}: description does not end with a full stop: {text:?}"
        ));
    }
    let lower = text.to_lowercase();
    if a.requires_replace && (lower.contains("replaces the") || lower.contains("forces a new")) {
        notes.push(format!(
            "{path}: says that a change replaces the object, which the docs add anyway \
             (\"Changing this forces a new resource.\"): {text:?}"
        ));
    }
    if a.default.is_some() && lower.contains("default") {
        notes.push(format!(
            "{path}: mentions a default, which the docs add anyway (\"Defaults to …\"): {text:?}"
        ));
    }
}

// ---------------------------------------------------------------- pages

fn provider_page(ex: &Examples) -> Result<String, Error> {
    let schema = provider::schema();
    let mut out = front_matter(&format!("{PROVIDER_NAME} Provider"), &schema.description);
    let _ = writeln!(out, "# {PROVIDER_NAME} Provider\n");
    let _ = writeln!(out, "{}\n", schema.description.trim());
    example_usage(&mut out, "terraform", &ex.read("examples/provider/provider.tf")?);
    out.push_str(PROVIDER_GUIDE.trim());
    out.push_str("\n\n");
    schema_section(&mut out, &schema, Kind::Provider);
    Ok(finish(out))
}

fn resource_page(
    name: &str,
    schema: &Schema,
    identity: Option<&IdentitySchema>,
    ex: &Examples,
) -> Result<String, Error> {
    let dir = format!("examples/resources/{name}");
    let mut out = front_matter(&format!("{name} Resource - {PROVIDER_NAME}"), &schema.description);
    let _ = writeln!(out, "# {name} (Resource)\n");
    let _ = writeln!(out, "{}\n", schema.description.trim());
    example_usage(&mut out, "terraform", &ex.read(&format!("{dir}/resource.tf"))?);
    schema_section(&mut out, schema, Kind::Resource);

    out.push_str("## Import\n\nImport is supported using the following syntax:\n\n");
    out.push_str(
        "In Terraform v1.5.0 and later, the [`import` block](https://developer.hashicorp.com/terraform/language/import) \
         can be used with the `id` attribute, for example:\n\n",
    );
    fenced(
        &mut out,
        "terraform",
        &ex.read(&format!("{dir}/import-by-string-id.tf"))?,
    );
    let identity_example = format!("{dir}/import-by-identity.tf");
    match identity {
        Some(identity) => {
            out.push_str(
                "In Terraform v1.12.0 and later, the [`import` block](https://developer.hashicorp.com/terraform/language/import) \
                 can be used with the `identity` attribute, for example:\n\n",
            );
            fenced(&mut out, "terraform", &ex.read(&identity_example)?);
            identity_section(&mut out, identity);
        }
        None if ex.exists(&identity_example) => {
            return Err(Error(format!(
                "{identity_example} exists but {name} has no identity schema: remove the example"
            )))
        }
        None => {}
    }
    out.push_str(
        "The [`terraform import` command](https://developer.hashicorp.com/terraform/cli/commands/import) \
         can be used, for example:\n\n",
    );
    fenced(&mut out, "shell", &ex.read(&format!("{dir}/import.sh"))?);
    Ok(finish(out))
}

fn data_source_page(name: &str, schema: &Schema, ex: &Examples) -> Result<String, Error> {
    let mut out = front_matter(
        &format!("{name} Data Source - {PROVIDER_NAME}"),
        &schema.description,
    );
    let _ = writeln!(out, "# {name} (Data Source)\n");
    let _ = writeln!(out, "{}\n", schema.description.trim());
    example_usage(
        &mut out,
        "terraform",
        &ex.read(&format!("examples/data-sources/{name}/data-source.tf"))?,
    );
    schema_section(&mut out, schema, Kind::DataSource);
    Ok(finish(out))
}

fn function_page(name: &str, def: &Function, ex: &Examples) -> Result<String, Error> {
    let mut out = front_matter(&format!("{name} function - {PROVIDER_NAME}"), def.summary);
    let _ = writeln!(out, "# function: {name}\n");
    let _ = writeln!(out, "{}\n", def.description.trim());
    example_usage(
        &mut out,
        "terraform",
        &ex.read(&format!("{FUNCTION_EXAMPLES}/{name}/function.tf"))?,
    );

    let ret = def.ret.clone();
    let params: Vec<(&str, Type, &str)> = def
        .params
        .iter()
        .map(|p| (p.name, p.ty.clone(), p.description))
        .collect();
    let signature: Vec<String> = params
        .iter()
        .map(|(n, t, _)| format!("{n} {}", hcl_type(t)))
        .collect();
    out.push_str("## Signature\n\n");
    fenced(
        &mut out,
        "text",
        &format!("{name}({}) {}", signature.join(", "), hcl_type(&ret)),
    );
    out.push_str("## Arguments\n\n");
    for (i, (n, t, d)) in params.iter().enumerate() {
        let _ = writeln!(out, "{}. `{n}` ({}) {}", i + 1, type_name(t), d.trim());
    }
    Ok(finish(out))
}

// ---------------------------------------------------------------- parts

fn front_matter(title: &str, description: &str) -> String {
    let first_paragraph = description.trim().split("\n\n").next().unwrap_or_default();
    let mut out = String::from("---\n");
    let _ = writeln!(
        out,
        "# generated by tools/docgen ({REGENERATE}) from the provider's schema and examples/"
    );
    let _ = writeln!(out, "page_title: \"{title}\"");
    out.push_str("subcategory: \"\"\n");
    out.push_str("description: |-\n");
    for line in first_paragraph.lines() {
        let _ = writeln!(out, "  {}", line.trim());
    }
    out.push_str("---\n\n");
    out
}

fn example_usage(out: &mut String, lang: &str, body: &str) {
    out.push_str("## Example Usage\n\n");
    fenced(out, lang, body);
}

fn fenced(out: &mut String, lang: &str, body: &str) {
    let _ = writeln!(out, "```{lang}\n{}\n```\n", body.trim_end());
}

/// One trailing newline, no trailing spaces.
fn finish(out: String) -> String {
    let mut lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Provider,
    Resource,
    DataSource,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Required,
    Optional,
    ReadOnly,
}

impl Section {
    fn of(a: &Attribute) -> Section {
        if a.required {
            Section::Required
        } else if a.optional {
            Section::Optional
        } else {
            Section::ReadOnly
        }
    }
    fn title(self) -> &'static str {
        match self {
            Section::Required => "Required",
            Section::Optional => "Optional",
            Section::ReadOnly => "Read-Only",
        }
    }
}

/// One line of a schema list, and what it needs below the list.
struct Item {
    name: String,
    section: Section,
    line: String,
    nested: Option<Nested>,
}

/// A nested schema section: a block, or the fields of an object-typed attribute.
struct Nested {
    anchor: String,
    title: String,
    items: Vec<Item>,
}

fn schema_section(out: &mut String, schema: &Schema, kind: Kind) {
    let mut items: Vec<Item> = schema
        .attributes
        .iter()
        .map(|a| attribute_item(a, kind, ""))
        .collect();
    items.extend(schema.blocks.iter().map(|b| block_item(b, kind)));
    out.push_str("<!-- schema generated by tools/docgen -->\n## Schema\n\n");
    let mut nested = Vec::new();
    item_lists(out, items, "### ", &mut nested);
    while !nested.is_empty() {
        let mut deeper = Vec::new();
        for n in nested {
            let _ = writeln!(
                out,
                "<a id=\"{}\"></a>\n### Nested Schema for `{}`\n",
                n.anchor, n.title
            );
            item_lists(out, n.items, "", &mut deeper);
        }
        nested = deeper;
    }
}

/// Writes the items grouped by section (alphabetical within each); collects
/// their nested schemas into `nested`. `heading` is `"### "` for the top
/// level; nested levels use `Required:`-style labels as the registry does.
fn item_lists(out: &mut String, mut items: Vec<Item>, heading: &str, nested: &mut Vec<Nested>) {
    items.sort_by(|a, b| (a.section, &a.name).cmp(&(b.section, &b.name)));
    let mut current = None;
    for item in items {
        if current != Some(item.section) {
            if current.is_some() {
                out.push('\n');
            }
            if heading.is_empty() {
                let _ = writeln!(out, "{}:\n", item.section.title());
            } else {
                let _ = writeln!(out, "{heading}{}\n", item.section.title());
            }
            current = Some(item.section);
        }
        let _ = writeln!(out, "{}", item.line);
        if let Some(n) = item.nested {
            nested.push(n);
        }
    }
    out.push('\n');
}

fn attribute_item(a: &Attribute, kind: Kind, parent: &str) -> Item {
    let section = Section::of(a);
    let path = format!("{parent}{}", a.name);
    let mut flags = vec![type_name(&a.ty)];
    if a.sensitive {
        flags.push("Sensitive".into());
    }
    if a.deprecated.is_some() {
        flags.push("Deprecated".into());
    }
    let mut parts = Vec::new();
    let description = a.full_description();
    if !description.trim().is_empty() {
        parts.push(description.trim().to_string());
    }
    if let Some(v) = &a.default {
        parts.push(format!("Defaults to `{}`.", literal(v)));
    }
    if kind == Kind::Resource && a.requires_replace {
        parts.push("Changing this forces a new resource.".into());
    }
    let nested = object_fields(&a.ty).map(|fields| Nested {
        anchor: format!("nestedatt--{}", path.replace('.', "--")),
        title: path.clone(),
        items: fields
            .iter()
            .map(|(name, ty)| Item {
                name: name.clone(),
                section,
                line: format!("- `{name}` ({})", type_name(ty)),
                nested: None,
            })
            .collect(),
    });
    if let Some(n) = &nested {
        parts.push(format!("(see [below for nested schema](#{}))", n.anchor));
    }
    Item {
        name: a.name.to_string(),
        section,
        line: format!("- `{}` ({}) {}", a.name, flags.join(", "), parts.join(" ")),
        nested,
    }
}

fn block_item(b: &Block, kind: Kind) -> Item {
    let anchor = format!("nestedblock--{}", b.name);
    let mut parts = Vec::new();
    if !b.description.trim().is_empty() {
        parts.push(b.description.trim().to_string());
    }
    parts.push(format!("(see [below for nested schema](#{anchor}))"));
    Item {
        name: b.name.to_string(),
        section: Section::Optional,
        line: format!("- `{}` (Block, Optional) {}", b.name, parts.join(" ")),
        nested: Some(Nested {
            anchor,
            title: b.name.to_string(),
            items: b
                .attributes
                .iter()
                .map(|a| attribute_item(a, kind, &format!("{}.", b.name)))
                .collect(),
        }),
    }
}

fn identity_section(out: &mut String, identity: &IdentitySchema) {
    out.push_str("<!-- schema generated by tools/docgen -->\n### Identity Schema\n\n");
    let mut attrs: Vec<_> = identity.attributes.iter().collect();
    attrs.sort_by_key(|(name, _, required, _)| (!*required, *name));
    let mut current = None;
    for (name, ty, required, description) in attrs {
        if current != Some(*required) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "#### {}\n", if *required { "Required" } else { "Optional" });
            current = Some(*required);
        }
        let _ = writeln!(out, "- `{name}` ({}) {}", type_name(ty), description.trim());
    }
    out.push('\n');
}

/// The fields of an object type, or of the objects in a list, set or map.
fn object_fields(ty: &Type) -> Option<&BTreeMap<String, Type>> {
    match ty {
        Type::Object(fields) => Some(fields),
        Type::List(e) | Type::Set(e) | Type::Map(e) => object_fields(e),
        _ => None,
    }
}

/// The registry's type names: `String`, `Set of String`, `List of Object`.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "Bool".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// Terraform's type constraint syntax, for function signatures.
fn hcl_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::Number => "number".into(),
        Type::String => "string".into(),
        Type::Dynamic => "any".into(),
        Type::List(e) => format!("list({})", hcl_type(e)),
        Type::Set(e) => format!("set({})", hcl_type(e)),
        Type::Map(e) => format!("map({})", hcl_type(e)),
        Type::Object(fields) => {
            let f: Vec<String> = fields
                .iter()
                .map(|(k, t)| format!("{k} = {}", hcl_type(t)))
                .collect();
            format!("object({{{}}})", f.join(", "))
        }
        Type::Tuple(items) => {
            let i: Vec<String> = items.iter().map(hcl_type).collect();
            format!("tuple([{}])", i.join(", "))
        }
    }
}

/// A value as it would be written in HCL.
fn literal(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            let i: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", i.join(", "))
        }
        Value::Map(m) | Value::Object(m) => {
            let i: Vec<String> = m.iter().map(|(k, v)| format!("{k} = {}", literal(v))).collect();
            format!("{{ {} }}", i.join(", "))
        }
        Value::Dynamic(_, v) => literal(v),
        Value::Unknown => "(known after apply)".into(),
    }
}

/// `libvirt_lvm_pool` → `lvm_pool`.
fn short(type_name: &str) -> &str {
    type_name
        .strip_prefix(&format!("{PROVIDER_NAME}_"))
        .unwrap_or(type_name)
}

/// Reads example files relative to the workspace root.
struct Examples<'a> {
    root: &'a Path,
}

impl Examples<'_> {
    fn read(&self, path: &str) -> Result<String, Error> {
        std::fs::read_to_string(self.root.join(path))
            .map_err(|e| Error(format!("{path}: {e} (the docs embed this example; write it)")))
    }
    fn exists(&self, path: &str) -> bool {
        self.root.join(path).exists()
    }
}

fn markdown_files(root: &Path, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(root.join(dir)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error(format!("reading {}: {e}", dir.display()))),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error(format!("reading {}: {e}", dir.display())))?;
        let name = entry.file_name();
        if Path::new(&name).extension().is_some_and(|e| e == "md") {
            files.push(dir.join(name));
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_front_matter_is_checked() {
        let ok = "---\npage_title: \"T\"\nsubcategory: \"S\"\ndescription: |-\n  one\n  two\n---\n\n# T\n";
        let (meta, body) = parse_guide(Path::new("g.md"), ok).expect("parses");
        assert_eq!(
            meta,
            GuideMeta {
                title: "T".into(),
                subcategory: "S".into(),
                description: "one\ntwo".into()
            }
        );
        assert_eq!(body, "\n# T\n");
        let page = guide_page(Path::new("tools/docgen/guides/g.md"), ok).expect("page");
        assert!(page.starts_with("---\n# generated by tools/docgen"), "{page}");
        assert!(
            page.contains("subcategory: \"S\"\ndescription: |-\n  one\n  two\n---\n\n# T\n"),
            "{page}"
        );
        for (bad, why) in [
            ("# T\n", "does not start with front matter"),
            ("---\npage_title: \"T\"\n", "no closing"),
            (
                "---\npage_title: \"T\"\ndescription: |-\n  d\n---\n",
                "no subcategory",
            ),
            (
                "---\npage_title: \"T\"\nsubcategory: \"\"\ndescription: |-\n  d\n---\n",
                "`subcategory` must be",
            ),
            (
                "---\npage_title: \"T\"\nsubcategory: \"S\"\n---\n",
                "no description",
            ),
            (
                "---\npage_title: T\nsubcategory: \"S\"\ndescription: |-\n  d\n---\n",
                "`page_title` must be",
            ),
            ("---\nlayout: x\n---\n", "unexpected front matter line"),
        ] {
            let e = parse_guide(Path::new("g.md"), bad).expect_err(bad).to_string();
            assert!(e.contains(why) && e.starts_with("g.md: "), "{bad:?}: {e}");
        }
    }

    #[test]
    fn type_names_follow_the_registry() {
        assert_eq!(type_name(&Type::set(Type::String)), "Set of String");
        assert_eq!(
            type_name(&Type::list(Type::object([("a", Type::Number)]))),
            "List of Object"
        );
        assert_eq!(hcl_type(&Type::list(Type::String)), "list(string)");
    }

    #[test]
    fn literals() {
        assert_eq!(literal(&Value::Bool(true)), "true");
        assert_eq!(literal(&Value::String("keep".into())), "\"keep\"");
    }

    #[test]
    fn attributes_sort_within_sections() {
        let schema = Schema::new(
            "d",
            vec![
                Attribute::string("zeta").required().describe("Z."),
                Attribute::bool("alpha").default(true).replace().describe("A."),
                Attribute::string("id").computed().describe("I."),
                Attribute::string("beta").required().describe("B."),
            ],
        );
        let mut out = String::new();
        schema_section(&mut out, &schema, Kind::Resource);
        let beta = out.find("`beta`").unwrap();
        let zeta = out.find("`zeta`").unwrap();
        let alpha = out.find("`alpha`").unwrap();
        let id = out.find("`id`").unwrap();
        assert!(beta < zeta && zeta < alpha && alpha < id, "{out}");
        assert!(out.contains("- `alpha` (Bool) A. Defaults to `true`. Changing this forces a new resource."));
    }
}
