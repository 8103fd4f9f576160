//! Macie → ASFF (`producers.md` §5).

mod producer_support;

use findinghub_producers::{ConvertOptions, Producer, macie};
use producer_support::*;
use serde_json::{Value, json};

const M: Producer = Producer::Macie;
const DIR: &str = "macie";
const EVENT: &str = "policy-finding-s3bucketencryptiondisabled.eventbridge.TRUNCATED-eventbridge-doc.json";

fn event() -> Value {
    native(DIR, EVENT)
}

fn sensitive_on() -> ConvertOptions {
    ConvertOptions { macie_sensitive_data: true, ..ConvertOptions::default() }
}

/// The documented event with the members that the documentation cut off, filled in from the real
/// 2020 export of the same finding type (bucket, owner, encryption, tags).
fn full_event() -> Value {
    let mut e = event();
    e["detail"]["category"] = json!("POLICY");
    e["detail"]["sample"] = json!(false);
    e["detail"]["archived"] = json!(false);
    e["detail"]["resourcesAffected"] = json!({
        "s3Bucket": {
            "arn": "arn:aws:s3:::bucketname", "name": "bucketname", "createdAt": "2020-09-04T00:37:17.000Z",
            "owner": {"displayName": "aws-root+security-prod", "id": "CanonicalId of Owner"},
            "defaultServerSideEncryption": {"encryptionType": "NONE"},
            "tags": [{"key": "STAGE", "value": "prod"}]
        }
    });
    e
}

#[test]
fn against_the_real_export_of_the_same_type() {
    let got = one(M, &full_event(), &options());
    let real = asff(DIR, "policy-s3bucketencryptiondisabled.real-export-2020.python-asff.json");
    // Same type, same texts, same severity; the export's Types and Resources[].Type are in the
    // 2020 format (raw Macie type, `AWS::S3::Bucket`), which the current documentation replaced:
    // compared against the documented rule instead.
    assert_fields(&got, &real, &["SchemaVersion", "GeneratorId", "Title", "Description", "Severity", "RecordState"]);
    assert_eq!(got["Types"], json!(["Effects/Data Exposure/Policy:IAMUser-S3BucketEncryptionDisabled"]));
    assert_eq!(got["Id"], "64b917aa-3843-014c-91d8-937ffexample", "Id is Macie's finding id");
    assert_eq!(got["ProductArn"], "arn:aws:securityhub:us-east-1::product/aws/macie");
    let (r, w) = (&got["Resources"][0], &real["Resources"][0]);
    assert_eq!(r["Type"], "AwsS3Bucket");
    assert_fields(r, w, &["Id", "Partition", "Tags"]);
    assert_eq!(r["Details"]["AwsS3Bucket"], w["Details"]["AwsS3Bucket"]);
    assert_eq!(got["CreatedAt"], "2021-04-29T15:46:02.000Z");
    assert_eq!(got["UpdatedAt"], "2021-04-29T23:12:15.000Z", "UpdatedAt comes from the finding");
    assert_eq!(got["Sample"], false);
}

#[test]
fn the_documented_type_example() {
    let mut e = full_event();
    e["detail"]["type"] = json!("Policy:IAMUser/S3BucketPublic");
    e["detail"]["severity"] = json!({"score": 3, "description": "High"});
    let f = one(M, &e, &options());
    assert_eq!(f["Types"], json!(["Effects/Data Exposure/Policy:IAMUser-S3BucketPublic"]));
    assert_eq!(f["FindingProviderFields"]["Types"], f["Types"]);
    // The real export of this type: HIGH / 70.
    let real = asff(DIR, "policy-s3bucketpublic.real-export-2020.python-asff.json");
    assert_eq!(f["Severity"], real["Severity"]);
}

#[test]
fn the_truncated_documentation_event_still_converts() {
    let f = one(M, &event(), &options());
    assert_eq!(
        f["Resources"],
        json!([{"Type": "Other", "Id": "AWS::::Account:123456789012", "Partition": "aws", "Region": "us-east-1"}])
    );
    assert_eq!(acceptors(&event()), [M]);
}

#[test]
fn severity_labels() {
    for (severity, label, normalized) in [
        (json!({"score": 1, "description": "Low"}), "LOW", 1),
        (json!({"score": 2, "description": "Medium"}), "MEDIUM", 40),
        (json!({"score": 3, "description": "High"}), "HIGH", 70),
        (json!({"score": 1}), "LOW", 1),
        (json!({"score": 2}), "MEDIUM", 40),
        (json!({"score": 3}), "HIGH", 70),
    ] {
        let mut e = event();
        e["detail"]["severity"] = severity.clone();
        let f = one(M, &e, &options());
        assert_eq!(f["Severity"], json!({"Label": label, "Normalized": normalized}), "{severity}");
        assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], label);
    }
}

fn sensitive_event() -> Value {
    let mut e = full_event();
    e["detail"]["type"] = json!("SensitiveData:S3Object/Personal");
    e["detail"]["category"] = json!("CLASSIFICATION");
    e["detail"]["resourcesAffected"]["s3Object"] = json!({
        "key": "customers/2024.csv", "eTag": "abc", "versionId": "v1", "lastModified": "2024-01-01T00:00:00Z",
        "serverSideEncryption": {"encryptionType": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}
    });
    e["detail"]["classificationDetails"] =
        json!({"jobId": "j1", "result": {"sensitiveData": [{"category": "PERSONAL_INFORMATION", "totalCount": 3}]}});
    e
}

#[test]
fn sensitive_data_findings_flow_only_when_turned_on() {
    let reason = no_finding(M, &sensitive_event(), &options());
    assert!(reason.contains("sensitive-data") && reason.contains("macie_sensitive_data"), "{reason}");

    let found = findings(M, &sensitive_event(), &sensitive_on());
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(f["Types"], json!(["Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal"]));
    assert_eq!(f["Resources"][0]["Type"], "AwsS3Bucket");
    assert_eq!(f["Resources"][1]["Type"], "AwsS3Object");
    assert_eq!(f["Resources"][1]["Id"], "arn:aws:s3:::bucketname/customers/2024.csv");
    assert_eq!(f["Resources"][1]["Details"]["AwsS3Object"]["ServerSideEncryption"], "aws:kms");

    // Policy findings flow either way.
    assert_eq!(findings(M, &full_event(), &options()).len(), 1);
    assert_eq!(findings(M, &full_event(), &sensitive_on()).len(), 1);

    // Without a category, the type decides.
    let mut e = sensitive_event();
    e["detail"].as_object_mut().map(|d| d.remove("category"));
    no_finding(M, &e, &options());
}

#[test]
fn sample_findings_name_the_sample_bucket() {
    let mut e = full_event();
    e["detail"]["sample"] = json!(true);
    let f = one(M, &e, &options());
    assert_eq!(f["Sample"], true);
    assert_eq!(f["Resources"][0]["Id"], format!("arn:aws:s3:::{}", macie::SAMPLE_BUCKET));
    assert_eq!(f["Resources"][0]["Id"], "arn:aws:s3:::macie-sample-finding-bucket");

    // Even a sample without resource details names it.
    let mut e = event();
    e["detail"]["sample"] = json!(true);
    assert_eq!(one(M, &e, &options())["Resources"][0]["Id"], "arn:aws:s3:::macie-sample-finding-bucket");
}

#[test]
fn archived_findings_are_not_published() {
    let mut e = full_event();
    e["detail"]["archived"] = json!(true);
    assert!(no_finding(M, &e, &options()).contains("archived"));
}

#[test]
fn getfindings_outputs_keep_what_macie_publishes() {
    let policy = full_event()["detail"].clone();
    let sensitive = sensitive_event()["detail"].clone();
    let list = json!({"findings": [policy, sensitive]});
    assert_eq!(acceptors(&list), [M]);
    assert_eq!(findings(M, &list, &options()).len(), 1);
    assert_eq!(findings(M, &list, &sensitive_on()).len(), 2);
    let only_sensitive = json!({"findings": [sensitive_event()["detail"].clone()]});
    assert!(no_finding(M, &only_sensitive, &options()).contains("findings[0]"));
}

#[test]
fn malformed_events_name_the_field() {
    let o = options();
    let mut e = event();
    e["detail"]["severity"] = json!({"description": "Severe"});
    assert_error_names(M, &e, &o, "detail.severity");
    let mut e = event();
    e["detail"].as_object_mut().map(|d| d.remove("id"));
    assert_error_names(M, &e, &o, "detail.id");
    let mut e = event();
    e["detail"]["updatedAt"] = json!(["2021"]);
    assert_error_names(M, &e, &o, "detail.updatedAt");
    let mut e = full_event();
    e["detail"]["resourcesAffected"] = json!("bucket");
    assert_error_names(M, &e, &o, "detail.resourcesAffected");
    let mut e = event();
    e["detail"] = json!(null);
    assert_error_names(M, &e, &o, "detail");
    let list = json!({"findings": [event()["detail"].clone(), {"type": 1}]});
    assert_error_names(M, &list, &o, "findings[1]");
    assert_error_names(M, &json!({"findings": "none"}), &o, "not a Macie finding");
}

#[test]
fn other_macie_events_make_no_finding() {
    let mut e = event();
    e["detail-type"] = json!("Macie Classification Job Status Change");
    assert!(!macie::accepts(&e));
    assert!(no_finding(M, &e, &options()).contains("only findings"));
}

#[test]
fn never_panics() {
    assert!(never_panics_on_variants_of(M, &sensitive_event(), &sensitive_on()) > 300);
    never_panics_on_variants_of(M, &json!({"findings": [full_event()["detail"].clone()]}), &options());
}
