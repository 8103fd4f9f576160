//! `findinghub-events-bench`: native events posted to a real `findinghub serve` at `/events`,
//! with an API key, as EventBridge API destinations post them (one event per request), and in
//! arrays of 100; prints events/s and the server's peak memory, and writes them to a file.
//!
//! ```text
//! cargo build --release -p findinghub -p findinghub-bench
//! target/release/findinghub-events-bench --events 200000 --out BENCHMARKS-events.md
//! ```

use anyhow::{Context, Result, bail};
use clap::Parser;
use findinghub_bench::ACCOUNTS;
use findinghub_bench::http::{HttpClient, Server, sibling_binary};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Events per phase.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Concurrent senders.
    #[arg(long, default_value_t = 16)]
    clients: u64,
    /// The findinghub binary (default: beside this one).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The Markdown file to write.
    #[arg(long, default_value = "BENCHMARKS-events.md")]
    out: PathBuf,
}

/// The GuardDuty sample event (a template): each event gets its own finding id.
const TEMPLATE: &str = include_str!("../../data/guardduty-event.json");

struct Phase {
    per_request: u64,
    events: u64,
    seconds: f64,
}

/// Sends `total` distinct events (numbered from `base`), `per_request` at a time.
async fn run_phase(
    client: &HttpClient,
    api_key: &str,
    template: &Value,
    base: u64,
    total: u64,
    per_request: u64,
    clients: u64,
) -> Result<Phase> {
    let next = Arc::new(AtomicU64::new(0));
    let template = Arc::new(template.clone());
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", http::HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert("x-api-key", http::HeaderValue::from_str(api_key)?);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, next, template, headers) = (client.clone(), next.clone(), template.clone(), headers.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let first = next.fetch_add(per_request, Ordering::Relaxed);
                if first >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let last = (first + per_request).min(total);
                let events: Vec<Value> = (first..last).map(|i| event(&template, base + i)).collect();
                let body =
                    if per_request == 1 { serde_json::to_vec(&events[0])? } else { serde_json::to_vec(&events)? };
                let (status, answer) = client.send("POST", "/events", &headers, body).await?;
                let v: Value = serde_json::from_slice(&answer)?;
                if status != 200 || v["Imported"] != last - first {
                    bail!("/events answered {status}: {v}");
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(Phase { per_request, events: total, seconds: started.elapsed().as_secs_f64() })
}

/// The template with its own finding id, ARN and time.
fn event(template: &Value, i: u64) -> Value {
    let mut e = template.clone();
    let id = format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    e["id"] = Value::from(format!("bench-{i}"));
    e["detail"]["id"] = Value::from(id.clone());
    let arn = e["detail"]["arn"].as_str().unwrap_or_default();
    let prefix = arn.rsplit_once('/').map_or(arn, |(p, _)| p).to_owned();
    e["detail"]["arn"] = Value::from(format!("{prefix}/{id}"));
    e
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => sibling_binary()?,
    };
    let account = ACCOUNTS[0];
    let server = Server::start(&binary, account)?;
    let client = HttpClient::new(&server.addr);
    server.wait_ready(&client).await?;
    let (status, body) = client.call("POST", "/accounts", b"{}".to_vec()).await?;
    if status != 200 {
        bail!("EnableSecurityHub answered {status}: {}", String::from_utf8_lossy(&body));
    }
    let out = std::process::Command::new(&server.binary)
        .args(["credentials", "create-api-key", "--account", account])
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .context("findinghub credentials create-api-key")?;
    let key: Value = serde_json::from_slice(&out.stdout).context("the API key as JSON")?;
    let api_key = key["ApiKey"].as_str().context("no ApiKey")?.to_owned();
    let mut template: Value = serde_json::from_str(TEMPLATE)?;
    template["account"] = Value::from(account);
    template["detail"]["accountId"] = Value::from(account);

    let mut phases = Vec::new();
    for (n, per_request) in [1u64, 100].into_iter().enumerate() {
        let base = n as u64 * args.events;
        let phase = run_phase(&client, &api_key, &template, base, args.events, per_request, args.clients).await?;
        println!(
            "{} events, {} per request, {} clients: {:.0} events/s",
            phase.events,
            phase.per_request,
            args.clients,
            phase.events as f64 / phase.seconds
        );
        phases.push(phase);
    }
    let peak = server.peak_rss_mb();
    println!("server peak memory: {peak:.0} MB");

    let mut md = String::new();
    writeln!(md, "# Native events through `/events`")?;
    writeln!(md)?;
    writeln!(md, "Written by `findinghub-events-bench` (crates/bench); do not edit by hand. Command:")?;
    writeln!(md)?;
    writeln!(md, "    cargo build --release -p findinghub -p findinghub-bench")?;
    writeln!(md, "    target/release/findinghub-events-bench --events {} --clients {}", args.events, args.clients)?;
    writeln!(md)?;
    writeln!(
        md,
        "Distinct GuardDuty finding events (the shared sample with its own finding id each), API key in \
         `x-api-key`, a fresh embedded store, client and server on the same machine ({} cores).",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    )?;
    writeln!(md)?;
    writeln!(md, "| events per request | events | events/s |")?;
    writeln!(md, "| ---: | ---: | ---: |")?;
    for p in &phases {
        writeln!(md, "| {} | {} | {:.0} |", p.per_request, p.events, p.events as f64 / p.seconds)?;
    }
    writeln!(md)?;
    writeln!(md, "Server peak memory: {peak:.0} MB.")?;
    std::fs::write(&args.out, md)?;
    Ok(())
}
