//! The hot fields that every backend keeps as columns, and the multi-valued fields that it indexes
//! value by value. Backend-neutral: each backend renders these in its own SQL.

use findinghub_asff::timestamp::parse_timestamp;
use findinghub_hub::filter::values_in;
use findinghub_hub::finding::StoredFinding;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// How a hot column holds its field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// The string; `''` when missing (ASFF strings are never empty).
    Text,
    /// Microseconds since the epoch; `i64::MIN` when missing or not a timestamp.
    Time,
    /// The integer; `i64::MIN` when missing.
    Int,
}

/// Missing values sort first, as `SortValue::Missing` does.
pub const MISSING_INT: i64 = i64::MIN;

#[derive(Debug)]
pub struct HotColumn {
    /// The filter field (AwsSecurityFindingFilters member) that the column holds.
    pub field: &'static str,
    pub column: &'static str,
    pub ty: ColumnType,
}

const fn hot(field: &'static str, column: &'static str, ty: ColumnType) -> HotColumn {
    HotColumn { field, column, ty }
}

/// In the order of the `findings` table's columns after `key_hash`.
pub static HOT_COLUMNS: &[HotColumn] = &[
    hot("AwsAccountId", "account_id", ColumnType::Text),
    hot("Region", "region", ColumnType::Text),
    hot("ProductArn", "product_arn", ColumnType::Text),
    hot("Id", "finding_id", ColumnType::Text),
    hot("GeneratorId", "generator_id", ColumnType::Text),
    hot("Title", "title", ColumnType::Text),
    hot("SeverityLabel", "severity_label", ColumnType::Text),
    hot("SeverityNormalized", "severity_normalized", ColumnType::Int),
    hot("Confidence", "confidence", ColumnType::Int),
    hot("Criticality", "criticality", ColumnType::Int),
    hot("WorkflowStatus", "workflow_status", ColumnType::Text),
    hot("RecordState", "record_state", ColumnType::Text),
    hot("ComplianceStatus", "compliance_status", ColumnType::Text),
    hot("VerificationState", "verification_state", ColumnType::Text),
    hot("ProductName", "product_name", ColumnType::Text),
    hot("CompanyName", "company_name", ColumnType::Text),
    hot("CreatedAt", "created_at", ColumnType::Time),
    hot("UpdatedAt", "updated_at", ColumnType::Time),
    hot("FirstObservedAt", "first_observed_at", ColumnType::Time),
    hot("LastObservedAt", "last_observed_at", ColumnType::Time),
];

/// The ASFF path of each hot column's field, in the order of [`HOT_COLUMNS`] (looked up once:
/// imports read every column of every finding).
fn hot_paths() -> &'static [&'static str] {
    static PATHS: OnceLock<Vec<&'static str>> = OnceLock::new();
    PATHS.get_or_init(|| {
        HOT_COLUMNS.iter().map(|c| findinghub_hub::filter::field(c.field).map(|f| f.path).unwrap_or_default()).collect()
    })
}

pub fn hot_column(field: &str) -> Option<&'static HotColumn> {
    HOT_COLUMNS.iter().find(|c| c.field == field)
}

/// A column value.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValue {
    Text(String),
    Int(i64),
    Real(f64),
}

/// The values of every hot column for a finding, in the order of [`HOT_COLUMNS`]: the first value
/// at each field's path, as the sort order reads it.
pub fn column_values(doc: &Map<String, Value>) -> Vec<ColumnValue> {
    HOT_COLUMNS
        .iter()
        .zip(hot_paths())
        .map(|(col, path)| column_value(col.ty, values_in(doc, path).first().copied()))
        .collect()
}

fn column_value(ty: ColumnType, first: Option<&Value>) -> ColumnValue {
    match ty {
        ColumnType::Text => ColumnValue::Text(first.and_then(Value::as_str).unwrap_or_default().to_owned()),
        ColumnType::Time => {
            ColumnValue::Int(first.and_then(Value::as_str).and_then(parse_timestamp).unwrap_or(MISSING_INT))
        }
        ColumnType::Int => match first {
            Some(v) if v.is_i64() => ColumnValue::Int(v.as_i64().unwrap_or(MISSING_INT)),
            Some(v) if v.is_number() => ColumnValue::Real(v.as_f64().unwrap_or(MISSING_INT as f64)),
            _ => ColumnValue::Int(MISSING_INT),
        },
    }
}

/// The multi-valued fields indexed value by value, with the small integer that names each in the
/// attribute table. Numbers are part of the stored format: never renumber.
pub const ATTR_FIELDS: &[(&str, i64)] = &[("ResourceId", 1), ("ResourceType", 2), ("Type", 3)];

pub fn attr_code(field: &str) -> Option<i64> {
    ATTR_FIELDS.iter().find(|(f, _)| *f == field).map(|(_, c)| *c)
}

/// The (code, value) pairs that a finding contributes to the attribute table, without repeats.
pub fn attr_values(finding: &StoredFinding) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for (name, code) in ATTR_FIELDS {
        let Some(field) = findinghub_hub::filter::field(name) else {
            continue;
        };
        for v in values_in(&finding.doc, field.path) {
            if let Some(s) = v.as_str() {
                let pair = (*code, s.to_owned());
                if !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
    }
    out
}

/// The smallest string greater than every string that starts with `prefix` (UTF-8 byte order is
/// code point order): the prefix with its last character replaced by the next one. `None` when
/// there is none (the prefix is all U+10FFFF). A backend turns a prefix test into the range
/// `[prefix, upper)` that a byte-ordered index serves.
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_upper_bound;

    #[test]
    fn prefix_bounds_cover_every_extension() {
        assert_eq!(prefix_upper_bound("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_upper_bound("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
    }
}
