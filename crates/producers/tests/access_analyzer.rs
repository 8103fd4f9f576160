//! IAM Access Analyzer → ASFF (`producers.md` §7).

mod producer_support;

use findinghub_producers::{Producer, access_analyzer};
use producer_support::*;
use serde_json::{Value, json};

const A: Producer = Producer::AccessAnalyzer;
const DIR: &str = "access-analyzer";
const EVENT: &str = "finding.eventbridge.iam-userguide.json";
const ERROR_EVENT: &str = "error-finding.eventbridge.iam-userguide.json";

fn event() -> Value {
    native(DIR, EVENT)
}

/// An external-access event with the values of the IAM User Guide's ASFF example (2023).
fn documented_event() -> Value {
    let mut e = event();
    e["resources"] = json!(["arn:aws:access-analyzer:us-west-2:111122223333:analyzer/my-analyzer"]);
    let d = &mut e["detail"];
    d["id"] = json!("dad90d5d-63b4-6575-b0fa-ef9c556ge798");
    d["principal"] = json!({"AWS": "444455556666"});
    d["action"] = json!(["s3:GetObject", "s3:GetObjectVersion"]);
    d["createdAt"] = json!("2020-11-10T16:17:47Z");
    d["updatedAt"] = json!("2020-11-10T16:43:49Z");
    e
}

#[test]
fn the_user_guide_example_field_by_field() {
    let got = one(A, &documented_event(), &options());
    let want = asff(DIR, "external-access-cross-account.iam-userguide-2023.json");
    assert_fields(
        &got,
        &want,
        &[
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
            "Remediation",
            "SourceUrl",
            "Resources",
            "RecordState",
        ],
    );
    // Workflow and WorkflowState are the hub's to set on import.
    assert!(got.get("ProductFields").is_none(), "an account analyzer adds no ProductFields of its own");
}

#[test]
fn the_documented_sample_event() {
    let f = one(A, &event(), &options());
    assert_eq!(f["Id"], "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/MyAnalyzer/arn:aws:s3:::my-bucket");
    assert_eq!(
        f["Description"],
        "AWS::S3::Bucket/arn:aws:s3:::my-bucket/ allows cross-account access from AWS 999988887777"
    );
    assert_eq!(f["UpdatedAt"], "2019-11-21T01:14:07.000Z", "UpdatedAt comes from the finding");
    assert_eq!(acceptors(&event()), [A]);
    assert_eq!(acceptors(&native(DIR, ERROR_EVENT)), [A]);
}

#[test]
fn public_access_against_the_real_export() {
    let mut e = event();
    e["resources"] = json!(["arn:aws:access-analyzer:eu-west-1:123456789012:analyzer/iam-access-analyzer"]);
    e["account"] = json!("123456789012");
    e["region"] = json!("eu-west-1");
    let d = &mut e["detail"];
    d["accountId"] = json!("123456789012");
    d["region"] = json!("eu-west-1");
    d["id"] = json!("87860901-9d15-43ce-810f-6c2b0adf5544");
    d["resource"] = json!("arn:aws:s3:::bucketname");
    d["isPublic"] = json!(true);
    d["principal"] = json!({"AWS": "*"});
    d["action"] =
        json!(["s3:ListBucket", "s3:ListBucketByTags", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"]);
    d["createdAt"] = json!("2020-10-08T13:31:44Z");
    d["updatedAt"] = json!("2020-10-08T13:31:44Z");
    let got = one(A, &e, &options());
    let want = asff(DIR, "external-access-public.real-export-2020.python-asff.json");
    assert_fields(
        &got,
        &want,
        &[
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
            "Remediation",
            "SourceUrl",
            "Resources",
            "RecordState",
        ],
    );
    assert_eq!(got["Severity"], json!({"Label": "MEDIUM", "Normalized": 40, "Product": 40}));
}

#[test]
fn unused_permission_against_the_user_guide_example() {
    let e = json!({
        "version": "0", "id": "dc7ce3ee-114b-3243-e249-7f10f9054b21",
        "detail-type": "Unused Access Finding for IAM entities", "source": "aws.access-analyzer",
        "account": "111122223333", "time": "2023-09-21T20:39:17Z", "region": "us-west-2",
        "resources": ["arn:aws:access-analyzer:us-west-2:111122223333:analyzer/integTestAnalyzer-DO-NOT-DELETE"],
        "detail": {
            "findingId": "DEMO24d8d-0d3f-4d3d-99f4-299fc8a62ee7", "resource": "arn:aws:iam::111122223333:role/TestRole",
            "resourceType": "AWS::IAM::Role", "accountId": "111122223333",
            "createdAt": "2023-09-18T16:29:09.657Z", "updatedAt": "2023-09-21T20:39:16.651Z", "analyzedAt": "2023-09-21T20:39:16.651Z",
            "previousStatus": "ACTIVE", "status": "RESOLVED", "version": "v", "isDeleted": false,
            "findingType": "UnusedPermission", "numberOfUnusedServices": 15, "numberOfUnusedActions": 256
        }
    });
    let got = one(A, &e, &options());
    let want = asff(DIR, "unused-permission.iam-userguide-current.json");
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
            "Remediation",
            "Resources",
            "RecordState",
            "FindingProviderFields",
        ],
    );
    assert_eq!(own_product_fields(&got), own_product_fields(&want));
    // The example's Title/Description name another role (`IsengardRole-DO-NOT-DELETE`) than its
    // resource, and its SourceUrl another account: documentation artefacts. The wording is compared.
    assert_eq!(got["Title"], "AwsIamRole/arn:aws:iam::111122223333:role/TestRole/ contains unused permissions");
    assert_eq!(
        got["Description"],
        "AWS::IAM::Role/arn:aws:iam::111122223333:role/TestRole/ contains unused service and action-level permissions"
    );
    assert_eq!(
        got["SourceUrl"],
        "https://us-west-2.console.aws.amazon.com/access-analyzer/home?region=us-west-2#/unused-access-findings?resource=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FTestRole"
    );
}

fn unused_event(finding_type: &str) -> Value {
    json!({
        "version": "0", "id": "e", "detail-type": "Unused Access Finding for IAM entities", "source": "aws.access-analyzer",
        "account": "111122223333", "time": "2023-09-29T17:31:40Z", "region": "us-east-1",
        "resources": ["arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused"],
        "detail": {
            "findingId": "f-1", "resource": "arn:aws:iam::111122223333:user/alice", "resourceType": "AWS::IAM::User",
            "accountId": "111122223333", "createdAt": "2023-09-29T17:29:18.758Z", "updatedAt": "2023-09-29T17:29:18.758Z",
            "analyzedAt": "2023-09-29T17:29:18.758Z", "status": "ACTIVE", "isDeleted": false, "findingType": finding_type
        }
    })
}

#[test]
fn each_unused_access_type() {
    for kind in access_analyzer::UNUSED_KINDS {
        let f = one(A, &unused_event(kind.finding_type), &options());
        assert_eq!(f["Types"], json!([kind.asff_type]));
        assert_eq!(
            f["Id"],
            format!(
                "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused/arn:aws:iam::111122223333:user/alice/{}",
                kind.id_suffix
            )
        );
        assert_eq!(f["Title"], format!("AwsIamUser/arn:aws:iam::111122223333:user/alice/ contains {}", kind.phrase));
        assert_eq!(f["Severity"]["Label"], kind.severity);
        assert_eq!(f["ProductFields"]["findingType"], kind.finding_type);
    }
    assert!(no_finding(A, &unused_event("UnusedSomethingNew"), &options()).contains("UnusedSomethingNew"));
}

#[test]
fn organization_analyzers_report_in_the_administrator_account() {
    // The analyzer lives in the administrator account (the event's `account`); the resource
    // belongs to a member account.
    let mut e = event();
    e["account"] = json!("111111111111");
    e["resources"] = json!(["arn:aws:access-analyzer:us-west-2:111111111111:analyzer/org-analyzer"]);
    e["detail"]["accountId"] = json!("222222222222");
    e["detail"]["resource"] = json!("arn:aws:iam::222222222222:role/shared");
    e["detail"]["resourceType"] = json!("AWS::IAM::Role");
    let f = one(A, &e, &options());
    assert_eq!(f["AwsAccountId"], "111111111111");
    assert_eq!(f["ProductFields"]["ResourceOwnerAccount"], "222222222222");
    assert_eq!(
        f["Id"],
        "arn:aws:access-analyzer:us-west-2:111111111111:analyzer/org-analyzer/arn:aws:iam::222222222222:role/shared"
    );

    let mut u = unused_event("UnusedIAMRole");
    u["account"] = json!("111111111111");
    u["resources"] = json!(["arn:aws:access-analyzer:us-east-1:111111111111:analyzer/org-unused"]);
    u["detail"]["accountId"] = json!("222222222222");
    let f = one(A, &u, &options());
    assert_eq!(f["AwsAccountId"], "111111111111");
    assert_eq!(f["ProductFields"]["ResourceOwnerAccount"], "222222222222");
    assert!(f["ProductFields"].get("resourceOwnerAccount").is_none());

    // An API output that says the analyzer is an organization one.
    let list = json!({
        "analyzerArn": "arn:aws:access-analyzer:us-west-2:111111111111:analyzer/org-analyzer",
        "analyzerType": "ORGANIZATION",
        "findings": [{
            "id": "x", "resource": "arn:aws:s3:::b", "resourceType": "AWS::S3::Bucket", "resourceOwnerAccount": "111111111111",
            "principal": {"AWS": "999999999999"}, "action": ["s3:GetObject"], "condition": {}, "isPublic": false,
            "status": "ACTIVE", "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z", "analyzedAt": "2024-01-01T00:00:00Z"
        }]
    });
    let f = one(A, &list, &options());
    assert_eq!(f["ProductFields"]["ResourceOwnerAccount"], "111111111111");
}

#[test]
fn resolved_archived_and_deleted_findings_are_archived() {
    for (status, deleted, record) in [
        ("ACTIVE", false, "ACTIVE"),
        ("RESOLVED", false, "ARCHIVED"),
        ("ARCHIVED", false, "ARCHIVED"),
        ("ACTIVE", true, "ARCHIVED"),
    ] {
        let mut e = event();
        e["detail"]["status"] = json!(status);
        e["detail"]["isDeleted"] = json!(deleted);
        assert_eq!(one(A, &e, &options())["RecordState"], record, "{status} deleted={deleted}");
        let mut u = unused_event("UnusedIAMRole");
        u["detail"]["status"] = json!(status);
        u["detail"]["isDeleted"] = json!(deleted);
        assert_eq!(one(A, &u, &options())["RecordState"], record, "unused {status} deleted={deleted}");
    }
}

#[test]
fn error_and_internal_access_findings_make_none() {
    let reason = no_finding(A, &native(DIR, ERROR_EVENT), &options());
    assert!(reason.contains("error finding") && reason.contains("ACCESS_DENIED"), "{reason}");
    let mut u = unused_event("UnusedIAMRole");
    u["detail"]["error"] = json!("INTERNAL_ERROR");
    assert!(no_finding(A, &u, &options()).contains("INTERNAL_ERROR"));
    let mut i = event();
    i["detail-type"] = json!("Internal Access Finding");
    assert!(no_finding(A, &i, &options()).contains("internal-access"));
    let mut p = event();
    p["detail-type"] = json!("Access Preview State Change");
    assert!(!access_analyzer::accepts(&p));
    assert!(no_finding(A, &p, &options()).contains("only findings"));
}

fn item(id: &str, resource: &str, status: &str, principal: &str) -> Value {
    json!({
        "id": id, "resource": resource, "resourceType": "AWS::S3::Bucket", "resourceOwnerAccount": "111122223333",
        "principal": {"AWS": principal}, "action": ["s3:GetObject"], "condition": {"aws:SourceVpc": "vpc-1"}, "isPublic": false,
        "status": status, "createdAt": format!("2024-01-0{}T00:00:00Z", id.len()), "updatedAt": "2024-02-01T00:00:00Z",
        "analyzedAt": "2024-02-01T00:00:00Z"
    })
}

#[test]
fn list_outputs_group_external_findings_per_resource() {
    let analyzer = "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/a";
    let list = json!({"analyzerArn": analyzer, "findings": [
        item("1", "arn:aws:s3:::one", "RESOLVED", "444455556666"),
        item("22", "arn:aws:s3:::one", "ACTIVE", "777788889999"),
        item("333", "arn:aws:s3:::two", "RESOLVED", "444455556666"),
    ]});
    assert_eq!(acceptors(&list), [A]);
    let found = findings(A, &list, &options());
    assert_eq!(found.len(), 2, "one finding per resource");
    assert_eq!(found[0]["Id"], format!("{analyzer}/arn:aws:s3:::one"));
    assert_eq!(found[0]["RecordState"], "ACTIVE", "one active finding keeps the resource's finding active");
    assert_eq!(found[0]["Resources"][0]["Details"]["Other"]["External Principal"], "777788889999");
    assert_eq!(found[0]["Resources"][0]["Details"]["Other"]["Condition"], r#"{"aws:SourceVpc":"vpc-1"}"#);
    assert_eq!(found[0]["CreatedAt"], "2024-01-01T00:00:00.000Z");
    assert_eq!(found[1]["RecordState"], "ARCHIVED", "all resolved: archived");

    let missing = json!({"findings": [item("1", "arn:aws:s3:::one", "ACTIVE", "1")]});
    assert_error_names(A, &missing, &options(), "analyzerArn");
    let single = json!({"analyzerArn": analyzer, "finding": item("1", "arn:aws:s3:::one", "ACTIVE", "444455556666")});
    assert_eq!(one(A, &single, &options())["Id"], format!("{analyzer}/arn:aws:s3:::one"));
}

#[test]
fn malformed_events_name_the_field() {
    let o = options();
    let mut e = event();
    e["resources"] = json!([]);
    assert_error_names(A, &e, &o, "resources[0]");
    let mut e = event();
    e["detail"].as_object_mut().map(|d| d.remove("resource"));
    assert_error_names(A, &e, &o, "detail.resource");
    let mut e = event();
    e["detail"]["createdAt"] = json!(12.5e300);
    assert_error_names(A, &e, &o, "detail.createdAt");
    let mut u = unused_event("UnusedIAMRole");
    u["detail"].as_object_mut().map(|d| d.remove("findingId"));
    assert_error_names(A, &u, &o, "detail.findingId");
    let mut e = event();
    e["detail"] = json!([]);
    assert_error_names(A, &e, &o, "detail");
    assert_error_names(A, &json!({"resources": []}), &o, "not an IAM Access Analyzer finding");
}

#[test]
fn never_panics() {
    assert!(never_panics_on_variants_of(A, &documented_event(), &options()) > 300);
    never_panics_on_variants_of(A, &unused_event("UnusedPermission"), &options());
    never_panics_on_variants_of(
        A,
        &json!({"analyzerArn": "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/a", "findings": [
            item("1", "arn:aws:s3:::one", "RESOLVED", "444455556666"), item("22", "arn:aws:s3:::one", "ACTIVE", "1")
        ]}),
        &options(),
    );
}
