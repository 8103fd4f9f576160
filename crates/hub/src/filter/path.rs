//! Evaluation of field paths (see [`fields`](super::fields) for the syntax) against a finding.

use serde_json::{Map, Value};

/// The values that `path` reaches in `doc`, in document order, with every `[]` flattened.
///
/// Missing members, members of the wrong JSON type (a `[]` segment on a non-array, a member
/// lookup on a non-object) and JSON `null`s reach nothing. The special path `**` reaches every
/// non-null scalar (string, number, boolean) anywhere in the document; object keys are not
/// values. Never panics, whatever the path or the document.
pub fn values_at<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    if path == "**" {
        collect_leaves(doc, &mut out);
        return out;
    }
    let segments: Vec<&str> = path.split('.').collect();
    walk(doc, &segments, &mut out);
    out
}

/// [`values_at`] for a document held as its top-level map.
pub fn values_in<'a>(doc: &'a Map<String, Value>, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    if path == "**" {
        for v in doc.values() {
            collect_leaves(v, &mut out);
        }
        return out;
    }
    let segments: Vec<&str> = path.split('.').collect();
    if let Some((first, rest)) = segments.split_first() {
        step(doc, first, rest, &mut out);
    }
    out
}

fn walk<'a>(value: &'a Value, segments: &[&str], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = segments.split_first() else {
        if !value.is_null() {
            out.push(value);
        }
        return;
    };
    if let Some(object) = value.as_object() {
        step(object, first, rest, out);
    }
}

/// Follows one segment (`Name` or `Name[]`) from an object, then the rest of the path.
fn step<'a>(object: &'a Map<String, Value>, segment: &str, rest: &[&str], out: &mut Vec<&'a Value>) {
    let (name, each) = match segment.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (segment, false),
    };
    let Some(child) = object.get(name) else {
        return;
    };
    if each {
        if let Some(items) = child.as_array() {
            for item in items {
                walk(item, rest, out);
            }
        }
    } else {
        walk(child, rest, out);
    }
}

/// Depth-first, in document order, without recursion (so a deeply nested document built in code
/// cannot overflow the stack).
fn collect_leaves<'a>(doc: &'a Value, out: &mut Vec<&'a Value>) {
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Null => {}
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => stack.extend(map.values().rev()),
            scalar => out.push(scalar),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_nested_lists() {
        let doc = json!({
            "Resources": [
                {"Details": {"AwsEc2Instance": {"IpV4Addresses": ["10.0.0.1", "10.0.0.2"]}}},
                {"Details": {}},
                {"Details": {"AwsEc2Instance": {"IpV4Addresses": ["10.0.0.3", null]}}},
                "not an object"
            ]
        });
        let got = values_at(&doc, "Resources[].Details.AwsEc2Instance.IpV4Addresses[]");
        assert_eq!(got, vec![&json!("10.0.0.1"), &json!("10.0.0.2"), &json!("10.0.0.3")]);
    }

    #[test]
    fn wrong_types_and_odd_paths_reach_nothing() {
        let doc = json!({"Types": "not-a-list", "Severity": null, "Title": "t", "a": {"": 1}});
        assert!(values_at(&doc, "Types[]").is_empty());
        assert!(values_at(&doc, "Severity.Label").is_empty());
        assert!(values_at(&doc, "Title.Sub").is_empty());
        assert!(values_at(&doc, "Title[]").is_empty());
        assert!(values_at(&doc, "").is_empty());
        assert!(values_at(&doc, "[]").is_empty());
        assert!(values_at(&doc, "...").is_empty());
        assert_eq!(values_at(&doc, "a."), vec![&json!(1)]);
        assert_eq!(values_at(&doc, "Title"), vec![&json!("t")]);
        assert!(values_at(&json!([1, 2]), "Title").is_empty());
    }

    #[test]
    fn maps_are_returned_whole() {
        let doc = json!({"Resources": [{"Tags": {"a": "1"}}, {"Tags": {"b": "2"}}]});
        assert_eq!(values_at(&doc, "Resources[].Tags"), vec![&json!({"a": "1"}), &json!({"b": "2"})]);
    }

    #[test]
    fn double_star_reaches_every_scalar_leaf() {
        let doc = json!({"a": "x", "b": [1, {"c": true, "d": null}], "e": {"f": "y"}});
        assert_eq!(values_at(&doc, "**"), vec![&json!("x"), &json!(1), &json!(true), &json!("y")]);
    }
}
