//! The pages, as maud templates. Values from findings are escaped by maud; links are built from
//! the filter rows' canonical URLs.

use crate::filters::{self, COLUMNS, FilterRow, QUICK, View, comparisons};
use crate::{REGIONS, User, row};
use findinghub_hub::filter::FILTER_FIELDS;
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

pub const CSS: &str = include_str!("../assets/console.css");
pub const JS: &str = include_str!("../assets/console.js");

const SEVERITIES: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];
const WORKFLOWS: &[&str] = &["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];
const VERIFICATIONS: &[&str] = &["UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE"];

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn layout(user: Option<&User>, title: &str, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · findinghub" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/console/findings" { "findinghub" }
                    @if let Some(u) = user {
                        nav {
                            a.active[active == "overview"] href="/console/overview" { "Overview" }
                            a.active[active == "findings"] href="/console/findings" { "Findings" }
                            a.active[active == "insights"] href="/console/insights" { "Insights" }
                            a.active[active == "integrations"] href="/console/integrations" { "Integrations" }
                            a.active[active == "deliveries"] href="/console/deliveries" { "Deliveries" }
                            a.active[active == "workitems"] href="/console/workitems" { "Work items" }
                            a.active[active == "advisor"] href="/console/advisor" { "Advisor" }
                        }
                        div.who {
                            form.inline method="post" action="/console/region" {
                                input type="hidden" name="csrf" value=(u.csrf);
                                input type="hidden" name="next" value="/console/findings";
                                label { "Region "
                                    select name="region" data-autosubmit {
                                        @if !REGIONS.contains(&u.principal.region.as_str()) {
                                            option selected { (u.principal.region) }
                                        }
                                        @for r in REGIONS {
                                            option value=(r) selected[*r == u.principal.region] { (r) }
                                        }
                                    }
                                }
                                noscript { button type="submit" { "Switch" } }
                            }
                            span.identity title=(u.principal.arn()) {
                                (u.principal.account_id)
                                @if u.principal.admin { " " span.tag { "admin" } }
                            }
                            form.inline method="post" action="/console/signout" {
                                input type="hidden" name="csrf" value=(u.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn signin(next: &str, token: &str, message: Option<&str>) -> Markup {
    layout(
        None,
        "Sign in",
        "",
        html! {
            section.signin {
                h1 { "Sign in" }
                p.muted { "With an access key of this hub (" code { "findinghub credentials create" } ")." }
                @if let Some(m) = message { p.error role="alert" { (m) } }
                form method="post" action="/console/signin" {
                    input type="hidden" name="csrf" value=(token);
                    input type="hidden" name="next" value=(next);
                    label { "Access key id" input name="access_key_id" autocomplete="username" required autofocus; }
                    label { "Secret access key" input name="secret" type="password" autocomplete="current-password" required; }
                    button.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

pub fn error(user: Option<&User>, message: &str, hub_off: bool) -> Markup {
    layout(
        user,
        "Error",
        "",
        html! {
            section.panel {
                h1 { "Cannot show this" }
                p.error role="alert" { (message) }
                @if let (true, Some(u)) = (hub_off, user) {
                    p { "Security Hub is not enabled for account " (u.principal.account_id) " in " (u.principal.region) "." }
                    form method="post" action="/console/enable-hub" {
                        input type="hidden" name="csrf" value=(u.csrf);
                        button.primary type="submit" { "Enable Security Hub in " (u.principal.region) }
                    }
                }
                p { a href="/console/findings" { "Back to findings" } }
            }
        },
    )
}

fn severity_badge(label: &str) -> Markup {
    let class = format!("sev sev-{}", label.to_ascii_lowercase());
    html! { span class=(class) { (label) } }
}

/// The first resource of a finding, as `Type Id`.
fn resource_of(f: &Value) -> (&str, &str) {
    let r = &f["Resources"][0];
    (s(&r["Type"]), s(&r["Id"]))
}

pub fn finding_url(f: &Value) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("p", s(&f["ProductArn"]));
    q.append_pair("id", s(&f["Id"]));
    format!("/console/finding?{}", q.finish())
}

fn selection_value(f: &Value) -> String {
    format!("{}|{}", s(&f["ProductArn"]), s(&f["Id"]))
}

fn filter_bar(view: &View) -> Markup {
    html! {
        form.filters method="get" action="/console/findings" id="filters" {
            input type="hidden" name="sort" value=(view.sort);
            input type="hidden" name="dir" value=(if view.descending { "desc" } else { "asc" });
            input type="hidden" name="n" value=(view.page_size);
            div.chips {
                @if view.rows.is_empty() { span.muted { "No filter: every finding." } }
                @for (i, r) in view.rows.iter().enumerate() {
                    span.chip { (r.field) " " span.op { (r.comparison) } " " b { (r.value) }
                        a.remove href=(view.without_row(i)) title="Remove this filter" aria-label="Remove" { "×" } }
                }
                @if view.rows != filters::default_rows() {
                    a.small href=(View { rows: filters::default_rows(), ..view.clone() }.url()) { "Default view" }
                }
                @if !view.rows.is_empty() {
                    a.small href=(view.url_with(&[], &view.sort, view.descending, None)) { "Clear" }
                }
            }
            details.editor open[false] {
                summary { "Edit filters (" (view.rows.len()) ")" }
                datalist id="filter-fields" { @for f in FILTER_FIELDS { option value=(f.name) {} } }
                table.rows id="filter-rows" {
                    thead { tr { th { "Field" } th { "Comparison" } th { "Value (clear to remove)" } } }
                    tbody {
                        @for r in view.rows.iter().chain(std::iter::once(&FilterRow::new("", "EQUALS", ""))) {
                            tr {
                                td { input name="fk" list="filter-fields" value=(r.field) placeholder="e.g. ResourceType"; }
                                td { select name="fc" {
                                    @for c in all_comparisons() { option value=(c) selected[*c == r.comparison] { (c) } }
                                } }
                                td { input name="fv" value=(r.value) placeholder="value; key=value for maps; days for DAYS"; }
                            }
                        }
                    }
                }
                button type="button" id="add-row" hidden { "Add a row" }
                p.muted.small { "Strings: EQUALS, PREFIX, CONTAINS and their negations. Numbers: EQ, GTE, LTE, GT, LT. Dates: START, END (2024-05-01 or a timestamp) or DAYS. IP fields: CIDR. Booleans: true or false." }
            }
            div.quick {
                @for (name, label, field, _) in QUICK {
                    @match *field {
                        "SeverityLabel" => label { (label) select name=(name) { option value="" { "any" } @for v in SEVERITIES { option value=(v) { (v) } } } },
                        "WorkflowStatus" => label { (label) select name=(name) { option value="" { "any" } @for v in WORKFLOWS { option value=(v) { (v) } } } },
                        "RecordState" => label { (label) select name=(name) { option value="" { "any" } option value="ACTIVE" { "ACTIVE" } option value="ARCHIVED" { "ARCHIVED" } } },
                        "ComplianceStatus" => label { (label) select name=(name) { option value="" { "any" } @for v in ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"] { option value=(v) { (v) } } } },
                        "UpdatedAt" => label { (label) input type="date" name=(name); },
                        _ => label { (label) input name=(name) size="14"; },
                    }
                }
                button.primary type="submit" { "Apply" }
            }
        }
    }
}

fn all_comparisons() -> Vec<&'static str> {
    use findinghub_hub::filter::FieldKind::*;
    let mut all: Vec<&'static str> = Vec::new();
    for kind in [String, Number, Date, Ip, Boolean] {
        for c in comparisons(kind) {
            if !all.contains(c) {
                all.push(c);
            }
        }
    }
    all
}

fn action_controls(user: &User, back: &str, button: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(user.csrf);
        input type="hidden" name="back" value=(back);
        div.actions {
            label { "Workflow" select name="workflow" { option value="" { "—" } @for v in WORKFLOWS { option value=(v) { (v) } } } }
            label { "Severity" select name="severity" { option value="" { "—" } @for v in SEVERITIES { option value=(v) { (v) } } } }
            label { "Verification" select name="verification" { option value="" { "—" } @for v in VERIFICATIONS { option value=(v) { (v) } } } }
            label { "Confidence" input type="number" name="confidence" min="0" max="100" size="4"; }
            label { "Criticality" input type="number" name="criticality" min="0" max="100" size="4"; }
            label.grow { "Note" input name="note" maxlength="512" placeholder="Why (recorded with your identity)"; }
            button.primary type="submit" { (button) }
        }
    }
}

pub fn findings(
    user: &User,
    view: &View,
    findings: &[Value],
    next: Option<&str>,
    notice: Option<&str>,
    actions: &[Value],
) -> Markup {
    let back = view.url_with(&view.rows, &view.sort, view.descending, view.token.as_deref());
    layout(
        Some(user),
        "Findings",
        "findings",
        html! {
            h1 { "Findings" span.muted.small { " " (user.principal.region) } }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            (filter_bar(view))
            (save_insight(user, view, &back))
            form method="post" action="/console/update" id="bulk" {
                (action_controls(user, &back, "Apply to selected"))
                (send_controls(actions))
                table.grid id="findings" {
                    thead { tr {
                        th { input type="checkbox" id="select-all" title="Select the page" aria-label="Select all"; }
                        @for (key, label, _) in COLUMNS {
                            @let descending = if view.sort == *key { !view.descending } else { *key == "updated" || *key == "severity" };
                            th { a href=(view.url_with(&view.rows, key, descending, None)) {
                                (label)
                                @if view.sort == *key { (if view.descending { " ▼" } else { " ▲" }) }
                            } }
                        }
                    } }
                    tbody {
                        @if findings.is_empty() { tr { td colspan="9" .muted { "No findings match." } } }
                        @for f in findings {
                            @let (rtype, rid) = resource_of(f);
                            @let label = s(&f["Severity"]["Label"]);
                            tr {
                                td { input type="checkbox" name="sel" value=(selection_value(f)) aria-label="Select"; }
                                td { a href=(view.with_row(row("SeverityLabel", label))) { (severity_badge(label)) } }
                                td.title { a.finding href=(finding_url(f)) { (s(&f["Title"])) } }
                                td { a href=(view.with_row(row("ProductName", s(&f["ProductName"])))) { (s(&f["ProductName"])) } }
                                td { a href=(view.with_row(row("AwsAccountId", s(&f["AwsAccountId"])))) { (s(&f["AwsAccountId"])) } }
                                td { (s(&f["Region"])) }
                                td.resource title=(rid) { span.muted { (rtype) } " " a href=(view.with_row(row("ResourceId", rid))) { (short(rid)) } }
                                td { span.wf { (s(&f["Workflow"]["Status"])) } }
                                td.nowrap { (s(&f["UpdatedAt"]).get(..19).unwrap_or_default().replace('T', " ")) }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @if view.token.is_some() { a href=(view.url()) { "« First page" } }
                @if let Some(t) = next { a href=(view.url_with(&view.rows, &view.sort, view.descending, Some(t))) { "Next page »" } }
                span.muted { (findings.len()) " shown · " }
                @for n in [25, 50, 100] {
                    @if n == view.page_size { b { (n) } } @else {
                        a href=(View { page_size: n, token: None, ..view.clone() }.url()) { (n) }
                    }
                    " "
                }
                span.muted { "per page" }
            }
        },
    )
}

/// "Save as insight": the view's filter rows, a name and what to group by.
fn save_insight(user: &User, view: &View, back: &str) -> Markup {
    html! {
        details.save-insight {
            summary { "Save as insight" }
            form method="post" action="/console/insights" id="save-insight" {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="back" value=(back);
                @for r in &view.rows { input type="hidden" name="f" value=(r.encode()); }
                label { "Name" input name="name" required maxlength="128" placeholder="e.g. Critical by resource"; }
                label { "Group by" select name="group_by" {
                    @for g in crate::insights::GROUP_BY { option value=(g) { (g) } }
                } }
                button.primary type="submit" { "Save" }
            }
        }
    }
}

/// The user's insights and their results.
pub fn insights(user: &User, shown: &[crate::insights::InsightView], notice: Option<&str>) -> Markup {
    layout(
        Some(user),
        "Insights",
        "insights",
        html! {
            h1 { "Insights" (scope_line(user)) }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            @if shown.is_empty() { p.muted { "No insights yet: filter the findings, then \"Save as insight\"." } }
            @for i in shown {
                section.insight {
                    h2 { (i.name) span.muted.small { " grouped by " (i.group_by) } }
                    @if let Some(e) = &i.error { p.error { (e) } }
                    table.grid.insight-results {
                        thead { tr { th { (i.group_by) } th { "Findings" } } }
                        tbody {
                            @if i.results.is_empty() { tr { td colspan="2" .muted { "No findings match." } } }
                            @for (value, count, url) in &i.results {
                                tr { td { a href=(url) { (value) } } td { (count) } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Long resource ids keep their tail, which is what tells them apart.
fn short(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 48 {
        id.to_owned()
    } else {
        format!("…{}", chars[chars.len() - 46..].iter().collect::<String>())
    }
}

/// Any JSON value as readable rows: nested members as dotted paths, lists by position.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&p, x, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            out.push((prefix.to_owned(), items.iter().map(scalar).collect::<Vec<_>>().join(", ")));
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kv(v: &Value) -> Markup {
    let mut rows = Vec::new();
    flatten("", v, &mut rows);
    html! {
        table.kv { @for (k, v) in rows { tr { th { (k) } td { (v) } } } }
    }
}

/// The ASFF sections in reading order; the summary and severity are drawn apart, and members
/// not named here land in "Other", so nothing of a finding is hidden.
const SECTIONS: &[(&str, &[&str])] = &[
    ("Types", &["Types"]),
    ("Network", &["Network", "NetworkPath"]),
    ("Process", &["Process"]),
    ("Action", &["Action"]),
    ("Threats", &["Threats", "ThreatIntelIndicators", "Malware"]),
    ("Vulnerabilities", &["Vulnerabilities", "PatchSummary"]),
    ("Compliance and control", &["Compliance", "GeneratorDetails"]),
    ("Product fields", &["ProductFields"]),
    ("User-defined fields", &["UserDefinedFields"]),
    ("Related findings (as sent)", &["RelatedFindings"]),
    ("Finding provider fields", &["FindingProviderFields"]),
];

const SUMMARY: &[&str] = &[
    "Title",
    "Description",
    "ProductName",
    "CompanyName",
    "AwsAccountId",
    "AwsAccountName",
    "Region",
    "GeneratorId",
    "Id",
    "ProductArn",
    "SchemaVersion",
    "RecordState",
    "Workflow",
    "WorkflowState",
    "VerificationState",
    "Confidence",
    "Criticality",
    "FirstObservedAt",
    "LastObservedAt",
    "CreatedAt",
    "UpdatedAt",
    "ProcessedAt",
    "Sample",
    "SourceUrl",
];

const DRAWN: &[&str] = &["Severity", "Resources", "Remediation", "Note"];

/// What a finding's page shows.
pub struct FindingPage<'a> {
    pub finding: &'a Value,
    pub history: &'a [Value],
    pub related: &'a [Value],
    /// This page's URL (where the forms come back to).
    pub back: &'a str,
    pub notice: Option<&'a str>,
    pub detective_base_url: &'a str,
    /// The custom actions to send the finding to.
    pub actions: &'a [Value],
}

pub fn finding(user: &User, page: &FindingPage<'_>) -> Markup {
    let FindingPage { finding: f, history, related, back, notice, detective_base_url, actions } = *page;
    let label = s(&f["Severity"]["Label"]);
    let named: Vec<&str> = SECTIONS
        .iter()
        .flat_map(|(_, m)| m.iter().copied())
        .chain(SUMMARY.iter().copied())
        .chain(DRAWN.iter().copied())
        .collect();
    let other: serde_json::Map<String, Value> = f
        .as_object()
        .map(|m| m.iter().filter(|(k, _)| !named.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let links =
        f.as_object().map(|m| findinghub_receivers::detective::pivot_links(m, detective_base_url)).unwrap_or_default();
    layout(
        Some(user),
        s(&f["Title"]),
        "findings",
        html! {
            p.crumbs { a href="/console/findings" { "Findings" } " / " (s(&f["ProductName"])) }
            h1 { (severity_badge(label)) " " (s(&f["Title"])) }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            div.columns {
                div.main {
                    section.panel id="summary" {
                        h2 { "Summary" }
                        p { (s(&f["Description"])) }
                        table.kv { @for k in SUMMARY {
                            @if let Some(v) = f.get(*k).filter(|_| !matches!(*k, "Title" | "Description")) {
                                tr { th { (k) } td {
                                    @if *k == "SourceUrl" { a href=(s(v)) rel="noopener noreferrer" { (s(v)) } }
                                    @else if v.is_object() { (kv(v)) }
                                    @else { (scalar(v)) }
                                } }
                            }
                        } }
                    }
                    section.panel id="severity" {
                        h2 { "Severity" }
                        table.kv {
                            tr { th { "Label" } td { (severity_badge(label)) } }
                            @for k in ["Normalized", "Original", "Product"] {
                                @if let Some(v) = f["Severity"].get(k) { tr { th { (k) @if k == "Original" || k == "Product" { " (provider value)" } } td { (scalar(v)) } } }
                            }
                        }
                    }
                    section.panel id="resources" {
                        h2 { "Resources" }
                        @for (i, r) in f["Resources"].as_array().into_iter().flatten().enumerate() {
                            h3 { (i + 1) ". " (s(&r["Type"])) " " code { (s(&r["Id"])) } }
                            (kv(r))
                        }
                    }
                    @if let Some(rem) = f.get("Remediation") {
                        section.panel id="remediation" {
                            h2 { "Remediation" }
                            p { (s(&rem["Recommendation"]["Text"])) }
                            @if let Some(url) = rem["Recommendation"]["Url"].as_str() {
                                p { a href=(url) rel="noopener noreferrer" target="_blank" { "Remediation guidance" } }
                            }
                        }
                    }
                    @for (title, members) in SECTIONS {
                        @if members.iter().any(|m| f.get(*m).is_some()) {
                            section.panel {
                                h2 { (title) }
                                @for m in *members { @if let Some(v) = f.get(*m) {
                                    @if members.len() > 1 { h3 { (m) } }
                                    (kv(v))
                                } }
                            }
                        }
                    }
                    @if !other.is_empty() {
                        section.panel { h2 { "Other" } (kv(&Value::Object(other))) }
                    }
                    section.panel {
                        details { summary { "Raw JSON" }
                            pre.json { (serde_json::to_string_pretty(f).unwrap_or_default()) }
                        }
                    }
                }
                aside {
                    section.panel id="actions" {
                        h2 { "Workflow" }
                        p { "Status " b.wf { (s(&f["Workflow"]["Status"])) } " · Record " (s(&f["RecordState"])) }
                        @if let Some(note) = f.get("Note") {
                            div.note id="note" { p { (s(&note["Text"])) } p.muted.small { (s(&note["UpdatedBy"])) " · " (s(&note["UpdatedAt"])) } }
                        }
                        form method="post" action="/console/update" id="finding-actions" {
                            input type="hidden" name="sel" value=(selection_value(f));
                            (action_controls(user, back, "Apply"))
                        }
                        @if !actions.is_empty() {
                            form method="post" action="/console/send" id="finding-send" {
                                input type="hidden" name="csrf" value=(user.csrf);
                                input type="hidden" name="back" value=(back);
                                input type="hidden" name="sel" value=(selection_value(f));
                                (send_controls(actions))
                            }
                        }
                    }
                    @if !links.is_empty() {
                        section.panel id="detective" {
                            h2 { "Investigate in Detective" }
                            ul { @for link in &links { li { a href=(link.url) rel="noopener noreferrer" target="_blank" { (link.label) } } } }
                        }
                    }
                    section.panel id="history" {
                        h2 { "History" }
                        @if history.is_empty() { p.muted { "No history." } }
                        ol.timeline {
                            @for h in history {
                                li {
                                    div.when { (s(&h["UpdateTime"])) }
                                    div { b { (s(&h["UpdateSource"]["Type"])) } " " span.identity { (s(&h["UpdateSource"]["Identity"])) } }
                                    @if h["FindingCreated"].as_bool() == Some(true) { div.muted { "Finding created" } }
                                    ul { @for u in h["Updates"].as_array().into_iter().flatten() {
                                        li { code { (s(&u["UpdatedField"])) } ": " span.old { (s(&u["OldValue"])) } " → " span.new { (s(&u["NewValue"])) } }
                                    } }
                                }
                            }
                        }
                    }
                    section.panel id="related" {
                        h2 { "Same resource" }
                        @if related.is_empty() { p.muted { "No other finding on this resource." } }
                        ul { @for r in related {
                            li { (severity_badge(s(&r["Severity"]["Label"]))) " " a href=(finding_url(r)) { (s(&r["Title"])) } }
                        } }
                        @let (_, rid) = resource_of(f);
                        @if !rid.is_empty() { p { a href=(filters::findings_url(&[row("ResourceId", rid)])) { "All findings on this resource" } } }
                    }
                }
            }
        },
    )
}

pub fn integrations(user: &User, products: &[Value], enabled: &[String], notice: Option<&str>) -> Markup {
    // A subscription ARN ends with <company>/<product>, as the product ARN does.
    let subscription_of = |arn: &str| -> Option<&String> {
        let tail = arn.rsplit_once(":product/").map(|(_, t)| t)?;
        let tail = tail.trim_start_matches('/');
        let parts: Vec<&str> = tail.split('/').collect();
        let (company, product) = match parts.as_slice() {
            [c, p] => (*c, *p),
            [_, c, p] => (*c, *p),
            _ => return None,
        };
        enabled.iter().find(|s| s.ends_with(&format!("product-subscription/{company}/{product}")))
    };
    layout(
        Some(user),
        "Integrations",
        "integrations",
        html! {
            h1 { "Integrations" span.muted.small { " " (user.principal.region) } }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            table.grid id="products" {
                thead { tr { th { "Product" } th { "Company" } th { "Categories" } th { "Integration" } th { "Status" } th {} } }
                tbody {
                    @for p in products {
                        @let arn = s(&p["ProductArn"]);
                        @let sub = subscription_of(arn);
                        @let sends = p["IntegrationTypes"].as_array().is_some_and(|t| t.iter().any(|x| x == "SEND_FINDINGS_TO_SECURITY_HUB"));
                        tr {
                            td { b { (s(&p["ProductName"])) } div.muted.small { (s(&p["Description"])) } }
                            td { (s(&p["CompanyName"])) }
                            td.small { (p["Categories"].as_array().map(|c| c.iter().map(scalar).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                            td.small { (p["IntegrationTypes"].as_array().map(|c| c.iter().map(scalar).collect::<Vec<_>>().join(", ")).unwrap_or_default()) }
                            td { @if sub.is_some() { span.status-on { "Accepting findings" } } @else if sends { span.muted { "Not enabled" } } @else { span.muted { "Receives findings" } } }
                            td {
                                @if sends {
                                    form.inline method="post" action="/console/integrations" {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        @if let Some(sub) = sub {
                                            input type="hidden" name="action" value="disable";
                                            input type="hidden" name="subscription" value=(sub);
                                            button type="submit" { "Stop accepting" }
                                        } @else {
                                            input type="hidden" name="action" value="enable";
                                            input type="hidden" name="product" value=(arn);
                                            button.primary type="submit" { "Accept findings" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// One chart of the overview: its title, its bars (label, count, link).
pub struct Chart {
    pub title: &'static str,
    pub id: &'static str,
    pub bars: Vec<(String, u64, String)>,
}

/// A horizontal bar chart, drawn as SVG on the server; each bar links to the findings it counts.
fn bar_chart(chart: &Chart) -> Markup {
    let max = chart.bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 22;
    let height = (chart.bars.len().max(1) * row + 4) as u32;
    html! {
        section.panel.chart id=(chart.id) {
            h2 { (chart.title) }
            @if chart.bars.is_empty() { p.muted { "Nothing to count." } }
            @else {
                svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 520 {height}")) role="img" aria-label=(chart.title) {
                    @for (i, (label, count, link)) in chart.bars.iter().enumerate() {
                        @let y = i * row;
                        @let width = 1.0_f64.max(*count as f64 / max as f64 * 250.0);
                        a href=(link) {
                            title { (label) ": " (count) }
                            text x="0" y=(y + 15) class="label" { (short_label(label)) }
                            rect x="200" y=(y + 3) width=(format!("{width:.1}")) height="16" rx="2" class=(bar_class(chart.id, label)) {}
                            text x=(format!("{:.1}", 206.0 + width)) y=(y + 15) class="count" { (count) }
                        }
                    }
                }
            }
        }
    }
}

fn short_label(label: &str) -> String {
    let label = if label.is_empty() { "(none)" } else { label };
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= 30 { label.to_owned() } else { format!("{}…", chars[..29].iter().collect::<String>()) }
}

fn bar_class(chart: &str, label: &str) -> String {
    if chart == "by-severity" { format!("bar sev-{}", label.to_ascii_lowercase()) } else { "bar".to_owned() }
}

/// New findings per day: columns, oldest day on the left.
fn day_chart(days: &[(String, u64, String)]) -> Markup {
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let step = 1040.0 / days.len().max(1) as f64;
    html! {
        section.panel.chart.wide id="per-day" {
            h2 { "New findings per day, last 30 days" }
            svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1040 150" role="img" aria-label="New findings per day" {
                line x1="0" y1="120" x2="1040" y2="120" class="axis" {}
                @for (i, (day, count, link)) in days.iter().enumerate() {
                    @let h = *count as f64 / max as f64 * 110.0;
                    @let x = i as f64 * step;
                    a href=(link) {
                        title { (day) ": " (count) }
                        rect x=(format!("{:.1}", x + 1.0)) y=(format!("{:.1}", 120.0 - h)) width=(format!("{:.1}", step - 2.0)) height=(format!("{h:.1}")) class="bar" {}
                        @if i % 7 == 0 { text x=(format!("{x:.1}")) y="136" class="label" { (day.get(5..).unwrap_or(day)) } }
                    }
                }
                text x="1040" y="12" class="count" text-anchor="end" { "max " (max) }
            }
        }
    }
}

pub fn overview(user: &User, charts: &[Chart], days: &[(String, u64, String)]) -> Markup {
    layout(
        Some(user),
        "Overview",
        "overview",
        html! {
            h1 { "Overview" span.muted.small { " " (user.principal.region) " · active findings, NEW or NOTIFIED" } }
            div.charts {
                (day_chart(days))
                @for c in charts { (bar_chart(c)) }
            }
        },
    )
}

/// The custom actions as a "send to" control: a menu and a button that posts its form to
/// `/console/send` (the button's `formaction`, so the same selection serves both forms).
fn send_controls(actions: &[Value]) -> Markup {
    html! {
        @if !actions.is_empty() {
            div.actions.send {
                label { "Custom action"
                    select name="action_target" {
                        @for a in actions { option value=(s(&a["ActionTargetArn"])) { (s(&a["Name"])) } }
                    }
                }
                button type="submit" formaction="/console/send" id="send-to-action" { "Send to custom action" }
                span.muted.small { "(at most 20 findings)" }
            }
        }
    }
}

fn when(micros: i64) -> String {
    findinghub_asff::timestamp::format_timestamp(micros).get(..19).unwrap_or_default().replace('T', " ")
}

fn scope_line(user: &User) -> Markup {
    html! {
        span.muted.small {
            " " (user.principal.region) " · "
            @if user.principal.admin { "every account" } @else { "account " (user.principal.account_id) }
        }
    }
}

/// What the deliveries page shows.
pub struct DeliveryList<'a> {
    pub view: &'a crate::receivers::DeliveryView,
    pub deliveries: &'a [findinghub_store::outbox::Delivery],
    pub more: Option<i64>,
    pub targets: &'a [findinghub_store::outbox::TargetRecord],
    /// The store's counts per target (administrators only).
    pub counts: &'a [findinghub_store::outbox::TargetCounts],
}

pub fn deliveries(user: &User, list: &DeliveryList<'_>, notice: Option<&str>) -> Markup {
    use crate::receivers::DeliveryView;
    use findinghub_store::outbox::DeliveryState;
    let view = list.view;
    let back = view.url(view.after);
    let dead_only = view.state == Some(DeliveryState::Dead);
    layout(
        Some(user),
        "Deliveries",
        "deliveries",
        html! {
            h1 { "Deliveries" (scope_line(user)) }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            p.muted { "Events that the hub sends to its targets (findinghub targets and rules). A dead letter is a delivery given up: refused by the target, or failing for 24 hours or 185 attempts. Replay sends it again with a fresh retry budget." }
            table.grid id="targets" {
                thead { tr {
                    th { "Target" } th { "Kind" }
                    @if user.principal.admin { th { "URL" } th { "Pending" } th { "Delivered" } th { "Dead" } }
                    th {}
                } }
                tbody {
                    @if list.targets.is_empty() { tr { td colspan="7" .muted { "No target is configured." } } }
                    @for t in list.targets {
                        @let counts = list.counts.iter().find(|c| c.target == t.name);
                        tr {
                            td { b { (t.name) } }
                            td { (t.kind) }
                            @if user.principal.admin {
                                td.small { (t.config.get("url").and_then(Value::as_str).unwrap_or("—")) }
                                td { (counts.map_or(0, |c| c.pending)) }
                                td { (counts.map_or(0, |c| c.delivered)) }
                                td { (counts.map_or(0, |c| c.dead)) }
                            }
                            td.nowrap {
                                a href=(DeliveryView { target: Some(t.name.clone()), state: Some(DeliveryState::Dead), after: None }.url(None)) { "Dead letters" }
                                " · "
                                a href=(DeliveryView { target: Some(t.name.clone()), state: None, after: None }.url(None)) { "All" }
                            }
                        }
                    }
                }
            }
            @if user.principal.admin { p.muted.small { "Counts: every account and Region. The list below: this Region." } }
            form.filters method="get" action="/console/deliveries" id="delivery-filter" {
                div.quick {
                    label { "Target " select name="target" {
                        option value="" { "every target" }
                        @for t in list.targets { option value=(t.name) selected[view.target.as_deref() == Some(t.name.as_str())] { (t.name) } }
                    } }
                    label { "State " select name="state" {
                        @for (v, label) in [("dead", "dead letters"), ("pending", "pending"), ("delivered", "delivered"), ("all", "all")] {
                            option value=(v) selected[view.state.map_or("all", DeliveryState::as_str) == v] { (label) }
                        }
                    } }
                    button.primary type="submit" { "Show" }
                }
            }
            h2 {
                @if dead_only { "Dead letters" } @else { "Deliveries" }
                @if let Some(t) = &view.target { " of " (t) }
            }
            form method="post" action="/console/deliveries/replay" id="replay" {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="back" value=(back);
                table.grid id="deliveries" {
                    thead { tr {
                        th {} th { "Id" } th { "Target" } th { "Rule" } th { "State" } th { "Attempts" }
                        th { "Created" } th { "Next attempt" } th { "Last error" } th { "Event" } th { "Finding" }
                    } }
                    tbody {
                        @if list.deliveries.is_empty() { tr { td colspan="11" .muted { "Nothing here." } } }
                        @for d in list.deliveries {
                            @let env = &d.event.envelope;
                            @let f = &env["detail"]["findings"][0];
                            tr.delivery data-state=(d.state.as_str()) {
                                td { @if d.state == DeliveryState::Dead { input type="checkbox" name="sel" value=(d.id) aria-label="Select"; } }
                                td { (d.id) }
                                td { (d.target) }
                                td { (d.rule) }
                                td { span class=(format!("state state-{}", d.state.as_str())) { (d.state.as_str()) } }
                                td { (d.attempts) }
                                td.nowrap { (when(d.created_at)) }
                                td.nowrap { @if d.state == DeliveryState::Pending { (when(d.next_attempt_at)) } @else { "—" } }
                                td.small { (d.last_error.as_deref().unwrap_or("")) }
                                td.small { (s(&env["detail-type"])) div.muted { (d.event.event_id) } }
                                td.title { @if f.is_object() { a href=(finding_url(f)) { (s(&f["Title"])) } } }
                            }
                        }
                    }
                }
                @if list.deliveries.iter().any(|d| d.state == DeliveryState::Dead) {
                    div.actions { button.primary type="submit" id="replay-selected" { "Replay selected" } }
                }
            }
            @if dead_only && !list.deliveries.is_empty() {
                form method="post" action="/console/deliveries/replay" id="replay-all" {
                    input type="hidden" name="csrf" value=(user.csrf);
                    input type="hidden" name="back" value=(back);
                    input type="hidden" name="all" value="1";
                    input type="hidden" name="target" value=(view.target.as_deref().unwrap_or(""));
                    button type="submit" {
                        "Replay every dead letter"
                        @if let Some(t) = &view.target { " of " (t) }
                        @if !user.principal.admin { " of account " (user.principal.account_id) }
                    }
                }
            }
            nav.pager {
                @if view.after.is_some() { a href=(view.url(None)) { "« First page" } }
                @if let Some(m) = list.more { a href=(view.url(Some(m))) { "More »" } }
                span.muted { (list.deliveries.len()) " shown" }
            }
        },
    )
}

const WORK_ITEM_STATUSES: &[&str] = &["Open", "InProgress", "Resolved"];

pub fn workitems(
    user: &User,
    items: &[Value],
    status: Option<&str>,
    paged: bool,
    next: Option<&str>,
    back: &str,
    notice: Option<&str>,
) -> Markup {
    let url = |token: Option<&str>| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = status {
            q.append_pair("status", s);
        }
        if let Some(t) = token {
            q.append_pair("token", t);
        }
        format!("/console/workitems?{}", q.finish())
    };
    layout(
        Some(user),
        "Work items",
        "workitems",
        html! {
            h1 { "OpsCenter work items" (scope_line(user)) }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            p.muted { "Opened for findings at or above the threshold by the opscenter target. A status change updates the finding's workflow (Open → NEW, InProgress → NOTIFIED, Resolved → RESOLVED), recorded in its history with the work item as identity." }
            form.filters method="get" action="/console/workitems" {
                div.quick {
                    label { "Status " select name="status" {
                        option value="" { "any" }
                        @for v in WORK_ITEM_STATUSES { option value=(v) selected[status == Some(*v)] { (v) } }
                    } }
                    button.primary type="submit" { "Show" }
                }
            }
            table.grid id="workitems" {
                thead { tr { th { "Work item" } th { "Title" } th { "Severity" } th { "Status" } th { "Finding" } th { "Created" } th { "Modified" } } }
                tbody {
                    @if items.is_empty() { tr { td colspan="7" .muted { "No work items." } } }
                    @for w in items {
                        @let id = s(&w["OpsItemId"]);
                        tr data-id=(id) {
                            td.nowrap { code { (id) } div.muted.small { (s(&w["AccountId"])) } }
                            td.title { (s(&w["Title"])) }
                            td { (s(&w["Severity"])) }
                            td.nowrap {
                                form.inline.workitem method="post" action="/console/workitems/update" {
                                    input type="hidden" name="csrf" value=(user.csrf);
                                    input type="hidden" name="back" value=(back);
                                    input type="hidden" name="id" value=(id);
                                    select name="status" aria-label="Status" {
                                        @for v in WORK_ITEM_STATUSES { option value=(v) selected[s(&w["Status"]) == *v] { (v) } }
                                    }
                                    " "
                                    button type="submit" { "Save" }
                                }
                            }
                            td.small { a href=(finding_url(&w["FindingIdentifier"])) { "Open the finding" } }
                            td.nowrap { (s(&w["CreatedTime"]).get(..19).unwrap_or_default().replace('T', " ")) }
                            td.nowrap { (s(&w["LastModifiedTime"]).get(..19).unwrap_or_default().replace('T', " ")) }
                        }
                    }
                }
            }
            nav.pager {
                @if paged { a href=(url(None)) { "« First page" } }
                @if let Some(t) = next { a href=(url(Some(t))) { "Next page »" } }
                span.muted { (items.len()) " shown" }
            }
        },
    )
}

pub fn advisor(user: &User, checks: &[Value]) -> Markup {
    layout(
        Some(user),
        "Trusted Advisor",
        "advisor",
        html! {
            h1 { "Trusted Advisor checks" (scope_line(user)) }
            p.muted { "One check per AWS Foundational Security Best Practices control, from the newest active finding of each resource: red for a CRITICAL or HIGH failure, yellow for other failures, green when every resource passes. Suppressed failures are excluded items." }
            table.grid id="checks" {
                thead { tr { th { "Status" } th { "Check" } th { "Title" } th { "Processed" } th { "Flagged" } th { "Excluded" } th { "Flagged resources" } } }
                tbody {
                    @if checks.is_empty() { tr { td colspan="7" .muted { "No control findings yet." } } }
                    @for c in checks {
                        @let status = s(&c["status"]);
                        tr {
                            td { span class=(format!("advisor advisor-{}", status.replace('_', "-"))) { (status.replace('_', " ")) } }
                            td.nowrap { a href=(filters::findings_url(&[FilterRow::new("ComplianceSecurityControlId", "EQUALS", s(&c["checkId"]))])) { (s(&c["checkId"])) } }
                            td.title {
                                (s(&c["title"]))
                                @if let Some(url) = c["recommendedActionUrl"].as_str() { " " a.small href=(url) rel="noopener noreferrer" target="_blank" { "Recommended action" } }
                            }
                            td { (scalar(&c["resourcesProcessed"])) }
                            td { (scalar(&c["resourcesFlagged"])) }
                            td { (scalar(&c["resourcesSuppressed"])) }
                            td.small {
                                @for r in c["flaggedResources"].as_array().into_iter().flatten().take(5) {
                                    div { (s(&r["resourceType"])) " " code { (short(s(&r["resourceId"]))) } @if r["isSuppressed"].as_bool() == Some(true) { " " span.muted { "(excluded)" } } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
