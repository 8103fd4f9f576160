//! Finding history: one record per creation and per change, enough to serve GetFindingHistory.

use findinghub_asff::timestamp::Micros;
use serde_json::{Map, Value};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateSourceType {
    BatchImportFindings,
    BatchUpdateFindings,
}

impl UpdateSourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateSourceType::BatchImportFindings => "BATCH_IMPORT_FINDINGS",
            UpdateSourceType::BatchUpdateFindings => "BATCH_UPDATE_FINDINGS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BATCH_IMPORT_FINDINGS" => Some(UpdateSourceType::BatchImportFindings),
            "BATCH_UPDATE_FINDINGS" => Some(UpdateSourceType::BatchUpdateFindings),
            _ => None,
        }
    }
}

/// One changed field: a dotted ASFF path and its old and new values as text (JSON for lists and
/// objects), absent when the field did not exist on that side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// One history record (without the finding it belongs to, which the store knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub update_time: Micros,
    pub finding_created: bool,
    pub source: UpdateSourceType,
    /// The provider's ProductArn for imports; the caller's identity (ARN) for updates.
    pub identity: String,
    pub updates: Vec<FieldChange>,
}

/// The changes between two versions of a finding, as dotted paths: objects are compared member by
/// member, everything else (strings, numbers, lists) as a whole. Sorted by path.
pub fn diff(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_objects("", old, new, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn diff_objects(prefix: &str, old: &Map<String, Value>, new: &Map<String, Value>, out: &mut Vec<FieldChange>) {
    for (k, ov) in old {
        let path = join(prefix, k);
        match new.get(k) {
            None => out.push(FieldChange { field: path, old_value: Some(text(ov)), new_value: None }),
            Some(nv) => diff_values(&path, ov, nv, out),
        }
    }
    for (k, nv) in new {
        if !old.contains_key(k) {
            out.push(FieldChange { field: join(prefix, k), old_value: None, new_value: Some(text(nv)) });
        }
    }
}

fn diff_values(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => diff_objects(path, o, n, out),
        _ if old == new => {}
        _ => out.push(FieldChange { field: path.to_owned(), old_value: Some(text(old)), new_value: Some(text(new)) }),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

/// A value as history shows it: strings as they are, everything else as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn nested_objects_diff_by_member_and_lists_as_a_whole() {
        let old = obj(json!({"Title": "a", "Workflow": {"Status": "NEW"}, "Types": ["x"], "Gone": 1}));
        let new = obj(json!({"Title": "a", "Workflow": {"Status": "NOTIFIED"}, "Types": ["x", "y"], "Added": true}));
        let d = diff(&old, &new);
        let fields: Vec<_> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["Added", "Gone", "Types", "Workflow.Status"]);
        assert_eq!(d[0].old_value, None);
        assert_eq!(d[0].new_value.as_deref(), Some("true"));
        assert_eq!(d[1].new_value, None);
        assert_eq!(d[2].new_value.as_deref(), Some(r#"["x","y"]"#));
        assert_eq!(d[3].old_value.as_deref(), Some("NEW"));
        assert_eq!(d[3].new_value.as_deref(), Some("NOTIFIED"));
        assert!(diff(&old, &old).is_empty());
    }
}
