//! ASFF → OCSF 1.1.0, as Security Lake's `SH_FINDINGS` 2.0 source maps Security Hub findings
//! (`../shared/research/consumers-ocsf.md` §1.1–§1.2, from the AWS-contributed mapping dossiers).
//!
//! Choices that AWS does not publish, marked *(ours)*:
//! - the class predicate (AWS says only "ProductArn based"): `select_class`;
//! - an Inspector finding without `Vulnerabilities` (Inspector Classic's network reachability) is
//!   not a Vulnerability Finding, whose `vulnerabilities` is required and would be empty;
//! - `status_id`: NEW 1, NOTIFIED 99 with `status` "Notified", SUPPRESSED 3, RESOLVED 4;
//! - what goes to `unmapped`, under ASFF dotted paths: every member with no OCSF home, objects
//!   flattened (`Note.UpdatedBy`), arrays and other non-strings as JSON text; `ProductFields.<key>`
//!   except the keys consumed by the evidences and the two `aws/securityhub/ProductName` and
//!   `…/CompanyName` copies of mapped fields; `FindingProviderFields` members only where they differ
//!   from the top-level member that they mirror; resource tags under `Resources[].Tags.<key>` for the
//!   first resource (the shared example's key) and `Resources[<i>].Tags.<key>` for the others; for
//!   the two classes that have a single `resource`, the other resources as JSON text under
//!   `Resources[<i>]`.

use crate::LakeError;
use crate::ocsf::*;
use findinghub_asff::severity::label_from_normalized;
use findinghub_asff::timestamp::parse_timestamp;
use findinghub_hub::products::{ProductArn, builtin_names};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Finding = Map<String, Value>;

/// `unmapped` as it is filled: keys are dotted ASFF paths, values borrowed where the ASFF value
/// is a string.
type Unmapped<'a> = BTreeMap<Text<'a>, Text<'a>>;

/// Looks up a member of an ASFF object.
trait Lookup<'a> {
    fn member(&self, key: &str) -> Option<&'a Value>;
}

impl<'a> Lookup<'a> for &'a Map<String, Value> {
    fn member(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }
}

/// An ASFF finding with the top-level members that the mapping reads found in one pass: the
/// mapping looks up some forty of them, and each lookup in the finding's map is a walk of string
/// comparisons; here it is one `match` on the name.
struct Asff<'a> {
    map: &'a Finding,
    members: [Option<&'a Value>; ASFF_MEMBERS],
}

const ASFF_MEMBERS: usize = 28;

/// The place of a top-level member in `Asff::members`.
fn member_slot(key: &str) -> Option<usize> {
    Some(match key {
        "AwsAccountId" => 0,
        "CompanyName" => 1,
        "Compliance" => 2,
        "Confidence" => 3,
        "CreatedAt" => 4,
        "Criticality" => 5,
        "Description" => 6,
        "FindingProviderFields" => 7,
        "FirstObservedAt" => 8,
        "GeneratorId" => 9,
        "Id" => 10,
        "LastObservedAt" => 11,
        "Note" => 12,
        "ProcessedAt" => 13,
        "ProductArn" => 14,
        "ProductFields" => 15,
        "ProductName" => 16,
        "Region" => 17,
        "Remediation" => 18,
        "Resources" => 19,
        "SchemaVersion" => 20,
        "Severity" => 21,
        "SourceUrl" => 22,
        "Title" => 23,
        "Types" => 24,
        "UpdatedAt" => 25,
        "Vulnerabilities" => 26,
        "Workflow" => 27,
        _ => return None,
    })
}

impl<'a> Asff<'a> {
    fn new(map: &'a Finding) -> Asff<'a> {
        let mut members = [None; ASFF_MEMBERS];
        for (key, value) in map {
            if let Some(slot) = member_slot(key) {
                members[slot] = Some(value);
            }
        }
        Asff { map, members }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        match member_slot(key) {
            Some(slot) => self.members[slot],
            None => self.map.get(key),
        }
    }
}

impl<'a> Lookup<'a> for Asff<'a> {
    fn member(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }
}

/// Top-level ASFF members that the common mapping consumes (the class-specific ones are consumed
/// by their class). A `match`, not a list to search: every member of every finding is checked.
fn is_common_member(key: &str) -> bool {
    matches!(
        key,
        "SchemaVersion"
            | "Id"
            | "ProductArn"
            | "ProductName"
            | "CompanyName"
            | "Region"
            | "GeneratorId"
            | "AwsAccountId"
            | "Types"
            | "FirstObservedAt"
            | "LastObservedAt"
            | "CreatedAt"
            | "UpdatedAt"
            | "ProcessedAt"
            | "Severity"
            | "Confidence"
            | "Criticality"
            | "Title"
            | "Description"
            | "SourceUrl"
            | "RelatedFindings"
            | "Note"
            | "Workflow"
            | "Resources"
            | "ProductFields"
            | "FindingProviderFields"
            | "Remediation"
    )
}

/// The class of a finding *(ours: the notes' predicate)*: vulnerabilities → 2002; Security Hub's
/// controls or a `Compliance` object → 2003; everything else (GuardDuty, Macie, Access Analyzer,
/// Health, third-party detectors) → 2004.
pub fn select_class(finding: &Finding) -> FindingClass {
    class_of(&Asff::new(finding))
}

fn class_of(finding: &Asff<'_>) -> FindingClass {
    let vulnerabilities = finding.get("Vulnerabilities").and_then(Value::as_array).is_some_and(|v| !v.is_empty());
    let product = str_of(finding, "ProductArn").unwrap_or_default();
    if vulnerabilities {
        FindingClass::Vulnerability
    } else if product.ends_with("/product/aws/securityhub") || finding.get("Compliance").is_some_and(Value::is_object) {
        FindingClass::Compliance
    } else {
        FindingClass::Detection
    }
}

/// One ASFF finding as the OCSF event of its class.
pub fn to_ocsf(finding: &Finding) -> Result<OcsfFinding<'_>, LakeError> {
    let finding = &Asff::new(finding);
    let class = class_of(finding);
    let mut unmapped = BTreeMap::new();
    // GuardDuty's remote end feeds the observables, the evidence and what `unmapped` leaves out.
    let remote = if class == FindingClass::Detection { guardduty_remote(finding) } else { None };
    let base = map_base(finding, class, remote.as_ref())?;
    let remediation = remediation(finding);
    let remediation_mapped = remediation.is_some();
    let resources: &[Value] = finding.get("Resources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let criticality = finding.get("Criticality").map(scalar_text);
    let mut event = match class {
        FindingClass::Vulnerability => {
            let resource = single_resource(resources, criticality.as_ref(), &mut unmapped);
            let vulnerabilities = finding
                .get("Vulnerabilities")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter().filter_map(Value::as_object).map(|v| vulnerability(v, remediation.as_ref())).collect()
                })
                .unwrap_or_default();
            OcsfFinding::Vulnerability(VulnerabilityFinding { base, resource, vulnerabilities })
        }
        FindingClass::Compliance => {
            let resource = single_resource(resources, criticality.as_ref(), &mut unmapped);
            let compliance = compliance(finding.get("Compliance").and_then(Value::as_object));
            OcsfFinding::Compliance(ComplianceFinding { base, resource, compliance, remediation })
        }
        FindingClass::Detection => {
            let list: Vec<ResourceDetails> =
                resources.iter().filter_map(Value::as_object).map(|r| resource(r, criticality.as_ref())).collect();
            let evidences = guardduty_evidence(finding, remote.as_ref());
            OcsfFinding::Detection(DetectionFinding {
                base,
                resources: (!list.is_empty()).then_some(list),
                remediation,
                evidences: evidences.map(|e| vec![e]),
            })
        }
    };

    // Unmapped: the rest of the finding.
    let consumed_by_class: &[&str] = match class {
        FindingClass::Vulnerability => &["Vulnerabilities"],
        FindingClass::Compliance => &["Compliance"],
        FindingClass::Detection => &[],
    };
    for (key, value) in finding.map {
        if !is_common_member(key) && !consumed_by_class.contains(&key.as_str()) {
            flatten_into(key, value, &mut unmapped);
        }
    }
    if let Some(r) = finding.get("Remediation").filter(|_| !remediation_mapped) {
        // OCSF's remediation needs a description: without one, keep what there is.
        flatten_into("Remediation", r, &mut unmapped);
    }
    unmapped_severity(finding, &mut unmapped);
    unmapped_note(finding, &mut unmapped);
    unmapped_product_fields(finding, class, remote.as_ref(), &mut unmapped);
    unmapped_provider_fields(finding, &mut unmapped);
    unmapped_resource_members(resources, &mut unmapped);
    event.base_mut().unmapped = unmapped;
    Ok(event)
}

fn map_base<'a>(
    finding: &Asff<'a>,
    class: FindingClass,
    remote: Option<&Remote<'a>>,
) -> Result<FindingBase<'a>, LakeError> {
    let id = required_str(finding, "Id")?;
    let title = required_str(finding, "Title")?;
    let product_arn = required_str(finding, "ProductArn")?;
    let updated = required_time(finding, "UpdatedAt")?;
    let created = required_time(finding, "CreatedAt")?;
    let parsed_arn = ProductArn::parse(product_arn);
    let names = parsed_arn.as_ref().map(builtin_names);

    let activity = if created == updated { Activity::Create } else { Activity::Update };
    let severity_id = severity_id(finding);
    let (status_id, status) = match finding.get("Workflow").and_then(|w| w.get("Status")).and_then(Value::as_str) {
        Some(s) => {
            let (id, caption) = workflow_status(s);
            (Some(id), Some(caption))
        }
        None => (None, None),
    };
    let region = str_of(finding, "Region")
        .map(Text::Borrowed)
        .or_else(|| parsed_arn.as_ref().map(|a| Text::Owned(a.region.to_owned())));
    let vendor = str_of(finding, "CompanyName")
        .map(Text::Borrowed)
        .or_else(|| names.as_ref().map(|n| Text::Owned(n.company_name.clone())))
        .unwrap_or(Text::Borrowed("Unknown"));
    let product_name = str_of(finding, "ProductName")
        .map(Text::Borrowed)
        .or_else(|| names.as_ref().map(|n| Text::Owned(n.product_name.clone())));
    let feature = str_of(finding, "GeneratorId").map(|g| Feature {
        uid: Some(g.into()),
        name: product_field(finding, "aws/guardduty/service/featureName").map(Text::Borrowed),
    });
    let related_events: Vec<RelatedEvent> = finding
        .get("RelatedFindings")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    Some(RelatedEvent {
                        uid: r.get("Id")?.as_str()?.into(),
                        product_uid: r.get("ProductArn").and_then(Value::as_str).map(Text::Borrowed),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let observables: Vec<Observable> = observables(finding, class, remote);

    Ok(FindingBase {
        activity_id: activity as u32,
        activity_name: activity.caption().into(),
        category_uid: CATEGORY_UID,
        category_name: CATEGORY_NAME.into(),
        class_uid: class.uid(),
        class_name: class.name().into(),
        type_uid: u64::from(class.uid()) * 100 + activity as u64,
        type_name: format!("{}: {}", class.name(), activity.caption()).into(),
        severity_id,
        severity: severity_caption(severity_id).into(),
        status_id,
        status,
        time: updated.div_euclid(1000),
        time_dt: OcsfTime::from_micros(updated),
        confidence_score: finding.get("Confidence").and_then(Value::as_i64),
        message: finding.get("Note").and_then(|n| n.get("Text")).and_then(Value::as_str).map(Text::Borrowed),
        metadata: Metadata {
            version: OCSF_VERSION.into(),
            profiles: PROFILES.iter().map(|p| Text::Borrowed(*p)).collect(),
            log_version: str_of(finding, "SchemaVersion").map(Text::Borrowed),
            processed_time_dt: optional_time(finding, "ProcessedAt"),
            sequence: None,
            product: Product { name: product_name, uid: Some(product_arn.into()), vendor_name: vendor, feature },
        },
        cloud: Cloud {
            provider: "AWS".into(),
            region,
            account: str_of(finding, "AwsAccountId").map(|a| Account { uid: a.into() }),
        },
        finding_info: FindingInfo {
            uid: id.into(),
            title: title.into(),
            desc: str_of(finding, "Description").map(Text::Borrowed),
            src_url: str_of(finding, "SourceUrl").map(Text::Borrowed),
            types: finding.get("Types").and_then(Value::as_array).map(|t| strings(t)),
            created_time_dt: Some(OcsfTime::from_micros(created)),
            modified_time_dt: Some(OcsfTime::from_micros(updated)),
            first_seen_time_dt: optional_time(finding, "FirstObservedAt"),
            last_seen_time_dt: optional_time(finding, "LastObservedAt"),
            related_events: (!related_events.is_empty()).then_some(related_events),
        },
        observables: (!observables.is_empty()).then_some(observables),
        unmapped: BTreeMap::new(),
    })
}

/// `Severity.Label`, or the label of `Severity.Normalized` when the label is absent.
fn severity_id(finding: &Asff<'_>) -> u32 {
    let severity = finding.get("Severity");
    let label = severity.and_then(|s| s.get("Label")).and_then(Value::as_str).map(Text::Borrowed).or_else(|| {
        severity
            .and_then(|s| s.get("Normalized"))
            .and_then(Value::as_i64)
            .map(|n| Text::Borrowed(label_from_normalized(n)))
    });
    match label.as_deref() {
        Some("INFORMATIONAL") => 1,
        Some("LOW") => 2,
        Some("MEDIUM") => 3,
        Some("HIGH") => 4,
        Some("CRITICAL") => 5,
        _ => 0,
    }
}

/// `Workflow.Status` → `status_id` and `status` *(ours for the ids; the caption case follows AWS's
/// sample, "New")*.
fn workflow_status(status: &str) -> (u32, Text<'_>) {
    match status {
        "NEW" => (1, status_caption(1).into()),
        "SUPPRESSED" => (3, status_caption(3).into()),
        "RESOLVED" => (4, status_caption(4).into()),
        "NOTIFIED" => (99, "Notified".into()),
        other => (99, other.into()),
    }
}

fn observables<'a>(finding: &Asff<'a>, class: FindingClass, remote: Option<&Remote<'a>>) -> Vec<Observable<'a>> {
    let resources = finding.get("Resources").and_then(Value::as_array);
    let mut out = Vec::new();
    let mut push = |name: &'static str, type_: &'static str, type_id: u32, value: &'a str| {
        out.push(Observable { name: name.into(), type_: type_.into(), type_id, value: value.into() });
    };
    match class {
        FindingClass::Vulnerability | FindingClass::Compliance => {
            if let Some(id) = resources.and_then(|r| r.first()).and_then(|r| r.get("Id")).and_then(Value::as_str) {
                push("resource.uid", "Resource UID", 10, id);
            }
        }
        FindingClass::Detection => {
            for id in resources.into_iter().flatten().filter_map(|r| r.get("Id")?.as_str()) {
                push("resources.uid", "Resource UID", 10, id);
            }
            if let Some(remote) = remote
                && let Some(ip) = remote.ip
            {
                let name = if remote.is_source { "evidences.src_endpoint.ip" } else { "evidences.dst_endpoint.ip" };
                push(name, "IP Address", 2, ip);
            }
        }
    }
    out
}

fn resource<'a>(r: &'a Map<String, Value>, criticality: Option<&Text<'a>>) -> ResourceDetails<'a> {
    ResourceDetails {
        type_: str_of(&r, "Type").map(Text::Borrowed),
        uid: str_of(&r, "Id").map(Text::Borrowed),
        cloud_partition: str_of(&r, "Partition").map(Text::Borrowed),
        region: str_of(&r, "Region").map(Text::Borrowed),
        criticality: criticality.cloned(),
        data: r.get("Details").map(|d| json_text(d).into()),
    }
}

/// The first resource, for the classes that have one `resource`; the others go to `unmapped`.
fn single_resource<'a>(
    resources: &'a [Value],
    criticality: Option<&Text<'a>>,
    unmapped: &mut Unmapped<'a>,
) -> Option<ResourceDetails<'a>> {
    for (i, other) in resources.iter().enumerate().skip(1) {
        unmapped.insert(format!("Resources[{i}]").into(), json_text(other).into());
    }
    resources.first().and_then(Value::as_object).map(|r| resource(r, criticality))
}

fn remediation<'a>(finding: &Asff<'a>) -> Option<Remediation<'a>> {
    let recommendation = finding.get("Remediation")?.get("Recommendation")?;
    Some(Remediation {
        desc: recommendation.get("Text")?.as_str()?.into(),
        references: recommendation.get("Url").and_then(Value::as_str).map(|u| vec![u.into()]),
    })
}

fn compliance(c: Option<&Map<String, Value>>) -> Compliance<'_> {
    let Some(c) = c else {
        return Compliance {
            control: None,
            standards: Vec::new(),
            requirements: None,
            status: None,
            status_code: None,
            status_detail: None,
        };
    };
    let reasons = c.get("StatusReasons").and_then(Value::as_array);
    let joined = |member: &str| {
        let parts: Vec<&str> = reasons.into_iter().flatten().filter_map(|r| r.get(member)?.as_str()).collect();
        (!parts.is_empty()).then(|| Text::Owned(parts.join("; ")))
    };
    Compliance {
        control: str_of(&c, "SecurityControlId").map(Text::Borrowed),
        standards: c
            .get("AssociatedStandards")
            .and_then(Value::as_array)
            .map(|s| s.iter().filter_map(|s| s.get("StandardsId")?.as_str().map(Text::Borrowed)).collect())
            .unwrap_or_default(),
        requirements: c.get("RelatedRequirements").and_then(Value::as_array).map(|r| strings(r)),
        status: str_of(&c, "Status").map(Text::Borrowed),
        status_code: joined("ReasonCode"),
        status_detail: joined("Description"),
    }
}

fn vulnerability<'a>(v: &'a Map<String, Value>, remediation: Option<&Remediation<'a>>) -> Vulnerability<'a> {
    let vendor = v.get("Vendor").and_then(Value::as_object);
    let cvss: Vec<Cvss> = v
        .get("Cvss")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Cvss {
                base_score: c.get("BaseScore")?.as_f64()?,
                version: c.get("Version")?.as_str()?.into(),
                vector_string: c.get("BaseVector").and_then(Value::as_str).map(Text::Borrowed),
            })
        })
        .collect();
    let packages: Vec<AffectedPackage> = v
        .get("VulnerablePackages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let p = p.as_object()?;
            Some(AffectedPackage {
                name: str_of(&p, "Name")?.into(),
                version: str_of(&p, "Version").unwrap_or_default().into(),
                epoch: str_of(&p, "Epoch").and_then(|e| e.parse().ok()),
                release: str_of(&p, "Release").map(Text::Borrowed),
                architecture: str_of(&p, "Architecture").map(Text::Borrowed),
                path: str_of(&p, "FilePath").map(Text::Borrowed),
                fixed_in_version: str_of(&p, "FixedInVersion").map(Text::Borrowed),
                package_manager: str_of(&p, "PackageManager").map(Text::Borrowed),
                remediation: str_of(&p, "Remediation").map(|r| Remediation { desc: r.into(), references: None }),
            })
        })
        .collect();
    let code: Vec<AffectedCode> = v
        .get("CodeVulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let path = c.get("FilePath")?.as_object()?;
            Some(AffectedCode {
                file: File {
                    name: str_of(&path, "FileName")?.into(),
                    type_id: 1,
                    path: str_of(&path, "FilePath").map(Text::Borrowed),
                    uid: c.get("SourceArn").and_then(Value::as_str).map(Text::Borrowed),
                },
                start_line: path.get("StartLine").and_then(Value::as_i64),
                end_line: path.get("EndLine").and_then(Value::as_i64),
            })
        })
        .collect();
    let cwe = v
        .get("CodeVulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("Cwes")?.as_array()?.first()?.as_str())
        .next()
        .map(|uid| Cwe { uid: uid.into() });
    let yes_no = |member: &str| match str_of(&v, member) {
        Some("YES") => Some(true),
        Some("NO") => Some(false),
        _ => None,
    };
    Vulnerability {
        cve: str_of(&v, "Id").map(|id| Cve {
            uid: id.into(),
            cvss: (!cvss.is_empty()).then_some(cvss),
            created_time_dt: vendor.and_then(|vd| optional_time(&vd, "VendorCreatedAt")),
            modified_time_dt: vendor.and_then(|vd| optional_time(&vd, "VendorUpdatedAt")),
            references: vendor.and_then(|vd| str_of(&vd, "Url")).map(|u| vec![u.into()]),
            epss: v.get("EpssScore").and_then(Value::as_f64).map(|s| Epss { score: s.to_string().into() }),
        }),
        cwe,
        references: v.get("ReferenceUrls").and_then(Value::as_array).map(|r| strings(r)),
        related_vulnerabilities: v.get("RelatedVulnerabilities").and_then(Value::as_array).map(|r| strings(r)),
        vendor_name: vendor.and_then(|vd| str_of(&vd, "Name")).map(Text::Borrowed),
        is_fix_available: yes_no("FixAvailable"),
        is_exploit_available: yes_no("ExploitAvailable"),
        affected_packages: (!packages.is_empty()).then_some(packages),
        affected_code: (!code.is_empty()).then_some(code),
        remediation: remediation.cloned(),
    }
}

const GD_API: &str = "aws/guardduty/service/action/awsApiCallAction/api";
const GD_API_SERVICE: &str = "aws/guardduty/service/action/awsApiCallAction/serviceName";
const GD_DNS_DOMAIN: &str = "aws/guardduty/service/action/dnsRequestAction/domain";
const GD_ADDITIONAL: &str = "aws/guardduty/service/additionalInfo/value";
/// The ProductFields keys of one GuardDuty action's remote end.
struct RemoteKeys {
    ip: &'static str,
    city: &'static str,
    country: &'static str,
    port: &'static str,
    direction: &'static str,
}

macro_rules! remote_keys {
    ($action:literal) => {
        RemoteKeys {
            ip: concat!("aws/guardduty/service/action/", $action, "/remoteIpDetails/ipAddressV4"),
            city: concat!("aws/guardduty/service/action/", $action, "/remoteIpDetails/city/cityName"),
            country: concat!("aws/guardduty/service/action/", $action, "/remoteIpDetails/country/countryName"),
            port: concat!("aws/guardduty/service/action/", $action, "/remotePortDetails/port"),
            direction: concat!("aws/guardduty/service/action/", $action, "/connectionDirection"),
        }
    };
}

/// The actions that have a remote end, in the order they are looked for.
const GD_REMOTES: [RemoteKeys; 3] =
    [remote_keys!("awsApiCallAction"), remote_keys!("networkConnectionAction"), remote_keys!("portProbeAction")];

struct Remote<'a> {
    ip: Option<&'a str>,
    city: Option<&'a str>,
    country: Option<&'a str>,
    port: Option<i64>,
    /// The remote end started it (an API call, an inbound connection).
    is_source: bool,
    keys: Vec<&'static str>,
}

/// The remote end of a GuardDuty action, from the flattened ProductFields.
fn guardduty_remote<'a>(finding: &Asff<'a>) -> Option<Remote<'a>> {
    let fields = finding.get("ProductFields")?.as_object()?;
    let field = |key: &str| fields.get(key).and_then(Value::as_str);
    for k in &GD_REMOTES {
        let Some(ip) = field(k.ip) else { continue };
        let outbound = field(k.direction) == Some("OUTBOUND");
        let mut keys = vec![k.ip];
        let city = field(k.city).filter(|c| !c.is_empty());
        let country = field(k.country).filter(|c| !c.is_empty());
        let port = field(k.port).and_then(|p| p.parse().ok()).filter(|p| (0..=65535).contains(p));
        if city.is_some() {
            keys.push(k.city);
        }
        if country.is_some() {
            keys.push(k.country);
        }
        if port.is_some() {
            keys.push(k.port);
        }
        return Some(Remote { ip: Some(ip), city, country, port, is_source: !outbound, keys });
    }
    None
}

/// The ProductFields keys that an evidence consumed.
fn evidence_keys(finding: &Asff<'_>, remote: Option<&Remote<'_>>) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = remote.map(|r| r.keys.clone()).unwrap_or_default();
    if product_field(finding, GD_API).is_some() {
        keys.push(GD_API);
        if product_field(finding, GD_API_SERVICE).is_some() {
            keys.push(GD_API_SERVICE);
        }
    }
    if product_field(finding, GD_DNS_DOMAIN).is_some_and(is_hostname) {
        keys.push(GD_DNS_DOMAIN);
    }
    if product_field(finding, GD_ADDITIONAL).is_some() {
        keys.push(GD_ADDITIONAL);
    }
    keys
}

/// GuardDuty's action as an evidence: the API call, the remote endpoint, the DNS query, the
/// additional information.
fn guardduty_evidence<'a>(finding: &Asff<'a>, remote: Option<&Remote<'a>>) -> Option<Evidence<'a>> {
    let api = product_field(finding, GD_API).map(|op| Api {
        operation: op.into(),
        service: product_field(finding, GD_API_SERVICE).map(|s| Service { name: s.into() }),
    });
    let endpoint = remote.map(|r| NetworkEndpoint {
        ip: r.ip.map(Text::Borrowed),
        port: r.port,
        location: (r.city.is_some() || r.country.is_some())
            .then(|| Location { city: r.city.map(Text::Borrowed), country: r.country.map(Text::Borrowed) }),
    });
    let (src_endpoint, dst_endpoint) = match (&remote, endpoint) {
        (Some(r), Some(e)) if r.is_source => (Some(e), None),
        (Some(_), Some(e)) => (None, Some(e)),
        _ => (None, None),
    };
    let query =
        product_field(finding, GD_DNS_DOMAIN).filter(|d| is_hostname(d)).map(|h| DnsQuery { hostname: h.into() });
    let data = product_field(finding, GD_ADDITIONAL).map(Text::Borrowed);
    let evidence = Evidence { api, src_endpoint, dst_endpoint, query, data };
    let empty = evidence.api.is_none()
        && evidence.src_endpoint.is_none()
        && evidence.dst_endpoint.is_none()
        && evidence.query.is_none()
        && evidence.data.is_none();
    (!empty).then_some(evidence)
}

/// OCSF's hostname pattern: dot-separated labels of letters, digits and inner hyphens.
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn unmapped_severity<'a>(finding: &Asff<'a>, unmapped: &mut Unmapped<'a>) {
    if let Some(severity) = finding.get("Severity").and_then(Value::as_object) {
        for (k, v) in severity {
            if k != "Label" {
                flatten_into(&format!("Severity.{k}"), v, unmapped);
            }
        }
    }
}

fn unmapped_note<'a>(finding: &Asff<'a>, unmapped: &mut Unmapped<'a>) {
    if let Some(note) = finding.get("Note").and_then(Value::as_object) {
        for (k, v) in note {
            if k != "Text" {
                flatten_into(&format!("Note.{k}"), v, unmapped);
            }
        }
    }
    if let Some(workflow) = finding.get("Workflow").and_then(Value::as_object) {
        for (k, v) in workflow {
            if k != "Status" {
                flatten_into(&format!("Workflow.{k}"), v, unmapped);
            }
        }
    }
}

fn unmapped_product_fields<'a>(
    finding: &Asff<'a>,
    class: FindingClass,
    remote: Option<&Remote<'_>>,
    unmapped: &mut Unmapped<'a>,
) {
    let Some(fields) = finding.get("ProductFields").and_then(Value::as_object) else { return };
    let consumed = if class == FindingClass::Detection { evidence_keys(finding, remote) } else { Vec::new() };
    for (k, v) in fields {
        let copy_of_mapped = k == "aws/securityhub/ProductName"
            || k == "aws/securityhub/CompanyName"
            || k == "aws/guardduty/service/featureName";
        if !copy_of_mapped && !consumed.iter().any(|c| c == k) {
            unmapped.insert(format!("ProductFields.{k}").into(), scalar_text(v));
        }
    }
}

/// `FindingProviderFields` members that say something the top-level members do not.
fn unmapped_provider_fields<'a>(finding: &Asff<'a>, unmapped: &mut Unmapped<'a>) {
    let Some(fpf) = finding.get("FindingProviderFields").and_then(Value::as_object) else { return };
    for (k, v) in fpf {
        match (k.as_str(), finding.get(k)) {
            ("Severity", Some(Value::Object(top))) => {
                for (sk, sv) in v.as_object().into_iter().flatten() {
                    if top.get(sk) != Some(sv) {
                        flatten_into(&format!("FindingProviderFields.Severity.{sk}"), sv, unmapped);
                    }
                }
            }
            (_, Some(top)) if top == v => {}
            _ => flatten_into(&format!("FindingProviderFields.{k}"), v, unmapped),
        }
    }
}

fn unmapped_resource_members<'a>(resources: &'a [Value], unmapped: &mut Unmapped<'a>) {
    for (i, r) in resources.iter().enumerate() {
        let extra_resource_kept_whole = unmapped.contains_key(format!("Resources[{i}]").as_str());
        if extra_resource_kept_whole {
            continue;
        }
        let prefix = if i == 0 { "Resources[]".to_owned() } else { format!("Resources[{i}]") };
        for (k, v) in r.get("Tags").and_then(Value::as_object).into_iter().flatten() {
            unmapped.insert(format!("{prefix}.Tags.{k}").into(), scalar_text(v));
        }
        for (k, v) in r.as_object().into_iter().flatten() {
            if !matches!(k.as_str(), "Type" | "Id" | "Partition" | "Region" | "Details" | "Tags") {
                flatten_into(&format!("{prefix}.{k}"), v, unmapped);
            }
        }
    }
}

/// Objects into dotted keys; anything else as its text (strings as they are, the rest as JSON).
fn flatten_into<'a>(key: &str, value: &'a Value, unmapped: &mut Unmapped<'a>) {
    match value {
        Value::Object(members) if !members.is_empty() => {
            for (k, v) in members {
                flatten_into(&format!("{key}.{k}"), v, unmapped);
            }
        }
        other => {
            unmapped.insert(Text::Owned(key.to_owned()), scalar_text(other));
        }
    }
}

fn scalar_text(v: &Value) -> Text<'_> {
    match v {
        Value::String(s) => Text::Borrowed(s),
        other => Text::Owned(json_text(other)),
    }
}

/// A value as compact JSON text, through serde_json's byte writer (`Value`'s `Display` goes
/// through `fmt::Write` a fragment at a time).
fn json_text(v: &Value) -> String {
    // A `Value` always serialises (its map keys are strings).
    serde_json::to_string(v).unwrap_or_default()
}

fn strings(values: &[Value]) -> Vec<Text<'_>> {
    values.iter().map(scalar_text).collect()
}

fn str_of<'a>(m: &impl Lookup<'a>, key: &str) -> Option<&'a str> {
    m.member(key).and_then(Value::as_str)
}

fn product_field<'a>(finding: &Asff<'a>, key: &str) -> Option<&'a str> {
    finding.get("ProductFields")?.get(key)?.as_str()
}

fn required_str<'a>(finding: &Asff<'a>, key: &'static str) -> Result<&'a str, LakeError> {
    str_of(finding, key).ok_or(LakeError::MissingField(key))
}

fn required_time(finding: &Asff<'_>, key: &'static str) -> Result<i64, LakeError> {
    let text = required_str(finding, key)?;
    parse_timestamp(text).ok_or_else(|| LakeError::BadTimestamp { field: key, value: text.to_owned() })
}

fn optional_time<'a>(m: &impl Lookup<'a>, key: &str) -> Option<OcsfTime> {
    str_of(m, key).and_then(parse_timestamp).map(OcsfTime::from_micros)
}
