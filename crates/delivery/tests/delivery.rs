//! Delivery against real HTTP receivers that the tests start on loopback: signatures, pattern
//! matching, retries on 500s, timeouts and a receiver that is down, giving up and replay, order per
//! finding, and a dead target that does not hold a live one back.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use findinghub_asff::timestamp::now_micros;
use findinghub_delivery::retry::RetryPolicy;
use findinghub_delivery::target::Target;
use findinghub_delivery::{DISPATCHER_LEASE, DeliveryService, DeliverySettings, NoObserver};
use findinghub_receivers::webhook;
use findinghub_store::FindingStore;
use findinghub_store::conformance::{batch, finding};
use findinghub_store::outbox::{DeliveryQuery, DeliveryState, OutboxStore, RuleRecord, TargetRecord};
use findinghub_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a receiver got, and how it answers.
#[derive(Default)]
struct Receiver {
    received: Mutex<Vec<(HeaderMap, Bytes)>>,
    /// Answer 500 to this many requests first.
    fail_first: AtomicUsize,
    /// Sleep this long before answering (a slow or hung receiver).
    delay_ms: AtomicUsize,
}

impl Receiver {
    fn bodies(&self) -> Vec<Value> {
        let got = self.received.lock().expect("lock");
        got.iter().map(|(_, b)| serde_json::from_slice(b).expect("JSON body")).collect()
    }
}

async fn start_receiver(receiver: Arc<Receiver>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = receiver.clone();
            async move {
                let delay = r.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay as u64)).await;
                }
                if r.fail_first.load(Ordering::SeqCst) > 0 {
                    r.fail_first.fetch_sub(1, Ordering::SeqCst);
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                r.received.lock().expect("lock").push((headers, body));
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

fn fast_settings() -> DeliverySettings {
    DeliverySettings {
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy { max_attempts: 4, max_age: 3_600_000_000, base_delay: 1_000, max_delay: 5_000 },
        request_timeout: Duration::from_millis(500),
        ..DeliverySettings::default()
    }
}

struct Fixture {
    store: Arc<SqliteStore>,
    service: Arc<DeliveryService>,
    _dir: tempfile::TempDir,
}

async fn fixture(settings: DeliverySettings) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let service =
        Arc::new(DeliveryService::new(store.clone(), settings, Arc::new(NoObserver)).expect("delivery service"));
    Fixture { store, service, _dir: dir }
}

async fn add_target(store: &SqliteStore, name: &str, kind: &str, config: Value) -> Target {
    store
        .put_target(TargetRecord { name: name.into(), kind: kind.into(), config: config.clone(), created_at: 0 })
        .await
        .expect("target");
    Target::from_record(name, kind, &config).expect("valid target")
}

async fn add_rule(store: &SqliteStore, name: &str, pattern: Value, targets: &[&str]) {
    store
        .put_rule(RuleRecord {
            name: name.into(),
            pattern,
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
            enabled: true,
            created_at: 0,
        })
        .await
        .expect("rule");
}

fn with_severity(id: &str, updated: i64, label: &str) -> serde_json::Map<String, Value> {
    let mut f = finding(id, updated);
    f.insert("Severity".into(), json!({"Label": label}));
    f
}

const T: i64 = 1_704_067_200_000_000;

/// The Id of the finding in each received event body.
fn finding_ids(received: &[(HeaderMap, Bytes)]) -> Vec<String> {
    received
        .iter()
        .map(|(_, b)| {
            let v: Value = serde_json::from_slice(b).expect("JSON");
            v["detail"]["findings"][0]["Id"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Runs the worker until nothing is due now (waiting out short backoffs), at most `rounds` times.
async fn drain(service: &DeliveryService, target: &Target, rounds: usize) {
    for _ in 0..rounds {
        service.dispatch_once().await.expect("dispatch");
        service.work_once(target).await.expect("work");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_events_arrive_signed_with_their_id() {
    let f = fixture(fast_settings()).await;
    let receiver = Arc::new(Receiver::default());
    let url = start_receiver(receiver.clone()).await;
    let target = add_target(&f.store, "hook", "webhook", json!({"url": url, "secret": "s3cret"})).await;
    add_rule(
        &f.store,
        "high",
        json!({"source": ["aws.securityhub"], "detail": {"findings": {"Severity": {"Label": ["CRITICAL", "HIGH"]}}}}),
        &["hook"],
    )
    .await;
    f.store
        .import(batch(vec![
            with_severity("h1", T, "HIGH"),
            with_severity("l1", T, "LOW"),
            with_severity("c1", T, "CRITICAL"),
        ]))
        .await
        .expect("import");
    drain(&f.service, &target, 2).await;

    let got = receiver.received.lock().expect("lock").clone();
    let ids = finding_ids(&got);
    assert_eq!(ids.len(), 2, "LOW does not match: {ids:?}");
    assert!(ids.contains(&"h1".to_owned()) && ids.contains(&"c1".to_owned()));
    for (headers, body) in &got {
        let signature = headers.get(webhook::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).expect("signed");
        let now = now_micros() / 1_000_000;
        webhook::verify(b"s3cret", signature, body, now, 300).expect("the signature verifies");
        assert!(webhook::verify(b"other", signature, body, now, 300).is_err());
        let event: Value = serde_json::from_slice(body).expect("JSON");
        let id_header = headers.get(webhook::EVENT_ID_HEADER).and_then(|v| v.to_str().ok());
        assert_eq!(id_header, event["id"].as_str(), "the event id travels in a header");
        assert_eq!(event["detail-type"], "Security Hub Findings - Imported");
    }
    let delivered = f
        .store
        .deliveries(DeliveryQuery { state: Some(DeliveryState::Delivered), limit: 10, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(delivered.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_and_order_per_finding_holds() {
    let f = fixture(fast_settings()).await;
    let receiver = Arc::new(Receiver::default());
    receiver.fail_first.store(3, Ordering::SeqCst);
    let url = start_receiver(receiver.clone()).await;
    let target = add_target(&f.store, "hook", "webhook", json!({"url": url})).await;
    add_rule(&f.store, "all", json!({"source": ["aws.securityhub"]}), &["hook"]).await;
    for n in 0..3 {
        f.store.import(batch(vec![finding("f", T + n * 1_000_000)])).await.expect("import");
    }
    drain(&f.service, &target, 30).await;
    let updates: Vec<String> = receiver
        .bodies()
        .iter()
        .map(|e| e["detail"]["findings"][0]["UpdatedAt"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(updates.len(), 3, "every version arrives once the receiver recovers");
    let mut sorted = updates.clone();
    sorted.sort();
    assert_eq!(updates, sorted, "in the order they were written");
    let all = f.store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(all[0].attempts, 4, "three 500s, then delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_a_receiver_that_is_down_end_dead_and_replay_delivers() {
    let f = fixture(fast_settings()).await;
    // Down: nothing listens on this port.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let down_url = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    let down = add_target(&f.store, "down", "webhook", json!({"url": down_url})).await;
    // Hung: answers after the timeout.
    let slow = Arc::new(Receiver::default());
    slow.delay_ms.store(2_000, Ordering::SeqCst);
    let slow_url = start_receiver(slow.clone()).await;
    let hung = add_target(&f.store, "hung", "webhook", json!({"url": slow_url, "timeout_secs": 1})).await;
    add_rule(&f.store, "all", json!({"detail-type": [{"prefix": "Security Hub"}]}), &["down", "hung"]).await;
    f.store.import(batch(vec![finding("x", T)])).await.expect("import");

    for _ in 0..8 {
        f.service.dispatch_once().await.expect("dispatch");
        f.service.work_once(&down).await.expect("work");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dead = f
        .store
        .deliveries(DeliveryQuery {
            target: Some("down".into()),
            state: Some(DeliveryState::Dead),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(dead.len(), 1, "gave up after max_attempts");
    assert_eq!(dead[0].attempts, 4);
    let error = dead[0].last_error.clone().unwrap_or_default();
    assert!(error.starts_with("gave up after 4 attempts"), "{error}");

    f.service.work_once(&hung).await.expect("work");
    let hung_state = f
        .store
        .deliveries(DeliveryQuery { target: Some("hung".into()), limit: 10, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(hung_state[0].state, DeliveryState::Pending);
    assert!(hung_state[0].last_error.clone().unwrap_or_default().contains("timed out"), "{:?}", hung_state[0]);

    // The receiver comes up: replaying the dead letter delivers it.
    let up = Arc::new(Receiver::default());
    let up_url = start_receiver(up.clone()).await;
    let revived = add_target(&f.store, "down", "webhook", json!({"url": up_url})).await;
    assert_eq!(f.store.replay(Some("down"), &[], now_micros()).await.expect("replay"), 1);
    f.service.work_once(&revived).await.expect("work");
    assert_eq!(up.bodies().len(), 1);
    assert_eq!(up.bodies()[0]["detail"]["findings"][0]["Id"], "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_target_does_not_hold_back_another() {
    let f = fixture(fast_settings()).await;
    let hung = Arc::new(Receiver::default());
    hung.delay_ms.store(5_000, Ordering::SeqCst);
    let hung_url = start_receiver(hung.clone()).await;
    let live = Arc::new(Receiver::default());
    let live_url = start_receiver(live.clone()).await;
    add_target(&f.store, "hung", "webhook", json!({"url": hung_url, "timeout_secs": 5})).await;
    add_target(&f.store, "live", "slack", json!({"url": live_url})).await;
    add_rule(&f.store, "all", json!({"source": ["aws.securityhub"]}), &["hung", "live"]).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(f.service.clone().run(stopped));
    let started = std::time::Instant::now();
    f.store.import(batch((0..20).map(|n| finding(&format!("s{n}"), T)).collect())).await.expect("import");
    f.service.change_notifier().notify_one();
    while live.bodies().len() < 20 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    assert_eq!(live.bodies().len(), 20, "the live target got everything");
    assert!(took < Duration::from_secs(4), "while the hung one waits 5 s per attempt ({took:?})");
    assert_eq!(live.bodies()[0]["blocks"][0]["type"], "header", "a Slack Block Kit message");
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_no_rule_could_choose_are_dispatched_to_nothing_and_a_later_rule_sees_only_later_events() {
    let f = fixture(fast_settings()).await;
    f.store.import(batch(vec![finding("never-kept", T)])).await.expect("import");
    assert_eq!(f.service.dispatch_once().await.expect("dispatch"), 0, "with no rule, the outbox kept nothing");
    // Events kept while a rule was enabled, whose rule is gone by the time they are dispatched.
    add_rule(&f.store, "gone", json!({"source": ["aws.securityhub"]}), &["nowhere"]).await;
    f.store.import(batch(vec![finding("before-1", T), finding("before-2", T)])).await.expect("import");
    assert!(f.store.delete_rule("gone").await.expect("delete rule"));
    assert_eq!(f.service.dispatch_once().await.expect("dispatch"), 2, "both events are dispatched");
    assert!(f.store.undispatched_seqs(10).await.expect("undispatched").is_empty());
    assert!(f.store.deliveries(DeliveryQuery { limit: 10, ..Default::default() }).await.expect("list").is_empty());

    let receiver = Arc::new(Receiver::default());
    let url = start_receiver(receiver.clone()).await;
    let target = add_target(&f.store, "hook", "webhook", json!({"url": url})).await;
    add_rule(&f.store, "all", json!({"source": ["aws.securityhub"]}), &["hook"]).await;
    f.store.import(batch(vec![finding("after", T)])).await.expect("import");
    drain(&f.service, &target, 2).await;
    let got = receiver.received.lock().expect("lock").clone();
    let ids = finding_ids(&got);
    assert_eq!(ids, ["after"], "events before the rule were not held for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatcher_renews_its_lease_only_once_half_of_it_has_passed() {
    let ttl = Duration::from_secs(2);
    let lease_free = |store: Arc<SqliteStore>| async move {
        let now = now_micros();
        store.try_lease(DISPATCHER_LEASE, "another instance", now, now + 1).await.expect("lease")
    };

    // Passes within the first half reuse the lease: it runs out 2 s after the first one.
    let f = fixture(DeliverySettings { claim_ttl: ttl, ..fast_settings() }).await;
    let first = std::time::Instant::now();
    f.service.dispatch_once().await.expect("dispatch");
    assert!(!lease_free(f.store.clone()).await, "the first pass takes the lease");
    tokio::time::sleep(Duration::from_millis(600)).await;
    f.service.dispatch_once().await.expect("dispatch");
    tokio::time::sleep((first + ttl + Duration::from_millis(100)).saturating_duration_since(std::time::Instant::now()))
        .await;
    assert!(lease_free(f.store.clone()).await, "a pass within the first half did not renew the lease");

    // A pass after the first half renews it.
    let f = fixture(DeliverySettings { claim_ttl: ttl, ..fast_settings() }).await;
    let first = std::time::Instant::now();
    f.service.dispatch_once().await.expect("dispatch");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    f.service.dispatch_once().await.expect("dispatch");
    tokio::time::sleep((first + ttl + Duration::from_millis(100)).saturating_duration_since(std::time::Instant::now()))
        .await;
    assert!(!lease_free(f.store.clone()).await, "the pass after the first half renewed the lease");
}
