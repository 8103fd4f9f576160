//! End to end through the real Python clients: the AWS CLI (`aws securityhub ...`) and boto3, each
//! suite against its own `findinghub serve` on a free port; and native events posted to
//! `/events` as an EventBridge API destination posts them, read back with those clients.
//!
//! The clients live in a virtual environment that this test makes itself (`python3 -m venv`, then
//! `pip install -r tests/python/requirements.txt`), under the target directory, keyed by a hash of the
//! requirements file and the interpreter's version: it is built once and reused while neither
//! changes. The checks themselves are Python (`tests/python/test_cli.py`, `tests/python/test_boto3.py`,
//! run by `tests/python/run.py`); this file starts the hub, makes a member key with
//! `findinghub credentials create`, runs a suite with the endpoint, the keys and the account ids in
//! its environment, prints its output and asserts that it passed.
//!
//! Needs `python3` (3.11; another one with `FINDINGHUB_TEST_PYTHON`) and PyPI on the first run.
//! `FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS=1` skips these tests, with a note, on a machine without them.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const REGION: &str = "us-east-1";
const ADMIN_ACCOUNT: &str = "111111111111";
const ADMIN_KEY_ID: &str = "AKIAFINDINGHUBPYTEST";
const ADMIN_SECRET: &str = "cHl0aG9uLWNsaWVudHMtYWRtaW4tc2VjcmV0LWtleQ";
/// The account of most of the shared samples, so that the member has findings to see.
const MEMBER_ACCOUNT: &str = "123456789012";
/// The longest a suite may run before it is stopped and the test fails.
const SUITE_TIMEOUT: Duration = Duration::from_secs(600);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python_dir() -> PathBuf {
    repo_root().join("tests/python")
}

fn skipped() -> bool {
    let skip = std::env::var("FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        eprintln!("FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS is set: the Python client tests do not run");
    }
    skip
}

fn shown(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust releases (std's does not promise to).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) { venv.join("Scripts").join("python.exe") } else { venv.join("bin").join("python") }
}

/// The interpreter of the virtual environment with the pinned clients, made on first use.
fn python() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(make_venv)
}

fn make_venv() -> PathBuf {
    let base = std::env::var("FINDINGHUB_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let requirements = python_dir().join("requirements.txt");
    let pins = fs::read(&requirements).unwrap_or_else(|e| panic!("read {}: {e}", requirements.display()));
    let version = Command::new(&base)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .unwrap_or_else(|e| panic!("`{base}` cannot be run ({e}): the Python client tests need Python 3.11 and pip"));
    assert!(version.status.success(), "`{base}` fails:\n{}", shown(&version));
    let key = fnv1a(&[&pins, &version.stdout, base.as_bytes()]);

    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&root).expect("create the target's tmp dir");
    let venv = root.join(format!("python-clients-{key:016x}"));
    let marker = venv.join(".findinghub-ready");
    // One maker at a time, also across concurrent `cargo test` runs.
    let lock = File::create(root.join(format!("python-clients-{key:016x}.lock"))).expect("create the venv lock file");
    lock.lock().expect("lock the venv");
    if marker.exists() {
        return venv_python(&venv);
    }
    if venv.exists() {
        // Left half-made by an interrupted run.
        fs::remove_dir_all(&venv).expect("remove a half-made venv");
    }
    let started = Instant::now();
    let made = Command::new(&base).args(["-m", "venv"]).arg(&venv).output().expect("run python -m venv");
    let python = venv_python(&venv);
    if !made.status.success() {
        // A Python without ensurepip (Debian's without python3-venv): a venv without pip, filled by the
        // interpreter's own pip.
        let _ = fs::remove_dir_all(&venv);
        let bare = Command::new(&base).args(["-m", "venv", "--without-pip"]).arg(&venv).output();
        let bare = bare.expect("run python -m venv --without-pip");
        assert!(bare.status.success(), "python -m venv failed:\n{}\n{}", shown(&made), shown(&bare));
    }
    let mut pip = Command::new(if made.status.success() { python.as_os_str() } else { std::ffi::OsStr::new(&base) });
    if !made.status.success() {
        pip.args(["-m", "pip", "--python"]).arg(&python);
    } else {
        pip.args(["-m", "pip"]);
    }
    let installed = pip
        .args(["install", "--quiet", "--disable-pip-version-check", "--no-input", "-r"])
        .arg(&requirements)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .output()
        .expect("run pip");
    assert!(installed.status.success(), "pip install -r {} failed:\n{}", requirements.display(), shown(&installed));
    fs::write(&marker, format!("{key:016x}\n")).expect("mark the venv ready");
    eprintln!("made the Python client venv {} in {:.1?}", venv.display(), started.elapsed());
    python
}

struct Hub {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Hub {
    fn start() -> Hub {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a port");
        let child = Command::new(env!("CARGO_BIN_EXE_findinghub"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("FINDINGHUB_BOOTSTRAP_ACCESS_KEY_ID", ADMIN_KEY_ID)
            .env("FINDINGHUB_BOOTSTRAP_SECRET_ACCESS_KEY", ADMIN_SECRET)
            .env("FINDINGHUB_BOOTSTRAP_ACCOUNT_ID", ADMIN_ACCOUNT)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start findinghub");
        let hub = Hub { child, endpoint: format!("http://127.0.0.1:{port}"), dir };
        for _ in 0..400 {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    return hub;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("findinghub did not become ready");
    }

    /// A member key, made with `findinghub credentials create` on the running hub's data.
    fn create_key(&self, account: &str) -> (String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_findinghub"))
            .args(["credentials", "create", "--account", account])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .output()
            .expect("run findinghub credentials create");
        assert!(out.status.success(), "findinghub credentials create failed:\n{}", shown(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["AccountId"], account);
        let field = |name: &str| v[name].as_str().unwrap_or_else(|| panic!("no {name} in {v}")).to_owned();
        (field("AccessKeyId"), field("SecretAccessKey"))
    }

    /// An API key for `POST /events`, made with `findinghub credentials create-api-key`.
    fn create_api_key(&self, account: &str) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_findinghub"))
            .args(["credentials", "create-api-key", "--account", account])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .output()
            .expect("run findinghub credentials create-api-key");
        assert!(out.status.success(), "findinghub credentials create-api-key failed:\n{}", shown(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["AccountId"], account);
        v["ApiKey"].as_str().unwrap_or_else(|| panic!("no ApiKey in {v}")).to_owned()
    }
}

/// Waits for the child with a deadline; its stdout and stderr are read on threads meanwhile.
fn wait_with_deadline(mut child: Child, deadline: Duration) -> (Output, bool) {
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the suite") {
            break status;
        }
        if started.elapsed() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for the killed suite");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    (Output { status, stdout, stderr }, timed_out)
}

fn run_suite(module: &str) {
    if skipped() {
        return;
    }
    let python = python();
    let samples = repo_root().join("../shared/samples/asff");
    assert!(samples.is_dir(), "the shared ASFF samples are missing: {}", samples.display());
    let samples = samples.canonicalize().expect("samples path");
    let native = repo_root().join("../shared/samples/native").canonicalize().expect("native samples path");

    let hub = Hub::start();
    let (member_id, member_secret) = hub.create_key(MEMBER_ACCOUNT);
    let api_key = hub.create_api_key(MEMBER_ACCOUNT);

    let mut cmd = Command::new(python);
    cmd.arg("run.py").arg(module).current_dir(python_dir());
    // Nothing of the machine's AWS setup reaches the clients, and no bytecode lands in the tree.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(&name);
        }
    }
    let child = cmd
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("FINDINGHUB_ENDPOINT", &hub.endpoint)
        .env("FINDINGHUB_REGION", REGION)
        .env("FINDINGHUB_ADMIN_KEY_ID", ADMIN_KEY_ID)
        .env("FINDINGHUB_ADMIN_SECRET", ADMIN_SECRET)
        .env("FINDINGHUB_ADMIN_ACCOUNT", ADMIN_ACCOUNT)
        .env("FINDINGHUB_MEMBER_KEY_ID", &member_id)
        .env("FINDINGHUB_MEMBER_SECRET", &member_secret)
        .env("FINDINGHUB_MEMBER_ACCOUNT", MEMBER_ACCOUNT)
        .env("FINDINGHUB_SAMPLES", &samples)
        .env("FINDINGHUB_NATIVE_SAMPLES", &native)
        .env("FINDINGHUB_API_KEY", &api_key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let (out, timed_out) = wait_with_deadline(child, SUITE_TIMEOUT);
    let report = shown(&out);
    println!("python run.py {module}\n{report}");
    assert!(!timed_out, "the {module} suite did not finish within {SUITE_TIMEOUT:?}:\n{report}");
    assert!(out.status.success(), "the {module} suite failed:\n{report}");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains(&format!("[{module}] ")) && summary.contains(" checks in "), "no summary:\n{report}");
    drop(hub);
}

#[test]
fn the_aws_cli_works_against_the_hub() {
    run_suite("test_cli");
}

#[test]
fn boto3_works_against_the_hub() {
    run_suite("test_boto3");
}

#[test]
fn native_events_post_to_the_hub_as_eventbridge_sends_them() {
    run_suite("test_events");
}
