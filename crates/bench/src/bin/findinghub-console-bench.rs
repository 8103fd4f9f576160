//! `findinghub-console-bench`: the console's findings page at scale. Loads synthetic findings
//! into an embedded store (through `FindingStore::import` in big batches; reused when the data
//! directory already holds them), signs in to the console in process, and measures the server
//! time of the findings page (request to last byte of the rendered HTML) for the default view
//! and a few filtered ones. Writes `BENCHMARKS-console.md`.
//!
//! ```text
//! cargo run --release -p findinghub-bench --bin findinghub-console-bench -- --findings 1000000 --data-dir /tmp/fh-console-bench
//! ```

use anyhow::{Context, Result, bail};
use axum::body::Body;
use clap::Parser;
use findinghub_api::keys::Keyring;
use findinghub_api::server::App;
use findinghub_asff::timestamp::now_micros;
use findinghub_bench::BodyPool;
use findinghub_console::ConsoleSettings;
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::state::{AccessKey, Hub, HubStateStore, SealedKey};
use findinghub_store::{FindingStore, ImportBatch, IncomingFinding};
use http::{Request, header};
use http_body_util::BodyExt;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// How many findings the store holds.
    #[arg(long, default_value_t = 1_000_000)]
    findings: u64,
    /// Findings per import call.
    #[arg(long, default_value_t = 2_000)]
    batch: u64,
    /// Page renders measured per view.
    #[arg(long, default_value_t = 200)]
    repeat: usize,
    /// The store's data directory (kept, and reused by the next run); a temporary one by default.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value = "BENCHMARKS-console.md")]
    out: PathBuf,
}

const KEY_ID: &str = "AKIACONSOLEBENCH0001";
const SECRET: &str = "console-bench-secret";
const ADMIN_ACCOUNT: &str = "111111111111";

async fn load(store: &SqliteStore, args: &Args) -> Result<f64> {
    let have = store.count().await?;
    if have >= args.findings {
        eprintln!("the store holds {have} findings already");
        return Ok(0.0);
    }
    let now = now_micros();
    let pool = Arc::new(BodyPool::new(now));
    let start = Instant::now();
    let mut first = have;
    while first < args.findings {
        let last = (first + args.batch).min(args.findings);
        let pool = pool.clone();
        let findings = tokio::task::spawn_blocking(move || {
            (first..last)
                .map(|i| match serde_json::from_str::<Value>(&pool.body(i)) {
                    Ok(Value::Object(doc)) => Ok(IncomingFinding::new(doc)),
                    _ => Err(anyhow::anyhow!("a bench finding is not a JSON object")),
                })
                .collect::<Result<Vec<_>>>()
        })
        .await??;
        store.import(ImportBatch { region: "us-east-1".into(), now, findings }).await?;
        if (last / args.batch).is_multiple_of(50) {
            eprintln!("{last} findings, {:.0}/s", (last - have) as f64 / start.elapsed().as_secs_f64());
        }
        first = last;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// One request through the console's router; the status, the cookies it sets and the body.
async fn send(router: &axum::Router, req: Request<Body>) -> Result<(u16, Vec<String>, String)> {
    let response = router.clone().oneshot(req).await?;
    let status = response.status().as_u16();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, cookies, String::from_utf8_lossy(&body).into_owned()))
}

/// Signs in as a user would: the form (for its CSRF token and cookie), then the post.
async fn sign_in(router: &axum::Router) -> Result<String> {
    let (_, cookies, page) = send(router, Request::get("/console/signin").body(Body::empty())?).await?;
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the sign-in form's token")?;
    let form = format!("csrf={token}&access_key_id={KEY_ID}&secret={SECRET}&next=%2Fconsole%2Ffindings");
    let req = Request::post("/console/signin")
        .header(header::COOKIE, cookies.join("; "))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))?;
    let (status, cookies, _) = send(router, req).await?;
    if status != 303 {
        bail!("sign-in answered {status}");
    }
    cookies.into_iter().find(|c| c.starts_with("fh_console=")).context("no session cookie")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("findinghub-console-bench-{}", std::process::id())));
    let store = Arc::new(SqliteStore::open(&dir).context("open the store")?);
    let load_secs = load(&store, &args).await?;
    let count = store.count().await?;

    let keyring = Keyring::from_key(&[42; 32]);
    if store.find_key(KEY_ID).await?.is_none() {
        let key = AccessKey {
            access_key_id: KEY_ID.into(),
            account_id: ADMIN_ACCOUNT.into(),
            admin: true,
            created_at: now_micros(),
        };
        store.create_key(SealedKey { key, sealed_secret: keyring.seal(SECRET)? }).await?;
        store
            .enable_hub(Hub {
                account_id: ADMIN_ACCOUNT.into(),
                region: "us-east-1".into(),
                subscribed_at: now_micros(),
                auto_enable_controls: true,
                control_finding_generator: "SECURITY_CONTROL".into(),
            })
            .await?;
    }
    let app = Arc::new(App::new(store.clone(), store.clone(), store.clone(), keyring));
    let settings = ConsoleSettings { default_region: "us-east-1".into(), secure_cookies: false };
    let router = findinghub_console::router(app, settings);
    let cookie = sign_in(&router).await?;

    let views = [
        ("default view (ACTIVE, NEW or NOTIFIED; UpdatedAt desc; 25 rows)", "/console/findings"),
        (
            "default view, 100 rows",
            "/console/findings?f=RecordState%3AEQUALS%3AACTIVE&f=WorkflowStatus%3AEQUALS%3ANEW&f=WorkflowStatus%3AEQUALS%3ANOTIFIED&sort=updated&dir=desc&n=100",
        ),
        (
            "SeverityLabel CRITICAL + default view",
            "/console/findings?f=RecordState%3AEQUALS%3AACTIVE&f=WorkflowStatus%3AEQUALS%3ANEW&f=WorkflowStatus%3AEQUALS%3ANOTIFIED&f=SeverityLabel%3AEQUALS%3ACRITICAL&sort=updated&dir=desc",
        ),
        (
            "one account (AwsAccountId) + default view",
            "/console/findings?f=RecordState%3AEQUALS%3AACTIVE&f=WorkflowStatus%3AEQUALS%3ANEW&f=WorkflowStatus%3AEQUALS%3ANOTIFIED&f=AwsAccountId%3AEQUALS%3A222222222222&sort=updated&dir=desc",
        ),
        (
            "sorted by severity (SeverityNormalized desc)",
            "/console/findings?f=RecordState%3AEQUALS%3AACTIVE&f=WorkflowStatus%3AEQUALS%3ANEW&f=WorkflowStatus%3AEQUALS%3ANOTIFIED&sort=severity&dir=desc",
        ),
    ];
    let mut rows = String::new();
    for (name, path) in views {
        let mut times = Vec::with_capacity(args.repeat);
        let mut bytes = 0;
        let repeat = args.repeat;
        for i in 0..repeat + 5 {
            let req = Request::get(path).header(header::COOKIE, &cookie).body(Body::empty())?;
            let started = Instant::now();
            let (status, _, body) = send(&router, req).await?;
            let took = started.elapsed();
            if status != 200 {
                bail!("{path} answered {status}: {}", body.chars().take(400).collect::<String>());
            }
            bytes = body.len();
            // The first renders warm the caches; they are not counted.
            if i >= 5 {
                times.push(took);
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let (p50, p99) = (ms(percentile(&times, 0.5)), ms(percentile(&times, 0.99)));
        eprintln!("{name}: p50 {p50:.2} ms, p99 {p99:.2} ms, {bytes} bytes");
        writeln!(rows, "| {name} | {p50:.2} ms | {p99:.2} ms | {} kB | {repeat} |", bytes / 1024)?;
    }

    let mut md = String::new();
    writeln!(md, "# Console benchmark\n")?;
    writeln!(md, "Written by `findinghub-console-bench` (crates/bench); do not edit by hand. Command:\n")?;
    writeln!(
        md,
        "    cargo run --release -p findinghub-bench --bin findinghub-console-bench -- --findings {} --data-dir /tmp/fh-console-bench\n",
        args.findings
    )?;
    writeln!(
        md,
        "Machine: 2 cores (shared), embedded SQLite store. {count} synthetic findings (4 accounts, 60 days, half of them \
         NEW or NOTIFIED), signed in as an administrator (every account). Server time: from the request entering the \
         console's router to the last byte of the HTML, in process (no network), so it is the time the hub spends: \
         session check (one key lookup), GetFindings through `handlers::dispatch`, and rendering with maud."
    )?;
    if load_secs > 0.0 {
        writeln!(md, "\nLoading took {load_secs:.0} s (FindingStore::import, batches of {}).", args.batch)?;
    }
    writeln!(md, "\n| findings page | p50 | p99 | page size | runs |\n|---|---|---|---|---|")?;
    md.push_str(&rows);
    std::fs::write(&args.out, md).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
