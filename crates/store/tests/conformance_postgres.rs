//! The conformance suite on PostgreSQL: each case in a schema of its own, dropped afterwards.
//! The server is `FINDINGHUB_TEST_POSTGRES` (see `findinghub_store::postgres::testing`).

use findinghub_store::postgres::PostgresStore;
use findinghub_store::postgres::testing::TestSchema;

async fn fresh() -> Option<(PostgresStore, TestSchema)> {
    let schema = TestSchema::create("the PostgreSQL conformance suite (conformance_postgres)").await?;
    let store = PostgresStore::open_with(&schema.url(), 4).await.expect("open the PostgreSQL store");
    Some((store, schema))
}

findinghub_store::conformance_suite!(optional fresh());
