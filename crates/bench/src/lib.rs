//! Synthetic findings for the benchmarks: deterministic, about 2 KB of JSON each, shaped like the
//! findings of real configuration scanners.

pub mod http;

use findinghub_asff::timestamp::{MICROS_PER_DAY, Micros, format_timestamp};
use serde_json::json;

/// Distinct finding bodies generated up front.
pub const POOL: u64 = 20_000;
pub const ACCOUNTS: [&str; 4] = ["111111111111", "222222222222", "333333333333", "444444444444"];
const LABELS: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
const WORKFLOW: [&str; 4] = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];
const WORDS: [&str; 16] = [
    "exposed",
    "port",
    "bucket",
    "policy",
    "root",
    "credential",
    "unencrypted",
    "public",
    "instance",
    "role",
    "logging",
    "disabled",
    "rotation",
    "traffic",
    "anomalous",
    "key",
];

/// A deterministic pseudo-random number from `i` and a salt (splitmix64).
pub fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The i-th synthetic finding as a client would send it: about 2 KB of JSON.
pub fn finding_json(i: u64, now: Micros) -> String {
    let account = ACCOUNTS[(mix(i, 1) % 4) as usize];
    let product = format!("arn:aws:securityhub:us-east-1:{account}:product/{account}/default");
    // Producers stamp UpdatedAt when they send: the pool spans the last 60 days, in order.
    let updated = now - 60 * MICROS_PER_DAY + (i as i64) * (60 * MICROS_PER_DAY / POOL as i64);
    let title: Vec<&str> = (0..5).map(|k| WORDS[(mix(i, 10 + k) % 16) as usize]).collect();
    let instance = format!("i-{:017x}", mix(i, 3) % 200_000);
    let f = json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("bench-{i:010}"),
        "ProductArn": product,
        "GeneratorId": format!("bench-rule-{}", mix(i, 4) % 500),
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices", "Effects/Data Exposure"],
        "FirstObservedAt": format_timestamp(updated - MICROS_PER_DAY),
        "LastObservedAt": format_timestamp(updated),
        "CreatedAt": format_timestamp(updated - MICROS_PER_DAY),
        "UpdatedAt": format_timestamp(updated),
        "Severity": {"Label": LABELS[(mix(i, 5) % 5) as usize], "Original": "5.0"},
        "Confidence": mix(i, 6) % 101,
        "Title": format!("{} {i}", title.join(" ")),
        "Description": "This control checks whether the resource is configured according to the organisation's baseline. \
            The finding was produced by the benchmark generator of findinghub to look like the findings of real \
            configuration scanners: a few hundred characters of prose, a remediation, resources with details, \
            product fields and compliance information, so that the import and query figures are representative.",
        "Remediation": {"Recommendation": {"Text": "Follow the remediation steps in the documentation of the control.",
                                           "Url": "https://docs.example.com/controls/remediation"}},
        "SourceUrl": "https://scanner.example.com/findings",
        "ProductFields": {"scanner/version": "1.2.3", "scanner/rule": format!("R{}", mix(i, 7) % 500),
                          "scanner/category": "configuration", "scanner/run": format!("run-{}", i / 1000)},
        "Resources": [{
            "Type": "AwsEc2Instance",
            "Id": format!("arn:aws:ec2:us-east-1:{account}:instance/{instance}"),
            "Partition": "aws",
            "Region": "us-east-1",
            "Tags": {"env": if mix(i, 8).is_multiple_of(3) { "prod" } else { "dev" }, "team": format!("team-{}", mix(i, 9) % 20)},
            "Details": {"AwsEc2Instance": {
                "Type": "t3.medium", "ImageId": "ami-0abcdef1234567890", "IpV4Addresses": [format!("10.0.{}.{}", i % 250, i % 200)],
                "KeyName": "ops", "VpcId": "vpc-0123456789abcdef0", "SubnetId": "subnet-0123456789abcdef0",
                "LaunchedAt": format_timestamp(updated - 7 * MICROS_PER_DAY)}}
        }],
        "Compliance": {"Status": if mix(i, 11).is_multiple_of(2) { "FAILED" } else { "PASSED" }, "RelatedRequirements": ["CIS AWS Foundations 4.1"]},
        "Workflow": {"Status": WORKFLOW[(mix(i, 12) % 4) as usize]},
        "RecordState": "ACTIVE"
    });
    f.to_string()
}

/// Request bodies: a pool of distinct findings, each sent under many Ids (the Id is spliced in, so
/// that making a body costs next to nothing beside the hub's own work).
pub struct BodyPool {
    /// Each finding's JSON before and after its Id.
    parts: Vec<(String, String)>,
}

impl BodyPool {
    pub fn new(now: Micros) -> BodyPool {
        let parts = (0..POOL)
            .map(|i| {
                let body = finding_json(i, now);
                let id = format!("\"bench-{i:010}\"");
                let at = body.find(&id).unwrap_or(0);
                (body[..at].to_owned(), body[at + id.len()..].to_owned())
            })
            .collect();
        BodyPool { parts }
    }

    /// The JSON of the `i`-th finding: the pool's finding `i % POOL` under the Id `bench-<i>`.
    pub fn body(&self, i: u64) -> String {
        match self.parts.get((i % POOL) as usize) {
            Some((head, tail)) => format!("{head}\"bench-{i:010}\"{tail}"),
            None => String::new(),
        }
    }

    pub fn average_size(&self) -> f64 {
        let total: usize = self.parts.iter().map(|(a, b)| a.len() + b.len() + 18).sum();
        total as f64 / self.parts.len().max(1) as f64
    }
}
