//! Table-driven tests of the filter semantics: each case is a finding, a filter JSON, and whether
//! it matches (or the error message it produces).

use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, parse_timestamp};
use findinghub_hub::filter::{
    Condition, DateInterval, FilterSet, NumberRange, SortValue, StringOp, StringTest, compare_findings, field,
    parse_filters, parse_filters_for, parse_sort, sort_value,
};
use serde_json::{Value, json};

fn ts(s: &str) -> Micros {
    parse_timestamp(s).expect("test timestamp")
}

fn now() -> Micros {
    ts("2024-06-15T12:00:00Z")
}

fn finding() -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": "f-1",
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
        "AwsAccountId": "123456789012",
        "AwsAccountName": 5,
        "GeneratorId": "gen",
        "Region": "us-east-1",
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE", "TTPs/Discovery"],
        "CreatedAt": "2024-06-01T00:00:00Z",
        "UpdatedAt": "2024-06-14T12:00:00Z",
        "FirstObservedAt": "not a date",
        "Severity": {"Label": "HIGH", "Normalized": 70, "Original": "8.1"},
        "Confidence": 80,
        "Criticality": 0,
        "Title": "EC2 instance has public IP",
        "Description": "Ünïcode description",
        "ProductFields": {"aws/securityhub/ProductName": "GuardDuty", "Count": "5"},
        "UserDefinedFields": {"Team": "Security team"},
        "Malware": [{"Name": "EICAR", "Type": "VIRUS"}, {"Name": "Mirai", "Type": "WORM"}],
        "Network": {
            "SourceIpV4": "10.1.2.3",
            "SourceIpV6": "2001:db8::1",
            "SourcePort": 443,
            "DestinationIpV4": "::ffff:10.0.0.1",
            "DestinationPort": "22"
        },
        "Process": {"Pid": 1234},
        "ThreatIntelIndicators": [
            {"LastObservedAt": "2024-06-10T00:00:00Z"},
            {"LastObservedAt": "2023-01-01T00:00:00Z"}
        ],
        "Resources": [
            {
                "Type": "AwsEc2Instance",
                "Id": "i-1",
                "Partition": "aws",
                "Region": "us-east-1",
                "Tags": {"Env": "prod", "Department": "Security"},
                "Details": {
                    "AwsEc2Instance": {
                        "IpV4Addresses": ["192.168.1.10", "172.16.0.5"],
                        "IpV6Addresses": ["fe80::1"]
                    },
                    "Other": {"k": "v"}
                }
            },
            {"Type": "AwsIamRole", "Id": "arn:aws:iam::123456789012:role/x", "Tags": {"Env": "dev"}}
        ],
        "Compliance": {
            "Status": "FAILED",
            "SecurityControlParameters": [{"Name": "maxDays", "Value": ["90", "30"]}]
        },
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
        "Vulnerabilities": [
            {"Id": "CVE-1", "ExploitAvailable": "YES"},
            {"Id": "CVE-2", "ExploitAvailable": "NO"}
        ]
    })
}

fn s(value: &str, comparison: &str) -> Value {
    json!({"Value": value, "Comparison": comparison})
}

fn m(key: &str, value: &str, comparison: &str) -> Value {
    json!({"Key": key, "Value": value, "Comparison": comparison})
}

fn run(cases: &[(&str, Value, bool)], doc: &Value) {
    for (name, filter, expected) in cases {
        let parsed =
            parse_filters(filter, now()).unwrap_or_else(|e| panic!("{name}: unexpected error {e} for {filter}"));
        assert_eq!(parsed.matches(doc), *expected, "{name}: {filter}");
    }
}

fn run_errors(cases: &[(&str, Value, &str)]) {
    for (name, filter, message) in cases {
        match parse_filters(filter, now()) {
            Ok(f) => panic!("{name}: expected an error containing {message:?}, parsed {f:?}"),
            Err(e) => assert!(e.message.contains(message), "{name}: error {:?} lacks {message:?}", e.message),
        }
    }
}

#[test]
fn empty_filters_match_everything() {
    let doc = finding();
    for f in [json!(null), json!({}), json!({"Title": []}), json!({"Title": null})] {
        let parsed = parse_filters(&f, now()).expect("valid");
        assert!(parsed.is_empty(), "{f}");
        assert!(parsed.matches(&doc));
        assert!(parsed.matches(&json!({})));
    }
}

#[test]
fn string_comparisons() {
    run(
        &[
            ("equals", json!({"Title": [s("EC2 instance has public IP", "EQUALS")]}), true),
            ("equals is case-sensitive", json!({"Title": [s("ec2 instance has public ip", "EQUALS")]}), false),
            ("equals is whole-value", json!({"Title": [s("EC2 instance", "EQUALS")]}), false),
            ("prefix", json!({"Title": [s("EC2 ", "PREFIX")]}), true),
            ("prefix not at start", json!({"Title": [s("instance", "PREFIX")]}), false),
            ("contains", json!({"Title": [s("public", "CONTAINS")]}), true),
            ("contains absent", json!({"Title": [s("private", "CONTAINS")]}), false),
            ("contains is case-sensitive", json!({"Title": [s("Public", "CONTAINS")]}), false),
            ("not_equals same", json!({"Title": [s("EC2 instance has public IP", "NOT_EQUALS")]}), false),
            ("not_equals other", json!({"Title": [s("EC2", "NOT_EQUALS")]}), true),
            ("prefix_not_equals hit", json!({"Title": [s("EC2", "PREFIX_NOT_EQUALS")]}), false),
            ("prefix_not_equals miss", json!({"Title": [s("S3", "PREFIX_NOT_EQUALS")]}), true),
            ("not_contains hit", json!({"Title": [s("public", "NOT_CONTAINS")]}), false),
            ("not_contains miss", json!({"Title": [s("private", "NOT_CONTAINS")]}), true),
            ("unicode byte-wise", json!({"Description": [s("Unicode", "PREFIX")]}), false),
            ("unicode exact", json!({"Description": [s("Ünïcode", "PREFIX")]}), true),
            ("nested struct path", json!({"SeverityLabel": [s("HIGH", "EQUALS")]}), true),
            ("nested struct path miss", json!({"SeverityLabel": [s("LOW", "EQUALS")]}), false),
            ("workflow status", json!({"WorkflowStatus": [s("NEW", "EQUALS")]}), true),
        ],
        &finding(),
    );
}

#[test]
fn string_combining_rules() {
    run(
        &[
            ("positives OR: second hits", json!({"Title": [s("S3", "PREFIX"), s("EC2", "PREFIX")]}), true),
            ("positives OR: none hits", json!({"Title": [s("S3", "PREFIX"), s("IAM", "EQUALS")]}), false),
            ("equals OR prefix", json!({"Title": [s("x", "EQUALS"), s("EC2", "PREFIX")]}), true),
            (
                "negatives AND: one hits",
                json!({"Title": [s("private", "NOT_CONTAINS"), s("public", "NOT_CONTAINS")]}),
                false,
            ),
            (
                "negatives AND: none hits",
                json!({"Title": [s("private", "NOT_CONTAINS"), s("S3", "NOT_CONTAINS")]}),
                true,
            ),
            (
                "not_equals AND prefix_not_equals",
                json!({"Title": [s("x", "NOT_EQUALS"), s("S3", "PREFIX_NOT_EQUALS")]}),
                true,
            ),
            (
                "not_equals AND prefix_not_equals: one hits",
                json!({"Title": [s("x", "NOT_EQUALS"), s("EC2", "PREFIX_NOT_EQUALS")]}),
                false,
            ),
            // PREFIX first, then exclusions subtracted (the model's own example, on a list field).
            (
                "prefix minus not_equals: excluded",
                json!({"ResourceType": [s("AwsEc2", "PREFIX"), s("AwsEc2Instance", "NOT_EQUALS")]}),
                false,
            ),
            (
                "prefix minus not_equals: kept",
                json!({"ResourceType": [s("AwsIam", "PREFIX"), s("AwsIamPolicy", "NOT_EQUALS")]}),
                true,
            ),
            (
                "prefix minus prefix_not_equals",
                json!({"ResourceType": [s("Aws", "PREFIX"), s("AwsS3", "PREFIX_NOT_EQUALS")]}),
                true,
            ),
            (
                "prefix minus prefix_not_equals: excluded",
                json!({"ResourceType": [s("AwsIam", "PREFIX"), s("AwsEc2", "PREFIX_NOT_EQUALS")]}),
                false,
            ),
            (
                "fields AND: both",
                json!({"Title": [s("public", "CONTAINS")], "SeverityLabel": [s("HIGH", "EQUALS")]}),
                true,
            ),
            (
                "fields AND: one fails",
                json!({"Title": [s("public", "CONTAINS")], "SeverityLabel": [s("LOW", "EQUALS")]}),
                false,
            ),
        ],
        &finding(),
    );
}

#[test]
fn list_valued_and_missing_attributes() {
    run(
        &[
            ("any element equals", json!({"Type": [s("TTPs/Discovery", "EQUALS")]}), true),
            (
                "not_equals excludes when any element equals",
                json!({"Type": [s("TTPs/Discovery", "NOT_EQUALS")]}),
                false,
            ),
            ("prefix_not_equals with no element matching", json!({"Type": [s("Effects", "PREFIX_NOT_EQUALS")]}), true),
            ("resource list", json!({"ResourceId": [s("i-1", "EQUALS")]}), true),
            ("resource list second", json!({"ResourceId": [s("arn:aws:iam::", "PREFIX")]}), true),
            ("list inside list", json!({"ComplianceSecurityControlParametersValue": [s("30", "EQUALS")]}), true),
            ("list inside list miss", json!({"ComplianceSecurityControlParametersValue": [s("60", "EQUALS")]}), false),
            ("malware second element", json!({"MalwareName": [s("Mirai", "EQUALS")]}), true),
            ("vulnerability enum string", json!({"VulnerabilitiesExploitAvailable": [s("NO", "EQUALS")]}), true),
            (
                "vulnerability not_equals any",
                json!({"VulnerabilitiesExploitAvailable": [s("YES", "NOT_EQUALS")]}),
                false,
            ),
            ("missing fails equals", json!({"NoteText": [s("x", "EQUALS")]}), false),
            ("missing fails prefix", json!({"NoteText": [s("x", "PREFIX")]}), false),
            ("missing fails contains", json!({"NoteText": [s("x", "CONTAINS")]}), false),
            ("missing passes not_equals", json!({"NoteText": [s("x", "NOT_EQUALS")]}), true),
            ("missing passes prefix_not_equals", json!({"NoteText": [s("x", "PREFIX_NOT_EQUALS")]}), true),
            ("missing passes not_contains", json!({"NoteText": [s("x", "NOT_CONTAINS")]}), true),
            ("missing in every resource", json!({"ResourceOwnerAccountId": [s("1", "PREFIX")]}), false),
            ("non-string value is not a string", json!({"AwsAccountName": [s("5", "EQUALS")]}), false),
            ("non-string value passes negative", json!({"AwsAccountName": [s("5", "NOT_EQUALS")]}), true),
        ],
        &finding(),
    );
}

#[test]
fn map_filters() {
    run(
        &[
            ("tag equals, first resource", json!({"ResourceTags": [m("Env", "prod", "EQUALS")]}), true),
            ("tag equals, second resource", json!({"ResourceTags": [m("Env", "dev", "EQUALS")]}), true),
            ("tag equals, no resource", json!({"ResourceTags": [m("Env", "staging", "EQUALS")]}), false),
            (
                "value under another key does not count",
                json!({"ResourceTags": [m("Department", "prod", "EQUALS")]}),
                false,
            ),
            ("tag not_equals, some resource has it", json!({"ResourceTags": [m("Env", "dev", "NOT_EQUALS")]}), false),
            ("tag not_equals, none has it", json!({"ResourceTags": [m("Env", "staging", "NOT_EQUALS")]}), true),
            ("missing key fails equals", json!({"ResourceTags": [m("Owner", "x", "EQUALS")]}), false),
            ("missing key passes not_equals", json!({"ResourceTags": [m("Owner", "x", "NOT_EQUALS")]}), true),
            ("contains", json!({"UserDefinedFields": [m("Team", "Security", "CONTAINS")]}), true),
            ("equals is whole-value", json!({"UserDefinedFields": [m("Team", "Security", "EQUALS")]}), false),
            ("not_contains hit", json!({"UserDefinedFields": [m("Team", "team", "NOT_CONTAINS")]}), false),
            ("not_contains miss", json!({"UserDefinedFields": [m("Team", "Finance", "NOT_CONTAINS")]}), true),
            ("keys are case-sensitive", json!({"UserDefinedFields": [m("team", "Security team", "EQUALS")]}), false),
            (
                "positives OR across keys",
                json!({"ResourceTags": [m("Env", "staging", "EQUALS"), m("Department", "Security", "EQUALS")]}),
                true,
            ),
            (
                "negatives AND across keys",
                json!({"ResourceTags": [m("Env", "staging", "NOT_EQUALS"), m("Department", "Security", "NOT_EQUALS")]}),
                false,
            ),
            (
                "product fields",
                json!({"ProductFields": [m("aws/securityhub/ProductName", "GuardDuty", "EQUALS")]}),
                true,
            ),
            ("details other", json!({"ResourceDetailsOther": [m("k", "v", "EQUALS")]}), true),
            ("details other miss", json!({"ResourceDetailsOther": [m("k", "w", "EQUALS")]}), false),
        ],
        &finding(),
    );
    let without = json!({"Id": "x"});
    run(
        &[
            ("no map: equals fails", json!({"UserDefinedFields": [m("Team", "x", "EQUALS")]}), false),
            ("no map: not_equals passes", json!({"UserDefinedFields": [m("Team", "x", "NOT_EQUALS")]}), true),
        ],
        &without,
    );
}

#[test]
fn number_filters() {
    run(
        &[
            ("gte equal", json!({"Confidence": [{"Gte": 80}]}), true),
            ("gt equal", json!({"Confidence": [{"Gt": 80}]}), false),
            ("gt below", json!({"Confidence": [{"Gt": 79.5}]}), true),
            ("lte equal", json!({"Confidence": [{"Lte": 80}]}), true),
            ("lt equal", json!({"Confidence": [{"Lt": 80}]}), false),
            ("lt above", json!({"Confidence": [{"Lt": 80.5}]}), true),
            ("eq", json!({"Confidence": [{"Eq": 80}]}), true),
            ("eq float vs int", json!({"Confidence": [{"Eq": 80.0}]}), true),
            ("eq other", json!({"Confidence": [{"Eq": 79}]}), false),
            ("bounds AND in one filter: out", json!({"Confidence": [{"Gte": 50, "Lte": 70}]}), false),
            ("bounds AND in one filter: in", json!({"Confidence": [{"Gte": 50, "Lte": 90}]}), true),
            ("eq AND gt contradict", json!({"Confidence": [{"Eq": 80, "Gt": 80}]}), false),
            ("filters OR", json!({"Confidence": [{"Eq": 10}, {"Gte": 75}]}), true),
            ("filters OR none", json!({"Confidence": [{"Eq": 10}, {"Gte": 95}]}), false),
            ("zero", json!({"Criticality": [{"Eq": 0}]}), true),
            ("zero lt", json!({"Criticality": [{"Lt": 0}]}), false),
            ("negative bound", json!({"Criticality": [{"Gt": -1}]}), true),
            ("nested", json!({"SeverityNormalized": [{"Gte": 70}]}), true),
            ("port", json!({"NetworkSourcePort": [{"Eq": 443}]}), true),
            ("numeric string never matches", json!({"NetworkDestinationPort": [{"Eq": 22}]}), false),
            ("missing", json!({"ProcessParentPid": [{"Gte": 0}]}), false),
            ("pid", json!({"ProcessPid": [{"Lte": 1234, "Gte": 1234}]}), true),
        ],
        &finding(),
    );
}

#[test]
fn date_filters() {
    run(
        &[
            ("start inclusive", json!({"CreatedAt": [{"Start": "2024-06-01T00:00:00Z"}]}), true),
            ("start after", json!({"CreatedAt": [{"Start": "2024-06-01T00:00:00.001Z"}]}), false),
            ("end inclusive", json!({"CreatedAt": [{"End": "2024-06-01T00:00:00Z"}]}), true),
            ("end before", json!({"CreatedAt": [{"End": "2024-05-31T23:59:59.999999Z"}]}), false),
            (
                "start and end",
                json!({"CreatedAt": [{"Start": "2024-05-01T00:00:00Z", "End": "2024-07-01T00:00:00Z"}]}),
                true,
            ),
            (
                "offsets compare as instants",
                json!({"CreatedAt": [{"Start": "2024-06-01T02:00:00+02:00", "End": "2024-05-31T20:00:00-04:00"}]}),
                true,
            ),
            (
                "start after end matches nothing",
                json!({"CreatedAt": [{"Start": "2024-07-01T00:00:00Z", "End": "2024-05-01T00:00:00Z"}]}),
                false,
            ),
            // UpdatedAt is exactly 1 day before now; CreatedAt 14.5 days before.
            (
                "within 1 day, at the boundary",
                json!({"UpdatedAt": [{"DateRange": {"Value": 1, "Unit": "DAYS", "Comparison": "WITHIN"}}]}),
                true,
            ),
            ("within 0 days", json!({"UpdatedAt": [{"DateRange": {"Value": 0, "Unit": "DAYS"}}]}), false),
            ("within is the default", json!({"UpdatedAt": [{"DateRange": {"Value": 1, "Unit": "DAYS"}}]}), true),
            ("unit defaults to days", json!({"UpdatedAt": [{"DateRange": {"Value": 1}}]}), true),
            (
                "older_than 1 at the boundary",
                json!({"UpdatedAt": [{"DateRange": {"Value": 1, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}]}),
                false,
            ),
            (
                "older_than 14",
                json!({"CreatedAt": [{"DateRange": {"Value": 14, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}]}),
                true,
            ),
            (
                "older_than 15",
                json!({"CreatedAt": [{"DateRange": {"Value": 15, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}]}),
                false,
            ),
            (
                "within 15",
                json!({"CreatedAt": [{"DateRange": {"Value": 15, "Unit": "DAYS", "Comparison": "WITHIN"}}]}),
                true,
            ),
            (
                "within 14",
                json!({"CreatedAt": [{"DateRange": {"Value": 14, "Unit": "DAYS", "Comparison": "WITHIN"}}]}),
                false,
            ),
            (
                "range AND start: start excludes",
                json!({"CreatedAt": [{"Start": "2024-06-02T00:00:00Z", "DateRange": {"Value": 30, "Unit": "DAYS"}}]}),
                false,
            ),
            (
                "range AND end: both hold",
                json!({"CreatedAt": [{"End": "2024-06-30T00:00:00Z", "DateRange": {"Value": 10, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}]}),
                true,
            ),
            (
                "filters OR",
                json!({"CreatedAt": [{"End": "2020-01-01T00:00:00Z"}, {"DateRange": {"Value": 30, "Unit": "DAYS"}}]}),
                true,
            ),
            ("unparseable value never matches", json!({"FirstObservedAt": [{"Start": "1970-01-01T00:00:00Z"}]}), false),
            (
                "missing never matches",
                json!({"LastObservedAt": [{"DateRange": {"Value": 100000, "Unit": "DAYS"}}]}),
                false,
            ),
            (
                "list: second element",
                json!({"ThreatIntelIndicatorLastObservedAt": [{"End": "2023-12-31T00:00:00Z"}]}),
                true,
            ),
            (
                "list: within 6 days",
                json!({"ThreatIntelIndicatorLastObservedAt": [{"DateRange": {"Value": 6, "Unit": "DAYS"}}]}),
                true,
            ),
            (
                "list: within 5 days",
                json!({"ThreatIntelIndicatorLastObservedAt": [{"DateRange": {"Value": 5, "Unit": "DAYS"}}]}),
                false,
            ),
            (
                "huge range saturates",
                json!({"CreatedAt": [{"DateRange": {"Value": 2147483647, "Unit": "DAYS"}}]}),
                true,
            ),
        ],
        &finding(),
    );
    let future = json!({"CreatedAt": "2030-01-01T00:00:00Z"});
    run(
        &[("within has no upper bound", json!({"CreatedAt": [{"DateRange": {"Value": 1, "Unit": "DAYS"}}]}), true)],
        &future,
    );
}

#[test]
fn date_ranges_resolve_against_now() {
    let day = MICROS_PER_DAY;
    let f = parse_filters(
        &json!({
            "CreatedAt": [
                {"DateRange": {"Value": 3, "Unit": "DAYS", "Comparison": "WITHIN"}},
                {"DateRange": {"Value": 3, "Unit": "DAYS", "Comparison": "OLDER_THAN"}},
                {"Start": "2024-01-01T00:00:00Z", "DateRange": {"Value": 300, "Unit": "DAYS"}}
            ]
        }),
        now(),
    )
    .expect("valid");
    assert_eq!(
        f.condition("CreatedAt"),
        Some(&Condition::Date(vec![
            DateInterval { start: Some(now() - 3 * day), end: None },
            DateInterval { start: None, end: Some(now() - 3 * day - 1) },
            DateInterval { start: Some(ts("2024-01-01T00:00:00Z")), end: None },
        ]))
    );
}

#[test]
fn parsed_form_is_explicit() {
    let f = parse_filters(
        &json!({
            "ResourceType": [s("AwsIam", "PREFIX"), s("AwsIamPolicy", "NOT_EQUALS"), s("AwsIamU", "PREFIX_NOT_EQUALS")],
            "Confidence": [{"Gte": 10, "Lt": 20}]
        }),
        now(),
    )
    .expect("valid");
    assert_eq!(f.conditions.len(), 2);
    assert_eq!(
        f.condition("ResourceType"),
        Some(&Condition::String {
            positive: vec![StringTest { op: StringOp::Prefix, value: "AwsIam".into() }],
            negative: vec![
                StringTest { op: StringOp::Equals, value: "AwsIamPolicy".into() },
                StringTest { op: StringOp::Prefix, value: "AwsIamU".into() },
            ],
        })
    );
    assert_eq!(
        f.condition("Confidence"),
        Some(&Condition::Number(vec![NumberRange { gte: Some(10.0), lt: Some(20.0), ..Default::default() }]))
    );
    for c in &f.conditions {
        assert_eq!(Some(c.field), field(c.field.name));
    }
}

#[test]
fn ip_filters() {
    let c = |cidr: &str| json!({"Cidr": cidr});
    run(
        &[
            ("v4 block", json!({"NetworkSourceIpV4": [c("10.0.0.0/8")]}), true),
            ("bare address is /32", json!({"NetworkSourceIpV4": [c("10.1.2.3")]}), true),
            ("bare address other", json!({"NetworkSourceIpV4": [c("10.1.2.4")]}), false),
            ("/31 edge", json!({"NetworkSourceIpV4": [c("10.1.2.2/31")]}), true),
            ("/31 next", json!({"NetworkSourceIpV4": [c("10.1.2.4/31")]}), false),
            ("host bits cleared", json!({"NetworkSourceIpV4": [c("10.9.9.9/8")]}), true),
            ("/0", json!({"NetworkSourceIpV4": [c("0.0.0.0/0")]}), true),
            ("other block", json!({"NetworkSourceIpV4": [c("11.0.0.0/8")]}), false),
            ("filters OR", json!({"NetworkSourceIpV4": [c("11.0.0.0/8"), c("10.0.0.0/8")]}), true),
            ("v6 block", json!({"NetworkSourceIpV6": [c("2001:db8::/32")]}), true),
            ("v6 /128", json!({"NetworkSourceIpV6": [c("2001:db8::1/128")]}), true),
            ("v6 ::/0", json!({"NetworkSourceIpV6": [c("::/0")]}), true),
            ("v6 other block", json!({"NetworkSourceIpV6": [c("2001:db9::/32")]}), false),
            ("v4 cidr on v6 field never matches", json!({"NetworkSourceIpV6": [c("0.0.0.0/0")]}), false),
            ("v6 cidr on v4 field never matches", json!({"NetworkSourceIpV4": [c("::/0")]}), false),
            ("v6 value in a v4 field is ignored", json!({"NetworkDestinationIpV4": [c("::/0")]}), false),
            ("mapped v6 value is not v4", json!({"NetworkDestinationIpV4": [c("10.0.0.0/8")]}), false),
            ("list: second address", json!({"ResourceAwsEc2InstanceIpV4Addresses": [c("172.16.0.0/12")]}), true),
            ("list: exact first", json!({"ResourceAwsEc2InstanceIpV4Addresses": [c("192.168.1.10/32")]}), true),
            ("list: none", json!({"ResourceAwsEc2InstanceIpV4Addresses": [c("192.168.2.0/24")]}), false),
            ("list v6", json!({"ResourceAwsEc2InstanceIpV6Addresses": [c("fe80::/10")]}), true),
            ("missing", json!({"NetworkDestinationIpV6": [c("::/0")]}), false),
        ],
        &finding(),
    );
    let odd = json!({"Network": {"SourceIpV4": "10.0.0.1/32", "SourceIpV6": "fe80::1%eth0"}});
    run(
        &[
            ("a CIDR value is not an address", json!({"NetworkSourceIpV4": [c("0.0.0.0/0")]}), false),
            ("a zoned value is not an address", json!({"NetworkSourceIpV6": [c("::/0")]}), false),
        ],
        &odd,
    );
}

#[test]
fn boolean_and_keyword_filters() {
    let doc = finding();
    let sample = json!({"Sample": true, "Title": "t"});
    let cases: [(Value, bool, bool); 4] = [
        (json!({"Sample": [{"Value": false}]}), true, false),
        (json!({"Sample": [{"Value": true}]}), false, true),
        (json!({"Sample": [{"Value": true}, {"Value": false}]}), true, true),
        (json!({"Sample": [{"Value": false}], "Title": [s("t", "EQUALS")]}), false, false),
    ];
    for (f, on_doc, on_sample) in cases {
        let parsed = parse_filters(&f, now()).expect("valid");
        assert_eq!(parsed.matches(&doc), on_doc, "{f} on finding");
        assert_eq!(parsed.matches(&sample), on_sample, "{f} on sample");
    }
    assert!(
        !parse_filters(&json!({"Sample": [{"Value": false}]}), now())
            .expect("valid")
            .matches(&json!({"Sample": "false"}))
    );
    run(
        &[
            ("keyword equals a leaf", json!({"Keyword": [{"Value": "EICAR"}]}), true),
            ("keyword is whole-value", json!({"Keyword": [{"Value": "EIC"}]}), false),
            ("keyword tag value", json!({"Keyword": [{"Value": "prod"}]}), true),
            ("keyword not a key", json!({"Keyword": [{"Value": "Env"}]}), false),
            ("keyword not a number", json!({"Keyword": [{"Value": "443"}]}), false),
            ("keyword OR", json!({"Keyword": [{"Value": "zzz"}, {"Value": "Mirai"}]}), true),
        ],
        &doc,
    );
}

#[test]
fn shape_errors() {
    run_errors(&[
        ("filters not an object", json!([]), "AwsSecurityFindingFilters must be a JSON object"),
        ("filters a string", json!("x"), "must be a JSON object"),
        ("unknown field", json!({"Foo": []}), "Unknown filter field 'Foo'"),
        ("field names are case-sensitive", json!({"title": [s("x", "EQUALS")]}), "Unknown filter field 'title'"),
        (
            "field not a list",
            json!({"Title": s("x", "EQUALS")}),
            "Filter field 'Title' must be a list of StringFilter objects",
        ),
        ("element not an object", json!({"Title": ["x"]}), "must be a list of StringFilter objects"),
        (
            "missing comparison",
            json!({"Title": [{"Value": "x"}]}),
            "StringFilter of filter field 'Title' requires Comparison",
        ),
        ("missing value", json!({"Title": [{"Comparison": "EQUALS"}]}), "requires Value"),
        ("null value", json!({"Title": [{"Value": null, "Comparison": "EQUALS"}]}), "requires Value"),
        ("empty value", json!({"Title": [s("", "EQUALS")]}), "must not be empty"),
        ("blank value", json!({"Title": [s(" \t", "EQUALS")]}), "must not be empty"),
        (
            "value not a string",
            json!({"Title": [{"Value": 5, "Comparison": "EQUALS"}]}),
            "Value in StringFilter of filter field 'Title' must be a string",
        ),
        ("bad comparison", json!({"Title": [s("x", "EQUAL")]}), "Invalid Comparison \"EQUAL\""),
        ("comparison is case-sensitive", json!({"Title": [s("x", "equals")]}), "Invalid Comparison"),
        ("comparison not a string", json!({"Title": [{"Value": "x", "Comparison": 1}]}), "Invalid Comparison 1"),
        (
            "contains_word is V2 only",
            json!({"Title": [s("x", "CONTAINS_WORD")]}),
            "CONTAINS_WORD (filter field 'Title') is supported only by the V2 APIs",
        ),
        (
            "unknown member",
            json!({"Title": [{"Value": "x", "Comparison": "EQUALS", "Extra": 1}]}),
            "Unknown member 'Extra' in StringFilter",
        ),
        ("map prefix", json!({"ResourceTags": [m("k", "v", "PREFIX")]}), "Invalid Comparison \"PREFIX\" in MapFilter"),
        ("map contains_word", json!({"ResourceTags": [m("k", "v", "CONTAINS_WORD")]}), "Invalid Comparison"),
        (
            "map missing key",
            json!({"ResourceTags": [{"Value": "v", "Comparison": "EQUALS"}]}),
            "MapFilter of filter field 'ResourceTags' requires Key",
        ),
        (
            "map empty key",
            json!({"ResourceTags": [m("", "v", "EQUALS")]}),
            "Key in MapFilter of filter field 'ResourceTags' must not be empty",
        ),
        ("map missing value", json!({"ResourceTags": [{"Key": "k", "Comparison": "EQUALS"}]}), "requires Value"),
        ("number empty", json!({"Confidence": [{}]}), "requires at least one of Eq, Gt, Gte, Lt, Lte"),
        (
            "number string",
            json!({"Confidence": [{"Gte": "5"}]}),
            "Gte in NumberFilter of filter field 'Confidence' must be a number",
        ),
        ("number unknown member", json!({"Confidence": [{"Ge": 5}]}), "Unknown member 'Ge' in NumberFilter"),
        ("date empty", json!({"CreatedAt": [{}]}), "requires Start, End or DateRange"),
        (
            "date bad start",
            json!({"CreatedAt": [{"Start": "2024-06-01"}]}),
            "Start in DateFilter of filter field 'CreatedAt' is not a valid timestamp: 2024-06-01",
        ),
        ("date bad end", json!({"CreatedAt": [{"End": "2024-02-30T00:00:00Z"}]}), "End in DateFilter"),
        ("date start not a string", json!({"CreatedAt": [{"Start": 5}]}), "must be a string"),
        (
            "range unit",
            json!({"CreatedAt": [{"DateRange": {"Value": 1, "Unit": "HOURS"}}]}),
            "invalid Unit \"HOURS\"; expected DAYS",
        ),
        (
            "range comparison",
            json!({"CreatedAt": [{"DateRange": {"Value": 1, "Comparison": "BEFORE"}}]}),
            "expected WITHIN or OLDER_THAN",
        ),
        ("range negative", json!({"CreatedAt": [{"DateRange": {"Value": -1}}]}), "Value of 0 or more"),
        ("range fractional", json!({"CreatedAt": [{"DateRange": {"Value": 1.5}}]}), "requires an integer Value"),
        (
            "range beyond i32",
            json!({"CreatedAt": [{"DateRange": {"Value": 3_000_000_000_i64}}]}),
            "requires an integer Value",
        ),
        ("range missing value", json!({"CreatedAt": [{"DateRange": {"Unit": "DAYS"}}]}), "requires Value"),
        (
            "range not an object",
            json!({"CreatedAt": [{"DateRange": 5}]}),
            "DateRange in DateFilter of filter field 'CreatedAt' must be an object",
        ),
        (
            "range unknown member",
            json!({"CreatedAt": [{"DateRange": {"Value": 1, "Units": "DAYS"}}]}),
            "unknown member 'Units'",
        ),
        (
            "cidr prefix too long",
            json!({"NetworkSourceIpV4": [{"Cidr": "10.0.0.0/33"}]}),
            "Invalid Cidr 10.0.0.0/33 in IpFilter of filter field 'NetworkSourceIpV4'",
        ),
        ("cidr v6 prefix too long", json!({"NetworkSourceIpV6": [{"Cidr": "::/129"}]}), "Invalid Cidr ::/129"),
        ("cidr garbage", json!({"NetworkSourceIpV4": [{"Cidr": "banana"}]}), "Invalid Cidr banana"),
        (
            "cidr missing",
            json!({"NetworkSourceIpV4": [{}]}),
            "IpFilter of filter field 'NetworkSourceIpV4' requires Cidr",
        ),
        (
            "bool as string",
            json!({"Sample": [{"Value": "true"}]}),
            "Value in BooleanFilter of filter field 'Sample' must be true or false",
        ),
        ("bool missing", json!({"Sample": [{}]}), "BooleanFilter of filter field 'Sample' requires Value"),
        (
            "keyword empty",
            json!({"Keyword": [{"Value": ""}]}),
            "Value in KeywordFilter of filter field 'Keyword' must not be empty",
        ),
    ]);
}

#[test]
fn forbidden_mixes() {
    let t = |a: &str, b: &str| json!({"Title": [s("x", a), s("y", b)]});
    run_errors(&[
        ("contains + not_contains", t("CONTAINS", "NOT_CONTAINS"), "'Title' cannot combine CONTAINS and NOT_CONTAINS"),
        ("not_contains + contains", t("NOT_CONTAINS", "CONTAINS"), "cannot combine CONTAINS and NOT_CONTAINS"),
        ("equals + not_equals", t("EQUALS", "NOT_EQUALS"), "cannot combine EQUALS and NOT_EQUALS"),
        ("equals + prefix_not_equals", t("PREFIX_NOT_EQUALS", "EQUALS"), "cannot combine EQUALS and PREFIX_NOT_EQUALS"),
        (
            "contains + equals",
            t("CONTAINS", "EQUALS"),
            "cannot combine CONTAINS and EQUALS comparisons: CONTAINS can only be combined with other CONTAINS filters",
        ),
        ("contains + prefix", t("PREFIX", "CONTAINS"), "cannot combine CONTAINS and PREFIX"),
        (
            "contains + not_equals",
            t("CONTAINS", "NOT_EQUALS"),
            "CONTAINS can only be combined with other CONTAINS filters",
        ),
        (
            "not_contains + not_equals",
            t("NOT_CONTAINS", "NOT_EQUALS"),
            "NOT_CONTAINS can only be combined with other NOT_CONTAINS filters",
        ),
        ("not_contains + prefix", t("PREFIX", "NOT_CONTAINS"), "cannot combine NOT_CONTAINS and PREFIX"),
        (
            "not_contains + prefix_not_equals",
            t("NOT_CONTAINS", "PREFIX_NOT_EQUALS"),
            "NOT_CONTAINS can only be combined",
        ),
        (
            "mix among many",
            json!({"Title": [s("a", "PREFIX"), s("b", "PREFIX"), s("c", "NOT_EQUALS"), s("d", "EQUALS")]}),
            "cannot combine EQUALS and NOT_EQUALS",
        ),
        (
            "map contains + not_contains",
            json!({"ResourceTags": [m("k", "v", "CONTAINS"), m("k", "w", "NOT_CONTAINS")]}),
            "'ResourceTags' cannot combine CONTAINS and NOT_CONTAINS",
        ),
        (
            "map equals + not_equals, even on different keys",
            json!({"ResourceTags": [m("a", "v", "EQUALS"), m("b", "w", "NOT_EQUALS")]}),
            "cannot combine EQUALS and NOT_EQUALS",
        ),
        (
            "map contains + equals",
            json!({"UserDefinedFields": [m("a", "v", "EQUALS"), m("a", "w", "CONTAINS")]}),
            "CONTAINS can only be combined",
        ),
        (
            "map not_contains + not_equals",
            json!({"UserDefinedFields": [m("a", "v", "NOT_EQUALS"), m("a", "w", "NOT_CONTAINS")]}),
            "NOT_CONTAINS can only be combined",
        ),
    ]);
    for (a, b) in [
        ("PREFIX", "NOT_EQUALS"),
        ("PREFIX", "PREFIX_NOT_EQUALS"),
        ("EQUALS", "PREFIX"),
        ("NOT_EQUALS", "PREFIX_NOT_EQUALS"),
        ("CONTAINS", "CONTAINS"),
        ("NOT_CONTAINS", "NOT_CONTAINS"),
        ("EQUALS", "EQUALS"),
    ] {
        assert!(parse_filters(&t(a, b), now()).is_ok(), "{a} with {b} is allowed");
    }
    assert!(parse_filters(&json!({"ResourceTags": [m("a", "v", "EQUALS"), m("b", "w", "CONTAINS")]}), now()).is_err());
    assert!(
        parse_filters(&json!({"ResourceTags": [m("a", "v", "NOT_EQUALS"), m("b", "w", "NOT_EQUALS")]}), now()).is_ok()
    );
}

fn attributes(n: usize) -> Value {
    let names = [
        "Title",
        "Id",
        "ProductArn",
        "AwsAccountId",
        "GeneratorId",
        "ResourceType",
        "Type",
        "Description",
        "SourceUrl",
        "ProductName",
        "CompanyName",
        "ResourceId",
    ];
    let mut obj = serde_json::Map::new();
    for name in names.iter().take(n) {
        obj.insert((*name).to_owned(), json!([s("x", "EQUALS")]));
    }
    Value::Object(obj)
}

fn values(n: usize) -> Value {
    json!({"Title": (0..n).map(|i| s(&format!("v{i}"), "EQUALS")).collect::<Vec<_>>()})
}

#[test]
fn limits() {
    assert!(parse_filters(&attributes(10), now()).is_ok());
    run_errors(&[(
        "11 attributes",
        attributes(11),
        "Filters use 11 attributes; at most 10 filter attributes are allowed",
    )]);
    let mut eleven_with_an_empty_one = attributes(10);
    if let Some(obj) = eleven_with_an_empty_one.as_object_mut() {
        obj.insert("NoteText".into(), json!([]));
        obj.insert("NoteUpdatedBy".into(), json!(null));
    }
    assert!(parse_filters(&eleven_with_an_empty_one, now()).is_ok(), "empty lists do not count");
    assert!(parse_filters(&values(20), now()).is_ok());
    run_errors(&[(
        "21 values",
        values(21),
        "Filter field 'Title' has 21 values; at most 20 values are allowed per filter attribute",
    )]);
    let dates = json!({"CreatedAt": (0..21).map(|_| json!({"DateRange": {"Value": 1}})).collect::<Vec<_>>()});
    run_errors(&[("21 date values", dates, "has 21 values")]);
}

#[test]
fn automation_rules_criteria() {
    let ar = |v: &Value| parse_filters_for(v, now(), FilterSet::AutomationRules);
    assert!(ar(&attributes(12)).is_ok(), "no attribute limit");
    let err = ar(&json!({"Keyword": [{"Value": "x"}]})).expect_err("not a criteria field");
    assert_eq!(err.message, "Filter field 'Keyword' is not supported in AutomationRulesFindingFilters");
    assert!(ar(&json!({"NetworkSourceIpV4": [{"Cidr": "10.0.0.0/8"}]})).is_err());
    assert!(ar(&values(100)).is_ok(), "Title allows 100");
    assert!(ar(&values(101)).is_err());
    let arns = |n: usize| json!({"ProductArn": (0..n).map(|_| s("x", "EQUALS")).collect::<Vec<_>>()});
    assert!(ar(&arns(20)).is_ok());
    assert!(ar(&arns(21)).is_err());
    assert!(ar(&json!({"Title": []})).expect_err("min 1").message.contains("at least 1 value"));
    assert!(ar(&json!({"Title": [s("x", "NOT_CONTAINS")]})).is_ok());
    let f = ar(&json!({"ResourceTags": [m("Env", "prod", "EQUALS")]})).expect("valid");
    assert!(f.matches(&finding()));
}

#[test]
fn sort_parsing() {
    assert_eq!(parse_sort(&json!(null)).expect("null").len(), 0);
    assert_eq!(parse_sort(&json!([])).expect("empty").len(), 0);
    let c = parse_sort(&json!([{"Field": "Confidence"}, {"Field": "UpdatedAt", "SortOrder": "desc"}, {"Field": "Title", "SortOrder": "asc"}]))
        .expect("valid");
    let got: Vec<(&str, bool)> = c.iter().map(|c| (c.field.name, c.descending)).collect();
    assert_eq!(got, vec![("Confidence", false), ("UpdatedAt", true), ("Title", false)]);
    for (json, message) in [
        (json!({"Field": "Title"}), "SortCriteria must be a list"),
        (json!(["Title"]), "SortCriteria must be a list"),
        (json!([{"SortOrder": "asc"}]), "SortCriterion requires Field"),
        (json!([{"Field": 1}]), "Field in SortCriterion must be a string"),
        (json!([{"Field": "Nope"}]), "Invalid sort field 'Nope'"),
        (json!([{"Field": "Title", "SortOrder": "ASC"}]), "Invalid SortOrder \"ASC\""),
        (json!([{"Field": "Title", "Order": "asc"}]), "Unknown member 'Order' in SortCriterion"),
        (
            json!([{"Field": "ResourceTags"}]),
            "Sorting by 'ResourceTags' is not supported: MapFilter fields are not sortable",
        ),
        (json!([{"Field": "NetworkSourceIpV4"}]), "IpFilter fields are not sortable"),
        (json!([{"Field": "Keyword"}]), "KeywordFilter fields are not sortable"),
    ] {
        let e = parse_sort(&json).expect_err("invalid");
        assert!(e.message.contains(message), "{json}: {:?} lacks {message:?}", e.message);
    }
    assert!(parse_sort(&json!([{"Field": "Sample", "SortOrder": null}])).is_ok());
}

fn order(criteria: Value, docs: &[Value]) -> Vec<String> {
    let c = parse_sort(&criteria).expect("valid criteria");
    let mut docs: Vec<&Value> = docs.iter().collect();
    docs.sort_by(|a, b| compare_findings(&c, a, b));
    docs.iter().map(|d| d["Id"].as_str().unwrap_or("?").to_owned()).collect()
}

#[test]
fn sort_ordering() {
    let docs = [
        json!({"Id": "a", "Confidence": 80, "Severity": {"Label": "HIGH"}, "UpdatedAt": "2024-01-01T10:00:00+02:00"}),
        json!({"Id": "b", "Severity": {"Label": "CRITICAL"}, "UpdatedAt": "2024-01-01T09:00:00Z"}),
        json!({"Id": "c", "Confidence": 10, "Severity": {"Label": "LOW"}, "UpdatedAt": "garbage"}),
        json!({"Id": "d", "Confidence": 50.5, "Severity": {"Label": "HIGH"}, "UpdatedAt": "2023-12-31T23:59:59Z"}),
    ];
    assert_eq!(order(json!([{"Field": "Confidence"}]), &docs), ["b", "c", "d", "a"]);
    assert_eq!(order(json!([{"Field": "Confidence", "SortOrder": "desc"}]), &docs), ["a", "d", "c", "b"]);
    assert_eq!(order(json!([{"Field": "SeverityLabel"}]), &docs), ["b", "a", "d", "c"]);
    // Instants, not text: 10:00+02:00 is 08:00Z, before 09:00Z.
    assert_eq!(order(json!([{"Field": "UpdatedAt"}]), &docs), ["c", "d", "a", "b"]);
    assert_eq!(
        order(
            json!([{"Field": "SeverityLabel", "SortOrder": "desc"}, {"Field": "Confidence", "SortOrder": "asc"}]),
            &docs
        ),
        ["c", "d", "a", "b"]
    );
}

#[test]
fn sort_values() {
    let doc = finding();
    let sv = |name: &str, d: &Value| sort_value(d, field(name).expect("field"));
    assert_eq!(sv("ResourceType", &doc), SortValue::Text("AwsEc2Instance".into()));
    assert_eq!(sv("Confidence", &doc), SortValue::Number(80.0));
    assert_eq!(sv("CreatedAt", &doc), SortValue::Time(ts("2024-06-01T00:00:00Z")));
    assert_eq!(sv("FirstObservedAt", &doc), SortValue::Missing);
    assert_eq!(sv("NoteText", &doc), SortValue::Missing);
    assert_eq!(sv("AwsAccountName", &doc), SortValue::Missing, "number at a string path");
    assert_eq!(sv("NetworkDestinationPort", &doc), SortValue::Missing, "string at a number path");
    assert_eq!(sv("Sample", &doc), SortValue::Bool(false));
    assert_eq!(sv("Sample", &json!({"Sample": true})), SortValue::Bool(true));
    assert_eq!(sv("ResourceTags", &doc), SortValue::Missing);
    assert_eq!(sv("Confidence", &json!({"Confidence": -0.0})), SortValue::Number(0.0));
    let mut all = vec![
        SortValue::Text("b".into()),
        SortValue::Number(2.0),
        SortValue::Time(5),
        SortValue::Bool(true),
        SortValue::Missing,
        SortValue::Number(-1.0),
        SortValue::Text("a".into()),
        SortValue::Bool(false),
    ];
    all.sort();
    assert_eq!(
        all,
        vec![
            SortValue::Missing,
            SortValue::Bool(false),
            SortValue::Bool(true),
            SortValue::Number(-1.0),
            SortValue::Number(2.0),
            SortValue::Time(5),
            SortValue::Text("a".into()),
            SortValue::Text("b".into()),
        ]
    );
}

mod never_panics {
    use super::*;
    use findinghub_hub::filter::FILTER_FIELDS;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::from),
            prop_oneof![
                Just("EQUALS"),
                Just("PREFIX"),
                Just("NOT_EQUALS"),
                Just("PREFIX_NOT_EQUALS"),
                Just("CONTAINS"),
                Just("NOT_CONTAINS"),
                Just("CONTAINS_WORD"),
                Just("WITHIN"),
                Just("OLDER_THAN"),
                Just("DAYS"),
                Just("10.0.0.0/8"),
                Just("::/0"),
                Just("2024-06-01T00:00:00Z"),
                Just(""),
                Just("asc"),
                Just("desc"),
                Just("Title"),
                Just("Confidence"),
                Just("Env"),
            ]
            .prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("Value".to_owned()),
                        Just("Comparison".to_owned()),
                        Just("Key".to_owned()),
                        Just("Cidr".to_owned()),
                        Just("Start".to_owned()),
                        Just("End".to_owned()),
                        Just("DateRange".to_owned()),
                        Just("Unit".to_owned()),
                        Just("Gte".to_owned()),
                        Just("Eq".to_owned()),
                        Just("Lt".to_owned()),
                        Just("Field".to_owned()),
                        Just("SortOrder".to_owned()),
                        ".{0,4}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_filters() -> impl Strategy<Value = Value> {
        prop::collection::btree_map(
            (0..FILTER_FIELDS.len()).prop_map(|i| FILTER_FIELDS[i].name.to_owned()),
            arb_json(),
            0..4,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #[test]
        fn parsing_and_matching_never_panic(filters in arb_filters(), raw in arb_json(), doc in arb_json(), n in any::<i64>()) {
            for set in [FilterSet::Findings, FilterSet::AutomationRules] {
                for input in [&filters, &raw] {
                    if let Ok(parsed) = parse_filters_for(input, n, set) {
                        let _ = parsed.matches(&doc);
                        let _ = parsed.matches(&finding());
                    }
                }
            }
            let _ = parse_sort(&raw);
            for f in FILTER_FIELDS {
                let _ = sort_value(&doc, f);
            }
        }

        #[test]
        fn an_equals_filter_matches_its_own_value(value in "\\PC*\\S\\PC*") {
            let f = parse_filters(&json!({"Title": [s(&value, "EQUALS")]}), now()).expect("valid");
            let doc = json!({"Title": value});
            prop_assert!(f.matches(&doc));
            let not = parse_filters(&json!({"Title": [s(&value, "NOT_EQUALS")]}), now()).expect("valid");
            prop_assert!(!not.matches(&doc));
        }
    }
}
