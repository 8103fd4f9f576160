//! A stored finding: the document that GetFindings returns, plus what the rules need to remember
//! about it that the document does not say (which shared fields the customer has changed).

use findinghub_asff::timestamp::{Micros, parse_timestamp};
use serde_json::{Map, Value};

/// The identity of a finding inside the hub: (ProductArn, Id) within an account and a Region.
/// Partner ProductArns are shared by every customer, hence the account and Region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub account_id: String,
    pub region: String,
    pub product_arn: String,
    pub id: String,
}

impl FindingKey {
    /// A stable 64-bit hash of (ProductArn, Id): the index that stores use to find a finding
    /// (BatchUpdateFindings names findings by these two only), and the tie-breaker of every sort
    /// order before the sequence number, so that pages come out alike on every backend.
    pub fn hash64(&self) -> i64 {
        identifier_hash(&self.product_arn, &self.id)
    }

    /// The key of a (validated) finding document imported into `region`.
    pub fn of(doc: &Map<String, Value>, region: &str) -> Option<FindingKey> {
        Some(FindingKey {
            account_id: doc.get("AwsAccountId")?.as_str()?.to_owned(),
            region: region.to_owned(),
            product_arn: doc.get("ProductArn")?.as_str()?.to_owned(),
            id: doc.get("Id")?.as_str()?.to_owned(),
        })
    }
}

/// See [`FindingKey::hash64`].
pub fn identifier_hash(product_arn: &str, id: &str) -> i64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(product_arn.as_bytes());
    h.update(&[0]);
    h.update(id.as_bytes());
    h.digest() as i64
}

/// The identifier that BatchUpdateFindings and GetFindingHistory use: {Id, ProductArn}.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingIdentifier {
    pub id: String,
    pub product_arn: String,
}

impl FindingIdentifier {
    pub fn hash64(&self) -> i64 {
        identifier_hash(&self.product_arn, &self.id)
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({"Id": self.id, "ProductArn": self.product_arn})
    }
}

/// The five fields that a provider writes under FindingProviderFields and a customer writes at the
/// top level through BatchUpdateFindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedField {
    Confidence,
    Criticality,
    RelatedFindings,
    Severity,
    Types,
}

impl SharedField {
    pub const ALL: [SharedField; 5] = [
        SharedField::Confidence,
        SharedField::Criticality,
        SharedField::RelatedFindings,
        SharedField::Severity,
        SharedField::Types,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SharedField::Confidence => "Confidence",
            SharedField::Criticality => "Criticality",
            SharedField::RelatedFindings => "RelatedFindings",
            SharedField::Severity => "Severity",
            SharedField::Types => "Types",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Which shared fields a customer has changed with BatchUpdateFindings: from then on the provider's
/// imports update only FindingProviderFields for them, never the top-level copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerTouched(u8);

impl CustomerTouched {
    pub fn from_bits(bits: i64) -> Self {
        CustomerTouched((bits & 0x1f) as u8)
    }
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }
    pub fn contains(self, f: SharedField) -> bool {
        self.0 & f.bit() != 0
    }
    pub fn insert(&mut self, f: SharedField) {
        self.0 |= f.bit();
    }
}

/// A finding as a store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFinding {
    pub key: FindingKey,
    /// The document exactly as GetFindings returns it.
    pub doc: Map<String, Value>,
    pub touched: CustomerTouched,
}

impl StoredFinding {
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.doc.get(name).and_then(Value::as_str)
    }

    pub fn updated_at(&self) -> Option<Micros> {
        self.str_field("UpdatedAt").and_then(parse_timestamp)
    }

    pub fn identifier(&self) -> FindingIdentifier {
        FindingIdentifier { id: self.key.id.clone(), product_arn: self.key.product_arn.clone() }
    }

    /// The size of the document as JSON, for the 240 KB limit.
    pub fn serialized_len(&self) -> usize {
        findinghub_asff::json_len(&self.doc)
    }
}

/// Reads a nested string such as `Workflow.Status`.
pub fn nested_str<'a>(doc: &'a Map<String, Value>, outer: &str, inner: &str) -> Option<&'a str> {
    doc.get(outer)?.get(inner)?.as_str()
}
