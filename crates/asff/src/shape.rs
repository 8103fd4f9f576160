//! The types of the generated model table (`model.rs`) and the lookups over it. Public through
//! [`crate::model`].

use std::cmp::Ordering;

use crate::model::{MEMBERS, SHAPES};

/// The index of a shape in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShapeId(pub u16);

impl ShapeId {
    /// The shape this id names.
    pub fn shape(self) -> &'static Shape {
        shape_by_id(self)
    }

    /// The position in [`shapes`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// What a shape is, as the model's `type` says (structures split into plain structures, unions
/// and documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShapeKind {
    /// A JSON object with the members listed in [`Shape::members`].
    Structure,
    /// A structure of which exactly one member is set.
    Union,
    /// Any JSON value (`"document": true`).
    Document,
    List,
    Map,
    String,
    Integer,
    Long,
    Double,
    Float,
    Boolean,
    Timestamp,
    Blob,
}

/// No member flag.
pub const NONE: u8 = 0;
/// The member is in its structure's `required` list.
pub const REQUIRED: u8 = 1;
/// The member is a string whose documentation says it holds an RFC 3339 timestamp.
pub const TIMESTAMP: u8 = 2;

/// A member of a structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub name: &'static str,
    pub target: ShapeId,
    /// [`REQUIRED`] | [`TIMESTAMP`].
    pub flags: u8,
}

impl Member {
    pub const fn new(name: &'static str, target: ShapeId, flags: u8) -> Self {
        Member { name, target, flags }
    }

    pub fn required(&self) -> bool {
        self.flags & REQUIRED != 0
    }

    /// Whether the documentation says the (string) value is an RFC 3339 timestamp.
    pub fn timestamp(&self) -> bool {
        self.flags & TIMESTAMP != 0
    }

    /// The member's shape.
    pub fn shape(&self) -> &'static Shape {
        shape_by_id(self.target)
    }
}

/// One shape of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub name: &'static str,
    pub kind: ShapeKind,
    first_member: u16,
    member_count: u16,
    /// List member, or map key.
    element: ShapeId,
    /// Map value.
    value: ShapeId,
    /// The `enum` values of a string shape.
    pub enum_values: &'static [&'static str],
    /// `min`: length of a string, items of a list, entries of a map, value of a number.
    pub min: Option<i64>,
    /// `max`, as `min`.
    pub max: Option<i64>,
    /// The `pattern` of a string shape (ECMAScript syntax, as written in the model).
    pub pattern: Option<&'static str>,
}

impl Shape {
    const fn base(name: &'static str, kind: ShapeKind) -> Self {
        Shape {
            name,
            kind,
            first_member: 0,
            member_count: 0,
            element: ShapeId(0),
            value: ShapeId(0),
            enum_values: &[],
            min: None,
            max: None,
            pattern: None,
        }
    }

    pub const fn structure(name: &'static str, first_member: u16, member_count: u16) -> Self {
        Shape { first_member, member_count, ..Self::base(name, ShapeKind::Structure) }
    }

    pub const fn union(name: &'static str, first_member: u16, member_count: u16) -> Self {
        Shape { first_member, member_count, ..Self::base(name, ShapeKind::Union) }
    }

    pub const fn document(name: &'static str) -> Self {
        Self::base(name, ShapeKind::Document)
    }

    pub const fn list(name: &'static str, member: ShapeId, min: Option<i64>, max: Option<i64>) -> Self {
        Shape { element: member, min, max, ..Self::base(name, ShapeKind::List) }
    }

    pub const fn map(name: &'static str, key: ShapeId, value: ShapeId, min: Option<i64>, max: Option<i64>) -> Self {
        Shape { element: key, value, min, max, ..Self::base(name, ShapeKind::Map) }
    }

    pub const fn string(
        name: &'static str,
        enum_values: &'static [&'static str],
        min: Option<i64>,
        max: Option<i64>,
        pattern: Option<&'static str>,
    ) -> Self {
        Shape { enum_values, min, max, pattern, ..Self::base(name, ShapeKind::String) }
    }

    pub const fn scalar(name: &'static str, kind: ShapeKind, min: Option<i64>, max: Option<i64>) -> Self {
        Shape { min, max, ..Self::base(name, kind) }
    }

    /// This shape's id.
    pub fn id(&self) -> ShapeId {
        let index = SHAPES.binary_search_by(|s| s.name.cmp(self.name)).unwrap_or(0);
        ShapeId(u16::try_from(index).unwrap_or(0))
    }

    /// The position in [`members()`] of this structure's first member.
    pub(crate) fn member_base(&self) -> usize {
        usize::from(self.first_member)
    }

    /// The members of a structure or union, sorted by name (bytewise); empty for other kinds.
    pub fn members(&self) -> &'static [Member] {
        let start = usize::from(self.first_member);
        MEMBERS.get(start..start + usize::from(self.member_count)).unwrap_or(&[])
    }

    /// The member called `name`, by binary search.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.find_member(name).map(|(_, m)| m)
    }

    /// The member called `name` with its position in [`members()`] (the table of all members), a
    /// dense key for per-member side tables.
    pub fn find_member(&self, name: &str) -> Option<(usize, &'static Member)> {
        let members = self.members();
        let i = members.binary_search_by(|m| cmp_bytes(m.name, name)).ok()?;
        Some((usize::from(self.first_member) + i, &members[i]))
    }

    /// [`Shape::find_member`] for a caller that looks up several names, usually in sorted order
    /// (serde_json maps iterate by key): `cursor` (start at 0) remembers where the last one was
    /// found, and the next name is first sought in the few members after it.
    pub(crate) fn find_member_from(&self, name: &str, cursor: &mut usize) -> Option<(usize, &'static Member)> {
        let members = self.members();
        let mut i = *cursor;
        let end = members.len().min(i + 8);
        while i < end {
            match cmp_bytes(members[i].name, name) {
                Ordering::Less => i += 1,
                Ordering::Equal => {
                    *cursor = i + 1;
                    return Some((usize::from(self.first_member) + i, &members[i]));
                }
                Ordering::Greater => break,
            }
        }
        let i = members.binary_search_by(|m| cmp_bytes(m.name, name)).ok()?;
        *cursor = i + 1;
        Some((usize::from(self.first_member) + i, &members[i]))
    }

    /// The member of a list.
    pub fn list_member(&self) -> Option<ShapeId> {
        (self.kind == ShapeKind::List).then_some(self.element)
    }

    /// The key and value shapes of a map.
    pub fn map_key_value(&self) -> Option<(ShapeId, ShapeId)> {
        (self.kind == ShapeKind::Map).then_some((self.element, self.value))
    }

    /// Whether `value` is one of the enum values (always true for a shape without enum).
    pub fn allows(&self, value: &str) -> bool {
        self.enum_values.is_empty() || self.enum_values.contains(&value)
    }
}

/// The shape called `name`, by binary search.
pub fn shape(name: &str) -> Option<&'static Shape> {
    SHAPES.binary_search_by(|s| cmp_bytes(s.name, name)).ok().map(|i| &SHAPES[i])
}

/// `a.cmp(b)` for short names, inline rather than through `memcmp`.
#[inline]
fn cmp_bytes(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The shape with id `id`. Ids come from the table, so this never fails for them; an id made up by
/// hand that is out of range yields the first shape.
pub fn shape_by_id(id: ShapeId) -> &'static Shape {
    SHAPES.get(id.index()).unwrap_or(&SHAPES[0])
}

/// All shapes, sorted by name.
pub fn shapes() -> &'static [Shape] {
    &SHAPES
}

/// All structure members, grouped by structure (see [`Shape::find_member`]).
pub fn members() -> &'static [Member] {
    &MEMBERS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SHAPE_COUNT, TIMESTAMP_MEMBER_COUNT};

    fn get(name: &str) -> &'static Shape {
        shape(name).unwrap_or_else(|| panic!("{name} is in the table"))
    }

    #[test]
    fn the_finding_shapes_round_trip() {
        let f = get("AwsSecurityFinding");
        assert_eq!(f.kind, ShapeKind::Structure);
        assert_eq!(f.members().len(), 45);
        let required: Vec<&str> = f.members().iter().filter(|m| m.required()).map(|m| m.name).collect();
        assert_eq!(
            required,
            [
                "AwsAccountId",
                "CreatedAt",
                "Description",
                "GeneratorId",
                "Id",
                "ProductArn",
                "Resources",
                "SchemaVersion",
                "Title",
                "UpdatedAt"
            ]
        );
        assert_eq!(get("AwsSecurityFindingFilters").members().len(), 107);
        assert_eq!(get("ResourceDetails").members().len(), 102);
        assert_eq!(get("AutomationRulesFindingFilters").members().len(), 41);
        let title = f.member("Title").expect("Title");
        assert_eq!(title.shape().name, "NonEmptyString");
        assert_eq!(title.shape().pattern, Some(".*\\S.*"));
        assert!(!title.timestamp());
        assert!(f.member("CreatedAt").expect("CreatedAt").timestamp());
        assert!(f.member("title").is_none());
        assert_eq!(f.member("Resources").map(|m| m.shape().name), Some("ResourceList"));
    }

    #[test]
    fn kinds_and_facts() {
        assert_eq!(get("SeverityLabel").enum_values, ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]);
        assert!(get("SeverityLabel").allows("LOW") && !get("SeverityLabel").allows("low"));
        assert_eq!(get("TypeList").list_member().map(|id| id.shape().name), Some("NonEmptyString"));
        let (k, v) = get("FieldMap").map_key_value().expect("map");
        assert_eq!((k.shape().name, v.shape().name), ("NonEmptyString", "NonEmptyString"));
        assert_eq!(get("TagMap").min, Some(1));
        assert_eq!(get("TagMap").max, Some(50));
        assert_eq!(
            (get("MaxResults").kind, get("MaxResults").min, get("MaxResults").max),
            (ShapeKind::Integer, Some(1), Some(100))
        );
        assert_eq!(get("BatchImportFindingsRequestFindingList").max, Some(100));
        assert_eq!(get("Double").kind, ShapeKind::Double);
        assert_eq!(get("Long").kind, ShapeKind::Long);
        assert_eq!(get("Boolean").kind, ShapeKind::Boolean);
        assert_eq!(get("Timestamp").kind, ShapeKind::Timestamp);
        assert_eq!(get("AzureResourceDetails").kind, ShapeKind::Document);
        assert_eq!(get("ParameterValue").kind, ShapeKind::Union);
        assert_eq!(get("TypeList").list_member().map(|id| id.shape().kind), Some(ShapeKind::String));
        assert_eq!(get("Severity").list_member(), None);
        // V2-only shapes are not in the table.
        assert!(shape("GetFindingsV2Request").is_none());
        assert!(shape("OcsfFinding").is_none());
    }

    #[test]
    fn table_is_sorted_and_ids_round_trip() {
        assert_eq!(shapes().len(), SHAPE_COUNT);
        assert!(shapes().windows(2).all(|w| w[0].name < w[1].name));
        for s in shapes() {
            assert_eq!(s.id().shape(), s);
            assert!(s.members().windows(2).all(|w| w[0].name < w[1].name), "{}", s.name);
            let mut cursor = 0;
            for m in s.members() {
                assert_eq!(s.member(m.name), Some(m));
                assert_eq!(s.find_member_from(m.name, &mut cursor).map(|(_, m)| m), Some(m));
                let (gi, found) = s.find_member(m.name).expect("member");
                assert_eq!(&members()[gi], found);
            }
        }
        assert_eq!(members().len(), shapes().iter().map(|s| s.members().len()).sum::<usize>());
    }

    #[test]
    fn timestamp_flags_sit_on_non_empty_strings() {
        let flagged: Vec<&Member> = members().iter().filter(|m| m.timestamp()).collect();
        assert_eq!(flagged.len(), TIMESTAMP_MEMBER_COUNT);
        assert_eq!(TIMESTAMP_MEMBER_COUNT, 75);
        assert!(flagged.iter().all(|m| m.shape().name == "NonEmptyString"));
        for (s, m) in [
            ("AwsSecurityFinding", "FirstObservedAt"),
            ("AwsSecurityFinding", "ProcessedAt"),
            ("Note", "UpdatedAt"),
            ("ProcessDetails", "LaunchedAt"),
            ("AwsEc2InstanceDetails", "LaunchedAt"),
            ("DateFilter", "Start"),
        ] {
            assert!(get(s).member(m).is_some_and(Member::timestamp), "{s}.{m}");
        }
        // Dates the documentation does not tie to the Timestamps section.
        for (s, m) in [("Vulnerability", "LastKnownExploitAt"), ("AwsEcsTaskDetails", "CreatedAt")] {
            assert!(get(s).member(m).is_some_and(|m| !m.timestamp()), "{s}.{m}");
        }
    }
}
