//! The outbox: the events that finding changes produce, written in the transaction of the change,
//! and their deliveries to targets, whose state (attempts, next attempt, dead letters) lives here
//! so that it survives restarts and is shared by every hub instance on one database.
//!
//! The flow: a change commits its events (`outbox_events`); one dispatcher at a time (a lease)
//! matches undispatched events against the rules and turns each match into a delivery row, in
//! one transaction; delivery workers claim due deliveries per target (a claim is a short lease, so
//! a crashed worker's claims come back), send them and record the outcome.

use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use findinghub_hub::events::{HubEvent, OutboxRecord, finding_imported_record};
use serde_json::Value;

use crate::StoreError;

/// An event as the outbox holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// The outbox's order: increasing in commit order for the events of one finding.
    pub seq: i64,
    pub event_id: String,
    pub ordering_key: i64,
    /// When the change that wrote it committed (the hub's clock).
    pub created_at: Micros,
    /// The envelope, as it is sent.
    pub envelope: Value,
}

/// A delivery that the dispatcher decided on: event `seq` goes to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub seq: i64,
    pub target: String,
    pub rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Given up (24 hours or 185 attempts): kept for inspection and replay.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// A delivery with its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Increasing in dispatch order (one dispatcher at a time).
    pub id: i64,
    pub target: String,
    pub rule: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the delivery was created: the 24-hour budget counts from here.
    pub created_at: Micros,
    pub next_attempt_at: Micros,
    pub last_error: Option<String>,
    pub event: OutboxEvent,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub target: Option<String>,
    pub state: Option<DeliveryState>,
    /// Only deliveries with a larger id (paging).
    pub after_id: Option<i64>,
    pub limit: usize,
}

/// How many deliveries a target has in each state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetCounts {
    pub target: String,
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

/// A configured target: where events go and how (`kind` and its JSON `config`: the delivery
/// crate knows their meaning, the store only keeps them).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRecord {
    pub name: String,
    pub kind: String,
    pub config: Value,
    pub created_at: Micros,
}

/// A rule: an EventBridge event pattern and the targets of the events that it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRecord {
    pub name: String,
    pub pattern: Value,
    pub targets: Vec<String>,
    pub enabled: bool,
    pub created_at: Micros,
}

/// The outbox and delivery state of a store.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Events that no finding change carries (custom actions), committed together.
    async fn append_events(&self, events: Vec<HubEvent>) -> Result<(), StoreError>;

    /// Takes or renews the named lease for `holder` until `until`; false when another holder has it.
    async fn try_lease(&self, name: &str, holder: &str, now: Micros, until: Micros) -> Result<bool, StoreError>;

    /// Gives the lease up, if `holder` has it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// The oldest events not yet dispatched, in `seq` order.
    async fn undispatched(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError>;

    /// The `seq`s of [`undispatched`](OutboxStore::undispatched), without reading the envelopes:
    /// what the dispatcher needs when no rule could match them.
    async fn undispatched_seqs(&self, limit: usize) -> Result<Vec<i64>, StoreError>;

    /// Marks events `seqs` dispatched and creates their deliveries, in one transaction, if
    /// `holder` still holds the dispatcher lease (`lease`); returns false (and changes nothing)
    /// when it does not.
    async fn dispatch(
        &self,
        lease: &str,
        holder: &str,
        now: Micros,
        seqs: &[i64],
        deliveries: Vec<NewDelivery>,
    ) -> Result<bool, StoreError>;

    /// Claims up to `limit` pending deliveries of `target` that are due at `now`, in id order,
    /// skipping any that has an earlier pending delivery of the same finding (ordering per finding)
    /// and those claimed by others until their claim lapses; claims them until `claim_until`.
    async fn claim_deliveries(
        &self,
        target: &str,
        now: Micros,
        claim_until: Micros,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records that these deliveries arrived.
    async fn mark_delivered(&self, ids: &[i64], now: Micros) -> Result<(), StoreError>;

    /// Records a failed attempt: the delivery waits until `next_attempt_at`, or is dead when
    /// `next_attempt_at` is `None`.
    async fn mark_failed(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Option<Micros>,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Deliveries, newest dispatch last.
    async fn deliveries(&self, query: DeliveryQuery) -> Result<Vec<Delivery>, StoreError>;

    /// Makes dead deliveries pending again (a fresh budget): these ids, or every dead delivery of
    /// `target` when `ids` is empty. Returns how many. A replayed delivery is dispatched anew: it
    /// gets a new id, above every other, so that a target that reads its deliveries in id order
    /// behind a cursor (the lake) reads it again rather than passing it by.
    async fn replay(&self, target: Option<&str>, ids: &[i64], now: Micros) -> Result<u64, StoreError>;

    /// How many deliveries each target has in each state.
    async fn delivery_counts(&self) -> Result<Vec<TargetCounts>, StoreError>;

    /// Deletes delivered deliveries older than `before` and the dispatched events that nothing
    /// refers to any more; returns how many rows went.
    async fn purge_outbox(&self, before: Micros, limit: usize) -> Result<u64, StoreError>;

    /// A batch target's cursor (the lake): the highest delivery id of `target` whose event it
    /// holds, 0 when none.
    async fn target_cursor(&self, target: &str) -> Result<i64, StoreError>;

    /// Records that a batch target holds every delivery of `target` up to `cursor`: sets its
    /// cursor (never lowering it) and marks its pending deliveries with ids up to `cursor`
    /// delivered, in one transaction, if `holder` still holds the lease `lease`; returns false
    /// (and changes nothing) when it does not.
    async fn commit_target_cursor(
        &self,
        lease: &str,
        holder: &str,
        target: &str,
        cursor: i64,
        now: Micros,
    ) -> Result<bool, StoreError>;

    async fn put_target(&self, target: TargetRecord) -> Result<(), StoreError>;
    async fn targets(&self) -> Result<Vec<TargetRecord>, StoreError>;
    /// False when no such target. (Callers check that no rule names it first.)
    async fn delete_target(&self, name: &str) -> Result<bool, StoreError>;

    async fn put_rule(&self, rule: RuleRecord) -> Result<(), StoreError>;
    async fn rules(&self) -> Result<Vec<RuleRecord>, StoreError>;
    async fn delete_rule(&self, name: &str) -> Result<bool, StoreError>;
}

/// Counts per (target, state) rows folded into one record per target.
pub(crate) fn fold_counts(rows: Vec<(String, String, i64)>) -> Vec<TargetCounts> {
    let mut out: Vec<TargetCounts> = Vec::new();
    for (target, state, n) in rows {
        if out.last().is_none_or(|c| c.target != target) {
            out.push(TargetCounts { target: target.clone(), ..TargetCounts::default() });
        }
        if let Some(c) = out.last_mut() {
            let n = n.max(0) as u64;
            match DeliveryState::parse(&state) {
                Some(DeliveryState::Pending) => c.pending += n,
                Some(DeliveryState::Delivered) => c.delivered += n,
                Some(DeliveryState::Dead) => c.dead += n,
                None => {}
            }
        }
    }
    out
}

pub(crate) fn parse_json(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("a stored JSON value cannot be read: {e}")))
}

/// The event that a finding change emits (a fresh id: receivers deduplicate on it).
pub fn imported_event(finding: &findinghub_hub::finding::StoredFinding, now: Micros) -> HubEvent {
    HubEvent::finding_imported(new_event_id(), finding, now)
}

/// [`imported_event`] as the outbox keeps it, for a store that writes it at once, around the
/// finding's document already serialised (`doc_json`).
pub fn imported_record(finding: &findinghub_hub::finding::StoredFinding, doc_json: &str, now: Micros) -> OutboxRecord {
    finding_imported_record(new_event_id(), finding, doc_json, now)
}

fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
