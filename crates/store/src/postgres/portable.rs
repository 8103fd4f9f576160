//! [`RecordStore`] on PostgreSQL: raw records for `findinghub migrate`.

use super::{Fail, Pending, PostgresStore, insert_findings_with_seqs, pg_err};
use crate::StoreError;
use crate::portable::{
    self, CopyProgress, FINDINGS, FindingRecord, HistoryRow, Kind, RecordPage, RecordStore, Table, bad_record,
    bytes_value, unknown_table,
};
use async_trait::async_trait;
use deadpool_postgres::Transaction;
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

/// A value bound to a statement.
enum Bound {
    Text(String),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
    OptInt(Option<i64>),
    OptText(Option<String>),
}

impl Bound {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Bound::Text(v) => v,
            Bound::Int(v) => v,
            Bound::Bool(v) => v,
            Bound::Bytes(v) => v,
            Bound::OptInt(v) => v,
            Bound::OptText(v) => v,
        }
    }
}

/// `$n` cast to what the column takes (JSON travels as text).
fn placeholder(kind: Kind, pg_type: &str, n: usize) -> String {
    match kind {
        Kind::Text | Kind::OptText => format!("CAST(${n}::text AS {pg_type})"),
        Kind::Int | Kind::OptInt => format!("CAST(${n}::int8 AS {pg_type})"),
        Kind::Bool => format!("${n}::boolean"),
        Kind::Bytes => format!("${n}::bytea"),
        Kind::Json | Kind::JsonBlob => format!("CAST(${n}::text AS {pg_type})"),
    }
}

/// The column as a select list reads it.
fn select_expr(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Int | Kind::OptInt => format!("{name}::int8"),
        _ => name.to_owned(),
    }
}

fn bind(table: &str, kind: Kind, name: &str, record: &Value) -> Result<Bound, StoreError> {
    Ok(match kind {
        Kind::Text => Bound::Text(portable::text(table, record, name)?.to_owned()),
        Kind::Int => Bound::Int(portable::int(table, record, name)?),
        Kind::Bool => Bound::Bool(portable::boolean(table, record, name)?),
        Kind::Bytes => Bound::Bytes(portable::bytes(table, record, name)?),
        Kind::Json | Kind::JsonBlob => {
            Bound::Text(record.get(name).ok_or_else(|| bad_record(table, name))?.to_string())
        }
        Kind::OptInt => Bound::OptInt(match record.get(name) {
            None | Some(Value::Null) => None,
            Some(_) => Some(portable::int(table, record, name)?),
        }),
        Kind::OptText => Bound::OptText(match record.get(name) {
            None | Some(Value::Null) => None,
            Some(_) => Some(portable::text(table, record, name)?.to_owned()),
        }),
    })
}

fn read(row: &Row, i: usize, kind: Kind) -> Result<Value, Fail> {
    Ok(match kind {
        Kind::Text => Value::String(row.try_get(i)?),
        Kind::Int => Value::from(row.try_get::<_, i64>(i)?),
        Kind::Bool => Value::Bool(row.try_get(i)?),
        Kind::Bytes => bytes_value(&row.try_get::<_, Vec<u8>>(i)?),
        Kind::Json | Kind::JsonBlob => row.try_get(i)?,
        Kind::OptInt => row.try_get::<_, Option<i64>>(i)?.map(Value::from).unwrap_or(Value::Null),
        Kind::OptText => row.try_get::<_, Option<String>>(i)?.map(Value::String).unwrap_or(Value::Null),
    })
}

async fn export_table<C: GenericClient>(
    client: &C,
    t: &Table,
    after: Option<&str>,
    limit: usize,
) -> Result<RecordPage, Fail> {
    let cols: Vec<String> = t.columns.iter().map(|c| select_expr(c.kind, c.name)).collect();
    let key = t.key.join(", ");
    let mut bound = Vec::new();
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), t.name);
    if let Some(cursor) = after {
        let values = portable::parse_cursor(t.name, cursor, t.key.len())?;
        let mut holes = Vec::new();
        for (i, (k, v)) in t.key.iter().zip(values).enumerate() {
            let c = t.column(k).ok_or_else(|| unknown_table(k))?;
            bound.push(bind(t.name, c.kind, k, &serde_json::json!({ *k: v }))?);
            holes.push(placeholder(c.kind, c.pg_type, i + 1));
        }
        sql.push_str(&format!(" WHERE ({key}) > ({})", holes.join(", ")));
    }
    sql.push_str(&format!(" ORDER BY {key} LIMIT {limit}"));
    let params: Vec<&(dyn ToSql + Sync)> = bound.iter().map(Bound::as_sql).collect();
    let rows = client.query(&sql, &params).await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut record = serde_json::Map::new();
        for (i, c) in t.columns.iter().enumerate() {
            record.insert(c.name.to_owned(), read(row, i, c.kind)?);
        }
        records.push(Value::Object(record));
    }
    let cursor = records.last().map(|r| portable::cursor_of(t.name, r));
    Ok(RecordPage { records, cursor })
}

async fn export_findings<C: GenericClient>(client: &C, after: Option<&str>, limit: usize) -> Result<RecordPage, Fail> {
    let after = match after {
        Some(c) => portable::parse_cursor(FINDINGS, c, 1)?[0].as_i64().unwrap_or(i64::MIN),
        None => i64::MIN,
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client
        .query("SELECT seq, touched, doc FROM findings WHERE seq > $1 ORDER BY seq LIMIT $2", &[&after, &limit])
        .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let doc = match row.try_get::<_, Value>(2)? {
            Value::Object(m) => m,
            _ => return Err(bad_record(FINDINGS, "a stored document is not an object").into()),
        };
        found.push(FindingRecord { seq: row.try_get(0)?, touched: row.try_get(1)?, doc, history: Vec::new() });
    }
    if let (Some(first), Some(last)) = (found.first().map(|f| f.seq), found.last().map(|f| f.seq)) {
        let rows = client
            .query(
                "SELECT seq, id, update_time, created, source, identity, updates FROM finding_history \
                 WHERE seq >= $1 AND seq <= $2 ORDER BY seq, update_time, id",
                &[&first, &last],
            )
            .await?;
        let mut at = 0;
        for row in &rows {
            let seq: i64 = row.try_get(0)?;
            while found.get(at).is_some_and(|f| f.seq < seq) {
                at += 1;
            }
            if let Some(f) = found.get_mut(at).filter(|f| f.seq == seq) {
                f.history.push(HistoryRow {
                    id: row.try_get(1)?,
                    update_time: row.try_get(2)?,
                    created: row.try_get(3)?,
                    source: row.try_get(4)?,
                    identity: row.try_get(5)?,
                    updates: row.try_get(6)?,
                });
            }
        }
    }
    let records: Vec<Value> = found.iter().map(FindingRecord::to_value).collect();
    let cursor = records.last().map(|r| portable::cursor_of(FINDINGS, r));
    Ok(RecordPage { records, cursor })
}

/// Moves a sequence past the largest value copied into its column, so that new rows never take a
/// copied number.
async fn follow_sequence(tx: &Transaction<'_>, table: &str, column: &str) -> Result<(), Fail> {
    tx.execute(
        &format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), m) \
             FROM (SELECT max({column}) AS m FROM {table}) s WHERE m IS NOT NULL"
        ),
        &[],
    )
    .await?;
    Ok(())
}

async fn import_table(tx: &Transaction<'_>, t: &Table, records: &[Value]) -> Result<u64, Fail> {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    let holes: Vec<String> = t.columns.iter().enumerate().map(|(i, c)| placeholder(c.kind, c.pg_type, i + 1)).collect();
    let sql =
        format!("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING", t.name, cols.join(", "), holes.join(", "));
    let stmt = tx.prepare_cached(&sql).await?;
    let mut written = 0;
    for record in records {
        let bound: Vec<Bound> =
            t.columns.iter().map(|c| bind(t.name, c.kind, c.name, record)).collect::<Result<_, _>>()?;
        let params: Vec<&(dyn ToSql + Sync)> = bound.iter().map(Bound::as_sql).collect();
        written += tx.execute(&stmt, &params).await?;
    }
    match t.name {
        "outbox_events" => follow_sequence(tx, "outbox_events", "seq").await?,
        "deliveries" => follow_sequence(tx, "deliveries", "id").await?,
        _ => {}
    }
    Ok(written)
}

async fn import_findings(tx: &Transaction<'_>, records: &[Value]) -> Result<u64, Fail> {
    let records: Vec<FindingRecord> = records.iter().map(FindingRecord::parse).collect::<Result<_, _>>()?;
    let stored = records.iter().map(FindingRecord::stored).collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<(i64, &_)> = records.iter().map(|r| r.seq).zip(stored.iter()).collect();
    let inserted = insert_findings_with_seqs(tx, &rows).await?;
    // A copy writes the outbox's own rows, not events of its own.
    let mut pending = Pending::new(false);
    let (mut seqs, mut ids, mut times, mut created, mut sources, mut identities, mut updates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (record, finding) in records.iter().zip(&stored) {
        if !inserted.contains(&record.seq) {
            continue;
        }
        pending.changed(record.seq, None, finding);
        for h in &record.history {
            seqs.push(record.seq);
            ids.push(h.id);
            times.push(h.update_time);
            created.push(h.created);
            sources.push(h.source.as_str());
            identities.push(h.identity.as_str());
            updates.push(h.updates.to_string());
        }
    }
    // The attribute rows, derived from the documents as an import derives them.
    pending.flush(tx).await?;
    if !ids.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO finding_history (seq, id, update_time, created, source, identity, updates) \
                 OVERRIDING SYSTEM VALUE \
                 SELECT s, i, t, c, so, id, u::jsonb \
                 FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::bool[], $5::text[], $6::text[], $7::text[]) \
                 AS h(s, i, t, c, so, id, u) ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&stmt, &[&seqs, &ids, &times, &created, &sources, &identities, &updates]).await?;
    }
    follow_sequence(tx, "findings", "seq").await?;
    follow_sequence(tx, "finding_history", "id").await?;
    Ok(inserted.len() as u64)
}

async fn save_progress(tx: &Transaction<'_>, p: &CopyProgress) -> Result<(), Fail> {
    let copied = i64::try_from(p.copied).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO copy_progress (tbl, source, cursor, copied, done) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tbl) DO UPDATE SET source = excluded.source, cursor = excluded.cursor, \
         copied = excluded.copied, done = excluded.done",
        &[&p.table, &p.source, &p.cursor, &copied, &p.done],
    )
    .await?;
    Ok(())
}

impl PostgresStore {
    async fn import_records_once(&self, table: &str, records: &[Value], progress: &CopyProgress) -> Result<u64, Fail> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let written = match (table, portable::table(table)) {
            (FINDINGS, _) => import_findings(&tx, records).await?,
            (_, Some(t)) => import_table(&tx, t, records).await?,
            (name, None) => return Err(unknown_table(name).into()),
        };
        save_progress(&tx, progress).await?;
        tx.commit().await?;
        Ok(written)
    }
}

#[async_trait]
impl RecordStore for PostgresStore {
    async fn export_records(&self, table: &str, after: Option<&str>, limit: usize) -> Result<RecordPage, StoreError> {
        let client = self.client().await?;
        let page = match (table, portable::table(table)) {
            (FINDINGS, _) => export_findings(&**client, after, limit).await,
            (_, Some(t)) => export_table(&**client, t, after, limit).await,
            (name, None) => return Err(unknown_table(name)),
        };
        Ok(page?)
    }

    async fn import_records(&self, table: &str, records: &[Value], progress: &CopyProgress) -> Result<u64, StoreError> {
        let written = self.import_records_once(table, records, progress).await?;
        if table == FINDINGS {
            self.note_created(written);
        }
        Ok(written)
    }

    async fn copy_progress(&self) -> Result<Vec<CopyProgress>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT tbl, source, cursor, copied, done FROM copy_progress ORDER BY tbl", &[])
            .await
            .map_err(|e| pg_err(&e))?;
        rows.iter()
            .map(|r| {
                Ok(CopyProgress {
                    table: r.try_get(0)?,
                    source: r.try_get(1)?,
                    cursor: r.try_get(2)?,
                    copied: r.try_get::<_, i64>(3)?.max(0) as u64,
                    done: r.try_get(4)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(|e| pg_err(&e))
    }

    async fn count_records(&self, table: &str) -> Result<u64, StoreError> {
        let name = match (table, portable::table(table)) {
            (FINDINGS, _) => FINDINGS,
            (_, Some(t)) => t.name,
            (name, None) => return Err(unknown_table(name)),
        };
        let client = self.client().await?;
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {name}"), &[])
            .await
            .map_err(|e| pg_err(&e))?
            .try_get(0)
            .map_err(|e| pg_err(&e))?;
        Ok(n.max(0) as u64)
    }
}
