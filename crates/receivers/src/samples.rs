//! Real ASFF findings from `../shared/samples/asff/` and the events that carry them, for tests.

use crate::event::{Envelope, custom_action_event, imported_event};
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

const EVENT_TIME: i64 = 1_714_644_006_000_000; // 2024-05-02T10:00:06Z

/// An Imported event carrying these findings (AWS sends one per event; several test the cap).
pub fn imported(findings: &[&Map<String, Value>]) -> Value {
    let env = Envelope {
        id: "8e5622f9-d81c-4d81-612a-9319e7ee2506",
        time: EVENT_TIME,
        account: "123456789012",
        region: "us-east-1",
    };
    let mut event = match findings.first() {
        Some(first) => imported_event(&env, first),
        None => imported_event(&env, &Map::new()),
    };
    event["detail"]["findings"] = json!(findings);
    event
}

/// A Custom Action event carrying these findings.
pub fn custom_action(findings: &[&Map<String, Value>]) -> Value {
    let env = Envelope {
        id: "1a1111a1-b22b-3c33-444d-5555e5ee5555",
        time: EVENT_TIME,
        account: "123456789012",
        region: "us-east-1",
    };
    let arn = "arn:aws:securityhub:us-east-1:123456789012:action/custom/SendToSlack";
    custom_action_event(&env, arn, "Send to Slack", "Post the finding to #secops", findings)
}
