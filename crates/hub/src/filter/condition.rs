//! The parsed, introspectable form of a filter. Storage backends compile these types to their
//! query language; [`Filters::matches`](super::Filters::matches) is the reference evaluator.

use findinghub_asff::timestamp::Micros;

use super::cidr::Cidr;
use super::fields::FilterField;

/// A parsed `AwsSecurityFindingFilters` (or `AutomationRulesFindingFilters`): the conditions are
/// ANDed. No conditions matches every finding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    pub conditions: Vec<FieldCondition>,
}

impl Filters {
    /// Whether there is no condition (every finding matches).
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The condition on a field, if any (a parsed filter has at most one per field).
    pub fn condition(&self, name: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.field.name == name).map(|c| &c.condition)
    }
}

/// The condition on one field. Its variant always agrees with `field.kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCondition {
    pub field: &'static FilterField,
    pub condition: Condition,
}

/// The condition on one field, with the semantics spelled out (see the module documentation of
/// [`filter`](super) for the full statement).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `StringFilter`s. Matches when (`positive` is empty, or some string value at the path
    /// passes some positive test) and no string value at the path passes any test of `negative`.
    /// `negative` holds the positive forms of NOT_EQUALS (Equals), PREFIX_NOT_EQUALS (Prefix) and
    /// NOT_CONTAINS (Contains). `positive` and `negative` are not both empty.
    String { positive: Vec<StringTest>, negative: Vec<StringTest> },
    /// `MapFilter`s. As `String`, where the values tested are, for each map (JSON object) at the
    /// path, the string entry under the test's key.
    Map { positive: Vec<MapTest>, negative: Vec<MapTest> },
    /// `NumberFilter`s, ORed: matches when some JSON number at the path lies in some range.
    Number(Vec<NumberRange>),
    /// `DateFilter`s, ORed: matches when some timestamp at the path (parsed with
    /// `parse_timestamp`; unparseable values never match) lies in some interval.
    Date(Vec<DateInterval>),
    /// `IpFilter`s, ORed: matches when some value at the path parses as an address of the field's
    /// family ([`FilterField::ip_family`]) that lies in some block.
    Ip(Vec<Cidr>),
    /// `BooleanFilter`s, ORed: matches when some JSON boolean at the path equals some value. A
    /// field absent from the finding (no value at the path at all) counts as `false`.
    Bool(Vec<bool>),
    /// `KeywordFilter`s, ORed: matches when some string leaf anywhere in the finding equals some
    /// value (case-sensitive).
    Keyword(Vec<String>),
}

/// A positive string test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringOp {
    /// Byte-wise equality.
    Equals,
    /// `value.starts_with(test)`.
    Prefix,
    /// `value.contains(test)` (substring).
    Contains,
}

impl StringOp {
    /// Applies the test to a finding value (case-sensitive, byte-wise).
    pub fn test(self, value: &str, operand: &str) -> bool {
        match self {
            StringOp::Equals => value == operand,
            StringOp::Prefix => value.starts_with(operand),
            StringOp::Contains => value.contains(operand),
        }
    }
}

/// One string test: `op` applied with `value` as the operand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StringTest {
    pub op: StringOp,
    pub value: String,
}

/// One map test: the entry under `key` passes `op` with `value` as the operand. `op` is never
/// `Prefix` (MapFilter has no prefix comparisons).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapTest {
    pub key: String,
    pub op: StringOp,
    pub value: String,
}

/// One `NumberFilter`: the bounds that are present are ANDed. At least one is present.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NumberRange {
    pub eq: Option<f64>,
    pub gt: Option<f64>,
    pub gte: Option<f64>,
    pub lt: Option<f64>,
    pub lte: Option<f64>,
}

impl NumberRange {
    /// Whether `x` satisfies every bound present.
    pub fn contains(&self, x: f64) -> bool {
        self.eq.is_none_or(|b| x == b)
            && self.gt.is_none_or(|b| x > b)
            && self.gte.is_none_or(|b| x >= b)
            && self.lt.is_none_or(|b| x < b)
            && self.lte.is_none_or(|b| x <= b)
    }
}

/// One `DateFilter`, resolved to absolute instants: `start ≤ t ≤ end`, both inclusive, each
/// bound absent meaning unbounded. `start > end` is possible and matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DateInterval {
    pub start: Option<Micros>,
    pub end: Option<Micros>,
}

impl DateInterval {
    /// Whether `t` lies in the interval.
    pub fn contains(&self, t: Micros) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }
}
