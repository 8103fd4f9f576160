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
//! The same clients run the README's five-minute tour (`the_readme_tour_runs_as_written`): its
//! ```` ```sh tour ```` blocks, as bash, against a hub started with no bootstrap key so that it
//! prints one, as on a user's first start; each `#>` line in the README is output that is checked.
//!
//! Prowler runs unchanged against the hub (`prowler_sends_its_findings_to_the_hub`): in a virtual
//! environment of its own, made the same way from `tests/python/prowler-requirements.txt` (Prowler
//! and moto's server, which stands in for the scanned AWS account), `tests/python/test_prowler.py`.
//!
//! Needs `python3` (3.11; another one with `FINDINGHUB_TEST_PYTHON`) and PyPI on the first run.
//! `FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS=1` skips these tests, with a note, on a machine without them;
//! `FINDINGHUB_SKIP_PROWLER_TEST=1` skips the Prowler test alone (its environment is large).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod support;

use findinghub_store::postgres::testing::TestSchema;
use support::hub::{ACCOUNT as ADMIN_ACCOUNT, Hub, HubData, KEY_ID as ADMIN_KEY_ID, REGION, SECRET as ADMIN_SECRET};
use support::python::{make_venv, python_dir, repo_root, shown};

/// The account of most of the shared samples, so that the member has findings to see.
const MEMBER_ACCOUNT: &str = "123456789012";
/// The longest a suite may run before it is stopped and the test fails.
const SUITE_TIMEOUT: Duration = Duration::from_secs(600);

fn skipped() -> bool {
    let skip = std::env::var("FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        eprintln!("FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS is set: the Python client tests do not run");
    }
    skip
}

/// The interpreter of the virtual environment with the pinned clients, made on first use.
fn python() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| make_venv("requirements.txt", "python-clients"))
}

/// The interpreter of the virtual environment with Prowler and moto's server, made on first use.
fn prowler_python() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| make_venv("prowler-requirements.txt", "prowler"))
}

/// A hub started as a new user starts it: no bootstrap key in the environment, so it makes one
/// and prints it. Returns the hub and what it printed on stdout until it was ready.
fn start_fresh() -> (Hub, String) {
    let mut hub = Hub::options().fresh().start();
    let mut stdout = hub.child.stdout.take().expect("piped stdout");
    // The key is printed before the hub listens; what it prints later (nothing, as it stands) is
    // drained so that it never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&printed).contains("export AWS_DEFAULT_REGION=") && Instant::now() < deadline {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            printed.extend(chunk);
        }
    }
    (hub, String::from_utf8_lossy(&printed).into_owned())
}

/// An API key for `POST /events`, made with `findinghub credentials create-api-key`.
fn create_api_key(hub: &Hub, account: &str) -> String {
    let out = hub.run(&["credentials", "create-api-key", "--account", account]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["AccountId"], account);
    v["ApiKey"].as_str().unwrap_or_else(|| panic!("no ApiKey in {v}")).to_owned()
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
    run_suite_with(python(), module, None);
}

/// The suite against a hub on PostgreSQL (a fresh schema of `FINDINGHUB_TEST_POSTGRES`): the same
/// checks as on the embedded store.
fn run_suite_on_postgres(module: &str) {
    if skipped() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let suite = format!("the {module} Python suite on PostgreSQL (python_clients.rs)");
    let Some(schema) = runtime.block_on(TestSchema::create(&suite)) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let data = HubData {
        data_dir: dir.path().join("data"),
        store: Some(schema.url()),
        master_key_file: Some(dir.path().join("master.key")),
    };
    run_suite_with(python(), module, Some(data));
    drop(schema);
}

/// Runs `python run.py <module>` with the interpreter given, against a new hub (on `data`, or on a
/// new embedded store).
fn run_suite_with(python: &Path, module: &str, data: Option<HubData>) {
    let samples = repo_root().join("../shared/samples/asff");
    assert!(samples.is_dir(), "the shared ASFF samples are missing: {}", samples.display());
    let samples = samples.canonicalize().expect("samples path");
    let native = repo_root().join("../shared/samples/native").canonicalize().expect("native samples path");

    let hub = match data {
        Some(data) => Hub::options().data(data).start(),
        None => Hub::start(),
    };
    let (member_id, member_secret) = hub.create_key(MEMBER_ACCOUNT);
    let api_key = create_api_key(&hub, MEMBER_ACCOUNT);
    // A product of the administrator's own, for the custom-product checks.
    let id_and_name = ["--id", "in-house-scanner", "--name", "In-house Scanner", "--company", "Example Corp"];
    hub.run(&[&["products", "create", "--account", ADMIN_ACCOUNT][..], &id_and_name[..]].concat());

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
        .env("FINDINGHUB_ENDPOINT", hub.endpoint())
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
fn boto3_works_against_a_hub_on_postgres() {
    run_suite_on_postgres("test_boto3");
}

#[test]
fn native_events_post_to_the_hub_as_eventbridge_sends_them() {
    run_suite("test_events");
}

/// Prowler, unchanged, scans a fake account (moto's server) and sends its findings to the hub; a
/// second scan, after one scanned bucket is deleted, archives that bucket's findings through
/// Prowler's own GetFindings and re-import (`tests/python/test_prowler.py`). Its own virtual
/// environment (`tests/python/prowler-requirements.txt`, a few hundred MB): also skipped with
/// `FINDINGHUB_SKIP_PROWLER_TEST=1`.
#[test]
fn prowler_sends_its_findings_to_the_hub() {
    if skipped() {
        return;
    }
    if std::env::var("FINDINGHUB_SKIP_PROWLER_TEST").is_ok_and(|v| !v.is_empty() && v != "0") {
        eprintln!("FINDINGHUB_SKIP_PROWLER_TEST is set: the Prowler test does not run");
        return;
    }
    run_suite_with(prowler_python(), "test_prowler", None);
}

/// One command of the README's tour and what the README says it prints (`#>` lines under it).
#[derive(Debug)]
struct TourStep {
    command: String,
    expected: Vec<String>,
}

/// The address that the tour's commands name: `findinghub serve`'s default.
const TOUR_ADDRESS: &str = "127.0.0.1:4680";

/// Whether a command goes on past the end of this text, as bash reads it: a quote left open, or a
/// `\` at the end (comments outside quotes are skipped).
fn continues(text: &str) -> bool {
    let (mut single, mut double, mut escaped, mut comment) = (false, false, false, false);
    let mut prev = '\n';
    for c in text.chars() {
        if comment {
            comment = c != '\n';
        } else if escaped {
            escaped = false;
        } else if single {
            single = c != '\'';
        } else if c == '\\' {
            escaped = true;
        } else if double {
            double = c != '"';
        } else if c == '\'' {
            single = true;
        } else if c == '"' {
            double = true;
        } else if c == '#' && prev.is_whitespace() {
            comment = true;
        }
        prev = c;
    }
    single || double || (escaped && !comment)
}

/// The commands of the README's ```` ```sh tour ```` blocks, in order. A command is a line with the
/// lines that it goes on to (after a `\` or within quotes); the `#>` lines right under it are what
/// it prints; other comments and blank lines are left out.
fn tour_steps(readme: &str) -> Vec<TourStep> {
    let mut steps: Vec<TourStep> = Vec::new();
    let mut in_tour = false;
    let mut continued = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if !in_tour {
            in_tour =
                trimmed.starts_with("```") && trimmed.trim_start_matches('`').split_whitespace().eq(["sh", "tour"]);
            continue;
        }
        if trimmed.starts_with("```") {
            assert!(!continued, "a tour command goes on past the end of its block");
            in_tour = false;
            continue;
        }
        if continued {
            let step = steps.last_mut().expect("a command to continue");
            step.command.push('\n');
            step.command.push_str(line);
            continued = continues(&step.command);
        } else if let Some(out) = trimmed.strip_prefix("#>") {
            let step = steps.last_mut().expect("a `#>` line under a command");
            step.expected.push(out.strip_prefix(' ').unwrap_or(out).to_owned());
        } else if !trimmed.is_empty() && !trimmed.starts_with('#') {
            steps.push(TourStep { command: line.to_owned(), expected: Vec::new() });
            continued = continues(line);
        }
    }
    assert!(!in_tour, "a ```sh tour block is not closed");
    steps
}

/// Lines without trailing blanks and with every run of blanks (the CLI's tabs) as one space.
fn normalized(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    while out.first().is_some_and(String::is_empty) {
        out.remove(0);
    }
    out
}

#[test]
fn the_tour_reads_its_steps_and_their_output() {
    let readme = "text\n```sh\nnot tour\n```\n```sh tour\n# a comment\nexport A=1   # it's a note\n\
                  aws x \\\n    --y 'z'\n#> 10\t0\n#>\n#> two  words\n\nb --f '{\n  \"a\": \"it\\\"s\"\n}' \"#\"\n\
                  c \"x'\"\n#> c\n```\n";
    let steps = tour_steps(readme);
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert_eq!(steps[0].command, "export A=1   # it's a note");
    assert_eq!(steps[1].command, "aws x \\\n    --y 'z'");
    assert_eq!(steps[1].expected, ["10\t0", "", "two  words"]);
    assert_eq!(steps[2].command, "b --f '{\n  \"a\": \"it\\\"s\"\n}' \"#\"");
    assert!(steps[2].expected.is_empty());
    assert_eq!(steps[3].command, "c \"x'\"");
    assert_eq!(steps[3].expected, ["c"]);
    assert_eq!(normalized(&["10\t0  ", "", "two  words", ""]), ["10 0", "", "two words"]);
}

/// The README's five-minute tour, run as a user runs it: a hub started with no bootstrap key in
/// the environment, the `export` lines that it prints, then the tour's commands with bash and the
/// pinned AWS CLI, from the repository's root (the tour imports `examples/findings.json`), the
/// default address replaced by the test hub's. Each command must succeed and print what its `#>`
/// lines say.
#[test]
fn the_readme_tour_runs_as_written() {
    if skipped() {
        return;
    }
    let readme_path = repo_root().join("README.md");
    let readme = fs::read_to_string(&readme_path).unwrap_or_else(|e| panic!("read {}: {e}", readme_path.display()));
    let steps = tour_steps(&readme);
    // The tour's promises: each of these operations is in it, with what it prints.
    for op in ["batch-import-findings", "get-findings", "batch-update-findings", "get-finding-history"] {
        let pattern = format!("aws securityhub {op} ");
        assert!(
            steps.iter().any(|s| s.command.contains(&pattern) && !s.expected.is_empty()),
            "the README's tour has no `{pattern}` command with `#>` output"
        );
    }
    assert!(steps.iter().any(|s| s.command.contains(TOUR_ADDRESS)), "the tour does not name the hub's address");

    let python = python();
    let bin = python.parent().expect("the venv's bin directory");
    let (hub, printed) = start_fresh();
    let exports: Vec<&str> = printed.lines().filter(|l| l.starts_with("export AWS_")).collect();
    assert_eq!(exports.len(), 3, "the hub did not print its key as `export` lines:\n{printed}");

    let address = hub.addr.as_str();
    let mut script = String::from("set -euo pipefail\n");
    for line in &exports {
        script.push_str(line);
        script.push('\n');
    }
    for (i, step) in steps.iter().enumerate() {
        script.push_str(&format!("printf '\\n@@tour-step {i}@@\\n'\n"));
        script.push_str(&step.command.replace(TOUR_ADDRESS, address));
        script.push('\n');
    }
    let script_path = hub.scratch("tour.sh");
    fs::write(&script_path, &script).expect("write the tour script");

    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&path)))
        .expect("PATH with the venv");
    let mut cmd = Command::new("bash");
    cmd.arg(&script_path).current_dir(repo_root());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(&name);
        }
    }
    let child = cmd
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PATH", path)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bash");
    let (out, timed_out) = wait_with_deadline(child, SUITE_TIMEOUT);
    let report = format!("--- the tour as run ---\n{script}\n{}", shown(&out));
    assert!(!timed_out, "the tour did not finish within {SUITE_TIMEOUT:?}:\n{report}");
    assert!(out.status.success(), "a command of the tour failed:\n{report}");

    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut printed_by: Vec<Vec<&str>> = vec![Vec::new(); steps.len()];
    let mut current = None;
    for line in stdout.lines() {
        if let Some(n) = line.strip_prefix("@@tour-step ").and_then(|r| r.strip_suffix("@@")) {
            current = Some(n.parse::<usize>().expect("a step number"));
        } else if let Some(i) = current {
            printed_by[i].push(line);
        }
    }
    let mut checked = 0;
    for (step, lines) in steps.iter().zip(&printed_by) {
        if step.expected.is_empty() {
            continue;
        }
        let want: Vec<&str> = step.expected.iter().map(String::as_str).collect();
        assert_eq!(
            normalized(lines),
            normalized(&want),
            "the README promises another output for\n{}\n{report}",
            step.command
        );
        checked += 1;
    }
    println!("the README's tour: {} commands, {checked} outputs as promised", steps.len());
    drop(hub);
}
