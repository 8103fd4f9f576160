//! What the HTTP benchmarks share: a real `findinghub serve` on a free port with a bootstrap
//! key, a client that signs its requests, the server's peak memory, and percentiles.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const KEY: &str = "AKIALOADGENERATOR001";
pub const SECRET: &str = "bG9hZC1nZW5lcmF0b3Itc2VjcmV0LWZvci1iZW5jaA";

/// A running `findinghub serve`, stopped when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    pub binary: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the binary on a free port with a bootstrap administrator key of `account`.
    pub fn start(binary: &Path, account: &str) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(binary)
            .args(["serve", "--listen", &addr])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("FINDINGHUB_BOOTSTRAP_ACCESS_KEY_ID", KEY)
            .env("FINDINGHUB_BOOTSTRAP_SECRET_ACCESS_KEY", SECRET)
            .env("FINDINGHUB_BOOTSTRAP_ACCOUNT_ID", account)
            .env("FINDINGHUB_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Server { child, addr, binary: binary.to_owned(), dir })
    }

    /// The server's data directory (for the CLI beside it).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Peak resident memory of the server so far, in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    /// Waits until `GET /healthz` answers 200.
    pub async fn wait_ready(&self, client: &HttpClient) -> Result<()> {
        for _ in 0..200 {
            let probe = client.client.get(format!("http://{}/healthz", self.addr).parse()?).await;
            if probe.map(|r| r.status().is_success()).unwrap_or(false) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("findinghub did not become ready")
    }
}

/// The findinghub binary beside the running benchmark's own.
pub fn sibling_binary() -> Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name("findinghub"))
}

/// An HTTP/1.1 client with keep-alive, signing with the bootstrap key.
#[derive(Clone)]
pub struct HttpClient {
    pub client: Client<HttpConnector, Full<Bytes>>,
    pub addr: String,
}

impl HttpClient {
    pub fn new(addr: &str) -> HttpClient {
        HttpClient { client: Client::builder(TokioExecutor::new()).build_http(), addr: addr.to_owned() }
    }

    /// A SigV4-signed Security Hub call.
    pub async fn call(&self, method: &str, path: &str, body: Vec<u8>) -> Result<(u16, Bytes)> {
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
        self.send(method, path, &headers, body).await
    }

    /// A request with the given headers, unsigned (`/events` takes an API key instead).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &http::HeaderMap,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes)> {
        let mut req = http::Request::builder().method(method).uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let response = self.client.request(req.body(Full::new(Bytes::from(body)))?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// The p-th percentile (0..=1) of sorted durations, in milliseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}
