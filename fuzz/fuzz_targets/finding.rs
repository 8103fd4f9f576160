//! Fuzz target `finding`: arbitrary bytes as a BatchImportFindings finding.
//!
//! bytes → `serde_json::Value` → `parse_timestamp` and `ProductArn::parse` on every string in it
//! → `validate_finding`; for a valid object, the import rules: create it, import the same
//! document again (must be stale), import it with a later `UpdatedAt` (must update), and the
//! same again after a customer update (BatchUpdateFindings) has touched the shared fields.
//! Nothing may panic, and the few outcomes the rules promise are asserted.

#![no_main]

use findinghub_asff::timestamp::{Micros, format_timestamp, parse_timestamp};
use findinghub_asff::validate_finding;
use findinghub_hub::finding::{FindingKey, StoredFinding};
use findinghub_hub::import::{ImportContext, ImportOutcome, apply_import};
use findinghub_hub::products::ProductArn;
use findinghub_hub::update::{FindingUpdate, NoteUpdate, apply_update};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// 2026-01-01T00:00:00Z: the fixed "now" of every import.
const NOW: Micros = 1_767_225_600_000_000;
const SECOND: Micros = 1_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    each_string(&doc, &mut |s| {
        let _ = parse_timestamp(s);
        let _ = ProductArn::parse(s);
    });
    if validate_finding(&doc).is_err() {
        return;
    }
    let Value::Object(incoming) = doc else {
        return;
    };
    import_rules(incoming);
});

fn import_rules(incoming: Map<String, Value>) {
    let ctx = ImportContext { region: "us-east-1", now: NOW, product_names: None };
    let stored = match apply_import(None, incoming.clone(), &ctx) {
        Ok(ImportOutcome::Created { finding, .. }) => finding,
        Ok(other) => panic!("import with no stored finding did not create one: {other:?}"),
        // A schema-valid finding may still be refused (a malformed ProductArn, for one).
        Err(_) => return,
    };
    assert_eq!(
        Some(&stored.key),
        FindingKey::of(&incoming, "us-east-1").as_ref(),
        "the stored key is not the key of the document"
    );
    let Some(updated_at) = stored.updated_at() else {
        panic!("a created finding has no parseable UpdatedAt");
    };

    // The same UpdatedAt again: equal is stale.
    let again = apply_import(Some(&stored), incoming.clone(), &ctx);
    assert!(matches!(again, Ok(ImportOutcome::Stale)), "re-import with the same UpdatedAt: {again:?}");

    // A later UpdatedAt: accepted (when the later instant can be written as a timestamp at all).
    let later_ctx = ImportContext { now: NOW + SECOND, ..ctx.clone() };
    let Some(later) = with_later_updated_at(&incoming, updated_at) else {
        return;
    };
    let next = match apply_import(Some(&stored), later.clone(), &later_ctx) {
        Ok(ImportOutcome::Updated { finding, .. }) => finding,
        other => panic!("re-import with a later UpdatedAt did not update: {other:?}"),
    };
    assert_eq!(next.key, stored.key);

    // The older document after the newer one: stale.
    let older = apply_import(Some(&next), incoming, &later_ctx);
    assert!(matches!(older, Ok(ImportOutcome::Stale)), "re-import of an older UpdatedAt: {older:?}");

    // A customer update touching every shared field, then the provider's later import.
    let update = customer_update(&stored);
    let Ok((touched, _history)) = apply_update(&stored, &update, NOW, "fuzz") else {
        return;
    };
    let after = apply_import(Some(&touched), later, &later_ctx);
    assert!(matches!(after, Ok(ImportOutcome::Updated { .. })), "later import after a customer update: {after:?}");
}

/// The document with `UpdatedAt` one second after `updated_at`, or `None` when that instant is
/// outside what `format_timestamp` writes (it then falls back to the epoch).
fn with_later_updated_at(incoming: &Map<String, Value>, updated_at: Micros) -> Option<Map<String, Value>> {
    let later = updated_at.checked_add(SECOND)?;
    let text = format_timestamp(later);
    // format_timestamp keeps milliseconds: truncation may land at or before the original.
    if parse_timestamp(&text).is_none_or(|t| t <= updated_at) {
        return None;
    }
    let mut doc = incoming.clone();
    doc.insert("UpdatedAt".to_owned(), Value::String(text));
    Some(doc)
}

/// A BatchUpdateFindings update that sets every field it can, so that the provider's next import
/// meets every "changed by the customer" flag.
fn customer_update(stored: &StoredFinding) -> FindingUpdate {
    let object = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    FindingUpdate {
        note: Some(NoteUpdate { text: "triaged".to_owned(), updated_by: "fuzz".to_owned() }),
        severity: Some(object(json!({"Label": "LOW"}))),
        verification_state: Some("TRUE_POSITIVE".to_owned()),
        confidence: Some(42),
        criticality: Some(7),
        types: Some(vec!["Effects/Data Exposure".to_owned()]),
        user_defined_fields: Some(object(json!({"team": "blue"}))),
        workflow_status: Some("NOTIFIED".to_owned()),
        related_findings: Some(vec![json!({"Id": "other", "ProductArn": stored.key.product_arn})]),
    }
}

/// Calls `f` on every string in the document, object keys included. Iterative: the depth of a
/// parsed document is bounded by serde_json's recursion limit, but there is no need to rely on it.
fn each_string(doc: &Value, f: &mut impl FnMut(&str)) {
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => f(s),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (k, v) in map {
                    f(k);
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
}
