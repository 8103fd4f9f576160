//! What the end-to-end tests share to run the real binary: a hub on a free port with a bootstrap
//! key, its CLI on the same data, plain and SigV4-signed HTTP requests, and aws-sdk-securityhub
//! clients pointed at it.
#![allow(dead_code)]

use aws_credential_types::Credentials;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::config::{BehaviorVersion, Region};
use serde_json::Value;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The administrator account and key that every test hub is bootstrapped with.
pub const ACCOUNT: &str = "111111111111";
pub const KEY_ID: &str = "AKIAFINDINGHUBTEST01";
pub const SECRET: &str = "c2VjcmV0LWZvci10aGUtZW5kLXRvLWVuZC10ZXN0";
pub const REGION: &str = "us-east-1";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A plain, unsigned GET (`/healthz`, `/metrics`); the whole answer as text, empty when nothing
/// listens.
pub fn http_get(addr: &str, path: &str) -> String {
    let addr = addr.trim_start_matches("http://");
    let Ok(mut s) = TcpStream::connect(addr) else { return String::new() };
    let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

/// A SigV4-signed request as the SDKs send it; the status and the JSON answer (`Null` when the body
/// is not JSON).
pub fn signed_call(
    addr: &str,
    (key, secret): (&str, &str),
    method: &str,
    path: &str,
    query: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let addr = addr.trim_start_matches("http://");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("host", addr.parse().expect("a header value"));
    headers.insert("content-type", "application/json".parse().expect("a header value"));
    findinghub_api::sigv4::sign(
        method,
        path,
        query,
        &mut headers,
        body.as_bytes(),
        key,
        secret,
        REGION,
        "securityhub",
        time::OffsetDateTime::now_utc(),
    )
    .expect("sign");
    let mut s = TcpStream::connect(addr).expect("connect");
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut request = format!("{method} {target} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in &headers {
        request.push_str(&format!("{}: {}\r\n", k, v.to_str().expect("ascii")));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    s.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    let status: u16 = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status");
    let json = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

/// aws-sdk-securityhub pointed at `endpoint` with this key.
pub fn sdk_client(endpoint: &str, key: &str, secret: &str) -> Client {
    let config = aws_sdk_securityhub::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::from_keys(key, secret, None))
        .build();
    Client::from_conf(config)
}

/// The account's own default product ARN.
pub fn default_product(account: &str) -> String {
    format!("arn:aws:securityhub:{REGION}:{account}:product/{account}/default")
}

/// Runs the command, which must succeed; its stdout.
pub fn succeed(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", super::python::shown(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `done`, polling every 50 ms; fails the test after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where a hub keeps its data: a data directory (the embedded store) or a store URL; the CLI is
/// run on the same.
#[derive(Clone, Debug)]
pub struct HubData {
    pub data_dir: PathBuf,
    pub store: Option<String>,
    pub master_key_file: Option<PathBuf>,
}

impl HubData {
    pub fn dir(data_dir: impl Into<PathBuf>) -> HubData {
        HubData { data_dir: data_dir.into(), store: None, master_key_file: None }
    }

    /// `findinghub` with the global options that select this data.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_findinghub"));
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(store) = &self.store {
            cmd.arg("--store").arg(store);
        }
        if let Some(key) = &self.master_key_file {
            cmd.arg("--master-key-file").arg(key);
        }
        cmd
    }

    /// `findinghub ARGS` on this data; its output, whatever its status.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run findinghub")
    }

    /// `findinghub ARGS` on this data, which must succeed; its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        succeed(self.command().args(args))
    }

    /// A new access key for `account`, made with `findinghub credentials create`.
    pub fn create_key(&self, account: &str) -> (String, String) {
        let out = self.run(&["credentials", "create", "--account", account]);
        let v: Value = serde_json::from_str(&out).expect("one JSON object");
        assert_eq!(v["AccountId"], account);
        let field = |name: &str| v[name].as_str().unwrap_or_else(|| panic!("no {name} in {v}")).to_owned();
        (field("AccessKeyId"), field("SecretAccessKey"))
    }
}

/// How to start a hub: `Hub::options()`, then `.start()`.
pub struct HubOptions {
    data: Option<HubData>,
    global: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    bootstrap: bool,
    stdout: Stdio,
}

impl HubOptions {
    /// Serve this data instead of a new temporary directory's.
    pub fn data(mut self, data: HubData) -> Self {
        self.data = Some(data);
        self
    }

    /// `findinghub --config FILE serve …`.
    pub fn config(mut self, file: &Path) -> Self {
        self.global.push("--config".into());
        self.global.push(file.into());
        self
    }

    /// One more argument of `serve`.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Start as a new user does: no bootstrap key in the environment (nor any other
    /// `FINDINGHUB_`/`AWS_` variable), so the hub makes one and prints it on stdout (piped).
    pub fn fresh(mut self) -> Self {
        self.bootstrap = false;
        self.stdout = Stdio::piped();
        self
    }

    /// Starts `findinghub serve` on a free port and waits until `/healthz` answers 200. A hub that
    /// exits or is not ready in 30 s fails the test with its log.
    pub fn start(self) -> Hub {
        let (data, dir) = match self.data {
            Some(data) => (data, None),
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                (HubData::dir(dir.path().join("data")), Some(dir))
            }
        };
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::env::temp_dir().join(format!("findinghub-test-{}.log", addr.replace([':', '.'], "-")));
        let mut cmd = data.command();
        if self.bootstrap {
            cmd.env("FINDINGHUB_BOOTSTRAP_ACCESS_KEY_ID", KEY_ID)
                .env("FINDINGHUB_BOOTSTRAP_SECRET_ACCESS_KEY", SECRET)
                .env("FINDINGHUB_BOOTSTRAP_ACCOUNT_ID", ACCOUNT);
        } else {
            for (name, _) in std::env::vars_os() {
                let text = name.to_string_lossy();
                if text.starts_with("FINDINGHUB_") || text.starts_with("AWS_") {
                    cmd.env_remove(&name);
                }
            }
        }
        cmd.args(&self.global).args(["serve", "--listen", &addr]).args(&self.args);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        let child = cmd
            .stdout(self.stdout)
            .stderr(std::fs::File::create(&log).map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
            .spawn()
            .expect("start findinghub");
        let mut hub = Hub { child, addr, data, log, _dir: dir };
        let started = Instant::now();
        while !http_get(&hub.addr, "/healthz").starts_with("HTTP/1.1 200") {
            if let Ok(Some(status)) = hub.child.try_wait() {
                panic!("findinghub serve exited ({status}):\n{}", hub.log());
            }
            if started.elapsed() > Duration::from_secs(30) {
                panic!("findinghub serve was not ready in 30 s:\n{}", hub.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        hub
    }
}

/// A running `findinghub serve`, killed when dropped.
pub struct Hub {
    pub child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub data: HubData,
    log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Hub {
    pub fn options() -> HubOptions {
        HubOptions {
            data: None,
            global: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            bootstrap: true,
            stdout: Stdio::null(),
        }
    }

    /// A hub on a new temporary data directory, with the bootstrap key.
    pub fn start() -> Hub {
        Hub::options().start()
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A path beside the hub's data directory, for a test's own files.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.data.data_dir.parent().unwrap_or(Path::new(".")).join(name)
    }

    /// What the hub has written to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// aws-sdk-securityhub with the bootstrap (administrator) key.
    pub fn sdk(&self) -> Client {
        sdk_client(&self.endpoint(), KEY_ID, SECRET)
    }

    /// A signed request with the bootstrap key.
    pub fn call(&self, method: &str, path: &str, query: Option<&str>, body: Option<Value>) -> (u16, Value) {
        signed_call(&self.addr, (KEY_ID, SECRET), method, path, query, body)
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.data.cli(args)
    }

    pub fn run(&self, args: &[&str]) -> String {
        self.data.run(args)
    }

    pub fn create_key(&self, account: &str) -> (String, String) {
        self.data.create_key(account)
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
