use serde_json::{Value, json};

use super::*;

/// A small valid finding.
fn base() -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": "finding-1",
        "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
        "GeneratorId": "generator-1",
        "AwsAccountId": "123456789012",
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CreatedAt": "2024-01-02T03:04:05.678Z",
        "UpdatedAt": "2024-01-02T03:04:05.678Z",
        "Severity": {"Label": "HIGH"},
        "Title": "A title",
        "Description": "A description",
        "Resources": [{"Type": "AwsEc2Instance", "Id": "i-0123456789abcdef0"}]
    })
}

/// Sets the value at a JSON pointer, creating objects and arrays (for numeric segments) on the way.
fn put(doc: &mut Value, pointer: &str, v: Value) {
    let mut cur = doc;
    for seg in pointer.trim_start_matches('/').split('/') {
        if let Ok(i) = seg.parse::<usize>() {
            if cur.is_null() {
                *cur = json!([]);
            }
            let a = cur.as_array_mut().expect("array on the way");
            while a.len() <= i {
                a.push(Value::Null);
            }
            cur = &mut a[i];
        } else {
            if cur.is_null() {
                *cur = json!({});
            }
            cur = cur.as_object_mut().expect("object on the way").entry(seg.to_owned()).or_insert(Value::Null);
        }
    }
    *cur = v;
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    doc.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent object").remove(key);
}

/// The Ajv path of a JSON pointer whose keys are identifiers.
fn ajv_path(pointer: &str) -> String {
    let mut p = String::from("data");
    for seg in pointer.trim_start_matches('/').split('/') {
        if seg.parse::<usize>().is_ok() {
            p.push_str(&format!("[{seg}]"));
        } else {
            p.push('.');
            p.push_str(seg);
        }
    }
    p
}

fn with(pre: &[(&str, Value)], pointer: &str, v: Value) -> Value {
    let mut d = base();
    for (p, pv) in pre {
        put(&mut d, p, pv.clone());
    }
    put(&mut d, pointer, v);
    d
}

fn message(doc: &Value) -> Option<String> {
    validate_finding(doc).err().map(|e| format!("{} {}", e.path, e.rule))
}

/// Members to set first (parents' required members).
type Pre<'a> = &'a [(&'a str, Value)];

fn a(n: usize) -> Value {
    Value::String("a".repeat(n))
}

#[test]
fn the_base_finding_is_valid() {
    assert_eq!(message(&base()), None);
}

#[test]
fn string_lengths_at_and_past_each_limit() {
    let psum = [("/PatchSummary/Id", json!("p"))];
    #[rustfmt::skip]
    let cases: &[(&str, Pre, usize, usize)] = &[
        ("/Id", &[], 1, 512),
        ("/GeneratorId", &[], 1, 512),
        ("/ProductArn", &[], 12, 2048),
        ("/ProductName", &[], 1, 128),
        ("/CompanyName", &[], 1, 128),
        ("/Region", &[], 1, 16),
        ("/AwsAccountId", &[], 12, 12),
        ("/AwsAccountName", &[], 1, 50),
        ("/Title", &[], 1, 256),
        ("/Description", &[], 1, 1024),
        ("/Note/Text", &[("/Note/UpdatedBy", json!("me")), ("/Note/UpdatedAt", json!("2024-01-02T03:04:05Z"))], 1, 512),
        ("/Severity/Original", &[], 1, 64),
        ("/FindingProviderFields/Severity/Original", &[("/FindingProviderFields/Severity/Label", json!("LOW"))], 1, 64),
        ("/Resources/0/Type", &[], 1, 256),
        ("/Resources/0/Region", &[], 1, 16),
        ("/Remediation/Recommendation/Text", &[], 1, 512),
        ("/Malware/0/Name", &[], 1, 64),
        ("/Malware/0/Path", &[("/Malware/0/Name", json!("m"))], 1, 512),
        ("/Network/Protocol", &[], 1, 16),
        ("/Network/SourceDomain", &[], 1, 128),
        ("/Network/DestinationDomain", &[], 1, 128),
        ("/Process/Name", &[], 1, 64),
        ("/Process/Path", &[], 1, 512),
        ("/Threats/0/Name", &[], 1, 128),
        ("/Threats/0/Severity", &[], 1, 128),
        ("/Threats/0/FilePaths/0/FilePath", &[], 1, 128),
        ("/Threats/0/FilePaths/0/Hash", &[], 1, 128),
        ("/ThreatIntelIndicators/0/Value", &[], 1, 512),
        ("/ThreatIntelIndicators/0/Source", &[], 1, 64),
        ("/PatchSummary/Id", &[], 1, 256),
        ("/PatchSummary/Operation", &psum, 1, 256),
        ("/PatchSummary/RebootOption", &psum, 1, 256),
        ("/NetworkPath/0/ComponentId", &[], 1, 32),
        ("/NetworkPath/0/ComponentType", &[], 1, 32),
        ("/NetworkPath/0/Egress/Protocol", &[], 1, 16),
        ("/Action/NetworkConnectionAction/LocalPortDetails/PortName", &[], 1, 128),
        ("/Action/NetworkConnectionAction/RemotePortDetails/PortName", &[], 1, 128),
        ("/Action/NetworkConnectionAction/Protocol", &[], 1, 64),
        ("/Action/PortProbeAction/PortProbeDetails/0/LocalPortDetails/PortName", &[], 1, 128),
        ("/Action/AwsApiCallAction/Api", &[], 1, 128),
        ("/Action/AwsApiCallAction/ServiceName", &[], 1, 128),
        ("/Action/AwsApiCallAction/DomainDetails/Domain", &[], 1, 128),
        ("/Action/DnsRequestAction/Domain", &[], 1, 128),
        ("/Action/DnsRequestAction/Protocol", &[], 1, 64),
    ];
    for (pointer, pre, min, max) in cases {
        let path = ajv_path(pointer);
        assert_eq!(message(&with(pre, pointer, a(*max))), None, "{pointer} at max {max}");
        assert_eq!(
            message(&with(pre, pointer, a(max + 1))),
            Some(format!("{path} should NOT be longer than {max} characters")),
            "{pointer}"
        );
        assert_eq!(message(&with(pre, pointer, a(*min))), None, "{pointer} at min {min}");
        assert_eq!(
            message(&with(pre, pointer, a(min - 1))),
            Some(format!("{path} should NOT be shorter than {min} characters")),
            "{pointer}"
        );
    }
}

#[test]
fn lengths_count_code_points() {
    let euro = "€".repeat(256); // 768 bytes
    assert_eq!(message(&with(&[], "/Title", json!(euro))), None);
    let emoji = "🦀".repeat(256); // astral: one code point (two UTF-16 units) each
    assert_eq!(message(&with(&[], "/Title", json!(emoji))), None);
    let over = "€".repeat(257);
    assert_eq!(
        message(&with(&[], "/Title", json!(over))),
        Some("data.Title should NOT be longer than 256 characters".into())
    );
    // 12 bytes but 4 code points: too short for an account id.
    assert_eq!(
        message(&with(&[], "/AwsAccountId", json!("€€€€"))),
        Some("data.AwsAccountId should NOT be shorter than 12 characters".into())
    );
}

#[test]
fn item_counts_at_and_past_each_limit() {
    let resource = json!({"Type": "Other", "Id": "x"});
    let related = json!({"ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty", "Id": "f"});
    let ty = json!("Effects/Data Exposure");
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, usize, usize)> = vec![
        ("/Resources", resource, 1, 32),
        ("/Types", ty.clone(), 0, 50),
        ("/FindingProviderFields/Types", ty, 0, 50),
        ("/RelatedFindings", related.clone(), 1, 10),
        ("/FindingProviderFields/RelatedFindings", related, 1, 10),
        ("/Malware", json!({"Name": "m"}), 0, 5),
        ("/Threats", json!({"Name": "t"}), 1, 32),
        ("/ThreatIntelIndicators", json!({"Value": "v"}), 1, 5),
        ("/Threats/0/FilePaths", json!({"FileName": "f"}), 1, 5),
        ("/Compliance/RelatedRequirements", json!("PCI DSS 1.1"), 0, 32),
        ("/Compliance/AssociatedStandards", json!({"StandardsId": "standards/x"}), 0, 20),
        ("/GeneratorDetails/Labels", json!("label"), 0, 10),
        ("/Resources/0/Details/AwsLambdaLayerVersion/CompatibleRuntimes", json!("python3.12"), 0, 5),
    ];
    for (pointer, item, min, max) in cases {
        let path = ajv_path(pointer);
        let list = |n: usize| Value::Array(vec![item.clone(); n]);
        assert_eq!(message(&with(&[], pointer, list(max))), None, "{pointer} at max");
        assert_eq!(
            message(&with(&[], pointer, list(max + 1))),
            Some(format!("{path} should NOT have more than {max} items")),
            "{pointer}"
        );
        assert_eq!(message(&with(&[], pointer, list(min))), None, "{pointer} at min");
        if min > 0 {
            assert_eq!(
                message(&with(&[], pointer, list(min - 1))),
                Some(format!("{path} should NOT have fewer than {min} items")),
                "{pointer}"
            );
        }
    }
}

#[test]
fn numeric_ranges_at_and_past_each_limit() {
    #[rustfmt::skip]
    let cases: &[(&str, Pre, i64, i64)] = &[
        ("/Confidence", &[], 0, 100),
        ("/Criticality", &[], 0, 100),
        ("/FindingProviderFields/Confidence", &[], 0, 100),
        ("/FindingProviderFields/Criticality", &[], 0, 100),
        ("/Severity/Normalized", &[], 0, 100),
        ("/FindingProviderFields/Severity/Normalized", &[("/FindingProviderFields/Severity/Label", json!("LOW"))], 0, 100),
        ("/Process/Pid", &[], 0, 2_147_483_647),
        ("/Process/ParentPid", &[], 0, 2_147_483_647),
    ];
    for (pointer, pre, min, max) in cases {
        let path = ajv_path(pointer);
        assert_eq!(message(&with(pre, pointer, json!(max))), None, "{pointer}");
        assert_eq!(message(&with(pre, pointer, json!(min))), None, "{pointer}");
        assert_eq!(
            message(&with(pre, pointer, json!(max + 1))),
            Some(format!("{path} should be <= {max}")),
            "{pointer}"
        );
        assert_eq!(
            message(&with(pre, pointer, json!(min - 1))),
            Some(format!("{path} should be >= {min}")),
            "{pointer}"
        );
    }
    // An integral float is an integer (as in JavaScript); a fraction is not.
    assert_eq!(message(&with(&[], "/Confidence", json!(50.0))), None);
    assert_eq!(message(&with(&[], "/Confidence", json!(100.5))), Some("data.Confidence should be integer".into()));
    assert_eq!(message(&with(&[], "/Confidence", json!(u64::MAX))), Some("data.Confidence should be <= 100".into()));
}

#[test]
fn maps_limit_entries_keys_and_values() {
    for (field, value_max) in [("ProductFields", 2048), ("UserDefinedFields", 1024)] {
        let map = |n: usize| Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect());
        let pointer = format!("/{field}");
        assert_eq!(message(&with(&[], &pointer, map(50))), None);
        assert_eq!(
            message(&with(&[], &pointer, map(51))),
            Some(format!("data.{field} should NOT have more than 50 properties"))
        );
        let key = |n: usize| json!({ "k".repeat(n): "v" });
        assert_eq!(message(&with(&[], &pointer, key(128))), None);
        let long = "k".repeat(129);
        assert_eq!(
            message(&with(&[], &pointer, key(129))),
            Some(format!(
                "data.{field} should NOT be longer than 128 characters, data.{field} property name '{long}' is invalid"
            ))
        );
        let value = |n: usize| json!({ "aws/securityhub/Key": "v".repeat(n) });
        assert_eq!(message(&with(&[], &pointer, value(value_max))), None);
        assert_eq!(
            message(&with(&[], &pointer, value(value_max + 1))),
            Some(format!("data.{field}['aws/securityhub/Key'] should NOT be longer than {value_max} characters"))
        );
    }
    // Empty values are kept as the service stores them (GuardDuty's `aws/guardduty/service/evidence`).
    assert_eq!(message(&with(&[], "/ProductFields", json!({"aws/guardduty/service/evidence": ""}))), None);
    assert_eq!(
        message(&with(&[], "/ProductFields", json!({"k": 1}))),
        Some("data.ProductFields.k should be string".into())
    );
}

#[test]
fn aws_product_field_keys_are_accepted() {
    let d = with(
        &[],
        "/ProductFields",
        json!({
            "aws/securityhub/FindingId": "arn:aws:securityhub:us-east-1::product/aws/guardduty/x",
            "aws/securityhub/ProductName": "GuardDuty",
            "aws/securityhub/CompanyName": "Amazon",
            "aws/securityhub/SeverityLabel": "LOW"
        }),
    );
    assert_eq!(message(&d), None);
}

#[test]
fn unknown_members_are_named() {
    assert_eq!(
        message(&with(&[], "/Foo", json!(1))),
        Some("data should NOT have additional properties ('Foo')".into())
    );
    let deep = with(&[], "/Resources/0/Details/AwsEc2Instance/Foo", json!("x"));
    assert_eq!(
        message(&deep),
        Some("data.Resources[0].Details.AwsEc2Instance should NOT have additional properties ('Foo')".into())
    );
    let d = with(&[], "/Resources/0/Foo", json!("x"));
    assert_eq!(message(&d), Some("data.Resources[0] should NOT have additional properties ('Foo')".into()));
    // Member names are case-sensitive.
    assert_eq!(
        message(&with(&[], "/title", json!("x"))),
        Some("data should NOT have additional properties ('title')".into())
    );
    // A non-identifier name is still reported verbatim.
    assert_eq!(message(&with(&[], "/Resources/0/Details/Other", json!({"a b": "c"}))), None, "Other is a free map");
}

#[test]
fn unknown_members_are_reported_before_bad_values() {
    // Ajv checks additionalProperties before the properties' own schemas.
    let mut d = with(&[], "/Zzz", json!(1));
    put(&mut d, "/Title", json!(""));
    assert_eq!(message(&d), Some("data should NOT have additional properties ('Zzz')".into()));
    // Of several unknown members, the bytewise-smallest.
    put(&mut d, "/Aaa", json!(1));
    assert_eq!(message(&d), Some("data should NOT have additional properties ('Aaa')".into()));
}

#[test]
fn the_first_error_does_not_depend_on_key_order() {
    let mut d = base();
    put(&mut d, "/Title", a(257));
    put(&mut d, "/Description", a(1025));
    assert_eq!(message(&d), Some("data.Description should NOT be longer than 1024 characters".into()));
    let mut e = base();
    put(&mut e, "/Description", a(1025));
    put(&mut e, "/Title", a(257));
    assert_eq!(message(&e), message(&d));
}

#[test]
fn required_members() {
    for member in [
        "SchemaVersion",
        "Id",
        "ProductArn",
        "GeneratorId",
        "AwsAccountId",
        "CreatedAt",
        "UpdatedAt",
        "Title",
        "Description",
        "Resources",
    ] {
        let mut d = base();
        remove(&mut d, &format!("/{member}"));
        assert_eq!(message(&d), Some(format!("data should have required property '{member}'")), "{member}");
    }
    let mut d = base();
    remove(&mut d, "/Resources/0/Id");
    assert_eq!(message(&d), Some("data.Resources[0] should have required property 'Id'".into()));
    let d = with(&[], "/Note", json!({"Text": "t", "UpdatedAt": "2024-01-02T03:04:05Z"}));
    assert_eq!(message(&d), Some("data.Note should have required property 'UpdatedBy'".into()));
    let d = with(&[], "/RelatedFindings", json!([{"Id": "x"}]));
    assert_eq!(message(&d), Some("data.RelatedFindings[0] should have required property 'ProductArn'".into()));
}

#[test]
fn wrong_json_types() {
    #[rustfmt::skip]
    let cases: &[(&str, Value, &str)] = &[
        ("/Title", json!(5), "string"),
        ("/Title", Value::Null, "string"),
        ("/Confidence", json!("5"), "integer"),
        ("/Severity/Product", json!("high"), "number"),
        ("/Sample", json!("true"), "boolean"),
        ("/Network", json!([]), "object"),
        ("/Severity", json!("HIGH"), "object"),
        ("/Resources", json!({}), "array"),
        ("/Types", json!("Effects"), "array"),
        ("/ProductFields", json!([]), "object"),
        ("/Resources/0/Details/AwsEc2Instance/IpV4Addresses", json!("10.0.0.1"), "array"),
        ("/Resources/0/Details/AwsEc2Instance/IpV4Addresses/0", json!(10), "string"),
    ];
    for (pointer, v, ty) in cases {
        assert_eq!(
            message(&with(&[], pointer, v.clone())),
            Some(format!("{} should be {ty}", ajv_path(pointer))),
            "{pointer}"
        );
    }
    assert_eq!(message(&json!([])), Some("data should be object".into()));
    assert_eq!(message(&with(&[], "/Severity/Product", json!(2.5))), None);
}

#[test]
fn enums() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str)] = &[
        ("/RecordState", "ARCHIVED", "DELETED"),
        ("/Severity/Label", "CRITICAL", "SEVERE"),
        ("/Workflow/Status", "SUPPRESSED", "new"),
        ("/VerificationState", "TRUE_POSITIVE", "TRUE"),
        ("/Compliance/Status", "NOT_AVAILABLE", "OK"),
        ("/Resources/0/Partition", "aws-us-gov", "azure"),
        ("/SchemaVersion", "2018-10-08", "2018-10-09"),
    ];
    for (pointer, good, bad) in cases {
        assert_eq!(message(&with(&[], pointer, json!(good))), None, "{pointer}");
        assert_eq!(
            message(&with(&[], pointer, json!(bad))),
            Some(format!("{} should be equal to one of the allowed values", ajv_path(pointer))),
            "{pointer}"
        );
    }
}

#[test]
fn blank_strings() {
    let blank = "data.Title should match pattern \".*\\S.*\"";
    assert_eq!(message(&with(&[], "/Title", json!(" "))), Some(blank.into()));
    assert_eq!(message(&with(&[], "/Title", json!("\t\n\u{3000}\u{FEFF}"))), Some(blank.into()));
    assert_eq!(
        message(&with(&[], "/Title", json!(""))),
        Some("data.Title should NOT be shorter than 1 characters".into())
    );
    // U+0085 is white space for Unicode but not for ECMAScript's \s.
    assert_eq!(message(&with(&[], "/Title", json!("\u{85}"))), None);
    assert_eq!(message(&with(&[], "/Title", json!("  x  "))), None);
    // Members without a documented length are NonEmptyString too (AWS: "data.Resources[0].Id should
    // NOT be shorter than 1 characters").
    assert_eq!(
        message(&with(&[], "/Resources/0/Id", json!(""))),
        Some("data.Resources[0].Id should NOT be shorter than 1 characters".into())
    );
    assert_eq!(
        message(&with(&[], "/Resources/0/Details/AwsEc2Instance/IpV4Addresses/0", json!(" "))),
        Some("data.Resources[0].Details.AwsEc2Instance.IpV4Addresses[0] should match pattern \".*\\S.*\"".into())
    );
}

#[test]
fn timestamps() {
    let bad = |pointer: &str| Some(format!("{} should match format \"date-time\"", ajv_path(pointer)));
    for pointer in
        ["/CreatedAt", "/UpdatedAt", "/FirstObservedAt", "/LastObservedAt", "/ProcessedAt", "/Process/LaunchedAt"]
    {
        assert_eq!(message(&with(&[], pointer, json!("2020-03-22T13:22:13+01:00"))), None, "{pointer}");
        assert_eq!(message(&with(&[], pointer, json!("2020-03-22 13:22:13Z"))), bad(pointer), "{pointer}");
        assert_eq!(message(&with(&[], pointer, json!("yesterday"))), bad(pointer), "{pointer}");
    }
    let pointer = "/Resources/0/Details/AwsEc2Instance/LaunchedAt";
    assert_eq!(message(&with(&[], pointer, json!("2020-02-30T00:00:00Z"))), bad(pointer));
    let note = [("/Note/Text", json!("t")), ("/Note/UpdatedBy", json!("me"))];
    assert_eq!(message(&with(&note, "/Note/UpdatedAt", json!("2020-03-22"))), bad("/Note/UpdatedAt"));
    // Not documented as a timestamp: any non-blank string.
    let vuln = [("/Vulnerabilities/0/Id", json!("CVE-2024-0001"))];
    assert_eq!(message(&with(&vuln, "/Vulnerabilities/0/LastKnownExploitAt", json!("last week"))), None);
    // A blank timestamp fails the pattern first.
    assert_eq!(
        message(&with(&[], "/CreatedAt", json!(" "))),
        Some("data.CreatedAt should match pattern \".*\\S.*\"".into())
    );
}

#[test]
fn severity_is_required_somewhere() {
    let mut d = base();
    remove(&mut d, "/Severity");
    assert_eq!(
        message(&d),
        Some(
            "data should have required property 'FindingProviderFields', data should match some schema in anyOf".into()
        )
    );
    assert_eq!(
        validate_finding(&d).expect_err("no severity").to_string(),
        "Finding does not adhere to Amazon Finding Format. data should have required property 'FindingProviderFields', \
         data should match some schema in anyOf"
    );
    let mut fpf = d.clone();
    put(&mut fpf, "/FindingProviderFields/Types", json!(["Effects"]));
    assert_eq!(
        message(&fpf),
        Some(
            "data.FindingProviderFields should have required property 'Severity', data.FindingProviderFields should \
             match some schema in anyOf"
                .into()
        )
    );
    put(&mut fpf, "/FindingProviderFields/Severity", json!({"Original": "8"}));
    assert_eq!(
        message(&fpf),
        Some(
            "data.FindingProviderFields.Severity should have required property 'Label', \
             data.FindingProviderFields.Severity should match some schema in anyOf"
                .into()
        )
    );
    put(&mut fpf, "/FindingProviderFields/Severity/Label", json!("LOW"));
    assert_eq!(message(&fpf), None);
    // The documented (not modelled) FindingProviderSeverity.Normalized and Product.
    put(&mut fpf, "/FindingProviderFields/Severity", json!({"Normalized": 40, "Product": 4.5}));
    assert_eq!(message(&fpf), None);
    put(&mut fpf, "/FindingProviderFields/Severity/Foo", json!(1));
    assert_eq!(
        message(&fpf),
        Some("data.FindingProviderFields.Severity should NOT have additional properties ('Foo')".into())
    );
    // A top-level Severity needs Label or Normalized.
    let d = with(&[], "/Severity", json!({"Original": "8"}));
    assert_eq!(
        message(&d),
        Some(
            "data.Severity should have required property 'Label', data.Severity should match some schema in anyOf"
                .into()
        )
    );
    assert_eq!(message(&with(&[], "/Severity", json!({"Normalized": 0}))), None);
}

#[test]
fn type_taxonomy() {
    let form = "should match pattern \"^([^/]+)(/[^/]+){0,2}$\"";
    for good in [
        "Effects",
        "TTPs/Discovery",
        "Software and Configuration Checks/Vulnerabilities/CVE",
        "Policy:IAMUser/S3BucketPublic",
    ] {
        assert_eq!(message(&with(&[], "/Types/0", json!(good))), None, "{good}");
        assert_eq!(message(&with(&[], "/FindingProviderFields/Types/0", json!(good))), None, "{good}");
    }
    for bad in ["", "a/b/c/d", "/Effects", "Effects/", "Effects//x"] {
        assert_eq!(message(&with(&[], "/Types/0", json!(bad))), Some(format!("data.Types[0] {form}")), "{bad:?}");
        assert_eq!(
            message(&with(&[], "/FindingProviderFields/Types/0", json!(bad))),
            Some(format!("data.FindingProviderFields.Types[0] {form}")),
            "{bad:?}"
        );
    }
    // GeneratorDetails.Labels shares the TypeList shape but not the taxonomy.
    assert_eq!(message(&with(&[], "/GeneratorDetails/Labels/0", json!("a/b/c/d"))), None);

    let strict = Options { strict_type_namespaces: true };
    let check = |v: &str| validate_finding_with(&with(&[], "/Types/0", json!(v)), &strict).err().map(|e| e.rule);
    for ns in TYPE_NAMESPACES {
        assert_eq!(check(&format!("{ns}/Category/Classifier")), None, "{ns}");
    }
    let ns = format!("should match pattern \"{TYPE_NAMESPACE_PATTERN}\"");
    assert_eq!(check("Policy:IAMUser/S3BucketPublic"), Some(ns.clone()));
    assert_eq!(check("Software & Configuration Checks/Patch Management"), Some(ns.clone()));
    assert_eq!(check("Effects/a/b/c"), Some(ns));
}

#[test]
fn display_and_size() {
    let d = with(&[], "/Remediation/Recommendation/Text", a(513));
    let e = validate_finding(&d).expect_err("too long");
    assert_eq!(e.path, "data.Remediation.Recommendation.Text");
    assert_eq!(e.rule, "should NOT be longer than 512 characters");
    assert_eq!(
        e.to_string(),
        "Finding does not adhere to Amazon Finding Format. data.Remediation.Recommendation.Text should NOT be longer \
         than 512 characters"
    );
    assert_eq!(check_finding_size(MAX_FINDING_BYTES), Ok(()));
    let e = check_finding_size(MAX_FINDING_BYTES + 1).expect_err("too big");
    assert_eq!(e.to_string(), "Finding size exceeded 240 KB");
    assert_eq!(MAX_FINDING_BYTES, 245_760);
}

#[test]
fn path_segments_follow_ajv() {
    let mut p = String::from("data");
    for seg in [Seg::Key("ProductFields"), Seg::Key("aws/x"), Seg::Index(3), Seg::Key("_a$1"), Seg::Key("1a")] {
        push_segment(&mut p, &seg);
    }
    assert_eq!(p, "data.ProductFields['aws/x'][3]._a$1['1a']");
    let mut q = String::from("data");
    push_segment(&mut q, &Seg::Key("it's \"q\"\\\n"));
    assert_eq!(q, "data['it's \\\"q\\\"\\\\\\n']");
}

#[test]
fn native_patterns() {
    assert!(pattern_matches(Pat::NonEmpty, "x"));
    assert!(pattern_matches(Pat::NonEmpty, " \u{85} "));
    assert!(!pattern_matches(Pat::NonEmpty, " \u{A0}\u{2028}"));
    assert!(pattern_matches(Pat::AlnumOrNonAscii, "My control-1 é"));
    assert!(!pattern_matches(Pat::AlnumOrNonAscii, "a.b"));
    assert!(!pattern_matches(Pat::AlnumOrNonAscii, ""));
    assert!(pattern_matches(Pat::PolicyChars, "%7B%22Version%22"));
    assert!(!pattern_matches(Pat::PolicyChars, "\u{1}\u{7F}"));
    assert!(pattern_matches(Pat::ClientToken, "abc-123"));
    assert!(!pattern_matches(Pat::ClientToken, "a b"));
    assert!(!pattern_matches(Pat::ClientToken, &"a".repeat(65)));
    assert!(pattern_matches(Pat::SecurityHubArn, "arn:aws:securityhub:us-east-1:123456789012:hub/default"));
    assert!(!pattern_matches(Pat::SecurityHubArn, "arn:aws:s3:::bucket"));
    assert!(pattern_matches(Pat::TagKey, "team:Owner/x=1"));
    assert!(!pattern_matches(Pat::TagKey, "aws:owner"));
    assert!(!pattern_matches(Pat::TagKey, "a b"));
}

#[test]
fn every_model_pattern_is_implemented() {
    let t = tables();
    for s in model::shapes() {
        assert_ne!(t.pattern(s.id()), Pat::Unknown, "{} has pattern {:?}", s.name, s.pattern);
    }
}

#[test]
fn every_limit_names_a_member_of_the_right_kind() {
    for l in LIMITS {
        let (_, m) = model::shape(l.shape)
            .and_then(|s| s.find_member(l.member))
            .unwrap_or_else(|| panic!("{}.{} is not in the model", l.shape, l.member));
        let kind = m.shape().kind;
        let string = l.min_length.is_some() || l.max_length.is_some() || !l.one_of.is_empty();
        let count = l.min_count.is_some() || l.max_count.is_some() || l.item_format.is_some();
        let map = l.max_key_length.is_some() || l.max_value_length.is_some();
        let number = l.minimum.is_some() || l.maximum.is_some();
        assert!(!string || kind == ShapeKind::String, "{}.{}", l.shape, l.member);
        assert!(!count || matches!(kind, ShapeKind::List | ShapeKind::Map), "{}.{}", l.shape, l.member);
        assert!(!map || kind == ShapeKind::Map, "{}.{}", l.shape, l.member);
        assert!(
            !number || matches!(kind, ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double),
            "{}.{}",
            l.shape,
            l.member
        );
    }
    let mut keys: Vec<_> = LIMITS.iter().map(|l| (l.shape, l.member)).collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate limit entries");
    for e in EXTRA_MEMBERS {
        let s = model::shape(e.shape).expect("extra member's shape");
        assert!(s.member(e.member).is_none(), "{}.{} is in the model now: drop the extra", e.shape, e.member);
        assert!(model::shape(e.target).is_some(), "{}", e.target);
    }
}

#[test]
fn validate_shape_applies_model_rules_only() {
    assert_eq!(validate_shape(&json!({"MaxResults": 100}), "GetFindingsRequest"), Ok(()));
    let e = validate_shape(&json!({"MaxResults": 101}), "GetFindingsRequest").expect_err("max");
    assert_eq!((e.path.as_str(), e.rule.as_str()), ("data.MaxResults", "should be <= 100"));
    let e = validate_shape(&json!({"Findings": []}), "BatchImportFindingsRequest").expect_err("min items");
    assert_eq!(
        e.to_string(),
        "Finding does not adhere to Amazon Finding Format. data.Findings should NOT have fewer than 1 items"
    );
    let e = validate_shape(&json!({"Start": "soon"}), "DateFilter").expect_err("date");
    assert_eq!((e.path.as_str(), e.rule.as_str()), ("data.Start", "should match format \"date-time\""));
    let e = validate_shape(
        &json!({"ResourceArn": "arn:aws:securityhub:us-east-1:1:hub/default", "Tags": {"aws:x": "y"}}),
        "TagResourceRequest",
    )
    .expect_err("tag key");
    assert_eq!(
        e.rule,
        "should match pattern \"^(?!aws:)[a-zA-Z+-=._:/]+$\", data.Tags property name 'aws:x' is invalid"
    );
    let e = validate_shape(&json!({"Integer": 1, "Boolean": true}), "ParameterValue").expect_err("union");
    assert_eq!(e.rule, "should NOT have more than 1 properties");
    let e = validate_shape(&json!({}), "ParameterValue").expect_err("union");
    assert_eq!(e.rule, "should NOT have fewer than 1 properties");
    // The prose limits and the severity rule are not model rules.
    let mut f = base();
    put(&mut f, "/Title", a(300));
    remove(&mut f, "/Severity");
    assert_eq!(validate_shape(&f, "AwsSecurityFinding"), Ok(()));
    // Nor are the documented extra members.
    put(&mut f, "/FindingProviderFields/Severity/Normalized", json!(1));
    assert_eq!(
        validate_shape(&f, "AwsSecurityFinding").map_err(|e| e.rule),
        Err("should NOT have additional properties ('Normalized')".into())
    );
    assert!(validate_shape(&json!({}), "NoSuchShape").is_err());
}
