//! Parsing the JSON of `AwsSecurityFindingFilters` / `AutomationRulesFindingFilters` into
//! [`Filters`], with every check that makes an `InvalidInputException`.

use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, parse_timestamp};
use serde_json::{Map, Value};

use super::cidr::Cidr;
use super::condition::{Condition, DateInterval, FieldCondition, Filters, MapTest, NumberRange, StringOp, StringTest};
use super::fields::{FieldKind, FilterField, FilterSet, field};

/// A filter the service refuses. `message` is the message of the `InvalidInputException` that the
/// API returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        FilterError { message: message.into() }
    }
}

/// Parses `AwsSecurityFindingFilters` (as in GetFindings, insights and UpdateFindings). `now`
/// resolves `DateRange`s. `null` means no filter.
pub fn parse_filters(json: &Value, now: Micros) -> Result<Filters, FilterError> {
    parse_filters_for(json, now, FilterSet::Findings)
}

/// Parses the filter structure `set` (see [`FilterSet`] for how the sets differ).
pub fn parse_filters_for(json: &Value, now: Micros, set: FilterSet) -> Result<Filters, FilterError> {
    let obj = match json {
        Value::Null => return Ok(Filters::default()),
        Value::Object(obj) => obj,
        _ => {
            return Err(FilterError::new(format!("{} must be a JSON object", set.shape_name())));
        }
    };
    let mut present: Vec<(&'static FilterField, &Vec<Value>)> = Vec::new();
    for (name, value) in obj {
        let Some(f) = field(name) else {
            return Err(FilterError::new(format!("Unknown filter field '{name}'")));
        };
        let Some(max_values) = set.max_values(f) else {
            return Err(FilterError::new(format!("Filter field '{name}' is not supported in {}", set.shape_name())));
        };
        let items = match value {
            Value::Null => continue,
            Value::Array(items) => items,
            _ => {
                return Err(FilterError::new(format!(
                    "Filter field '{name}' must be a list of {} objects",
                    f.kind.shape_name()
                )));
            }
        };
        if items.is_empty() {
            if set.rejects_empty_lists() {
                return Err(FilterError::new(format!("Filter field '{name}' must have at least 1 value")));
            }
            continue;
        }
        if items.len() > max_values {
            return Err(FilterError::new(format!(
                "Filter field '{name}' has {} values; at most {max_values} values are allowed per filter attribute",
                items.len()
            )));
        }
        present.push((f, items));
    }
    if let Some(max) = set.max_attributes()
        && present.len() > max
    {
        return Err(FilterError::new(format!(
            "Filters use {} attributes; at most {max} filter attributes are allowed",
            present.len()
        )));
    }
    let mut conditions = Vec::with_capacity(present.len());
    for (f, items) in present {
        let condition = match f.kind {
            FieldKind::String => parse_string(f, items)?,
            FieldKind::Map => parse_map(f, items)?,
            FieldKind::Number => Condition::Number(each(f, items, parse_number)?),
            FieldKind::Date => Condition::Date(each(f, items, |f, v| parse_date(f, v, now))?),
            FieldKind::Ip => Condition::Ip(each(f, items, parse_ip)?),
            FieldKind::Boolean => Condition::Bool(each(f, items, parse_bool)?),
            FieldKind::Keyword => Condition::Keyword(each(f, items, parse_keyword)?),
        };
        conditions.push(FieldCondition { field: f, condition });
    }
    Ok(Filters { conditions })
}

fn each<T>(
    f: &'static FilterField,
    items: &[Value],
    parse_one: impl Fn(&'static FilterField, &Value) -> Result<T, FilterError>,
) -> Result<Vec<T>, FilterError> {
    items.iter().map(|v| parse_one(f, v)).collect()
}

/// The object of one filter value, with its members checked against `allowed`. Members set to
/// `null` count as absent.
fn members<'a>(f: &FilterField, value: &'a Value, allowed: &[&str]) -> Result<&'a Map<String, Value>, FilterError> {
    let shape = f.kind.shape_name();
    let Some(obj) = value.as_object() else {
        return Err(FilterError::new(format!("Filter field '{}' must be a list of {shape} objects", f.name)));
    };
    if let Some(unknown) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(FilterError::new(format!(
            "Unknown member '{unknown}' in {shape} of filter field '{}'; expected {}",
            f.name,
            allowed.join(", ")
        )));
    }
    Ok(obj)
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn missing(f: &FilterField, member: &str) -> FilterError {
    FilterError::new(format!("{} of filter field '{}' requires {member}", f.kind.shape_name(), f.name))
}

/// A required `NonEmptyString` member (the model's pattern `.*\S.*`: at least one character that
/// is not white space).
fn non_empty_string<'a>(f: &FilterField, obj: &'a Map<String, Value>, member: &str) -> Result<&'a str, FilterError> {
    let v = get(obj, member).ok_or_else(|| missing(f, member))?;
    let s = v.as_str().ok_or_else(|| {
        FilterError::new(format!("{member} in {} of filter field '{}' must be a string", f.kind.shape_name(), f.name))
    })?;
    if !s.chars().any(|c| !c.is_whitespace()) {
        return Err(FilterError::new(format!(
            "{member} in {} of filter field '{}' must not be empty",
            f.kind.shape_name(),
            f.name
        )));
    }
    Ok(s)
}

/// A comparison operator as written, for the combining rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Equals,
    Prefix,
    NotEquals,
    PrefixNotEquals,
    Contains,
    NotContains,
}

impl Cmp {
    fn name(self) -> &'static str {
        match self {
            Cmp::Equals => "EQUALS",
            Cmp::Prefix => "PREFIX",
            Cmp::NotEquals => "NOT_EQUALS",
            Cmp::PrefixNotEquals => "PREFIX_NOT_EQUALS",
            Cmp::Contains => "CONTAINS",
            Cmp::NotContains => "NOT_CONTAINS",
        }
    }

    /// (is the comparison negative, its positive form).
    fn split(self) -> (bool, StringOp) {
        match self {
            Cmp::Equals => (false, StringOp::Equals),
            Cmp::Prefix => (false, StringOp::Prefix),
            Cmp::Contains => (false, StringOp::Contains),
            Cmp::NotEquals => (true, StringOp::Equals),
            Cmp::PrefixNotEquals => (true, StringOp::Prefix),
            Cmp::NotContains => (true, StringOp::Contains),
        }
    }
}

const STRING_CMPS: [Cmp; 6] =
    [Cmp::Equals, Cmp::Prefix, Cmp::NotEquals, Cmp::PrefixNotEquals, Cmp::Contains, Cmp::NotContains];
const MAP_CMPS: [Cmp; 4] = [Cmp::Equals, Cmp::NotEquals, Cmp::Contains, Cmp::NotContains];

fn comparison(f: &FilterField, obj: &Map<String, Value>, allowed: &[Cmp]) -> Result<Cmp, FilterError> {
    let s = get(obj, "Comparison").ok_or_else(|| missing(f, "Comparison"))?;
    let name = s.as_str().unwrap_or("");
    if let Some(c) = allowed.iter().find(|c| c.name() == name) {
        return Ok(*c);
    }
    if name == "CONTAINS_WORD" && f.kind == FieldKind::String {
        return Err(FilterError::new(format!(
            "Comparison CONTAINS_WORD (filter field '{}') is supported only by the V2 APIs",
            f.name
        )));
    }
    let names: Vec<&str> = allowed.iter().map(|c| c.name()).collect();
    Err(FilterError::new(format!(
        "Invalid Comparison {s} in {} of filter field '{}'; expected one of {}",
        f.kind.shape_name(),
        f.name,
        names.join(", ")
    )))
}

/// The documented combining rules for the comparisons used on one field.
fn check_mix(f: &FilterField, used: &[Cmp]) -> Result<(), FilterError> {
    let has = |c: Cmp| used.contains(&c);
    let conflict = |a: Cmp, b: Cmp| {
        FilterError::new(format!("Filter field '{}' cannot combine {} and {} comparisons", f.name, a.name(), b.name()))
    };
    if has(Cmp::Contains) && has(Cmp::NotContains) {
        return Err(conflict(Cmp::Contains, Cmp::NotContains));
    }
    for neg in [Cmp::NotEquals, Cmp::PrefixNotEquals] {
        if has(Cmp::Equals) && has(neg) {
            return Err(conflict(Cmp::Equals, neg));
        }
    }
    for only in [Cmp::Contains, Cmp::NotContains] {
        if has(only)
            && let Some(other) = used.iter().find(|c| **c != only)
        {
            return Err(FilterError::new(format!(
                "Filter field '{}' cannot combine {} and {} comparisons: {} can only be combined with other {} filters",
                f.name,
                only.name(),
                other.name(),
                only.name(),
                only.name()
            )));
        }
    }
    Ok(())
}

fn parse_string(f: &'static FilterField, items: &[Value]) -> Result<Condition, FilterError> {
    let mut used = Vec::new();
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for item in items {
        let obj = members(f, item, &["Value", "Comparison"])?;
        let value = non_empty_string(f, obj, "Value")?;
        let cmp = comparison(f, obj, &STRING_CMPS)?;
        used.push(cmp);
        let (neg, op) = cmp.split();
        let test = StringTest { op, value: value.to_owned() };
        if neg { negative.push(test) } else { positive.push(test) }
    }
    check_mix(f, &used)?;
    Ok(Condition::String { positive, negative })
}

fn parse_map(f: &'static FilterField, items: &[Value]) -> Result<Condition, FilterError> {
    let mut used = Vec::new();
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for item in items {
        let obj = members(f, item, &["Key", "Value", "Comparison"])?;
        let key = non_empty_string(f, obj, "Key")?;
        let value = non_empty_string(f, obj, "Value")?;
        let cmp = comparison(f, obj, &MAP_CMPS)?;
        used.push(cmp);
        let (neg, op) = cmp.split();
        let test = MapTest { key: key.to_owned(), op, value: value.to_owned() };
        if neg { negative.push(test) } else { positive.push(test) }
    }
    check_mix(f, &used)?;
    Ok(Condition::Map { positive, negative })
}

fn parse_number(f: &'static FilterField, item: &Value) -> Result<NumberRange, FilterError> {
    let obj = members(f, item, &["Gte", "Lte", "Eq", "Gt", "Lt"])?;
    let bound = |member: &str| -> Result<Option<f64>, FilterError> {
        match get(obj, member) {
            None => Ok(None),
            Some(v) => v.as_f64().filter(|x| x.is_finite()).map(Some).ok_or_else(|| {
                FilterError::new(format!("{member} in NumberFilter of filter field '{}' must be a number", f.name))
            }),
        }
    };
    let range =
        NumberRange { eq: bound("Eq")?, gt: bound("Gt")?, gte: bound("Gte")?, lt: bound("Lt")?, lte: bound("Lte")? };
    if range == NumberRange::default() {
        return Err(FilterError::new(format!(
            "NumberFilter of filter field '{}' requires at least one of Eq, Gt, Gte, Lt, Lte",
            f.name
        )));
    }
    Ok(range)
}

fn parse_date(f: &'static FilterField, item: &Value, now: Micros) -> Result<DateInterval, FilterError> {
    let obj = members(f, item, &["Start", "End", "DateRange"])?;
    let timestamp = |member: &str| -> Result<Option<Micros>, FilterError> {
        if get(obj, member).is_none() {
            return Ok(None);
        }
        let s = non_empty_string(f, obj, member)?;
        parse_timestamp(s).map(Some).ok_or_else(|| {
            FilterError::new(format!(
                "{member} in DateFilter of filter field '{}' is not a valid timestamp: {s}",
                f.name
            ))
        })
    };
    let start = timestamp("Start")?;
    let end = timestamp("End")?;
    let range = match get(obj, "DateRange") {
        None => None,
        Some(r) => Some(parse_date_range(f, r, now)?),
    };
    if start.is_none() && end.is_none() && range.is_none() {
        return Err(FilterError::new(format!(
            "DateFilter of filter field '{}' requires Start, End or DateRange",
            f.name
        )));
    }
    // Start/End and DateRange together: both apply (the intersection).
    let mut interval = DateInterval { start, end };
    if let Some(r) = range {
        interval.start = max_opt(interval.start, r.start);
        interval.end = min_opt(interval.end, r.end);
    }
    Ok(interval)
}

fn max_opt(a: Option<Micros>, b: Option<Micros>) -> Option<Micros> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_opt(a: Option<Micros>, b: Option<Micros>) -> Option<Micros> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn parse_date_range(f: &FilterField, r: &Value, now: Micros) -> Result<DateInterval, FilterError> {
    let bad = |what: &str| FilterError::new(format!("DateRange in DateFilter of filter field '{}' {what}", f.name));
    let Some(obj) = r.as_object() else {
        return Err(bad("must be an object"));
    };
    if let Some(unknown) = obj.keys().find(|k| !["Value", "Unit", "Comparison"].contains(&k.as_str())) {
        return Err(bad(&format!("has unknown member '{unknown}'; expected Value, Unit, Comparison")));
    }
    let value = get(obj, "Value").ok_or_else(|| bad("requires Value"))?;
    let days = value.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| bad("requires an integer Value"))?;
    if days < 0 {
        return Err(bad("requires a Value of 0 or more"));
    }
    match get(obj, "Unit") {
        None => {}
        Some(u) if u.as_str() == Some("DAYS") => {}
        Some(u) => return Err(bad(&format!("has invalid Unit {u}; expected DAYS"))),
    }
    let older = match get(obj, "Comparison") {
        None => false,
        Some(c) if c.as_str() == Some("WITHIN") => false,
        Some(c) if c.as_str() == Some("OLDER_THAN") => true,
        Some(c) => {
            return Err(bad(&format!("has invalid Comparison {c}; expected WITHIN or OLDER_THAN")));
        }
    };
    let boundary = now.saturating_sub(i64::from(days).saturating_mul(MICROS_PER_DAY));
    Ok(if older {
        DateInterval { start: None, end: Some(boundary.saturating_sub(1)) }
    } else {
        DateInterval { start: Some(boundary), end: None }
    })
}

fn parse_ip(f: &'static FilterField, item: &Value) -> Result<Cidr, FilterError> {
    let obj = members(f, item, &["Cidr"])?;
    let s = non_empty_string(f, obj, "Cidr")?;
    Cidr::parse(s).ok_or_else(|| FilterError::new(format!("Invalid Cidr {s} in IpFilter of filter field '{}'", f.name)))
}

fn parse_bool(f: &'static FilterField, item: &Value) -> Result<bool, FilterError> {
    let obj = members(f, item, &["Value"])?;
    let v = get(obj, "Value").ok_or_else(|| missing(f, "Value"))?;
    v.as_bool().ok_or_else(|| {
        FilterError::new(format!("Value in BooleanFilter of filter field '{}' must be true or false", f.name))
    })
}

fn parse_keyword(f: &'static FilterField, item: &Value) -> Result<String, FilterError> {
    let obj = members(f, item, &["Value"])?;
    Ok(non_empty_string(f, obj, "Value")?.to_owned())
}
