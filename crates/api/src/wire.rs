//! restJson1 on the wire: JSON responses, URI labels and query parameters as the model binds them.

use crate::operations::{Binding, Location, Operation};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
