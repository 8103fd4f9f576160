//! The property test on PostgreSQL: for random findings, filters, sort orders and page sizes, the
//! PostgreSQL store returns, page by page, exactly what the reference evaluator selects. Each case
//! in a schema of its own. The server is `FINDINGHUB_TEST_POSTGRES`.

mod common;

use common::property::{arb_corpus, arb_filters, arb_sort, check};
use findinghub_store::postgres::PostgresStore;
use findinghub_store::postgres::testing::TestSchema;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_reference_evaluator(
        corpus in arb_corpus(),
        queries in prop::collection::vec((arb_filters(), arb_sort(), 1..12usize), 1..6),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async {
            let Some(schema) = TestSchema::create("the PostgreSQL property test (property_postgres)").await else {
                return;
            };
            let store = PostgresStore::open_with(&schema.url(), 2).await.expect("open the PostgreSQL store");
            check(&store, &corpus, &queries).await;
        });
    }
}
