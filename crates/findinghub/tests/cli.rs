//! The command line: `import` (through the same validation and rules as the API) and `credentials`.

use std::path::Path;
use std::process::Command;

fn findinghub(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_findinghub"));
    c.arg("--data-dir").arg(data);
    c
}

#[test]
fn import_reads_json_lines_and_reports_each_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/asff");
    let mut lines = String::new();
    let mut count = 0;
    for producer in std::fs::read_dir(&samples).expect("samples").filter_map(Result::ok) {
        for file in std::fs::read_dir(producer.path()).expect("producer dir").filter_map(Result::ok) {
            let text = std::fs::read_to_string(file.path()).expect("sample");
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            lines.push_str(&v.to_string());
            lines.push('\n');
            count += 1;
        }
    }
    lines.push_str("{\"Id\": \"broken\"}\n");
    let file = dir.path().join("findings.jsonl");
    std::fs::write(&file, lines).expect("write");
    let out = findinghub(&dir.path().join("data")).arg("import").arg(&file).output().expect("run import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One sample has a malformed ProductArn; the line without the required members fails validation.
    assert!(stdout.starts_with(&format!("{} imported, 2 failed", count - 1)), "{stdout}");
    assert!(
        stdout.contains("broken: Finding does not adhere to Amazon Finding Format. data should have required property")
    );
    assert!(stdout.contains("data.ProductArn is not a valid product ARN"));
    assert_eq!(out.status.code(), Some(2), "failures give a non-zero exit status");
    // The same findings again are stale: nothing fails but the broken ones.
    let again = findinghub(&dir.path().join("data")).arg("import").arg(&file).output().expect("run import");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with(&format!("{} imported, 2 failed", count - 1)));
}

fn native(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/native").join(name)
}

#[test]
fn convert_prints_the_findings_of_native_events_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let sample = native("guardduty/sample-finding-blackholetraffic-dns.eventbridge.COMPOSED.json");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sample).expect("sample")).expect("json");
    let out = findinghub(&data).arg("convert").arg(&sample).output().expect("run convert");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    assert_eq!(findings.as_array().map(Vec::len), Some(1));
    assert_eq!(findings[0]["Id"], event["detail"]["arn"]);
    assert_eq!(findings[0]["ProductArn"], "arn:aws:securityhub:us-east-1::product/aws/guardduty");
    assert!(!data.exists(), "convert opens no store");

    // The same event named as another producer's is refused with the reason.
    let wrong = findinghub(&data).args(["convert", "--from", "config"]).arg(&sample).output().expect("run");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("config"), "{}", String::from_utf8_lossy(&wrong.stderr));
    let unknown = findinghub(&data).args(["convert", "--from", "nessus"]).arg(&sample).output().expect("run");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("one of: auto, config, health"));

    // An event that makes no finding prints [] and says why.
    let mut health: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(native("health/health-event-ec2-account-specific.eventbridge.health-doc-sample.json"))
            .expect("sample"),
    )
    .expect("json");
    health["detail"]["eventTypeCode"] = "AWS_EC2_INSTANCE_STORE_DRIVE_PERFORMANCE_DEGRADED".into();
    health["detail"]["eventTypeCategory"] = "issue".into();
    health["detail"]["service"] = "EC2".into();
    let file = dir.path().join("health.json");
    std::fs::write(&file, health.to_string()).expect("write");
    let none = findinghub(&data).arg("convert").arg(&file).output().expect("run");
    assert!(none.status.success());
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "[]");
    assert!(String::from_utf8_lossy(&none.stderr).contains("no finding"));
}

#[test]
fn ingest_reads_a_directory_of_native_events() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/native");
    let run = || findinghub(&data).arg("ingest").arg(&samples).args(["--account", "123456789012"]).output();
    let out = run().expect("run ingest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let first = stdout.lines().next().unwrap_or_default().to_owned();
    assert!(first.contains(" events: ") && first.contains(" failed") && first.ends_with("0 failed"), "{stdout}");
    let count = |line: &str, label: &str| -> usize {
        let before = line.split(label).next().unwrap_or_default();
        before.rsplit([' ', '(']).next().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX)
    };
    let created = count(&first, " findings created");
    assert!((10..usize::MAX).contains(&created), "{stdout}");
    // Ingesting the same files again changes nothing: the findings are as new as the stored ones.
    let again = run().expect("run ingest");
    assert!(again.status.success());
    let second = String::from_utf8_lossy(&again.stdout).lines().next().unwrap_or_default().to_owned();
    assert_eq!(count(&second, " findings created"), 0, "{second}");
    assert_eq!(count(&second, " updated"), 0, "{second}");
    assert_eq!(count(&second, " unchanged"), created + count(&first, " unchanged"), "{second}");
}

#[test]
fn credentials_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let out = findinghub(&data)
        .args(["credentials", "create", "--account", "123456789012", "--admin"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let id = key["AccessKeyId"].as_str().expect("id").to_owned();
    assert_eq!(key["AccountId"], "123456789012");
    assert_eq!(key["SecretAccessKey"].as_str().map(str::len), Some(40));
    // The secret is not in the database in clear.
    let secret = key["SecretAccessKey"].as_str().unwrap_or_default().as_bytes().to_vec();
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&data).expect("data dir").filter_map(Result::ok) {
        stored.extend(std::fs::read(entry.path()).expect("read"));
    }
    assert!(stored.len() > 4096, "the data directory holds the database");
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_slice()));
    let list = findinghub(&data).args(["credentials", "list"]).output().expect("run");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains(&id) && listed.contains("\"Admin\":true") && !listed.contains("Secret"), "{listed}");
    let bad = findinghub(&data).args(["credentials", "create", "--account", "12345"]).output().expect("run");
    assert!(!bad.status.success());
    assert!(findinghub(&data).args(["credentials", "revoke", &id]).status().expect("run").success());
    assert!(!findinghub(&data).args(["credentials", "revoke", &id]).status().expect("run").success());

    // API keys for /events: printed once, kept only as a hash, listed by id, revoked by id.
    let out = findinghub(&data).args(["credentials", "create-api-key", "--account", "123456789012"]).output();
    let out = out.expect("run");
    assert!(out.status.success());
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let api_key = key["ApiKey"].as_str().expect("ApiKey").to_owned();
    let (key_id, secret) = api_key.split_once('.').expect("id.secret");
    assert!(key_id.starts_with("fhk_") && secret.len() == 40, "{api_key}");
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&data).expect("data dir").filter_map(Result::ok) {
        stored.extend(std::fs::read(entry.path()).expect("read"));
    }
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is not stored");
    let listed = findinghub(&data).args(["credentials", "list"]).output().expect("run");
    assert!(String::from_utf8_lossy(&listed.stdout).contains(key_id));
    assert!(findinghub(&data).args(["credentials", "revoke", key_id]).status().expect("run").success());
    assert!(!findinghub(&data).args(["credentials", "revoke", key_id]).status().expect("run").success());
}

/// A key that a tool already signs with (Prowler signs its Security Hub calls with the credentials
/// of the account that it scans) is registered as it is; its secret comes from the environment.
#[test]
fn credentials_register_an_existing_key_with_its_secret_from_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let register = |id: &str, var: &str| {
        findinghub(&data)
            .args(["credentials", "create", "--account", "123456789012", "--access-key-id", id])
            .args(["--secret-from-env", var])
            .env("FH_TEST_SECRET", "an-existing-secret-access-key")
            .env_remove("FH_TEST_UNSET")
            .output()
            .expect("run")
    };
    let out = register("AKIAEXISTINGKEY12345", "FH_TEST_SECRET");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(key, serde_json::json!({"AccessKeyId": "AKIAEXISTINGKEY12345", "AccountId": "123456789012"}));
    let list = findinghub(&data).args(["credentials", "list"]).output().expect("run");
    assert!(String::from_utf8_lossy(&list.stdout).contains("AKIAEXISTINGKEY12345"));
    // The same id twice, no secret, a malformed id, or the id alone: refused.
    assert!(!register("AKIAEXISTINGKEY12345", "FH_TEST_SECRET").status.success());
    assert!(!register("AKIAOTHERKEY12345678", "FH_TEST_UNSET").status.success());
    assert!(!register("AKIA-NOT/A-KEY-ID-AT-ALL", "FH_TEST_SECRET").status.success());
    let alone = findinghub(&data)
        .args(["credentials", "create", "--account", "123456789012", "--access-key-id", "AKIAOTHERKEY12345678"])
        .output()
        .expect("run");
    assert!(!alone.status.success());
}

#[test]
fn the_configuration_file_is_read_and_flags_win_over_it() {
    let dir = tempfile::tempdir().expect("dir");
    let from_file = dir.path().join("from-file");
    let config = dir.path().join("findinghub.toml");
    std::fs::write(&config, format!("data_dir = {:?}\nlog_format = \"json\"\n", from_file.display().to_string()))
        .expect("write config");
    let run = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_findinghub"));
        c.arg("--config").arg(&config).args(extra).args(["credentials", "create", "--account", "123456789012"]);
        c.output().expect("run")
    };
    assert!(run(&[]).status.success());
    assert!(from_file.join("findinghub.sqlite3").exists(), "the file's data_dir is used");
    let from_flag = dir.path().join("from-flag");
    assert!(run(&["--data-dir", from_flag.to_str().unwrap_or_default()]).status.success());
    assert!(from_flag.join("findinghub.sqlite3").exists(), "the flag wins over the file");
    std::fs::write(&config, "listen = \"127.0.0.1:1\"\nunknown_key = 1\n").expect("write config");
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid findinghub configuration"));
}

#[test]
fn products_are_registered_listed_and_deleted() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let create = |id: &str| {
        findinghub(&data)
            .args(["products", "create", "--account", "123456789012", "--id", id, "--name", "Scanner"])
            .output()
            .expect("run")
    };
    let out = create("scanner");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(created["ProductArn"], "arn:aws:securityhub:<region>:123456789012:product/123456789012/scanner");
    assert!(!create("scanner").status.success(), "one id per account");
    for bad in ["default", "has space", ""] {
        assert!(!create(bad).status.success(), "{bad:?} is not a product id");
    }
    let list = findinghub(&data).args(["products", "list", "--account", "123456789012"]).output().expect("run");
    let listed = String::from_utf8_lossy(&list.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("\"ProductId\":\"scanner\"") && listed.contains("\"CompanyName\":\"Personal\""));
    let delete = ["products", "delete", "--account", "123456789012", "--id", "scanner"];
    assert!(findinghub(&data).args(delete).status().expect("run").success());
    assert!(!findinghub(&data).args(delete).status().expect("run").success());
}
