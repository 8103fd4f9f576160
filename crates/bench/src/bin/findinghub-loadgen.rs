//! `findinghub-loadgen`: drives a real `findinghub serve` over HTTP with signed requests, as a
//! fleet of producers and analysts would: import throughput with concurrent clients in batches of
//! 100, then GetFindings latency under concurrent clients, and the server's peak memory. Writes
//! its figures to a Markdown file.
//!
//! ```text
//! cargo build --release -p findinghub -p findinghub-bench
//! target/release/findinghub-loadgen --findings 1000000 --out BENCHMARKS-http.md
//! ```

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Parser;
use findinghub_asff::timestamp::now_micros;
use findinghub_bench::{ACCOUNTS, BodyPool, mix};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

const KEY: &str = "AKIALOADGENERATOR001";
const SECRET: &str = "bG9hZC1nZW5lcmF0b3Itc2VjcmV0LWZvci1iZW5jaA";

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }
}

#[derive(Clone)]
struct Signer {
    client: Client<HttpConnector, Full<Bytes>>,
    addr: String,
}

impl Signer {
    async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<(u16, Bytes)> {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_str(&self.addr)?);
        headers.insert("content-type", http::HeaderValue::from_static("application/json"));
        findinghub_api::sigv4::sign(
            method,
            path,
            None,
            &mut headers,
            &body,
            KEY,
            SECRET,
            "us-east-1",
            "securityhub",
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut req = http::Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let response = self.client.request(req.body(Full::new(Bytes::from(body)))?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

fn start(binary: &PathBuf) -> Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(binary)
        .args(["serve", "--listen", &addr])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("FINDINGHUB_BOOTSTRAP_ACCESS_KEY_ID", KEY)
        .env("FINDINGHUB_BOOTSTRAP_SECRET_ACCESS_KEY", SECRET)
        .env("FINDINGHUB_BOOTSTRAP_ACCOUNT_ID", ACCOUNTS[0])
        .env("FINDINGHUB_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    Ok(Server { child, addr, _dir: dir })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("findinghub"),
    };
    let server = start(&binary)?;
    let signer = Signer { client: Client::builder(TokioExecutor::new()).build_http(), addr: server.addr.clone() };
    let mut ready = false;
    for _ in 0..200 {
        let probe = signer.client.get(format!("http://{}/healthz", server.addr).parse()?).await;
        if probe.map(|r| r.status().is_success()).unwrap_or(false) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !ready {
        bail!("findinghub did not become ready");
    }
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
