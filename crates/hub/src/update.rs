//! What BatchUpdateFindings does (research note §4, §6.1): exactly nine fields, set by the customer;
//! `UpdatedAt` never changes; the shared fields are marked as changed by the customer, so that the
//! provider's later imports no longer overwrite them. Also the deprecated UpdateFindings.

use crate::finding::{FindingIdentifier, SharedField, StoredFinding};
use crate::history::{HistoryEntry, UpdateSourceType, diff};
use crate::import::set_workflow_status;
use findinghub_asff::severity::{label_from_normalized, normalized_from_label};
use findinghub_asff::timestamp::{Micros, format_timestamp};
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// A request-level error: the whole request is an `InvalidInputException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

fn invalid(msg: impl Into<String>) -> InvalidInput {
    InvalidInput(msg.into())
}

/// The fields that one BatchUpdateFindings request sets, already checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingUpdate {
    pub note: Option<NoteUpdate>,
    pub severity: Option<Map<String, Value>>,
    pub verification_state: Option<String>,
    pub confidence: Option<i64>,
    pub criticality: Option<i64>,
    pub types: Option<Vec<String>>,
    pub user_defined_fields: Option<Map<String, Value>>,
    pub workflow_status: Option<String>,
    pub related_findings: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteUpdate {
    pub text: String,
    pub updated_by: String,
}

/// A BatchUpdateFindings request: the identifiers and the update.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchUpdateRequest {
    pub identifiers: Vec<FindingIdentifier>,
    pub update: FindingUpdate,
}

/// Why one identifier of a BatchUpdateFindings request was not processed, with AWS's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnprocessedReason {
    FindingNotFound,
    DuplicatedFindingIdentifier,
    FindingSizeExceeded,
    ConcurrentUpdateError,
    InvalidInput,
    InternalFailure,
}

impl UnprocessedReason {
    pub fn code(self) -> &'static str {
        match self {
            UnprocessedReason::FindingNotFound => "FindingNotFound",
            UnprocessedReason::DuplicatedFindingIdentifier => "DuplicatedFindingIdentifier",
            UnprocessedReason::FindingSizeExceeded => "FindingSizeExceeded",
            UnprocessedReason::ConcurrentUpdateError => "ConcurrentUpdateError",
            UnprocessedReason::InvalidInput => "InvalidInput",
            UnprocessedReason::InternalFailure => "InternalFailure",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            UnprocessedReason::FindingNotFound => "Finding Not Found",
            UnprocessedReason::DuplicatedFindingIdentifier => "Finding Identifier is duplicated",
            UnprocessedReason::FindingSizeExceeded => "Finding size exceeded 240 KB",
            UnprocessedReason::ConcurrentUpdateError => "Concurrent finding updates detected",
            UnprocessedReason::InvalidInput => "Invalid Input",
            UnprocessedReason::InternalFailure => "Internal service failure",
        }
    }
}

const MEMBERS: [&str; 10] = [
    "FindingIdentifiers",
    "Note",
    "Severity",
    "VerificationState",
    "Confidence",
    "Criticality",
    "Types",
    "UserDefinedFields",
    "Workflow",
    "RelatedFindings",
];

/// Parses and checks a BatchUpdateFindings request body.
pub fn parse_batch_update(req: &Value) -> Result<BatchUpdateRequest, InvalidInput> {
    let obj = req.as_object().ok_or_else(|| invalid("The request body must be a JSON object"))?;
    if let Some(unknown) = obj.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(invalid(format!("Unknown parameter in input: \"{unknown}\"")));
    }
    let ids = obj
        .get("FindingIdentifiers")
        .ok_or_else(|| invalid("Missing required parameter in input: \"FindingIdentifiers\""))?;
    let identifiers = parse_identifiers(ids, "FindingIdentifiers", 1, 100)?;
    let mut u = FindingUpdate::default();
    if let Some(note) = obj.get("Note") {
        let text = required_str(note, "Note", "Text")?;
        let updated_by = required_str(note, "Note", "UpdatedBy")?;
        check_len("Note.Text", &text, 512)?;
        check_len("Note.UpdatedBy", &updated_by, 512)?;
        u.note = Some(NoteUpdate { text, updated_by });
    }
    if let Some(sev) = obj.get("Severity") {
        u.severity = Some(parse_severity(sev)?);
    }
    if let Some(v) = obj.get("VerificationState") {
        u.verification_state = Some(enum_value(
            "VerificationState",
            v,
            &["UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE"],
        )?);
    }
    if let Some(v) = obj.get("Confidence") {
        u.confidence = Some(ratio("Confidence", v)?);
    }
    if let Some(v) = obj.get("Criticality") {
        u.criticality = Some(ratio("Criticality", v)?);
    }
    if let Some(v) = obj.get("Types") {
        u.types = Some(parse_types(v)?);
    }
    if let Some(v) = obj.get("UserDefinedFields") {
        u.user_defined_fields = Some(parse_user_defined_fields(v)?);
    }
    if let Some(w) = obj.get("Workflow") {
        let w = w.as_object().ok_or_else(|| invalid("Workflow must be an object"))?;
        if let Some(status) = w.get("Status") {
            u.workflow_status =
                Some(enum_value("Workflow.Status", status, &["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"])?);
        }
    }
    if let Some(v) = obj.get("RelatedFindings") {
        let list = parse_identifiers(v, "RelatedFindings", 0, 10)?;
        u.related_findings = Some(list.iter().map(FindingIdentifier::to_json).collect());
    }
    if u == FindingUpdate::default() {
        return Err(invalid("At least one field to update must be given"));
    }
    Ok(BatchUpdateRequest { identifiers, update: u })
}

/// A list of finding identifiers (`{Id, ProductArn}`) of `min` to `max` items.
pub fn parse_identifiers(
    v: &Value,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Vec<FindingIdentifier>, InvalidInput> {
    let list = v.as_array().ok_or_else(|| invalid(format!("{name} must be a list")))?;
    if list.len() < min || list.len() > max {
        return Err(invalid(format!("{name} must contain between {min} and {max} items")));
    }
    list.iter()
        .map(|item| {
            Ok(FindingIdentifier {
                id: required_str(item, name, "Id")?,
                product_arn: required_str(item, name, "ProductArn")?,
            })
        })
        .collect()
}

fn required_str(v: &Value, parent: &str, member: &str) -> Result<String, InvalidInput> {
    match v.get(member) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(invalid(format!("{parent}.{member} must not be blank"))),
        Some(_) => Err(invalid(format!("{parent}.{member} must be a string"))),
        None => Err(invalid(format!("Missing required parameter in input: \"{parent}.{member}\""))),
    }
}

fn check_len(name: &str, s: &str, max: usize) -> Result<(), InvalidInput> {
    if s.chars().count() > max {
        return Err(invalid(format!("{name} should NOT be longer than {max} characters")));
    }
    Ok(())
}

fn enum_value(name: &str, v: &Value, allowed: &[&str]) -> Result<String, InvalidInput> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s.to_owned()),
        _ => Err(invalid(format!("{name} must be one of {}", allowed.join(", ")))),
    }
}

fn ratio(name: &str, v: &Value) -> Result<i64, InvalidInput> {
    match v.as_i64() {
        Some(n) if (0..=100).contains(&n) => Ok(n),
        _ => Err(invalid(format!("{name} must be an integer from 0 to 100"))),
    }
}

fn parse_severity(v: &Value) -> Result<Map<String, Value>, InvalidInput> {
    let obj = v.as_object().ok_or_else(|| invalid("Severity must be an object"))?;
    let mut out = Map::new();
    for (k, val) in obj {
        match k.as_str() {
            "Label" => {
                let l = enum_value("Severity.Label", val, &findinghub_asff::severity::LABELS)?;
                out.insert(k.clone(), json!(l));
            }
            "Normalized" => {
                out.insert(k.clone(), json!(ratio("Severity.Normalized", val)?));
            }
            "Product" => {
                let n = val.as_f64().ok_or_else(|| invalid("Severity.Product must be a number"))?;
                out.insert(k.clone(), json!(n));
            }
            other => {
                return Err(invalid(format!("Unknown parameter in input: \"Severity.{other}\"")));
            }
        }
    }
    match (out.get("Label").and_then(Value::as_str), out.get("Normalized").and_then(Value::as_i64)) {
        (Some(l), None) => {
            if let Some(n) = normalized_from_label(l) {
                out.insert("Normalized".to_owned(), json!(n));
            }
        }
        (None, Some(n)) => {
            out.insert("Label".to_owned(), json!(label_from_normalized(n)));
        }
        (None, None) => return Err(invalid("Severity must have a Label or a Normalized value")),
        _ => {}
    }
    Ok(out)
}

fn parse_types(v: &Value) -> Result<Vec<String>, InvalidInput> {
    let list = v.as_array().ok_or_else(|| invalid("Types must be a list"))?;
    if list.len() > 50 {
        return Err(invalid("Types should NOT have more than 50 items"));
    }
    list.iter()
        .map(|t| {
            let s = t.as_str().ok_or_else(|| invalid("Types must be a list of strings"))?;
            if !findinghub_asff::validate::type_form_ok(s) {
                return Err(invalid(format!("Types contains an invalid type: \"{s}\"")));
            }
            Ok(s.to_owned())
        })
        .collect()
}

fn parse_user_defined_fields(v: &Value) -> Result<Map<String, Value>, InvalidInput> {
    let map = v.as_object().ok_or_else(|| invalid("UserDefinedFields must be a map of strings"))?;
    if map.len() > 50 {
        return Err(invalid("UserDefinedFields should NOT have more than 50 properties"));
    }
    for (k, val) in map {
        let s = val.as_str().ok_or_else(|| invalid("UserDefinedFields must be a map of strings"))?;
        if k.chars().count() > 128 {
            return Err(invalid("UserDefinedFields keys should NOT be longer than 128 characters"));
        }
        if s.chars().count() > 1024 {
            return Err(invalid("UserDefinedFields values should NOT be longer than 1024 characters"));
        }
    }
    Ok(map.clone())
}

/// Splits identifiers into those to process and those that repeat an earlier one.
pub fn deduplicate(ids: &[FindingIdentifier]) -> (Vec<FindingIdentifier>, Vec<FindingIdentifier>) {
    let mut seen = HashSet::new();
    let mut unique = Vec::new();
    let mut duplicates = Vec::new();
    for id in ids {
        if seen.insert(id) { unique.push(id.clone()) } else { duplicates.push(id.clone()) }
    }
    (unique, duplicates)
}

/// Applies a customer update to a stored finding. `identity` is the caller (recorded in history).
pub fn apply_update(
    stored: &StoredFinding,
    u: &FindingUpdate,
    now: Micros,
    identity: &str,
) -> Result<(StoredFinding, HistoryEntry), UnprocessedReason> {
    let mut next = stored.clone();
    let doc = &mut next.doc;
    if let Some(note) = &u.note {
        doc.insert(
            "Note".to_owned(),
            json!({"Text": note.text, "UpdatedBy": note.updated_by, "UpdatedAt": format_timestamp(now)}),
        );
    }
    if let Some(sev) = &u.severity {
        // The update replaces what it names and keeps the rest (Original stays the provider's).
        let mut merged = match doc.get("Severity") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        for (k, v) in sev {
            merged.insert(k.clone(), v.clone());
        }
        doc.insert("Severity".to_owned(), Value::Object(merged));
        next.touched.insert(SharedField::Severity);
    }
    if let Some(v) = &u.verification_state {
        doc.insert("VerificationState".to_owned(), json!(v));
    }
    if let Some(v) = u.confidence {
        doc.insert("Confidence".to_owned(), json!(v));
        next.touched.insert(SharedField::Confidence);
    }
    if let Some(v) = u.criticality {
        doc.insert("Criticality".to_owned(), json!(v));
        next.touched.insert(SharedField::Criticality);
    }
    if let Some(v) = &u.types {
        doc.insert("Types".to_owned(), json!(v));
        next.touched.insert(SharedField::Types);
    }
    if let Some(v) = &u.user_defined_fields {
        doc.insert("UserDefinedFields".to_owned(), Value::Object(v.clone()));
    }
    if let Some(status) = &u.workflow_status {
        set_workflow_status(doc, status);
    }
    if let Some(v) = &u.related_findings {
        doc.insert("RelatedFindings".to_owned(), Value::Array(v.clone()));
        next.touched.insert(SharedField::RelatedFindings);
    }
    if next.serialized_len() > findinghub_asff::MAX_FINDING_BYTES {
        return Err(UnprocessedReason::FindingSizeExceeded);
    }
    let history = HistoryEntry {
        update_time: now,
        finding_created: false,
        source: UpdateSourceType::BatchUpdateFindings,
        identity: identity.to_owned(),
        updates: diff(&stored.doc, &next.doc),
    };
    Ok((next, history))
}

/// The deprecated UpdateFindings: sets Note and RecordState on findings chosen by a filter. It
/// writes no history, and the provider's next import overwrites RecordState.
pub fn apply_legacy_update(
    stored: &StoredFinding,
    note: Option<&NoteUpdate>,
    record_state: Option<&str>,
    now: Micros,
) -> StoredFinding {
    let mut next = stored.clone();
    if let Some(note) = note {
        next.doc.insert(
            "Note".to_owned(),
            json!({"Text": note.text, "UpdatedBy": note.updated_by, "UpdatedAt": format_timestamp(now)}),
        );
    }
    if let Some(state) = record_state {
        next.doc.insert("RecordState".to_owned(), json!(state));
    }
    next
}
