//! AWS Health: security-related Health events → one finding per event (research note
//! `producers.md` §3).
//!
//! Accepted input:
//! - the EventBridge event (`source` `aws.health`, detail-type `AWS Health Event` or `AWS Health
//!   Abuse Event`);
//! - the output of the Health API's `DescribeEventDetails` (`successfulSet[]`), one finding per
//!   item; it names no account, so `--account` (`ConvertOptions::default_account`) is needed, and
//!   UpdatedAt is the event's `lastUpdatedTime` (the API has no delivery time).
//!
//! Rules (DOC unless marked):
//! - only security-related events make findings: the service is an AWS security service (INF:
//!   the MEDIUM list below, plus RISK and ABUSE), or the type code contains `SECURITY`, `ABUSE`
//!   or `CERTIFICATE` (INF: compared without case). INF: an event that one of the severity rules
//!   names (e.g. `AWS_S3_OPEN_ACCESS_BUCKET_NOTIFICATION`, `…END_OF_SUPPORT…`) is security-related
//!   too, since the documentation gives it a severity;
//! - severity, first rule that matches: CRITICAL if the service has the value RISK or the type
//!   code has one of three values (exact match); HIGH if the service has the value ABUSE or the
//!   type code contains `SECURITY_NOTIFICATION` or `ABUSE_DETECTION`; MEDIUM if the service is
//!   one of the listed security services or the type code contains `CERTIFICATE` or
//!   `END_OF_SUPPORT`. Services compare without case (events write `RISK`, the documentation
//!   `Risk`). UNV: an event that is security-related but matches no rule gets MEDIUM;
//! - Id: the event ARN with the account inserted, `/`, upper-case hex SHA-256 of the start time
//!   written as CreatedAt is (ISO 8601 UTC with milliseconds) — reproduced from the documented
//!   example;
//! - Region: a global event (INF: the Region, the event's `eventRegion` or its ARN's Region is
//!   `global`) lands in us-east-1, cn-northwest-1 or us-gov-west-1 by partition (the partition of
//!   the event ARN); others in the Region of the event;
//! - Resources: one `Other` resource per affected entity (the event's `resources` when it lists
//!   no entities), or the account when there is none; at most 32 (ASFF's limit).

use crate::common::{FindingBase, asff_timestamp, checked, is_account_id, sha256_upper_hex, str_at};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};

const PRODUCT_KEY: &str = "health";
const DETAIL_TYPES: [&str; 2] = ["AWS Health Event", "AWS Health Abuse Event"];
/// ASFF's limit on Resources.
const MAX_RESOURCES: usize = 32;

/// Services whose events are MEDIUM (and, INF, "associated with an AWS security service").
/// `CODEGURGU` is the current documentation's spelling, `CODEGURU` the 2022 one.
pub const MEDIUM_SERVICES: [&str; 36] = [
    "ACM",
    "ARTIFACT",
    "AUDITMANAGER",
    "BACKUP",
    "CLOUDENDURE",
    "CLOUDHSM",
    "CLOUDTRAIL",
    "CLOUDWATCH",
    "CODEGURGU",
    "CODEGURU",
    "COGNITO",
    "CONFIG",
    "CONTROLTOWER",
    "DETECTIVE",
    "DIRECTORYSERVICE",
    "DRS",
    "EVENTS",
    "FIREWALLMANAGER",
    "GUARDDUTY",
    "IAM",
    "INSPECTOR",
    "INSPECTOR2",
    "IOTDEVICEDEFENDER",
    "KMS",
    "MACIE",
    "NETWORKFIREWALL",
    "ORGANIZATIONS",
    "RESILIENCEHUB",
    "RESOURCEMANAGER",
    "ROUTE53",
    "SECURITYHUB",
    "SECRETSMANAGER",
    "SES",
    "SHIELD",
    "SSO",
    "WAF",
];

/// Type codes that are CRITICAL (exact match).
pub const CRITICAL_TYPE_CODES: [&str; 3] = [
    "AWS_S3_OPEN_ACCESS_BUCKET_NOTIFICATION",
    "AWS_SHIELD_INTERNET_TRAFFIC_LIMITATIONS_PLACED_IN_RESPONSE_TO_DDOS_ATTACK",
    "AWS_SHIELD_IS_RESPONDING_TO_A_DDOS_ATTACK_AGAINST_YOUR_AWS_RESOURCES",
];

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    if str_at(event, &["source"]) == Some("aws.health") {
        return str_at(event, &["detail-type"]).is_some_and(|t| DETAIL_TYPES.contains(&t));
    }
    is_describe_event_details(event)
}

fn is_describe_event_details(event: &Value) -> bool {
    event.get("successfulSet").and_then(Value::as_array).is_some_and(|items| {
        items.iter().all(|i| i.get("event").is_some_and(Value::is_object))
            && (!items.is_empty() || event.get("failedSet").is_some_and(Value::is_array))
    })
}

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(Producer::Health, message)
}

/// One Health event, from whichever form it came in.
struct HealthEvent<'a> {
    /// Where a missing field is named from (`detail.` or `successfulSet[i].event.`).
    prefix: String,
    account: &'a str,
    delivery_region: Option<&'a str>,
    event_region: Option<&'a str>,
    arn: &'a str,
    service: &'a str,
    type_code: &'a str,
    start_time: &'a Value,
    updated_at: &'a Value,
    updated_at_field: &'static str,
    descriptions: Option<&'a Value>,
    entities: Vec<&'a str>,
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if str_at(event, &["source"]) == Some("aws.health") {
        let kind = str_at(event, &["detail-type"]).unwrap_or("(no detail-type)");
        if !DETAIL_TYPES.contains(&kind) {
            return Ok(Conversion::NoFinding(format!("Health event '{kind}' is not a Health event about an issue")));
        }
        let parsed = from_eventbridge(event)?;
        return Ok(match finding(&parsed)? {
            Some(f) => Conversion::Findings(vec![f]),
            None => Conversion::NoFinding(not_security_reason(&parsed)),
        });
    }
    if is_describe_event_details(event) {
        let account = options.default_account.as_deref().ok_or_else(|| {
            err("DescribeEventDetails output names no account: give the account (ConvertOptions::default_account)")
        })?;
        let items = event.get("successfulSet").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let mut findings = Vec::new();
        let mut skipped = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let parsed = from_api(item, i, account, options)?;
            match finding(&parsed)? {
                Some(f) => findings.push(f),
                None => skipped.push(not_security_reason(&parsed)),
            }
        }
        return Ok(if findings.is_empty() {
            Conversion::NoFinding(if skipped.is_empty() {
                "no events in successfulSet".to_owned()
            } else {
                skipped.join("; ")
            })
        } else {
            Conversion::Findings(findings)
        });
    }
    Err(err("expected an EventBridge event with source aws.health, or DescribeEventDetails output (successfulSet)"))
}

fn not_security_reason(e: &HealthEvent<'_>) -> String {
    format!("Health event {} of service {} is not security-related", e.type_code, e.service)
}

fn required<'a>(value: &'a Value, key: &str, prefix: &str) -> Result<&'a str, ConvertError> {
    str_at(value, &[key]).filter(|s| !s.is_empty()).ok_or_else(|| err(format!("{prefix}{key} is missing")))
}

fn from_eventbridge(event: &Value) -> Result<HealthEvent<'_>, ConvertError> {
    let detail = event.get("detail").filter(|d| d.is_object()).ok_or_else(|| err("detail is missing"))?;
    let prefix = "detail.".to_owned();
    let mut entities: Vec<&str> = detail
        .get("affectedEntities")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|e| str_at(e, &["entityValue"])).collect())
        .unwrap_or_default();
    if entities.is_empty() {
        entities = event
            .get("resources")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
    }
    Ok(HealthEvent {
        account: required(event, "account", "")?,
        delivery_region: str_at(event, &["region"]),
        event_region: str_at(detail, &["eventRegion"]),
        arn: required(detail, "eventArn", &prefix)?,
        service: required(detail, "service", &prefix)?,
        type_code: required(detail, "eventTypeCode", &prefix)?,
        start_time: detail.get("startTime").ok_or_else(|| err("detail.startTime is missing"))?,
        updated_at: event.get("time").ok_or_else(|| err("time is missing"))?,
        updated_at_field: "time",
        descriptions: detail.get("eventDescription"),
        entities,
        prefix,
    })
}

fn from_api<'a>(
    item: &'a Value,
    index: usize,
    account: &'a str,
    options: &'a ConvertOptions,
) -> Result<HealthEvent<'a>, ConvertError> {
    let prefix = format!("successfulSet[{index}].event.");
    let event = item.get("event").filter(|e| e.is_object()).ok_or_else(|| err(format!("{prefix} is missing")))?;
    Ok(HealthEvent {
        account,
        delivery_region: str_at(event, &["region"]).or(options.default_region.as_deref()),
        event_region: str_at(event, &["region"]),
        arn: required(event, "arn", &prefix)?,
        service: required(event, "service", &prefix)?,
        type_code: required(event, "eventTypeCode", &prefix)?,
        start_time: event.get("startTime").ok_or_else(|| err(format!("{prefix}startTime is missing")))?,
        updated_at: event.get("lastUpdatedTime").ok_or_else(|| err(format!("{prefix}lastUpdatedTime is missing")))?,
        updated_at_field: "lastUpdatedTime",
        descriptions: item.get("eventDescription"),
        entities: Vec::new(),
        prefix,
    })
}

/// Whether an event is security-related (see the module documentation).
pub fn is_security_related(service: &str, type_code: &str) -> bool {
    let code = type_code.to_ascii_uppercase();
    let service_upper = service.to_ascii_uppercase();
    ["SECURITY", "ABUSE", "CERTIFICATE"].iter().any(|w| code.contains(w))
        || matches!(service_upper.as_str(), "RISK" | "ABUSE")
        || MEDIUM_SERVICES.contains(&service_upper.as_str())
        || severity_rule(service, type_code).is_some()
}

/// The severity that the documented rules give, or `None` when no rule matches.
pub fn severity_rule(service: &str, type_code: &str) -> Option<&'static str> {
    let code = type_code.to_ascii_uppercase();
    if service.eq_ignore_ascii_case("RISK") || CRITICAL_TYPE_CODES.contains(&type_code) {
        return Some("CRITICAL");
    }
    if service.eq_ignore_ascii_case("ABUSE")
        || code.contains("SECURITY_NOTIFICATION")
        || code.contains("ABUSE_DETECTION")
    {
        return Some("HIGH");
    }
    if MEDIUM_SERVICES.iter().any(|s| s.eq_ignore_ascii_case(service))
        || code.contains("CERTIFICATE")
        || code.contains("END_OF_SUPPORT")
    {
        return Some("MEDIUM");
    }
    None
}

/// The severity of a security-related event (MEDIUM when no rule matches, UNV).
pub fn severity(service: &str, type_code: &str) -> &'static str {
    severity_rule(service, type_code).unwrap_or("MEDIUM")
}

/// The Region that receives global events in each partition.
pub fn global_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-northwest-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// `arn:aws:health:<region>::event/…` → `(partition, region)`.
fn arn_partition_region(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("health"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((partition, region))
}

/// The event ARN with the account in its (empty) account field.
fn arn_with_account(arn: &str, account: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        [a, p, s, r, "", rest] => format!("{a}:{p}:{s}:{r}:{account}:{rest}"),
        _ => arn.to_owned(),
    }
}

fn finding(e: &HealthEvent<'_>) -> Result<Option<Map<String, Value>>, ConvertError> {
    if !is_security_related(e.service, e.type_code) {
        return Ok(None);
    }
    if !is_account_id(e.account) {
        return Err(err(format!("account '{}' is not a 12-digit account id", e.account)));
    }
    let (arn_partition, arn_region) = arn_partition_region(e.arn)
        .ok_or_else(|| err(format!("{}eventArn is not a Health event ARN: {}", e.prefix, e.arn)))?;
    let is_global = [e.delivery_region, e.event_region, Some(arn_region)].contains(&Some("global"));
    let region = if is_global {
        global_region(arn_partition)
    } else {
        [e.delivery_region, e.event_region, Some(arn_region)]
            .into_iter()
            .flatten()
            .find(|r| !r.is_empty())
            .unwrap_or("")
    };
    if region.is_empty() {
        return Err(err(format!("{}eventArn names no Region and the event has none", e.prefix)));
    }
    let created = asff_timestamp(e.start_time)
        .ok_or_else(|| err(format!("{}startTime is not a timestamp: {}", e.prefix, e.start_time)))?;
    let updated = asff_timestamp(e.updated_at)
        .ok_or_else(|| err(format!("{} is not a timestamp: {}", e.updated_at_field, e.updated_at)))?;
    let description = latest_description(e.descriptions)
        .ok_or_else(|| err(format!("{}eventDescription[].latestDescription is missing", e.prefix)))?;
    let id = format!("{}/{}", arn_with_account(e.arn, e.account), sha256_upper_hex(&created));
    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region,
        account: e.account,
        id,
        generator_id: e.type_code.to_owned(),
        types: vec!["Software and Configuration Checks".to_owned()],
        created_at: created,
        updated_at: updated,
        severity_label: severity(e.service, e.type_code),
        title: format!("AWS Health - {}", e.type_code),
        description: description.to_owned(),
    }
    .into_finding();
    doc.insert("ProductName".into(), json!("Health"));
    doc.insert("CompanyName".into(), json!("AWS"));
    doc.insert("SourceUrl".into(), json!(format!("https://phd.aws.amazon.com/phd/home#/event-log?eventID={}", e.arn)));
    let mut resources: Vec<Value> = Vec::new();
    for entity in e.entities.iter().filter(|v| !v.is_empty()) {
        let r = json!({ "Type": "Other", "Id": entity });
        if !resources.contains(&r) && resources.len() < MAX_RESOURCES {
            resources.push(r);
        }
    }
    if resources.is_empty() {
        resources.push(json!({ "Type": "Other", "Id": e.account }));
    }
    doc.insert("Resources".into(), Value::Array(resources));
    checked(Producer::Health, doc).map(Some)
}

/// The English description when there is one, else the first.
fn latest_description(descriptions: Option<&Value>) -> Option<&str> {
    match descriptions? {
        Value::Array(items) => {
            let english = items.iter().find(|d| str_at(d, &["language"]).is_some_and(|l| l.starts_with("en")));
            english.or(items.first()).and_then(|d| str_at(d, &["latestDescription"]))
        }
        Value::Object(_) => str_at(descriptions?, &["latestDescription"]),
        _ => None,
    }
}
