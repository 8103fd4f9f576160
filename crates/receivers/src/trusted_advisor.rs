//! Trusted Advisor checks: one check per Security Hub control, with its status and flagged
//! resources (research notes §7).
//!
//! **Documented AWS behaviour** (AWS Support user guide, "Security Hub controls with Trusted
//! Advisor"; Trusted Advisor and Support APIs): Security Hub sends the results of its AWS
//! Foundational Security Best Practices (FSBP) controls, except those of the category
//! **Recover > Resilience**, as checks of the Security category; a check's alert criteria are
//! "Red: Critical or High" failures; findings whose workflow is SUPPRESSED show as excluded items;
//! archived findings leave Trusted Advisor; a check result has a status
//! (`ok | warning | error | not_available`), a resource summary (processed, flagged,
//! suppressed) and flagged resources (status, Region, resource id, isSuppressed).
//!
//! **Our proposal**: yellow for MEDIUM, LOW or INFORMATIONAL failures and for WARNING results,
//! green when every evaluated resource passes, not available when nothing was evaluated; one
//! resource per (resource id, Region), its newest finding deciding; only ACTIVE findings count;
//! NOT_AVAILABLE results are not evaluated. The findings do not carry a control's category, so the
//! Recover > Resilience controls are a list, [`RESILIENCE_CONTROLS`], recalled from the Security
//! Hub controls reference (unverified, and configurable through [`AdvisorOptions`]).

use crate::finding::{self, str_at};
use findinghub_asff::timestamp::Micros;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// FSBP controls of the category Recover > Resilience (backups enabled, high availability), as
/// recalled from the controls reference; not sent to Trusted Advisor.
pub const RESILIENCE_CONTROLS: [&str; 22] = [
    "AutoScaling.2",
    "CloudFront.4",
    "DocumentDB.2",
    "DynamoDB.1",
    "DynamoDB.2",
    "EC2.28",
    "EFS.2",
    "ELB.10",
    "ELB.13",
    "ElastiCache.1",
    "ElastiCache.3",
    "ES.6",
    "Lambda.5",
    "MQ.5",
    "Neptune.5",
    "NetworkFirewall.1",
    "OpenSearch.6",
    "RDS.5",
    "RDS.11",
    "RDS.14",
    "RDS.15",
    "Redshift.3",
];

const FSBP: &str = "aws-foundational-security-best-practices";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisorOptions {
    /// Only findings of FSBP controls, as Trusted Advisor receives them.
    pub fsbp_only: bool,
    /// Controls that get no check.
    pub excluded_controls: Vec<String>,
}

impl Default for AdvisorOptions {
    fn default() -> Self {
        AdvisorOptions {
            fsbp_only: true,
            excluded_controls: RESILIENCE_CONTROLS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// A check's or a flagged resource's status, in the order of urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvisorStatus {
    Red,
    Yellow,
    Green,
    NotAvailable,
}

impl AdvisorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AdvisorStatus::Red => "red",
            AdvisorStatus::Yellow => "yellow",
            AdvisorStatus::Green => "green",
            AdvisorStatus::NotAvailable => "not available",
        }
    }

    /// The legacy Support API's name: `error`, `warning`, `ok`, `not_available`.
    pub fn support_api_status(self) -> &'static str {
        match self {
            AdvisorStatus::Red => "error",
            AdvisorStatus::Yellow => "warning",
            AdvisorStatus::Green => "ok",
            AdvisorStatus::NotAvailable => "not_available",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedResource {
    pub status: AdvisorStatus,
    pub region: String,
    pub resource_id: String,
    pub resource_type: String,
    pub severity: String,
    pub finding_id: String,
    pub is_suppressed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvisorCheck {
    /// The control id (`S3.8`).
    pub check_id: String,
    pub title: String,
    pub source: &'static str,
    pub status: AdvisorStatus,
    pub recommended_action_url: Option<String>,
    /// Resources evaluated (passing, failing or suppressed).
    pub resources_processed: usize,
    /// Resources failing and not suppressed.
    pub resources_flagged: usize,
    /// Evaluated resources whose finding is SUPPRESSED: "excluded items".
    pub resources_suppressed: usize,
    /// Failing resources, suppressed ones included (with `is_suppressed`), most urgent first.
    pub flagged_resources: Vec<FlaggedResource>,
}

/// One resource's latest result for a control.
struct Latest<'a> {
    updated: Micros,
    finding: &'a Map<String, Value>,
}

fn is_fsbp(f: &Map<String, Value>) -> bool {
    let in_associated = f
        .get("Compliance")
        .and_then(|c| c.get("AssociatedStandards"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("StandardsId").and_then(Value::as_str))
        .any(|s| s.contains(FSBP));
    in_associated
        || [&["ProductFields", "StandardsArn"][..], &["ProductFields", "StandardsGuideArn"], &["GeneratorId"]]
            .iter()
            .any(|p| str_at(f, p).is_some_and(|s| s.contains(FSBP)))
}

/// The checks for a set of findings, most urgent first, then by control id.
pub fn checks<'a>(
    findings: impl IntoIterator<Item = &'a Map<String, Value>>,
    options: &AdvisorOptions,
) -> Vec<AdvisorCheck> {
    let mut by_control: BTreeMap<String, BTreeMap<(String, String), Latest<'a>>> = BTreeMap::new();
    for f in findings {
        let Some((control, _)) = finding::control_id(f) else { continue };
        if finding::record_state(f) != "ACTIVE"
            || (options.fsbp_only && !is_fsbp(f))
            || options.excluded_controls.iter().any(|c| c == control)
        {
            continue;
        }
        let (resource, region) = (
            finding::first_resource(f).map(|(_, id)| id).unwrap_or_default().to_owned(),
            str_at(f, &["Region"]).unwrap_or_default().to_owned(),
        );
        let updated = finding::timestamp(f, "UpdatedAt").unwrap_or(Micros::MIN);
        let slot = by_control.entry(control.to_owned()).or_default();
        match slot.get(&(resource.clone(), region.clone())) {
            Some(prev) if prev.updated > updated => {}
            _ => {
                slot.insert((resource, region), Latest { updated, finding: f });
            }
        }
    }
    let mut out: Vec<AdvisorCheck> =
        by_control.into_iter().map(|(control, resources)| check(control, resources)).collect();
    out.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| natural_key(&a.check_id).cmp(&natural_key(&b.check_id))));
    out
}

fn check(control: String, resources: BTreeMap<(String, String), Latest<'_>>) -> AdvisorCheck {
    let newest = resources.values().max_by_key(|l| l.updated).map(|l| l.finding);
    let mut processed = 0;
    let mut suppressed = 0;
    let mut flagged = Vec::new();
    for ((resource_id, region), latest) in &resources {
        let f = latest.finding;
        let severity = finding::severity_label(f);
        let status = match finding::compliance_status(f) {
            Some("PASSED") => None,
            Some("FAILED") if matches!(severity, "CRITICAL" | "HIGH") => Some(AdvisorStatus::Red),
            Some("FAILED" | "WARNING") => Some(AdvisorStatus::Yellow),
            _ => continue, // NOT_AVAILABLE or no result: not evaluated
        };
        let is_suppressed = finding::workflow_status(f) == "SUPPRESSED";
        processed += 1;
        suppressed += usize::from(is_suppressed);
        let Some(status) = status else { continue };
        flagged.push(FlaggedResource {
            status,
            region: region.clone(),
            resource_id: resource_id.clone(),
            resource_type: finding::first_resource(f).map(|(t, _)| t).unwrap_or_default().to_owned(),
            severity: severity.to_owned(),
            finding_id: finding::id(f).to_owned(),
            is_suppressed,
        });
    }
    flagged.sort_by(|a, b| {
        (a.is_suppressed, a.status, &a.region, &a.resource_id).cmp(&(
            b.is_suppressed,
            b.status,
            &b.region,
            &b.resource_id,
        ))
    });
    let active = || flagged.iter().filter(|r| !r.is_suppressed);
    let status = match active().map(|r| r.status).min() {
        Some(s) => s,
        None if processed > 0 => AdvisorStatus::Green,
        None => AdvisorStatus::NotAvailable,
    };
    let resources_flagged = active().count();
    AdvisorCheck {
        title: newest.and_then(|f| str_at(f, &["Title"])).unwrap_or(&control).to_owned(),
        recommended_action_url: newest
            .and_then(|f| str_at(f, &["Remediation", "Recommendation", "Url"]))
            .map(str::to_owned),
        check_id: control,
        source: "AWS Security Hub",
        status,
        resources_processed: processed,
        resources_flagged,
        resources_suppressed: suppressed,
        flagged_resources: flagged,
    }
}

/// `S3.10` after `S3.9`: the service, then the number.
fn natural_key(id: &str) -> (String, u64, String) {
    match id.rsplit_once('.') {
        Some((service, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
            (service.to_owned(), n.parse().unwrap_or(u64::MAX), String::new())
        }
        _ => (id.to_owned(), 0, id.to_owned()),
    }
}

/// A plain-text table for `findinghub advisor`: one line per check, then the flagged resources
/// of the red and yellow checks.
pub fn render_table(checks: &[AdvisorCheck]) -> String {
    const TITLE_MAX: usize = 70;
    let id_width = checks.iter().map(|c| c.check_id.chars().count()).max().unwrap_or(0).max("CHECK".len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<13} {:<id_width$} {:>7} {:>8} {:>9}  TITLE",
        "STATUS", "CHECK", "FLAGGED", "EXCLUDED", "PROCESSED"
    );
    for c in checks {
        let title: String = if c.title.chars().count() > TITLE_MAX {
            c.title.chars().take(TITLE_MAX - 1).chain(std::iter::once('…')).collect()
        } else {
            c.title.clone()
        };
        let _ = writeln!(
            out,
            "{:<13} {:<id_width$} {:>7} {:>8} {:>9}  {title}",
            c.status.as_str(),
            c.check_id,
            c.resources_flagged,
            c.resources_suppressed,
            c.resources_processed
        );
    }
    let red = checks.iter().filter(|c| c.status == AdvisorStatus::Red).count();
    let yellow = checks.iter().filter(|c| c.status == AdvisorStatus::Yellow).count();
    let green = checks.iter().filter(|c| c.status == AdvisorStatus::Green).count();
    let _ = writeln!(out, "\n{} checks: {red} red, {yellow} yellow, {green} green", checks.len());
    for c in checks.iter().filter(|c| matches!(c.status, AdvisorStatus::Red | AdvisorStatus::Yellow)) {
        let _ = writeln!(out, "\n{} {} ({})", c.check_id, c.title, c.status.as_str());
        for r in c.flagged_resources.iter().filter(|r| !r.is_suppressed) {
            let _ = writeln!(out, "  {:<6} {:<13} {:<9} {}", r.status.as_str(), r.region, r.severity, r.resource_id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use serde_json::json;

    /// A consolidated FSBP control finding for one resource.
    fn control(id: &str, resource: &str, status: &str, label: &str) -> Map<String, Value> {
        let mut f = samples::control_finding();
        f.insert(
            "Id".into(),
            json!(format!("arn:aws:securityhub:us-east-1:123456789012:security-control/{id}/finding/{resource}")),
        );
        f.insert("Title".into(), json!(format!("Control {id}")));
        f.insert(
            "Compliance".into(),
            json!({"Status": status, "SecurityControlId": id,
            "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}]}),
        );
        f.insert("Severity".into(), json!({"Label": label}));
        f.insert("Resources".into(), json!([{"Type": "AwsS3Bucket", "Id": resource, "Region": "us-east-1"}]));
        f
    }

    fn with(mut f: Map<String, Value>, k: &str, v: Value) -> Map<String, Value> {
        f.insert(k.into(), v);
        f
    }

    #[test]
    fn status_is_red_for_critical_or_high_failures_yellow_for_others_green_when_passing() {
        let findings = [
            control("S3.8", "arn:aws:s3:::a", "FAILED", "HIGH"),
            control("S3.8", "arn:aws:s3:::b", "PASSED", "HIGH"),
            control("S3.1", "arn:aws:s3:::a", "FAILED", "MEDIUM"),
            control("S3.1", "arn:aws:s3:::b", "FAILED", "LOW"),
            control("IAM.1", "arn:aws:iam::123456789012:policy/p", "PASSED", "HIGH"),
            control("S3.9", "arn:aws:s3:::a", "NOT_AVAILABLE", "MEDIUM"),
            control("S3.10", "arn:aws:s3:::a", "WARNING", "CRITICAL"),
        ];
        let got = checks(findings.iter(), &AdvisorOptions::default());
        let summary: Vec<(&str, AdvisorStatus, usize, usize)> =
            got.iter().map(|c| (c.check_id.as_str(), c.status, c.resources_flagged, c.resources_processed)).collect();
        assert_eq!(
            summary,
            vec![
                ("S3.8", AdvisorStatus::Red, 1, 2),
                ("S3.1", AdvisorStatus::Yellow, 2, 2),
                ("S3.10", AdvisorStatus::Yellow, 1, 1),
                ("IAM.1", AdvisorStatus::Green, 0, 1),
                ("S3.9", AdvisorStatus::NotAvailable, 0, 0),
            ]
        );
        let s38 = &got[0];
        assert_eq!(s38.title, "Control S3.8");
        assert_eq!(s38.source, "AWS Security Hub");
        assert_eq!(
            s38.recommended_action_url.as_deref(),
            Some("https://docs.aws.amazon.com/console/securityhub/S3.8/remediation")
        );
        assert_eq!(s38.flagged_resources[0].resource_id, "arn:aws:s3:::a");
        assert_eq!(s38.flagged_resources[0].status, AdvisorStatus::Red);
        assert_eq!(AdvisorStatus::Red.support_api_status(), "error");
    }

    #[test]
    fn suppressed_failures_are_excluded_and_do_not_colour_the_check() {
        let suppressed =
            with(control("S3.8", "arn:aws:s3:::a", "FAILED", "CRITICAL"), "Workflow", json!({"Status": "SUPPRESSED"}));
        let findings = [suppressed, control("S3.8", "arn:aws:s3:::b", "PASSED", "CRITICAL")];
        let got = checks(findings.iter(), &AdvisorOptions::default());
        assert_eq!(got[0].status, AdvisorStatus::Green);
        assert_eq!((got[0].resources_flagged, got[0].resources_suppressed, got[0].resources_processed), (0, 1, 2));
        assert!(got[0].flagged_resources[0].is_suppressed);
        let passing_but_suppressed =
            with(control("S3.8", "arn:aws:s3:::c", "PASSED", "CRITICAL"), "Workflow", json!({"Status": "SUPPRESSED"}));
        let got = checks([&passing_but_suppressed], &AdvisorOptions::default());
        assert_eq!(
            (got[0].status, got[0].resources_suppressed, got[0].flagged_resources.len()),
            (AdvisorStatus::Green, 1, 0)
        );
    }

    #[test]
    fn the_newest_finding_of_a_resource_decides_and_archived_ones_do_not_count() {
        let old = with(control("S3.8", "arn:aws:s3:::a", "FAILED", "HIGH"), "UpdatedAt", json!("2024-05-01T00:00:00Z"));
        let new = with(control("S3.8", "arn:aws:s3:::a", "PASSED", "HIGH"), "UpdatedAt", json!("2024-05-03T00:00:00Z"));
        let got = checks([&new, &old], &AdvisorOptions::default());
        assert_eq!((got[0].status, got[0].resources_processed), (AdvisorStatus::Green, 1));
        let archived = with(control("S3.8", "arn:aws:s3:::z", "FAILED", "HIGH"), "RecordState", json!("ARCHIVED"));
        let got = checks([&new, &archived], &AdvisorOptions::default());
        assert_eq!(got[0].status, AdvisorStatus::Green);
        // The same resource in two Regions is two resources.
        let other_region = with(control("S3.8", "arn:aws:s3:::a", "FAILED", "HIGH"), "Region", json!("eu-west-1"));
        let got = checks([&new, &other_region], &AdvisorOptions::default());
        assert_eq!((got[0].status, got[0].resources_processed), (AdvisorStatus::Red, 2));
        assert_eq!(got[0].flagged_resources[0].region, "eu-west-1");
    }

    #[test]
    fn resilience_controls_and_other_standards_are_left_out_by_default() {
        let rds = control("RDS.5", "arn:aws:rds:us-east-1:123456789012:db:x", "FAILED", "MEDIUM");
        let mut cis = control("IAM.4", "AWS::::Account:123456789012", "FAILED", "CRITICAL");
        cis.insert(
            "Compliance".into(),
            json!({"Status": "FAILED", "SecurityControlId": "IAM.4",
            "AssociatedStandards": [{"StandardsId": "ruleset/cis-aws-foundations-benchmark/v/1.2.0"}]}),
        );
        let config = samples::asff(samples::CONFIG); // no control id
        let gd = samples::asff(samples::GUARDDUTY_SSH);
        assert!(checks([&rds, &cis, &config, &gd], &AdvisorOptions::default()).is_empty());
        let all = AdvisorOptions { fsbp_only: false, excluded_controls: Vec::new() };
        let ids: Vec<String> = checks([&rds, &cis], &all).into_iter().map(|c| c.check_id).collect();
        assert_eq!(ids, vec!["IAM.4", "RDS.5"]);
        // A standard-specific FSBP finding (no consolidated id) is found by its StandardsArn.
        let mut legacy = control("x", "arn:aws:s3:::a", "FAILED", "HIGH");
        legacy.insert("Compliance".into(), json!({"Status": "FAILED"}));
        legacy.insert(
            "ProductFields".into(),
            json!({"ControlId": "S3.2",
            "StandardsArn": "arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0"}),
        );
        let got = checks([&legacy], &AdvisorOptions::default());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].check_id, "S3.2");
        assert!(RESILIENCE_CONTROLS.contains(&"RDS.5"));
    }

    #[test]
    fn the_table_lists_checks_and_the_flagged_resources() {
        let findings = [
            control("S3.8", "arn:aws:s3:::a", "FAILED", "HIGH"),
            control("IAM.1", "arn:aws:iam::123456789012:policy/p", "PASSED", "HIGH"),
        ];
        let table = render_table(&checks(findings.iter(), &AdvisorOptions::default()));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "STATUS        CHECK FLAGGED EXCLUDED PROCESSED  TITLE");
        assert_eq!(lines[1], "red           S3.8        1        0         1  Control S3.8");
        assert_eq!(lines[2], "green         IAM.1       0        0         1  Control IAM.1");
        assert!(table.contains("2 checks: 1 red, 0 yellow, 1 green"));
        assert!(table.contains("  red    us-east-1     HIGH      arn:aws:s3:::a"), "{table}");
        assert!(!table.contains("arn:aws:iam::123456789012:policy/p"), "passing resources are not listed");
        assert_eq!(render_table(&[]).lines().nth(2), Some("0 checks: 0 red, 0 yellow, 0 green"));
    }

    #[test]
    fn checks_serialise_for_an_endpoint() {
        let findings = [control("S3.8", "arn:aws:s3:::a", "FAILED", "HIGH")];
        let v = serde_json::to_value(checks(findings.iter(), &AdvisorOptions::default())).expect("json");
        assert_eq!(v[0]["checkId"], "S3.8");
        assert_eq!(v[0]["status"], "red");
        assert_eq!(v[0]["resourcesFlagged"], 1);
        assert_eq!(v[0]["flaggedResources"][0]["isSuppressed"], false);
    }
}
