//! The findings view in the URL: filter rows (`f=Field:COMPARISON:value`, repeated), the sort and
//! the page size, and their translation into the API's `AwsSecurityFindingFilters`.

use findinghub_hub::filter::{FieldKind, field};
use serde_json::{Map, Value, json};

/// One row of the filter editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRow {
    pub field: String,
    pub comparison: String,
    pub value: String,
}

impl FilterRow {
    pub fn new(field: &str, comparison: &str, value: &str) -> FilterRow {
        FilterRow { field: field.to_owned(), comparison: comparison.to_owned(), value: value.to_owned() }
    }

    /// The row as one URL parameter value.
    pub fn encode(&self) -> String {
        format!("{}:{}:{}", self.field, self.comparison, self.value)
    }

    pub fn decode(s: &str) -> Option<FilterRow> {
        let mut parts = s.splitn(3, ':');
        let (f, c, v) = (parts.next()?, parts.next()?, parts.next()?);
        (!f.is_empty() && !v.is_empty()).then(|| FilterRow::new(f, c, v))
    }
}

/// Security Hub console's default view: active findings that are new or notified.
pub fn default_rows() -> Vec<FilterRow> {
    vec![
        FilterRow::new("RecordState", "EQUALS", "ACTIVE"),
        FilterRow::new("WorkflowStatus", "EQUALS", "NEW"),
        FilterRow::new("WorkflowStatus", "EQUALS", "NOTIFIED"),
    ]
}

/// The comparisons a field kind offers in the editor.
pub fn comparisons(kind: FieldKind) -> &'static [&'static str] {
    match kind {
        FieldKind::String => &["EQUALS", "PREFIX", "NOT_EQUALS", "PREFIX_NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"],
        FieldKind::Map => &["EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"],
        FieldKind::Number => &["EQ", "GTE", "LTE", "GT", "LT"],
        FieldKind::Date => &["START", "END", "DAYS"],
        FieldKind::Ip => &["CIDR"],
        FieldKind::Keyword => &["EQUALS"],
        FieldKind::Boolean => &["EQUALS"],
    }
}

/// A date as a user types it (`2024-05-01`) or a full timestamp, as the API takes it.
fn timestamp(value: &str) -> String {
    if value.len() == 10 && value.as_bytes().get(4) == Some(&b'-') {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    }
}

/// The rows as `AwsSecurityFindingFilters`. Rows of one field go into that field's list (the
/// API's semantics then apply); date rows of one field make one range.
pub fn to_filters(rows: &[FilterRow]) -> Result<Value, String> {
    let mut out = Map::new();
    for row in rows {
        let Some(f) = field(&row.field) else { return Err(format!("{} is not a filter field", row.field)) };
        if !comparisons(f.kind).contains(&row.comparison.as_str()) {
            return Err(format!("{} does not take the comparison {}", row.field, row.comparison));
        }
        let list = out.entry(row.field.clone()).or_insert_with(|| json!([]));
        let Value::Array(list) = list else { continue };
        let v = row.value.trim();
        match f.kind {
            FieldKind::String => list.push(json!({"Value": v, "Comparison": row.comparison})),
            FieldKind::Keyword => list.push(json!({"Value": v})),
            FieldKind::Ip => list.push(json!({"Cidr": v})),
            FieldKind::Boolean => match v {
                "true" | "false" => list.push(json!({"Value": v == "true"})),
                _ => return Err(format!("{} takes true or false", row.field)),
            },
            FieldKind::Number => {
                let n: f64 = v.parse().map_err(|_| format!("{} takes a number, not {v:?}", row.field))?;
                let key = match row.comparison.as_str() {
                    "EQ" => "Eq",
                    "GTE" => "Gte",
                    "LTE" => "Lte",
                    "GT" => "Gt",
                    _ => "Lt",
                };
                list.push(json!({ key: n }));
            }
            FieldKind::Map => {
                let Some((key, value)) = v.split_once('=') else {
                    return Err(format!("{} takes key=value", row.field));
                };
                list.push(json!({"Key": key, "Value": value, "Comparison": row.comparison}));
            }
            FieldKind::Date => {
                if list.is_empty() {
                    list.push(json!({}));
                }
                let Some(Value::Object(range)) = list.first_mut() else { continue };
                match row.comparison.as_str() {
                    "START" => {
                        range.insert("Start".into(), json!(timestamp(v)));
                    }
                    "END" => {
                        range.insert("End".into(), json!(timestamp(v)));
                    }
                    _ => {
                        let days: i64 = v.parse().map_err(|_| format!("{} takes a number of days", row.field))?;
                        range.insert("DateRange".into(), json!({"Value": days, "Unit": "DAYS"}));
                    }
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// The quick filters of the filter bar: a form field and the row it adds.
pub const QUICK: &[(&str, &str, &str, &str)] = &[
    // (form field, label, filter field, comparison)
    ("q_product", "Product name", "ProductName", "EQUALS"),
    ("q_severity", "Severity", "SeverityLabel", "EQUALS"),
    ("q_workflow", "Workflow status", "WorkflowStatus", "EQUALS"),
    ("q_record", "Record state", "RecordState", "EQUALS"),
    ("q_account", "Account", "AwsAccountId", "EQUALS"),
    ("q_region", "Region", "Region", "EQUALS"),
    ("q_rtype", "Resource type", "ResourceType", "EQUALS"),
    ("q_rid", "Resource id", "ResourceId", "EQUALS"),
    ("q_compliance", "Compliance status", "ComplianceStatus", "EQUALS"),
    ("q_title", "Title contains", "Title", "CONTAINS"),
    ("q_from", "Updated from", "UpdatedAt", "START"),
    ("q_to", "Updated to", "UpdatedAt", "END"),
];

/// Sortable columns of the table: (column key, label, sort field).
pub const COLUMNS: &[(&str, &str, &str)] = &[
    ("severity", "Severity", "SeverityNormalized"),
    ("title", "Title", "Title"),
    ("product", "Product", "ProductName"),
    ("account", "Account", "AwsAccountId"),
    ("region", "Region", "Region"),
    ("resource", "Resource", "ResourceId"),
    ("workflow", "Workflow", "WorkflowStatus"),
    ("updated", "Updated", "UpdatedAt"),
];

/// The findings view that a URL describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub rows: Vec<FilterRow>,
    /// A column key of [`COLUMNS`].
    pub sort: String,
    pub descending: bool,
    pub page_size: usize,
    pub token: Option<String>,
}

impl Default for View {
    fn default() -> View {
        View { rows: default_rows(), sort: "updated".into(), descending: true, page_size: 25, token: None }
    }
}

/// What a findings URL asks for: a view, or (when the form's editor or quick fields were sent) a
/// redirect to the view's canonical URL.
pub enum Request {
    Show(View),
    Redirect(String),
}

impl View {
    pub fn parse(pairs: &[(String, String)]) -> Request {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut view = View::default();
        if pairs.iter().any(|(k, _)| k == "f") {
            view.rows = pairs.iter().filter(|(k, _)| k == "f").filter_map(|(_, v)| FilterRow::decode(v)).collect();
        }
        if let Some(s) = get("sort").filter(|s| COLUMNS.iter().any(|c| c.0 == *s)) {
            view.sort = s.to_owned();
        }
        view.descending = get("dir") != Some("asc");
        if let Some(n) = get("n").and_then(|n| n.parse::<usize>().ok()) {
            view.page_size = n.clamp(10, 100);
        }
        view.token = get("token").filter(|t| !t.is_empty()).map(str::to_owned);
        // The editor's rows (fk/fc/fv in parallel) and the quick fields replace the rows.
        let edited = pairs.iter().any(|(k, _)| k == "fk" || k.starts_with("q_"));
        if !edited {
            return Request::Show(view);
        }
        let keys = pairs.iter().filter(|(k, _)| k == "fk").map(|(_, v)| v);
        let comps = pairs.iter().filter(|(k, _)| k == "fc").map(|(_, v)| v);
        let values = pairs.iter().filter(|(k, _)| k == "fv").map(|(_, v)| v);
        let mut rows: Vec<FilterRow> = keys
            .zip(comps)
            .zip(values)
            .filter(|((k, _), v)| !k.is_empty() && !v.trim().is_empty())
            .map(|((k, c), v)| FilterRow::new(k, c, v.trim()))
            .collect();
        if !pairs.iter().any(|(k, _)| k == "fk") {
            rows = view.rows.clone();
        }
        for (name, _, field, comparison) in QUICK {
            for (_, v) in pairs.iter().filter(|(k, v)| k == name && !v.trim().is_empty()) {
                let row = FilterRow::new(field, comparison, v.trim());
                if !rows.contains(&row) {
                    rows.push(row);
                }
            }
        }
        view.rows = rows;
        view.token = None;
        Request::Redirect(view.url())
    }

    /// The view's sort criteria for GetFindings.
    pub fn sort_criteria(&self) -> Value {
        let field = COLUMNS.iter().find(|c| c.0 == self.sort).map_or("UpdatedAt", |c| c.2);
        json!([{"Field": field, "SortOrder": if self.descending { "desc" } else { "asc" }}])
    }

    /// The URL of this view, first page.
    pub fn url(&self) -> String {
        self.url_with(&self.rows, &self.sort, self.descending, None)
    }

    pub fn url_with(&self, rows: &[FilterRow], sort: &str, descending: bool, token: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for row in rows {
            q.append_pair("f", &row.encode());
        }
        if rows.is_empty() {
            // An empty filter is "no filter", not the default view.
            q.append_pair("f", "");
        }
        q.append_pair("sort", sort);
        q.append_pair("dir", if descending { "desc" } else { "asc" });
        if self.page_size != 25 {
            q.append_pair("n", &self.page_size.to_string());
        }
        if let Some(t) = token {
            q.append_pair("token", t);
        }
        format!("/console/findings?{}", q.finish())
    }

    /// This view with one more row (a chip).
    pub fn with_row(&self, row: FilterRow) -> String {
        let mut rows = self.rows.clone();
        if !rows.contains(&row) {
            rows.push(row);
        }
        self.url_with(&rows, &self.sort, self.descending, None)
    }

    /// This view without row `i`.
    pub fn without_row(&self, i: usize) -> String {
        let rows: Vec<FilterRow> =
            self.rows.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, r)| r.clone()).collect();
        self.url_with(&rows, &self.sort, self.descending, None)
    }
}

/// A findings URL for a set of rows (the overview's and the finding page's links).
pub fn findings_url(rows: &[FilterRow]) -> String {
    let view = View { rows: rows.to_vec(), ..View::default() };
    view.url()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn no_filter_in_the_url_is_the_default_view() {
        let Request::Show(view) = View::parse(&pairs("")) else { panic!("a view") };
        assert_eq!(view.rows, default_rows());
        let filters = to_filters(&view.rows).expect("valid");
        assert_eq!(filters["WorkflowStatus"].as_array().map(Vec::len), Some(2));
        let Request::Show(view) = View::parse(&pairs("f=")) else { panic!("a view") };
        assert!(view.rows.is_empty());
    }

    #[test]
    fn a_view_round_trips_through_its_url() {
        let view = View {
            rows: vec![
                FilterRow::new("Title", "CONTAINS", "a:b & c"),
                FilterRow::new("SeverityLabel", "EQUALS", "HIGH"),
            ],
            sort: "severity".into(),
            descending: false,
            page_size: 50,
            token: None,
        };
        let url = view.url();
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let Request::Show(back) = View::parse(&pairs(query)) else { panic!("a view") };
        assert_eq!(back, view);
    }

    #[test]
    fn editor_and_quick_fields_redirect_to_the_canonical_url() {
        let Request::Redirect(url) =
            View::parse(&pairs("fk=ProductName&fc=EQUALS&fv=GuardDuty&fk=Title&fc=CONTAINS&fv=&q_severity=HIGH"))
        else {
            panic!("a redirect")
        };
        assert!(url.contains("f=ProductName%3AEQUALS%3AGuardDuty"), "{url}");
        assert!(url.contains("f=SeverityLabel%3AEQUALS%3AHIGH"), "{url}");
        assert!(!url.contains("Title"), "{url}");
    }

    #[test]
    fn rows_become_the_api_filters() {
        let rows = vec![
            FilterRow::new("SeverityNormalized", "GTE", "70"),
            FilterRow::new("UpdatedAt", "START", "2024-01-01"),
            FilterRow::new("UpdatedAt", "END", "2024-02-01T00:00:00Z"),
            FilterRow::new("ResourceTags", "EQUALS", "env=prod"),
            FilterRow::new("NetworkSourceIpV4", "CIDR", "10.0.0.0/8"),
            FilterRow::new("Sample", "EQUALS", "true"),
        ];
        let f = to_filters(&rows).expect("valid");
        assert_eq!(f["SeverityNormalized"], json!([{"Gte": 70.0}]));
        assert_eq!(f["UpdatedAt"], json!([{"Start": "2024-01-01T00:00:00Z", "End": "2024-02-01T00:00:00Z"}]));
        assert_eq!(f["ResourceTags"], json!([{"Key": "env", "Value": "prod", "Comparison": "EQUALS"}]));
        assert_eq!(f["NetworkSourceIpV4"], json!([{"Cidr": "10.0.0.0/8"}]));
        assert_eq!(f["Sample"], json!([{"Value": true}]));
        // What the API parses: the console builds nothing it would refuse.
        findinghub_hub::filter::parse_filters(&f, 0).expect("the API accepts it");
        assert!(to_filters(&[FilterRow::new("Nope", "EQUALS", "x")]).is_err());
        assert!(to_filters(&[FilterRow::new("Title", "GTE", "x")]).is_err());
    }
}
