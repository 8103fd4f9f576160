//! Every OCSF event that the mapping makes validates against the OCSF 1.1.0 JSON Schema of its
//! class (`../shared/spec/ocsf/1.1.0/json-schema/`, with the cloud and datetime profiles, checked
//! offline with the `jsonschema` crate), and its ids and captions agree: the shared ASFF → OCSF
//! example pair field by field, every shared ASFF sample, and findings made to reach each class and
//! each branch of the mapping.

use findinghub_lake::ocsf::{activity_caption, severity_caption, status_caption};
use findinghub_lake::{FindingClass, OcsfFinding, to_ocsf};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn validators() -> &'static [(FindingClass, jsonschema::Validator)] {
    static V: OnceLock<Vec<(FindingClass, jsonschema::Validator)>> = OnceLock::new();
    V.get_or_init(|| {
        FindingClass::ALL
            .iter()
            .map(|class| {
                let file = match class {
                    FindingClass::Vulnerability => "vulnerability_finding",
                    FindingClass::Compliance => "compliance_finding",
                    FindingClass::Detection => "detection_finding",
                };
                let schema =
                    read_json(&shared().join(format!("spec/ocsf/1.1.0/json-schema/{file}.cloud-datetime.schema.json")));
                (*class, jsonschema::draft202012::new(&schema).expect("the OCSF schema compiles"))
            })
            .collect()
    })
}

fn schema_errors(class: FindingClass, event: &Value) -> Vec<String> {
    let (_, validator) = validators().iter().find(|(c, _)| *c == class).expect("a validator per class");
    validator.iter_errors(event).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// The schema, plus what it cannot check: ids and captions that agree, the datetime profile's
/// pairs, and the class's own rules.
fn assert_valid(event: &OcsfFinding, what: &str) -> Value {
    let json = event.to_json();
    let errors = schema_errors(event.class(), &json);
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{json:#}");
    let n = |k: &str| json[k].as_u64().unwrap_or_else(|| panic!("{what}: {k} is a number"));
    let s = |k: &str| json[k].as_str().unwrap_or_else(|| panic!("{what}: {k} is a string")).to_owned();
    assert_eq!(n("class_uid"), u64::from(event.class().uid()), "{what}");
    assert_eq!(s("class_name"), event.class().name(), "{what}");
    assert_eq!(n("category_uid"), 2, "{what}");
    assert_eq!(s("category_name"), "Findings", "{what}");
    assert_eq!(n("type_uid"), n("class_uid") * 100 + n("activity_id"), "{what}");
    assert_eq!(s("type_name"), format!("{}: {}", s("class_name"), s("activity_name")), "{what}");
    assert_eq!(s("activity_name"), activity_caption(n("activity_id") as u32), "{what}");
    assert_eq!(s("severity"), severity_caption(n("severity_id") as u32), "{what}");
    if let Some(status_id) = json["status_id"].as_u64().filter(|id| *id != 99) {
        assert_eq!(s("status"), status_caption(status_id as u32), "{what}");
    }
    assert_eq!(json["metadata"]["version"], "1.1.0", "{what}");
    assert_eq!(json["metadata"]["profiles"], json!(["cloud", "datetime"]), "{what}");
    assert_eq!(json["cloud"]["provider"], "AWS", "{what}");
    let time_dt = s("time_dt");
    let micros = findinghub_asff::timestamp::parse_timestamp(&time_dt).expect("time_dt parses");
    assert_eq!(micros / 1000, json["time"].as_i64().expect("time"), "{what}: time and time_dt agree");
    json
}

fn asff_samples() -> Vec<(String, Map<String, Value>)> {
    let mut out = Vec::new();
    let root = shared().join("samples/asff");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).expect("samples/asff").map(|e| e.expect("entry").path()).collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<_> =
            std::fs::read_dir(&dir).expect("a producer dir").map(|e| e.expect("entry").path()).collect();
        files.sort();
        for file in files {
            let name = file.strip_prefix(&root).expect("under root").display().to_string();
            match read_json(&file) {
                Value::Object(m) => out.push((name, m)),
                Value::Array(list) => {
                    for (i, f) in list.into_iter().enumerate() {
                        out.push((format!("{name}[{i}]"), f.as_object().expect("a finding").clone()));
                    }
                }
                other => panic!("{name}: {other}"),
            }
        }
    }
    out
}

#[test]
fn the_shared_example_pair_maps_field_by_field() {
    let dir = shared().join("spec/ocsf/1.1.0/examples");
    let asff = read_json(&dir.join("compliance_finding.asff.json"));
    let expected = read_json(&dir.join("compliance_finding.ocsf.json"));
    let event = to_ocsf(asff.as_object().expect("an object")).expect("converts");
    assert_eq!(event.class(), FindingClass::Compliance);
    let got = assert_valid(&event, "example");
    let (got, expected) = (got.as_object().expect("object"), expected.as_object().expect("object"));
    for (key, want) in expected {
        assert_eq!(got.get(key), Some(want), "the example's {key}");
    }
    for key in got.keys() {
        assert!(expected.contains_key(key), "{key} is not in the example: {}", got[key]);
    }
}

#[test]
fn the_shared_example_events_validate_and_read_back_as_typed_events() {
    for name in ["compliance_finding.ocsf.json", "detection_finding.ocsf.json", "vulnerability_finding.ocsf.json"] {
        let json = read_json(&shared().join("spec/ocsf/1.1.0/examples").join(name));
        let event = OcsfFinding::from_json(json.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.to_json(), json, "{name}: the typed structures hold the whole example");
        assert_valid(&event, name);
    }
}

#[test]
fn every_shared_asff_sample_converts_and_validates() {
    let samples = asff_samples();
    assert!(samples.len() >= 20, "{} samples", samples.len());
    let mut classes = std::collections::BTreeMap::new();
    for (name, finding) in &samples {
        let event = to_ocsf(finding).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = assert_valid(&event, name);
        assert_has_columns(&json, findinghub_lake::schema::arrow_schema(event.class()).fields(), name);
        *classes.entry(event.class().uid()).or_insert(0) += 1;
        assert_eq!(json["finding_info"]["uid"], finding["Id"], "{name}");
        assert_eq!(json["finding_info"]["title"], finding["Title"], "{name}");
        assert_eq!(json["metadata"]["product"]["uid"], finding["ProductArn"], "{name}");
        assert_eq!(json["cloud"]["account"]["uid"], finding["AwsAccountId"], "{name}");
        let label = finding["Severity"]["Label"].as_str().unwrap_or_default();
        if !label.is_empty() {
            assert_eq!(json["severity"].as_str().map(str::to_uppercase).as_deref(), Some(label), "{name}");
        }
        let created_is_updated = finding["CreatedAt"] == finding["UpdatedAt"];
        assert_eq!(json["activity_id"], if created_is_updated { 1 } else { 2 }, "{name}");
        let by_product = finding["ProductArn"].as_str().unwrap_or_default();
        if by_product.ends_with("/guardduty") || by_product.ends_with("/macie") {
            assert_eq!(event.class(), FindingClass::Detection, "{name}");
        }
        if finding.get("Vulnerabilities").is_some() {
            assert_eq!(event.class(), FindingClass::Vulnerability, "{name}");
        }
        if finding.get("Compliance").is_some() {
            assert_eq!(event.class(), FindingClass::Compliance, "{name}");
        }
    }
    assert_eq!(classes.len(), 3, "the samples reach every class: {classes:?}");
}

/// Every member of the event is a column of its class's Arrow schema: the Parquet encoder skips
/// members that it has no column for, so a member added to the structures but not to the schema
/// would be lost without this.
fn assert_has_columns(event: &Value, fields: &arrow_schema::Fields, what: &str) {
    use arrow_schema::DataType;
    let Value::Object(members) = event else { return };
    for (name, value) in members {
        let Some((_, field)) = fields.find(name) else {
            panic!("{what}: `{name}` has no column");
        };
        let mut data_type = field.data_type();
        let mut values = vec![value];
        if let (DataType::List(item), Value::Array(items)) = (data_type, value) {
            data_type = item.data_type();
            values = items.iter().collect();
        }
        if let DataType::Struct(inner) = data_type {
            for v in values {
                assert_has_columns(v, inner, &format!("{what}: {name}"));
            }
        }
    }
}

/// A full Inspector package vulnerability, every mapped member present.
fn inspector_finding() -> Map<String, Value> {
    let v = json!({
        "SchemaVersion": "2018-10-08",
        "Id": "arn:aws:inspector2:eu-west-1:123456789012:finding/0123456789abcdef",
        "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/inspector",
        "ProductName": "Inspector", "CompanyName": "Amazon", "Region": "eu-west-1",
        "GeneratorId": "AWSInspector", "AwsAccountId": "123456789012",
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CreatedAt": "2026-11-01T10:00:00Z", "UpdatedAt": "2026-11-01T10:00:00Z",
        "Severity": {"Label": "CRITICAL", "Normalized": 90},
        "Title": "CVE-2024-6387 - openssh-server", "Description": "regreSSHion",
        "Remediation": {"Recommendation": {"Text": "Update openssh", "Url": "https://example.com/fix"}},
        "Resources": [
            {"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:eu-west-1:123456789012:instance/i-1", "Partition": "aws",
             "Region": "eu-west-1", "Details": {"AwsEc2Instance": {"Type": "t3.micro"}}, "Tags": {"team": "a"}},
            {"Type": "AwsEcrContainerImage", "Id": "arn:aws:ecr:eu-west-1:123456789012:repository/r/sha256:ab"}
        ],
        "Vulnerabilities": [{
            "Id": "CVE-2024-6387",
            "Cvss": [{"BaseScore": 8.1, "BaseVector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "Version": "3.1"}],
            "Vendor": {"Name": "NVD", "Url": "https://nvd.nist.gov/vuln/detail/CVE-2024-6387",
                       "VendorCreatedAt": "2024-07-01T13:15:00Z", "VendorUpdatedAt": "2024-07-09T18:15:00Z"},
            "ReferenceUrls": ["https://www.openssh.com/txt/release-9.8"],
            "RelatedVulnerabilities": ["CVE-2006-5051"],
            "FixAvailable": "YES", "ExploitAvailable": "NO", "EpssScore": 0.1234,
            "VulnerablePackages": [{"Name": "openssh-server", "Version": "8.9p1", "Epoch": "1", "Release": "3ubuntu0.6",
                                    "Architecture": "amd64", "PackageManager": "OS", "FixedInVersion": "1:8.9p1-3ubuntu0.10",
                                    "Remediation": "apt upgrade openssh-server", "FilePath": "/usr/sbin/sshd"}],
            "CodeVulnerabilities": [{"Cwes": ["CWE-364"], "SourceArn": "arn:aws:lambda:eu-west-1:123456789012:layer:l:1",
                                     "FilePath": {"FileName": "a.py", "FilePath": "src/a.py", "StartLine": 3, "EndLine": 5}}]
        }],
        "Workflow": {"Status": "NOTIFIED"}, "RecordState": "ACTIVE",
        "Note": {"Text": "paged", "UpdatedBy": "alice", "UpdatedAt": "2026-11-01T11:00:00Z"},
        "Criticality": 80
    });
    v.as_object().expect("object").clone()
}

#[test]
fn a_vulnerability_finding_maps_every_member() {
    let finding = inspector_finding();
    let event = to_ocsf(&finding).expect("converts");
    let json = event.to_json();
    assert_has_columns(&json, findinghub_lake::schema::arrow_schema(event.class()).fields(), "inspector");
    assert_eq!(event.class(), FindingClass::Vulnerability);
    let json = assert_valid(&event, "inspector");
    assert_eq!(json["type_uid"], 200201);
    assert_eq!(json["severity_id"], 5);
    assert_eq!((json["status_id"].clone(), json["status"].clone()), (json!(99), json!("Notified")));
    assert_eq!(json["message"], "paged");
    let v = &json["vulnerabilities"][0];
    assert_eq!(v["cve"]["uid"], "CVE-2024-6387");
    assert_eq!(v["cve"]["cvss"][0]["base_score"], 8.1);
    assert_eq!(v["cve"]["epss"]["score"], "0.1234");
    assert_eq!(v["cve"]["created_time_dt"], "2024-07-01T13:15:00.000Z");
    assert_eq!(v["is_fix_available"], true);
    assert_eq!(v["is_exploit_available"], false);
    assert_eq!(v["affected_packages"][0]["epoch"], 1);
    assert_eq!(v["affected_packages"][0]["path"], "/usr/sbin/sshd");
    assert_eq!(v["affected_code"][0]["file"]["path"], "src/a.py");
    assert_eq!(v["cwe"]["uid"], "CWE-364");
    assert_eq!(v["remediation"]["desc"], "Update openssh");
    assert_eq!(json["resource"]["criticality"], "80");
    assert_eq!(json["resource"]["data"], r#"{"AwsEc2Instance":{"Type":"t3.micro"}}"#);
    let unmapped = &json["unmapped"];
    assert_eq!(unmapped["Resources[].Tags.team"], "a");
    assert!(unmapped["Resources[1]"].as_str().is_some_and(|r| r.contains("AwsEcrContainerImage")), "{unmapped}");
    assert_eq!(unmapped["Note.UpdatedBy"], "alice");
    assert_eq!(unmapped["Severity.Normalized"], "90");
    assert_eq!(unmapped["RecordState"], "ACTIVE");
    assert!(json.get("remediation").is_none(), "2002 has no top-level remediation");
}

#[test]
fn a_guardduty_finding_becomes_a_detection_with_evidence() {
    let path =
        shared().join("samples/asff/guardduty/sample-recon-iamuser-actor-variant.real-export-2020.python-asff.json");
    let finding = read_json(&path);
    let event = to_ocsf(finding.as_object().expect("object")).expect("converts");
    let json = assert_valid(&event, "guardduty");
    let evidence = &json["evidences"][0];
    assert_eq!(evidence["api"]["operation"], "GeneratedFindingAPIName");
    assert_eq!(evidence["api"]["service"]["name"], "GeneratedFindingAPIServiceName");
    assert_eq!(evidence["src_endpoint"]["ip"], "198.51.100.0");
    assert_eq!(evidence["src_endpoint"]["location"]["city"], "GeneratedFindingCityName");
    let unmapped = json["unmapped"].as_object().expect("unmapped");
    assert!(!unmapped.contains_key("ProductFields.aws/guardduty/service/action/awsApiCallAction/api"));
    assert!(unmapped.contains_key("ProductFields.aws/guardduty/service/action/awsApiCallAction/callerType"));
    let observables = json["observables"].as_array().expect("observables");
    assert!(observables.iter().any(|o| o["type_id"] == 2 && o["value"] == "198.51.100.0"), "{observables:?}");
}

#[test]
fn activity_severity_and_status_follow_the_finding() {
    let mut f = inspector_finding();
    f.remove("Vulnerabilities");
    f.insert("ProductArn".into(), json!("arn:aws:securityhub:eu-west-1::product/aws/securityhub"));
    f.insert(
        "Compliance".into(),
        json!({"Status": "FAILED", "StatusReasons": [
        {"ReasonCode": "CONFIG_EVALUATIONS_EMPTY", "Description": "no resources"},
        {"ReasonCode": "X", "Description": "y"}]}),
    );
    for (updated, activity) in [("2026-11-01T10:00:00Z", 1), ("2026-11-02T10:00:00.5+02:00", 2)] {
        for (label, severity) in [("INFORMATIONAL", 1), ("LOW", 2), ("MEDIUM", 3), ("HIGH", 4), ("CRITICAL", 5)] {
            for (status, status_id) in [("NEW", 1), ("NOTIFIED", 99), ("SUPPRESSED", 3), ("RESOLVED", 4)] {
                f.insert("UpdatedAt".into(), json!(updated));
                f.insert("Severity".into(), json!({"Label": label}));
                f.insert("Workflow".into(), json!({"Status": status}));
                let event = to_ocsf(&f).expect("converts");
                assert_eq!(event.class(), FindingClass::Compliance);
                let json = assert_valid(&event, "compliance");
                assert_eq!(json["activity_id"], activity);
                assert_eq!(json["type_uid"], 200300 + activity);
                assert_eq!(json["severity_id"], severity);
                assert_eq!(json["status_id"], status_id);
                assert_eq!(json["compliance"]["status"], "FAILED");
                assert_eq!(json["compliance"]["standards"], json!([]), "required even when AWS gives none");
                assert_eq!(json["compliance"]["status_code"], "CONFIG_EVALUATIONS_EMPTY; X");
            }
        }
    }
    // No label: the label of Normalized.
    f.insert("Severity".into(), json!({"Normalized": 45}));
    assert_eq!(to_ocsf(&f).expect("converts").base().severity_id, 3);
    // The time is UTC milliseconds whatever the offset.
    f.insert("UpdatedAt".into(), json!("2026-11-02T10:00:00.5+02:00"));
    assert_eq!(to_ocsf(&f).expect("converts").base().time_dt.to_rfc3339(), "2026-11-02T08:00:00.500Z");
}

#[test]
fn findings_without_what_ocsf_requires_are_refused_with_the_reason() {
    let mut f = inspector_finding();
    f.remove("Title");
    assert_eq!(to_ocsf(&f).expect_err("no title").to_string(), "the finding has no Title");
    let mut f = inspector_finding();
    f.insert("UpdatedAt".into(), json!("yesterday"));
    assert!(to_ocsf(&f).expect_err("bad time").to_string().contains("UpdatedAt"));
}

#[test]
fn the_schemas_catch_what_the_mapping_must_never_emit() {
    let finding = inspector_finding();
    let event = to_ocsf(&finding).expect("converts");
    let good = event.to_json();
    for (what, mutate) in [
        ("an unknown attribute", Box::new(|v: &mut Value| v["bogus"] = json!(1)) as Box<dyn Fn(&mut Value)>),
        ("a bad severity_id", Box::new(|v: &mut Value| v["severity_id"] = json!(7))),
        ("a null", Box::new(|v: &mut Value| v["message"] = Value::Null)),
        ("no vulnerabilities", Box::new(|v: &mut Value| drop(v.as_object_mut().map(|o| o.remove("vulnerabilities"))))),
        ("a bad type_uid", Box::new(|v: &mut Value| v["type_uid"] = json!(200301))),
    ] {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!schema_errors(FindingClass::Vulnerability, &bad).is_empty(), "{what} passed the schema");
    }
}
