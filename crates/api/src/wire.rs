//! restJson1 on the wire: JSON responses, URI labels and query parameters as the model binds them.

use crate::operations::{Binding, Location, Operation};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value};

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    // Straight into bytes: `to_string` goes through `fmt`, a tenth slower on large answers.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Decodes percent-escapes once (restJson1 labels and query values); `+` stays a plus.
pub fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// The query string's parameters, decoded, in order (a key may repeat).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// The operation's input as one JSON object: the body's members, then the URI labels and the query
/// parameters under their member names, converted to the member's JSON type.
pub fn input(
    op: &Operation,
    body: &[u8],
    labels: &[(String, String)],
    query: &[(String, String)],
) -> Result<Map<String, Value>, String> {
    let mut input = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err("The request body must be a JSON object".into()),
            Err(e) => return Err(format!("The request body is not valid JSON: {e}")),
        }
    };
    for b in op.bindings {
        match b.location {
            Location::Uri => {
                if let Some((_, v)) = labels.iter().find(|(k, _)| k == b.wire) {
                    input.insert(b.member.to_owned(), Value::String(v.clone()));
                }
            }
            Location::Query => {
                let values: Vec<&String> = query.iter().filter(|(k, _)| k == b.wire).map(|(_, v)| v).collect();
                if let Some(v) = typed(b, &values)? {
                    input.insert(b.member.to_owned(), v);
                }
            }
        }
    }
    Ok(input)
}

fn typed(b: &Binding, values: &[&String]) -> Result<Option<Value>, String> {
    let Some(first) = values.first() else { return Ok(None) };
    Ok(Some(match b.kind {
        "list" => Value::Array(values.iter().map(|v| Value::String((*v).clone())).collect()),
        "integer" | "long" => {
            let n: i64 = first.parse().map_err(|_| format!("{} must be an integer", b.wire))?;
            Value::from(n)
        }
        "boolean" => match first.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("{} must be true or false", b.wire)),
        },
        _ => Value::String((*first).clone()),
    }))
}

/// The elements of the array member `member` of a JSON object body, each parsed once and with the
/// body's own bytes of it, so that the import path keeps a finding as sent without serialising it
/// again. `None` when the body is not such an object: the caller then takes [`input`], which says
/// what is wrong with it.
pub fn array_member_elements(body: &Bytes, member: &str) -> Option<Vec<(Value, Bytes)>> {
    let b = body.as_ref();
    let mut at = skip_whitespace(b, 0);
    if b.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(b, at + 1);
    let mut found = None;
    if b.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let (Value::String(key), end) = one_value(b, at)? else { return None };
            at = skip_whitespace(b, end);
            if b.get(at) != Some(&b':') {
                return None;
            }
            at = skip_whitespace(b, at + 1);
            if key == member && b.get(at) == Some(&b'[') {
                let (elements, end) = array_elements(body, at)?;
                found = Some(elements);
                at = end;
            } else {
                // Another member (or a non-array `member`, which `input` then refuses).
                if key == member {
                    found = None;
                }
                at = one_value(b, at)?.1;
            }
            at = skip_whitespace(b, at);
            match b.get(at) {
                Some(b',') => at = skip_whitespace(b, at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_whitespace(b, at) == b.len()).then_some(found).flatten()
}

/// The elements of the JSON array that starts at `at`, and where the array ends.
fn array_elements(body: &Bytes, mut at: usize) -> Option<(Vec<(Value, Bytes)>, usize)> {
    let b = body.as_ref();
    let mut elements = Vec::new();
    at = skip_whitespace(b, at + 1);
    if b.get(at) == Some(&b']') {
        return Some((elements, at + 1));
    }
    loop {
        let (value, end) = one_value(b, at)?;
        elements.push((value, body.slice(at..end)));
        at = skip_whitespace(b, end);
        match b.get(at) {
            Some(b',') => at = skip_whitespace(b, at + 1),
            Some(b']') => return Some((elements, at + 1)),
            _ => return None,
        }
    }
}

/// The JSON value that starts at `at` (no whitespace before it), and the offset just after it.
fn one_value(b: &[u8], at: usize) -> Option<(Value, usize)> {
    let mut stream = serde_json::Deserializer::from_slice(b.get(at..)?).into_iter::<Value>();
    let value = stream.next()?.ok()?;
    Some((value, at + stream.byte_offset()))
}

fn skip_whitespace(b: &[u8], mut at: usize) -> usize {
    while b.get(at).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn elements(body: &str) -> Option<Vec<(Value, String)>> {
        array_member_elements(&Bytes::copy_from_slice(body.as_bytes()), "Findings")
            .map(|found| found.into_iter().map(|(v, raw)| (v, String::from_utf8_lossy(&raw).into_owned())).collect())
    }

    #[test]
    fn each_element_comes_with_its_own_bytes_of_the_body() {
        let body = r#" { "Other": {"a": [1, "]"]},
            "Findings" : [ {"Id": "a,b", "X": [1, {"y": "}\"]"}]} ,{"Id":"c"}
            , 2.5e1 ] , "Last": null } "#;
        let found = elements(body).expect("an object with a Findings array");
        let raws: Vec<&str> = found.iter().map(|(_, raw)| raw.as_str()).collect();
        assert_eq!(raws, [r#"{"Id": "a,b", "X": [1, {"y": "}\"]"}]}"#, r#"{"Id":"c"}"#, "2.5e1"]);
        for (value, raw) in &found {
            assert_eq!(value, &serde_json::from_str::<Value>(raw).expect("the bytes are the element"));
        }
        assert_eq!(found[0].0, json!({"Id": "a,b", "X": [1, {"y": "}\"]"}]}));
    }

    #[test]
    fn an_empty_array_has_no_elements() {
        assert_eq!(elements(r#"{"Findings": []}"#), Some(Vec::new()));
        assert_eq!(elements("{\"Findings\":[\n]}"), Some(Vec::new()));
    }

    #[test]
    fn a_body_of_another_form_is_left_to_the_generic_parser() {
        for body in [
            "",
            "[]",
            "{}",
            r#"{"Other": []}"#,
            r#"{"Findings": {}}"#,
            r#"{"Findings": [] "x": 1}"#,
            r#"{"Findings": [{"Id": "a"} {"Id": "b"}]}"#,
            r#"{"Findings": [{"Id": "a"},]}"#,
            r#"{"Findings": [{"Id": "a"}]"#,
            r#"{"Findings": [{"Id": "a"}]} x"#,
            r#"{"Findings": [{"Id": "a}]}"#,
            r#"{"Findings": [01]}"#,
            r#"{Findings: []}"#,
            r#"{"Findings": [], "Findings": 3}"#,
        ] {
            assert_eq!(elements(body), None, "{body}");
        }
    }

    #[test]
    fn the_last_of_repeated_members_counts_as_in_the_generic_parser() {
        let found = elements(r#"{"Findings": 3, "Findings": [{"Id": "b"}]}"#).expect("the last member is an array");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, r#"{"Id": "b"}"#);
    }
}
