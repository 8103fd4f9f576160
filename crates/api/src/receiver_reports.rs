//! What the receivers compute from stored findings, read through GetFindings' own query (so the
//! caller's scope applies): Detective's pivots and related findings, Trusted Advisor's checks,
//! and Audit Manager's evidence.

use crate::error::{ApiError, ApiResult};
use crate::handlers::{Input, findings_by_identifiers, max_results, require_hub, scope, str_member};
use crate::server::{App, Principal};
use findinghub_asff::timestamp::{format_timestamp, now_micros};
use findinghub_hub::filter::{Filters, parse_filters};
use findinghub_hub::finding::FindingIdentifier;
use findinghub_receivers::audit_manager::{EvidenceQuery, EvidenceRecord, evidence_of};
use findinghub_receivers::detective::{Entity, EntityKind, entities, pivot_links, shared_entities};
use findinghub_receivers::trusted_advisor::{AdvisorCheck, AdvisorOptions, checks};
use findinghub_store::{FindingQuery, FindingStore, Scope, StoreError};
use serde_json::{Map, Value, json};

type Finding = Map<String, Value>;

/// Every finding of `scope` that `filters` select, page by page (100 at a time).
pub async fn all_findings(
    store: &dyn FindingStore,
    scope: &Scope,
    filters: &Filters,
) -> Result<Vec<Finding>, StoreError> {
    let mut out = Vec::new();
    let mut next_token = None;
    loop {
        let page = store
            .get_findings(FindingQuery {
                scope: scope.clone(),
                filters: filters.clone(),
                sort: Vec::new(),
                max_results: 100,
                next_token,
            })
            .await?;
        out.extend(page.findings);
        match page.next_token {
            Some(t) => next_token = Some(t),
            None => return Ok(out),
        }
    }
}

fn filters(v: Value) -> ApiResult<Filters> {
    parse_filters(&v, now_micros()).map_err(|e| ApiError::InvalidInput(e.to_string()))
}

/// The finding that `ProductArn` and `Id` name, as the caller sees it.
async fn the_finding(app: &App, who: &Principal, input: &Input) -> ApiResult<(FindingIdentifier, Finding)> {
    let identifier = FindingIdentifier {
        id: str_member(input, "Id")?.to_owned(),
        product_arn: str_member(input, "ProductArn")?.to_owned(),
    };
    let found = findings_by_identifiers(app, scope(who), std::slice::from_ref(&identifier)).await?;
    match found.into_iter().next() {
        Some(f) => Ok((identifier, f)),
        None => Err(ApiError::ResourceNotFound(format!("The finding {} was not found", identifier.id))),
    }
}

/// `GET /findinghub/findings/pivots?ProductArn=…&Id=…`: Detective's links for a GuardDuty
/// finding (none for other products), under the configured console.
pub async fn pivots(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let (identifier, finding) = the_finding(app, who, &input).await?;
    let links = pivot_links(&finding, &app.receivers.detective_base_url);
    Ok(json!({
        "FindingIdentifier": identifier.to_json(),
        "PivotLinks": links.iter().map(|l| json!({"Label": l.label, "Url": l.url})).collect::<Vec<_>>(),
    }))
}

/// The GetFindings filter that finds other findings with an entity.
fn entity_filter(entity: &Entity) -> Value {
    let equals = json!([{"Value": entity.value, "Comparison": "EQUALS"}]);
    match entity.kind {
        EntityKind::Resource => json!({"ResourceId": equals}),
        EntityKind::Account => json!({"AwsAccountId": equals}),
        // An address may sit in Network, in Action's remote details or in ProductFields: the
        // Keyword filter matches a string leaf anywhere (a scan of the caller's findings).
        EntityKind::IpAddress => json!({"Keyword": [{"Value": entity.value}]}),
    }
}

fn summary(f: &Finding) -> Value {
    json!({
        "Id": f.get("Id"),
        "ProductArn": f.get("ProductArn"),
        "Title": f.get("Title"),
        "SeverityLabel": f.get("Severity").and_then(|s| s.get("Label")),
        "UpdatedAt": f.get("UpdatedAt"),
    })
}

/// `GET /findinghub/findings/related?ProductArn=…&Id=…[&MaxResults=n]`: for each entity of the
/// finding (its resources, its account, its IP addresses), the other findings that have it,
/// newest first, at most MaxResults (default 20) per entity, each with the entities it shares.
pub async fn related(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let (identifier, finding) = the_finding(app, who, &input).await?;
    let cap = max_results(&input, 20)?;
    let mut groups = Vec::new();
    for entity in entities(&finding) {
        let page = app
            .findings
            .get_findings(FindingQuery {
                scope: scope(who),
                filters: filters(entity_filter(&entity))?,
                sort: Vec::new(),
                // One more than the cap, as the finding itself is among them.
                max_results: (cap + 1).min(100),
                next_token: None,
            })
            .await?;
        let more = page.next_token.is_some();
        let others: Vec<Value> = page
            .findings
            .iter()
            .filter(|f| {
                !(f.get("Id").and_then(Value::as_str) == Some(identifier.id.as_str())
                    && f.get("ProductArn").and_then(Value::as_str) == Some(identifier.product_arn.as_str()))
            })
            .map(|f| {
                let mut s = summary(f);
                s["SharedEntities"] = serde_json::to_value(shared_entities(&finding, f)).unwrap_or(Value::Null);
                s
            })
            .collect();
        let truncated = more || others.len() > cap;
        groups.push(json!({
            "Kind": entity.kind,
            "Value": entity.value,
            "Findings": others.into_iter().take(cap).collect::<Vec<_>>(),
            "Truncated": truncated,
        }));
    }
    Ok(json!({"FindingIdentifier": identifier.to_json(), "Entities": groups}))
}

/// Trusted Advisor's checks over the ACTIVE findings of `scope`.
pub async fn advisor_checks(store: &dyn FindingStore, scope: &Scope) -> ApiResult<Vec<AdvisorCheck>> {
    let active = filters(json!({"RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}))?;
    let findings = all_findings(store, scope, &active).await?;
    Ok(checks(findings.iter(), &AdvisorOptions::default()))
}

/// `GET /findinghub/advisor`: the checks over the caller's ACTIVE findings in its Region.
pub async fn advisor(app: &App, who: &Principal) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let checks = advisor_checks(app.findings.as_ref(), &scope(who)).await?;
    let checks = serde_json::to_value(&checks).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json!({"Checks": checks}))
}

/// Audit Manager's evidence of the findings of `scope` updated in the query's window (and of its
/// control), oldest first.
pub async fn evidence(
    store: &dyn FindingStore,
    scope: &Scope,
    query: &EvidenceQuery,
) -> ApiResult<Vec<EvidenceRecord>> {
    let mut range = Map::new();
    if let Some(from) = query.from {
        range.insert("Start".into(), json!(format_timestamp(from)));
    }
    if let Some(to) = query.to {
        range.insert("End".into(), json!(format_timestamp(to)));
    }
    // The date range narrows the scan; `EvidenceQuery::matches` is exact (its end is exclusive).
    let window = if range.is_empty() { json!({}) } else { json!({"UpdatedAt": [range]}) };
    let findings = all_findings(store, scope, &filters(window)?).await?;
    let mut records: Vec<EvidenceRecord> =
        findings.iter().filter_map(evidence_of).filter(|r| query.matches(r)).collect();
    records.sort_by(|a, b| (a.time_micros, &a.id).cmp(&(b.time_micros, &b.id)));
    Ok(records)
}
