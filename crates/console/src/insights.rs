//! Custom insights in the console: "Save as insight" on the findings page (the view's filter rows,
//! a name and a group-by attribute, through CreateInsight), and the insights page (GetInsights and
//! each one's GetInsightResults, every group linking to the findings view of its findings).

use crate::filters::{self, FilterRow};
use crate::{Console, ConsoleError, encode, local_target, page, pairs, param, redirect, row, views};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// The attributes that the save form offers to group by (any string filter field is accepted by
/// the API).
pub const GROUP_BY: &[&str] = &[
    "ResourceId",
    "ResourceType",
    "SeverityLabel",
    "AwsAccountId",
    "ProductName",
    "Type",
    "GeneratorId",
    "ComplianceStatus",
    "WorkflowStatus",
    "RecordState",
    "Title",
];

/// An insight as the page shows it.
pub struct InsightView {
    pub name: String,
    pub group_by: String,
    /// (value, count, the findings view of that group's findings).
    pub results: Vec<(String, i64, String)>,
    pub error: Option<String>,
}

/// The filter rows that AwsSecurityFindingFilters stand for (the inverse of
/// [`filters::to_filters`] for what the console writes).
pub fn rows_of(filters: &Value) -> Vec<FilterRow> {
    let mut rows = Vec::new();
    let Some(map) = filters.as_object() else { return rows };
    for (name, list) in map {
        for f in list.as_array().into_iter().flatten() {
            let text = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let Some(c) = f.get("Cidr") {
                rows.push(FilterRow::new(name, "CIDR", &text(c)));
            } else if let (Some(k), Some(v)) = (f.get("Key"), f.get("Value")) {
                let comparison = f["Comparison"].as_str().unwrap_or("EQUALS");
                rows.push(FilterRow::new(name, comparison, &format!("{}={}", text(k), text(v))));
            } else if let Some(v) = f.get("Value") {
                rows.push(FilterRow::new(name, f["Comparison"].as_str().unwrap_or("EQUALS"), &text(v)));
            } else {
                for (key, comparison) in [("Eq", "EQ"), ("Gte", "GTE"), ("Lte", "LTE"), ("Gt", "GT"), ("Lt", "LT")] {
                    if let Some(v) = f.get(key) {
                        rows.push(FilterRow::new(name, comparison, &text(v)));
                    }
                }
                for (key, comparison) in [("Start", "START"), ("End", "END")] {
                    if let Some(v) = f.get(key) {
                        rows.push(FilterRow::new(name, comparison, &text(v)));
                    }
                }
                if let Some(days) = f.get("DateRange").and_then(|r| r.get("Value")) {
                    rows.push(FilterRow::new(name, "DAYS", &text(days)));
                }
            }
        }
    }
    rows
}

/// The CreateInsight input of the save form.
pub fn save_input(form: &[(String, String)]) -> Result<Value, String> {
    let name = param(form, "name").map(str::trim).filter(|n| !n.is_empty()).ok_or("Name the insight.")?;
    let group_by = param(form, "group_by").map(str::trim).filter(|g| !g.is_empty()).ok_or("Choose a group-by.")?;
    let rows: Vec<FilterRow> =
        form.iter().filter(|(k, _)| k == "f").filter_map(|(_, v)| FilterRow::decode(v)).collect();
    let filters = filters::to_filters(&rows)?;
    Ok(json!({"Name": name, "Filters": filters, "GroupByAttribute": group_by}))
}

/// `POST /console/insights`: saves the findings view as an insight.
pub async fn save(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let back = local_target(param(&form, "back")).to_owned();
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let input = match save_input(&form) {
        Ok(i) => i,
        Err(m) => return c.error_page(Some(&user), ConsoleError::BadRequest(m), &back),
    };
    match c.call(&user.principal, "CreateInsight", input).await {
        Ok(_) => redirect(&format!("/console/insights?done={}", encode("Saved the insight."))),
        Err(e) => c.error_page(Some(&user), e.into(), &back),
    }
}

/// `GET /console/insights`: the user's insights with their results.
pub async fn insights_page(State(c): State<Arc<Console>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/insights"),
    };
    let listed = match c.call(&user.principal, "GetInsights", json!({"MaxResults": 100})).await {
        Ok(out) => out["Insights"].as_array().cloned().unwrap_or_default(),
        Err(e) => return c.error_page(Some(&user), e.into(), "/console/insights"),
    };
    let mut shown = Vec::new();
    for insight in listed {
        let arn = insight["InsightArn"].as_str().unwrap_or_default();
        let group_by = insight["GroupByAttribute"].as_str().unwrap_or_default().to_owned();
        let base = rows_of(&insight["Filters"]);
        let mut view = InsightView {
            name: insight["Name"].as_str().unwrap_or_default().to_owned(),
            group_by: group_by.clone(),
            results: Vec::new(),
            error: None,
        };
        match c.call(&user.principal, "GetInsightResults", json!({"InsightArn": arn})).await {
            Ok(out) => {
                for v in out["InsightResults"]["ResultValues"].as_array().into_iter().flatten() {
                    let value = v["GroupByAttributeValue"].as_str().unwrap_or_default().to_owned();
                    let mut rows = base.clone();
                    rows.push(row(&group_by, &value));
                    let count = v["Count"].as_i64().unwrap_or_default();
                    view.results.push((value, count, filters::findings_url(&rows)));
                }
            }
            Err(e) => view.error = Some(e.to_string()),
        }
        shown.push(view);
    }
    let q = pairs(q.as_deref());
    page(StatusCode::OK, views::insights(&user, &shown, param(&q, "done")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_of_saved_filters_make_the_same_filters_again() {
        let rows = vec![
            FilterRow::new("SeverityLabel", "EQUALS", "HIGH"),
            FilterRow::new("SeverityLabel", "EQUALS", "CRITICAL"),
            FilterRow::new("ResourceTags", "EQUALS", "env=prod"),
            FilterRow::new("Confidence", "GTE", "50"),
            FilterRow::new("UpdatedAt", "DAYS", "7"),
            FilterRow::new("NetworkSourceIpV4", "CIDR", "10.0.0.0/8"),
        ];
        let filters = filters::to_filters(&rows).expect("filters");
        assert_eq!(filters::to_filters(&rows_of(&filters)).expect("again"), filters);
    }

    #[test]
    fn the_save_form_needs_a_name_and_a_group() {
        let form = |q: &str| -> Vec<(String, String)> { form_urlencoded::parse(q.as_bytes()).into_owned().collect() };
        let input = save_input(&form("name=Mine&group_by=ResourceId&f=SeverityLabel%3AEQUALS%3AHIGH")).expect("ok");
        assert_eq!(input["Filters"]["SeverityLabel"][0]["Value"], "HIGH");
        assert_eq!(input["GroupByAttribute"], "ResourceId");
        assert!(save_input(&form("name=&group_by=ResourceId")).is_err());
        assert!(save_input(&form("name=x&group_by=")).is_err());
        assert!(save_input(&form("name=x&group_by=ResourceId&f=Nope%3AEQUALS%3Ax")).is_err());
    }
}
