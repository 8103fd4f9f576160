//! AWS IoT Device Defender → the ASFF findings Security Hub makes of its results
//! (`producers.md` §8; the IoT Developer Guide's integration page and its three ASFF examples).
//!
//! IoT Device Defender sends service-to-service, without EventBridge, so the inputs are the API
//! outputs that hold the same facts:
//! - `list-audit-findings` (`{"findings": [{findingId, checkName, nonCompliantResource, …}]}`) or
//!   `describe-audit-finding` (`{"finding": {…}}`): audit findings, product
//!   `aws/iot-device-defender-audit`;
//! - `describe-audit-task` (`{taskStatus, taskType, auditDetails: {CHECK: {…}}}`): one check
//!   summary per check, same product;
//! - `list-violation-events` (`{"violationEvents": […]}`) or `list-active-violations`
//!   (`{"activeViolations": […]}`): violations, product `aws/iot-device-defender-detect`; a
//!   violation out of alarm (`alarm-cleared`, `alarm-invalidated`) is ARCHIVED.
//!
//! These outputs name no account (and no Region): they come from the options (or an `accountId` /
//! `region` member added next to the results). `describe-audit-task` does not repeat the task id:
//! add `taskId` to name it; without it the task is named by type, schedule and start time.

use crate::common::FindingBase;
use crate::read::{Obj, console_host, epoch_millis_string, epoch_time, opt_str, put, put_str, scalar_string};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};

const AUDIT_PRODUCT: &str = "iot-device-defender-audit";
const DETECT_PRODUCT: &str = "iot-device-defender-detect";
const P: Producer = Producer::IotDeviceDefender;

/// The type of audit findings and check summaries of checks that find unusual behaviour (DOC).
pub const UNUSUAL_BEHAVIORS: &str = "Unusual Behaviors";
/// The type of other audit findings (DOC, with its singular "Check").
pub const AUDIT_FINDING_TYPE: &str = "Software and Configuration Check/Vulnerabilities";
/// The type of other check summaries (DOC example).
pub const CHECK_SUMMARY_TYPE: &str = "Software and Configuration Check/Vulnerabilities/CVE";

/// The severity of an audit check (DOC: the IoT Device Defender audit check pages); MEDIUM for a
/// check that is not listed (INF).
pub fn check_severity(check: &str) -> &'static str {
    match check {
        "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"
        | "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"
        | "CA_CERTIFICATE_KEY_QUALITY_CHECK"
        | "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK"
        | "DEVICE_CERTIFICATE_SHARED_CHECK"
        | "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK"
        | "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
        | "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK"
        | "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK" => "CRITICAL",
        "CONFLICTING_CLIENT_IDS_CHECK" => "HIGH",
        "LOGGING_DISABLED_CHECK" | "DEVICE_CERTIFICATE_AGE_CHECK" => "LOW",
        _ => "MEDIUM",
    }
}

/// Whether a check finds unusual behaviour rather than a configuration weakness (DOC).
fn is_behavior_check(check: &str) -> bool {
    matches!(check, "CONFLICTING_CLIENT_IDS_CHECK" | "DEVICE_CERTIFICATE_SHARED_CHECK")
}

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    event.get("source").is_none() && input_kind(event).is_some()
}

enum Input<'a> {
    AuditFindings(Vec<(String, &'a Value)>),
    AuditTask,
    Violations(Vec<(String, &'a Value)>),
}

fn is_audit_finding(v: &Value) -> bool {
    v.get("findingId").is_some() && v.get("checkName").is_some()
}

fn is_violation(v: &Value) -> bool {
    v.get("violationId").is_some() && v.get("securityProfileName").is_some()
}

fn input_kind(event: &Value) -> Option<Input<'_>> {
    let listed = |key: &str, shape: fn(&Value) -> bool| -> Option<Vec<(String, &Value)>> {
        match event.get(key) {
            Some(Value::Array(items)) if items.first().is_some_and(shape) => {
                Some(items.iter().enumerate().map(|(i, v)| (format!("{key}[{i}]"), v)).collect())
            }
            _ => None,
        }
    };
    if let Some(items) = listed("findings", is_audit_finding) {
        return Some(Input::AuditFindings(items));
    }
    if let Some(item) = event.get("finding").filter(|f| is_audit_finding(f)) {
        return Some(Input::AuditFindings(vec![("finding".to_owned(), item)]));
    }
    if event.get("auditDetails").is_some_and(Value::is_object) && event.get("taskType").is_some() {
        return Some(Input::AuditTask);
    }
    listed("violationEvents", is_violation).or_else(|| listed("activeViolations", is_violation)).map(Input::Violations)
}

/// Where the results belong: the outputs name neither account nor Region.
struct Place<'a> {
    account: &'a str,
    region: &'a str,
    partition: &'static str,
}

fn place<'a>(event: &'a Value, options: &'a ConvertOptions) -> Result<Place<'a>, ConvertError> {
    let account = opt_str(event, "accountId")
        .or_else(|| opt_str(event, "awsAccountId"))
        .or(options.default_account.as_deref())
        .ok_or_else(|| {
            ConvertError::new(
                P,
                "accountId is missing: IoT Device Defender's API outputs name no account, set the default account \
                 or add \"accountId\" next to the results",
            )
        })?;
    let region = opt_str(event, "region").or(options.default_region.as_deref()).ok_or_else(|| {
        ConvertError::new(
            P,
            "region is missing: IoT Device Defender's API outputs name no Region, set the default Region or add \
             \"region\" next to the results",
        )
    })?;
    Ok(Place { account, region, partition: crate::common::partition_of(region) })
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    crate::read::validated(P, convert_unchecked(event, options))
}

fn convert_unchecked(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    let kind = if event.get("source").is_none() { input_kind(event) } else { None };
    let Some(kind) = kind else {
        return Err(ConvertError::new(
            P,
            "not an IoT Device Defender output: expected list-audit-findings ({\"findings\": [...]}), \
             describe-audit-task ({\"taskType\": ..., \"auditDetails\": {...}}) or list-violation-events \
             ({\"violationEvents\": [...]})",
        ));
    };
    let place = place(event, options)?;
    match kind {
        Input::AuditFindings(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (path, item) in items {
                if !is_audit_finding(item) {
                    return Err(ConvertError::new(
                        P,
                        format!("{path} is not an audit finding (it needs findingId and checkName)"),
                    ));
                }
                out.push(audit_finding(item, &path, &place)?);
            }
            Ok(Conversion::Findings(out))
        }
        Input::AuditTask => check_summaries(event, &place),
        Input::Violations(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (path, item) in items {
                if !is_violation(item) {
                    return Err(ConvertError::new(
                        P,
                        format!("{path} is not a violation (it needs violationId and securityProfileName)"),
                    ));
                }
                out.push(violation(item, &path, &place)?);
            }
            Ok(Conversion::Findings(out))
        }
    }
}

/// A timestamp member given in epoch seconds (with a fraction) or milliseconds.
fn epoch_member(d: &Obj<'_>, key: &str) -> Result<Option<String>, ConvertError> {
    match d.value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => epoch_time(v)
            .map(Some)
            .ok_or_else(|| d.error(format!("{} is not a timestamp: {}", d.field(key), crate::read::short(v)))),
    }
}

// ---------------------------------------------------------------------------------------------
// Audit findings.

/// The members of a `resourceIdentifier` that make up the resource's part of the Id, in order.
const IDENTIFIER_MEMBERS: &[(&str, &[&str])] = &[
    ("deviceCertificateId", &[]),
    ("caCertificateId", &[]),
    ("cognitoIdentityPoolId", &[]),
    ("clientId", &[]),
    ("policyVersionIdentifier", &["policyName", "policyVersionId"]),
    ("account", &[]),
    ("iamRoleArn", &[]),
    ("roleAliasArn", &[]),
    ("issuerCertificateIdentifier", &["issuerCertificateSubject", "issuerId", "issuerCertificateSerialNumber"]),
    ("deviceCertificateArn", &[]),
];

/// The resource's identifier as (member name, value) leaves, in a fixed order: the known members
/// first, then any other member by name.
fn identifier_leaves(identifier: &Value) -> Vec<(String, String)> {
    let mut leaves = Vec::new();
    let Some(map) = identifier.as_object() else { return leaves };
    let push_value = |name: &str, value: &Value, leaves: &mut Vec<(String, String)>| match value {
        Value::Object(inner) => {
            for (k, v) in inner {
                if let Some(s) = scalar_string(v) {
                    leaves.push((k.clone(), s));
                }
            }
        }
        other => {
            if let Some(s) = scalar_string(other) {
                leaves.push((name.to_owned(), s));
            }
        }
    };
    for (member, nested) in IDENTIFIER_MEMBERS {
        let Some(value) = map.get(*member) else { continue };
        if nested.is_empty() {
            push_value(member, value, &mut leaves);
        } else {
            for key in *nested {
                if let Some(s) = value.get(*key).and_then(scalar_string) {
                    leaves.push(((*key).to_owned(), s));
                }
            }
        }
    }
    for (member, value) in map {
        if !IDENTIFIER_MEMBERS.iter().any(|(m, _)| m == member) {
            push_value(member, value, &mut leaves);
        }
    }
    leaves
}

/// `IOT_POLICY` → `AwsIotPolicy` (DOC); other resource types after the same pattern (INF).
pub fn asff_resource_type(resource_type: &str) -> String {
    match resource_type {
        "IAM_ROLE" => "AwsIamRole".to_owned(),
        "COGNITO_IDENTITY_POOL" => "AwsCognitoIdentityPool".to_owned(),
        "ACCOUNT_SETTINGS" => "AwsAccount".to_owned(),
        other => {
            let rest = other.strip_prefix("IOT_").unwrap_or(other);
            let camel: String = rest
                .split('_')
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let lower = w.to_ascii_lowercase();
                    let mut chars = lower.chars();
                    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
                })
                .collect();
            format!("AwsIot{camel}")
        }
    }
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn audit_finding(item: &Value, path: &str, place: &Place<'_>) -> Result<Map<String, Value>, ConvertError> {
    let d = Obj::new(item, path, P);
    let finding_id = d.req_str("findingId")?;
    let check = d.req_str("checkName")?;
    let task_id = d.opt_str("taskId");
    let resource = d
        .opt_obj("nonCompliantResource")?
        .ok_or_else(|| d.error(format!("{} is missing", d.field("nonCompliantResource"))))?;
    let r = Obj::new(resource, "nonCompliantResource", P);
    let resource_type = r
        .req_str("resourceType")
        .map_err(|_| d.error(format!("{}.resourceType is missing or not a string", d.field("nonCompliantResource"))))?;
    let identifier = resource.get("resourceIdentifier").unwrap_or(&Value::Null);
    let leaves = identifier_leaves(identifier);
    if leaves.is_empty() {
        return Err(d.error(format!("{}.resourceIdentifier names no resource", d.field("nonCompliantResource"))));
    }
    let reason_code = d.opt_str("reasonForNonComplianceCode");
    let reason = d.opt_str("reasonForNonCompliance");
    let created_at = match epoch_member(&d, "findingTime")? {
        Some(t) => t,
        None => epoch_member(&d, "taskStartTime")?
            .ok_or_else(|| d.error(format!("{} is missing", d.field("findingTime"))))?,
    };
    let label = match d.opt_str("severity") {
        Some(s) => match s.to_ascii_uppercase().as_str() {
            "CRITICAL" => "CRITICAL",
            "HIGH" => "HIGH",
            "MEDIUM" => "MEDIUM",
            "LOW" => "LOW",
            _ => {
                return Err(d.error(format!(
                    "{} is not an audit severity (CRITICAL, HIGH, MEDIUM, LOW): {s}",
                    d.field("severity")
                )));
            }
        },
        None => check_severity(check),
    };
    let values: Vec<&str> = leaves.iter().map(|(_, v)| v.as_str()).collect();
    let mut id_parts = vec![place.account, resource_type];
    id_parts.extend(values.iter().copied());
    id_parts.push(check);
    id_parts.extend(reason_code);
    let title = match reason_code {
        Some(code) => format!("{check}: {code}"),
        None => check.to_owned(),
    };
    let by_task = task_id.map_or_else(|| "an Audit task".to_owned(), |t| format!("Audit task {t}"));
    let mut description =
        format!("{resource_type} {} is reported as non-compliant for {check} by {by_task}.", values.join(":"));
    if let Some(reason) = reason {
        description.push_str(&format!(" The non-compliant reason is {reason}"));
        if !reason.ends_with('.') {
            description.push('.');
        }
    }
    let types = if is_behavior_check(check) { UNUSUAL_BEHAVIORS } else { AUDIT_FINDING_TYPE };
    let mut doc = FindingBase {
        product_key: AUDIT_PRODUCT,
        region: place.region,
        account: place.account,
        id: id_parts.join("/"),
        generator_id: finding_id.to_owned(),
        types: vec![types.to_owned()],
        created_at: created_at.clone(),
        updated_at: created_at,
        severity_label: label,
        title,
        description,
    }
    .into_finding();

    let leaf = |name: &str| leaves.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let is_policy = resource_type == "IOT_POLICY";
    let resource_id = if is_policy { leaf("policyName").unwrap_or(values[0]).to_owned() } else { values.join("/") };
    let region = place.region;
    let console = format!("https://{}/iot/home?region={region}#", console_host(region));
    let source_url = match (resource_type, leaves.first()) {
        ("IOT_POLICY", _) => format!("{console}/policy/{resource_id}"),
        ("DEVICE_CERTIFICATE", Some((_, id))) => format!("{console}/certificate/{id}"),
        ("CA_CERTIFICATE", Some((_, id))) => format!("{console}/cacertificate/{id}"),
        _ => match task_id {
            Some(t) => format!("{console}/dd/audit/results/{t}/{check}"),
            None => format!("{console}/dd/audit/results"),
        },
    };
    doc.insert("SourceUrl".into(), json!(source_url));

    let mut fields = Map::new();
    fields.insert("CheckName".into(), json!(check));
    put_str(&mut fields, "TaskId", task_id);
    put_str(&mut fields, "TaskType", d.opt_str("taskType"));
    if is_policy {
        put_str(&mut fields, "PolicyName", leaf("policyName"));
        put_str(&mut fields, "PolicyVersionId", leaf("policyVersionId"));
    } else {
        for (name, value) in &leaves {
            fields.insert(capitalized(name), json!(value));
        }
    }
    put(&mut fields, "IsSuppressed", item.get("isSuppressed").and_then(scalar_string).map(Value::String));
    put_str(&mut fields, "ReasonForNonComplianceCode", reason_code);
    fields.insert("ResourceType".into(), json!(resource_type));
    fields.insert("FindingId".into(), json!(finding_id));
    fields.insert("ReportType".into(), json!("AuditFinding"));
    put(&mut fields, "TaskStartTime", item.get("taskStartTime").and_then(epoch_millis_string).map(Value::String));
    doc.insert("ProductFields".into(), Value::Object(fields));

    let mut other = Map::new();
    if is_policy {
        put_str(&mut other, "PolicyVersionId", leaf("policyVersionId"));
    } else if let Some(info) = resource.get("additionalInfo").and_then(Value::as_object) {
        // INF: the documentation shows Details only for policies.
        for (k, v) in info {
            if let Some(s) = scalar_string(v) {
                other.insert(k.clone(), json!(s));
            }
        }
    }
    let mut res = Map::new();
    res.insert("Type".into(), json!(asff_resource_type(resource_type)));
    res.insert("Id".into(), json!(resource_id));
    res.insert("Partition".into(), json!(place.partition));
    res.insert("Region".into(), json!(region));
    if !other.is_empty() {
        res.insert("Details".into(), json!({ "Other": other }));
    }
    doc.insert("Resources".into(), json!([res]));
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// Check summaries.

fn check_summaries(task: &Value, place: &Place<'_>) -> Result<Conversion, ConvertError> {
    let t = Obj::new(task, "", P);
    let task_type = t.req_str("taskType")?;
    let task_status = t.opt_str("taskStatus").unwrap_or("COMPLETED");
    if matches!(task_status, "IN_PROGRESS" | "FAILED") {
        return Ok(Conversion::NoFinding(format!(
            "the audit task is {task_status}: IoT Device Defender sends check summaries when a task completes \
             (or archives them when it is canceled)"
        )));
    }
    let started = t.value.get("taskStartTime").ok_or_else(|| t.error("taskStartTime is missing"))?;
    let created_at = epoch_time(started)
        .ok_or_else(|| t.error(format!("taskStartTime is not a timestamp: {}", crate::read::short(started))))?;
    let started_ms = epoch_millis_string(started).unwrap_or_default();
    let schedule = t.opt_str("scheduledAuditName");
    let task_id = t.opt_str("taskId");
    // INF: describe-audit-task does not repeat the task id; without one the task is named by type,
    // schedule and start time (stable across repeated conversions of the same output).
    let task_name =
        task_id.map_or_else(|| format!("{task_type}/{}/{started_ms}", schedule.unwrap_or("on-demand")), str::to_owned);
    let Some(details) = task.get("auditDetails").and_then(Value::as_object) else {
        return Err(t.error("auditDetails must be an object"));
    };
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    for (check, summary) in details {
        let s = Obj::new(summary, "auditDetails", P);
        let run_status = s.opt_str("checkRunStatus").unwrap_or("COMPLETED_NON_COMPLIANT");
        let archived = match run_status {
            _ if task_status == "CANCELED" => true,
            "COMPLETED_NON_COMPLIANT" => false,
            "COMPLETED_COMPLIANT" | "CANCELED" => true,
            other => {
                skipped.push(format!("{check} is {other}"));
                continue;
            }
        };
        let count = |key: &str| summary.get(key).and_then(Value::as_i64);
        let non_compliant = count("nonCompliantResourcesCount").unwrap_or(0);
        let total = count("totalResourcesCount").unwrap_or(0);
        let percentage = if total > 0 { non_compliant as f64 * 100.0 / total as f64 } else { 0.0 };
        let title = if task_status == "CANCELED" || run_status == "CANCELED" {
            format!("{check} Summary: Canceled")
        } else {
            format!("{check} Summary: Completed with {non_compliant} non-compliant resources")
        };
        let task_phrase = match (task_id, schedule) {
            (Some(id), Some(name)) => format!("Task {id} of scheduled Audit {name}"),
            (Some(id), None) => format!("Task {id} of on-demand Audit"),
            (None, Some(name)) => format!("The task of scheduled Audit {name} started at {created_at}"),
            (None, None) => format!("The on-demand Audit task started at {created_at}"),
        };
        let description = format!(
            "{task_phrase} completes. {non_compliant} non-compliant resources are found for {check} out of {total} \
             resources in the account. The percentage of non-compliant resources is {percentage:.1}%."
        );
        let types = if is_behavior_check(check) { UNUSUAL_BEHAVIORS } else { CHECK_SUMMARY_TYPE };
        let mut doc = FindingBase {
            product_key: AUDIT_PRODUCT,
            region: place.region,
            account: place.account,
            id: format!("{}/{task_type}/{}/{check}", place.account, schedule.unwrap_or(&task_name)),
            generator_id: task_name.clone(),
            types: vec![types.to_owned()],
            created_at: created_at.clone(),
            updated_at: created_at.clone(),
            severity_label: check_severity(check),
            title,
            description,
        }
        .into_finding();
        let console =
            format!("https://{}/iot/home?region={}#/dd/audit/results", console_host(place.region), place.region);
        let url = match task_id {
            Some(id) => format!("{console}/{id}/{check}"),
            None => console,
        };
        doc.insert("SourceUrl".into(), json!(url));
        let mut fields = Map::new();
        put_str(&mut fields, "TaskId", task_id);
        fields.insert("TaskType".into(), json!(task_type));
        put_str(&mut fields, "ScheduledAuditName", schedule);
        fields.insert("CheckName".into(), json!(check));
        fields.insert("ReportType".into(), json!("CheckSummary"));
        fields.insert("CheckRunStatus".into(), json!(run_status));
        // The documented key, misspelt as the service writes it.
        fields.insert("NonComopliantResourcesCount".into(), json!(non_compliant.to_string()));
        put(
            &mut fields,
            "SuppressedNonCompliantResourcesCount",
            summary.get("suppressedNonCompliantResourcesCount").and_then(scalar_string).map(Value::String),
        );
        fields.insert("TotalResourcesCount".into(), json!(total.to_string()));
        doc.insert("ProductFields".into(), Value::Object(fields));
        doc.insert("Resources".into(), json!([{ "Type": "AwsIotAuditTask", "Id": task_name, "Region": place.region }]));
        if archived {
            doc.insert("RecordState".into(), json!("ARCHIVED"));
        }
        findings.push(doc);
    }
    Ok(if findings.is_empty() {
        Conversion::NoFinding(if skipped.is_empty() {
            "the audit task has no check results".to_owned()
        } else {
            format!("no check has completed: {}", skipped.join(", "))
        })
    } else {
        Conversion::Findings(findings)
    })
}

// ---------------------------------------------------------------------------------------------
// Detect violations.

/// `STATIC`, `STATISTICAL` or `ML`, from the behavior's criteria.
fn criteria_type(criteria: Option<&Value>) -> &'static str {
    match criteria {
        Some(c) if c.get("mlDetectionConfig").is_some() => "ML",
        Some(c) if c.get("statisticalThreshold").is_some() => "STATISTICAL",
        _ => "STATIC",
    }
}

/// A behavior's `criteria.value` as text (`1`, `10.0.0.0/8,192.168.0.0/16`).
fn metric_value_text(value: &Value) -> Option<String> {
    for key in ["count", "number"] {
        if let Some(s) = value.get(key).and_then(scalar_string) {
            return Some(s);
        }
    }
    for key in ["cidrs", "ports", "numbers", "strings"] {
        if let Some(items) = value.get(key).and_then(Value::as_array) {
            let parts: Vec<String> = items.iter().filter_map(scalar_string).collect();
            if !parts.is_empty() {
                return Some(parts.join(","));
            }
        }
    }
    None
}

fn violation(item: &Value, path: &str, place: &Place<'_>) -> Result<Map<String, Value>, ConvertError> {
    let d = Obj::new(item, path, P);
    let violation_id = d.req_str("violationId")?;
    let thing = d.req_str("thingName")?;
    let profile = d.req_str("securityProfileName")?;
    let behavior = d.opt_obj("behavior")?;
    let behavior_name = behavior.and_then(|b| opt_str(b, "name")).unwrap_or("unnamed");
    let criteria = behavior.and_then(|b| b.get("criteria"));
    let kind = criteria_type(criteria);
    let metric = behavior.and_then(|b| opt_str(b, "metric"));
    let event_type = d.opt_str("violationEventType").unwrap_or("in-alarm");
    let event_time = epoch_member(&d, "violationEventTime")?;
    let start_time = epoch_member(&d, "violationStartTime")?;
    let last_time = epoch_member(&d, "lastViolationTime")?;
    let created_at = start_time
        .clone()
        .or_else(|| event_time.clone())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("violationEventTime"))))?;
    let updated_at = event_time.or(last_time).unwrap_or_else(|| created_at.clone());
    let archived = matches!(event_type, "alarm-cleared" | "alarm-invalidated");

    let operator = criteria.and_then(|c| opt_str(c, "comparisonOperator"));
    let value = criteria.and_then(|c| c.get("value")).and_then(metric_value_text);
    let metric_text = metric.unwrap_or("its metric");
    let condition = match (kind, operator, value.as_deref()) {
        ("ML", _, _) => {
            let level = criteria
                .and_then(|c| c.get("mlDetectionConfig"))
                .and_then(|m| opt_str(m, "confidenceLevel"))
                .unwrap_or("unknown");
            format!("{metric_text} (ML Detect, confidence level {level})")
        }
        ("STATISTICAL", Some(op), _) => {
            let statistic = criteria
                .and_then(|c| c.get("statisticalThreshold"))
                .and_then(|s| opt_str(s, "statistic"))
                .unwrap_or("statistical threshold");
            format!("{metric_text} {op} {statistic}")
        }
        (_, Some(op), Some(v)) => format!("{metric_text} {op} {v}"),
        _ => metric_text.to_owned(),
    };
    let title = format!("Registered thing {thing} is in alarm for {kind} behavior {behavior_name}.");
    let description = format!(
        "Registered thing {thing} violates {kind} behavior {behavior_name} of security profile {profile}. \
         Violation was triggered because the device did not conform to {condition}."
    );
    let region = place.region;
    let partition = place.partition;
    let account = place.account;
    let mut doc = FindingBase {
        product_key: DETECT_PRODUCT,
        region,
        account,
        id: violation_id.to_owned(),
        generator_id: format!("arn:{partition}:iot:{region}:{account}:securityprofile/{profile}"),
        types: vec![UNUSUAL_BEHAVIORS.to_owned()],
        created_at,
        updated_at,
        // INF: the documented example is MEDIUM; Detect has no severity of its own.
        severity_label: "MEDIUM",
        title,
        description,
    }
    .into_finding();
    let console = format!("https://{}/iot/home?region={region}#", console_host(region));
    doc.insert("SourceUrl".into(), json!(format!("{console}/dd/securityProfile/{profile}?tab=violations")));

    let mut fields = Map::new();
    put_str(&mut fields, "ComparisonOperator", operator);
    fields.insert("BehaviorName".into(), json!(behavior_name));
    fields.insert("ViolationId".into(), json!(violation_id));
    let start_ms = item
        .get("violationStartTime")
        .and_then(epoch_millis_string)
        .or_else(|| if archived { None } else { item.get("violationEventTime").and_then(epoch_millis_string) });
    put(&mut fields, "ViolationStartTime", start_ms.map(Value::String));
    put(
        &mut fields,
        "SuppressAlerts",
        behavior.and_then(|b| b.get("suppressAlerts")).and_then(scalar_string).map(Value::String),
    );
    for (field, key) in [
        ("ConsecutiveDatapointsToAlarm", "consecutiveDatapointsToAlarm"),
        ("ConsecutiveDatapointsToClear", "consecutiveDatapointsToClear"),
        ("DurationSeconds", "durationSeconds"),
    ] {
        put(&mut fields, field, criteria.and_then(|c| c.get(key)).and_then(scalar_string).map(Value::String));
    }
    put(
        &mut fields,
        "Count",
        criteria.and_then(|c| c.get("value")).and_then(|v| v.get("count")).and_then(scalar_string).map(Value::String),
    );
    put_str(&mut fields, "MetricName", metric);
    fields.insert("BehaviorCriteriaType".into(), json!(kind));
    fields.insert("ThingName".into(), json!(thing));
    fields.insert("SecurityProfileName".into(), json!(profile));
    // INF: not in the documented example, kept so that a cleared violation says why it is archived.
    fields.insert("ViolationEventType".into(), json!(event_type));
    doc.insert("ProductFields".into(), Value::Object(fields));
    doc.insert(
        "Resources".into(),
        json!([{
            "Type": "AwsIotRegisteredThing",
            "Id": thing,
            "Region": region,
            "Details": { "Other": {
                "SourceUrl": format!("{console}/thing/{thing}?tab=violations"),
                "IsRegisteredThing": "true",
                "ThingArn": format!("arn:{partition}:iot:{region}:{account}:thing/{thing}"),
            } },
        }]),
    );
    if archived {
        doc.insert("RecordState".into(), json!("ARCHIVED"));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_follow_the_documented_pattern() {
        assert_eq!(asff_resource_type("IOT_POLICY"), "AwsIotPolicy");
        assert_eq!(asff_resource_type("DEVICE_CERTIFICATE"), "AwsIotDeviceCertificate");
        assert_eq!(asff_resource_type("IAM_ROLE"), "AwsIamRole");
        assert_eq!(asff_resource_type(""), "AwsIot");
    }

    #[test]
    fn identifiers_become_id_parts_in_a_fixed_order() {
        let id = json!({"policyVersionIdentifier": {"policyVersionId": "1", "policyName": "p"}});
        assert_eq!(
            identifier_leaves(&id),
            [("policyName".to_owned(), "p".to_owned()), ("policyVersionId".to_owned(), "1".to_owned())]
        );
        assert!(identifier_leaves(&json!("x")).is_empty());
    }
}
