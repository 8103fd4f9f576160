//! AWS Firewall Manager: policy violations and Shield Advanced attacks → findings (research note
//! `producers.md` §9).
//!
//! Firewall Manager writes its findings to Security Hub itself: there is no native event and no
//! published ASFF example. The accepted input is therefore defined here from the Firewall
//! Manager (and Shield) API records; `FIREWALL_MANAGER_INPUT.md` describes it with examples:
//! - `GetComplianceDetail` output (`PolicyComplianceDetail`): one finding per violator;
//! - `GetViolationDetails` output (`ViolationDetail`): one finding for the resource;
//! - a compliance record: one `ComplianceViolator` with its policy, account and
//!   `ComplianceStatus` (`NON_COMPLIANT`, or `COMPLIANT` once the violation is gone, which makes
//!   the PASSED / INFORMATIONAL update that Firewall Manager sends after remediation);
//! - Shield's `DescribeAttack` (`Attack`) or `ListAttacks` (`AttackSummaries`) output: one
//!   finding per attack.
//!
//! Each may carry context beside it, as `jq -s add` merges API outputs: `Policy` and
//! `PolicyArn` (GetPolicy), `PolicyComplianceStatus` (the ListComplianceStatus item of the policy
//! and account, whose `LastUpdated` is the finding's time), and `Region` / `LastUpdated`.
//!
//! DOC: the titles and severities of the Firewall Manager guide, per policy type. INF/UNV (no
//! example exists): "Severity" numbers are `Severity.Normalized` (label derived: 80 → HIGH,
//! 70 → HIGH, 60 → MEDIUM, 30 → LOW); a remediated violation is PASSED and INFORMATIONAL (DOC
//! says the severity drops to INFORMATIONAL); Id, GeneratorId, Types, Description and
//! ProductFields are this module's own conventions.

use crate::common::{
    FindingBase, asff_timestamp, checked, is_account_id, partition_of, resource_type_from_cfn, sha256_lower_hex, str_at,
};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use findinghub_asff::severity::label_from_normalized;
use serde_json::{Map, Value, json};

const PRODUCT_KEY: &str = "firewall-manager";
const FIELD_PREFIX: &str = "aws/firewall-manager/";

/// One kind of Firewall Manager finding, as the Firewall Manager guide lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingKind {
    /// Stable key (part of the Id).
    pub key: &'static str,
    pub title: &'static str,
    /// The guide's "Severity" (INF: Severity.Normalized).
    pub normalized: i64,
    /// Whether the finding has a Compliance.Status (PASSED/FAILED) and is updated on remediation.
    pub has_compliance: bool,
}

const fn kind(key: &'static str, title: &'static str, normalized: i64, has_compliance: bool) -> FindingKind {
    FindingKind { key, title, normalized, has_compliance }
}

pub const WAF_MISSING_WEB_ACL: FindingKind =
    kind("waf-missing-web-acl", "Resource is missing Firewall Manager managed web ACL.", 80, true);
pub const WAF_MISCONFIGURED_RULE_GROUPS: FindingKind =
    kind("waf-misconfigured-rule-groups", "Firewall Manager managed web ACL has misconfigured rule groups.", 80, true);
pub const SHIELD_NOT_PROTECTED: FindingKind =
    kind("shield-not-protected", "Resource lacks Shield Advanced protection.", 60, true);
pub const SHIELD_ATTACK: FindingKind =
    kind("shield-attack", "Shield Advanced detected attack against monitored resource.", 70, false);
pub const SG_MISCONFIGURED: FindingKind =
    kind("sg-misconfigured", "Resource has misconfigured security group.", 70, true);
pub const SG_REPLICA_OUT_OF_SYNC: FindingKind = kind(
    "sg-replica-out-of-sync",
    "Firewall Manager replica security group is out of sync with primary security group.",
    80,
    true,
);
pub const SG_CONTENT_AUDIT: FindingKind =
    kind("sg-content-audit", "Security group is not in compliance with content audit security group.", 70, true);
pub const SG_REDUNDANT: FindingKind =
    kind("sg-redundant", "Firewall Manager found redundant security group.", 30, false);
pub const SG_UNUSED: FindingKind = kind("sg-unused", "Firewall Manager found unused security group.", 30, false);
pub const DNS_FIREWALL_MISSING: FindingKind =
    kind("dns-firewall-missing", "Resource is missing DNS Firewall protection", 80, true);

/// The finding kind of a `ViolationReason` (None: Firewall Manager documents no finding for it,
/// e.g. the Network Firewall, network ACL and third-party firewall reasons).
pub fn kind_of_reason(reason: &str) -> Option<FindingKind> {
    Some(match reason {
        "RESOURCE_MISSING_WEB_ACL" | "RESOURCE_INCORRECT_WEB_ACL" => WAF_MISSING_WEB_ACL,
        "WEB_ACL_MISSING_RULE_GROUP" => WAF_MISCONFIGURED_RULE_GROUPS,
        "RESOURCE_MISSING_SHIELD_PROTECTION" | "RESOURCE_MISSING_WEB_ACL_OR_SHIELD_PROTECTION" => SHIELD_NOT_PROTECTED,
        "RESOURCE_MISSING_SECURITY_GROUP" => SG_MISCONFIGURED,
        "FMS_CREATED_SECURITY_GROUP_EDITED" => SG_REPLICA_OUT_OF_SYNC,
        "RESOURCE_VIOLATES_AUDIT_SECURITY_GROUP" => SG_CONTENT_AUDIT,
        "SECURITY_GROUP_REDUNDANT" => SG_REDUNDANT,
        "SECURITY_GROUP_UNUSED" => SG_UNUSED,
        "RESOURCE_MISSING_DNS_FIREWALL" => DNS_FIREWALL_MISSING,
        _ => return None,
    })
}

/// The ViolationReason that a `GetViolationDetails` resource violation stands for (INF).
fn reason_of_violation(member: &str) -> Option<&'static str> {
    Some(match member {
        "AwsVPCSecurityGroupViolation" | "AwsEc2NetworkInterfaceViolation" | "AwsEc2InstanceViolation" => {
            "RESOURCE_VIOLATES_AUDIT_SECURITY_GROUP"
        }
        "DnsRuleGroupPriorityConflictViolation"
        | "DnsDuplicateRuleGroupViolation"
        | "DnsRuleGroupLimitExceededViolation" => "RESOURCE_MISSING_DNS_FIREWALL",
        "WebACLHasIncompatibleConfigurationViolation" | "WebACLHasOutOfScopeResourcesViolation" => {
            "WEB_ACL_MISSING_RULE_GROUP"
        }
        _ => return None,
    })
}

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    event.get("PolicyComplianceDetail").is_some_and(Value::is_object)
        || event.get("ViolationDetail").is_some_and(Value::is_object)
        || is_compliance_record(event)
        || at_attack(event).is_some()
        || event.get("AttackSummaries").is_some_and(Value::is_array)
}

fn is_compliance_record(event: &Value) -> bool {
    ["PolicyId", "ResourceId", "ViolationReason"].iter().all(|k| event.get(k).is_some_and(Value::is_string))
}

fn at_attack(event: &Value) -> Option<&Value> {
    event.get("Attack").filter(|a| a.get("AttackId").is_some())
}

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(Producer::FirewallManager, message)
}

/// The policy, Region and time around the records.
struct Context<'a> {
    policy_id: Option<&'a str>,
    policy_name: Option<&'a str>,
    policy_type: Option<&'a str>,
    policy_arn: Option<&'a str>,
    policy_owner: Option<&'a str>,
    region: Option<&'a str>,
    last_updated: Option<&'a Value>,
}

fn context<'a>(event: &'a Value, options: &'a ConvertOptions) -> Context<'a> {
    let policy = event.get("Policy");
    let status = event.get("PolicyComplianceStatus");
    let policy_arn = str_at(event, &["PolicyArn"]).or_else(|| policy.and_then(|p| str_at(p, &["PolicyArn"])));
    let arn_region = policy_arn.and_then(|a| a.split(':').nth(3)).filter(|r| !r.is_empty());
    Context {
        policy_id: policy
            .and_then(|p| str_at(p, &["PolicyId"]))
            .or_else(|| status.and_then(|s| str_at(s, &["PolicyId"])))
            .or_else(|| str_at(event, &["PolicyId"])),
        policy_name: policy
            .and_then(|p| str_at(p, &["PolicyName"]))
            .or_else(|| status.and_then(|s| str_at(s, &["PolicyName"])))
            .or_else(|| str_at(event, &["PolicyName"])),
        policy_type: policy
            .and_then(|p| str_at(p, &["SecurityServicePolicyData", "Type"]))
            .or_else(|| str_at(event, &["PolicyType"])),
        policy_arn,
        policy_owner: status.and_then(|s| str_at(s, &["PolicyOwner"])).or_else(|| str_at(event, &["PolicyOwner"])),
        region: str_at(event, &["Region"]).or(arn_region).or(options.default_region.as_deref()),
        last_updated: event.get("LastUpdated").or_else(|| status.and_then(|s| s.get("LastUpdated"))),
    }
}

/// One resource's compliance with one policy.
struct Violation<'a> {
    policy_id: &'a str,
    account: &'a str,
    resource_id: &'a str,
    resource_type: &'a str,
    reason: &'a str,
    kind: FindingKind,
    compliant: bool,
    detail: Option<String>,
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if !event.is_object() {
        return Err(err("expected a JSON object"));
    }
    let ctx = context(event, options);
    if let Some(detail) = event.get("PolicyComplianceDetail") {
        return convert_compliance_detail(detail, &ctx);
    }
    if let Some(detail) = event.get("ViolationDetail") {
        return convert_violation_detail(detail, &ctx);
    }
    if is_compliance_record(event) {
        return convert_record(event, &ctx);
    }
    if let Some(attack) = at_attack(event) {
        return Ok(Conversion::Findings(vec![attack_finding(attack, "Attack.", event, &ctx, options)?]));
    }
    if let Some(list) = event.get("AttackSummaries").and_then(Value::as_array) {
        let mut findings = Vec::new();
        for (i, attack) in list.iter().enumerate() {
            findings.push(attack_finding(attack, &format!("AttackSummaries[{i}]."), event, &ctx, options)?);
        }
        return Ok(if findings.is_empty() {
            Conversion::NoFinding("AttackSummaries is empty: no attack detected".to_owned())
        } else {
            Conversion::Findings(findings)
        });
    }
    Err(err(
        "expected PolicyComplianceDetail (GetComplianceDetail), ViolationDetail (GetViolationDetails), a compliance record (PolicyId, ResourceId, ViolationReason), Attack (DescribeAttack) or AttackSummaries (ListAttacks)",
    ))
}

fn text<'a>(value: &'a Value, key: &str, prefix: &str) -> Result<&'a str, ConvertError> {
    str_at(value, &[key]).filter(|s| !s.is_empty()).ok_or_else(|| err(format!("{prefix}{key} is missing")))
}

fn convert_compliance_detail(detail: &Value, ctx: &Context<'_>) -> Result<Conversion, ConvertError> {
    let p = "PolicyComplianceDetail.";
    let policy_id = text(detail, "PolicyId", p)?;
    let account = text(detail, "MemberAccount", p)?;
    let violators = match detail.get("Violators") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => return Err(err("PolicyComplianceDetail.Violators is not a list")),
    };
    let owner = str_at(detail, &["PolicyOwner"]);
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    for (i, v) in violators.iter().enumerate() {
        let vp = format!("{p}Violators[{i}].");
        let reason = text(v, "ViolationReason", &vp)?;
        let Some(kind) = kind_of_reason(reason) else {
            skipped.push(reason.to_owned());
            continue;
        };
        let violation = Violation {
            policy_id,
            account,
            resource_id: text(v, "ResourceId", &vp)?,
            resource_type: text(v, "ResourceType", &vp)?,
            reason,
            kind,
            compliant: false,
            detail: None,
        };
        findings.push(violation_finding(&violation, ctx, owner)?);
    }
    Ok(if findings.is_empty() {
        Conversion::NoFinding(if skipped.is_empty() {
            format!("policy {policy_id} has no violators in account {account}")
        } else {
            format!("Firewall Manager documents no finding for the violation reasons {}", skipped.join(", "))
        })
    } else {
        Conversion::Findings(findings)
    })
}

fn convert_violation_detail(detail: &Value, ctx: &Context<'_>) -> Result<Conversion, ConvertError> {
    let p = "ViolationDetail.";
    let violations = detail
        .get("ResourceViolations")
        .and_then(Value::as_array)
        .ok_or_else(|| err("ViolationDetail.ResourceViolations is missing"))?;
    let members: Vec<&str> = violations
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.as_str()))
        .collect();
    let Some(reason) = members.iter().find_map(|m| reason_of_violation(m)) else {
        return Ok(Conversion::NoFinding(format!(
            "Firewall Manager documents no finding for the resource violations [{}]",
            members.join(", ")
        )));
    };
    let Some(kind) = kind_of_reason(reason) else {
        return Ok(Conversion::NoFinding(format!("no finding for {reason}")));
    };
    let targets: Vec<&str> = violations
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.values().filter_map(|v| str_at(v, &["ViolationTargetDescription"])))
        .filter(|d| !d.is_empty())
        .collect();
    let mut extra = format!("Violations: {}.", members.join(", "));
    if !targets.is_empty() {
        extra = format!("{extra} {}.", targets.join("; "));
    }
    if let Some(d) = str_at(detail, &["ResourceDescription"]).filter(|d| !d.is_empty()) {
        extra = format!("{d}. {extra}");
    }
    let violation = Violation {
        policy_id: text(detail, "PolicyId", p)?,
        account: text(detail, "MemberAccount", p)?,
        resource_id: text(detail, "ResourceId", p)?,
        resource_type: text(detail, "ResourceType", p)?,
        reason,
        kind,
        compliant: false,
        detail: Some(extra),
    };
    Ok(Conversion::Findings(vec![violation_finding(&violation, ctx, None)?]))
}

fn convert_record(record: &Value, ctx: &Context<'_>) -> Result<Conversion, ConvertError> {
    let reason = text(record, "ViolationReason", "")?;
    let Some(kind) = kind_of_reason(reason) else {
        return Ok(Conversion::NoFinding(format!(
            "Firewall Manager documents no finding for the violation reason {reason}"
        )));
    };
    let compliant = match str_at(record, &["ComplianceStatus"]).unwrap_or("NON_COMPLIANT") {
        "NON_COMPLIANT" => false,
        "COMPLIANT" => true,
        other => return Err(err(format!("ComplianceStatus '{other}' is not COMPLIANT or NON_COMPLIANT"))),
    };
    if compliant && !kind.has_compliance {
        return Ok(Conversion::NoFinding(format!(
            "'{}' findings are not updated when the resource is compliant",
            kind.title
        )));
    }
    let violation = Violation {
        policy_id: text(record, "PolicyId", "")?,
        account: text(record, "MemberAccount", "")?,
        resource_id: text(record, "ResourceId", "")?,
        resource_type: text(record, "ResourceType", "")?,
        reason,
        kind,
        compliant,
        detail: None,
    };
    Ok(Conversion::Findings(vec![violation_finding(&violation, ctx, None)?]))
}

/// The ASFF type of a CloudFormation type in a Firewall Manager policy's scope.
fn asff_resource_type(cfn: &str) -> &'static str {
    match cfn {
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => "AwsElbv2LoadBalancer",
        "AWS::ElasticLoadBalancing::LoadBalancer" => "AwsElbLoadBalancer",
        other => resource_type_from_cfn(other),
    }
}

fn region_of<'a>(ctx: &Context<'a>) -> Result<&'a str, ConvertError> {
    ctx.region.filter(|r| !r.is_empty()).ok_or_else(|| {
        err("no Region: give Region, PolicyArn (GetPolicy) or the default Region (ConvertOptions::default_region)")
    })
}

fn updated_at(ctx: &Context<'_>) -> Result<String, ConvertError> {
    let value = ctx.last_updated.ok_or_else(|| {
        err("no time: give LastUpdated, or PolicyComplianceStatus (the ListComplianceStatus item, with LastUpdated)")
    })?;
    asff_timestamp(value).ok_or_else(|| err(format!("LastUpdated is not a timestamp: {value}")))
}

fn policy_arn(ctx: &Context<'_>, policy_id: &str, region: &str, owner: Option<&str>, account: &str) -> String {
    match ctx.policy_arn {
        Some(arn) => arn.to_owned(),
        None => {
            let owner = ctx.policy_owner.or(owner).unwrap_or(account);
            format!("arn:{}:fms:{region}:{owner}:policy/{policy_id}", partition_of(region))
        }
    }
}

fn violation_finding(
    v: &Violation<'_>,
    ctx: &Context<'_>,
    owner: Option<&str>,
) -> Result<Map<String, Value>, ConvertError> {
    if !is_account_id(v.account) {
        return Err(err(format!("MemberAccount '{}' is not a 12-digit account id", v.account)));
    }
    let region = region_of(ctx)?;
    let time = updated_at(ctx)?;
    let partition = partition_of(region);
    let policy_id = v.policy_id;
    let hash = sha256_lower_hex(&format!("{}|{}|{}|{}", v.account, v.resource_type, v.resource_id, v.kind.key));
    let id = format!("arn:{partition}:fms:{region}:{}:policy/{policy_id}/finding/{}", v.account, &hash[..40]);
    let policy_label = match ctx.policy_name {
        Some(name) => format!("{name} ({policy_id})"),
        None => policy_id.to_owned(),
    };
    let mut description = format!(
        "{} Policy {policy_label}, account {}, resource {} {}: {}.",
        v.kind.title, v.account, v.resource_type, v.resource_id, v.reason
    );
    if v.compliant {
        description.push_str(" The resource is now compliant with the policy.");
    }
    if let Some(extra) = &v.detail {
        description.push(' ');
        description.push_str(extra);
    }
    let normalized = if v.compliant { 0 } else { v.kind.normalized };
    let mut doc = base(BaseArgs {
        region,
        account: v.account,
        id,
        generator_id: policy_arn(ctx, policy_id, region, owner, v.account),
        types: "Software and Configuration Checks",
        time: &time,
        created: &time,
        normalized,
        title: v.kind.title,
        description,
    });
    let resource_id = v.resource_id;
    doc.insert(
        "Resources".into(),
        json!([{ "Type": asff_resource_type(v.resource_type), "Id": resource_id, "Partition": partition, "Region": region }]),
    );
    if v.kind.has_compliance {
        doc.insert("Compliance".into(), json!({ "Status": if v.compliant { "PASSED" } else { "FAILED" } }));
    }
    let mut fields = Map::new();
    fields.insert(format!("{FIELD_PREFIX}PolicyId"), json!(policy_id));
    if let Some(name) = ctx.policy_name {
        fields.insert(format!("{FIELD_PREFIX}PolicyName"), json!(name));
    }
    if let Some(t) = ctx.policy_type {
        fields.insert(format!("{FIELD_PREFIX}PolicyType"), json!(t));
    }
    fields.insert(format!("{FIELD_PREFIX}ViolationReason"), json!(v.reason));
    fields.insert(format!("{FIELD_PREFIX}ResourceType"), json!(v.resource_type));
    doc.insert("ProductFields".into(), Value::Object(fields));
    checked(Producer::FirewallManager, doc)
}

struct BaseArgs<'a> {
    region: &'a str,
    account: &'a str,
    id: String,
    generator_id: String,
    types: &'a str,
    time: &'a str,
    created: &'a str,
    normalized: i64,
    title: &'a str,
    description: String,
}

fn base(a: BaseArgs<'_>) -> Map<String, Value> {
    let label = label_from_normalized(a.normalized);
    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region: a.region,
        account: a.account,
        id: a.id,
        generator_id: a.generator_id,
        types: vec![a.types.to_owned()],
        created_at: a.created.to_owned(),
        updated_at: a.time.to_owned(),
        severity_label: label,
        title: a.title.to_owned(),
        description: a.description,
    }
    .into_finding();
    // The guide's number is kept as Normalized and as the provider's Original (INF).
    doc.insert(
        "Severity".into(),
        json!({ "Label": label, "Normalized": a.normalized, "Original": a.normalized.to_string() }),
    );
    doc.insert(
        "FindingProviderFields".into(),
        json!({ "Severity": { "Label": label, "Original": a.normalized.to_string() }, "Types": [a.types] }),
    );
    doc.insert("ProductName".into(), json!("Firewall Manager"));
    doc.insert("CompanyName".into(), json!("AWS"));
    doc
}

/// `(partition, region, account)` of a resource ARN.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(partition), Some(_service), Some(region), Some(account)) => {
            Some((partition, region, account))
        }
        _ => None,
    }
}

/// The ASFF resource type of the resource that an attack targeted, from its ARN.
fn attack_resource_type(arn: &str) -> &'static str {
    let service = arn.split(':').nth(2).unwrap_or_default();
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    match service {
        "cloudfront" => "AwsCloudFrontDistribution",
        "elasticloadbalancing"
            if resource.starts_with("loadbalancer/app/") || resource.starts_with("loadbalancer/net/") =>
        {
            "AwsElbv2LoadBalancer"
        }
        "elasticloadbalancing" => "AwsElbLoadBalancer",
        "ec2" if resource.starts_with("eip-allocation/") => "AwsEc2Eip",
        "route53" => "AwsRoute53HostedZone",
        _ => "Other",
    }
}

fn attack_finding(
    attack: &Value,
    prefix: &str,
    event: &Value,
    ctx: &Context<'_>,
    options: &ConvertOptions,
) -> Result<Map<String, Value>, ConvertError> {
    let attack_id = text(attack, "AttackId", prefix)?;
    let resource_arn = text(attack, "ResourceArn", prefix)?;
    let (partition, arn_region, arn_account) =
        arn_parts(resource_arn).ok_or_else(|| err(format!("{prefix}ResourceArn is not an ARN: {resource_arn}")))?;
    let account = Some(arn_account)
        .filter(|a| !a.is_empty())
        .or_else(|| str_at(event, &["MemberAccount"]))
        .or_else(|| str_at(event, &["PolicyComplianceStatus", "MemberAccount"]))
        .or(options.default_account.as_deref())
        .ok_or_else(|| err(format!("{prefix}ResourceArn names no account: give MemberAccount")))?;
    if !is_account_id(account) {
        return Err(err(format!("{prefix}account '{account}' is not a 12-digit account id")));
    }
    // Global resources (CloudFront, Route 53, Global Accelerator) have no Region in their ARN:
    // their attacks land where global resources' findings do (INF: us-east-1 by partition).
    let region = str_at(event, &["Region"]).or(Some(arn_region).filter(|r| !r.is_empty())).unwrap_or(match partition {
        "aws-cn" => "cn-northwest-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    });
    let start = attack.get("StartTime").ok_or_else(|| err(format!("{prefix}StartTime is missing")))?;
    let start = asff_timestamp(start).ok_or_else(|| err(format!("{prefix}StartTime is not a timestamp: {start}")))?;
    let end = match attack.get("EndTime") {
        None | Some(Value::Null) => None,
        Some(v) => Some(asff_timestamp(v).ok_or_else(|| err(format!("{prefix}EndTime is not a timestamp: {v}")))?),
    };
    let vectors: Vec<&str> = attack
        .get("AttackVectors")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(|v| str_at(v, &["VectorType"])).collect())
        .unwrap_or_default();
    let partition = if partition.is_empty() { partition_of(region) } else { partition };
    let id = match ctx.policy_id {
        Some(policy) => format!("arn:{partition}:fms:{region}:{account}:policy/{policy}/attack/{attack_id}"),
        None => format!("arn:{partition}:fms:{region}:{account}:attack/{attack_id}"),
    };
    let generator_id = match ctx.policy_id {
        Some(policy) => policy_arn(ctx, policy, region, None, account),
        None => "aws/firewall-manager/shield-advanced".to_owned(),
    };
    let mut description = format!("{} Resource {resource_arn}, attack {attack_id}", SHIELD_ATTACK.title);
    if !vectors.is_empty() {
        description.push_str(&format!(", vectors {}", vectors.join(", ")));
    }
    description.push_str(&format!(", started {start}"));
    match &end {
        Some(end) => description.push_str(&format!(", ended {end}.")),
        None => description.push_str(", ongoing."),
    }
    let updated = end.clone().unwrap_or_else(|| start.clone());
    let mut doc = base(BaseArgs {
        region,
        account,
        id,
        generator_id,
        types: "Effects/Denial of Service",
        time: &updated,
        created: &start,
        normalized: SHIELD_ATTACK.normalized,
        title: SHIELD_ATTACK.title,
        description,
    });
    doc.insert(
        "Resources".into(),
        json!([{ "Type": attack_resource_type(resource_arn), "Id": resource_arn, "Partition": partition, "Region": region }]),
    );
    let mut fields = Map::new();
    if let Some(policy) = ctx.policy_id {
        fields.insert(format!("{FIELD_PREFIX}PolicyId"), json!(policy));
    }
    if let Some(name) = ctx.policy_name {
        fields.insert(format!("{FIELD_PREFIX}PolicyName"), json!(name));
    }
    fields.insert(format!("{FIELD_PREFIX}AttackId"), json!(attack_id));
    if !vectors.is_empty() {
        fields.insert(format!("{FIELD_PREFIX}AttackVectors"), json!(vectors.join(",")));
    }
    doc.insert("ProductFields".into(), Value::Object(fields));
    checked(Producer::FirewallManager, doc)
}
