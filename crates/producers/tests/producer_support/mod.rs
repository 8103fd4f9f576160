//! What the per-producer tests share: the shared samples, conversion helpers that check every
//! finding against ASFF, and a mutation run that feeds a converter broken variants of a sample.
#![allow(dead_code)]

use findinghub_producers::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};
use std::path::Path;

const SAMPLES: &str = "../../../shared/samples";

/// A file of `shared/samples/<kind>/<dir>/<name>`, as JSON.
pub fn sample(kind: &str, dir: &str, name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES).join(kind).join(dir).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn native(dir: &str, name: &str) -> Value {
    sample("native", dir, name)
}

pub fn asff(dir: &str, name: &str) -> Value {
    sample("asff", dir, name)
}

pub fn options() -> ConvertOptions {
    ConvertOptions::default()
}

pub fn options_in(region: &str, account: &str) -> ConvertOptions {
    ConvertOptions {
        default_region: Some(region.to_owned()),
        default_account: Some(account.to_owned()),
        ..ConvertOptions::default()
    }
}

/// The findings of an event; every one valid ASFF.
pub fn findings(producer: Producer, event: &Value, options: &ConvertOptions) -> Vec<Value> {
    match producer.convert(event, options) {
        Ok(Conversion::Findings(found)) => {
            let found: Vec<Value> = found.into_iter().map(Value::Object).collect();
            for f in &found {
                if let Err(e) = findinghub_asff::validate_finding(f) {
                    panic!("not valid ASFF: {e}\n{f:#}");
                }
            }
            found
        }
        other => panic!("expected findings, got {other:?}"),
    }
}

/// The one finding of an event.
pub fn one(producer: Producer, event: &Value, options: &ConvertOptions) -> Value {
    let mut found = findings(producer, event, options);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.remove(0)
}

/// The reason why an event makes no finding.
pub fn no_finding(producer: Producer, event: &Value, options: &ConvertOptions) -> String {
    match producer.convert(event, options) {
        Ok(Conversion::NoFinding(reason)) => reason,
        other => panic!("expected no finding, got {other:?}"),
    }
}

/// The error of a malformed event.
pub fn error(producer: Producer, event: &Value, options: &ConvertOptions) -> ConvertError {
    match producer.convert(event, options) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Asserts that the error message names `field`.
pub fn assert_error_names(producer: Producer, event: &Value, options: &ConvertOptions, field: &str) {
    let e = error(producer, event, options);
    assert_eq!(e.producer, producer.name());
    assert!(e.message.contains(field), "error {:?} should name {field}", e.message);
    assert!(e.to_string().contains("is malformed"), "{e}");
}

/// Two ASFF timestamps name the same instant (`…:57Z` and `…:57.000Z`).
pub fn same_instant(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| v.as_str().and_then(findinghub_asff::timestamp::parse_timestamp);
    parse(a).is_some() && parse(a) == parse(b)
}

/// Asserts that `got[field] == want[field]` for each field, with a message naming it.
pub fn assert_fields(got: &Value, want: &Value, fields: &[&str]) {
    for field in fields {
        let (g, w) = (&got[*field], &want[*field]);
        if field.ends_with("At") && same_instant(g, w) {
            continue;
        }
        assert_eq!(g, w, "field {field}");
    }
}

/// `ProductFields` without the ones Security Hub writes itself (`aws/securityhub/*`).
pub fn own_product_fields(finding: &Value) -> Map<String, Value> {
    finding["ProductFields"]
        .as_object()
        .map(|m| {
            m.iter().filter(|(k, _)| !k.starts_with("aws/securityhub/")).map(|(k, v)| (k.clone(), v.clone())).collect()
        })
        .unwrap_or_default()
}

/// Sets `value` at a path of object keys (creating objects on the way).
pub fn set(doc: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = doc;
    for key in parents {
        if !node.get(*key).is_some_and(Value::is_object) {
            node[*key] = json!({});
        }
        node = &mut node[*key];
    }
    node[*last] = value;
}

/// Removes the member at a path of object keys.
pub fn remove(doc: &mut Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = doc;
    for key in parents {
        match node.get_mut(*key) {
            Some(n) => node = n,
            None => return,
        }
    }
    if let Some(m) = node.as_object_mut() {
        m.remove(*last);
    }
}

/// Every path (object keys and array indexes) of a document.
fn paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                prefix.push(k.clone());
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(i.to_string());
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn replaced(doc: &Value, path: &[String], with: Option<&Value>) -> Value {
    let mut copy = doc.clone();
    let Some((last, parents)) = path.split_last() else { return copy };
    let mut node = &mut copy;
    for key in parents {
        node = match node {
            Value::Object(m) => match m.get_mut(key) {
                Some(n) => n,
                None => return copy,
            },
            Value::Array(items) => match key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(n) => n,
                None => return copy,
            },
            _ => return copy,
        };
    }
    match (node, with) {
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Object(m), Some(v)) => {
            m.insert(last.clone(), v.clone());
        }
        (Value::Array(items), None) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|&i| i < items.len()) {
                items.remove(i);
            }
        }
        (Value::Array(items), Some(v)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = v.clone();
            }
        }
        _ => {}
    }
    copy
}

/// Feeds the converter every variant of `doc` with one member removed or replaced by a value of
/// another kind (and a few wholly wrong inputs): it must never panic, and whatever findings it
/// makes must be valid ASFF. Returns how many variants were tried.
pub fn never_panics_on_variants_of(producer: Producer, doc: &Value, options: &ConvertOptions) -> usize {
    let odd = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e300),
        json!(i64::MAX),
        json!(12.5),
        json!(""),
        json!("x"),
        json!("[SAMPLE]"),
        json!([]),
        json!([null]),
        json!({}),
        json!("9999999999999999999999"),
        json!("2020-01-01T00:00:00+aéb"),
    ];
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let mut variants: Vec<Value> =
        vec![json!(null), json!([]), json!({}), json!("text"), json!({"findings": []}), json!({"findings": [null]})];
    for path in &all {
        variants.push(replaced(doc, path, None));
        for v in &odd {
            variants.push(replaced(doc, path, Some(v)));
        }
    }
    for variant in &variants {
        let outcome = std::panic::catch_unwind(|| producer.convert(variant, options));
        match outcome {
            Err(_) => panic!("{} panicked on {variant}", producer.name()),
            Ok(Ok(Conversion::Findings(found))) => {
                for f in found {
                    let f = Value::Object(f);
                    if let Err(e) = findinghub_asff::validate_finding(&f) {
                        panic!("{} made an invalid finding of {variant}: {e}", producer.name());
                    }
                }
            }
            Ok(Ok(Conversion::NoFinding(reason))) => assert!(!reason.is_empty()),
            Ok(Err(e)) => assert!(!e.message.is_empty()),
        }
    }
    variants.len()
}

/// Which producers accept an event.
pub fn acceptors(event: &Value) -> Vec<Producer> {
    Producer::ALL.into_iter().filter(|p| p.accepts(event)).collect()
}

/// The document with every number as a float, for comparing `10` with `10.0`.
pub fn floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(items) => Value::Array(items.iter().map(floats).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), floats(v))).collect()),
        other => other.clone(),
    }
}
