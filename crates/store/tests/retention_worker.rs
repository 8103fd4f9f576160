//! The retention worker purges what has expired in small batches and stops when told to.

use findinghub_asff::timestamp::{MICROS_PER_DAY, now_micros};
use findinghub_store::conformance::{batch, finding};
use findinghub_store::retention::{RetentionPolicy, RetentionSchedule, purge_all, run_worker};
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::{FindingStore, ImportStatus};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_purges_in_batches_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn FindingStore> = Arc::new(SqliteStore::open(dir.path()).expect("open"));
    let now = now_micros();
    let mut findings: Vec<_> = (0..25).map(|i| finding(&format!("old-{i}"), now - 120 * MICROS_PER_DAY)).collect();
    findings.push(finding("fresh", now - MICROS_PER_DAY));
    let mut archived = finding("archived", now - 40 * MICROS_PER_DAY);
    archived.insert("RecordState".into(), json!("ARCHIVED"));
    findings.push(archived);
    let mut b = batch(findings);
    b.now = now;
    let statuses = store.import(b).await.expect("import").statuses;
    assert!(statuses.iter().all(|s| *s == ImportStatus::Created));

    // One run, in batches of 4: everything expired goes, whatever the batch size.
    let schedule = RetentionSchedule { interval: Duration::from_millis(20), batch: 4, pause: Duration::from_millis(1) };
    let deleted = purge_all(store.as_ref(), &RetentionPolicy::default(), &schedule, now).await.expect("purge");
    assert_eq!(deleted, 26);
    assert_eq!(store.count().await.expect("count"), 1);

    // The worker: a shorter policy expires the last finding; shutdown ends the loop.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let policy = RetentionPolicy { active_days: 0, archived_days: 0 };
    let worker = tokio::spawn(run_worker(store.clone(), policy, schedule, stopped));
    for _ in 0..200 {
        if store.count().await.expect("count") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.count().await.expect("count"), 0);
    stop.send(true).expect("signal");
    tokio::time::timeout(Duration::from_secs(5), worker).await.expect("the worker stops").expect("no panic");
}
