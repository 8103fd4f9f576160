//! [`RecordStore`] on SQLite: raw records for `findinghub migrate`.

use super::{SqliteStore, begin_write, decode_doc, encode_json, hot_params, insert_key, sql_err, write_attrs};
use crate::StoreError;
use crate::columns::{HOT_COLUMNS, attr_values};
use crate::portable::{
    self, CopyProgress, FINDINGS, FindingRecord, HistoryRow, Kind, RecordPage, RecordStore, Table, bad_record,
    bytes_value, unknown_table,
};
use async_trait::async_trait;
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, Transaction, params, params_from_iter};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};

fn to_json(table: &str, kind: Kind, v: Sql) -> Result<Value, StoreError> {
    let bad = || bad_record(table, "a stored value has an unexpected type");
    Ok(match (kind, v) {
        (Kind::OptInt | Kind::OptText, Sql::Null) => Value::Null,
        (Kind::Text | Kind::OptText, Sql::Text(s)) => Value::String(s),
        (Kind::Int | Kind::OptInt, Sql::Integer(i)) => Value::from(i),
        (Kind::Bool, Sql::Integer(i)) => Value::Bool(i != 0),
        (Kind::Bytes, Sql::Blob(b)) => bytes_value(&b),
        (Kind::Json, Sql::Text(s)) => crate::outbox::parse_json(&s)?,
        (Kind::JsonBlob, Sql::Blob(b)) => decode_doc(&b)?,
        _ => return Err(bad()),
    })
}

fn to_sql(table: &str, kind: Kind, name: &str, record: &Value) -> Result<Sql, StoreError> {
    Ok(match kind {
        Kind::Text => Sql::Text(portable::text(table, record, name)?.to_owned()),
        Kind::Int => Sql::Integer(portable::int(table, record, name)?),
        Kind::Bool => Sql::Integer(i64::from(portable::boolean(table, record, name)?)),
        Kind::Bytes => Sql::Blob(portable::bytes(table, record, name)?),
        Kind::Json => Sql::Text(record.get(name).ok_or_else(|| bad_record(table, name))?.to_string()),
        Kind::JsonBlob => {
            let json = record.get(name).ok_or_else(|| bad_record(table, name))?.to_string();
            Sql::Blob(encode_json(json.as_bytes()))
        }
        Kind::OptInt => match record.get(name) {
            None | Some(Value::Null) => Sql::Null,
            Some(_) => Sql::Integer(portable::int(table, record, name)?),
        },
        Kind::OptText => match record.get(name) {
            None | Some(Value::Null) => Sql::Null,
            Some(_) => Sql::Text(portable::text(table, record, name)?.to_owned()),
        },
    })
}

fn key_sql(t: &Table, cursor: &str) -> Result<Vec<Sql>, StoreError> {
    let values = portable::parse_cursor(t.name, cursor, t.key.len())?;
    t.key
        .iter()
        .zip(values)
        .map(|(k, v)| {
            let kind = t.column(k).map(|c| c.kind).unwrap_or(Kind::Text);
            to_sql(t.name, kind, k, &serde_json::json!({ *k: v }))
        })
        .collect()
}

fn export_table(conn: &Connection, t: &Table, after: Option<&str>, limit: usize) -> Result<RecordPage, StoreError> {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    let key = t.key.join(", ");
    let mut params = Vec::new();
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), t.name);
    if let Some(cursor) = after {
        params = key_sql(t, cursor)?;
        sql.push_str(&format!(" WHERE ({key}) > ({})", vec!["?"; t.key.len()].join(", ")));
    }
    sql.push_str(&format!(" ORDER BY {key} LIMIT {limit}"));
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let rows: Vec<Vec<Sql>> = stmt
        .query_map(params_from_iter(params), |r| (0..cols.len()).map(|i| r.get::<_, Sql>(i)).collect())
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let mut record = serde_json::Map::new();
        for (c, v) in t.columns.iter().zip(row) {
            record.insert(c.name.to_owned(), to_json(t.name, c.kind, v)?);
        }
        records.push(Value::Object(record));
    }
    let cursor = records.last().map(|r| portable::cursor_of(t.name, r));
    Ok(RecordPage { records, cursor })
}

fn export_findings(conn: &Connection, after: Option<&str>, limit: usize) -> Result<RecordPage, StoreError> {
    let after = match after {
        Some(c) => portable::parse_cursor(FINDINGS, c, 1)?[0].as_i64().unwrap_or(i64::MIN),
        None => i64::MIN,
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT f.seq, f.touched, d.doc FROM findings f JOIN finding_docs d ON d.seq = f.seq \
             WHERE f.seq > ? ORDER BY f.seq LIMIT ?",
        )
        .map_err(sql_err)?;
    let rows: Vec<(i64, i64, Vec<u8>)> = stmt
        .query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    let mut found = Vec::with_capacity(rows.len());
    for (seq, touched, doc) in rows {
        let doc = match decode_doc(&doc)? {
            Value::Object(m) => m,
            _ => return Err(bad_record(FINDINGS, "a stored document is not an object")),
        };
        found.push(FindingRecord { seq, touched, doc, history: Vec::new() });
    }
    if let (Some(first), Some(last)) = (found.first().map(|f| f.seq), found.last().map(|f| f.seq)) {
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, id, update_time, created, source, identity, updates FROM finding_history \
                 WHERE seq >= ? AND seq <= ? ORDER BY seq, update_time, id",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![first, last], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, String>(6)?))
            })
            .map_err(sql_err)?;
        let mut at = 0;
        for row in rows {
            let (seq, id, update_time, created, source, identity, updates) = row.map_err(sql_err)?;
            while found.get(at).is_some_and(|f| f.seq < seq) {
                at += 1;
            }
            if let Some(f) = found.get_mut(at).filter(|f| f.seq == seq) {
                let updates = crate::outbox::parse_json(&updates)?;
                f.history.push(HistoryRow { id, update_time, created, source, identity, updates });
            }
        }
    }
    let records: Vec<Value> = found.iter().map(FindingRecord::to_value).collect();
    let cursor = records.last().map(|r| portable::cursor_of(FINDINGS, r));
    Ok(RecordPage { records, cursor })
}

fn import_table(tx: &Transaction<'_>, t: &Table, records: &[Value]) -> Result<u64, StoreError> {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
    let sql =
        format!("INSERT OR IGNORE INTO {} ({}) VALUES ({})", t.name, cols.join(", "), vec!["?"; cols.len()].join(", "));
    let mut stmt = tx.prepare_cached(&sql).map_err(sql_err)?;
    let mut written = 0;
    for record in records {
        let values: Vec<Sql> =
            t.columns.iter().map(|c| to_sql(t.name, c.kind, c.name, record)).collect::<Result<_, _>>()?;
        written += stmt.execute(params_from_iter(values)).map_err(sql_err)? as u64;
    }
    Ok(written)
}

fn import_findings(tx: &Transaction<'_>, ids: &AtomicI64, records: &[Value]) -> Result<u64, StoreError> {
    let cols: Vec<&str> = HOT_COLUMNS.iter().map(|c| c.column).collect();
    let insert = format!(
        "INSERT OR IGNORE INTO findings (seq, key_hash, {}, touched) VALUES (?, ?, {}, ?)",
        cols.join(", "),
        vec!["?"; cols.len()].join(", ")
    );
    let mut written = 0;
    for record in records {
        let record = FindingRecord::parse(record)?;
        let finding = record.stored()?;
        let mut values = Vec::with_capacity(HOT_COLUMNS.len() + 3);
        values.push(Sql::Integer(record.seq));
        values.push(Sql::Integer(finding.key.hash64()));
        values.extend(hot_params(&finding));
        values.push(Sql::Integer(record.touched));
        if tx.prepare_cached(&insert).map_err(sql_err)?.execute(params_from_iter(values)).map_err(sql_err)? == 0 {
            continue;
        }
        insert_key(tx, finding.key.hash64(), record.seq)?;
        let doc = encode_json(&serde_json::to_vec(&record.doc).map_err(crate::backend)?);
        tx.prepare_cached("INSERT INTO finding_docs (seq, doc) VALUES (?, ?)")
            .map_err(sql_err)?
            .execute(params![record.seq, doc])
            .map_err(sql_err)?;
        write_attrs(tx, record.seq, &[], &attr_values(&finding))?;
        for h in &record.history {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO finding_history (seq, update_time, id, created, source, identity, updates) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .map_err(sql_err)?
            .execute(params![record.seq, h.update_time, h.id, h.created, h.source, h.identity, h.updates.to_string()])
            .map_err(sql_err)?;
            // History ids of later changes follow the copied ones.
            ids.fetch_max(h.id, Ordering::Relaxed);
        }
        written += 1;
    }
    Ok(written)
}

fn save_progress(tx: &Transaction<'_>, p: &CopyProgress) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO copy_progress (tbl, source, cursor, copied, done) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (tbl) DO UPDATE SET source = excluded.source, cursor = excluded.cursor, \
         copied = excluded.copied, done = excluded.done",
    )
    .map_err(sql_err)?
    .execute(params![p.table, p.source, p.cursor, p.copied as i64, p.done])
    .map_err(sql_err)?;
    Ok(())
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn export_records(&self, table: &str, after: Option<&str>, limit: usize) -> Result<RecordPage, StoreError> {
        let (table, after) = (table.to_owned(), after.map(str::to_owned));
        self.read(move |conn| match (table.as_str(), portable::table(&table)) {
            (FINDINGS, _) => export_findings(conn, after.as_deref(), limit),
            (_, Some(t)) => export_table(conn, t, after.as_deref(), limit),
            (name, None) => Err(unknown_table(name)),
        })
        .await
    }

    async fn import_records(&self, table: &str, records: &[Value], progress: &CopyProgress) -> Result<u64, StoreError> {
        let (table, records, progress) = (table.to_owned(), records.to_vec(), progress.clone());
        self.write(move |conn, ids| {
            let tx = begin_write(conn)?;
            let written = match (table.as_str(), portable::table(&table)) {
                (FINDINGS, _) => import_findings(&tx, ids, &records)?,
                (_, Some(t)) => import_table(&tx, t, &records)?,
                (name, None) => return Err(unknown_table(name)),
            };
            save_progress(&tx, &progress)?;
            tx.commit().map_err(sql_err)?;
            Ok(written)
        })
        .await
    }

    async fn copy_progress(&self) -> Result<Vec<CopyProgress>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT tbl, source, cursor, copied, done FROM copy_progress ORDER BY tbl")
                .map_err(sql_err)?;
            stmt.query_map([], |r| {
                Ok(CopyProgress {
                    table: r.get(0)?,
                    source: r.get(1)?,
                    cursor: r.get(2)?,
                    copied: r.get::<_, i64>(3)?.max(0) as u64,
                    done: r.get(4)?,
                })
            })
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)
        })
        .await
    }

    async fn count_records(&self, table: &str) -> Result<u64, StoreError> {
        let name = match (table, portable::table(table)) {
            (FINDINGS, _) => FINDINGS,
            (_, Some(t)) => t.name,
            (name, None) => return Err(unknown_table(name)),
        };
        self.read(move |conn| {
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {name}"), [], |r| r.get(0)).map_err(sql_err)?;
            Ok(n.max(0) as u64)
        })
        .await
    }
}
