//! Amazon GuardDuty findings → the ASFF findings Security Hub makes of them (`producers.md` §4).
//!
//! Inputs: the EventBridge event (`source` `aws.guardduty`, `detail-type` `GuardDuty Finding`,
//! `detail` = one finding), a GetFindings output (`{"findings": […]}` as the API returns it, or
//! `{"Findings": […]}` with PascalCase members as the AWS CLI prints it), or one finding object.
//!
//! Mapping (DOC example + OBS exports): Id = finding ARN, GeneratorId = detector ARN, Types from
//! the documented type table (`data/guardduty-type-to-asff-type.2023-snapshot.json`), Severity
//! Product = GuardDuty's number with Label by GuardDuty's bands, FirstObservedAt/LastObservedAt =
//! `service.eventFirstSeen/eventLastSeen`, every leaf of `service` flattened into
//! `aws/guardduty/service/…` ProductFields, resources from the `resource` details. Sample findings
//! (`service.additionalInfo.sample`) lose a `[SAMPLE]` type prefix and carry `Sample: true`.

use crate::common::{FindingBase, flatten_product_fields};
use crate::read::{
    Obj, api_list, arn_account, arn_partition, arn_region, console_host, envelope_str, eventbridge_detail,
    is_from_source, opt_str, put, put_str, string_list, tag_list,
};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

const SOURCE: &str = "aws.guardduty";
const DETAIL_TYPE: &str = "GuardDuty Finding";
const PRODUCT_KEY: &str = "guardduty";
const P: Producer = Producer::GuardDuty;

/// The table "Interpreting GuardDuty finding names in Security Hub" (GuardDuty User Guide, 2023
/// snapshot, 75 rows), kept as the data file it was published as.
const TYPE_TABLE_JSON: &str = include_str!("../data/guardduty-type-to-asff-type.2023-snapshot.json");

/// Rows of the current documentation page that the 2023 snapshot lacks (named in `producers.md`
/// §4: the attack-sequence types).
const CURRENT_PAGE_ROWS: &[(&str, &str)] = &[
    ("AttackSequence:IAM/CompromisedCredentials", "TTPs/AttackSequence:IAM/CompromisedCredentials"),
    ("AttackSequence:S3/CompromisedData", "TTPs/AttackSequence:S3/CompromisedData"),
];

/// Second ASFF types observed next to the table's one (OBS: a real 2020 export of
/// `Recon:IAMUser/UserPermissions` carried both; the documentation only says that some types get a
/// different name by resource role, without listing them).
const OBSERVED_SECOND_TYPES: &[(&str, &str)] =
    &[("Recon:IAMUser/UserPermissions", "Unusual Behaviors/User/Recon:IAMUser-UserPermissions")];

/// ProductFields that one finding may carry besides Security Hub's own (`aws/securityhub/*`).
const MAX_PRODUCT_FIELDS: usize = 50;
/// The longest ProductFields key.
const MAX_PRODUCT_FIELD_KEY: usize = 128;

fn type_table() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        if let Ok(doc) = serde_json::from_str::<Value>(TYPE_TABLE_JSON)
            && let Some(rows) = doc.get("mappings").and_then(Value::as_array)
        {
            for row in rows {
                if let (Some(native), Some(asff)) = (opt_str(row, "guardduty_type"), opt_str(row, "asff_type")) {
                    table.insert(native.to_owned(), asff.to_owned());
                }
            }
        }
        for (native, asff) in CURRENT_PAGE_ROWS {
            table.insert((*native).to_owned(), (*asff).to_owned());
        }
        table
    })
}

/// The number of rows in the shipped type table (for tests).
pub fn type_table_len() -> usize {
    type_table().len()
}

/// The ASFF `Types` of a GuardDuty finding type (without any `[SAMPLE]` prefix).
///
/// The documented table first (also under the spelling with `-` for the first `/`, as three of its
/// rows are written); for a type that the table lacks (INF) the namespace/category follows the
/// threat purpose before the `:` (`Backdoor` → `TTPs/Command and Control`, …) and the classifier
/// is the type with `/` written `-`, the pattern of every row of the table.
pub fn asff_types(native_type: &str) -> Vec<String> {
    let table = type_table();
    let dashed = native_type.replacen('/', "-", 1);
    let primary =
        table.get(native_type).or_else(|| table.get(&dashed)).cloned().unwrap_or_else(|| fallback_type(native_type));
    let mut types = vec![primary];
    for (native, second) in OBSERVED_SECOND_TYPES {
        if *native == native_type && !types.iter().any(|t| t == second) {
            types.push((*second).to_owned());
        }
    }
    types
}

fn fallback_type(native_type: &str) -> String {
    let purpose = native_type.split(':').next().unwrap_or_default();
    let category = match purpose {
        "Backdoor" | "CryptoCurrency" | "Trojan" => "TTPs/Command and Control",
        "Behavior" if native_type.contains(":IAMUser/") => "Unusual Behaviors/User",
        "Behavior" => "Unusual Behaviors/VM",
        "CredentialAccess" => "TTPs/Credential Access",
        "DefenseEvasion" | "Stealth" => "TTPs/Defense Evasion",
        "Discovery" | "Recon" => "TTPs/Discovery",
        "Execution" => "TTPs/Execution",
        "Exfiltration" => "Effects/Data Exfiltration",
        "Impact" => "TTPs/Impact",
        "InitialAccess" | "UnauthorizedAccess" => "TTPs/Initial Access",
        "Persistence" => "TTPs/Persistence",
        "PrivilegeEscalation" => "TTPs/Privilege Escalation",
        "Policy" => "Software and Configuration Checks/AWS Security Best Practices",
        "Object" => "Effects/Data Exposure",
        _ => "TTPs",
    };
    let candidate = if category.contains('/') {
        format!("{category}/{}", native_type.replace('/', "-"))
    } else {
        // Namespace only (like the table's `TTPs/PenTest:IAMUser/KaliLinux`): the type keeps its
        // first `/` as the classifier separator.
        format!("{category}/{}", native_type.replacen('/', "\u{0}", 1).replace('/', "-").replace('\u{0}', "/"))
    };
    if findinghub_asff::validate::type_form_ok(&candidate) {
        return candidate;
    }
    let dashed = format!("TTPs/{}", native_type.replace('/', "-").trim_matches('-'));
    if findinghub_asff::validate::type_form_ok(&dashed) { dashed } else { "TTPs".to_owned() }
}

/// GuardDuty's severity bands (DOC): 1.0–3.9 LOW, 4.0–6.9 MEDIUM, 7.0–8.9 HIGH, 9.0–10.0
/// CRITICAL (values below 1 count as LOW).
pub fn severity_label(severity: f64) -> &'static str {
    if severity >= 9.0 {
        "CRITICAL"
    } else if severity >= 7.0 {
        "HIGH"
    } else if severity >= 4.0 {
        "MEDIUM"
    } else {
        "LOW"
    }
}

/// `Severity.Normalized` for a GuardDuty severity: ten times the number, rounded down, kept in
/// the range of its label (INF: real exports are irregular; ×10 matches the observed 5 → 50 and
/// agrees with the bands: 3.9 → 39 LOW, 4.0 → 40 MEDIUM, 7.0 → 70 HIGH, 9.0 → 90 CRITICAL).
pub fn severity_normalized(severity: f64) -> i64 {
    let (lo, hi) = match severity_label(severity) {
        "CRITICAL" => (90, 100),
        "HIGH" => (70, 89),
        "MEDIUM" => (40, 69),
        _ => (1, 39),
    };
    let scaled = (severity * 10.0 + 1e-9).floor();
    let scaled = if scaled.is_finite() { scaled.clamp(0.0, 100.0) as i64 } else { lo };
    scaled.clamp(lo, hi)
}

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    eventbridge_detail(event, SOURCE, &[DETAIL_TYPE]).is_some()
        || api_list(event, &["findings", "Findings"], is_finding).is_some()
        || (event.get("source").is_none() && is_finding(event))
}

/// A GuardDuty finding object (camelCase or PascalCase): a finding ARN and a type.
fn is_finding(value: &Value) -> bool {
    let arn = value.get("arn").or_else(|| value.get("Arn")).and_then(Value::as_str);
    let has_type = value.get("type").or_else(|| value.get("Type")).is_some_and(Value::is_string);
    arn.is_some_and(|a| a.contains(":guardduty:") && a.contains("/finding/")) && has_type
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    crate::read::validated(P, convert_unchecked(event, options))
}

fn convert_unchecked(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if let Some(detail) = eventbridge_detail(event, SOURCE, &[DETAIL_TYPE]) {
        return Ok(Conversion::Findings(vec![finding(detail, "detail", Some(event), options)?]));
    }
    if is_from_source(event, SOURCE) {
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        return Ok(Conversion::NoFinding(format!(
            "GuardDuty sends only findings to Security Hub; detail-type \"{detail_type}\" is not a finding"
        )));
    }
    if event.get("source").is_none() {
        if let Some((key, items)) = api_list(event, &["findings", "Findings"], is_finding) {
            let mut findings = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("{key}[{i}]");
                if !is_finding(item) {
                    return Err(ConvertError::new(
                        P,
                        format!("{path} is not a GuardDuty finding (it needs a finding ARN in arn and a type)"),
                    ));
                }
                findings.push(finding(item, &path, None, options)?);
            }
            return Ok(Conversion::Findings(findings));
        }
        if is_finding(event) {
            return Ok(Conversion::Findings(vec![finding(event, "finding", None, options)?]));
        }
    }
    Err(ConvertError::new(
        P,
        "not a GuardDuty finding: expected an EventBridge event (source aws.guardduty, detail-type \
         \"GuardDuty Finding\"), a GetFindings output ({\"findings\": [...]}) or a finding object",
    ))
}

/// The AWS CLI prints GuardDuty findings with PascalCase members (`Arn`, `Service`,
/// `InstanceDetails`); the API and EventBridge use camelCase. Member names are turned to camelCase
/// (first letter lowered), values are left alone.
fn camel_case_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_lowercase().chain(chars).collect(),
                        None => String::new(),
                    };
                    (key, camel_case_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel_case_keys).collect()),
        other => other.clone(),
    }
}

fn finding(
    native: &Value,
    path: &str,
    envelope: Option<&Value>,
    options: &ConvertOptions,
) -> Result<Map<String, Value>, ConvertError> {
    if !native.is_object() {
        return Err(ConvertError::new(P, format!("{path} must be an object (the GuardDuty finding)")));
    }
    let camel;
    let native = if native.get("arn").is_none() && native.get("Arn").is_some() {
        camel = camel_case_keys(native);
        &camel
    } else {
        native
    };
    let d = Obj::new(native, path, P);
    let arn = d.req_str("arn")?;
    let Some((detector_arn, finding_id)) = arn.split_once("/finding/") else {
        return Err(d.error(format!("{} is not a finding ARN (…:detector/<id>/finding/<id>): {arn}", d.field("arn"))));
    };
    let raw_type = d.req_str("type")?;
    let (native_type, prefixed_sample) = strip_sample_prefix(raw_type);
    let account = d
        .opt_str("accountId")
        .or_else(|| arn_account(arn))
        .or_else(|| envelope.and_then(|e| envelope_str(e, "account")))
        .or(options.default_account.as_deref())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("accountId"))))?;
    let region = d
        .opt_str("region")
        .or_else(|| arn_region(arn))
        .or_else(|| envelope.and_then(|e| envelope_str(e, "region")))
        .or(options.default_region.as_deref())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("region"))))?;
    let partition =
        d.opt_str("partition").or_else(|| arn_partition(arn)).unwrap_or_else(|| crate::common::partition_of(region));
    let severity_value =
        native.get("severity").ok_or_else(|| d.error(format!("{} is missing", d.field("severity"))))?;
    let severity = severity_number(severity_value).ok_or_else(|| {
        d.error(format!("{} must be a number, not {}", d.field("severity"), crate::read::short(severity_value)))
    })?;
    let created_at = d.req_time("createdAt")?;
    let updated_at = d.req_time("updatedAt")?;
    let service = d.opt_obj("service")?;
    let resource = d.opt_obj("resource")?;
    let sample = prefixed_sample || service.is_some_and(is_sample);
    let archived = service.and_then(|s| s.get("archived")).is_some_and(truthy);
    let title = d.opt_str("title").unwrap_or(native_type).to_owned();
    let description = d.opt_str("description").map_or_else(|| title.clone(), str::to_owned);
    let label = severity_label(severity);

    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region,
        account,
        id: arn.to_owned(),
        generator_id: detector_arn.to_owned(),
        types: asff_types(native_type),
        created_at,
        updated_at,
        severity_label: label,
        title,
        description,
    }
    .into_finding();

    let product = match severity_value {
        Value::Number(n) => Value::Number(n.clone()),
        _ => json!(severity),
    };
    doc.insert(
        "Severity".into(),
        json!({ "Label": label, "Normalized": severity_normalized(severity), "Product": product }),
    );
    if let Some(service) = service {
        let s = Obj::new(service, "service", P);
        put(&mut doc, "FirstObservedAt", s.opt_time("eventFirstSeen").map(Value::String));
        put(&mut doc, "LastObservedAt", s.opt_time("eventLastSeen").map(Value::String));
        let fields = product_fields(service);
        if !fields.is_empty() {
            doc.insert("ProductFields".into(), Value::Object(fields));
        }
    }
    let short_id = d.opt_str("id").unwrap_or(finding_id);
    let host = console_host(region);
    doc.insert(
        "SourceUrl".into(),
        json!(format!("https://{host}/guardduty/home?region={region}#/findings?macros=current&fId={short_id}")),
    );
    let mut resources = resource.map(|r| resources_of(r, account, region, partition)).unwrap_or_default();
    if resources.is_empty() {
        // INF: a finding without resource details still needs one resource.
        resources.push(json!({
            "Type": "Other",
            "Id": format!("AWS::::Account:{account}"),
            "Partition": partition,
            "Region": region,
        }));
    }
    resources.truncate(32);
    doc.insert("Resources".into(), Value::Array(resources));
    doc.insert("Sample".into(), json!(sample));
    if archived {
        doc.insert("RecordState".into(), json!("ARCHIVED"));
    }
    Ok(doc)
}

fn severity_number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    n.is_finite().then_some(n)
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `[SAMPLE] Recon:IAMUser/ResourcePermissions` → (`Recon:IAMUser/ResourcePermissions`, true).
pub fn strip_sample_prefix(native_type: &str) -> (&str, bool) {
    let trimmed = native_type.trim_start();
    match trimmed.get(..8) {
        Some(prefix) if prefix.eq_ignore_ascii_case("[sample]") => {
            let rest = trimmed.get(8..).unwrap_or_default().trim_start();
            if rest.is_empty() { (native_type, false) } else { (rest, true) }
        }
        _ => (native_type, false),
    }
}

/// `service.additionalInfo.sample` is true (EventBridge and the API's flattened form), or the
/// API's `additionalInfo.value` JSON text says `"sample": true`.
fn is_sample(service: &Value) -> bool {
    let Some(info) = service.get("additionalInfo") else { return false };
    if info.get("sample").is_some_and(truthy) {
        return true;
    }
    info.get("value")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .is_some_and(|v| v.get("sample").is_some_and(truthy))
}

/// Every leaf of `service` under `aws/guardduty/service/…`, at most 50 fields with keys of at most
/// 128 characters (ASFF's limits). When there are more, the shallowest paths are kept, then the
/// first by name (INF: how GuardDuty chooses is undocumented).
fn product_fields(service: &Value) -> Map<String, Value> {
    let mut all = Map::new();
    flatten_product_fields("aws/guardduty/service", service, &mut all);
    let fits = all.len() <= MAX_PRODUCT_FIELDS && all.keys().all(|k| k.chars().count() <= MAX_PRODUCT_FIELD_KEY);
    if fits {
        return all;
    }
    let mut entries: Vec<(String, Value)> =
        all.into_iter().filter(|(k, _)| k.chars().count() <= MAX_PRODUCT_FIELD_KEY).collect();
    entries.sort_by(|(a, _), (b, _)| a.matches('/').count().cmp(&b.matches('/').count()).then_with(|| a.cmp(b)));
    entries.truncate(MAX_PRODUCT_FIELDS);
    entries.into_iter().collect()
}

/// The ASFF resources of GuardDuty's `resource`: one per details block that is filled in, in a
/// fixed order (GuardDuty's generated samples fill several, and real exports then list the
/// instance and the access key, OBS).
fn resources_of(resource: &Value, account: &str, region: &str, partition: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let base = |kind: &str, id: String| -> Map<String, Value> {
        let mut r = Map::new();
        r.insert("Type".into(), json!(kind));
        r.insert("Id".into(), json!(id));
        r.insert("Partition".into(), json!(partition));
        r.insert("Region".into(), json!(region));
        r
    };
    if let Some(inst) = resource.get("instanceDetails").filter(|v| non_empty_object(v))
        && let Some(instance_id) = opt_str(inst, "instanceId")
    {
        let mut r = base("AwsEc2Instance", format!("arn:{partition}:ec2:{region}:{account}:instance/{instance_id}"));
        put(&mut r, "Tags", tag_list(inst.get("tags")));
        let mut details = Map::new();
        put_str(&mut details, "Type", opt_str(inst, "instanceType"));
        put_str(&mut details, "ImageId", opt_str(inst, "imageId"));
        let (v4, v6) = instance_addresses(inst);
        if !v4.is_empty() {
            details.insert("IpV4Addresses".into(), json!(v4));
        }
        if !v6.is_empty() {
            details.insert("IpV6Addresses".into(), json!(v6));
        }
        let first_eni = inst.get("networkInterfaces").and_then(Value::as_array).and_then(|a| a.first());
        put_str(&mut details, "VpcId", first_eni.and_then(|e| opt_str(e, "vpcId")));
        put_str(&mut details, "SubnetId", first_eni.and_then(|e| opt_str(e, "subnetId")));
        put(
            &mut details,
            "LaunchedAt",
            inst.get("launchTime").and_then(crate::read::asff_timestamp).map(Value::String),
        );
        put_str(&mut details, "IamInstanceProfileArn", inst.get("iamInstanceProfile").and_then(|p| opt_str(p, "arn")));
        if !details.is_empty() {
            r.insert("Details".into(), json!({ "AwsEc2Instance": details }));
        }
        out.push(Value::Object(r));
    }
    if let Some(key) = resource.get("accessKeyDetails").filter(|v| non_empty_object(v)) {
        let key_id = opt_str(key, "accessKeyId").unwrap_or("unknown");
        let mut r = base("AwsIamAccessKey", format!("AWS::IAM::AccessKey:{key_id}"));
        let mut details = Map::new();
        put_str(&mut details, "PrincipalId", opt_str(key, "principalId"));
        put_str(&mut details, "PrincipalName", opt_str(key, "userName"));
        put_str(&mut details, "PrincipalType", opt_str(key, "userType"));
        if !details.is_empty() {
            r.insert("Details".into(), json!({ "AwsIamAccessKey": details }));
        }
        out.push(Value::Object(r));
    }
    for bucket in resource.get("s3BucketDetails").and_then(Value::as_array).into_iter().flatten() {
        let id = opt_str(bucket, "arn")
            .map(str::to_owned)
            .or_else(|| opt_str(bucket, "name").map(|n| format!("arn:{partition}:s3:::{n}")));
        let Some(id) = id else { continue };
        let mut r = base("AwsS3Bucket", id);
        put(&mut r, "Tags", tag_list(bucket.get("tags")));
        let mut details = Map::new();
        put_str(&mut details, "OwnerId", bucket.get("owner").and_then(|o| opt_str(o, "id")));
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
            put_str(&mut by_default, "KMSMasterKeyID", opt_str(sse, "kmsMasterKeyArn"));
            details.insert(
                "ServerSideEncryptionConfiguration".into(),
                json!({ "Rules": [{ "ApplyServerSideEncryptionByDefault": by_default }] }),
            );
        }
        if !details.is_empty() {
            r.insert("Details".into(), json!({ "AwsS3Bucket": details }));
        }
        out.push(Value::Object(r));
    }
    if let Some(eks) = resource.get("eksClusterDetails").filter(|v| non_empty_object(v))
        && let Some(arn) = opt_str(eks, "arn")
    {
        let mut r = base("AwsEksCluster", arn.to_owned());
        put(&mut r, "Tags", tag_list(eks.get("tags")));
        let mut details = Map::new();
        put_str(&mut details, "Arn", Some(arn));
        put_str(&mut details, "Name", opt_str(eks, "name"));
        put_str(&mut details, "ClusterStatus", opt_str(eks, "status"));
        r.insert("Details".into(), json!({ "AwsEksCluster": details }));
        out.push(Value::Object(r));
    }
    if let Some(ecs) = resource.get("ecsClusterDetails").filter(|v| non_empty_object(v))
        && let Some(arn) = opt_str(ecs, "arn")
    {
        let mut r = base("AwsEcsCluster", arn.to_owned());
        put(&mut r, "Tags", tag_list(ecs.get("tags")));
        let mut details = Map::new();
        put_str(&mut details, "ClusterArn", Some(arn));
        put_str(&mut details, "ClusterName", opt_str(ecs, "name"));
        put_str(&mut details, "Status", opt_str(ecs, "status"));
        r.insert("Details".into(), json!({ "AwsEcsCluster": details }));
        out.push(Value::Object(r));
    }
    if let Some(container) = resource.get("containerDetails").filter(|v| non_empty_object(v))
        && let Some(id) = opt_str(container, "id").or_else(|| opt_str(container, "name"))
    {
        let mut r = base("Container", id.to_owned());
        let mut details = Map::new();
        put_str(&mut details, "ContainerRuntime", opt_str(container, "containerRuntime"));
        put_str(&mut details, "Name", opt_str(container, "name"));
        put_str(&mut details, "ImageName", opt_str(container, "image"));
        if !details.is_empty() {
            r.insert("Details".into(), json!({ "Container": details }));
        }
        out.push(Value::Object(r));
    }
    if let Some(lambda) = resource.get("lambdaDetails").filter(|v| non_empty_object(v))
        && let Some(arn) = opt_str(lambda, "functionArn")
    {
        let mut r = base("AwsLambdaFunction", arn.to_owned());
        put(&mut r, "Tags", tag_list(lambda.get("tags")));
        let mut details = Map::new();
        put_str(&mut details, "FunctionName", opt_str(lambda, "functionName"));
        put_str(&mut details, "Role", opt_str(lambda, "role"));
        put_str(&mut details, "RevisionId", opt_str(lambda, "revisionId"));
        put_str(&mut details, "Version", opt_str(lambda, "functionVersion"));
        put(
            &mut details,
            "LastModified",
            lambda.get("lastModifiedAt").and_then(crate::read::asff_timestamp).map(Value::String),
        );
        if !details.is_empty() {
            r.insert("Details".into(), json!({ "AwsLambdaFunction": details }));
        }
        out.push(Value::Object(r));
    }
    if let Some(rds) = resource.get("rdsDbInstanceDetails").filter(|v| non_empty_object(v))
        && let Some(arn) = opt_str(rds, "dbInstanceArn")
    {
        let mut r = base("AwsRdsDbInstance", arn.to_owned());
        put(&mut r, "Tags", tag_list(rds.get("tags")));
        let mut details = Map::new();
        put_str(&mut details, "DBInstanceIdentifier", opt_str(rds, "dbInstanceIdentifier"));
        put_str(&mut details, "DBClusterIdentifier", opt_str(rds, "dbClusterIdentifier"));
        put_str(&mut details, "Engine", opt_str(rds, "engine"));
        put_str(&mut details, "EngineVersion", opt_str(rds, "engineVersion"));
        if !details.is_empty() {
            r.insert("Details".into(), json!({ "AwsRdsDbInstance": details }));
        }
        out.push(Value::Object(r));
    }
    out
}

fn non_empty_object(value: &Value) -> bool {
    value.as_object().is_some_and(|m| !m.is_empty())
}

/// Public addresses first, then private ones (as the documented example lists them), without
/// repeats.
fn instance_addresses(instance: &Value) -> (Vec<String>, Vec<String>) {
    let mut v4: Vec<String> = Vec::new();
    let mut v6: Vec<String> = Vec::new();
    let push = |list: &mut Vec<String>, s: Option<&str>| {
        if let Some(s) = s.filter(|s| !s.is_empty())
            && !list.iter().any(|x| x == s)
        {
            list.push(s.to_owned());
        }
    };
    let enis = instance.get("networkInterfaces").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for eni in enis {
        push(&mut v4, opt_str(eni, "publicIp"));
    }
    for eni in enis {
        for private in eni.get("privateIpAddresses").and_then(Value::as_array).into_iter().flatten() {
            push(&mut v4, opt_str(private, "privateIpAddress"));
        }
        push(&mut v4, opt_str(eni, "privateIpAddress"));
        if let Some(list) = string_list(eni.get("ipv6Addresses")) {
            for a in list.as_array().into_iter().flatten() {
                push(&mut v6, a.as_str());
            }
        }
    }
    (v4, v6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_table_ships_all_documented_rows() {
        // 75 rows of the 2023 snapshot + the 2 attack-sequence rows of the current page.
        assert_eq!(type_table_len(), 77);
        assert_eq!(asff_types("Backdoor:EC2/C&CActivity.B"), ["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B"]);
        assert_eq!(asff_types("Discovery:S3/MaliciousIPCaller"), ["TTPs/Discovery:S3-MaliciousIPCaller"]);
    }

    #[test]
    fn unknown_types_fall_back_on_the_threat_purpose() {
        assert_eq!(
            asff_types("Execution:Runtime/NewBinaryExecuted"),
            ["TTPs/Execution/Execution:Runtime-NewBinaryExecuted"]
        );
        assert_eq!(asff_types("Weird"), ["TTPs/Weird"]);
        assert_eq!(asff_types("Foo:Bar/Baz/Qux"), ["TTPs/Foo:Bar/Baz-Qux"]);
        for t in ["", "/", "a/b/c/d", "::/", "Backdoor:/"] {
            assert!(asff_types(t).iter().all(|x| findinghub_asff::validate::type_form_ok(x)), "{t}");
        }
    }

    #[test]
    fn sample_prefixes_are_removed() {
        assert_eq!(
            strip_sample_prefix("[SAMPLE] Recon:IAMUser/ResourcePermissions"),
            ("Recon:IAMUser/ResourcePermissions", true)
        );
        assert_eq!(strip_sample_prefix("[Sample]Recon:EC2/Portscan"), ("Recon:EC2/Portscan", true));
        assert_eq!(strip_sample_prefix("Recon:EC2/Portscan"), ("Recon:EC2/Portscan", false));
        assert_eq!(strip_sample_prefix("[SAMPLE]"), ("[SAMPLE]", false));
        assert_eq!(strip_sample_prefix("é"), ("é", false));
    }

    #[test]
    fn pascal_case_members_become_camel_case() {
        let v = camel_case_keys(
            &json!({"Arn": "a", "Service": {"AdditionalInfo": {"Value": "{}"}}, "Tags": [{"Key": "K"}]}),
        );
        assert_eq!(v, json!({"arn": "a", "service": {"additionalInfo": {"value": "{}"}}, "tags": [{"key": "K"}]}));
    }
}
