//! The one import path: size and model validation, then the store's import rules. Used by
//! BatchImportFindings, `POST /events`, and the `import` and `ingest` commands, so that a finding
//! is accepted or refused for the same reasons whichever way it arrives.

use crate::metrics::{Metrics, rejection_reason};
use findinghub_asff::timestamp::now_micros;
use findinghub_asff::{check_finding_size, validate_finding};
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
    findings: Vec<Value>,
) -> Result<Vec<FindingOutcome>, StoreError> {
    let mut outcomes: Vec<Option<FindingOutcome>> = vec![None; findings.len()];
    let mut accepted = Vec::new();
    let mut positions = Vec::new();
    for (i, f) in findings.into_iter().enumerate() {
        let verdict = serde_json::to_vec(&f).map_err(|e| e.to_string()).and_then(|sent| {
            check_finding_size(sent.len()).and_then(|()| validate_finding(&f)).map(|()| sent).map_err(|e| e.to_string())
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
