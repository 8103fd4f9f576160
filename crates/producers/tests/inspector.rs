//! Inspector (v2) → ASFF (`producers.md` §6).

mod producer_support;

use findinghub_producers::{Producer, inspector};
use producer_support::*;
use serde_json::{Value, json};

const I: Producer = Producer::Inspector;
const DIR: &str = "inspector2";
const PACKAGE: &str = "ec2-package-vulnerability.eventbridge.inspector-doc.json";
const NETWORK: &str = "ec2-network-reachability.eventbridge.inspector-doc.json";
const LIST: &str = "ecr-package-vulnerability.listfindings-api.defectdojo-fixture.json";

/// The Inspector finding behind the observed EC2 export (DefectDojo fixture), written back in
/// Inspector's format from the export's values.
fn ec2_native() -> Value {
    json!({
        "awsAccountId": "XXXXXXXXXXXX",
        "findingArn": "arn:aws:inspector2:us-east-1:XXXXXXXXXXXX:finding/c830773636319eaf8313475ae5876490",
        "type": "PACKAGE_VULNERABILITY", "severity": "CRITICAL", "status": "ACTIVE",
        "title": "CVE-2022-3643 - kernel",
        "description": asff(DIR, "ec2-package-vulnerability.defectdojo-fixture.json")["Description"],
        "firstObservedAt": "2023-03-01T08:04:10Z", "lastObservedAt": "2023-03-01T08:34:29Z", "updatedAt": "2023-03-01T08:34:29Z",
        "inspectorScore": 10.0,
        "inspectorScoreDetails": {"adjustedCvss": {
            "adjustments": [], "cvssSource": "NVD", "score": 10.0, "scoreSource": "NVD",
            "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "version": "3.1"
        }},
        "fixAvailable": "YES",
        "packageVulnerabilityDetails": {
            "cvss": [{"baseScore": 10.0, "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "source": "NVD", "version": "3.1"}],
            "referenceUrls": [
                "https://xenbits.xenproject.org/xsa/advisory-423.txt",
                "https://lists.debian.org/debian-lts-announce/2022/12/msg00031.html",
                "https://lists.debian.org/debian-lts-announce/2022/12/msg00034.html"
            ],
            "relatedVulnerabilities": [], "source": "NVD", "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2022-3643",
            "vendorCreatedAt": "2022-12-07T01:15:00Z", "vendorUpdatedAt": "2023-01-10T19:41:00Z", "vendorSeverity": "CRITICAL",
            "vulnerabilityId": "CVE-2022-3643",
            "vulnerablePackages": [{
                "arch": "X86_64", "epoch": 0, "fixedInVersion": "0:5.10.162-141.675.amzn2", "name": "kernel",
                "packageManager": "OS", "release": "224.520.amzn2", "remediation": "yum update kernel", "version": "4.14.301"
            }]
        },
        "remediation": {"recommendation": {"text": "None Provided"}},
        "resources": [{
            "details": {"awsEc2Instance": {
                "iamInstanceProfileArn": "arn:aws:iam::XXXXXXXXXXXX:instance-profile/something", "imageId": "ami-11111111111111111",
                "ipV4Addresses": ["11.1.11.111"], "ipV6Addresses": [], "launchedAt": "2023-03-01T08:03:19Z", "platform": "AMAZON_LINUX_2",
                "subnetId": "subnet-11111111111111111", "type": "c6i.large", "vpcId": "vpc-11111111111111111"
            }},
            "id": "i-11111111111111111", "partition": "aws", "region": "us-east-1", "tags": {}, "type": "AWS_EC2_INSTANCE"
        }]
    })
}

#[test]
fn against_the_observed_ec2_export_field_by_field() {
    let got = one(I, &json!({"findings": [ec2_native()]}), &options());
    let want = asff(DIR, "ec2-package-vulnerability.defectdojo-fixture.json");
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
            "FirstObservedAt",
            "LastObservedAt",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Description",
            "Remediation",
            "RecordState",
            "FindingProviderFields",
        ],
    );
    assert_eq!(own_product_fields(&got), own_product_fields(&want));
    let (r, w) = (&got["Resources"][0], &want["Resources"][0]);
    assert_fields(r, w, &["Type", "Partition", "Region"]);
    // The export's resource Id is edited (`…:XXXXXXXXXXXX:i-…`, no `instance/`): a fixture artefact
    // (`producers.md` §6). Its `Tags: {}` is left out here (another export of the same kind has none).
    assert_eq!(r["Id"], "arn:aws:ec2:us-east-1:XXXXXXXXXXXX:instance/i-11111111111111111");
    for (field, value) in w["Details"]["AwsEc2Instance"].as_object().into_iter().flatten() {
        let g = &r["Details"]["AwsEc2Instance"][field];
        assert!(g == value || same_instant(g, value), "Details.AwsEc2Instance.{field}: {g} vs {value}");
    }
    let (v, wv) = (&got["Vulnerabilities"][0], &want["Vulnerabilities"][0]);
    assert_fields(v, wv, &["Id", "VulnerablePackages", "ReferenceUrls", "FixAvailable"]);
    // Cvss: the vendor's score, then the adjusted one; the export writes `Adjustments: []` where the
    // adjustments are empty, left out here (the ECR export leaves it out too).
    assert_eq!(floats(&v["Cvss"][0]), floats(&wv["Cvss"][0]));
    let mut adjusted = wv["Cvss"][1].clone();
    adjusted.as_object_mut().map(|m| m.remove("Adjustments"));
    assert_eq!(floats(&v["Cvss"][1]), floats(&adjusted));
    for (field, value) in wv["Vendor"].as_object().into_iter().flatten() {
        let g = &v["Vendor"][field];
        assert!(g == value || same_instant(g, value), "Vendor.{field}: {g} vs {value}");
    }
}

/// The finding behind the observed ECR export, whose description Inspector cut.
fn ecr_native() -> Value {
    let want = asff(DIR, "ecr-package-vulnerability.defectdojo-fixture.json");
    let cut = want["Description"].as_str().unwrap_or_default();
    let full =
        format!("{} is proportional to the size of the identifier.", cut.trim_end_matches(inspector::TRUNCATED_MARKER));
    json!({
        "awsAccountId": "123456789012",
        "findingArn": "arn:aws:inspector2:eu-central-1:123456789012:finding/fbd353dda17ad52c47774ad7d62360b2",
        "type": "PACKAGE_VULNERABILITY", "severity": "MEDIUM", "status": "ACTIVE", "title": "CVE-2023-2650 - openssl",
        "description": full,
        "firstObservedAt": "2023-08-23T14:00:39Z", "lastObservedAt": "2023-08-30T21:11:07Z", "updatedAt": "2023-08-30T21:11:07Z",
        "inspectorScore": 6.5, "epss": {"score": 0.0014}, "exploitAvailable": "NO", "fixAvailable": "YES",
        "inspectorScoreDetails": {"adjustedCvss": {"adjustments": [], "cvssSource": "NVD", "score": 6.5, "scoreSource": "NVD",
            "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", "version": "3.1"}},
        "packageVulnerabilityDetails": {
            "cvss": [{"baseScore": 6.5, "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", "source": "NVD", "version": "3.1"}],
            "referenceUrls": ["https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=null"], "relatedVulnerabilities": [],
            "source": "DEBIAN_CVE", "sourceUrl": "https://security-tracker.debian.org/tracker/CVE-2023-2650",
            "vendorSeverity": "not yet assigned", "vulnerabilityId": "CVE-2023-2650",
            "vulnerablePackages": [{"arch": "AMD64", "epoch": 0, "fixedInVersion": "0:1.1.1n-0+deb11u5", "name": "openssl",
                "packageManager": "OS", "release": "0+deb11u4", "remediation": "apt-get update && apt-get upgrade",
                "sourceLayerHash": "sha256:d5fad00d4eb04c332a8728ee7642bff8fb9cd3cec653ca301ab69a4ca075a757", "version": "1.1.1n"}]
        },
        "remediation": {"recommendation": {"text": "Remediation is available. Please refer to the Fixed version in the vulnerability details section above.For detailed remediation guidance for each of the affected packages, refer to the vulnerabilities section of the detailed finding JSON."}},
        "resources": [{
            "details": {"awsEcrContainerImage": {"architecture": "amd64", "imageHash": "sha256:af965ef68c78374a5f987fce98c0ddfa45801df2395bf012c50b863e65978d74",
                "imageTags": ["2023-08-23"], "platform": "DEBIAN_11", "pushedAt": "2023-08-23T14:00:14Z", "registry": "123456789012", "repositoryName": "repo-os"}},
            "id": "arn:aws:ecr:eu-central-1:123456789012:repository/repo-os/sha256:af965ef68c78374a5f987fce98c0ddfa45801df2395bf012c50b863e65978d74",
            "partition": "aws", "region": "eu-central-1", "type": "AWS_ECR_CONTAINER_IMAGE"
        }]
    })
}

#[test]
fn against_the_observed_ecr_export_field_by_field() {
    let got = one(I, &ecr_native(), &options());
    let want = asff(DIR, "ecr-package-vulnerability.defectdojo-fixture.json");
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
            "FirstObservedAt",
            "LastObservedAt",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Remediation",
            "RecordState",
            "FindingProviderFields",
        ],
    );
    // Inspector cuts long descriptions to 1024 characters ending in `...Truncated`.
    assert_eq!(got["Description"], want["Description"]);
    assert_eq!(got["Description"].as_str().map(|d| d.chars().count()), Some(1024));
    assert_eq!(own_product_fields(&got), own_product_fields(&want));
    let (r, w) = (&got["Resources"][0], &want["Resources"][0]);
    assert_fields(r, w, &["Type", "Id", "Partition", "Region"]);
    for (field, value) in w["Details"]["AwsEcrContainerImage"].as_object().into_iter().flatten() {
        let g = &r["Details"]["AwsEcrContainerImage"][field];
        assert!(g == value || same_instant(g, value), "Details.AwsEcrContainerImage.{field}: {g} vs {value}");
    }
    assert_eq!(floats(&got["Vulnerabilities"]), floats(&want["Vulnerabilities"]));
}

#[test]
fn the_documented_events_convert() {
    let f = one(I, &native(DIR, PACKAGE), &options());
    assert_eq!(f["ProductFields"]["aws/inspector/ProductVersion"], "2");
    assert_eq!(f["ProductArn"], "arn:aws:securityhub:eu-central-1::product/aws/inspector");
    assert_eq!(f["GeneratorId"], inspector::GENERATOR_ID);
    assert_eq!(f["Vulnerabilities"][0]["Id"], "CVE-2024-29069");
    assert_eq!(
        f["Vulnerabilities"][0]["Vendor"]["VendorCreatedAt"], "2024-07-25T20:15:00.000Z",
        "Inspector's date(1) timestamps are read"
    );
    assert_eq!(f["UpdatedAt"], "2024-09-04T17:00:36.951Z", "UpdatedAt comes from the finding");

    let n = one(I, &native(DIR, NETWORK), &options());
    assert_eq!(
        n["Types"],
        json!(["Software and Configuration Checks/AWS Security Best Practices/Network Reachability"])
    );
    assert_eq!(
        n["NetworkPath"][0],
        json!({"ComponentId": "igw-261bab4d", "ComponentType": "AWS::EC2::InternetGateway"})
    );
    assert_eq!(n["ProductFields"]["aws/inspector/networkReachabilityDetails/openPortRange/begin"], "22");
    assert!(n.get("Vulnerabilities").is_none());
    for file in [PACKAGE, NETWORK, LIST] {
        assert_eq!(acceptors(&native(DIR, file)), [I], "{file}");
    }
}

fn with_status(status: &str) -> Value {
    let mut e = native(DIR, PACKAGE);
    e["detail"]["status"] = json!(status);
    e
}

#[test]
fn closed_and_suppressed_findings_are_archived() {
    // The documentation's package event is CLOSED.
    assert_eq!(one(I, &native(DIR, PACKAGE), &options())["RecordState"], "ARCHIVED");
    for (status, record) in [("ACTIVE", "ACTIVE"), ("CLOSED", "ARCHIVED"), ("SUPPRESSED", "ARCHIVED")] {
        let f = one(I, &with_status(status), &options());
        assert_eq!(f["RecordState"], record, "{status}");
        assert_eq!(f["ProductFields"]["aws/inspector/FindingStatus"], status);
    }
}

#[test]
fn severities() {
    for (severity, label, normalized) in [
        ("UNTRIAGED", "INFORMATIONAL", 0),
        ("INFORMATIONAL", "INFORMATIONAL", 0),
        ("LOW", "LOW", 1),
        ("MEDIUM", "MEDIUM", 40),
        ("HIGH", "HIGH", 70),
        ("CRITICAL", "CRITICAL", 90),
    ] {
        let mut e = native(DIR, PACKAGE);
        e["detail"]["severity"] = json!(severity);
        let f = one(I, &e, &options());
        assert_eq!(f["Severity"], json!({"Label": label, "Normalized": normalized}), "{severity}");
        assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], label);
    }
}

#[test]
fn listfindings_outputs_give_one_finding_per_item() {
    let list = json!({"findings": [ec2_native(), ecr_native(), native(DIR, PACKAGE)["detail"].clone()]});
    let found = findings(I, &list, &options());
    assert_eq!(found.len(), 3);
    assert_eq!(found[1]["Region"], "eu-central-1", "the Region comes from the finding ARN");
}

#[test]
fn code_vulnerabilities() {
    let mut e = native(DIR, PACKAGE);
    let d = &mut e["detail"];
    d["type"] = json!("CODE_VULNERABILITY");
    d.as_object_mut().map(|m| m.remove("packageVulnerabilityDetails"));
    d["codeVulnerabilityDetails"] = json!({
        "cwes": ["CWE-89"], "detectorId": "python/sql-injection@v1.0", "detectorName": "SQL injection",
        "filePath": {"fileName": "app.py", "filePath": "src/app.py", "startLine": 10, "endLine": 12},
        "sourceLambdaLayerArn": "arn:aws:lambda:eu-central-1:123456789012:layer:l:1"
    });
    let f = one(I, &e, &options());
    assert_eq!(f["Types"], json!(["Software and Configuration Checks/Vulnerabilities/CWE"]));
    assert_eq!(f["Vulnerabilities"][0]["Id"], "python/sql-injection@v1.0");
    assert_eq!(f["Vulnerabilities"][0]["CodeVulnerabilities"][0]["Cwes"], json!(["CWE-89"]));
}

#[test]
fn malformed_events_name_the_field() {
    let o = options();
    let mut e = native(DIR, PACKAGE);
    e["detail"]["severity"] = json!("SEVERE");
    assert_error_names(I, &e, &o, "detail.severity");
    let mut e = native(DIR, PACKAGE);
    e["detail"].as_object_mut().map(|d| d.remove("findingArn"));
    assert_error_names(I, &e, &o, "detail.findingArn");
    let mut e = native(DIR, PACKAGE);
    e["detail"]["firstObservedAt"] = json!("soon");
    assert_error_names(I, &e, &o, "detail.firstObservedAt");
    let mut e = native(DIR, PACKAGE);
    e["detail"]["resources"] = json!([]);
    assert_error_names(I, &e, &o, "detail.resources");
    let list = json!({"findings": [ec2_native(), {"findingArn": 3}]});
    assert_error_names(I, &list, &o, "findings[1]");
    assert_error_names(I, &json!([]), &o, "not an Inspector finding");
}

#[test]
fn never_panics() {
    assert!(never_panics_on_variants_of(I, &native(DIR, PACKAGE), &options()) > 500);
    never_panics_on_variants_of(I, &native(DIR, NETWORK), &options());
    never_panics_on_variants_of(I, &json!({"findings": [ecr_native()]}), &options());
}
