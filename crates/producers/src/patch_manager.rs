//! AWS Systems Manager Patch Manager: a managed node out of patch compliance → one finding with
//! a PatchSummary (research note `producers.md` §10).
//!
//! Patch Manager forwards its findings to Security Hub internally, so no native event is the
//! feed itself. Accepted input, the two public shapes closest to it:
//! - the EventBridge event `Configuration Compliance State Change` (`source` `aws.ssm`) with
//!   `compliance-type` `Patch`: `non_compliant` makes a finding; `compliant` and other
//!   compliance types make none;
//! - the output of `DescribeInstancePatchStates` / `DescribeInstancePatchStatesForPatchGroup`
//!   (`InstancePatchStates[]`), or one `InstancePatchState`: one finding per non-compliant node.
//!   The output names neither account nor Region: `ConvertOptions::default_account` and
//!   `default_region` must give them.
//!
//! Rules:
//! - DOC: "only forwards a finding … if the operation discovered the managed node to be
//!   noncompliant", and sends no update once the node is compliant: a compliant node (or a
//!   `compliant` event) is [`Conversion::NoFinding`]; the earlier finding stays until it is
//!   resolved by hand (or expires after 90 days).
//! - Non-compliant node (DOC for the counts, INF for the rejected count): MissingCount,
//!   FailedCount, InstalledPendingRebootCount or InstalledRejectedCount above zero (or one of the
//!   Critical/Security/Other non-compliant counts).
//! - Severity (DOC rule, INF mapping): the most severe non-compliant patch. The event's
//!   `severity` gives it; from the API, CriticalNonCompliantCount > 0 gives CRITICAL; otherwise
//!   the level is unknown and, as every published example shows, INFORMATIONAL.
//! - Id (DOC form `…:instance/<id>/document/<document>/run-command/<command id>`): neither input
//!   names the run command or its document (INF: `AWS-RunPatchBaseline`, the default). The event's
//!   `id` (from the API, the `SnapshotId` of the patching operation) stands for the command id,
//!   so that one scan makes one finding, as per command in Security Hub, and a second delivery of
//!   the same event is the same finding. GeneratorId is that same value, as it is the command id
//!   in the published examples.
//! - SourceUrl: the current console's Fleet Manager page (the published examples from 2020–2021
//!   show the older `managed-instances` path).

use crate::common::{FindingBase, asff_timestamp, checked, is_account_id, partition_of, str_at};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};

const PRODUCT_KEY: &str = "ssm-patch-manager";
const DETAIL_TYPE: &str = "Configuration Compliance State Change";
const DOCUMENT: &str = "AWS-RunPatchBaseline";
const TITLE: &str = "Systems Manager Patch Summary - Managed Instance Non-Compliant";
const DESCRIPTION: &str = "This AWS control checks whether each instance that is managed by AWS Systems Manager is in compliance with the rules of the patch baseline that applies to that instance when a compliance Scan runs.";
const TYPE: &str = "Software & Configuration Checks/Patch Management/Compliance";
const REMEDIATION_TEXT: &str = "For information about bringing instances into patch compliance, see 'Remediating out-of-compliance instances (Patch Manager)'.";
const REMEDIATION_URL: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-compliance-remediation.html";

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    if str_at(event, &["source"]) == Some("aws.ssm") {
        return str_at(event, &["detail-type"]) == Some(DETAIL_TYPE);
    }
    event.get("InstancePatchStates").is_some_and(Value::is_array) || is_patch_state(event)
}

fn is_patch_state(value: &Value) -> bool {
    ["InstanceId", "BaselineId", "OperationEndTime"].iter().all(|k| value.get(k).is_some())
}

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(Producer::PatchManager, message)
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if str_at(event, &["source"]) == Some("aws.ssm") {
        return convert_event(event);
    }
    let states: Vec<&Value> = if let Some(list) = event.get("InstancePatchStates") {
        list.as_array().ok_or_else(|| err("InstancePatchStates is not a list"))?.iter().collect()
    } else if is_patch_state(event) {
        vec![event]
    } else {
        return Err(err(
            "expected a Configuration Compliance State Change event (source aws.ssm), DescribeInstancePatchStates output or an InstancePatchState",
        ));
    };
    let mut findings = Vec::new();
    for (i, state) in states.iter().enumerate() {
        if let Some(f) = convert_state(state, i, options)? {
            findings.push(f);
        }
    }
    Ok(if findings.is_empty() {
        Conversion::NoFinding(format!(
            "all {} managed nodes are patch compliant: Patch Manager sends findings for non-compliant nodes only",
            states.len()
        ))
    } else {
        Conversion::Findings(findings)
    })
}

fn convert_event(event: &Value) -> Result<Conversion, ConvertError> {
    let kind = str_at(event, &["detail-type"]).unwrap_or("(no detail-type)");
    if kind != DETAIL_TYPE {
        return Ok(Conversion::NoFinding(format!("Systems Manager event '{kind}' is not a compliance state change")));
    }
    let detail = event.get("detail").filter(|d| d.is_object()).ok_or_else(|| err("detail is missing"))?;
    let field = |value: &'_ Value, key: &str, prefix: &str| -> Result<String, ConvertError> {
        str_at(value, &[key])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| err(format!("{prefix}{key} is missing")))
    };
    let compliance_type = field(detail, "compliance-type", "detail.")?;
    if !compliance_type.eq_ignore_ascii_case("Patch") {
        return Ok(Conversion::NoFinding(format!(
            "compliance type '{compliance_type}' is not Patch: only patch compliance makes Patch Manager findings"
        )));
    }
    let status = field(detail, "compliance-status", "detail.")?;
    match status.to_ascii_lowercase().as_str() {
        "non_compliant" => {}
        "compliant" => {
            return Ok(Conversion::NoFinding(
                "the managed node is patch compliant: Patch Manager sends no finding or update for compliant nodes"
                    .to_owned(),
            ));
        }
        other => {
            return Err(err(format!("detail.compliance-status '{other}' is not compliant or non_compliant")));
        }
    }
    let instance = field(detail, "resource-id", "detail.")?;
    let baseline = field(detail, "patch-baseline-id", "detail.")?;
    let account = field(event, "account", "")?;
    let region = field(event, "region", "")?;
    let event_id = field(event, "id", "")?;
    let time = event.get("time").ok_or_else(|| err("time is missing"))?;
    let time = asff_timestamp(time).ok_or_else(|| err(format!("time is not a timestamp: {time}")))?;
    let severity = match str_at(detail, &["severity"]) {
        Some(s) => {
            severity_of_level(s).ok_or_else(|| err(format!("detail.severity '{s}' is not a compliance severity")))?
        }
        None => "INFORMATIONAL",
    };
    let summary = json!({ "Id": baseline });
    if !is_account_id(&account) {
        return Err(err(format!("account '{account}' is not a 12-digit account id")));
    }
    let f = finding(&Node {
        account: &account,
        region: &region,
        instance: &instance,
        command_stand_in: &event_id,
        time: &time,
        severity,
        summary,
    });
    Ok(Conversion::Findings(vec![checked(Producer::PatchManager, f)?]))
}

/// The severity label of a patch compliance level (`critical`, `HIGH`, `unspecified`, …).
pub fn severity_of_level(level: &str) -> Option<&'static str> {
    match level.to_ascii_uppercase().as_str() {
        "CRITICAL" => Some("CRITICAL"),
        "HIGH" => Some("HIGH"),
        "MEDIUM" => Some("MEDIUM"),
        "LOW" => Some("LOW"),
        "INFORMATIONAL" | "UNSPECIFIED" => Some("INFORMATIONAL"),
        _ => None,
    }
}

fn count(state: &Value, key: &str) -> i64 {
    state.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// Whether an InstancePatchState is non-compliant (see the module documentation).
pub fn is_non_compliant(state: &Value) -> bool {
    [
        "MissingCount",
        "FailedCount",
        "InstalledPendingRebootCount",
        "InstalledRejectedCount",
        "CriticalNonCompliantCount",
        "SecurityNonCompliantCount",
        "OtherNonCompliantCount",
    ]
    .iter()
    .any(|k| count(state, k) > 0)
}

fn convert_state(
    state: &Value,
    index: usize,
    options: &ConvertOptions,
) -> Result<Option<Map<String, Value>>, ConvertError> {
    let prefix = format!("InstancePatchStates[{index}].");
    if !state.is_object() {
        return Err(err(format!("{prefix} is not an object")));
    }
    let text = |key: &str| -> Result<&str, ConvertError> {
        str_at(state, &[key]).filter(|s| !s.is_empty()).ok_or_else(|| err(format!("{prefix}{key} is missing")))
    };
    let instance = text("InstanceId")?;
    let baseline = text("BaselineId")?;
    for key in ["MissingCount", "FailedCount", "InstalledCount"] {
        if state.get(key).is_some_and(|v| !v.is_i64()) {
            return Err(err(format!("{prefix}{key} is not a number")));
        }
    }
    if !is_non_compliant(state) {
        return Ok(None);
    }
    let end = state.get("OperationEndTime").ok_or_else(|| err(format!("{prefix}OperationEndTime is missing")))?;
    let end = asff_timestamp(end).ok_or_else(|| err(format!("{prefix}OperationEndTime is not a timestamp: {end}")))?;
    let account = options.default_account.as_deref().ok_or_else(|| {
        err("InstancePatchStates name no account: give the account (ConvertOptions::default_account)")
    })?;
    if !is_account_id(account) {
        return Err(err(format!("the account '{account}' given is not a 12-digit account id")));
    }
    let region = options
        .default_region
        .as_deref()
        .ok_or_else(|| err("InstancePatchStates name no Region: give the Region (ConvertOptions::default_region)"))?;
    // The patching operation's snapshot stands for the run command (see the module documentation).
    let stand_in = str_at(state, &["SnapshotId"])
        .filter(|s| !s.is_empty())
        .map_or_else(|| crate::common::sha256_lower_hex(&format!("{instance}|{baseline}|{end}")), str::to_owned);
    let mut summary = Map::new();
    summary.insert("Id".into(), json!(baseline));
    for (from, to) in [
        ("InstalledCount", "InstalledCount"),
        ("MissingCount", "MissingCount"),
        ("FailedCount", "FailedCount"),
        ("InstalledOtherCount", "InstalledOtherCount"),
        ("InstalledRejectedCount", "InstalledRejectedCount"),
        ("InstalledPendingRebootCount", "InstalledPendingReboot"),
    ] {
        if let Some(n) = state.get(from).and_then(Value::as_i64) {
            summary.insert(to.into(), json!(n));
        }
    }
    if let Some(start) = state.get("OperationStartTime").and_then(asff_timestamp) {
        summary.insert("OperationStartTime".into(), json!(start));
    }
    summary.insert("OperationEndTime".into(), json!(end));
    if let Some(reboot) = str_at(state, &["RebootOption"]) {
        summary.insert("RebootOption".into(), json!(reboot));
    }
    if let Some(op) = str_at(state, &["Operation"]) {
        summary.insert("Operation".into(), json!(op.to_ascii_uppercase()));
    }
    let severity = if count(state, "CriticalNonCompliantCount") > 0 { "CRITICAL" } else { "INFORMATIONAL" };
    let doc = finding(&Node {
        account,
        region,
        instance,
        command_stand_in: &stand_in,
        time: &end,
        severity,
        summary: Value::Object(summary),
    });
    checked(Producer::PatchManager, doc).map(Some)
}

struct Node<'a> {
    account: &'a str,
    region: &'a str,
    instance: &'a str,
    command_stand_in: &'a str,
    time: &'a str,
    severity: &'a str,
    summary: Value,
}

/// The console domain of a partition.
fn console_domain(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    }
}

fn finding(node: &Node<'_>) -> Map<String, Value> {
    let partition = partition_of(node.region);
    let Node { account, region, instance, command_stand_in, .. } = node;
    let id = format!(
        "arn:{partition}:patchmanager:{region}:{account}:instance/{instance}/document/{DOCUMENT}/run-command/{command_stand_in}"
    );
    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region,
        account,
        id,
        generator_id: (*command_stand_in).to_owned(),
        types: vec![TYPE.to_owned()],
        created_at: node.time.to_owned(),
        updated_at: node.time.to_owned(),
        severity_label: node.severity,
        title: TITLE.to_owned(),
        description: DESCRIPTION.to_owned(),
    }
    .into_finding();
    doc.insert("ProductName".into(), json!("Systems Manager Patch Manager"));
    doc.insert("CompanyName".into(), json!("AWS"));
    doc.insert("Remediation".into(), json!({ "Recommendation": { "Text": REMEDIATION_TEXT, "Url": REMEDIATION_URL } }));
    doc.insert(
        "SourceUrl".into(),
        json!(format!(
            "https://{region}.{}/systems-manager/fleet-manager/{instance}/patch?region={region}",
            console_domain(partition)
        )),
    );
    doc.insert(
        "Resources".into(),
        json!([{ "Type": "AwsEc2Instance", "Id": instance, "Partition": partition, "Region": region }]),
    );
    doc.insert("PatchSummary".into(), node.summary.clone());
    doc
}
