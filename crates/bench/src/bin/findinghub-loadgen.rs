//! `findinghub-loadgen`: drives a real `findinghub serve` over HTTP with signed requests, as a
//! fleet of producers and analysts would: import throughput with concurrent clients in batches of
//! 100, then GetFindings latency under concurrent clients, and the server's peak memory. Writes
//! its figures to a Markdown file.
//!
//! ```text
//! cargo build --release -p findinghub -p findinghub-bench
//! target/release/findinghub-loadgen --findings 1000000 --out BENCHMARKS-http.md
//! ```

use anyhow::{Result, bail};
use clap::Parser;
use findinghub_asff::timestamp::now_micros;
use findinghub_bench::http::{HttpClient, Server, percentile, sibling_binary};
use findinghub_bench::{ACCOUNTS, BodyPool, mix};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Findings to import.
    #[arg(long, default_value_t = 100_000)]
    findings: u64,
    /// Concurrent importing clients.
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// GetFindings requests in the query phase, spread over `query_clients`.
    #[arg(long, default_value_t = 800)]
    queries: u64,
    /// Concurrent querying clients.
    #[arg(long, default_value_t = 8)]
    query_clients: u64,
    /// The findinghub binary (default: beside this one).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The Markdown file to write.
    #[arg(long, default_value = "BENCHMARKS-http.md")]
    out: PathBuf,
}

/// The line of the output file below which other sections live (the boto3-vs-moto comparison of
/// bench/run-boto3-vs-moto.sh): the load generator rewrites what is above it and keeps the rest.
const KEEP_BELOW: &str = "<!-- findinghub-loadgen writes what is above this line and keeps what is below it -->";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => sibling_binary()?,
    };
    let server = Server::start(&binary, ACCOUNTS[0])?;
    let signer = HttpClient::new(&server.addr);
    server.wait_ready(&signer).await?;
    let (status, body) = signer.call("POST", "/accounts", b"{}".to_vec()).await?;
    if status != 200 {
        bail!("EnableSecurityHub answered {status}: {}", String::from_utf8_lossy(&body));
    }

    let now = now_micros();
    let pool = Arc::new(BodyPool::new(now));
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (signer, next, pool, total) = (signer.clone(), next.clone(), pool.clone(), args.findings);
        tasks.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(100, Ordering::Relaxed);
                if first >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let last = (first + 100).min(total);
                let mut body = String::from("{\"Findings\":[");
                for i in first..last {
                    if i > first {
                        body.push(',');
                    }
                    body.push_str(&pool.body(i));
                }
                body.push_str("]}");
                let (status, answer) = signer.call("POST", "/findings/import", body.into_bytes()).await?;
                let v: Value = serde_json::from_slice(&answer)?;
                if status != 200 || v["SuccessCount"] != json!(last - first) {
                    bail!("BatchImportFindings answered {status}: {v}");
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let import_secs = started.elapsed().as_secs_f64();
    let import_rate = args.findings as f64 / import_secs;
    let peak_import = server.peak_rss_mb();

    let resource =
        format!("arn:aws:ec2:us-east-1:{}:instance/i-{:017x}", ACCOUNTS[(mix(7, 1) % 4) as usize], mix(7, 3) % 200_000);
    let queries: Arc<Vec<(&str, Value)>> = Arc::new(vec![
        ("no filter", json!({"MaxResults": 100})),
        (
            "SeverityLabel=CRITICAL AND WorkflowStatus=NEW",
            json!({"Filters": {"SeverityLabel": [{"Value": "CRITICAL", "Comparison": "EQUALS"}],
                               "WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}]}, "MaxResults": 100}),
        ),
        ("one ResourceId", json!({"Filters": {"ResourceId": [{"Value": resource, "Comparison": "EQUALS"}]}})),
        (
            "UpdatedAt within 7 days, sorted desc",
            json!({"Filters": {"UpdatedAt": [{"DateRange": {"Value": 7, "Unit": "DAYS"}}]},
                   "SortCriteria": [{"Field": "UpdatedAt", "SortOrder": "desc"}], "MaxResults": 100}),
        ),
    ]);
    let latencies = Arc::new(std::sync::Mutex::new(vec![Vec::new(); queries.len()]));
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.query_clients {
        let (signer, next, queries, latencies, total) =
            (signer.clone(), next.clone(), queries.clone(), latencies.clone(), args.queries);
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let which = (n % queries.len() as u64) as usize;
                let t = Instant::now();
                let (status, answer) =
                    signer.call("POST", "/findings", queries[which].1.to_string().into_bytes()).await?;
                let elapsed = t.elapsed();
                if status != 200 {
                    bail!("GetFindings answered {status}: {}", String::from_utf8_lossy(&answer));
                }
                if let Ok(mut l) = latencies.lock() {
                    l[which].push(elapsed);
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let peak = server.peak_rss_mb();

    let mut md = String::new();
    writeln!(md, "# Benchmarks through HTTP")?;
    writeln!(md)?;
    writeln!(
        md,
        "Written by `findinghub-loadgen` (crates/bench) down to the marker line; do not edit that part by hand. Command:"
    )?;
    writeln!(md)?;
    writeln!(md, "    cargo build --release -p findinghub -p findinghub-bench")?;
    writeln!(
        md,
        "    target/release/findinghub-loadgen --findings {} --clients {} --queries {} --query-clients {}",
        args.findings, args.clients, args.queries, args.query_clients
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "The real server (`findinghub serve`, embedded store) on loopback; every request signed with SigV4; \
         the load generator runs on the same {} cores.",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    )?;
    writeln!(md)?;
    writeln!(md, "| figure | value |")?;
    writeln!(md, "|---|---|")?;
    writeln!(
        md,
        "| BatchImportFindings, batches of 100, {} clients | {import_rate:.0} findings/s ({import_secs:.1} s for {}) |",
        args.clients, args.findings
    )?;
    writeln!(md, "| server peak resident memory after the import | {peak_import:.0} MB |")?;
    writeln!(md, "| server peak resident memory at the end | {peak:.0} MB |")?;
    writeln!(md)?;
    writeln!(md, "GetFindings with {} concurrent clients, {} findings stored:", args.query_clients, args.findings)?;
    writeln!(md)?;
    writeln!(md, "| query | p50 | p99 | requests |")?;
    writeln!(md, "|---|---|---|---|")?;
    let mut all = Vec::new();
    let latencies = latencies.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    for ((name, _), times) in queries.iter().zip(latencies.iter()) {
        let mut sorted = times.clone();
        sorted.sort();
        all.extend(sorted.iter().copied());
        writeln!(
            md,
            "| {name} | {:.2} ms | {:.2} ms | {} |",
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            sorted.len()
        )?;
    }
    all.sort();
    writeln!(md, "| all | {:.2} ms | {:.2} ms | {} |", percentile(&all, 0.5), percentile(&all, 0.99), all.len())?;
    print!("{md}");
    let kept = std::fs::read_to_string(&args.out)
        .ok()
        .and_then(|old| old.find(KEEP_BELOW).map(|at| old[at + KEEP_BELOW.len()..].to_owned()))
        .unwrap_or_default();
    writeln!(md)?;
    write!(md, "{KEEP_BELOW}")?;
    md.push_str(if kept.is_empty() { "\n" } else { &kept });
    std::fs::write(&args.out, &md)?;
    Ok(())
}
