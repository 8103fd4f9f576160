//! What BatchImportFindings does to one finding: create it, update it, or ignore it as stale; merge
//! the provider's fields with the customer's; fill in the service's fields; reset the workflow.
//!
//! The rules (research note `securityhub-api.md` §6.1–6.3):
//! - the key is (ProductArn, Id) within an account and a Region;
//! - an `UpdatedAt` equal to or older than the stored one is ignored (and counted as a success);
//! - an accepted update replaces the provider's fields and keeps the customer's: `Note`,
//!   `UserDefinedFields`, `VerificationState` and `Workflow` are taken from the provider only when
//!   the finding is created;
//! - the five shared fields follow the FindingProviderFields rules, guarded by the
//!   "changed by the customer" flags;
//! - `Workflow.Status` NOTIFIED or RESOLVED goes back to NEW when RecordState goes ARCHIVED→ACTIVE
//!   or Compliance.Status goes from PASSED to FAILED, WARNING or NOT_AVAILABLE; SUPPRESSED never.

use crate::finding::{FindingKey, SharedField, StoredFinding, nested_str};
use crate::history::{HistoryEntry, UpdateSourceType, diff};
use crate::products::{ProductArn, ProductNames, builtin_names};
use findinghub_asff::severity::{label_from_normalized, normalized_from_label};
use findinghub_asff::timestamp::{Micros, format_timestamp, parse_timestamp};
use serde_json::{Map, Value, json};

/// What the service knows when it imports a finding.
#[derive(Debug, Clone)]
pub struct ImportContext<'a> {
    /// The Region of the hub that receives the finding.
    pub region: &'a str,
    /// The time of the import (ProcessedAt).
    pub now: Micros,
    /// The product's names from the product catalog, when the caller resolved them; otherwise
    /// the built-in names are used.
    pub product_names: Option<&'a ProductNames>,
}

/// The result of importing one finding.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportOutcome {
    Created {
        finding: StoredFinding,
        history: HistoryEntry,
    },
    Updated {
        finding: StoredFinding,
        history: HistoryEntry,
    },
    /// The stored finding is as new as this one or newer: nothing changes, the import succeeds.
    Stale,
}

/// Why a (schema-valid) finding cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("Finding does not adhere to Amazon Finding Format. data.ProductArn is not a valid product ARN")]
    InvalidProductArn,
    #[error("Finding does not adhere to Amazon Finding Format. data.{0} should match format \"date-time\"")]
    InvalidTimestamp(&'static str),
    #[error("Finding does not adhere to Amazon Finding Format. data should have required property '{0}'")]
    Missing(&'static str),
}

/// Imports one finding that has passed validation, given the stored version if there is one.
pub fn apply_import(
    existing: Option<&StoredFinding>,
    incoming: Map<String, Value>,
    ctx: &ImportContext<'_>,
) -> Result<ImportOutcome, ImportError> {
    let mut doc = incoming;
    let product_arn = doc.get("ProductArn").and_then(Value::as_str).ok_or(ImportError::Missing("ProductArn"))?;
    let arn = ProductArn::parse(product_arn).ok_or(ImportError::InvalidProductArn)?;
    let is_controls = arn.is_security_hub_controls();
    let is_config = arn.company == "aws" && arn.product == "config";
    let account_owned = arn.is_account_owned();
    let names = ctx.product_names.cloned().unwrap_or_else(|| builtin_names(&arn));
    let updated_at = doc.get("UpdatedAt").and_then(Value::as_str).ok_or(ImportError::Missing("UpdatedAt"))?;
    let updated_at = parse_timestamp(updated_at).ok_or(ImportError::InvalidTimestamp("UpdatedAt"))?;
    let key = FindingKey::of(&doc, ctx.region).ok_or(ImportError::Missing("Id"))?;

    if let Some(old) = existing
        && old.updated_at().is_some_and(|stored| updated_at <= stored)
    {
        return Ok(ImportOutcome::Stale);
    }

    merge_shared_fields(&mut doc, existing);
    match existing {
        None => initialise_customer_fields(&mut doc),
        Some(old) => {
            for field in ["Note", "UserDefinedFields", "VerificationState", "Workflow", "WorkflowState"] {
                match old.doc.get(field) {
                    Some(v) => doc.insert(field.to_owned(), v.clone()),
                    None => doc.remove(field),
                };
            }
        }
    }
    if !doc.contains_key("RecordState") {
        doc.insert("RecordState".to_owned(), json!("ACTIVE"));
    }
    fill_service_fields(&mut doc, &names, account_owned, ctx);
    apply_workflow_rules(&mut doc, existing, is_controls, is_config);

    let touched = existing.map(|o| o.touched).unwrap_or_default();
    let finding = StoredFinding { key, doc, touched };
    let identity = product_arn_of(&finding);
    Ok(match existing {
        None => ImportOutcome::Created {
            history: HistoryEntry {
                update_time: ctx.now,
                finding_created: true,
                source: UpdateSourceType::BatchImportFindings,
                identity,
                updates: Vec::new(),
            },
            finding,
        },
        Some(old) => ImportOutcome::Updated {
            history: HistoryEntry {
                update_time: ctx.now,
                finding_created: false,
                source: UpdateSourceType::BatchImportFindings,
                identity,
                updates: diff(&old.doc, &finding.doc),
            },
            finding,
        },
    })
}

fn product_arn_of(f: &StoredFinding) -> String {
    f.key.product_arn.clone()
}

/// The FindingProviderFields rules for Confidence, Criticality, RelatedFindings, Severity, Types.
fn merge_shared_fields(doc: &mut Map<String, Value>, existing: Option<&StoredFinding>) {
    let mut fpf_in = match doc.remove("FindingProviderFields") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut fpf_out = Map::new();
    for field in SharedField::ALL {
        let name = field.name();
        let top_given = doc.remove(name).map(|v| normalise_top(field, v));
        let fpf_given = fpf_in.remove(name);
        let (fpf_new, top_candidate) = match (fpf_given, top_given) {
            // Rule 3, new finding: FindingProviderFields wins for both copies (the deprecated
            // Severity members that FindingProviderFields lacks stay as sent).
            (Some(p), Some(t)) if existing.is_none() => (Some(p.clone()), Some(overlay_fpf(field, t, p))),
            // Rule 3, existing finding: both values are used.
            (Some(p), Some(t)) => (Some(p), Some(t)),
            // Rule 1: the preferred form.
            (Some(p), None) => (Some(p.clone()), Some(top_from_fpf(field, p))),
            // Rule 2 and rule 4: the top-level value fills FindingProviderFields.
            (None, Some(t)) => (Some(fpf_from_top(field, &t)), Some(t)),
            (None, None) => (None, None),
        };
        let touched = existing.is_some_and(|e| e.touched.contains(field));
        let top_new = if touched { existing.and_then(|e| e.doc.get(name).cloned()) } else { top_candidate };
        if let Some(p) = fpf_new {
            fpf_out.insert(name.to_owned(), p);
        }
        if let Some(t) = top_new {
            doc.insert(name.to_owned(), t);
        }
    }
    if !fpf_out.is_empty() {
        doc.insert("FindingProviderFields".to_owned(), Value::Object(fpf_out));
    }
}

/// A top-level Severity gets both Label and Normalized, each derived from the other.
fn normalise_top(field: SharedField, v: Value) -> Value {
    if field != SharedField::Severity {
        return v;
    }
    let Value::Object(mut sev) = v else { return v };
    let label = sev.get("Label").and_then(Value::as_str).map(str::to_owned);
    let normalized = sev.get("Normalized").and_then(Value::as_i64);
    match (label, normalized) {
        (Some(l), None) => {
            if let Some(n) = normalized_from_label(&l) {
                sev.insert("Normalized".to_owned(), json!(n));
            }
        }
        (None, Some(n)) => {
            sev.insert("Label".to_owned(), json!(label_from_normalized(n)));
        }
        _ => {}
    }
    Value::Object(sev)
}

/// FindingProviderFields.Severity holds only Label and Original.
fn fpf_from_top(field: SharedField, top: &Value) -> Value {
    if field != SharedField::Severity {
        return top.clone();
    }
    let mut out = Map::new();
    for k in ["Label", "Original"] {
        if let Some(v) = top.get(k) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

fn top_from_fpf(field: SharedField, fpf: Value) -> Value {
    normalise_top(field, fpf)
}

/// The top-level value with FindingProviderFields' members laid over it. For Severity, a
/// Normalized that no longer agrees with the Label is derived again from the Label.
fn overlay_fpf(field: SharedField, top: Value, fpf: Value) -> Value {
    match (field, top, fpf) {
        (SharedField::Severity, Value::Object(mut t), Value::Object(p)) => {
            for (k, v) in p {
                t.insert(k, v);
            }
            let label = t.get("Label").and_then(Value::as_str).map(str::to_owned);
            let normalized = t.get("Normalized").and_then(Value::as_i64);
            if let Some(l) = label
                && normalized.is_none_or(|n| label_from_normalized(n) != l)
            {
                match normalized_from_label(&l) {
                    Some(n) => t.insert("Normalized".to_owned(), json!(n)),
                    None => t.remove("Normalized"),
                };
            }
            normalise_top(field, Value::Object(t))
        }
        (_, _, p) => top_from_fpf(field, p),
    }
}

fn initialise_customer_fields(doc: &mut Map<String, Value>) {
    let legacy = doc.get("WorkflowState").and_then(Value::as_str).map(str::to_owned);
    if nested_str(doc, "Workflow", "Status").is_none() {
        // The retired WorkflowState maps onto Workflow.Status as the ASFF documentation describes.
        let status = match legacy.as_deref() {
            Some("ASSIGNED" | "IN_PROGRESS") => "NOTIFIED",
            Some("DEFERRED") => "SUPPRESSED",
            Some("RESOLVED") => "RESOLVED",
            _ => "NEW",
        };
        doc.insert("Workflow".to_owned(), json!({ "Status": status }));
    }
    if legacy.is_none() {
        doc.insert("WorkflowState".to_owned(), json!("NEW"));
    }
}

fn fill_service_fields(
    doc: &mut Map<String, Value>,
    names: &ProductNames,
    account_owned: bool,
    ctx: &ImportContext<'_>,
) {
    doc.insert("Region".to_owned(), json!(ctx.region));
    doc.insert("ProcessedAt".to_owned(), json!(format_timestamp(ctx.now)));
    // Only a custom integration (a product of the account itself) may name itself.
    for (field, value) in [("ProductName", &names.product_name), ("CompanyName", &names.company_name)] {
        if !(account_owned && doc.get(field).and_then(Value::as_str).is_some()) {
            doc.insert(field.to_owned(), json!(value));
        }
    }
    let product_name = doc.get("ProductName").cloned().unwrap_or(Value::Null);
    let company_name = doc.get("CompanyName").cloned().unwrap_or(Value::Null);
    let finding_id = format!(
        "{}/{}",
        doc.get("ProductArn").and_then(Value::as_str).unwrap_or_default(),
        doc.get("Id").and_then(Value::as_str).unwrap_or_default()
    );
    let fields = doc.entry("ProductFields").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(pf) = fields {
        let prefix = findinghub_asff::limits::SERVICE_PRODUCT_FIELDS_PREFIX;
        pf.insert(format!("{prefix}FindingId"), json!(finding_id));
        pf.insert(format!("{prefix}ProductName"), product_name);
        pf.insert(format!("{prefix}CompanyName"), company_name);
    }
}

fn apply_workflow_rules(
    doc: &mut Map<String, Value>,
    existing: Option<&StoredFinding>,
    is_controls: bool,
    is_config: bool,
) {
    let status = nested_str(doc, "Workflow", "Status").unwrap_or("NEW").to_owned();
    let compliance = nested_str(doc, "Compliance", "Status").map(str::to_owned);
    let mut next = status.clone();
    if let Some(old) = existing {
        let unarchived = old.str_field("RecordState") == Some("ARCHIVED")
            && doc.get("RecordState").and_then(Value::as_str) == Some("ACTIVE");
        let regressed = nested_str(&old.doc, "Compliance", "Status") == Some("PASSED")
            && matches!(compliance.as_deref(), Some("FAILED" | "WARNING" | "NOT_AVAILABLE"));
        if (unarchived || regressed) && matches!(status.as_str(), "NOTIFIED" | "RESOLVED") {
            next = "NEW".to_owned();
        }
    }
    // Security Hub resolves its own control findings when the control passes.
    // AWS Config's findings are resolved when they are created PASSED or go to PASSED.
    let passed = compliance.as_deref() == Some("PASSED");
    let became_passed =
        passed && existing.is_none_or(|old| nested_str(&old.doc, "Compliance", "Status") != Some("PASSED"));
    if ((is_controls && passed) || (is_config && became_passed)) && next != "SUPPRESSED" {
        next = "RESOLVED".to_owned();
    }
    if next != status {
        set_workflow_status(doc, &next);
    }
}

/// Sets Workflow.Status (the retired WorkflowState is left as the provider sent it).
pub fn set_workflow_status(doc: &mut Map<String, Value>, status: &str) {
    let workflow = doc.entry("Workflow").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(w) = workflow {
        w.insert("Status".to_owned(), json!(status));
    } else {
        *workflow = json!({ "Status": status });
    }
}
