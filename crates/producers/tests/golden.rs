//! Golden tests: every native sample in `../shared/samples/native/` converts to the finding
//! written out in full under `tests/golden/<sample dir>/<sample name>` (a JSON array, or
//! `{"NoFinding": reason}`), and every converted finding is valid ASFF.
//!
//! `UPDATE_GOLDEN=1 cargo test -p findinghub-producers --test golden` rewrites the fixtures;
//! review the diff against the documented mapping before committing it. `GOLDEN_ONLY=<sample dir>`
//! (e.g. `config`) checks or rewrites one producer's fixtures only.

use findinghub_producers::{Conversion, ConvertOptions, Producer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const NATIVE: &str = "../../../shared/samples/native";

fn native_samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(NATIVE);
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("shared native samples").flatten() {
        for file in std::fs::read_dir(dir.path()).expect("sample dir").flatten() {
            if file.path().extension().is_some_and(|e| e == "json") {
                files.push(file.path());
            }
        }
    }
    files.sort();
    files
}

fn fixture_path(sample: &Path) -> PathBuf {
    let dir = sample.parent().and_then(Path::file_name).expect("dir");
    let name = sample.file_name().expect("name");
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(dir).join(name)
}

/// The converted output of a sample, in the fixture's form.
fn converted(sample: &Path) -> Value {
    let text = std::fs::read_to_string(sample).expect("read sample");
    let event: Value = serde_json::from_str(&text).expect("sample is JSON");
    let producer = Producer::detect(&event).unwrap_or_else(|| panic!("no producer accepts {}", sample.display()));
    // API outputs (Patch Manager, IoT Device Defender) name no account: use the one of the
    // documented examples.
    let options = ConvertOptions {
        default_region: Some("us-east-1".into()),
        default_account: Some("123456789012".into()),
        ..ConvertOptions::default()
    };
    match producer.convert(&event, &options) {
        Ok(Conversion::Findings(findings)) => {
            for f in &findings {
                let doc = Value::Object(f.clone());
                if let Err(e) = findinghub_asff::validate_finding(&doc) {
                    panic!("{}: converted finding is not valid ASFF: {e}", sample.display());
                }
            }
            json!(findings)
        }
        Ok(Conversion::NoFinding(reason)) => json!({ "NoFinding": reason }),
        Err(e) => json!({ "Error": e.to_string() }),
    }
}

#[test]
fn every_native_sample_converts_to_its_fixture() {
    let samples = native_samples();
    assert!(samples.len() >= 15, "expected the shared native samples");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let only = std::env::var("GOLDEN_ONLY").ok();
    let mut failures = Vec::new();
    for sample in samples {
        let dir = sample.parent().and_then(Path::file_name).and_then(|d| d.to_str()).unwrap_or_default();
        if only.as_deref().is_some_and(|o| o != dir) {
            continue;
        }
        let got = converted(&sample);
        let path = fixture_path(&sample);
        if update {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
            std::fs::write(&path, text).expect("write fixture");
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            failures.push(format!("{}: no fixture at {}", sample.display(), path.display()));
            continue;
        };
        let want: Value = serde_json::from_str(&text).expect("fixture is JSON");
        if got != want {
            failures.push(format!(
                "{}: differs from {}\n got: {}",
                sample.display(),
                path.display(),
                serde_json::to_string_pretty(&got).unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
