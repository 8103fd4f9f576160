//! Every ASFF sample under `shared/samples/asff/` is validated; the table below names the ones
//! that Security Hub would reject and why.

use std::path::{Path, PathBuf};

use findinghub_asff::validate::{Options, validate_finding, validate_finding_with};
use serde_json::Value;

const SAMPLES: &str = "../../../shared/samples/asff";

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("samples dir").map(|e| e.expect("entry").path()).collect();
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
        Value::Object(mut o) if o.contains_key("Findings") && !o.contains_key("SchemaVersion") => {
            match o.remove("Findings") {
                Some(Value::Array(a)) => a,
                other => panic!("Findings is not an array: {other:?}"),
            }
        }
        other => vec![other],
    }
}

#[test]
fn dump() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES);
    let mut all = Vec::new();
    files(&root, &mut all);
    for p in &all {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        for (i, f) in findings(doc).iter().enumerate() {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            println!("{rel}[{i}]: {:?} | strict: {:?}", validate_finding(f).err().map(|e| e.to_string()), validate_finding_with(f, &Options { strict_type_namespaces: true }).err().map(|e| e.to_string()));
        }
    }
}
