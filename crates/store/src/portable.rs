//! Raw records of every table, for copying a store to another store of any backend
//! (`findinghub migrate`): [`RecordStore`] exports a table page by page in key order and imports
//! pages that any backend exported, each page in one transaction with the copy's progress, so that
//! an interrupted copy continues where it stopped.
//!
//! A record is a JSON object of the table's columns (bytes in base64, JSON columns as JSON). A
//! finding's record is its document, its sequence number, its "changed by the customer" flags and
//! its whole history (with the history ids): the hot columns and the attribute rows are derived
//! from the document again by the importing backend, so that the copy is also a re-index.
//! Sequence numbers, history ids, outbox sequence numbers and delivery ids are kept, so that page
//! tokens, history tokens and delivery ids stay valid on the copy.
//!
//! Not copied: `leases` (they lapse within seconds; the copy's instances take them afresh) and the
//! copy's own progress records.

use crate::StoreError;
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::hash::{Hash, Hasher};

/// The findings table: its records are special (see the module documentation).
pub const FINDINGS: &str = "findings";

/// How a column keeps its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Bool,
    /// Bytes: base64 in a record.
    Bytes,
    /// A JSON value (SQLite: its text).
    Json,
    /// A JSON value that SQLite keeps compressed (the outbox's envelopes).
    JsonBlob,
    /// An integer or NULL.
    OptInt,
    /// A string or NULL.
    OptText,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// The column's type on PostgreSQL (values are cast to it on the way in).
    pub pg_type: &'static str,
}

/// A table copied column by column.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The primary key: the order of the export and its cursor.
    pub key: &'static [&'static str],
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn col(name: &'static str, kind: Kind, pg_type: &'static str) -> Column {
    Column { name, kind, pg_type }
}

const TEXT: Kind = Kind::Text;
const INT: Kind = Kind::Int;

/// Every table that is copied column by column, in copy order (a table after those it refers
/// to). The findings come between the hub's state and the outbox.
pub static TABLES: &[Table] = &[
    Table {
        name: "hubs",
        columns: &[
            col("account_id", TEXT, "text"),
            col("region", TEXT, "text"),
            col("subscribed_at", INT, "bigint"),
            col("auto_enable_controls", Kind::Bool, "boolean"),
            col("control_finding_generator", TEXT, "text"),
        ],
        key: &["account_id", "region"],
    },
    Table {
        name: "access_keys",
        columns: &[
            col("access_key_id", TEXT, "text"),
            col("account_id", TEXT, "text"),
            col("admin", Kind::Bool, "boolean"),
            col("created_at", INT, "bigint"),
            col("sealed_secret", Kind::Bytes, "bytea"),
        ],
        key: &["access_key_id"],
    },
    Table {
        name: "api_keys",
        columns: &[
            col("key_id", TEXT, "text"),
            col("account_id", TEXT, "text"),
            col("admin", Kind::Bool, "boolean"),
            col("created_at", INT, "bigint"),
            col("secret_hash", Kind::Bytes, "bytea"),
        ],
        key: &["key_id"],
    },
    Table {
        name: "custom_products",
        columns: &[
            col("account_id", TEXT, "text"),
            col("product_id", TEXT, "text"),
            col("name", TEXT, "text"),
            col("company", TEXT, "text"),
            col("description", TEXT, "text"),
        ],
        key: &["account_id", "product_id"],
    },
    Table {
        name: "product_subscriptions",
        columns: &[col("account_id", TEXT, "text"), col("region", TEXT, "text"), col("product_arn", TEXT, "text")],
        key: &["account_id", "region", "product_arn"],
    },
    Table {
        name: "resource_tags",
        columns: &[col("arn", TEXT, "text"), col("key", TEXT, "text"), col("value", TEXT, "text")],
        key: &["arn", "key"],
    },
    Table {
        name: "action_targets",
        columns: &[
            col("account_id", TEXT, "text"),
            col("region", TEXT, "text"),
            col("id", TEXT, "text"),
            col("name", TEXT, "text"),
            col("description", TEXT, "text"),
            col("created_at", INT, "bigint"),
        ],
        key: &["account_id", "region", "id"],
    },
    Table {
        name: "insights",
        columns: &[
            col("account_id", TEXT, "text"),
            col("region", TEXT, "text"),
            col("id", TEXT, "text"),
            col("name", TEXT, "text"),
            col("filters", Kind::Json, "jsonb"),
            col("group_by", TEXT, "text"),
            col("created_at", INT, "bigint"),
        ],
        key: &["account_id", "region", "id"],
    },
    Table {
        name: "work_items",
        columns: &[
            col("id", TEXT, "text"),
            col("account_id", TEXT, "text"),
            col("region", TEXT, "text"),
            col("finding_id", TEXT, "text"),
            col("product_arn", TEXT, "text"),
            col("dedup_key", TEXT, "text"),
            col("status", TEXT, "text"),
            col("severity", INT, "smallint"),
            col("created_at", INT, "bigint"),
            col("updated_at", INT, "bigint"),
            col("item", Kind::Json, "jsonb"),
        ],
        key: &["id"],
    },
    Table {
        name: "delivery_targets",
        columns: &[
            col("name", TEXT, "text"),
            col("kind", TEXT, "text"),
            col("config", Kind::Json, "jsonb"),
            col("created_at", INT, "bigint"),
        ],
        key: &["name"],
    },
    Table {
        name: "delivery_rules",
        columns: &[
            col("name", TEXT, "text"),
            col("pattern", Kind::Json, "jsonb"),
            col("targets", Kind::Json, "jsonb"),
            col("enabled", Kind::Bool, "boolean"),
            col("created_at", INT, "bigint"),
        ],
        key: &["name"],
    },
    Table {
        name: "outbox_events",
        columns: &[
            col("seq", INT, "bigint"),
            col("event_id", TEXT, "text"),
            col("ordering_key", INT, "bigint"),
            col("created_at", INT, "bigint"),
            col("dispatched", Kind::Bool, "boolean"),
            col("envelope", Kind::JsonBlob, "json"),
        ],
        key: &["seq"],
    },
    Table {
        name: "deliveries",
        columns: &[
            col("id", INT, "bigint"),
            col("seq", INT, "bigint"),
            col("target", TEXT, "text"),
            col("rule", TEXT, "text"),
            col("ordering_key", INT, "bigint"),
            col("state", TEXT, "text"),
            col("attempts", INT, "integer"),
            col("created_at", INT, "bigint"),
            col("next_attempt_at", INT, "bigint"),
            col("claimed_until", INT, "bigint"),
            col("finished_at", Kind::OptInt, "bigint"),
            col("last_error", Kind::OptText, "text"),
        ],
        key: &["id"],
    },
    Table {
        // A batch target's (the lake's) cursor: copied with the deliveries it marks delivered.
        name: "target_cursors",
        columns: &[col("target", TEXT, "text"), col("up_to", INT, "bigint"), col("updated_at", INT, "bigint")],
        key: &["target"],
    },
];

/// The names of every copied table, in copy order.
pub fn table_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::with_capacity(TABLES.len() + 1);
    for t in TABLES {
        if t.name == "outbox_events" {
            names.push(FINDINGS);
        }
        names.push(t.name);
    }
    names
}

/// The column-by-column table of that name (`None` for [`FINDINGS`] and unknown names).
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

pub(crate) fn unknown_table(name: &str) -> StoreError {
    StoreError::Backend(format!("no table named {name} is copied"))
}

pub(crate) fn bad_record(table: &str, why: &str) -> StoreError {
    StoreError::Backend(format!("a record of {table} cannot be imported: {why}"))
}

/// A page of records in key order, and the cursor after its last record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordPage {
    pub records: Vec<Value>,
    /// `None` when the page is empty.
    pub cursor: Option<String>,
}

/// How far a copy into this store has come, per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyProgress {
    pub table: String,
    /// Where the copy comes from (a description that never holds a password).
    pub source: String,
    /// The source's cursor after the last record imported.
    pub cursor: Option<String>,
    /// Records imported so far.
    pub copied: u64,
    /// Every record of the table has been imported.
    pub done: bool,
}

/// Export and import of raw records (see the module documentation).
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Up to `limit` records of `table` after `after` (a cursor that this store returned), in key
    /// order.
    async fn export_records(&self, table: &str, after: Option<&str>, limit: usize) -> Result<RecordPage, StoreError>;

    /// Writes records that any backend exported, and `progress`, in one transaction. A record
    /// whose key the table holds already is left out. Returns how many records were written.
    async fn import_records(&self, table: &str, records: &[Value], progress: &CopyProgress) -> Result<u64, StoreError>;

    /// The progress records of copies into this store.
    async fn copy_progress(&self) -> Result<Vec<CopyProgress>, StoreError>;

    /// How many records a table holds (for [`FINDINGS`], findings; their history goes with them).
    async fn count_records(&self, table: &str) -> Result<u64, StoreError>;
}

/// The cursor after a record: its key values, as a JSON array.
pub fn cursor_of(table: &str, record: &Value) -> String {
    let key: Vec<Value> = match self::table(table) {
        Some(t) => t.key.iter().map(|k| record.get(*k).cloned().unwrap_or(Value::Null)).collect(),
        None => vec![record.get("seq").cloned().unwrap_or(Value::Null)],
    };
    Value::Array(key).to_string()
}

/// A cursor's key values.
pub fn parse_cursor(table: &str, cursor: &str, len: usize) -> Result<Vec<Value>, StoreError> {
    match serde_json::from_str::<Value>(cursor) {
        Ok(Value::Array(values)) if values.len() == len => Ok(values),
        _ => Err(StoreError::Backend(format!("not a cursor of {table}: {cursor}"))),
    }
}

/// A string member of a record.
pub(crate) fn text<'a>(table: &str, record: &'a Value, name: &str) -> Result<&'a str, StoreError> {
    record.get(name).and_then(Value::as_str).ok_or_else(|| bad_record(table, &format!("{name} is not a string")))
}

/// An integer member of a record.
pub(crate) fn int(table: &str, record: &Value, name: &str) -> Result<i64, StoreError> {
    record.get(name).and_then(Value::as_i64).ok_or_else(|| bad_record(table, &format!("{name} is not an integer")))
}

pub(crate) fn boolean(table: &str, record: &Value, name: &str) -> Result<bool, StoreError> {
    record.get(name).and_then(Value::as_bool).ok_or_else(|| bad_record(table, &format!("{name} is not a boolean")))
}

pub(crate) fn bytes(table: &str, record: &Value, name: &str) -> Result<Vec<u8>, StoreError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text(table, record, name)?)
        .map_err(|_| bad_record(table, &format!("{name} is not base64")))
}

pub(crate) fn bytes_value(b: &[u8]) -> Value {
    use base64::Engine as _;
    Value::String(base64::engine::general_purpose::STANDARD.encode(b))
}

/// A finding's record: what a backend keeps of one finding.
pub(crate) struct FindingRecord {
    pub seq: i64,
    pub touched: i64,
    pub doc: Map<String, Value>,
    pub history: Vec<HistoryRow>,
}

pub(crate) struct HistoryRow {
    pub id: i64,
    pub update_time: i64,
    pub created: bool,
    pub source: String,
    pub identity: String,
    /// The changes, as the backends keep them: `[{"UpdatedField", "OldValue", "NewValue"}]`.
    pub updates: Value,
}

impl FindingRecord {
    pub fn to_value(&self) -> Value {
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|h| {
                serde_json::json!({
                    "id": h.id, "update_time": h.update_time, "created": h.created,
                    "source": h.source, "identity": h.identity, "updates": h.updates,
                })
            })
            .collect();
        serde_json::json!({"seq": self.seq, "touched": self.touched, "doc": self.doc, "history": history})
    }

    pub fn parse(record: &Value) -> Result<FindingRecord, StoreError> {
        let t = FINDINGS;
        let doc = match record.get("doc") {
            Some(Value::Object(m)) => m.clone(),
            _ => return Err(bad_record(t, "doc is not an object")),
        };
        let history = match record.get("history") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|h| {
                    Ok(HistoryRow {
                        id: int(t, h, "id")?,
                        update_time: int(t, h, "update_time")?,
                        created: boolean(t, h, "created")?,
                        source: text(t, h, "source")?.to_owned(),
                        identity: text(t, h, "identity")?.to_owned(),
                        updates: h.get("updates").cloned().unwrap_or(Value::Array(Vec::new())),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?,
            _ => return Err(bad_record(t, "history is not an array")),
        };
        Ok(FindingRecord { seq: int(t, record, "seq")?, touched: int(t, record, "touched")?, doc, history })
    }

    /// The stored finding (its key from the document).
    pub fn stored(&self) -> Result<findinghub_hub::finding::StoredFinding, StoreError> {
        let region = self.doc.get("Region").and_then(Value::as_str).unwrap_or_default();
        let key = findinghub_hub::finding::FindingKey::of(&self.doc, region)
            .ok_or_else(|| bad_record(FINDINGS, "the document has no finding key"))?;
        Ok(findinghub_hub::finding::StoredFinding {
            key,
            doc: self.doc.clone(),
            touched: findinghub_hub::finding::CustomerTouched::from_bits(self.touched),
        })
    }
}

/// A hash of a record that does not depend on the order of object members (PostgreSQL's `jsonb`
/// orders them its own way): equal records hash equal on every backend.
pub fn record_hash(record: &Value) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    hash_value(record, &mut h);
    h.finish()
}

fn hash_value<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => {
            2u8.hash(h);
            match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => i.hash(h),
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).hash(h),
                (None, Some(f)) => f.to_bits().hash(h),
                (None, None) => n.to_string().hash(h),
            }
        }
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(a) => {
            (4u8, a.len()).hash(h);
            for x in a {
                hash_value(x, h);
            }
        }
        Value::Object(m) => {
            (5u8, m.len()).hash(h);
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                k.hash(h);
                if let Some(x) = m.get(k) {
                    hash_value(x, h);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [1.0, {"y": 2, "x": "s"}]}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"a": [1, {"x": "s", "y": 2}], "b": 1}"#).expect("json");
        assert_eq!(record_hash(&a), record_hash(&b));
        assert_ne!(record_hash(&a), record_hash(&json!({"a": [1, {"x": "s", "y": 3}], "b": 1})));
    }

    #[test]
    fn findings_come_between_the_state_and_the_outbox() {
        let names = table_names();
        let at = |n: &str| names.iter().position(|x| *x == n);
        assert!(at("hubs") < at(FINDINGS) && at(FINDINGS) < at("outbox_events"));
        assert!(at("outbox_events") < at("deliveries"));
        assert_eq!(cursor_of("resource_tags", &json!({"arn": "a", "key": "k", "value": "v"})), r#"["a","k"]"#);
        assert_eq!(cursor_of(FINDINGS, &json!({"seq": 7})), "[7]");
    }
}
