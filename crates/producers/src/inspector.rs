//! Amazon Inspector (v2) findings → the ASFF findings Security Hub makes of them
//! (`producers.md` §6).
//!
//! Inputs: the EventBridge event (`source` `aws.inspector2`, `detail-type` `Inspector2 Finding`),
//! a ListFindings output (`{"findings": […]}`), or one finding object.
//!
//! Identity (DOC + OBS): ProductArn `…::product/aws/inspector` (shared with Inspector Classic),
//! `ProductFields["aws/inspector/ProductVersion"] = "2"`, Id = finding ARN, GeneratorId
//! `AWSInspector`. Package vulnerabilities carry `Vulnerabilities` (CVE id, CVSS, vendor,
//! packages, fix and exploit availability, EPSS, references). A finding that is no longer
//! ACTIVE in Inspector (CLOSED, SUPPRESSED) is ARCHIVED (INF).

use crate::common::FindingBase;
use crate::read::{
    Obj, api_list, arn_partition, arn_region, envelope_str, eventbridge_detail, is_from_source, opt_str, put, put_str,
    scalar_string, string_list, tag_map,
};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::{Map, Value, json};

const SOURCE: &str = "aws.inspector2";
const DETAIL_TYPE: &str = "Inspector2 Finding";
const PRODUCT_KEY: &str = "inspector";
const P: Producer = Producer::Inspector;

/// The GeneratorId of every Inspector v2 finding (OBS).
pub const GENERATOR_ID: &str = "AWSInspector";

/// What Inspector's own cut descriptions end with (OBS: a 1024-character description ending in
/// `...Truncated`).
pub const TRUNCATED_MARKER: &str = "...Truncated";

/// ASFF `Types` of an Inspector finding type: package vulnerabilities as observed; network
/// reachability after Inspector Classic's category and code vulnerabilities by CWE (INF).
pub fn asff_type(finding_type: &str) -> &'static str {
    match finding_type {
        "NETWORK_REACHABILITY" => "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
        "CODE_VULNERABILITY" => "Software and Configuration Checks/Vulnerabilities/CWE",
        _ => "Software and Configuration Checks/Vulnerabilities/CVE",
    }
}

/// The ASFF label of Inspector's severity; `UNTRIAGED` (no score yet) is INFORMATIONAL (INF).
pub fn severity_label(severity: &str) -> Option<&'static str> {
    Some(match severity.trim().to_ascii_uppercase().as_str() {
        "INFORMATIONAL" | "UNTRIAGED" => "INFORMATIONAL",
        "LOW" => "LOW",
        "MEDIUM" => "MEDIUM",
        "HIGH" => "HIGH",
        "CRITICAL" => "CRITICAL",
        _ => return None,
    })
}

/// Inspector's description cut: at most 1024 characters, ending in `...Truncated` when cut.
pub fn truncate_description(text: &str) -> String {
    let limit = crate::common::DESCRIPTION_LIMIT;
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let keep = limit - TRUNCATED_MARKER.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(TRUNCATED_MARKER);
    out
}

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    eventbridge_detail(event, SOURCE, &[DETAIL_TYPE]).is_some()
        || api_list(event, &["findings"], is_finding).is_some()
        || (event.get("source").is_none() && is_finding(event))
}

fn is_finding(value: &Value) -> bool {
    value.get("findingArn").and_then(Value::as_str).is_some_and(|a| a.contains(":inspector2:"))
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
            "Inspector sends only findings to Security Hub; detail-type \"{detail_type}\" is not a finding"
        )));
    }
    if event.get("source").is_none() {
        if let Some((key, items)) = api_list(event, &["findings"], is_finding) {
            let mut findings = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("{key}[{i}]");
                if !is_finding(item) {
                    return Err(ConvertError::new(
                        P,
                        format!("{path} is not an Inspector finding (it needs an inspector2 ARN in findingArn)"),
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
        "not an Inspector finding: expected an EventBridge event (source aws.inspector2, detail-type \
         \"Inspector2 Finding\"), a ListFindings output ({\"findings\": [...]}) or a finding object",
    ))
}

fn finding(
    native: &Value,
    path: &str,
    envelope: Option<&Value>,
    options: &ConvertOptions,
) -> Result<Map<String, Value>, ConvertError> {
    if !native.is_object() {
        return Err(ConvertError::new(P, format!("{path} must be an object (the Inspector finding)")));
    }
    let d = Obj::new(native, path, P);
    let arn = d.req_str("findingArn")?;
    let first_resource = native.get("resources").and_then(Value::as_array).and_then(|r| r.first());
    let account = d
        .opt_str("awsAccountId")
        .or_else(|| envelope.and_then(|e| envelope_str(e, "account")))
        .or_else(|| crate::read::arn_account(arn))
        .or(options.default_account.as_deref())
        .ok_or_else(|| d.error(format!("{} is missing", d.field("awsAccountId"))))?;
    let region = arn_region(arn)
        .or_else(|| envelope.and_then(|e| envelope_str(e, "region")))
        .or_else(|| first_resource.and_then(|r| opt_str(r, "region")))
        .or(options.default_region.as_deref())
        .ok_or_else(|| d.error(format!("{} names no Region and no default Region is set", d.field("findingArn"))))?;
    let partition = arn_partition(arn).unwrap_or_else(|| crate::common::partition_of(region));
    let finding_type = d.opt_str("type").unwrap_or("PACKAGE_VULNERABILITY");
    let severity = d.req_str("severity")?;
    let label = severity_label(severity).ok_or_else(|| {
        d.error(format!(
            "{} is not an Inspector severity (INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, UNTRIAGED): {severity}",
            d.field("severity")
        ))
    })?;
    let status = d.opt_str("status").unwrap_or("ACTIVE");
    let first_observed = d.req_time("firstObservedAt")?;
    let last_observed = d.opt_time("lastObservedAt");
    let updated_at = match d.opt_time("updatedAt").or_else(|| last_observed.clone()) {
        Some(t) => t,
        None => d.req_time("updatedAt")?,
    };
    let title = d.opt_str("title").unwrap_or(finding_type).to_owned();
    let description = truncate_description(d.opt_str("description").unwrap_or(&title));

    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region,
        account,
        id: arn.to_owned(),
        generator_id: GENERATOR_ID.to_owned(),
        types: vec![asff_type(finding_type).to_owned()],
        created_at: first_observed.clone(),
        updated_at,
        severity_label: label,
        title,
        description,
    }
    .into_finding();
    doc.insert("FirstObservedAt".into(), json!(first_observed));
    put(&mut doc, "LastObservedAt", last_observed.map(Value::String));

    if let Some(rec) = native.get("remediation").and_then(|r| r.get("recommendation")) {
        let mut recommendation = Map::new();
        put_str(
            &mut recommendation,
            "Text",
            opt_str(rec, "text").map(|t| crate::common::truncate_chars(t, 512)).as_deref(),
        );
        put_str(&mut recommendation, "Url", opt_str(rec, "Url").or_else(|| opt_str(rec, "url")));
        if !recommendation.is_empty() {
            doc.insert("Remediation".into(), json!({ "Recommendation": recommendation }));
        }
    }

    let resources = resources_of(native, account, region, partition);
    if resources.is_empty() {
        return Err(d.error(format!("{} is missing or has no resource with a type and an id", d.field("resources"))));
    }

    let mut fields = Map::new();
    fields.insert("aws/inspector/ProductVersion".into(), json!("2"));
    fields.insert("aws/inspector/FindingStatus".into(), json!(status));
    if let Some(score) = native.get("inspectorScore").and_then(Value::as_f64) {
        fields.insert("aws/inspector/inspectorScore".into(), json!(format!("{score:.1}")));
    }
    if let Some(r) = first_resource {
        let details = r.get("details");
        match opt_str(r, "type") {
            Some("AWS_EC2_INSTANCE") => {
                if let Some(id) = opt_str(r, "id") {
                    let instance_id = id.rsplit('/').next().unwrap_or(id);
                    fields.insert("aws/inspector/instanceId".into(), json!(instance_id));
                }
                let platform = details.and_then(|d| d.get("awsEc2Instance")).and_then(|e| opt_str(e, "platform"));
                put_str(
                    &mut fields,
                    "aws/inspector/resources/1/resourceDetails/awsEc2InstanceDetails/platform",
                    platform,
                );
            }
            Some("AWS_ECR_CONTAINER_IMAGE") => {
                let platform = details.and_then(|d| d.get("awsEcrContainerImage")).and_then(|e| opt_str(e, "platform"));
                put_str(
                    &mut fields,
                    "aws/inspector/resources/1/resourceDetails/awsEcrContainerImageDetails/platform",
                    platform,
                );
            }
            _ => {}
        }
    }
    let layer_hashes: Vec<&str> = native
        .get("packageVulnerabilityDetails")
        .and_then(|p| p.get("vulnerablePackages"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| opt_str(p, "sourceLayerHash"))
        .collect();
    if !layer_hashes.is_empty() {
        fields.insert(
            "aws/inspector/packageVulnerabilityDetails/vulnerablePackages/sourceLayerHashes".into(),
            json!(crate::common::truncate_chars(&layer_hashes.join(","), 2048)),
        );
    }
    if let Some(net) = native.get("networkReachabilityDetails") {
        put_str(&mut fields, "aws/inspector/networkReachabilityDetails/protocol", opt_str(net, "protocol"));
        if let Some(range) = net.get("openPortRange") {
            put(
                &mut fields,
                "aws/inspector/networkReachabilityDetails/openPortRange/begin",
                range.get("begin").and_then(scalar_string).map(Value::String),
            );
            put(
                &mut fields,
                "aws/inspector/networkReachabilityDetails/openPortRange/end",
                range.get("end").and_then(scalar_string).map(Value::String),
            );
        }
    }
    doc.insert("ProductFields".into(), Value::Object(fields));
    doc.insert("Resources".into(), Value::Array(resources));

    if let Some(vulnerability) = vulnerability(native) {
        doc.insert("Vulnerabilities".into(), json!([vulnerability]));
    }
    if let Some(path) = network_path(native) {
        doc.insert("NetworkPath".into(), path);
    }
    if status != "ACTIVE" {
        // INF: CLOSED (remediated) and SUPPRESSED (by a suppression rule) findings are no longer
        // active in Inspector; the hub archives them (`producers.md` §6: consumers treat
        // FindingStatus other than ACTIVE as closed).
        doc.insert("RecordState".into(), json!("ARCHIVED"));
    }
    Ok(doc)
}

/// The ASFF `Vulnerabilities` item of a package or code vulnerability.
fn vulnerability(native: &Value) -> Option<Value> {
    let mut v = Map::new();
    if let Some(pkg) = native.get("packageVulnerabilityDetails").filter(|p| p.is_object()) {
        v.insert("Id".into(), json!(opt_str(pkg, "vulnerabilityId")?));
        let packages: Vec<Value> = pkg
            .get("vulnerablePackages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| {
                let mut out = Map::new();
                put_str(&mut out, "Name", opt_str(p, "name"));
                put_str(&mut out, "Version", opt_str(p, "version"));
                put(&mut out, "Epoch", p.get("epoch").and_then(scalar_string).map(Value::String));
                put_str(&mut out, "Release", opt_str(p, "release"));
                put_str(&mut out, "Architecture", opt_str(p, "arch"));
                put_str(&mut out, "PackageManager", opt_str(p, "packageManager"));
                put_str(&mut out, "FilePath", opt_str(p, "filePath"));
                put_str(&mut out, "FixedInVersion", opt_str(p, "fixedInVersion"));
                put_str(&mut out, "Remediation", opt_str(p, "remediation"));
                put_str(&mut out, "SourceLayerHash", opt_str(p, "sourceLayerHash"));
                put_str(&mut out, "SourceLayerArn", opt_str(p, "sourceLambdaLayerArn"));
                Value::Object(out)
            })
            .filter(|p| p.as_object().is_some_and(|m| !m.is_empty()))
            .collect();
        if !packages.is_empty() {
            v.insert("VulnerablePackages".into(), Value::Array(packages));
        }
        let mut cvss: Vec<Value> = pkg
            .get("cvss")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let mut out = Map::new();
                put_str(&mut out, "Version", opt_str(c, "version"));
                put(&mut out, "BaseScore", c.get("baseScore").filter(|s| s.is_number()).cloned());
                put_str(&mut out, "BaseVector", opt_str(c, "scoringVector"));
                put_str(&mut out, "Source", opt_str(c, "source"));
                (!out.is_empty()).then_some(Value::Object(out))
            })
            .collect();
        // OBS: the adjusted CVSS that gives Inspector's score follows the vendor's entries.
        if let Some(adjusted) = native.get("inspectorScoreDetails").and_then(|s| s.get("adjustedCvss")) {
            let mut out = Map::new();
            put_str(&mut out, "Version", opt_str(adjusted, "version"));
            put(&mut out, "BaseScore", adjusted.get("score").filter(|s| s.is_number()).cloned());
            put_str(&mut out, "BaseVector", opt_str(adjusted, "scoringVector"));
            put_str(&mut out, "Source", opt_str(adjusted, "scoreSource").or_else(|| opt_str(adjusted, "cvssSource")));
            let adjustments: Vec<Value> = adjusted
                .get("adjustments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    let mut m = Map::new();
                    put_str(&mut m, "Metric", opt_str(a, "metric"));
                    put_str(&mut m, "Reason", opt_str(a, "reason"));
                    (!m.is_empty()).then_some(Value::Object(m))
                })
                .collect();
            if !adjustments.is_empty() {
                out.insert("Adjustments".into(), Value::Array(adjustments));
            }
            if !out.is_empty() {
                cvss.push(Value::Object(out));
            }
        }
        if !cvss.is_empty() {
            v.insert("Cvss".into(), Value::Array(cvss));
        }
        put(&mut v, "RelatedVulnerabilities", string_list(pkg.get("relatedVulnerabilities")));
        if let Some(vendor_name) = opt_str(pkg, "source") {
            let mut vendor = Map::new();
            vendor.insert("Name".into(), json!(vendor_name));
            put_str(&mut vendor, "Url", opt_str(pkg, "sourceUrl"));
            put_str(&mut vendor, "VendorSeverity", opt_str(pkg, "vendorSeverity"));
            put(
                &mut vendor,
                "VendorCreatedAt",
                pkg.get("vendorCreatedAt").and_then(crate::read::asff_timestamp).map(Value::String),
            );
            put(
                &mut vendor,
                "VendorUpdatedAt",
                pkg.get("vendorUpdatedAt").and_then(crate::read::asff_timestamp).map(Value::String),
            );
            v.insert("Vendor".into(), Value::Object(vendor));
        }
        put(&mut v, "ReferenceUrls", string_list(pkg.get("referenceUrls")));
    } else if let Some(code) = native.get("codeVulnerabilityDetails").filter(|c| c.is_object()) {
        // INF: a code finding is identified by its detector.
        let id = opt_str(code, "detectorId").or_else(|| opt_str(code, "ruleId"))?;
        v.insert("Id".into(), json!(id));
        let mut item = Map::new();
        put(&mut item, "Cwes", string_list(code.get("cwes")));
        if let Some(fp) = code.get("filePath") {
            let mut file = Map::new();
            put_str(&mut file, "FileName", opt_str(fp, "fileName"));
            put_str(&mut file, "FilePath", opt_str(fp, "filePath"));
            put(&mut file, "StartLine", fp.get("startLine").filter(|n| n.is_i64()).cloned());
            put(&mut file, "EndLine", fp.get("endLine").filter(|n| n.is_i64()).cloned());
            if !file.is_empty() {
                item.insert("FilePath".into(), Value::Object(file));
            }
        }
        put_str(&mut item, "SourceArn", opt_str(code, "sourceLambdaLayerArn"));
        if !item.is_empty() {
            v.insert("CodeVulnerabilities".into(), json!([item]));
        }
        put(&mut v, "ReferenceUrls", string_list(code.get("referenceUrls")));
    } else {
        return None;
    }
    if let Some(fix) = opt_str(native, "fixAvailable").filter(|f| matches!(*f, "YES" | "NO" | "PARTIAL")) {
        v.insert("FixAvailable".into(), json!(fix));
    }
    if let Some(exploit) = opt_str(native, "exploitAvailable").filter(|f| matches!(*f, "YES" | "NO")) {
        v.insert("ExploitAvailable".into(), json!(exploit));
    }
    put(&mut v, "EpssScore", native.get("epss").and_then(|e| e.get("score")).filter(|s| s.is_number()).cloned());
    if let Some(last) = native.get("exploitabilityDetails").and_then(|e| e.get("lastKnownExploitAt")) {
        put(&mut v, "LastKnownExploitAt", crate::read::asff_timestamp(last).map(Value::String));
    }
    Some(Value::Object(v))
}

/// The network path of a network-reachability finding (INF: ASFF `NetworkPath` has the same
/// components; ids and types longer than ASFF's 32 characters are left out).
fn network_path(native: &Value) -> Option<Value> {
    let steps = native.get("networkReachabilityDetails")?.get("networkPath")?.get("steps")?.as_array()?;
    let components: Vec<Value> = steps
        .iter()
        .filter_map(|s| {
            let id = opt_str(s, "componentId").filter(|v| v.chars().count() <= 32)?;
            let mut c = Map::new();
            c.insert("ComponentId".into(), json!(id));
            put_str(&mut c, "ComponentType", opt_str(s, "componentType").filter(|v| v.chars().count() <= 32));
            Some(Value::Object(c))
        })
        .collect();
    (!components.is_empty()).then_some(Value::Array(components))
}

/// ASFF resources of Inspector's `resources`.
fn resources_of(native: &Value, account: &str, region: &str, partition: &str) -> Vec<Value> {
    let items = native.get("resources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            let kind = opt_str(item, "type")?;
            let id = opt_str(item, "id")?;
            let r_region = opt_str(item, "region").unwrap_or(region);
            let r_partition = opt_str(item, "partition").unwrap_or(partition);
            let details = item.get("details");
            let mut r = Map::new();
            let (asff_type, asff_id, asff_details) = match kind {
                "AWS_EC2_INSTANCE" => {
                    let arn = if id.starts_with("arn:") {
                        id.to_owned()
                    } else {
                        format!("arn:{r_partition}:ec2:{r_region}:{account}:instance/{id}")
                    };
                    ("AwsEc2Instance", arn, details.and_then(|d| d.get("awsEc2Instance")).map(ec2_details))
                }
                "AWS_ECR_CONTAINER_IMAGE" => (
                    "AwsEcrContainerImage",
                    id.to_owned(),
                    details.and_then(|d| d.get("awsEcrContainerImage")).map(ecr_details),
                ),
                "AWS_LAMBDA_FUNCTION" => (
                    "AwsLambdaFunction",
                    id.to_owned(),
                    details.and_then(|d| d.get("awsLambdaFunction")).map(lambda_details),
                ),
                "AWS_ECR_REPOSITORY" => ("AwsEcrRepository", id.to_owned(), None),
                "CODE_REPOSITORY" => ("CodeRepository", id.to_owned(), None),
                _ => ("Other", id.to_owned(), None),
            };
            r.insert("Type".into(), json!(asff_type));
            r.insert("Id".into(), json!(asff_id));
            r.insert("Partition".into(), json!(r_partition));
            r.insert("Region".into(), json!(r_region));
            put(&mut r, "Tags", tag_map(item.get("tags")));
            if let Some(d) = asff_details.filter(|d| !d.is_empty()) {
                r.insert("Details".into(), json!({ asff_type: d }));
            }
            Some(Value::Object(r))
        })
        .take(32)
        .collect()
}

fn time(value: Option<&Value>) -> Option<Value> {
    value.and_then(crate::read::asff_timestamp).map(Value::String)
}

fn ec2_details(e: &Value) -> Map<String, Value> {
    let mut d = Map::new();
    put_str(&mut d, "Type", opt_str(e, "type"));
    put_str(&mut d, "ImageId", opt_str(e, "imageId"));
    put(&mut d, "IpV4Addresses", string_list(e.get("ipV4Addresses")));
    put(&mut d, "IpV6Addresses", string_list(e.get("ipV6Addresses")));
    put_str(&mut d, "KeyName", opt_str(e, "keyName"));
    put_str(&mut d, "IamInstanceProfileArn", opt_str(e, "iamInstanceProfileArn"));
    put_str(&mut d, "VpcId", opt_str(e, "vpcId"));
    put_str(&mut d, "SubnetId", opt_str(e, "subnetId"));
    put(&mut d, "LaunchedAt", time(e.get("launchedAt")));
    d
}

fn ecr_details(e: &Value) -> Map<String, Value> {
    let mut d = Map::new();
    put_str(&mut d, "RegistryId", opt_str(e, "registry"));
    put_str(&mut d, "RepositoryName", opt_str(e, "repositoryName"));
    put_str(&mut d, "Architecture", opt_str(e, "architecture"));
    put_str(&mut d, "ImageDigest", opt_str(e, "imageHash"));
    put(&mut d, "ImageTags", string_list(e.get("imageTags")));
    put(&mut d, "ImagePublishedAt", time(e.get("pushedAt")));
    d
}

fn lambda_details(e: &Value) -> Map<String, Value> {
    let mut d = Map::new();
    put_str(&mut d, "FunctionName", opt_str(e, "functionName"));
    put_str(&mut d, "Runtime", opt_str(e, "runtime"));
    put_str(&mut d, "Version", opt_str(e, "version"));
    put_str(&mut d, "Role", opt_str(e, "executionRoleArn"));
    put_str(&mut d, "CodeSha256", opt_str(e, "codeSha256"));
    put_str(&mut d, "PackageType", opt_str(e, "packageType"));
    put(&mut d, "Architectures", string_list(e.get("architectures")));
    put(&mut d, "LastModified", time(e.get("lastModifiedAt")));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_with_inspectors_marker() {
        let cut = truncate_description(&"x".repeat(2000));
        assert_eq!(cut.chars().count(), 1024);
        assert!(cut.ends_with("x...Truncated"));
        assert_eq!(truncate_description("short"), "short");
    }

    #[test]
    fn severities_map_to_labels() {
        assert_eq!(severity_label("UNTRIAGED"), Some("INFORMATIONAL"));
        assert_eq!(severity_label("critical"), Some("CRITICAL"));
        assert_eq!(severity_label("SEVERE"), None);
    }
}
