//! Patch Manager converter: the documented and the exported ASFF examples rebuilt from
//! `InstancePatchState`s, both native samples, compliant nodes, severity and malformed input.
//!
//! No truncation test here: Patch Manager's Description is a fixed sentence of the documentation
//! (well under 1024 characters), whatever the input.

use findinghub_asff::timestamp::parse_timestamp;
use findinghub_producers::{Conversion, ConvertOptions, Producer, patch_manager};
use serde_json::{Map, Value, json};
use std::path::Path;

const SAMPLES: &str = "../../../shared/samples";

fn sample(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES).join(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample")).expect("sample JSON")
}

fn options(account: &str, region: &str) -> ConvertOptions {
    ConvertOptions {
        default_account: Some(account.to_owned()),
        default_region: Some(region.to_owned()),
        ..ConvertOptions::default()
    }
}

fn findings(event: &Value, options: &ConvertOptions) -> Vec<Map<String, Value>> {
    match patch_manager::convert(event, options) {
        Ok(Conversion::Findings(f)) => {
            for doc in &f {
                findinghub_asff::validate_finding(&Value::Object(doc.clone())).expect("valid ASFF");
            }
            f
        }
        other => panic!("expected findings, got {other:?}"),
    }
}

fn no_finding(event: &Value, options: &ConvertOptions) -> String {
    match patch_manager::convert(event, options) {
        Ok(Conversion::NoFinding(reason)) => reason,
        other => panic!("expected no finding, got {other:?}"),
    }
}

fn error(event: &Value, options: &ConvertOptions) -> String {
    match patch_manager::convert(event, options) {
        Err(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn same_instant(a: &Value, b: &Value) -> bool {
    let t = |v: &Value| v.as_str().and_then(parse_timestamp);
    t(a).is_some() && t(a) == t(b)
}

/// The `InstancePatchState` that the finding `want` summarises; its SnapshotId is the run
/// command id of the finding, which the converter uses in the command's place.
fn state_of(want: &Value) -> Value {
    let s = &want["PatchSummary"];
    json!({
        "InstanceId": want["Resources"][0]["Id"],
        "PatchGroup": "",
        "BaselineId": s["Id"],
        "SnapshotId": want["GeneratorId"],
        "InstalledCount": s["InstalledCount"],
        "InstalledOtherCount": s["InstalledOtherCount"],
        "InstalledPendingRebootCount": s["InstalledPendingReboot"],
        "InstalledRejectedCount": s["InstalledRejectedCount"],
        "MissingCount": s["MissingCount"],
        "FailedCount": s["FailedCount"],
        "UnreportedNotApplicableCount": -1,
        "NotApplicableCount": 100,
        "OperationStartTime": s["OperationStartTime"],
        "OperationEndTime": s["OperationEndTime"],
        "Operation": "Scan",
        "RebootOption": s["RebootOption"]
    })
}

/// Field by field against a published example. Not compared: `ProductFields` (only
/// `aws/securityhub/*`, injected on import), `Workflow` / `WorkflowState` (filled on import),
/// `SourceUrl` (the examples show the older `managed-instances` console path), and in the
/// documented example `ProductArn` (its Region us-east-1 differs from the finding's us-east-2:
/// a documentation artefact; the converter's ProductArn is checked against the finding's Region).
/// Timestamps are compared as instants (the examples omit milliseconds).
fn compare(rel: &str, compare_product_arn: bool) {
    let want = sample(rel);
    let account = want["AwsAccountId"].as_str().expect("account");
    let region = want["Resources"][0]["Region"].as_str().expect("region");
    let input = json!({ "InstancePatchStates": [state_of(&want)] });
    assert_eq!(Producer::detect(&input), Some(Producer::PatchManager));
    let got = Value::Object(findings(&input, &options(account, region)).remove(0));
    for field in [
        "SchemaVersion",
        "Id",
        "GeneratorId",
        "AwsAccountId",
        "Types",
        "Severity",
        "Title",
        "Description",
        "Remediation",
        "Resources",
        "RecordState",
    ] {
        assert_eq!(got[field], want[field], "{rel}: {field}");
    }
    for field in ["CreatedAt", "UpdatedAt"] {
        assert!(same_instant(&got[field], &want[field]), "{rel}: {field} {} vs {}", got[field], want[field]);
    }
    let (g, w) = (&got["PatchSummary"], &want["PatchSummary"]);
    for (k, v) in w.as_object().expect("PatchSummary") {
        if k.starts_with("Operation") && k.ends_with("Time") {
            assert!(same_instant(&g[k], v), "{rel}: PatchSummary.{k}");
        } else {
            assert_eq!(&g[k], v, "{rel}: PatchSummary.{k}");
        }
    }
    assert_eq!(g.as_object().map(Map::len), w.as_object().map(Map::len), "{rel}: PatchSummary members");
    if compare_product_arn {
        assert_eq!(got["ProductArn"], want["ProductArn"], "{rel}: ProductArn");
    }
    assert_eq!(got["ProductArn"], format!("arn:aws:securityhub:{region}::product/aws/ssm-patch-manager"));
    assert_eq!(got["ProductName"], "Systems Manager Patch Manager");
    assert_eq!(got["CompanyName"], "AWS");
    assert_eq!(
        got["SourceUrl"],
        format!(
            "https://{region}.console.aws.amazon.com/systems-manager/fleet-manager/{}/patch?region={region}",
            want["Resources"][0]["Id"].as_str().expect("id")
        )
    );
}

#[test]
fn matches_the_documented_example() {
    compare("asff/patch-manager/typical-finding.ssm-userguide.json", false);
}

#[test]
fn matches_the_real_export() {
    compare("asff/patch-manager/noncompliant-instance.real-export-2020.python-asff.json", true);
}

#[test]
fn describe_instance_patch_states_gives_one_finding_per_non_compliant_node() {
    let input = sample("native/patch-manager/describe-instance-patch-states.ssm-userguide.json");
    let f = findings(&input, &options("123456789012", "us-west-2"));
    assert_eq!(f.len(), 1, "the first node is compliant");
    assert_eq!(f[0]["Resources"][0]["Id"], "i-09a618aec652973a9");
    assert_eq!(f[0]["PatchSummary"]["MissingCount"], 3);
    assert_eq!(f[0]["PatchSummary"]["Operation"], "SCAN");
    assert_eq!(f[0]["PatchSummary"]["OperationStartTime"], "2020-01-24T20:37:34.000Z", "offsets become UTC");
    assert_eq!(f[0]["Severity"], json!({"Label": "INFORMATIONAL", "Normalized": 0}));
    assert_eq!(f[0]["Region"], "us-west-2");
    assert_eq!(findings(&input, &options("123456789012", "us-west-2")), f, "deterministic");
}

#[test]
fn the_compliance_event_makes_a_finding_with_its_severity() {
    let e = sample("native/patch-manager/compliance-state-change-patch-noncompliant.eventbridge.ssm-userguide.json");
    assert_eq!(Producer::detect(&e), Some(Producer::PatchManager));
    let f = findings(&e, &ConvertOptions::default()).remove(0);
    assert_eq!(f["Severity"], json!({"Label": "CRITICAL", "Normalized": 90}));
    assert_eq!(f["PatchSummary"], json!({"Id": "PB789"}));
    assert_eq!(
        f["Resources"],
        json!([{"Type": "AwsEc2Instance", "Id": "i-01234567890abcdef", "Partition": "aws", "Region": "us-east-2"}])
    );
    assert_eq!(
        f["Id"],
        "arn:aws:patchmanager:us-east-2:123456789012:instance/i-01234567890abcdef/document/AWS-RunPatchBaseline/run-command/01234567-0123-0123-0123-012345678901"
    );
    assert_eq!(f["CreatedAt"], "2017-07-17T19:02:31.000Z");
    for (level, label) in [
        ("high", "HIGH"),
        ("MEDIUM", "MEDIUM"),
        ("low", "LOW"),
        ("informational", "INFORMATIONAL"),
        ("unspecified", "INFORMATIONAL"),
    ] {
        let mut e = e.clone();
        e["detail"]["severity"] = json!(level);
        assert_eq!(findings(&e, &ConvertOptions::default())[0]["Severity"]["Label"], label, "{level}");
    }
}

#[test]
fn critical_non_compliant_patches_make_the_node_critical() {
    let mut state =
        sample("native/patch-manager/describe-instance-patch-states.ssm-userguide.json")["InstancePatchStates"][0]
            .clone();
    state["CriticalNonCompliantCount"] = json!(1);
    let f = findings(&state, &options("123456789012", "eu-west-1"));
    assert_eq!(f[0]["Severity"]["Label"], "CRITICAL");
}

#[test]
fn pending_reboot_and_rejected_patches_are_non_compliant() {
    let base = sample("native/patch-manager/describe-instance-patch-states.ssm-userguide.json")["InstancePatchStates"]
        [0]
    .clone();
    for key in ["InstalledPendingRebootCount", "InstalledRejectedCount", "FailedCount"] {
        let mut state = base.clone();
        state[key] = json!(2);
        assert!(patch_manager::is_non_compliant(&state), "{key}");
        assert_eq!(findings(&state, &options("123456789012", "eu-west-1")).len(), 1, "{key}");
    }
}

#[test]
fn compliant_nodes_and_other_compliance_make_no_finding() {
    let state = sample("native/patch-manager/describe-instance-patch-states.ssm-userguide.json")["InstancePatchStates"]
        [0]
    .clone();
    assert!(no_finding(&state, &options("123456789012", "eu-west-1")).contains("compliant"));
    let mut e =
        sample("native/patch-manager/compliance-state-change-patch-noncompliant.eventbridge.ssm-userguide.json");
    e["detail"]["compliance-status"] = json!("compliant");
    assert!(no_finding(&e, &ConvertOptions::default()).contains("compliant"));
    e["detail"]["compliance-type"] = json!("Association");
    assert!(no_finding(&e, &ConvertOptions::default()).contains("not Patch"));
}

#[test]
fn malformed_input_is_an_error_naming_the_field() {
    let e = sample("native/patch-manager/compliance-state-change-patch-noncompliant.eventbridge.ssm-userguide.json");
    for field in ["resource-id", "patch-baseline-id", "compliance-status", "compliance-type"] {
        let mut bad = e.clone();
        bad["detail"].as_object_mut().expect("detail").remove(field);
        let got = error(&bad, &ConvertOptions::default());
        assert!(got.contains(&format!("detail.{field} is missing")), "{got}");
        assert!(got.starts_with("patch-manager event is malformed"), "{got}");
    }
    let mut bad = e.clone();
    bad["detail"]["compliance-status"] = json!("sort_of");
    assert!(error(&bad, &ConvertOptions::default()).contains("compliance-status 'sort_of'"));
    let mut bad = e.clone();
    bad["detail"]["severity"] = json!("apocalyptic");
    assert!(error(&bad, &ConvertOptions::default()).contains("detail.severity 'apocalyptic'"));
    let mut bad = e.clone();
    bad["time"] = json!("soon");
    assert!(error(&bad, &ConvertOptions::default()).contains("time is not a timestamp"));

    let states = sample("native/patch-manager/describe-instance-patch-states.ssm-userguide.json");
    assert!(error(&states, &ConvertOptions::default()).contains("default_account"));
    let mut bad = states.clone();
    bad["InstancePatchStates"][1].as_object_mut().expect("state").remove("OperationEndTime");
    assert!(error(&bad, &options("1", "eu-west-1")).contains("InstancePatchStates[1].OperationEndTime is missing"));
    let mut bad = states.clone();
    bad["InstancePatchStates"][1]["MissingCount"] = json!("three");
    assert!(error(&bad, &options("1", "eu-west-1")).contains("InstancePatchStates[1].MissingCount is not a number"));
    assert!(error(&json!({"InstancePatchStates": 3}), &options("1", "eu-west-1")).contains("not a list"));
    assert!(error(&json!({"something": "else"}), &ConvertOptions::default()).contains("expected"));
}
