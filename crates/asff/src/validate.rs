//! Validation of findings (and of any request shape) against the model table and the prose limits,
//! reporting errors the way Security Hub does: Ajv v6 messages with a `data`-rooted JavaScript
//! path, e.g. `data.Resources[0].Type should NOT be shorter than 1 characters`.
//!
//! Order of checks, as Ajv applies them to one value (the first failure is reported):
//! - object: required members (by name), unknown members, then each member's value; for an object
//!   with several failing members the bytewise-smallest member name wins, so the result does not
//!   depend on the document's key order; then the `anyOf` rules (severity);
//! - list: max items, min items, then each item in order;
//! - map: max/min entries, each key (`propertyNames`), then each value;
//! - string: max length, min length, pattern, `date-time` format, enum;
//! - number: type, maximum, minimum.
//!
//! Conventions inferred from AWS's own error messages (see `crate::limits` for the sources): a
//! `NonEmptyString` (pattern `.*\S.*`) is also at least 1 character long, so `""` is reported as
//! `should NOT be shorter than 1 characters` and `" "` as `should match pattern ".*\S.*"`; `Types`
//! items are checked only against `^([^/]+)(/[^/]+){0,2}$`.
//!
//! Nothing is allocated unless validation fails: the path is built only for the error.

use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Number, Value};

use crate::limits::{
    EXTRA_MEMBERS, ItemFormat, LIMITS, Limit, SERVICE_PRODUCT_FIELDS_PREFIX, TYPE_FORM_PATTERN, TYPE_NAMESPACE_PATTERN,
    TYPE_NAMESPACES,
};
use crate::model::{self, Shape, ShapeId, ShapeKind};
use crate::timestamp::parse_timestamp;

/// The largest finding that `BatchImportFindings` accepts, in bytes of its JSON.
pub const MAX_FINDING_BYTES: usize = 240 * 1024;

/// Why a finding (or request) is invalid. `path` is a JavaScript accessor rooted at `data`
/// (`data.Resources[0].Details`, `data.ProductFields['aws/x']`) and `rule` the Ajv message.
///
/// `Display` gives the `ErrorMessage` that `BatchImportFindings` reports with code `InvalidInput`:
/// `Finding does not adhere to Amazon Finding Format. <path> <rule>`; an error with an empty path
/// (the size check) displays its rule alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub path: String,
    pub rule: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.rule)
        } else {
            write!(f, "Finding does not adhere to Amazon Finding Format. {} {}", self.path, self.rule)
        }
    }
}

/// Rejects a finding whose serialized JSON is larger than [`MAX_FINDING_BYTES`], with the message
/// Security Hub uses (`Finding size exceeded 240 KB`).
/// The size of a value as compact JSON, counted without building the text.
pub fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

pub fn check_finding_size(serialized_len: usize) -> Result<(), ValidationError> {
    if serialized_len > MAX_FINDING_BYTES {
        return Err(ValidationError { path: String::new(), rule: "Finding size exceeded 240 KB".to_owned() });
    }
    Ok(())
}

/// Switches for [`validate_finding_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Also require the namespace of each `Types` item to be one of
    /// [`crate::limits::TYPE_NAMESPACES`], as the documentation asks. Security Hub itself checks
    /// only the `namespace[/category[/classifier]]` form, and real findings of AWS integrations use
    /// other namespaces (`Software & Configuration Checks`, Macie's `Policy:IAMUser/…`), so this is
    /// off by default.
    pub strict_type_namespaces: bool,
}

/// Validates one ASFF finding as `BatchImportFindings` does: the model (members, required, types,
/// enums, patterns, min/max, timestamps), the limits of [`crate::limits`], and the severity rule
/// (a `Severity` with `Label` or `Normalized`, or a `FindingProviderFields.Severity` with `Label`).
pub fn validate_finding(doc: &Value) -> Result<(), ValidationError> {
    validate_finding_with(doc, &Options::default())
}

/// [`validate_finding`] with [`Options`].
pub fn validate_finding_with(doc: &Value, options: &Options) -> Result<(), ValidationError> {
    let walker = Walker::finding(options);
    walker.value(doc, walker.t.finding, &Extra::NONE).map_err(|f| f.to_error())
}

/// [`validate_finding`] of a finding held as its JSON object (no `Value` to wrap it in).
pub fn validate_finding_object(doc: &Map<String, Value>) -> Result<(), ValidationError> {
    let walker = Walker::finding(&Options::default());
    let finding = walker.t.finding;
    walker.object(doc, finding, finding.shape()).map_err(|f| f.to_error())
}

/// Validates `doc` as an instance of the model shape `shape` (any shape of the table), with the
/// model's rules only: no prose limits, no severity rule.
pub fn validate_shape(doc: &Value, shape: &str) -> Result<(), ValidationError> {
    let Some(s) = model::shape(shape) else {
        return Err(ValidationError {
            path: "data".to_owned(),
            rule: format!("has no shape named '{shape}' to match"),
        });
    };
    let walker = Walker { t: tables(), asff: false, strict_types: false };
    walker.value(doc, s.id(), &Extra::NONE).map_err(|f| f.to_error())
}

// ---------------------------------------------------------------------------------------------
// Tables derived once from the model and the limits.

/// The patterns of the model, implemented natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    None,
    /// `.*\S.*`: some character that is not ECMAScript white space.
    NonEmpty,
    /// `^([^\u0000-\u007F]|[-_ a-zA-Z0-9])+$`
    AlnumOrNonAscii,
    /// `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]+` (unanchored: one such character).
    PolicyChars,
    /// `^[\x21-\x7E]{1,64}$`
    ClientToken,
    /// `^arn:aws:securityhub:.*`
    SecurityHubArn,
    /// `^(?!aws:)[a-zA-Z+-=._:/]+$`
    TagKey,
    /// A pattern this validator does not know: not enforced (a test keeps the table free of them).
    Unknown,
}

fn classify(pattern: Option<&str>) -> Pat {
    match pattern {
        None => Pat::None,
        Some(".*\\S.*") => Pat::NonEmpty,
        Some("^([^\\u0000-\\u007F]|[-_ a-zA-Z0-9])+$") => Pat::AlnumOrNonAscii,
        Some("[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]+") => Pat::PolicyChars,
        Some("^[\\x21-\\x7E]{1,64}$") => Pat::ClientToken,
        Some("^arn:aws:securityhub:.*") => Pat::SecurityHubArn,
        Some("^(?!aws:)[a-zA-Z+-=._:/]+$") => Pat::TagKey,
        Some(_) => Pat::Unknown,
    }
}

/// ECMAScript `\s`.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

fn pattern_matches(p: Pat, s: &str) -> bool {
    match p {
        Pat::None | Pat::Unknown => true,
        Pat::NonEmpty => {
            // Fast path: the first byte is printable ASCII.
            match s.as_bytes().first() {
                Some(b) if (0x21..0x7f).contains(b) => true,
                _ => s.chars().any(|c| !is_js_space(c)),
            }
        }
        Pat::AlnumOrNonAscii => {
            !s.is_empty()
                && s.chars().all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '))
        }
        Pat::PolicyChars => s.chars().any(|c| matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{A1}'..='\u{FF}')),
        Pat::ClientToken => (1..=64).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        Pat::SecurityHubArn => s.starts_with("arn:aws:securityhub:"),
        Pat::TagKey => {
            !s.is_empty()
                && !s.starts_with("aws:")
                && s.bytes().all(|b| b.is_ascii_alphabetic() || (b'+'..=b'=').contains(&b) || matches!(b, b'.' | b'_'))
        }
    }
}

/// Whether a finding type has the form that Security Hub checks, `^([^/]+)(/[^/]+){0,2}$`: one
/// to three non-empty parts separated by `/` (namespace/category/classifier).
pub fn type_form_ok(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('/') {
        parts += 1;
        if part.is_empty() || parts > 3 {
            return false;
        }
    }
    true
}

fn type_namespace_ok(s: &str) -> bool {
    type_form_ok(s) && TYPE_NAMESPACES.iter().any(|ns| s.split('/').next() == Some(*ns))
}

struct Tables {
    /// Per member of `model::members()`: 1 + index into `LIMITS`, or 0.
    member_limit: Box<[u16]>,
    /// Per shape.
    pattern: Box<[Pat]>,
    /// Per shape, the range of `required` holding its required members (global indexes).
    required_range: Box<[(u32, u32)]>,
    required: Box<[u16]>,
    finding: ShapeId,
    severity: Option<ShapeId>,
}

impl Tables {
    fn build() -> Tables {
        let shapes = model::shapes();
        let members = crate::shape::members();
        let mut member_limit = vec![0u16; members.len()];
        for (i, limit) in LIMITS.iter().enumerate() {
            if let Some((gi, _)) = model::shape(limit.shape).and_then(|s| s.find_member(limit.member)) {
                member_limit[gi] = u16::try_from(i + 1).unwrap_or(0);
            }
        }
        let pattern = shapes.iter().map(|s| classify(s.pattern)).collect();
        let mut required = Vec::new();
        let mut required_range = Vec::with_capacity(shapes.len());
        for s in shapes {
            let start = required.len() as u32;
            for (i, m) in s.members().iter().enumerate() {
                if m.required() {
                    required.push(u16::try_from(s.member_base() + i).unwrap_or(0));
                }
            }
            required_range.push((start, required.len() as u32));
        }
        Tables {
            member_limit: member_limit.into(),
            pattern,
            required_range: required_range.into(),
            required: required.into(),
            finding: model::shape("AwsSecurityFinding").map_or(ShapeId(0), |s| s.id()),
            severity: model::shape("Severity").map(|s| s.id()),
        }
    }

    fn limit(&self, global_member: usize) -> Option<&'static Limit> {
        match self.member_limit.get(global_member) {
            Some(&n) if n > 0 => LIMITS.get(usize::from(n) - 1),
            _ => None,
        }
    }

    fn required(&self, id: ShapeId) -> &[u16] {
        match self.required_range.get(id.index()) {
            Some(&(a, b)) => self.required.get(a as usize..b as usize).unwrap_or(&[]),
            None => &[],
        }
    }

    fn pattern(&self, id: ShapeId) -> Pat {
        self.pattern.get(id.index()).copied().unwrap_or(Pat::None)
    }
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(Tables::build)
}

// ---------------------------------------------------------------------------------------------
// Failures: built bottom-up, the path only when one occurs.

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

enum Rule<'a> {
    Type(&'static str),
    Required(&'static str),
    Additional(&'a str),
    MaxLength(i64),
    MinLength(i64),
    Pattern(&'static str),
    DateTime,
    Enum,
    MaxItems(i64),
    MinItems(i64),
    MaxProperties(i64),
    MinProperties(i64),
    Maximum(i64),
    Minimum(i64),
    /// A map key broke `inner`.
    PropertyName(Box<Rule<'a>>, &'a str),
    /// `anyOf` of which the branch that names the given property failed.
    AnyOfRequired(&'static str),
}

struct Fail<'a> {
    rule: Rule<'a>,
    /// Innermost segment first.
    rev_path: Vec<Seg<'a>>,
}

type R<'a> = Result<(), Box<Fail<'a>>>;

fn fail(rule: Rule<'_>) -> R<'_> {
    Err(Box::new(Fail { rule, rev_path: Vec::new() }))
}

impl<'a> Fail<'a> {
    fn at(mut self: Box<Self>, seg: Seg<'a>) -> Box<Self> {
        self.rev_path.push(seg);
        self
    }

    fn to_error(&self) -> ValidationError {
        let mut path = String::from("data");
        for seg in self.rev_path.iter().rev() {
            push_segment(&mut path, seg);
        }
        let rule = rule_text(&self.rule, &path);
        ValidationError { path, rule }
    }
}

/// Ajv's `getProperty`: `.Name` for identifiers, else `['…']` with `\`, `"` and control characters
/// escaped.
fn push_segment(path: &mut String, seg: &Seg<'_>) {
    use std::fmt::Write as _;
    match seg {
        Seg::Index(i) => {
            let _ = write!(path, "[{i}]");
        }
        Seg::Key(k) => {
            let ident = k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$')
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
            if ident {
                path.push('.');
                path.push_str(k);
            } else {
                path.push_str("['");
                for c in k.chars() {
                    match c {
                        '\\' => path.push_str("\\\\"),
                        '"' => path.push_str("\\\""),
                        '\u{0C}' => path.push_str("\\f"),
                        '\n' => path.push_str("\\n"),
                        '\r' => path.push_str("\\r"),
                        '\t' => path.push_str("\\t"),
                        c => path.push(c),
                    }
                }
                path.push_str("']");
            }
        }
    }
}

fn rule_text(rule: &Rule<'_>, path: &str) -> String {
    match rule {
        Rule::Type(t) => format!("should be {t}"),
        Rule::Required(p) => format!("should have required property '{p}'"),
        Rule::Additional(p) => format!("should NOT have additional properties ('{p}')"),
        Rule::MaxLength(n) => format!("should NOT be longer than {n} characters"),
        Rule::MinLength(n) => format!("should NOT be shorter than {n} characters"),
        Rule::Pattern(p) => format!("should match pattern \"{p}\""),
        Rule::DateTime => "should match format \"date-time\"".to_owned(),
        Rule::Enum => "should be equal to one of the allowed values".to_owned(),
        Rule::MaxItems(n) => format!("should NOT have more than {n} items"),
        Rule::MinItems(n) => format!("should NOT have fewer than {n} items"),
        Rule::MaxProperties(n) => format!("should NOT have more than {n} properties"),
        Rule::MinProperties(n) => format!("should NOT have fewer than {n} properties"),
        Rule::Maximum(n) => format!("should be <= {n}"),
        Rule::Minimum(n) => format!("should be >= {n}"),
        Rule::PropertyName(inner, key) => {
            format!("{}, {path} property name '{key}' is invalid", rule_text(inner, path))
        }
        Rule::AnyOfRequired(p) => {
            format!("should have required property '{p}', {path} should match some schema in anyOf")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The walk.

/// Constraints that the context (the member, the list, the map) adds to a value.
#[derive(Clone, Copy)]
struct Extra {
    min_len: Option<u32>,
    max_len: Option<u32>,
    min_count: Option<u32>,
    max_count: Option<u32>,
    key_max_len: Option<u32>,
    value_max_len: Option<u32>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    item_format: Option<ItemFormat>,
    one_of: &'static [&'static str],
    timestamp: bool,
    /// This string is an item of a list whose limit has an `item_format`.
    type_item: bool,
    /// This string is a map key or value: `NonEmptyString` is not enforced there (Security Hub
    /// stores and returns empty `ProductFields` values, e.g. GuardDuty's
    /// `aws/guardduty/service/evidence: ""`); only the documented lengths apply.
    map_entry: bool,
}

impl Extra {
    const NONE: Extra = Extra {
        min_len: None,
        max_len: None,
        min_count: None,
        max_count: None,
        key_max_len: None,
        value_max_len: None,
        minimum: None,
        maximum: None,
        item_format: None,
        one_of: &[],
        timestamp: false,
        type_item: false,
        map_entry: false,
    };

    fn member(limit: Option<&'static Limit>, timestamp: bool) -> Extra {
        match limit {
            None => Extra { timestamp, ..Extra::NONE },
            Some(l) => Extra {
                min_len: l.min_length,
                max_len: l.max_length,
                min_count: l.min_count,
                max_count: l.max_count,
                key_max_len: l.max_key_length,
                value_max_len: l.max_value_length,
                minimum: l.minimum,
                maximum: l.maximum,
                item_format: l.item_format,
                one_of: l.one_of,
                timestamp,
                type_item: false,
                map_entry: false,
            },
        }
    }
}

fn tighter_max(a: Option<i64>, b: Option<u32>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(i64::from(b))),
        (a, b) => a.or(b.map(i64::from)),
    }
}

fn tighter_min(a: Option<i64>, b: Option<u32>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(i64::from(b))),
        (a, b) => a.or(b.map(i64::from)),
    }
}

/// Length in code points (what Ajv's `ucs2length` counts) exceeds `max`.
fn longer_than(s: &str, max: i64) -> bool {
    let max = usize::try_from(max).unwrap_or(0);
    s.len() > max && s.chars().count() > max
}

/// Length in code points is below `min`.
fn shorter_than(s: &str, min: i64) -> bool {
    let min = usize::try_from(min).unwrap_or(0);
    // A code point takes at most 4 bytes.
    s.len() < min || (s.len() / 4 < min && s.chars().count() < min)
}

fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn above(n: &Number, max: i64) -> bool {
    if let Some(i) = n.as_i64() {
        i > max
    } else if n.is_u64() {
        true // > i64::MAX >= max
    } else {
        n.as_f64().is_some_and(|f| f > max as f64)
    }
}

fn below(n: &Number, min: i64) -> bool {
    if let Some(i) = n.as_i64() {
        i < min
    } else if n.is_u64() {
        false
    } else {
        n.as_f64().is_some_and(|f| f < min as f64)
    }
}

struct Walker {
    t: &'static Tables,
    /// Apply the prose limits and the ASFF rules (not only the model).
    asff: bool,
    strict_types: bool,
}

impl Walker {
    /// A walker of findings: the model's rules and ASFF's.
    fn finding(options: &Options) -> Walker {
        Walker { t: tables(), asff: true, strict_types: options.strict_type_namespaces }
    }

    fn value<'a>(&self, v: &'a Value, id: ShapeId, x: &Extra) -> R<'a> {
        let shape = id.shape();
        match shape.kind {
            ShapeKind::Structure | ShapeKind::Union => match v {
                Value::Object(m) => self.object(m, id, shape),
                _ => fail(Rule::Type("object")),
            },
            ShapeKind::Document => Ok(()),
            ShapeKind::List => {
                let Value::Array(items) = v else {
                    return fail(Rule::Type("array"));
                };
                let len = items.len() as i64;
                if let Some(max) = tighter_max(shape.max, x.max_count).filter(|&m| len > m) {
                    return fail(Rule::MaxItems(max));
                }
                if let Some(min) = tighter_min(shape.min, x.min_count).filter(|&m| len < m) {
                    return fail(Rule::MinItems(min));
                }
                let Some(item) = shape.list_member() else {
                    return Ok(());
                };
                let ix = Extra { type_item: x.item_format.is_some(), ..Extra::NONE };
                for (i, it) in items.iter().enumerate() {
                    self.value(it, item, &ix).map_err(|f| f.at(Seg::Index(i)))?;
                }
                Ok(())
            }
            ShapeKind::Map => {
                let Value::Object(m) = v else {
                    return fail(Rule::Type("object"));
                };
                // The service's own ProductFields (`aws/securityhub/*`) do not count against the
                // provider's 50: a finding read back from GetFindings must import again.
                let len = m.keys().filter(|k| !k.starts_with(SERVICE_PRODUCT_FIELDS_PREFIX)).count() as i64;
                if let Some(max) = tighter_max(shape.max, x.max_count).filter(|&n| len > n) {
                    return fail(Rule::MaxProperties(max));
                }
                if let Some(min) = tighter_min(shape.min, x.min_count).filter(|&n| len < n) {
                    return fail(Rule::MinProperties(min));
                }
                let Some((key, value)) = shape.map_key_value() else {
                    return Ok(());
                };
                // `propertyNames` first, then the values; in each pass the bytewise-smallest
                // failing key wins, whatever the key order of `m`.
                let kx = Extra { max_len: x.key_max_len, map_entry: true, ..Extra::NONE };
                let mut first: Option<(&'a str, Box<Fail<'a>>)> = None;
                for k in m.keys() {
                    if first.as_ref().is_some_and(|(fk, _)| k.as_str() >= *fk) {
                        continue;
                    }
                    if let Err(f) = self.string(k, key, &kx) {
                        first = Some((k, f));
                    }
                }
                if let Some((k, f)) = first {
                    return fail(Rule::PropertyName(Box::new(f.rule), k));
                }
                let vx = Extra { max_len: x.value_max_len, map_entry: true, ..Extra::NONE };
                for (k, val) in m {
                    if first.as_ref().is_some_and(|(fk, _)| k.as_str() >= *fk) {
                        continue;
                    }
                    if let Err(f) = self.value(val, value, &vx) {
                        first = Some((k, f));
                    }
                }
                match first {
                    Some((k, f)) => Err(f.at(Seg::Key(k))),
                    None => Ok(()),
                }
            }
            ShapeKind::String => match v {
                Value::String(s) => self.string(s, id, x),
                _ => fail(Rule::Type("string")),
            },
            ShapeKind::Integer | ShapeKind::Long => match v {
                Value::Number(n) if is_integer(n) => self.range(n, shape, x),
                _ => fail(Rule::Type("integer")),
            },
            ShapeKind::Double | ShapeKind::Float => match v {
                Value::Number(n) => self.range(n, shape, x),
                _ => fail(Rule::Type("number")),
            },
            ShapeKind::Boolean => match v {
                Value::Bool(_) => Ok(()),
                _ => fail(Rule::Type("boolean")),
            },
            ShapeKind::Timestamp => match v {
                Value::String(s) if parse_timestamp(s).is_some() => Ok(()),
                Value::String(_) => fail(Rule::DateTime),
                _ => fail(Rule::Type("string")),
            },
            ShapeKind::Blob => match v {
                Value::String(_) => Ok(()),
                _ => fail(Rule::Type("string")),
            },
        }
    }

    fn range<'a>(&self, n: &Number, shape: &Shape, x: &Extra) -> R<'a> {
        let max = match (shape.max, x.maximum) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(max) = max.filter(|&m| above(n, m)) {
            return fail(Rule::Maximum(max));
        }
        let min = match (shape.min, x.minimum) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(min) = min.filter(|&m| below(n, m)) {
            return fail(Rule::Minimum(min));
        }
        Ok(())
    }

    fn string<'a>(&self, s: &'a str, id: ShapeId, x: &Extra) -> R<'a> {
        let shape = id.shape();
        let pat = self.t.pattern(id);
        if let Some(max) = tighter_max(shape.max, x.max_len).filter(|&m| longer_than(s, m)) {
            return fail(Rule::MaxLength(max));
        }
        if x.type_item {
            // The schema of a `Types` item is that one pattern.
            let (ok, pattern) = if self.strict_types {
                (type_namespace_ok(s), TYPE_NAMESPACE_PATTERN)
            } else {
                (type_form_ok(s), TYPE_FORM_PATTERN)
            };
            return if ok { Ok(()) } else { fail(Rule::Pattern(pattern)) };
        }
        let mut min = tighter_min(shape.min, x.min_len);
        let pat = if x.map_entry && pat == Pat::NonEmpty { Pat::None } else { pat };
        if pat == Pat::NonEmpty {
            min = Some(min.map_or(1, |m| m.max(1)));
        }
        if let Some(min) = min.filter(|&m| shorter_than(s, m)) {
            return fail(Rule::MinLength(min));
        }
        if !pattern_matches(pat, s) {
            return fail(Rule::Pattern(shape.pattern.unwrap_or("")));
        }
        if x.timestamp && parse_timestamp(s).is_none() {
            return fail(Rule::DateTime);
        }
        if !shape.allows(s) || (!x.one_of.is_empty() && !x.one_of.contains(&s)) {
            return fail(Rule::Enum);
        }
        Ok(())
    }

    fn object<'a>(&self, m: &'a Map<String, Value>, id: ShapeId, shape: &'static Shape) -> R<'a> {
        if shape.kind == ShapeKind::Union {
            let set = m.values().filter(|v| !v.is_null()).count();
            if set > 1 {
                return fail(Rule::MaxProperties(1));
            }
            if set == 0 {
                return fail(Rule::MinProperties(1));
            }
        }
        // Ajv order: required, unknown members, then the members' values. Required members are
        // counted on the way and looked up only when one is missing.
        let mut required_seen = 0;
        let mut cursor = 0;
        // The error of the bytewise-smallest failing member, whatever the key order of `m`.
        let mut first: Option<(&'a str, Box<Fail<'a>>)> = None;
        for (k, v) in m {
            let (target, x) = match shape.find_member_from(k, &mut cursor) {
                Some((gi, member)) => {
                    required_seen += usize::from(member.required());
                    let limit = if self.asff { self.t.limit(gi) } else { None };
                    (member.target, Extra::member(limit, member.timestamp()))
                }
                None => match self.extra_member(shape, k) {
                    Some(found) => found,
                    None => {
                        self.required(m, id)?;
                        return fail(Rule::Additional(self.smallest_unknown(m, shape).unwrap_or(k)));
                    }
                },
            };
            if first.as_ref().is_some_and(|(fk, _)| k.as_str() >= *fk) {
                continue;
            }
            if let Err(f) = self.value(v, target, &x) {
                first = Some((k, f));
            }
        }
        if required_seen < self.t.required(id).len() {
            self.required(m, id)?;
        }
        if let Some((k, f)) = first {
            return Err(f.at(Seg::Key(k)));
        }
        if self.asff {
            if id == self.t.finding {
                return severity_present(m);
            }
            if Some(id) == self.t.severity && !m.contains_key("Label") && !m.contains_key("Normalized") {
                return fail(Rule::AnyOfRequired("Label"));
            }
        }
        Ok(())
    }

    /// The first required member (by name) missing from `m`.
    fn required<'a>(&self, m: &Map<String, Value>, id: ShapeId) -> R<'a> {
        let members = crate::shape::members();
        for &gi in self.t.required(id) {
            if let Some(member) = members.get(usize::from(gi))
                && !m.contains_key(member.name)
            {
                return fail(Rule::Required(member.name));
            }
        }
        Ok(())
    }

    /// A documented member missing from the model ([`EXTRA_MEMBERS`]), in ASFF mode.
    fn extra_member(&self, shape: &Shape, name: &str) -> Option<(ShapeId, Extra)> {
        if !self.asff {
            return None;
        }
        let e = EXTRA_MEMBERS.iter().find(|e| e.member == name && e.shape == shape.name)?;
        let target = model::shape(e.target)?.id();
        Some((target, Extra::member(Some(&e.limit), false)))
    }

    fn smallest_unknown<'a>(&self, m: &'a Map<String, Value>, shape: &Shape) -> Option<&'a str> {
        m.keys()
            .filter(|k| shape.member(k).is_none() && self.extra_member(shape, k).is_none())
            .map(String::as_str)
            .min()
    }
}

/// A finding needs a severity: a top-level `Severity` (whose own Label-or-Normalized rule is
/// checked with it) or a `FindingProviderFields.Severity` with a `Label` (or the documented
/// `Normalized`).
fn severity_present(m: &Map<String, Value>) -> R<'_> {
    if m.contains_key("Severity") {
        return Ok(());
    }
    let Some(fpf) = m.get("FindingProviderFields") else {
        return fail(Rule::AnyOfRequired("FindingProviderFields"));
    };
    let Some(sev) = fpf.get("Severity") else {
        return Err(Box::new(Fail {
            rule: Rule::AnyOfRequired("Severity"),
            rev_path: vec![Seg::Key("FindingProviderFields")],
        }));
    };
    if sev.get("Label").is_some() || sev.get("Normalized").is_some() {
        return Ok(());
    }
    Err(Box::new(Fail {
        rule: Rule::AnyOfRequired("Label"),
        rev_path: vec![Seg::Key("Severity"), Seg::Key("FindingProviderFields")],
    }))
}

#[cfg(test)]
mod tests;
