//! Small readers for native JSON that name the field they could not read, shared by the
//! converters of GuardDuty, Macie, Inspector, IAM Access Analyzer and IoT Device Defender.
//!
//! Every error names the field by its path in the native document (`detail.arn`,
//! `findings[2].findingArn`), so that a malformed event says what is wrong with it.

use crate::{Conversion, ConvertError, Producer};
use findinghub_asff::timestamp::{Micros, format_timestamp};
use serde_json::{Map, Value, json};

/// A native timestamp in ASFF form ([`crate::common::asff_timestamp`]), refusing text that is
/// not ASCII first: no timestamp form has any, and the common reader slices offsets by bytes.
/// Numbers out of the years 0001–9999 are refused too (the common reader saturates them into a
/// wrong date).
pub(crate) fn asff_timestamp(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_ascii() => None,
        other => crate::common::parse_lenient_timestamp(other).filter(|m| in_range(*m)).map(format_timestamp),
    }
}

/// 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999999Z, in microseconds.
fn in_range(micros: Micros) -> bool {
    (-62_135_596_800_000_000..=253_402_300_799_999_999).contains(&micros)
}

/// A native object and the path that names it in error messages.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub value: &'a Value,
    pub path: &'a str,
    pub producer: Producer,
}

impl<'a> Obj<'a> {
    pub fn new(value: &'a Value, path: &'a str, producer: Producer) -> Obj<'a> {
        Obj { value, path, producer }
    }

    /// `path.key`, for messages.
    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }

    pub fn error(&self, message: impl Into<String>) -> ConvertError {
        ConvertError::new(self.producer, message)
    }

    /// A non-empty string member, or an error naming it.
    pub fn req_str(&self, key: &str) -> Result<&'a str, ConvertError> {
        match self.value.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(Value::String(_)) => Err(self.error(format!("{} is empty", self.field(key)))),
            Some(other) => Err(self.error(format!("{} must be a string, not {}", self.field(key), kind(other)))),
            None => Err(self.error(format!("{} is missing", self.field(key)))),
        }
    }

    /// A non-empty string member, if there is one.
    pub fn opt_str(&self, key: &str) -> Option<&'a str> {
        opt_str(self.value, key)
    }

    /// A timestamp member in ASFF form, or an error naming it.
    pub fn req_time(&self, key: &str) -> Result<String, ConvertError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Err(self.error(format!("{} is missing", self.field(key)))),
            Some(v) => asff_timestamp(v)
                .ok_or_else(|| self.error(format!("{} is not a timestamp: {}", self.field(key), short(v)))),
        }
    }

    /// A timestamp member in ASFF form, if there is one that parses.
    pub fn opt_time(&self, key: &str) -> Option<String> {
        self.value.get(key).and_then(asff_timestamp)
    }

    /// A member that must be an object (or absent: `None`), or an error naming it.
    pub fn opt_obj(&self, key: &str) -> Result<Option<&'a Value>, ConvertError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(other) => Err(self.error(format!("{} must be an object, not {}", self.field(key), kind(other)))),
        }
    }
}

/// A non-empty string member of `value`.
pub(crate) fn opt_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// The JSON kind of a value, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value cut for an error message.
pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 { format!("{}…", text.chars().take(60).collect::<String>()) } else { text }
}

/// A scalar as the string that ProductFields carry (`74`, `false`, `4.8`); `None` for null,
/// empty strings, arrays and objects.
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The EventBridge envelope's `detail` when `source` and `detail-type` match.
pub(crate) fn eventbridge_detail<'a>(event: &'a Value, source: &str, detail_types: &[&str]) -> Option<&'a Value> {
    if event.get("source").and_then(Value::as_str) != Some(source) {
        return None;
    }
    let detail_type = event.get("detail-type").and_then(Value::as_str)?;
    if detail_types.contains(&detail_type) { event.get("detail") } else { None }
}

/// Whether the event is an EventBridge event from `source` (whatever its detail-type).
pub(crate) fn is_from_source(event: &Value, source: &str) -> bool {
    event.get("source").and_then(Value::as_str) == Some(source) && event.get("detail-type").is_some()
}

/// The items of an API list output (`{"findings": [...]}`) under one of `keys`, when the list is
/// non-empty and its first item has the producer's shape.
pub(crate) fn api_list<'a>(
    event: &'a Value,
    keys: &[&'static str],
    item_shape: fn(&Value) -> bool,
) -> Option<(&'static str, &'a [Value])> {
    if event.get("source").is_some() {
        return None;
    }
    keys.iter().find_map(|key| match event.get(*key) {
        Some(Value::Array(items)) if items.first().is_some_and(item_shape) => Some((*key, items.as_slice())),
        _ => None,
    })
}

/// A member of the EventBridge envelope (`account`, `region`).
pub(crate) fn envelope_str<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    opt_str(event, key)
}

/// A timestamp given as epoch seconds with a fraction (`1596168096.157`, as IoT Device Defender's
/// API outputs carry), epoch milliseconds, or any form [`asff_timestamp`] reads, as microseconds
/// rounded to the millisecond (a float of seconds is not exact: `1596168096.157` must not become
/// `…096.156`).
pub(crate) fn epoch_micros_rounded(value: &Value) -> Option<Micros> {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64()?;
            if !f.is_finite() {
                return None;
            }
            // Seconds below 10^11, else milliseconds (as the common reader decides).
            let millis = if f.abs() < 1e11 { (f * 1000.0).round() } else { f.round() };
            if millis.abs() > 9.0e15 {
                return None;
            }
            Some((millis as Micros).saturating_mul(1000)).filter(|m| in_range(*m))
        }
        Value::String(s) if !s.is_ascii() => None,
        other => crate::common::parse_lenient_timestamp(other).filter(|m| in_range(*m)),
    }
}

/// [`epoch_micros_rounded`] in ASFF form.
pub(crate) fn epoch_time(value: &Value) -> Option<String> {
    epoch_micros_rounded(value).map(format_timestamp)
}

/// [`epoch_micros_rounded`] as a string of epoch milliseconds (`"1667772700554"`), the form of
/// IoT Device Defender's time ProductFields.
pub(crate) fn epoch_millis_string(value: &Value) -> Option<String> {
    epoch_micros_rounded(value).map(|m| (m.div_euclid(1000)).to_string())
}

/// The console host of a Region: `<region>.console.aws.amazon.com`, or the China and GovCloud
/// consoles.
pub(crate) fn console_host(region: &str) -> String {
    match crate::common::partition_of(region) {
        "aws-cn" => "console.amazonaws.cn".to_owned(),
        "aws-us-gov" => "console.amazonaws-us-gov.com".to_owned(),
        _ => format!("{region}.console.aws.amazon.com"),
    }
}

/// Percent-encodes everything but unreserved characters (for URLs that carry an ARN).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Region of an ARN (`arn:aws:inspector2:eu-central-1:…` → `eu-central-1`), if it has one.
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    arn_part(arn, 3)
}

/// The account of an ARN, if it has one.
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn_part(arn, 4)
}

/// The partition of an ARN, if it is one.
pub(crate) fn arn_partition(arn: &str) -> Option<&str> {
    arn_part(arn, 1)
}

fn arn_part(arn: &str, index: usize) -> Option<&str> {
    if !arn.starts_with("arn:") {
        return None;
    }
    arn.split(':').nth(index).filter(|s| !s.is_empty())
}

/// GuardDuty / Macie style tags (`[{"key": k, "value": v}]`, either case) as an ASFF `Tags` map.
pub(crate) fn tag_list(tags: Option<&Value>) -> Option<Value> {
    let items = tags?.as_array()?;
    let mut out = Map::new();
    for item in items {
        let key = item.get("key").or_else(|| item.get("Key")).and_then(Value::as_str);
        let value = item.get("value").or_else(|| item.get("Value")).and_then(Value::as_str).unwrap_or("");
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            out.insert(key.to_owned(), json!(value));
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// A `{"k": "v"}` tag map (Inspector) as an ASFF `Tags` map, string values only.
pub(crate) fn tag_map(tags: Option<&Value>) -> Option<Value> {
    let map = tags?.as_object()?;
    let out: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .filter_map(|(k, v)| scalar_string(v).or_else(|| v.as_str().map(str::to_owned)).map(|v| (k.clone(), json!(v))))
        .collect();
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Inserts `key: value` into an object when `value` is a non-empty string.
pub(crate) fn put_str(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        map.insert(key.to_owned(), json!(v));
    }
}

/// Inserts `key: value` into an object when `value` is `Some`.
pub(crate) fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

/// A list of non-empty strings (an ASFF `StringList`), `None` when empty.
pub(crate) fn string_list(value: Option<&Value>) -> Option<Value> {
    let items: Vec<Value> = value?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(|s| json!(s))
        .collect();
    (!items.is_empty()).then_some(Value::Array(items))
}

/// Checks every finding of a conversion against ASFF (as `BatchImportFindings` would) so that a
/// native event with odd values (an account of the wrong length, say) fails here, with a message,
/// rather than at import.
pub(crate) fn validated(
    producer: Producer,
    result: Result<Conversion, ConvertError>,
) -> Result<Conversion, ConvertError> {
    if let Ok(Conversion::Findings(findings)) = &result {
        for (i, finding) in findings.iter().enumerate() {
            if let Err(e) = findinghub_asff::validate_finding_object(finding) {
                let id = finding.get("Id").and_then(Value::as_str).unwrap_or("?");
                return Err(ConvertError::new(
                    producer,
                    format!("the finding made of it (#{i}, Id {id}) is not valid ASFF: {e}"),
                ));
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_epoch_seconds_round_to_the_millisecond() {
        assert_eq!(epoch_time(&json!(1596168096.157)).as_deref(), Some("2020-07-31T04:01:36.157Z"));
        assert_eq!(epoch_millis_string(&json!(1596168096.651)).as_deref(), Some("1596168096651"));
        assert_eq!(epoch_millis_string(&json!(1667772700554_i64)).as_deref(), Some("1667772700554"));
        assert_eq!(epoch_time(&json!(f64::MAX)), None);
        assert_eq!(asff_timestamp(&json!("2020-01-01T00:00:00+aéb")), None);
        assert_eq!(epoch_time(&json!("2020-01-01T00:00:00+aéb")), None);
        assert_eq!(asff_timestamp(&json!(1.25e301)), None);
        assert_eq!(asff_timestamp(&json!(i64::MAX)), None);
        assert_eq!(epoch_time(&json!(9_000_000_000_000_000_i64)), None);
    }

    #[test]
    fn errors_name_the_field() {
        let v = json!({"a": 1, "b": "", "c": "x"});
        let o = Obj::new(&v, "detail", Producer::GuardDuty);
        assert_eq!(o.req_str("a").map_err(|e| e.message), Err("detail.a must be a string, not a number".into()));
        assert_eq!(o.req_str("b").map_err(|e| e.message), Err("detail.b is empty".into()));
        assert_eq!(o.req_str("z").map_err(|e| e.message), Err("detail.z is missing".into()));
        assert_eq!(o.req_str("c"), Ok("x"));
        assert!(o.req_time("c").is_err());
    }

    #[test]
    fn arns_split_into_parts() {
        let arn = "arn:aws:inspector2:eu-central-1:123456789012:finding/abc";
        assert_eq!(arn_region(arn), Some("eu-central-1"));
        assert_eq!(arn_account(arn), Some("123456789012"));
        assert_eq!(arn_partition(arn), Some("aws"));
        assert_eq!(arn_region("arn:aws:s3:::bucket"), None);
        assert_eq!(url_encode("arn:aws:iam::1:role/R"), "arn%3Aaws%3Aiam%3A%3A1%3Arole%2FR");
    }
}
