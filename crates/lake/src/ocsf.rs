//! OCSF 1.1.0 events of the three finding classes that Security Lake's `SH_FINDINGS` 2.0 source
//! holds, as typed structures: only the attributes that the ASFF mapping fills (`mapping.rs`), so
//! that the Arrow schema (`schema.rs`) can mirror them one to one.
//!
//! Every optional attribute is left out of the JSON when absent: the OCSF JSON Schemas reject
//! `null`. Timestamps ending in `_dt` are RFC 3339 strings in UTC with milliseconds in the JSON
//! (the `datetime` profile) and millisecond timestamps in Arrow (`OcsfTime`); `time` is epoch
//! milliseconds.

use findinghub_asff::timestamp::{format_timestamp, parse_timestamp};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// An instant of a `*_dt` attribute, in milliseconds since the epoch (UTC). It serialises as
/// that integer, which is what the Arrow timestamp column holds (a string would be formatted here
/// and parsed again by the column builder); `OcsfFinding::to_json` writes it as RFC 3339 text,
/// and it reads back from either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OcsfTime(pub i64);

impl OcsfTime {
    /// From microseconds since the epoch (ASFF's precision), truncated to the millisecond.
    pub fn from_micros(micros: i64) -> OcsfTime {
        OcsfTime(micros.div_euclid(1000))
    }

    /// RFC 3339 in UTC with milliseconds, as the `datetime` profile writes it.
    pub fn to_rfc3339(self) -> String {
        format_timestamp(self.0.saturating_mul(1000))
    }
}

impl Serialize for OcsfTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for OcsfTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OcsfTime, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Rfc3339(String),
            Millis(i64),
        }
        match Text::deserialize(deserializer)? {
            Text::Millis(ms) => Ok(OcsfTime(ms)),
            Text::Rfc3339(text) => parse_timestamp(&text)
                .map(OcsfTime::from_micros)
                .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 timestamp: {text}"))),
        }
    }
}

/// Text of an event: borrowed from the ASFF finding that it maps (most attributes are copied as
/// they are) or owned where the mapping computes it. Borrowing spares the conversion an
/// allocation per attribute, and the encoder as many frees.
pub type Text<'a> = Cow<'a, str>;

pub const OCSF_VERSION: &str = "1.1.0";
pub const PROFILES: [&str; 2] = ["cloud", "datetime"];
pub const CATEGORY_UID: u32 = 2;
pub const CATEGORY_NAME: &str = "Findings";

/// The three classes, with their ids and captions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingClass {
    Vulnerability,
    Compliance,
    Detection,
}

impl FindingClass {
    pub const ALL: [FindingClass; 3] = [FindingClass::Vulnerability, FindingClass::Compliance, FindingClass::Detection];

    pub fn uid(self) -> u32 {
        match self {
            FindingClass::Vulnerability => 2002,
            FindingClass::Compliance => 2003,
            FindingClass::Detection => 2004,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FindingClass::Vulnerability => "Vulnerability Finding",
            FindingClass::Compliance => "Compliance Finding",
            FindingClass::Detection => "Detection Finding",
        }
    }

    pub fn from_uid(uid: u32) -> Option<FindingClass> {
        FindingClass::ALL.into_iter().find(|c| c.uid() == uid)
    }
}

/// `activity_id` of a finding event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Create = 1,
    Update = 2,
}

impl Activity {
    pub fn caption(self) -> &'static str {
        match self {
            Activity::Create => "Create",
            Activity::Update => "Update",
        }
    }
}

/// The caption of a `severity_id` (OCSF 1.1.0 base event).
pub fn severity_caption(id: u32) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        99 => "Other",
        _ => "Unknown",
    }
}

/// The caption of a `status_id` (OCSF 1.1.0 finding classes). For 99 (Other) the `status` sibling
/// carries the source's own word instead.
pub fn status_caption(id: u32) -> &'static str {
    match id {
        1 => "New",
        2 => "In Progress",
        3 => "Suppressed",
        4 => "Resolved",
        99 => "Other",
        _ => "Unknown",
    }
}

/// The caption of an `activity_id` of the finding classes.
pub fn activity_caption(id: u32) -> &'static str {
    match id {
        1 => "Create",
        2 => "Update",
        3 => "Close",
        99 => "Other",
        _ => "Unknown",
    }
}

/// One OCSF finding event: the class is chosen by `mapping::select_class`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OcsfFinding<'a> {
    Vulnerability(VulnerabilityFinding<'a>),
    Compliance(ComplianceFinding<'a>),
    Detection(DetectionFinding<'a>),
}

impl<'a> OcsfFinding<'a> {
    pub fn class(&self) -> FindingClass {
        match self {
            OcsfFinding::Vulnerability(_) => FindingClass::Vulnerability,
            OcsfFinding::Compliance(_) => FindingClass::Compliance,
            OcsfFinding::Detection(_) => FindingClass::Detection,
        }
    }

    pub fn base(&self) -> &FindingBase<'a> {
        match self {
            OcsfFinding::Vulnerability(f) => &f.base,
            OcsfFinding::Compliance(f) => &f.base,
            OcsfFinding::Detection(f) => &f.base,
        }
    }

    pub fn base_mut(&mut self) -> &mut FindingBase<'a> {
        match self {
            OcsfFinding::Vulnerability(f) => &mut f.base,
            OcsfFinding::Compliance(f) => &mut f.base,
            OcsfFinding::Detection(f) => &mut f.base,
        }
    }

    /// The event as a JSON value (what `findinghub lake ocsf` prints): absent attributes are left
    /// out, since the OCSF JSON Schemas reject `null`.
    pub fn to_json(&self) -> serde_json::Value {
        // Serialising plain structs with string keys cannot fail.
        let mut json = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        json_form(&mut json);
        json
    }

    /// Reads an event back from its JSON, by its `class_uid`.
    pub fn from_json(value: serde_json::Value) -> Result<OcsfFinding<'static>, serde_json::Error> {
        use serde::de::Error;
        let uid = value.get("class_uid").and_then(serde_json::Value::as_u64).unwrap_or(0);
        match FindingClass::from_uid(u32::try_from(uid).unwrap_or(0)) {
            Some(FindingClass::Vulnerability) => serde_json::from_value(value).map(OcsfFinding::Vulnerability),
            Some(FindingClass::Compliance) => serde_json::from_value(value).map(OcsfFinding::Compliance),
            Some(FindingClass::Detection) => serde_json::from_value(value).map(OcsfFinding::Detection),
            None => Err(serde_json::Error::custom(format!("class_uid {uid} is not a finding class of this lake"))),
        }
    }
}

/// The attributes that the three classes share (base event, the finding's, the cloud and
/// datetime profiles). Serialised with its class's own attributes, flat (`serialize_flat`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FindingBase<'a> {
    pub activity_id: u32,
    pub activity_name: Text<'a>,
    pub category_uid: u32,
    pub category_name: Text<'a>,
    pub class_uid: u32,
    pub class_name: Text<'a>,
    pub type_uid: u64,
    pub type_name: Text<'a>,
    pub severity_id: u32,
    pub severity: Text<'a>,
    #[serde(default)]
    pub status_id: Option<u32>,
    #[serde(default)]
    pub status: Option<Text<'a>>,
    /// Epoch milliseconds of ASFF `UpdatedAt`.
    pub time: i64,
    pub time_dt: OcsfTime,
    #[serde(default)]
    pub confidence_score: Option<i64>,
    #[serde(default)]
    pub message: Option<Text<'a>>,
    pub metadata: Metadata<'a>,
    pub cloud: Cloud<'a>,
    pub finding_info: FindingInfo<'a>,
    #[serde(default)]
    pub observables: Option<Vec<Observable<'a>>>,
    /// What has no OCSF home, by ASFF dotted path (`ProductFields.<key>`, `Severity.Normalized`, …).
    #[serde(default)]
    pub unmapped: BTreeMap<Text<'a>, Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VulnerabilityFinding<'a> {
    #[serde(flatten)]
    pub base: FindingBase<'a>,
    #[serde(default)]
    pub resource: Option<ResourceDetails<'a>>,
    pub vulnerabilities: Vec<Vulnerability<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ComplianceFinding<'a> {
    #[serde(flatten)]
    pub base: FindingBase<'a>,
    #[serde(default)]
    pub resource: Option<ResourceDetails<'a>>,
    pub compliance: Compliance<'a>,
    #[serde(default)]
    pub remediation: Option<Remediation<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DetectionFinding<'a> {
    #[serde(flatten)]
    pub base: FindingBase<'a>,
    #[serde(default)]
    pub resources: Option<Vec<ResourceDetails<'a>>>,
    #[serde(default)]
    pub remediation: Option<Remediation<'a>>,
    #[serde(default)]
    pub evidences: Option<Vec<Evidence<'a>>>,
}

/// The attributes of FindingBase, which every class serialises first.
const BASE_ATTRIBUTES: usize = 21;

/// An event as one flat structure: the base attributes, then `class` (its own attributes), every
/// attribute in the order of the class's Arrow schema and none skipped (absent ones as `None`).
/// `#[serde(flatten)]` would serialise a map, whose keys `serde_arrow` looks up by name among all
/// the columns, and a skipped attribute sends its field lookup off its guess: together they were a
/// quarter of the lake's encoding time. `to_json` leaves the `None`s out.
fn serialize_flat<S: Serializer>(
    serializer: S,
    base: &FindingBase<'_>,
    name: &'static str,
    class_attributes: usize,
    class: impl FnOnce(&mut S::SerializeStruct) -> Result<(), S::Error>,
) -> Result<S::Ok, S::Error> {
    let mut s = serializer.serialize_struct(name, BASE_ATTRIBUTES + class_attributes)?;
    s.serialize_field("activity_id", &base.activity_id)?;
    s.serialize_field("activity_name", &base.activity_name)?;
    s.serialize_field("category_uid", &base.category_uid)?;
    s.serialize_field("category_name", &base.category_name)?;
    s.serialize_field("class_uid", &base.class_uid)?;
    s.serialize_field("class_name", &base.class_name)?;
    s.serialize_field("type_uid", &base.type_uid)?;
    s.serialize_field("type_name", &base.type_name)?;
    s.serialize_field("severity_id", &base.severity_id)?;
    s.serialize_field("severity", &base.severity)?;
    s.serialize_field("status_id", &base.status_id)?;
    s.serialize_field("status", &base.status)?;
    s.serialize_field("time", &base.time)?;
    s.serialize_field("time_dt", &base.time_dt)?;
    s.serialize_field("confidence_score", &base.confidence_score)?;
    s.serialize_field("message", &base.message)?;
    s.serialize_field("metadata", &base.metadata)?;
    s.serialize_field("cloud", &base.cloud)?;
    s.serialize_field("finding_info", &base.finding_info)?;
    s.serialize_field("observables", &base.observables)?;
    // An empty map is absent, as in the JSON.
    s.serialize_field("unmapped", &(!base.unmapped.is_empty()).then_some(&base.unmapped))?;
    class(&mut s)?;
    s.end()
}

impl Serialize for VulnerabilityFinding<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_flat(serializer, &self.base, "VulnerabilityFinding", 2, |s| {
            s.serialize_field("resource", &self.resource)?;
            s.serialize_field("vulnerabilities", &self.vulnerabilities)
        })
    }
}

impl Serialize for ComplianceFinding<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_flat(serializer, &self.base, "ComplianceFinding", 3, |s| {
            s.serialize_field("resource", &self.resource)?;
            s.serialize_field("compliance", &self.compliance)?;
            s.serialize_field("remediation", &self.remediation)
        })
    }
}

impl Serialize for DetectionFinding<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_flat(serializer, &self.base, "DetectionFinding", 3, |s| {
            s.serialize_field("resources", &self.resources)?;
            s.serialize_field("remediation", &self.remediation)?;
            s.serialize_field("evidences", &self.evidences)
        })
    }
}

/// The serialised event as OCSF JSON: every `null` member and element removed, at any depth, and
/// every `*_dt` member (an `OcsfTime`'s milliseconds) as RFC 3339 text.
fn json_form(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(members) => {
            members.retain(|_, v| !v.is_null());
            for (key, v) in members.iter_mut() {
                match v.as_i64() {
                    Some(ms) if key.ends_with("_dt") => *v = serde_json::Value::String(OcsfTime(ms).to_rfc3339()),
                    _ => json_form(v),
                }
            }
        }
        serde_json::Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(json_form);
        }
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata<'a> {
    pub version: Text<'a>,
    pub profiles: Vec<Text<'a>>,
    #[serde(default)]
    pub log_version: Option<Text<'a>>,
    #[serde(default)]
    pub processed_time_dt: Option<OcsfTime>,
    /// The lake's sequence number of the event (the outbox's), set by the writer.
    #[serde(default)]
    pub sequence: Option<i64>,
    pub product: Product<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product<'a> {
    #[serde(default)]
    pub name: Option<Text<'a>>,
    #[serde(default)]
    pub uid: Option<Text<'a>>,
    pub vendor_name: Text<'a>,
    #[serde(default)]
    pub feature: Option<Feature<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature<'a> {
    #[serde(default)]
    pub uid: Option<Text<'a>>,
    #[serde(default)]
    pub name: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cloud<'a> {
    pub provider: Text<'a>,
    #[serde(default)]
    pub region: Option<Text<'a>>,
    #[serde(default)]
    pub account: Option<Account<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account<'a> {
    pub uid: Text<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingInfo<'a> {
    pub uid: Text<'a>,
    pub title: Text<'a>,
    #[serde(default)]
    pub desc: Option<Text<'a>>,
    #[serde(default)]
    pub src_url: Option<Text<'a>>,
    #[serde(default)]
    pub types: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub created_time_dt: Option<OcsfTime>,
    #[serde(default)]
    pub modified_time_dt: Option<OcsfTime>,
    #[serde(default)]
    pub first_seen_time_dt: Option<OcsfTime>,
    #[serde(default)]
    pub last_seen_time_dt: Option<OcsfTime>,
    #[serde(default)]
    pub related_events: Option<Vec<RelatedEvent<'a>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedEvent<'a> {
    pub uid: Text<'a>,
    #[serde(default)]
    pub product_uid: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDetails<'a> {
    #[serde(rename = "type", default)]
    pub type_: Option<Text<'a>>,
    #[serde(default)]
    pub uid: Option<Text<'a>>,
    #[serde(default)]
    pub cloud_partition: Option<Text<'a>>,
    #[serde(default)]
    pub region: Option<Text<'a>>,
    #[serde(default)]
    pub criticality: Option<Text<'a>>,
    /// ASFF `Resources[].Details`, as JSON text (semi-structured: its shape depends on the
    /// resource type, so no fixed column type can hold it).
    #[serde(default)]
    pub data: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observable<'a> {
    pub name: Text<'a>,
    #[serde(rename = "type")]
    pub type_: Text<'a>,
    pub type_id: u32,
    pub value: Text<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation<'a> {
    pub desc: Text<'a>,
    #[serde(default)]
    pub references: Option<Vec<Text<'a>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compliance<'a> {
    #[serde(default)]
    pub control: Option<Text<'a>>,
    pub standards: Vec<Text<'a>>,
    #[serde(default)]
    pub requirements: Option<Vec<Text<'a>>>,
    /// ASFF `Compliance<'a>.Status` as it is (`PASSED`, `FAILED`, …), as Security Lake writes it.
    #[serde(default)]
    pub status: Option<Text<'a>>,
    #[serde(default)]
    pub status_code: Option<Text<'a>>,
    #[serde(default)]
    pub status_detail: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability<'a> {
    #[serde(default)]
    pub cve: Option<Cve<'a>>,
    #[serde(default)]
    pub cwe: Option<Cwe<'a>>,
    #[serde(default)]
    pub references: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub related_vulnerabilities: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub vendor_name: Option<Text<'a>>,
    #[serde(default)]
    pub is_fix_available: Option<bool>,
    #[serde(default)]
    pub is_exploit_available: Option<bool>,
    #[serde(default)]
    pub affected_packages: Option<Vec<AffectedPackage<'a>>>,
    #[serde(default)]
    pub affected_code: Option<Vec<AffectedCode<'a>>>,
    #[serde(default)]
    pub remediation: Option<Remediation<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cve<'a> {
    pub uid: Text<'a>,
    #[serde(default)]
    pub cvss: Option<Vec<Cvss<'a>>>,
    #[serde(default)]
    pub created_time_dt: Option<OcsfTime>,
    #[serde(default)]
    pub modified_time_dt: Option<OcsfTime>,
    #[serde(default)]
    pub references: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub epss: Option<Epss<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss<'a> {
    pub base_score: f64,
    pub version: Text<'a>,
    #[serde(default)]
    pub vector_string: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epss<'a> {
    /// A string in OCSF 1.1.0.
    pub score: Text<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cwe<'a> {
    pub uid: Text<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedPackage<'a> {
    pub name: Text<'a>,
    pub version: Text<'a>,
    #[serde(default)]
    pub epoch: Option<i64>,
    #[serde(default)]
    pub release: Option<Text<'a>>,
    #[serde(default)]
    pub architecture: Option<Text<'a>>,
    #[serde(default)]
    pub path: Option<Text<'a>>,
    #[serde(default)]
    pub fixed_in_version: Option<Text<'a>>,
    #[serde(default)]
    pub package_manager: Option<Text<'a>>,
    #[serde(default)]
    pub remediation: Option<Remediation<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedCode<'a> {
    pub file: File<'a>,
    #[serde(default)]
    pub start_line: Option<i64>,
    #[serde(default)]
    pub end_line: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct File<'a> {
    pub name: Text<'a>,
    /// 1: Regular File<'a>.
    pub type_id: u32,
    #[serde(default)]
    pub path: Option<Text<'a>>,
    #[serde(default)]
    pub uid: Option<Text<'a>>,
}

/// `evidences[]` of a Detection Finding (from GuardDuty's ProductFields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence<'a> {
    #[serde(default)]
    pub api: Option<Api<'a>>,
    #[serde(default)]
    pub src_endpoint: Option<NetworkEndpoint<'a>>,
    #[serde(default)]
    pub dst_endpoint: Option<NetworkEndpoint<'a>>,
    #[serde(default)]
    pub query: Option<DnsQuery<'a>>,
    /// As the source gave it (GuardDuty's `additionalInfo/value`, a JSON text).
    #[serde(default)]
    pub data: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Api<'a> {
    pub operation: Text<'a>,
    #[serde(default)]
    pub service: Option<Service<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service<'a> {
    pub name: Text<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkEndpoint<'a> {
    #[serde(default)]
    pub ip: Option<Text<'a>>,
    #[serde(default)]
    pub port: Option<i64>,
    #[serde(default)]
    pub location: Option<Location<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location<'a> {
    #[serde(default)]
    pub city: Option<Text<'a>>,
    #[serde(default)]
    pub country: Option<Text<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsQuery<'a> {
    pub hostname: Text<'a>,
}
