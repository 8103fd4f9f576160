//! Figures for the pure receivers on one core: pattern matches, chat cards and webhook signatures
//! per second, on the OCSF worked example's control finding in an Imported event.
//! `cargo run --release -p findinghub-receivers --example throughput`

use findinghub_receivers::chat::{self, ChatOptions};
use findinghub_receivers::pattern::EventPattern;
use findinghub_receivers::webhook;
use serde_json::{Value, json};
use std::time::Instant;

fn rate(what: &str, n: u32, mut f: impl FnMut() -> usize) {
    let start = Instant::now();
    let mut sink = 0;
    for _ in 0..n {
        sink += f();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{what:<44} {:>12.0} /s  ({n} in {secs:.3} s, check {sink})", f64::from(n) / secs);
}

fn main() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/ocsf/1.1.0/examples/compliance_finding.asff.json");
    let finding: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("the OCSF example")).expect("json");
    let event = json!({
        "version": "0", "id": "8e5622f9-d81c-4d81-612a-9319e7ee2506", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": "123456789012", "time": "2024-05-02T10:00:06Z", "region": "us-east-1",
        "resources": ["arn:aws:securityhub:us-east-1::product/aws/securityhub/x"], "detail": {"findings": [finding]},
    });
    let pattern = EventPattern::parse(&json!({
        "source": ["aws.securityhub"], "detail-type": ["Security Hub Findings - Imported"],
        "detail": {"findings": {"Severity": {"Label": ["CRITICAL", "HIGH"]}, "Workflow": {"Status": ["NEW"]},
            "RecordState": ["ACTIVE"], "Resources": {"Id": [{"prefix": "arn:aws:s3:::"}]}}}
    }))
    .expect("pattern");
    let miss =
        EventPattern::parse(&json!({"detail": {"findings": {"Severity": {"Label": ["LOW"]}}}})).expect("pattern");
    let opts = ChatOptions { console_base_url: "https://hub.example.test".into(), detective_base_url: None };
    let body = serde_json::to_vec(&event).expect("json");
    println!("event body: {} bytes", body.len());
    rate("pattern match (4 conditions, matching)", 1_000_000, || usize::from(pattern.matches(&event)));
    rate("pattern match (1 condition, not matching)", 1_000_000, || usize::from(miss.matches(&event)));
    rate("slack card (build + serialise)", 100_000, || chat::slack(&event, &opts).to_string().len());
    rate("teams card (build + serialise)", 100_000, || chat::teams(&event, &opts).to_string().len());
    rate("chime message (build + serialise)", 100_000, || chat::chime(&event, &opts).to_string().len());
    rate("webhook sign", 200_000, || webhook::sign(b"whsec", 1_714_644_006, &body).len());
    let header = webhook::sign(b"whsec", 1_714_644_006, &body);
    rate("webhook verify", 200_000, || {
        usize::from(webhook::verify(b"whsec", &header, &body, 1_714_644_006, 300).is_ok())
    });
}
