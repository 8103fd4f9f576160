//! `findinghub-bench`: imports synthetic ~2 KB findings into fresh stores in batches of 100
//! (parse and validation included, as the API does them), then measures GetFindings latency for
//! the queries that triage uses most, and writes the figures to a Markdown file: one column per
//! store, the embedded store and PostgreSQL side by side in one run.
//!
//! ```text
//! cargo run --release -p findinghub-bench -- --findings 1000000 \
//!     --store sqlite --store postgres://postgres@127.0.0.1:5432/test --out BENCHMARKS.md
//! ```
//!
//! A PostgreSQL store is a fresh schema (`fh_bench_<pid>`) in the database of the URL, dropped at
//! the end unless `--keep-schema` (to look at the table afterwards: EXPLAIN, index sizes).

use anyhow::{Context, Result};
use clap::Parser;
use findinghub_asff::timestamp::now_micros;
use findinghub_asff::validate_finding;
use findinghub_bench::{ACCOUNTS, BodyPool, POOL, mix};
use findinghub_hub::filter::{parse_filters, parse_sort};
use findinghub_store::postgres::PostgresStore;
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::{AccountScope, FindingQuery, FindingStore, ImportBatch, IncomingFinding, Scope};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// How many findings to import.
    #[arg(long, default_value_t = 100_000)]
    findings: u64,
    /// Findings per BatchImportFindings call.
    #[arg(long, default_value_t = 100)]
    batch: u64,
    /// Concurrent importing clients (a hub serves several producers at once; their batches are
    /// committed together when they arrive together).
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// Repetitions of each query.
    #[arg(long, default_value_t = 200)]
    repeat: usize,
    /// The stores to measure, in order: `sqlite` (the embedded store) or a `postgres://` URL
    /// (a fresh schema in that database). Repeat for several [default: sqlite].
    #[arg(long = "store")]
    stores: Vec<String>,
    /// Where the embedded store lives (a fresh temporary directory by default).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep the PostgreSQL schema after the run (its name is printed).
    #[arg(long)]
    keep_schema: bool,
    /// A note written below the tables (e.g. what else the machine was doing).
    #[arg(long)]
    note: Option<String>,
    /// The Markdown file to write.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

/// What one store measured.
struct Figures {
    label: String,
    count: u64,
    import_rate: f64,
    import_secs: f64,
    peak_rss_mb: f64,
    disk_bytes: u64,
    /// Per query: p50, p95 (ms), findings returned, runs.
    queries: Vec<(f64, f64, usize, usize)>,
}

/// A store under measurement, and what it takes to clean up after it.
enum Opened {
    Sqlite(Arc<SqliteStore>, PathBuf, bool),
    Postgres(Arc<PostgresStore>, String, String),
}

impl Opened {
    fn store(&self) -> Arc<dyn FindingStore> {
        match self {
            Opened::Sqlite(s, _, _) => s.clone(),
            Opened::Postgres(s, _, _) => s.clone(),
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Opened::Sqlite(..) => "embedded (SQLite)",
            Opened::Postgres(..) => "PostgreSQL",
        }
    }

    async fn disk_bytes(&self) -> Result<u64> {
        match self {
            Opened::Sqlite(_, dir, _) => Ok(dir_bytes(dir)),
            Opened::Postgres(store, _, schema) => {
                let client = store.pool().get().await?;
                let row = client
                    .query_one(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c \
                         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                        &[schema],
                    )
                    .await?;
                Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
            }
        }
    }

    async fn close(self, keep_schema: bool) -> Result<()> {
        match self {
            Opened::Sqlite(store, dir, temporary) => {
                drop(store);
                if temporary {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
            Opened::Postgres(store, base, schema) => {
                drop(store);
                if keep_schema {
                    eprintln!("kept the PostgreSQL schema {schema}");
                } else {
                    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
                    tokio::spawn(connection);
                    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await?;
                }
            }
        }
        Ok(())
    }
}

async fn open(spec: &str, args: &Args, clients: u64) -> Result<Opened> {
    if spec == "sqlite" {
        let (dir, temporary) = match &args.data_dir {
            Some(d) => (d.clone(), false),
            None => (std::env::temp_dir().join(format!("findinghub-bench-{}", std::process::id())), true),
        };
        let store = Arc::new(SqliteStore::open(&dir).context("open store")?);
        return Ok(Opened::Sqlite(store, dir, temporary));
    }
    anyhow::ensure!(spec.starts_with("postgres://") || spec.starts_with("postgresql://"), "unknown store {spec}");
    let schema = format!("fh_bench_{}", std::process::id());
    let (client, connection) = tokio_postgres::connect(spec, tokio_postgres::NoTls).await.context("connect")?;
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).await?;
    let sep = if spec.contains('?') { '&' } else { '?' };
    let url = format!("{spec}{sep}options=-csearch_path%3D{schema}");
    let pool = usize::try_from(clients).unwrap_or(8) + 2;
    let store = Arc::new(PostgresStore::open_with(&url, pool).await.context("open the PostgreSQL store")?);
    Ok(Opened::Postgres(store, spec.to_owned(), schema))
}

type Query = (&'static str, Value, Value);

fn queries() -> Vec<Query> {
    let resource =
        format!("arn:aws:ec2:us-east-1:{}:instance/i-{:017x}", ACCOUNTS[(mix(7, 1) % 4) as usize], mix(7, 3) % 200_000);
    vec![
        ("no filter (default sort: UpdatedAt desc)", json!({}), json!([])),
        (
            "SeverityLabel=CRITICAL AND WorkflowStatus=NEW",
            json!({"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}],
                   "WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}]}),
            json!([]),
        ),
        ("one ResourceId", json!({"ResourceId": [{"Value": resource, "Comparison": "EQUALS"}]}), json!([])),
        (
            "UpdatedAt within 7 days, sorted by UpdatedAt desc",
            json!({"UpdatedAt": [{"DateRange": {"Value": 7, "Unit": "DAYS"}}]}),
            json!([{"Field": "UpdatedAt", "SortOrder": "desc"}]),
        ),
        (
            "Title CONTAINS a common word",
            json!({"Title": [{"Value": "rotation", "Comparison": "CONTAINS"}]}),
            json!([]),
        ),
        (
            "Title CONTAINS a word that no title has (worst case: every title is read)",
            json!({"Title": [{"Value": "nonexistent", "Comparison": "CONTAINS"}]}),
            json!([]),
        ),
        (
            "ResourceTags env=prod AND Confidence >= 90 (evaluated in memory)",
            json!({"ResourceTags": [{"Key": "env", "Value": "prod", "Comparison": "EQUALS"}],
                   "Confidence": [{"Gte": 90}]}),
            json!([]),
        ),
        ("no filter, sorted by Title asc", json!({}), json!([{"Field": "Title", "SortOrder": "asc"}])),
    ]
}

async fn measure(opened: &Opened, args: &Args, pool: Arc<BodyPool>, now: i64) -> Result<Figures> {
    let store = opened.store();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        let store = store.clone();
        let next = next.clone();
        let pool = pool.clone();
        let (total, batch) = (args.findings, args.batch);
        clients.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= total {
                    return Ok::<u64, anyhow::Error>(first);
                }
                let last = (first + batch).min(total);
                // Client work, request parsing and validation run beside the store's writer.
                let pool = pool.clone();
                let findings = tokio::task::spawn_blocking(move || {
                    (first..last)
                        .map(|i| {
                            let body = pool.body(i);
                            let v: Value = serde_json::from_str(&body)?;
                            validate_finding(&v).map_err(|e| anyhow::anyhow!("{e}"))?;
                            match v {
                                Value::Object(doc) => Ok(IncomingFinding::new(doc)),
                                _ => Err(anyhow::anyhow!("not an object")),
                            }
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .await??;
                let report = store.import(ImportBatch { region: "us-east-1".into(), now, findings }).await?;
                anyhow::ensure!(report.changed.len() as u64 == last - first, "not every finding was created");
                if first.is_multiple_of(100_000) && first > 0 {
                    eprintln!("{first} findings, {:.0}/s", first as f64 / start.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for c in clients {
        c.await??;
    }
    let import_secs = start.elapsed().as_secs_f64();
    let import_rate = args.findings as f64 / import_secs;
    let peak_rss_mb = peak_rss_mb();
    let count = store.count().await?;
    let disk_bytes = opened.disk_bytes().await?;

    let scope = Scope { accounts: AccountScope::All, region: Some("us-east-1".into()) };
    let mut rows = Vec::new();
    for (name, filters, sort) in &queries() {
        let filters = parse_filters(filters, now_micros()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let sort = parse_sort(sort).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut times = Vec::new();
        let mut returned = 0;
        let reps = if name.contains("worst") || name.contains("Title asc") { args.repeat.min(20) } else { args.repeat };
        for _ in 0..reps {
            let t = Instant::now();
            let page = store
                .get_findings(FindingQuery {
                    scope: scope.clone(),
                    filters: filters.clone(),
                    sort: sort.clone(),
                    max_results: 100,
                    next_token: None,
                })
                .await?;
            times.push(t.elapsed());
            returned = page.findings.len();
        }
        times.sort();
        rows.push((percentile(&times, 0.5), percentile(&times, 0.95), returned, reps));
        eprintln!("{}: {name}: p50 {:.2} ms", opened.label(), percentile(&times, 0.5));
    }
    Ok(Figures {
        label: opened.label().to_owned(),
        count,
        import_rate,
        import_secs,
        peak_rss_mb,
        disk_bytes,
        queries: rows,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let specs = if args.stores.is_empty() { vec!["sqlite".to_owned()] } else { args.stores.clone() };
    let now = now_micros();

    // Request bodies: a pool of distinct findings, each sent under many Ids (the Id is spliced in,
    // so that making a body costs next to nothing beside the hub's own work).
    let gen_start = Instant::now();
    let pool = Arc::new(BodyPool::new(now));
    let gen_rate = POOL as f64 / gen_start.elapsed().as_secs_f64();
    let avg_size = pool.average_size();

    let mut figures = Vec::new();
    let mut pg_version = None;
    for spec in &specs {
        let opened = open(spec, &args, args.clients).await?;
        if let Opened::Postgres(store, _, _) = &opened {
            let client = store.pool().get().await?;
            let v: String = client.query_one("SHOW server_version", &[]).await?.try_get(0)?;
            let b: String = client.query_one("SHOW shared_buffers", &[]).await?.try_get(0)?;
            let c: String = client.query_one("SHOW synchronous_commit", &[]).await?.try_get(0)?;
            pg_version =
                Some(format!("PostgreSQL {v} on the same machine (shared_buffers {b}, synchronous_commit {c})"));
        }
        eprintln!("measuring {}", opened.label());
        let result = measure(&opened, &args, pool.clone(), now).await;
        opened.close(args.keep_schema).await?;
        figures.push(result?);
    }

    let mut md = String::new();
    writeln!(md, "# Benchmarks")?;
    writeln!(md)?;
    writeln!(md, "Written by `findinghub-bench` (crates/bench); do not edit by hand. Command:")?;
    writeln!(md)?;
    let stores: Vec<String> = specs.iter().map(|s| format!(" --store {s}")).collect();
    writeln!(
        md,
        "    cargo run --release -p findinghub-bench -- --findings {} --batch {} --clients {} --repeat {}{}",
        args.findings,
        args.batch,
        args.clients,
        args.repeat,
        stores.concat()
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "Machine: {} cores, shared with other work while it ran (see the note below the tables). \
         Stores, one after the other in one run: {}. The embedded store is SQLite (WAL, synchronous=NORMAL){}. \
         Findings: synthetic, {avg_size:.0} bytes of JSON on average, 4 accounts, one EC2 instance resource each, \
         spread over 60 days.",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        figures.iter().map(|f| f.label.as_str()).collect::<Vec<_>>().join(", "),
        pg_version.map(|v| format!("; {v}")).unwrap_or_default(),
    )?;
    writeln!(md)?;
    writeln!(md, "## Import (BatchImportFindings path: parse, validate, import rules, store)")?;
    writeln!(md)?;
    let head: Vec<&str> = figures.iter().map(|f| f.label.as_str()).collect();
    writeln!(md, "| figure | {} |", head.join(" | "))?;
    writeln!(md, "|---|{}", "---|".repeat(figures.len()))?;
    let row = |name: &str, cell: &dyn Fn(&Figures) -> String| {
        format!("| {name} | {} |", figures.iter().map(cell).collect::<Vec<_>>().join(" | "))
    };
    writeln!(md, "{}", row("findings imported", &|f| f.count.to_string()))?;
    writeln!(
        md,
        "{}",
        row("import throughput", &|f| format!("{:.0} findings/s ({:.1} s)", f.import_rate, f.import_secs))
    )?;
    writeln!(
        md,
        "{}",
        row("bytes on disk (PostgreSQL: tables, indexes, TOAST)", &|f| format!(
            "{} MB, {:.0} bytes per finding",
            f.disk_bytes / 1_000_000,
            f.disk_bytes as f64 / f.count.max(1) as f64
        ))
    )?;
    writeln!(
        md,
        "{}",
        row("peak resident memory of the bench process so far (PostgreSQL's own not included)", &|f| format!(
            "{:.0} MB",
            f.peak_rss_mb
        ))
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "Generating the {POOL} distinct bodies (one core, before the clock starts): {gen_rate:.0} findings/s."
    )?;
    writeln!(md)?;
    let counts: Vec<String> = figures.iter().map(|f| f.count.to_string()).collect();
    writeln!(md, "## GetFindings, first page of 100, {} findings in the store", counts.join(" / "))?;
    writeln!(md)?;
    let cols: Vec<String> = figures.iter().map(|f| format!("{0} p50 | {0} p95", f.label)).collect();
    writeln!(md, "| query | {} | returned | runs |", cols.join(" | "))?;
    writeln!(md, "|---|{}---|---|", "---|---|".repeat(figures.len()))?;
    for (i, (name, _, _)) in queries().iter().enumerate() {
        let mut cells = Vec::new();
        let mut returned = Vec::new();
        let mut runs = 0;
        for f in &figures {
            let (p50, p95, n, reps) = f.queries.get(i).copied().unwrap_or((f64::NAN, f64::NAN, 0, 0));
            cells.push(format!("{p50:.2} ms | {p95:.2} ms"));
            returned.push(n.to_string());
            runs = reps;
        }
        returned.dedup();
        writeln!(md, "| {name} | {} | {} | {runs} |", cells.join(" | "), returned.join(" / "))?;
    }
    if let Some(note) = &args.note {
        writeln!(md)?;
        writeln!(md, "Note: {note}")?;
    }
    std::fs::write(&args.out, md).context("write results")?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
