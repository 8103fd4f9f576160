//! GuardDuty → ASFF (`producers.md` §4).

mod producer_support;

use findinghub_producers::{Producer, guardduty};
use producer_support::*;
use serde_json::{Value, json};

const G: Producer = Producer::GuardDuty;
const DIR: &str = "guardduty";
const EVENT: &str = "sample-finding-blackholetraffic-dns.eventbridge.COMPOSED.json";
const OBJECT: &str = "sample-finding-blackholetraffic-dns.getfindings-object.elastic-testdata.json";

fn event() -> Value {
    native(DIR, EVENT)
}

/// The GuardDuty finding behind the User Guide's ASFF example (SSH brute force), written back in
/// GuardDuty's own format from the example's values.
fn documented_native() -> Value {
    json!({
        "version": "0", "id": "5c7b8e3d-0000-0000-0000-000000000000", "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty", "account": "193043430472", "time": "2020-09-30T12:14:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {
            "schemaVersion": "2.0", "accountId": "193043430472", "region": "us-east-1", "partition": "aws",
            "id": "46ba0ac2845071e23ccdeb2ae03bfdea",
            "arn": "arn:aws:guardduty:us-east-1:193043430472:detector/d4b040365221be2b54a6264dc9a4bc64/finding/46ba0ac2845071e23ccdeb2ae03bfdea",
            "type": "UnauthorizedAccess:EC2/SSHBruteForce",
            "resource": {
                "resourceType": "Instance",
                "instanceDetails": {
                    "instanceId": "i-0c10c2c7863d1a356", "instanceType": "t2.micro", "launchTime": "2020-08-03T23:21:57Z",
                    "imageId": "ami-02354e95b39ca8dec",
                    "networkInterfaces": [{
                        "publicIp": "18.234.130.16", "privateIpAddress": "172.31.43.6",
                        "privateIpAddresses": [{"privateIpAddress": "172.31.43.6"}],
                        "subnetId": "subnet-4975b475", "vpcId": "vpc-a0c2d7c7", "ipv6Addresses": []
                    }],
                    "tags": [{"key": "Name", "value": "kubectl"}]
                }
            },
            "service": {
                "serviceName": "guardduty", "detectorId": "d4b040365221be2b54a6264dc9a4bc64",
                "action": {
                    "actionType": "NETWORK_CONNECTION",
                    "networkConnectionAction": {
                        "connectionDirection": "INBOUND", "protocol": "TCP", "blocked": false,
                        "remoteIpDetails": {
                            "ipAddressV4": "199.241.229.197",
                            "organization": {"asn": "209", "asnOrg": "CENTURYLINK-US-LEGACY-QWEST", "isp": "CenturyLink", "org": "CenturyLink"},
                            "country": {"countryName": "United States"}, "city": {"cityName": "Dubuque"},
                            "geoLocation": {"lat": 42.5122, "lon": -90.7384}
                        },
                        "remotePortDetails": {"port": 46717, "portName": "Unknown"},
                        "localPortDetails": {"port": 22, "portName": "SSH"},
                        "localIpDetails": {"ipAddressV4": "172.31.43.6"}
                    }
                },
                "resourceRole": "TARGET", "additionalInfo": {}, "evidence": null,
                "eventFirstSeen": "2020-08-22T09:15:57Z", "eventLastSeen": "2020-09-30T11:56:49Z",
                "archived": false, "count": 74
            },
            "severity": 2,
            "createdAt": "2020-08-22T09:34:34.146Z", "updatedAt": "2020-09-30T12:14:00.206Z",
            "title": "199.241.229.197 is performing SSH brute force attacks against i-0c10c2c7863d1a356.",
            "description": "199.241.229.197 is performing SSH brute force attacks against i-0c10c2c7863d1a356. Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password."
        }
    })
}

/// The documentation's ARNs read `arn:aws::guardduty:…` (an extra colon): a documentation
/// artefact, compared here with it removed.
fn undo_doc_arn(v: &Value) -> Value {
    json!(v.as_str().unwrap_or_default().replace("arn:aws::", "arn:aws:"))
}

#[test]
fn the_user_guide_example_field_by_field() {
    let got = one(G, &documented_native(), &options());
    let want = asff(DIR, "typical-finding-ssh-bruteforce.guardduty-userguide.json");
    assert_fields(
        &got,
        &want,
        &["SchemaVersion", "AwsAccountId", "Types", "FirstObservedAt", "LastObservedAt", "CreatedAt", "UpdatedAt"],
    );
    assert_fields(&got, &want, &["Title", "Description", "SourceUrl", "RecordState"]);
    for field in ["Id", "ProductArn", "GeneratorId"] {
        assert_eq!(got[field], undo_doc_arn(&want[field]), "{field}");
    }
    // Severity: the example's `Product 2 / MEDIUM / 40` contradicts GuardDuty's bands and every
    // real export (2 is LOW): a documentation error (`producers.md` §4). Product is compared.
    assert_eq!(got["Severity"]["Product"], want["Severity"]["Product"]);
    assert_eq!(got["Severity"]["Label"], "LOW");
    assert_eq!(own_product_fields(&got), own_product_fields(&want));
    let (r, w) = (&got["Resources"][0], &want["Resources"][0]);
    assert_eq!(r["Id"], undo_doc_arn(&w["Id"]));
    assert_fields(r, w, &["Type", "Partition", "Region", "Tags"]);
    for field in ["Type", "ImageId", "IpV4Addresses", "VpcId", "SubnetId", "LaunchedAt"] {
        let (g, w) = (&r["Details"]["AwsEc2Instance"][field], &w["Details"]["AwsEc2Instance"][field]);
        assert!(g == w || same_instant(g, w), "Details.AwsEc2Instance.{field}: {g} vs {w}");
    }
    // Workflow and WorkflowState are the hub's to set on import (NEW).
}

#[test]
fn the_native_sample_against_a_real_export_of_the_same_type() {
    let got = one(G, &event(), &options());
    let real = asff(DIR, "sample-blackholetraffic-dns.real-export-2020.python-asff.json");
    // Another finding of the same type from another account: the fields that the type, the
    // severity and the shape decide must agree.
    assert_fields(&got, &real, &["SchemaVersion", "Types", "Severity", "Title", "Description", "RecordState"]);
    let real_fields = own_product_fields(&real);
    let ours = own_product_fields(&got);
    for key in real_fields.keys() {
        assert!(ours.contains_key(key), "ProductFields lacks {key}");
    }
    assert_eq!(ours["aws/guardduty/service/additionalInfo/sample"], "true");
    assert_eq!(got["Resources"][0]["Type"], real["Resources"][0]["Type"]);
    let keys = |v: &Value| {
        v["Resources"][0]["Details"]["AwsEc2Instance"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>())
    };
    assert_eq!(keys(&got), keys(&real));
    assert_eq!(got["Id"], event()["detail"]["arn"]);
    assert_eq!(
        got["GeneratorId"],
        "arn:aws:guardduty:us-east-1:123412341234:detector/d60123456789e5461eabcd1234abcd1234"
    );
    assert_eq!(got["ProductArn"], "arn:aws:securityhub:us-east-1::product/aws/guardduty");
    assert_eq!(got["UpdatedAt"], "2022-11-22T12:22:20.934Z", "UpdatedAt comes from the finding, not the clock");
    assert_eq!(got["Sample"], true);
}

#[test]
fn the_finding_object_and_its_eventbridge_event_convert_alike() {
    assert_eq!(one(G, &native(DIR, OBJECT), &options()), one(G, &event(), &options()));
    assert_eq!(acceptors(&native(DIR, OBJECT)), [G]);
    assert_eq!(acceptors(&event()), [G]);
}

fn with_severity(severity: Value) -> Value {
    let mut e = event();
    e["detail"]["severity"] = severity;
    e
}

#[test]
fn severity_bands_at_their_boundaries() {
    let cases = [
        (0.5, "LOW", 5),
        (1.0, "LOW", 10),
        (3.9, "LOW", 39),
        (4.0, "MEDIUM", 40),
        (5.0, "MEDIUM", 50),
        (6.9, "MEDIUM", 69),
        (7.0, "HIGH", 70),
        (8.9, "HIGH", 89),
        (9.0, "CRITICAL", 90),
        (10.0, "CRITICAL", 100),
    ];
    for (severity, label, normalized) in cases {
        let f = one(G, &with_severity(json!(severity)), &options());
        assert_eq!(f["Severity"]["Label"], label, "{severity}");
        assert_eq!(f["Severity"]["Normalized"], normalized, "{severity}");
        assert_eq!(f["Severity"]["Product"], json!(severity), "{severity}");
        assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], label, "{severity}");
        assert_eq!(guardduty::severity_label(severity), label);
    }
    // Between the bands' one-decimal edges the label never disagrees with Normalized.
    for tenths in 0..=1000 {
        let s = f64::from(tenths) / 100.0;
        let n = guardduty::severity_normalized(s);
        assert_eq!(findinghub_asff::severity::label_from_normalized(n), guardduty::severity_label(s), "{s}");
    }
    assert_eq!(one(G, &with_severity(json!("7.5")), &options())["Severity"]["Label"], "HIGH");
}

#[test]
fn sample_findings_lose_the_prefix_and_are_marked() {
    let mut e = event();
    e["detail"]["type"] = json!("[SAMPLE] Recon:IAMUser/ResourcePermissions");
    e["detail"]["service"]["additionalInfo"] = json!({});
    let f = one(G, &e, &options());
    assert_eq!(f["Types"], json!(["TTPs/Discovery/Recon:IAMUser-ResourcePermissions"]));
    assert_eq!(f["Sample"], true);

    // The API form keeps `sample` inside the JSON text of additionalInfo.value.
    let mut e = event();
    e["detail"]["service"]["additionalInfo"] = json!({"value": "{\"sample\":true}", "type": "default"});
    assert_eq!(one(G, &e, &options())["Sample"], true);

    let mut e = event();
    e["detail"]["service"]["additionalInfo"] = json!({"threatListName": "x"});
    let f = one(G, &e, &options());
    assert_eq!(f["Sample"], false);
    assert_eq!(f["Types"], json!(["TTPs/Command and Control/Trojan:EC2-BlackholeTraffic!DNS"]));
}

#[test]
fn types_come_from_the_documented_table() {
    let cases = [
        ("UnauthorizedAccess:EC2/SSHBruteForce", vec!["TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"]),
        (
            "Policy:S3/BucketBlockPublicAccessDisabled",
            vec!["Effects/Data Exposure/Policy:S3-BucketBlockPublicAccessDisabled"],
        ),
        ("PenTest:IAMUser/KaliLinux", vec!["TTPs/PenTest:IAMUser/KaliLinux"]),
        ("Trojan:EC2/DNSDataExfiltration", vec!["TTPs/Command and Control/Trojan:EC2-DNSDataExfiltration!DNS"]),
        (
            "Recon:IAMUser/UserPermissions",
            vec![
                "TTPs/Discovery/Recon:IAMUser-UserPermissions",
                "Unusual Behaviors/User/Recon:IAMUser-UserPermissions",
            ],
        ),
        ("AttackSequence:S3/CompromisedData", vec!["TTPs/AttackSequence:S3/CompromisedData"]),
        ("CryptoCurrency:Runtime/BitcoinTool.B", vec!["TTPs/Command and Control/CryptoCurrency:Runtime-BitcoinTool.B"]),
    ];
    for (native_type, want) in cases {
        let mut e = event();
        e["detail"]["type"] = json!(native_type);
        let f = one(G, &e, &options());
        assert_eq!(f["Types"], json!(want), "{native_type}");
        assert_eq!(f["FindingProviderFields"]["Types"], json!(want), "{native_type}");
    }
}

#[test]
fn archived_findings_are_archived() {
    let mut e = event();
    e["detail"]["service"]["archived"] = json!(true);
    let f = one(G, &e, &options());
    assert_eq!(f["RecordState"], "ARCHIVED");
    assert_eq!(one(G, &event(), &options())["RecordState"], "ACTIVE");
}

#[test]
fn getfindings_outputs_give_one_finding_per_item() {
    let item = native(DIR, OBJECT);
    let mut second = item.clone();
    second["arn"] = json!("arn:aws:guardduty:us-east-1:123412341234:detector/d6/finding/other");
    let list = json!({ "findings": [item, second] });
    assert_eq!(acceptors(&list), [G]);
    let found = findings(G, &list, &options());
    assert_eq!(found.len(), 2);
    assert_eq!(found[1]["Id"], "arn:aws:guardduty:us-east-1:123412341234:detector/d6/finding/other");
    assert_eq!(found[1]["GeneratorId"], "arn:aws:guardduty:us-east-1:123412341234:detector/d6");

    // The AWS CLI prints PascalCase members.
    let cli = json!({"Findings": [{
        "AccountId": "123412341234", "Region": "us-east-1", "Partition": "aws", "Id": "f1",
        "Arn": "arn:aws:guardduty:us-east-1:123412341234:detector/d1/finding/f1",
        "Type": "Recon:EC2/Portscan", "Severity": 5.0,
        "CreatedAt": "2024-01-01T00:00:00.000Z", "UpdatedAt": "2024-01-02T00:00:00.000Z",
        "Title": "t", "Description": "d",
        "Resource": {"ResourceType": "Instance", "InstanceDetails": {"InstanceId": "i-1"}},
        "Service": {"Archived": false, "Count": 1, "AdditionalInfo": {"Value": "{\"sample\":true}", "Type": "default"}}
    }]});
    assert_eq!(acceptors(&cli), [G]);
    let f = one(G, &cli, &options());
    assert_eq!(f["Types"], json!(["TTPs/Discovery/Recon:EC2-Portscan"]));
    assert_eq!(f["Resources"][0]["Id"], "arn:aws:ec2:us-east-1:123412341234:instance/i-1");
    assert_eq!(f["ProductFields"]["aws/guardduty/service/count"], "1");
    assert_eq!(f["Sample"], true);
}

#[test]
fn other_guardduty_events_make_no_finding() {
    let mut e = event();
    e["detail-type"] = json!("GuardDuty Malware Protection Object Scan Result");
    assert!(!guardduty::accepts(&e));
    assert!(no_finding(G, &e, &options()).contains("only findings"));
}

#[test]
fn conversion_is_deterministic() {
    assert_eq!(G.convert(&event(), &options()), G.convert(&event(), &options()));
}

#[test]
fn product_fields_stay_within_asff_limits() {
    let mut e = event();
    let many: serde_json::Map<String, Value> = (0..80).map(|i| (format!("k{i:02}"), json!(i))).collect();
    e["detail"]["service"]["additionalInfo"]["many"] = Value::Object(many);
    e["detail"]["service"]["additionalInfo"]["x".repeat(200)] = json!("long key");
    let f = one(G, &e, &options());
    let fields = own_product_fields(&f);
    assert_eq!(fields.len(), 50);
    assert!(fields.contains_key("aws/guardduty/service/count"), "shallow fields are kept first");
    assert!(fields.keys().all(|k| k.len() <= 128));
}

#[test]
fn malformed_events_name_the_field() {
    let o = options();
    let mut e = event();
    e["detail"].as_object_mut().map(|d| d.remove("arn"));
    assert_error_names(G, &e, &o, "detail.arn");
    let mut e = event();
    e["detail"]["arn"] = json!("arn:aws:guardduty:us-east-1:1:detector/d");
    assert_error_names(G, &e, &o, "detail.arn");
    assert_error_names(G, &with_severity(json!("high")), &o, "detail.severity");
    assert_error_names(G, &with_severity(json!(null)), &o, "detail.severity");
    let mut e = event();
    e["detail"]["createdAt"] = json!("yesterday");
    assert_error_names(G, &e, &o, "detail.createdAt");
    let mut e = event();
    e["detail"]["type"] = json!(5);
    assert_error_names(G, &e, &o, "detail.type");
    let mut e = event();
    e["detail"] = json!("not a finding");
    assert_error_names(G, &e, &o, "detail");
    let mut e = event();
    e["detail"]["accountId"] = json!("12345");
    assert_error_names(G, &e, &o, "AwsAccountId");
    let list = json!({"findings": [native(DIR, OBJECT), {"arn": 1}]});
    assert_error_names(G, &list, &o, "findings[1]");
    assert_error_names(G, &json!({"hello": "world"}), &o, "not a GuardDuty finding");
}

#[test]
fn never_panics() {
    let tried = never_panics_on_variants_of(G, &event(), &options());
    assert!(tried > 500, "{tried}");
    never_panics_on_variants_of(G, &json!({"findings": [native(DIR, OBJECT)]}), &options());
}

#[test]
fn samples_of_other_producers_are_not_claimed() {
    // The five converters of GuardDuty, Macie, Inspector, Access Analyzer and IoT Device Defender
    // recognise API outputs by shape: none may claim another producer's sample.
    let mine = [G, Producer::Macie, Producer::Inspector, Producer::AccessAnalyzer, Producer::IotDeviceDefender];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/native");
    let mut seen = 0;
    for dir in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        let owner = match name.as_str() {
            "guardduty" => Some(G),
            "macie" => Some(Producer::Macie),
            "inspector2" => Some(Producer::Inspector),
            "access-analyzer" => Some(Producer::AccessAnalyzer),
            "iot-device-defender" => Some(Producer::IotDeviceDefender),
            _ => None,
        };
        for file in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let sample = native(&name, &file.file_name().to_string_lossy());
            let claimed: Vec<Producer> = acceptors(&sample).into_iter().filter(|p| mine.contains(p)).collect();
            assert_eq!(claimed, owner.into_iter().collect::<Vec<_>>(), "{name}/{:?}", file.file_name());
            seen += 1;
        }
    }
    assert!(seen >= 15, "{seen}");
}
