//! Every ASFF sample under `shared/samples/asff/` is validated, and the tables below say which ones
//! Security Hub's rules reject and why.

use std::path::{Path, PathBuf};

use findinghub_asff::validate::{Options, validate_finding, validate_finding_with};
use serde_json::Value;

/// `shared/` sits next to the workspace root (`/work/shared` for `/work/main`).
const SAMPLES: &str = "../../../shared/samples/asff";

/// Rejected by `validate_finding` (Security Hub's own rules): none.
///
/// Two samples were rejected by earlier drafts of the validator, which was wrong both times:
/// - `config/account-resource-other-type.asr-test-fixture.json` has
///   `FindingProviderFields.Severity.Normalized`, a member the model lacks but the documentation of
///   `FindingProviderSeverity` lists and Security Hub itself writes (it copies the whole top-level
///   Severity into FPF): now accepted (`limits::EXTRA_MEMBERS`).
/// - `guardduty/typical-finding-ssh-bruteforce.guardduty-userguide.json` has empty `ProductFields`
///   values (`aws/guardduty/service/evidence: ""`), as GuardDuty findings stored by Security Hub do:
///   `NonEmptyString` is no longer enforced on map keys and values, only the documented lengths.
const REJECTED: &[(&str, &str)] = &[];

/// Rejected only with `Options::strict_type_namespaces` (the documented taxonomy, which Security Hub
/// does not enforce): AWS's own integrations use other namespaces.
const NS: &str = "should match pattern \"^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(/[^/]+){0,2}$\"";
const REJECTED_STRICT: &[(&str, &str, &str)] = &[
    // "Software and Configuration Check" (singular) in FPF.Types and Types: a typo in the IoT guide.
    ("iot-device-defender/audit-check-summary.iot-devguide.json", "data.FindingProviderFields.Types[0]", NS),
    ("iot-device-defender/audit-finding.iot-devguide.json", "data.FindingProviderFields.Types[0]", NS),
    // Macie classic (2020) put its native finding type in Types: "Policy:IAMUser/S3Bucket…".
    ("macie/policy-s3bucketencryptiondisabled.real-export-2020.python-asff.json", "data.Types[0]", NS),
    ("macie/policy-s3bucketpublic.real-export-2020.python-asff.json", "data.Types[0]", NS),
    // Patch Manager writes "Software & Configuration Checks/Patch Management/Compliance".
    ("patch-manager/noncompliant-instance.real-export-2020.python-asff.json", "data.Types[0]", NS),
    ("patch-manager/typical-finding.ssm-userguide.json", "data.Types[0]", NS),
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// A file holds one finding, an array of findings, or `{"Findings": [...]}`.
fn findings(doc: Value) -> Vec<Value> {
    match doc {
        Value::Array(a) => a,
        Value::Object(mut o) if !o.contains_key("SchemaVersion") && o.contains_key("Findings") => {
            match o.remove("Findings") {
                Some(Value::Array(a)) => a,
                other => panic!("Findings is not an array: {other:?}"),
            }
        }
        other => vec![other],
    }
}

/// (file relative to the samples directory, index in the file, finding).
fn load() -> Vec<(String, usize, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES);
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let rel = p.strip_prefix(&root).expect("under root").to_string_lossy().replace('\\', "/");
        for (i, f) in findings(doc).into_iter().enumerate() {
            out.push((rel.clone(), i, f));
        }
    }
    out
}

#[test]
fn the_file_forms_are_recognised() {
    let one = serde_json::json!({"SchemaVersion": "2018-10-08", "Findings": 1});
    assert_eq!(findings(one).len(), 1, "a finding with an odd member stays a finding");
    assert_eq!(findings(serde_json::json!([{}, {}])).len(), 2);
    assert_eq!(findings(serde_json::json!({"Findings": [{}, {}, {}]})).len(), 3);
}

#[test]
fn samples_are_valid_or_rejected_for_the_known_reason() {
    let all = load();
    assert_eq!(all.len(), 23, "23 sample findings (one per file today)");
    let mut seen_strict = 0;
    for (file, i, f) in &all {
        let expected = REJECTED.iter().find(|(name, _)| name == file).map(|(_, why)| (*why).to_owned());
        let got = validate_finding(f).err().map(|e| e.to_string());
        assert_eq!(got, expected, "{file}[{i}]");

        let strict = validate_finding_with(f, &Options { strict_type_namespaces: true }).err();
        match REJECTED_STRICT.iter().find(|(name, _, _)| name == file) {
            Some((_, path, rule)) => {
                seen_strict += 1;
                let e = strict.unwrap_or_else(|| panic!("{file}[{i}] should be rejected in strict mode"));
                assert_eq!((e.path.as_str(), e.rule.as_str()), (*path, *rule), "{file}[{i}]");
            }
            None => assert_eq!(strict, None, "{file}[{i}] (strict)"),
        }
    }
    assert_eq!(seen_strict, REJECTED_STRICT.len(), "every file of the strict table exists");
}
