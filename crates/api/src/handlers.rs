//! The operations: each takes the caller and the operation's input (one JSON object, as
//! [`wire::input`](crate::wire::input) assembles it) and returns the output object.

use crate::error::{ApiError, ApiResult};
use crate::importer::{SentFinding, finding_id, import_findings};
use crate::operations::Operation;
use crate::server::{App, Principal};
use findinghub_asff::timestamp::{format_timestamp, now_micros, parse_timestamp};
use findinghub_hub::catalog::{self, Activation, partition_of};
use findinghub_hub::filter::{Filters, parse_filters, parse_sort};
use findinghub_hub::finding::FindingIdentifier;
use findinghub_hub::products::ProductArn;
use findinghub_hub::update::{NoteUpdate, parse_batch_update};
use findinghub_store::state::Hub;
use findinghub_store::{
    AccountScope, FindingQuery, HistoryQuery, ImportStatus, LegacyUpdate, Scope, UpdateBatch, UpdateReport,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub(crate) type Input = Map<String, Value>;

pub async fn dispatch(app: &App, who: &Principal, op: &Operation, input: Input) -> ApiResult<Value> {
    match op.name {
        "EnableSecurityHub" => enable_hub(app, who, input).await,
        "DescribeHub" => describe_hub(app, who).await,
        "UpdateSecurityHubConfiguration" => update_hub(app, who, input).await,
        "DisableSecurityHub" => disable_hub(app, who).await,
        "BatchImportFindings" => batch_import(app, who, findings_member(input)?).await,
        "GetFindings" => get_findings(app, who, input).await,
        "BatchUpdateFindings" => batch_update(app, who, input).await,
        "UpdateFindings" => update_findings(app, who, input).await,
        "GetFindingHistory" => finding_history(app, who, input).await,
        "DescribeProducts" => describe_products(app, who, input).await,
        "EnableImportFindingsForProduct" => enable_product(app, who, input).await,
        "DisableImportFindingsForProduct" => disable_product(app, who, input).await,
        "ListEnabledProductsForImport" => list_enabled_products(app, who, input).await,
        "TagResource" => tag_resource(app, who, input).await,
        "UntagResource" => untag_resource(app, who, input).await,
        "ListTagsForResource" => list_tags(app, who, input).await,
        "CreateActionTarget" => crate::actions::create(app, who, input).await,
        "DescribeActionTargets" => crate::actions::describe(app, who, input).await,
        "UpdateActionTarget" => crate::actions::update(app, who, input).await,
        "DeleteActionTarget" => crate::actions::delete(app, who, input).await,
        "CreateInsight" => crate::custom_insights::create(app, who, input).await,
        "GetInsights" => crate::custom_insights::get(app, who, input).await,
        "UpdateInsight" => crate::custom_insights::update(app, who, input).await,
        "DeleteInsight" => crate::custom_insights::delete(app, who, input).await,
        "GetInsightResults" => crate::custom_insights::results(app, who, input).await,
        other => Err(ApiError::NotSupported(other)),
    }
}

fn hub_arn(who: &Principal) -> String {
    format!("arn:{}:securityhub:{}:{}:hub/default", partition_of(&who.region), who.region, who.account_id)
}

pub(crate) fn str_member<'a>(input: &'a Input, name: &str) -> ApiResult<&'a str> {
    match input.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(ApiError::InvalidInput(format!("{name} must be a non-empty string"))),
        None => Err(ApiError::InvalidInput(format!("Missing required parameter in input: \"{name}\""))),
    }
}

pub(crate) fn max_results(input: &Input, default: usize) -> ApiResult<usize> {
    match input.get("MaxResults") {
        None => Ok(default),
        Some(v) => match v.as_i64() {
            Some(n @ 1..=100) => Ok(n as usize),
            _ => Err(ApiError::InvalidInput("MaxResults must be between 1 and 100".into())),
        },
    }
}

pub(crate) fn next_token(input: &Input) -> Option<String> {
    input.get("NextToken").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// One page of a small list kept whole in memory (action targets, insights): `{member: [...]}`,
/// with the offset of the next page as its NextToken.
pub(crate) fn offset_page(items: Vec<Value>, input: &Input, member: &str) -> ApiResult<Value> {
    let start = match next_token(input) {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| ApiError::InvalidInput("The NextToken is not valid".into()))?,
    };
    let max = max_results(input, 100)?;
    let total = items.len();
    let mut out = json!({ (member): items.into_iter().skip(start).take(max).collect::<Vec<_>>() });
    if start + max < total {
        out["NextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}

/// Finding operations need the caller's hub enabled, as on AWS.
pub(crate) async fn require_hub(app: &App, who: &Principal) -> ApiResult<()> {
    match app.state.hub(&who.account_id, &who.region).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::hub_not_enabled(&who.account_id)),
    }
}

/// The accounts whose findings a caller sees: its own, or every one for the administrator.
pub fn scope(who: &Principal) -> Scope {
    let accounts = if who.admin { AccountScope::All } else { AccountScope::one(&who.account_id) };
    Scope::new(accounts, &who.region)
}

async fn enable_hub(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let generator = input.get("ControlFindingGenerator").and_then(Value::as_str).unwrap_or("SECURITY_CONTROL");
    if !matches!(generator, "STANDARD_CONTROL" | "SECURITY_CONTROL") {
        return Err(ApiError::InvalidInput(
            "ControlFindingGenerator must be STANDARD_CONTROL or SECURITY_CONTROL".into(),
        ));
    }
    let hub = Hub {
        account_id: who.account_id.clone(),
        region: who.region.clone(),
        subscribed_at: now_micros(),
        auto_enable_controls: true,
        control_finding_generator: generator.to_owned(),
    };
    if !app.state.enable_hub(hub).await? {
        return Err(ApiError::ResourceConflict("Account is already subscribed to Security Hub".into()));
    }
    // AWS's sending integrations are on from the start, except those that need acceptance.
    for product in catalog::automatic_subscriptions(partition_of(&who.region), &who.region) {
        app.state.subscribe(&who.account_id, &who.region, &product).await?;
    }
    if let Some(Value::Object(tags)) = input.get("Tags") {
        app.state.tag(&hub_arn(who), string_map(tags)?).await?;
    }
    Ok(json!({}))
}

async fn describe_hub(app: &App, who: &Principal) -> ApiResult<Value> {
    let Some(hub) = app.state.hub(&who.account_id, &who.region).await? else {
        return Err(ApiError::hub_not_enabled(&who.account_id));
    };
    Ok(json!({
        "HubArn": hub_arn(who),
        "SubscribedAt": format_timestamp(hub.subscribed_at),
        "AutoEnableControls": hub.auto_enable_controls,
        "ControlFindingGenerator": hub.control_finding_generator,
    }))
}

async fn update_hub(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let Some(mut hub) = app.state.hub(&who.account_id, &who.region).await? else {
        return Err(ApiError::hub_not_enabled(&who.account_id));
    };
    if let Some(v) = input.get("AutoEnableControls") {
        hub.auto_enable_controls =
            v.as_bool().ok_or_else(|| ApiError::InvalidInput("AutoEnableControls must be a boolean".into()))?;
    }
    if let Some(v) = input.get("ControlFindingGenerator") {
        match v.as_str() {
            Some(g @ ("STANDARD_CONTROL" | "SECURITY_CONTROL")) => hub.control_finding_generator = g.to_owned(),
            _ => {
                return Err(ApiError::InvalidInput(
                    "ControlFindingGenerator must be STANDARD_CONTROL or SECURITY_CONTROL".into(),
                ));
            }
        }
    }
    app.state.update_hub(hub).await?;
    Ok(json!({}))
}

async fn disable_hub(app: &App, who: &Principal) -> ApiResult<Value> {
    if !app.state.disable_hub(&who.account_id, &who.region).await? {
        return Err(ApiError::hub_not_enabled(&who.account_id));
    }
    Ok(json!({}))
}

/// Whether the caller may import findings of this product: its own products always (an
/// administrator's: every account's own products), Security Hub's own control findings, and any
/// other product while the account is subscribed to it (AWS's integrations are subscribed when
/// the hub is enabled).
async fn may_import(app: &App, who: &Principal, arn: &ProductArn<'_>, raw: &str) -> ApiResult<bool> {
    if arn.is_account_owned() {
        if arn.account != who.account_id && !who.admin {
            return Ok(false);
        }
        // The default product always; a registered one while its account has it enabled.
        return if arn.product == "default" {
            Ok(true)
        } else {
            is_subscribed(app, arn.account, &who.region, arn, raw).await
        };
    }
    if arn.is_security_hub_controls() {
        return Ok(true);
    }
    is_subscribed(app, &who.account_id, &who.region, arn, raw).await
}

/// Whether an account's hub in a Region imports a product's findings. The product is the same
/// whatever Region its ARN names (a finding may name another Region's ARN; it is stored under the
/// hub's Region).
pub async fn is_subscribed(
    app: &App,
    account_id: &str,
    region: &str,
    arn: &ProductArn<'_>,
    raw: &str,
) -> ApiResult<bool> {
    Ok(subscribes(&app.state.subscriptions(account_id, region).await?, arn, raw))
}

/// Whether a list of subscriptions (product ARNs) holds a product, whichever Region they name.
pub fn subscribes(subscriptions: &[String], arn: &ProductArn<'_>, raw: &str) -> bool {
    subscriptions.iter().any(|s| {
        s == raw
            || ProductArn::parse(s).is_some_and(|p| {
                (p.partition, p.account, p.company, p.product) == (arn.partition, arn.account, arn.company, arn.product)
            })
    })
}

/// BatchImportFindings' findings from its generic input: the path of a body that
/// [`crate::wire::array_member_elements`] could not split (it splits every JSON object with a
/// `Findings` array), so that a malformed one gets the generic path's error.
fn findings_member(mut input: Input) -> ApiResult<Vec<SentFinding>> {
    match input.remove("Findings") {
        Some(Value::Array(findings)) => Ok(findings.into_iter().map(SentFinding::from).collect()),
        _ => Err(ApiError::InvalidInput("Missing required parameter in input: \"Findings\"".into())),
    }
}

pub(crate) async fn batch_import(app: &App, who: &Principal, findings: Vec<SentFinding>) -> ApiResult<Value> {
    require_hub(app, who).await?;
    if findings.is_empty() || findings.len() > 100 {
        return Err(ApiError::InvalidInput("Findings must contain between 1 and 100 findings".into()));
    }
    // Request-level checks first: a finding of another account, or of a product the caller may
    // not import, refuses the whole call, as AWS does.
    for SentFinding { doc: f, .. } in &findings {
        if let Some(account) = f.get("AwsAccountId").and_then(Value::as_str)
            && account != who.account_id
            && !who.admin
        {
            return Err(ApiError::AccessDenied(format!(
                "User: {} is not authorized to perform: securityhub:BatchImportFindings for account {account}",
                who.arn()
            )));
        }
        if let Some(raw) = f.get("ProductArn").and_then(Value::as_str) {
            let Some(arn) = ProductArn::parse(raw) else {
                return Err(ApiError::InvalidInput(format!("Invalid ProductArn: {raw}")));
            };
            if !may_import(app, who, &arn, raw).await? {
                return Err(ApiError::AccessDenied(format!(
                    "User: {} is not authorized to perform: securityhub:BatchImportFindings on resource: {raw}",
                    who.arn()
                )));
            }
        }
    }
    let ids: Vec<String> = findings.iter().map(|f| finding_id(&f.doc)).collect();
    let outcomes = import_findings(app.findings.as_ref(), Some(&app.metrics), &who.region, findings).await?;
    let mut failed = Vec::new();
    let mut success = 0;
    for (id, outcome) in ids.into_iter().zip(outcomes) {
        match outcome {
            ImportStatus::Failed { code, message } => {
                failed.push(json!({"Id": id, "ErrorCode": code, "ErrorMessage": message}))
            }
            _ => success += 1,
        }
    }
    Ok(json!({"FailedCount": failed.len(), "SuccessCount": success, "FailedFindings": failed}))
}

pub(crate) fn filters_of(input: &Input, member: &str) -> ApiResult<Filters> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(Filters::default()),
        Some(v) => parse_filters(v, now_micros()).map_err(|e| ApiError::InvalidInput(e.to_string())),
    }
}

async fn get_findings(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let filters = filters_of(&input, "Filters")?;
    let sort = match input.get("SortCriteria") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parse_sort(v).map_err(|e| ApiError::InvalidInput(e.to_string()))?,
    };
    let page = app
        .findings
        .get_findings(FindingQuery {
            scope: scope(who),
            filters,
            sort,
            max_results: max_results(&input, 100)?,
            next_token: next_token(&input),
        })
        .await?;
    let mut out = json!({"Findings": page.findings});
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

async fn batch_update(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let report = run_batch_update(app, scope(who), who.arn(), &Value::Object(input)).await?;
    Ok(update_report(&report))
}

/// BatchUpdateFindings: the request checked and applied within `scope`, history naming
/// `identity`. Every customer update goes through here (OpsCenter work items too).
pub(crate) async fn run_batch_update(
    app: &App,
    scope: Scope,
    identity: String,
    input: &Value,
) -> ApiResult<UpdateReport> {
    let request = parse_batch_update(input).map_err(|e| ApiError::InvalidInput(e.0))?;
    Ok(app.findings.batch_update(UpdateBatch { scope, now: now_micros(), identity, request }).await?)
}

/// BatchUpdateFindings' answer.
pub(crate) fn update_report(report: &UpdateReport) -> Value {
    let processed: Vec<Value> = report.processed.iter().map(FindingIdentifier::to_json).collect();
    let unprocessed: Vec<Value> = report
        .unprocessed
        .iter()
        .map(|(id, reason)| {
            json!({"FindingIdentifier": id.to_json(), "ErrorCode": reason.code(), "ErrorMessage": reason.message()})
        })
        .collect();
    json!({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})
}

async fn update_findings(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    if !input.contains_key("Filters") {
        return Err(ApiError::InvalidInput("Missing required parameter in input: \"Filters\"".into()));
    }
    let filters = filters_of(&input, "Filters")?;
    let note =
        match input.get("Note") {
            None => None,
            Some(n) => Some(NoteUpdate {
                text: n.get("Text").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                    ApiError::InvalidInput("Missing required parameter in input: \"Note.Text\"".into())
                })?,
                updated_by: n.get("UpdatedBy").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                    ApiError::InvalidInput("Missing required parameter in input: \"Note.UpdatedBy\"".into())
                })?,
            }),
        };
    let record_state = match input.get("RecordState") {
        None => None,
        Some(Value::String(s)) if s == "ACTIVE" || s == "ARCHIVED" => Some(s.clone()),
        Some(_) => return Err(ApiError::InvalidInput("RecordState must be ACTIVE or ARCHIVED".into())),
    };
    app.findings
        .legacy_update(LegacyUpdate { scope: scope(who), now: now_micros(), filters, note, record_state })
        .await?;
    Ok(json!({}))
}

fn time_member(input: &Input, name: &str) -> ApiResult<Option<i64>> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_timestamp(s)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidInput(format!("{name} must be an ISO 8601 timestamp"))),
        // Some clients send epoch seconds.
        Some(Value::Number(n)) => Ok(n.as_f64().map(|s| (s * 1_000_000.0) as i64)),
        Some(_) => Err(ApiError::InvalidInput(format!("{name} must be a timestamp"))),
    }
}

async fn finding_history(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let Some(ident) = input.get("FindingIdentifier") else {
        return Err(ApiError::InvalidInput("Missing required parameter in input: \"FindingIdentifier\"".into()));
    };
    let identifier = FindingIdentifier {
        id: ident.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        product_arn: ident.get("ProductArn").and_then(Value::as_str).unwrap_or_default().to_owned(),
    };
    if identifier.id.is_empty() || identifier.product_arn.is_empty() {
        return Err(ApiError::InvalidInput("FindingIdentifier needs Id and ProductArn".into()));
    }
    let page = app
        .findings
        .finding_history(HistoryQuery {
            scope: scope(who),
            identifier,
            start: time_member(&input, "StartTime")?,
            end: time_member(&input, "EndTime")?,
            max_results: max_results(&input, 100)?,
            next_token: next_token(&input),
        })
        .await?;
    let records: Vec<Value> = page
        .records
        .iter()
        .map(|r| {
            let updates: Vec<Value> = r
                .entry
                .updates
                .iter()
                .map(|u| json!({"UpdatedField": u.field, "OldValue": u.old_value, "NewValue": u.new_value}))
                .collect();
            json!({
                "FindingIdentifier": r.identifier.to_json(),
                "UpdateTime": format_timestamp(r.entry.update_time),
                "FindingCreated": r.entry.finding_created,
                "UpdateSource": {"Type": r.entry.source.as_str(), "Identity": r.entry.identity},
                "Updates": updates,
            })
        })
        .collect();
    let mut out = json!({"Records": records});
    if let Some(t) = page.next_token {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

/// The catalog as the caller's Region sees it: the integrations offered there, the caller's own
/// default product and the products it registered.
async fn catalog(app: &App, who: &Principal) -> ApiResult<Vec<Value>> {
    let partition = partition_of(&who.region);
    let mut products: Vec<Value> = catalog::products()
        .iter()
        .filter(|p| p.available_in(partition))
        .map(|p| {
            json!({
                "ProductArn": p.arn(partition, &who.region),
                "ProductName": p.name,
                "CompanyName": p.company,
                "Description": p.description,
                "Categories": p.categories,
                "IntegrationTypes": p.integration_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    products.push(json!({
        "ProductArn": format!(
            "arn:{partition}:securityhub:{}:{}:product/{}/default",
            who.region, who.account_id, who.account_id
        ),
        "ProductName": "Default",
        "CompanyName": "Personal",
        "Description": "Findings that the account's own tools import.",
        "Categories": [],
        "IntegrationTypes": ["SEND_FINDINGS_TO_SECURITY_HUB"],
    }));
    for p in app.state.products(Some(&who.account_id)).await? {
        products.push(json!({
            "ProductArn": format!(
                "arn:{partition}:securityhub:{}:{}:product/{}/{}",
                who.region, p.account_id, p.account_id, p.product_id
            ),
            "ProductName": p.name,
            "CompanyName": p.company,
            "Description": p.description,
            "Categories": [],
            "IntegrationTypes": ["SEND_FINDINGS_TO_SECURITY_HUB"],
        }));
    }
    Ok(products)
}

/// Pages over a fixed list with an opaque offset token.
pub(crate) fn page_of(items: Vec<Value>, input: &Input, key: &str) -> ApiResult<Value> {
    let start = match next_token(input) {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| ApiError::InvalidInput("The NextToken is not valid".into()))?,
    };
    let max = max_results(input, 100)?;
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let mut out = json!({ key: page });
    if start + max < total {
        out["NextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}

async fn describe_products(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let mut products = catalog(app, who).await?;
    if let Some(arn) = input.get("ProductArn").and_then(Value::as_str) {
        products.retain(|p| p["ProductArn"] == json!(arn));
    }
    page_of(products, &input, "Products")
}

fn subscription_arn(who: &Principal, product: &ProductArn<'_>) -> String {
    format!(
        "arn:{}:securityhub:{}:{}:product-subscription/{}/{}",
        product.partition, who.region, who.account_id, product.company, product.product
    )
}

async fn enable_product(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let raw = str_member(&input, "ProductArn")?;
    let arn = ProductArn::parse(raw).ok_or_else(|| ApiError::InvalidInput(format!("Invalid ProductArn: {raw}")))?;
    if arn.region != who.region || arn.partition != partition_of(&who.region) {
        return Err(ApiError::InvalidInput(format!("The product {raw} is not in the Region {}", who.region)));
    }
    // The catalog's products (AWS's and partners'), or the account's own that exist.
    if arn.is_account_owned() {
        let own = arn.account == who.account_id || who.admin;
        let exists = arn.product == "default"
            || app.state.products(Some(arn.account)).await?.iter().any(|p| p.product_id == arn.product);
        if !(own && exists) {
            return Err(ApiError::ResourceNotFound(format!("The product {raw} is not available")));
        }
    } else {
        match catalog::find_arn(&arn) {
            None => return Err(ApiError::ResourceNotFound(format!("The product {raw} is not available"))),
            Some(p) if p.activation == Activation::Receiver => {
                return Err(ApiError::InvalidInput(format!("The product {raw} does not send findings")));
            }
            Some(_) => {}
        }
    }
    if !app.state.subscribe(&who.account_id, &who.region, raw).await? {
        return Err(ApiError::ResourceConflict(format!("The product {raw} is already enabled")));
    }
    Ok(json!({"ProductSubscriptionArn": subscription_arn(who, &arn)}))
}

async fn disable_product(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let raw = str_member(&input, "ProductSubscriptionArn")?;
    for product in app.state.subscriptions(&who.account_id, &who.region).await? {
        if let Some(arn) = ProductArn::parse(&product)
            && subscription_arn(who, &arn) == raw
        {
            app.state.unsubscribe(&who.account_id, &who.region, &product).await?;
            return Ok(json!({}));
        }
    }
    Err(ApiError::ResourceNotFound(format!("The product subscription {raw} was not found")))
}

async fn list_enabled_products(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    require_hub(app, who).await?;
    let subscriptions: Vec<Value> = app
        .state
        .subscriptions(&who.account_id, &who.region)
        .await?
        .iter()
        .filter_map(|p| ProductArn::parse(p).map(|arn| json!(subscription_arn(who, &arn))))
        .collect();
    page_of(subscriptions, &input, "ProductSubscriptions")
}

fn string_map(m: &Map<String, Value>) -> ApiResult<BTreeMap<String, String>> {
    m.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_owned())),
            None => Err(ApiError::InvalidInput("Tags must map strings to strings".into())),
        })
        .collect()
}

/// The taggable resource that a request names: it must exist, and belong to the caller's account
/// (or the caller administers every account). Hubs are the taggable resources served so far.
async fn resource_arn(app: &App, who: &Principal, input: &Input) -> ApiResult<String> {
    let arn = str_member(input, "ResourceArn")?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, _partition, service, region, account, resource] = parts[..] else {
        return Err(ApiError::InvalidInput(format!("Invalid ResourceArn: {arn}")));
    };
    if scheme != "arn" || service != "securityhub" {
        return Err(ApiError::InvalidInput(format!("Invalid ResourceArn: {arn}")));
    }
    if account != who.account_id && !who.admin {
        return Err(ApiError::AccessDenied(format!(
            "User: {} is not authorized to access the resource {arn}",
            who.arn()
        )));
    }
    let exists = resource == "hub/default" && app.state.hub(account, region).await?.is_some();
    if !exists {
        return Err(ApiError::ResourceNotFound(format!("The resource {arn} was not found")));
    }
    Ok(arn.to_owned())
}

async fn tag_resource(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let arn = resource_arn(app, who, &input).await?;
    let Some(Value::Object(tags)) = input.get("Tags") else {
        return Err(ApiError::InvalidInput("Missing required parameter in input: \"Tags\"".into()));
    };
    let tags = string_map(tags)?;
    if tags.is_empty() || tags.len() > 50 {
        return Err(ApiError::InvalidInput("Tags must hold between 1 and 50 tags".into()));
    }
    app.state.tag(&arn, tags).await?;
    Ok(json!({}))
}

async fn untag_resource(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let arn = resource_arn(app, who, &input).await?;
    let keys: Vec<String> = input
        .get("TagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if keys.is_empty() {
        return Err(ApiError::InvalidInput("Missing required parameter in input: \"TagKeys\"".into()));
    }
    app.state.untag(&arn, &keys).await?;
    Ok(json!({}))
}

async fn list_tags(app: &App, who: &Principal, input: Input) -> ApiResult<Value> {
    let arn = resource_arn(app, who, &input).await?;
    Ok(json!({"Tags": app.state.tags(&arn).await?}))
}

/// The findings that these identifiers name within `scope`, in the identifiers' order (those
/// not found are left out). One GetFindings query, as the caller could make it.
pub(crate) async fn findings_by_identifiers(
    app: &App,
    scope: Scope,
    identifiers: &[FindingIdentifier],
) -> ApiResult<Vec<Map<String, Value>>> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let equals = |v: &str| json!({"Value": v, "Comparison": "EQUALS"});
    let filters = json!({
        "Id": identifiers.iter().map(|i| equals(&i.id)).collect::<Vec<_>>(),
        "ProductArn": identifiers.iter().map(|i| equals(&i.product_arn)).collect::<Vec<_>>(),
    });
    let filters = parse_filters(&filters, now_micros()).map_err(|e| ApiError::InvalidInput(e.to_string()))?;
    let page = app
        .findings
        .get_findings(FindingQuery {
            scope,
            filters,
            sort: Vec::new(),
            max_results: identifiers.len().clamp(1, 100),
            next_token: None,
        })
        .await?;
    let same = |f: &Map<String, Value>, i: &FindingIdentifier| {
        f.get("Id").and_then(Value::as_str) == Some(i.id.as_str())
            && f.get("ProductArn").and_then(Value::as_str) == Some(i.product_arn.as_str())
    };
    Ok(identifiers.iter().filter_map(|i| page.findings.iter().find(|f| same(f, i)).cloned()).collect())
}
