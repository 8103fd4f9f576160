//! Retention: ACTIVE findings are deleted 90 days after their last update, ARCHIVED ones after 30
//! (both configurable), by a worker that purges in small batches so that imports never wait long.

use crate::FindingStore;
use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, now_micros};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub active_days: u32,
    pub archived_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { active_days: 90, archived_days: 30 }
    }
}

impl RetentionPolicy {
    pub fn active_micros(&self) -> Micros {
        i64::from(self.active_days) * MICROS_PER_DAY
    }
    pub fn archived_micros(&self) -> Micros {
        i64::from(self.archived_days) * MICROS_PER_DAY
    }
}

/// How the purge worker paces itself.
#[derive(Debug, Clone)]
pub struct RetentionSchedule {
    /// Time between two purge runs.
    pub interval: Duration,
    /// Findings deleted per transaction.
    pub batch: usize,
    /// Pause between two batches of one run, so imports get the writer in between.
    pub pause: Duration,
}

impl Default for RetentionSchedule {
    fn default() -> Self {
        RetentionSchedule { interval: Duration::from_secs(3600), batch: 500, pause: Duration::from_millis(50) }
    }
}

/// Runs one purge to completion, batch by batch; returns how many findings it deleted.
pub async fn purge_all(
    store: &dyn FindingStore,
    policy: &RetentionPolicy,
    schedule: &RetentionSchedule,
    now: Micros,
) -> Result<u64, crate::StoreError> {
    let mut total = 0;
    loop {
        let n = store.purge_expired(policy, now, schedule.batch).await?;
        total += n;
        if (n as usize) < schedule.batch {
            return Ok(total);
        }
        tokio::time::sleep(schedule.pause).await;
    }
}

/// The retention worker: purges at every interval until `shutdown` turns true. Its state is the
/// findings' own timestamps, so a restart loses nothing.
pub async fn run_worker(
    store: Arc<dyn FindingStore>,
    policy: RetentionPolicy,
    schedule: RetentionSchedule,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match purge_all(store.as_ref(), &policy, &schedule, now_micros()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "retention purge"),
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(schedule.interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
