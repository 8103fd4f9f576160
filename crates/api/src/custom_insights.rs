//! Custom insights: CreateInsight, GetInsights, UpdateInsight, DeleteInsight and
//! GetInsightResults. An insight is a saved GetFindings filter and a field to group the matching
//! findings by; its results are the number of findings with each value of that field, largest
//! first, at most 100. Insights are kept per account and Region; an account (the administrator
//! too) sees and changes only its own, and the results count the findings that GetFindings shows
//! the caller. Security Hub's managed insights (`arn:aws:securityhub:::insight/securityhub/default/N`)
//! are not served: naming one is not found, and changing one is refused.

use crate::error::{ApiError, ApiResult};
use crate::handlers::{Input, filters_of, offset_page, require_hub, scope, str_member};
use crate::server::{App, Principal};
use findinghub_asff::timestamp::now_micros;
use findinghub_hub::catalog::partition_of;
use findinghub_hub::filter::{self, FieldKind, Filters, values_in};
use findinghub_store::FindingQuery;
use findinghub_store::state::{Insight, InsightChange};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Security Hub's quota of custom insights per account and Region.
pub const MAX_INSIGHTS: usize = 100;
/// GetInsightResults returns at most this many groups.
pub const MAX_RESULT_VALUES: usize = 100;
/// The ARN prefix of Security Hub's managed insights.
const MANAGED_PREFIX: &str = "insight/securityhub/default/";

pub fn insight_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:{}:securityhub:{region}:{account}:insight/{account}/custom/{id}", partition_of(region))
}

/// The (Region, account, id) of a custom insight's ARN.
fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, _partition, service, region, account, resource] = parts[..] else { return None };
    let rest = resource.strip_prefix("insight/")?;
    let (owner, id) = rest.split_once("/custom/")?;
    let valid = scheme == "arn" && service == "securityhub" && owner == account && uuid::Uuid::parse_str(id).is_ok();
    valid.then_some((region, account, id))
}

fn is_managed(arn: &str) -> bool {
    arn.splitn(6, ':').nth(5).is_some_and(|r| r.starts_with(MANAGED_PREFIX))
}

/// A GroupByAttribute: the name of an AwsSecurityFindingFilters field whose values are strings.
pub fn group_field(name: &str) -> ApiResult<&'static filter::FilterField> {
    match filter::field(name) {
        Some(f) if f.kind == FieldKind::String => Ok(f),
        _ => Err(ApiError::InvalidInput(format!(
            "GroupByAttribute must name a string attribute of AwsSecurityFindingFilters: {name}"
        ))),
    }
}

/// The Filters member, checked as GetFindings checks them; kept as sent.
fn filters_member(input: &Input) -> ApiResult<(Value, Filters)> {
    let parsed = filters_of(input, "Filters")?;
    match input.get("Filters") {
        Some(Value::Object(f)) => Ok((Value::Object(f.clone()), parsed)),
        _ => Err(ApiError::InvalidInput("Filters must be an AwsSecurityFindingFilters object".into())),
    }
}

fn to_json(i: &Insight) -> Value {
    json!({
        "InsightArn": insight_arn(&i.region, &i.account_id, &i.id),
        "Name": i.name,
        "Filters": i.filters,
        "GroupByAttribute": i.group_by,
    })
}

fn not_found(arn: &str) -> ApiError {
    ApiError::ResourceNotFound(format!("The insight {arn} was not found"))
}

/// The caller's insight that an ARN names (another account's or Region's is not found).
async fn find(app: &App, who: &Principal, arn: &str) -> ApiResult<Insight> {
    let (region, account, id) = parse_arn(arn).ok_or_else(|| not_found(arn))?;
    if region != who.region || account != who.account_id {
        return Err(not_found(arn));
    }
    app.state.insights(account, region).await?.into_iter().find(|i| i.id == id).ok_or_else(|| not_found(arn))
}

fn refuse_managed(arn: &str) -> ApiResult<()> {
    if is_managed(arn) {
        return Err(ApiError::AccessDenied(format!("The managed insight {arn} cannot be changed")));
    }
    Ok(())
}

/// Creates an insight for the caller; returns its ARN.
pub async fn create_insight(
    app: &App,
    who: &Principal,
    name: &str,
    filters: Value,
    group_by: &str,
) -> ApiResult<String> {
    require_hub(app, who).await?;
    let mut input = Map::new();
    input.insert("Filters".into(), filters);
    let (filters, _) = filters_member(&input)?;
    group_field(group_by)?;
    if name.trim().is_empty() {
        return Err(ApiError::InvalidInput("Name must be a non-empty string".into()));
    }
    if app.state.insights(&who.account_id, &who.region).await?.len() >= MAX_INSIGHTS {
        return Err(ApiError::LimitExceeded(format!(
            "The account has {MAX_INSIGHTS} custom insights in {}, the most allowed",
            who.region
        )));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let insight = Insight {
        account_id: who.account_id.clone(),
        region: who.region.clone(),
        id: id.clone(),
        name: name.to_owned(),
        filters,
        group_by: group_by.to_owned(),
        created_at: now_micros(),
    };
    let arn = insight_arn(&who.region, &who.account_id, &id);
    if !app.state.create_insight(insight).await? {
        return Err(ApiError::ResourceConflict(format!("The insight {arn} already exists")));
    }
    Ok(arn)
}

pub async fn create(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let name = str_member(&input, "Name")?;
    let group_by = str_member(&input, "GroupByAttribute")?;
    let filters = input
        .get("Filters")
        .cloned()
        .ok_or_else(|| ApiError::InvalidInput("Missing required parameter in input: \"Filters\"".into()))?;
    let arn = create_insight(app, who, name, filters, group_by).await?;
    Ok(json!({"InsightArn": arn}))
}

/// The caller's custom insights, oldest first.
pub async fn list(app: &App, who: &Principal) -> ApiResult<Vec<Value>> {
    require_hub(app, who).await?;
    Ok(app.state.insights(&who.account_id, &who.region).await?.iter().map(to_json).collect())
}

pub async fn get(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let all = list(app, who).await?;
    let insights = match input.get("InsightArns").and_then(Value::as_array) {
        Some(arns) if !arns.is_empty() => {
            let mut out = Vec::new();
            for arn in arns {
                let arn = arn.as_str().unwrap_or_default();
                match all.iter().find(|i| i["InsightArn"] == arn) {
                    Some(i) => out.push(i.clone()),
                    None => return Err(not_found(arn)),
                }
            }
            out
        }
        _ => all,
    };
    offset_page(insights, &input, "Insights")
}

pub async fn update(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let arn = str_member(&input, "InsightArn")?;
    refuse_managed(arn)?;
    let insight = find(app, who, arn).await?;
    let mut change = InsightChange::default();
    if input.contains_key("Name") {
        change.name = Some(str_member(&input, "Name")?.to_owned());
    }
    if input.contains_key("Filters") {
        change.filters = Some(filters_member(&input)?.0);
    }
    if input.contains_key("GroupByAttribute") {
        let group_by = str_member(&input, "GroupByAttribute")?;
        group_field(group_by)?;
        change.group_by = Some(group_by.to_owned());
    }
    if !app.state.update_insight(&insight.account_id, &insight.region, &insight.id, change).await? {
        return Err(not_found(arn));
    }
    Ok(json!({}))
}

pub async fn delete(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let arn = str_member(&input, "InsightArn")?;
    refuse_managed(arn)?;
    let insight = find(app, who, arn).await?;
    if !app.state.delete_insight(&insight.account_id, &insight.region, &insight.id).await? {
        return Err(not_found(arn));
    }
    Ok(json!({"InsightArn": arn}))
}

/// The results of an insight as the caller sees them: `(value, count)`, largest count first
/// (ties by value), at most [`MAX_RESULT_VALUES`]. A finding with several values of the field
/// (resource ids, types) counts once for each distinct value; one without a value is not counted.
pub async fn results_of(app: &App, who: &Principal, insight: &Insight) -> ApiResult<Vec<(String, u64)>> {
    let field = group_field(&insight.group_by)?;
    let mut input = Map::new();
    input.insert("Filters".into(), insight.filters.clone());
    let filters = filters_of(&input, "Filters")?;
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut token = None;
    loop {
        let page = app
            .findings
            .get_findings(FindingQuery {
                scope: scope(who),
                filters: filters.clone(),
                sort: Vec::new(),
                max_results: 100,
                next_token: token,
            })
            .await?;
        for doc in &page.findings {
            let mut seen: Vec<&str> = values_in(doc, field.path).into_iter().filter_map(Value::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for value in seen {
                *counts.entry(value.to_owned()).or_default() += 1;
            }
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut out: Vec<(String, u64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(MAX_RESULT_VALUES);
    Ok(out)
}

pub async fn results(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let arn = str_member(&input, "InsightArn")?;
    let insight = find(app, who, arn).await?;
    let values: Vec<Value> = results_of(app, who, &insight)
        .await?
        .into_iter()
        .map(|(value, count)| json!({"GroupByAttributeValue": value, "Count": count}))
        .collect();
    Ok(json!({"InsightResults": {
        "InsightArn": arn,
        "GroupByAttribute": insight.group_by,
        "ResultValues": values,
    }}))
}

/// The caller's insights with their ARNs, for the console.
pub async fn insights_of(app: &App, who: &Principal) -> ApiResult<Vec<(String, Insight)>> {
    require_hub(app, who).await?;
    let insights = app.state.insights(&who.account_id, &who.region).await?;
    Ok(insights.into_iter().map(|i| (insight_arn(&i.region, &i.account_id, &i.id), i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insight_arns_round_trip_and_others_are_refused() {
        let id = "4f7d5f38-0000-4000-8000-000000000001";
        let arn = insight_arn("us-east-1", "123456789012", id);
        assert_eq!(arn, format!("arn:aws:securityhub:us-east-1:123456789012:insight/123456789012/custom/{id}"));
        assert_eq!(parse_arn(&arn), Some(("us-east-1", "123456789012", id)));
        assert!(insight_arn("cn-north-1", "1", id).starts_with("arn:aws-cn:"));
        assert_eq!(parse_arn(&format!("arn:aws:securityhub:us-east-1:1:insight/2/custom/{id}")), None, "owner");
        assert_eq!(parse_arn("arn:aws:securityhub:us-east-1:1:insight/1/custom/not-a-uuid"), None);
        assert_eq!(parse_arn("arn:aws:securityhub:::insight/securityhub/default/1"), None);
        assert!(is_managed("arn:aws:securityhub:::insight/securityhub/default/1"));
        assert!(!is_managed(&arn));
    }

    #[test]
    fn group_by_attributes_are_string_filter_fields() {
        for ok in ["ResourceId", "ResourceType", "SeverityLabel", "AwsAccountId", "Type", "ProductName"] {
            assert!(group_field(ok).is_ok(), "{ok}");
        }
        for bad in ["Nope", "SeverityNormalized", "CreatedAt", "ResourceTags", ""] {
            assert!(matches!(group_field(bad), Err(ApiError::InvalidInput(_))), "{bad}");
        }
    }
}
