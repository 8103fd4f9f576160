//! The PostgreSQL store refreshes the planner's statistics of the finding tables after its imports
//! grow them, without waiting for autovacuum (which analyzes a table once a minute at most):
//! without statistics, an attribute filter over a few thousand fresh findings took seconds.

use findinghub_store::FindingStore;
use findinghub_store::conformance::{NOW, batch, finding};
use findinghub_store::postgres::PostgresStore;
use findinghub_store::postgres::testing::TestSchema;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_refresh_the_statistics_of_the_finding_tables() {
    let Some(schema) = TestSchema::create("the PostgreSQL statistics test (postgres_statistics)").await else {
        return;
    };
    let store = PostgresStore::open_with(&schema.url(), 4).await.expect("open the PostgreSQL store");
    let (client, connection) =
        tokio_postgres::connect(&schema.url(), tokio_postgres::NoTls).await.expect("a connection of the test's own");
    tokio::spawn(connection);
    let analyzed = || async {
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = $1 \
                 AND relname IN ('findings', 'finding_attrs') AND last_analyze IS NOT NULL",
                &[&schema.name()],
            )
            .await
            .expect("read the statistics' times");
        row.get::<_, i64>(0)
    };
    assert_eq!(analyzed().await, 0, "a new schema has no statistics");

    for b in 0..15 {
        let findings = (0..100).map(|i| finding(&format!("stats-{b}-{i}"), NOW - 1_000_000)).collect();
        store.import(batch(findings)).await.expect("import");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while analyzed().await < 2 {
        assert!(Instant::now() < deadline, "1,500 created findings did not refresh the statistics");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
