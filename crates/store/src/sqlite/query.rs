//! Filters and sort orders rendered as SQLite SQL over the hot columns and the attribute table.
//!
//! The SQL is a sound pre-filter: it never drops a finding that the filter matches. Conditions on
//! fields that are neither hot columns nor indexed attributes are left out of the SQL, and every
//! row is checked again with the reference evaluator (`Filters::matches`), so results are exact.

use crate::columns::{ColumnType, HotColumn, MISSING_INT, attr_code, hot_column};
use crate::page::Cursor;
use crate::{AccountScope, Scope};
use findinghub_hub::filter::{Condition, Filters, SortCriterion, SortValue, StringOp, StringTest};
use rusqlite::types::Value as Sql;
use std::sync::OnceLock;

/// A WHERE clause with its parameters.
#[derive(Debug, Default)]
pub struct Clause {
    pub sql: Vec<String>,
    pub params: Vec<Sql>,
    /// Whether the SQL alone decides the filter (no condition was left to the evaluator).
    pub exact: bool,
}

impl Clause {
    pub fn where_sql(&self) -> String {
        if self.sql.is_empty() { "1".to_owned() } else { self.sql.join(" AND ") }
    }
}

pub fn scope_clause(scope: &Scope, out: &mut Clause) {
    if let Some(region) = &scope.region {
        out.sql.push("f.region = ?".to_owned());
        out.params.push(Sql::Text(region.clone()));
    }
    if let AccountScope::Only(accounts) = &scope.accounts {
        if accounts.is_empty() {
            out.sql.push("0".to_owned());
        } else {
            out.sql.push(format!("f.account_id IN ({})", vec!["?"; accounts.len()].join(", ")));
            out.params.extend(accounts.iter().map(|a| Sql::Text(a.clone())));
        }
    }
}

pub fn filter_clause(filters: &Filters, out: &mut Clause) {
    out.exact = true;
    for fc in &filters.conditions {
        let rendered = match (hot_column(fc.field.name), attr_code(fc.field.name), &fc.condition) {
            (Some(col), _, cond) => column_condition(col, cond, &mut out.params),
            (None, Some(code), Condition::String { positive, negative }) => {
                Some(attr_condition(code, positive, negative, &mut out.params))
            }
            _ => None,
        };
        match rendered {
            Some(sql) => out.sql.push(sql),
            None => out.exact = false,
        }
    }
}

fn column_condition(col: &HotColumn, cond: &Condition, params: &mut Vec<Sql>) -> Option<String> {
    let c = format!("f.{}", col.column);
    match (col.ty, cond) {
        (ColumnType::Text, Condition::String { positive, negative }) => {
            let mut parts = Vec::new();
            if !positive.is_empty() {
                parts.push(format!("({})", any_test(&c, positive, params)));
            }
            if !negative.is_empty() {
                parts.push(format!("NOT ({})", any_test(&c, negative, params)));
            }
            Some(parts.join(" AND "))
        }
        (ColumnType::Time, Condition::Date(intervals)) => {
            let alts: Vec<String> = intervals
                .iter()
                .map(|i| {
                    let mut bounds = vec![format!("{c} != {MISSING_INT}")];
                    if let Some(s) = i.start {
                        bounds.push(format!("{c} >= ?"));
                        params.push(Sql::Integer(s));
                    }
                    if let Some(e) = i.end {
                        bounds.push(format!("{c} <= ?"));
                        params.push(Sql::Integer(e));
                    }
                    format!("({})", bounds.join(" AND "))
                })
                .collect();
            Some(if alts.is_empty() { "0".to_owned() } else { format!("({})", alts.join(" OR ")) })
        }
        (ColumnType::Int, Condition::Number(ranges)) => {
            let alts: Vec<String> = ranges
                .iter()
                .map(|r| {
                    let mut bounds = vec![format!("{c} != {MISSING_INT}")];
                    for (op, b) in [("=", r.eq), (">", r.gt), (">=", r.gte), ("<", r.lt), ("<=", r.lte)] {
                        if let Some(b) = b {
                            bounds.push(format!("{c} {op} ?"));
                            params.push(Sql::Real(b));
                        }
                    }
                    format!("({})", bounds.join(" AND "))
                })
                .collect();
            Some(if alts.is_empty() { "0".to_owned() } else { format!("({})", alts.join(" OR ")) })
        }
        _ => None,
    }
}

fn any_test(col: &str, tests: &[StringTest], params: &mut Vec<Sql>) -> String {
    tests
        .iter()
        .map(|t| {
            params.push(Sql::Text(t.value.clone()));
            match t.op {
                StringOp::Equals => format!("{col} = ?"),
                StringOp::Prefix => format!("instr({col}, ?) = 1"),
                StringOp::Contains => format!("instr({col}, ?) > 0"),
            }
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The spans that hold attribute rows (those of the stored findings' sequence numbers), so that a
/// lookup probes each span's part of the primary key rather than scanning all of the field's rows.
fn spans_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let bits = super::schema::ATTR_SPAN_BITS;
        format!(
            "WITH RECURSIVE spans(n) AS (SELECT (SELECT min(seq) FROM findings) >> {bits} \
             UNION ALL SELECT n + 1 FROM spans WHERE n < (SELECT max(seq) FROM findings) >> {bits}) SELECT n FROM spans"
        )
    })
}

fn attr_condition(code: i64, positive: &[StringTest], negative: &[StringTest], params: &mut Vec<Sql>) -> String {
    let mut parts = Vec::new();
    for (tests, op) in [(positive, "IN"), (negative, "NOT IN")] {
        if tests.is_empty() {
            continue;
        }
        params.push(Sql::Integer(code));
        let alts: Vec<String> = tests
            .iter()
            .map(|t| match t.op {
                StringOp::Equals => {
                    params.push(Sql::Text(t.value.clone()));
                    "a.value = ?".to_owned()
                }
                StringOp::Prefix => {
                    // A range that the primary key serves, then the exact test.
                    params.push(Sql::Text(t.value.clone()));
                    let mut sql = "a.value >= ?".to_owned();
                    if let Some(upper) = prefix_upper_bound(&t.value) {
                        params.push(Sql::Text(upper));
                        sql.push_str(" AND a.value < ?");
                    }
                    params.push(Sql::Text(t.value.clone()));
                    format!("({sql} AND instr(a.value, ?) = 1)")
                }
                StringOp::Contains => {
                    params.push(Sql::Text(t.value.clone()));
                    "instr(a.value, ?) > 0".to_owned()
                }
            })
            .collect();
        parts.push(format!(
            "f.seq {op} (SELECT a.seq FROM finding_attrs a WHERE a.field = ? AND a.span IN ({}) AND ({}))",
            spans_sql(),
            alts.join(" OR ")
        ));
    }
    parts.join(" AND ")
}

/// The smallest string greater than every string that starts with `prefix` (UTF-8 byte order is
/// code point order): the prefix with its last character replaced by the next one.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
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

/// Whether every sort criterion is a hot column, so that SQL can order the rows.
pub fn sortable_in_sql(sort: &[SortCriterion]) -> bool {
    sort.iter().all(|c| hot_column(c.field.name).is_some())
}

/// The ORDER BY list and the sort columns (hot columns only).
pub fn order_by(sort: &[SortCriterion]) -> String {
    let tie = if crate::page::tiebreak_descending(sort) { "DESC" } else { "ASC" };
    let mut parts: Vec<String> = sort
        .iter()
        .filter_map(|c| {
            hot_column(c.field.name).map(|h| format!("f.{} {}", h.column, if c.descending { "DESC" } else { "ASC" }))
        })
        .collect();
    parts.push(format!("f.seq {tie}"));
    parts.join(", ")
}

/// The condition "after `cursor` in this order".
pub fn keyset_clause(sort: &[SortCriterion], cursor: &Cursor, out: &mut Clause) {
    let tie_desc = crate::page::tiebreak_descending(sort);
    let mut cols: Vec<(String, bool, Sql)> = Vec::new();
    for (c, v) in sort.iter().zip(&cursor.values) {
        if let Some(h) = hot_column(c.field.name) {
            cols.push((format!("f.{}", h.column), c.descending, column_param(h.ty, v)));
        }
    }
    cols.push(("f.seq".to_owned(), tie_desc, Sql::Integer(cursor.seq)));
    if cols.iter().all(|(_, d, _)| *d == tie_desc) {
        // One direction: a row-value comparison, which SQLite serves from the index.
        let names: Vec<&str> = cols.iter().map(|(n, _, _)| n.as_str()).collect();
        let op = if tie_desc { "<" } else { ">" };
        out.sql.push(format!("({}) {op} ({})", names.join(", "), vec!["?"; cols.len()].join(", ")));
        out.params.extend(cols.into_iter().map(|(_, _, v)| v));
        return;
    }
    let mut alts = Vec::new();
    for i in 0..cols.len() {
        let mut terms = Vec::new();
        for (name, _, v) in &cols[..i] {
            terms.push(format!("{name} = ?"));
            out.params.push(v.clone());
        }
        let (name, desc, v) = &cols[i];
        terms.push(format!("{name} {} ?", if *desc { "<" } else { ">" }));
        out.params.push(v.clone());
        alts.push(format!("({})", terms.join(" AND ")));
    }
    out.sql.push(format!("({})", alts.join(" OR ")));
}

/// A sort value as the column stores it (sentinels for missing values).
fn column_param(ty: ColumnType, v: &SortValue) -> Sql {
    match (ty, v) {
        (ColumnType::Text, SortValue::Text(s)) => Sql::Text(s.clone()),
        (ColumnType::Text, _) => Sql::Text(String::new()),
        (_, SortValue::Time(t)) => Sql::Integer(*t),
        (_, SortValue::Number(n)) => Sql::Real(*n),
        _ => Sql::Integer(MISSING_INT),
    }
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
        for s in ["abc", "abcz", "abc\u{10FFFF}x"] {
            assert!(("abc".."abd").contains(&s));
        }
    }
}
