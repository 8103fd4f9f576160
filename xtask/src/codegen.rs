//! `cargo xtask codegen`: the structural facts of every shape reachable from the classic (non-`V2`)
//! operations, written as a static table to `crates/asff/src/model.rs`. No documentation prose is
//! copied; the only fact derived from the documentation is the per-member `TIMESTAMP` flag.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

/// Where the table goes, relative to the workspace root.
const OUTPUT: &str = "crates/asff/src/model.rs";

pub fn run(root: &Path, spec: &Path, check: bool) -> Result<ExitCode> {
    let text = std::fs::read_to_string(spec).with_context(|| format!("reading the model {}", spec.display()))?;
    let model: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", spec.display()))?;
    let table = Table::build(&model)?;
    let outputs = [
        (OUTPUT, rustfmt(&table.render()?)?),
        (crate::operations::OUTPUT, rustfmt(&crate::operations::render(&model)?)?),
    ];
    let mut stale = false;
    for (path, source) in &outputs {
        let out = root.join(path);
        let current = std::fs::read_to_string(&out).unwrap_or_default();
        if current == *source {
            println!("{path} is up to date");
            continue;
        }
        if check {
            let line = first_difference(&current, source);
            eprintln!(
                "error: {path} differs from what `cargo xtask codegen` generates from {} (first difference at line {line}); \
                 run `cargo xtask codegen` and commit the result",
                spec.display()
            );
            stale = true;
        } else {
            std::fs::write(&out, source).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {path}");
        }
    }
    if stale {
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "model: {} shapes, {} members, {} timestamp members",
        table.shapes.len(),
        table.member_count,
        table.timestamp_members
    );
    if !table.timestamp_skipped.is_empty() && !check {
        println!(
            "note: {} members document a timestamp but do not target a string shape (not flagged): {}",
            table.timestamp_skipped.len(),
            table.timestamp_skipped.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn first_difference(a: &str, b: &str) -> usize {
    let mut n = 1;
    let (mut la, mut lb) = (a.lines(), b.lines());
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return n,
            _ => return n,
        }
    }
}

/// One shape of the output, already resolved to indexes.
struct OutShape {
    name: String,
    /// The Rust constructor expression, e.g. `Shape::list("X", ShapeId(3), None, None)`.
    expr: String,
}

struct Table {
    shapes: Vec<OutShape>,
    members: Vec<String>,
    member_count: usize,
    timestamp_members: usize,
    timestamp_skipped: Vec<String>,
    api_version: String,
}

impl Table {
    fn build(model: &Value) -> Result<Self> {
        let shapes = model.get("shapes").and_then(Value::as_object).context("model has no `shapes` object")?;
        let operations =
            model.get("operations").and_then(Value::as_object).context("model has no `operations` object")?;
        let api_version = model.pointer("/metadata/apiVersion").and_then(Value::as_str).unwrap_or("unknown").to_owned();

        // Roots: the input and output shapes of every classic operation.
        let mut stack: Vec<String> = Vec::new();
        for (name, op) in operations {
            if name.ends_with("V2") {
                continue;
            }
            for key in ["input", "output"] {
                if let Some(shape) = op.pointer(&format!("/{key}/shape")).and_then(Value::as_str) {
                    stack.push(shape.to_owned());
                }
            }
        }
        let mut reachable = BTreeSet::new();
        while let Some(name) = stack.pop() {
            if !reachable.insert(name.clone()) {
                continue;
            }
            let shape = get_shape(shapes, &name)?;
            for target in targets(shape) {
                stack.push(target.to_owned());
            }
        }
        // BTreeSet<String> orders bytewise, the order `model::shape` binary-searches in.
        let index: BTreeMap<&str, usize> = reachable.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        if index.len() > usize::from(u16::MAX) {
            bail!("{} shapes do not fit a u16 ShapeId", index.len());
        }
        let id = |name: &str| -> Result<String> {
            index
                .get(name)
                .map(|i| format!("ShapeId({i})"))
                .with_context(|| format!("shape {name} is referenced but not reachable"))
        };

        let mut out = Vec::with_capacity(reachable.len());
        let mut members = Vec::new();
        let mut timestamp_members = 0;
        let mut timestamp_skipped = Vec::new();
        for name in &reachable {
            let shape = get_shape(shapes, name)?;
            let kind =
                shape.get("type").and_then(Value::as_str).with_context(|| format!("shape {name} has no type"))?;
            let min = bound(shape, "min", name)?;
            let max = bound(shape, "max", name)?;
            let q = quote(name);
            let expr = match kind {
                "structure" => {
                    let ctor = if shape.get("document").and_then(Value::as_bool) == Some(true) {
                        "document"
                    } else if shape.get("union").and_then(Value::as_bool) == Some(true) {
                        "union"
                    } else {
                        "structure"
                    };
                    let required: BTreeSet<&str> = shape
                        .get("required")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let mut ms: Vec<(&String, &Value)> =
                        shape.get("members").and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default();
                    ms.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                    for r in &required {
                        if !ms.iter().any(|(m, _)| m.as_str() == *r) {
                            bail!("{name} requires {r}, which is not a member");
                        }
                    }
                    if ctor == "document" {
                        if !ms.is_empty() {
                            bail!("document shape {name} has members");
                        }
                        format!("Shape::document({q})")
                    } else {
                        let first = members.len();
                        for (member, spec) in &ms {
                            let target = spec
                                .get("shape")
                                .and_then(Value::as_str)
                                .with_context(|| format!("{name}.{member} has no target shape"))?;
                            let mut flags = Vec::new();
                            if required.contains(member.as_str()) {
                                flags.push("REQUIRED");
                            }
                            let doc = spec.get("documentation").and_then(Value::as_str).unwrap_or("");
                            if documents_timestamp(doc) {
                                let target_type = get_shape(shapes, target)?.get("type").and_then(Value::as_str);
                                if target_type == Some("string") {
                                    flags.push("TIMESTAMP");
                                    timestamp_members += 1;
                                } else {
                                    timestamp_skipped.push(format!("{name}.{member}"));
                                }
                            }
                            let flags = if flags.is_empty() { "NONE".to_owned() } else { flags.join(" | ") };
                            members.push(format!("Member::new({}, {}, {flags}),", quote(member), id(target)?));
                        }
                        let count = members.len() - first;
                        if members.len() > usize::from(u16::MAX) {
                            bail!("too many members for u16 indexes");
                        }
                        format!("Shape::{ctor}({q}, {first}, {count})")
                    }
                }
                "list" => {
                    let member = shape
                        .pointer("/member/shape")
                        .and_then(Value::as_str)
                        .with_context(|| format!("list {name} has no member"))?;
                    format!("Shape::list({q}, {}, {}, {})", id(member)?, opt(min), opt(max))
                }
                "map" => {
                    let key = shape.pointer("/key/shape").and_then(Value::as_str).context("map without key")?;
                    let value = shape.pointer("/value/shape").and_then(Value::as_str).context("map without value")?;
                    format!("Shape::map({q}, {}, {}, {}, {})", id(key)?, id(value)?, opt(min), opt(max))
                }
                "string" => {
                    let values: Vec<String> = shape
                        .get("enum")
                        .and_then(Value::as_array)
                        .map(|e| e.iter().filter_map(Value::as_str).map(quote).collect())
                        .unwrap_or_default();
                    let pattern = match shape.get("pattern").and_then(Value::as_str) {
                        Some(p) => format!("Some({})", quote(p)),
                        None => "None".to_owned(),
                    };
                    format!("Shape::string({q}, &[{}], {}, {}, {pattern})", values.join(", "), opt(min), opt(max))
                }
                "integer" | "long" | "double" | "float" | "boolean" | "timestamp" | "blob" => {
                    let variant = match kind {
                        "integer" => "Integer",
                        "long" => "Long",
                        "double" => "Double",
                        "float" => "Float",
                        "boolean" => "Boolean",
                        "timestamp" => "Timestamp",
                        _ => "Blob",
                    };
                    format!("Shape::scalar({q}, ShapeKind::{variant}, {}, {})", opt(min), opt(max))
                }
                other => bail!("shape {name} has unsupported type {other:?}"),
            };
            out.push(OutShape { name: name.clone(), expr });
        }
        let member_count = members.len();
        Ok(Table { shapes: out, members, member_count, timestamp_members, timestamp_skipped, api_version })
    }

    fn render(&self) -> Result<String> {
        let mut s = String::new();
        writeln!(s, "// @generated by `cargo xtask codegen` from the Security Hub API model (botocore")?;
        writeln!(s, "// `securityhub-2018-10-26.service-2.json`, apiVersion {}). Do not edit:", self.api_version)?;
        writeln!(s, "// change xtask/src/codegen.rs and regenerate; `cargo xtask codegen --check` verifies it.")?;
        writeln!(s)?;
        writeln!(s, "//! The structural facts of every shape reachable from the input and output shapes of the")?;
        writeln!(s, "//! classic (non-`V2`) Security Hub operations: kinds, structure members (sorted by name, with")?;
        writeln!(s, "//! required and timestamp flags), list members, map keys and values, enum values, min/max and")?;
        writeln!(s, "//! patterns. Shapes are sorted by name; see [`shape`] and [`Shape::member`].")?;
        writeln!(s)?;
        writeln!(
            s,
            "pub use crate::shape::{{Member, NONE, REQUIRED, Shape, ShapeId, ShapeKind, TIMESTAMP, members, shape, shape_by_id, shapes}};"
        )?;
        writeln!(s)?;
        writeln!(s, "/// Number of shapes in the table.")?;
        writeln!(s, "pub const SHAPE_COUNT: usize = {};", self.shapes.len())?;
        writeln!(s, "/// Number of structure members flagged [`TIMESTAMP`].")?;
        writeln!(s, "pub const TIMESTAMP_MEMBER_COUNT: usize = {};", self.timestamp_members)?;
        writeln!(s)?;
        writeln!(s, "pub(crate) static SHAPES: [Shape; {}] = [", self.shapes.len())?;
        for (i, shape) in self.shapes.iter().enumerate() {
            debug_assert!(shape.expr.contains(&quote(&shape.name)));
            writeln!(s, "    {}, // {i}", shape.expr)?;
        }
        writeln!(s, "];")?;
        writeln!(s)?;
        writeln!(s, "pub(crate) static MEMBERS: [Member; {}] = [", self.members.len())?;
        for m in &self.members {
            writeln!(s, "    {m}")?;
        }
        writeln!(s, "];")?;
        Ok(s)
    }
}

fn get_shape<'a>(shapes: &'a Map<String, Value>, name: &str) -> Result<&'a Value> {
    shapes.get(name).with_context(|| format!("shape {name} is referenced but not defined"))
}

/// The shapes a shape refers to.
fn targets(shape: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(members) = shape.get("members").and_then(Value::as_object) {
        out.extend(members.values().filter_map(|m| m.get("shape").and_then(Value::as_str)));
    }
    for key in ["member", "key", "value"] {
        if let Some(t) = shape.get(key).and_then(|m| m.get("shape")).and_then(Value::as_str) {
            out.push(t);
        }
    }
    out
}

fn bound(shape: &Value, key: &str, name: &str) -> Result<Option<i64>> {
    match shape.get(key) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) => Ok(Some(n)),
            None => match v.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => {
                    bail!("shape {name} has a non-integral {key} {v}; extend the table to carry it")
                }
            },
        },
    }
}

fn opt(v: Option<i64>) -> String {
    match v {
        Some(n) => format!("Some({n})"),
        None => "None".to_owned(),
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// Whether a member's documentation says that its string value is an RFC 3339 / ISO 8601 timestamp.
///
/// The model phrases it (today) as a link to the API reference's "Timestamps" section:
/// `For more information about the validation and formatting of timestamp fields in Security Hub
/// CSPM, see <a href=".../Welcome.html#timestamps">Timestamps</a>.` Older models said instead
/// `Uses the date-time format specified in RFC 3339 section 5.6, Internet Date/Time Format`.
/// Either phrasing, and a bare mention of RFC 3339 or ISO 8601 (not as a duration), counts.
pub(crate) fn documents_timestamp(doc: &str) -> bool {
    let d = doc.to_ascii_lowercase();
    let d = d.as_str();
    d.contains("#timestamps")
        || d.contains("formatting of timestamp fields")
        || d.contains("internet date/time format")
        || d.contains("rfc 3339")
        || d.contains("rfc3339")
        || ((d.contains("iso 8601") || d.contains("iso8601") || d.contains("iso-8601")) && !d.contains("duration"))
}

/// Formats Rust source with the toolchain's rustfmt (edition 2024, as `cargo fmt` would).
fn rustfmt(source: &str) -> Result<String> {
    let rustfmt = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_owned());
    let mut child = Command::new(&rustfmt)
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {rustfmt}"))?;
    {
        let mut stdin = child.stdin.take().context("rustfmt stdin")?;
        stdin.write_all(source.as_bytes()).context("writing to rustfmt")?;
    }
    let output = child.wait_with_output().context("waiting for rustfmt")?;
    if !output.status.success() {
        bail!("rustfmt failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8(output.stdout).context("rustfmt output is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `model.rs` is what the generator makes of the committed model (what
    /// `cargo xtask codegen --check` checks), and generating twice gives the same bytes.
    #[test]
    fn committed_model_is_fresh_and_generation_is_deterministic() {
        let root = crate::workspace_root();
        let spec = root.join("../shared/spec/securityhub-2018-10-26.service-2.json");
        let model: Value = serde_json::from_str(&std::fs::read_to_string(&spec).expect("model")).expect("json");
        let first = rustfmt(&Table::build(&model).expect("table").render().expect("render")).expect("rustfmt");
        let second = rustfmt(&Table::build(&model).expect("table").render().expect("render")).expect("rustfmt");
        assert_eq!(first, second);
        let committed = std::fs::read_to_string(root.join(OUTPUT)).expect("model.rs");
        assert!(committed == first, "{OUTPUT} is stale: run `cargo xtask codegen`");
        let table = Table::build(&model).expect("table");
        assert_eq!(table.shapes.len(), 1230);
        assert_eq!(table.timestamp_members, 75);
    }

    #[test]
    fn timestamp_phrasings() {
        assert!(documents_timestamp(
            "<p>For more information about the validation and formatting of timestamp fields in Security Hub CSPM, see \
             <a href=\"https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html#timestamps\">Timestamps</a>.</p>"
        ));
        assert!(documents_timestamp(
            "<p>Uses the <code>date-time</code> format specified in <a href=\"https://tools.ietf.org/html/rfc3339#section-5.6\">RFC 3339 \
             section 5.6, Internet Date/Time Format</a>.</p>"
        ));
        assert!(documents_timestamp("The time, in ISO 8601 format."));
        assert!(!documents_timestamp("The duration, in ISO 8601 duration format."));
        assert!(!documents_timestamp("The Unix timestamp for the time when the task was created."));
        assert!(!documents_timestamp("The date and time when Security Hub CSPM was enabled in the account."));
    }
}
