//! Two handles on one SQLite data directory, as a running `findinghub serve` and a
//! `findinghub credentials create` beside it: each one's writes go through while the other
//! writes, and nothing is refused for a lock (`database is locked`).

use findinghub_store::conformance::{NOW, batch, finding};
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::state::{ApiKey, HubStateStore};
use findinghub_store::{FindingStore, ImportStatus};

const BATCHES: usize = 60;
const PER_BATCH: usize = 50;
const KEYS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_handle_writing_never_makes_an_import_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = SqliteStore::open(dir.path()).expect("open the first handle");
    let command = SqliteStore::open(dir.path()).expect("open the second handle");

    let keys = tokio::spawn(async move {
        for i in 0..KEYS {
            let key = ApiKey {
                key_id: format!("fhk_test{i}"),
                account_id: "111111111111".into(),
                admin: false,
                created_at: NOW,
                secret_hash: vec![0; 32],
            };
            match command.create_api_key(key).await {
                Ok(created) => assert!(created, "key {i} was not created"),
                Err(e) => panic!("creating key {i} failed: {e}"),
            }
        }
        command
    });
    for b in 0..BATCHES {
        let findings = (0..PER_BATCH).map(|i| finding(&format!("f-{b}-{i}"), NOW - 1)).collect();
        let report = match server.import(batch(findings)).await {
            Ok(r) => r,
            Err(e) => panic!("import of batch {b} failed: {e}"),
        };
        assert!(report.statuses.iter().all(|s| *s == ImportStatus::Created), "batch {b}: {:?}", report.statuses);
    }
    let command = keys.await.expect("the key writer");

    assert_eq!(server.count().await.expect("count"), (BATCHES * PER_BATCH) as u64);
    for i in [0, KEYS / 2, KEYS - 1] {
        let key = server.find_api_key(&format!("fhk_test{i}")).await.expect("read a key");
        assert!(key.is_some(), "key {i} is missing");
    }
    assert_eq!(command.count().await.expect("count through the second handle"), (BATCHES * PER_BATCH) as u64);
}
