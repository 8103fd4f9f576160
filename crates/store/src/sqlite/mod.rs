//! The embedded store: SQLite (bundled into the binary), WAL mode, one file in the data directory.
//!
//! One writer connection behind a mutex (SQLite has one writer at a time anyway) and a small pool
//! of reader connections; every call runs on tokio's blocking pool.

mod key_filter;
mod outbox;
mod portable;
mod query;
mod schema;
mod state;

use crate::columns::{ColumnValue, HOT_COLUMNS, MISSING_INT, attr_values, column_values};
use crate::page::{self, Cursor};
use crate::{
    FindingPage, FindingQuery, FindingStore, GroupBy, GroupCount, GroupQuery, HistoryPage, HistoryQuery, HistoryRecord,
    ImportBatch, ImportReport, ImportStatus, IncomingFinding, LegacyUpdate, RetentionPolicy, Scope, StoreError,
    UpdateBatch, UpdateReport, backend,
};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use findinghub_hub::filter::{Filters, SortCriterion, sort_value};
use findinghub_hub::finding::{CustomerTouched, FindingKey, StoredFinding};
use findinghub_hub::history::{FieldChange, HistoryEntry, UpdateSourceType};
use findinghub_hub::import::{ImportContext, ImportOutcome, apply_import};
use findinghub_hub::products::ProductNames;
use findinghub_hub::update::{UnprocessedReason, apply_legacy_update, apply_update, deduplicate};
use outbox::{EncodedEvent, OutboxWriter};
use query::Clause;
use rusqlite::config::DbConfig;
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "findinghub.sqlite3";

/// The embedded [`FindingStore`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// The queue of the writer thread, which owns the one write connection.
    writer: mpsc::Sender<WriteJob>,
    readers: Mutex<Vec<Connection>>,
    /// At most `READERS` reads at once, each on a pooled connection: without the bound, a burst of
    /// concurrent requests opened a connection each (with its own page cache) and closed it after.
    read_slots: Arc<tokio::sync::Semaphore>,
    /// Whether the outbox kept events at the last import's commit: imports make their events
    /// beforehand only then (the writer makes them if the outbox keeps them after all).
    events_kept: Arc<AtomicBool>,
}

/// Reader connections: enough for both cores and the blocking waits of WAL reads.
const READERS: usize = 8;

/// Work for the writer thread.
enum WriteJob {
    /// Imports that arrive while the writer is busy are committed together (group commit); each
    /// caller still hears back only after the commit.
    Import(PreparedBatch, oneshot::Sender<Result<ImportDone, StoreError>>),
    Other(WriteFn),
}

/// A write job other than an import: it gets the connection and the history id counter.
type WriteFn = Box<dyn FnOnce(&mut Connection, &AtomicI64) + Send>;

/// The most findings of an import that are prepared on the caller's thread (see `import`).
const PREPARE_INLINE_MAX: usize = 8;

/// The most findings that one group commit takes.
const GROUP_MAX_FINDINGS: usize = 2000;

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(backend)?;
        let path = data_dir.join(DB_FILE);
        let mut writer = Connection::open(&path).map_err(backend)?;
        schema::configure(&writer).map_err(backend)?;
        schema::migrate(&mut writer).map_err(backend)?;
        let last_history: i64 =
            writer.query_row("SELECT coalesce(max(id), 0) FROM finding_history", [], |r| r.get(0)).map_err(sql_err)?;
        let (jobs, queue) = mpsc::channel();
        let wal = wal_path(&path);
        let events_kept = Arc::new(AtomicBool::new(true));
        let kept = events_kept.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(writer, AtomicI64::new(last_history), queue, wal, &kept))
            .map_err(backend)?;
        let inner = Arc::new(Inner {
            path,
            writer: jobs,
            readers: Mutex::new(Vec::new()),
            read_slots: Arc::new(tokio::sync::Semaphore::new(READERS)),
            events_kept,
        });
        spawn_checkpointer(Arc::downgrade(&inner))?;
        Ok(SqliteStore { inner })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &AtomicI64) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = WriteJob::Other(Box::new(move |conn, ids| {
            let _ = reply.send(f(conn, ids));
        }));
        self.inner.writer.send(job).map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Backend("the writer has stopped".into()))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let slot = inner.read_slots.clone().acquire_owned().await.map_err(backend)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            inner.with_reader(f)
        })
        .await
        .map_err(backend)?
    }

    /// A point read of the hub's small state tables (keys, hubs, subscriptions) on the calling
    /// thread rather than the blocking pool: a primary-key lookup in pages that stay cached takes
    /// microseconds, less than the hop to the pool and back (two thread switches; with the
    /// lookups of every `/events` request, a third of the server's CPU went to switching).
    async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let _slot = self.inner.read_slots.acquire().await.map_err(backend)?;
        self.inner.with_reader(f)
    }
}

impl Inner {
    /// Runs `f` on a pooled reader connection (opening one if the pool is empty).
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let pooled = self.readers.lock().map_err(|_| StoreError::Backend("reader pool poisoned".into()))?.pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path).map_err(backend)?;
                schema::configure(&c).map_err(backend)?;
                c.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(backend)?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            pool.push(conn);
        }
        result
    }
}

/// Copies the WAL back into the database from a connection of its own, so that the writer never
/// pays for checkpoints (PASSIVE: it never blocks readers or the writer). Ends with the store.
///
/// It also writes the pages it copied to disk (fdatasync of the database file). SQLite syncs the
/// database only after a checkpoint that copies the whole WAL, which under a steady stream of
/// commits is only the writer's RESTART: that sync then wrote every page copied since, while the
/// writer held the write lock (a quarter of the writer's time in a 1,000,000-finding import, in
/// the block layer's write throttling). Syncing here moves that work off the writer, for somewhat
/// more written (a page copied again before it reached the disk is written again: 7.66 GB against
/// 7.15 GB for 600,000 findings, `/proc/diskstats` over a `findinghub-loadgen` run).
fn spawn_checkpointer(inner: Weak<Inner>) -> Result<(), StoreError> {
    let path = match inner.upgrade() {
        Some(i) => i.path.clone(),
        None => return Ok(()),
    };
    let conn = Connection::open(&path).map_err(backend)?;
    schema::configure(&conn).map_err(backend)?;
    let db_file = std::fs::File::open(&path).map_err(backend)?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut copied_before = 0;
            loop {
                std::thread::sleep(Duration::from_millis(200));
                if inner.upgrade().is_none() {
                    return;
                }
                // (busy, frames in the WAL, frames copied into the database)
                let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                match result {
                    Ok((_, _, copied)) => {
                        if copied != copied_before
                            && let Err(e) = db_file.sync_data()
                        {
                            tracing::warn!(error = %e, "syncing the database file failed");
                        }
                        copied_before = copied;
                    }
                    Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
                }
            }
        })
        .map_err(backend)?;
    Ok(())
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The writer thread: runs write jobs in arrival order until the store is dropped (it finishes
/// the jobs already queued first).
fn run_writer(
    mut conn: Connection,
    ids: AtomicI64,
    queue: mpsc::Receiver<WriteJob>,
    wal: PathBuf,
    events_kept: &AtomicBool,
) {
    // Keys in `finding_keys_recent`, as far as this writer knows (another handle's imports are
    // folded with the next fold of this one's).
    let mut recent = recent_keys(&conn).unwrap_or(0);
    let mut next = queue.recv().ok();
    while let Some(job) = next.take() {
        match job {
            WriteJob::Other(f) => f(&mut conn, &ids),
            WriteJob::Import(batch, reply) => {
                let mut group = vec![(batch, reply)];
                let mut total = group[0].0.findings.len();
                while total < GROUP_MAX_FINDINGS {
                    match queue.try_recv() {
                        Ok(WriteJob::Import(b, r)) => {
                            total += b.findings.len();
                            group.push((b, r));
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                recent += import_group(&mut conn, &ids, events_kept, group);
            }
        }
        if recent >= schema::RECENT_KEYS_MAX {
            match fold_recent_keys(&mut conn) {
                Ok(()) => recent = 0,
                Err(e) => tracing::warn!(error = %e, "folding the recent finding keys failed"),
            }
        }
        // The checkpointer copies the WAL in the background, but under a steady stream of
        // commits it never catches up, so the WAL would only grow. Past its bound the writer
        // finishes the copy (RESTART) and the next commit writes from the WAL's start again,
        // over the file's blocks: truncating it instead (TRUNCATE) made every later frame
        // allocate its blocks anew, and imports about a fifth slower.
        if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > schema::WAL_BOUND_BYTES
            && let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
        {
            tracing::warn!(error = %e, "restarting the WAL failed");
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

type ImportJob = (PreparedBatch, oneshot::Sender<Result<ImportDone, StoreError>>);

/// An import's report, and the prepared creations that it did not need (the findings existed):
/// they are freed on the caller's thread, not the writer's (freeing a batch of documents is a
/// tenth of the writer's time).
type ImportDone = (ImportReport, Vec<Result<NewFinding, ImportStatus>>);

/// Several import batches in one transaction. A batch's findings are applied in order, batches
/// in arrival order; if the transaction fails, every batch of the group gets the error. Returns
/// how many findings it created.
fn import_group(conn: &mut Connection, ids: &AtomicI64, events_kept: &AtomicBool, group: Vec<ImportJob>) -> usize {
    let (batches, replies): (Vec<PreparedBatch>, Vec<_>) = group.into_iter().unzip();
    let result = (|| {
        let tx = begin_write(conn)?;
        key_filter::refresh(&tx);
        let outbox = OutboxWriter::open(&tx)?;
        events_kept.store(outbox.keeps(), Ordering::Relaxed);
        let mut reports = Vec::with_capacity(batches.len());
        for batch in batches {
            reports.push(import_into(&tx, &outbox, ids, batch)?);
        }
        tx.commit().map_err(sql_err)?;
        Ok::<_, StoreError>(reports)
    })();
    match result {
        Ok(reports) => {
            let mut created = 0;
            for (reply, report) in replies.into_iter().zip(reports) {
                created += report.0.created();
                let _ = reply.send(Ok(report));
            }
            created
        }
        Err(e) => {
            tracing::warn!(error = %e, "import transaction failed");
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
            0
        }
    }
}

/// Starts a write transaction that holds the write lock from its start (IMMEDIATE). A deferred
/// one that reads first cannot take the lock once another handle on the file (a `findinghub
/// credentials` command beside `serve`) has committed since its read: SQLite refuses that at
/// once, whatever the busy timeout, where an immediate one waits its turn.
pub(crate) fn begin_write(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_err)
}

pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn hot_params(finding: &StoredFinding) -> Vec<Sql> {
    column_values(&finding.doc)
        .into_iter()
        .map(|v| match v {
            ColumnValue::Text(s) => Sql::Text(s),
            ColumnValue::Int(i) => Sql::Integer(i),
            ColumnValue::Real(r) => Sql::Real(r),
        })
        .collect()
}

/// The rows of a new finding, computed before the writer takes them (see [`prepare`]).
struct NewRows {
    hot: Vec<Sql>,
    doc: Vec<u8>,
    attrs: Vec<(i64, String)>,
}

impl NewRows {
    /// The rows of a new finding, and its imported event if `with_event`.
    fn of(
        finding: &StoredFinding,
        now: Micros,
        with_event: bool,
    ) -> Result<(NewRows, Option<EncodedEvent>), StoreError> {
        let json = doc_json(finding)?;
        let event = with_event.then(|| EncodedEvent::imported(finding, &json, now));
        let rows = NewRows { hot: hot_params(finding), doc: encode_json(json.as_bytes()), attrs: attr_values(finding) };
        Ok((rows, event))
    }
}

/// Inserts a new finding's rows; `key_hash` is its key's hash, which the caller has at hand.
fn insert_finding(
    tx: &Transaction<'_>,
    finding: &StoredFinding,
    key_hash: i64,
    rows: NewRows,
) -> Result<i64, StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let cols: Vec<&str> = HOT_COLUMNS.iter().map(|c| c.column).collect();
        format!(
            "INSERT INTO findings (key_hash, {}, touched) VALUES (?, {}, ?)",
            cols.join(", "),
            vec!["?"; cols.len()].join(", ")
        )
    });
    let mut values = Vec::with_capacity(rows.hot.len() + 2);
    values.push(Sql::Integer(key_hash));
    values.extend(rows.hot);
    values.push(Sql::Integer(finding.touched.bits()));
    tx.prepare_cached(sql).map_err(sql_err)?.execute(params_from_iter(values)).map_err(sql_err)?;
    let seq = tx.last_insert_rowid();
    insert_key(tx, key_hash, seq)?;
    tx.prepare_cached("INSERT INTO finding_docs (seq, doc) VALUES (?, ?)")
        .map_err(sql_err)?
        .execute(params![seq, rows.doc])
        .map_err(sql_err)?;
    write_attrs(tx, seq, &[], &rows.attrs)?;
    Ok(seq)
}

/// Indexes a new finding under its key (in the recent keys; see `fold_recent_keys`).
pub(crate) fn insert_key(tx: &Transaction<'_>, key_hash: i64, seq: i64) -> Result<(), StoreError> {
    key_filter::note_key(key_hash);
    tx.prepare_cached("INSERT OR IGNORE INTO finding_keys_recent (key_hash, seq) VALUES (?, ?)")
        .map_err(sql_err)?
        .execute(params![key_hash, seq])
        .map_err(sql_err)?;
    Ok(())
}

/// Moves the recent keys into `finding_keys`, in one transaction. In key order, so that each of
/// the large table's pages is written once however many of the keys land on it.
fn fold_recent_keys(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = begin_write(conn)?;
    tx.execute_batch(
        "INSERT OR IGNORE INTO finding_keys (key_hash, seq) SELECT key_hash, seq FROM finding_keys_recent ORDER BY key_hash, seq;
         DELETE FROM finding_keys_recent;",
    )
    .map_err(sql_err)?;
    tx.commit().map_err(sql_err)
}

fn recent_keys(conn: &Connection) -> Result<usize, StoreError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM finding_keys_recent", [], |r| r.get(0)).map_err(sql_err)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Writes a finding's change, and the imported event that every change emits.
fn update_finding(
    tx: &Transaction<'_>,
    outbox: &OutboxWriter,
    seq: i64,
    old: &StoredFinding,
    new: &StoredFinding,
    now: Micros,
) -> Result<(), StoreError> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let sets: Vec<String> = HOT_COLUMNS.iter().map(|c| format!("{} = ?", c.column)).collect();
        format!("UPDATE findings SET {}, touched = ? WHERE seq = ?", sets.join(", "))
    });
    let mut values = hot_params(new);
    values.push(Sql::Integer(new.touched.bits()));
    values.push(Sql::Integer(seq));
    tx.prepare_cached(sql).map_err(sql_err)?.execute(params_from_iter(values)).map_err(sql_err)?;
    let json = doc_json(new)?;
    tx.prepare_cached("UPDATE finding_docs SET doc = ? WHERE seq = ?")
        .map_err(sql_err)?
        .execute(params![encode_json(json.as_bytes()), seq])
        .map_err(sql_err)?;
    write_attrs(tx, seq, &attr_values(old), &attr_values(new))?;
    outbox.write(tx, || Ok(EncodedEvent::imported(new, &json, now)))
}

/// Replaces a finding's attribute rows, touching only those that changed.
fn write_attrs(tx: &Transaction<'_>, seq: i64, old: &[(i64, String)], new: &[(i64, String)]) -> Result<(), StoreError> {
    let span = seq >> schema::ATTR_SPAN_BITS;
    for pair in old.iter().filter(|p| !new.contains(p)) {
        tx.prepare_cached("DELETE FROM finding_attrs WHERE field = ? AND span = ? AND value = ? AND seq = ?")
            .map_err(sql_err)?
            .execute(params![pair.0, span, pair.1, seq])
            .map_err(sql_err)?;
    }
    for pair in new.iter().filter(|p| !old.contains(p)) {
        tx.prepare_cached("INSERT OR IGNORE INTO finding_attrs (field, span, value, seq) VALUES (?, ?, ?, ?)")
            .map_err(sql_err)?
            .execute(params![pair.0, span, pair.1, seq])
            .map_err(sql_err)?;
    }
    Ok(())
}

fn insert_history(tx: &Transaction<'_>, ids: &AtomicI64, seq: i64, h: &HistoryEntry) -> Result<(), StoreError> {
    let updates: Vec<Value> = h
        .updates
        .iter()
        .map(|c| json!({"UpdatedField": c.field, "OldValue": c.old_value, "NewValue": c.new_value}))
        .collect();
    // A record is never older than the finding's latest: requests stamp their time before they
    // queue for the writer, so a later commit can carry an earlier time, and the history (newest
    // first) must read in the order the changes were made. Its id is above every id of the
    // finding's records too: the counter is this handle's, and another handle on the file (a
    // `findinghub import` beside `serve`) counts on its own. A creation has no record before it,
    // so the import path's common case skips both lookups.
    let sql = if h.finding_created {
        "INSERT INTO finding_history (seq, update_time, id, created, source, identity, updates) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    } else {
        "INSERT INTO finding_history (seq, update_time, id, created, source, identity, updates) \
         VALUES (?1, max(?2, coalesce((SELECT max(update_time) FROM finding_history WHERE seq = ?1), ?2)), \
         max(?3, coalesce((SELECT max(id) FROM finding_history WHERE seq = ?1), 0) + 1), ?4, ?5, ?6, ?7)"
    };
    tx.prepare_cached(sql)
        .map_err(sql_err)?
        .execute(params![
            seq,
            h.update_time,
            ids.fetch_add(1, Ordering::Relaxed) + 1,
            h.finding_created,
            h.source.as_str(),
            h.identity,
            Value::Array(updates).to_string()
        ])
        .map_err(sql_err)?;
    Ok(())
}

/// The stored findings with this (ProductArn, Id), with their sequence numbers.
fn load_by_identifier(conn: &Connection, product_arn: &str, id: &str) -> Result<Vec<(i64, StoredFinding)>, StoreError> {
    let hash = findinghub_hub::finding::identifier_hash(product_arn, id);
    let mut stmt = conn
        .prepare_cached(
            // A correlated subquery rather than a join: SQLite re-prepares this join after every
            // write transaction (measured), which cost a tenth of the import time.
            "SELECT f.seq, f.account_id, f.region, f.product_arn, f.finding_id, f.touched, \
             (SELECT d.doc FROM finding_docs d WHERE d.seq = f.seq) FROM findings f WHERE f.seq IN \
             (SELECT seq FROM finding_keys WHERE key_hash = ?1 UNION ALL SELECT seq FROM finding_keys_recent WHERE key_hash = ?1)",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([hash], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                FindingKey { account_id: r.get(1)?, region: r.get(2)?, product_arn: r.get(3)?, id: r.get(4)? },
                r.get::<_, i64>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, key, touched, doc) = row.map_err(sql_err)?;
        if key.product_arn != product_arn || key.id != id {
            continue;
        }
        out.push((seq, StoredFinding { key, doc: parse_doc(&doc)?, touched: CustomerTouched::from_bits(touched) }));
    }
    Ok(out)
}

/// Documents are stored as LZ4-compressed JSON (a JSON finding shrinks to about 40%), behind a
/// one-byte format tag so that the format can change without a migration.
const DOC_LZ4: u8 = 1;

/// A finding's document as JSON text: serialised once, then kept (compressed) as the document
/// and written into the finding's imported event.
fn doc_json(finding: &StoredFinding) -> Result<String, StoreError> {
    serde_json::to_string(&finding.doc).map_err(backend)
}

/// JSON text (a document, an envelope) in its stored form: LZ4, behind a format byte.
fn encode_json(json: &[u8]) -> Vec<u8> {
    let mut out = vec![DOC_LZ4];
    out.extend(lz4_flex::block::compress_prepend_size(json));
    out
}

fn decode_doc(stored: &[u8]) -> Result<Value, StoreError> {
    let corrupt = || StoreError::Backend("a stored finding document cannot be read".into());
    match stored.split_first() {
        Some((&DOC_LZ4, body)) => {
            let json = lz4_flex::block::decompress_size_prepended(body).map_err(|_| corrupt())?;
            serde_json::from_slice(&json).map_err(|_| corrupt())
        }
        _ => Err(corrupt()),
    }
}

fn parse_doc(stored: &[u8]) -> Result<Map<String, Value>, StoreError> {
    match decode_doc(stored)? {
        Value::Object(m) => Ok(m),
        _ => Err(StoreError::Backend("a stored finding document is not a JSON object".into())),
    }
}

/// One finding of an import, with the work that does not depend on the stored state done ahead,
/// outside the writer: its key, and what it becomes if it is new (the common case of bulk imports).
struct PreparedFinding {
    /// The finding as sent, as JSON: its document went into `if_new` (a clone of it cost a seventh
    /// of an import's work outside the writer), so the writer parses this in the rarer case that
    /// the finding exists already.
    sent: bytes::Bytes,
    product_names: Option<ProductNames>,
    key: Option<FindingKey>,
    if_new: Result<NewFinding, ImportStatus>,
}

/// What a finding becomes if it is new, with its rows and its outbox event ready.
struct NewFinding {
    finding: StoredFinding,
    history: HistoryEntry,
    rows: NewRows,
    /// Made beforehand when the outbox kept events at the last import (else in the writer, if it
    /// keeps them now).
    event: Option<EncodedEvent>,
}

struct PreparedBatch {
    region: String,
    now: Micros,
    findings: Vec<PreparedFinding>,
}

fn failed(message: String) -> ImportStatus {
    ImportStatus::Failed { code: "InvalidInput".into(), message }
}

/// Runs on the caller's side of the writer (tokio's blocking pool, or the caller's own thread
/// for a small batch), in parallel with other batches. `with_events`: make the new findings'
/// imported events too.
fn prepare(batch: ImportBatch, with_events: bool) -> PreparedBatch {
    let findings = batch
        .findings
        .into_iter()
        .map(|IncomingFinding { doc, sent, product_names }| {
            let key = FindingKey::of(&doc, &batch.region);
            let ctx = ImportContext { region: &batch.region, now: batch.now, product_names: product_names.as_ref() };
            let if_new = match apply_import(None, doc, &ctx) {
                Ok(ImportOutcome::Created { finding, history }) => {
                    match NewRows::of(&finding, batch.now, with_events) {
                        Ok((rows, event)) => Ok(NewFinding { finding, history, rows, event }),
                        Err(e) => Err(failed(e.to_string())),
                    }
                }
                Ok(_) => Err(failed("Internal service failure".into())),
                Err(e) => Err(failed(e.to_string())),
            };
            PreparedFinding { sent, product_names, key, if_new }
        })
        .collect();
    PreparedBatch { region: batch.region, now: batch.now, findings }
}

fn import_into(
    tx: &Transaction<'_>,
    outbox: &OutboxWriter,
    ids: &AtomicI64,
    batch: PreparedBatch,
) -> Result<ImportDone, StoreError> {
    let mut report = ImportReport::default();
    let mut spent = Vec::with_capacity(batch.findings.len());
    for prepared in batch.findings {
        let Some(key) = prepared.key else {
            report.statuses.push(failed(
                "Finding does not adhere to Amazon Finding Format. data should have required property 'Id'".into(),
            ));
            continue;
        };
        let key_hash = key.hash64();
        let existing = if key_filter::may_hold(key_hash) {
            load_by_identifier(tx, &key.product_arn, &key.id)?.into_iter().find(|(_, f)| f.key == key)
        } else {
            None
        };
        let Some((seq, old)) = existing else {
            match prepared.if_new {
                Ok(NewFinding { finding, history, rows, event }) => {
                    let seq = insert_finding(tx, &finding, key_hash, rows)?;
                    insert_history(tx, ids, seq, &history)?;
                    outbox.write(tx, || match event {
                        Some(made) => Ok(made),
                        None => doc_json(&finding).map(|json| EncodedEvent::imported(&finding, &json, batch.now)),
                    })?;
                    report.statuses.push(ImportStatus::Created);
                    report.changed.push(finding);
                }
                Err(status) => report.statuses.push(status),
            }
            continue;
        };
        let Ok(sent) = serde_json::from_slice::<Map<String, Value>>(&prepared.sent) else {
            // Only a caller that built `IncomingFinding::sent` by hand could get here.
            report.statuses.push(failed("Internal service failure".into()));
            continue;
        };
        spent.push(prepared.if_new);
        let ctx =
            ImportContext { region: &batch.region, now: batch.now, product_names: prepared.product_names.as_ref() };
        match apply_import(Some(&old), sent, &ctx) {
            Ok(ImportOutcome::Updated { finding, history }) => {
                update_finding(tx, outbox, seq, &old, &finding, batch.now)?;
                insert_history(tx, ids, seq, &history)?;
                report.statuses.push(ImportStatus::Updated);
                report.changed.push(finding);
            }
            Ok(ImportOutcome::Stale) => report.statuses.push(ImportStatus::Stale),
            Ok(ImportOutcome::Created { .. }) => {
                return Err(StoreError::Backend("a creation over a stored finding".into()));
            }
            Err(e) => report.statuses.push(failed(e.to_string())),
        }
    }
    Ok((report, spent))
}

fn batch_update_blocking(
    conn: &mut Connection,
    ids: &AtomicI64,
    batch: UpdateBatch,
) -> Result<UpdateReport, StoreError> {
    let tx = begin_write(conn)?;
    let outbox = OutboxWriter::open(&tx)?;
    let mut report = UpdateReport::default();
    let (unique, duplicates) = deduplicate(&batch.request.identifiers);
    for dup in duplicates {
        report.unprocessed.push((dup, UnprocessedReason::DuplicatedFindingIdentifier));
    }
    for ident in unique {
        let found: Vec<_> = load_by_identifier(&tx, &ident.product_arn, &ident.id)?
            .into_iter()
            .filter(|(_, f)| batch.scope.allows(f))
            .collect();
        if found.is_empty() {
            report.unprocessed.push((ident, UnprocessedReason::FindingNotFound));
            continue;
        }
        let mut outcome = Ok(());
        let mut changed = Vec::new();
        for (seq, stored) in &found {
            match apply_update(stored, &batch.request.update, batch.now, &batch.identity) {
                Ok((next, history)) => changed.push((*seq, stored, next, history)),
                Err(reason) => outcome = Err(reason),
            }
        }
        if let Err(reason) = outcome {
            report.unprocessed.push((ident, reason));
            continue;
        }
        for (seq, old, next, history) in changed {
            update_finding(&tx, &outbox, seq, old, &next, batch.now)?;
            insert_history(&tx, ids, seq, &history)?;
            report.changed.push(next);
        }
        report.processed.push(ident);
    }
    tx.commit().map_err(sql_err)?;
    Ok(report)
}

/// One row of a findings scan.
struct Row {
    seq: i64,
    doc: Value,
}

impl Row {
    fn cursor(&self, sort: &[SortCriterion]) -> Cursor {
        Cursor { values: sort.iter().map(|c| sort_value(&self.doc, c.field)).collect(), seq: self.seq }
    }

    fn finding_key(&self) -> Option<FindingKey> {
        let region = self.doc.get("Region").and_then(Value::as_str)?;
        FindingKey::of(self.doc.as_object()?, region)
    }
}

fn scan(conn: &Connection, clause: &Clause, order: Option<&str>, limit: Option<usize>) -> Result<Vec<Row>, StoreError> {
    let mut sql = format!(
        "SELECT f.seq, (SELECT d.doc FROM finding_docs d WHERE d.seq = f.seq) FROM findings f WHERE {}",
        clause.where_sql()
    );
    if let Some(order) = order {
        sql.push_str(" ORDER BY ");
        sql.push_str(order);
    }
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params_from_iter(clause.params.iter()), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, doc) = row.map_err(sql_err)?;
        let doc = decode_doc(&doc)?;
        out.push(Row { seq, doc });
    }
    Ok(out)
}

fn default_sort(sort: Vec<SortCriterion>) -> Vec<SortCriterion> {
    if !sort.is_empty() {
        return sort;
    }
    match findinghub_hub::filter::field("UpdatedAt") {
        Some(field) => vec![SortCriterion { field, descending: true }],
        None => sort,
    }
}

fn matches(scope: &Scope, filters: &Filters, row: &Row) -> bool {
    let in_scope = row
        .finding_key()
        .is_some_and(|k| scope.accounts.allows(&k.account_id) && scope.region.as_deref().is_none_or(|r| r == k.region));
    in_scope && filters.matches(&row.doc)
}

fn get_findings_blocking(conn: &Connection, query: FindingQuery) -> Result<FindingPage, StoreError> {
    let sort = default_sort(query.sort);
    let max = query.max_results.clamp(1, 100);
    let after = query.next_token.as_deref().map(|t| page::decode(t, &sort)).transpose()?;
    let mut base = Clause::default();
    query::filter_clause(&query.filters, &mut base);
    query::scope_clause(&query.scope, &mut base);

    let mut found: Vec<Row> = Vec::new();
    if query::sortable_in_sql(&sort) {
        let order = query::order_by(&sort);
        let mut chunk = if base.exact { max + 1 } else { 256 };
        let mut position = after;
        loop {
            let mut clause = Clause { sql: base.sql.clone(), params: base.params.clone(), exact: base.exact };
            if let Some(c) = &position {
                query::keyset_clause(&sort, c, &mut clause);
            }
            let rows = scan(conn, &clause, Some(&order), Some(chunk))?;
            let exhausted = rows.len() < chunk;
            position = rows.last().map(|r| r.cursor(&sort));
            for row in rows {
                if matches(&query.scope, &query.filters, &row) {
                    found.push(row);
                    if found.len() > max {
                        break;
                    }
                }
            }
            if found.len() > max || exhausted {
                break;
            }
            chunk = (chunk * 2).min(4096);
        }
    } else {
        // A sort on a field that has no column: order in memory, keeping only the keys.
        let mut keyed: Vec<(Cursor, i64)> = scan(conn, &base, None, None)?
            .into_iter()
            .filter(|row| matches(&query.scope, &query.filters, row))
            .map(|row| (row.cursor(&sort), row.seq))
            .collect();
        keyed.sort_by(|a, b| page::compare(&a.0, &b.0, &sort));
        let start = match &after {
            Some(c) => keyed.partition_point(|(k, _)| page::compare(k, c, &sort) != std::cmp::Ordering::Greater),
            None => 0,
        };
        for (_, seq) in keyed.into_iter().skip(start).take(max + 1) {
            let mut clause = Clause::default();
            clause.sql.push("f.seq = ?".into());
            clause.params.push(Sql::Integer(seq));
            found.extend(scan(conn, &clause, None, None)?);
        }
    }
    let next_token = if found.len() > max {
        found.truncate(max);
        found.last().map(|r| page::encode(&r.cursor(&sort), &sort))
    } else {
        None
    };
    let findings = found
        .into_iter()
        .filter_map(|r| match r.doc {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect();
    Ok(FindingPage { findings, next_token })
}

fn history_blocking(conn: &Connection, query: HistoryQuery) -> Result<HistoryPage, StoreError> {
    let max = query.max_results.clamp(1, 100);
    let seqs: Vec<i64> = load_by_identifier(conn, &query.identifier.product_arn, &query.identifier.id)?
        .into_iter()
        .filter(|(_, f)| query.scope.allows(f))
        .map(|(seq, _)| seq)
        .collect();
    if seqs.is_empty() {
        return Ok(HistoryPage::default());
    }
    let mut sql = format!(
        "SELECT id, update_time, created, source, identity, updates FROM finding_history WHERE seq IN ({})",
        vec!["?"; seqs.len()].join(", ")
    );
    let mut params: Vec<Sql> = seqs.iter().map(|s| Sql::Integer(*s)).collect();
    if let Some(start) = query.start {
        sql.push_str(" AND update_time >= ?");
        params.push(Sql::Integer(start));
    }
    if let Some(end) = query.end {
        sql.push_str(" AND update_time <= ?");
        params.push(Sql::Integer(end));
    }
    if let Some(token) = &query.next_token {
        let (t, id) = decode_history_token(token)?;
        sql.push_str(" AND (update_time, id) < (?, ?)");
        params.push(Sql::Integer(t));
        params.push(Sql::Integer(id));
    }
    sql.push_str(&format!(" ORDER BY update_time DESC, id DESC LIMIT {}", max + 1));
    let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .map_err(sql_err)?;
    let mut records = Vec::new();
    let mut positions = Vec::new();
    for row in rows {
        let (id, update_time, created, source, identity, updates) = row.map_err(sql_err)?;
        let source =
            UpdateSourceType::parse(&source).ok_or_else(|| StoreError::Backend("bad history source".into()))?;
        let updates: Vec<Value> = serde_json::from_str(&updates).map_err(backend)?;
        let updates = updates
            .iter()
            .map(|u| FieldChange {
                field: u.get("UpdatedField").and_then(Value::as_str).unwrap_or_default().to_owned(),
                old_value: u.get("OldValue").and_then(Value::as_str).map(str::to_owned),
                new_value: u.get("NewValue").and_then(Value::as_str).map(str::to_owned),
            })
            .collect();
        positions.push((update_time, id));
        records.push(HistoryRecord {
            identifier: query.identifier.clone(),
            entry: HistoryEntry { update_time, finding_created: created, source, identity, updates },
        });
    }
    let next_token = if records.len() > max {
        records.truncate(max);
        positions.get(max - 1).map(|(t, id)| encode_history_token(*t, *id))
    } else {
        None
    };
    Ok(HistoryPage { records, next_token })
}

fn encode_history_token(time: Micros, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("h1:{time}:{id}"))
}

fn decode_history_token(token: &str) -> Result<(Micros, i64), StoreError> {
    use base64::Engine;
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| StoreError::InvalidToken)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::InvalidToken)?;
    let mut parts = text.split(':');
    match (parts.next(), parts.next().map(str::parse), parts.next().map(str::parse), parts.next()) {
        (Some("h1"), Some(Ok(t)), Some(Ok(id)), None) => Ok((t, id)),
        _ => Err(StoreError::InvalidToken),
    }
}

fn delete_finding(tx: &Transaction<'_>, seq: i64) -> Result<(), StoreError> {
    let doc: Option<Vec<u8>> =
        tx.query_row("SELECT doc FROM finding_docs WHERE seq = ?", [seq], |r| r.get(0)).optional().map_err(sql_err)?;
    if let Some(doc) = doc {
        let doc = parse_doc(&doc)?;
        let region = doc.get("Region").and_then(Value::as_str).unwrap_or_default().to_owned();
        if let Some(key) = FindingKey::of(&doc, &region) {
            let f = StoredFinding { key, doc, touched: CustomerTouched::default() };
            write_attrs(tx, seq, &attr_values(&f), &[])?;
        }
    }
    for sql in [
        "DELETE FROM finding_keys WHERE key_hash = (SELECT key_hash FROM findings WHERE seq = ?1) AND seq = ?1",
        "DELETE FROM finding_keys_recent WHERE key_hash = (SELECT key_hash FROM findings WHERE seq = ?1) AND seq = ?1",
        "DELETE FROM finding_history WHERE seq = ?",
        "DELETE FROM finding_docs WHERE seq = ?",
        "DELETE FROM findings WHERE seq = ?",
    ] {
        tx.prepare_cached(sql).map_err(sql_err)?.execute([seq]).map_err(sql_err)?;
    }
    Ok(())
}

fn purge_blocking(
    conn: &mut Connection,
    policy: &RetentionPolicy,
    now: Micros,
    limit: usize,
) -> Result<u64, StoreError> {
    let active_cutoff = now.saturating_sub(policy.active_micros());
    let archived_cutoff = now.saturating_sub(policy.archived_micros());
    let mut seqs: Vec<i64> = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT seq FROM findings WHERE updated_at < ? AND updated_at != {MISSING_INT} ORDER BY updated_at LIMIT ?"
            ))
            .map_err(sql_err)?;
        for r in stmt.query_map(params![active_cutoff, limit as i64], |r| r.get(0)).map_err(sql_err)? {
            seqs.push(r.map_err(sql_err)?);
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq FROM findings WHERE updated_at < ? AND record_state = 'ARCHIVED' ORDER BY updated_at LIMIT ?",
            )
            .map_err(sql_err)?;
        for r in stmt.query_map(params![archived_cutoff, limit as i64], |r| r.get(0)).map_err(sql_err)? {
            let seq = r.map_err(sql_err)?;
            if !seqs.contains(&seq) {
                seqs.push(seq);
            }
        }
    }
    seqs.truncate(limit);
    let tx = begin_write(conn)?;
    for seq in &seqs {
        delete_finding(&tx, *seq)?;
    }
    tx.commit().map_err(sql_err)?;
    Ok(seqs.len() as u64)
}

fn legacy_update_blocking(conn: &mut Connection, update: LegacyUpdate) -> Result<u64, StoreError> {
    let mut clause = Clause::default();
    query::filter_clause(&update.filters, &mut clause);
    query::scope_clause(&update.scope, &mut clause);
    let tx = begin_write(conn)?;
    let outbox = OutboxWriter::open(&tx)?;
    let rows: Vec<Row> =
        scan(&tx, &clause, None, None)?.into_iter().filter(|r| matches(&update.scope, &update.filters, r)).collect();
    let mut changed = 0;
    for row in rows {
        let Some(key) = row.finding_key() else {
            continue;
        };
        let Some((seq, stored)) =
            load_by_identifier(&tx, &key.product_arn, &key.id)?.into_iter().find(|(s, _)| *s == row.seq)
        else {
            continue;
        };
        let next = apply_legacy_update(&stored, update.note.as_ref(), update.record_state.as_deref(), update.now);
        if next != stored {
            update_finding(&tx, &outbox, seq, &stored, &next, update.now)?;
            changed += 1;
        }
    }
    tx.commit().map_err(sql_err)?;
    Ok(changed)
}

#[async_trait]
impl FindingStore for SqliteStore {
    async fn import(&self, batch: ImportBatch) -> Result<ImportReport, StoreError> {
        // A few findings are prepared at once, on the caller's thread: for them the hop to the
        // blocking pool and back costs more than the work (an `/events` request holds one).
        let with_events = self.inner.events_kept.load(Ordering::Relaxed);
        let prepared = if batch.findings.len() <= PREPARE_INLINE_MAX {
            prepare(batch, with_events)
        } else {
            tokio::task::spawn_blocking(move || prepare(batch, with_events)).await.map_err(backend)?
        };
        let (reply, answer) = oneshot::channel();
        self.inner
            .writer
            .send(WriteJob::Import(prepared, reply))
            .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        let (report, spent) = answer.await.map_err(|_| StoreError::Backend("the writer has stopped".into()))??;
        drop(spent);
        Ok(report)
    }

    async fn batch_update(&self, batch: UpdateBatch) -> Result<UpdateReport, StoreError> {
        self.write(move |conn, ids| batch_update_blocking(conn, ids, batch)).await
    }

    async fn legacy_update(&self, update: LegacyUpdate) -> Result<u64, StoreError> {
        self.write(move |conn, _| legacy_update_blocking(conn, update)).await
    }

    async fn get_findings(&self, query: FindingQuery) -> Result<FindingPage, StoreError> {
        self.read(move |conn| get_findings_blocking(conn, query)).await
    }

    async fn finding_history(&self, query: HistoryQuery) -> Result<HistoryPage, StoreError> {
        self.read(move |conn| history_blocking(conn, query)).await
    }

    async fn purge_expired(&self, policy: &RetentionPolicy, now: Micros, limit: usize) -> Result<u64, StoreError> {
        let policy = policy.clone();
        self.write(move |conn, _| purge_blocking(conn, &policy, now, limit)).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM findings", [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(sql_err)
        })
        .await
    }

    async fn count_groups(&self, query: GroupQuery) -> Result<Vec<GroupCount>, StoreError> {
        self.read(move |conn| {
            let mut clause = query::Clause::default();
            query::scope_clause(&query.scope, &mut clause);
            let sql = crate::groups::statement(&query, "TEXT", &clause.sql, "?");
            let mut params = clause.params;
            if query.group == GroupBy::CreatedDay {
                params.push(rusqlite::types::Value::Integer(query.since));
            }
            let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(sql_err)?;
            rows.map(|row| {
                let (key, n) = row.map_err(sql_err)?;
                Ok(GroupCount { value: crate::groups::group_value(query.group, key), count: n.max(0) as u64 })
            })
            .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteStore;
    use crate::FindingStore;
    use crate::conformance::{NOW, batch, finding};
    use crate::state::HubStateStore;
    use rusqlite::StatementStatus;

    /// The point reads of every `/events` request keep their prepared statements: a statement
    /// that SQLite re-prepares on each call (as it did, before readers asked for stable plans)
    /// costs more than the read itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn point_reads_are_not_prepared_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        for i in 0..20 {
            store.import(batch(vec![finding(&format!("r{i}"), NOW - 1_000_000)])).await.expect("import");
            assert!(store.subscriptions("111111111111", "us-east-1").await.expect("subscriptions").is_empty());
            assert!(store.hub("111111111111", "us-east-1").await.expect("hub").is_none());
        }
        let reprepared = store
            .inner
            .with_reader(|conn| {
                let mut total = 0;
                for sql in [super::state::SUBSCRIPTIONS_SQL, super::state::HUB_SQL] {
                    let stmt = conn.prepare_cached(sql).map_err(super::sql_err)?;
                    total += stmt.get_status(StatementStatus::RePrepare);
                }
                Ok(total)
            })
            .expect("a reader");
        assert_eq!(reprepared, 0);
    }
}
