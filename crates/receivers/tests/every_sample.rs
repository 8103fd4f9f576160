//! Every ASFF finding of `../shared/samples/asff/` through every receiver, inside an Imported
//! event shaped as Security Hub sends it: what each receiver must always show.

use findinghub_receivers::chat::{self, ChatOptions};
use findinghub_receivers::detective::{self, EntityKind};
use findinghub_receivers::pattern::EventPattern;
use findinghub_receivers::{audit_manager, event, finding, opscenter, trusted_advisor, webhook};
use serde_json::{Map, Value, json};

fn samples() -> Vec<(String, Map<String, Value>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/asff");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("shared ASFF samples").flatten() {
        for file in std::fs::read_dir(dir.path()).expect("a producer directory").flatten() {
            let path = file.path();
            let text = std::fs::read_to_string(&path).expect("readable");
            let doc: Map<String, Value> = serde_json::from_str(&text).expect("an ASFF finding object");
            out.push((path.display().to_string(), doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 20, "expected the shared ASFF samples, found {}", out.len());
    out
}

fn imported(f: &Map<String, Value>) -> Value {
    let env = event::Envelope {
        id: "8e5622f9-d81c-4d81-612a-9319e7ee2506",
        time: 1_714_644_006_000_000,
        account: f.get("AwsAccountId").and_then(Value::as_str).unwrap_or_default(),
        region: "us-east-1",
    };
    event::imported_event(&env, f)
}

fn opts() -> ChatOptions {
    ChatOptions {
        console_base_url: "https://hub.example.test".into(),
        detective_base_url: Some(detective::DEFAULT_BASE_URL.into()),
    }
}

#[test]
fn a_pattern_on_the_finding_id_selects_exactly_that_finding() {
    let all = samples();
    for (name, f) in &all {
        let p = EventPattern::parse(&json!({
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {"findings": {"Id": [finding::id(f)], "Severity": {"Label": [{"exists": true}]}}}
        }))
        .expect("valid pattern");
        let hits: Vec<&str> = all.iter().filter(|(_, g)| p.matches(&imported(g))).map(|(n, _)| n.as_str()).collect();
        // Findings without Severity.Label (Normalized only) are not selected by `exists`.
        let has_label = f.get("Severity").and_then(|s| s.get("Label")).is_some();
        assert_eq!(hits, if has_label { vec![name.as_str()] } else { vec![] }, "{name}");
    }
}

#[test]
fn every_chat_format_shows_the_finding() {
    for (name, f) in samples() {
        let event = imported(&f);
        let label = finding::severity_label(&f);
        let link = chat::finding_url("https://hub.example.test", finding::id(&f));
        let account = f.get("AwsAccountId").and_then(Value::as_str).expect("account");

        let slack = chat::slack(&event, &opts());
        let att = &slack["attachments"][0];
        assert_eq!(att["color"], chat::Tone::of(&f).hex(), "{name}");
        let s = slack.to_string();
        assert!(s.contains(&format!("*Account*\\n{account}")), "{name}");
        assert!(s.contains(&link), "{name}");
        assert!(s.contains(label), "{name}");

        let teams = chat::teams(&event, &opts());
        let card = &teams["attachments"][0]["content"];
        assert_eq!(card["type"], "AdaptiveCard", "{name}");
        let facts = card["body"][1]["items"][2]["facts"].as_array().expect("facts");
        assert!(facts.iter().any(|x| x["title"] == "Account" && x["value"] == account), "{name}");
        assert!(facts.iter().any(|x| x["title"] == "Workflow status"), "{name}");

        let chime = chat::chime(&event, &opts());
        let content = chime["Content"].as_str().expect("content");
        assert!(content.chars().count() <= chat::CHIME_MAX_CHARS, "{name}");
        assert!(content.contains(&link) && content.contains(label), "{name}");

        let pivots = detective::pivot_links(&f, detective::DEFAULT_BASE_URL);
        assert_eq!(s.contains("Investigate in Detective"), !pivots.is_empty(), "{name}");
    }
}

#[test]
fn detective_pivots_exactly_the_guardduty_findings() {
    let mut guardduty = 0;
    for (name, f) in samples() {
        let links = detective::pivot_links(&f, detective::DEFAULT_BASE_URL);
        if name.contains("/guardduty/") {
            guardduty += 1;
            assert!(links.len() >= 2, "{name}: the finding and at least its account");
            assert!(links[0].url.contains("#findings/GuardDuty/"), "{name}");
            assert!(links.iter().all(|l| l.url.starts_with(detective::DEFAULT_BASE_URL)), "{name}");
        } else {
            assert!(links.is_empty(), "{name}");
        }
        let entities = detective::entities(&f);
        assert!(entities.iter().any(|e| e.kind == EntityKind::Account), "{name}");
        assert_eq!(
            entities.iter().filter(|e| e.kind == EntityKind::Resource).count(),
            finding::resource_ids(&f).len(),
            "{name}"
        );
    }
    assert_eq!(guardduty, 5);
}

#[test]
fn opscenter_items_and_audit_evidence_for_every_sample() {
    let mut evidence = 0;
    for (name, f) in samples() {
        let item = opscenter::ops_item_from(&f);
        assert_eq!(item.dedup_key, finding::id(&f).to_lowercase(), "{name}");
        assert!(!item.title.is_empty() && !item.description.is_empty(), "{name}");
        assert!(opscenter::label_from_severity(item.severity).is_some(), "{name}");
        let live =
            !matches!(finding::workflow_status(&f), "RESOLVED" | "SUPPRESSED") && finding::record_state(&f) == "ACTIVE";
        let high = matches!(finding::severity_label(&f), "CRITICAL" | "HIGH");
        if !(live && high) {
            assert!(!opscenter::should_open(&f, &opscenter::DEFAULT_THRESHOLD), "{name}");
        }
        let record = audit_manager::evidence_of(&f);
        assert_eq!(record.is_some(), finding::control_id(&f).is_some(), "{name}");
        evidence += usize::from(record.is_some());
    }
    // None of the producer samples checks a Security Hub control; the OCSF example does.
    assert_eq!(evidence, 0);
    let trusted =
        trusted_advisor::checks(samples().iter().map(|(_, f)| f), &trusted_advisor::AdvisorOptions::default());
    assert!(trusted.is_empty());
}

#[test]
fn a_signed_event_body_verifies_as_sent() {
    for (name, f) in samples() {
        let body = serde_json::to_vec(&imported(&f)).expect("json");
        let header = webhook::sign(b"whsec_samples", 1_714_644_006, &body);
        assert_eq!(webhook::verify(b"whsec_samples", &header, &body, 1_714_644_100, 300), Ok(()), "{name}");
    }
}
