//! Deliveries through the real binary: targets and rules set with the CLI and the configuration
//! file, a webhook receiver started by the test, a hub killed with SIGKILL in the middle of its
//! deliveries and restarted, dead letters replayed with the CLI.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod support;

use support::hub::{ACCOUNT, Hub, HubData, http_get, succeed as run, wait_for};
use support::receiver::{Receiver, start_receiver};

fn findinghub(data: &Path) -> Command {
    HubData::dir(data).command()
}

/// A hub on `data` (kept across restarts), with the webhook secret that the tests' targets name.
fn start_hub(data: &Path, config: Option<&Path>) -> Hub {
    let mut options = Hub::options().data(HubData::dir(data)).env("HOOK_SECRET", "s3cret");
    if let Some(config) = config {
        options = options.config(config);
    }
    options.start()
}

fn findings_file(dir: &Path, n: usize, severity: &str) -> PathBuf {
    let product = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default");
    let lines: Vec<String> = (0..n)
        .map(|i| {
            json!({
                "SchemaVersion": "2018-10-08", "Id": format!("finding-{i:04}"), "ProductArn": product,
                "GeneratorId": "deliveries-test", "AwsAccountId": ACCOUNT,
                "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"],
                "CreatedAt": "2024-01-01T00:00:00Z", "UpdatedAt": "2024-01-01T00:00:00Z",
                "Severity": {"Label": severity}, "Title": format!("Finding {i}"), "Description": "d",
                "Resources": [{"Type": "AwsEc2Instance", "Id": format!("i-{i}")}]
            })
            .to_string()
        })
        .collect();
    let path = dir.join(format!("findings-{severity}-{n}.jsonl"));
    std::fs::write(&path, lines.join("\n")).expect("write findings");
    path
}

#[test]
fn a_hub_killed_mid_delivery_delivers_everything_committed_after_its_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let receiver = Arc::new(Receiver::default());
    let url = start_receiver(receiver.clone(), Duration::from_millis(20));
    run(findinghub(&data)
        .args(["targets", "add", "hook", "--kind", "webhook", "--url", &url, "--secret-env", "HOOK_SECRET"])
        .env("HOOK_SECRET", "s3cret"));
    run(findinghub(&data).args([
        "rules",
        "add",
        "all",
        "--pattern",
        r#"{"source": ["aws.securityhub"]}"#,
        "--target",
        "hook",
    ]));
    let listed = run(findinghub(&data).args(["targets", "list"]));
    assert!(listed.contains(r#""Signed":true"#) && !listed.contains("s3cret"), "the secret is not shown: {listed}");

    const N: usize = 400;
    let hub = start_hub(&data, None);
    run(findinghub(&data).arg("import").arg(findings_file(dir.path(), N, "HIGH")));
    wait_for("the first deliveries", Duration::from_secs(30), || receiver.events().len() >= 40);
    hub.kill();
    let before_restart = receiver.events().len();
    assert!(before_restart < N, "the kill came in the middle of the deliveries ({before_restart} of {N})");

    let hub = start_hub(&data, None);
    // The deliveries that the killed hub had claimed come back when their claims lapse (25 s).
    wait_for("every committed change to arrive", Duration::from_secs(120), || {
        receiver.events().iter().map(|e| e.1.clone()).collect::<BTreeSet<_>>().len() == N
    });
    let events = receiver.events();
    let mut ids_per_finding: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (event_id, finding_id, _, signed) in &events {
        assert!(signed, "every delivery is signed");
        ids_per_finding.entry(finding_id.clone()).or_default().insert(event_id.clone());
    }
    assert_eq!(ids_per_finding.len(), N, "none missing");
    assert!(ids_per_finding.values().all(|ids| ids.len() == 1), "a redelivery carries the same event id");
    let duplicates = events.len() - N;
    eprintln!("SIGKILL after {before_restart} deliveries: {N} delivered, {duplicates} duplicates (at least once)");
    assert!(duplicates <= 100, "duplicates only for the claims in flight at the kill: {duplicates}");

    let metrics = http_get(&hub.addr, "/metrics");
    assert!(
        metrics.contains(r#"findinghub_deliveries_total{target="hook",outcome="delivered"}"#),
        "delivery figures in /metrics"
    );
    assert!(metrics.contains("findinghub_delivery_latency_seconds_bucket"));
    // The receiver has every event; the hub records the last answers just after.
    let delivered = || {
        run(findinghub(&data).args(["deliveries", "list", "--state", "delivered", "--limit", "1000"])).lines().count()
    };
    wait_for("every delivery recorded as delivered", Duration::from_secs(30), || delivered() == N);
    drop(hub);
    assert_eq!(delivered(), N);
}

#[test]
fn configured_rules_route_by_pattern_and_dead_letters_replay() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let receiver = Arc::new(Receiver::default());
    let url = start_receiver(receiver.clone(), Duration::ZERO);
    receiver.status.store(400, Ordering::SeqCst);
    let config = dir.path().join("findinghub.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[targets]]
name = "critical-hook"
kind = "webhook"
url = "{url}"

[[rules]]
name = "critical"
targets = ["critical-hook"]
pattern = {{ detail = {{ findings = {{ Severity = {{ Label = ["CRITICAL"] }} }} }} }}
"#
        ),
    )
    .expect("config");
    let hub = start_hub(&data, Some(&config));
    run(findinghub(&data).arg("import").arg(findings_file(dir.path(), 3, "LOW")));
    let critical = findings_file(dir.path(), 2, "CRITICAL");
    // The same ids as the LOW ones, newer: updates that match the rule.
    let text = std::fs::read_to_string(&critical)
        .expect("read")
        .replace("\"UpdatedAt\":\"2024-01-01T00:00:00Z\"", "\"UpdatedAt\":\"2024-02-01T00:00:00Z\"");
    std::fs::write(&critical, text).expect("write");
    run(findinghub(&data).arg("import").arg(&critical));

    // 400 is not worth retrying: dead letters at once.
    let dead_lines = || {
        let out = run(findinghub(&data).args(["deliveries", "list", "--state", "dead"]));
        out.lines().map(|l| serde_json::from_str::<Value>(l).expect("JSON line")).collect::<Vec<_>>()
    };
    wait_for("two dead letters", Duration::from_secs(30), || dead_lines().len() == 2);
    let dead = dead_lines();
    assert_eq!(dead[0]["Target"], "critical-hook");
    assert_eq!(dead[0]["Rule"], "critical");
    assert_eq!(dead[0]["LastError"], "refused: HTTP 400");
    assert_eq!(dead[0]["FindingId"], "finding-0000");
    assert!(receiver.events().is_empty());

    receiver.status.store(200, Ordering::SeqCst);
    let replayed = run(findinghub(&data).args(["deliveries", "replay", "--target", "critical-hook"]));
    assert_eq!(serde_json::from_str::<Value>(&replayed).expect("JSON")["Replayed"], 2);
    wait_for("the replayed deliveries", Duration::from_secs(30), || receiver.events().len() == 2);
    let got: BTreeSet<(String, String)> = receiver.events().into_iter().map(|e| (e.1, e.2)).collect();
    assert_eq!(
        got,
        BTreeSet::from([
            ("finding-0000".to_owned(), "2024-02-01T00:00:00Z".to_owned()),
            ("finding-0001".to_owned(), "2024-02-01T00:00:00Z".to_owned())
        ]),
        "only the CRITICAL versions match"
    );
    drop(hub);

    // A rule that names a missing target, and a target in use, are refused.
    let bad = findinghub(&data)
        .args(["rules", "add", "x", "--pattern", r#"{"source": ["aws.securityhub"]}"#, "--target", "nowhere"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nowhere"));
    let in_use = findinghub(&data).args(["targets", "remove", "critical-hook"]).output().expect("run");
    assert!(!in_use.status.success());
    assert!(String::from_utf8_lossy(&in_use.stderr).contains("rule critical still sends to critical-hook"));
}

#[test]
fn the_readme_slack_configuration_sends_critical_findings_to_slack() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).expect("README");
    let start = readme.find("```toml\ntargets = [").expect("the README's Slack configuration") + "```toml\n".len();
    let block = &readme[start..start + readme[start..].find("```").expect("its end")];
    assert_eq!(block.lines().count(), 5, "five lines, as the README says");
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let receiver = Arc::new(Receiver::default());
    let url = start_receiver(receiver.clone(), Duration::ZERO);
    let config = dir.path().join("findinghub.toml");
    std::fs::write(&config, block.replace("https://hooks.slack.com/services/T000/B000/XXXX", &url)).expect("config");
    let _hub = start_hub(&data, Some(&config));
    run(findinghub(&data).arg("import").arg(findings_file(dir.path(), 2, "HIGH")));
    let critical = findings_file(dir.path(), 1, "CRITICAL");
    let text = std::fs::read_to_string(&critical).expect("read").replace("finding-0000", "critical-0000");
    std::fs::write(&critical, text).expect("write");
    run(findinghub(&data).arg("import").arg(&critical));
    wait_for("the Slack message", Duration::from_secs(30), || !receiver.events().is_empty());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.events().len(), 1, "only the CRITICAL finding is posted");
}
