//! The PostgreSQL store: for several hub instances on one database that a team already runs.
//!
//! A pool of connections (deadpool-postgres over tokio-postgres); every call is one transaction at
//! READ COMMITTED. Several instances may share the database:
//! - an import locks the stored versions of its findings (`SELECT … FOR UPDATE`, in key order so
//!   that two batches do not deadlock), applies the rules in memory, and creates its new findings
//!   with one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` (sequence numbers drawn
//!   ahead); when another instance created one of them in between, the transaction is rolled back
//!   and run again, and then finds that finding locked and stored and applies the import rule to
//!   it, so the newest UpdatedAt wins whatever the order of arrival;
//! - BatchUpdateFindings and UpdateFindings lock the rows they change, so that a concurrent change
//!   is applied after, on top of the other, never lost;
//! - history ids come from an identity column, not from the process;
//! - the retention purge takes its rows with `FOR UPDATE SKIP LOCKED`, so every instance may run
//!   it at once;
//! - a transaction that PostgreSQL aborts as a deadlock or a serialization failure is run again.

mod outbox;
mod portable;
mod query;
mod schema;
mod state;
pub mod testing;

pub use schema::{MIGRATIONS, MigrateError};

use crate::columns::{ColumnType, ColumnValue, HOT_COLUMNS, MISSING_INT, attr_values, column_values};
use crate::outbox::imported_event;
use crate::page::{self, Cursor, default_sort};
use crate::{
    FindingPage, FindingQuery, FindingStore, GroupBy, GroupCount, GroupQuery, HistoryPage, HistoryQuery, HistoryRecord,
    ImportBatch, ImportReport, ImportStatus, LegacyUpdate, RetentionPolicy, Scope, StoreError, UpdateBatch,
    UpdateReport,
};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use findinghub_asff::timestamp::Micros;
use findinghub_hub::events::HubEvent;
use findinghub_hub::filter::{Filters, SortCriterion, sort_value};
use findinghub_hub::finding::{CustomerTouched, FindingKey, StoredFinding};
use findinghub_hub::history::{FieldChange, HistoryEntry, UpdateSourceType};
use findinghub_hub::import::{ImportContext, ImportOutcome, apply_import};
use findinghub_hub::update::{UnprocessedReason, apply_legacy_update, apply_update, deduplicate};
use query::{Clause, Param, sql_params};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{GenericClient, NoTls, Row};

/// Connections per instance, unless the caller says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How often a transaction that PostgreSQL aborted as a deadlock or a serialization failure is
/// tried in all.
const ATTEMPTS: u32 = 8;

/// The PostgreSQL [`FindingStore`] and [`HubStateStore`](crate::state::HubStateStore).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    statistics: Arc<Statistics>,
}

/// When to refresh the planner's statistics of the finding tables. Autovacuum analyzes a table
/// only once a minute at most, and a table that has none plans every attribute filter as a nested
/// loop over both sides (measured: 1.4 s for a page over 9,000 fresh findings, 1 ms after
/// ANALYZE). So the store analyzes them itself after its imports have grown them by a fifth.
#[derive(Default)]
struct Statistics {
    /// Findings that this instance created since its last ANALYZE.
    created: AtomicU64,
    /// The findings counted at that ANALYZE.
    counted: AtomicU64,
    running: AtomicBool,
}

/// The fewest creations that make an ANALYZE worth its cost (about a tenth of a second).
const ANALYZE_AFTER_MIN: u64 = 1_000;

/// Why a transaction failed: PostgreSQL's error (some are worth another try) or the store's.
#[derive(Debug)]
enum Fail {
    Pg(tokio_postgres::Error),
    Store(StoreError),
    /// Another instance created a finding that this transaction was creating: run it again (it
    /// then finds that finding stored, and imports over it).
    CreatedMeanwhile,
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Fail::Store(StoreError::Backend(format!("no PostgreSQL connection: {e}")))
    }
}

impl From<Fail> for StoreError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Pg(e) => pg_err(&e),
            Fail::Store(e) => e,
            Fail::CreatedMeanwhile => StoreError::Backend("findings were created by other instances meanwhile".into()),
        }
    }
}

/// PostgreSQL's error as a store error, with the server's message and SQLSTATE when there is one
/// (tokio-postgres's own text for a server error is only "db error").
pub(crate) fn pg_err(e: &tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("PostgreSQL: {} (SQLSTATE {})", db.message(), db.code().code())),
        None => StoreError::Backend(format!("PostgreSQL: {e}")),
    }
}

fn retryable(f: &Fail) -> bool {
    matches!(f, Fail::CreatedMeanwhile)
        || matches!(f, Fail::Pg(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
        || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
}

fn corrupt(what: &str) -> Fail {
    Fail::Store(StoreError::Backend(format!("a stored {what} cannot be read")))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db?options=-csearch_path%3Dschema`, as libpq
    /// reads it) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, DEFAULT_POOL_SIZE).await
    }

    pub async fn open_with(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("not a PostgreSQL URL: {e}")))?;
        Self::connect(config, pool_size).await
    }

    pub async fn connect(mut config: tokio_postgres::Config, pool_size: usize) -> Result<Self, StoreError> {
        if config.get_application_name().is_none() {
            config.application_name("findinghub");
        }
        let where_ = describe(&config);
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| StoreError::Backend(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL at {where_}: {e}")))?;
        schema::migrate(&mut client).await.map_err(|e| match e {
            MigrateError::Postgres(e) => pg_err(&e),
            other => StoreError::Backend(other.to_string()),
        })?;
        drop(client);
        Ok(PostgresStore { pool, statistics: Arc::default() })
    }

    /// Counts `n` created findings, and refreshes the finding tables' statistics (in the
    /// background) once they have grown by a fifth since the last refresh.
    pub(crate) fn note_created(&self, n: u64) {
        let stats = &self.statistics;
        let created = stats.created.fetch_add(n, Ordering::Relaxed) + n;
        let due = created >= ANALYZE_AFTER_MIN.max(stats.counted.load(Ordering::Relaxed) / 5);
        if !due || stats.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let stats = &store.statistics;
            stats.created.store(0, Ordering::Relaxed);
            match store.analyze().await {
                Ok(counted) => stats.counted.store(counted, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "refreshing the statistics of the finding tables failed"),
            }
            stats.running.store(false, Ordering::Release);
        });
    }

    /// ANALYZE of the finding tables; returns the findings that PostgreSQL then counts.
    async fn analyze(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client.batch_execute("ANALYZE findings, finding_attrs").await.map_err(|e| pg_err(&e))?;
        let row = client
            .query_one("SELECT reltuples::bigint FROM pg_class WHERE oid = 'findings'::regclass", &[])
            .await
            .map_err(|e| pg_err(&e))?;
        let counted: i64 = row.try_get(0).map_err(|e| pg_err(&e))?;
        Ok(u64::try_from(counted).unwrap_or(0))
    }

    /// The pool, for tools that need SQL of their own (tests, benchmarks).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, Fail> {
        Ok(self.pool.get().await?)
    }
}

/// Where a configuration points, for messages (never the password).
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or_default())
}

/// Runs `attempt` again while PostgreSQL aborts it as a deadlock or a serialization failure.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Fail>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Ok(v) => return Ok(v),
            // A finding created meanwhile is committed by now: run again at once, so that this
            // batch's versions apply right after that creation, as they would have in place.
            Err(Fail::CreatedMeanwhile) if tries < ATTEMPTS => {
                tracing::debug!(tries, "findings created by another instance meanwhile; trying again");
            }
            Err(f) if retryable(&f) && tries < ATTEMPTS => {
                tracing::debug!(tries, "transaction aborted by PostgreSQL; trying again");
                tokio::time::sleep(Duration::from_millis(5 * u64::from(tries))).await;
            }
            Err(f) => return Err(f.into()),
        }
    }
}

/// Whether a JSON value holds a NUL character, which PostgreSQL's text and jsonb cannot keep.
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn doc_holds_nul(doc: &Map<String, Value>) -> bool {
    doc.iter().any(|(k, v)| k.contains('\0') || holds_nul(v))
}

const NUL_MESSAGE: &str = "The finding contains a NUL character (\\u0000), which this store (PostgreSQL) cannot keep";

fn failed(message: String) -> ImportStatus {
    ImportStatus::Failed { code: "InvalidInput".into(), message }
}

/// The hot columns of a finding, of their SQL types.
fn hot_params(doc: &Map<String, Value>) -> Vec<Param> {
    column_values(doc)
        .into_iter()
        .zip(HOT_COLUMNS)
        .map(|(v, c)| match (c.ty, v) {
            (ColumnType::Text, ColumnValue::Text(s)) => Param::Text(s),
            (ColumnType::Text, _) => Param::Text(String::new()),
            (ColumnType::Time, ColumnValue::Int(i)) => Param::Int(i),
            (ColumnType::Time, ColumnValue::Real(r)) => Param::Int(r as i64),
            (ColumnType::Time, ColumnValue::Text(_)) => Param::Int(MISSING_INT),
            (ColumnType::Int, ColumnValue::Int(i)) => Param::Real(i as f64),
            (ColumnType::Int, ColumnValue::Real(r)) => Param::Real(r),
            (ColumnType::Int, ColumnValue::Text(_)) => Param::Real(MISSING_INT as f64),
        })
        .collect()
}

const SELECT_STORED: &str = "SELECT seq, account_id, region, product_arn, finding_id, touched, doc FROM findings";

fn stored_of(row: &Row) -> Result<(i64, StoredFinding), Fail> {
    let key = FindingKey {
        account_id: row.try_get(1)?,
        region: row.try_get(2)?,
        product_arn: row.try_get(3)?,
        id: row.try_get(4)?,
    };
    let doc = match row.try_get::<_, Value>(6)? {
        Value::Object(m) => m,
        _ => return Err(corrupt("finding document")),
    };
    Ok((row.try_get(0)?, StoredFinding { key, doc, touched: CustomerTouched::from_bits(row.try_get(5)?) }))
}

/// Locks the stored findings with these (ProductArn, Id) pairs, in key order (every transaction
/// that locks several findings locks them in this order, so two never wait for each other).
async fn lock_identifiers(
    tx: &deadpool_postgres::Transaction<'_>,
    pairs: &[(&str, &str)],
) -> Result<Vec<(i64, StoredFinding)>, Fail> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "{SELECT_STORED} WHERE (product_arn, finding_id) IN (SELECT * FROM unnest($1::text[], $2::text[])) \
             ORDER BY product_arn, finding_id, account_id, region FOR UPDATE"
        )
    });
    let arns: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let ids: Vec<&str> = pairs.iter().map(|p| p.1).collect();
    let stmt = tx.prepare_cached(sql).await?;
    tx.query(&stmt, &[&arns, &ids]).await?.iter().map(stored_of).collect()
}

/// One hot column's values over several findings, as one array parameter.
enum HotArray {
    Text(Vec<String>),
    Int(Vec<i64>),
    Real(Vec<f64>),
}

impl HotArray {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            HotArray::Text(v) => v,
            HotArray::Int(v) => v,
            HotArray::Real(v) => v,
        }
    }
}

/// Inserts findings under the sequence numbers given (drawn from the sequence, or copied from
/// another store) in one statement; returns the sequence numbers of those inserted: a finding whose
/// key or sequence number is taken already is left out.
async fn insert_findings_with_seqs(
    tx: &deadpool_postgres::Transaction<'_>,
    rows: &[(i64, &StoredFinding)],
) -> Result<Vec<i64>, Fail> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let cols: Vec<&str> = HOT_COLUMNS.iter().map(|c| c.column).collect();
        let mut arrays = vec!["$1::int8[]".to_owned(), "$2::int8[]".to_owned()];
        for (i, c) in HOT_COLUMNS.iter().enumerate() {
            let ty = match c.ty {
                ColumnType::Text => "text",
                ColumnType::Time => "int8",
                ColumnType::Int => "float8",
            };
            arrays.push(format!("${}::{ty}[]", i + 3));
        }
        let n = HOT_COLUMNS.len();
        arrays.push(format!("${}::int8[]", n + 3));
        arrays.push(format!("${}::text[]", n + 4));
        let names: Vec<String> = (0..arrays.len()).map(|i| format!("c{i}")).collect();
        let mut select = names.clone();
        if let Some(doc) = select.last_mut() {
            doc.push_str("::jsonb");
        }
        format!(
            "INSERT INTO findings (seq, key_hash, {}, touched, doc) OVERRIDING SYSTEM VALUE \
             SELECT {} FROM unnest({}) AS u({}) ON CONFLICT DO NOTHING RETURNING seq",
            cols.join(", "),
            select.join(", "),
            arrays.join(", "),
            names.join(", ")
        )
    });
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let hashes: Vec<i64> = rows.iter().map(|r| r.1.key.hash64()).collect();
    let mut hot: Vec<HotArray> = HOT_COLUMNS
        .iter()
        .map(|c| match c.ty {
            ColumnType::Text => HotArray::Text(Vec::with_capacity(rows.len())),
            ColumnType::Time => HotArray::Int(Vec::with_capacity(rows.len())),
            ColumnType::Int => HotArray::Real(Vec::with_capacity(rows.len())),
        })
        .collect();
    let mut touched = Vec::with_capacity(rows.len());
    let mut docs = Vec::with_capacity(rows.len());
    for (_, finding) in rows {
        for (array, value) in hot.iter_mut().zip(hot_params(&finding.doc)) {
            match (array, value) {
                (HotArray::Text(v), Param::Text(s)) => v.push(s),
                (HotArray::Int(v), Param::Int(i)) => v.push(i),
                (HotArray::Real(v), Param::Real(r)) => v.push(r),
                _ => return Err(StoreError::Backend("a hot column of an unexpected type".into()).into()),
            }
        }
        touched.push(finding.touched.bits());
        docs.push(serde_json::to_string(&finding.doc).map_err(crate::backend)?);
    }
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(hot.len() + 4);
    params.push(&seqs);
    params.push(&hashes);
    params.extend(hot.iter().map(HotArray::as_sql));
    params.push(&touched);
    params.push(&docs);
    let stmt = tx.prepare_cached(sql).await?;
    tx.query(&stmt, &params).await?.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

async fn update_finding(
    tx: &deadpool_postgres::Transaction<'_>,
    seq: i64,
    finding: &StoredFinding,
) -> Result<(), Fail> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let sets: Vec<String> =
            HOT_COLUMNS.iter().enumerate().map(|(i, c)| format!("{} = ${}", c.column, i + 1)).collect();
        let n = HOT_COLUMNS.len();
        format!(
            "UPDATE findings SET {}, touched = ${}, doc = ${} WHERE seq = ${}",
            sets.join(", "),
            n + 1,
            n + 2,
            n + 3
        )
    });
    let hot = hot_params(&finding.doc);
    let touched = finding.touched.bits();
    let doc = Json(&finding.doc);
    let mut params: Vec<&(dyn ToSql + Sync)> = hot.iter().map(Param::as_sql).collect();
    params.push(&touched);
    params.push(&doc);
    params.push(&seq);
    let stmt = tx.prepare_cached(sql).await?;
    tx.execute(&stmt, &params).await?;
    Ok(())
}

/// A finding's (field code, value) attribute pairs.
type Attrs = Vec<(i64, String)>;

/// The writes of a transaction that go in bulk at its end: attribute rows, history records and
/// outbox events.
struct Pending {
    /// Per finding: its attribute values as stored before the transaction, and as they are now.
    attrs: BTreeMap<i64, (Attrs, Attrs)>,
    /// History records, in order (their ids follow it).
    history: Vec<(i64, HistoryEntry)>,
    /// The outbox events of the changes, in order (their sequence numbers follow it).
    events: Vec<HubEvent>,
    /// Whether the outbox keeps this transaction's events ([`outbox::keeps_events`]); if not,
    /// they are not even made.
    keeps_events: bool,
}

impl Pending {
    fn new(keeps_events: bool) -> Pending {
        Pending { attrs: BTreeMap::new(), history: Vec::new(), events: Vec::new(), keeps_events }
    }

    /// For a transaction of changes: their events are kept if the outbox keeps events.
    async fn for_transaction(tx: &deadpool_postgres::Transaction<'_>) -> Result<Pending, Fail> {
        Ok(Pending::new(outbox::keeps_events(tx).await?))
    }

    /// The imported event of a finding's change, if the outbox keeps events.
    fn imported(&mut self, finding: &StoredFinding, now: Micros) {
        if self.keeps_events {
            self.events.push(imported_event(finding, now));
        }
    }

    fn changed(&mut self, seq: i64, old: Option<&StoredFinding>, new: &StoredFinding) {
        let now = attr_values(new);
        self.attrs.entry(seq).or_insert_with(|| (old.map(attr_values).unwrap_or_default(), Vec::new())).1 = now;
    }

    async fn flush(self, tx: &deadpool_postgres::Transaction<'_>) -> Result<(), Fail> {
        let (mut del_f, mut del_v, mut del_s) = (Vec::<i16>::new(), Vec::<&str>::new(), Vec::<i64>::new());
        let (mut add_f, mut add_v, mut add_s) = (Vec::<i16>::new(), Vec::<&str>::new(), Vec::<i64>::new());
        for (seq, (before, after)) in &self.attrs {
            for (code, value) in before.iter().filter(|p| !after.contains(p)) {
                del_f.push(*code as i16);
                del_v.push(value);
                del_s.push(*seq);
            }
            for (code, value) in after.iter().filter(|p| !before.contains(p)) {
                add_f.push(*code as i16);
                add_v.push(value);
                add_s.push(*seq);
            }
        }
        if !del_s.is_empty() {
            let stmt = tx
                .prepare_cached(
                    "DELETE FROM finding_attrs a USING unnest($1::int2[], $2::text[], $3::int8[]) AS d(field, value, seq) \
                     WHERE a.field = d.field AND a.value = d.value AND a.seq = d.seq",
                )
                .await?;
            tx.execute(&stmt, &[&del_f, &del_v, &del_s]).await?;
        }
        if !add_s.is_empty() {
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO finding_attrs (field, value, seq) \
                     SELECT * FROM unnest($1::int2[], $2::text[], $3::int8[]) ON CONFLICT DO NOTHING",
                )
                .await?;
            tx.execute(&stmt, &[&add_f, &add_v, &add_s]).await?;
        }
        if !self.history.is_empty() {
            let mut seqs = Vec::with_capacity(self.history.len());
            let mut times = Vec::with_capacity(self.history.len());
            let mut created = Vec::with_capacity(self.history.len());
            let mut sources = Vec::with_capacity(self.history.len());
            let mut identities = Vec::with_capacity(self.history.len());
            let mut updates = Vec::with_capacity(self.history.len());
            for (seq, h) in &self.history {
                seqs.push(*seq);
                times.push(h.update_time);
                created.push(h.finding_created);
                sources.push(h.source.as_str());
                identities.push(h.identity.as_str());
                let changes: Vec<Value> = h
                    .updates
                    .iter()
                    .map(|c| json!({"UpdatedField": c.field, "OldValue": c.old_value, "NewValue": c.new_value}))
                    .collect();
                updates.push(Value::Array(changes).to_string());
            }
            // A record is never older than the finding's latest (whose row this transaction
            // holds locked): a request stamps its time before it waits for the lock, so a later
            // commit can carry an earlier time, and the history must read in commit order. A
            // creation has no record before it: no lookup.
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO finding_history (seq, update_time, created, source, identity, updates) \
                     SELECT h.seq, \
                            CASE WHEN h.c THEN h.t ELSE \
                            GREATEST(h.t, (SELECT max(f.update_time) FROM finding_history f WHERE f.seq = h.seq)) END, \
                            h.c, h.s, h.i, h.u::jsonb \
                     FROM unnest($1::int8[], $2::int8[], $3::bool[], $4::text[], $5::text[], $6::text[]) \
                     WITH ORDINALITY AS h(seq, t, c, s, i, u, n) ORDER BY h.n",
                )
                .await?;
            tx.execute(&stmt, &[&seqs, &times, &created, &sources, &identities, &updates]).await?;
        }
        outbox::insert_events(tx, &self.events).await?;
        Ok(())
    }
}

/// A finding as an import leaves it: where it is stored (`None`: created by this import), what it
/// was before the import, and what it is now.
struct Touched {
    seq: Option<i64>,
    before: Option<StoredFinding>,
    now: StoredFinding,
    changed: bool,
}

impl PostgresStore {
    /// The rules run in memory over the locked stored versions, in the batch's order; then the
    /// new findings go in with one statement (sequence numbers drawn ahead, in batch order), the
    /// changed ones are updated, and attributes, history and events follow in bulk.
    async fn import_once(&self, batch: &ImportBatch) -> Result<ImportReport, Fail> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let keys: Vec<Option<FindingKey>> =
            batch.findings.iter().map(|f| FindingKey::of(&f.doc, &batch.region)).collect();
        let mut pairs: Vec<(&str, &str)> =
            keys.iter().flatten().map(|k| (k.product_arn.as_str(), k.id.as_str())).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut known: HashMap<FindingKey, Touched> = lock_identifiers(&tx, &pairs)
            .await?
            .into_iter()
            .map(|(seq, f)| {
                (f.key.clone(), Touched { seq: Some(seq), before: Some(f.clone()), now: f, changed: false })
            })
            .collect();
        // The keys of created findings, in order of creation; history records with their key.
        let mut created: Vec<FindingKey> = Vec::new();
        let mut history: Vec<(FindingKey, HistoryEntry)> = Vec::new();
        let mut pending = Pending::for_transaction(&tx).await?;
        let mut report = ImportReport::default();
        for (incoming, key) in batch.findings.iter().zip(keys) {
            let Some(key) = key else {
                report.statuses.push(failed(
                    "Finding does not adhere to Amazon Finding Format. data should have required property 'Id'".into(),
                ));
                continue;
            };
            let ctx =
                ImportContext { region: &batch.region, now: batch.now, product_names: incoming.product_names.as_ref() };
            let stored = known.get(&key).map(|t| &t.now);
            let status = match apply_import(stored, incoming.doc.clone(), &ctx) {
                Ok(ImportOutcome::Updated { finding, .. } | ImportOutcome::Created { finding, .. })
                    if doc_holds_nul(&finding.doc) =>
                {
                    failed(NUL_MESSAGE.into())
                }
                Ok(ImportOutcome::Updated { finding, history: h }) => match known.get_mut(&key) {
                    Some(t) => {
                        pending.imported(&finding, batch.now);
                        report.changed.push(finding.clone());
                        history.push((key, h));
                        t.now = finding;
                        t.changed = true;
                        ImportStatus::Updated
                    }
                    None => failed("Internal service failure".into()),
                },
                Ok(ImportOutcome::Created { finding, history: h }) if stored.is_none() => {
                    pending.imported(&finding, batch.now);
                    report.changed.push(finding.clone());
                    history.push((key.clone(), h));
                    created.push(key.clone());
                    known.insert(key, Touched { seq: None, before: None, now: finding, changed: true });
                    ImportStatus::Created
                }
                Ok(ImportOutcome::Created { .. }) => {
                    return Err(StoreError::Backend("a creation over a stored finding".into()).into());
                }
                Ok(ImportOutcome::Stale) => ImportStatus::Stale,
                Err(e) => failed(e.to_string()),
            };
            report.statuses.push(status);
        }
        if !created.is_empty() {
            let n = created.len() as i64;
            let stmt = tx
                .prepare_cached(
                    "SELECT nextval(pg_get_serial_sequence('findings', 'seq')) FROM generate_series(1::int8, $1::int8)",
                )
                .await?;
            let seqs: Vec<i64> =
                tx.query(&stmt, &[&n]).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
            for (key, seq) in created.iter().zip(&seqs) {
                if let Some(t) = known.get_mut(key) {
                    t.seq = Some(*seq);
                }
            }
            let rows: Vec<(i64, &StoredFinding)> =
                created.iter().filter_map(|k| known.get(k)).filter_map(|t| Some((t.seq?, &t.now))).collect();
            if insert_findings_with_seqs(&tx, &rows).await?.len() != created.len() {
                // Another instance created one of them since the lock (its transaction has
                // committed: the insert waited for it). Everything is rolled back and run again.
                return Err(Fail::CreatedMeanwhile);
            }
        }
        for t in known.values().filter(|t| t.changed) {
            let seq = t.seq.ok_or_else(|| StoreError::Backend("a finding without a sequence number".into()))?;
            if t.before.is_some() {
                update_finding(&tx, seq, &t.now).await?;
            }
            pending.changed(seq, t.before.as_ref(), &t.now);
        }
        for (key, h) in history {
            let seq = known.get(&key).and_then(|t| t.seq);
            pending.history.push((seq.ok_or_else(|| StoreError::Backend("history without a finding".into()))?, h));
        }
        pending.flush(&tx).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn batch_update_once(&self, batch: &UpdateBatch) -> Result<UpdateReport, Fail> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut report = UpdateReport::default();
        let (unique, duplicates) = deduplicate(&batch.request.identifiers);
        for dup in duplicates {
            report.unprocessed.push((dup, UnprocessedReason::DuplicatedFindingIdentifier));
        }
        let mut pairs: Vec<(&str, &str)> = unique.iter().map(|i| (i.product_arn.as_str(), i.id.as_str())).collect();
        pairs.sort_unstable();
        let rows = lock_identifiers(&tx, &pairs).await?;
        let mut pending = Pending::for_transaction(&tx).await?;
        for ident in unique {
            let found: Vec<&(i64, StoredFinding)> = rows
                .iter()
                .filter(|(_, f)| {
                    f.key.product_arn == ident.product_arn && f.key.id == ident.id && batch.scope.allows(f)
                })
                .collect();
            if found.is_empty() {
                report.unprocessed.push((ident, UnprocessedReason::FindingNotFound));
                continue;
            }
            let mut outcome = Ok(());
            let mut changed = Vec::new();
            for (seq, stored) in found {
                match apply_update(stored, &batch.request.update, batch.now, &batch.identity) {
                    Ok((next, _)) if doc_holds_nul(&next.doc) => outcome = Err(UnprocessedReason::InvalidInput),
                    Ok((next, history)) => changed.push((*seq, stored, next, history)),
                    Err(reason) => outcome = Err(reason),
                }
            }
            if let Err(reason) = outcome {
                report.unprocessed.push((ident, reason));
                continue;
            }
            for (seq, old, next, history) in changed {
                update_finding(&tx, seq, &next).await?;
                pending.changed(seq, Some(old), &next);
                pending.history.push((seq, history));
                pending.imported(&next, batch.now);
                report.changed.push(next);
            }
            report.processed.push(ident);
        }
        pending.flush(&tx).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn legacy_update_once(&self, update: &LegacyUpdate) -> Result<u64, Fail> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut clause = Clause::default();
        query::filter_clause(&update.filters, &mut clause);
        query::scope_clause(&update.scope, &mut clause);
        let sql = format!(
            "SELECT f.seq, f.account_id, f.region, f.product_arn, f.finding_id, f.touched, f.doc FROM findings f \
             WHERE {} ORDER BY f.product_arn, f.finding_id, f.account_id, f.region FOR UPDATE",
            clause.where_sql()
        );
        let rows = tx.query(&sql, &sql_params(&clause.params)).await?;
        let mut pending = Pending::for_transaction(&tx).await?;
        let mut changed = 0;
        for row in &rows {
            let (seq, stored) = stored_of(row)?;
            if !update.scope.allows(&stored) || !update.filters.matches(&Value::Object(stored.doc.clone())) {
                continue;
            }
            let next = apply_legacy_update(&stored, update.note.as_ref(), update.record_state.as_deref(), update.now);
            if next != stored && !doc_holds_nul(&next.doc) {
                update_finding(&tx, seq, &next).await?;
                pending.changed(seq, Some(&stored), &next);
                pending.imported(&next, update.now);
                changed += 1;
            }
        }
        pending.flush(&tx).await?;
        tx.commit().await?;
        Ok(changed)
    }
}

/// One row of a findings scan.
struct ScanRow {
    seq: i64,
    doc: Value,
}

impl ScanRow {
    fn cursor(&self, sort: &[SortCriterion]) -> Cursor {
        Cursor { values: sort.iter().map(|c| sort_value(&self.doc, c.field)).collect(), seq: self.seq }
    }

    fn in_scope(&self, scope: &Scope) -> bool {
        let region = self.doc.get("Region").and_then(Value::as_str);
        let key = self.doc.as_object().zip(region).and_then(|(doc, region)| FindingKey::of(doc, region));
        key.is_some_and(|k| {
            scope.accounts.allows(&k.account_id) && scope.region.as_deref().is_none_or(|r| r == k.region)
        })
    }
}

fn matches(scope: &Scope, filters: &Filters, row: &ScanRow) -> bool {
    row.in_scope(scope) && filters.matches(&row.doc)
}

async fn scan<C: GenericClient>(
    client: &C,
    clause: &Clause,
    order: Option<&str>,
    limit: Option<usize>,
) -> Result<Vec<ScanRow>, Fail> {
    let mut sql = format!("SELECT f.seq, f.doc FROM findings f WHERE {}", clause.where_sql());
    if let Some(order) = order {
        sql.push_str(" ORDER BY ");
        sql.push_str(order);
    }
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = client.query(&sql, &sql_params(&clause.params)).await?;
    rows.iter().map(|r| Ok(ScanRow { seq: r.try_get(0)?, doc: r.try_get(1)? })).collect()
}

impl PostgresStore {
    async fn get_findings_once(&self, query: FindingQuery) -> Result<FindingPage, Fail> {
        let sort = default_sort(query.sort);
        let max = query.max_results.clamp(1, 100);
        let after = query.next_token.as_deref().map(|t| page::decode(t, &sort)).transpose()?;
        if after.as_ref().is_some_and(|c| !query::cursor_is_bindable(c)) {
            return Err(StoreError::InvalidToken.into());
        }
        let mut base = Clause::default();
        query::filter_clause(&query.filters, &mut base);
        query::scope_clause(&query.scope, &mut base);
        let client = self.client().await?;
        let client = &**client;

        let mut found: Vec<ScanRow> = Vec::new();
        if query::sortable_in_sql(&sort) {
            let order = query::order_by(&sort);
            let mut chunk = if base.exact { max + 1 } else { 256 };
            let mut position = after;
            loop {
                let mut clause = base.clone();
                if let Some(c) = &position {
                    query::keyset_clause(&sort, c, &mut clause);
                }
                let rows = scan(client, &clause, Some(&order), Some(chunk)).await?;
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
            let mut keyed: Vec<(Cursor, i64)> = scan(client, &base, None, None)
                .await?
                .into_iter()
                .filter(|row| matches(&query.scope, &query.filters, row))
                .map(|row| (row.cursor(&sort), row.seq))
                .collect();
            keyed.sort_by(|a, b| page::compare(&a.0, &b.0, &sort));
            let start = match &after {
                Some(c) => keyed.partition_point(|(k, _)| page::compare(k, c, &sort) != std::cmp::Ordering::Greater),
                None => 0,
            };
            let seqs: Vec<i64> = keyed.into_iter().skip(start).take(max + 1).map(|(_, seq)| seq).collect();
            let rows =
                client.query("SELECT f.seq, f.doc FROM findings f WHERE f.seq = ANY($1::int8[])", &[&seqs]).await?;
            let mut by_seq: HashMap<i64, ScanRow> = HashMap::with_capacity(rows.len());
            for r in &rows {
                let row = ScanRow { seq: r.try_get(0)?, doc: r.try_get(1)? };
                by_seq.insert(row.seq, row);
            }
            found.extend(seqs.iter().filter_map(|s| by_seq.remove(s)));
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

    async fn history_once(&self, query: &HistoryQuery) -> Result<HistoryPage, Fail> {
        let max = query.max_results.clamp(1, 100);
        let position = query.next_token.as_deref().map(page::decode_history_token).transpose()?;
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT seq, account_id, region FROM findings WHERE product_arn = $1 AND finding_id = $2")
            .await?;
        let mut seqs: Vec<i64> = Vec::new();
        for row in client.query(&stmt, &[&query.identifier.product_arn, &query.identifier.id]).await? {
            let account: String = row.try_get(1)?;
            let region: String = row.try_get(2)?;
            if query.scope.accounts.allows(&account) && query.scope.region.as_deref().is_none_or(|r| r == region) {
                seqs.push(row.try_get(0)?);
            }
        }
        if seqs.is_empty() {
            return Ok(HistoryPage::default());
        }
        let mut params = vec![Param::Int(0)];
        let mut sql = "SELECT id, update_time, created, source, identity, updates FROM finding_history \
                       WHERE seq = ANY($1::int8[])"
            .to_owned();
        if let Some(start) = query.start {
            params.push(Param::Int(start));
            sql.push_str(&format!(" AND update_time >= ${}", params.len()));
        }
        if let Some(end) = query.end {
            params.push(Param::Int(end));
            sql.push_str(&format!(" AND update_time <= ${}", params.len()));
        }
        if let Some((t, id)) = position {
            params.push(Param::Int(t));
            params.push(Param::Int(id));
            sql.push_str(&format!(" AND (update_time, id) < (${}, ${})", params.len() - 1, params.len()));
        }
        sql.push_str(&format!(" ORDER BY update_time DESC, id DESC LIMIT {}", max + 1));
        let mut refs: Vec<&(dyn ToSql + Sync)> = vec![&seqs];
        refs.extend(params.iter().skip(1).map(Param::as_sql));
        let rows = client.query(&sql, &refs).await?;
        let mut records = Vec::new();
        let mut positions = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let update_time: i64 = row.try_get(1)?;
            let source: String = row.try_get(3)?;
            let source = UpdateSourceType::parse(&source).ok_or_else(|| corrupt("history source"))?;
            let updates: Value = row.try_get(5)?;
            let updates = updates
                .as_array()
                .ok_or_else(|| corrupt("history record"))?
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
                entry: HistoryEntry {
                    update_time,
                    finding_created: row.try_get(2)?,
                    source,
                    identity: row.try_get(4)?,
                    updates,
                },
            });
        }
        let next_token = if records.len() > max {
            records.truncate(max);
            positions.get(max - 1).map(|(t, id)| page::encode_history_token(*t, *id))
        } else {
            None
        };
        Ok(HistoryPage { records, next_token })
    }

    async fn purge_once(&self, policy: &RetentionPolicy, now: Micros, limit: usize) -> Result<u64, Fail> {
        let active_cutoff = now.saturating_sub(policy.active_micros());
        let archived_cutoff = now.saturating_sub(policy.archived_micros());
        let client = self.client().await?;
        // SKIP LOCKED: a finding that an import or an update holds is left for the next run, and
        // instances that purge at the same time take different findings. Attributes and history
        // go with their finding (foreign keys).
        let stmt = client
            .prepare_cached(
                "DELETE FROM findings WHERE seq IN (\
                   SELECT seq FROM findings \
                   WHERE (updated_at < $1 AND updated_at <> (-9223372036854775808)::bigint) \
                      OR (updated_at < $2 AND record_state = 'ARCHIVED') \
                   ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED)",
            )
            .await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(client.execute(&stmt, &[&active_cutoff, &archived_cutoff, &limit]).await?)
    }
}

#[async_trait]
impl FindingStore for PostgresStore {
    async fn import(&self, batch: ImportBatch) -> Result<ImportReport, StoreError> {
        let report = retrying(|| self.import_once(&batch)).await?;
        self.note_created(report.created() as u64);
        Ok(report)
    }

    async fn batch_update(&self, batch: UpdateBatch) -> Result<UpdateReport, StoreError> {
        retrying(|| self.batch_update_once(&batch)).await
    }

    async fn legacy_update(&self, update: LegacyUpdate) -> Result<u64, StoreError> {
        retrying(|| self.legacy_update_once(&update)).await
    }

    async fn get_findings(&self, query: FindingQuery) -> Result<FindingPage, StoreError> {
        Ok(self.get_findings_once(query).await?)
    }

    async fn finding_history(&self, query: HistoryQuery) -> Result<HistoryPage, StoreError> {
        Ok(self.history_once(&query).await?)
    }

    async fn purge_expired(&self, policy: &RetentionPolicy, now: Micros, limit: usize) -> Result<u64, StoreError> {
        retrying(|| self.purge_once(policy, now, limit)).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM findings", &[])
            .await
            .map_err(|e| pg_err(&e))?
            .try_get(0)
            .map_err(|e| pg_err(&e))?;
        Ok(n.max(0) as u64)
    }

    async fn count_groups(&self, query: GroupQuery) -> Result<Vec<GroupCount>, StoreError> {
        let mut clause = Clause::default();
        query::scope_clause(&query.scope, &mut clause);
        let mut params = clause.params;
        params.push(Param::Int(query.since));
        let since = format!("${}", params.len());
        if query.group != GroupBy::CreatedDay {
            params.pop();
        }
        let sql = crate::groups::statement(&query, "text", &clause.sql, &since);
        let client = self.client().await?;
        let rows = client.query(&sql, &sql_params(&params)).await.map_err(|e| pg_err(&e))?;
        rows.iter()
            .map(|r| {
                let key: String = r.try_get(0).map_err(|e| pg_err(&e))?;
                let n: i64 = r.try_get(1).map_err(|e| pg_err(&e))?;
                Ok(GroupCount { value: crate::groups::group_value(query.group, key), count: n.max(0) as u64 })
            })
            .collect()
    }
}
