//! Readers for the few ASFF fields that every receiver shows, so that a card, a work item and an
//! evidence record name the same control, severity and resource for one finding.

use findinghub_asff::severity::label_from_normalized;
use findinghub_asff::timestamp::{Micros, format_timestamp, parse_timestamp};
use serde_json::{Map, Value};

/// A string at a dotted path of plain object members, such as `["Workflow", "Status"]`.
pub fn str_at<'a>(finding: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    let mut v = finding.get(*first)?;
    for key in rest {
        v = v.get(*key)?;
    }
    v.as_str()
}

/// `Id`, or the empty string (a stored finding always has one).
pub fn id(finding: &Map<String, Value>) -> &str {
    str_at(finding, &["Id"]).unwrap_or_default()
}

pub fn product_arn(finding: &Map<String, Value>) -> &str {
    str_at(finding, &["ProductArn"]).unwrap_or_default()
}

/// `Severity.Label`, else the label of `Severity.Normalized` (the deprecated field that old
/// providers still send alone), else `INFORMATIONAL`.
pub fn severity_label(finding: &Map<String, Value>) -> &str {
    if let Some(label) = str_at(finding, &["Severity", "Label"]) {
        return label;
    }
    match finding.get("Severity").and_then(|s| s.get("Normalized")).and_then(Value::as_i64) {
        Some(n) => label_from_normalized(n),
        None => "INFORMATIONAL",
    }
}

/// `Workflow.Status`, else the deprecated `WorkflowState`, else `NEW`.
pub fn workflow_status(finding: &Map<String, Value>) -> &str {
    str_at(finding, &["Workflow", "Status"]).or_else(|| str_at(finding, &["WorkflowState"])).unwrap_or("NEW")
}

/// `RecordState`, `ACTIVE` when absent.
pub fn record_state(finding: &Map<String, Value>) -> &str {
    str_at(finding, &["RecordState"]).unwrap_or("ACTIVE")
}

pub fn compliance_status(finding: &Map<String, Value>) -> Option<&str> {
    str_at(finding, &["Compliance", "Status"])
}

/// Where a finding's control id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ControlIdSource {
    /// `Compliance.SecurityControlId`: the consolidated id (`S3.8`), one per control across standards.
    SecurityControlId,
    /// `ProductFields.ControlId`: the standard-specific id (`PCI.Config.1`, `2.1`).
    ProductFieldsControlId,
    /// The last segment of `ProductFields.StandardsControlArn`.
    StandardsControlArn,
}

/// The control that a finding checks: `Compliance.SecurityControlId`, else
/// `ProductFields.ControlId`, else the last segment of `ProductFields.StandardsControlArn`
/// (`arn:aws:securityhub:<r>:<a>:control/pci-dss/v/3.2.1/PCI.Config.1` → `PCI.Config.1`).
pub fn control_id(finding: &Map<String, Value>) -> Option<(&str, ControlIdSource)> {
    let non_blank = |s: &&str| !s.trim().is_empty();
    if let Some(id) = str_at(finding, &["Compliance", "SecurityControlId"]).filter(non_blank) {
        return Some((id, ControlIdSource::SecurityControlId));
    }
    if let Some(id) = str_at(finding, &["ProductFields", "ControlId"]).filter(non_blank) {
        return Some((id, ControlIdSource::ProductFieldsControlId));
    }
    let arn = str_at(finding, &["ProductFields", "StandardsControlArn"])?;
    let last = arn.rsplit('/').next().filter(non_blank)?;
    (last != arn).then_some((last, ControlIdSource::StandardsControlArn))
}

/// The first resource as (Type, Id).
pub fn first_resource(finding: &Map<String, Value>) -> Option<(&str, &str)> {
    let r = finding.get("Resources")?.as_array()?.first()?;
    Some((r.get("Type")?.as_str()?, r.get("Id")?.as_str()?))
}

/// Every `Resources[].Id`.
pub fn resource_ids(finding: &Map<String, Value>) -> Vec<&str> {
    resources(finding).filter_map(|r| r.get("Id").and_then(Value::as_str)).collect()
}

pub fn resources(finding: &Map<String, Value>) -> impl Iterator<Item = &Value> {
    finding.get("Resources").and_then(Value::as_array).into_iter().flatten()
}

/// A GuardDuty finding: its ProductArn is `arn:<partition>:securityhub:<r>::product/aws/guardduty`.
pub fn is_guardduty(finding: &Map<String, Value>) -> bool {
    product_arn(finding).ends_with(":product/aws/guardduty")
}

/// A timestamp member as microseconds, `None` when absent or not a timestamp.
pub fn timestamp(finding: &Map<String, Value>, member: &str) -> Option<Micros> {
    parse_timestamp(str_at(finding, &[member])?)
}

/// The UTC day (`YYYY-MM-DD`) of an instant.
pub fn utc_day(micros: Micros) -> String {
    let mut s = format_timestamp(micros);
    s.truncate(10);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn control_id_prefers_the_consolidated_id_then_product_fields_then_the_arn() {
        let all = doc(json!({
            "Compliance": {"SecurityControlId": "Config.1"},
            "ProductFields": {"ControlId": "PCI.Config.1",
                "StandardsControlArn": "arn:aws:securityhub:us-east-1:111111111111:control/pci-dss/v/3.2.1/PCI.Config.1"}
        }));
        assert_eq!(control_id(&all), Some(("Config.1", ControlIdSource::SecurityControlId)));
        let pf = doc(json!({"ProductFields": {"ControlId": "PCI.Config.1"}}));
        assert_eq!(control_id(&pf), Some(("PCI.Config.1", ControlIdSource::ProductFieldsControlId)));
        let arn = doc(json!({"ProductFields": {
            "StandardsControlArn": "arn:aws:securityhub:us-east-1:111111111111:control/cis-aws-foundations-benchmark/v/1.2.0/2.1"}}));
        assert_eq!(control_id(&arn), Some(("2.1", ControlIdSource::StandardsControlArn)));
        assert_eq!(control_id(&doc(json!({"ProductFields": {"StandardsControlArn": "nocontrol"}}))), None);
        assert_eq!(control_id(&doc(json!({"Compliance": {"SecurityControlId": " "}}))), None);
        assert_eq!(control_id(&doc(json!({"Title": "x"}))), None);
    }

    #[test]
    fn severity_falls_back_to_normalized() {
        assert_eq!(severity_label(&doc(json!({"Severity": {"Label": "HIGH", "Normalized": 10}}))), "HIGH");
        assert_eq!(severity_label(&doc(json!({"Severity": {"Normalized": 95}}))), "CRITICAL");
        assert_eq!(severity_label(&doc(json!({}))), "INFORMATIONAL");
    }

    #[test]
    fn guardduty_is_told_by_its_product_arn() {
        assert!(is_guardduty(&doc(json!({"ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty"}))));
        assert!(!is_guardduty(&doc(json!({"ProductArn": "arn:aws:securityhub:us-east-1::product/aws/macie"}))));
        assert!(!is_guardduty(&doc(json!({}))));
    }

    #[test]
    fn workflow_falls_back_to_the_deprecated_state() {
        assert_eq!(workflow_status(&doc(json!({"WorkflowState": "RESOLVED"}))), "RESOLVED");
        assert_eq!(
            workflow_status(&doc(json!({"Workflow": {"Status": "NOTIFIED"}, "WorkflowState": "NEW"}))),
            "NOTIFIED"
        );
        assert_eq!(workflow_status(&doc(json!({}))), "NEW");
    }

    #[test]
    fn utc_day_of_an_offset_timestamp() {
        let t = parse_timestamp("2024-05-02T01:30:00+05:00").expect("timestamp");
        assert_eq!(utc_day(t), "2024-05-01");
    }
}
