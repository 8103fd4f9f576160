//! Filters and sort orders rendered as PostgreSQL SQL over the hot columns and the attribute table.
//!
//! As on SQLite, the SQL is a sound pre-filter: it never drops a finding that the filter matches.
//! Conditions on fields that are neither hot columns nor indexed attributes are left out, and
//! every row is checked again with the reference evaluator (`Filters::matches`).

use crate::columns::{ColumnType, HotColumn, MISSING_INT, attr_code, hot_column, prefix_upper_bound};
use crate::page::Cursor;
use crate::{AccountScope, Scope};
use findinghub_hub::filter::{Condition, Filters, SortCriterion, SortValue, StringOp, StringTest};
use tokio_postgres::types::ToSql;

/// A query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Real(f64),
    Small(i16),
    Texts(Vec<String>),
}

impl Param {
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Text(s) => s,
            Param::Int(i) => i,
            Param::Real(r) => r,
            Param::Small(s) => s,
            Param::Texts(v) => v,
        }
    }
}

/// The parameters of a statement as tokio-postgres takes them.
pub fn sql_params(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(Param::as_sql).collect()
}

/// A WHERE clause with its parameters (`$1`, `$2`… in the order of `params`).
#[derive(Debug, Default, Clone)]
pub struct Clause {
    pub sql: Vec<String>,
    pub params: Vec<Param>,
    /// Whether the SQL alone decides the filter (no condition was left to the evaluator).
    pub exact: bool,
}

impl Clause {
    pub fn where_sql(&self) -> String {
        if self.sql.is_empty() { "TRUE".to_owned() } else { self.sql.join(" AND ") }
    }
}

/// Adds a parameter and returns its placeholder.
fn bind(params: &mut Vec<Param>, p: Param) -> String {
    params.push(p);
    format!("${}", params.len())
}

/// The sentinel of a missing value, as SQL of the column's type.
fn missing(ty: ColumnType) -> &'static str {
    const _: () = assert!(MISSING_INT == i64::MIN);
    match ty {
        ColumnType::Text => "''",
        ColumnType::Time => "(-9223372036854775808)::bigint",
        ColumnType::Int => "(-9223372036854775808)::double precision",
    }
}

pub fn scope_clause(scope: &Scope, out: &mut Clause) {
    if let Some(region) = &scope.region {
        let p = bind(&mut out.params, Param::Text(region.clone()));
        out.sql.push(format!("f.region = {p}"));
    }
    if let AccountScope::Only(accounts) = &scope.accounts {
        if accounts.is_empty() {
            out.sql.push("FALSE".to_owned());
        } else {
            let p = bind(&mut out.params, Param::Texts(accounts.iter().cloned().collect()));
            out.sql.push(format!("f.account_id = ANY({p}::text[])"));
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

fn column_condition(col: &HotColumn, cond: &Condition, params: &mut Vec<Param>) -> Option<String> {
    let c = format!("f.{}", col.column);
    let not_missing = format!("{c} <> {}", missing(col.ty));
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
                    let mut bounds = vec![not_missing.clone()];
                    if let Some(s) = i.start {
                        bounds.push(format!("{c} >= {}", bind(params, Param::Int(s))));
                    }
                    if let Some(e) = i.end {
                        bounds.push(format!("{c} <= {}", bind(params, Param::Int(e))));
                    }
                    format!("({})", bounds.join(" AND "))
                })
                .collect();
            Some(if alts.is_empty() { "FALSE".to_owned() } else { format!("({})", alts.join(" OR ")) })
        }
        (ColumnType::Int, Condition::Number(ranges)) => {
            let alts: Vec<String> = ranges
                .iter()
                .map(|r| {
                    let mut bounds = vec![not_missing.clone()];
                    for (op, b) in [("=", r.eq), (">", r.gt), (">=", r.gte), ("<", r.lt), ("<=", r.lte)] {
                        if let Some(b) = b {
                            bounds.push(format!("{c} {op} {}", bind(params, Param::Real(b))));
                        }
                    }
                    format!("({})", bounds.join(" AND "))
                })
                .collect();
            Some(if alts.is_empty() { "FALSE".to_owned() } else { format!("({})", alts.join(" OR ")) })
        }
        _ => None,
    }
}

/// One string test. PostgreSQL's text cannot hold NUL, so no stored value contains one (such
/// findings are refused): a test value with a NUL matches nothing.
fn any_test(col: &str, tests: &[StringTest], params: &mut Vec<Param>) -> String {
    tests
        .iter()
        .map(|t| {
            if t.value.contains('\0') {
                return "FALSE".to_owned();
            }
            let p = bind(params, Param::Text(t.value.clone()));
            match t.op {
                StringOp::Equals => format!("{col} = {p}"),
                StringOp::Prefix => format!("starts_with({col}, {p})"),
                StringOp::Contains => format!("strpos({col}, {p}) > 0"),
            }
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn attr_condition(code: i64, positive: &[StringTest], negative: &[StringTest], params: &mut Vec<Param>) -> String {
    let mut parts = Vec::new();
    for (tests, negated) in [(positive, false), (negative, true)] {
        if tests.is_empty() {
            continue;
        }
        let field = bind(params, Param::Small(code as i16));
        let alts: Vec<String> = tests
            .iter()
            .map(|t| {
                if t.value.contains('\0') {
                    return "FALSE".to_owned();
                }
                match t.op {
                    StringOp::Equals => format!("a.value = {}", bind(params, Param::Text(t.value.clone()))),
                    StringOp::Prefix => {
                        // A range that the primary key serves, then the exact test.
                        let p = bind(params, Param::Text(t.value.clone()));
                        let mut sql = format!("a.value >= {p}");
                        if let Some(upper) = prefix_upper_bound(&t.value) {
                            sql.push_str(&format!(" AND a.value < {}", bind(params, Param::Text(upper))));
                        }
                        format!("({sql} AND starts_with(a.value, {p}))")
                    }
                    StringOp::Contains => {
                        format!("strpos(a.value, {}) > 0", bind(params, Param::Text(t.value.clone())))
                    }
                }
            })
            .collect();
        let inner = format!("a.field = {field} AND ({})", alts.join(" OR "));
        parts.push(if negated {
            format!("NOT EXISTS (SELECT 1 FROM finding_attrs a WHERE a.seq = f.seq AND {inner})")
        } else {
            format!("f.seq IN (SELECT a.seq FROM finding_attrs a WHERE {inner})")
        });
    }
    parts.join(" AND ")
}

/// Whether every sort criterion is a hot column, so that SQL can order the rows.
pub fn sortable_in_sql(sort: &[SortCriterion]) -> bool {
    sort.iter().all(|c| hot_column(c.field.name).is_some())
}

/// The ORDER BY list (hot columns only), then the key hash and the sequence number.
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
    let mut cols: Vec<(String, bool, Param)> = Vec::new();
    for (c, v) in sort.iter().zip(&cursor.values) {
        if let Some(h) = hot_column(c.field.name) {
            cols.push((format!("f.{}", h.column), c.descending, column_param(h.ty, v)));
        }
    }
    cols.push(("f.seq".to_owned(), tie_desc, Param::Int(cursor.seq)));
    if cols.iter().all(|(_, d, _)| *d == tie_desc) {
        // One direction: a row-value comparison, which an index can serve.
        let names: Vec<&str> = cols.iter().map(|(n, _, _)| n.as_str()).collect();
        let op = if tie_desc { "<" } else { ">" };
        let values: Vec<String> = cols.iter().map(|(_, _, v)| bind(&mut out.params, v.clone())).collect();
        out.sql.push(format!("({}) {op} ({})", names.join(", "), values.join(", ")));
        return;
    }
    let mut alts = Vec::new();
    for i in 0..cols.len() {
        let mut terms = Vec::new();
        for (name, _, v) in &cols[..i] {
            terms.push(format!("{name} = {}", bind(&mut out.params, v.clone())));
        }
        let (name, desc, v) = &cols[i];
        terms.push(format!("{name} {} {}", if *desc { "<" } else { ">" }, bind(&mut out.params, v.clone())));
        alts.push(format!("({})", terms.join(" AND ")));
    }
    out.sql.push(format!("({})", alts.join(" OR ")));
}

/// A sort value as the column stores it (sentinels for missing values), of the column's type.
fn column_param(ty: ColumnType, v: &SortValue) -> Param {
    match (ty, v) {
        (ColumnType::Text, SortValue::Text(s)) => Param::Text(s.clone()),
        (ColumnType::Text, _) => Param::Text(String::new()),
        (ColumnType::Time, SortValue::Time(t)) => Param::Int(*t),
        (ColumnType::Time, SortValue::Number(n)) => Param::Int(*n as i64),
        (ColumnType::Time, _) => Param::Int(MISSING_INT),
        (ColumnType::Int, SortValue::Number(n)) => Param::Real(*n),
        (ColumnType::Int, SortValue::Time(t)) => Param::Real(*t as f64),
        (ColumnType::Int, _) => Param::Real(MISSING_INT as f64),
    }
}

/// Whether a cursor can be bound at all (a crafted token may carry a NUL, which PostgreSQL
/// refuses in text): such a token is invalid.
pub fn cursor_is_bindable(cursor: &Cursor) -> bool {
    cursor.values.iter().all(|v| !matches!(v, SortValue::Text(s) if s.contains('\0')))
}
