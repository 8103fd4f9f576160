//! IoT Device Defender → ASFF (`producers.md` §8, the IoT Developer Guide's three examples).

mod producer_support;

use findinghub_producers::{Producer, iot_device_defender};
use producer_support::*;
use serde_json::{Value, json};

const D: Producer = Producer::IotDeviceDefender;
const DIR: &str = "iot-device-defender";
const ACCOUNT: &str = "123456789012";

/// The documentation's examples name account 123456789012 in AwsAccountId, but 336757784525 or
/// 615243839755 at the start of their Ids: an artefact. The Ids are compared with the account
/// replaced.
fn doc_id(want: &Value, doc_account: &str) -> Value {
    json!(want["Id"].as_str().unwrap_or_default().replacen(doc_account, ACCOUNT, 1))
}

/// The list-audit-findings output behind the Developer Guide's audit-finding example.
fn audit_output() -> Value {
    json!({"findings": [{
        "findingId": "1928b87ab338ee2f541f6fab8c41c4f5", "taskId": "9f71b6e90cfb57d4ac671be3a4898e6a",
        "checkName": "IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "taskStartTime": 1667772700.554, "findingTime": 1667772700.941,
        "severity": "CRITICAL",
        "nonCompliantResource": {"resourceType": "IOT_POLICY", "resourceIdentifier": {"policyVersionIdentifier": {"policyName": "policyexample", "policyVersionId": "1"}}},
        "reasonForNonCompliance": "Policy allows broad access to IoT data plane actions: [iot:Connect].",
        "reasonForNonComplianceCode": "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS", "isSuppressed": false
    }]})
}

#[test]
fn audit_finding_against_the_developer_guide_example() {
    let got = one(D, &audit_output(), &options_in("us-west-2", ACCOUNT));
    let want = asff(DIR, "audit-finding.iot-devguide.json");
    assert_eq!(got["Id"], doc_id(&want, "336757784525"));
    assert_fields(
        &got,
        &want,
        &[
            "SchemaVersion",
            "ProductArn",
            "Region",
            "GeneratorId",
            "AwsAccountId",
            "Types",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Description",
            "SourceUrl",
            "Resources",
            "RecordState",
            "FindingProviderFields",
        ],
    );
    // TaskType (ON_DEMAND_AUDIT_TASK in the example) is not in list-audit-findings' output.
    let mut want_fields = own_product_fields(&want);
    want_fields.remove("TaskType");
    assert_eq!(own_product_fields(&got), want_fields);
}

/// describe-audit-task's output behind the check-summary example, with the task id added.
fn task_output() -> Value {
    json!({
        "taskId": "f3021945485adf92487c273558fcaa51",
        "taskStatus": "COMPLETED", "taskType": "SCHEDULED_AUDIT_TASK", "taskStartTime": 1666102813.933,
        "taskStatistics": {"totalChecks": 1, "nonCompliantChecks": 1},
        "scheduledAuditName": "daily_audit_schedule_checks",
        "auditDetails": {"DEVICE_CERTIFICATE_KEY_QUALITY_CHECK": {
            "checkRunStatus": "COMPLETED_NON_COMPLIANT", "checkCompliant": false,
            "totalResourcesCount": 1000, "nonCompliantResourcesCount": 2, "suppressedNonCompliantResourcesCount": 1
        }}
    })
}

#[test]
fn check_summary_against_the_developer_guide_example() {
    let got = one(D, &task_output(), &options_in("us-east-1", ACCOUNT));
    let want = asff(DIR, "audit-check-summary.iot-devguide.json");
    assert_eq!(got["Id"], doc_id(&want, "615243839755"));
    assert_fields(
        &got,
        &want,
        &[
            "SchemaVersion",
            "ProductArn",
            "Region",
            "GeneratorId",
            "AwsAccountId",
            "Types",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "SourceUrl",
            "Resources",
            "RecordState",
            "FindingProviderFields",
        ],
    );
    assert_eq!(own_product_fields(&got), own_product_fields(&want));
    // The example's Description says "weekly" of a daily schedule (describe-audit-task does not
    // give the frequency) and misspells "non-cimpliant": its facts are compared.
    let text = got["Description"].as_str().unwrap_or_default();
    for part in [
        "Task f3021945485adf92487c273558fcaa51",
        "scheduled Audit daily_audit_schedule_checks completes.",
        "2 non-compliant resources are found for DEVICE_CERTIFICATE_KEY_QUALITY_CHECK out of 1000 resources in the account.",
        "The percentage of non-compliant resources is 0.2%.",
    ] {
        assert!(text.contains(part), "{text:?} lacks {part:?}");
    }
}

/// list-violation-events' output behind the Detect example.
fn violation_output(event_type: &str) -> Value {
    json!({"violationEvents": [{
        "violationId": "e92a782593c6f5b1fc7cb6a443dc1a12", "thingName": "MyThing", "securityProfileName": "MySecurityProfile",
        "behavior": {"name": "MyBehavior", "metric": "aws:num-disconnects",
            "criteria": {"comparisonOperator": "less-than", "value": {"count": 1}, "durationSeconds": 300,
                "consecutiveDatapointsToAlarm": 1, "consecutiveDatapointsToClear": 1},
            "suppressAlerts": false},
        "violationEventType": event_type, "violationEventTime": 1668033900.0
    }]})
}

#[test]
fn detect_violation_against_the_developer_guide_example() {
    let got = one(D, &violation_output("in-alarm"), &options_in("us-east-1", ACCOUNT));
    let want = asff(DIR, "detect-violation.iot-devguide.json");
    assert_fields(
        &got,
        &want,
        &[
            "SchemaVersion",
            "Id",
            "ProductArn",
            "Region",
            "GeneratorId",
            "AwsAccountId",
            "Types",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Description",
            "SourceUrl",
            "Resources",
            "RecordState",
            "FindingProviderFields",
        ],
    );
    let mut ours = own_product_fields(&got);
    assert_eq!(ours.remove("ViolationEventType"), Some(json!("in-alarm")), "kept in addition to the documented fields");
    assert_eq!(ours, own_product_fields(&want));
}

#[test]
fn the_three_products_and_their_samples() {
    let o = options_in("us-east-1", ACCOUNT);
    for (file, product) in [
        ("list-audit-findings.iot-devguide.json", "iot-device-defender-audit"),
        ("describe-audit-task.iot-devguide.json", "iot-device-defender-audit"),
        ("list-violation-events.iot-devguide.json", "iot-device-defender-detect"),
    ] {
        let sample = native(DIR, file);
        assert_eq!(acceptors(&sample), [D], "{file}");
        let f = one(D, &sample, &o);
        assert_eq!(f["ProductArn"], format!("arn:aws:securityhub:us-east-1::product/aws/{product}"), "{file}");
    }
    // The audit finding's times are fractional epoch seconds: no millisecond is lost.
    let f = one(D, &native(DIR, "list-audit-findings.iot-devguide.json"), &o);
    assert_eq!(f["CreatedAt"], "2020-07-31T04:01:36.651Z");
    assert_eq!(f["ProductFields"]["TaskStartTime"], "1596168096157");
}

#[test]
fn cleared_violations_are_archived() {
    let o = options_in("us-east-1", ACCOUNT);
    assert_eq!(one(D, &violation_output("in-alarm"), &o)["RecordState"], "ACTIVE");
    for cleared in ["alarm-cleared", "alarm-invalidated"] {
        let f = one(D, &violation_output(cleared), &o);
        assert_eq!(f["RecordState"], "ARCHIVED", "{cleared}");
        assert_eq!(f["Id"], "e92a782593c6f5b1fc7cb6a443dc1a12", "the same finding as the alarm");
    }
    // The documentation's sample is an invalidated ML violation.
    let f = one(D, &native(DIR, "list-violation-events.iot-devguide.json"), &o);
    assert_eq!(f["RecordState"], "ARCHIVED");
    assert!(f["Title"].as_str().is_some_and(|t| t.contains("ML behavior")));
    // Active violations (list-active-violations) are in alarm.
    let active = json!({"activeViolations": [{
        "violationId": "v1", "thingName": "t", "securityProfileName": "p",
        "behavior": {"name": "b", "metric": "aws:all-bytes-out",
            "criteria": {"comparisonOperator": "greater-than", "statisticalThreshold": {"statistic": "p90"}}},
        "violationStartTime": 1700000000.0, "lastViolationTime": 1700000300.0
    }]});
    let f = one(D, &active, &o);
    assert_eq!(f["RecordState"], "ACTIVE");
    assert_eq!(f["ProductFields"]["BehaviorCriteriaType"], "STATISTICAL");
    assert_eq!(f["CreatedAt"], "2023-11-14T22:13:20.000Z");
    assert_eq!(f["UpdatedAt"], "2023-11-14T22:18:20.000Z");
}

#[test]
fn check_summaries_of_compliant_or_canceled_checks_are_archived() {
    let o = options_in("us-east-1", ACCOUNT);
    let mut t = task_output();
    t["auditDetails"]["LOGGING_DISABLED_CHECK"] = json!({"checkRunStatus": "COMPLETED_COMPLIANT", "checkCompliant": true, "totalResourcesCount": 1, "nonCompliantResourcesCount": 0});
    t["auditDetails"]["CA_CERTIFICATE_EXPIRING_CHECK"] = json!({"checkRunStatus": "FAILED"});
    let found = findings(D, &t, &o);
    assert_eq!(found.len(), 2, "a failed check sends nothing");
    let by_check = |c: &str| found.iter().find(|f| f["ProductFields"]["CheckName"] == c).cloned().unwrap_or_default();
    assert_eq!(by_check("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK")["RecordState"], "ACTIVE");
    let compliant = by_check("LOGGING_DISABLED_CHECK");
    assert_eq!(compliant["RecordState"], "ARCHIVED");
    assert_eq!(compliant["Title"], "LOGGING_DISABLED_CHECK Summary: Completed with 0 non-compliant resources");

    let mut canceled = task_output();
    canceled["taskStatus"] = json!("CANCELED");
    assert_eq!(one(D, &canceled, &o)["RecordState"], "ARCHIVED");
    let mut running = task_output();
    running["taskStatus"] = json!("IN_PROGRESS");
    assert!(no_finding(D, &running, &o).contains("IN_PROGRESS"));

    // Without the task id (as describe-audit-task prints it) the task is named by type, schedule
    // and start time, and the finding Id is the same.
    let mut anonymous = task_output();
    anonymous.as_object_mut().map(|m| m.remove("taskId"));
    let f = one(D, &anonymous, &o);
    assert_eq!(f["Id"], one(D, &task_output(), &o)["Id"]);
    assert_eq!(f["GeneratorId"], "SCHEDULED_AUDIT_TASK/daily_audit_schedule_checks/1666102813933");
    assert!(f["ProductFields"].get("TaskId").is_none());
}

#[test]
fn severity_rules() {
    // Check severities of the audit check pages.
    for (check, label) in [
        ("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL"),
        ("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "CRITICAL"),
        ("DEVICE_CERTIFICATE_SHARED_CHECK", "CRITICAL"),
        ("CONFLICTING_CLIENT_IDS_CHECK", "HIGH"),
        ("DEVICE_CERTIFICATE_EXPIRING_CHECK", "MEDIUM"),
        ("CA_CERTIFICATE_EXPIRING_CHECK", "MEDIUM"),
        ("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM"),
        ("IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK", "MEDIUM"),
        ("LOGGING_DISABLED_CHECK", "LOW"),
        ("DEVICE_CERTIFICATE_AGE_CHECK", "LOW"),
        ("SOME_FUTURE_CHECK", "MEDIUM"),
    ] {
        assert_eq!(iot_device_defender::check_severity(check), label, "{check}");
        let mut t = task_output();
        t["auditDetails"] = json!({ check: {"checkRunStatus": "COMPLETED_NON_COMPLIANT", "totalResourcesCount": 3, "nonCompliantResourcesCount": 1} });
        let f = one(D, &t, &options_in("us-east-1", ACCOUNT));
        let normalized = findinghub_producers::common::normalized_from_label(label);
        assert_eq!(f["Severity"], json!({"Label": label, "Normalized": normalized}), "{check}");
    }
    // An audit finding carries its own severity; without one, its check's.
    for (given, label) in [(json!("LOW"), "LOW"), (json!("high"), "HIGH"), (json!(null), "CRITICAL")] {
        let mut a = audit_output();
        a["findings"][0]["severity"] = given.clone();
        assert_eq!(one(D, &a, &options_in("us-west-2", ACCOUNT))["Severity"]["Label"], label, "{given}");
    }
    // Detect: MEDIUM as documented.
    assert_eq!(one(D, &violation_output("in-alarm"), &options_in("us-east-1", ACCOUNT))["Severity"]["Label"], "MEDIUM");
}

#[test]
fn behaviour_checks_are_unusual_behaviors() {
    let mut a = audit_output();
    a["findings"][0]["checkName"] = json!("CONFLICTING_CLIENT_IDS_CHECK");
    a["findings"][0]["nonCompliantResource"] =
        json!({"resourceType": "CLIENT_ID", "resourceIdentifier": {"clientId": "c1"}});
    let f = one(D, &a, &options_in("us-west-2", ACCOUNT));
    assert_eq!(f["Types"], json!(["Unusual Behaviors"]));
    assert_eq!(f["Resources"][0]["Type"], "AwsIotClientId");
    let mut t = task_output();
    t["auditDetails"] = json!({"DEVICE_CERTIFICATE_SHARED_CHECK": {"checkRunStatus": "COMPLETED_NON_COMPLIANT"}});
    assert_eq!(one(D, &t, &options_in("us-east-1", ACCOUNT))["Types"], json!(["Unusual Behaviors"]));
}

#[test]
fn the_account_and_region_come_from_the_options_or_the_file() {
    let e = error(D, &audit_output(), &options_in("us-west-2", ACCOUNT).clone_without_account());
    assert!(e.message.contains("accountId"), "{}", e.message);
    let mut a = audit_output();
    a["accountId"] = json!("210987654321");
    a["region"] = json!("eu-west-1");
    let f = one(D, &a, &options());
    assert_eq!(f["AwsAccountId"], "210987654321");
    assert_eq!(f["Region"], "eu-west-1");
    assert_error_names(D, &audit_output(), &options(), "accountId");
}

trait WithoutAccount {
    fn clone_without_account(&self) -> Self;
}

impl WithoutAccount for findinghub_producers::ConvertOptions {
    fn clone_without_account(&self) -> Self {
        Self { default_account: None, ..self.clone() }
    }
}

#[test]
fn malformed_outputs_name_the_field() {
    let o = options_in("us-east-1", ACCOUNT);
    let mut a = audit_output();
    a["findings"][0].as_object_mut().map(|f| f.remove("nonCompliantResource"));
    assert_error_names(D, &a, &o, "findings[0].nonCompliantResource");
    let mut a = audit_output();
    a["findings"][0]["severity"] = json!("URGENT");
    assert_error_names(D, &a, &o, "findings[0].severity");
    let mut a = audit_output();
    a["findings"][0]["findingTime"] = json!("later");
    assert_error_names(D, &a, &o, "findings[0].findingTime");
    let mut v = violation_output("in-alarm");
    v["violationEvents"][0].as_object_mut().map(|e| e.remove("violationEventTime"));
    assert_error_names(D, &v, &o, "violationEvents[0].violationEventTime");
    let mut v = violation_output("in-alarm");
    v["violationEvents"][0]["thingName"] = json!(7);
    assert_error_names(D, &v, &o, "violationEvents[0].thingName");
    let mut t = task_output();
    t["taskStartTime"] = json!("x");
    assert_error_names(D, &t, &o, "taskStartTime");
    assert_error_names(D, &json!({"violationEvents": []}), &o, "not an IoT Device Defender output");
}

#[test]
fn never_panics() {
    let o = options_in("us-east-1", ACCOUNT);
    never_panics_on_variants_of(D, &audit_output(), &o);
    never_panics_on_variants_of(D, &task_output(), &o);
    never_panics_on_variants_of(D, &violation_output("in-alarm"), &o);
    never_panics_on_variants_of(D, &native(DIR, "list-violation-events.iot-devguide.json"), &o);
}
