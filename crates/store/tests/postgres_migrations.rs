//! The PostgreSQL store's migrations: instances that open one database at once apply each
//! migration exactly once; a database newer than the binary, or a search_path without a schema,
//! is refused with a message.

use findinghub_store::conformance::{T0, batch, finding};
use findinghub_store::postgres::testing::TestSchema;
use findinghub_store::postgres::{MIGRATIONS, PostgresStore};
use findinghub_store::{FindingStore, ImportStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_once() {
    let Some(schema) = TestSchema::create("the PostgreSQL migration tests (postgres_migrations)").await else {
        return;
    };
    let url = schema.url();
    let opened = futures_join(&url).await;
    assert!(opened.iter().all(Result::is_ok), "{:?}", opened.iter().map(|r| r.as_ref().err()).collect::<Vec<_>>());
    let store = PostgresStore::open_with(&url, 2).await.expect("open again");
    let client = store.pool().get().await.expect("connection");
    let versions: Vec<i32> = client
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, (1..=MIGRATIONS.len() as i32).collect::<Vec<_>>());
    // The store works, and a database from a newer findinghub is refused.
    let statuses = store.import(batch(vec![finding("m", T0)])).await.expect("import").statuses;
    assert_eq!(statuses, [ImportStatus::Created]);
    client.execute("INSERT INTO schema_migrations (version) VALUES (999)", &[]).await.expect("insert");
    let refused = PostgresStore::open_with(&url, 1).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("version 999, newer than this findinghub knows"), "{refused}");
    drop(client);
    drop(store);
    // A search_path that names no schema.
    let missing = url.replace(schema.name(), &format!("{}_missing", schema.name()));
    let refused = PostgresStore::open_with(&missing, 1).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("no schema of the connection's search_path exists"), "{refused}");
}

/// Four stores opened on one schema at the same time.
async fn futures_join(url: &str) -> Vec<Result<PostgresStore, findinghub_store::StoreError>> {
    let (a, b, c, d) = tokio::join!(
        PostgresStore::open_with(url, 1),
        PostgresStore::open_with(url, 1),
        PostgresStore::open_with(url, 1),
        PostgresStore::open_with(url, 1)
    );
    vec![a, b, c, d]
}
