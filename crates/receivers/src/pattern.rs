//! EventBridge event patterns: the subset that people write for Security Hub events.
//!
//! **Documented AWS behaviour** (EventBridge user guide, "Amazon EventBridge event patterns" and
//! "Content filtering"): a pattern has the structure of the events it matches; every leaf is an
//! array of conditions, of which one must hold (OR), and every field of the pattern must match
//! (AND); when the event holds an array, the condition holds if it holds for any element; exact
//! values are strings, numbers, `true`, `false` or `null` and match only a value of the same JSON
//! type (`"5"` is not `5`; `300` and `300.0` are equal); operators are `prefix` and `suffix` (also
//! with `{"equals-ignore-case": …}`), `equals-ignore-case`, `anything-but` (a value, a list of
//! strings or of numbers, or `{"prefix"|"suffix"|"equals-ignore-case"|"wildcard": …}`), `numeric`
//! (`[">", 0, "<=", 5]`, `["=", 3]`; only numbers match), `exists` (`true`/`false`, on leaf
//! fields), `wildcard` (`*` for any run of characters, `\*` and `\\` escapes, no `**`), `cidr`,
//! and `$or` (a list of patterns, one of which must also match at that level).
//!
//! **Our reading where the guide is silent** (EventBridge's matcher is open source as "Event
//! Ruler", whose README these choices follow): a field whose value is an object, or an empty
//! array, has no leaf value, so `exists: true` does not match it and `exists: false` does; `null`
//! is a value (`exists: true` matches it); `anything-but` never matches a missing field, and an
//! event array matches it when any element is not excluded; the string operators
//! (`anything-but` with `prefix`/`suffix`/`wildcard`/`equals-ignore-case`) treat a non-string
//! value as not excluded; when a nested pattern meets an array of objects, all of its fields must
//! match within one element (Ruler's "array consistency"), so `detail.findings` patterns test one
//! finding at a time.

use serde_json::{Map, Value};
use std::fmt;
use std::net::IpAddr;

/// A malformed pattern, with the dotted path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PatternError {
    /// Dotted path of the field, empty for the pattern itself.
    pub path: String,
    pub reason: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "Event pattern is not valid. Reason: {}", self.reason)
        } else {
            write!(f, "Event pattern is not valid. Reason: \"{}\": {}", self.path, self.reason)
        }
    }
}

fn error(path: &str, reason: impl Into<String>) -> PatternError {
    PatternError { path: path.to_owned(), reason: reason.into() }
}

/// A parsed event pattern. `matches` never fails: any JSON value is an event it may or may not match.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    source: Value,
    root: ObjectPattern,
}

#[derive(Debug, Clone, PartialEq)]
struct ObjectPattern {
    fields: Vec<(String, FieldPattern)>,
    any_of: Vec<ObjectPattern>,
}

#[derive(Debug, Clone, PartialEq)]
enum FieldPattern {
    Nested(ObjectPattern),
    Leaf(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Exact(Literal),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    AnythingBut(Exclusion),
    Numeric(Vec<(Comparison, f64)>),
    Exists(bool),
    Wildcard(Wildcard),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq)]
enum Exclusion {
    Values(Vec<Literal>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

/// A wildcard pattern split at its `*`s: the literal parts, escapes resolved.
#[derive(Debug, Clone, PartialEq)]
struct Wildcard {
    parts: Vec<String>,
}

impl EventPattern {
    /// Parses a pattern, refusing what EventBridge refuses (a leaf that is not an array, an
    /// unknown operator, an empty list, a malformed range, …).
    pub fn parse(pattern: &Value) -> Result<EventPattern, PatternError> {
        let obj = pattern.as_object().ok_or_else(|| error("", "the pattern must be a JSON object"))?;
        let root = parse_object(obj, "")?;
        Ok(EventPattern { source: pattern.clone(), root })
    }

    /// Parses a pattern from its JSON text.
    pub fn parse_str(text: &str) -> Result<EventPattern, PatternError> {
        let v: Value = serde_json::from_str(text).map_err(|e| error("", format!("not JSON: {e}")))?;
        Self::parse(&v)
    }

    /// The pattern as it was given.
    pub fn as_value(&self) -> &Value {
        &self.source
    }

    pub fn matches(&self, event: &Value) -> bool {
        self.root.matches(Some(event))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn parse_object(obj: &Map<String, Value>, path: &str) -> Result<ObjectPattern, PatternError> {
    if obj.is_empty() {
        return Err(error(path, "an object in a pattern must have at least one field"));
    }
    let mut out = ObjectPattern { fields: Vec::new(), any_of: Vec::new() };
    for (key, value) in obj {
        let here = join(path, key);
        if key == "$or" {
            let list = value.as_array().ok_or_else(|| error(&here, "$or takes a list of patterns"))?;
            if list.len() < 2 {
                return Err(error(&here, "$or takes at least two patterns"));
            }
            for alt in list {
                let alt = alt.as_object().ok_or_else(|| error(&here, "each $or alternative must be an object"))?;
                out.any_of.push(parse_object(alt, path)?);
            }
            continue;
        }
        let field = match value {
            Value::Object(inner) => FieldPattern::Nested(parse_object(inner, &here)?),
            Value::Array(list) => FieldPattern::Leaf(parse_leaf(list, &here)?),
            _ => {
                return Err(error(
                    &here,
                    format!("match value must be put inside a JSON array, e.g. [{value}], or be an object of fields"),
                ));
            }
        };
        out.fields.push((key.clone(), field));
    }
    Ok(out)
}

fn parse_leaf(list: &[Value], path: &str) -> Result<Vec<Condition>, PatternError> {
    if list.is_empty() {
        return Err(error(path, "empty arrays are not allowed"));
    }
    list.iter().map(|v| parse_condition(v, path)).collect()
}

fn literal(v: &Value) -> Option<Literal> {
    Some(match v {
        Value::String(s) => Literal::String(s.clone()),
        Value::Number(n) => Literal::Number(n.as_f64()?),
        Value::Bool(b) => Literal::Bool(*b),
        Value::Null => Literal::Null,
        _ => return None,
    })
}

fn parse_condition(v: &Value, path: &str) -> Result<Condition, PatternError> {
    if let Some(l) = literal(v) {
        return Ok(Condition::Exact(l));
    }
    let obj = match v {
        Value::Object(o) => o,
        _ => return Err(error(path, "arrays inside a match list are not allowed")),
    };
    let mut entries = obj.iter();
    let (op, arg) = match (entries.next(), entries.next()) {
        (Some(e), None) => e,
        (None, _) => return Err(error(path, "an empty object is not an operator")),
        (Some(_), Some(_)) => return Err(error(path, "an operator object takes exactly one operator")),
    };
    let string = |what: &str| -> Result<String, PatternError> {
        arg.as_str().map(str::to_owned).ok_or_else(|| error(path, format!("{what} takes a string")))
    };
    match op.as_str() {
        "prefix" | "suffix" => {
            let prefix = op == "prefix";
            let (text, ignore_case) = match arg {
                Value::String(s) => (s.clone(), false),
                Value::Object(o) if o.len() == 1 && o.get("equals-ignore-case").is_some_and(Value::is_string) => {
                    (o["equals-ignore-case"].as_str().unwrap_or_default().to_owned(), true)
                }
                _ => return Err(error(path, format!("{op} takes a string or {{\"equals-ignore-case\": string}}"))),
            };
            Ok(match (prefix, ignore_case) {
                (true, false) => Condition::Prefix(text),
                (true, true) => Condition::PrefixIgnoreCase(text.to_lowercase()),
                (false, false) => Condition::Suffix(text),
                (false, true) => Condition::SuffixIgnoreCase(text.to_lowercase()),
            })
        }
        "equals-ignore-case" => Ok(Condition::EqualsIgnoreCase(string(op)?.to_lowercase())),
        "anything-but" => Ok(Condition::AnythingBut(parse_exclusion(arg, path)?)),
        "numeric" => Ok(Condition::Numeric(parse_numeric(arg, path)?)),
        "exists" => match arg {
            Value::Bool(b) => Ok(Condition::Exists(*b)),
            _ => Err(error(path, "exists takes true or false")),
        },
        "wildcard" => Ok(Condition::Wildcard(Wildcard::parse(&string(op)?, path)?)),
        "cidr" => parse_cidr(&string(op)?, path),
        other => Err(error(path, format!("unrecognized match type {other}"))),
    }
}

fn parse_exclusion(arg: &Value, path: &str) -> Result<Exclusion, PatternError> {
    match arg {
        Value::String(_) | Value::Number(_) => Ok(Exclusion::Values(literal(arg).into_iter().collect())),
        Value::Array(list) => {
            if list.is_empty() {
                return Err(error(path, "anything-but takes a non-empty list"));
            }
            let all_strings = list.iter().all(Value::is_string);
            let all_numbers = list.iter().all(Value::is_number);
            if !all_strings && !all_numbers {
                return Err(error(path, "anything-but takes a list of strings or a list of numbers, not both"));
            }
            Ok(Exclusion::Values(list.iter().filter_map(literal).collect()))
        }
        Value::Object(o) if o.len() == 1 => {
            let (op, v) = o.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap_or_default();
            let strings = |what: &str| -> Result<Vec<String>, PatternError> {
                match v {
                    Value::String(s) => Ok(vec![s.clone()]),
                    Value::Array(l) if !l.is_empty() && l.iter().all(Value::is_string) => {
                        Ok(l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    }
                    _ => Err(error(path, format!("anything-but/{what} takes a string or a list of strings"))),
                }
            };
            let one = |what: &str| -> Result<String, PatternError> {
                v.as_str().map(str::to_owned).ok_or_else(|| error(path, format!("anything-but/{what} takes a string")))
            };
            match op {
                "prefix" => Ok(Exclusion::Prefix(one(op)?)),
                "suffix" => Ok(Exclusion::Suffix(one(op)?)),
                "equals-ignore-case" => {
                    Ok(Exclusion::EqualsIgnoreCase(strings(op)?.iter().map(|s| s.to_lowercase()).collect()))
                }
                "wildcard" => Ok(Exclusion::Wildcard(
                    strings(op)?.iter().map(|s| Wildcard::parse(s, path)).collect::<Result<_, _>>()?,
                )),
                other => Err(error(path, format!("unsupported anything-but operator {other}"))),
            }
        }
        _ => Err(error(
            path,
            "anything-but takes a string, a number, a list of either, or an object with prefix, suffix, equals-ignore-case or wildcard",
        )),
    }
}

fn parse_numeric(arg: &Value, path: &str) -> Result<Vec<(Comparison, f64)>, PatternError> {
    let list = arg.as_array().ok_or_else(|| error(path, "numeric takes a list such as [\">\", 0, \"<=\", 5]"))?;
    if list.is_empty() || list.len() % 2 != 0 || list.len() > 4 {
        return Err(error(path, "numeric takes one or two (operator, number) pairs"));
    }
    let mut out = Vec::new();
    for pair in list.chunks(2) {
        let op = match pair[0].as_str() {
            Some("<") => Comparison::Less,
            Some("<=") => Comparison::LessOrEqual,
            Some("=") => Comparison::Equal,
            Some(">=") => Comparison::GreaterOrEqual,
            Some(">") => Comparison::Greater,
            _ => return Err(error(path, format!("unrecognized numeric operator {}", pair[0]))),
        };
        let n = pair[1].as_f64().ok_or_else(|| error(path, format!("numeric takes a number after {}", pair[0])))?;
        out.push((op, n));
    }
    if let [(lower, low), (upper, high)] = out.as_slice() {
        let is_lower = matches!(lower, Comparison::Greater | Comparison::GreaterOrEqual);
        let is_upper = matches!(upper, Comparison::Less | Comparison::LessOrEqual);
        if !is_lower || !is_upper {
            return Err(error(path, "a numeric range is a lower bound (> or >=) followed by an upper bound (< or <=)"));
        }
        if low >= high {
            return Err(error(path, "the bottom of a numeric range must be less than the top"));
        }
    }
    Ok(out)
}

fn parse_cidr(text: &str, path: &str) -> Result<Condition, PatternError> {
    let bad = || error(path, format!("{text} is not a CIDR block such as 10.0.0.0/24"));
    let (ip, len) = text.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(bad());
    }
    Ok(Condition::Cidr(ip, len))
}

impl Wildcard {
    fn parse(text: &str, path: &str) -> Result<Wildcard, PatternError> {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars();
        let mut previous_star = false;
        while let Some(c) = chars.next() {
            match c {
                '*' if previous_star => {
                    return Err(error(path, "consecutive wildcard characters are not allowed"));
                }
                '*' => parts.push(std::mem::take(&mut current)),
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => current.push(e),
                    _ => return Err(error(path, "in a wildcard, \\ may only escape * or \\")),
                },
                c => current.push(c),
            }
            previous_star = c == '*';
        }
        parts.push(current);
        Ok(Wildcard { parts })
    }

    fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(x) => x,
            None => return s.is_empty(),
        };
        let Some(mut remaining) = s.strip_prefix(first.as_str()) else { return false };
        let Some((last, middle)) = rest.split_last() else { return remaining.is_empty() };
        for part in middle {
            match remaining.find(part.as_str()) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

impl ObjectPattern {
    /// `value` is the event's value at this pattern's place, `None` when absent.
    fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            // One element must satisfy the whole nested pattern (array consistency).
            Some(Value::Array(items)) if !items.is_empty() => items.iter().any(|item| self.matches(Some(item))),
            Some(Value::Object(obj)) => {
                self.fields.iter().all(|(key, field)| field.matches(obj.get(key)))
                    && (self.any_of.is_empty() || self.any_of.iter().any(|alt| alt.matches(value)))
            }
            _ => {
                self.fields.iter().all(|(_, field)| field.matches(None))
                    && (self.any_of.is_empty() || self.any_of.iter().any(|alt| alt.matches(None)))
            }
        }
    }
}

impl FieldPattern {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            FieldPattern::Nested(inner) => inner.matches(value),
            FieldPattern::Leaf(conditions) => {
                let mut leaves = Vec::new();
                collect_leaves(value, &mut leaves);
                conditions.iter().any(|c| c.matches(&leaves))
            }
        }
    }
}

fn collect_leaves<'a>(value: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    match value {
        None | Some(Value::Object(_)) => {}
        Some(Value::Array(items)) => items.iter().for_each(|v| collect_leaves(Some(v), out)),
        Some(v) => out.push(v),
    }
}

impl Literal {
    fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Literal::String(a), Value::String(b)) => a == b,
            (Literal::Number(a), Value::Number(b)) => b.as_f64() == Some(*a),
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Condition {
    fn matches(&self, leaves: &[&Value]) -> bool {
        match self {
            Condition::Exists(wanted) => leaves.is_empty() != *wanted,
            _ => leaves.iter().any(|v| self.matches_value(v)),
        }
    }

    fn matches_value(&self, v: &Value) -> bool {
        let text = v.as_str();
        match self {
            Condition::Exact(l) => l.equals(v),
            Condition::Prefix(p) => text.is_some_and(|s| s.starts_with(p.as_str())),
            Condition::Suffix(p) => text.is_some_and(|s| s.ends_with(p.as_str())),
            Condition::PrefixIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase().starts_with(p.as_str())),
            Condition::SuffixIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase().ends_with(p.as_str())),
            Condition::EqualsIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase() == *p),
            Condition::Wildcard(w) => text.is_some_and(|s| w.matches(s)),
            Condition::AnythingBut(ex) => !ex.excludes(v),
            Condition::Numeric(bounds) => v.as_f64().is_some_and(|n| {
                v.is_number()
                    && bounds.iter().all(|(op, b)| match op {
                        Comparison::Less => n < *b,
                        Comparison::LessOrEqual => n <= *b,
                        Comparison::Equal => n == *b,
                        Comparison::GreaterOrEqual => n >= *b,
                        Comparison::Greater => n > *b,
                    })
            }),
            Condition::Cidr(net, len) => {
                text.and_then(|s| s.parse::<IpAddr>().ok()).is_some_and(|ip| in_cidr(ip, *net, *len))
            }
            Condition::Exists(_) => true,
        }
    }
}

impl Exclusion {
    fn excludes(&self, v: &Value) -> bool {
        let Some(s) = v.as_str() else {
            return matches!(self, Exclusion::Values(list) if list.iter().any(|l| l.equals(v)));
        };
        match self {
            Exclusion::Values(list) => list.iter().any(|l| l.equals(v)),
            Exclusion::Prefix(p) => s.starts_with(p.as_str()),
            Exclusion::Suffix(p) => s.ends_with(p.as_str()),
            Exclusion::EqualsIgnoreCase(list) => list.contains(&s.to_lowercase()),
            Exclusion::Wildcard(list) => list.iter().any(|w| w.matches(s)),
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use serde_json::json;

    fn pattern(v: Value) -> EventPattern {
        EventPattern::parse(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    fn matches(p: Value, event: Value) -> bool {
        pattern(p).matches(&event)
    }

    fn rejects(p: Value) -> String {
        match EventPattern::parse(&p) {
            Ok(_) => panic!("accepted a malformed pattern: {p}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_security_hub_pattern_of_the_notes_matches_one_finding_at_a_time() {
        let p = pattern(json!({
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {"findings": {"Severity": {"Label": ["CRITICAL", "HIGH"]}, "Workflow": {"Status": ["NEW"]}, "RecordState": ["ACTIVE"]}}
        }));
        let control = samples::control_finding();
        assert!(p.matches(&samples::imported(&[&control])), "HIGH, NEW, ACTIVE");
        let gd = samples::asff(samples::GUARDDUTY_SSH);
        assert!(!p.matches(&samples::imported(&[&gd])), "MEDIUM");
        let mut resolved = control.clone();
        resolved.insert("Workflow".into(), json!({"Status": "RESOLVED"}));
        assert!(!p.matches(&samples::imported(&[&resolved])));
        // Array consistency: HIGH from one finding and NEW from another is not a match.
        let mut low_new = gd.clone();
        low_new.insert("Severity".into(), json!({"Label": "LOW"}));
        assert!(!p.matches(&samples::imported(&[&resolved, &low_new])));
        assert!(p.matches(&samples::imported(&[&low_new, &control])));
        assert!(!p.matches(&samples::custom_action(&[&control])), "detail-type differs");
    }

    #[test]
    fn exact_values_match_only_their_own_json_type() {
        assert!(matches(json!({"a": ["x"]}), json!({"a": "x"})));
        assert!(!matches(json!({"a": ["x"]}), json!({"a": "X"})));
        assert!(matches(json!({"n": [300]}), json!({"n": 300.0})));
        assert!(!matches(json!({"n": [5]}), json!({"n": "5"})));
        assert!(!matches(json!({"s": ["5"]}), json!({"s": 5})));
        assert!(matches(json!({"b": [true]}), json!({"b": true})));
        assert!(!matches(json!({"b": [true]}), json!({"b": "true"})));
        assert!(matches(json!({"z": [null]}), json!({"z": null})));
        assert!(!matches(json!({"z": [null]}), json!({})), "null does not match a missing field");
        assert!(matches(json!({"e": [""]}), json!({"e": ""})));
        assert!(!matches(json!({"a": ["x"]}), json!({})));
        assert!(!matches(json!({"a": ["x"]}), json!({"a": {"x": 1}})), "an object is not a leaf value");
    }

    #[test]
    fn arrays_in_the_event_match_when_any_element_matches() {
        assert!(matches(json!({"resources": ["arn:b"]}), json!({"resources": ["arn:a", "arn:b"]})));
        assert!(!matches(json!({"resources": ["arn:c"]}), json!({"resources": ["arn:a", "arn:b"]})));
        assert!(matches(json!({"t": [{"prefix": "TTPs/"}]}), json!({"t": ["Software", "TTPs/Discovery"]})));
        assert!(matches(json!({"a": {"b": ["x"]}}), json!({"a": [{"b": "y"}, {"b": ["z", "x"]}]})));
    }

    #[test]
    fn fields_are_and_and_list_entries_are_or() {
        let p = json!({"a": ["1", "2"], "b": ["3"]});
        assert!(matches(p.clone(), json!({"a": "2", "b": "3"})));
        assert!(!matches(p.clone(), json!({"a": "2", "b": "4"})));
        assert!(!matches(p, json!({"a": "2"})));
    }

    #[test]
    fn prefix_suffix_and_ignore_case() {
        assert!(matches(json!({"r": [{"prefix": "us-"}]}), json!({"r": "us-east-1"})));
        assert!(!matches(json!({"r": [{"prefix": "us-"}]}), json!({"r": "eu-west-1"})));
        assert!(!matches(json!({"r": [{"prefix": "1"}]}), json!({"r": 12})), "prefix is for strings");
        assert!(matches(json!({"f": [{"suffix": ".png"}]}), json!({"f": "a.png"})));
        assert!(!matches(json!({"f": [{"suffix": ".png"}]}), json!({"f": "a.PNG"})));
        assert!(matches(json!({"f": [{"suffix": {"equals-ignore-case": ".png"}}]}), json!({"f": "a.PNG"})));
        assert!(matches(json!({"s": [{"prefix": {"equals-ignore-case": "EventB"}}]}), json!({"s": "eventbridge"})));
        assert!(matches(json!({"n": [{"equals-ignore-case": "alice"}]}), json!({"n": "ALICE"})));
        assert!(!matches(json!({"n": [{"equals-ignore-case": "alice"}]}), json!({"n": "alicia"})));
    }

    #[test]
    fn anything_but_in_all_its_forms() {
        let single = json!({"s": [{"anything-but": "RESOLVED"}]});
        assert!(matches(single.clone(), json!({"s": "NEW"})));
        assert!(!matches(single.clone(), json!({"s": "RESOLVED"})));
        assert!(!matches(single.clone(), json!({})), "a missing field never matches anything-but");
        assert!(matches(single.clone(), json!({"s": ["RESOLVED", "NEW"]})), "one element not excluded is enough");
        assert!(!matches(single, json!({"s": ["RESOLVED"]})));
        let list = json!({"s": [{"anything-but": ["RESOLVED", "SUPPRESSED"]}]});
        assert!(matches(list.clone(), json!({"s": "NOTIFIED"})));
        assert!(!matches(list, json!({"s": "SUPPRESSED"})));
        let number = json!({"n": [{"anything-but": [0, 1]}]});
        assert!(matches(number.clone(), json!({"n": 2})));
        assert!(!matches(number.clone(), json!({"n": 1.0})));
        assert!(matches(number, json!({"n": "1"})), "a string is not the number 1");
        let prefix = json!({"r": [{"anything-but": {"prefix": "us-"}}]});
        assert!(matches(prefix.clone(), json!({"r": "eu-west-1"})));
        assert!(!matches(prefix.clone(), json!({"r": "us-east-1"})));
        assert!(!matches(prefix, json!({})));
        assert!(!matches(json!({"f": [{"anything-but": {"suffix": ".png"}}]}), json!({"f": "x.png"})));
        let ic = json!({"s": [{"anything-but": {"equals-ignore-case": ["new", "notified"]}}]});
        assert!(!matches(ic.clone(), json!({"s": "NEW"})));
        assert!(matches(ic, json!({"s": "RESOLVED"})));
        let wc = json!({"p": [{"anything-but": {"wildcard": "*/lib/*"}}]});
        assert!(!matches(wc.clone(), json!({"p": "/usr/lib/x"})));
        assert!(matches(wc, json!({"p": "/usr/bin/x"})));
    }

    #[test]
    fn numeric_ranges() {
        let range = json!({"n": [{"numeric": [">", 0, "<=", 5]}]});
        assert!(matches(range.clone(), json!({"n": 5})));
        assert!(matches(range.clone(), json!({"n": 0.5})));
        assert!(!matches(range.clone(), json!({"n": 0})));
        assert!(!matches(range.clone(), json!({"n": 5.000001})));
        assert!(!matches(range.clone(), json!({"n": "3"})), "numeric never matches a string");
        assert!(!matches(range.clone(), json!({"n": true})));
        assert!(!matches(range.clone(), json!({})));
        assert!(matches(range, json!({"n": [9, 3]})), "any element");
        assert!(matches(json!({"n": [{"numeric": ["=", 70]}]}), json!({"n": 70.0})));
        assert!(matches(json!({"n": [{"numeric": [">=", 70]}]}), json!({"n": 70})));
        assert!(!matches(json!({"n": [{"numeric": ["<", 70]}]}), json!({"n": 70})));
        let normalized = json!({"detail": {"findings": {"Severity": {"Normalized": [{"numeric": [">=", 70]}]}}}});
        assert!(pattern(normalized.clone()).matches(&samples::imported(&[&samples::control_finding()])));
        assert!(!pattern(normalized).matches(&samples::imported(&[&samples::asff(samples::CONFIG)])));
    }

    #[test]
    fn exists_true_and_false() {
        let yes = json!({"detail": {"c": [{"exists": true}]}});
        let no = json!({"detail": {"c": [{"exists": false}]}});
        assert!(matches(yes.clone(), json!({"detail": {"c": 1}})));
        assert!(matches(yes.clone(), json!({"detail": {"c": null}})), "null is a value");
        assert!(!matches(yes.clone(), json!({"detail": {}})));
        assert!(!matches(yes.clone(), json!({"detail": {"c": []}})));
        assert!(!matches(yes, json!({"detail": {"c": {"d": 1}}})), "exists looks at leaves only");
        assert!(matches(no.clone(), json!({"detail": {}})));
        assert!(matches(no.clone(), json!({})), "missing parent: the leaf is missing too");
        assert!(matches(no.clone(), json!({"detail": {"c": []}})));
        assert!(!matches(no, json!({"detail": {"c": "x"}})));
        let no_note = json!({"detail": {"findings": {"Note": {"Text": [{"exists": false}]}}}});
        let control = samples::control_finding();
        assert!(pattern(no_note.clone()).matches(&samples::imported(&[&control])));
        let mut noted = control.clone();
        noted.insert("Note".into(), json!({"Text": "seen", "UpdatedBy": "me", "UpdatedAt": "2024-05-02T10:00:00Z"}));
        assert!(!pattern(no_note).matches(&samples::imported(&[&noted])));
    }

    #[test]
    fn wildcards() {
        let p = json!({"id": [{"wildcard": "arn:aws:securityhub:*:security-control/S3.*"}]});
        assert!(pattern(p.clone()).matches(&json!({"id": samples::control_finding()["Id"]})));
        assert!(!matches(p, json!({"id": "arn:aws:securityhub:us-east-1:1:security-control/IAM.1/finding/x"})));
        assert!(matches(json!({"f": [{"wildcard": "*.png"}]}), json!({"f": "a.png"})));
        assert!(!matches(json!({"f": [{"wildcard": "*.png"}]}), json!({"f": "a.png.txt"})));
        assert!(matches(json!({"f": [{"wildcard": "a*b*c"}]}), json!({"f": "abc"})));
        assert!(!matches(json!({"f": [{"wildcard": "a*bc*c"}]}), json!({"f": "abc"})));
        assert!(matches(json!({"f": [{"wildcard": "a\\*b"}]}), json!({"f": "a*b"})));
        assert!(!matches(json!({"f": [{"wildcard": "a\\*b"}]}), json!({"f": "axb"})));
        assert!(matches(json!({"f": [{"wildcard": "*"}]}), json!({"f": ""})));
        assert!(matches(json!({"f": [{"wildcard": "exact"}]}), json!({"f": "exact"})));
        assert!(!matches(json!({"f": [{"wildcard": "ab*ba"}]}), json!({"f": "aba"})), "parts may not overlap");
    }

    #[test]
    fn cidr_and_or() {
        let p = json!({"ip": [{"cidr": "10.0.0.0/24"}]});
        assert!(matches(p.clone(), json!({"ip": "10.0.0.255"})));
        assert!(!matches(p.clone(), json!({"ip": "10.0.1.0"})));
        assert!(!matches(p, json!({"ip": "not an ip"})));
        assert!(matches(json!({"ip": [{"cidr": "2001:db8::/32"}]}), json!({"ip": "2001:db8::1"})));
        let or = json!({"source": ["aws.securityhub"], "$or": [{"a": ["1"]}, {"b": [{"numeric": [">", 5]}]}]});
        assert!(matches(or.clone(), json!({"source": "aws.securityhub", "a": "1"})));
        assert!(matches(or.clone(), json!({"source": "aws.securityhub", "b": 6})));
        assert!(!matches(or.clone(), json!({"source": "aws.securityhub", "b": 5})));
        assert!(!matches(or, json!({"source": "other", "a": "1"})));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_path() {
        let e = rejects(json!({"source": "aws.securityhub"}));
        assert!(e.contains("\"source\"") && e.contains("JSON array"), "{e}");
        let e = rejects(json!({"detail": {"findings": {"Severity": {"Label": "HIGH"}}}}));
        assert!(e.contains("detail.findings.Severity.Label"), "{e}");
        assert!(rejects(json!(["x"])).contains("JSON object"));
        assert!(rejects(json!({})).contains("at least one field"));
        assert!(rejects(json!({"a": {}})).contains("at least one field"));
        assert!(rejects(json!({"a": []})).contains("empty arrays"));
        assert!(rejects(json!({"a": [["x"]]})).contains("arrays inside"));
        assert!(rejects(json!({"a": [{"contains": "x"}]})).contains("unrecognized match type contains"));
        assert!(rejects(json!({"a": [{"prefix": "x", "suffix": "y"}]})).contains("exactly one operator"));
        assert!(rejects(json!({"a": [{"prefix": 1}]})).contains("prefix takes a string"));
        assert!(rejects(json!({"a": [{"exists": "true"}]})).contains("true or false"));
        assert!(rejects(json!({"a": [{"numeric": [">", "0"]}]})).contains("a number"));
        assert!(rejects(json!({"a": [{"numeric": ["<", 5, ">", 0]}]})).contains("lower bound"));
        assert!(rejects(json!({"a": [{"numeric": [">", 5, "<", 5]}]})).contains("less than the top"));
        assert!(rejects(json!({"a": [{"numeric": [">", 5, "<"]}]})).contains("pairs"));
        assert!(rejects(json!({"a": [{"numeric": ["!=", 5]}]})).contains("numeric operator"));
        assert!(rejects(json!({"a": [{"anything-but": ["x", 1]}]})).contains("not both"));
        assert!(rejects(json!({"a": [{"anything-but": []}]})).contains("non-empty"));
        assert!(rejects(json!({"a": [{"anything-but": {"contains": "x"}}]})).contains("unsupported"));
        assert!(rejects(json!({"a": [{"anything-but": true}]})).contains("anything-but takes"));
        assert!(rejects(json!({"a": [{"wildcard": "a**b"}]})).contains("consecutive"));
        assert!(rejects(json!({"a": [{"wildcard": "a\\b"}]})).contains("escape"));
        assert!(rejects(json!({"a": [{"cidr": "10.0.0.0/33"}]})).contains("CIDR"));
        assert!(rejects(json!({"$or": [{"a": ["x"]}]})).contains("at least two"));
        assert!(EventPattern::parse_str("{").is_err());
    }

    #[test]
    fn keeps_the_pattern_it_was_given() {
        let v = json!({"source": ["aws.securityhub"]});
        let p = EventPattern::parse_str(&v.to_string()).expect("valid");
        assert_eq!(p.as_value(), &v);
        assert!(p.matches(&samples::imported(&[&samples::control_finding()])));
        assert!(!p.matches(&json!("not an event")));
    }
}
