//! Fuzz target `filters`: arbitrary bytes as the JSON of GetFindings' `Filters` and
//! `SortCriteria` and of a BatchUpdateFindings request.
//!
//! bytes → `serde_json::Value` v →
//! - `parse_filters(v)` and, if v is an object, `parse_filters(v.Filters)`; each parsed
//!   `Filters` is checked against what its documentation promises and evaluated with `matches`
//!   on four fixed findings (`fuzz/samples/`: three from `shared/samples/asff/` and a synthetic
//!   one with the members they lack), as the hub stores them after import;
//! - `parse_sort(v)` and `parse_sort(v.SortCriteria)`; parsed criteria sort the fixed findings;
//! - `parse_batch_update(v)`; a parsed update is applied to each stored finding.
//!
//! Nothing may panic.

#![no_main]

use std::cmp::Ordering;
use std::sync::LazyLock;

use findinghub_asff::timestamp::Micros;
use findinghub_hub::filter::{Condition, Filters, compare_findings, parse_filters, parse_sort};
use findinghub_hub::finding::StoredFinding;
use findinghub_hub::import::{ImportContext, ImportOutcome, apply_import};
use findinghub_hub::update::{apply_update, parse_batch_update};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// 2026-01-01T00:00:00Z: resolves every DateRange.
const NOW: Micros = 1_767_225_600_000_000;

/// Three samples from `shared/samples/asff/`, and a synthetic finding with the members they lack
/// (Network with IPv4 and IPv6, Process, Malware, ThreatIntelIndicators, Note, UserDefinedFields,
/// Sample, Confidence, Criticality, RelatedFindings, resource tags, Details.Other, instance
/// addresses, a leap second and a nanosecond timestamp).
const SAMPLES: [&str; 4] = [
    include_str!("../samples/guardduty-ssh-bruteforce.json"),
    include_str!("../samples/inspector2-ec2-package-vulnerability.json"),
    include_str!("../samples/config-typical-finding.json"),
    include_str!("../samples/synthetic-network-process.json"),
];

/// The fixed findings, as stored (after `apply_import`).
static STORED: LazyLock<Vec<StoredFinding>> = LazyLock::new(|| {
    let ctx = ImportContext { region: "us-east-1", now: NOW, product_names: None };
    SAMPLES
        .iter()
        .map(|text| serde_json::from_str::<Value>(text).expect("a sample is JSON"))
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
