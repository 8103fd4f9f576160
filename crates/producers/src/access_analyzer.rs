//! IAM Access Analyzer findings → the ASFF findings Security Hub makes of them
//! (`producers.md` §7).
//!
//! Inputs: the EventBridge events (`source` `aws.access-analyzer`, `detail-type` `Access Analyzer
//! Finding` for external access, `Unused Access Finding for IAM entities` for unused access;
//! `resources[0]` is the analyzer ARN), or a ListFindings / ListFindingsV2 output
//! (`{"analyzerArn": …, "findings": […]}`: the API returns findings without the analyzer, so the
//! file must name it next to them) or a GetFinding output (`{"analyzerArn": …, "finding": {…}}`).
//!
//! External access (DOC): one Security Hub finding per resource, Id `<analyzer ARN>/<resource
//! ARN>`, public access → `Effects/Data Exposure/External Access Granted` (MEDIUM, Product 40),
//! cross-account → `Software and Configuration Checks/AWS Security Best Practices/External Access
//! Granted` (LOW, Product 1). Unused access: one finding per IAM entity and finding type, Id
//! `<analyzer ARN>/<resource ARN>/<suffix>`. RESOLVED and ARCHIVED findings (and deleted ones) are
//! ARCHIVED. For an organization analyzer the finding belongs to the analyzer's (administrator's)
//! account and `ProductFields.ResourceOwnerAccount` names the resource's owner.

use crate::common::{FindingBase, resource_type_from_cfn};
use crate::read::{
    Obj, arn_account, arn_partition, arn_region, console_host, envelope_str, eventbridge_detail, is_from_source,
    opt_str, put_str, scalar_string, url_encode,
};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};

const SOURCE: &str = "aws.access-analyzer";
const EXTERNAL: &str = "Access Analyzer Finding";
const UNUSED: &str = "Unused Access Finding for IAM entities";
const INTERNAL: &str = "Internal Access Finding";
const PRODUCT_KEY: &str = "access-analyzer";
const P: Producer = Producer::AccessAnalyzer;

/// The GeneratorId of every Access Analyzer finding (DOC).
pub const GENERATOR_ID: &str = "aws/access-analyzer";

/// The remediation text of external-access findings (DOC).
pub const EXTERNAL_REMEDIATION: &str = "If the access isn't intended, it indicates a potential security risk. Use the console for the resource to modify or remove the policy that grants the unintended access. You can use the Rescan button on the Finding details page in the Access Analyzer console to confirm whether the change removed the access. If the access is removed, the status changes to Resolved.";

/// The remediation text of unused-permission findings (DOC).
pub const UNUSED_PERMISSION_REMEDIATION: &str = "If the unused permissions aren’t required, delete the permissions to refine access to your account. Use the IAM console to modify or remove the policy that grants the unused permissions. If all the unused permissions are removed, the status of the finding changes to Resolved.";

/// Public access (DOC type and title).
pub const PUBLIC_TYPE: &str = "Effects/Data Exposure/External Access Granted";
/// Cross-account access (DOC type and title).
pub const CROSS_ACCOUNT_TYPE: &str =
    "Software and Configuration Checks/AWS Security Best Practices/External Access Granted";

/// How one kind of unused-access finding is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnusedKind {
    pub finding_type: &'static str,
    pub asff_type: &'static str,
    /// What the title says the entity contains.
    pub phrase: &'static str,
    /// The last part of the Id.
    pub id_suffix: &'static str,
    pub severity: &'static str,
}

/// The unused-access finding types. Types from the documentation's table; title, Id suffix and
/// severity of UnusedPermission from its documented example, of UnusedIAMRole from an observed
/// finding (lower-case `iam role`, suffix `UnusedIAMRole`, MEDIUM), of the two user credentials by
/// analogy with the role (INF).
pub const UNUSED_KINDS: [UnusedKind; 4] = [
    UnusedKind {
        finding_type: "UnusedPermission",
        asff_type: "Software and Configuration Checks/AWS Security Best Practices/Unused Permission",
        phrase: "unused permissions",
        id_suffix: "UnusedPermissions",
        severity: "LOW",
    },
    UnusedKind {
        finding_type: "UnusedIAMRole",
        asff_type: "Software and Configuration Checks/AWS Security Best Practices/Unused IAM Role",
        phrase: "unused iam role",
        id_suffix: "UnusedIAMRole",
        severity: "MEDIUM",
    },
    UnusedKind {
        finding_type: "UnusedIAMUserPassword",
        asff_type: "Software and Configuration Checks/AWS Security Best Practices/Unused IAM User Password",
        phrase: "unused iam user password",
        id_suffix: "UnusedIAMUserPassword",
        severity: "MEDIUM",
    },
    UnusedKind {
        finding_type: "UnusedIAMUserAccessKey",
        asff_type: "Software and Configuration Checks/AWS Security Best Practices/Unused IAM User Access Key",
        phrase: "unused iam user access key",
        id_suffix: "UnusedIAMUserAccessKey",
        severity: "MEDIUM",
    },
];

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    eventbridge_detail(event, SOURCE, &[EXTERNAL, UNUSED, INTERNAL]).is_some() || api_items(event).is_some()
}

/// An Access Analyzer finding as the API returns it: a resource type and an analysis time
/// (`analyzedAt` is Access Analyzer's own).
fn is_item(value: &Value) -> bool {
    value.get("analyzedAt").is_some()
        && value.get("resourceType").is_some_and(Value::is_string)
        && value.get("findingArn").is_none()
        && value.get("checkName").is_none()
}

/// The findings of a ListFindings(V2) or GetFinding(V2) output, with the path that names them.
fn api_items(event: &Value) -> Option<Vec<(String, &Value)>> {
    if event.get("source").is_some() {
        return None;
    }
    match (event.get("findings"), event.get("finding")) {
        (Some(Value::Array(items)), _) if items.first().is_some_and(is_item) => {
            Some(items.iter().enumerate().map(|(i, v)| (format!("findings[{i}]"), v)).collect())
        }
        (_, Some(item)) if is_item(item) => Some(vec![("finding".to_owned(), item)]),
        _ => None,
    }
}

/// What every finding of one input shares: the analyzer and the account it runs in.
struct Analyzer<'a> {
    arn: &'a str,
    /// The account that owns the analyzer (for an organization analyzer, the administrator's).
    account: Option<&'a str>,
    region: Option<&'a str>,
    /// The input says the analyzer is an organization analyzer.
    organization: bool,
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    crate::read::validated(P, convert_unchecked(event, options))
}

fn convert_unchecked(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if is_from_source(event, SOURCE) {
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        if detail_type == INTERNAL {
            return Ok(Conversion::NoFinding(
                "IAM Access Analyzer sends external-access and unused-access findings to Security Hub; \
                 internal-access findings are not among them"
                    .to_owned(),
            ));
        }
        let Some(detail) = eventbridge_detail(event, SOURCE, &[EXTERNAL, UNUSED]) else {
            return Ok(Conversion::NoFinding(format!(
                "IAM Access Analyzer sends only findings to Security Hub; detail-type \"{detail_type}\" is not a finding"
            )));
        };
        if !detail.is_object() {
            return Err(ConvertError::new(P, "detail must be an object (the Access Analyzer finding)"));
        }
        let arn = event
            .get("resources")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .and_then(Value::as_str)
            .filter(|a| a.contains(":access-analyzer:"))
            .ok_or_else(|| {
                ConvertError::new(P, "resources[0] (the analyzer ARN) is missing or is not an analyzer ARN")
            })?;
        let analyzer = Analyzer {
            arn,
            account: arn_account(arn).or_else(|| envelope_str(event, "account")),
            region: envelope_str(event, "region").or_else(|| arn_region(arn)),
            organization: false,
        };
        let unused = detail_type == UNUSED;
        let result = if unused || is_unused_type(detail) {
            unused_finding(detail, "detail", &analyzer, options)?
        } else {
            external_finding(&[("detail".to_owned(), detail)], &analyzer, options)?
        };
        return Ok(match result {
            Ok(f) => Conversion::Findings(vec![f]),
            Err(reason) => Conversion::NoFinding(reason),
        });
    }
    if let Some(items) = api_items(event) {
        let arn = opt_str(event, "analyzerArn")
            .or_else(|| event.get("analyzer").and_then(|a| opt_str(a, "arn")))
            .ok_or_else(|| {
                ConvertError::new(
                    P,
                    "analyzerArn is missing: Access Analyzer's ListFindings/GetFinding outputs do not name the \
                     analyzer, add \"analyzerArn\" (the ARN passed to the call) next to the findings",
                )
            })?;
        let declared_type = opt_str(event, "analyzerType")
            .or_else(|| event.get("analyzer").and_then(|a| opt_str(a, "type")))
            .unwrap_or_default();
        let analyzer = Analyzer {
            arn,
            account: arn_account(arn),
            region: arn_region(arn),
            organization: declared_type.contains("ORGANIZATION"),
        };
        return convert_items(&items, &analyzer, options);
    }
    Err(ConvertError::new(
        P,
        "not an IAM Access Analyzer finding: expected an EventBridge event (source aws.access-analyzer, \
         detail-type \"Access Analyzer Finding\" or \"Unused Access Finding for IAM entities\") or a \
         ListFindings/GetFinding output with analyzerArn",
    ))
}

fn is_unused_type(item: &Value) -> bool {
    opt_str(item, "findingType").is_some_and(|t| t.starts_with("Unused"))
}

/// API items: unused-access findings one by one, external-access findings grouped by resource
/// (Security Hub keeps one finding per resource, DOC).
fn convert_items(
    items: &[(String, &Value)],
    analyzer: &Analyzer<'_>,
    options: &ConvertOptions,
) -> Result<Conversion, ConvertError> {
    let mut findings = Vec::new();
    let mut reasons = Vec::new();
    let mut groups: Vec<(String, Vec<(String, &Value)>)> = Vec::new();
    for (path, item) in items {
        if !is_item(item) {
            return Err(ConvertError::new(
                P,
                format!("{path} is not an Access Analyzer finding (it needs resourceType and analyzedAt)"),
            ));
        }
        match opt_str(item, "findingType") {
            Some("InternalAccess") => {
                reasons.push(format!("{path}: internal-access findings are not sent to Security Hub"))
            }
            Some(t) if t.starts_with("Unused") => match unused_finding(item, path, analyzer, options)? {
                Ok(f) => findings.push(f),
                Err(reason) => reasons.push(format!("{path}: {reason}")),
            },
            _ => {
                let resource = Obj::new(item, path, P).req_str("resource")?.to_owned();
                match groups.iter_mut().find(|(r, _)| *r == resource) {
                    Some((_, members)) => members.push((path.clone(), item)),
                    None => groups.push((resource, vec![(path.clone(), item)])),
                }
            }
        }
    }
    for (_, members) in groups {
        match external_finding(&members, analyzer, options)? {
            Ok(f) => findings.push(f),
            Err(reason) => reasons.push(reason),
        }
    }
    Ok(if findings.is_empty() { Conversion::NoFinding(reasons.join("; ")) } else { Conversion::Findings(findings) })
}

fn is_active(item: &Value) -> bool {
    opt_str(item, "status").unwrap_or("ACTIVE") == "ACTIVE"
        && item.get("isDeleted").and_then(Value::as_bool) != Some(true)
        && item.get("error").is_none_or(Value::is_null)
}

fn error_of(item: &Value) -> Option<String> {
    item.get("error").filter(|e| !e.is_null()).map(|e| scalar_string(e).unwrap_or_else(|| e.to_string()))
}

/// The account, Region and partition of a finding of `analyzer`, and whether the analyzer is an
/// organization analyzer (declared so, or the resource's owner is another account).
struct Placement<'a> {
    account: &'a str,
    owner: &'a str,
    region: &'a str,
    partition: &'a str,
    organization: bool,
}

fn placement<'a>(
    d: &Obj<'a>,
    analyzer: &Analyzer<'a>,
    options: &'a ConvertOptions,
) -> Result<Placement<'a>, ConvertError> {
    let owner = d.opt_str("accountId").or_else(|| d.opt_str("resourceOwnerAccount"));
    let account =
        analyzer.account.or(owner).or(options.default_account.as_deref()).ok_or_else(|| {
            d.error(format!("{} is missing and the analyzer ARN names no account", d.field("accountId")))
        })?;
    let owner = owner.unwrap_or(account);
    let region = d
        .opt_str("region")
        .or(analyzer.region)
        .or(options.default_region.as_deref())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("region"))))?;
    let partition = arn_partition(analyzer.arn).unwrap_or_else(|| crate::common::partition_of(region));
    Ok(Placement { account, owner, region, partition, organization: analyzer.organization || owner != account })
}

/// The external-access finding of one resource, from its Access Analyzer findings (one for an
/// event; all of the resource's in an API output).
fn external_finding(
    members: &[(String, &Value)],
    analyzer: &Analyzer<'_>,
    options: &ConvertOptions,
) -> Result<Result<Map<String, Value>, String>, ConvertError> {
    let usable: Vec<&(String, &Value)> = members.iter().filter(|(_, v)| error_of(v).is_none()).collect();
    let Some((path, item)) = usable.iter().find(|(_, v)| is_active(v)).or_else(|| usable.first()).copied() else {
        let (path, item) = members.first().map(|(p, v)| (p.as_str(), *v)).unwrap_or(("detail", &Value::Null));
        let id = opt_str(item, "id").unwrap_or("?");
        let error = error_of(item).unwrap_or_default();
        return Ok(Err(format!(
            "{path}: error finding {id} ({error}): IAM Access Analyzer could not analyze the resource, and an error \
             finding grants no access, so Security Hub gets no finding for it"
        )));
    };
    let d = Obj::new(item, path, P);
    let resource = d.req_str("resource")?;
    let resource_type = d.req_str("resourceType")?;
    let finding_id = d.req_str("id")?;
    let place = placement(&d, analyzer, options)?;
    let mut created = Vec::new();
    let mut updated = Vec::new();
    for (p, v) in &usable {
        let o = Obj::new(v, p, P);
        created.push(o.req_time("createdAt")?);
        updated.push(o.req_time("updatedAt")?);
    }
    let created_at = created.into_iter().min().unwrap_or_default();
    let updated_at = updated.into_iter().max().unwrap_or_default();
    let access = external_access_details(item);
    let public = access.and_then(|a| a.get("isPublic")).and_then(Value::as_bool).unwrap_or(false);
    let asff_resource_type = resource_type_from_cfn(resource_type);
    let (types, label, product, reach) =
        if public { (PUBLIC_TYPE, "MEDIUM", 40, "public") } else { (CROSS_ACCOUNT_TYPE, "LOW", 1, "cross-account") };
    let principal = access.and_then(|a| a.get("principal")).and_then(Value::as_object).and_then(|m| m.iter().next());
    let (principal_type, principal_value) = match principal {
        Some((kind, value)) => (Some(kind.as_str()), Some(principal_text(value))),
        None => (None, None),
    };
    let title = format!("{asff_resource_type}/{resource}/ allows {reach} access");
    let description = match (public, principal_type, principal_value.as_deref()) {
        (false, Some(kind), Some(value)) => {
            format!("{resource_type}/{resource}/ allows cross-account access from {kind} {value}")
        }
        _ => format!("{resource_type}/{resource}/ allows {reach} access"),
    };

    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region: place.region,
        account: place.account,
        id: format!("{}/{resource}", analyzer.arn),
        generator_id: GENERATOR_ID.to_owned(),
        types: vec![types.to_owned()],
        created_at,
        updated_at,
        severity_label: label,
        title,
        description,
    }
    .into_finding();
    doc.insert("Severity".into(), json!({ "Label": label, "Normalized": product, "Product": product }));
    doc.insert("Remediation".into(), json!({ "Recommendation": { "Text": EXTERNAL_REMEDIATION } }));
    let host = if place.partition == "aws" { "console.aws.amazon.com".to_owned() } else { console_host(place.region) };
    doc.insert(
        "SourceUrl".into(),
        json!(format!("https://{host}/access-analyzer/home?region={}#/findings/details/{finding_id}", place.region)),
    );
    let mut other = Map::new();
    put_str(&mut other, "External Principal Type", principal_type);
    put_str(&mut other, "Condition", Some(&condition_text(access.and_then(|a| a.get("condition")))));
    let actions: Vec<&str> = access
        .and_then(|a| a.get("action"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    put_str(&mut other, "Action Granted", Some(&actions.join(",")));
    put_str(&mut other, "External Principal", principal_value.as_deref());
    put_str(
        &mut other,
        "Resource Control Policy Restriction Type",
        access.and_then(|a| {
            opt_str(a, "resourceControlPolicyRestrictionType")
                .or_else(|| opt_str(a, "resourceControlPolicyRestriction"))
        }),
    );
    doc.insert(
        "Resources".into(),
        json!([{ "Type": asff_resource_type, "Id": resource, "Details": { "Other": other } }]),
    );
    if place.organization {
        doc.insert("ProductFields".into(), json!({ "ResourceOwnerAccount": place.owner }));
    }
    if !members.iter().any(|(_, v)| is_active(v)) {
        doc.insert("RecordState".into(), json!("ARCHIVED"));
    }
    Ok(Ok(doc))
}

/// The object that holds `principal`, `action`, `condition` and `isPublic`: the finding itself
/// (events, ListFindings) or GetFindingV2's `findingDetails[].externalAccessDetails`.
fn external_access_details(item: &Value) -> Option<&Value> {
    if item.get("principal").is_some() || item.get("isPublic").is_some() || item.get("action").is_some() {
        return Some(item);
    }
    item.get("findingDetails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|d| d.get("externalAccessDetails"))
        .or(Some(item))
}

fn principal_text(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(principal_text).collect::<Vec<_>>().join(","),
        other => scalar_string(other).unwrap_or_else(|| other.to_string()),
    }
}

/// `none` for no condition (DOC), else the condition as compact JSON (INF).
fn condition_text(condition: Option<&Value>) -> String {
    match condition {
        Some(Value::Object(m)) if !m.is_empty() => Value::Object(m.clone()).to_string(),
        _ => "none".to_owned(),
    }
}

/// One unused-access finding.
fn unused_finding(
    item: &Value,
    path: &str,
    analyzer: &Analyzer<'_>,
    options: &ConvertOptions,
) -> Result<Result<Map<String, Value>, String>, ConvertError> {
    let d = Obj::new(item, path, P);
    let finding_type = d.req_str("findingType")?;
    let finding_id = d.opt_str("findingId").or_else(|| d.opt_str("id"));
    if let Some(error) = error_of(item) {
        return Ok(Err(format!(
            "error finding {} ({error}): IAM Access Analyzer could not analyze the entity, so Security Hub gets no finding for it",
            finding_id.unwrap_or("?")
        )));
    }
    let Some(kind) = UNUSED_KINDS.iter().find(|k| k.finding_type == finding_type) else {
        return Ok(Err(format!("unused-access finding type {finding_type} is not one that Security Hub shows")));
    };
    let finding_id = finding_id.ok_or_else(|| d.error(format!("{} is missing", d.field("findingId"))))?;
    let resource = d.req_str("resource")?;
    let resource_type = d.req_str("resourceType")?;
    let place = placement(&d, analyzer, options)?;
    let asff_resource_type = resource_type_from_cfn(resource_type);
    let title = format!("{asff_resource_type}/{resource}/ contains {}", kind.phrase);
    let description = if kind.finding_type == "UnusedPermission" {
        format!("{resource_type}/{resource}/ contains unused service and action-level permissions")
    } else {
        format!("{resource_type}/{resource}/ contains {}", kind.phrase)
    };
    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region: place.region,
        account: place.account,
        id: format!("{}/{resource}/{}", analyzer.arn, kind.id_suffix),
        generator_id: GENERATOR_ID.to_owned(),
        types: vec![kind.asff_type.to_owned()],
        created_at: d.req_time("createdAt")?,
        updated_at: d.req_time("updatedAt")?,
        severity_label: kind.severity,
        title,
        description,
    }
    .into_finding();
    let normalized = crate::common::normalized_from_label(kind.severity).unwrap_or(1);
    doc.insert("Severity".into(), json!({ "Label": kind.severity, "Normalized": normalized, "Product": normalized }));
    if kind.finding_type == "UnusedPermission" {
        doc.insert("Remediation".into(), json!({ "Recommendation": { "Text": UNUSED_PERMISSION_REMEDIATION } }));
    }
    doc.insert(
        "SourceUrl".into(),
        json!(format!(
            "https://{}/access-analyzer/home?region={region}#/unused-access-findings?resource={}",
            console_host(place.region),
            url_encode(resource),
            region = place.region
        )),
    );
    let mut fields = Map::new();
    for key in ["numberOfUnusedActions", "numberOfUnusedServices"] {
        if let Some(v) = item.get(key).and_then(scalar_string) {
            fields.insert(key.to_owned(), json!(v));
        }
    }
    // DOC example (account analyzer): `resourceOwnerAccount`; OBS (organization analyzer):
    // `ResourceOwnerAccount`.
    let owner_key = if place.organization { "ResourceOwnerAccount" } else { "resourceOwnerAccount" };
    fields.insert(owner_key.to_owned(), json!(place.owner));
    fields.insert("findingId".into(), json!(finding_id));
    fields.insert("findingType".into(), json!(finding_type));
    doc.insert("ProductFields".into(), Value::Object(fields));
    doc.insert("Resources".into(), json!([{ "Type": asff_resource_type, "Id": resource }]));
    if !is_active(item) {
        doc.insert("RecordState".into(), json!("ARCHIVED"));
    }
    Ok(Ok(doc))
}
