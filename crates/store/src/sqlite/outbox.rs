//! [`OutboxStore`] on SQLite. Every write goes through the one writer, so a claim and its update
//! are never interleaved with another claim.

use super::{SqliteStore, begin_write, decode_doc, encode_json, sql_err};
use crate::StoreError;
use crate::outbox::{
    Delivery, DeliveryQuery, DeliveryState, NewDelivery, OutboxEvent, OutboxStore, RuleRecord, TargetCounts,
    TargetRecord, imported_record,
};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use findinghub_hub::events::{HubEvent, OutboxRecord};
use findinghub_hub::finding::StoredFinding;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};
use serde_json::Value;

/// An outbox row as SQLite keeps it (the envelope compressed), made before the writer takes it
/// where it can be.
pub(super) struct EncodedEvent {
    id: String,
    ordering_key: i64,
    time: Micros,
    envelope: Vec<u8>,
}

impl EncodedEvent {
    pub(super) fn of(record: OutboxRecord) -> EncodedEvent {
        let envelope = encode_json(record.envelope_json.as_bytes());
        EncodedEvent { id: record.id, ordering_key: record.ordering_key, time: record.time, envelope }
    }

    /// The `Security Hub Findings - Imported` event of a finding change, around its document
    /// already serialised ([`super::doc_json`]).
    pub(super) fn imported(finding: &StoredFinding, doc_json: &str, now: Micros) -> EncodedEvent {
        EncodedEvent::of(imported_record(finding, doc_json, now))
    }
}

/// The outbox as one write transaction sees it. It keeps events only while an enabled rule
/// could choose them: EventBridge drops an event that no rule matches, and a rule applies to the
/// events after it, so an event written with no rule would only be marked dispatched and purged
/// (on import, those writes were two fifths of what the store wrote).
pub(super) struct OutboxWriter {
    keeps: bool,
}

impl OutboxWriter {
    pub(super) fn open(tx: &Transaction<'_>) -> Result<OutboxWriter, StoreError> {
        let keeps = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM delivery_rules WHERE enabled <> 0)")
            .map_err(sql_err)?
            .query_row([], |r| r.get(0))
            .map_err(sql_err)?;
        Ok(OutboxWriter { keeps })
    }

    pub(super) fn keeps(&self) -> bool {
        self.keeps
    }

    /// Writes the event that `event` makes, if the outbox keeps events (it is made only then).
    pub(super) fn write(
        &self,
        tx: &Transaction<'_>,
        event: impl FnOnce() -> Result<EncodedEvent, StoreError>,
    ) -> Result<(), StoreError> {
        if self.keeps { insert_event(tx, &event()?) } else { Ok(()) }
    }
}

/// Writes one event into the outbox, in the caller's transaction.
fn insert_event(tx: &Transaction<'_>, event: &EncodedEvent) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO outbox_events (event_id, ordering_key, created_at, dispatched, envelope) VALUES (?, ?, ?, 0, ?)",
    )
    .map_err(sql_err)?
    .execute(params![event.id, event.ordering_key, event.time, event.envelope])
    .map_err(sql_err)?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.target, d.rule, d.state, d.attempts, d.created_at, d.next_attempt_at, \
     d.last_error, e.seq, e.event_id, e.ordering_key, e.envelope, e.created_at";

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Delivery, Vec<u8>)> {
    let state: String = r.get(3)?;
    let attempts: i64 = r.get(4)?;
    Ok((
        Delivery {
            id: r.get(0)?,
            target: r.get(1)?,
            rule: r.get(2)?,
            state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            created_at: r.get(5)?,
            next_attempt_at: r.get(6)?,
            last_error: r.get(7)?,
            event: OutboxEvent {
                seq: r.get(8)?,
                event_id: r.get(9)?,
                ordering_key: r.get(10)?,
                created_at: r.get(12)?,
                envelope: Value::Null,
            },
        },
        r.get(11)?,
    ))
}

fn with_envelopes(rows: Vec<(Delivery, Vec<u8>)>) -> Result<Vec<Delivery>, StoreError> {
    rows.into_iter()
        .map(|(mut d, blob)| {
            d.event.envelope = decode_doc(&blob)?;
            Ok(d)
        })
        .collect()
}

fn select_deliveries(
    conn: &rusqlite::Connection,
    clause: &str,
    args: Vec<rusqlite::types::Value>,
    limit: Option<usize>,
) -> Result<Vec<Delivery>, StoreError> {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d JOIN outbox_events e ON e.seq = d.seq {clause} ORDER BY d.id{limit}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let rows = stmt.query_map(params_from_iter(args), delivery_row).map_err(sql_err)?;
    let rows = rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)?;
    with_envelopes(rows)
}

fn lease_held(tx: &Transaction<'_>, name: &str, holder: &str, now: Micros) -> Result<bool, StoreError> {
    let row: Option<(String, i64)> = tx
        .query_row("SELECT holder, until FROM leases WHERE name = ?", [name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql_err)?;
    Ok(matches!(row, Some((h, until)) if h == holder && until > now))
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn append_events(&self, events: Vec<HubEvent>) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            let outbox = OutboxWriter::open(&tx)?;
            for event in &events {
                outbox.write(&tx, || Ok(EncodedEvent::of(event.outbox_record())))?;
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn try_lease(&self, name: &str, holder: &str, now: Micros, until: Micros) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |conn, _| {
            let n = conn
                .execute(
                    "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?4)
                     ON CONFLICT (name) DO UPDATE SET holder = ?2, until = ?4
                     WHERE leases.holder = ?2 OR leases.until <= ?3",
                    params![name, holder, now, until],
                )
                .map_err(sql_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |conn, _| {
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", params![name, holder]).map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn undispatched(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, event_id, ordering_key, envelope, created_at FROM outbox_events
                     WHERE dispatched = 0 ORDER BY seq LIMIT ?",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(seq, event_id, ordering_key, blob, created_at)| {
                    Ok(OutboxEvent { seq, event_id, ordering_key, created_at, envelope: decode_doc(&blob)? })
                })
                .collect()
        })
        .await
    }

    async fn undispatched_seqs(&self, limit: usize) -> Result<Vec<i64>, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT seq FROM outbox_events WHERE dispatched = 0 ORDER BY seq LIMIT ?")
                .map_err(sql_err)?
                .query_map([limit as i64], |r| r.get::<_, i64>(0))
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)
        })
        .await
    }

    async fn dispatch(
        &self,
        lease: &str,
        holder: &str,
        now: Micros,
        seqs: &[i64],
        deliveries: Vec<NewDelivery>,
    ) -> Result<bool, StoreError> {
        let (lease, holder, seqs) = (lease.to_owned(), holder.to_owned(), seqs.to_vec());
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            if !lease_held(&tx, &lease, &holder, now)? {
                return Ok(false);
            }
            {
                let mut mark =
                    tx.prepare_cached("UPDATE outbox_events SET dispatched = 1 WHERE seq = ?").map_err(sql_err)?;
                for seq in &seqs {
                    mark.execute([seq]).map_err(sql_err)?;
                }
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO deliveries (seq, target, rule, ordering_key, state, attempts, created_at,
                             next_attempt_at, claimed_until)
                         SELECT seq, ?, ?, ordering_key, 'pending', 0, ?, ?, 0 FROM outbox_events WHERE seq = ?",
                    )
                    .map_err(sql_err)?;
                for d in &deliveries {
                    insert.execute(params![d.target, d.rule, now, now, d.seq]).map_err(sql_err)?;
                }
            }
            tx.commit().map_err(sql_err)?;
            Ok(true)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        target: &str,
        now: Micros,
        claim_until: Micros,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let target = target.to_owned();
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            let ids: Vec<i64> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT d.id FROM deliveries d
                         WHERE d.target = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2
                           AND d.claimed_until <= ?2
                           AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.target = d.target
                               AND p.ordering_key = d.ordering_key AND p.state = 'pending' AND p.id < d.id)
                         ORDER BY d.id LIMIT ?3",
                    )
                    .map_err(sql_err)?;
                stmt.query_map(params![target, now, limit as i64], |r| r.get(0))
                    .map_err(sql_err)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_err)?
            };
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            {
                let mut claim =
                    tx.prepare_cached("UPDATE deliveries SET claimed_until = ? WHERE id = ?").map_err(sql_err)?;
                for id in &ids {
                    claim.execute(params![claim_until, id]).map_err(sql_err)?;
                }
            }
            let placeholders = vec!["?"; ids.len()].join(", ");
            let claimed = select_deliveries(
                &tx,
                &format!("WHERE d.id IN ({placeholders})"),
                ids.iter().map(|i| rusqlite::types::Value::Integer(*i)).collect(),
                None,
            )?;
            tx.commit().map_err(sql_err)?;
            Ok(claimed)
        })
        .await
    }

    async fn mark_delivered(&self, ids: &[i64], now: Micros) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = ?,
                             last_error = NULL WHERE id = ? AND state = 'pending'",
                    )
                    .map_err(sql_err)?;
                for id in &ids {
                    stmt.execute(params![now, id]).map_err(sql_err)?;
                }
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn mark_failed(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Option<Micros>,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(move |conn, _| {
            let (state, next) = match next_attempt_at {
                Some(t) => ("pending", t),
                None => ("dead", 0),
            };
            conn.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, claimed_until = 0,
                     last_error = ?, finished_at = NULL
                 WHERE id = ? AND state = 'pending'",
                params![state, attempts, next, error, id],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn deliveries(&self, query: DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        self.read(move |conn| {
            let mut clause = vec!["d.id > ?".to_owned()];
            let mut args = vec![rusqlite::types::Value::Integer(query.after_id.unwrap_or(0))];
            if let Some(t) = query.target {
                clause.push("d.target = ?".into());
                args.push(rusqlite::types::Value::Text(t));
            }
            if let Some(s) = query.state {
                clause.push("d.state = ?".into());
                args.push(rusqlite::types::Value::Text(s.as_str().into()));
            }
            let limit = query.limit.clamp(1, 10_000);
            select_deliveries(conn, &format!("WHERE {}", clause.join(" AND ")), args, Some(limit))
        })
        .await
    }

    async fn replay(&self, target: Option<&str>, ids: &[i64], now: Micros) -> Result<u64, StoreError> {
        let (target, ids) = (target.map(str::to_owned), ids.to_vec());
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            let mut n = 0;
            {
                // A copy under a new id, then the dead row goes (see the trait).
                const COPY: &str = "INSERT INTO deliveries (seq, target, rule, ordering_key, state, attempts,
                         created_at, next_attempt_at, claimed_until)
                     SELECT seq, target, rule, ordering_key, 'pending', 0, ?3, ?3, 0 FROM deliveries";
                const WHERE: &str = "WHERE state = 'dead' AND (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR id = ?2)";
                let mut copy = tx.prepare_cached(&format!("{COPY} {WHERE} ORDER BY id")).map_err(sql_err)?;
                let mut delete = tx.prepare_cached(&format!("DELETE FROM deliveries {WHERE}")).map_err(sql_err)?;
                let each: Vec<Option<i64>> =
                    if ids.is_empty() { vec![None] } else { ids.iter().copied().map(Some).collect() };
                for id in each {
                    n += copy.execute(params![target, id, now]).map_err(sql_err)?;
                    delete.execute(params![target, id]).map_err(sql_err)?;
                }
            }
            tx.commit().map_err(sql_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn delivery_counts(&self) -> Result<Vec<TargetCounts>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT target, state, count(*) FROM deliveries GROUP BY target, state ORDER BY target")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            Ok(crate::outbox::fold_counts(rows))
        })
        .await
    }

    async fn purge_outbox(&self, before: Micros, limit: usize) -> Result<u64, StoreError> {
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            let deliveries = tx
                .execute(
                    "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
                         WHERE state = 'delivered' AND finished_at < ? LIMIT ?)",
                    params![before, limit as i64],
                )
                .map_err(sql_err)?;
            let events = tx
                .execute(
                    "DELETE FROM outbox_events WHERE seq IN (SELECT e.seq FROM outbox_events e
                         WHERE e.dispatched = 1 AND e.created_at < ?
                           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = e.seq) LIMIT ?)",
                    params![before, limit as i64],
                )
                .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok((deliveries + events) as u64)
        })
        .await
    }

    async fn target_cursor(&self, target: &str) -> Result<i64, StoreError> {
        let target = target.to_owned();
        self.read(move |conn| {
            let cursor: Option<i64> = conn
                .query_row("SELECT up_to FROM target_cursors WHERE target = ?", [target], |r| r.get(0))
                .optional()
                .map_err(sql_err)?;
            Ok(cursor.unwrap_or(0))
        })
        .await
    }

    async fn commit_target_cursor(
        &self,
        lease: &str,
        holder: &str,
        target: &str,
        cursor: i64,
        now: Micros,
    ) -> Result<bool, StoreError> {
        let (lease, holder, target) = (lease.to_owned(), holder.to_owned(), target.to_owned());
        self.write(move |conn, _| {
            let tx = begin_write(conn)?;
            if !lease_held(&tx, &lease, &holder, now)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO target_cursors (target, up_to, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (target) DO UPDATE SET up_to = max(up_to, excluded.up_to), updated_at = excluded.updated_at",
                params![target, cursor, now],
            )
            .map_err(sql_err)?;
            tx.execute(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = ?3, last_error = NULL
                 WHERE target = ?1 AND state = 'pending' AND id <= ?2",
                params![target, cursor, now],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(true)
        })
        .await
    }

    async fn put_target(&self, target: TargetRecord) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO delivery_targets (name, kind, config, created_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, config = excluded.config",
                params![target.name, target.kind, target.config.to_string(), target.created_at],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn targets(&self) -> Result<Vec<TargetRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT name, kind, config, created_at FROM delivery_targets ORDER BY name")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(name, kind, config, created_at)| {
                    Ok(TargetRecord { name, kind, config: crate::outbox::parse_json(&config)?, created_at })
                })
                .collect()
        })
        .await
    }

    async fn delete_target(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.write(move |conn, _| {
            Ok(conn.execute("DELETE FROM delivery_targets WHERE name = ?", [name]).map_err(sql_err)? > 0)
        })
        .await
    }

    async fn put_rule(&self, rule: RuleRecord) -> Result<(), StoreError> {
        self.write(move |conn, _| {
            let targets = serde_json::to_string(&rule.targets).map_err(crate::backend)?;
            conn.execute(
                "INSERT INTO delivery_rules (name, pattern, targets, enabled, created_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, targets = excluded.targets,
                     enabled = excluded.enabled",
                params![rule.name, rule.pattern.to_string(), targets, rule.enabled, rule.created_at],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    async fn rules(&self) -> Result<Vec<RuleRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT name, pattern, targets, enabled, created_at FROM delivery_rules ORDER BY name")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            rows.into_iter()
                .map(|(name, pattern, targets, enabled, created_at)| {
                    Ok(RuleRecord {
                        name,
                        pattern: crate::outbox::parse_json(&pattern)?,
                        targets: serde_json::from_str(&targets).map_err(crate::backend)?,
                        enabled,
                        created_at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn delete_rule(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.write(move |conn, _| {
            Ok(conn.execute("DELETE FROM delivery_rules WHERE name = ?", [name]).map_err(sql_err)? > 0)
        })
        .await
    }
}
