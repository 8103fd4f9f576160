//! The lake target on a real SQLite store and a local directory: each delivery in exactly one
//! Parquet row, files of an uncommitted flush deleted at the start, the cursor committed with the
//! deliveries, a restart that writes only what is new, and one writer per target (the lease).

use arrow_array::{Array, Int64Array, StructArray};
use findinghub_asff::timestamp::now_micros;
use findinghub_delivery::lake::lease_name;
use findinghub_delivery::{DeliveryService, DeliverySettings, NoObserver};
use findinghub_store::FindingStore;
use findinghub_store::conformance::{batch, finding};
use findinghub_store::outbox::{DeliveryQuery, DeliveryState, OutboxStore, RuleRecord, TargetRecord};
use findinghub_store::sqlite::SqliteStore;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const T: i64 = 1_704_067_200_000_000;
const PARTITION: &str = "aws/SH_FINDINGS/2.0/region=us-east-1/accountId=111111111111/eventDay=20240101";

fn settings() -> DeliverySettings {
    DeliverySettings { poll_interval: Duration::from_millis(20), ..DeliverySettings::default() }
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `metadata.sequence` of every row of every sequenced file (the delivery ids), sorted.
fn sequences(dir: &Path) -> Vec<i64> {
    let mut out = Vec::new();
    for path in parquet_files(dir) {
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("export-")) {
            continue;
        }
        let file = std::fs::File::open(&path).expect("open");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file").build().expect("reader");
        for batch in reader {
            let batch = batch.expect("a batch");
            let metadata = batch.column_by_name("metadata").expect("metadata");
            let metadata = metadata.as_any().downcast_ref::<StructArray>().expect("a struct");
            let seq = metadata.column_by_name("sequence").expect("sequence");
            let seq = seq.as_any().downcast_ref::<Int64Array>().expect("int64");
            out.extend((0..seq.len()).map(|i| seq.value(i)));
        }
    }
    out.sort_unstable();
    out
}

async fn lake_ids(store: &SqliteStore, state: Option<DeliveryState>) -> Vec<i64> {
    let query = DeliveryQuery { target: Some("lake".into()), state, after_id: None, limit: 10_000 };
    store.deliveries(query).await.expect("deliveries").iter().map(|d| d.id).collect()
}

async fn wait_until_delivered(store: &SqliteStore, n: usize) {
    let started = Instant::now();
    while lake_ids(store, Some(DeliveryState::Delivered)).await.len() < n {
        assert!(started.elapsed() < Duration::from_secs(30), "the lake target did not deliver");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(store: &Arc<SqliteStore>) -> Running {
    let service = Arc::new(DeliveryService::new(store.clone(), settings(), Arc::new(NoObserver)).expect("service"));
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(service.run(rx));
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.expect("the service ends");
    }
}

/// A store in a temporary directory with a lake target `lake` (files under `<dir>/lake`, flushed
/// at once) that a rule sends every finding event to.
async fn lake_store() -> (tempfile::TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let lake = dir.path().join("lake");
    let store = Arc::new(SqliteStore::open(&dir.path().join("data")).expect("store"));
    let config = json!({"to": lake.to_str().expect("utf-8"), "max_file_age_secs": 0});
    store
        .put_target(TargetRecord { name: "lake".into(), kind: "lake".into(), config, created_at: 0 })
        .await
        .expect("target");
    let pattern = json!({"source": ["aws.securityhub"]});
    let rule = RuleRecord { name: "all".into(), pattern, targets: vec!["lake".into()], enabled: true, created_at: 0 };
    store.put_rule(rule).await.expect("rule");
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_delivery_lands_in_the_lake_once_across_restarts_and_leases() {
    let (dir, store) = lake_store().await;
    let lake = dir.path().join("lake");

    // What a crash left: the file of a flush whose cursor was never committed (deleted), a
    // backfill's file (kept) and a staging file (ignored).
    let partition = lake.join(PARTITION);
    std::fs::create_dir_all(&partition).expect("mkdir");
    let stray = partition.join("00000000000000000001-00000000000000000002-2003-stray.zstd.parquet");
    std::fs::write(&stray, b"half a flush").expect("write");
    let export = partition.join("export-2003-backfill.zstd.parquet");
    std::fs::write(&export, b"not ours").expect("write");

    store.import(batch(vec![finding("a", T), finding("b", T), finding("c", T)])).await.expect("import");
    store.import(batch(vec![finding("a", T + 1_000_000)])).await.expect("import");
    let running = start(&store);
    wait_until_delivered(&store, 4).await;
    running.stop().await;

    assert!(!stray.exists(), "the uncommitted flush's file is deleted");
    assert!(export.exists(), "a backfill is not the writer's to delete");
    let ids = lake_ids(&store, None).await;
    assert_eq!(ids.len(), 4);
    assert_eq!(sequences(&lake), ids, "each delivery in one row");
    assert_eq!(store.target_cursor("lake").await.expect("cursor"), ids[3]);

    // Another instance holds the lease: this one writes nothing until it lapses.
    store.import(batch(vec![finding("d", T)])).await.expect("import");
    let now = now_micros();
    assert!(store.try_lease(&lease_name("lake"), "another", now, now + 1_500_000).await.expect("lease"));
    let running = start(&store);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lake_ids(&store, Some(DeliveryState::Pending)).await.len(), 1, "not while another holds the lease");
    assert_eq!(sequences(&lake).len(), 4);
    wait_until_delivered(&store, 5).await;
    running.stop().await;

    let ids = lake_ids(&store, None).await;
    assert_eq!(sequences(&lake), ids, "after a restart, only what is new");
    let counts = store.delivery_counts().await.expect("counts");
    assert_eq!((counts[0].pending, counts[0].delivered, counts[0].dead), (0, 5, 0));
}

async fn wait_for_state(store: &SqliteStore, state: DeliveryState, n: usize) -> Vec<i64> {
    let started = Instant::now();
    loop {
        let ids = lake_ids(store, Some(state)).await;
        if ids.len() >= n {
            return ids;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no {n} {state:?} lake deliveries: {ids:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A finding that cannot become OCSF is a dead letter; replaying it tries it again behind the
/// cursor (it dies again here, since it still cannot be converted), and is never counted as
/// delivered without a row in the lake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_dead_letter_is_tried_again_never_passed_by() {
    let (dir, store) = lake_store().await;
    let lake = dir.path().join("lake");

    let mut untitled = finding("untitled", T);
    untitled.remove("Title");
    store.import(batch(vec![finding("a", T), untitled])).await.expect("import");
    let running = start(&store);
    let dead = wait_for_state(&store, DeliveryState::Dead, 1).await;
    wait_until_delivered(&store, 1).await;

    assert_eq!(store.replay(Some("lake"), &dead, now_micros()).await.expect("replay"), 1);
    store.import(batch(vec![finding("b", T)])).await.expect("import");
    wait_until_delivered(&store, 2).await;
    let dead_again = wait_for_state(&store, DeliveryState::Dead, 1).await;
    running.stop().await;

    assert!(dead_again[0] > dead[0], "replayed under a new id: {dead_again:?} after {dead:?}");
    let delivered = lake_ids(&store, Some(DeliveryState::Delivered)).await;
    assert_eq!(sequences(&lake), delivered, "every delivered delivery has its row, and only those");
    let counts = store.delivery_counts().await.expect("counts");
    assert_eq!((counts[0].pending, counts[0].delivered, counts[0].dead), (0, 2, 1));
}
