//! OpsCenter work items, the stateful half of `receivers::opscenter`: [`open_work_items`] opens one
//! per finding of an event that is at or above the threshold (the delivery target of kind
//! `opscenter` calls it for each event), and a change of a work item's status or severity
//! updates its finding through BatchUpdateFindings' own path ([`update_work_item`]), so that the
//! finding's history names the work item.

use crate::error::{ApiError, ApiResult};
use crate::handlers::{Input, max_results, next_token, require_hub, run_batch_update, update_report};
use crate::server::{App, Principal};
use findinghub_asff::timestamp::{Micros, format_timestamp, now_micros};
use findinghub_hub::catalog::partition_of;
use findinghub_receivers::event;
use findinghub_receivers::opscenter::{
    OpsItemStatus, WorkItemChange, finding_update_request, label_from_severity, ops_item_from, should_open,
};
use findinghub_store::state::{HubStateStore, WorkItem, WorkItemCreated, WorkItemQuery, WorkItemUpdated};
use findinghub_store::{AccountScope, Scope, StoreError};
use serde_json::{Value, json};

/// What [`open_work_items`] did for one finding of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItemOpened {
    pub finding_id: String,
    pub work_item_id: String,
    /// False when an open work item of the finding existed already (that one's id).
    pub created: bool,
}

/// A new work item id: `oi-` and 12 hex digits, as OpsCenter's.
fn new_work_item_id() -> String {
    format!("oi-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The work item's ARN, the identity that the finding's history records for its changes.
pub fn work_item_arn(item: &WorkItem) -> String {
    format!("arn:{}:ssm:{}:{}:opsitem/{}", partition_of(&item.region), item.region, item.account_id, item.id)
}

/// Opens a work item for each finding of an EventBridge event (`detail.findings`) that
/// `should_open` at these severities, unless one is open for it. Idempotent: a redelivered event
/// finds its work items open and creates none.
pub async fn open_work_items(
    state: &dyn HubStateStore,
    severities: &[String],
    envelope: &Value,
    now: Micros,
) -> Result<Vec<WorkItemOpened>, StoreError> {
    let threshold: Vec<&str> = severities.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for finding in event::findings(envelope) {
        if !should_open(finding, &threshold) {
            continue;
        }
        let new = ops_item_from(finding);
        let text = |k: &str, fallback: &str| {
            finding.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(fallback).to_owned()
        };
        let item = WorkItem {
            id: new_work_item_id(),
            account_id: text("AwsAccountId", envelope["account"].as_str().unwrap_or_default()),
            region: text("Region", envelope["region"].as_str().unwrap_or_default()),
            finding_id: new.finding_id.clone(),
            product_arn: new.product_arn.clone(),
            dedup_key: new.dedup_key.clone(),
            status: new.status.as_str().to_owned(),
            severity: new.severity,
            created_at: now,
            updated_at: now,
            item: serde_json::to_value(&new).map_err(|e| StoreError::Backend(e.to_string()))?,
        };
        let id = item.id.clone();
        let (work_item_id, created) = match state.create_work_item(item).await? {
            WorkItemCreated::Created => (id, true),
            WorkItemCreated::Duplicate(existing) => (existing, false),
        };
        if created {
            tracing::info!(work_item = %work_item_id, finding = %new.finding_id, "opened an OpsCenter work item");
        }
        out.push(WorkItemOpened { finding_id: new.finding_id, work_item_id, created });
    }
    Ok(out)
}

/// A work item as the API shows it: OpsCenter's member names.
pub fn to_json(w: &WorkItem) -> Value {
    let item = &w.item;
    json!({
        "OpsItemId": w.id,
        "OpsItemArn": work_item_arn(w),
        "Title": item["title"],
        "Description": item["description"],
        "Source": item["source"],
        "Status": w.status,
        "Severity": w.severity.to_string(),
        "Priority": item["priority"],
        "Category": item["category"],
        "AccountId": w.account_id,
        "Region": w.region,
        "CreatedTime": format_timestamp(w.created_at),
        "LastModifiedTime": format_timestamp(w.updated_at),
        "FindingIdentifier": {"Id": w.finding_id, "ProductArn": w.product_arn},
        "RelatedResources": item["related_resources"],
        "OperationalData": item["operational_data"],
    })
}

/// Parses a work item change: `Status` (Open, InProgress, Resolved) and/or `Severity` (1–4, a
/// number or a string, as OpsCenter writes it).
pub fn parse_change(input: &Input) -> ApiResult<WorkItemChange> {
    let status = match input.get("Status") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(OpsItemStatus::parse)
                .ok_or_else(|| ApiError::InvalidInput("Status must be Open, InProgress or Resolved".into()))?,
        ),
    };
    let severity = match input.get("Severity") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            match n.and_then(|n| u8::try_from(n).ok()).filter(|n| label_from_severity(*n).is_some()) {
                Some(n) => Some(n),
                None => return Err(ApiError::InvalidInput("Severity must be 1, 2, 3 or 4".into())),
            }
        }
    };
    if status.is_none() && severity.is_none() {
        return Err(ApiError::InvalidInput("A work item update needs Status or Severity".into()));
    }
    Ok(WorkItemChange { status, severity })
}

/// Changes a work item's status and/or severity, then its finding through BatchUpdateFindings'
/// path (the request that `finding_update_request` makes, applied in the work item's account and
/// Region, history naming the work item's ARN). `accounts` is who may see the work item.
/// Returns the work item and BatchUpdateFindings' answer.
pub async fn update_work_item(
    app: &App,
    accounts: &AccountScope,
    id: &str,
    change: WorkItemChange,
) -> ApiResult<(WorkItem, Value)> {
    let not_found = || ApiError::ResourceNotFound(format!("The work item {id} was not found"));
    let current = app.state.work_item(id).await?.filter(|w| accounts.allows(&w.account_id)).ok_or_else(not_found)?;
    let request = finding_update_request(id, &current.finding_id, &current.product_arn, change)
        .map_err(|e| ApiError::InvalidInput(e.to_string()))?;
    // The work item is the source of this change: it is changed first, then the finding.
    let status = change.status.map(OpsItemStatus::as_str);
    let updated = match app.state.update_work_item(id, status, change.severity, now_micros()).await? {
        WorkItemUpdated::Updated(w) => w,
        WorkItemUpdated::NotFound => return Err(not_found()),
        WorkItemUpdated::Conflict(other) => {
            return Err(ApiError::ResourceConflict(format!(
                "The work item {other} of the same finding is open: {id} cannot be reopened"
            )));
        }
    };
    let scope = Scope::new(AccountScope::one(&updated.account_id), &updated.region);
    let report = run_batch_update(app, scope, work_item_arn(&updated), &request).await?;
    Ok((updated, update_report(&report)))
}

fn caller_accounts(who: &Principal) -> AccountScope {
    crate::handlers::scope(who).accounts
}

/// `GET /findinghub/opsitems[?Status=…&MaxResults=…&NextToken=…]`: the caller's work items in its
/// Region, oldest first.
pub async fn list(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let status = match input.get("Status").and_then(Value::as_str) {
        None => None,
        Some(s) => Some(
            OpsItemStatus::parse(s)
                .ok_or_else(|| ApiError::InvalidInput("Status must be Open, InProgress or Resolved".into()))?
                .as_str()
                .to_owned(),
        ),
    };
    let after = match next_token(&input) {
        None => None,
        Some(t) => Some(parse_token(&t).ok_or_else(|| ApiError::InvalidInput("The NextToken is not valid".into()))?),
    };
    let limit = max_results(&input, 100)?;
    let items = app
        .state
        .work_items(WorkItemQuery {
            accounts: caller_accounts(who),
            region: Some(who.region.clone()),
            status,
            after,
            limit: limit + 1,
        })
        .await?;
    let more = items.len() > limit;
    let page: Vec<&WorkItem> = items.iter().take(limit).collect();
    let mut out = json!({"OpsItems": page.iter().map(|w| to_json(w)).collect::<Vec<_>>()});
    if more && let Some(last) = page.last() {
        out["NextToken"] = json!(format!("{}:{}", last.created_at, last.id));
    }
    Ok(out)
}

fn parse_token(t: &str) -> Option<(Micros, String)> {
    let (created, id) = t.split_once(':')?;
    Some((created.parse().ok()?, id.to_owned()))
}

/// `GET /findinghub/opsitems/{id}`.
pub async fn get(app: &App, who: &Principal, id: &str) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let accounts = caller_accounts(who);
    match app.state.work_item(id).await?.filter(|w| accounts.allows(&w.account_id) && w.region == who.region) {
        Some(w) => Ok(json!({"OpsItem": to_json(&w)})),
        None => Err(ApiError::ResourceNotFound(format!("The work item {id} was not found"))),
    }
}

/// `PATCH /findinghub/opsitems/{id}` with `{Status, Severity}`.
pub async fn patch(app: &App, who: &Principal, id: &str, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let change = parse_change(&input)?;
    let accounts = caller_accounts(who);
    // Another Region's work item is not seen from this one.
    if app.state.work_item(id).await?.is_some_and(|w| w.region != who.region) {
        return Err(ApiError::ResourceNotFound(format!("The work item {id} was not found")));
    }
    let (item, finding_update) = update_work_item(app, &accounts, id, change).await?;
    Ok(json!({"OpsItem": to_json(&item), "FindingUpdate": finding_update}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> Input {
        match v {
            Value::Object(m) => m,
            _ => Input::new(),
        }
    }

    #[test]
    fn changes_are_parsed_as_opscenter_writes_them() {
        let c = parse_change(&input(json!({"Status": "Resolved", "Severity": "2"}))).expect("valid");
        assert_eq!((c.status, c.severity), (Some(OpsItemStatus::Resolved), Some(2)));
        let c = parse_change(&input(json!({"Severity": 4}))).expect("valid");
        assert_eq!((c.status, c.severity), (None, Some(4)));
        for bad in [json!({}), json!({"Status": "Closed"}), json!({"Severity": 5}), json!({"Severity": "0"})] {
            assert!(matches!(parse_change(&input(bad.clone())), Err(ApiError::InvalidInput(_))), "{bad}");
        }
    }

    #[test]
    fn work_item_ids_look_like_opscenter_ids() {
        let id = new_work_item_id();
        assert_eq!(id.len(), 15);
        assert!(id.starts_with("oi-") && id[3..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, new_work_item_id());
        assert_eq!(parse_token("17:oi-abc"), Some((17, "oi-abc".into())));
        assert_eq!(parse_token("x:oi"), None);
    }
}
