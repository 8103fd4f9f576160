//! Delivery of the outbox's events to their targets, as EventBridge delivers Security Hub's.
//!
//! Two kinds of task run in every hub instance; all their state is in the store:
//! - the **dispatcher** (one instance at a time, under a lease) matches each new event against the
//!   enabled rules and creates one delivery per matched target, in one transaction with marking
//!   the event dispatched;
//! - one **worker per target** claims due deliveries (a claim lapses if its worker dies), sends
//!   them concurrently, and records each outcome: delivered, retry later (exponential backoff with
//!   jitter), or dead after 24 hours or 185 attempts. A slow or dead target holds only its own
//!   worker; deliveries of one finding to one target go in order (the store's claim sees to it).
//!
//! Delivery is at least once: a worker that dies between sending and recording sends again after
//! its claim lapses. Receivers drop duplicates by the event id. The lake target is the exception:
//! its worker (`lake`) writes batches of deliveries into Parquet files exactly once, with a cursor
//! in the store.

pub mod lake;
pub mod retry;
pub mod target;

use findinghub_asff::timestamp::{Micros, now_micros};
use findinghub_receivers::pattern::EventPattern;
use findinghub_store::StoreError;
use findinghub_store::outbox::{Delivery, NewDelivery, OutboxEvent, OutboxStore, RuleRecord};
use futures_util::StreamExt;
use retry::{AfterFailure, RetryPolicy};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use target::{SendOutcome, Sender, Target, TargetKind};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use findinghub_receivers::chat::ChatOptions;

/// The lease that makes one dispatcher run at a time across instances.
pub const DISPATCHER_LEASE: &str = "dispatcher";

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// How often idle tasks look for work when nothing wakes them (other instances' commits).
    pub poll_interval: Duration,
    /// The dispatcher's lease; also the least that a claim holds deliveries (a claim holds them
    /// for as long as a round of attempts can take: a crashed worker's claims come back after it).
    pub claim_ttl: Duration,
    /// Deliveries claimed at once per target.
    pub batch: usize,
    /// Attempts in flight at once per target.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    pub chat: ChatOptions,
    /// Delivered deliveries are kept this long (for `findinghub deliveries list`), then purged.
    pub keep_delivered: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            poll_interval: Duration::from_millis(500),
            claim_ttl: Duration::from_secs(15),
            batch: 16,
            concurrency: 8,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(10),
            chat: ChatOptions { console_base_url: "http://127.0.0.1:4680".into(), detective_base_url: None },
            keep_delivered: Duration::from_secs(24 * 3600),
        }
    }
}

/// Figures for `/metrics`: the binary connects them to its registry.
pub trait DeliveryObserver: Send + Sync {
    /// A delivery arrived, `latency` after its event was committed.
    fn delivered(&self, target: &str, latency: Duration);
    /// An attempt failed; `dead` when it was the last.
    fn failed(&self, target: &str, dead: bool);
}

/// An observer that records nothing.
pub struct NoObserver;

impl DeliveryObserver for NoObserver {
    fn delivered(&self, _: &str, _: Duration) {}
    fn failed(&self, _: &str, _: bool) {}
}

/// The dispatcher and the target workers of one hub instance.
pub struct DeliveryService {
    store: Arc<dyn OutboxStore>,
    settings: DeliverySettings,
    sender: Sender,
    observer: Arc<dyn DeliveryObserver>,
    /// This instance's name in leases.
    instance: String,
    /// Poked after a local commit: the dispatcher looks at once.
    changes: Arc<Notify>,
    /// Poked after a dispatch: the workers look at once.
    dispatched: Arc<Notify>,
    /// Until when this instance holds the dispatcher's lease, as far as it knows (0: it does not).
    lease_until: AtomicI64,
}

/// The least time between the starts of two dispatch passes that commits woke: under a stream of
/// writes (an `/events` request each), passes ran back to back, each renewing the lease (a write
/// transaction) and reading the outbox, for about 6% of the server's CPU samples at one event per
/// request. This bounds them to 100 a second; what a commit wrote waits at most this long more.
const DISPATCH_MIN_GAP: Duration = Duration::from_millis(10);

fn micros(d: Duration) -> Micros {
    Micros::try_from(d.as_micros()).unwrap_or(Micros::MAX)
}

/// A rule whose pattern has been parsed.
struct CompiledRule {
    name: String,
    pattern: EventPattern,
    targets: Vec<String>,
}

fn compile(rules: Vec<RuleRecord>) -> Vec<CompiledRule> {
    rules
        .into_iter()
        .filter(|r| r.enabled)
        .filter_map(|r| match EventPattern::parse(&r.pattern) {
            Ok(pattern) => Some(CompiledRule { name: r.name, pattern, targets: r.targets }),
            Err(e) => {
                tracing::warn!(rule = %r.name, error = %e, "a stored rule's pattern does not parse; it matches nothing");
                None
            }
        })
        .collect()
}

impl DeliveryService {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        settings: DeliverySettings,
        observer: Arc<dyn DeliveryObserver>,
    ) -> Result<DeliveryService, reqwest::Error> {
        let sender = Sender::new(settings.chat.clone(), settings.request_timeout)?;
        Ok(DeliveryService {
            store,
            settings,
            sender,
            observer,
            instance: uuid::Uuid::new_v4().to_string(),
            changes: Arc::new(Notify::new()),
            dispatched: Arc::new(Notify::new()),
            lease_until: AtomicI64::new(0),
        })
    }

    /// Adds a target kind served inside the hub.
    pub fn with_local_target(self, kind: target::TargetKind, local: Arc<dyn target::LocalTarget>) -> DeliveryService {
        DeliveryService { sender: self.sender.with_local(kind, local), ..self }
    }

    /// Shares the API's notifier of commits (see [`DeliveryService::change_notifier`]).
    pub fn with_change_notifier(self, changes: Arc<Notify>) -> DeliveryService {
        DeliveryService { changes, ..self }
    }

    /// What the API pokes after each commit that wrote events.
    pub fn change_notifier(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let dispatcher = tokio::spawn(self.clone().dispatch_loop(stop.clone()));
        self.supervise(stop).await;
        let _ = dispatcher.await;
        let _ = self.store.release_lease(DISPATCHER_LEASE, &self.instance).await;
    }

    /// Dispatches what is undispatched now, if this instance gets the lease; returns how many
    /// events it dispatched.
    pub async fn dispatch_once(&self) -> Result<usize, StoreError> {
        if !self.hold_lease().await? {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let rules = compile(self.store.rules().await?);
            let (seqs, deliveries) = if rules.is_empty() {
                // No rule can choose a target: the events are only marked, their envelopes unread.
                (self.store.undispatched_seqs(500).await?, Vec::new())
            } else {
                let events = self.store.undispatched(500).await?;
                let deliveries = if events.is_empty() { Vec::new() } else { self.choose(&rules, &events).await? };
                (events.iter().map(|e| e.seq).collect(), deliveries)
            };
            if seqs.is_empty() {
                return Ok(total);
            }
            if !self.store.dispatch(DISPATCHER_LEASE, &self.instance, now_micros(), &seqs, deliveries).await? {
                self.lease_until.store(0, Ordering::Relaxed);
                return Ok(total);
            }
            total += seqs.len();
            self.dispatched.notify_waiters();
        }
    }

    /// Whether this instance holds the dispatcher's lease: it is renewed only once half of its time
    /// has passed, not on every pass (each renewal is a write transaction).
    async fn hold_lease(&self) -> Result<bool, StoreError> {
        let now = now_micros();
        let ttl = micros(self.settings.claim_ttl);
        if now < self.lease_until.load(Ordering::Relaxed) - ttl / 2 {
            return Ok(true);
        }
        let until = now + ttl;
        let held = self.store.try_lease(DISPATCHER_LEASE, &self.instance, now, until).await?;
        self.lease_until.store(if held { until } else { 0 }, Ordering::Relaxed);
        Ok(held)
    }

    /// The deliveries that the rules choose for events: one per event and existing target,
    /// whichever rules chose it (the first names it).
    async fn choose(&self, rules: &[CompiledRule], events: &[OutboxEvent]) -> Result<Vec<NewDelivery>, StoreError> {
        let known: BTreeSet<String> = self.store.targets().await?.into_iter().map(|t| t.name).collect();
        let mut deliveries = Vec::new();
        for event in events {
            let mut chosen: BTreeMap<&str, &str> = BTreeMap::new();
            for rule in rules.iter().filter(|r| r.pattern.matches(&event.envelope)) {
                for target in &rule.targets {
                    if known.contains(target) {
                        chosen.entry(target).or_insert(&rule.name);
                    } else {
                        tracing::warn!(rule = %rule.name, %target, "a rule names a target that does not exist");
                    }
                }
            }
            deliveries.extend(chosen.into_iter().map(|(target, rule)| NewDelivery {
                seq: event.seq,
                target: target.to_owned(),
                rule: rule.to_owned(),
            }));
        }
        Ok(deliveries)
    }

    async fn dispatch_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut last_purge = now_micros();
        while !*stop.borrow() {
            let pass = tokio::time::Instant::now();
            if let Err(e) = self.dispatch_once().await {
                tracing::warn!(error = %e, "dispatching events failed; trying again");
            }
            let now = now_micros();
            if now - last_purge > 60_000_000 {
                last_purge = now;
                let before = now - micros(self.settings.keep_delivered);
                match self.store.purge_outbox(before, 5000).await {
                    Ok(n) if n > 0 => tracing::debug!(rows = n, "purged delivered events"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purging the outbox failed"),
                }
            }
            tokio::select! {
                _ = self.changes.notified() => {
                    tokio::time::sleep_until(pass + DISPATCH_MIN_GAP).await;
                }
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Keeps one worker per configured target, restarting a worker when its target changes.
    async fn supervise(self: &Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut workers: HashMap<String, (Target, JoinHandle<()>)> = HashMap::new();
        while !*stop.borrow() {
            match self.store.targets().await {
                Ok(records) => {
                    let mut wanted = HashMap::new();
                    for r in records {
                        match Target::from_record(&r.name, &r.kind, &r.config) {
                            Ok(t) => {
                                wanted.insert(r.name, t);
                            }
                            Err(e) => tracing::warn!(target = %r.name, error = %e, "a stored target is not valid"),
                        }
                    }
                    workers.retain(|name, (target, handle)| {
                        let keep = wanted.get(name).is_some_and(|w| w == target);
                        if !keep {
                            handle.abort();
                        }
                        keep
                    });
                    for (name, target) in wanted {
                        if let std::collections::hash_map::Entry::Vacant(slot) = workers.entry(name) {
                            let handle = if target.kind == TargetKind::Lake {
                                tokio::spawn(self.clone().lake_work(target.clone(), stop.clone()))
                            } else {
                                tokio::spawn(self.clone().work(target.clone(), stop.clone()))
                            };
                            slot.insert((target, handle));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the targets failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = stop.changed() => {}
            }
        }
        for (_, (_, handle)) in workers {
            let _ = handle.await;
        }
    }

    /// Claims and sends this target's deliveries until told to stop.
    async fn work(self: Arc<Self>, target: Target, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let sent = match self.work_once(&target).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(target = %target.name, error = %e, "delivering failed; trying again");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    _ = self.dispatched.notified() => {}
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// How long a round of attempts to `target` can take, with room to record the outcomes.
    fn claim_span(&self, target: &Target) -> Duration {
        let timeout = target.timeout(self.settings.request_timeout);
        let concurrency = self.settings.concurrency.max(1);
        let waves = u32::try_from(self.settings.batch.div_ceil(concurrency)).unwrap_or(u32::MAX);
        (timeout.saturating_mul(waves) + Duration::from_secs(5)).max(self.settings.claim_ttl)
    }

    /// One round for one target: claims what is due, sends it, records the outcomes. Returns how
    /// many deliveries it attempted.
    pub async fn work_once(&self, target: &Target) -> Result<usize, StoreError> {
        let now = now_micros();
        let claimed = self
            .store
            .claim_deliveries(&target.name, now, now + micros(self.claim_span(target)), self.settings.batch)
            .await?;
        let n = claimed.len();
        let outcomes: Vec<(Delivery, SendOutcome)> = futures_util::stream::iter(claimed)
            .map(|d| async move {
                let outcome = self.sender.send(target, &d.event.event_id, &d.event.envelope).await;
                (d, outcome)
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let now = now_micros();
        let mut delivered = Vec::new();
        for (d, outcome) in outcomes {
            let attempts = d.attempts.saturating_add(1);
            match outcome {
                SendOutcome::Delivered => {
                    let latency = Duration::from_micros(u64::try_from(now - d.event.created_at).unwrap_or(0));
                    self.observer.delivered(&target.name, latency);
                    delivered.push(d.id);
                }
                SendOutcome::Retry(error) => {
                    let next = match self.settings.retry.after_failure(attempts, d.created_at, now, rand::random()) {
                        AfterFailure::RetryAt(t) => Some(t),
                        AfterFailure::GiveUp => None,
                    };
                    self.observer.failed(&target.name, next.is_none());
                    let error = match next {
                        Some(_) => error,
                        None => format!("gave up after {attempts} attempts: {error}"),
                    };
                    tracing::debug!(target = %target.name, delivery = d.id, attempts, %error, "delivery failed");
                    self.store.mark_failed(d.id, attempts, next, &error).await?;
                }
                SendOutcome::Refused(error) => {
                    self.observer.failed(&target.name, true);
                    tracing::warn!(target = %target.name, delivery = d.id, %error, "the target refused a delivery");
                    self.store.mark_failed(d.id, attempts, None, &format!("refused: {error}")).await?;
                }
            }
        }
        if !delivered.is_empty() {
            self.store.mark_delivered(&delivered, now).await?;
        }
        Ok(n)
    }
}
