//! Two handles on one embedded store (`findinghub import` beside `findinghub serve`): each
//! handle's writer remembers in memory which finding keys exist (a Bloom filter), and a finding
//! that the other handle created must still be found under its key, and updated, not created
//! again.

use findinghub_store::conformance::{NOW, finding, ts, whole_history};
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::{FindingStore, ImportBatch, ImportStatus};
use std::sync::atomic::{AtomicI64, Ordering};

type Finding = serde_json::Map<String, serde_json::Value>;

/// A batch stamped at `now`.
fn batch_at(now: i64, findings: Vec<Finding>) -> ImportBatch {
    ImportBatch { now, ..findinghub_store::conformance::batch(findings) }
}

/// A batch stamped a microsecond after the previous one, as the clock of a real import would.
fn batch(findings: Vec<Finding>) -> ImportBatch {
    static CLOCK: AtomicI64 = AtomicI64::new(NOW);
    batch_at(CLOCK.fetch_add(1, Ordering::Relaxed), findings)
}

fn version(id: &str, at: i64, title: &str) -> Finding {
    let mut f = finding(id, at);
    f.insert("Title".into(), serde_json::json!(title));
    f.insert("UpdatedAt".into(), serde_json::json!(ts(at)));
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_created_by_another_handle_is_updated_not_created_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serve = SqliteStore::open(dir.path()).expect("open");
    // The first handle's writer builds its filter with findings of its own.
    let own: Vec<_> = (0..200).map(|i| finding(&format!("own-{i}"), NOW - 100_000_000)).collect();
    let report = serve.import(batch(own)).await.expect("import");
    assert!(report.statuses.iter().all(|s| *s == ImportStatus::Created));

    // The other handle creates a finding, then updates one of the first handle's.
    let cli = SqliteStore::open(dir.path()).expect("open a second handle");
    let report = cli
        .import(batch(vec![version("from-cli", NOW - 50_000_000, "first"), version("own-7", NOW - 50_000_000, "cli")]))
        .await
        .expect("import through the second handle");
    assert_eq!(report.statuses, vec![ImportStatus::Created, ImportStatus::Updated]);

    // The first handle finds the other's finding, though its filter never saw that key.
    let report =
        serve.import(batch(vec![version("from-cli", NOW - 10_000_000, "second")])).await.expect("import it again");
    assert_eq!(report.statuses, vec![ImportStatus::Updated], "found under its key, not created twice");
    assert_eq!(serve.count().await.expect("count"), 201);

    // And the second handle, whose filter was built before, finds the first handle's new finding.
    let report = serve.import(batch(vec![finding("late", NOW - 40_000_000)])).await.expect("a new finding");
    assert_eq!(report.statuses, vec![ImportStatus::Created]);
    let report =
        cli.import(batch(vec![version("late", NOW - 5_000_000, "updated by the cli")])).await.expect("update it");
    assert_eq!(report.statuses, vec![ImportStatus::Updated]);
    assert_eq!(cli.count().await.expect("count"), 202);
}

/// Each handle counts history ids on its own: two changes of one finding at the same instant,
/// one through each handle, whose counters stand at the same number, both keep their records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_at_the_same_instant_through_two_handles_both_keep_their_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serve = SqliteStore::open(dir.path()).expect("open");
    let cli = SqliteStore::open(dir.path()).expect("open a second handle");
    let at = |now: i64, f: Finding| batch_at(now, vec![f]);
    // Each handle writes one record (history id 1 in each).
    let created = serve.import(at(NOW, finding("shared", NOW - 9_000_000))).await.expect("serve creates");
    assert_eq!(created.statuses, vec![ImportStatus::Created]);
    let other = cli.import(at(NOW + 1, finding("other", NOW - 9_000_000))).await.expect("the cli creates");
    assert_eq!(other.statuses, vec![ImportStatus::Created]);
    // Then each changes the shared finding at the same instant: both would take history id 2.
    let same = NOW + 1_000_000;
    let report = cli.import(at(same, version("shared", NOW - 2_000_000, "the cli's"))).await.expect("the cli");
    assert_eq!(report.statuses, vec![ImportStatus::Updated]);
    let report = serve.import(at(same, version("shared", NOW - 1_000_000, "serve's"))).await.expect("serve");
    assert_eq!(report.statuses, vec![ImportStatus::Updated]);
    let history = whole_history(&serve, "shared").await;
    assert_eq!(history.records.len(), 3, "the creation and both changes");
}
