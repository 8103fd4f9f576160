//! `findinghub-delivery-bench`: events from a real `findinghub serve` to a webhook receiver on
//! loopback (a rule that matches every event). Two phases:
//! - latency: BatchImportFindings at a steady 1,000 findings/s (100 every 100 ms); for each finding,
//!   the time from its import's answer (the commit) to its event's arrival at the receiver;
//! - throughput: 20,000 findings imported at once; events delivered per second until the last one.
//!
//! ```text
//! cargo build --release -p findinghub -p findinghub-bench
//! target/release/findinghub-delivery-bench --out BENCHMARKS-delivery.md
//! ```

use anyhow::{Context, Result, bail};
use clap::Parser;
use findinghub_asff::timestamp::now_micros;
use findinghub_bench::finding_json;
use findinghub_bench::http::{HttpClient, Server, percentile, sibling_binary};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Seconds of steady import in the latency phase.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Findings per second in the latency phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Findings in the throughput phase.
    #[arg(long, default_value_t = 20_000)]
    burst: u64,
    /// The findinghub binary (default: beside this one).
    #[arg(long)]
    binary: Option<PathBuf>,
    #[arg(long, default_value = "BENCHMARKS-delivery.md")]
    out: PathBuf,
}

/// When each finding's event arrived.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn start_receiver(arrivals: Arrivals) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let arrivals = arrivals.clone();
            async move {
                let at = Instant::now();
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
                    && let Some(id) = v["detail"]["findings"][0]["Id"].as_str()
                    && let Ok(mut map) = arrivals.lock()
                {
                    map.entry(id.to_owned()).or_insert(at);
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/hook"))
}

fn cli(server: &Server, args: &[&str]) -> Result<()> {
    let out =
        std::process::Command::new(&server.binary).arg("--data-dir").arg(server.data_dir()).args(args).output()?;
    if !out.status.success() {
        bail!("findinghub {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Imports findings `first..last`; returns when the hub answered (the commit).
async fn import(client: &HttpClient, first: u64, last: u64, now: i64) -> Result<Instant> {
    let bodies: Vec<String> = (first..last).map(|i| finding_json(i, now)).collect();
    let body = format!("{{\"Findings\":[{}]}}", bodies.join(","));
    let (status, answer) = client.call("POST", "/findings/import", body.into_bytes()).await?;
    if status != 200 {
        bail!("BatchImportFindings answered {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(Instant::now())
}

fn id_of(i: u64) -> String {
    format!("bench-{i:010}")
}

async fn wait_all(arrivals: &Arrivals, ids: impl Iterator<Item = String> + Clone, limit: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let missing = {
            let map = arrivals.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            ids.clone().filter(|id| !map.contains_key(id)).count()
        };
        if missing == 0 {
            return Ok(());
        }
        if started.elapsed() > limit {
            bail!("{missing} events did not arrive within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let binary = match args.binary {
        Some(b) => b,
        None => sibling_binary()?,
    };
    let arrivals: Arrivals = Arc::default();
    let url = start_receiver(arrivals.clone()).await?;
    let server = Server::start(&binary, findinghub_bench::ACCOUNTS[0])?;
    let client = HttpClient::new(&server.addr);
    server.wait_ready(&client).await?;
    let (status, body) = client.call("POST", "/accounts", b"{}".to_vec()).await?;
    if status != 200 {
        bail!("EnableSecurityHub answered {status}: {}", String::from_utf8_lossy(&body));
    }
    cli(&server, &["targets", "add", "bench", "--kind", "webhook", "--url", &url])?;
    cli(&server, &["rules", "add", "all", "--pattern", r#"{"source": ["aws.securityhub"]}"#, "--target", "bench"])?;
    // The running hub picks new targets up within two seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = now_micros();

    // Latency at a steady rate.
    let per_tick = (args.rate / 10).max(1);
    let ticks = args.seconds * 10;
    let mut committed: Vec<(u64, Instant)> = Vec::new();
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    for t in 0..ticks {
        interval.tick().await;
        let first = t * per_tick;
        let at = import(&client, first, first + per_tick, now).await.context("steady import")?;
        committed.extend((first..first + per_tick).map(|i| (i, at)));
    }
    let steady = ticks * per_tick;
    wait_all(&arrivals, (0..steady).map(id_of), Duration::from_secs(120)).await?;
    let mut latencies: Vec<Duration> = {
        let map = arrivals.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        committed
            .iter()
            .filter_map(|(i, at)| map.get(&id_of(*i)).map(|arrived| arrived.saturating_duration_since(*at)))
            .collect()
    };
    latencies.sort();

    // Throughput: a burst.
    let base = steady;
    let started = Instant::now();
    let mut first = base;
    while first < base + args.burst {
        let last = (first + 100).min(base + args.burst);
        import(&client, first, last, now).await.context("burst import")?;
        first = last;
    }
    let imported_in = started.elapsed();
    wait_all(&arrivals, (base..base + args.burst).map(id_of), Duration::from_secs(600)).await?;
    let drained_in = started.elapsed();
    let rate = args.burst as f64 / drained_in.as_secs_f64();

    let mut report = String::new();
    writeln!(report, "# Delivery benchmark\n")?;
    writeln!(
        report,
        "`target/release/findinghub-delivery-bench --seconds {} --rate {} --burst {}`",
        args.seconds, args.rate, args.burst
    )?;
    writeln!(report, "(embedded store, one webhook target on loopback, one rule matching every event)\n")?;
    writeln!(report, "| Figure | Value |\n| --- | --- |")?;
    writeln!(
        report,
        "| Import → delivery at {} findings/s, {} events | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        args.rate,
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    )?;
    writeln!(
        report,
        "| Burst of {} findings: imported in {:.1} s, last event delivered after {:.1} s | {rate:.0} events/s delivered |",
        args.burst,
        imported_in.as_secs_f64(),
        drained_in.as_secs_f64()
    )?;
    writeln!(report, "| Server peak memory | {:.0} MB |", server.peak_rss_mb())?;
    print!("{report}");
    std::fs::write(&args.out, &report).with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}
