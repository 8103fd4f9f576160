//! The lake target: its deliveries become rows of Parquet files in a Security Lake, exactly once.
//!
//! One writer per lake target at a time, across every hub instance: the worker holds the lease
//! `lake:<target>` while it writes (renewed before each round and each flush). It reads the
//! target's pending deliveries in id order (ids increase in dispatch order, and one dispatcher at
//! a time commits them, so a delivery never appears below one already read), buffers them in a
//! [`LakeWriter`] with the delivery id as the sequence number, and when a file is due (size or
//! age) flushes: every file is written under a temporary name and made visible whole (a rename
//! on disk; an S3 PUT), named with the first and last delivery ids it holds. Only then does it
//! commit, in one transaction and only while it still holds the lease, the target's cursor (the
//! highest id flushed) and the deliveries up to it as delivered.
//!
//! Recovery, at every start of a session (a restart, a lost lease, a failed flush): the cursor is
//! read, and every file whose first id is above it is deleted, since it was written by a flush
//! whose commit never happened; then the deliveries above the cursor are read again. A flush
//! takes everything buffered since the previous one, so its files hold only ids above the
//! previous cursor: after a crash at any point each delivery is in exactly one visible file, or
//! in none and still pending. A finding that cannot be converted to OCSF is a dead letter (its
//! id still moves the cursor).
//!
//! What a lease cannot rule out: a writer that stalls for longer than the lease (15 s by default)
//! between renewing it and its PUT could make a file visible after another instance took over
//! and recovered. Its commit then fails and it deletes its files, but a crash in between would
//! leave them.

use crate::DeliveryService;
use crate::target::{LakeTargetConfig, Target};
use findinghub_asff::timestamp::{Micros, now_micros};
use findinghub_lake::{LakeError, LakeSink, LakeWriter, ObjectStoreSink};
use findinghub_store::StoreError;
use findinghub_store::outbox::{DeliveryQuery, DeliveryState};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The lease of a lake target's writer.
pub fn lease_name(target: &str) -> String {
    format!("lake:{target}")
}

/// Deliveries read from the store at once.
const READ_BATCH: usize = 2000;

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Lake(#[from] LakeError),
}

/// Why a session ended without an error.
enum Ended {
    Stopped,
    LostLease,
    NotHolder,
}

/// What has been buffered since the last commit.
#[derive(Default)]
struct Uncommitted {
    /// (delivery id, when its event was committed), for the metrics.
    written: Vec<(i64, Micros)>,
    /// Deliveries whose findings cannot be converted: dead letters.
    refused: Vec<(i64, String)>,
}

struct Session<'a> {
    service: &'a DeliveryService,
    name: &'a str,
    lease: String,
    writer: LakeWriter<ObjectStoreSink>,
    uncommitted: Uncommitted,
}

impl DeliveryService {
    /// The worker of one lake target: sessions under the lease, until told to stop.
    pub(crate) async fn lake_work(self: Arc<Self>, target: Target, mut stop: watch::Receiver<bool>) {
        let Some(config) = target.lake.clone() else { return };
        let lease = lease_name(&target.name);
        let mut failures = 0u32;
        while !*stop.borrow() {
            let pause = match self.lake_session(&target.name, &config, &mut stop).await {
                Ok(Ended::Stopped) => break,
                Ok(Ended::LostLease | Ended::NotHolder) => {
                    failures = 0;
                    self.settings.poll_interval
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(target = %target.name, error = %e, "writing the lake failed; recovering");
                    self.observer.failed(&target.name, false);
                    // 1 s, 2 s, 4 s … up to a minute.
                    Duration::from_secs(1u64 << failures.min(6).saturating_sub(1)).min(Duration::from_secs(60))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
        let _ = self.store.release_lease(&lease, &self.instance).await;
    }

    async fn renew(&self, lease: &str) -> Result<bool, StoreError> {
        let now = now_micros();
        self.store.try_lease(lease, &self.instance, now, now + crate::micros(self.settings.claim_ttl)).await
    }

    /// One session: takes the lease, recovers, then reads, writes and commits while it holds it.
    async fn lake_session(
        &self,
        name: &str,
        config: &LakeTargetConfig,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ended, SessionError> {
        let lease = lease_name(name);
        if !self.renew(&lease).await? {
            return Ok(Ended::NotHolder);
        }
        let mut writer = LakeWriter::new(config.writer_config(), config.sink()?);
        let cursor = self.store.target_cursor(name).await?;
        let deleted = writer.recover(u64::try_from(cursor).unwrap_or(0)).await?;
        tracing::info!(target = name, cursor, deleted = deleted.len(), "lake writer recovered");
        let mut session = Session { service: self, name, lease, writer, uncommitted: Uncommitted::default() };
        session.run(cursor, stop).await
    }
}

impl Session<'_> {
    async fn run(&mut self, cursor: i64, stop: &mut watch::Receiver<bool>) -> Result<Ended, SessionError> {
        let mut after = cursor;
        loop {
            if *stop.borrow() {
                self.flush_and_commit().await?;
                return Ok(Ended::Stopped);
            }
            if !self.service.renew(&self.lease).await? {
                tracing::info!(target = self.name, "the lake writer lost its lease");
                return Ok(Ended::LostLease);
            }
            let batch = self
                .service
                .store
                .deliveries(DeliveryQuery {
                    target: Some(self.name.to_owned()),
                    state: Some(DeliveryState::Pending),
                    after_id: Some(after),
                    limit: READ_BATCH,
                })
                .await?;
            let full = batch.len() == READ_BATCH;
            if let Some(last) = batch.last() {
                after = last.id;
            }
            let items: Vec<(u64, Vec<&Map<String, Value>>)> = batch
                .iter()
                .map(|d| {
                    let findings = d.event.envelope["detail"]["findings"]
                        .as_array()
                        .map(|all| all.iter().filter_map(Value::as_object).collect())
                        .unwrap_or_default();
                    (u64::try_from(d.id).unwrap_or(0), findings)
                })
                .collect();
            let refused = self.writer.append_many(&items)?;
            for (seq, e) in &refused {
                tracing::warn!(target = self.name, delivery = seq, error = %e, "a finding cannot go to the lake");
            }
            for d in &batch {
                match refused.iter().find(|(seq, _)| i64::try_from(*seq).ok() == Some(d.id)) {
                    Some((_, e)) => self.uncommitted.refused.push((d.id, format!("refused: {e}"))),
                    None => self.uncommitted.written.push((d.id, d.event.created_at)),
                }
            }
            if self.writer.due_for_flush(Instant::now()) && !self.flush_and_commit().await? {
                return Ok(Ended::LostLease);
            }
            if !full {
                tokio::select! {
                    _ = self.service.dispatched.notified() => {}
                    _ = tokio::time::sleep(self.service.settings.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Writes what is buffered, then commits the cursor; false when the lease was lost (what the
    /// flush wrote is then deleted again).
    async fn flush_and_commit(&mut self) -> Result<bool, SessionError> {
        if self.writer.buffered_rows() == 0
            && self.uncommitted.written.is_empty()
            && self.uncommitted.refused.is_empty()
        {
            return Ok(true);
        }
        // The lease runs for a whole TTL from here: long enough for the files to be written.
        if !self.service.renew(&self.lease).await? {
            return Ok(false);
        }
        let Some(seq) = self.writer.flush().await? else { return Ok(true) };
        let store = &self.service.store;
        for (id, error) in std::mem::take(&mut self.uncommitted.refused) {
            store.mark_failed(id, 1, None, &error).await?;
            self.service.observer.failed(self.name, true);
        }
        let cursor = i64::try_from(seq).unwrap_or(i64::MAX);
        let now = now_micros();
        if !store.commit_target_cursor(&self.lease, &self.service.instance, self.name, cursor, now).await? {
            tracing::warn!(target = self.name, "the lake writer lost its lease while writing; removing its files");
            for path in &self.writer.last_flush().files {
                self.writer.sink().delete(path).await?;
            }
            return Ok(false);
        }
        let report = self.writer.last_flush();
        tracing::debug!(target = self.name, cursor, files = report.files.len(), rows = report.rows, "lake flushed");
        for (_, created_at) in std::mem::take(&mut self.uncommitted.written) {
            let latency = Duration::from_micros(u64::try_from(now - created_at).unwrap_or(0));
            self.service.observer.delivered(self.name, latency);
        }
        Ok(true)
    }
}
