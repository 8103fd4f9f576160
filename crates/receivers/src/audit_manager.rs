//! Audit Manager evidence: findings that check a control become "Compliance check" evidence
//! records, filed in one folder per control and day (research notes §6).
//!
//! **Documented AWS behaviour** (Audit Manager user guide and API: `Evidence`,
//! `Evidence.complianceCheck`, examples of controls): evidence from the data source
//! "AWS Security Hub" has the type "Compliance check"; it is non-compliant when Security Hub
//! reports a fail, compliant when it reports a pass, and carries no compliance evaluation
//! otherwise; an `Evidence` has `dataSource`, `evidenceAwsAccountId`, `time`, `eventSource`,
//! `eventName`, `evidenceByType`, `resourcesIncluded[{arn, value, complianceCheck}]`,
//! `attributes` (a string map), `complianceCheck`, `evidenceFolderId`, `id`; evidence folders
//! are per control and per day.
//!
//! **Our proposal**: the control key (`Compliance.SecurityControlId`, else
//! `ProductFields.ControlId`, else the last segment of `ProductFields.StandardsControlArn`; AWS's
//! own keyword list per standard was not retrieved); `INCONCLUSIVE` for WARNING, NOT_AVAILABLE
//! or no status; the folder key `<control id>/<UTC day of UpdatedAt>`; an id that is a hash of
//! (finding Id, UpdatedAt), so that a finding version exported twice is one record;
//! `eventSource` `securityhub.amazonaws.com` and `eventName` `BatchImportFindings`; the attribute
//! names; the CSV columns.

use crate::finding::{self, ControlIdSource, str_at};
use findinghub_asff::timestamp::{Micros, format_timestamp};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;

pub const DATA_SOURCE: &str = "AWS Security Hub";
pub const EVIDENCE_BY_TYPE: &str = "Compliance check";
pub const EVENT_SOURCE: &str = "securityhub.amazonaws.com";
pub const EVENT_NAME: &str = "BatchImportFindings";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceCheck {
    Compliant,
    NonCompliant,
    Inconclusive,
}

impl ComplianceCheck {
    /// From `Compliance.Status`: PASSED, FAILED, anything else (WARNING, NOT_AVAILABLE, none).
    pub fn from_status(status: Option<&str>) -> ComplianceCheck {
        match status {
            Some("PASSED") => ComplianceCheck::Compliant,
            Some("FAILED") => ComplianceCheck::NonCompliant,
            _ => ComplianceCheck::Inconclusive,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceCheck::Compliant => "COMPLIANT",
            ComplianceCheck::NonCompliant => "NON_COMPLIANT",
            ComplianceCheck::Inconclusive => "INCONCLUSIVE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceResource {
    pub arn: String,
    /// The resource type (`AwsS3Bucket`).
    pub value: String,
    pub compliance_check: ComplianceCheck,
}

/// One evidence record; serialized with Audit Manager's member names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceRecord {
    pub id: String,
    pub data_source: &'static str,
    pub evidence_by_type: &'static str,
    pub event_source: &'static str,
    pub event_name: &'static str,
    pub compliance_check: ComplianceCheck,
    pub control_id: String,
    pub control_id_source: ControlIdSource,
    /// `<control id>/<YYYY-MM-DD>`.
    pub evidence_folder_id: String,
    /// The UTC day of `time`, `YYYY-MM-DD`.
    pub day: String,
    pub evidence_aws_account_id: String,
    pub region: String,
    /// The finding's `UpdatedAt`, normalised to UTC with milliseconds.
    pub time: String,
    #[serde(skip)]
    pub time_micros: Micros,
    pub resources_included: Vec<EvidenceResource>,
    pub attributes: BTreeMap<String, String>,
}

/// The evidence of a finding, `None` when it has no control id or no usable UpdatedAt.
pub fn evidence_of(finding: &Map<String, Value>) -> Option<EvidenceRecord> {
    let (control, source) = finding::control_id(finding)?;
    let time_micros = finding::timestamp(finding, "UpdatedAt")?;
    let check = ComplianceCheck::from_status(finding::compliance_status(finding));
    let day = finding::utc_day(time_micros);
    let id = finding::id(finding);
    let mut hash = Sha256::new();
    hash.update(id.as_bytes());
    hash.update([0]);
    hash.update(time_micros.to_be_bytes());
    let digest = hex::encode(hash.finalize());

    let resources_included = finding::resources(finding)
        .filter_map(|r| {
            Some(EvidenceResource {
                arn: r.get("Id")?.as_str()?.to_owned(),
                value: r.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned(),
                compliance_check: check,
            })
        })
        .collect();

    let mut attributes = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attributes.insert(k.to_owned(), v.to_owned());
        }
    };
    put("findingId", Some(id));
    put("productArn", Some(finding::product_arn(finding)));
    put("generatorId", str_at(finding, &["GeneratorId"]));
    put("title", str_at(finding, &["Title"]));
    put("severity", Some(finding::severity_label(finding)));
    put("complianceStatus", finding::compliance_status(finding));
    put("workflowStatus", Some(finding::workflow_status(finding)));
    put("recordState", Some(finding::record_state(finding)));
    put("securityControlId", str_at(finding, &["Compliance", "SecurityControlId"]));
    put("controlId", str_at(finding, &["ProductFields", "ControlId"]));
    put("standardsControlArn", str_at(finding, &["ProductFields", "StandardsControlArn"]));
    put("standardsArn", str_at(finding, &["ProductFields", "StandardsArn"]));
    put("standardsSubscriptionArn", str_at(finding, &["ProductFields", "StandardsSubscriptionArn"]));
    let standards: Vec<&str> = finding
        .get("Compliance")
        .and_then(|c| c.get("AssociatedStandards"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("StandardsId").and_then(Value::as_str))
        .collect();
    put("associatedStandards", Some(&standards.join(",")));

    Some(EvidenceRecord {
        id: digest[..32].to_owned(),
        data_source: DATA_SOURCE,
        evidence_by_type: EVIDENCE_BY_TYPE,
        event_source: EVENT_SOURCE,
        event_name: EVENT_NAME,
        compliance_check: check,
        control_id: control.to_owned(),
        control_id_source: source,
        evidence_folder_id: format!("{control}/{day}"),
        day,
        evidence_aws_account_id: str_at(finding, &["AwsAccountId"]).unwrap_or_default().to_owned(),
        region: str_at(finding, &["Region"]).unwrap_or_default().to_owned(),
        time: format_timestamp(time_micros),
        time_micros,
        resources_included,
        attributes,
    })
}

/// Which records an export takes: `from <= time < to`, and one control when given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceQuery {
    pub from: Option<Micros>,
    pub to: Option<Micros>,
    pub control_id: Option<String>,
}

impl EvidenceQuery {
    pub fn matches(&self, r: &EvidenceRecord) -> bool {
        self.from.is_none_or(|f| r.time_micros >= f)
            && self.to.is_none_or(|t| r.time_micros < t)
            && self.control_id.as_deref().is_none_or(|c| c == r.control_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes the records as one JSON array (Audit Manager's member names), with a final newline.
pub fn write_json<'a>(
    records: impl IntoIterator<Item = &'a EvidenceRecord>,
    mut out: impl Write,
) -> Result<(), ExportError> {
    let all: Vec<&EvidenceRecord> = records.into_iter().collect();
    serde_json::to_writer_pretty(&mut out, &all)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

pub const CSV_COLUMNS: [&str; 14] = [
    "id",
    "time",
    "evidenceFolderId",
    "controlId",
    "complianceCheck",
    "evidenceAwsAccountId",
    "region",
    "resourceArns",
    "findingId",
    "productArn",
    "title",
    "severity",
    "dataSource",
    "evidenceByType",
];

/// Writes the records as CSV with a header row; several resource ARNs are joined with spaces.
pub fn write_csv<'a>(
    records: impl IntoIterator<Item = &'a EvidenceRecord>,
    out: impl Write,
) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for r in records {
        let arns: Vec<&str> = r.resources_included.iter().map(|x| x.arn.as_str()).collect();
        let attr = |k: &str| r.attributes.get(k).map(String::as_str).unwrap_or_default();
        w.write_record([
            r.id.as_str(),
            &r.time,
            &r.evidence_folder_id,
            &r.control_id,
            r.compliance_check.as_str(),
            &r.evidence_aws_account_id,
            &r.region,
            &arns.join(" "),
            attr("findingId"),
            attr("productArn"),
            attr("title"),
            attr("severity"),
            r.data_source,
            r.evidence_by_type,
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use findinghub_asff::timestamp::parse_timestamp;
    use serde_json::json;

    fn pci_finding() -> Map<String, Value> {
        let mut f = samples::control_finding();
        if let Some(Value::Object(c)) = f.get_mut("Compliance") {
            c.remove("SecurityControlId");
        }
        let pf = f.get_mut("ProductFields").and_then(Value::as_object_mut).expect("product fields");
        pf.insert("ControlId".into(), json!("PCI.S3.1"));
        pf.insert(
            "StandardsControlArn".into(),
            json!("arn:aws:securityhub:us-east-1:123456789012:control/pci-dss/v/3.2.1/PCI.S3.1"),
        );
        pf.insert("StandardsArn".into(), json!("arn:aws:securityhub:::standards/pci-dss/v/3.2.1"));
        f
    }

    #[test]
    fn a_failed_control_finding_is_non_compliant_evidence_in_its_control_and_day_folder() {
        let f = samples::control_finding();
        let r = evidence_of(&f).expect("evidence");
        assert_eq!(r.compliance_check, ComplianceCheck::NonCompliant);
        assert_eq!(r.control_id, "S3.8");
        assert_eq!(r.control_id_source, ControlIdSource::SecurityControlId);
        assert_eq!(r.evidence_folder_id, "S3.8/2024-05-02");
        assert_eq!(r.day, "2024-05-02");
        assert_eq!(r.time, "2024-05-02T10:00:00.000Z");
        assert_eq!(r.evidence_aws_account_id, "123456789012");
        assert_eq!(r.region, "us-east-1");
        assert_eq!(r.data_source, "AWS Security Hub");
        assert_eq!(r.evidence_by_type, "Compliance check");
        assert_eq!(
            r.resources_included,
            vec![EvidenceResource {
                arn: "arn:aws:s3:::example-bucket".into(),
                value: "AwsS3Bucket".into(),
                compliance_check: ComplianceCheck::NonCompliant
            }]
        );
        assert_eq!(r.attributes["findingId"], f["Id"].as_str().unwrap_or_default());
        assert_eq!(r.attributes["associatedStandards"], "standards/aws-foundational-security-best-practices/v/1.0.0");
        assert_eq!(r.attributes["complianceStatus"], "FAILED");
        assert_eq!(r.id.len(), 32);
        assert_eq!(evidence_of(&f).map(|x| x.id), Some(r.id.clone()), "the same version is the same record");
        let mut later = f.clone();
        later.insert("UpdatedAt".into(), json!("2024-05-03T00:00:00Z"));
        let l = evidence_of(&later).expect("evidence");
        assert_ne!(l.id, r.id);
        assert_eq!(l.evidence_folder_id, "S3.8/2024-05-03");
    }

    #[test]
    fn compliance_status_maps_to_the_check() {
        for (status, check) in [
            (Some("PASSED"), ComplianceCheck::Compliant),
            (Some("FAILED"), ComplianceCheck::NonCompliant),
            (Some("WARNING"), ComplianceCheck::Inconclusive),
            (Some("NOT_AVAILABLE"), ComplianceCheck::Inconclusive),
            (None, ComplianceCheck::Inconclusive),
        ] {
            let mut f = samples::control_finding();
            match status {
                Some(s) => f.insert("Compliance".into(), json!({"Status": s, "SecurityControlId": "S3.8"})),
                None => f.insert("Compliance".into(), json!({"SecurityControlId": "S3.8"})),
            };
            assert_eq!(evidence_of(&f).map(|r| r.compliance_check), Some(check), "{status:?}");
        }
    }

    #[test]
    fn standard_specific_ids_are_the_fallback() {
        let r = evidence_of(&pci_finding()).expect("evidence");
        assert_eq!(r.control_id, "PCI.S3.1");
        assert_eq!(r.control_id_source, ControlIdSource::ProductFieldsControlId);
        assert_eq!(r.attributes["standardsArn"], "arn:aws:securityhub:::standards/pci-dss/v/3.2.1");
        let mut arn_only = pci_finding();
        if let Some(Value::Object(pf)) = arn_only.get_mut("ProductFields") {
            pf.remove("ControlId");
        }
        let r = evidence_of(&arn_only).expect("evidence");
        assert_eq!((r.control_id.as_str(), r.control_id_source), ("PCI.S3.1", ControlIdSource::StandardsControlArn));
    }

    #[test]
    fn findings_without_a_control_are_not_evidence() {
        assert!(evidence_of(&samples::asff(samples::GUARDDUTY_SSH)).is_none());
        // A Config rule finding has Compliance.Status but no control id.
        assert!(evidence_of(&samples::asff(samples::CONFIG)).is_none());
        let mut no_time = samples::control_finding();
        no_time.remove("UpdatedAt");
        assert!(evidence_of(&no_time).is_none());
    }

    #[test]
    fn queries_take_a_time_range_and_a_control() {
        let r = evidence_of(&samples::control_finding()).expect("evidence");
        let t = |s: &str| parse_timestamp(s).expect("timestamp");
        assert!(EvidenceQuery::default().matches(&r));
        assert!(
            EvidenceQuery {
                from: Some(t("2024-05-02T00:00:00Z")),
                to: Some(t("2024-05-03T00:00:00Z")),
                control_id: None
            }
            .matches(&r)
        );
        assert!(!EvidenceQuery { from: Some(t("2024-05-02T10:00:00.001Z")), ..Default::default() }.matches(&r));
        assert!(
            !EvidenceQuery { to: Some(t("2024-05-02T10:00:00Z")), ..Default::default() }.matches(&r),
            "to is exclusive"
        );
        assert!(EvidenceQuery { control_id: Some("S3.8".into()), ..Default::default() }.matches(&r));
        assert!(!EvidenceQuery { control_id: Some("IAM.1".into()), ..Default::default() }.matches(&r));
    }

    #[test]
    fn json_export_uses_audit_managers_member_names() {
        let records = [
            evidence_of(&samples::control_finding()).expect("evidence"),
            evidence_of(&pci_finding()).expect("evidence"),
        ];
        let mut out = Vec::new();
        write_json(&records, &mut out).expect("write");
        let v: Value = serde_json::from_slice(&out).expect("json");
        let first = &v[0];
        assert_eq!(v.as_array().map(Vec::len), Some(2));
        assert_eq!(first["complianceCheck"], "NON_COMPLIANT");
        assert_eq!(first["dataSource"], "AWS Security Hub");
        assert_eq!(first["evidenceByType"], "Compliance check");
        assert_eq!(first["evidenceFolderId"], "S3.8/2024-05-02");
        assert_eq!(first["evidenceAwsAccountId"], "123456789012");
        assert_eq!(
            first["resourcesIncluded"][0],
            json!({"arn": "arn:aws:s3:::example-bucket", "value": "AwsS3Bucket", "complianceCheck": "NON_COMPLIANT"})
        );
        assert_eq!(first["controlIdSource"], "SecurityControlId");
        assert!(first.get("timeMicros").is_none());
        let mut empty = Vec::new();
        write_json(&[], &mut empty).expect("write");
        assert_eq!(String::from_utf8_lossy(&empty).trim(), "[]");
    }

    #[test]
    fn csv_export_has_a_header_and_one_row_per_record_with_quoting() {
        let mut f = samples::control_finding();
        f.insert("Title".into(), json!("Buckets, \"public\" ones"));
        f.insert(
            "Resources".into(),
            json!([{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::a"}, {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}]),
        );
        let records = [evidence_of(&f).expect("evidence")];
        let mut out = Vec::new();
        write_csv(&records, &mut out).expect("write");
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
        assert_eq!(header, CSV_COLUMNS);
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(&row[3], "S3.8");
        assert_eq!(&row[4], "NON_COMPLIANT");
        assert_eq!(&row[7], "arn:aws:s3:::a arn:aws:s3:::b");
        assert_eq!(&row[10], "Buckets, \"public\" ones");
        assert_eq!(&row[12], "AWS Security Hub");
    }
}
