//! The one import path: size and model validation, then the store's import rules. Used by
//! BatchImportFindings, `POST /events`, and the `import` and `ingest` commands, so that a finding
//! is accepted or refused for the same reasons whichever way it arrives.

use crate::metrics::{Metrics, rejection_reason};
use bytes::Bytes;
use findinghub_asff::timestamp::now_micros;
use findinghub_asff::{MAX_FINDING_BYTES, check_finding_size, json_len, validate_finding};
use findinghub_store::{FindingStore, ImportBatch, ImportStatus, IncomingFinding, StoreError};
use serde_json::Value;

/// What became of one finding: the store's status, or why it was refused (`Failed`).
pub type FindingOutcome = ImportStatus;

/// Validates and imports findings of one Region (at most one BatchImportFindings batch at a
/// time is what callers send, but any number works). One outcome per finding, in order. The
/// findings are moved into the store's batch: callers keep what they report (Ids) beforehand.
pub async fn import_findings(
    store: &dyn FindingStore,
    metrics: Option<&Metrics>,
    region: &str,
    findings: Vec<SentFinding>,
) -> Result<Vec<FindingOutcome>, StoreError> {
    let mut outcomes: Vec<Option<FindingOutcome>> = vec![None; findings.len()];
    let mut accepted = Vec::new();
    let mut positions = Vec::new();
    for (i, SentFinding { doc: f, raw }) in findings.into_iter().enumerate() {
        let text = match raw {
            Some(raw) => Ok((compact_len(&f, &raw), raw)),
            None => serde_json::to_vec(&f).map(|json| (json.len(), Bytes::from(json))),
        };
        let verdict = text.map_err(|e| e.to_string()).and_then(|(len, sent)| {
            check_finding_size(len).and_then(|()| validate_finding(&f)).map(|()| sent).map_err(|e| e.to_string())
        });
        match (verdict, f) {
            (Ok(sent), Value::Object(doc)) => {
                accepted.push(IncomingFinding { doc, sent, product_names: None });
                positions.push(i);
            }
            (Err(message), _) => outcomes[i] = Some(failed(metrics, message)),
            (Ok(_), _) => outcomes[i] = Some(failed(metrics, "Finding must be a JSON object".into())),
        }
    }
    if !accepted.is_empty() {
        let report =
            store.import(ImportBatch { region: region.to_owned(), now: now_micros(), findings: accepted }).await?;
        for (i, status) in positions.into_iter().zip(report.statuses) {
            if let (ImportStatus::Failed { message, .. }, Some(m)) = (&status, metrics) {
                m.rejected(rejection_reason(message));
            }
            outcomes[i] = Some(status);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| ImportStatus::Failed { code: "InternalError".into(), message: "not imported".into() })
        })
        .collect())
}

/// A finding as a request carried it: its document, and the request's own bytes of it when the
/// caller has them (BatchImportFindings), which spares serialising it again.
#[derive(Debug, Clone)]
pub struct SentFinding {
    pub doc: Value,
    pub raw: Option<Bytes>,
}

impl From<Value> for SentFinding {
    fn from(doc: Value) -> Self {
        SentFinding { doc, raw: None }
    }
}

/// The size of `doc` as compact JSON, for the size limit, given a client's JSON text of it. That
/// text may hold whitespace and other spellings, and serialising never grows a JSON text more
/// than fivefold (the most is a number: `1e15` is written `1000000000000000.0`), so the document
/// itself is measured only when its text is long enough for that to matter.
fn compact_len(doc: &Value, text: &[u8]) -> usize {
    if text.len().saturating_mul(5) <= MAX_FINDING_BYTES { text.len() } else { json_len(doc) }
}

fn failed(metrics: Option<&Metrics>, message: String) -> FindingOutcome {
    if let Some(m) = metrics {
        m.rejected(rejection_reason(&message));
    }
    ImportStatus::Failed { code: "InvalidInput".into(), message }
}

/// The Id of a finding as sent, for failure reports.
pub fn finding_id(f: &Value) -> String {
    f.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_clients_text_is_measured_as_compact_json() {
        // Whitespace does not count: a text over the limit whose document is under it passes.
        let doc = json!({"Description": "x".repeat(100_000)});
        let spaced = format!("{{\"Description\" :{}\"{}\"}}", " ".repeat(200_000), "x".repeat(100_000));
        assert!(spaced.len() > MAX_FINDING_BYTES);
        assert_eq!(compact_len(&doc, spaced.as_bytes()), json_len(&doc));
        assert!(check_finding_size(compact_len(&doc, spaced.as_bytes())).is_ok());
        // A short text that grows when written compactly is measured as it grows.
        let numbers: Vec<f64> = vec![1e15; 16_000];
        let short = format!("[{}]", vec!["1e15"; 16_000].join(","));
        assert!(short.len() < MAX_FINDING_BYTES && json_len(&numbers) > MAX_FINDING_BYTES);
        assert!(check_finding_size(compact_len(&json!(numbers), short.as_bytes())).is_err());
        // A small text is under the limit however it is written.
        assert_eq!(compact_len(&json!({"Id": "a"}), br#"{ "Id" : "a" }"#), 14);
    }
}
