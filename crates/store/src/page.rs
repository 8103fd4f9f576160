//! Keyset page tokens, shared by every backend: a token names the position after the last finding
//! of a page (its sort values and its sequence number), so a page that follows is right even while
//! findings are imported between the calls. Tokens are opaque to clients.

use crate::StoreError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use findinghub_hub::filter::{SortCriterion, SortValue};
use serde_json::{Value, json};
use std::cmp::Ordering;

/// The position of one finding in a sort order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub values: Vec<SortValue>,
    pub seq: i64,
}

/// A fingerprint of the sort order, so that a token from another query is refused.
fn fingerprint(sort: &[SortCriterion]) -> String {
    sort.iter()
        .map(|c| format!("{}:{}", c.field.name, if c.descending { 'd' } else { 'a' }))
        .collect::<Vec<_>>()
        .join(",")
}

/// Version 1 broke ties by key hash, then sequence number; its positions mean nothing in version
/// 2's order (sequence number alone), so its tokens are refused rather than followed wrongly.
const TOKEN_VERSION: i64 = 2;

pub fn encode(cursor: &Cursor, sort: &[SortCriterion]) -> String {
    let values: Vec<Value> = cursor.values.iter().map(value_to_json).collect();
    let body = json!({"v": TOKEN_VERSION, "o": fingerprint(sort), "k": values, "s": cursor.seq});
    URL_SAFE_NO_PAD.encode(body.to_string())
}

pub fn decode(token: &str, sort: &[SortCriterion]) -> Result<Cursor, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| StoreError::InvalidToken)?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidToken)?;
    if body.get("v") != Some(&json!(TOKEN_VERSION)) || body.get("o").and_then(Value::as_str) != Some(&fingerprint(sort))
    {
        return Err(StoreError::InvalidToken);
    }
    let values = body
        .get("k")
        .and_then(Value::as_array)
        .ok_or(StoreError::InvalidToken)?
        .iter()
        .map(value_from_json)
        .collect::<Option<Vec<_>>>()
        .ok_or(StoreError::InvalidToken)?;
    if values.len() != sort.len() {
        return Err(StoreError::InvalidToken);
    }
    let seq = body.get("s").and_then(Value::as_i64).ok_or(StoreError::InvalidToken)?;
    Ok(Cursor { values, seq })
}

fn value_to_json(v: &SortValue) -> Value {
    match v {
        SortValue::Missing => Value::Null,
        SortValue::Bool(b) => json!(b),
        SortValue::Number(n) => json!({ "n": n }),
        SortValue::Text(s) => json!(s),
        SortValue::Time(t) => json!({ "t": t }),
    }
}

fn value_from_json(v: &Value) -> Option<SortValue> {
    Some(match v {
        Value::Null => SortValue::Missing,
        Value::Bool(b) => SortValue::Bool(*b),
        Value::String(s) => SortValue::Text(s.clone()),
        Value::Object(o) => match (o.get("n"), o.get("t")) {
            (Some(n), None) => SortValue::Number(n.as_f64()?),
            (None, Some(t)) => SortValue::Time(t.as_i64()?),
            _ => return None,
        },
        _ => return None,
    })
}

/// The total order of findings under `sort`: the criteria in turn, then the sequence number (the
/// order of arrival) in the direction of the first criterion (descending by default).
pub fn compare(a: &Cursor, b: &Cursor, sort: &[SortCriterion]) -> Ordering {
    for (i, c) in sort.iter().enumerate() {
        let ord = match (a.values.get(i), b.values.get(i)) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => Ordering::Equal,
        };
        let ord = if c.descending { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let tie = a.seq.cmp(&b.seq);
    if tiebreak_descending(sort) { tie.reverse() } else { tie }
}

/// Ties are broken in the direction of the first criterion.
pub fn tiebreak_descending(sort: &[SortCriterion]) -> bool {
    sort.first().is_none_or(|c| c.descending)
}

/// The sort order of a query: the criteria, or UpdatedAt descending when there are none.
pub fn default_sort(sort: Vec<SortCriterion>) -> Vec<SortCriterion> {
    if !sort.is_empty() {
        return sort;
    }
    match findinghub_hub::filter::field("UpdatedAt") {
        Some(field) => vec![SortCriterion { field, descending: true }],
        None => sort,
    }
}

/// A GetFindingHistory page token: the (update time, id) of the last record returned.
pub fn encode_history_token(time: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("h1:{time}:{id}"))
}

pub fn decode_history_token(token: &str) -> Result<(i64, i64), StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| StoreError::InvalidToken)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::InvalidToken)?;
    let mut parts = text.split(':');
    match (parts.next(), parts.next().map(str::parse), parts.next().map(str::parse), parts.next()) {
        (Some("h1"), Some(Ok(t)), Some(Ok(id)), None) => Ok((t, id)),
        _ => Err(StoreError::InvalidToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_updated() -> Vec<SortCriterion> {
        default_sort(Vec::new())
    }

    #[test]
    fn a_token_names_the_position_it_was_made_from() {
        let sort = by_updated();
        let cursor = Cursor { values: vec![SortValue::Time(1_714_644_006_000_000)], seq: 42 };
        assert_eq!(decode(&encode(&cursor, &sort), &sort).expect("the token decodes"), cursor);
    }

    #[test]
    fn a_token_of_the_key_hash_order_is_refused() {
        let sort = by_updated();
        let old = json!({"v": 1, "o": fingerprint(&sort), "k": [{"t": 1_714_644_006_000_000_i64}], "h": -7, "s": 42});
        let token = URL_SAFE_NO_PAD.encode(old.to_string());
        assert!(matches!(decode(&token, &sort), Err(StoreError::InvalidToken)));
    }

    #[test]
    fn ties_follow_the_order_of_arrival_in_the_first_criterion_s_direction() {
        let sort = by_updated();
        let at = |seq| Cursor { values: vec![SortValue::Time(5)], seq };
        assert_eq!(compare(&at(1), &at(2), &sort), Ordering::Greater, "descending: the later arrival first");
        let ascending = vec![SortCriterion { descending: false, ..sort[0] }];
        assert_eq!(compare(&at(1), &at(2), &ascending), Ordering::Less);
    }
}
