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
