//! Amazon Macie findings → the ASFF findings Security Hub makes of them (`producers.md` §5).
//!
//! Inputs: the EventBridge event (`source` `aws.macie`, `detail-type` `Macie Finding`, `detail` =
//! one finding), a GetFindings output (`{"findings": […]}`), or one finding object.
//!
//! Rules: policy findings are always published; sensitive-data (classification) findings only when
//! the user turned their publication on ([`ConvertOptions::macie_sensitive_data`], DOC). Types are
//! made ASFF-compatible: `Policy:IAMUser/S3BucketPublic` →
//! `Effects/Data Exposure/Policy:IAMUser-S3BucketPublic` (DOC), and sensitive-data types →
//! `Sensitive Data Identifications/PII/SensitiveData:S3Object-<X>` (INF). Sample findings name the
//! bucket `macie-sample-finding-bucket` and carry `Sample: true` (DOC). Id = Macie finding id,
//! GeneratorId `aws/macie` (OBS 2020 exports).

use crate::common::FindingBase;
use crate::read::{
    Obj, api_list, arn_partition, envelope_str, eventbridge_detail, is_from_source, opt_str, put, put_str, tag_list,
};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};

const SOURCE: &str = "aws.macie";
const DETAIL_TYPE: &str = "Macie Finding";
const PRODUCT_KEY: &str = "macie";
const P: Producer = Producer::Macie;

/// The bucket name that Security Hub shows for Macie's sample findings (DOC).
pub const SAMPLE_BUCKET: &str = "macie-sample-finding-bucket";

/// The ASFF type of a Macie finding type (DOC for policy findings, INF for sensitive data).
pub fn asff_type(native_type: &str) -> String {
    let classifier = native_type.replace('/', "-");
    if native_type.starts_with("SensitiveData:") {
        format!("Sensitive Data Identifications/PII/{classifier}")
    } else {
        format!("Effects/Data Exposure/{classifier}")
    }
}

/// The severity label of Macie's `severity.description` (`Low`, `Medium`, `High`, and `Critical`
/// should it come), else of `severity.score` (1 LOW, 2 MEDIUM, 3 HIGH).
pub fn severity_label(severity: &Value) -> Option<&'static str> {
    let by_name = severity.get("description").and_then(Value::as_str).and_then(|d| {
        Some(match d.trim().to_ascii_uppercase().as_str() {
            "INFORMATIONAL" => "INFORMATIONAL",
            "LOW" => "LOW",
            "MEDIUM" => "MEDIUM",
            "HIGH" => "HIGH",
            "CRITICAL" => "CRITICAL",
            _ => return None,
        })
    });
    by_name.or_else(|| match severity.get("score").and_then(Value::as_f64) {
        Some(s) if s >= 3.0 => Some("HIGH"),
        Some(s) if s >= 2.0 => Some("MEDIUM"),
        Some(_) => Some("LOW"),
        None => None,
    })
}

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    eventbridge_detail(event, SOURCE, &[DETAIL_TYPE]).is_some()
        || api_list(event, &["findings"], is_finding).is_some()
        || (event.get("source").is_none() && is_finding(event))
}

/// A Macie finding: a `Policy:`/`SensitiveData:` type with an object severity (GuardDuty's
/// `Policy:S3/…` findings have a number and a finding ARN).
fn is_finding(value: &Value) -> bool {
    let typed = value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("Policy:") || t.starts_with("SensitiveData:"));
    typed && value.get("severity").is_some_and(Value::is_object) && value.get("arn").is_none()
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    crate::read::validated(P, convert_unchecked(event, options))
}

fn convert_unchecked(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if let Some(detail) = eventbridge_detail(event, SOURCE, &[DETAIL_TYPE]) {
        return Ok(match finding(detail, "detail", Some(event), options)? {
            Ok(f) => Conversion::Findings(vec![f]),
            Err(reason) => Conversion::NoFinding(reason),
        });
    }
    if is_from_source(event, SOURCE) {
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        return Ok(Conversion::NoFinding(format!(
            "Macie sends only findings to Security Hub; detail-type \"{detail_type}\" is not a finding"
        )));
    }
    if event.get("source").is_none() {
        if let Some((key, items)) = api_list(event, &["findings"], is_finding) {
            let mut findings = Vec::new();
            let mut skipped = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let path = format!("{key}[{i}]");
                if !is_finding(item) {
                    return Err(ConvertError::new(
                        P,
                        format!(
                            "{path} is not a Macie finding (it needs a Policy: or SensitiveData: type and a severity object)"
                        ),
                    ));
                }
                match finding(item, &path, None, options)? {
                    Ok(f) => findings.push(f),
                    Err(reason) => skipped.push(format!("{path}: {reason}")),
                }
            }
            return Ok(if findings.is_empty() {
                Conversion::NoFinding(skipped.join("; "))
            } else {
                Conversion::Findings(findings)
            });
        }
        if is_finding(event) {
            return Ok(match finding(event, "finding", None, options)? {
                Ok(f) => Conversion::Findings(vec![f]),
                Err(reason) => Conversion::NoFinding(reason),
            });
        }
    }
    Err(ConvertError::new(
        P,
        "not a Macie finding: expected an EventBridge event (source aws.macie, detail-type \"Macie Finding\"), \
         a GetFindings output ({\"findings\": [...]}) or a finding object",
    ))
}

/// The finding (`Ok(Ok(_))`), the reason why Macie does not publish it (`Ok(Err(_))`), or why the
/// native finding is malformed.
fn finding(
    native: &Value,
    path: &str,
    envelope: Option<&Value>,
    options: &ConvertOptions,
) -> Result<Result<Map<String, Value>, String>, ConvertError> {
    if !native.is_object() {
        return Err(ConvertError::new(P, format!("{path} must be an object (the Macie finding)")));
    }
    let d = Obj::new(native, path, P);
    let id = d.req_str("id")?;
    let native_type = d.req_str("type")?;
    let sensitive = match d.opt_str("category") {
        Some("CLASSIFICATION") => true,
        Some("POLICY") => false,
        _ => native_type.starts_with("SensitiveData:"),
    };
    if sensitive && !options.macie_sensitive_data {
        return Ok(Err(format!(
            "Macie publishes sensitive-data finding {id} ({native_type}) to Security Hub only when publishing \
             sensitive data findings is turned on (macie_sensitive_data)"
        )));
    }
    if native.get("archived").and_then(Value::as_bool) == Some(true) {
        return Ok(Err(format!(
            "Macie finding {id} is archived (suppressed); Macie does not publish archived findings to Security Hub"
        )));
    }
    let account = d
        .opt_str("accountId")
        .or_else(|| envelope.and_then(|e| envelope_str(e, "account")))
        .or(options.default_account.as_deref())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("accountId"))))?;
    let region = d
        .opt_str("region")
        .or_else(|| envelope.and_then(|e| envelope_str(e, "region")))
        .or(options.default_region.as_deref())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("region"))))?;
    let partition = d.opt_str("partition").unwrap_or_else(|| crate::common::partition_of(region));
    let severity = native.get("severity").ok_or_else(|| d.error(format!("{} is missing", d.field("severity"))))?;
    let label = severity_label(severity).ok_or_else(|| {
        d.error(format!(
            "{} has neither a known description (Low, Medium, High) nor a numeric score: {}",
            d.field("severity"),
            crate::read::short(severity)
        ))
    })?;
    let created_at = d.req_time("createdAt")?;
    let updated_at = d.req_time("updatedAt")?;
    let sample = native.get("sample").and_then(Value::as_bool).unwrap_or(false);
    let title = d.opt_str("title").unwrap_or(native_type).to_owned();
    let description = d.opt_str("description").map_or_else(|| title.clone(), str::to_owned);
    let affected = d.opt_obj("resourcesAffected")?;

    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region,
        account,
        id: id.to_owned(),
        generator_id: "aws/macie".to_owned(),
        types: vec![asff_type(native_type)],
        created_at,
        updated_at,
        severity_label: label,
        title,
        description,
    }
    .into_finding();
    let resources = resources_of(affected, sample, account, region, partition);
    doc.insert("Resources".into(), Value::Array(resources));
    doc.insert("Sample".into(), json!(sample));
    Ok(Ok(doc))
}

/// The bucket (and, for sensitive-data findings, the object) that the finding is about.
fn resources_of(affected: Option<&Value>, sample: bool, account: &str, region: &str, partition: &str) -> Vec<Value> {
    let bucket = affected.and_then(|a| a.get("s3Bucket")).filter(|b| b.is_object());
    let object = affected.and_then(|a| a.get("s3Object")).filter(|o| o.is_object());
    let native_name = bucket.and_then(|b| opt_str(b, "name"));
    let name = if sample { Some(SAMPLE_BUCKET) } else { native_name };
    let bucket_partition = bucket.and_then(|b| opt_str(b, "arn")).and_then(arn_partition).unwrap_or(partition);
    let mut out = Vec::new();
    match name {
        Some(name) => {
            let mut r = Map::new();
            r.insert("Type".into(), json!("AwsS3Bucket"));
            let id = match bucket.and_then(|b| opt_str(b, "arn")) {
                Some(arn) if !sample => arn.to_owned(),
                _ => format!("arn:{bucket_partition}:s3:::{name}"),
            };
            r.insert("Id".into(), json!(id));
            r.insert("Partition".into(), json!(bucket_partition));
            r.insert("Region".into(), json!(region));
            if let Some(bucket) = bucket {
                put(&mut r, "Tags", tag_list(bucket.get("tags")));
                let mut details = Map::new();
                let owner = bucket.get("owner");
                put_str(&mut details, "OwnerId", owner.and_then(|o| opt_str(o, "id")));
                put_str(&mut details, "OwnerName", owner.and_then(|o| opt_str(o, "displayName")));
                put(
                    &mut details,
                    "CreatedAt",
                    bucket.get("createdAt").and_then(crate::read::asff_timestamp).map(Value::String),
                );
                if let Some(sse) = bucket.get("defaultServerSideEncryption")
                    && let Some(algorithm) = opt_str(sse, "encryptionType")
                {
                    let mut by_default = Map::new();
                    by_default.insert("SSEAlgorithm".into(), json!(algorithm));
                    put_str(&mut by_default, "KMSMasterKeyID", opt_str(sse, "kmsMasterKeyId"));
                    details.insert(
                        "ServerSideEncryptionConfiguration".into(),
                        json!({ "Rules": [{ "ApplyServerSideEncryptionByDefault": by_default }] }),
                    );
                }
                if !details.is_empty() {
                    r.insert("Details".into(), json!({ "AwsS3Bucket": details }));
                }
            }
            out.push(Value::Object(r));
            if let Some(object) = object
                && let Some(key) = opt_str(object, "key")
            {
                let mut o = Map::new();
                o.insert("Type".into(), json!("AwsS3Object"));
                o.insert("Id".into(), json!(format!("arn:{bucket_partition}:s3:::{name}/{key}")));
                o.insert("Partition".into(), json!(bucket_partition));
                o.insert("Region".into(), json!(region));
                put(&mut o, "Tags", tag_list(object.get("tags")));
                let mut details = Map::new();
                put_str(&mut details, "ETag", opt_str(object, "eTag"));
                put_str(&mut details, "VersionId", opt_str(object, "versionId"));
                put(
                    &mut details,
                    "LastModified",
                    object.get("lastModified").and_then(crate::read::asff_timestamp).map(Value::String),
                );
                let sse = object.get("serverSideEncryption");
                put_str(&mut details, "ServerSideEncryption", sse.and_then(|s| opt_str(s, "encryptionType")));
                put_str(&mut details, "SSEKMSKeyId", sse.and_then(|s| opt_str(s, "kmsMasterKeyId")));
                if !details.is_empty() {
                    o.insert("Details".into(), json!({ "AwsS3Object": details }));
                }
                out.push(Value::Object(o));
            }
        }
        None => {
            // INF: a finding without `resourcesAffected` (the documentation's truncated example)
            // still needs a resource: the account.
            out.push(json!({
                "Type": "Other",
                "Id": format!("AWS::::Account:{account}"),
                "Partition": partition,
                "Region": region,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_become_asff_compatible() {
        assert_eq!(asff_type("Policy:IAMUser/S3BucketPublic"), "Effects/Data Exposure/Policy:IAMUser-S3BucketPublic");
        assert_eq!(
            asff_type("SensitiveData:S3Object/Personal"),
            "Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal"
        );
    }

    #[test]
    fn severity_reads_the_description_then_the_score() {
        assert_eq!(severity_label(&json!({"description": "Low", "score": 3})), Some("LOW"));
        assert_eq!(severity_label(&json!({"score": 2})), Some("MEDIUM"));
        assert_eq!(severity_label(&json!({"description": "?"})), None);
    }
}
