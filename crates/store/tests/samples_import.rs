//! Every ASFF sample in `../shared/samples/asff/` goes through validation and the import rules
//! into the embedded store: it is imported, or it is rejected for the reason that the table below
//! gives; and GetFindings returns what was sent, plus only the fields that the service fills in.

use findinghub_asff::validate_finding;
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::{AccountScope, FindingQuery, FindingStore, ImportBatch, ImportStatus, IncomingFinding, Scope};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

const SAMPLES: &str = "../../../shared/samples/asff";

/// Samples that must be refused, with the reason.
const KNOWN_INVALID: &[(&str, &str)] = &[(
    // The GuardDuty User Guide's example has a typo in its ProductArn ("arn:aws::securityhub:…"):
    // Security Hub refuses a malformed ProductArn.
    "guardduty/typical-finding-ssh-bruteforce.guardduty-userguide.json",
    "data.ProductArn is not a valid product ARN",
)];

/// Members that the service owns or fills in: they may differ from what was sent.
const SERVICE_FILLED: &[&str] = &[
    "ProcessedAt",
    "Region",
    "ProductName",
    "CompanyName",
    "RecordState",
    "Workflow",
    "WorkflowState",
    "FindingProviderFields",
];

fn sample_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("samples directory").filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            sample_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn findings_of(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        Value::Object(mut m) if m.contains_key("Findings") => match m.remove("Findings") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        other => vec![other],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_imports_or_is_rejected_for_the_right_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES);
    let mut files = Vec::new();
    sample_files(&root, &mut files);
    assert!(files.len() >= 20, "expected the shared samples at {}", root.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    let mut imported = 0;
    for file in &files {
        let name = file.strip_prefix(&root).unwrap_or(file).to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("read sample");
        let value: Value = serde_json::from_str(&text).expect("sample is JSON");
        for sent in findings_of(value) {
            let expected_error = KNOWN_INVALID.iter().find(|(f, _)| *f == name).map(|(_, why)| *why);
            if let Err(e) = validate_finding(&sent) {
                panic!("{name}: rejected by validation: {e}");
            }
            let Value::Object(sent) = sent else { panic!("{name}: not an object") };
            let region = sent.get("Region").and_then(Value::as_str).unwrap_or("us-east-1").to_owned();
            let batch = ImportBatch {
                region: region.clone(),
                now: findinghub_asff::timestamp::now_micros(),
                findings: vec![IncomingFinding::new(sent.clone())],
            };
            let status = store.import(batch).await.expect("import").statuses.remove(0);
            match (expected_error, &status) {
                (Some(why), ImportStatus::Failed { code, message }) => {
                    assert_eq!(code, "InvalidInput", "{name}");
                    assert!(message.contains(why), "{name}: {message}");
                    continue;
                }
                (Some(_), other) => panic!("{name}: should be rejected, got {other:?}"),
                (None, ImportStatus::Created) => {}
                (None, other) => panic!("{name}: not imported: {other:?}"),
            }
            imported += 1;
            let got = fetch(&store, &sent, &region).await;
            compare(&name, &sent, &got);
        }
    }
    assert_eq!(imported + KNOWN_INVALID.len(), files.len());
}

async fn fetch(store: &SqliteStore, sent: &Map<String, Value>, region: &str) -> Map<String, Value> {
    let filters = findinghub_hub::filter::parse_filters(
        &json!({"Id": [{"Value": sent["Id"], "Comparison": "EQUALS"}],
                "ProductArn": [{"Value": sent["ProductArn"], "Comparison": "EQUALS"}]}),
        0,
    )
    .expect("filters");
    let page = store
        .get_findings(FindingQuery {
            scope: Scope { accounts: AccountScope::All, region: Some(region.to_owned()) },
            filters,
            sort: vec![],
            max_results: 10,
            next_token: None,
        })
        .await
        .expect("get_findings");
    assert_eq!(page.findings.len(), 1);
    page.findings.into_iter().next().unwrap_or_default()
}

fn compare(name: &str, sent: &Map<String, Value>, got: &Map<String, Value>) {
    for (k, v) in sent {
        if SERVICE_FILLED.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            // The service rewrites its own aws/securityhub/* keys; the provider's stay.
            "ProductFields" => {
                for (pk, pv) in v.as_object().into_iter().flatten() {
                    if !pk.starts_with("aws/securityhub/") {
                        assert_eq!(got[k].get(pk), Some(pv), "{name}: ProductFields.{pk}");
                    }
                }
            }
            // Label and Normalized are derived from one another when one is missing.
            "Severity" => {
                for (sk, sv) in v.as_object().into_iter().flatten() {
                    assert_eq!(got[k].get(sk), Some(sv), "{name}: Severity.{sk}");
                }
            }
            _ => assert_eq!(got.get(k), Some(v), "{name}: member {k} changed"),
        }
    }
    // What the service fills in.
    assert_eq!(
        got["ProductFields"]["aws/securityhub/FindingId"],
        json!(format!(
            "{}/{}",
            sent["ProductArn"].as_str().unwrap_or_default(),
            sent["Id"].as_str().unwrap_or_default()
        )),
        "{name}"
    );
    if let Some(sent_name) = sent.get("ProductName") {
        assert_eq!(&got["ProductName"], sent_name, "{name}: the catalog names the product as Security Hub does");
    }
    if let Some(sent_company) = sent.get("CompanyName") {
        assert_eq!(&got["CompanyName"], sent_company, "{name}: the catalog names the company as Security Hub does");
    }
    for k in got.keys() {
        assert!(
            sent.contains_key(k) || SERVICE_FILLED.contains(&k.as_str()) || k == "ProductFields" || k == "Severity",
            "{name}: unexpected member {k}"
        );
    }
    assert!(got["Workflow"]["Status"].is_string());
    assert!(got.contains_key("FindingProviderFields"), "{name}: FindingProviderFields is filled in");
}
