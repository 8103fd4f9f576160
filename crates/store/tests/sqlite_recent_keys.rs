//! The embedded store's finding keys live in two tables (`finding_keys_recent`, folded now and
//! then into `finding_keys`): an import finds a finding under its key whichever table holds it,
//! before and after a fold, so that nothing is created twice.

use findinghub_store::conformance::{NOW, batch, finding, ts, whole_history};
use findinghub_store::sqlite::{DB_FILE, SqliteStore};
use findinghub_store::{FindingStore, ImportStatus};

/// More than one fold's worth (32,768) of findings.
const FINDINGS: usize = 33_500;

fn table_count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_are_found_by_key_before_and_after_a_fold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let id = |i: usize| format!("keyed-{i:06}");
    for start in (0..FINDINGS).step_by(500) {
        let findings = (start..(start + 500).min(FINDINGS)).map(|i| finding(&id(i), NOW - 10_000_000)).collect();
        let report = store.import(batch(findings)).await.expect("import");
        assert!(report.statuses.iter().all(|s| *s == ImportStatus::Created), "from {start}: {:?}", report.statuses);
    }

    let db = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("open the file");
    let folded = table_count(&db, "finding_keys");
    let recent = table_count(&db, "finding_keys_recent");
    assert!(folded >= 32_768, "the recent keys were folded: {folded} folded, {recent} recent");
    assert_eq!(folded + recent, FINDINGS as i64, "one key per finding");

    // Findings whose keys were folded, and findings whose keys are still recent, update in place.
    let again: Vec<usize> = vec![0, 16_000, 32_767, FINDINGS - 1];
    let updated = again
        .iter()
        .map(|&i| {
            let mut f = finding(&id(i), NOW - 5_000_000);
            f.insert("Title".into(), serde_json::json!(format!("Changed {i}")));
            f.insert("UpdatedAt".into(), serde_json::json!(ts(NOW - 5_000_000)));
            f
        })
        .collect();
    let report = store.import(batch(updated)).await.expect("import again");
    assert_eq!(report.statuses, vec![ImportStatus::Updated; again.len()]);
    assert_eq!(store.count().await.expect("count"), FINDINGS as u64, "nothing was created twice");

    for &i in &again {
        let page = whole_history(&store, &id(i)).await;
        assert_eq!(page.records.len(), 2, "finding {i}: its creation and its update");
    }

    // A store opened again folds on from the keys that it finds.
    drop(store);
    let store = SqliteStore::open(dir.path()).expect("open again");
    let report = store.import(batch(vec![finding(&id(1), NOW - 1_000_000)])).await.expect("import after reopening");
    assert_eq!(report.statuses, vec![ImportStatus::Updated]);
    assert_eq!(store.count().await.expect("count"), FINDINGS as u64);
}
