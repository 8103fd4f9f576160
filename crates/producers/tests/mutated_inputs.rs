//! Config, Health, Patch Manager and Firewall Manager never panic: every member of every sample
//! and example input, replaced in turn by values of the wrong type or shape, converts to
//! findings that are valid ASFF, to no finding, or to an error — and the same way twice.

use findinghub_producers::{Conversion, ConvertOptions, Producer};
use serde_json::{Value, json};
use std::path::Path;

fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn inputs() -> Vec<(Producer, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for (producer, dir) in [
        (Producer::Config, root.join("../../../shared/samples/native/config")),
        (Producer::Health, root.join("../../../shared/samples/native/health")),
        (Producer::PatchManager, root.join("../../../shared/samples/native/patch-manager")),
        (Producer::FirewallManager, root.join("tests/inputs/firewall-manager")),
    ] {
        let mut files: Vec<_> = std::fs::read_dir(&dir).expect("dir").flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
            out.push((producer, load(&f)));
        }
    }
    out
}

/// The JSON paths of every member and item (not the root).
fn paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                prefix.push(json!(k));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(json!(i));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn slot<'a>(value: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, key| match key {
        Value::String(k) => v.get_mut(k.as_str()),
        Value::Number(n) => n.as_u64().and_then(|i| usize::try_from(i).ok()).and_then(|i| v.get_mut(i)),
        _ => None,
    })
}

fn check(producer: Producer, event: &Value, options: &ConvertOptions) {
    let first = producer.convert(event, options);
    assert_eq!(first, producer.convert(event, options), "deterministic");
    if let Ok(Conversion::Findings(findings)) = first {
        for f in findings {
            let doc = Value::Object(f);
            if let Err(e) = findinghub_asff::validate_finding(&doc) {
                panic!("{producer:?}: invalid finding ({e}) from {event}");
            }
        }
    }
}

#[test]
fn odd_values_anywhere_never_panic() {
    let odd = [
        json!(null),
        json!(0),
        json!(-1),
        json!(1e300),
        json!(""),
        json!(" "),
        json!("global"),
        json!("arn:"),
        json!("x".repeat(3000)),
        json!([]),
        json!({}),
        json!(true),
    ];
    let options = ConvertOptions {
        default_region: Some("us-east-1".into()),
        default_account: Some("123456789012".into()),
        ..ConvertOptions::default()
    };
    let mut checked = 0;
    for (producer, input) in inputs() {
        check(producer, &input, &options);
        check(producer, &input, &ConvertOptions::default());
        let mut all = Vec::new();
        paths(&input, &mut Vec::new(), &mut all);
        for path in all {
            for value in &odd {
                let mut mutated = input.clone();
                if let Some(target) = slot(&mut mutated, &path) {
                    *target = value.clone();
                }
                check(producer, &mutated, &options);
                checked += 1;
            }
        }
    }
    for odd_root in [json!(null), json!([]), json!("x"), json!(7), json!({})] {
        for producer in [Producer::Config, Producer::Health, Producer::PatchManager, Producer::FirewallManager] {
            check(producer, &odd_root, &options);
        }
    }
    assert!(checked > 1000, "{checked}");
}
