//! `findinghub lake`: the OCSF printer against the shared example pair, and the export read back by
//! independent readers. Findings are imported with `findinghub import`, exported with `findinghub
//! lake export --to … --jsonl …`, and `tests/python/check_lake.py` (pyarrow and DuckDB from PyPI,
//! pinned in `tests/python/lake-requirements.txt`, in a virtual environment made as the other
//! Python tests make theirs) checks that every Parquet row equals its OCSF event, lies in its
//! partition, and that the README's DuckDB query answers what the events say. The S3 test exports
//! to moto's S3 server on a loopback port and fetches the objects back with boto3.
//!
//! The lake as a target of the outbox: a hub importing through the API is killed with SIGKILL while
//! it writes the lake, three times, and restarted; pyarrow and DuckDB then find every acknowledged
//! finding change in the lake exactly once.
//!
//! `FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS=1` skips the Python part, with a note.

use serde_json::{Value, json};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

mod support;

use support::hub::{ACCOUNT, Hub, HubData, KEY_ID, SECRET, succeed as run, wait_for};
use support::python::{make_venv, python_dir, repo_root, shown};

const ACCOUNTS: [&str; 3] = [ACCOUNT, "222222222222", "012345678901"];

fn skipped() -> bool {
    let skip = std::env::var("FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        eprintln!("FINDINGHUB_SKIP_PYTHON_CLIENT_TESTS is set: the lake's Python readers do not run");
    }
    skip
}

fn lake_python() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| make_venv("lake-requirements.txt", "lake"))
}

fn findinghub(args: &[&str], data: &Path) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_findinghub"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run findinghub");
    assert!(out.status.success(), "findinghub {args:?} failed:\n{}", shown(&out));
    out
}

/// Findings of the three classes in three accounts and four days, some FAILED.
fn findings() -> Vec<Value> {
    (0..240u32)
        .map(|i| {
            let account = ACCOUNTS[(i % 3) as usize];
            // One Region: `findinghub import` files findings under the Region it imports into.
            let region = "us-east-1";
            let day = 1 + i / 6 % 3;
            let updated = if i % 4 == 0 { day + 1 } else { day };
            let label = ["LOW", "MEDIUM", "HIGH", "CRITICAL"][(i % 4) as usize];
            let status = ["NEW", "NOTIFIED", "RESOLVED"][(i % 3) as usize];
            let mut f = json!({
                "SchemaVersion": "2018-10-08",
                "Id": format!("arn:aws:test:{region}:{account}:finding/{i}"),
                "ProductArn": format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
                "GeneratorId": format!("generator-{}", i % 5),
                "AwsAccountId": account,
                "Types": ["TTPs/Discovery/Recon"],
                "CreatedAt": format!("2026-11-0{day}T10:00:00.000Z"),
                "UpdatedAt": format!("2026-11-0{updated}T10:00:00.{:03}Z", i % 1000),
                "Severity": {"Label": label},
                "Title": format!("finding {i}"),
                "Description": "Made for the lake test.",
                "Resources": [{"Type": "AwsEc2Instance", "Id": format!("arn:aws:ec2:{region}:{account}:instance/i-{i:08x}"),
                               "Partition": "aws", "Region": region, "Tags": {"team": format!("t{}", i % 2)}}],
                "ProductFields": {"source": "lake-test", "index": i.to_string()},
                "Workflow": {"Status": status},
                "RecordState": "ACTIVE"
            });
            match i % 3 {
                0 => {
                    f["ProductArn"] = json!(format!("arn:aws:securityhub:{region}::product/aws/securityhub"));
                    f["Compliance"] = json!({
                        "Status": if i % 2 == 0 { "FAILED" } else { "PASSED" },
                        "SecurityControlId": "S3.8",
                        "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}]
                    });
                    f["Remediation"] = json!({"Recommendation": {"Text": "Block public access", "Url": "https://example.com/s3.8"}});
                }
                1 => {
                    f["ProductArn"] = json!(format!("arn:aws:securityhub:{region}::product/aws/inspector"));
                    f["Vulnerabilities"] = json!([{
                        "Id": format!("CVE-2026-{i:04}"),
                        "Cvss": [{"BaseScore": 7.5, "BaseVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "Version": "3.1"}],
                        "VulnerablePackages": [{"Name": "openssl", "Version": "1.0.2k", "FixedInVersion": "1.0.2k-24"}],
                        "FixAvailable": "YES",
                        "Vendor": {"Name": "NVD", "VendorCreatedAt": "2026-10-01T00:00:00Z"}
                    }]);
                }
                _ => {}
            }
            f
        })
        .collect()
}

/// A data directory holding `findings()`, imported with `findinghub import`.
fn hub_with_findings(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let input = dir.join("findings.jsonl");
    let mut file = std::fs::File::create(&input).expect("create the findings file");
    for f in findings() {
        writeln!(file, "{f}").expect("write a finding");
    }
    let out = findinghub(&["import", input.to_str().expect("utf-8 path")], &data);
    assert!(String::from_utf8_lossy(&out.stdout).contains("240 imported, 0 failed"), "{}", shown(&out));
    data
}

fn check_lake(args: &[&str], env: &[(&str, &str)]) {
    let readme = repo_root().join("README.md");
    let out = Command::new(lake_python())
        .arg(python_dir().join("check_lake.py"))
        .args(args)
        .arg("--readme")
        .arg(&readme)
        .envs(env.iter().copied())
        .env_remove("PYTHONPATH")
        .output()
        .expect("run check_lake.py");
    eprintln!("{}", shown(&out));
    assert!(out.status.success(), "the lake does not read back as its events:\n{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("240 rows equal to their events"), "{}", shown(&out));
}

#[test]
fn lake_ocsf_prints_the_shared_example_as_its_ocsf_pair() {
    let examples = repo_root().join("../shared/spec/ocsf/1.1.0/examples");
    let out = Command::new(env!("CARGO_BIN_EXE_findinghub"))
        .args(["lake", "ocsf"])
        .arg(examples.join("compliance_finding.asff.json"))
        .output()
        .expect("run findinghub lake ocsf");
    assert!(out.status.success(), "{}", shown(&out));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("one JSON event");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(examples.join("compliance_finding.ocsf.json")).expect("read"))
            .expect("JSON");
    assert_eq!(printed, expected);

    // An array: one line per finding; a finding without a title: named on stderr, exit code non-zero.
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("list.json");
    let mut bad = findings()[2].clone();
    bad.as_object_mut().expect("object").remove("Title");
    std::fs::write(&list, serde_json::to_string(&json!([findings()[0], findings()[1], bad])).expect("json"))
        .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_findinghub")).args(["lake", "ocsf"]).arg(&list).output().expect("run");
    assert!(!out.status.success());
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.iter().map(|e| e["class_uid"].as_u64()).collect::<Vec<_>>(), [Some(2003), Some(2002)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("finding/2: the finding has no Title"), "{}", shown(&out));
}

#[test]
fn lake_export_writes_parquet_that_pyarrow_and_duckdb_read_as_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = hub_with_findings(dir.path());
    let lake = dir.path().join("lake");
    let events = dir.path().join("events.jsonl");
    let out = findinghub(
        &["lake", "export", "--to", lake.to_str().expect("utf-8"), "--jsonl", events.to_str().expect("utf-8")],
        &data,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("240 findings exported"), "{}", shown(&out));
    assert_eq!(std::fs::read_to_string(&events).expect("events").lines().count(), 240);

    // --since/--until select by UpdatedAt.
    let window = findinghub(
        &["lake", "export", "--jsonl", "-", "--since", "2026-11-02T00:00:00Z", "--until", "2026-11-02T23:59:59Z"],
        &data,
    );
    let expected_in_window =
        findings().iter().filter(|f| f["UpdatedAt"].as_str().is_some_and(|u| u.starts_with("2026-11-02"))).count();
    assert_eq!(String::from_utf8_lossy(&window.stdout).lines().count(), expected_in_window);

    if skipped() {
        return;
    }
    check_lake(&["--jsonl", events.to_str().expect("utf-8"), "--dir", lake.to_str().expect("utf-8")], &[]);
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lake_export_writes_to_an_s3_compatible_server() {
    if skipped() {
        return;
    }
    let python = lake_python();
    let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let moto_server = python.parent().expect("venv bin").join("moto_server");
    let _moto = Moto(
        Command::new(&moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server"),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let credentials = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];
    let made = Command::new(python)
        .args(["-c", "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1').create_bucket(Bucket='lake-bucket')"])
        .arg(&endpoint)
        .envs(credentials)
        .output()
        .expect("create the bucket");
    assert!(made.status.success(), "{}", shown(&made));

    let dir = tempfile::tempdir().expect("tempdir");
    let data = hub_with_findings(dir.path());
    let events = dir.path().join("events.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_findinghub"))
        .args(["lake", "export", "--to", "s3://lake-bucket/security-lake", "--s3-endpoint", &endpoint])
        .args(["--s3-region", "us-east-1", "--jsonl"])
        .arg(&events)
        .arg("--data-dir")
        .arg(&data)
        .envs(credentials)
        .output()
        .expect("run findinghub lake export");
    assert!(out.status.success(), "{}", shown(&out));

    let download = dir.path().join("download");
    check_lake(
        &[
            "--jsonl",
            events.to_str().expect("utf-8"),
            "--s3-endpoint",
            &endpoint,
            "--bucket",
            "lake-bucket",
            "--prefix",
            "security-lake",
            "--download-to",
            download.to_str().expect("utf-8"),
        ],
        &credentials,
    );
}

// ---- the lake as a target of the outbox: a hub killed while it writes ----

/// A hub on `data` (kept across kills) that keeps the 2026 findings of the test.
fn lake_hub(data: &Path) -> Hub {
    Hub::options().data(HubData::dir(data)).args(["--retention-active-days", "36500"]).start()
}

/// The titles of the changes that a background importer sent through the API, and of those the
/// API acknowledged.
#[derive(Default)]
struct Sent {
    sent: Vec<String>,
    acknowledged: Vec<String>,
}

/// Imports rounds of changes to `FINDINGS` findings through BatchImportFindings, each change titled
/// `change <round>-<i>` with a later UpdatedAt, to whichever hub `addr` names, until `stop`.
fn importer(addr: Arc<Mutex<String>>, sent: Arc<Mutex<Sent>>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    use aws_credential_types::Credentials;
    use aws_sdk_securityhub::config::{BehaviorVersion, Region};
    use aws_sdk_securityhub::types::{AwsSecurityFinding, Resource, Severity, SeverityLabel};
    const FINDINGS: u32 = 60;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let product = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default");
        let mut round = 0u32;
        while !stop.load(Ordering::SeqCst) {
            let endpoint = format!("http://{}", addr.lock().expect("lock"));
            let config = aws_sdk_securityhub::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(endpoint)
                .credentials_provider(Credentials::from_keys(KEY_ID, SECRET, None))
                .build();
            let client = aws_sdk_securityhub::Client::from_conf(config);
            round += 1;
            let updated = format!("2026-11-28T{:02}:{:02}:{:02}.000Z", round / 3600, round / 60 % 60, round % 60);
            let titles: Vec<String> = (0..FINDINGS).map(|i| format!("change {round}-{i}")).collect();
            let findings: Vec<AwsSecurityFinding> = (0..FINDINGS)
                .map(|i| {
                    AwsSecurityFinding::builder()
                        .schema_version("2018-10-08")
                        .id(format!("crash-{i}"))
                        .product_arn(&product)
                        .generator_id("lake-crash-test")
                        .aws_account_id(ACCOUNT)
                        .types("TTPs/Discovery/Recon")
                        .created_at("2026-11-28T00:00:00.000Z")
                        .updated_at(&updated)
                        .severity(Severity::builder().label(SeverityLabel::High).build())
                        .title(&titles[i as usize])
                        .description("A change for the lake's crash test")
                        .resources(Resource::builder().r#type("AwsEc2Instance").id(format!("i-{i}")).build())
                        .build()
                })
                .collect();
            sent.lock().expect("lock").sent.extend(titles.iter().cloned());
            let answer = runtime.block_on(client.batch_import_findings().set_findings(Some(findings)).send());
            match answer {
                Ok(out) if out.failed_count() == Some(0) => sent.lock().expect("lock").acknowledged.extend(titles),
                Ok(out) => panic!("the hub refused changes: {:?}", out.failed_findings()),
                // The hub is down (killed): the next round goes to the restarted one.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    })
}

/// The lake's files: the visible ones (`*.parquet`) and the staging ones of a write in progress.
fn lake_files(root: &Path) -> (Vec<PathBuf>, usize) {
    let (mut visible, mut staging) = (Vec::new(), 0);
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                visible.push(path);
            } else if path.to_string_lossy().contains('#') {
                staging += 1;
            }
        }
    }
    (visible, staging)
}

#[test]
fn a_hub_killed_while_writing_the_lake_leaves_every_acknowledged_change_in_it_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().expect("utf-8");
    run(HubData::dir(&data).command().args([
        "targets",
        "add",
        "lake",
        "--kind",
        "lake",
        "--to",
        lake_arg,
        "--max-file-age-secs",
        "1",
    ]));
    run(HubData::dir(&data).command().args([
        "rules",
        "add",
        "all",
        "--pattern",
        r#"{"source": ["aws.securityhub"]}"#,
        "--target",
        "lake",
    ]));
    let listed = run(HubData::dir(&data).command().args(["targets", "list"]));
    assert!(listed.contains(r#""Kind":"lake""#) && listed.contains(r#""Cursor":0"#), "{listed}");

    let hub = lake_hub(&data);
    let (status, _) = hub.call("POST", "/accounts", None, Some(json!({})));
    assert_eq!(status, 200, "EnableSecurityHub");
    let addr = Arc::new(Mutex::new(hub.addr.clone()));
    let sent = Arc::new(Mutex::new(Sent::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let importing = importer(addr.clone(), sent.clone(), stop.clone());

    // Three kills: the first while a file is being written (a staging file exists), the second
    // as soon as a new file is visible (before its flush can have committed), the third at once.
    let mut hub = hub;
    let mut landed = Vec::new();
    for kill in 0..3 {
        let (before, _) = lake_files(&lake);
        let started = Instant::now();
        let how = loop {
            let (visible, staging) = lake_files(&lake);
            if kill == 0 && staging > 0 {
                break "while a file was being written";
            }
            if kill == 1 && visible.len() > before.len() {
                break "as a new file became visible";
            }
            if kill == 2 && visible.len() > before.len() + 2 {
                break "after a few flushes";
            }
            if started.elapsed() > Duration::from_secs(20) {
                break "after 20 s";
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        hub.kill();
        landed.push(how);
        hub = lake_hub(&data);
        *addr.lock().expect("lock") = hub.addr.clone();
        wait_for("the importer to reach the restarted hub", Duration::from_secs(30), || {
            let n = sent.lock().expect("lock").acknowledged.len();
            std::thread::sleep(Duration::from_millis(200));
            sent.lock().expect("lock").acknowledged.len() > n
        });
    }
    stop.store(true, Ordering::SeqCst);
    importing.join().expect("the importer");

    // Every change dispatched to the lake and written: nothing pending, and the cursor (the last
    // delivery id written; the only target, so ids 1..=cursor) still for two seconds.
    let acknowledged = sent.lock().expect("lock").acknowledged.len();
    let pending = || {
        run(HubData::dir(&data).command().args([
            "deliveries",
            "list",
            "--target",
            "lake",
            "--state",
            "pending",
            "--limit",
            "10",
        ]))
        .lines()
        .count()
    };
    let cursor = || {
        let listed = run(HubData::dir(&data).command().args(["targets", "list"]));
        let line: Value = serde_json::from_str(listed.trim()).expect("one target as JSON");
        line["Cursor"].as_u64().expect("a cursor")
    };
    wait_for("the lake to hold every change", Duration::from_secs(120), || {
        let before = cursor();
        if before == 0 || pending() > 0 {
            return false;
        }
        std::thread::sleep(Duration::from_secs(2));
        pending() == 0 && cursor() == before
    });
    hub.kill();
    let written = cursor();
    let dead = run(HubData::dir(&data).command().args(["deliveries", "list", "--target", "lake", "--state", "dead"]));
    assert!(dead.is_empty(), "no dead letters: {dead}");
    eprintln!("kills: {landed:?}; {acknowledged} acknowledged changes, {written} written");
    assert!(written >= acknowledged as u64);

    if skipped() {
        return;
    }
    let changes = dir.path().join("changes.json");
    {
        let sent = sent.lock().expect("lock");
        let body = json!({"acknowledged": sent.acknowledged, "sent": sent.sent});
        std::fs::write(&changes, body.to_string()).expect("write the changes");
    }
    let out = Command::new(lake_python())
        .arg(python_dir().join("check_lake.py"))
        .args(["--changes", changes.to_str().expect("utf-8"), "--dir", lake_arg])
        .env_remove("PYTHONPATH")
        .output()
        .expect("run check_lake.py");
    eprintln!("{}", shown(&out));
    assert!(out.status.success(), "the lake does not hold each change once:\n{}", shown(&out));
    let rows = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip_while(|w| *w != "files,")
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(rows, Some(written as usize), "one row per delivery:\n{}", shown(&out));
}
