//! AWS Config: rule evaluations (`Config Rules Compliance Change`) → one finding per rule and
//! resource (research note `producers.md` §2).
//!
//! Accepted input:
//! - the EventBridge event (`source` `aws.config`); every detail-type is accepted so that
//!   `--from auto` routes Config's other events here, and only `ComplianceChangeNotification`
//!   messages make findings (the others are [`Conversion::NoFinding`]);
//! - the SNS notification that Config sends to its delivery topic (`Message` as an object, as
//!   the Config Developer Guide prints it, or as the JSON string that SNS really carries);
//! - the bare notification body (the event's `detail`, or the SNS `Message`).
//!
//! Decisions where the documentation is silent (INF/UNV in the note):
//! - Id hash (INF): `<configRuleARN>/finding/` + the first 40 lower-case hex characters of
//!   SHA-256 over `configRuleARN|resourceType|resourceId`. Security Hub's algorithm is not
//!   documented and could not be reproduced; 40 hex characters is the length real Ids show, and
//!   these three inputs are what make "the same finding" across updates.
//! - complianceType → Compliance.Status (INF): COMPLIANT→PASSED, NON_COMPLIANT→FAILED,
//!   NOT_APPLICABLE→NOT_AVAILABLE, INSUFFICIENT_DATA→WARNING.
//! - Service-linked rules (INF): a rule whose ARN has `config-rule/aws-service-rule/` (the
//!   form of Security Hub's and conformance packs' rules) is excluded; whether conformance-pack
//!   rules really are excluded is UNV.
//! - Resources[0].Id (INF): the configuration item's ARN when the event carries one; else an ARN
//!   computed for the few types whose ARN follows from the resource id; else
//!   `<resourceType>:<resourceId>` (the form `AWS::::Account:<account>` seen in real findings).
//! - The configuration item (when a caller adds `configurationItem` to the notification)
//!   contributes its ARN and creation date only — never its tags — and its status
//!   (`ResourceDeleted` …) never archives the finding: Security Hub does not archive Config
//!   findings when their resource is deleted (UNV: recollection of the current user guide).

use crate::common::{
    FindingBase, asff_timestamp, at, checked, is_account_id, partition_of, resource_type_from_cfn, sha256_lower_hex,
    str_at,
};
use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use findinghub_asff::model::ShapeKind;
use serde_json::{Map, Value, json};

const PRODUCT_KEY: &str = "config";
const DETAIL_TYPE: &str = "Config Rules Compliance Change";
const COMPLIANCE_CHANGE: &str = "ComplianceChangeNotification";
/// The message types of Config's SNS notifications (Config Developer Guide, "Notifications that
/// AWS Config sends to an Amazon SNS topic").
const MESSAGE_TYPES: [&str; 8] = [
    "ComplianceChangeNotification",
    "ConfigurationItemChangeNotification",
    "OversizedConfigurationItemChangeNotification",
    "ConfigurationSnapshotDeliveryStarted",
    "ConfigurationSnapshotDeliveryCompleted",
    "ConfigurationSnapshotDeliveryFailed",
    "ConfigurationHistoryDeliveryCompleted",
    "ConfigRulesEvaluationStarted",
];

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(event: &Value) -> bool {
    if str_at(event, &["source"]) == Some("aws.config") {
        return true;
    }
    if let Some(message) = sns_message(event) {
        return is_config_message(&message);
    }
    is_config_message(event)
}

fn is_config_message(body: &Value) -> bool {
    str_at(body, &["messageType"]).is_some_and(|t| MESSAGE_TYPES.contains(&t))
}

/// The `Message` of an SNS notification, parsed when SNS carries it as a string.
fn sns_message(event: &Value) -> Option<Value> {
    if str_at(event, &["Type"]) != Some("Notification") {
        return None;
    }
    match event.get("Message")? {
        Value::String(text) => serde_json::from_str(text).ok(),
        other @ Value::Object(_) => Some(other.clone()),
        _ => None,
    }
}

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(Producer::Config, message)
}

/// The findings that Security Hub makes of the event.
pub fn convert(event: &Value, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    if !event.is_object() {
        return Err(err("expected a JSON object (an EventBridge event, an SNS notification or its message)"));
    }
    // The notification body, and the envelope's account and Region (EventBridge only).
    let (body, envelope_account, envelope_region, prefix) = if str_at(event, &["source"]) == Some("aws.config") {
        if str_at(event, &["detail-type"]) != Some(DETAIL_TYPE) {
            let kind = str_at(event, &["detail-type"]).unwrap_or("(no detail-type)");
            return Ok(Conversion::NoFinding(format!(
                "Config event '{kind}' is not a rule compliance change: only ComplianceChangeNotification makes findings"
            )));
        }
        let detail = event.get("detail").filter(|d| d.is_object()).ok_or_else(|| err("detail is missing"))?;
        (detail.clone(), str_at(event, &["account"]), str_at(event, &["region"]), "detail.")
    } else if str_at(event, &["Type"]) == Some("Notification") {
        let message = sns_message(event).ok_or_else(|| err("Message is missing or is not a JSON object"))?;
        (message, None, None, "Message.")
    } else {
        (event.clone(), None, None, "")
    };

    let message_type = str_at(&body, &["messageType"]).ok_or_else(|| err(format!("{prefix}messageType is missing")))?;
    if message_type != COMPLIANCE_CHANGE {
        return Ok(Conversion::NoFinding(format!(
            "Config message '{message_type}': only ComplianceChangeNotification makes or updates findings"
        )));
    }

    let field = |name: &str| -> Result<&str, ConvertError> {
        str_at(&body, &[name]).filter(|s| !s.is_empty()).ok_or_else(|| err(format!("{prefix}{name} is missing")))
    };
    let rule_arn = field("configRuleARN")?;
    let rule_name = field("configRuleName")?;
    if is_service_linked(rule_arn) {
        return Ok(Conversion::NoFinding(format!(
            "evaluation of the service-linked Config rule {rule_arn}: Security Hub excludes service-linked rules"
        )));
    }
    let new_result =
        at(&body, &["newEvaluationResult"]).ok_or_else(|| err(format!("{prefix}newEvaluationResult is missing")))?;
    let qualifier = at(new_result, &["evaluationResultIdentifier", "evaluationResultQualifier"]);
    let resource_type = str_at(&body, &["resourceType"])
        .or_else(|| qualifier.and_then(|q| str_at(q, &["resourceType"])))
        .ok_or_else(|| err(format!("{prefix}resourceType is missing")))?;
    let resource_id = str_at(&body, &["resourceId"])
        .or_else(|| qualifier.and_then(|q| str_at(q, &["resourceId"])))
        .ok_or_else(|| err(format!("{prefix}resourceId is missing")))?;
    let compliance_type = str_at(new_result, &["complianceType"])
        .ok_or_else(|| err(format!("{prefix}newEvaluationResult.complianceType is missing")))?;
    let status = compliance_status(compliance_type).ok_or_else(|| {
        err(format!(
            "{prefix}newEvaluationResult.complianceType '{compliance_type}' is not COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA"
        ))
    })?;
    let recorded = new_result
        .get("resultRecordedTime")
        .ok_or_else(|| err(format!("{prefix}newEvaluationResult.resultRecordedTime is missing")))?;
    let recorded = asff_timestamp(recorded)
        .ok_or_else(|| err(format!("{prefix}newEvaluationResult.resultRecordedTime is not a timestamp: {recorded}")))?;
    let account = str_at(&body, &["awsAccountId"])
        .or(envelope_account)
        .or(options.default_account.as_deref())
        .ok_or_else(|| err(format!("{prefix}awsAccountId is missing")))?;
    if !is_account_id(account) {
        return Err(err(format!("{prefix}awsAccountId '{account}' is not a 12-digit account id")));
    }
    let region = str_at(&body, &["awsRegion"])
        .or(envelope_region)
        .or(options.default_region.as_deref())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| err(format!("{prefix}awsRegion is missing")))?;

    let id = format!("{rule_arn}/finding/{}", finding_hash(rule_arn, resource_type, resource_id));
    let mut doc = FindingBase {
        product_key: PRODUCT_KEY,
        region,
        account,
        id,
        generator_id: rule_arn.to_owned(),
        types: vec!["Software and Configuration Checks".to_owned()],
        created_at: recorded.clone(),
        updated_at: recorded,
        severity_label: "MEDIUM",
        title: rule_name.to_owned(),
        description: format!("This finding is created for a resource compliance change for config rule: {rule_name}"),
    }
    .into_finding();
    doc.insert("ProductName".into(), json!("Config"));
    doc.insert("CompanyName".into(), json!("AWS"));
    doc.insert(
        "ProductFields".into(),
        json!({
            "aws/config/ConfigRuleArn": rule_arn,
            "aws/config/ConfigRuleName": rule_name,
            "aws/config/ConfigComplianceType": compliance_type,
        }),
    );
    let item = body.get("configurationItem").filter(|c| c.is_object());
    doc.insert("Resources".into(), json!([resource(resource_type, resource_id, account, region, item)]));
    doc.insert("Compliance".into(), json!({ "Status": status }));
    // Created PASSED → RESOLVED, else NEW. On updates the hub keeps the stored workflow and
    // applies the FAILED→PASSED / PASSED→FAILED rules itself.
    let workflow = if status == "PASSED" { "RESOLVED" } else { "NEW" };
    doc.insert("Workflow".into(), json!({ "Status": workflow }));
    Ok(Conversion::Findings(vec![checked(Producer::Config, doc)?]))
}

/// Whether the rule is a service-linked rule (Security Hub controls, conformance packs, …).
pub fn is_service_linked(rule_arn: &str) -> bool {
    rule_arn.contains(":config-rule/aws-service-rule/")
}

/// The Compliance.Status of a Config complianceType.
pub fn compliance_status(compliance_type: &str) -> Option<&'static str> {
    match compliance_type {
        "COMPLIANT" => Some("PASSED"),
        "NON_COMPLIANT" => Some("FAILED"),
        "NOT_APPLICABLE" => Some("NOT_AVAILABLE"),
        "INSUFFICIENT_DATA" => Some("WARNING"),
        _ => None,
    }
}

/// The stable 40-hex suffix of a Config finding's Id (see the module documentation).
pub fn finding_hash(rule_arn: &str, resource_type: &str, resource_id: &str) -> String {
    let mut hex = sha256_lower_hex(&format!("{rule_arn}|{resource_type}|{resource_id}"));
    hex.truncate(40);
    hex
}

fn resource(resource_type: &str, resource_id: &str, account: &str, region: &str, item: Option<&Value>) -> Value {
    let partition = partition_of(region);
    let asff_type = resource_type_from_cfn(resource_type);
    let item_arn = item.and_then(|i| str_at(i, &["ARN"]).or_else(|| str_at(i, &["arn"]))).filter(|a| !a.is_empty());
    let id = item_arn
        .map(str::to_owned)
        .or_else(|| computed_arn(resource_type, resource_id, partition, account, region))
        .unwrap_or_else(|| format!("{resource_type}:{resource_id}"));
    let mut out = Map::new();
    out.insert("Type".into(), json!(asff_type));
    out.insert("Id".into(), json!(id));
    out.insert("Partition".into(), json!(partition));
    out.insert("Region".into(), json!(region));
    let created = item.and_then(|i| i.get("resourceCreationTime")).and_then(asff_timestamp);
    if let Some(created) = created
        && let Some(details) = creation_details(asff_type, &created)
    {
        out.insert("Details".into(), details);
    }
    Value::Object(out)
}

/// `Details` holding the creation date under the member of the type's details that holds it.
fn creation_details(asff_type: &str, created: &str) -> Option<Value> {
    if asff_type == "Other" {
        return Some(json!({ "Other": { "CreatedAt": created } }));
    }
    let member = findinghub_asff::model::shape("ResourceDetails")?.members().iter().find(|m| m.name == asff_type)?;
    let field =
        ["CreatedAt", "CreateDate", "CreatedTime", "CreationDate", "CreationTime", "CreatedDate"]
            .into_iter()
            .find(|f| member.shape().members().iter().any(|m| m.name == *f && m.shape().kind == ShapeKind::String))?;
    let mut inner = Map::new();
    inner.insert(field.to_owned(), json!(created));
    let mut details = Map::new();
    details.insert(asff_type.to_owned(), Value::Object(inner));
    Some(Value::Object(details))
}

/// The ARN of a resource whose ARN follows from its id (INF: the computation Security Hub
/// does is not documented; these are the ARN formats of the services' documentation).
fn computed_arn(resource_type: &str, id: &str, partition: &str, account: &str, region: &str) -> Option<String> {
    if id.starts_with("arn:") {
        return Some(id.to_owned());
    }
    let ec2 = |kind: &str| Some(format!("arn:{partition}:ec2:{region}:{account}:{kind}/{id}"));
    match resource_type {
        "AWS::S3::Bucket" => Some(format!("arn:{partition}:s3:::{id}")),
        "AWS::EC2::Instance" => ec2("instance"),
        "AWS::EC2::SecurityGroup" => ec2("security-group"),
        "AWS::EC2::Volume" => ec2("volume"),
        "AWS::EC2::VPC" => ec2("vpc"),
        "AWS::EC2::Subnet" => ec2("subnet"),
        "AWS::EC2::NetworkInterface" => ec2("network-interface"),
        "AWS::EC2::NetworkAcl" => ec2("network-acl"),
        "AWS::EC2::InternetGateway" => ec2("internet-gateway"),
        "AWS::EC2::RouteTable" => ec2("route-table"),
        _ => None,
    }
}
