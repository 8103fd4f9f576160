//! The PostgreSQL schema and its versioned migrations (the `schema_migrations` table).
//!
//! - `findings`: one row per finding; the hot fields as columns, never NULL (a missing value is a
//!   sentinel that sorts first, `''` or `i64::MIN`, as on SQLite, so that indexes serve ORDER BY);
//!   every text column is `COLLATE "C"` so that ORDER BY is byte order, the order of the reference
//!   evaluator, whatever the database's collation; numbers (Confidence, Criticality, the
//!   normalized severity) are `double precision`, as the evaluator compares them; the document
//!   is `jsonb`. The finding's key (ProductArn, Id, account, Region) is unique: `INSERT … ON
//!   CONFLICT` and row locks make imports from several instances safe.
//! - `finding_attrs`: the values of the multi-valued fields that filters use most (resource ids
//!   and types, finding types), one row per value; deleted with their finding (foreign key).
//! - `finding_history`: one row per creation or change; ids from an identity column (unique
//!   across instances); deleted with their finding.
//! - `access_keys`, `api_keys`, `hubs`, `product_subscriptions`, `resource_tags`: the hub's state.
//! - (migration 4) `action_targets` (custom actions) and `work_items` (OpsCenter work items, with
//!   a partial unique index that is the dedup rule).
//! - (migration 5) `findings_by_severity`, `findings_by_scope_severity`: the severity order
//!   served by an index.
//! - (migration 6) `copy_progress`: how far a copy into this store (`findinghub migrate`) has come.
//! - (migration 7) `insights`: custom insights (their filters as jsonb).
//! - (migration 8) `target_cursors`: what a batch target (the lake) holds, as the highest delivery
//!   id it wrote, committed with marking those deliveries delivered.
//! - (migration 9) the order indexes break ties by `seq` instead of `key_hash`.
//!
//! Migrations run at open, all in one transaction under an advisory lock keyed by the schema,
//! so that several instances starting at once apply each migration exactly once.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// The migrations, in order; the version of a migration is its position plus one. Never edit one
/// that has shipped: add the next.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE findings (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_hash bigint NOT NULL,
    account_id text COLLATE "C" NOT NULL,
    region text COLLATE "C" NOT NULL,
    product_arn text COLLATE "C" NOT NULL,
    finding_id text COLLATE "C" NOT NULL,
    generator_id text COLLATE "C" NOT NULL,
    title text COLLATE "C" NOT NULL,
    severity_label text COLLATE "C" NOT NULL,
    severity_normalized double precision NOT NULL,
    confidence double precision NOT NULL,
    criticality double precision NOT NULL,
    workflow_status text COLLATE "C" NOT NULL,
    record_state text COLLATE "C" NOT NULL,
    compliance_status text COLLATE "C" NOT NULL,
    verification_state text COLLATE "C" NOT NULL,
    product_name text COLLATE "C" NOT NULL,
    company_name text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    first_observed_at bigint NOT NULL,
    last_observed_at bigint NOT NULL,
    touched bigint NOT NULL,
    doc jsonb NOT NULL,
    CONSTRAINT findings_key UNIQUE (product_arn, finding_id, account_id, region)
);
-- The default order (and retention's scan).
CREATE INDEX findings_by_updated ON findings (updated_at, key_hash, seq);
-- The default order within a member account's scope.
CREATE INDEX findings_by_scope ON findings (account_id, region, updated_at, key_hash, seq);
CREATE TABLE finding_attrs (
    field smallint NOT NULL,
    value text COLLATE "C" NOT NULL,
    seq bigint NOT NULL REFERENCES findings (seq) ON DELETE CASCADE,
    PRIMARY KEY (field, value, seq)
);
CREATE INDEX finding_attrs_by_seq ON finding_attrs (seq);
CREATE TABLE finding_history (
    seq bigint NOT NULL REFERENCES findings (seq) ON DELETE CASCADE,
    update_time bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    created boolean NOT NULL,
    source text NOT NULL,
    identity text NOT NULL,
    updates jsonb NOT NULL,
    PRIMARY KEY (seq, update_time, id)
);
CREATE TABLE access_keys (
    access_key_id text COLLATE "C" PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    admin boolean NOT NULL,
    created_at bigint NOT NULL,
    sealed_secret bytea NOT NULL
);
CREATE TABLE api_keys (
    key_id text COLLATE "C" PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    admin boolean NOT NULL,
    created_at bigint NOT NULL,
    secret_hash bytea NOT NULL
);
CREATE TABLE hubs (
    account_id text COLLATE "C" NOT NULL,
    region text COLLATE "C" NOT NULL,
    subscribed_at bigint NOT NULL,
    auto_enable_controls boolean NOT NULL,
    control_finding_generator text NOT NULL,
    PRIMARY KEY (account_id, region)
);
CREATE TABLE product_subscriptions (
    account_id text COLLATE "C" NOT NULL,
    region text COLLATE "C" NOT NULL,
    product_arn text COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, region, product_arn)
);
CREATE TABLE resource_tags (
    arn text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (arn, key)
);
"#,
    r#"
CREATE TABLE custom_products (
    account_id text COLLATE "C" NOT NULL,
    product_id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    company text NOT NULL,
    description text NOT NULL,
    PRIMARY KEY (account_id, product_id)
);
"#,
    r#"
-- The outbox: json, not jsonb (never queried into; kept as written, and cheaper to insert).
CREATE TABLE outbox_events (
    seq bigserial PRIMARY KEY,
    event_id text NOT NULL,
    ordering_key bigint NOT NULL,
    created_at bigint NOT NULL,
    dispatched boolean NOT NULL,
    envelope json NOT NULL
);
CREATE INDEX outbox_undispatched ON outbox_events (seq) WHERE NOT dispatched;
CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    seq bigint NOT NULL REFERENCES outbox_events (seq),
    target text COLLATE "C" NOT NULL,
    rule text NOT NULL,
    ordering_key bigint NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL,
    created_at bigint NOT NULL,
    next_attempt_at bigint NOT NULL,
    claimed_until bigint NOT NULL,
    finished_at bigint,
    last_error text
);
CREATE INDEX deliveries_by_target ON deliveries (target, state, id);
CREATE INDEX deliveries_pending_by_finding ON deliveries (target, ordering_key, id) WHERE state = 'pending';
CREATE INDEX deliveries_by_event ON deliveries (seq);
CREATE TABLE delivery_targets (
    name text COLLATE "C" PRIMARY KEY,
    kind text NOT NULL,
    config jsonb NOT NULL,
    created_at bigint NOT NULL
);
CREATE TABLE delivery_rules (
    name text COLLATE "C" PRIMARY KEY,
    pattern jsonb NOT NULL,
    targets jsonb NOT NULL,
    enabled boolean NOT NULL,
    created_at bigint NOT NULL
);
CREATE TABLE leases (
    name text COLLATE "C" PRIMARY KEY,
    holder text NOT NULL,
    until bigint NOT NULL
);
"#,
    r#"
CREATE TABLE action_targets (
    account_id text COLLATE "C" NOT NULL,
    region text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (account_id, region, id)
);
CREATE TABLE work_items (
    id text COLLATE "C" PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    region text COLLATE "C" NOT NULL,
    finding_id text NOT NULL,
    product_arn text NOT NULL,
    dedup_key text COLLATE "C" NOT NULL,
    status text NOT NULL,
    severity smallint NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    item jsonb NOT NULL
);
-- OpsCenter's dedup: one Open or InProgress work item per account and finding, whichever
-- instance opens it.
CREATE UNIQUE INDEX work_items_open_dedup ON work_items (account_id, dedup_key) WHERE status <> 'Resolved';
CREATE INDEX work_items_by_created ON work_items (created_at, id);
"#,
    r#"
-- The order by severity (the console's severity column), in all accounts and within a member
-- account's scope, as for the default order.
CREATE INDEX findings_by_severity ON findings (severity_normalized, key_hash, seq);
CREATE INDEX findings_by_scope_severity ON findings (account_id, region, severity_normalized, key_hash, seq);
"#,
    r#"
-- How far a copy into this store (findinghub migrate) has come, per table.
CREATE TABLE copy_progress (
    tbl text COLLATE "C" PRIMARY KEY,
    source text NOT NULL,
    cursor text,
    copied bigint NOT NULL,
    done boolean NOT NULL
);
"#,
    r#"
CREATE TABLE insights (
    account_id text COLLATE "C" NOT NULL,
    region text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    filters jsonb NOT NULL,
    group_by text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (account_id, region, id)
);
"#,
    r#"
CREATE TABLE target_cursors (
    target text COLLATE "C" PRIMARY KEY,
    up_to bigint NOT NULL,
    updated_at bigint NOT NULL
);
"#,
    r#"
-- Ties in an order are broken by seq alone (the order of arrival), as in the embedded store.
DROP INDEX findings_by_updated;
DROP INDEX findings_by_scope;
DROP INDEX findings_by_severity;
DROP INDEX findings_by_scope_severity;
CREATE INDEX findings_by_updated ON findings (updated_at, seq);
CREATE INDEX findings_by_scope ON findings (account_id, region, updated_at, seq);
CREATE INDEX findings_by_severity ON findings (severity_normalized, seq);
CREATE INDEX findings_by_scope_severity ON findings (account_id, region, severity_normalized, seq);
"#,
];

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error(
        "the database's schema is at version {found}, newer than this findinghub knows ({known}): upgrade findinghub"
    )]
    TooNew { found: i32, known: i32 },
    #[error("no schema of the connection's search_path exists: create it, or name one that does")]
    NoSchema,
}

/// Brings the schema (the first schema of the connection's `search_path`) to the newest version.
/// Returns the version it found.
pub async fn migrate(client: &mut Client) -> Result<i32, MigrateError> {
    let tx = client.transaction().await?;
    // Held until the transaction ends: a second instance starting at the same time waits here,
    // then finds the migrations applied.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '') || '/findinghub-migrations'))",
        &[],
    )
    .await?;
    // Created only when absent (IF NOT EXISTS would log a notice at every start).
    let exists: bool = tx.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await?.try_get(0)?;
    if !exists {
        tx.batch_execute(
            "CREATE TABLE schema_migrations (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(|e| match e.code() {
            Some(&SqlState::INVALID_SCHEMA_NAME) => MigrateError::NoSchema,
            _ => MigrateError::Postgres(e),
        })?;
    }
    let found: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.try_get(0)?;
    let known = MIGRATIONS.len() as i32;
    if found > known {
        return Err(MigrateError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(i as i32 + 1)]).await?;
    }
    tx.commit().await?;
    Ok(found)
}
