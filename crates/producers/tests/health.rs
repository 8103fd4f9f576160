//! AWS Health converter: the documented mapping (research note `producers.md` §3), the
//! security filter, the severity rules one by one, global Regions, the Id, truncation and
//! malformed events.

use findinghub_producers::common::{DESCRIPTION_LIMIT, sha256_upper_hex};
use findinghub_producers::{Conversion, ConvertOptions, Producer, health};
use serde_json::{Map, Value, json};
use std::path::Path;

const SAMPLES: &str = "../../../shared/samples";

fn sample(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES).join(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample")).expect("sample JSON")
}

fn convert(event: &Value) -> Conversion {
    health::convert(event, &ConvertOptions::default()).unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn one(event: &Value) -> Map<String, Value> {
    match convert(event) {
        Conversion::Findings(mut f) => {
            assert_eq!(f.len(), 1);
            let doc = f.remove(0);
            findinghub_asff::validate_finding(&Value::Object(doc.clone())).expect("valid ASFF");
            doc
        }
        other => panic!("expected a finding, got {other:?}"),
    }
}

fn error(event: &Value) -> String {
    match health::convert(event, &ConvertOptions::default()) {
        Err(e) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// An EventBridge Health event of a service and type code.
fn event(service: &str, type_code: &str) -> Value {
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "AWS Health Event",
        "source": "aws.health",
        "account": "123456789012",
        "time": "2023-01-27T01:43:21Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "eventArn": format!("arn:aws:health:eu-west-1::event/{service}/{type_code}/{type_code}_1234"),
            "service": service,
            "eventTypeCode": type_code,
            "eventTypeCategory": "accountNotification",
            "eventScopeCode": "ACCOUNT_SPECIFIC",
            "startTime": "Thu, 26 Jan 2023 13:19:03 GMT",
            "lastUpdatedTime": "Thu, 26 Jan 2023 13:44:13 GMT",
            "statusCode": "open",
            "eventRegion": "eu-west-1",
            "eventDescription": [{"language": "en_US", "latestDescription": "Something happened."}],
            "affectedAccount": "123456789012"
        }
    })
}

fn severity(service: &str, type_code: &str) -> String {
    let f = one(&event(service, type_code));
    assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], f["Severity"]["Label"]);
    f["Severity"]["Label"].as_str().expect("label").to_owned()
}

fn is_no_finding(event: &Value) -> bool {
    matches!(convert(event), Conversion::NoFinding(_))
}

/// The documented SES example (`asff/health/typical-finding.sh-userguide.json`) rebuilt as its
/// event, field by field. Not compared: `ProductFields` (only `aws/securityhub/*`, injected on
/// import; the example's FindingId lacks the account and hash — a documentation artefact) and
/// `Workflow` / `WorkflowState` (filled on import).
#[test]
fn matches_the_documented_ses_example() {
    let want = sample("asff/health/typical-finding.sh-userguide.json");
    let arn = "arn:aws:health:us-east-1::event/SES/AWS_SES_CMF_PENDING_TO_SUCCESS/AWS_SES_CMF_PENDING_TO_SUCCESS_303388638044_33fe2115-8dad-40ce-b533-78e29f49de96";
    let e = json!({
        "version": "0",
        "id": "5a0c2e38-0d1c-4b7f-9d88-1c2b3e4f5a6b",
        "detail-type": "AWS Health Event",
        "source": "aws.health",
        "account": "123456789012",
        "time": "2022-01-07T19:17:43Z",
        "region": "us-east-1",
        "resources": ["4557227d-9257-4e49-8d5b-18a99ced4be9.cmf.pinpoint.sysmon-iad.adzel.com"],
        "detail": {
            "eventArn": arn,
            "service": "SES",
            "eventTypeCode": "AWS_SES_CMF_PENDING_TO_SUCCESS",
            "eventTypeCategory": "accountNotification",
            "startTime": "Fri, 07 Jan 2022 16:34:04 GMT",
            "statusCode": "closed",
            "eventRegion": "us-east-1",
            "eventDescription": [{"language": "en_US", "latestDescription": want["Description"]}],
            "affectedEntities": [{"entityValue": "4557227d-9257-4e49-8d5b-18a99ced4be9.cmf.pinpoint.sysmon-iad.adzel.com"}]
        }
    });
    assert!(health::accepts(&e));
    let got = Value::Object(one(&e));
    for field in [
        "SchemaVersion",
        "Id",
        "ProductArn",
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
    ] {
        assert_eq!(got[field], want[field], "{field}");
    }
    assert_eq!(got["ProductName"], "Health");
    assert_eq!(got["CompanyName"], "AWS");
}

#[test]
fn the_id_is_the_arn_with_the_account_and_the_sha256_of_the_start_time() {
    let f = one(&event("IAM", "AWS_IAM_SOMETHING"));
    let created = "2023-01-26T13:19:03.000Z";
    assert_eq!(f["CreatedAt"], created, "RFC 1123 startTime becomes ISO 8601");
    assert_eq!(f["UpdatedAt"], "2023-01-27T01:43:21.000Z", "UpdatedAt is the envelope time");
    assert_eq!(
        f["Id"],
        format!(
            "arn:aws:health:eu-west-1:123456789012:event/IAM/AWS_IAM_SOMETHING/AWS_IAM_SOMETHING_1234/{}",
            sha256_upper_hex(created)
        )
    );
    // The documented example's hash, reproduced.
    assert_eq!(
        sha256_upper_hex("2022-01-07T16:34:04.000Z"),
        "101F7FBAEFC663977DA09CFF56A29236602834D2D361E6A8CA5140BFB3A69B30"
    );
    assert_eq!(one(&event("IAM", "AWS_IAM_SOMETHING")), f, "deterministic");
    assert_eq!(f["Title"], "AWS Health - AWS_IAM_SOMETHING");
    assert_eq!(f["GeneratorId"], "AWS_IAM_SOMETHING");
    assert_eq!(f["Resources"], json!([{"Type": "Other", "Id": "123456789012"}]), "no entity: the account");
}

#[test]
fn critical_rules() {
    assert_eq!(severity("RISK", "AWS_RISK_CREDENTIALS_EXPOSED"), "CRITICAL");
    assert_eq!(severity("Risk", "AWS_RISK_CREDENTIALS_EXPOSED"), "CRITICAL", "service compared without case");
    for code in health::CRITICAL_TYPE_CODES {
        assert_eq!(severity("S3", code), "CRITICAL", "{code}");
    }
    // "has the value": an exact match, not a substring.
    assert!(is_no_finding(&event("S3", "AWS_S3_OPEN_ACCESS_BUCKET_NOTIFICATION_V2")));
    assert_eq!(severity("SHIELD", "AWS_SHIELD_IS_RESPONDING_TO_A_DDOS_ATTACK_AGAINST_YOUR_AWS_RESOURCES_X"), "MEDIUM");
    // Rules apply in order: RISK before the HIGH type codes.
    assert_eq!(severity("RISK", "AWS_RISK_SECURITY_NOTIFICATION"), "CRITICAL");
}

#[test]
fn high_rules() {
    assert_eq!(severity("ABUSE", "AWS_ABUSE_DOS_REPORT"), "HIGH");
    assert_eq!(severity("abuse", "AWS_ABUSE_DOS_REPORT"), "HIGH");
    // "contains": anywhere in the type code.
    assert_eq!(severity("EC2", "AWS_EC2_SECURITY_NOTIFICATION"), "HIGH");
    assert_eq!(severity("LAMBDA", "AWS_LAMBDA_SECURITY_NOTIFICATION_RUNTIME"), "HIGH");
    assert_eq!(severity("EC2", "AWS_EC2_ABUSE_DETECTION_OUTBOUND"), "HIGH");
    // HIGH before MEDIUM: a MEDIUM service with a HIGH type code, ABUSE with a certificate code.
    assert_eq!(severity("IAM", "AWS_IAM_SECURITY_NOTIFICATION"), "HIGH");
    assert_eq!(severity("ABUSE", "AWS_ABUSE_CERTIFICATE_MISUSE"), "HIGH");
}

#[test]
fn medium_rules() {
    for service in health::MEDIUM_SERVICES {
        assert_eq!(severity(service, &format!("AWS_{service}_OPERATIONAL_NOTIFICATION")), "MEDIUM", "{service}");
    }
    assert_eq!(severity("ELASTICLOADBALANCING", "AWS_ELASTICLOADBALANCING_CERTIFICATE_EXPIRING"), "MEDIUM");
    assert_eq!(severity("RDS", "AWS_RDS_MYSQL_END_OF_SUPPORT"), "MEDIUM");
    // Security-related by its type code, but no rule names it (UNV): MEDIUM.
    assert_eq!(severity("EC2", "AWS_EC2_SECURITY_GROUP_REVIEW"), "MEDIUM");
    assert_eq!(health::severity_rule("EC2", "AWS_EC2_SECURITY_GROUP_REVIEW"), None);
}

#[test]
fn non_security_events_make_no_finding() {
    for rel in [
        "native/health/health-event-ec2-account-specific.eventbridge.health-doc-sample.json",
        "native/health/health-event-public-elb-issue.eventbridge.health-doc-sample.json",
    ] {
        let e = sample(rel);
        assert_eq!(Producer::detect(&e), Some(Producer::Health));
        match convert(&e) {
            Conversion::NoFinding(reason) => assert!(reason.contains("not security-related"), "{reason}"),
            other => panic!("{rel}: expected no finding, got {other:?}"),
        }
    }
    assert!(is_no_finding(&event("EC2", "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED")));
    assert!(is_no_finding(&event("LAMBDA", "AWS_LAMBDA_OPERATIONAL_ISSUE")));
}

#[test]
fn the_abuse_sample_is_high_in_us_east_1() {
    let f = one(&sample("native/health/health-abuse-dos-report.eventbridge.health-doc-sample.json"));
    assert_eq!(f["Severity"], json!({"Label": "HIGH", "Normalized": 70}));
    assert_eq!(f["Region"], "us-east-1");
    assert_eq!(f["ProductArn"], "arn:aws:securityhub:us-east-1::product/aws/health");
    assert_eq!(f["Resources"].as_array().map(Vec::len), Some(4), "one resource per affected entity");
    assert!(f["Id"].as_str().is_some_and(|id| id.starts_with("arn:aws:health:global:123456789012:event/")));
}

#[test]
fn global_events_land_in_the_partitions_global_region() {
    for (partition, region) in [("aws", "us-east-1"), ("aws-cn", "cn-northwest-1"), ("aws-us-gov", "us-gov-west-1")] {
        let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
        e["region"] = json!(region);
        e["detail"]["eventRegion"] = json!("global");
        e["detail"]["eventArn"] = json!(format!("arn:{partition}:health:global::event/IAM/AWS_IAM_X/AWS_IAM_X_1"));
        let f = one(&e);
        assert_eq!(f["Region"], region, "{partition}");
        assert_eq!(f["ProductArn"], format!("arn:{partition}:securityhub:{region}::product/aws/health"));
        // The envelope Region may itself say "global".
        e["region"] = json!("global");
        assert_eq!(one(&e)["Region"], region, "{partition}, envelope global");
    }
    // A Regional event stays in its Region.
    let f = one(&event("IAM", "AWS_IAM_SECURITY_NOTIFICATION"));
    assert_eq!(f["Region"], "eu-west-1");
}

#[test]
fn descriptions_are_cut_at_1024_with_the_marker() {
    let mut e = event("KMS", "AWS_KMS_KEY_ROTATION");
    e["detail"]["eventDescription"][0]["latestDescription"] = json!("d".repeat(DESCRIPTION_LIMIT));
    assert_eq!(one(&e)["Description"], "d".repeat(1024));
    e["detail"]["eventDescription"][0]["latestDescription"] = json!("d".repeat(DESCRIPTION_LIMIT + 1));
    let d = one(&e)["Description"].as_str().expect("Description").to_owned();
    assert_eq!(d.chars().count(), 1024);
    assert!(d.ends_with("d(truncated)"));
}

#[test]
fn describe_event_details_output_converts_with_the_account_given() {
    let output = json!({
        "successfulSet": [
            {
                "event": {
                    "arn": "arn:aws:health:us-west-2::event/GUARDDUTY/AWS_GUARDDUTY_OPERATIONAL_ISSUE/AWS_GUARDDUTY_OPERATIONAL_ISSUE_1",
                    "service": "GUARDDUTY",
                    "eventTypeCode": "AWS_GUARDDUTY_OPERATIONAL_ISSUE",
                    "eventTypeCategory": "issue",
                    "region": "us-west-2",
                    "startTime": 1_700_000_000.5,
                    "lastUpdatedTime": "2023-11-14T23:00:00+00:00",
                    "statusCode": "closed",
                    "eventScopeCode": "PUBLIC"
                },
                "eventDescription": {"latestDescription": "GuardDuty issue."}
            },
            {
                "event": {
                    "arn": "arn:aws:health:us-west-2::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_1",
                    "service": "EC2",
                    "eventTypeCode": "AWS_EC2_OPERATIONAL_ISSUE",
                    "region": "us-west-2",
                    "startTime": 1_700_000_000,
                    "lastUpdatedTime": 1_700_000_100
                },
                "eventDescription": {"latestDescription": "EC2 issue."}
            }
        ],
        "failedSet": []
    });
    assert!(health::accepts(&output));
    assert!(error(&output).contains("default_account"));
    let options = ConvertOptions { default_account: Some("210987654321".into()), ..ConvertOptions::default() };
    let Ok(Conversion::Findings(f)) = health::convert(&output, &options) else { panic!("expected findings") };
    assert_eq!(f.len(), 1, "the EC2 event is not security-related");
    assert_eq!(f[0]["AwsAccountId"], "210987654321");
    assert_eq!(f[0]["Region"], "us-west-2");
    assert_eq!(f[0]["CreatedAt"], "2023-11-14T22:13:20.500Z");
    assert_eq!(f[0]["UpdatedAt"], "2023-11-14T23:00:00.000Z");
    assert_eq!(f[0]["Severity"]["Label"], "MEDIUM");
    findinghub_asff::validate_finding(&Value::Object(f[0].clone())).expect("valid ASFF");
}

#[test]
fn other_events_are_not_accepted() {
    let mut e = event("IAM", "AWS_IAM_X");
    e["detail-type"] = json!("AWS Health Something Else");
    assert!(!health::accepts(&e));
    assert!(matches!(convert(&e), Conversion::NoFinding(_)));
    assert!(!health::accepts(&json!({"source": "aws.ec2"})));
}

#[test]
fn malformed_events_are_errors_naming_the_field() {
    for (field, message) in [
        ("eventArn", "detail.eventArn is missing"),
        ("service", "detail.service is missing"),
        ("eventTypeCode", "detail.eventTypeCode is missing"),
        ("startTime", "detail.startTime is missing"),
        ("eventDescription", "detail.eventDescription[].latestDescription is missing"),
    ] {
        let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
        e["detail"].as_object_mut().expect("detail").remove(field);
        let got = error(&e);
        assert!(got.contains(message), "{got} should say {message}");
        assert!(got.starts_with("health event is malformed"), "{got}");
    }
    let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
    e["detail"]["startTime"] = json!("the other day");
    assert!(error(&e).contains("detail.startTime is not a timestamp"));
    let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
    e["detail"]["eventArn"] = json!("not-an-arn");
    assert!(error(&e).contains("eventArn is not a Health event ARN"));
    let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
    e.as_object_mut().expect("event").remove("account");
    assert!(error(&e).contains("account is missing"));
    let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
    e["account"] = json!("");
    assert!(error(&e).contains("account is missing"));
    e["account"] = json!("acct-1");
    assert!(error(&e).contains("account 'acct-1' is not a 12-digit account id"));
    let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
    e.as_object_mut().expect("event").remove("time");
    assert!(error(&e).contains("time is missing"));
    let mut e = event("IAM", "AWS_IAM_SECURITY_NOTIFICATION");
    e.as_object_mut().expect("event").remove("detail");
    assert!(error(&e).contains("detail is missing"));
    assert!(error(&json!([1, 2])).contains("expected"));
}
