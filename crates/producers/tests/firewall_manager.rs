//! Firewall Manager converter: the example inputs of `tests/inputs/firewall-manager/`, the
//! documented titles and severities, PASSED updates, attacks, truncation and malformed input.
//! (No native sample or ASFF example of Firewall Manager exists to compare with.)

use findinghub_producers::common::DESCRIPTION_LIMIT;
use findinghub_producers::firewall_manager::{self, FindingKind, kind_of_reason};
use findinghub_producers::{Conversion, ConvertOptions, Producer};
use serde_json::{Map, Value, json};
use std::path::Path;

fn input(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/firewall-manager").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("input")).expect("input JSON")
}

fn convert(event: &Value, options: &ConvertOptions) -> Conversion {
    firewall_manager::convert(event, options).unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn findings(event: &Value) -> Vec<Map<String, Value>> {
    match convert(event, &ConvertOptions::default()) {
        Conversion::Findings(f) => {
            for doc in &f {
                findinghub_asff::validate_finding(&Value::Object(doc.clone())).expect("valid ASFF");
            }
            f
        }
        other => panic!("expected findings, got {other:?}"),
    }
}

fn no_finding(event: &Value) -> String {
    match convert(event, &ConvertOptions::default()) {
        Conversion::NoFinding(reason) => reason,
        other => panic!("expected no finding, got {other:?}"),
    }
}

fn error(event: &Value, options: &ConvertOptions) -> String {
    match firewall_manager::convert(event, options) {
        Err(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn record(reason: &str, status: &str) -> Value {
    json!({
        "PolicyId": "c0ffee00-1234-4abc-9def-0123456789ab",
        "PolicyName": "sg-common",
        "PolicyArn": "arn:aws:fms:eu-west-1:111122223333:policy/c0ffee00-1234-4abc-9def-0123456789ab",
        "MemberAccount": "444455556666",
        "ResourceId": "i-0123456789abcdef0",
        "ResourceType": "AWS::EC2::Instance",
        "ViolationReason": reason,
        "ComplianceStatus": status,
        "LastUpdated": "2024-03-06T14:02:09Z"
    })
}

fn assert_kind(f: &Map<String, Value>, kind: FindingKind, label: &str) {
    assert_eq!(f["Title"], kind.title);
    assert_eq!(f["Severity"]["Normalized"], kind.normalized);
    assert_eq!(f["Severity"]["Label"], label);
    assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], label);
    assert_eq!(f["ProductArn"].as_str().map(|a| a.ends_with("::product/aws/firewall-manager")), Some(true));
    assert_eq!(f["ProductName"], "Firewall Manager");
    assert_eq!(f["CompanyName"], "AWS");
}

#[test]
fn every_example_input_is_accepted_and_converts_to_valid_findings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/firewall-manager");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("inputs")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for name in names {
        let event = input(&name);
        assert_eq!(Producer::detect(&event), Some(Producer::FirewallManager), "{name}");
        let f = findings(&event);
        assert!(!f.is_empty(), "{name}");
        assert_eq!(findings(&event), f, "{name}: deterministic");
    }
}

#[test]
fn waf_policy_violations() {
    let f = findings(&input("get-compliance-detail-waf.json"));
    assert_eq!(f.len(), 2);
    assert_kind(&f[0], firewall_manager::WAF_MISSING_WEB_ACL, "HIGH");
    assert_eq!(f[0]["Title"], "Resource is missing Firewall Manager managed web ACL.");
    assert_eq!(f[0]["Compliance"]["Status"], "FAILED");
    assert_eq!(f[0]["Resources"][0]["Type"], "AwsElbv2LoadBalancer");
    assert_eq!(f[0]["AwsAccountId"], "444455556666", "the member account owns the finding");
    assert_eq!(f[0]["Region"], "eu-west-1", "from the policy ARN");
    assert_eq!(f[0]["GeneratorId"], "arn:aws:fms:eu-west-1:111122223333:policy/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
    assert_eq!(f[0]["UpdatedAt"], "2024-03-05T09:41:17.123Z", "ListComplianceStatus' LastUpdated");
    assert_kind(&f[1], firewall_manager::WAF_MISCONFIGURED_RULE_GROUPS, "HIGH");
    assert_eq!(f[1]["Title"], "Firewall Manager managed web ACL has misconfigured rule groups.");
    assert_eq!(f[1]["Resources"][0]["Type"], "AwsWafv2WebAcl");
    assert_ne!(f[0]["Id"], f[1]["Id"]);
}

#[test]
fn shield_resources_not_protected() {
    let f = findings(&input("get-compliance-detail-shield.json"));
    assert_eq!(f.len(), 2);
    for doc in &f {
        assert_kind(doc, firewall_manager::SHIELD_NOT_PROTECTED, "MEDIUM");
        assert_eq!(doc["Title"], "Resource lacks Shield Advanced protection.");
        assert_eq!(doc["Compliance"]["Status"], "FAILED");
        assert_eq!(doc["UpdatedAt"], "2024-03-05T09:41:17.000Z", "epoch seconds");
    }
    assert_eq!(f[0]["Resources"][0]["Type"], "AwsCloudFrontDistribution");
    assert_eq!(f[1]["Resources"][0]["Type"], "AwsEc2Eip");
}

#[test]
fn shield_attacks_detected() {
    let f = findings(&input("describe-attack-shield.json"));
    assert_kind(&f[0], firewall_manager::SHIELD_ATTACK, "HIGH");
    assert_eq!(f[0]["Title"], "Shield Advanced detected attack against monitored resource.");
    assert!(f[0].get("Compliance").is_none(), "attack findings have no compliance status");
    assert_eq!(f[0]["CreatedAt"], "2024-03-07T02:14:00.000Z");
    assert_eq!(f[0]["UpdatedAt"], "2024-03-07T02:51:00.000Z", "the end of the attack");
    assert_eq!(f[0]["AwsAccountId"], "444455556666", "the account of the attacked resource");
    assert_eq!(f[0]["Types"], json!(["Effects/Denial of Service"]));

    // ListAttacks: an ongoing attack on a global resource (CloudFront) lands in us-east-1.
    let list = json!({
        "AttackSummaries": [{
            "AttackId": "att-1",
            "ResourceArn": "arn:aws:cloudfront::444455556666:distribution/E2EXAMPLE9ABCD",
            "StartTime": "2024-03-08T00:00:00Z",
            "AttackVectors": [{"VectorType": "SYN_FLOOD"}, {"VectorType": "UDP_REFLECTION"}]
        }]
    });
    let f = findings(&list);
    assert_eq!(f[0]["Region"], "us-east-1");
    assert_eq!(f[0]["UpdatedAt"], f[0]["CreatedAt"], "ongoing: the start");
    assert!(
        f[0]["Description"]
            .as_str()
            .is_some_and(|d| d.contains("SYN_FLOOD, UDP_REFLECTION") && d.ends_with("ongoing."))
    );
    assert_eq!(f[0]["Resources"][0]["Type"], "AwsCloudFrontDistribution");
    assert!(no_finding(&json!({"AttackSummaries": []})).contains("no attack"));
}

#[test]
fn security_group_violations() {
    let f = findings(&input("get-violation-details-sg-content-audit.json"));
    assert_kind(&f[0], firewall_manager::SG_CONTENT_AUDIT, "HIGH");
    assert_eq!(f[0]["Title"], "Security group is not in compliance with content audit security group.");
    assert!(f[0]["Description"].as_str().is_some_and(|d| d.contains("allows SSH (22) from 0.0.0.0/0")));
    assert_eq!(f[0]["Resources"][0]["Type"], "AwsEc2SecurityGroup");
    assert!(!serde_json::to_string(&f[0]).expect("json").contains("payments"), "resource tags are not copied");

    for (reason, kind, label, compliance) in [
        ("RESOURCE_MISSING_SECURITY_GROUP", firewall_manager::SG_MISCONFIGURED, "HIGH", true),
        ("FMS_CREATED_SECURITY_GROUP_EDITED", firewall_manager::SG_REPLICA_OUT_OF_SYNC, "HIGH", true),
        ("RESOURCE_VIOLATES_AUDIT_SECURITY_GROUP", firewall_manager::SG_CONTENT_AUDIT, "HIGH", true),
        ("SECURITY_GROUP_REDUNDANT", firewall_manager::SG_REDUNDANT, "LOW", false),
        ("SECURITY_GROUP_UNUSED", firewall_manager::SG_UNUSED, "LOW", false),
    ] {
        let f = findings(&record(reason, "NON_COMPLIANT"));
        assert_kind(&f[0], kind, label);
        assert_eq!(f[0].get("Compliance").is_some(), compliance, "{reason}");
    }
}

#[test]
fn the_documented_catalogue() {
    let table = [
        ("RESOURCE_MISSING_WEB_ACL", "Resource is missing Firewall Manager managed web ACL.", 80),
        ("RESOURCE_INCORRECT_WEB_ACL", "Resource is missing Firewall Manager managed web ACL.", 80),
        ("WEB_ACL_MISSING_RULE_GROUP", "Firewall Manager managed web ACL has misconfigured rule groups.", 80),
        ("RESOURCE_MISSING_SHIELD_PROTECTION", "Resource lacks Shield Advanced protection.", 60),
        ("RESOURCE_MISSING_SECURITY_GROUP", "Resource has misconfigured security group.", 70),
        (
            "FMS_CREATED_SECURITY_GROUP_EDITED",
            "Firewall Manager replica security group is out of sync with primary security group.",
            80,
        ),
        (
            "RESOURCE_VIOLATES_AUDIT_SECURITY_GROUP",
            "Security group is not in compliance with content audit security group.",
            70,
        ),
        ("SECURITY_GROUP_REDUNDANT", "Firewall Manager found redundant security group.", 30),
        ("SECURITY_GROUP_UNUSED", "Firewall Manager found unused security group.", 30),
        ("RESOURCE_MISSING_DNS_FIREWALL", "Resource is missing DNS Firewall protection", 80),
    ];
    for (reason, title, severity) in table {
        let kind = kind_of_reason(reason).unwrap_or_else(|| panic!("{reason}"));
        assert_eq!((kind.title, kind.normalized), (title, severity), "{reason}");
    }
    assert_eq!(firewall_manager::SHIELD_ATTACK.normalized, 70);
    for undocumented in ["MISSING_FIREWALL", "INVALID_NETWORK_ACL_ENTRY", "BLACK_HOLE_ROUTE_DETECTED"] {
        assert!(kind_of_reason(undocumented).is_none(), "{undocumented}");
        assert!(no_finding(&record(undocumented, "NON_COMPLIANT")).contains(undocumented));
    }
}

/// A remediated violation updates the same finding: PASSED, severity INFORMATIONAL, later
/// UpdatedAt. Findings without a compliance status are not updated.
#[test]
fn a_remediated_violation_passes_the_same_finding() {
    let failed = findings(&record("RESOURCE_MISSING_SECURITY_GROUP", "NON_COMPLIANT")).remove(0);
    let mut later = record("RESOURCE_MISSING_SECURITY_GROUP", "COMPLIANT");
    later["LastUpdated"] = json!("2024-03-07T08:00:00Z");
    let passed = findings(&later).remove(0);
    assert_eq!(passed["Id"], failed["Id"]);
    assert_eq!(failed["Compliance"]["Status"], "FAILED");
    assert_eq!(passed["Compliance"]["Status"], "PASSED");
    assert_eq!(failed["Severity"]["Label"], "HIGH");
    assert_eq!(passed["Severity"], json!({"Label": "INFORMATIONAL", "Normalized": 0, "Original": "0"}));
    assert!(passed["UpdatedAt"].as_str() > failed["UpdatedAt"].as_str());
    assert!(no_finding(&record("SECURITY_GROUP_UNUSED", "COMPLIANT")).contains("not updated"));
    // A compliance detail without violators makes none.
    let mut clean = input("get-compliance-detail-waf.json");
    clean["PolicyComplianceDetail"]["Violators"] = json!([]);
    assert!(no_finding(&clean).contains("no violators"));
}

#[test]
fn descriptions_are_cut_at_1024_with_the_marker() {
    let description_len = |resource_id: &str| {
        let mut r = record("RESOURCE_MISSING_SECURITY_GROUP", "NON_COMPLIANT");
        r["ResourceId"] = json!(resource_id);
        findings(&r)[0]["Description"].as_str().expect("Description").to_owned()
    };
    let base = description_len("x").chars().count();
    let fits = "x".repeat(DESCRIPTION_LIMIT - base + 1);
    let d = description_len(&fits);
    assert_eq!(d.chars().count(), 1024);
    assert!(!d.ends_with("(truncated)"));
    let d = description_len(&format!("{fits}x"));
    assert_eq!(d.chars().count(), 1024);
    assert!(d.ends_with("(truncated)"));
}

#[test]
fn malformed_input_is_an_error_naming_the_field() {
    let none = ConvertOptions::default();
    let mut e = input("get-compliance-detail-waf.json");
    e["PolicyComplianceDetail"].as_object_mut().expect("detail").remove("MemberAccount");
    let got = error(&e, &none);
    assert!(got.contains("PolicyComplianceDetail.MemberAccount is missing"), "{got}");
    assert!(got.starts_with("firewall-manager event is malformed"), "{got}");

    let mut e = input("get-compliance-detail-waf.json");
    e["PolicyComplianceDetail"]["Violators"][1].as_object_mut().expect("violator").remove("ResourceId");
    assert!(error(&e, &none).contains("Violators[1].ResourceId is missing"));

    let mut e = input("get-compliance-detail-waf.json");
    e.as_object_mut().expect("input").remove("PolicyComplianceStatus");
    assert!(error(&e, &none).contains("LastUpdated"));

    let mut e = input("get-compliance-detail-waf.json");
    e["PolicyComplianceStatus"]["LastUpdated"] = json!("yesterday-ish");
    assert!(error(&e, &none).contains("LastUpdated is not a timestamp"));

    let mut r = record("RESOURCE_MISSING_SECURITY_GROUP", "NON_COMPLIANT");
    r.as_object_mut().expect("record").remove("PolicyArn");
    assert!(error(&r, &none).contains("no Region"));
    let with_region = ConvertOptions { default_region: Some("ap-south-1".into()), ..ConvertOptions::default() };
    let Ok(Conversion::Findings(f)) = firewall_manager::convert(&r, &with_region) else { panic!("findings") };
    assert_eq!(f[0]["Region"], "ap-south-1");
    assert_eq!(f[0]["GeneratorId"], "arn:aws:fms:ap-south-1:444455556666:policy/c0ffee00-1234-4abc-9def-0123456789ab");

    let mut r = record("RESOURCE_MISSING_SECURITY_GROUP", "MAYBE");
    assert!(error(&r, &none).contains("ComplianceStatus 'MAYBE'"));
    r["ComplianceStatus"] = json!("NON_COMPLIANT");
    r.as_object_mut().expect("record").remove("MemberAccount");
    assert!(error(&r, &none).contains("MemberAccount is missing"));

    let mut a = input("describe-attack-shield.json");
    a["Attack"]["ResourceArn"] = json!("not an arn");
    assert!(error(&a, &none).contains("Attack.ResourceArn is not an ARN"));
    let mut a = input("describe-attack-shield.json");
    a["Attack"].as_object_mut().expect("attack").remove("StartTime");
    assert!(error(&a, &none).contains("Attack.StartTime is missing"));

    let mut v = input("get-violation-details-sg-content-audit.json");
    v["ViolationDetail"].as_object_mut().expect("detail").remove("ResourceViolations");
    assert!(error(&v, &none).contains("ViolationDetail.ResourceViolations is missing"));
    let mut v = input("get-violation-details-sg-content-audit.json");
    v["ViolationDetail"]["ResourceViolations"] = json!([{"NetworkFirewallMissingFirewallViolation": {"VPC": "vpc-1"}}]);
    assert!(no_finding(&v).contains("NetworkFirewallMissingFirewallViolation"));

    assert!(error(&json!({"unrelated": true}), &none).contains("expected PolicyComplianceDetail"));
    assert!(error(&json!(42), &none).contains("JSON object"));
    assert!(!firewall_manager::accepts(&json!({"unrelated": true})));
}
