//! Amazon Detective pivot links for GuardDuty findings (the Detective user guide's
//! "profile-navigate-url" formats): the finding's overview, and the entities it names.

use serde_json::Value;

/// A Detective profile URL in the Region where the finding originated.
fn url(region: &str, kind: &str, namespace: &str, id: &str, scope: Option<(i64, i64)>) -> String {
    let id: String = percent_encode(id);
    let scope = scope.map(|(s, e)| format!("?scopeStart={s}&scopeEnd={e}")).unwrap_or_default();
    format!("https://console.aws.amazon.com/detective/home?region={region}#{kind}/{namespace}/{id}{scope}")
}

fn percent_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

fn epoch_seconds(v: &Value) -> Option<i64> {
    v.as_str().and_then(findinghub_asff::timestamp::parse_timestamp).map(|us| us / 1_000_000)
}

/// The pivot links of a finding, as (label, URL); none unless it is a GuardDuty finding.
pub fn pivot_links(finding: &Value) -> Vec<(String, String)> {
    let product = finding["ProductArn"].as_str().unwrap_or_default();
    if !product.ends_with("/aws/guardduty") {
        return Vec::new();
    }
    let region = finding["Region"].as_str().unwrap_or("us-east-1");
    let mut links = Vec::new();
    // The GuardDuty finding id is the last segment of the ASFF Id (…/finding/<id>).
    if let Some(id) = finding["Id"].as_str().and_then(|id| id.rsplit('/').next()).filter(|s| !s.is_empty()) {
        let scope = match (epoch_seconds(&finding["FirstObservedAt"]), epoch_seconds(&finding["LastObservedAt"])) {
            (Some(s), Some(e)) => Some((s, e)),
            _ => None,
        };
        links.push(("Investigate finding".to_owned(), url(region, "findings", "GuardDuty", id, scope)));
    }
    if let Some(account) = finding["AwsAccountId"].as_str() {
        links.push((format!("Account {account}"), url(region, "entities", "AwsAccount", account, None)));
    }
    for r in finding["Resources"].as_array().into_iter().flatten() {
        let details = &r["Details"];
        let entity = match r["Type"].as_str().unwrap_or_default() {
            "AwsEc2Instance" => r["Id"].as_str().and_then(|id| id.rsplit('/').next()).map(|i| ("Ec2Instance", i)),
            "AwsS3Bucket" => r["Id"].as_str().map(|id| ("S3Bucket", id.trim_start_matches("arn:aws:s3:::"))),
            "AwsIamAccessKey" => details["AwsIamAccessKey"]["PrincipalId"].as_str().map(|p| ("AwsUser", p)),
            _ => None,
        };
        if let Some((namespace, id)) = entity {
            links.push((format!("{namespace} {id}"), url(region, "entities", namespace, id, None)));
        }
    }
    for ip in remote_ips(finding) {
        links.push((format!("IpAddress {ip}"), url(region, "entities", "IpAddress", &ip, None)));
    }
    links
}

/// Remote IPv4 addresses of the finding's action (`Action.*.RemoteIpDetails.IpAddressV4`).
fn remote_ips(finding: &Value) -> Vec<String> {
    let mut ips: Vec<String> = finding["Action"]
        .as_object()
        .into_iter()
        .flat_map(|a| a.values())
        .filter_map(|v| v["RemoteIpDetails"]["IpAddressV4"].as_str().map(str::to_owned))
        .collect();
    ips.dedup();
    ips
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn guardduty_findings_get_the_finding_and_entity_links() {
        let f = json!({
            "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
            "Id": "arn:aws:guardduty:eu-west-1:111111111111:detector/d1/finding/f123",
            "Region": "eu-west-1",
            "AwsAccountId": "111111111111",
            "FirstObservedAt": "2019-03-18T00:00:00Z",
            "LastObservedAt": "2019-03-18T12:00:00Z",
            "Resources": [{"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:eu-west-1:111111111111:instance/i-0abc"}],
            "Action": {"NetworkConnectionAction": {"RemoteIpDetails": {"IpAddressV4": "198.51.100.7"}}},
        });
        let links = pivot_links(&f);
        assert_eq!(
            links[0].1,
            "https://console.aws.amazon.com/detective/home?region=eu-west-1#findings/GuardDuty/f123?scopeStart=1552867200&scopeEnd=1552910400"
        );
        assert!(links.iter().any(|(_, u)| u.ends_with("#entities/Ec2Instance/i-0abc")));
        assert!(links.iter().any(|(_, u)| u.ends_with("#entities/AwsAccount/111111111111")));
        assert!(links.iter().any(|(_, u)| u.ends_with("#entities/IpAddress/198.51.100.7")));
    }

    #[test]
    fn other_products_get_none() {
        let f = json!({"ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/inspector", "Id": "x"});
        assert!(pivot_links(&f).is_empty());
    }
}
