//! Detective pivots and the entities of a finding (research notes §5).
//!
//! **Documented AWS behaviour** (Detective user guide, "profile-pivot-from-service" and
//! "profile-navigate-url"): Security Hub offers "Investigate in Detective" for GuardDuty findings
//! only; the console URL is
//! `https://console.aws.amazon.com/detective/home?region=<Region>#<type>/<namespace>/<id>?scopeStart=<epoch s>&scopeEnd=<epoch s>`
//! with `type` `findings` (namespace `GuardDuty`, id = the GuardDuty finding id, the last segment
//! of the ASFF `Id`) or `entities` (namespaces `AwsAccount`, `AwsRole`, `AwsUser`, `Ec2Instance`,
//! `IpAddress`, `S3Bucket`, …); the pivot opens in the Region where the finding originated.
//!
//! **Our proposal**: which entities a finding links to (from `Resources[]`: `AwsEc2Instance` →
//! `Ec2Instance/<instance id>`, `AwsS3Bucket` → `S3Bucket/<name>`, `AwsIamAccessKey.PrincipalId`
//! → `AwsUser`, `AwsIamRole.RoleId` → `AwsRole`; `AwsAccountId` → `AwsAccount`; remote IPv4
//! addresses → `IpAddress`); the scope of every link is the finding's observed window
//! (FirstObservedAt..LastObservedAt, else CreatedAt..UpdatedAt), where Detective's own default for
//! an entity would be the 24 hours before *now*, which misses an older finding's activity;
//! [`entities`], the identities by which the investigation view groups findings (same resource,
//! account, IP address), is ours too.

use crate::finding::{self, str_at};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Detective's console, as the user guide gives it; the region goes in the query.
pub const DEFAULT_BASE_URL: &str = "https://console.aws.amazon.com/detective/home";

/// Characters that would end or split a fragment path segment or its query.
const SEGMENT: &AsciiSet =
    &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'&').add(b'/').add(b'?').add(b'<').add(b'>');

/// One link into Detective.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PivotLink {
    pub label: String,
    pub url: String,
}

/// The pivots of a GuardDuty finding: the finding overview first, then one per entity. Empty for
/// the findings of other products, and for a GuardDuty finding whose Id has no finding id.
pub fn pivot_links(finding: &Map<String, Value>, base_url: &str) -> Vec<PivotLink> {
    if !finding::is_guardduty(finding) {
        return Vec::new();
    }
    let Some(guardduty_id) = guardduty_finding_id(finding::id(finding)) else {
        return Vec::new();
    };
    let region = region_of(finding);
    let scope = scope(finding);
    let link = |kind: &str, namespace: &str, id: &str| {
        let mut url = format!(
            "{}?region={}#{kind}/{namespace}/{}",
            base_url.trim_end_matches('/'),
            utf8_percent_encode(region, SEGMENT),
            utf8_percent_encode(id, SEGMENT)
        );
        if let Some((start, end)) = scope {
            url.push_str(&format!("?scopeStart={start}&scopeEnd={end}"));
        }
        url
    };
    let mut links = vec![PivotLink {
        label: "Investigate finding in Detective".to_owned(),
        url: link("findings", "GuardDuty", guardduty_id),
    }];
    for (namespace, id) in detective_entities(finding) {
        links.push(PivotLink { label: format!("{namespace} {id}"), url: link("entities", namespace, &id) });
    }
    links
}

/// The GuardDuty finding id: the last segment of `arn:aws:guardduty:<r>:<a>:detector/<d>/finding/<id>`.
fn guardduty_finding_id(asff_id: &str) -> Option<&str> {
    let (_, id) = asff_id.rsplit_once("/finding/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// `Region`, else the segment after `guardduty` in the finding's ARN (the user guide's own
/// example writes `arn:aws::guardduty:us-east-1:…`, with an extra colon).
fn region_of(finding: &Map<String, Value>) -> &str {
    str_at(finding, &["Region"])
        .or_else(|| {
            let mut parts = finding::id(finding).split(':').skip_while(|p| *p != "guardduty");
            parts.nth(1).filter(|r| !r.is_empty())
        })
        .unwrap_or("us-east-1")
}

/// The observed window in Unix seconds, widened to whole seconds.
fn scope(finding: &Map<String, Value>) -> Option<(i64, i64)> {
    let start = finding::timestamp(finding, "FirstObservedAt").or_else(|| finding::timestamp(finding, "CreatedAt"))?;
    let end = finding::timestamp(finding, "LastObservedAt").or_else(|| finding::timestamp(finding, "UpdatedAt"))?;
    let (start, end) = (start.min(end), start.max(end));
    Some((start.div_euclid(1_000_000), (end + 999_999).div_euclid(1_000_000)))
}

/// Detective's (namespace, id) pairs for a finding, without duplicates.
fn detective_entities(finding: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut push = |ns: &'static str, id: &str| {
        if !id.is_empty() && !out.iter().any(|(n, i)| *n == ns && i == id) {
            out.push((ns, id.to_owned()));
        }
    };
    if let Some(account) = str_at(finding, &["AwsAccountId"]) {
        push("AwsAccount", account);
    }
    for r in finding::resources(finding) {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let id = r.get("Id").and_then(Value::as_str).unwrap_or_default();
        let details = r.get("Details").and_then(|d| d.get(ty));
        let detail = |k: &str| details.and_then(|d| d.get(k)).and_then(Value::as_str);
        match ty {
            "AwsEc2Instance" => push("Ec2Instance", id.rsplit('/').next().unwrap_or(id)),
            "AwsS3Bucket" => push("S3Bucket", detail("Name").unwrap_or_else(|| id.rsplit(':').next().unwrap_or(id))),
            "AwsIamAccessKey" => {
                if let Some(p) = detail("PrincipalId") {
                    push("AwsUser", p);
                }
            }
            "AwsIamRole" => {
                if let Some(p) = detail("RoleId") {
                    push("AwsRole", p);
                }
            }
            _ => {}
        }
    }
    for ip in remote_ips(finding) {
        push("IpAddress", &ip);
    }
    out
}

/// What a finding is about, for grouping findings that share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum EntityKind {
    Resource,
    Account,
    IpAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub value: String,
}

/// The entities of any finding: every `Resources[].Id`, `AwsAccountId`, and the IP addresses of
/// `Network.{Source,Destination}Ip{V4,V6}`, of `Action.*…RemoteIpDetails.IpAddressV4`, and of
/// GuardDuty's `ProductFields` (`…/remoteIpDetails/ipAddressV4`). Each once, in that order; IP
/// addresses only when they parse as one (GuardDuty's sample findings hold placeholders).
pub fn entities(finding: &Map<String, Value>) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut push = |kind: EntityKind, value: &str| {
        if !value.is_empty() && !out.iter().any(|e: &Entity| e.kind == kind && e.value == value) {
            out.push(Entity { kind, value: value.to_owned() });
        }
    };
    for id in finding::resource_ids(finding) {
        push(EntityKind::Resource, id);
    }
    if let Some(account) = str_at(finding, &["AwsAccountId"]) {
        push(EntityKind::Account, account);
    }
    for ip in network_ips(finding).into_iter().chain(remote_ips(finding)) {
        push(EntityKind::IpAddress, &ip);
    }
    out
}

/// The entities that two findings share (the investigation view's "related findings").
pub fn shared_entities(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<Entity> {
    let theirs = entities(b);
    entities(a).into_iter().filter(|e| theirs.contains(e)).collect()
}

fn canonical_ip(s: &str) -> Option<String> {
    s.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

fn network_ips(finding: &Map<String, Value>) -> Vec<String> {
    ["SourceIpV4", "DestinationIpV4", "SourceIpV6", "DestinationIpV6"]
        .iter()
        .filter_map(|k| str_at(finding, &["Network", k]).and_then(canonical_ip))
        .collect()
}

/// Remote IPs of `Action` (any depth: network connection, API call, port probe details) and of
/// GuardDuty's flattened ProductFields.
fn remote_ips(finding: &Map<String, Value>) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "RemoteIpDetails" {
                        if let Some(ip) = v.get("IpAddressV4").and_then(Value::as_str).and_then(canonical_ip) {
                            out.push(ip);
                        }
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(action) = finding.get("Action") {
        walk(action, &mut out);
    }
    if let Some(Value::Object(pf)) = finding.get("ProductFields") {
        for (k, v) in pf {
            if k.starts_with("aws/guardduty/")
                && k.ends_with("remoteIpDetails/ipAddressV4")
                && let Some(ip) = v.as_str().and_then(canonical_ip)
            {
                out.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use serde_json::json;

    #[test]
    fn the_guardduty_user_guide_finding_pivots_to_its_finding_and_entities() {
        let f = samples::asff(samples::GUARDDUTY_SSH);
        let links = pivot_links(&f, DEFAULT_BASE_URL);
        // FirstObservedAt 2020-08-22T09:15:57Z, LastObservedAt 2020-09-30T11:56:49Z.
        let scope = "?scopeStart=1598087757&scopeEnd=1601467009";
        assert_eq!(links[0].label, "Investigate finding in Detective");
        assert_eq!(
            links[0].url,
            format!(
                "https://console.aws.amazon.com/detective/home?region=us-east-1#findings/GuardDuty/46ba0ac2845071e23ccdeb2ae03bfdea{scope}"
            )
        );
        let rest: Vec<(&str, &str)> = links[1..].iter().map(|l| (l.label.as_str(), l.url.as_str())).collect();
        assert_eq!(
            rest,
            vec![
                (
                    "AwsAccount 193043430472",
                    &*format!(
                        "https://console.aws.amazon.com/detective/home?region=us-east-1#entities/AwsAccount/193043430472{scope}"
                    )
                ),
                (
                    "Ec2Instance i-0c10c2c7863d1a356",
                    &*format!(
                        "https://console.aws.amazon.com/detective/home?region=us-east-1#entities/Ec2Instance/i-0c10c2c7863d1a356{scope}"
                    )
                ),
                (
                    "IpAddress 199.241.229.197",
                    &*format!(
                        "https://console.aws.amazon.com/detective/home?region=us-east-1#entities/IpAddress/199.241.229.197{scope}"
                    )
                ),
            ]
        );
    }

    #[test]
    fn an_iam_finding_pivots_to_the_user_in_its_own_region_with_a_configured_base() {
        let f = samples::asff(samples::GUARDDUTY_RECON);
        let links = pivot_links(&f, "https://detective.example.test/home/");
        assert!(links[0].url.starts_with(
            "https://detective.example.test/home?region=eu-west-1#findings/GuardDuty/c4badb90e558d72c673381bff485aece?scopeStart="
        ));
        let labels: Vec<&str> = links.iter().map(|l| l.label.as_str()).collect();
        assert!(labels.contains(&"AwsUser GeneratedFindingPrincipalId"), "{labels:?}");
        assert!(labels.contains(&"Ec2Instance i-99999999"), "{labels:?}");
        assert!(labels.contains(&"IpAddress 198.51.100.0"), "{labels:?}");
    }

    #[test]
    fn other_products_have_no_pivots() {
        assert!(pivot_links(&samples::control_finding(), DEFAULT_BASE_URL).is_empty());
        assert!(pivot_links(&samples::asff(samples::CONFIG), DEFAULT_BASE_URL).is_empty());
        let mut odd = samples::asff(samples::GUARDDUTY_SSH);
        odd.insert("Id".into(), json!("not-a-guardduty-arn"));
        assert!(pivot_links(&odd, DEFAULT_BASE_URL).is_empty());
    }

    #[test]
    fn entity_ids_are_encoded_and_scope_is_omitted_without_timestamps() {
        let mut f = samples::asff(samples::GUARDDUTY_SSH);
        for k in ["FirstObservedAt", "LastObservedAt", "CreatedAt"] {
            f.remove(k);
        }
        f.insert(
            "Resources".into(),
            json!([{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::my bucket#1", "Details": {"AwsS3Bucket": {"Name": "my bucket#1"}}}]),
        );
        let links = pivot_links(&f, DEFAULT_BASE_URL);
        let bucket = links.iter().find(|l| l.label.starts_with("S3Bucket")).expect("bucket link");
        assert_eq!(
            bucket.url,
            "https://console.aws.amazon.com/detective/home?region=us-east-1#entities/S3Bucket/my%20bucket%231"
        );
    }

    #[test]
    fn entities_come_from_resources_account_network_action_and_guardduty_fields() {
        let mut f = samples::asff(samples::GUARDDUTY_SSH);
        f.insert(
            "Network".into(),
            json!({"Direction": "IN", "SourceIpV4": "199.241.229.197", "DestinationIpV4": "172.31.43.6"}),
        );
        f.insert(
            "Action".into(),
            json!({"ActionType": "PORT_PROBE", "PortProbeAction": {"PortProbeDetails": [
                {"LocalIpDetails": {"IpAddressV4": "172.31.43.6"}, "RemoteIpDetails": {"IpAddressV4": "203.0.113.9"}},
                {"RemoteIpDetails": {"IpAddressV4": "GeneratedFindingIp"}}]}}),
        );
        let all = entities(&f);
        let got: Vec<(EntityKind, &str)> = all.iter().map(|e| (e.kind, e.value.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (EntityKind::Resource, "arn:aws::ec2:us-east-1:193043430472:instance/i-0c10c2c7863d1a356"),
                (EntityKind::Account, "193043430472"),
                (EntityKind::IpAddress, "199.241.229.197"),
                (EntityKind::IpAddress, "172.31.43.6"),
                (EntityKind::IpAddress, "203.0.113.9"),
            ]
        );
    }

    #[test]
    fn findings_share_entities() {
        let ssh = samples::asff(samples::GUARDDUTY_SSH);
        let config = samples::asff(samples::CONFIG);
        let control = samples::control_finding();
        assert!(shared_entities(&ssh, &config).is_empty());
        assert_eq!(
            shared_entities(&config, &control),
            vec![Entity { kind: EntityKind::Account, value: "123456789012".into() }]
        );
        let mut same_bucket = control.clone();
        same_bucket.insert("Resources".into(), config["Resources"].clone());
        let shared = shared_entities(&config, &same_bucket);
        assert!(shared.contains(&Entity {
            kind: EntityKind::Resource,
            value: "arn:aws:s3:::config-integration-demo-bucket".into()
        }));
    }
}
