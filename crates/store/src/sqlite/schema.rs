//! The SQLite schema and its versioned migrations (`PRAGMA user_version`).
//!
//! - `findings`: one row per finding; the hot fields as columns (never NULL: a missing value is
//!   stored as a sentinel that sorts first, `''` or `i64::MIN`, so that indexes serve ORDER BY);
//! - `finding_docs`: the document, apart, so that scans of `findings` stay narrow;
//! - `finding_attrs`: the values of the multi-valued fields that filters use most (resource ids
//!   and types, finding types), one row per value;
//! - `finding_history`: one row per creation or change;
//! - (migration 2) `access_keys`, `hubs`, `product_subscriptions`, `resource_tags`: the hub's state.
//! - (migration 6) `action_targets` (custom actions) and `work_items` (OpsCenter work items, with
//!   a partial unique index that is the dedup rule).
//! - (migration 7) `findings_by_severity`: the severity order served by an index.
//! - (migration 8) `copy_progress`: how far a copy into this store (`findinghub migrate`) has come.
//! - (migration 9) `insights`: custom insights (their filters as JSON text).
//! - (migration 10) `target_cursors`: what a batch target (the lake) holds, as the highest delivery
//!   id it wrote, committed with marking those deliveries delivered.
//! - (migration 11) the two order indexes break ties by `seq` instead of `key_hash`.
//! - (migration 12) `finding_attrs` is keyed by (field, span, value, seq), `span` being
//!   `seq >> ATTR_SPAN_BITS`: a new finding's rows go into the newest span's few pages instead of
//!   onto random pages of the whole table, and a lookup probes each span.
//! - (migration 13) finding keys leave `findings_by_key` for two tables: `finding_keys_recent`,
//!   small, takes every new finding's key; the writer folds it into `finding_keys` now and then,
//!   in key order (see `RECENT_KEYS_MAX`). A lookup reads both.

use rusqlite::{Connection, TransactionBehavior};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE findings (
    seq INTEGER PRIMARY KEY,
    key_hash INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    product_arn TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    generator_id TEXT NOT NULL,
    title TEXT NOT NULL,
    severity_label TEXT NOT NULL,
    severity_normalized INTEGER NOT NULL,
    confidence INTEGER NOT NULL,
    criticality INTEGER NOT NULL,
    workflow_status TEXT NOT NULL,
    record_state TEXT NOT NULL,
    compliance_status TEXT NOT NULL,
    verification_state TEXT NOT NULL,
    product_name TEXT NOT NULL,
    company_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_observed_at INTEGER NOT NULL,
    last_observed_at INTEGER NOT NULL,
    touched INTEGER NOT NULL
);
CREATE INDEX findings_by_key ON findings (key_hash);
-- The default order, and a covering index for what triage filters on first (scope, record state,
-- workflow, severity, title), so that those filters are checked without reading the rows.
CREATE INDEX findings_by_updated ON findings (
    updated_at, key_hash, account_id, region, record_state, workflow_status, severity_label, title
);
CREATE TABLE finding_docs (
    seq INTEGER PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE TABLE finding_attrs (
    field INTEGER NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (field, value, seq)
) WITHOUT ROWID;
CREATE TABLE finding_history (
    seq INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    id INTEGER NOT NULL,
    created INTEGER NOT NULL,
    source TEXT NOT NULL,
    identity TEXT NOT NULL,
    updates TEXT NOT NULL,
    PRIMARY KEY (seq, update_time, id)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    admin INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    sealed_secret BLOB NOT NULL
);
CREATE TABLE hubs (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    subscribed_at INTEGER NOT NULL,
    auto_enable_controls INTEGER NOT NULL,
    control_finding_generator TEXT NOT NULL,
    PRIMARY KEY (account_id, region)
);
CREATE TABLE product_subscriptions (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    product_arn TEXT NOT NULL,
    PRIMARY KEY (account_id, region, product_arn)
);
CREATE TABLE resource_tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
"#,
    r#"
CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    admin INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    secret_hash BLOB NOT NULL
);
"#,
    r#"
CREATE TABLE custom_products (
    account_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    company TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (account_id, product_id)
);
"#,
    r#"
-- The outbox (AUTOINCREMENT: sequence numbers and delivery ids are never reused after a purge).
CREATE TABLE outbox_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    ordering_key INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    dispatched INTEGER NOT NULL,
    envelope BLOB NOT NULL
);
CREATE INDEX outbox_undispatched ON outbox_events (seq) WHERE dispatched = 0;
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    target TEXT NOT NULL,
    rule TEXT NOT NULL,
    ordering_key INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL,
    finished_at INTEGER,
    last_error TEXT
);
CREATE INDEX deliveries_by_target ON deliveries (target, state, id);
CREATE INDEX deliveries_pending_by_finding ON deliveries (target, ordering_key, id) WHERE state = 'pending';
CREATE INDEX deliveries_by_event ON deliveries (seq);
CREATE TABLE delivery_targets (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE delivery_rules (
    name TEXT PRIMARY KEY,
    pattern TEXT NOT NULL,
    targets TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE action_targets (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, id)
);
CREATE TABLE work_items (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    product_arn TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    status TEXT NOT NULL,
    severity INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    item TEXT NOT NULL
);
-- OpsCenter's dedup: one Open or InProgress work item per account and finding.
CREATE UNIQUE INDEX work_items_open_dedup ON work_items (account_id, dedup_key) WHERE status <> 'Resolved';
CREATE INDEX work_items_by_created ON work_items (created_at, id);
"#,
    r#"
-- The order by severity (the console's severity column), with the same covering columns as the
-- default order's index, so that a severity-sorted page with the triage filters is a short index
-- scan instead of a sort of every matching row.
CREATE INDEX findings_by_severity ON findings (
    severity_normalized, key_hash, account_id, region, record_state, workflow_status, severity_label, title
);
"#,
    r#"
-- How far a copy into this store (findinghub migrate) has come, per table.
CREATE TABLE copy_progress (
    tbl TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    cursor TEXT,
    copied INTEGER NOT NULL,
    done INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE insights (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    filters TEXT NOT NULL,
    group_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, id)
);
"#,
    r#"
CREATE TABLE target_cursors (
    target TEXT PRIMARY KEY,
    up_to INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"#,
    r#"
-- Ties in an order are broken by seq, the order of arrival, no longer by key_hash: a new finding's
-- entries then go at the end of their severity's (or their time's) range, on a page that the
-- previous findings already dirtied, instead of on a random page of the whole index (one page
-- written less per imported finding).
DROP INDEX findings_by_updated;
CREATE INDEX findings_by_updated ON findings (
    updated_at, seq, account_id, region, record_state, workflow_status, severity_label, title
);
DROP INDEX findings_by_severity;
CREATE INDEX findings_by_severity ON findings (
    severity_normalized, seq, account_id, region, record_state, workflow_status, severity_label, title
);
"#,
    r#"
-- Attribute rows by span of arrival (seq >> 12, ATTR_SPAN_BITS), then value: the values of new
-- findings (resource ids, which are as good as random) land in the newest span's few hundred
-- pages, which stay in the cache and are written once per commit for many findings, where the
-- whole table's order put each on a page of its own. A lookup probes each span's range.
CREATE TABLE finding_attrs_by_span (
    field INTEGER NOT NULL,
    span INTEGER NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (field, span, value, seq)
) WITHOUT ROWID;
INSERT INTO finding_attrs_by_span (field, span, value, seq) SELECT field, seq >> 12, value, seq FROM finding_attrs;
DROP TABLE finding_attrs;
ALTER TABLE finding_attrs_by_span RENAME TO finding_attrs;
"#,
    r#"
-- A finding's key hash is as good as random, so the index of every key took each new finding's
-- entry on a page of its own. New keys go into a small table instead, whose pages are few and
-- written once per commit for many findings; the writer folds it into the large one in key order,
-- which writes each of the large one's pages once for many keys.
CREATE TABLE finding_keys (
    key_hash INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key_hash, seq)
) WITHOUT ROWID;
CREATE TABLE finding_keys_recent (
    key_hash INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key_hash, seq)
) WITHOUT ROWID;
INSERT INTO finding_keys (key_hash, seq) SELECT key_hash, seq FROM findings;
DROP INDEX findings_by_key;
"#,
];

/// The most keys that `finding_keys_recent` holds before the writer folds them into
/// `finding_keys`. Larger makes each commit write more of the small table's pages; smaller makes
/// folds more frequent, each writing most of the large table's pages.
pub const RECENT_KEYS_MAX: usize = 32_768;

/// An attribute row's span is `seq >> ATTR_SPAN_BITS` (migration 12 names the same number): 4,096
/// findings per span. Smaller spans make imports write fewer pages per finding and lookups probe
/// more spans (about a microsecond each).
pub const ATTR_SPAN_BITS: u32 = 12;

/// Brings the database to the newest schema, one migration per transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The WAL size past which the writer restarts it; a restarted WAL keeps this much of its file
/// (`journal_size_limit`) to write over. Larger costs disk and makes reads look through more of
/// the WAL's index; 256 MB imported a tenth faster than 128 MB.
pub const WAL_BOUND_BYTES: u64 = 256 * 1024 * 1024;

/// The settings of every connection: WAL (readers never block the writer), NORMAL sync (durable
/// at each checkpoint; a power cut loses at most the last transactions, never consistency).
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Imports use a dozen statements; keep every one of them prepared.
    conn.set_prepared_statement_cache_capacity(128);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -32768;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 0;
         PRAGMA wal_autocheckpoint = 0; -- checkpoints run on a connection of their own
         PRAGMA journal_size_limit = {WAL_BOUND_BYTES};"
    ))
}

#[cfg(test)]
mod tests {
    use super::{ATTR_SPAN_BITS, MIGRATIONS};

    /// An in-memory database with the first `version` migrations applied.
    fn at_version(version: usize) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).expect("an older migration");
        }
        conn.pragma_update(None, "user_version", version as i64).expect("version");
        conn
    }

    #[test]
    fn the_span_migration_uses_the_span_constant() {
        assert!(MIGRATIONS[11].contains(&format!("seq >> {ATTR_SPAN_BITS},")));
    }

    /// A store at version 11 keeps every attribute row through migration 12, each in its span.
    #[test]
    fn attribute_rows_move_into_their_spans() {
        let mut conn = at_version(11);
        let rows: Vec<(i64, String, i64)> =
            vec![(1, "arn:b".into(), 1), (1, "arn:a".into(), 5000), (2, "AwsEc2Instance".into(), 9000)];
        for (field, value, seq) in &rows {
            conn.execute(
                "INSERT INTO finding_attrs (field, value, seq) VALUES (?, ?, ?)",
                rusqlite::params![field, value, seq],
            )
            .expect("an attribute row");
        }
        super::migrate(&mut conn).expect("migrate");
        let mut stmt = conn.prepare("SELECT field, span, value, seq FROM finding_attrs ORDER BY seq").expect("select");
        let moved: Vec<(i64, i64, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let expected: Vec<(i64, i64, String, i64)> =
            rows.into_iter().map(|(f, v, s)| (f, s >> ATTR_SPAN_BITS, v, s)).collect();
        assert_eq!(moved, expected);
        assert_eq!(moved[1].1, 1, "seq 5000 is in the second span");
    }

    /// A store at version 12 keeps every finding's key through migration 13.
    #[test]
    fn finding_keys_move_into_their_table() {
        let mut conn = at_version(12);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('findings') WHERE name NOT IN ('seq', 'key_hash')")
            .expect("columns")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names");
        let insert = format!(
            "INSERT INTO findings (seq, key_hash, {}) VALUES (?, ?, {})",
            columns.join(", "),
            vec!["0"; columns.len()].join(", ")
        );
        let keys = [(7_i64, -42_i64), (8, 99), (9, -42)];
        for (seq, hash) in keys {
            conn.execute(&insert, rusqlite::params![seq, hash]).expect("a finding");
        }
        super::migrate(&mut conn).expect("migrate");
        let mut stmt = conn.prepare("SELECT key_hash, seq FROM finding_keys ORDER BY seq").expect("select");
        let moved: Vec<(i64, i64)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").collect::<Result<_, _>>().expect("rows");
        assert_eq!(moved, vec![(-42, 7), (99, 8), (-42, 9)]);
        let index: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'findings_by_key'", [], |r| r.get(0))
            .expect("index");
        assert_eq!(index, 0, "the old index is gone");
    }
}
