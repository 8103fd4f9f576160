//! Properties of the event-pattern matcher on random events and patterns: it never panics, and
//! a pattern built from a value of the event matches that event (and its negation does not).

use findinghub_receivers::pattern::EventPattern;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..1000).prop_map(|n| json!(n)),
        (-1000.0f64..1000.0).prop_map(|f| json!(f)),
        "[a-zA-Z0-9*\\\\ ._:/-]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z$-]{1,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event() -> impl Strategy<Value = Map<String, Value>> {
    let leaf_or_object = scalar().prop_recursive(3, 24, 5, |inner| {
        prop::collection::btree_map("[a-z]{1,5}", inner, 1..5).prop_map(|m| Value::Object(m.into_iter().collect()))
    });
    prop::collection::btree_map("[a-z]{1,5}", leaf_or_object, 1..6).prop_map(|m| m.into_iter().collect())
}

/// Every (path, scalar) reachable through objects only.
fn leaves(obj: &Map<String, Value>, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    for (k, v) in obj {
        path.push(k.clone());
        match v {
            Value::Object(inner) => leaves(inner, path, out),
            Value::Array(_) => {}
            scalar => out.push((path.clone(), scalar.clone())),
        }
        path.pop();
    }
}

fn nest(path: &[String], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |acc, key| {
        let mut m = Map::new();
        m.insert(key.clone(), acc);
        Value::Object(m)
    })
}

fn parse(p: Value) -> EventPattern {
    EventPattern::parse(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_and_matching_never_panic(pattern in json_value(), event in json_value()) {
        if let Ok(p) = EventPattern::parse(&pattern) {
            let _ = p.matches(&event);
        }
    }

    #[test]
    fn a_value_of_the_event_matches_and_its_negations_do_not(e in event()) {
        let event = Value::Object(e.clone());
        let mut all = Vec::new();
        leaves(&e, &mut Vec::new(), &mut all);
        for (path, value) in all {
            assert!(parse(nest(&path, json!([value.clone()]))).matches(&event), "exact {path:?} {value}");
            assert!(parse(nest(&path, json!([{"exists": true}]))).matches(&event), "exists {path:?}");
            assert!(!parse(nest(&path, json!([{"exists": false}]))).matches(&event), "exists false {path:?}");
            match &value {
                Value::String(s) => {
                    assert!(!parse(nest(&path, json!([{"anything-but": s}]))).matches(&event));
                    assert!(parse(nest(&path, json!([{"equals-ignore-case": s.to_uppercase()}]))).matches(&event));
                    let half: String = s.chars().take(s.chars().count() / 2).collect();
                    assert!(parse(nest(&path, json!([{"prefix": half}]))).matches(&event));
                    assert!(parse(nest(&path, json!([{"wildcard": "*"}]))).matches(&event));
                    assert!(!parse(nest(&path, json!([{"numeric": [">=", -1e9]}]))).matches(&event));
                }
                Value::Number(n) => {
                    let x = n.as_f64().unwrap_or_default();
                    assert!(!parse(nest(&path, json!([{"anything-but": x}]))).matches(&event));
                    assert!(parse(nest(&path, json!([{"numeric": ["=", x]}]))).matches(&event));
                    assert!(parse(nest(&path, json!([{"numeric": [">=", x - 1.0, "<", x + 1.0]}]))).matches(&event));
                    assert!(!parse(nest(&path, json!([{"numeric": [">", x]}]))).matches(&event));
                    assert!(!parse(nest(&path, json!([x.to_string()]))).matches(&event), "a number is not its text");
                }
                _ => {}
            }
            // A sibling field that the event does not have: the whole pattern fails.
            let mut missing = path.clone();
            if let Some(last) = missing.last_mut() {
                last.push_str("_absent");
            }
            let both = json!({"$or": [nest(&path, json!([value.clone()])), nest(&missing, json!([value.clone()]))]});
            assert!(parse(both).matches(&event), "$or with one true branch");
            assert!(!parse(nest(&missing, json!([value.clone()]))).matches(&event));
        }
    }
}
