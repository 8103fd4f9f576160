//! Custom actions: the action-target operations (CreateActionTarget, DescribeActionTargets,
//! UpdateActionTarget, DeleteActionTarget), kept per account and Region, and findinghub's way of
//! sending findings to one (`POST /findinghub/actionTargets/send`, `findinghub actions send`),
//! which writes one `Security Hub Findings - Custom Action` event per finding to the outbox, as
//! the console's "Actions" menu makes Security Hub do.

use crate::error::{ApiError, ApiResult};
use crate::handlers::{Input, findings_by_identifiers, offset_page, require_hub, str_member};
use crate::server::{App, Principal};
use findinghub_asff::timestamp::now_micros;
use findinghub_hub::catalog::partition_of;
use findinghub_hub::events::{ActionRef, HubEvent};
use findinghub_hub::finding::{CustomerTouched, FindingIdentifier, FindingKey, StoredFinding};
use findinghub_hub::update::parse_identifiers;
use findinghub_store::Scope;
use findinghub_store::state::ActionTarget;
use serde_json::{Value, json};

/// Security Hub's quota of custom actions per account and Region.
pub const MAX_ACTION_TARGETS: usize = 50;
/// The documented limits: "up to 20 alphanumeric characters" (Id), "up to 20 characters" (Name).
const ID_MAX: usize = 20;
const NAME_MAX: usize = 20;
/// Findings sent to a custom action at once (the console's limit, and ours).
pub const MAX_SENT_FINDINGS: usize = 20;

pub fn action_target_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:{}:securityhub:{region}:{account}:action/custom/{id}", partition_of(region))
}

/// The (Region, account, Id) of an action target's ARN.
fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, _partition, service, region, account, resource] = parts[..] else { return None };
    let id = resource.strip_prefix("action/custom/")?;
    (scheme == "arn" && service == "securityhub" && valid_id(id)).then_some((region, account, id))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= ID_MAX && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn to_json(t: &ActionTarget) -> Value {
    json!({
        "ActionTargetArn": action_target_arn(&t.region, &t.account_id, &t.id),
        "Name": t.name,
        "Description": t.description,
    })
}

/// The caller's action target that an ARN names (another account's or Region's is not found).
async fn find(app: &App, who: &Principal, arn: &str) -> ApiResult<ActionTarget> {
    let not_found = || ApiError::ResourceNotFound(format!("The action target {arn} was not found"));
    let (region, account, id) = parse_arn(arn).ok_or_else(not_found)?;
    if region != who.region || account != who.account_id {
        return Err(not_found());
    }
    app.state.action_targets(account, region).await?.into_iter().find(|t| t.id == id).ok_or_else(not_found)
}

fn name_member<'a>(input: &'a Input, name: &str) -> ApiResult<&'a str> {
    let value = str_member(input, name)?;
    if name == "Name" && value.chars().count() > NAME_MAX {
        return Err(ApiError::InvalidInput(format!("Name can contain up to {NAME_MAX} characters")));
    }
    Ok(value)
}

pub async fn create(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let name = name_member(&input, "Name")?;
    let description = name_member(&input, "Description")?;
    let id = str_member(&input, "Id")?;
    if !valid_id(id) {
        return Err(ApiError::InvalidInput(format!("Id can contain up to {ID_MAX} alphanumeric characters: {id}")));
    }
    if app.state.action_targets(&who.account_id, &who.region).await?.len() >= MAX_ACTION_TARGETS {
        return Err(ApiError::LimitExceeded(format!(
            "The account has {MAX_ACTION_TARGETS} custom actions in {}, the most allowed",
            who.region
        )));
    }
    let target = ActionTarget {
        account_id: who.account_id.clone(),
        region: who.region.clone(),
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        created_at: now_micros(),
    };
    let arn = action_target_arn(&who.region, &who.account_id, id);
    if !app.state.create_action_target(target).await? {
        return Err(ApiError::ResourceConflict(format!("The action target {arn} already exists")));
    }
    Ok(json!({"ActionTargetArn": arn}))
}

pub async fn describe(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let all: Vec<Value> = app.state.action_targets(&who.account_id, &who.region).await?.iter().map(to_json).collect();
    let targets = match input.get("ActionTargetArns").and_then(Value::as_array) {
        Some(arns) if !arns.is_empty() => {
            let mut out = Vec::new();
            for arn in arns {
                let arn = arn.as_str().unwrap_or_default();
                match all.iter().find(|t| t["ActionTargetArn"] == arn) {
                    Some(t) => out.push(t.clone()),
                    // (ours) A named target that does not exist is an error, not an empty answer.
                    None => return Err(ApiError::ResourceNotFound(format!("The action target {arn} was not found"))),
                }
            }
            out
        }
        _ => all,
    };
    offset_page(targets, &input, "ActionTargets")
}

pub async fn update(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let arn = str_member(&input, "ActionTargetArn")?;
    let target = find(app, who, arn).await?;
    let name = input.contains_key("Name").then(|| name_member(&input, "Name")).transpose()?;
    let description = input.contains_key("Description").then(|| name_member(&input, "Description")).transpose()?;
    if !app.state.update_action_target(&target.account_id, &target.region, &target.id, name, description).await? {
        return Err(ApiError::ResourceNotFound(format!("The action target {arn} was not found")));
    }
    Ok(json!({}))
}

pub async fn delete(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let arn = str_member(&input, "ActionTargetArn")?;
    let target = find(app, who, arn).await?;
    if !app.state.delete_action_target(&target.account_id, &target.region, &target.id).await? {
        return Err(ApiError::ResourceNotFound(format!("The action target {arn} was not found")));
    }
    Ok(json!({"ActionTargetArn": arn}))
}

/// Sends findings to a custom action: `{ActionTargetArn, FindingIdentifiers}` (at most 20, seen
/// as GetFindings would show them to the caller). One event per finding found, all committed
/// together; the answer lists what was sent and what was not found, as BatchUpdateFindings does.
pub async fn send(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let arn = str_member(&input, "ActionTargetArn")?;
    let target = find(app, who, arn).await?;
    let identifiers = parse_identifiers(
        input.get("FindingIdentifiers").unwrap_or(&Value::Null),
        "FindingIdentifiers",
        1,
        MAX_SENT_FINDINGS,
    )
    .map_err(|e| ApiError::InvalidInput(e.0))?;
    let found = findings_by_identifiers(app, crate::handlers::scope(who), &identifiers).await?;
    let (sent, unprocessed) = send_findings(app, &target, &who.region, &identifiers, found).await?;
    Ok(json!({"ActionTargetArn": arn, "ProcessedFindings": sent, "UnprocessedFindings": unprocessed}))
}

/// Writes the events of findings sent to `target`, and says which identifiers had no finding.
async fn send_findings(
    app: &App,
    target: &ActionTarget,
    region: &str,
    identifiers: &[FindingIdentifier],
    found: Vec<serde_json::Map<String, Value>>,
) -> ApiResult<(Vec<Value>, Vec<Value>)> {
    let arn = action_target_arn(&target.region, &target.account_id, &target.id);
    let action = ActionRef {
        arn: &arn,
        account: &target.account_id,
        region: &target.region,
        name: &target.name,
        description: &target.description,
    };
    let now = now_micros();
    let mut events = Vec::new();
    let mut sent = Vec::new();
    for doc in found {
        let finding_region = doc.get("Region").and_then(Value::as_str).unwrap_or(region).to_owned();
        let Some(key) = FindingKey::of(&doc, &finding_region) else { continue };
        sent.push(json!({"Id": key.id, "ProductArn": key.product_arn}));
        let finding = StoredFinding { key, doc, touched: CustomerTouched::default() };
        events.push(HubEvent::custom_action(uuid::Uuid::new_v4().to_string(), &action, &finding, now));
    }
    let unprocessed: Vec<Value> = identifiers
        .iter()
        .filter(|i| !sent.iter().any(|s| s["Id"] == i.id.as_str() && s["ProductArn"] == i.product_arn.as_str()))
        .map(|i| json!({"FindingIdentifier": i.to_json(), "ErrorCode": "FindingNotFound", "ErrorMessage": "Finding not found"}))
        .collect();
    if !events.is_empty() {
        app.outbox.append_events(events).await?;
    }
    Ok((sent, unprocessed))
}

/// Sends findings to the action target that an ARN names, as the operator (the CLI): any
/// account's target, the findings looked up in its account and Region.
pub async fn send_as_operator(
    app: &App,
    arn: &str,
    identifiers: &[FindingIdentifier],
) -> ApiResult<(Vec<Value>, Vec<Value>)> {
    let not_found = || ApiError::ResourceNotFound(format!("The action target {arn} was not found"));
    let (region, account, id) = parse_arn(arn).ok_or_else(not_found)?;
    let target =
        app.state.action_targets(account, region).await?.into_iter().find(|t| t.id == id).ok_or_else(not_found)?;
    let scope = Scope::new(findinghub_store::AccountScope::one(&target.account_id), &target.region);
    let found = findings_by_identifiers(app, scope, identifiers).await?;
    send_findings(app, &target, region, identifiers, found).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_target_arns_round_trip_and_bad_ids_are_refused() {
        let arn = action_target_arn("us-east-1", "123456789012", "SendToSlack");
        assert_eq!(arn, "arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToSlack");
        assert_eq!(parse_arn(&arn), Some(("us-east-1", "123456789012", "SendToSlack")));
        assert!(action_target_arn("cn-north-1", "123456789012", "A").starts_with("arn:aws-cn:"));
        for bad in ["", "has space", "dash-ed", "x".repeat(21).as_str(), "é"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        assert!(valid_id(&"x".repeat(20)));
        assert_eq!(parse_arn("arn:aws:securityhub:us-east-1:1:hub/default"), None);
        assert_eq!(parse_arn("arn:aws:securityhub:us-east-1:1:action/custom/a-b"), None);
    }
}
