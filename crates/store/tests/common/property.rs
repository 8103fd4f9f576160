//! The property test shared by every backend: random findings, filters, sort orders and page
//! sizes, and the reference answer (`Filters::matches` plus the sort order) that a store's pages
//! must equal. Each backend's test file opens its store and calls [`check`].

#![allow(dead_code)]

use findinghub_hub::filter::{compare_findings, parse_filters, parse_sort};
use findinghub_store::conformance::{ACCOUNT, NOW, SEC, T0, finding, query_all, ts};
use findinghub_store::{FindingStore, ImportStatus};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const LABELS: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
const WORDS: [&str; 6] = ["open", "port", "bucket", "root", "S3", "Open"];
const RTYPES: [&str; 4] = ["AwsEc2Instance", "AwsS3Bucket", "AwsIamUser", "Other"];
const RIDS: [&str; 5] = ["i-1", "i-2", "arn:aws:s3:::a", "arn:aws:s3:::b", "root"];
const TYPES: [&str; 4] = ["TTPs/Discovery", "TTPs/Initial Access", "Effects/Data Exposure", "Unusual Behaviors/User"];
const IPS: [&str; 4] = ["10.0.0.1", "10.1.2.3", "192.168.0.9", "172.16.5.5"];
const STATES: [&str; 2] = ["ACTIVE", "ARCHIVED"];
const COMPLIANCE: [&str; 4] = ["PASSED", "FAILED", "WARNING", "NOT_AVAILABLE"];
const WORKFLOW: [&str; 4] = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];

pub fn arb_finding(i: usize) -> impl Strategy<Value = Map<String, Value>> {
    (
        (0..5usize, prop::collection::vec(0..6usize, 1..4), 0..6i64, 0..4usize),
        prop::collection::vec((0..4usize, 0..5usize, 0..3usize, any::<bool>()), 1..4),
        prop::collection::vec(0..4usize, 0..3),
        (prop::option::of(0..101i64), prop::option::of(0..4usize), 0..2usize, prop::option::of(0..4usize)),
        prop::option::of(0..3usize),
    )
        .prop_map(
            move |((label, words, t, workflow), resources, types, (confidence, ip, state, compliance), pf)| {
                let mut f = finding(&format!("f{i}"), T0 + t * SEC);
                f.insert("Severity".into(), json!({"Label": LABELS[label]}));
                let title: Vec<&str> = words.iter().map(|w| WORDS[*w]).collect();
                f.insert("Title".into(), json!(title.join(" ")));
                f.insert("Workflow".into(), json!({"Status": WORKFLOW[workflow]}));
                f.insert("RecordState".into(), json!(STATES[state]));
                let res: Vec<Value> = resources
                    .iter()
                    .map(|(ty, id, region, tagged)| {
                        let mut r = json!({"Type": RTYPES[*ty], "Id": RIDS[*id], "Region": format!("r{region}")});
                        if *tagged {
                            r["Tags"] = json!({"env": if *id % 2 == 0 { "prod" } else { "dev" }});
                        }
                        r
                    })
                    .collect();
                f.insert("Resources".into(), Value::Array(res));
                let types: Vec<&str> = types.iter().map(|t| TYPES[*t]).collect();
                if types.is_empty() {
                    f.remove("Types");
                } else {
                    f.insert("Types".into(), json!(types));
                }
                if let Some(c) = confidence {
                    f.insert("Confidence".into(), json!(c));
                }
                if let Some(ip) = ip {
                    f.insert("Network".into(), json!({"SourceIpV4": IPS[ip]}));
                }
                if let Some(c) = compliance {
                    f.insert("Compliance".into(), json!({"Status": COMPLIANCE[c]}));
                }
                if let Some(p) = pf {
                    f.insert("ProductFields".into(), json!({"k": format!("v{p}")}));
                }
                f
            },
        )
}

/// One field's filter list, respecting the rules on mixing comparisons.
fn string_filter(values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let value = (0..values.len(), 0..3usize).prop_map(move |(i, cut)| {
        let v = values[i];
        // Whole values, and prefixes or infixes of them.
        let n = v.chars().count();
        let chars: Vec<char> = v.chars().collect();
        match cut {
            0 => v.to_owned(),
            1 => chars[..(n / 2).max(1)].iter().collect(),
            _ => chars[n / 3..].iter().collect(),
        }
    });
    let positive = prop::collection::vec((value.clone(), prop::sample::select(vec!["EQUALS", "PREFIX"])), 0..3);
    let negative =
        prop::collection::vec((value.clone(), prop::sample::select(vec!["NOT_EQUALS", "PREFIX_NOT_EQUALS"])), 0..2);
    let contains = prop::collection::vec(value.clone(), 1..3);
    prop_oneof![
        (positive, negative).prop_filter_map("some comparison", |(p, n)| {
            // EQUALS may not be mixed with the negative comparisons.
            let has_eq = p.iter().any(|(_, c)| *c == "EQUALS");
            let mut all: Vec<(String, &str)> = p;
            if !has_eq {
                all.extend(n);
            }
            (!all.is_empty())
                .then(|| Value::Array(all.into_iter().map(|(v, c)| json!({"Value": v, "Comparison": c})).collect()))
        }),
        contains.clone().prop_map(|vs| Value::Array(
            vs.into_iter().map(|v| json!({"Value": v, "Comparison": "CONTAINS"})).collect()
        )),
        contains.prop_map(|vs| Value::Array(
            vs.into_iter().map(|v| json!({"Value": v, "Comparison": "NOT_CONTAINS"})).collect()
        )),
    ]
}

pub fn arb_filters() -> impl Strategy<Value = Value> {
    let fields = prop_oneof![
        string_filter(&LABELS).prop_map(|f| ("SeverityLabel", f)),
        string_filter(&["open port", "bucket", "root S3", "Open"]).prop_map(|f| ("Title", f)),
        string_filter(&RTYPES).prop_map(|f| ("ResourceType", f)),
        string_filter(&RIDS).prop_map(|f| ("ResourceId", f)),
        string_filter(&TYPES).prop_map(|f| ("Type", f)),
        string_filter(&WORKFLOW).prop_map(|f| ("WorkflowStatus", f)),
        string_filter(&STATES).prop_map(|f| ("RecordState", f)),
        string_filter(&COMPLIANCE).prop_map(|f| ("ComplianceStatus", f)),
        string_filter(&["r0", "r1", "r2"]).prop_map(|f| ("ResourceRegion", f)),
        (0..101i64, 0..101i64).prop_map(|(a, b)| ("Confidence", json!([{"Gte": a.min(b), "Lte": a.max(b)}]))),
        (0..6i64, 0..6i64).prop_map(|(a, b)| (
            "UpdatedAt",
            json!([{"Start": ts(T0 + a.min(b) * SEC), "End": ts(T0 + a.max(b) * SEC)}])
        )),
        prop::sample::select(vec!["10.0.0.0/8", "10.1.0.0/16", "192.168.0.9", "0.0.0.0/0"])
            .prop_map(|c| ("NetworkSourceIpV4", json!([{"Cidr": c}]))),
        (0..3usize, any::<bool>()).prop_map(|(v, neg)| {
            let value = ["prod", "dev", "x"][v];
            let comparison = if neg { "NOT_EQUALS" } else { "EQUALS" };
            ("ResourceTags", json!([{"Key": "env", "Value": value, "Comparison": comparison}]))
        }),
        (0..3usize)
            .prop_map(|p| ("ProductFields", json!([{"Key": "k", "Value": format!("v{p}"), "Comparison": "EQUALS"}]))),
    ];
    prop::collection::vec(fields, 0..4).prop_map(|fs| {
        let mut m = Map::new();
        for (name, f) in fs {
            m.insert(name.to_owned(), f);
        }
        Value::Object(m)
    })
}

pub fn arb_sort() -> impl Strategy<Value = Value> {
    let criterion = (
        prop::sample::select(vec![
            "Title",
            "SeverityLabel",
            "UpdatedAt",
            "Confidence",
            "ResourceId",
            "ResourceRegion",
            "CreatedAt",
            "WorkflowStatus",
        ]),
        any::<bool>(),
    )
        .prop_map(|(f, desc)| json!({"Field": f, "SortOrder": if desc { "desc" } else { "asc" }}));
    prop::collection::vec(criterion, 0..3).prop_map(Value::Array)
}

/// The reference answer: evaluate the filter on every stored document and sort them with the
/// criteria, then the order of creation, in the first criterion's direction.
pub fn reference(stored: &[Map<String, Value>], filters: &Value, sort: &Value) -> Vec<String> {
    let parsed = parse_filters(filters, NOW).expect("generated filters are valid");
    let mut criteria = parse_sort(sort).expect("generated sort is valid");
    if criteria.is_empty() {
        criteria = parse_sort(&json!([{"Field": "UpdatedAt", "SortOrder": "desc"}])).expect("default sort");
    }
    let descending = criteria[0].descending;
    let mut hits: Vec<(usize, Value)> = stored
        .iter()
        .enumerate()
        .map(|(i, f)| (i, Value::Object(f.clone())))
        .filter(|(_, v)| parsed.matches(v))
        .collect();
    hits.sort_by(|(ia, a), (ib, b)| {
        compare_findings(&criteria, a, b).then_with(|| if descending { ib.cmp(ia) } else { ia.cmp(ib) })
    });
    hits.into_iter().map(|(_, v)| v["Id"].as_str().unwrap_or_default().to_owned()).collect()
}

pub fn arb_corpus() -> impl Strategy<Value = Vec<Map<String, Value>>> {
    (1..40usize).prop_flat_map(|n| (0..n).map(arb_finding).collect::<Vec<_>>())
}

/// Imports `corpus` into an empty store and checks every query against the reference answer.
pub async fn check(store: &dyn FindingStore, corpus: &[Map<String, Value>], queries: &[(Value, Value, usize)]) {
    let statuses = store.import(findinghub_store::conformance::batch(corpus.to_vec())).await.expect("import").statuses;
    assert!(statuses.iter().all(|s| *s == ImportStatus::Created), "{statuses:?}");
    // The stored documents, with the fields that the service filled in, in creation order.
    let mut stored = query_all(store, json!({}), json!([]), 100).await;
    stored.sort_by_key(|f| f["Id"].as_str().and_then(|s| s[1..].parse::<usize>().ok()).unwrap_or(usize::MAX));
    assert_eq!(stored.len(), corpus.len());
    assert!(stored.iter().all(|f| f["AwsAccountId"] == json!(ACCOUNT)));
    for (filters, sort, page) in queries {
        let got: Vec<String> = query_all(store, filters.clone(), sort.clone(), *page)
            .await
            .iter()
            .map(|f| f["Id"].as_str().unwrap_or_default().to_owned())
            .collect();
        let expected = reference(&stored, filters, sort);
        assert_eq!(got, expected, "filters {filters} sort {sort} page {page}");
    }
}
