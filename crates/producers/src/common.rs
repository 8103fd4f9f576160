//! What every producer shares: identity (product ARNs, partitions), severity, resource type
//! names, the ProductFields flattener, the description cut, lenient timestamps, and small readers
//! for native JSON.

use findinghub_asff::timestamp::{Micros, format_timestamp, parse_timestamp};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

pub use findinghub_asff::severity::{label_from_normalized, normalized_from_label};

pub use findinghub_hub::catalog::partition_of;

/// `arn:<partition>:securityhub:<region>::product/aws/<key>`, the ARN of an AWS integration.
pub fn aws_product_arn(region: &str, key: &str) -> String {
    format!("arn:{}:securityhub:{region}::product/aws/{key}", partition_of(region))
}

/// `{"Label": …, "Normalized": …}` for a label, with the Normalized value Security Hub derives
/// (INFORMATIONAL 0, LOW 1, MEDIUM 40, HIGH 70, CRITICAL 90).
pub fn severity_from_label(label: &str) -> Value {
    match normalized_from_label(label) {
        Some(n) => json!({ "Label": label, "Normalized": n }),
        None => json!({ "Label": label }),
    }
}

/// The ASFF resource type for a CloudFormation type: `AWS::S3::Bucket` → `AwsS3Bucket` when
/// ASFF has that type (a member of `ResourceDetails`, compared without case since ASFF writes
/// `AwsEc2Instance` for `AWS::EC2::Instance`), else `Other`.
pub fn resource_type_from_cfn(cfn_type: &str) -> &'static str {
    let candidate: String = cfn_type.split("::").collect();
    findinghub_asff::model::shape("ResourceDetails")
        .and_then(|s| s.members().iter().find(|m| m.name.eq_ignore_ascii_case(&candidate)))
        .map_or("Other", |m| m.name)
}

/// The suffix that a cut description ends with.
pub const TRUNCATED_MARKER: &str = "(truncated)";
/// ASFF's limit on Description.
pub const DESCRIPTION_LIMIT: usize = 1024;

/// A description of at most 1024 characters; a longer one is cut so that, with the literal
/// `(truncated)` at its end, it is exactly 1024 characters long.
pub fn truncate_description(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_LIMIT {
        return text.to_owned();
    }
    let keep = DESCRIPTION_LIMIT - TRUNCATED_MARKER.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(TRUNCATED_MARKER);
    out
}

/// Cuts a string to at most `max` characters (for fields whose limit has no marker).
pub fn truncate_chars(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Flattens native JSON into ProductFields: nested keys joined by `/` under `prefix`, array
/// items as `<key>.<index>_`, every value a string, and empty objects, empty arrays and nulls as
/// `""` (as GuardDuty's findings show). Values are cut to ProductFields' 2048 characters.
pub fn flatten_product_fields(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    flatten_into(&mut prefix.to_owned(), value, out);
}

/// [`flatten_product_fields`] with one buffer for the path, grown and cut back at each level
/// (a path string made at each level was a tenth of a GuardDuty conversion).
fn flatten_into(path: &mut String, value: &Value, out: &mut Map<String, Value>) {
    let len = path.len();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                path.push('/');
                path.push_str(key);
                flatten_into(path, item, out);
                path.truncate(len);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let _ = write!(path, ".{i}_");
                flatten_into(path, item, out);
                path.truncate(len);
            }
        }
        Value::Object(_) | Value::Array(_) | Value::Null => {
            out.insert(path.clone(), json!(""));
        }
        Value::String(s) => {
            out.insert(path.clone(), json!(truncate_chars(s, 2048)));
        }
        Value::Bool(b) => {
            out.insert(path.clone(), json!(b.to_string()));
        }
        Value::Number(n) => {
            out.insert(path.clone(), json!(n.to_string()));
        }
    }
}

/// Parses the timestamps that native events carry: RFC 3339 / ISO 8601 with or without a
/// fraction or an offset (`2019-01-01T00:00:00Z`, `2019-01-01T00:00:00.123+0000`, no zone =
/// UTC), RFC 1123 (`Wed, 15 Jan 2020 00:53:00 GMT`), Inspector's `Wed Sep 04 16:59:44.356 UTC
/// 2024`, and epoch seconds or milliseconds (numbers or digit strings).
pub fn parse_lenient_timestamp(value: &Value) -> Option<Micros> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) => epoch_to_micros(i),
            None => n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e11).map(|f| (f * 1e6) as Micros),
        },
        Value::String(s) => parse_lenient_str(s.trim()),
        _ => None,
    }
}

fn parse_lenient_str(s: &str) -> Option<Micros> {
    if let Some(m) = parse_timestamp(s) {
        return Some(m);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().and_then(epoch_to_micros);
    }
    if let Some(m) = parse_iso_variants(s) {
        return Some(m);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(micros_of(t));
    }
    parse_rfc1123_gmt(s).or_else(|| parse_unix_date(s))
}

/// Seconds below 10^11 (year 5138), else milliseconds; `None` past year 9999, which no
/// timestamp of ours can carry.
fn epoch_to_micros(n: i64) -> Option<Micros> {
    const MAX_MICROS: Micros = 253_402_300_799_999_999;
    let micros = if n.abs() < 100_000_000_000 { n.checked_mul(1_000_000)? } else { n.checked_mul(1_000)? };
    (0..=MAX_MICROS).contains(&micros).then_some(micros)
}

fn micros_of(t: OffsetDateTime) -> Micros {
    Micros::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(Micros::MAX)
}

/// ISO 8601 forms that RFC 3339 refuses: no zone (UTC), `+0000`, a space instead of `T`.
fn parse_iso_variants(s: &str) -> Option<Micros> {
    let s = s.replacen(' ', "T", 1);
    let (body, zone) = split_zone(&s);
    let zone = match zone {
        "" | "Z" | "z" => "Z".to_owned(),
        z if z.len() == 5 && z.is_ascii() => format!("{}:{}", &z[..3], &z[3..]),
        z => z.to_owned(),
    };
    let body = if body.len() == 16 { format!("{body}:00") } else { body.to_owned() };
    parse_timestamp(&format!("{body}{zone}"))
}

fn split_zone(s: &str) -> (&str, &str) {
    if let Some(stripped) = s.strip_suffix(['Z', 'z']) {
        return (stripped, "Z");
    }
    // An offset starts at the last '+' or '-' after the time part ("T").
    if let Some(t) = s.find('T')
        && let Some(pos) = s[t..].rfind(['+', '-'])
    {
        return (&s[..t + pos], &s[t + pos..]);
    }
    (s, "")
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn month_number(name: &str) -> Option<u32> {
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name)).and_then(|i| u32::try_from(i + 1).ok())
}

/// `Wed, 15 Jan 2020 00:53:00 GMT` (RFC 1123 with the GMT zone name).
fn parse_rfc1123_gmt(s: &str) -> Option<Micros> {
    let rest = s.split_once(", ").map_or(s, |(_, r)| r);
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else { return None };
    if !matches!(*zone, "GMT" | "UTC" | "Z") {
        return None;
    }
    let month = month_number(month)?;
    parse_timestamp(&format!("{year}-{month:02}-{:0>2}T{time}Z", day))
}

/// `Wed Sep 04 16:59:44.356 UTC 2024` (the date(1) form that Inspector's documentation shows).
fn parse_unix_date(s: &str) -> Option<Micros> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_weekday, month, day, time, zone, year] = parts.as_slice() else { return None };
    if !matches!(*zone, "GMT" | "UTC") {
        return None;
    }
    let month = month_number(month)?;
    parse_timestamp(&format!("{year}-{month:02}-{:0>2}T{time}Z", day))
}

/// A native timestamp in the form ASFF findings carry (RFC 3339, UTC, milliseconds).
pub fn asff_timestamp(value: &Value) -> Option<String> {
    parse_lenient_timestamp(value).map(format_timestamp)
}

/// Upper-case hex SHA-256 of a string.
pub fn sha256_upper_hex(input: &str) -> String {
    Sha256::digest(input.as_bytes()).iter().map(|b| format!("{b:02X}")).collect()
}

/// Lower-case hex SHA-256 of a string.
pub fn sha256_lower_hex(input: &str) -> String {
    Sha256::digest(input.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The value at a path of object keys, e.g. `at(event, &["detail", "newEvaluationResult"])`.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The string at a path of object keys.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// The fields that every converter sets on a new finding.
pub struct FindingBase<'a> {
    pub product_key: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub id: String,
    pub generator_id: String,
    pub types: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub severity_label: &'a str,
    pub title: String,
    pub description: String,
}

impl FindingBase<'_> {
    /// A finding document with the required fields, SchemaVersion, the severity and types
    /// mirrored in FindingProviderFields, and RecordState ACTIVE.
    pub fn into_finding(self) -> Map<String, Value> {
        let severity = severity_from_label(self.severity_label);
        let mut doc = Map::new();
        doc.insert("SchemaVersion".into(), json!("2018-10-08"));
        doc.insert("Id".into(), json!(self.id));
        doc.insert("ProductArn".into(), json!(aws_product_arn(self.region, self.product_key)));
        doc.insert("GeneratorId".into(), json!(self.generator_id));
        doc.insert("AwsAccountId".into(), json!(self.account));
        doc.insert("Region".into(), json!(self.region));
        doc.insert("Types".into(), json!(self.types));
        doc.insert("CreatedAt".into(), json!(self.created_at));
        doc.insert("UpdatedAt".into(), json!(self.updated_at));
        doc.insert("Severity".into(), severity.clone());
        doc.insert("Title".into(), json!(truncate_chars(&self.title, 256)));
        doc.insert("Description".into(), json!(truncate_description(&self.description)));
        doc.insert(
            "FindingProviderFields".into(),
            json!({ "Severity": { "Label": self.severity_label }, "Types": self.types }),
        );
        doc.insert("RecordState".into(), json!("ACTIVE"));
        doc
    }
}

/// Whether a string is an AWS account id (12 digits), as ASFF's AwsAccountId requires.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The converted finding when it is valid ASFF, else an error of `producer` that says why: the
/// last guard of every converter against input that passes its own checks but not ASFF's.
pub fn checked(producer: crate::Producer, doc: Map<String, Value>) -> Result<Map<String, Value>, crate::ConvertError> {
    let doc = Value::Object(doc);
    if let Err(e) = findinghub_asff::validate_finding(&doc) {
        return Err(crate::ConvertError::new(producer, format!("the converted finding is not valid ASFF: {e}")));
    }
    match doc {
        Value::Object(map) => Ok(map),
        _ => Err(crate::ConvertError::new(producer, "the converted finding is not an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfn_types_map_to_asff_resource_types() {
        assert_eq!(resource_type_from_cfn("AWS::S3::Bucket"), "AwsS3Bucket");
        assert_eq!(resource_type_from_cfn("AWS::EC2::Instance"), "AwsEc2Instance");
        assert_eq!(resource_type_from_cfn("AWS::IAM::Role"), "AwsIamRole");
        assert_eq!(resource_type_from_cfn("AWS::Nothing::Here"), "Other");
        assert_eq!(resource_type_from_cfn(""), "Other");
    }

    #[test]
    fn descriptions_are_cut_to_exactly_1024_with_the_marker() {
        let exact = "a".repeat(1024);
        assert_eq!(truncate_description(&exact), exact);
        let long = "b".repeat(1025);
        let cut = truncate_description(&long);
        assert_eq!(cut.chars().count(), 1024);
        assert!(cut.ends_with("b(truncated)"));
        let multibyte = "é".repeat(2000);
        assert_eq!(truncate_description(&multibyte).chars().count(), 1024);
    }

    #[test]
    fn product_fields_flatten_like_guardduty() {
        let native = json!({"service": {"count": 74, "archived": false, "evidence": {}, "additionalInfo": {"recentApiCalls": [{"api": "ListRoles"}]}}});
        let mut out = Map::new();
        flatten_product_fields("aws/guardduty", &native, &mut out);
        assert_eq!(out["aws/guardduty/service/count"], "74");
        assert_eq!(out["aws/guardduty/service/archived"], "false");
        assert_eq!(out["aws/guardduty/service/evidence"], "");
        assert_eq!(out["aws/guardduty/service/additionalInfo/recentApiCalls.0_/api"], "ListRoles");
    }

    #[test]
    fn lenient_timestamps_become_rfc3339_utc() {
        let cases = [
            (json!("2019-01-01T00:00:00Z"), "2019-01-01T00:00:00.000Z"),
            (json!("2019-01-01T00:00:00.123+0000"), "2019-01-01T00:00:00.123Z"),
            (json!("2019-01-01T02:00:00+02:00"), "2019-01-01T00:00:00.000Z"),
            (json!("2019-01-01T00:00:00"), "2019-01-01T00:00:00.000Z"),
            (json!("Wed, 15 Jan 2020 00:53:00 GMT"), "2020-01-15T00:53:00.000Z"),
            (json!("Wed Sep 04 16:59:44.356 UTC 2024"), "2024-09-04T16:59:44.356Z"),
            (json!(1_577_836_800), "2020-01-01T00:00:00.000Z"),
            (json!(1_577_836_800_123_i64), "2020-01-01T00:00:00.123Z"),
            (json!("1577836800"), "2020-01-01T00:00:00.000Z"),
        ];
        for (input, want) in cases {
            assert_eq!(asff_timestamp(&input).as_deref(), Some(want), "{input}");
        }
        assert_eq!(asff_timestamp(&json!("yesterday")), None);
        assert_eq!(asff_timestamp(&json!(null)), None);
        assert_eq!(asff_timestamp(&json!("2020-01-01T00:00:00+aéb")), None, "not a zone, and no panic");
        assert_eq!(asff_timestamp(&json!(i64::MAX)), None);
        assert_eq!(asff_timestamp(&json!(-5)), None);
        assert_eq!(asff_timestamp(&json!(1e300)), None);
    }

    #[test]
    fn partitions_follow_regions() {
        assert_eq!(aws_product_arn("cn-north-1", "config"), "arn:aws-cn:securityhub:cn-north-1::product/aws/config");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }
}
