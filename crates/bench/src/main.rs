//! `findinghub-bench`: imports synthetic ~2 KB findings into a fresh embedded store in batches of
//! 100 (parse and validation included, as the API does them), then measures GetFindings latency
//! for the queries that triage uses most, and writes the figures to a Markdown file.
//!
//! ```text
//! cargo run --release -p findinghub-bench -- --findings 1000000 --out BENCHMARKS.md
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use findinghub_asff::timestamp::now_micros;
use findinghub_asff::validate_finding;
use findinghub_bench::{ACCOUNTS, BodyPool, POOL, mix};
use findinghub_hub::filter::{parse_filters, parse_sort};
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
    /// Where the store lives (a fresh temporary directory by default).
    #[arg(long)]
    data_dir: Option<PathBuf>,
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let tmp;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            tmp = std::env::temp_dir().join(format!("findinghub-bench-{}", std::process::id()));
            tmp
        }
    };
    let store = Arc::new(SqliteStore::open(&dir).context("open store")?);
    let now = now_micros();

    // Request bodies: a pool of distinct findings, each sent under many Ids (the Id is spliced in,
    // so that making a body costs next to nothing beside the hub's own work).
    let gen_start = Instant::now();
    let pool = Arc::new(BodyPool::new(now));
    let gen_rate = POOL as f64 / gen_start.elapsed().as_secs_f64();
    let avg_size = pool.average_size();

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
                                Value::Object(doc) => Ok(IncomingFinding { doc, product_names: None }),
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
    let peak_import = peak_rss_mb();
    let count = store.count().await?;
    let disk = dir_bytes(&dir);

    let scope = Scope { accounts: AccountScope::All, region: Some("us-east-1".into()) };
    let resource =
        format!("arn:aws:ec2:us-east-1:{}:instance/i-{:017x}", ACCOUNTS[(mix(7, 1) % 4) as usize], mix(7, 3) % 200_000);
    let queries: Vec<(&str, Value, Value)> = vec![
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
    ];
    let mut rows = Vec::new();
    for (name, filters, sort) in &queries {
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
        rows.push((name.to_string(), percentile(&times, 0.5), percentile(&times, 0.95), returned, reps));
        eprintln!("{name}: p50 {:.2} ms", percentile(&times, 0.5));
    }

    let mut md = String::new();
    writeln!(md, "# Benchmarks")?;
    writeln!(md)?;
    writeln!(md, "Written by `findinghub-bench` (crates/bench); do not edit by hand. Command:")?;
    writeln!(md)?;
    writeln!(
        md,
        "    cargo run --release -p findinghub-bench -- --findings {} --batch {} --clients {} --repeat {}",
        args.findings, args.batch, args.clients, args.repeat
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "Machine: {} cores, embedded SQLite store (WAL, synchronous=NORMAL). Findings: synthetic, {avg_size:.0} bytes of JSON on average, \
         4 accounts, one EC2 instance resource each, spread over 60 days.",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    )?;
    writeln!(md)?;
    writeln!(md, "## Import (BatchImportFindings path: parse, validate, import rules, store)")?;
    writeln!(md)?;
    writeln!(md, "| figure | value |")?;
    writeln!(md, "|---|---|")?;
    writeln!(md, "| findings imported | {count} |")?;
    writeln!(md, "| import throughput | {import_rate:.0} findings/s ({import_secs:.1} s) |")?;
    writeln!(
        md,
        "| generating the {POOL} distinct bodies (one core, before the clock starts) | {gen_rate:.0} findings/s |"
    )?;
    writeln!(md, "| peak resident memory of the process | {peak_import:.0} MB |")?;
    writeln!(
        md,
        "| bytes on disk | {} MB, {:.0} bytes per finding |",
        disk / 1_000_000,
        disk as f64 / count.max(1) as f64
    )?;
    writeln!(md)?;
    writeln!(md, "## GetFindings, first page of 100, {} findings in the store", count)?;
    writeln!(md)?;
    writeln!(md, "| query | p50 | p95 | returned | runs |")?;
    writeln!(md, "|---|---|---|---|---|")?;
    for (name, p50, p95, returned, reps) in rows {
        writeln!(md, "| {name} | {p50:.2} ms | {p95:.2} ms | {returned} | {reps} |")?;
    }
    std::fs::write(&args.out, md).context("write results")?;
    if args.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
