//! For random findings, random filters and random sort orders, the SQLite store returns, page by
//! page, exactly what the reference evaluator (`Filters::matches` plus the sort order) selects.
//! The generators and the check are shared with the other backends (`common/property.rs`).

mod common;

use common::property::{arb_corpus, arb_filters, arb_finding, arb_sort, check};
use findinghub_store::conformance::obj;
use findinghub_store::sqlite::SqliteStore;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_reference_evaluator(
        corpus in arb_corpus(),
        queries in prop::collection::vec((arb_filters(), arb_sort(), 1..12usize), 1..6),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(dir.path()).expect("open store");
            check(&store, &corpus, &queries).await;
        });
    }
}

#[test]
fn the_generators_make_valid_findings() {
    // Every generated finding passes the validator, so the property above tests real findings.
    let mut runner = proptest::test_runner::TestRunner::default();
    for i in 0..50 {
        let f = arb_finding(i).new_tree(&mut runner).expect("tree").current();
        let v = Value::Object(f);
        assert!(findinghub_asff::validate_finding(&v).is_ok(), "{:?}", findinghub_asff::validate_finding(&v));
    }
    let _ = obj(json!({}));
}
