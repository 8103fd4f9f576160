//! OpsCenter work items (OpsItems) for findings, and the way back: a work item's change as a
//! BatchUpdateFindings request (research notes §4).
//!
//! **Documented AWS behaviour** (Systems Manager user guide, "OpsCenter-integrate-with-security-hub"
//! and the OpsItem API): OpsItems are created by default for CRITICAL and HIGH findings, MEDIUM and
//! LOW on request, never INFORMATIONAL; Title, Source and Description come from the finding and
//! Source cannot be edited; severity is "1" (critical) … "4" (low); status Open, InProgress,
//! Resolved; `/aws/dedup` holds `{"dedupString": …}` and suppresses a new OpsItem while a matching
//! one is Open or InProgress (case-insensitively), a Resolved one allows a new; `/aws/resources`
//! holds `[{"arn": …}]`; the integration is bidirectional for **status and severity**.
//!
//! **Third-party** (an OpsCenter backlog runbook): Source is `"Security Hub"` and the dedup string is
//! the finding Id. **Our proposal**: the exact mapping back (Open → NEW, InProgress → NOTIFIED,
//! Resolved → RESOLVED; 1/2/3/4 → CRITICAL/HIGH/MEDIUM/LOW), category `Security`, priority equal to
//! severity, the `SecurityHub*` operational-data keys, no work item for a finding that is
//! RESOLVED, SUPPRESSED, ARCHIVED or a PASSED control, and the Note that names the work item on
//! the finding (so that its history says where the change came from).

use crate::finding::{self, str_at};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const SOURCE: &str = "Security Hub";
pub const CATEGORY: &str = "Security";
/// The severities for which work items are opened unless configured otherwise.
pub const DEFAULT_THRESHOLD: [&str; 2] = ["CRITICAL", "HIGH"];
const TITLE_MAX: usize = 1024;
const DESCRIPTION_MAX: usize = 2048;
const NOTE_MAX: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpsItemStatus {
    Open,
    InProgress,
    Resolved,
}

impl OpsItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpsItemStatus::Open => "Open",
            OpsItemStatus::InProgress => "InProgress",
            OpsItemStatus::Resolved => "Resolved",
        }
    }

    pub fn parse(s: &str) -> Option<OpsItemStatus> {
        Some(match s {
            "Open" => OpsItemStatus::Open,
            "InProgress" => OpsItemStatus::InProgress,
            "Resolved" => OpsItemStatus::Resolved,
            _ => return None,
        })
    }

    /// The finding's `Workflow.Status` for this work-item status.
    pub fn workflow_status(self) -> &'static str {
        match self {
            OpsItemStatus::Open => "NEW",
            OpsItemStatus::InProgress => "NOTIFIED",
            OpsItemStatus::Resolved => "RESOLVED",
        }
    }

    /// Whether a work item in this status keeps another from being opened for the same dedup key.
    pub fn blocks_duplicates(self) -> bool {
        self != OpsItemStatus::Resolved
    }
}

/// OpsItem severity 1 (critical) … 4 (low) for a finding's `Severity.Label`; INFORMATIONAL, which
/// OpsCenter never receives, maps to 4.
pub fn severity_from_label(label: &str) -> u8 {
    match label {
        "CRITICAL" => 1,
        "HIGH" => 2,
        "MEDIUM" => 3,
        _ => 4,
    }
}

/// The `Severity.Label` for an OpsItem severity, `None` outside 1..=4.
pub fn label_from_severity(severity: u8) -> Option<&'static str> {
    Some(match severity {
        1 => "CRITICAL",
        2 => "HIGH",
        3 => "MEDIUM",
        4 => "LOW",
        _ => return None,
    })
}

/// One `OperationalData` entry as the OpsItem API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationalDataValue {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Value")]
    pub value: String,
}

impl OperationalDataValue {
    fn searchable(value: impl Into<String>) -> Self {
        OperationalDataValue { kind: "SearchableString".to_owned(), value: value.into() }
    }
}

/// A work item to create for a finding. The store gives it an id (`oi-…`), a creation time and
/// a version; everything else is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOpsItem {
    pub title: String,
    pub description: String,
    pub source: String,
    /// 1 (critical) … 4 (low).
    pub severity: u8,
    /// 1 … 5; the same as severity.
    pub priority: u8,
    pub category: String,
    pub status: OpsItemStatus,
    /// The finding's identifiers, to update it when the work item changes.
    pub finding_id: String,
    pub product_arn: String,
    /// The finding Id lowercased: OpsCenter's dedup is case-insensitive.
    pub dedup_key: String,
    /// `Resources[].Id`, in order.
    pub related_resources: Vec<String>,
    pub operational_data: BTreeMap<String, OperationalDataValue>,
}

/// Whether a finding should get a work item: its severity is in `threshold_labels` (never
/// INFORMATIONAL), and it is live: not RESOLVED or SUPPRESSED, not ARCHIVED, not a PASSED control.
pub fn should_open(finding: &Map<String, Value>, threshold_labels: &[&str]) -> bool {
    let label = finding::severity_label(finding);
    label != "INFORMATIONAL"
        && threshold_labels.contains(&label)
        && !matches!(finding::workflow_status(finding), "RESOLVED" | "SUPPRESSED")
        && finding::record_state(finding) != "ARCHIVED"
        && finding::compliance_status(finding) != Some("PASSED")
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max).collect() }
}

/// The work item for a finding.
pub fn ops_item_from(finding: &Map<String, Value>) -> NewOpsItem {
    let id = finding::id(finding);
    let product_arn = finding::product_arn(finding);
    let title = cut(str_at(finding, &["Title"]).unwrap_or(id), TITLE_MAX);
    let description = str_at(finding, &["Description"]).filter(|d| !d.trim().is_empty()).unwrap_or(&title);
    let severity = severity_from_label(finding::severity_label(finding));
    let related_resources: Vec<String> = finding::resource_ids(finding).into_iter().map(str::to_owned).collect();

    let mut data = BTreeMap::new();
    data.insert("/aws/dedup".to_owned(), OperationalDataValue::searchable(json!({"dedupString": id}).to_string()));
    let arns: Vec<Value> =
        related_resources.iter().filter(|r| r.starts_with("arn:")).map(|r| json!({"arn": r})).collect();
    if !arns.is_empty() {
        data.insert("/aws/resources".to_owned(), OperationalDataValue::searchable(Value::Array(arns).to_string()));
    }
    let finding_arn = str_at(finding, &["ProductFields", "aws/securityhub/FindingId"])
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{product_arn}/{id}"));
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            data.insert(k.to_owned(), OperationalDataValue::searchable(v));
        }
    };
    put("SecurityHubFindingId", Some(id));
    put("SecurityHubFindingArn", Some(&finding_arn));
    put("SecurityHubProductArn", Some(product_arn));
    put(
        "SecurityHubProductName",
        str_at(finding, &["ProductName"]).or(str_at(finding, &["ProductFields", "aws/securityhub/ProductName"])),
    );
    put("SecurityHubGeneratorId", str_at(finding, &["GeneratorId"]));
    put("SecurityHubAccountId", str_at(finding, &["AwsAccountId"]));
    put("SecurityHubRegion", str_at(finding, &["Region"]));
    put("SecurityHubSeverityLabel", Some(finding::severity_label(finding)));
    put("SecurityHubComplianceStatus", finding::compliance_status(finding));
    put("SecurityHubControlId", finding::control_id(finding).map(|(c, _)| c));

    NewOpsItem {
        title: title.clone(),
        description: cut(description, DESCRIPTION_MAX),
        source: SOURCE.to_owned(),
        severity,
        priority: severity,
        category: CATEGORY.to_owned(),
        status: OpsItemStatus::Open,
        finding_id: id.to_owned(),
        product_arn: product_arn.to_owned(),
        dedup_key: id.to_lowercase(),
        related_resources,
        operational_data: data,
    }
}

/// What a user changed on a work item (the two fields that OpsCenter syncs back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkItemChange {
    pub status: Option<OpsItemStatus>,
    pub severity: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkItemChangeError {
    #[error("a work item change must set the status or the severity")]
    Empty,
    #[error("OpsItem severity must be 1, 2, 3 or 4, not {0}")]
    Severity(u8),
}

/// The BatchUpdateFindings request body for a work item's change: `FindingIdentifiers`, then
/// `Workflow.Status` and/or `Severity.Label`, and a `Note` whose `UpdatedBy` is
/// `opscenter/<ops item id>`. It goes through the same parsing and rules as any
/// BatchUpdateFindings request (`findinghub_hub::update::parse_batch_update`).
pub fn finding_update_request(
    ops_item_id: &str,
    finding_id: &str,
    product_arn: &str,
    change: WorkItemChange,
) -> Result<Value, WorkItemChangeError> {
    if change.status.is_none() && change.severity.is_none() {
        return Err(WorkItemChangeError::Empty);
    }
    let mut body = Map::new();
    body.insert("FindingIdentifiers".to_owned(), json!([{"Id": finding_id, "ProductArn": product_arn}]));
    let mut what = Vec::new();
    if let Some(status) = change.status {
        body.insert("Workflow".to_owned(), json!({"Status": status.workflow_status()}));
        what.push(format!("status {}", status.as_str()));
    }
    if let Some(severity) = change.severity {
        let label = label_from_severity(severity).ok_or(WorkItemChangeError::Severity(severity))?;
        body.insert("Severity".to_owned(), json!({"Label": label}));
        what.push(format!("severity {severity}"));
    }
    let text = cut(&format!("OpsCenter work item {ops_item_id} changed: {}", what.join(", ")), NOTE_MAX);
    body.insert(
        "Note".to_owned(),
        json!({"Text": text, "UpdatedBy": cut(&format!("opscenter/{ops_item_id}"), NOTE_MAX)}),
    );
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use findinghub_hub::update::parse_batch_update;

    #[test]
    fn opens_for_critical_and_high_live_findings_by_default() {
        let control = samples::control_finding(); // HIGH, NEW, ACTIVE, FAILED
        assert!(should_open(&control, &DEFAULT_THRESHOLD));
        let gd = samples::asff(samples::GUARDDUTY_SSH); // MEDIUM
        assert!(!should_open(&gd, &DEFAULT_THRESHOLD));
        assert!(should_open(&gd, &["CRITICAL", "HIGH", "MEDIUM"]), "MEDIUM on request");
        for (field, value) in [
            ("Workflow", json!({"Status": "RESOLVED"})),
            ("Workflow", json!({"Status": "SUPPRESSED"})),
            ("RecordState", json!("ARCHIVED")),
            ("Compliance", json!({"Status": "PASSED", "SecurityControlId": "S3.8"})),
        ] {
            let mut f = control.clone();
            f.insert(field.into(), value.clone());
            assert!(!should_open(&f, &DEFAULT_THRESHOLD), "{field} {value}");
        }
        let mut notified = control.clone();
        notified.insert("Workflow".into(), json!({"Status": "NOTIFIED"}));
        assert!(should_open(&notified, &DEFAULT_THRESHOLD));
        let mut info = control.clone();
        info.insert("Severity".into(), json!({"Label": "INFORMATIONAL"}));
        assert!(!should_open(&info, &["INFORMATIONAL"]), "never INFORMATIONAL");
    }

    #[test]
    fn the_work_item_of_a_control_finding() {
        let f = samples::control_finding();
        let item = ops_item_from(&f);
        assert_eq!(item.title, "S3 general purpose buckets should block public access");
        assert!(item.description.starts_with("This control checks whether an Amazon S3"));
        assert_eq!(item.source, "Security Hub");
        assert_eq!((item.severity, item.priority), (2, 2));
        assert_eq!(item.category, "Security");
        assert_eq!(item.status, OpsItemStatus::Open);
        assert_eq!(item.finding_id, f["Id"]);
        assert_eq!(item.product_arn, "arn:aws:securityhub:us-east-1::product/aws/securityhub");
        assert_eq!(item.dedup_key, item.finding_id.to_lowercase());
        assert_eq!(item.related_resources, vec!["arn:aws:s3:::example-bucket"]);
        let data = &item.operational_data;
        let dedup: Value = serde_json::from_str(&data["/aws/dedup"].value).expect("json");
        assert_eq!(dedup, json!({"dedupString": f["Id"]}));
        assert_eq!(data["/aws/dedup"].kind, "SearchableString");
        let resources: Value = serde_json::from_str(&data["/aws/resources"].value).expect("json");
        assert_eq!(resources, json!([{"arn": "arn:aws:s3:::example-bucket"}]));
        assert_eq!(data["SecurityHubControlId"].value, "S3.8");
        assert_eq!(data["SecurityHubComplianceStatus"].value, "FAILED");
        assert_eq!(data["SecurityHubProductName"].value, "Security Hub");
        assert_eq!(data["SecurityHubFindingArn"].value, f["ProductFields"]["aws/securityhub/FindingId"]);
        for key in data.keys() {
            assert!(key.starts_with("/aws/") || !key.to_lowercase().starts_with("aws"), "reserved prefix: {key}");
        }
    }

    #[test]
    fn non_arn_resources_are_related_but_not_in_aws_resources() {
        let f = samples::asff(samples::GUARDDUTY_RECON);
        let item = ops_item_from(&f);
        assert_eq!(item.related_resources.len(), 2);
        let resources: Value = serde_json::from_str(&item.operational_data["/aws/resources"].value).expect("json");
        assert_eq!(resources, json!([{"arn": "arn:aws:ec2:eu-west-1:123456789012:instance/i-99999999"}]));
        assert_eq!(item.severity, 3);
        assert!(!item.operational_data.contains_key("SecurityHubControlId"));
    }

    #[test]
    fn severities_map_both_ways() {
        for (n, label) in [(1, "CRITICAL"), (2, "HIGH"), (3, "MEDIUM"), (4, "LOW")] {
            assert_eq!(severity_from_label(label), n);
            assert_eq!(label_from_severity(n), Some(label));
        }
        assert_eq!(label_from_severity(0), None);
        assert_eq!(label_from_severity(5), None);
        assert_eq!(severity_from_label("INFORMATIONAL"), 4);
    }

    #[test]
    fn statuses_map_to_workflow_and_dedup() {
        assert_eq!(OpsItemStatus::Open.workflow_status(), "NEW");
        assert_eq!(OpsItemStatus::InProgress.workflow_status(), "NOTIFIED");
        assert_eq!(OpsItemStatus::Resolved.workflow_status(), "RESOLVED");
        assert!(OpsItemStatus::Open.blocks_duplicates() && OpsItemStatus::InProgress.blocks_duplicates());
        assert!(!OpsItemStatus::Resolved.blocks_duplicates());
        for s in [OpsItemStatus::Open, OpsItemStatus::InProgress, OpsItemStatus::Resolved] {
            assert_eq!(OpsItemStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).expect("json"), json!(s.as_str()));
        }
        assert_eq!(OpsItemStatus::parse("Closed"), None);
    }

    #[test]
    fn a_resolved_work_item_becomes_a_batch_update_that_the_hub_accepts() {
        let f = samples::control_finding();
        let item = ops_item_from(&f);
        let change = WorkItemChange { status: Some(OpsItemStatus::Resolved), severity: None };
        let body =
            finding_update_request("oi-0123456789ab", &item.finding_id, &item.product_arn, change).expect("body");
        assert_eq!(body["FindingIdentifiers"], json!([{"Id": f["Id"], "ProductArn": f["ProductArn"]}]));
        assert_eq!(body["Workflow"], json!({"Status": "RESOLVED"}));
        assert!(body.get("Severity").is_none());
        assert_eq!(body["Note"]["UpdatedBy"], "opscenter/oi-0123456789ab");
        assert_eq!(body["Note"]["Text"], "OpsCenter work item oi-0123456789ab changed: status Resolved");
        let parsed = parse_batch_update(&body).expect("a valid BatchUpdateFindings request");
        assert_eq!(parsed.update.workflow_status.as_deref(), Some("RESOLVED"));
        assert_eq!(parsed.identifiers[0].id, item.finding_id);
        assert_eq!(parsed.update.note.map(|n| n.updated_by), Some("opscenter/oi-0123456789ab".to_owned()));
    }

    #[test]
    fn status_and_severity_together_and_the_refusals() {
        let change = WorkItemChange { status: Some(OpsItemStatus::InProgress), severity: Some(1) };
        let body = finding_update_request("oi-1", "id", "arn:p", change).expect("body");
        let parsed = parse_batch_update(&body).expect("valid");
        assert_eq!(parsed.update.workflow_status.as_deref(), Some("NOTIFIED"));
        let sev = parsed.update.severity.expect("severity");
        assert_eq!(sev.get("Label"), Some(&json!("CRITICAL")));
        assert_eq!(sev.get("Normalized"), Some(&json!(90)), "the hub derives Normalized");
        assert_eq!(body["Note"]["Text"], "OpsCenter work item oi-1 changed: status InProgress, severity 1");
        assert_eq!(
            finding_update_request("oi-1", "id", "arn:p", WorkItemChange::default()),
            Err(WorkItemChangeError::Empty)
        );
        assert_eq!(
            finding_update_request("oi-1", "id", "arn:p", WorkItemChange { status: None, severity: Some(5) }),
            Err(WorkItemChangeError::Severity(5))
        );
    }
}
