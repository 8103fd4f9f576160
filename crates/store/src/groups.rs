//! Group counts for dashboards (the console's overview): how many findings have each value of one
//! field, counted by the database instead of paging through findings. Backend-neutral: the
//! grouping as SQL pieces over the hot columns and the attribute table, which each backend
//! completes with its own placeholders.

use crate::Scope;
use crate::columns::attr_code;
use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, format_timestamp};

/// The field that findings are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    SeverityLabel,
    ProductName,
    AwsAccountId,
    /// Each distinct resource type of a finding counts the finding once.
    ResourceType,
    /// Findings whose ComplianceStatus is FAILED, by GeneratorId (the control).
    FailedControl,
    /// Findings created at or after [`GroupQuery::since`], in any state, by UTC day
    /// (`YYYY-MM-DD`), oldest day first.
    CreatedDay,
}

/// A group count. Except for [`GroupBy::CreatedDay`], only the findings of Security Hub's default
/// view are counted (RecordState ACTIVE, WorkflowStatus NEW or NOTIFIED), largest group first
/// (ties by value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupQuery {
    pub scope: Scope,
    pub group: GroupBy,
    pub since: Micros,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCount {
    pub value: String,
    pub count: u64,
}

/// The SQL of a grouping: the key expression (as text), the join and the conditions, with
/// `{since}` standing for the placeholder of [`GroupQuery::since`].
pub(crate) struct GroupSql {
    pub key: String,
    pub join: String,
    pub conditions: Vec<String>,
    pub order: &'static str,
}

pub(crate) fn group_sql(group: GroupBy, text_cast: &str) -> GroupSql {
    let default_view =
        || vec!["f.record_state = 'ACTIVE'".to_owned(), "f.workflow_status IN ('NEW', 'NOTIFIED')".to_owned()];
    let by_count = "n DESC, k ASC";
    let column =
        |c: &str| GroupSql { key: format!("f.{c}"), join: String::new(), conditions: default_view(), order: by_count };
    match group {
        GroupBy::SeverityLabel => column("severity_label"),
        GroupBy::ProductName => column("product_name"),
        GroupBy::AwsAccountId => column("account_id"),
        GroupBy::FailedControl => {
            let mut g = column("generator_id");
            g.conditions.push("f.compliance_status = 'FAILED'".to_owned());
            g
        }
        GroupBy::ResourceType => GroupSql {
            key: "a.value".to_owned(),
            join: format!(
                "JOIN finding_attrs a ON a.seq = f.seq AND a.field = {}",
                attr_code("ResourceType").unwrap_or(2)
            ),
            conditions: default_view(),
            order: by_count,
        },
        GroupBy::CreatedDay => GroupSql {
            key: format!("CAST(f.created_at / {MICROS_PER_DAY} AS {text_cast})"),
            join: String::new(),
            conditions: vec!["f.created_at >= {since}".to_owned()],
            // Day numbers since 1970 have the same number of digits for millennia: text order is
            // time order.
            order: "k ASC",
        },
    }
}

/// The statement of a query, given the scope's WHERE pieces and the `since` placeholder.
pub(crate) fn statement(query: &GroupQuery, text_cast: &str, scope_sql: &[String], since: &str) -> String {
    let g = group_sql(query.group, text_cast);
    let mut conditions: Vec<String> = scope_sql.to_vec();
    conditions.extend(g.conditions.iter().map(|c| c.replace("{since}", since)));
    format!(
        "SELECT {} AS k, count(*) AS n FROM findings f {} WHERE {} GROUP BY 1 ORDER BY {} LIMIT {}",
        g.key,
        g.join,
        if conditions.is_empty() { "1 = 1".to_owned() } else { conditions.join(" AND ") },
        g.order,
        query.limit.clamp(1, 1000)
    )
}

/// A group's key as the store returns it: days become `YYYY-MM-DD`.
pub(crate) fn group_value(group: GroupBy, key: String) -> String {
    match (group, key.parse::<i64>()) {
        (GroupBy::CreatedDay, Ok(day)) => format_timestamp(day * MICROS_PER_DAY).chars().take(10).collect(),
        _ => key,
    }
}
