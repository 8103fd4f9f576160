//! [`OutboxStore`] on PostgreSQL, for several hub instances on one database: the dispatcher runs
//! under a lease row that its transaction locks, and claims take rows with `FOR UPDATE SKIP
//! LOCKED`, so two instances never claim the same delivery at once.

use super::{Fail, PostgresStore, pg_err};
use crate::StoreError;
use crate::outbox::{
    Delivery, DeliveryQuery, DeliveryState, NewDelivery, OutboxEvent, OutboxStore, RuleRecord, TargetCounts,
    TargetRecord, fold_counts,
};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use findinghub_hub::events::HubEvent;
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};

fn err(e: tokio_postgres::Error) -> StoreError {
    pg_err(&e)
}

/// Whether the outbox keeps the events of the caller's transaction: only while an enabled rule
/// could choose them. As in the embedded store (`OutboxWriter`), the outbox does not keep events
/// that no rule would read, since a rule applies to the events after it.
pub(super) async fn keeps_events(tx: &deadpool_postgres::Transaction<'_>) -> Result<bool, Fail> {
    let rules = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM delivery_rules WHERE enabled)").await?;
    Ok(tx.query_one(&rules, &[]).await?.try_get::<_, bool>(0)?)
}

/// Writes events into the outbox in the caller's transaction, in order (the caller has asked
/// [`keeps_events`]).
pub(super) async fn insert_events(tx: &deadpool_postgres::Transaction<'_>, events: &[HubEvent]) -> Result<(), Fail> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let keys: Vec<i64> = events.iter().map(|e| e.ordering_key).collect();
    let times: Vec<i64> = events.iter().map(|e| e.time).collect();
    let bodies: Vec<String> = events.iter().map(HubEvent::envelope_json).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO outbox_events (event_id, ordering_key, created_at, dispatched, envelope) \
             SELECT e.i, e.k, e.t, false, e.v::json \
             FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[]) WITH ORDINALITY AS e(i, k, t, v, n) \
             ORDER BY e.n",
        )
        .await?;
    tx.execute(&stmt, &[&ids, &keys, &times, &bodies]).await?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.target, d.rule, d.state, d.attempts, d.created_at, d.next_attempt_at, \
     d.last_error, e.seq, e.event_id, e.ordering_key, e.envelope, e.created_at";

fn delivery_row(r: &Row) -> Result<Delivery, StoreError> {
    let state: String = r.try_get(3).map_err(err)?;
    let attempts: i32 = r.try_get(4).map_err(err)?;
    let Json(envelope): Json<Value> = r.try_get(11).map_err(err)?;
    Ok(Delivery {
        id: r.try_get(0).map_err(err)?,
        target: r.try_get(1).map_err(err)?,
        rule: r.try_get(2).map_err(err)?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
        attempts: u32::try_from(attempts).unwrap_or(0),
        created_at: r.try_get(5).map_err(err)?,
        next_attempt_at: r.try_get(6).map_err(err)?,
        last_error: r.try_get(7).map_err(err)?,
        event: OutboxEvent {
            seq: r.try_get(8).map_err(err)?,
            event_id: r.try_get(9).map_err(err)?,
            ordering_key: r.try_get(10).map_err(err)?,
            created_at: r.try_get(12).map_err(err)?,
            envelope,
        },
    })
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn append_events(&self, events: Vec<HubEvent>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        if keeps_events(&tx).await? {
            insert_events(&tx, &events).await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn try_lease(&self, name: &str, holder: &str, now: Micros, until: Micros) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4) \
                 ON CONFLICT (name) DO UPDATE SET holder = $2, until = $4 \
                 WHERE leases.holder = $2 OR leases.until <= $3",
                &[&name, &holder, &now, &until],
            )
            .await?;
        Ok(n == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.exec("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&name, &holder]).await?;
        Ok(())
    }

    async fn undispatched(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let rows = self
            .rows(
                "SELECT seq, event_id, ordering_key, envelope, created_at FROM outbox_events \
                 WHERE NOT dispatched ORDER BY seq LIMIT $1",
                &[&limit_param(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let Json(envelope): Json<Value> = r.try_get(3).map_err(err)?;
                Ok(OutboxEvent {
                    seq: r.try_get(0).map_err(err)?,
                    event_id: r.try_get(1).map_err(err)?,
                    ordering_key: r.try_get(2).map_err(err)?,
                    created_at: r.try_get(4).map_err(err)?,
                    envelope,
                })
            })
            .collect()
    }

    async fn undispatched_seqs(&self, limit: usize) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .rows("SELECT seq FROM outbox_events WHERE NOT dispatched ORDER BY seq LIMIT $1", &[&limit_param(limit)])
            .await?;
        rows.iter().map(|r| r.try_get(0).map_err(err)).collect()
    }

    async fn dispatch(
        &self,
        lease: &str,
        holder: &str,
        now: Micros,
        seqs: &[i64],
        deliveries: Vec<NewDelivery>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        // The lease row stays locked until commit: nobody takes the lease over mid-dispatch.
        let held = lease_held(&tx, lease, holder, now).await?;
        if !held {
            return Ok(false);
        }
        tx.execute("UPDATE outbox_events SET dispatched = true WHERE seq = ANY($1)", &[&seqs]).await.map_err(err)?;
        if !deliveries.is_empty() {
            let seq: Vec<i64> = deliveries.iter().map(|d| d.seq).collect();
            let target: Vec<&str> = deliveries.iter().map(|d| d.target.as_str()).collect();
            let rule: Vec<&str> = deliveries.iter().map(|d| d.rule.as_str()).collect();
            tx.execute(
                "INSERT INTO deliveries (seq, target, rule, ordering_key, state, attempts, created_at, \
                     next_attempt_at, claimed_until) \
                 SELECT n.seq, n.target, n.rule, e.ordering_key, 'pending', 0, $4, $4, 0 \
                 FROM unnest($1::int8[], $2::text[], $3::text[]) WITH ORDINALITY AS n(seq, target, rule, o) \
                 JOIN outbox_events e ON e.seq = n.seq ORDER BY n.o",
                &[&seq, &target, &rule, &now],
            )
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn claim_deliveries(
        &self,
        target: &str,
        now: Micros,
        claim_until: Micros,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        let claimed = tx
            .query(
                "WITH c AS (SELECT d.id FROM deliveries d \
                     WHERE d.target = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2 \
                       AND d.claimed_until <= $2 \
                       AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.target = d.target \
                           AND p.ordering_key = d.ordering_key AND p.state = 'pending' AND p.id < d.id) \
                     ORDER BY d.id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 UPDATE deliveries SET claimed_until = $4 FROM c WHERE deliveries.id = c.id \
                 RETURNING deliveries.id",
                &[&target, &now, &limit_param(limit), &claim_until],
            )
            .await
            .map_err(err)?;
        let ids: Vec<i64> = claimed.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>().map_err(err)?;
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            tx.query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN outbox_events e ON e.seq = d.seq \
                     WHERE d.id = ANY($1) ORDER BY d.id"
                ),
                &[&ids],
            )
            .await
            .map_err(err)?
        };
        tx.commit().await.map_err(err)?;
        rows.iter().map(delivery_row).collect()
    }

    async fn mark_delivered(&self, ids: &[i64], now: Micros) -> Result<(), StoreError> {
        self.exec(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = $2, last_error = NULL \
             WHERE id = ANY($1) AND state = 'pending'",
            &[&ids, &now],
        )
        .await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Option<Micros>,
        error: &str,
    ) -> Result<(), StoreError> {
        let (state, next) = match next_attempt_at {
            Some(t) => ("pending", t),
            None => ("dead", 0),
        };
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.exec(
            "UPDATE deliveries SET state = $1, attempts = $2, next_attempt_at = $3, claimed_until = 0, \
                 last_error = $4, finished_at = NULL WHERE id = $5 AND state = 'pending'",
            &[&state, &attempts, &next, &error, &id],
        )
        .await?;
        Ok(())
    }

    async fn deliveries(&self, query: DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let state = query.state.map(DeliveryState::as_str);
        let limit = limit_param(query.limit.clamp(1, 10_000));
        let rows = self
            .rows(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN outbox_events e ON e.seq = d.seq \
                     WHERE d.id > $1 AND ($2::text IS NULL OR d.target = $2) AND ($3::text IS NULL OR d.state = $3) \
                     ORDER BY d.id LIMIT $4"
                ),
                &[&query.after_id.unwrap_or(0), &query.target, &state, &limit],
            )
            .await?;
        rows.iter().map(delivery_row).collect()
    }

    async fn replay(&self, target: Option<&str>, ids: &[i64], now: Micros) -> Result<u64, StoreError> {
        let all = ids.is_empty();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        // The new ids must commit in id order with the dispatcher's (a reader behind a cursor
        // must never see an id commit below one that it has read): this lock waits for a
        // dispatch in progress and holds the next one back until the replay commits.
        tx.batch_execute("LOCK TABLE deliveries IN SHARE ROW EXCLUSIVE MODE").await.map_err(err)?;
        let n = tx
            .execute(
                "WITH old AS (DELETE FROM deliveries \
                     WHERE state = 'dead' AND ($2::text IS NULL OR target = $2) AND ($3 OR id = ANY($4)) \
                     RETURNING id, seq, target, rule, ordering_key) \
                 INSERT INTO deliveries (seq, target, rule, ordering_key, state, attempts, created_at, \
                     next_attempt_at, claimed_until) \
                 SELECT seq, target, rule, ordering_key, 'pending', 0, $1, $1, 0 FROM old ORDER BY id",
                &[&now, &target, &all, &ids],
            )
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(n)
    }

    async fn delivery_counts(&self) -> Result<Vec<TargetCounts>, StoreError> {
        let rows = self
            .rows("SELECT target, state, count(*) FROM deliveries GROUP BY target, state ORDER BY target", &[])
            .await?;
        let rows = rows
            .iter()
            .map(|r| Ok((r.try_get(0).map_err(err)?, r.try_get(1).map_err(err)?, r.try_get(2).map_err(err)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(fold_counts(rows))
    }

    async fn purge_outbox(&self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        let limit = limit_param(limit);
        let deliveries = self
            .exec(
                "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
                     WHERE state = 'delivered' AND finished_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                &[&before, &limit],
            )
            .await?;
        let events = self
            .exec(
                "DELETE FROM outbox_events WHERE seq IN (SELECT e.seq FROM outbox_events e \
                     WHERE e.dispatched AND e.created_at < $1 \
                       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = e.seq) \
                     LIMIT $2 FOR UPDATE SKIP LOCKED)",
                &[&before, &limit],
            )
            .await?;
        Ok(deliveries + events)
    }

    async fn target_cursor(&self, target: &str) -> Result<i64, StoreError> {
        let rows = self.rows("SELECT up_to FROM target_cursors WHERE target = $1", &[&target]).await?;
        match rows.first() {
            Some(r) => r.try_get(0).map_err(err),
            None => Ok(0),
        }
    }

    async fn commit_target_cursor(
        &self,
        lease: &str,
        holder: &str,
        target: &str,
        cursor: i64,
        now: Micros,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        // The lease row stays locked until commit, as in `dispatch`.
        let held = lease_held(&tx, lease, holder, now).await?;
        if !held {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO target_cursors (target, up_to, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (target) DO UPDATE SET up_to = greatest(target_cursors.up_to, excluded.up_to), \
                 updated_at = excluded.updated_at",
            &[&target, &cursor, &now],
        )
        .await
        .map_err(err)?;
        tx.execute(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = $3, last_error = NULL \
             WHERE target = $1 AND state = 'pending' AND id <= $2",
            &[&target, &cursor, &now],
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn put_target(&self, target: TargetRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO delivery_targets (name, kind, config, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, config = excluded.config",
            &[&target.name, &target.kind, &Json(&target.config), &target.created_at],
        )
        .await?;
        Ok(())
    }

    async fn targets(&self) -> Result<Vec<TargetRecord>, StoreError> {
        let rows = self.rows("SELECT name, kind, config, created_at FROM delivery_targets ORDER BY name", &[]).await?;
        rows.iter()
            .map(|r| {
                let Json(config): Json<Value> = r.try_get(2).map_err(err)?;
                Ok(TargetRecord {
                    name: r.try_get(0).map_err(err)?,
                    kind: r.try_get(1).map_err(err)?,
                    config,
                    created_at: r.try_get(3).map_err(err)?,
                })
            })
            .collect()
    }

    async fn delete_target(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.exec("DELETE FROM delivery_targets WHERE name = $1", &[&name]).await? > 0)
    }

    async fn put_rule(&self, rule: RuleRecord) -> Result<(), StoreError> {
        let params: [&(dyn ToSql + Sync); 5] =
            [&rule.name, &Json(&rule.pattern), &Json(&rule.targets), &rule.enabled, &rule.created_at];
        self.exec(
            "INSERT INTO delivery_rules (name, pattern, targets, enabled, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, targets = excluded.targets, \
                 enabled = excluded.enabled",
            &params,
        )
        .await?;
        Ok(())
    }

    async fn rules(&self) -> Result<Vec<RuleRecord>, StoreError> {
        let rows = self
            .rows("SELECT name, pattern, targets, enabled, created_at FROM delivery_rules ORDER BY name", &[])
            .await?;
        rows.iter()
            .map(|r| {
                let Json(pattern): Json<Value> = r.try_get(1).map_err(err)?;
                let Json(targets): Json<Vec<String>> = r.try_get(2).map_err(err)?;
                Ok(RuleRecord {
                    name: r.try_get(0).map_err(err)?,
                    pattern,
                    targets,
                    enabled: r.try_get(3).map_err(err)?,
                    created_at: r.try_get(4).map_err(err)?,
                })
            })
            .collect()
    }

    async fn delete_rule(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.exec("DELETE FROM delivery_rules WHERE name = $1", &[&name]).await? > 0)
    }
}

/// Whether `holder` still holds `lease`, locking its row until the transaction ends so that nobody
/// takes the lease over meanwhile.
async fn lease_held(
    tx: &tokio_postgres::Transaction<'_>,
    lease: &str,
    holder: &str,
    now: Micros,
) -> Result<bool, StoreError> {
    let row = tx
        .query_opt(
            "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND until > $3 FOR UPDATE",
            &[&lease, &holder, &now],
        )
        .await
        .map_err(err)?;
    Ok(row.is_some())
}
