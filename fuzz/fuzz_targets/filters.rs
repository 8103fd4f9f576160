//! Fuzz target `filters`: arbitrary bytes as the JSON of GetFindings' `Filters` and
//! `SortCriteria` and of a BatchUpdateFindings request.
//!
//! bytes → `serde_json::Value` v →
//! - `parse_filters(v)` and, if v is an object, `parse_filters(v.Filters)`; each parsed
//!   `Filters` is checked against what its documentation promises and evaluated with `matches`
//!   on four fixed findings (three samples from `shared/samples/asff/` as the hub stores them
//!   after import, and one synthetic finding with the fields the samples lack);
//! - `parse_sort(v)` and `parse_sort(v.SortCriteria)`; parsed criteria sort the fixed findings;
//! - `parse_batch_update(v)`; a parsed update is applied to each stored finding.
//!
//! Nothing may panic.

#![no_main]

use std::cmp::Ordering;
use std::sync::LazyLock;

use findinghub_asff::timestamp::Micros;
use findinghub_hub::filter::{Condition, Filters, compare_findings, parse_filters, parse_sort};
use findinghub_hub::finding::{FindingKey, StoredFinding};
use findinghub_hub::import::{ImportContext, ImportOutcome, apply_import};
use findinghub_hub::update::{apply_update, parse_batch_update};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// 2026-01-01T00:00:00Z: resolves every DateRange.
const NOW: Micros = 1_767_225_600_000_000;

const SAMPLES: [&str; 3] = [
    include_str!("../samples/guardduty-ssh-bruteforce.json"),
    include_str!("../samples/inspector2-ec2-package-vulnerability.json"),
    include_str!("../samples/config-typical-finding.json"),
];

/// The fixed findings, as stored (after `apply_import`).
static STORED: LazyLock<Vec<StoredFinding>> = LazyLock::new(|| {
    let ctx = ImportContext { region: "us-east-1", now: NOW, product_names: None };
    SAMPLES
        .iter()
        .map(|text| serde_json::from_str::<Value>(text).expect("a sample is JSON"))
        .chain([synthetic()])
        .map(|doc| {
            let Value::Object(map) = doc else { panic!("a sample is an object") };
            match apply_import(None, map, &ctx) {
                Ok(ImportOutcome::Created { finding, .. }) => finding,
                other => panic!("a sample does not import: {other:?}"),
            }
        })
        .collect()
});

static DOCS: LazyLock<Vec<Value>> = LazyLock::new(|| STORED.iter().map(|f| Value::Object(f.doc.clone())).collect());

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    filters(&v);
    sort(&v);
    if let Some(obj) = v.as_object() {
        if let Some(f) = obj.get("Filters") {
            filters(f);
        }
        if let Some(s) = obj.get("SortCriteria") {
            sort(s);
        }
    }
    update(&v);
});

fn filters(v: &Value) {
    let Ok(parsed) = parse_filters(v, NOW) else {
        return;
    };
    check_shape(&parsed);
    for doc in DOCS.iter() {
        let all = parsed.matches(doc);
        let each = parsed.conditions.iter().all(|c| c.matches(doc));
        assert_eq!(all, each, "Filters::matches is not the AND of its conditions");
    }
}

/// What the filter types document about a parsed filter.
fn check_shape(parsed: &Filters) {
    for (i, c) in parsed.conditions.iter().enumerate() {
        assert!(
            parsed.conditions[..i].iter().all(|d| d.field.name != c.field.name),
            "two conditions on field {}",
            c.field.name
        );
        let kind_agrees = matches!(
            (&c.condition, c.field.kind.shape_name()),
            (Condition::String { .. }, "StringFilter")
                | (Condition::Map { .. }, "MapFilter")
                | (Condition::Number(_), "NumberFilter")
                | (Condition::Date(_), "DateFilter")
                | (Condition::Ip(_), "IpFilter")
                | (Condition::Bool(_), "BooleanFilter")
                | (Condition::Keyword(_), "KeywordFilter")
        );
        assert!(kind_agrees, "condition {:?} on field {} of kind {:?}", c.condition, c.field.name, c.field.kind);
        match &c.condition {
            Condition::String { positive, negative } => {
                assert!(!(positive.is_empty() && negative.is_empty()), "empty StringFilter on {}", c.field.name);
            }
            Condition::Map { positive, negative } => {
                assert!(!(positive.is_empty() && negative.is_empty()), "empty MapFilter on {}", c.field.name);
            }
            Condition::Number(ranges) => {
                assert!(!ranges.is_empty());
                for r in ranges {
                    let bounds = [r.eq, r.gt, r.gte, r.lt, r.lte];
                    assert!(bounds.iter().any(Option::is_some), "NumberFilter with no bound on {}", c.field.name);
                    assert!(bounds.iter().flatten().all(|b| b.is_finite()), "non-finite bound on {}", c.field.name);
                }
            }
            Condition::Date(intervals) => {
                assert!(!intervals.is_empty());
                assert!(
                    intervals.iter().all(|d| d.start.is_some() || d.end.is_some()),
                    "unbounded DateFilter on {}",
                    c.field.name
                );
            }
            Condition::Ip(cidrs) => {
                for cidr in cidrs {
                    let max = if cidr.is_ipv4() { 32 } else { 128 };
                    assert!(cidr.prefix_len() <= max, "prefix /{} on {}", cidr.prefix_len(), c.field.name);
                    assert!(cidr.contains(cidr.network()) && cidr.contains(cidr.last()), "{cidr} misses its own ends");
                }
            }
            Condition::Bool(values) => assert!(!values.is_empty()),
            Condition::Keyword(values) => assert!(!values.is_empty()),
        }
    }
}

fn sort(v: &Value) {
    let Ok(criteria) = parse_sort(v) else {
        return;
    };
    let docs = DOCS.as_slice();
    for a in docs {
        assert_eq!(compare_findings(&criteria, a, a), Ordering::Equal, "a finding is not equal to itself");
        for b in docs {
            let ab = compare_findings(&criteria, a, b);
            let ba = compare_findings(&criteria, b, a);
            assert_eq!(ab, ba.reverse(), "compare_findings is not antisymmetric for {criteria:?}");
        }
    }
    // slice::sort_by may panic on an inconsistent order.
    let mut refs: Vec<&Value> = docs.iter().collect();
    refs.sort_by(|a, b| compare_findings(&criteria, a, b));
}

fn update(v: &Value) {
    let Ok(req) = parse_batch_update(v) else {
        return;
    };
    for stored in STORED.iter() {
        if let Ok((next, _history)) = apply_update(stored, &req.update, NOW, "fuzz") {
            assert_eq!(next.key, stored.key, "an update changed the key of a finding");
        }
    }
}

/// A finding with the members the samples lack: Network (IPv4 and IPv6), Process, Malware,
/// ThreatIntelIndicators, Note, UserDefinedFields, Sample, Confidence, Criticality,
/// RelatedFindings, resource tags and instance addresses.
fn synthetic() -> Value {
    let key = FindingKey {
        account_id: "111122223333".to_owned(),
        region: "us-east-1".to_owned(),
        product_arn: "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default".to_owned(),
        id: "fuzz-synthetic-1".to_owned(),
    };
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": key.id,
        "ProductArn": key.product_arn,
        "ProductName": "Fuzz",
        "CompanyName": "Findinghub",
        "GeneratorId": "fuzz/generator",
        "AwsAccountId": key.account_id,
        "Types": ["TTPs/Command and Control", "Unusual Behaviors/Network Flow"],
        "FirstObservedAt": "2025-12-30T10:00:00Z",
        "LastObservedAt": "2025-12-31T23:59:60Z",
        "CreatedAt": "2025-12-30T10:00:00.123456789+05:30",
        "UpdatedAt": "2025-12-31T12:00:00-08:00",
        "Severity": {"Label": "HIGH", "Original": "8.5", "Product": 8.5},
        "Confidence": 75,
        "Criticality": 0,
        "Title": "Outbound traffic to a known C2 host",
        "Description": "An instance talked to 203.0.113.7 and 2001:db8::7 over TCP.",
        "SourceUrl": "https://example.com/findings/1",
        "Sample": true,
        "Network": {
            "Direction": "OUT",
            "Protocol": "TCP",
            "SourceIpV4": "10.0.1.23",
            "SourceIpV6": "fe80::1",
            "SourcePort": 49152,
            "SourceDomain": "host.internal",
            "SourceMac": "00:11:22:33:44:55",
            "DestinationIpV4": "203.0.113.7",
            "DestinationIpV6": "2001:db8::7",
            "DestinationPort": 443,
            "DestinationDomain": "c2.example.net"
        },
        "Process": {
            "Name": "curl",
            "Path": "/usr/bin/curl",
            "Pid": 4242,
            "ParentPid": 1,
            "LaunchedAt": "2025-12-31T11:59:00Z",
            "TerminatedAt": "2025-12-31T12:00:00Z"
        },
        "Malware": [
            {"Name": "EvilBot", "Type": "TROJAN", "Path": "/tmp/.x", "State": "OBSERVED"},
            {"Name": "Miner", "Type": "COIN_MINER"}
        ],
        "ThreatIntelIndicators": [{
            "Type": "IPV4_ADDRESS",
            "Value": "203.0.113.7",
            "Category": "BACKDOOR",
            "LastObservedAt": "2025-12-31T00:00:00Z",
            "Source": "feed",
            "SourceUrl": "https://example.com/feed"
        }],
        "Resources": [
            {
                "Type": "AwsEc2Instance",
                "Id": "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0",
                "Partition": "aws",
                "Region": "us-east-1",
                "Tags": {"env": "prod", "owner": "team-a"},
                "Details": {
                    "AwsEc2Instance": {
                        "Type": "t3.micro",
                        "ImageId": "ami-0123456789abcdef0",
                        "IpV4Addresses": ["10.0.1.23", "198.51.100.4"],
                        "IpV6Addresses": ["2001:db8::23"],
                        "KeyName": "ops",
                        "VpcId": "vpc-1",
                        "SubnetId": "subnet-1",
                        "LaunchedAt": "2025-01-01T00:00:00Z"
                    }
                }
            },
            {
                "Type": "Other",
                "Id": "custom-resource",
                "Details": {"Other": {"kind": "thing", "count": "3"}}
            }
        ],
        "Compliance": {"Status": "FAILED"},
        "VerificationState": "UNKNOWN",
        "RecordState": "ACTIVE",
        "RelatedFindings": [{"ProductArn": key.product_arn, "Id": "fuzz-synthetic-0"}],
        "Note": {"Text": "seen before", "UpdatedBy": "analyst", "UpdatedAt": "2025-12-31T13:00:00Z"},
        "UserDefinedFields": {"ticket": "SEC-1", "reviewed": "no"},
        "ProductFields": {"rule": "c2-outbound"}
    })
}
