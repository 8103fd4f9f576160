//! Real ASFF findings from `../shared/samples/asff/` and the events that carry them, for tests.

use serde_json::{Map, Value, json};

pub const GUARDDUTY_SSH: &str = "guardduty/typical-finding-ssh-bruteforce.guardduty-userguide.json";
pub const GUARDDUTY_RECON: &str = "guardduty/sample-recon-iamuser-actor-variant.real-export-2020.python-asff.json";
pub const CONFIG: &str = "config/typical-finding.sh-userguide.json";

/// A finding of the shared samples, by its path under `samples/asff/`.
pub fn asff(path: &str) -> Map<String, Value> {
    let full = format!("{}/../../../shared/samples/asff/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The Security Hub control finding of the OCSF worked example (`S3.8`, FAILED, HIGH).
pub fn control_finding() -> Map<String, Value> {
    let full =
        format!("{}/../../../shared/spec/ocsf/1.1.0/examples/compliance_finding.asff.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// An Imported event carrying these findings, shaped as Security Hub sends it.
pub fn imported(findings: &[&Map<String, Value>]) -> Value {
    let first = findings.first().copied().cloned().unwrap_or_default();
    let pa = first.get("ProductArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    let fid = first.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned();
    json!({
        "version": "0", "id": "8e5622f9-d81c-4d81-612a-9319e7ee2506",
        "detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub",
        "account": first.get("AwsAccountId").cloned().unwrap_or(json!("123456789012")),
        "time": "2024-05-02T10:00:06Z", "region": first.get("Region").cloned().unwrap_or(json!("us-east-1")),
        "resources": [format!("{pa}/{fid}")],
        "detail": {"findings": findings},
    })
}

/// A Custom Action event carrying these findings.
pub fn custom_action(findings: &[&Map<String, Value>]) -> Value {
    json!({
        "version": "0", "id": "1a1111a1-b22b-3c33-444d-5555e5ee5555",
        "detail-type": "Security Hub Findings - Custom Action", "source": "aws.securityhub",
        "account": "123456789012", "time": "2024-05-02T11:43:48Z", "region": "us-east-1",
        "resources": ["arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToSlack"],
        "detail": {"actionName": "Send to Slack", "actionDescription": "Post the finding to #secops", "findings": findings},
    })
}
