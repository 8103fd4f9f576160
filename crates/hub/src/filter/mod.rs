//! The finding filter engine: `AwsSecurityFindingFilters` (and `AutomationRulesFindingFilters`)
//! parsed into an introspectable [`Filters`], evaluated against ASFF finding documents, plus
//! `SortCriteria`.
//!
//! Storage backends compile [`Filters`] to their own queries and index the values that
//! [`values_at`] extracts for each of the [`FILTER_FIELDS`]. [`Filters::matches`] is the
//! reference: a backend must select exactly the findings for which it returns `true`.
//!
//! # Semantics
//!
//! Statements marked *(ours)* are choices this hub makes where AWS documents nothing; the rest
//! restates the model's documentation.
//!
//! **Fields.** Each filter field reads the values at one ASFF path ([`FilterField::path`]).
//! Paths through lists (`Resources[]`, `Types[]`, `Malware[]`, …) reach every element; a finding
//! with no value at the path (member absent or `null`) has no values for the field.
//!
//! **Combining.** Conditions on different fields are ANDed. The filters of one field combine as
//! follows.
//!
//! **StringFilter.** The positive comparisons EQUALS (equality), PREFIX (`starts_with`) and
//! CONTAINS (substring) are ORed; the negative ones NOT_EQUALS, PREFIX_NOT_EQUALS and
//! NOT_CONTAINS are ANDed and applied after the positive ones. Comparison is case-sensitive and
//! byte-wise (no Unicode normalization). For a finding with values `V` at the path:
//!
//! > match ⇔ (no positive filter ∨ ∃ v∈V, ∃ positive p: p(v)) ∧ ¬∃ v∈V, ∃ negative n: n⁺(v)
//!
//! where `n⁺` is the positive form of `n`. Hence, on list-valued fields, `NOT_EQUALS x` excludes
//! a finding if ANY element equals `x` *(ours: AWS says "any element matches" only implicitly)*;
//! a finding without the attribute fails every positive filter and passes every negative one
//! *(ours)*. Values at the path that are not JSON strings are ignored *(ours)*. Rejected
//! mixes on one field: CONTAINS with NOT_CONTAINS; EQUALS with NOT_EQUALS or PREFIX_NOT_EQUALS;
//! CONTAINS with anything but CONTAINS; NOT_CONTAINS with anything but NOT_CONTAINS.
//! CONTAINS_WORD is rejected (V2 APIs only). CONTAINS/NOT_CONTAINS are accepted in every filter
//! structure, not only automation rules *(ours; the model is inconsistent about it)*.
//!
//! **MapFilter** (ProductFields, UserDefinedFields, ResourceTags, ResourceDetailsOther). `{Key,
//! Value, Comparison}` with EQUALS, NOT_EQUALS, CONTAINS, NOT_CONTAINS and the same combining
//! and mixing rules as StringFilter, checked per field (not per key) as the model words it. The
//! values tested are, over every map at the path (one per resource for ResourceTags), the string
//! entry under `Key`. Filters with different keys are combined like any others: positives ORed,
//! negatives ANDed *(ours)*. A finding without the key passes negative filters *(ours)*. There
//! is no "key exists" test; `Key`, `Value` and `Comparison` are all required *(ours)*.
//!
//! **NumberFilter** `{Eq, Gt, Gte, Lt, Lte}`: the bounds of one filter are ANDed, filters are
//! ORed. At least one bound is required *(ours)*. Only JSON numbers in the finding match; numeric
//! strings never do *(ours: every numeric filter field is an Integer or Double in the model, so
//! a valid finding holds numbers)*. Compared as `f64`.
//!
//! **DateFilter** `{Start, End, DateRange}`, resolved against `now` when parsed into an
//! absolute, inclusive [`DateInterval`]; filters are ORed. `Start`/`End` must parse with
//! `parse_timestamp`. `DateRange {Value, Unit, Comparison}`: `WITHIN n DAYS` (the default) means
//! `t ≥ now − n days`, with no upper bound, so future timestamps match *(ours)*; `OLDER_THAN n
//! DAYS` means `t < now − n days`. `Value` is a non-negative 32-bit integer *(ours)*; `Unit` may
//! be omitted and then is DAYS *(ours)*. A filter with both `Start`/`End` and `DateRange` applies
//! both (the intersection) *(ours)*. A filter with none of the three is rejected *(ours)*;
//! `Start > End` is accepted and matches nothing *(ours)*. Values in the finding that do not
//! parse as timestamps never match.
//!
//! **IpFilter** `{Cidr}`: IPv4 or IPv6 CIDR; a bare address means `/32` or `/128`; host bits
//! are cleared (`10.1.2.3/8` = `10.0.0.0/8`) *(ours)*. Filters are ORed. A finding value matches
//! when it is a plain address (no prefix, no zone) of the field's family — the `…IpV4…` fields
//! only take IPv4 values, the `…IpV6…` fields only IPv6 — inside the block. A CIDR of the other
//! family is accepted but never matches *(ours)*; IPv4-mapped IPv6 addresses are IPv6 *(ours)*.
//!
//! **BooleanFilter** (Sample) `{Value}`: ORed. A finding without the attribute counts as
//! `false` *(ours: `Sample` is only set on sample findings)*.
//!
//! **KeywordFilter** (deprecated, undocumented) `{Value}`: ORed; matches when any string leaf
//! anywhere in the finding equals the value, case-sensitively *(ours)*.
//!
//! **Request limits.** `AwsSecurityFindingFilters`: at most 10 fields with a non-empty list and
//! at most 20 filters per field; empty lists and `null` are ignored *(ours)*.
//! `AutomationRulesFindingFilters`: its 41 fields only, 20 filters per field (100 for
//! AwsAccountId, GeneratorId, Title, ResourceId), no limit on the number of fields, empty lists
//! rejected. Unknown field names, unknown members inside a filter structure *(ours)* and JSON of
//! the wrong type are rejected. String operands must contain a non-white-space character (the
//! model's `NonEmptyString` pattern).
//!
//! **Sorting.** See [`parse_sort`] and [`sort_value`]: `SortOrder` defaults to `asc` *(ours)*;
//! map, IP and keyword fields are not sortable *(ours)*; the key is the first value at the path;
//! missing values sort first ascending and last descending *(ours)*; SeverityLabel sorts as text
//! (alphabetically: CRITICAL, HIGH, INFORMATIONAL, LOW, MEDIUM), not by rank *(ours)*.

mod cidr;
mod condition;
mod eval;
mod fields;
mod parse;
mod path;
mod sort;

pub use cidr::Cidr;
pub use condition::{Condition, DateInterval, FieldCondition, Filters, MapTest, NumberRange, StringOp, StringTest};
pub use fields::{AUTOMATION_RULES_FIELDS, FILTER_FIELDS, FieldKind, FilterField, FilterSet, IpFamily, field};
pub use parse::{FilterError, parse_filters, parse_filters_for};
pub use path::{values_at, values_in};
pub use sort::{SortCriterion, SortValue, compare_findings, parse_sort, sort_value};
