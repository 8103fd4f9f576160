//! `SortCriteria`: parsing, and the sort key of a finding.

use std::cmp::Ordering;

use findinghub_asff::timestamp::{Micros, parse_timestamp};
use serde_json::Value;

use super::fields::{FieldKind, FilterField, field};
use super::parse::FilterError;
use super::path::values_at;

/// One parsed `SortCriterion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    pub field: &'static FilterField,
    pub descending: bool,
}

/// Parses `SortCriteria`: a list of `{Field, SortOrder}`. `Field` is a filter field name of a
/// sortable kind (string, date, number, boolean); `SortOrder` is `asc` or `desc` and defaults to
/// `asc`. `null` means no criteria.
pub fn parse_sort(json: &Value) -> Result<Vec<SortCriterion>, FilterError> {
    let items = match json {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(FilterError::new("SortCriteria must be a list of SortCriterion objects"));
        }
    };
    items.iter().map(parse_criterion).collect()
}

fn parse_criterion(item: &Value) -> Result<SortCriterion, FilterError> {
    let Some(obj) = item.as_object() else {
        return Err(FilterError::new("SortCriteria must be a list of SortCriterion objects"));
    };
    if let Some(unknown) = obj.keys().find(|k| !["Field", "SortOrder"].contains(&k.as_str())) {
        return Err(FilterError::new(format!(
            "Unknown member '{unknown}' in SortCriterion; expected Field, SortOrder"
        )));
    }
    let name = match obj.get("Field") {
        None | Some(Value::Null) => return Err(FilterError::new("SortCriterion requires Field")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(FilterError::new("Field in SortCriterion must be a string")),
    };
    let Some(f) = field(name) else {
        return Err(FilterError::new(format!("Invalid sort field '{name}'")));
    };
    if !f.kind.is_sortable() {
        return Err(FilterError::new(format!(
            "Sorting by '{name}' is not supported: {} fields are not sortable",
            f.kind.shape_name()
        )));
    }
    let descending = match obj.get("SortOrder") {
        None | Some(Value::Null) => false,
        Some(v) if v.as_str() == Some("asc") => false,
        Some(v) if v.as_str() == Some("desc") => true,
        Some(v) => {
            return Err(FilterError::new(format!(
                "Invalid SortOrder {v} for sort field '{name}'; expected asc or desc"
            )));
        }
    };
    Ok(SortCriterion { field: f, descending })
}

/// The sort key of a finding for one field. Ordered totally: `Missing` < `Bool` < `Number` <
/// `Time` < `Text` across variants (a field only ever yields `Missing` and one other variant);
/// `false` < `true`; numbers by value; times by instant; text byte-wise.
#[derive(Debug, Clone)]
pub enum SortValue {
    Missing,
    Bool(bool),
    Number(f64),
    Text(String),
    Time(Micros),
}

impl SortValue {
    fn rank(&self) -> u8 {
        match self {
            SortValue::Missing => 0,
            SortValue::Bool(_) => 1,
            SortValue::Number(_) => 2,
            SortValue::Time(_) => 3,
            SortValue::Text(_) => 4,
        }
    }
}

impl Ord for SortValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortValue::Bool(a), SortValue::Bool(b)) => a.cmp(b),
            (SortValue::Number(a), SortValue::Number(b)) => a.total_cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            (SortValue::Time(a), SortValue::Time(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortValue {}

/// The sort key of `doc` for `field`: the FIRST value at the field's path, converted by the
/// field's kind (string → `Text`, number → `Number`, date → `Time` via `parse_timestamp`,
/// boolean → `Bool`). A value of the wrong JSON type or an unparseable timestamp gives `Missing`;
/// so does no value, except for boolean fields where an absent value is `Bool(false)` (as in
/// filtering). Map, IP and keyword fields always give `Missing`. `-0` is normalized to `0`.
pub fn sort_value(doc: &Value, field: &FilterField) -> SortValue {
    let first = values_at(doc, field.path).into_iter().next();
    match (field.kind, first) {
        (FieldKind::Boolean, None) => SortValue::Bool(false),
        (_, None) => SortValue::Missing,
        (FieldKind::String, Some(Value::String(s))) => SortValue::Text(s.clone()),
        (FieldKind::Number, Some(v)) => match v.as_f64() {
            Some(x) if !x.is_nan() => SortValue::Number(x + 0.0),
            _ => SortValue::Missing,
        },
        (FieldKind::Date, Some(Value::String(s))) => match parse_timestamp(s) {
            Some(t) => SortValue::Time(t),
            None => SortValue::Missing,
        },
        (FieldKind::Boolean, Some(Value::Bool(b))) => SortValue::Bool(*b),
        _ => SortValue::Missing,
    }
}

/// Compares two findings by the criteria in turn (the first difference decides; `desc` reverses
/// a criterion, which puts `Missing` last). Equal under every criterion gives `Equal`: callers
/// add their own tie-breaker for a stable page order.
pub fn compare_findings(criteria: &[SortCriterion], a: &Value, b: &Value) -> Ordering {
    for c in criteria {
        let ord = sort_value(a, c.field).cmp(&sort_value(b, c.field));
        let ord = if c.descending { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
