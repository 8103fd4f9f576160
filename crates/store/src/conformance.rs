//! The conformance suite: the behaviour that every [`FindingStore`] must show, written against the
//! trait only. A backend runs it with [`conformance_suite!`](crate::conformance_suite):
//!
//! ```ignore
//! findinghub_store::conformance_suite!(async { let dir = tempdir(); (SqliteStore::open(dir.path()), dir) });
//! ```
//!
//! Every case starts from an empty store; a case that copies between stores gets two.

use crate::outbox::{
    Delivery, DeliveryQuery, DeliveryState, NewDelivery, OutboxEvent, OutboxStore, RuleRecord, TargetCounts,
    TargetRecord,
};
use crate::portable::{CopyProgress, FINDINGS, RecordStore, record_hash, table_names};
use crate::state::{
    AccessKey, ActionTarget, ApiKey, CustomProduct, Hub, HubStateStore, Insight, InsightChange, SealedKey, WorkItem,
    WorkItemCreated, WorkItemQuery, WorkItemUpdated,
};
use crate::{
    AccountScope, FindingQuery, FindingStore, HistoryQuery, ImportBatch, ImportStatus, IncomingFinding, LegacyUpdate,
    RetentionPolicy, Scope, StoreError, UpdateBatch,
};
use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, format_timestamp, parse_timestamp};
use findinghub_hub::events::{FINDINGS_CUSTOM_ACTION, HubEvent};
use findinghub_hub::filter::{Filters, parse_filters, parse_sort};
use findinghub_hub::finding::FindingIdentifier;
use findinghub_hub::history::UpdateSourceType;
use findinghub_hub::update::{UnprocessedReason, parse_batch_update};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Generates one `#[tokio::test]` per conformance case. `$make` is an expression whose value is a
/// future of `(store, guard)`: the store under test and whatever must live as long as it.
///
/// With `optional`, the future yields `Option<(store, guard)>`: `None` when the backend is not
/// available on this machine (a database server that it does not run), and each case then passes
/// without running; the backend's test support says so where the test command's output shows it.
#[macro_export]
macro_rules! conformance_suite {
    (optional $make:expr) => {
        $crate::conformance_suite!(@list optional $make);
    };
    ($make:expr) => {
        $crate::conformance_suite!(@list required $make);
    };
    (@list $mode:ident $make:expr) => {
        $crate::conformance_suite!(@cases $mode $make;
            import_creates_with_service_fields,
            import_round_trips_what_was_sent,
            stale_imports_are_ignored,
            a_finding_read_back_imports_again,
            import_update_keeps_customer_fields,
            provider_fields_rules,
            customer_touched_fields_survive_imports,
            workflow_resets,
            control_findings_resolve_when_passed,
            config_findings_resolve_when_they_pass,
            same_key_twice_in_one_batch,
            concurrent_imports_keep_the_newest,
            regions_and_accounts_are_separate,
            invalid_product_arn_fails_one_finding,
            batch_update_processes_and_reports,
            batch_update_respects_account_scope,
            history_records_every_change,
            history_pages_and_windows,
            history_reads_in_the_order_of_changes,
            get_findings_filters,
            attribute_filters_find_findings_of_every_age,
            get_findings_scope,
            pagination_default_order,
            pagination_every_sort_kind,
            pagination_survives_concurrent_imports,
            invalid_token_is_refused,
            legacy_update_sets_note_and_record_state,
            retention_purges_expired_findings,
            group_counts_count_the_default_view,
            access_keys_are_kept_and_revoked,
            api_keys_are_kept_and_revoked,
            custom_products_are_kept_per_account,
            hubs_subscriptions_and_tags,
            action_targets_are_kept_per_account_and_region,
            insights_are_kept_per_account_and_region,
            work_items_open_once_per_finding,
            changes_write_their_events,
            changes_keep_no_events_while_no_rule_is_enabled,
            dispatch_needs_the_lease,
            deliveries_keep_order_per_finding,
            dead_deliveries_replay,
            target_cursors_commit_under_the_lease,
            rules_and_targets_are_kept
        );
        $crate::conformance_suite!(@pairs $mode $make; records_copy_to_another_store);
    };
    (@pairs required $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (from, _from_guard) = $make.await;
                let (to, _to_guard) = $make.await;
                $crate::conformance::$case(&from, &to).await;
            }
        )*
    };
    (@pairs optional $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((from, _from_guard)) = $make.await else { return };
                let Some((to, _to_guard)) = $make.await else { return };
                $crate::conformance::$case(&from, &to).await;
            }
        )*
    };
    (@cases required $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make.await;
                $crate::conformance::$case(&store).await;
            }
        )*
    };
    (@cases optional $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $make.await else { return };
                $crate::conformance::$case(&store).await;
            }
        )*
    };
}

pub const ACCOUNT: &str = "111111111111";
pub const OTHER_ACCOUNT: &str = "222222222222";
pub const REGION: &str = "us-east-1";
pub const PRODUCT: &str = "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default";
pub const GUARDDUTY: &str = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
pub const CONTROLS: &str = "arn:aws:securityhub:us-east-1::product/aws/securityhub";
/// 2024-01-01T00:00:00Z
pub const T0: Micros = 1_704_067_200_000_000;
/// One second.
pub const SEC: Micros = 1_000_000;
/// The "now" of every import in the suite.
pub const NOW: Micros = T0 + 100 * MICROS_PER_DAY;

pub fn ts(micros: Micros) -> String {
    format_timestamp(micros)
}

/// A minimal valid finding of the default product of [`ACCOUNT`].
pub fn finding(id: &str, updated_at: Micros) -> Map<String, Value> {
    obj(json!({
        "SchemaVersion": "2018-10-08",
        "Id": id,
        "ProductArn": PRODUCT,
        "GeneratorId": "generator-1",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CreatedAt": ts(T0),
        "UpdatedAt": ts(updated_at),
        "Severity": {"Label": "HIGH"},
        "Title": format!("Finding {id}"),
        "Description": "A finding for the conformance suite",
        "Resources": [{"Type": "AwsEc2Instance", "Id": format!("arn:aws:ec2:us-east-1:111111111111:instance/i-{id}")}]
    }))
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn with(mut base: Map<String, Value>, patch: Value) -> Map<String, Value> {
    for (k, v) in obj(patch) {
        if v.is_null() {
            base.remove(&k);
        } else {
            base.insert(k, v);
        }
    }
    base
}

pub fn batch(findings: Vec<Map<String, Value>>) -> ImportBatch {
    ImportBatch {
        region: REGION.to_owned(),
        now: NOW,
        findings: findings.into_iter().map(IncomingFinding::new).collect(),
    }
}

pub fn scope() -> Scope {
    Scope::new(AccountScope::one(ACCOUNT), REGION)
}

pub async fn import(store: &dyn FindingStore, findings: Vec<Map<String, Value>>) -> Vec<ImportStatus> {
    match store.import(batch(findings)).await {
        Ok(r) => r.statuses,
        Err(e) => panic!("import failed: {e}"),
    }
}

pub async fn query(
    store: &dyn FindingStore,
    filters: Value,
    sort: Value,
    max: usize,
    token: Option<String>,
) -> (Vec<Map<String, Value>>, Option<String>) {
    let filters = parse_filters(&filters, NOW).expect("valid filters");
    let sort = parse_sort(&sort).expect("valid sort");
    let page = store
        .get_findings(FindingQuery { scope: scope(), filters, sort, max_results: max, next_token: token })
        .await
        .expect("get_findings");
    (page.findings, page.next_token)
}

/// Every finding that a query returns, page by page.
pub async fn query_all(
    store: &dyn FindingStore,
    filters: Value,
    sort: Value,
    page_size: usize,
) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..10_000 {
        let (page, next) = query(store, filters.clone(), sort.clone(), page_size, token).await;
        assert!(page.len() <= page_size, "a page larger than MaxResults");
        out.extend(page);
        match next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
    panic!("paging did not end");
}

pub async fn get(store: &dyn FindingStore, id: &str) -> Map<String, Value> {
    let (found, _) = query(store, json!({"Id": [{"Value": id, "Comparison": "EQUALS"}]}), json!([]), 10, None).await;
    assert_eq!(found.len(), 1, "expected exactly one finding {id}");
    found.into_iter().next().unwrap_or_default()
}

fn ids(findings: &[Map<String, Value>]) -> Vec<String> {
    findings.iter().map(|f| f.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned()).collect()
}

async fn update(store: &dyn FindingStore, request: Value, scope: Scope) -> crate::UpdateReport {
    update_at(store, request, scope, NOW).await
}

/// BatchUpdateFindings by the suite's analyst, at `now`.
async fn update_at(store: &dyn FindingStore, request: Value, scope: Scope, now: Micros) -> crate::UpdateReport {
    let request = parse_batch_update(&request).expect("valid BatchUpdateFindings request");
    store
        .batch_update(UpdateBatch { scope, now, identity: format!("arn:aws:iam::{ACCOUNT}:user/analyst"), request })
        .await
        .expect("batch_update")
}

/// A finding's whole history in the suite's scope, newest first.
pub async fn whole_history(store: &dyn FindingStore, id: &str) -> crate::HistoryPage {
    store
        .finding_history(HistoryQuery {
            scope: scope(),
            identifier: FindingIdentifier { id: id.into(), product_arn: PRODUCT.into() },
            start: None,
            end: None,
            max_results: 100,
            next_token: None,
        })
        .await
        .expect("history")
}

fn ident(id: &str) -> Value {
    json!({"Id": id, "ProductArn": PRODUCT})
}

// ---------------------------------------------------------------------------------------------

pub async fn import_creates_with_service_fields(store: &dyn FindingStore) {
    assert_eq!(import(store, vec![finding("a", T0)]).await, vec![ImportStatus::Created]);
    let f = get(store, "a").await;
    assert_eq!(f["Region"], json!(REGION));
    assert_eq!(f["ProcessedAt"], json!(ts(NOW)));
    assert_eq!(f["ProductName"], json!("Default"));
    assert_eq!(f["CompanyName"], json!("Personal"));
    assert_eq!(f["RecordState"], json!("ACTIVE"));
    assert_eq!(f["Workflow"], json!({"Status": "NEW"}));
    assert_eq!(f["WorkflowState"], json!("NEW"));
    assert_eq!(f["Severity"], json!({"Label": "HIGH", "Normalized": 70}));
    assert_eq!(f["FindingProviderFields"]["Severity"], json!({"Label": "HIGH"}));
    assert_eq!(f["FindingProviderFields"]["Types"], f["Types"]);
    let pf = &f["ProductFields"];
    assert_eq!(pf["aws/securityhub/FindingId"], json!(format!("{PRODUCT}/a")));
    assert_eq!(pf["aws/securityhub/ProductName"], json!("Default"));
    assert_eq!(pf["aws/securityhub/CompanyName"], json!("Personal"));
    assert_eq!(store.count().await.expect("count"), 1);
}

pub async fn import_round_trips_what_was_sent(store: &dyn FindingStore) {
    let sent = with(
        finding("rt", T0),
        json!({
            "ProductFields": {"scanner/rule": "R1"},
            "Note": {"Text": "initial", "UpdatedBy": "scanner", "UpdatedAt": ts(T0)},
            "UserDefinedFields": {"team": "blue"},
            "Compliance": {"Status": "FAILED", "RelatedRequirements": ["PCI DSS 1.1"]},
            "Remediation": {"Recommendation": {"Text": "Fix it", "Url": "https://example.com/fix"}},
            "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::bucket", "Partition": "aws", "Region": "us-east-1",
                           "Tags": {"env": "prod"}, "Details": {"AwsS3Bucket": {"OwnerId": "abc", "OwnerName": "owner"}}}]
        }),
    );
    import(store, vec![sent.clone()]).await;
    let got = get(store, "rt").await;
    // Everything that was sent comes back unchanged, except the fields the service owns.
    for (k, v) in &sent {
        match k.as_str() {
            "ProductFields" => {
                assert_eq!(got[k]["scanner/rule"], json!("R1"));
            }
            "Severity" => assert_eq!(got[k]["Label"], v["Label"]),
            _ => assert_eq!(&got[k], v, "member {k} changed"),
        }
    }
    let service: Vec<&str> = got.keys().filter(|k| !sent.contains_key(*k)).map(String::as_str).collect();
    let mut service = service;
    service.sort_unstable();
    assert_eq!(
        service,
        [
            "CompanyName",
            "FindingProviderFields",
            "ProcessedAt",
            "ProductName",
            "RecordState",
            "Region",
            "Workflow",
            "WorkflowState"
        ]
    );
}

/// What GetFindings returns (with the fields the service filled in) is a valid finding that a
/// provider can import again, as Prowler does when it archives its findings.
pub async fn a_finding_read_back_imports_again(store: &dyn FindingStore) {
    let fields: Map<String, Value> = (0..50).map(|i| (format!("scanner/k{i}"), json!(format!("v{i}")))).collect();
    import(store, vec![with(finding("back", T0), json!({"ProductFields": fields}))]).await;
    let mut got = get(store, "back").await;
    assert_eq!(got["ProductFields"].as_object().map(Map::len), Some(53));
    if let Err(e) = findinghub_asff::validate_finding(&Value::Object(got.clone())) {
        panic!("a finding read back is invalid: {e}");
    }
    got.insert("UpdatedAt".into(), json!(ts(T0 + SEC)));
    got.insert("RecordState".into(), json!("ARCHIVED"));
    assert_eq!(import(store, vec![got]).await, vec![ImportStatus::Updated]);
    assert_eq!(get(store, "back").await["RecordState"], json!("ARCHIVED"));
}

pub async fn stale_imports_are_ignored(store: &dyn FindingStore) {
    import(store, vec![finding("s", T0 + 10 * SEC)]).await;
    let same_time = with(finding("s", T0 + 10 * SEC), json!({"Title": "changed"}));
    let older = with(finding("s", T0 + 5 * SEC), json!({"Title": "older"}));
    assert_eq!(import(store, vec![same_time, older]).await, vec![ImportStatus::Stale, ImportStatus::Stale]);
    assert_eq!(get(store, "s").await["Title"], json!("Finding s"));
    // An equal instant written differently is still equal.
    let text = ts(T0 + 10 * SEC);
    let offset = text.replace('Z', "+00:00");
    let same_instant = with(finding("s", T0), json!({"UpdatedAt": offset, "Title": "offset"}));
    assert_eq!(import(store, vec![same_instant]).await, vec![ImportStatus::Stale]);
    let newer = with(finding("s", T0 + 20 * SEC), json!({"Title": "newer"}));
    assert_eq!(import(store, vec![newer]).await, vec![ImportStatus::Updated]);
    assert_eq!(get(store, "s").await["Title"], json!("newer"));
}

pub async fn import_update_keeps_customer_fields(store: &dyn FindingStore) {
    let first = with(
        finding("c", T0),
        json!({"Note": {"Text": "from provider", "UpdatedBy": "p", "UpdatedAt": ts(T0)},
               "UserDefinedFields": {"k": "provider"}, "VerificationState": "UNKNOWN", "Workflow": {"Status": "NEW"}}),
    );
    import(store, vec![first]).await;
    update(
        store,
        json!({"FindingIdentifiers": [ident("c")], "Workflow": {"Status": "NOTIFIED"},
               "UserDefinedFields": {"k": "customer"}, "VerificationState": "TRUE_POSITIVE"}),
        scope(),
    )
    .await;
    let second = with(
        finding("c", T0 + SEC),
        json!({"Title": "retitled", "Note": {"Text": "provider again", "UpdatedBy": "p", "UpdatedAt": ts(T0)},
               "UserDefinedFields": {"k": "provider2"}, "VerificationState": "FALSE_POSITIVE",
               "Workflow": {"Status": "RESOLVED"}, "Description": null}),
    );
    let second = with(second, json!({"Description": "new description"}));
    assert_eq!(import(store, vec![second]).await, vec![ImportStatus::Updated]);
    let f = get(store, "c").await;
    assert_eq!(f["Title"], json!("retitled"));
    assert_eq!(f["Description"], json!("new description"));
    assert_eq!(f["Note"]["Text"], json!("from provider"));
    assert_eq!(f["UserDefinedFields"], json!({"k": "customer"}));
    assert_eq!(f["VerificationState"], json!("TRUE_POSITIVE"));
    assert_eq!(f["Workflow"]["Status"], json!("NOTIFIED"));
    // A member the provider no longer sends is gone.
    let third = with(finding("c", T0 + 2 * SEC), json!({"Types": null}));
    import(store, vec![third]).await;
    let f = get(store, "c").await;
    assert!(f.get("Types").is_none(), "Types should be gone: {f:?}");
}

/// The five FindingProviderFields rules, as (stored before, incoming, expected top, expected FPF).
pub async fn provider_fields_rules(store: &dyn FindingStore) {
    // Rule 1: FPF only → both.
    let f1 = with(
        finding("r1", T0),
        json!({"Severity": null, "Confidence": null,
        "FindingProviderFields": {"Severity": {"Label": "LOW", "Original": "2"}, "Confidence": 30}}),
    );
    // Rule 2: top-level only → FPF copies it.
    let f2 = with(finding("r2", T0), json!({"Confidence": 40, "Criticality": 50}));
    // Rule 3, new: both → FPF wins for both.
    let f3 = with(
        finding("r3", T0),
        json!({"Criticality": 10, "Severity": {"Label": "LOW"},
        "FindingProviderFields": {"Criticality": 90, "Severity": {"Label": "CRITICAL"}}}),
    );
    import(store, vec![f1, f2, f3]).await;
    let r1 = get(store, "r1").await;
    assert_eq!(r1["Severity"], json!({"Label": "LOW", "Original": "2", "Normalized": 1}));
    assert_eq!(r1["Confidence"], json!(30));
    assert_eq!(r1["FindingProviderFields"]["Severity"], json!({"Label": "LOW", "Original": "2"}));
    let r2 = get(store, "r2").await;
    assert_eq!(r2["FindingProviderFields"]["Confidence"], json!(40));
    assert_eq!(r2["FindingProviderFields"]["Criticality"], json!(50));
    assert_eq!(r2["Criticality"], json!(50));
    let r3 = get(store, "r3").await;
    assert_eq!(r3["Criticality"], json!(90));
    assert_eq!(r3["Severity"]["Label"], json!("CRITICAL"));
    assert_eq!(r3["FindingProviderFields"]["Criticality"], json!(90));
    // Rule 3, existing: both values are used.
    let f3b = with(finding("r3", T0 + SEC), json!({"Criticality": 20, "FindingProviderFields": {"Criticality": 80}}));
    import(store, vec![f3b]).await;
    let r3 = get(store, "r3").await;
    assert_eq!(r3["Criticality"], json!(20));
    assert_eq!(r3["FindingProviderFields"]["Criticality"], json!(80));
    // Normalized only → Label derived.
    let f4 = with(finding("r4", T0), json!({"Severity": {"Normalized": 95}}));
    import(store, vec![f4]).await;
    let r4 = get(store, "r4").await;
    assert_eq!(r4["Severity"], json!({"Label": "CRITICAL", "Normalized": 95}));
    assert_eq!(r4["FindingProviderFields"]["Severity"], json!({"Label": "CRITICAL"}));
}

pub async fn customer_touched_fields_survive_imports(store: &dyn FindingStore) {
    import(store, vec![with(finding("t", T0), json!({"Confidence": 10}))]).await;
    update(
        store,
        json!({"FindingIdentifiers": [ident("t")], "Severity": {"Label": "LOW"}, "Types": ["TTPs/Discovery"]}),
        scope(),
    )
    .await;
    let f = get(store, "t").await;
    assert_eq!(f["Severity"], json!({"Label": "LOW", "Normalized": 1}));
    assert_eq!(f["UpdatedAt"], json!(ts(T0)), "BatchUpdateFindings never changes UpdatedAt");
    let next = with(
        finding("t", T0 + SEC),
        json!({"Confidence": 20, "FindingProviderFields": {"Severity": {"Label": "CRITICAL"}, "Types": ["Effects/Data Exposure"]}, "Severity": null}),
    );
    import(store, vec![next]).await;
    let f = get(store, "t").await;
    assert_eq!(f["Severity"]["Label"], json!("LOW"), "the customer's severity stays");
    assert_eq!(f["FindingProviderFields"]["Severity"]["Label"], json!("CRITICAL"));
    assert_eq!(f["Types"], json!(["TTPs/Discovery"]));
    assert_eq!(f["FindingProviderFields"]["Types"], json!(["Effects/Data Exposure"]));
    assert_eq!(f["Confidence"], json!(20), "untouched shared fields follow the provider");
}

pub async fn workflow_resets(store: &dyn FindingStore) {
    let cases = [
        // (id, first import patch, customer status, second import patch, expected status)
        ("w1", json!({"RecordState": "ARCHIVED"}), "NOTIFIED", json!({"RecordState": "ACTIVE"}), "NEW"),
        ("w2", json!({"RecordState": "ARCHIVED"}), "RESOLVED", json!({"RecordState": "ACTIVE"}), "NEW"),
        ("w3", json!({"RecordState": "ARCHIVED"}), "SUPPRESSED", json!({"RecordState": "ACTIVE"}), "SUPPRESSED"),
        (
            "w4",
            json!({"Compliance": {"Status": "PASSED"}}),
            "RESOLVED",
            json!({"Compliance": {"Status": "FAILED"}}),
            "NEW",
        ),
        (
            "w5",
            json!({"Compliance": {"Status": "PASSED"}}),
            "NOTIFIED",
            json!({"Compliance": {"Status": "WARNING"}}),
            "NEW",
        ),
        (
            "w6",
            json!({"Compliance": {"Status": "PASSED"}}),
            "RESOLVED",
            json!({"Compliance": {"Status": "NOT_AVAILABLE"}}),
            "NEW",
        ),
        (
            "w7",
            json!({"Compliance": {"Status": "PASSED"}}),
            "SUPPRESSED",
            json!({"Compliance": {"Status": "FAILED"}}),
            "SUPPRESSED",
        ),
        (
            "w8",
            json!({"Compliance": {"Status": "FAILED"}}),
            "NOTIFIED",
            json!({"Compliance": {"Status": "WARNING"}}),
            "NOTIFIED",
        ),
        ("w9", json!({"RecordState": "ACTIVE"}), "NOTIFIED", json!({"RecordState": "ACTIVE"}), "NOTIFIED"),
    ];
    for (id, first, status, second, expected) in cases {
        import(store, vec![with(finding(id, T0), first)]).await;
        update(store, json!({"FindingIdentifiers": [ident(id)], "Workflow": {"Status": status}}), scope()).await;
        import(store, vec![with(finding(id, T0 + SEC), second)]).await;
        assert_eq!(get(store, id).await["Workflow"]["Status"], json!(expected), "case {id}");
    }
}

pub async fn control_findings_resolve_when_passed(store: &dyn FindingStore) {
    let control = |id: &str, at: Micros, status: &str| {
        with(finding(id, at), json!({"ProductArn": CONTROLS, "Compliance": {"Status": status}}))
    };
    import(store, vec![control("ctl", T0, "FAILED")]).await;
    let f = get(store, "ctl").await;
    assert_eq!(f["Workflow"]["Status"], json!("NEW"));
    assert_eq!(f["ProductName"], json!("Security Hub"));
    import(store, vec![control("ctl", T0 + SEC, "PASSED")]).await;
    assert_eq!(get(store, "ctl").await["Workflow"]["Status"], json!("RESOLVED"));
    import(store, vec![control("ctl", T0 + 2 * SEC, "FAILED")]).await;
    assert_eq!(get(store, "ctl").await["Workflow"]["Status"], json!("NEW"));
}

/// AWS Config's findings: RESOLVED when created PASSED or when they go to PASSED; a PASSED finding
/// that the customer set to NOTIFIED stays so while it keeps passing.
pub async fn config_findings_resolve_when_they_pass(store: &dyn FindingStore) {
    const CONFIG: &str = "arn:aws:securityhub:us-east-1::product/aws/config";
    let rule = |id: &str, at: Micros, status: &str| {
        with(finding(id, at), json!({"ProductArn": CONFIG, "Compliance": {"Status": status}}))
    };
    import(store, vec![rule("cfg-pass", T0, "PASSED")]).await;
    assert_eq!(get(store, "cfg-pass").await["Workflow"]["Status"], json!("RESOLVED"));

    import(store, vec![rule("cfg", T0, "FAILED")]).await;
    assert_eq!(get(store, "cfg").await["Workflow"]["Status"], json!("NEW"));
    import(store, vec![rule("cfg", T0 + SEC, "PASSED")]).await;
    assert_eq!(get(store, "cfg").await["Workflow"]["Status"], json!("RESOLVED"));
    import(store, vec![rule("cfg", T0 + 2 * SEC, "FAILED")]).await;
    assert_eq!(get(store, "cfg").await["Workflow"]["Status"], json!("NEW"));
    import(store, vec![rule("cfg", T0 + 3 * SEC, "PASSED")]).await;
    assert_eq!(get(store, "cfg").await["Workflow"]["Status"], json!("RESOLVED"));

    let report = update(
        store,
        json!({"FindingIdentifiers": [{"Id": "cfg", "ProductArn": CONFIG}], "Workflow": {"Status": "NOTIFIED"}}),
        scope(),
    )
    .await;
    assert_eq!(report.processed.len(), 1);
    import(store, vec![rule("cfg", T0 + 4 * SEC, "PASSED")]).await;
    assert_eq!(get(store, "cfg").await["Workflow"]["Status"], json!("NOTIFIED"));
}

pub async fn same_key_twice_in_one_batch(store: &dyn FindingStore) {
    let statuses = import(
        store,
        vec![finding("d", T0), with(finding("d", T0 + SEC), json!({"Title": "second"})), finding("d", T0)],
    )
    .await;
    assert_eq!(statuses, vec![ImportStatus::Created, ImportStatus::Updated, ImportStatus::Stale]);
    assert_eq!(get(store, "d").await["Title"], json!("second"));
    assert_eq!(store.count().await.expect("count"), 1);
}

/// Imports racing from several callers (which a backend may commit together) end with the newest
/// version of each finding, and every caller hears about its own findings only.
pub async fn concurrent_imports_keep_the_newest(store: &dyn FindingStore) {
    let client = |c: i64| async move {
        let mut statuses = Vec::new();
        for round in 0..5i64 {
            // Versions of one shared finding, in an order that differs per client, and one of its own.
            let version = (round * 7 + c * 3) % 20;
            let shared = with(finding("shared", T0 + version * SEC), json!({"Title": format!("v{version}")}));
            let own = finding(&format!("own-{c}-{round}"), T0);
            let report = store.import(batch(vec![shared, own])).await.expect("import");
            assert_eq!(report.statuses.len(), 2);
            assert_eq!(report.statuses[1], ImportStatus::Created, "each caller gets its own statuses");
            statuses.push(version);
        }
        statuses
    };
    let (a, b, c, d) = tokio::join!(client(0), client(1), client(2), client(3));
    let newest = a.iter().chain(&b).chain(&c).chain(&d).copied().max().unwrap_or_default();
    let f = get(store, "shared").await;
    assert_eq!(f["Title"], json!(format!("v{newest}")));
    assert_eq!(f["UpdatedAt"], json!(ts(T0 + newest * SEC)));
    assert_eq!(store.count().await.expect("count"), 21);
}

pub async fn regions_and_accounts_are_separate(store: &dyn FindingStore) {
    import(store, vec![finding("x", T0)]).await;
    let mut west = batch(vec![finding("x", T0)]);
    west.region = "us-west-2".into();
    assert_eq!(store.import(west).await.expect("import").statuses, vec![ImportStatus::Created]);
    let partner = |account: &str| with(finding("p", T0), json!({"ProductArn": GUARDDUTY, "AwsAccountId": account}));
    assert_eq!(import(store, vec![partner(ACCOUNT), partner(OTHER_ACCOUNT)]).await, vec![ImportStatus::Created; 2]);
    assert_eq!(store.count().await.expect("count"), 4);
    let all = store
        .get_findings(FindingQuery {
            scope: Scope { accounts: AccountScope::All, region: None },
            filters: Filters::default(),
            sort: vec![],
            max_results: 100,
            next_token: None,
        })
        .await
        .expect("get_findings");
    assert_eq!(all.findings.len(), 4);
    assert_eq!(query_all(store, json!({}), json!([]), 10).await.len(), 2, "one account, one Region");
}

pub async fn invalid_product_arn_fails_one_finding(store: &dyn FindingStore) {
    let bad = with(finding("bad", T0), json!({"ProductArn": "arn:aws::securityhub:us-east-1::product/aws/guardduty"}));
    let statuses = import(store, vec![finding("ok", T0), bad]).await;
    assert_eq!(statuses[0], ImportStatus::Created);
    assert!(matches!(&statuses[1], ImportStatus::Failed { code, .. } if code == "InvalidInput"), "{statuses:?}");
    assert_eq!(store.count().await.expect("count"), 1);
}

pub async fn batch_update_processes_and_reports(store: &dyn FindingStore) {
    import(store, vec![finding("u1", T0), finding("u2", T0)]).await;
    let report = update(
        store,
        json!({"FindingIdentifiers": [ident("u1"), ident("u2"), ident("u1"), ident("missing")],
               "Note": {"Text": "looked at it", "UpdatedBy": "analyst"}, "Confidence": 77, "Criticality": 12,
               "RelatedFindings": [ident("u2")]}),
        scope(),
    )
    .await;
    let processed: Vec<&str> = report.processed.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(processed, ["u1", "u2"]);
    let mut unprocessed: Vec<(&str, UnprocessedReason)> =
        report.unprocessed.iter().map(|(i, r)| (i.id.as_str(), *r)).collect();
    unprocessed.sort_by_key(|(id, _)| *id);
    assert_eq!(
        unprocessed,
        [("missing", UnprocessedReason::FindingNotFound), ("u1", UnprocessedReason::DuplicatedFindingIdentifier)]
    );
    assert_eq!(report.changed.len(), 2);
    let f = get(store, "u1").await;
    assert_eq!(f["Note"], json!({"Text": "looked at it", "UpdatedBy": "analyst", "UpdatedAt": ts(NOW)}));
    assert_eq!(f["Confidence"], json!(77));
    assert_eq!(f["Criticality"], json!(12));
    assert_eq!(f["RelatedFindings"], json!([ident("u2")]));
    assert_eq!(f["UpdatedAt"], json!(ts(T0)));
    assert!(f["FindingProviderFields"].get("Confidence").is_none(), "customers never write FindingProviderFields");
}

pub async fn batch_update_respects_account_scope(store: &dyn FindingStore) {
    import(store, vec![with(finding("o", T0), json!({"AwsAccountId": OTHER_ACCOUNT}))]).await;
    let other = |id: &str| json!({"Id": id, "ProductArn": PRODUCT});
    let report =
        update(store, json!({"FindingIdentifiers": [other("o")], "Workflow": {"Status": "SUPPRESSED"}}), scope()).await;
    assert_eq!(report.unprocessed.len(), 1);
    assert_eq!(report.unprocessed[0].1, UnprocessedReason::FindingNotFound, "another account's finding is invisible");
    let admin = Scope { accounts: AccountScope::All, region: Some(REGION.into()) };
    let report =
        update(store, json!({"FindingIdentifiers": [other("o")], "Workflow": {"Status": "SUPPRESSED"}}), admin).await;
    assert_eq!(report.processed.len(), 1, "the administrator may update it");
}

pub async fn history_records_every_change(store: &dyn FindingStore) {
    import(store, vec![finding("h", T0)]).await;
    import(store, vec![with(finding("h", T0 + SEC), json!({"Title": "new title"}))]).await;
    update(store, json!({"FindingIdentifiers": [ident("h")], "Workflow": {"Status": "NOTIFIED"}}), scope()).await;
    import(store, vec![finding("h", T0)]).await; // stale: no record
    let page = whole_history(store, "h").await;
    assert_eq!(page.records.len(), 3);
    assert!(page.next_token.is_none());
    // Newest first: the customer's update, the provider's update, the creation.
    let update_rec = &page.records[0].entry;
    assert_eq!(update_rec.source, UpdateSourceType::BatchUpdateFindings);
    assert_eq!(update_rec.identity, format!("arn:aws:iam::{ACCOUNT}:user/analyst"));
    let fields: Vec<&str> = update_rec.updates.iter().map(|u| u.field.as_str()).collect();
    assert_eq!(fields, ["Workflow.Status"]);
    assert_eq!(update_rec.updates[0].old_value.as_deref(), Some("NEW"));
    assert_eq!(update_rec.updates[0].new_value.as_deref(), Some("NOTIFIED"));
    let import_rec = &page.records[1].entry;
    assert_eq!(import_rec.source, UpdateSourceType::BatchImportFindings);
    assert_eq!(import_rec.identity, PRODUCT);
    assert!(import_rec.updates.iter().any(|u| u.field == "Title" && u.new_value.as_deref() == Some("new title")));
    assert!(import_rec.updates.iter().any(|u| u.field == "UpdatedAt"));
    let created = &page.records[2].entry;
    assert!(created.finding_created);
    assert!(created.updates.is_empty());
    // Another account sees no history.
    let other = store
        .finding_history(HistoryQuery {
            scope: Scope::new(AccountScope::one(OTHER_ACCOUNT), REGION),
            identifier: FindingIdentifier { id: "h".into(), product_arn: PRODUCT.into() },
            start: None,
            end: None,
            max_results: 100,
            next_token: None,
        })
        .await
        .expect("history");
    assert!(other.records.is_empty());
}

pub async fn history_pages_and_windows(store: &dyn FindingStore) {
    for i in 0..7 {
        let mut b = batch(vec![with(finding("hp", T0 + i * SEC), json!({"Title": format!("v{i}")}))]);
        b.now = NOW + i * 1_000_000;
        store.import(b).await.expect("import");
    }
    let q = |start: Option<Micros>, end: Option<Micros>, token: Option<String>| HistoryQuery {
        scope: scope(),
        identifier: FindingIdentifier { id: "hp".into(), product_arn: PRODUCT.into() },
        start,
        end,
        max_results: 3,
        next_token: token,
    };
    let mut times = Vec::new();
    let mut token = None;
    loop {
        let page = store.finding_history(q(None, None, token)).await.expect("history");
        assert!(page.records.len() <= 3);
        times.extend(page.records.iter().map(|r| r.entry.update_time));
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let expected: Vec<Micros> = (0..7).rev().map(|i| NOW + i * 1_000_000).collect();
    assert_eq!(times, expected);
    let window = store.finding_history(q(Some(NOW + 2_000_000), Some(NOW + 4_000_000), None)).await.expect("history");
    let times: Vec<Micros> = window.records.iter().map(|r| r.entry.update_time).collect();
    assert_eq!(times, [NOW + 4_000_000, NOW + 3_000_000, NOW + 2_000_000]);
    let bad = store.finding_history(q(None, None, Some("not-a-token".into()))).await;
    assert!(matches!(bad, Err(StoreError::InvalidToken)));
}

/// A request stamps its time before it waits for the writer (or, on a shared database, for the
/// row lock), so a change committed later can carry an earlier time. Its record must still read as
/// the newest: the history is the order in which the changes were made.
pub async fn history_reads_in_the_order_of_changes(store: &dyn FindingStore) {
    let at = |micros: Micros, doc: Map<String, Value>| {
        let mut b = batch(vec![doc]);
        b.now = micros;
        b
    };
    store.import(at(NOW, finding("ho", T0))).await.expect("create");
    store.import(at(NOW + 5 * SEC, with(finding("ho", T0 + SEC), json!({"Title": "v1"})))).await.expect("v1");
    store.import(at(NOW + 2 * SEC, with(finding("ho", T0 + 2 * SEC), json!({"Title": "v2"})))).await.expect("v2");
    let request = json!({"FindingIdentifiers": [ident("ho")], "Workflow": {"Status": "NOTIFIED"}});
    update_at(store, request, scope(), NOW + SEC).await;
    let page = whole_history(store, "ho").await;
    let read: Vec<(Micros, Option<&str>)> = page
        .records
        .iter()
        .map(|r| {
            let title = r.entry.updates.iter().find(|u| u.field == "Title").and_then(|u| u.new_value.as_deref());
            (r.entry.update_time, title)
        })
        .collect();
    assert_eq!(read.len(), 4, "{read:?}");
    assert_eq!(page.records[0].entry.source, UpdateSourceType::BatchUpdateFindings, "{read:?}");
    assert_eq!(read[1].1, Some("v2"), "{read:?}");
    assert_eq!(read[2].1, Some("v1"), "{read:?}");
    assert!(page.records[3].entry.finding_created);
    assert!(read.windows(2).all(|w| w[0].0 >= w[1].0), "times never go back: {read:?}");
    assert_eq!(read[0].0, NOW + 5 * SEC, "a record takes the time of the latest before it: {read:?}");
    assert_eq!(read[3].0, NOW);
}

/// A fixed corpus for the filter cases.
fn corpus() -> Vec<Map<String, Value>> {
    vec![
        with(
            finding("f1", T0 + MICROS_PER_DAY),
            json!({"Title": "Open port 22", "Severity": {"Label": "CRITICAL"},
            "Types": ["TTPs/Initial Access", "Effects/Data Exposure"], "Confidence": 90,
            "Network": {"SourceIpV4": "10.1.2.3", "SourcePort": 22},
            "Resources": [{"Type": "AwsEc2Instance", "Id": "i-1", "Tags": {"env": "prod"}},
                          {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::logs"}]}),
        ),
        with(
            finding("f2", T0 + 2 * MICROS_PER_DAY),
            json!({"Title": "S3 bucket public", "Severity": {"Label": "HIGH"},
            "Compliance": {"Status": "FAILED"}, "Confidence": 40,
            "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::public", "Tags": {"env": "dev"}}]}),
        ),
        with(
            finding("f3", T0 + 3 * MICROS_PER_DAY),
            json!({"Title": "Root account used", "Severity": {"Label": "LOW"},
            "Types": ["Unusual Behaviors/User"], "RecordState": "ARCHIVED",
            "Network": {"SourceIpV4": "192.168.1.1", "SourcePort": 443},
            "Resources": [{"Type": "AwsIamUser", "Id": "root"}]}),
        ),
        with(
            finding("f4", T0 + 4 * MICROS_PER_DAY),
            json!({"Title": "Open port 3389", "Severity": {"Label": "CRITICAL"},
            "Compliance": {"Status": "PASSED"}, "ProductFields": {"rule": "rdp"},
            "Resources": [{"Type": "AwsEc2Instance", "Id": "i-4"}]}),
        ),
    ]
}

pub async fn get_findings_filters(store: &dyn FindingStore) {
    import(store, corpus()).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["f4", "f3", "f2", "f1"]),
        (json!({"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}]}), vec!["f4", "f1"]),
        (
            json!({"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}, {"Value": "LOW", "Comparison": "EQUALS"}]}),
            vec!["f4", "f3", "f1"],
        ),
        (json!({"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "NOT_EQUALS"}]}), vec!["f3", "f2"]),
        (
            json!({"Title": [{"Value": "Open port", "Comparison": "PREFIX"}, {"Value": "Open port 22", "Comparison": "NOT_EQUALS"}]}),
            vec!["f4"],
        ),
        (json!({"Title": [{"Value": "port", "Comparison": "CONTAINS"}]}), vec!["f4", "f1"]),
        (json!({"Title": [{"Value": "port", "Comparison": "NOT_CONTAINS"}]}), vec!["f3", "f2"]),
        (json!({"ResourceType": [{"Value": "AwsS3Bucket", "Comparison": "EQUALS"}]}), vec!["f2", "f1"]),
        (json!({"ResourceType": [{"Value": "AwsS3Bucket", "Comparison": "NOT_EQUALS"}]}), vec!["f4", "f3"]),
        (json!({"ResourceId": [{"Value": "arn:aws:s3:::", "Comparison": "PREFIX"}]}), vec!["f2", "f1"]),
        (json!({"ResourceId": [{"Value": "i-", "Comparison": "PREFIX_NOT_EQUALS"}]}), vec!["f3", "f2"]),
        (json!({"Type": [{"Value": "TTPs/", "Comparison": "PREFIX"}]}), vec!["f1"]),
        (json!({"ComplianceStatus": [{"Value": "FAILED", "Comparison": "NOT_EQUALS"}]}), vec!["f4", "f3", "f1"]),
        (
            json!({"RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}], "SeverityLabel": [{"Value": "LOW", "Comparison": "EQUALS"}]}),
            vec![],
        ),
        (
            json!({"UpdatedAt": [{"Start": ts(T0 + 2 * MICROS_PER_DAY), "End": ts(T0 + 3 * MICROS_PER_DAY)}]}),
            vec!["f3", "f2"],
        ),
        (json!({"UpdatedAt": [{"DateRange": {"Value": 97, "Unit": "DAYS"}}]}), vec!["f4", "f3"]),
        (
            json!({"UpdatedAt": [{"DateRange": {"Value": 97, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}]}),
            vec!["f2", "f1"],
        ),
        (json!({"Confidence": [{"Gte": 40, "Lt": 90}]}), vec!["f2"]),
        (json!({"Confidence": [{"Eq": 90}, {"Eq": 40}]}), vec!["f2", "f1"]),
        (json!({"SeverityNormalized": [{"Gte": 70}]}), vec!["f4", "f2", "f1"]),
        (json!({"NetworkSourcePort": [{"Lte": 100}]}), vec!["f1"]),
        (json!({"NetworkSourceIpV4": [{"Cidr": "10.0.0.0/8"}]}), vec!["f1"]),
        (json!({"NetworkSourceIpV4": [{"Cidr": "192.168.1.1"}]}), vec!["f3"]),
        (json!({"ResourceTags": [{"Key": "env", "Value": "prod", "Comparison": "EQUALS"}]}), vec!["f1"]),
        (
            json!({"ResourceTags": [{"Key": "env", "Value": "prod", "Comparison": "NOT_EQUALS"}]}),
            vec!["f4", "f3", "f2"],
        ),
        (json!({"ProductFields": [{"Key": "rule", "Value": "rd", "Comparison": "CONTAINS"}]}), vec!["f4"]),
        (
            json!({"WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}], "Title": [{"Value": "Open", "Comparison": "PREFIX"}]}),
            vec!["f4", "f1"],
        ),
    ];
    for (filters, expected) in cases {
        let got = query_all(store, filters.clone(), json!([]), 100).await;
        assert_eq!(ids(&got), expected, "filters {filters}");
        // The reference evaluator agrees.
        let parsed = parse_filters(&filters, NOW).expect("valid");
        for f in &got {
            assert!(parsed.matches(&Value::Object(f.clone())));
        }
    }
}

pub async fn get_findings_scope(store: &dyn FindingStore) {
    import(store, vec![finding("mine", T0), with(finding("theirs", T0), json!({"AwsAccountId": OTHER_ACCOUNT}))]).await;
    let mine = query_all(store, json!({}), json!([]), 10).await;
    assert_eq!(ids(&mine), ["mine"]);
    let theirs =
        query_all(store, json!({"AwsAccountId": [{"Value": OTHER_ACCOUNT, "Comparison": "EQUALS"}]}), json!([]), 10)
            .await;
    assert!(theirs.is_empty(), "a filter never widens the account scope");
    let both = store
        .get_findings(FindingQuery {
            scope: Scope::new(AccountScope::Only([ACCOUNT.to_owned(), OTHER_ACCOUNT.to_owned()].into()), REGION),
            filters: Filters::default(),
            sort: vec![],
            max_results: 10,
            next_token: None,
        })
        .await
        .expect("get_findings");
    assert_eq!(both.findings.len(), 2, "an administrator of both sees both");
}

/// The overview's counts: by the database, over the default view, within the scope.
pub async fn group_counts_count_the_default_view(store: &dyn FindingStore) {
    use crate::{GroupBy, GroupCount, GroupQuery};
    let day = |d: i64| ts(T0 + d * MICROS_PER_DAY + 5 * SEC);
    let two_types = json!([
        {"Type": "AwsEc2Instance", "Id": "i-1"},
        {"Type": "AwsS3Bucket", "Id": "b-1"},
        {"Type": "AwsS3Bucket", "Id": "b-2"}
    ]);
    import(
        store,
        vec![
            with(
                finding("a", T0),
                json!({"CreatedAt": day(0), "Compliance": {"Status": "FAILED"}, "GeneratorId": "ctl-1"}),
            ),
            with(finding("b", T0), json!({"CreatedAt": day(0), "Severity": {"Label": "LOW"}, "Resources": two_types})),
            with(
                finding("c", T0),
                json!({"CreatedAt": day(2), "Compliance": {"Status": "FAILED"}, "GeneratorId": "ctl-1",
                                          "Workflow": {"Status": "NOTIFIED"}}),
            ),
            with(finding("d", T0), json!({"CreatedAt": day(2), "Workflow": {"Status": "SUPPRESSED"}})),
            with(finding("e", T0), json!({"CreatedAt": day(3), "RecordState": "ARCHIVED"})),
            with(finding("old", T0), json!({"CreatedAt": ts(T0 - 40 * MICROS_PER_DAY)})),
            with(finding("theirs", T0), json!({"AwsAccountId": OTHER_ACCOUNT, "CreatedAt": day(1)})),
        ],
    )
    .await;
    let count = |scope: Scope, group: GroupBy| async move {
        let query = GroupQuery { scope, group, since: T0, limit: 10 };
        let counts = store.count_groups(query).await.expect("count_groups");
        counts.into_iter().map(|GroupCount { value, count }| (value, count)).collect::<Vec<_>>()
    };
    let pairs = |v: &[(&str, u64)]| v.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect::<Vec<_>>();
    // a, b, c and old are in the default view (d is suppressed, e archived).
    assert_eq!(count(scope(), GroupBy::SeverityLabel).await, pairs(&[("HIGH", 3), ("LOW", 1)]));
    assert_eq!(count(scope(), GroupBy::AwsAccountId).await, pairs(&[(ACCOUNT, 4)]));
    assert_eq!(count(scope(), GroupBy::ProductName).await, pairs(&[("Default", 4)]));
    // b has two S3 buckets: counted once for that type.
    assert_eq!(count(scope(), GroupBy::ResourceType).await, pairs(&[("AwsEc2Instance", 4), ("AwsS3Bucket", 1)]));
    assert_eq!(count(scope(), GroupBy::FailedControl).await, pairs(&[("ctl-1", 2)]));
    // Creations since T0, whatever their state, oldest day first.
    assert_eq!(
        count(scope(), GroupBy::CreatedDay).await,
        pairs(&[("2024-01-01", 2), ("2024-01-03", 2), ("2024-01-04", 1)])
    );
    let both = Scope::new(AccountScope::All, REGION);
    assert_eq!(count(both.clone(), GroupBy::AwsAccountId).await, pairs(&[(ACCOUNT, 4), (OTHER_ACCOUNT, 1)]));
    assert_eq!(count(both, GroupBy::CreatedDay).await.len(), 4);
    assert!(count(Scope::new(AccountScope::All, "eu-west-1"), GroupBy::SeverityLabel).await.is_empty());
}

fn many(n: i64) -> Vec<Map<String, Value>> {
    let labels = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    (0..n)
        .map(|i| {
            let mut f = with(
                finding(&format!("p{i:03}"), T0 + (i % 17) * 1_000_000),
                json!({"Severity": {"Label": labels[(i % 5) as usize]}, "Title": format!("title {}", (i * 7) % 23)}),
            );
            if i % 3 == 0 {
                f.insert("Confidence".into(), json!(i % 11));
            }
            if i % 4 == 0 {
                f.insert(
                    "Resources".into(),
                    json!([{"Type": "AwsEc2Instance", "Id": format!("i-{}", i % 9), "Region": format!("r{}", i % 6)}]),
                );
            }
            f
        })
        .collect()
}

/// Pages through `sort`, checking that the sequence equals the reference order.
async fn check_paging(store: &dyn FindingStore, sort: Value, page_size: usize, expected_len: usize) {
    let got = query_all(store, json!({}), sort.clone(), page_size).await;
    assert_eq!(got.len(), expected_len, "sort {sort}: every finding exactly once");
    let mut seen = std::collections::HashSet::new();
    for f in &got {
        assert!(seen.insert(f["Id"].to_string()), "sort {sort}: duplicate {}", f["Id"]);
    }
    let criteria = parse_sort(&sort).expect("valid sort");
    let docs: Vec<Value> = got.iter().cloned().map(Value::Object).collect();
    for pair in docs.windows(2) {
        let ord = findinghub_hub::filter::compare_findings(&criteria, &pair[0], &pair[1]);
        assert_ne!(ord, std::cmp::Ordering::Greater, "sort {sort}: {} before {}", pair[0]["Id"], pair[1]["Id"]);
    }
}

pub async fn pagination_default_order(store: &dyn FindingStore) {
    import(store, many(100)).await;
    import(store, many(230).split_off(100)).await;
    check_paging(store, json!([]), 37, 230).await;
    let got = query_all(store, json!({}), json!([]), 100).await;
    let first = got.first().and_then(|f| f["UpdatedAt"].as_str()).and_then(parse_timestamp);
    let last = got.last().and_then(|f| f["UpdatedAt"].as_str()).and_then(parse_timestamp);
    assert!(first >= last, "the default order is UpdatedAt descending");
}

pub async fn pagination_every_sort_kind(store: &dyn FindingStore) {
    import(store, many(90)).await;
    for sort in [
        json!([{"Field": "Title", "SortOrder": "asc"}]),
        json!([{"Field": "SeverityLabel", "SortOrder": "desc"}, {"Field": "Title", "SortOrder": "asc"}]),
        json!([{"Field": "Confidence", "SortOrder": "desc"}]),
        json!([{"Field": "UpdatedAt", "SortOrder": "asc"}]),
        json!([{"Field": "ResourceRegion", "SortOrder": "asc"}]),
        json!([{"Field": "ResourceId", "SortOrder": "desc"}, {"Field": "CreatedAt", "SortOrder": "asc"}]),
    ] {
        check_paging(store, sort, 13, 90).await;
    }
}

pub async fn pagination_survives_concurrent_imports(store: &dyn FindingStore) {
    import(store, many(60)).await;
    let sort = json!([{"Field": "Title", "SortOrder": "asc"}]);
    let mut got = Vec::new();
    let mut token = None;
    let mut round = 0;
    loop {
        let (page, next) = query(store, json!({}), sort.clone(), 7, token).await;
        got.extend(ids(&page));
        // Findings arrive between the pages, and existing ones change.
        let arriving = with(finding(&format!("new{round}"), T0), json!({"Title": format!("title {}", round % 23)}));
        import(store, vec![arriving]).await;
        round += 1;
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "no finding is returned twice");
    for i in 0..60 {
        assert!(got.contains(&format!("p{i:03}")), "p{i:03} was skipped");
    }
}

pub async fn invalid_token_is_refused(store: &dyn FindingStore) {
    import(store, many(5)).await;
    for token in ["garbage", "", "eyJ2IjoxfQ"] {
        let result = store
            .get_findings(FindingQuery {
                scope: scope(),
                filters: Filters::default(),
                sort: vec![],
                max_results: 2,
                next_token: Some(token.into()),
            })
            .await;
        assert!(matches!(result, Err(StoreError::InvalidToken)), "token {token:?}");
    }
    // A token from one sort order is refused for another.
    let (_, next) = query(store, json!({}), json!([]), 2, None).await;
    let other = parse_sort(&json!([{"Field": "Title", "SortOrder": "asc"}])).expect("sort");
    let result = store
        .get_findings(FindingQuery {
            scope: scope(),
            filters: Filters::default(),
            sort: other,
            max_results: 2,
            next_token: next,
        })
        .await;
    assert!(matches!(result, Err(StoreError::InvalidToken)));
}

pub async fn legacy_update_sets_note_and_record_state(store: &dyn FindingStore) {
    import(store, corpus()).await;
    let filters = parse_filters(&json!({"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}]}), NOW)
        .expect("filters");
    let n = store
        .legacy_update(LegacyUpdate {
            scope: scope(),
            now: NOW,
            filters,
            note: Some(findinghub_hub::update::NoteUpdate { text: "bulk".into(), updated_by: "ops".into() }),
            record_state: Some("ARCHIVED".into()),
        })
        .await
        .expect("legacy update");
    assert_eq!(n, 2);
    let archived =
        query_all(store, json!({"RecordState": [{"Value": "ARCHIVED", "Comparison": "EQUALS"}]}), json!([]), 10).await;
    assert_eq!(ids(&archived), ["f4", "f3", "f1"]);
    assert_eq!(get(store, "f1").await["Note"]["Text"], json!("bulk"));
    let history = store
        .finding_history(HistoryQuery {
            scope: scope(),
            identifier: FindingIdentifier { id: "f1".into(), product_arn: PRODUCT.into() },
            start: None,
            end: None,
            max_results: 10,
            next_token: None,
        })
        .await
        .expect("history");
    assert_eq!(history.records.len(), 1, "UpdateFindings writes no history");
}

pub async fn retention_purges_expired_findings(store: &dyn FindingStore) {
    let now = T0 + 200 * MICROS_PER_DAY;
    let day = MICROS_PER_DAY;
    let findings = vec![
        finding("active-old", now - 91 * day),
        finding("active-young", now - 89 * day),
        with(finding("archived-old", now - 31 * day), json!({"RecordState": "ARCHIVED"})),
        with(finding("archived-young", now - 29 * day), json!({"RecordState": "ARCHIVED"})),
    ];
    import(store, findings).await;
    let policy = RetentionPolicy::default();
    let mut total = 0;
    loop {
        let n = store.purge_expired(&policy, now, 1).await.expect("purge");
        total += n;
        if n == 0 {
            break;
        }
    }
    assert_eq!(total, 2);
    let left = query_all(store, json!({}), json!([{"Field": "Id", "SortOrder": "asc"}]), 10).await;
    assert_eq!(ids(&left), ["active-young", "archived-young"]);
    let history = store
        .finding_history(HistoryQuery {
            scope: scope(),
            identifier: FindingIdentifier { id: "active-old".into(), product_arn: PRODUCT.into() },
            start: None,
            end: None,
            max_results: 10,
            next_token: None,
        })
        .await
        .expect("history");
    assert!(history.records.is_empty(), "history goes with the finding");
    let short = RetentionPolicy { active_days: 1, archived_days: 1 };
    assert_eq!(store.purge_expired(&short, now, 100).await.expect("purge"), 2);
    assert_eq!(store.count().await.expect("count"), 0);
}

pub async fn access_keys_are_kept_and_revoked(store: &dyn HubStateStore) {
    let key = |id: &str, account: &str, admin: bool| SealedKey {
        key: AccessKey { access_key_id: id.into(), account_id: account.into(), admin, created_at: T0 },
        sealed_secret: vec![1, 2, 3, id.len() as u8],
    };
    assert!(store.create_key(key("AKIAONE", ACCOUNT, false)).await.expect("create"));
    assert!(store.create_key(key("AKIATWO", OTHER_ACCOUNT, true)).await.expect("create"));
    assert!(!store.create_key(key("AKIAONE", OTHER_ACCOUNT, true)).await.expect("create"), "ids are unique");
    let found = store.find_key("AKIAONE").await.expect("find").expect("present");
    assert_eq!(found, key("AKIAONE", ACCOUNT, false), "the first key is kept unchanged");
    let listed: Vec<String> = store.list_keys().await.expect("list").into_iter().map(|k| k.access_key_id).collect();
    assert_eq!(listed, ["AKIAONE", "AKIATWO"]);
    assert!(store.revoke_key("AKIAONE").await.expect("revoke"));
    assert!(!store.revoke_key("AKIAONE").await.expect("revoke"));
    assert_eq!(store.find_key("AKIAONE").await.expect("find"), None);
}

pub async fn api_keys_are_kept_and_revoked(store: &dyn HubStateStore) {
    let key = |id: &str, account: &str, admin: bool| ApiKey {
        key_id: id.into(),
        account_id: account.into(),
        admin,
        created_at: T0,
        secret_hash: vec![9; 32],
    };
    assert!(store.create_api_key(key("fhk1", ACCOUNT, false)).await.expect("create"));
    assert!(store.create_api_key(key("fhk2", OTHER_ACCOUNT, true)).await.expect("create"));
    assert!(!store.create_api_key(key("fhk1", OTHER_ACCOUNT, true)).await.expect("create"), "ids are unique");
    assert_eq!(store.find_api_key("fhk1").await.expect("find"), Some(key("fhk1", ACCOUNT, false)));
    let listed: Vec<String> = store.list_api_keys().await.expect("list").into_iter().map(|k| k.key_id).collect();
    assert_eq!(listed, ["fhk1", "fhk2"]);
    assert!(store.revoke_api_key("fhk1").await.expect("revoke"));
    assert!(!store.revoke_api_key("fhk1").await.expect("revoke"));
    assert_eq!(store.find_api_key("fhk1").await.expect("find"), None);
    assert!(store.find_key("fhk2").await.expect("find").is_none(), "API keys are not access keys");
}

pub async fn custom_products_are_kept_per_account(store: &dyn HubStateStore) {
    let product = |account: &str, id: &str, name: &str| CustomProduct {
        account_id: account.into(),
        product_id: id.into(),
        name: name.into(),
        company: "Example Corp".into(),
        description: "in-house scanner".into(),
    };
    assert!(store.create_product(product(ACCOUNT, "scanner", "Scanner")).await.expect("create"));
    assert!(store.create_product(product(ACCOUNT, "audit", "Audit")).await.expect("create"));
    assert!(store.create_product(product(OTHER_ACCOUNT, "scanner", "Theirs")).await.expect("create"));
    assert!(!store.create_product(product(ACCOUNT, "scanner", "Again")).await.expect("create"), "ids per account");
    let mine: Vec<String> =
        store.products(Some(ACCOUNT)).await.expect("list").into_iter().map(|p| p.product_id).collect();
    assert_eq!(mine, ["audit", "scanner"]);
    assert_eq!(store.products(None).await.expect("list").len(), 3);
    assert_eq!(store.products(Some(ACCOUNT)).await.expect("list")[1], product(ACCOUNT, "scanner", "Scanner"));
    assert!(store.delete_product(ACCOUNT, "scanner").await.expect("delete"));
    assert!(!store.delete_product(ACCOUNT, "scanner").await.expect("delete"));
    assert_eq!(store.products(Some(OTHER_ACCOUNT)).await.expect("list")[0].name, "Theirs");
}

pub async fn hubs_subscriptions_and_tags(store: &dyn HubStateStore) {
    let hub = Hub {
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        subscribed_at: T0,
        auto_enable_controls: true,
        control_finding_generator: "SECURITY_CONTROL".into(),
    };
    assert_eq!(store.hub(ACCOUNT, REGION).await.expect("hub"), None);
    assert!(store.enable_hub(hub.clone()).await.expect("enable"));
    assert!(!store.enable_hub(hub.clone()).await.expect("enable"), "enabling twice is a conflict");
    let updated = Hub { auto_enable_controls: false, ..hub.clone() };
    assert!(store.update_hub(updated.clone()).await.expect("update"));
    assert_eq!(store.hub(ACCOUNT, REGION).await.expect("hub"), Some(updated));
    assert_eq!(store.hub(ACCOUNT, "eu-west-1").await.expect("hub"), None, "hubs are per Region");
    assert!(store.disable_hub(ACCOUNT, REGION).await.expect("disable"));
    assert!(!store.disable_hub(ACCOUNT, REGION).await.expect("disable"));

    assert!(store.subscribe(ACCOUNT, REGION, GUARDDUTY).await.expect("subscribe"));
    assert!(!store.subscribe(ACCOUNT, REGION, GUARDDUTY).await.expect("subscribe"));
    assert!(store.subscribe(ACCOUNT, REGION, CONTROLS).await.expect("subscribe"));
    assert_eq!(store.subscriptions(ACCOUNT, REGION).await.expect("list"), [GUARDDUTY, CONTROLS]);
    assert!(store.subscriptions(OTHER_ACCOUNT, REGION).await.expect("list").is_empty());
    assert!(store.unsubscribe(ACCOUNT, REGION, GUARDDUTY).await.expect("unsubscribe"));
    assert_eq!(store.subscriptions(ACCOUNT, REGION).await.expect("list"), [CONTROLS]);

    let arn = "arn:aws:securityhub:us-east-1:111111111111:hub/default";
    store.tag(arn, [("a".into(), "1".into()), ("b".into(), "2".into())].into()).await.expect("tag");
    store.tag(arn, [("a".into(), "3".into())].into()).await.expect("tag");
    store.untag(arn, &["b".into(), "missing".into()]).await.expect("untag");
    assert_eq!(store.tags(arn).await.expect("tags"), [("a".to_owned(), "3".to_owned())].into());
    assert!(store.tags("arn:aws:securityhub:us-east-1:111111111111:other").await.expect("tags").is_empty());
}

pub async fn action_targets_are_kept_per_account_and_region(store: &dyn HubStateStore) {
    let target = |account: &str, region: &str, id: &str| ActionTarget {
        account_id: account.into(),
        region: region.into(),
        id: id.into(),
        name: format!("Send {id}"),
        description: "to the team".into(),
        created_at: T0,
    };
    assert!(store.create_action_target(target(ACCOUNT, REGION, "Slack")).await.expect("create"));
    assert!(!store.create_action_target(target(ACCOUNT, REGION, "Slack")).await.expect("create"), "a duplicate id");
    assert!(store.create_action_target(target(ACCOUNT, REGION, "Jira")).await.expect("create"));
    assert!(store.create_action_target(target(ACCOUNT, "eu-west-1", "Slack")).await.expect("create"), "per Region");
    assert!(store.create_action_target(target(OTHER_ACCOUNT, REGION, "Slack")).await.expect("create"));
    let ids = |ts: Vec<ActionTarget>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.action_targets(ACCOUNT, REGION).await.expect("list")), ["Jira", "Slack"]);
    assert!(store.update_action_target(ACCOUNT, REGION, "Slack", Some("Renamed"), None).await.expect("update"));
    assert!(!store.update_action_target(ACCOUNT, REGION, "Nope", Some("x"), None).await.expect("update"));
    let slack = store.action_targets(ACCOUNT, REGION).await.expect("list").remove(1);
    assert_eq!((slack.name.as_str(), slack.description.as_str()), ("Renamed", "to the team"));
    assert_eq!(store.action_targets(ACCOUNT, "eu-west-1").await.expect("list")[0].name, "Send Slack");
    assert!(store.delete_action_target(ACCOUNT, REGION, "Slack").await.expect("delete"));
    assert!(!store.delete_action_target(ACCOUNT, REGION, "Slack").await.expect("delete"));
    assert_eq!(ids(store.action_targets(ACCOUNT, REGION).await.expect("list")), ["Jira"]);
    assert_eq!(ids(store.action_targets(OTHER_ACCOUNT, REGION).await.expect("list")), ["Slack"]);
}

fn insight(account: &str, region: &str, id: &str, created_at: Micros) -> Insight {
    Insight {
        account_id: account.into(),
        region: region.into(),
        id: id.into(),
        name: format!("Insight {id}"),
        filters: json!({"SeverityLabel": [{"Value": "HIGH", "Comparison": "EQUALS"}]}),
        group_by: "ResourceType".into(),
        created_at,
    }
}

pub async fn insights_are_kept_per_account_and_region(store: &dyn HubStateStore) {
    assert!(store.create_insight(insight(ACCOUNT, REGION, "b", T0)).await.expect("create"));
    assert!(!store.create_insight(insight(ACCOUNT, REGION, "b", T0 + SEC)).await.expect("create"), "a duplicate id");
    assert!(store.create_insight(insight(ACCOUNT, REGION, "a", T0 + SEC)).await.expect("create"));
    assert!(store.create_insight(insight(ACCOUNT, "eu-west-1", "b", T0)).await.expect("create"), "per Region");
    assert!(store.create_insight(insight(OTHER_ACCOUNT, REGION, "c", T0)).await.expect("create"));
    let ids = |is: Vec<Insight>| is.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(store.insights(ACCOUNT, REGION).await.expect("list")), ["b", "a"], "oldest first");
    assert_eq!(store.insights(ACCOUNT, REGION).await.expect("list")[0], insight(ACCOUNT, REGION, "b", T0));

    let renamed = InsightChange { name: Some("Renamed".into()), ..InsightChange::default() };
    assert!(store.update_insight(ACCOUNT, REGION, "b", renamed.clone()).await.expect("update"));
    assert!(!store.update_insight(ACCOUNT, REGION, "nope", renamed).await.expect("update"));
    let regrouped = InsightChange {
        filters: Some(json!({"AwsAccountId": [{"Value": "1", "Comparison": "PREFIX"}]})),
        group_by: Some("AwsAccountId".into()),
        ..InsightChange::default()
    };
    assert!(store.update_insight(ACCOUNT, REGION, "b", regrouped).await.expect("update"));
    let b = store.insights(ACCOUNT, REGION).await.expect("list").remove(0);
    assert_eq!(b.name, "Renamed", "a change keeps what it does not name");
    assert_eq!(b.group_by, "AwsAccountId");
    assert_eq!(b.filters, json!({"AwsAccountId": [{"Value": "1", "Comparison": "PREFIX"}]}));
    assert_eq!(store.insights(ACCOUNT, "eu-west-1").await.expect("list")[0].name, "Insight b");

    assert!(store.delete_insight(ACCOUNT, REGION, "b").await.expect("delete"));
    assert!(!store.delete_insight(ACCOUNT, REGION, "b").await.expect("delete"));
    assert_eq!(ids(store.insights(ACCOUNT, REGION).await.expect("list")), ["a"]);
    assert_eq!(ids(store.insights(OTHER_ACCOUNT, REGION).await.expect("list")), ["c"]);
}

fn work_item(id: &str, account: &str, finding: &str, created_at: Micros) -> WorkItem {
    WorkItem {
        id: id.into(),
        account_id: account.into(),
        region: REGION.into(),
        finding_id: finding.into(),
        product_arn: PRODUCT.into(),
        dedup_key: finding.to_lowercase(),
        status: "Open".into(),
        severity: 2,
        created_at,
        updated_at: created_at,
        item: json!({"title": format!("Finding {finding}"), "related_resources": ["arn:aws:s3:::b"]}),
    }
}

pub async fn work_items_open_once_per_finding(store: &dyn HubStateStore) {
    assert_eq!(
        store.create_work_item(work_item("oi-1", ACCOUNT, "F1", T0)).await.expect("create"),
        WorkItemCreated::Created
    );
    // The dedup key ignores case, as OpsCenter's does; another account has its own.
    assert_eq!(
        store.create_work_item(work_item("oi-2", ACCOUNT, "f1", T0 + SEC)).await.expect("create"),
        WorkItemCreated::Duplicate("oi-1".into())
    );
    assert_eq!(
        store.create_work_item(work_item("oi-3", OTHER_ACCOUNT, "F1", T0 + 2 * SEC)).await.expect("create"),
        WorkItemCreated::Created
    );
    assert_eq!(
        store.create_work_item(work_item("oi-4", ACCOUNT, "F2", T0 + 3 * SEC)).await.expect("create"),
        WorkItemCreated::Created
    );
    let got = store.work_item("oi-1").await.expect("get").expect("oi-1 exists");
    assert_eq!(got, work_item("oi-1", ACCOUNT, "F1", T0), "read back as written");
    assert_eq!(store.work_item("oi-2").await.expect("get"), None);

    // InProgress still blocks a duplicate; Resolved frees the key.
    let Ok(WorkItemUpdated::Updated(w)) =
        store.update_work_item("oi-1", Some("InProgress"), Some(1), T0 + 10 * SEC).await
    else {
        panic!("oi-1 is updated")
    };
    assert_eq!((w.status.as_str(), w.severity, w.updated_at, w.created_at), ("InProgress", 1, T0 + 10 * SEC, T0));
    assert!(
        matches!(store.create_work_item(work_item("oi-5", ACCOUNT, "F1", T0 + 11 * SEC)).await, Ok(WorkItemCreated::Duplicate(id)) if id == "oi-1")
    );
    assert!(
        matches!(store.update_work_item("oi-1", Some("Resolved"), None, T0 + 12 * SEC).await, Ok(WorkItemUpdated::Updated(w)) if w.status == "Resolved" && w.severity == 1)
    );
    assert_eq!(
        store.create_work_item(work_item("oi-6", ACCOUNT, "F1", T0 + 13 * SEC)).await.expect("create"),
        WorkItemCreated::Created
    );
    // Reopening the resolved one would make two open items for F1.
    assert_eq!(
        store.update_work_item("oi-1", Some("Open"), None, T0 + 14 * SEC).await.expect("update"),
        WorkItemUpdated::Conflict("oi-6".into())
    );
    assert_eq!(store.work_item("oi-1").await.expect("get").map(|w| w.status), Some("Resolved".into()));
    assert_eq!(
        store.update_work_item("oi-9", Some("Open"), None, T0).await.expect("update"),
        WorkItemUpdated::NotFound
    );

    let list = |accounts: AccountScope, status: Option<&str>, after: Option<(Micros, String)>, limit: usize| {
        let query = WorkItemQuery { accounts, region: None, status: status.map(str::to_owned), after, limit };
        async move { store.work_items(query).await.expect("list").into_iter().map(|w| w.id).collect::<Vec<_>>() }
    };
    assert_eq!(list(AccountScope::All, None, None, 100).await, ["oi-1", "oi-3", "oi-4", "oi-6"]);
    assert_eq!(list(AccountScope::one(ACCOUNT), None, None, 100).await, ["oi-1", "oi-4", "oi-6"]);
    assert_eq!(list(AccountScope::one(ACCOUNT), Some("Open"), None, 100).await, ["oi-4", "oi-6"]);
    assert_eq!(list(AccountScope::All, None, None, 2).await, ["oi-1", "oi-3"]);
    assert_eq!(list(AccountScope::All, None, Some((T0 + 2 * SEC, "oi-3".into())), 2).await, ["oi-4", "oi-6"]);
    assert!(list(AccountScope::Only(Default::default()), None, None, 100).await.is_empty());
    let other_region = WorkItemQuery {
        accounts: AccountScope::All,
        region: Some("eu-west-1".into()),
        status: None,
        after: None,
        limit: 100,
    };
    assert!(store.work_items(other_region).await.expect("list").is_empty());
}

// ---- the outbox ----

const LEASE: &str = "dispatcher";

fn detail_types(events: &[OutboxEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.envelope["detail-type"].as_str().unwrap_or_default().to_owned(),
                e.envelope["detail"]["findings"][0]["Id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Dispatches every undispatched event to `target` (as a rule matching everything would).
async fn dispatch_all<S: OutboxStore + ?Sized>(store: &S, target: &str) -> Vec<i64> {
    assert!(store.try_lease(LEASE, "me", NOW, NOW + 30 * SEC).await.expect("lease"));
    let events = store.undispatched(1000).await.expect("undispatched");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let deliveries =
        seqs.iter().map(|seq| NewDelivery { seq: *seq, target: target.into(), rule: "all".into() }).collect();
    assert!(store.dispatch(LEASE, "me", NOW, &seqs, deliveries).await.expect("dispatch"));
    seqs
}

fn delivered_ids(claimed: &[Delivery]) -> Vec<String> {
    claimed
        .iter()
        .map(|d| {
            format!(
                "{}@{}",
                d.event.envelope["detail"]["findings"][0]["Id"].as_str().unwrap_or_default(),
                d.event.envelope["detail"]["findings"][0]["UpdatedAt"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// A rule that sends every Security Hub event to the target `hook`.
fn hub_events_to_hook(name: &str, enabled: bool) -> RuleRecord {
    RuleRecord {
        name: name.into(),
        pattern: json!({"source": ["aws.securityhub"]}),
        targets: vec!["hook".into()],
        enabled,
        created_at: T0,
    }
}

/// An enabled rule, so that changes keep their events (the outbox keeps none while no rule
/// could choose them).
async fn a_rule_listens<S: OutboxStore + ?Sized>(store: &S) {
    store.put_rule(hub_events_to_hook("listens", true)).await.expect("put rule");
}

pub async fn changes_write_their_events<S: FindingStore + OutboxStore>(store: &S) {
    a_rule_listens(store).await;
    import(store, vec![finding("e1", T0), finding("e2", T0)]).await;
    let bad = with(finding("e3", T0), json!({"ProductArn": "arn:aws:securityhub:us-east-1::product/nope"}));
    import(store, vec![finding("e1", T0), bad]).await; // stale, and a failure: no events
    let events = store.undispatched(100).await.expect("undispatched");
    assert_eq!(
        detail_types(&events),
        [
            ("Security Hub Findings - Imported".to_owned(), "e1".to_owned()),
            ("Security Hub Findings - Imported".to_owned(), "e2".to_owned())
        ]
    );
    assert!(events[0].seq < events[1].seq);
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(store.undispatched_seqs(100).await.expect("undispatched seqs"), seqs);
    assert_eq!(store.undispatched_seqs(1).await.expect("undispatched seqs"), seqs[..1]);
    assert_ne!(events[0].event_id, events[1].event_id);
    let e = &events[0].envelope;
    assert_eq!(e["id"], json!(events[0].event_id));
    assert_eq!(e["source"], "aws.securityhub");
    assert_eq!(e["account"], ACCOUNT);
    assert_eq!(e["region"], REGION);
    assert_eq!(e["resources"], json!([format!("{PRODUCT}/e1")]));
    assert_eq!(e["detail"]["findings"][0]["Workflow"]["Status"], "NEW", "the finding as stored");

    update(store, json!({"FindingIdentifiers": [ident("e2")], "Workflow": {"Status": "NOTIFIED"}}), scope()).await;
    store
        .legacy_update(LegacyUpdate {
            scope: scope(),
            now: NOW,
            filters: parse_filters(&json!({"Id": [{"Value": "e1", "Comparison": "EQUALS"}]}), NOW).expect("filters"),
            note: None,
            record_state: Some("ARCHIVED".into()),
        })
        .await
        .expect("legacy update");
    let events = store.undispatched(100).await.expect("undispatched");
    assert_eq!(events.len(), 4);
    assert_eq!(events[2].envelope["detail"]["findings"][0]["Workflow"]["Status"], "NOTIFIED");
    assert_eq!(events[3].envelope["detail"]["findings"][0]["RecordState"], "ARCHIVED");
    assert_eq!(events[0].ordering_key, events[3].ordering_key, "one finding, one ordering key");
    assert_ne!(events[0].ordering_key, events[1].ordering_key);
}

/// Filters on multi-valued fields (resource ids and types) find findings imported long before and
/// long after one another, and follow a finding whose resource changes. Thousands of findings, so
/// that a store which partitions its attribute rows by arrival (the embedded one does, by 4,096)
/// holds them in several parts.
pub async fn attribute_filters_find_findings_of_every_age<S: FindingStore>(store: &S) {
    const AGED: usize = 9_000;
    const RESOURCES: usize = 7;
    let resource = |r: usize| format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-shared{r}");
    let docs: Vec<Map<String, Value>> = (0..AGED)
        .map(|i| {
            let mut f = finding(&format!("aged-{i:05}"), NOW - 10_000_000);
            f.insert("Resources".into(), json!([{"Type": "AwsEc2Instance", "Id": resource(i % RESOURCES)}]));
            f
        })
        .collect();
    for chunk in docs.chunks(100) {
        let statuses = import(store, chunk.to_vec()).await;
        assert!(statuses.iter().all(|s| *s == ImportStatus::Created), "{statuses:?}");
    }
    let ids = |found: Vec<Map<String, Value>>| -> BTreeSet<String> {
        found.iter().filter_map(|f| f.get("Id").and_then(Value::as_str).map(str::to_owned)).collect()
    };
    let expected = |r: usize| -> BTreeSet<String> {
        (0..AGED).filter(|i| i % RESOURCES == r).map(|i| format!("aged-{i:05}")).collect()
    };
    let equals = json!({"ResourceId": [{"Value": resource(3), "Comparison": "EQUALS"}]});
    let found = ids(query_all(store, equals.clone(), json!([]), 100).await);
    assert_eq!(found, expected(3), "ResourceId EQUALS over {AGED} findings");

    let prefix = json!({"ResourceId": [{"Value": format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-shared5"), "Comparison": "PREFIX"}]});
    assert_eq!(ids(query_all(store, prefix, json!([]), 100).await), expected(5), "ResourceId PREFIX");

    let not_equals: Vec<Value> =
        (1..RESOURCES).map(|r| json!({"Value": resource(r), "Comparison": "NOT_EQUALS"})).collect();
    let found = ids(query_all(store, json!({"ResourceId": not_equals}), json!([]), 100).await);
    assert_eq!(found, expected(0), "ResourceId NOT_EQUALS of all but one");

    // The first and the last finding move to another resource: their old rows go, new ones come.
    let moved: Vec<Map<String, Value>> = [0, AGED - 4]
        .iter()
        .map(|&i| {
            let mut f = docs[i].clone();
            f.insert("UpdatedAt".into(), json!(ts(NOW - 5_000_000)));
            f.insert("Resources".into(), json!([{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::moved-bucket"}]));
            f
        })
        .collect();
    let statuses = import(store, moved).await;
    assert!(statuses.iter().all(|s| *s == ImportStatus::Updated), "{statuses:?}");
    let moved_ids: BTreeSet<String> = [0, AGED - 4].iter().map(|i| format!("aged-{i:05}")).collect();
    let bucket = json!({"ResourceId": [{"Value": "arn:aws:s3:::moved-bucket", "Comparison": "EQUALS"}]});
    assert_eq!(
        ids(query_all(store, bucket, json!([]), 100).await),
        moved_ids,
        "the moved findings under their new resource"
    );
    let s3 = json!({"ResourceType": [{"Value": "AwsS3Bucket", "Comparison": "EQUALS"}]});
    assert_eq!(ids(query_all(store, s3, json!([]), 100).await), moved_ids, "the moved findings under their new type");
    let was = |r: usize| -> BTreeSet<String> { expected(r).difference(&moved_ids).cloned().collect() };
    for r in [0, (AGED - 4) % RESOURCES] {
        let old = json!({"ResourceId": [{"Value": resource(r), "Comparison": "EQUALS"}]});
        assert_eq!(ids(query_all(store, old, json!([]), 100).await), was(r), "resource {r} after the move");
    }
}

/// With no rule, or only disabled ones, no change writes an event (EventBridge drops what no rule
/// matches, and a rule applies to the events after it); the first enabled rule sees the changes
/// after it.
pub async fn changes_keep_no_events_while_no_rule_is_enabled<S: FindingStore + OutboxStore>(store: &S) {
    let kept = || async { store.undispatched(100).await.expect("undispatched") };
    import(store, vec![finding("n1", T0), finding("n2", T0)]).await;
    import(store, vec![finding("n1", T0 + SEC)]).await;
    update(store, json!({"FindingIdentifiers": [ident("n2")], "Workflow": {"Status": "NOTIFIED"}}), scope()).await;
    let action = HubEvent {
        id: "a1".into(),
        detail_type: FINDINGS_CUSTOM_ACTION,
        account: ACCOUNT.into(),
        region: REGION.into(),
        time: NOW,
        resources: vec![format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:action/custom/Send")],
        detail: json!({"findings": [get(store, "n1").await]}),
        ordering_key: 1,
    };
    store.append_events(vec![action.clone()]).await.expect("append");
    assert!(kept().await.is_empty(), "no rule: no events");

    let disabled = hub_events_to_hook("off", false);
    store.put_rule(disabled.clone()).await.expect("put rule");
    import(store, vec![finding("n1", T0 + 2 * SEC)]).await;
    assert!(kept().await.is_empty(), "a disabled rule chooses nothing");

    store.put_rule(RuleRecord { enabled: true, ..disabled }).await.expect("enable rule");
    import(store, vec![finding("n1", T0 + 3 * SEC), finding("n3", T0)]).await;
    update(store, json!({"FindingIdentifiers": [ident("n2")], "Workflow": {"Status": "RESOLVED"}}), scope()).await;
    let events = kept().await;
    let ids: Vec<&str> =
        events.iter().map(|e| e.envelope["detail"]["findings"][0]["Id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, ["n1", "n3", "n2"], "the changes after the rule, in order");
    assert_eq!(events[0].envelope["detail"]["findings"][0]["UpdatedAt"], ts(T0 + 3 * SEC));
    store.append_events(vec![action]).await.expect("append");
    assert_eq!(kept().await.len(), 4, "a custom action's event too");
}

pub async fn dispatch_needs_the_lease<S: FindingStore + OutboxStore>(store: &S) {
    a_rule_listens(store).await;
    import(store, vec![finding("d1", T0)]).await;
    assert!(store.try_lease(LEASE, "a", NOW, NOW + 10 * SEC).await.expect("lease"));
    assert!(!store.try_lease(LEASE, "b", NOW + SEC, NOW + 11 * SEC).await.expect("lease"), "a holds it");
    assert!(store.try_lease(LEASE, "a", NOW + SEC, NOW + 11 * SEC).await.expect("renew"));
    let events = store.undispatched(10).await.expect("undispatched");
    let seqs = [events[0].seq];
    let one = || vec![NewDelivery { seq: seqs[0], target: "hook".into(), rule: "r".into() }];
    assert!(!store.dispatch(LEASE, "b", NOW + SEC, &seqs, one()).await.expect("dispatch"), "b has no lease");
    assert_eq!(store.undispatched(10).await.expect("undispatched").len(), 1, "nothing changed");
    assert!(store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list").is_empty());
    assert!(store.try_lease(LEASE, "b", NOW + 12 * SEC, NOW + 20 * SEC).await.expect("lease"), "a's lapsed");
    assert!(!store.dispatch(LEASE, "a", NOW + 12 * SEC, &seqs, one()).await.expect("dispatch"), "a lost it");
    assert!(store.dispatch(LEASE, "b", NOW + 12 * SEC, &seqs, one()).await.expect("dispatch"));
    assert!(store.undispatched(10).await.expect("undispatched").is_empty());
    assert!(store.undispatched_seqs(10).await.expect("undispatched seqs").is_empty());
    let listed = store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].target.as_str(), listed[0].rule.as_str()), ("hook", "r"));
    assert_eq!((listed[0].state, listed[0].attempts), (DeliveryState::Pending, 0));
    store.release_lease(LEASE, "b").await.expect("release");
    assert!(store.try_lease(LEASE, "c", NOW + 13 * SEC, NOW + 20 * SEC).await.expect("lease"), "released");
}

pub async fn deliveries_keep_order_per_finding<S: FindingStore + OutboxStore>(store: &S) {
    a_rule_listens(store).await;
    import(store, vec![finding("f", T0), finding("g", T0)]).await;
    import(store, vec![finding("f", T0 + SEC)]).await;
    dispatch_all(store, "hook").await;
    let first = store.claim_deliveries("hook", NOW, NOW + 30 * SEC, 10).await.expect("claim");
    assert_eq!(delivered_ids(&first), [format!("f@{}", ts(T0)), format!("g@{}", ts(T0))], "f's update waits");
    assert!(store.claim_deliveries("hook", NOW, NOW + 30 * SEC, 10).await.expect("claim").is_empty(), "claimed");
    assert!(store.claim_deliveries("other", NOW, NOW + 30 * SEC, 10).await.expect("claim").is_empty());

    // f's first event fails: it waits 10 s, and f's second waits behind it.
    store.mark_failed(first[0].id, 1, Some(NOW + 10 * SEC), "HTTP 500").await.expect("fail");
    store.mark_delivered(&[first[1].id], NOW).await.expect("delivered");
    assert!(store.claim_deliveries("hook", NOW + SEC, NOW + 30 * SEC, 10).await.expect("claim").is_empty());
    let retry = store.claim_deliveries("hook", NOW + 10 * SEC, NOW + 40 * SEC, 10).await.expect("claim");
    assert_eq!(delivered_ids(&retry), [format!("f@{}", ts(T0))]);
    assert_eq!(retry[0].attempts, 1);
    assert_eq!(retry[0].last_error.as_deref(), Some("HTTP 500"));
    store.mark_delivered(&[retry[0].id], NOW + 10 * SEC).await.expect("delivered");
    let next = store.claim_deliveries("hook", NOW + 10 * SEC, NOW + 40 * SEC, 10).await.expect("claim");
    assert_eq!(delivered_ids(&next), [format!("f@{}", ts(T0 + SEC))]);
    assert!(next[0].id > retry[0].id);

    // A claim that lapses (its worker died) comes back.
    let again = store.claim_deliveries("hook", NOW + 41 * SEC, NOW + 70 * SEC, 10).await.expect("claim");
    assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), [next[0].id]);

    let counts = store.delivery_counts().await.expect("counts");
    assert_eq!(counts, [TargetCounts { target: "hook".into(), pending: 1, delivered: 2, dead: 0 }]);
}

pub async fn target_cursors_commit_under_the_lease<S: FindingStore + OutboxStore>(store: &S) {
    const LAKE: &str = "lake:lake";
    a_rule_listens(store).await;
    import(store, vec![finding("c1", T0), finding("c2", T0), finding("c3", T0)]).await;
    dispatch_all(store, "lake").await;
    import(store, vec![finding("c4", T0)]).await;
    dispatch_all(store, "hook").await;
    let all = store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list");
    let ids: Vec<i64> = all.iter().filter(|d| d.target == "lake").map(|d| d.id).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), 0, "none yet");

    assert!(store.try_lease(LAKE, "a", NOW, NOW + 10 * SEC).await.expect("lease"));
    assert!(!store.commit_target_cursor(LAKE, "b", "lake", ids[1], NOW).await.expect("commit"), "b has no lease");
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), 0, "nothing changed");
    assert!(store.commit_target_cursor(LAKE, "a", "lake", ids[1], NOW).await.expect("commit"));
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), ids[1]);
    let states = |list: Vec<Delivery>| list.iter().map(|d| (d.target.clone(), d.state)).collect::<Vec<_>>();
    let now = store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(
        states(now),
        [
            ("lake".to_owned(), DeliveryState::Delivered),
            ("lake".to_owned(), DeliveryState::Delivered),
            ("lake".to_owned(), DeliveryState::Pending),
            ("hook".to_owned(), DeliveryState::Pending),
        ],
        "only the lake's, up to the cursor"
    );
    let after = store
        .deliveries(DeliveryQuery {
            target: Some("lake".into()),
            state: Some(DeliveryState::Pending),
            after_id: Some(ids[1]),
            limit: 10,
        })
        .await
        .expect("list");
    assert_eq!(after.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[2]]);

    // Never lowered; the lease lapses and a lapsed holder commits nothing.
    assert!(store.commit_target_cursor(LAKE, "a", "lake", ids[0], NOW + SEC).await.expect("commit"));
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), ids[1]);
    assert!(!store.commit_target_cursor(LAKE, "a", "lake", ids[2], NOW + 11 * SEC).await.expect("commit"));
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), ids[1]);
    assert!(store.try_lease(LAKE, "b", NOW + 11 * SEC, NOW + 20 * SEC).await.expect("lease"));
    assert!(store.commit_target_cursor(LAKE, "b", "lake", ids[2], NOW + 12 * SEC).await.expect("commit"));
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), ids[2]);
    assert_eq!(store.target_cursor("other").await.expect("cursor"), 0);
    let counts = store.delivery_counts().await.expect("counts");
    assert!(counts.contains(&TargetCounts { target: "lake".into(), pending: 0, delivered: 3, dead: 0 }), "{counts:?}");
}

pub async fn dead_deliveries_replay<S: FindingStore + OutboxStore>(store: &S) {
    a_rule_listens(store).await;
    import(store, vec![finding("x", T0), finding("y", T0)]).await;
    dispatch_all(store, "hook").await;
    let claimed = store.claim_deliveries("hook", NOW, NOW + 30 * SEC, 10).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    for d in &claimed {
        store.mark_failed(d.id, 185, None, "gave up after 185 attempts").await.expect("dead");
    }
    assert!(store.claim_deliveries("hook", NOW + 3600 * SEC, NOW + 3630 * SEC, 10).await.expect("claim").is_empty());
    let dead = store
        .deliveries(DeliveryQuery { state: Some(DeliveryState::Dead), limit: 10, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].last_error.as_deref(), Some("gave up after 185 attempts"));
    assert_eq!(dead[0].attempts, 185);
    assert_eq!(store.replay(Some("hook"), &[dead[1].id], NOW + SEC).await.expect("replay"), 1);
    assert_eq!(store.replay(Some("other"), &[], NOW + SEC).await.expect("replay"), 0);
    // Dispatched anew: the same event under a new id, above every other (a lake target reads
    // its deliveries in id order behind a cursor).
    let replayed = store.claim_deliveries("hook", NOW + SEC, NOW + 30 * SEC, 10).await.expect("claim");
    assert_eq!(
        replayed.iter().map(|d| (d.event.seq, d.attempts, d.created_at)).collect::<Vec<_>>(),
        [(dead[1].event.seq, 0, NOW + SEC)]
    );
    assert!(replayed[0].id > dead[0].id.max(dead[1].id), "{} is not a new id", replayed[0].id);
    let all = store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(all.len(), 2, "the dead row was replaced, not copied: {all:?}");
    assert_eq!(store.replay(None, &[], NOW + 2 * SEC).await.expect("replay"), 1);
    let again = store.claim_deliveries("hook", NOW + 2 * SEC, NOW + 30 * SEC, 10).await.expect("claim");
    assert_eq!(again.iter().map(|d| d.event.seq).collect::<Vec<_>>(), [dead[0].event.seq]);
    assert!(again[0].id > replayed[0].id);
    store.mark_delivered(&[replayed[0].id, again[0].id], NOW + 2 * SEC).await.expect("delivered");
    assert_eq!(store.delivery_counts().await.expect("counts")[0].delivered, 2);

    // Purging takes delivered rows and the events that nothing refers to.
    assert_eq!(store.purge_outbox(NOW, 100).await.expect("purge"), 0, "too recent");
    assert_eq!(store.purge_outbox(NOW + 3 * SEC, 100).await.expect("purge"), 4, "2 deliveries and 2 events");
    assert!(store.delivery_counts().await.expect("counts").is_empty());
    // The events' rows went too: a new import's events are all that remain to dispatch.
    import(store, vec![finding("z", T0)]).await;
    assert_eq!(store.undispatched(10).await.expect("undispatched").len(), 1);
}

pub async fn rules_and_targets_are_kept<S: OutboxStore + ?Sized>(store: &S) {
    let target = TargetRecord {
        name: "slack".into(),
        kind: "slack".into(),
        config: json!({"url": "http://127.0.0.1:1/hook"}),
        created_at: T0,
    };
    store.put_target(target.clone()).await.expect("put");
    let changed = TargetRecord { config: json!({"url": "http://127.0.0.1:2/hook"}), ..target.clone() };
    store.put_target(changed.clone()).await.expect("put");
    assert_eq!(store.targets().await.expect("targets"), [changed]);
    let rule = RuleRecord {
        name: "critical".into(),
        pattern: json!({"detail": {"findings": {"Severity": {"Label": ["CRITICAL"]}}}}),
        targets: vec!["slack".into()],
        enabled: true,
        created_at: T0,
    };
    store.put_rule(rule.clone()).await.expect("put");
    store.put_rule(RuleRecord { name: "b".into(), enabled: false, ..rule.clone() }).await.expect("put");
    let rules = store.rules().await.expect("rules");
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[1], rule);
    assert!(!rules[0].enabled);
    assert!(store.delete_rule("b").await.expect("delete"));
    assert!(!store.delete_rule("b").await.expect("delete"));
    assert!(store.delete_target("slack").await.expect("delete"));
    assert!(store.targets().await.expect("targets").is_empty());
}

/// Every table of `from`, copied page by page (pages of 2, so that cursors are exercised).
async fn copy_all<A: RecordStore + ?Sized, B: RecordStore + ?Sized>(from: &A, to: &B) {
    for table in table_names() {
        let mut progress =
            CopyProgress { table: table.into(), source: "conformance".into(), cursor: None, copied: 0, done: false };
        loop {
            let page = from.export_records(table, progress.cursor.as_deref(), 2).await.expect("export");
            progress.done = page.records.len() < 2;
            if let Some(cursor) = page.cursor {
                progress.cursor = Some(cursor);
            }
            progress.copied += page.records.len() as u64;
            let written = to.import_records(table, &page.records, &progress).await.expect("import");
            assert_eq!(written, page.records.len() as u64, "{table}: every record of an empty store is written");
            if progress.done {
                break;
            }
        }
    }
}

/// Every record of a table, hashed, in key order.
async fn record_hashes<S: RecordStore + ?Sized>(store: &S, table: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.export_records(table, cursor.as_deref(), 3).await.expect("export");
        out.extend(page.records.iter().map(record_hash));
        match page.cursor {
            Some(c) if page.records.len() == 3 => cursor = Some(c),
            _ => return out,
        }
    }
}

/// The raw records of every table copy to another store (of the same backend here; the
/// binary's migrate test copies between backends): the copy holds the same records, behaves the
/// same through the traits (findings, page tokens, history, keys, state, outbox), and takes new
/// writes without colliding with copied sequence numbers or ids. Importing a page again writes
/// nothing.
pub async fn records_copy_to_another_store<S>(from: &S, to: &S)
where
    S: FindingStore + HubStateStore + OutboxStore + RecordStore,
{
    a_rule_listens(from).await;
    // Findings with history: created, updated by an import, updated by BatchUpdateFindings.
    let many: Vec<Map<String, Value>> = (0..7).map(|i| finding(&format!("c{i}"), T0 + i * SEC)).collect();
    import(from, many).await;
    import(from, vec![with(finding("c1", T0 + 100 * SEC), json!({"Title": "changed"}))]).await;
    update(from, json!({"FindingIdentifiers": [ident("c2")], "Workflow": {"Status": "NOTIFIED"}}), scope()).await;
    // The hub's state.
    let hub = Hub {
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        subscribed_at: T0,
        auto_enable_controls: false,
        control_finding_generator: "SECURITY_CONTROL".into(),
    };
    assert!(from.enable_hub(hub.clone()).await.expect("enable"));
    let key = SealedKey {
        key: AccessKey { access_key_id: "AKIACOPY".into(), account_id: ACCOUNT.into(), admin: true, created_at: T0 },
        sealed_secret: vec![0, 1, 2, 255],
    };
    assert!(from.create_key(key.clone()).await.expect("key"));
    let api_key = ApiKey {
        key_id: "k1".into(),
        account_id: ACCOUNT.into(),
        admin: false,
        created_at: T0,
        secret_hash: vec![9; 32],
    };
    assert!(from.create_api_key(api_key.clone()).await.expect("api key"));
    let product = CustomProduct {
        account_id: ACCOUNT.into(),
        product_id: "scanner".into(),
        name: "Scanner".into(),
        company: "Us".into(),
        description: "d".into(),
    };
    assert!(from.create_product(product.clone()).await.expect("product"));
    assert!(from.subscribe(ACCOUNT, REGION, GUARDDUTY).await.expect("subscribe"));
    assert!(from.subscribe(ACCOUNT, REGION, CONTROLS).await.expect("subscribe"));
    let arn = "arn:aws:securityhub:us-east-1:111111111111:hub/default";
    from.tag(arn, [("a".into(), "1".into()), ("b".into(), "2".into()), ("c".into(), "3".into())].into())
        .await
        .expect("tag");
    let target = ActionTarget {
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        id: "Slack".into(),
        name: "Send".into(),
        description: "to the team".into(),
        created_at: T0,
    };
    assert!(from.create_action_target(target.clone()).await.expect("action target"));
    let saved = insight(ACCOUNT, REGION, "4f7d5f38-0000-4000-8000-000000000001", T0);
    assert!(from.create_insight(saved.clone()).await.expect("insight"));
    assert_eq!(from.create_work_item(work_item("oi-1", ACCOUNT, "c1", T0)).await.expect("w"), WorkItemCreated::Created);
    // The outbox: targets, rules, dispatched events with deliveries (one failed), and an
    // undispatched event.
    let hook =
        TargetRecord { name: "hook".into(), kind: "webhook".into(), config: json!({"url": "x"}), created_at: T0 };
    from.put_target(hook.clone()).await.expect("target");
    let rule = hub_events_to_hook("all", true);
    from.put_rule(rule.clone()).await.expect("rule");
    dispatch_all(from, "hook").await;
    let claimed = from.claim_deliveries("hook", NOW, NOW + SEC, 10).await.expect("claim");
    assert!(!claimed.is_empty());
    from.mark_failed(claimed[0].id, 1, Some(NOW + 60 * SEC), "503").await.expect("failed");
    // A batch target's cursor, committed under its lease.
    assert!(from.try_lease("lake:hook", "a", NOW, NOW + 15 * SEC).await.expect("lease"));
    assert!(from.commit_target_cursor("lake:hook", "a", "hook", claimed[0].id, NOW).await.expect("commit"));
    import(from, vec![finding("c-late", T0)]).await;

    copy_all(from, to).await;
    assert_eq!(to.target_cursor("hook").await.expect("cursor"), claimed[0].id, "the cursor is copied");

    for table in table_names() {
        assert_eq!(
            to.count_records(table).await.expect("count"),
            from.count_records(table).await.expect("count"),
            "{table}: counts"
        );
        assert_eq!(record_hashes(to, table).await, record_hashes(from, table).await, "{table}: the records");
    }
    assert_eq!(to.count().await.expect("count"), 8);
    // Findings, pages and their tokens, history.
    let (page, token) = query(from, json!({}), json!([]), 3, None).await;
    let (copied, copied_token) = query(to, json!({}), json!([]), 3, None).await;
    assert_eq!(copied, page);
    assert_eq!(copied_token, token);
    let (rest, _) = query(to, json!({}), json!([]), 100, token.clone()).await;
    let (rest_from, _) = query(from, json!({}), json!([]), 100, token).await;
    assert_eq!(rest, rest_from, "a page token of the source pages the copy");
    for id in ["c1", "c2", "c3"] {
        let q = HistoryQuery {
            scope: scope(),
            identifier: FindingIdentifier { id: id.into(), product_arn: PRODUCT.into() },
            start: None,
            end: None,
            max_results: 100,
            next_token: None,
        };
        assert_eq!(
            to.finding_history(q.clone()).await.expect("history").records,
            from.finding_history(q).await.expect("history").records
        );
    }
    // The state and the outbox.
    assert_eq!(to.find_key("AKIACOPY").await.expect("key"), Some(key));
    assert_eq!(to.find_api_key("k1").await.expect("api key"), Some(api_key));
    assert_eq!(to.products(None).await.expect("products"), [product]);
    assert_eq!(to.hub(ACCOUNT, REGION).await.expect("hub"), Some(hub));
    assert_eq!(
        to.subscriptions(ACCOUNT, REGION).await.expect("subs"),
        from.subscriptions(ACCOUNT, REGION).await.expect("subs")
    );
    assert_eq!(to.tags(arn).await.expect("tags").len(), 3);
    assert_eq!(to.action_targets(ACCOUNT, REGION).await.expect("targets"), [target]);
    assert_eq!(to.insights(ACCOUNT, REGION).await.expect("insights"), [saved]);
    assert_eq!(to.work_item("oi-1").await.expect("work item"), from.work_item("oi-1").await.expect("work item"));
    assert_eq!(to.targets().await.expect("targets"), [hook]);
    let rules = to.rules().await.expect("rules");
    assert_eq!(rules, from.rules().await.expect("rules"));
    assert!(rules.contains(&rule), "{rules:?}");
    let all = DeliveryQuery { limit: 100, ..DeliveryQuery::default() };
    assert_eq!(to.deliveries(all.clone()).await.expect("deliveries"), from.deliveries(all.clone()).await.expect("d"));
    assert_eq!(to.undispatched(10).await.expect("undispatched"), from.undispatched(10).await.expect("undispatched"));

    // Importing a page again writes nothing.
    let progress =
        CopyProgress { table: FINDINGS.into(), source: "conformance".into(), cursor: None, copied: 8, done: true };
    let page = from.export_records(FINDINGS, None, 100).await.expect("export");
    assert_eq!(to.import_records(FINDINGS, &page.records, &progress).await.expect("import"), 0);
    assert_eq!(to.count().await.expect("count"), 8);
    let progress_rows = to.copy_progress().await.expect("progress");
    assert_eq!(progress_rows.len(), table_names().len());
    assert!(progress_rows.iter().all(|p| p.done && p.source == "conformance"));
    assert!(to.copy_progress().await.expect("progress").iter().any(|p| p.table == FINDINGS && p.copied == 8));

    // New writes on the copy take fresh numbers: a new finding, a history record newer than the
    // copied ones, a new event and delivery.
    let last_seq = to.undispatched(10).await.expect("undispatched").last().map(|e| e.seq).unwrap_or_default();
    assert_eq!(import(to, vec![finding("c-new", T0)]).await, [ImportStatus::Created]);
    assert_eq!(to.count().await.expect("count"), 9);
    update(to, json!({"FindingIdentifiers": [ident("c2")], "Note": {"Text": "n", "UpdatedBy": "me"}}), scope()).await;
    let history = to
        .finding_history(HistoryQuery {
            scope: scope(),
            identifier: FindingIdentifier { id: "c2".into(), product_arn: PRODUCT.into() },
            start: None,
            end: None,
            max_results: 1,
            next_token: None,
        })
        .await
        .expect("history");
    assert!(history.records[0].entry.updates.iter().any(|u| u.field == "Note"), "{:?}", history.records);
    let events = to.undispatched(10).await.expect("undispatched");
    assert!(events.last().map(|e| e.seq).unwrap_or_default() > last_seq, "new events follow the copied ones");
    let before = to.deliveries(all.clone()).await.expect("deliveries");
    dispatch_all(to, "hook").await;
    let after = to.deliveries(all).await.expect("deliveries");
    assert!(after.len() > before.len());
    let max_before = before.iter().map(|d| d.id).max().unwrap_or_default();
    assert!(after.iter().skip(before.len()).all(|d| d.id > max_before), "new delivery ids follow the copied ones");
}
