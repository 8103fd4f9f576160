//! The product catalog: the integrations that DescribeProducts lists, with the facts that the
//! service publishes for them (ARN, names, categories, integration types), whether they are
//! subscribed when a hub is enabled, and where they are not offered.
//!
//! Names and companies are as they appear in findings (research note `producers.md` §1); partner
//! products as the Security Hub User Guide's partner list publishes them (ARN, company, product,
//! integration type, the China Regions' shorter list).
//! Descriptions are ours. Regional availability: Trusted Advisor's Security Hub integration is
//! documented as unsupported in the China Regions (docs.amazonaws.cn, "Amazon Trusted Advisor");
//! the other exclusions follow where the receiving service itself is not offered, our inference.

use crate::products::ProductArn;

/// What an integration does with findings (the model's `IntegrationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationType {
    SendFindings,
    ReceiveFindings,
    UpdateFindings,
}

impl IntegrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::SendFindings => "SEND_FINDINGS_TO_SECURITY_HUB",
            IntegrationType::ReceiveFindings => "RECEIVE_FINDINGS_FROM_SECURITY_HUB",
            IntegrationType::UpdateFindings => "UPDATE_FINDINGS_IN_SECURITY_HUB",
        }
    }
}

/// How an integration's findings start to flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Subscribed when the hub is enabled (AWS's sending integrations).
    Automatic,
    /// Listed, but its findings flow only after the user enables it (IoT Device Defender's
    /// "Accept findings"; partner products).
    Acceptance,
    /// Receives findings only: nothing to subscribe.
    Receiver,
}

/// One product of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogProduct {
    /// The account field of the product ARN: empty for AWS's integrations and most partners.
    pub account: &'static str,
    /// The `<company-id>` of the product ARN (`aws` for AWS's integrations).
    pub company_id: &'static str,
    /// The `<product-id>` of the product ARN.
    pub product_id: &'static str,
    pub name: &'static str,
    pub company: &'static str,
    pub description: &'static str,
    pub categories: &'static [&'static str],
    pub integration_types: &'static [IntegrationType],
    pub activation: Activation,
    /// Partitions (`aws-cn`, `aws-us-gov`) where the integration is not offered.
    pub unavailable_in: &'static [&'static str],
}

use Activation::{Acceptance, Automatic, Receiver};
use IntegrationType::{ReceiveFindings, SendFindings, UpdateFindings};

const SEND: &[IntegrationType] = &[SendFindings];
const RECEIVE: &[IntegrationType] = &[ReceiveFindings];

// One row of the table below: positional, so that the table reads as one.
#[allow(clippy::too_many_arguments)]
const fn aws(
    product_id: &'static str,
    name: &'static str,
    company: &'static str,
    description: &'static str,
    categories: &'static [&'static str],
    integration_types: &'static [IntegrationType],
    activation: Activation,
    unavailable_in: &'static [&'static str],
) -> CatalogProduct {
    CatalogProduct {
        account: "",
        company_id: "aws",
        product_id,
        name,
        company,
        description,
        categories,
        integration_types,
        activation,
        unavailable_in,
    }
}

const CHINA: &str = "aws-cn";
const GOVCLOUD: &str = "aws-us-gov";

#[allow(clippy::too_many_arguments)]
/// A partner's product that sends findings: listed everywhere, its findings accepted once the
/// account enables it.
const fn partner(
    account: &'static str,
    ids: (&'static str, &'static str),
    name: &'static str,
    company: &'static str,
    description: &'static str,
    categories: &'static [&'static str],
    integration_types: &'static [IntegrationType],
    unavailable_in: &'static [&'static str],
) -> CatalogProduct {
    CatalogProduct {
        account,
        company_id: ids.0,
        product_id: ids.1,
        name,
        company,
        description,
        categories,
        integration_types,
        activation: Acceptance,
        unavailable_in,
    }
}

/// Outside the China Regions' list of third-party integrations.
const NOT_IN_CHINA: &[&str] = &[CHINA];

static CATALOG: &[CatalogProduct] = &[
    aws(
        "access-analyzer",
        "IAM Access Analyzer",
        "AWS",
        "Resources shared outside the zone of trust, and unused access, found by IAM Access Analyzer.",
        &["Identity and Access Management"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "config",
        "Config",
        "AWS",
        "Evaluations of AWS Config rules, as compliance findings per rule and resource.",
        &["Configuration Management", "Compliance"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "firewall-manager",
        "Firewall Manager",
        "AWS",
        "Resources out of compliance with Firewall Manager's WAF, Shield Advanced and security group policies.",
        &["Network Security", "Compliance"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "guardduty",
        "GuardDuty",
        "Amazon",
        "Threats detected by GuardDuty in account activity, network flows and workloads.",
        &["Intrusion Detection", "Threat Detection"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "health",
        "Health",
        "AWS",
        "Security-relevant AWS Health events about the account's resources.",
        &["Operational Health"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "inspector",
        "Inspector",
        "Amazon",
        "Software vulnerabilities and network exposure of instances, container images and functions.",
        &["Vulnerability Management"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "iot-device-defender-audit",
        "IoT Device Defender - Audit",
        "AWS",
        "Audit check results of IoT Device Defender for the account's IoT configuration.",
        &["IoT Security", "Compliance"],
        SEND,
        Acceptance,
        &[],
    ),
    aws(
        "iot-device-defender-detect",
        "IoT Device Defender - Detect",
        "AWS",
        "Devices whose behaviour violates an IoT Device Defender security profile.",
        &["IoT Security", "Threat Detection"],
        SEND,
        Acceptance,
        &[],
    ),
    aws(
        "macie",
        "Macie",
        "Amazon",
        "S3 bucket policy findings, and sensitive data findings once published, from Macie.",
        &["Data Protection", "Sensitive Data Discovery"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "securityhub",
        "Security Hub",
        "AWS",
        "Control findings of the security standards that the hub evaluates.",
        &["Compliance"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "ssm-patch-manager",
        "Systems Manager Patch Manager",
        "AWS",
        "Instances out of compliance with their patch baseline.",
        &["Patch Management", "Compliance"],
        SEND,
        Automatic,
        &[],
    ),
    aws(
        "audit-manager",
        "Audit Manager",
        "AWS",
        "Collects control findings as evidence for audit assessments.",
        &["Audit", "Compliance"],
        RECEIVE,
        Receiver,
        &[CHINA, GOVCLOUD],
    ),
    aws(
        "chatbot",
        "Chatbot",
        "AWS",
        "Posts findings to chat channels (Slack, Microsoft Teams, Amazon Chime).",
        &["Notifications"],
        RECEIVE,
        Receiver,
        &[CHINA, GOVCLOUD],
    ),
    aws(
        "detective",
        "Detective",
        "Amazon",
        "Investigation pivots from findings to the behaviour of the resources involved.",
        &["Investigation"],
        RECEIVE,
        Receiver,
        &[CHINA],
    ),
    aws(
        "security-lake",
        "Security Lake",
        "Amazon",
        "Keeps findings as OCSF events in Parquet for query engines.",
        &["Data Lake", "Analytics"],
        RECEIVE,
        Receiver,
        &[CHINA],
    ),
    aws(
        "systems-manager-opscenter-and-explorer",
        "Systems Manager Explorer and OpsCenter",
        "AWS",
        "Opens work items for findings and resolves the finding when its work item is resolved.",
        &["Operations", "Ticketing"],
        &[ReceiveFindings, UpdateFindings],
        Receiver,
        &[],
    ),
    partner(
        "",
        ("prowler", "prowler"),
        "Prowler",
        "Prowler",
        "Open-source checks of AWS accounts against security best practices and compliance frameworks.",
        &["Compliance", "Configuration Management"],
        SEND,
        &[],
    ),
    partner(
        "",
        ("cloud-custodian", "cloud-custodian"),
        "Cloud Custodian",
        "Cloud Custodian",
        "Open-source rules engine whose policies report non-compliant resources as findings.",
        &["Compliance", "Configuration Management"],
        &[SendFindings, ReceiveFindings],
        &[],
    ),
    partner(
        "",
        ("aqua-security", "kube-bench"),
        "Kube-bench",
        "Aqua Security",
        "Open-source checks of Kubernetes clusters against the CIS Kubernetes Benchmark.",
        &["Compliance", "Container Security"],
        SEND,
        NOT_IN_CHINA,
    ),
    partner(
        "",
        ("aquasecurity", "aquasecurity"),
        "Aqua Cloud Native Security Platform",
        "Aqua Security",
        "Vulnerabilities of container images and file systems (Trivy's ASFF output names this product).",
        &["Vulnerability Management", "Container Security"],
        SEND,
        NOT_IN_CHINA,
    ),
    partner(
        "517716713836",
        ("crowdstrike", "crowdstrike-falcon"),
        "CrowdStrike Falcon",
        "CrowdStrike",
        "Endpoint detections from the Falcon sensor.",
        &["Endpoint Detection and Response"],
        SEND,
        NOT_IN_CHINA,
    ),
    aws(
        "trusted-advisor",
        "Trusted Advisor",
        "AWS",
        "Shows the results of security controls as Trusted Advisor checks.",
        &["Best Practices"],
        RECEIVE,
        Receiver,
        &[CHINA, GOVCLOUD],
    ),
];

/// Every product of the catalog, in every partition.
pub fn products() -> &'static [CatalogProduct] {
    CATALOG
}

/// The catalog entry of a product, by the company and product ids of its ARN.
pub fn find(company_id: &str, product_id: &str) -> Option<&'static CatalogProduct> {
    CATALOG.iter().find(|p| p.company_id == company_id && p.product_id == product_id)
}

/// The entry of a product ARN, when the catalog has it and offers it in the ARN's partition.
pub fn find_arn(arn: &ProductArn<'_>) -> Option<&'static CatalogProduct> {
    find(arn.company, arn.product).filter(|p| arn.account == p.account && p.available_in(arn.partition))
}

impl CatalogProduct {
    /// Whether the integration is offered in a partition.
    pub fn available_in(&self, partition: &str) -> bool {
        !self.unavailable_in.contains(&partition)
    }

    /// The product's ARN in a Region.
    pub fn arn(&self, partition: &str, region: &str) -> String {
        format!("arn:{partition}:securityhub:{region}:{}:product/{}/{}", self.account, self.company_id, self.product_id)
    }

    /// Whether the product sends findings (and so can be subscribed to).
    pub fn sends_findings(&self) -> bool {
        self.integration_types.contains(&SendFindings)
    }
}

/// The products that a hub subscribes to when it is enabled in a Region.
pub fn automatic_subscriptions(partition: &str, region: &str) -> Vec<String> {
    CATALOG
        .iter()
        .filter(|p| p.activation == Automatic && p.available_in(partition))
        .map(|p| p.arn(partition, region))
        .collect()
}

/// The partition of a Region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_producer_and_receiver_is_listed_once() {
        for id in [
            "access-analyzer",
            "config",
            "firewall-manager",
            "guardduty",
            "health",
            "inspector",
            "iot-device-defender-audit",
            "iot-device-defender-detect",
            "macie",
            "ssm-patch-manager",
            "audit-manager",
            "chatbot",
            "detective",
            "security-lake",
            "systems-manager-opscenter-and-explorer",
            "trusted-advisor",
        ] {
            assert_eq!(CATALOG.iter().filter(|p| p.product_id == id).count(), 1, "{id}");
        }
    }

    #[test]
    fn acceptance_products_are_not_subscribed_automatically() {
        let subs = automatic_subscriptions("aws", "eu-west-1");
        assert!(subs.contains(&"arn:aws:securityhub:eu-west-1::product/aws/guardduty".to_owned()));
        assert!(!subs.iter().any(|s| s.contains("iot-device-defender")));
        assert!(!subs.iter().any(|s| s.contains("chatbot")), "receivers have no subscription");
    }

    #[test]
    fn partners_need_acceptance_and_keep_their_arn_account() {
        let prowler = find("prowler", "prowler").expect("prowler");
        assert_eq!(prowler.activation, Activation::Acceptance);
        assert_eq!(prowler.arn("aws", "eu-west-1"), "arn:aws:securityhub:eu-west-1::product/prowler/prowler");
        assert!(prowler.available_in("aws-cn"), "Prowler is on the China Regions' list");
        let falcon = find("crowdstrike", "crowdstrike-falcon").expect("falcon");
        let arn = falcon.arn("aws", "us-east-1");
        assert_eq!(arn, "arn:aws:securityhub:us-east-1:517716713836:product/crowdstrike/crowdstrike-falcon");
        assert!(find_arn(&ProductArn::parse(&arn).expect("arn")).is_some());
        let without_account = "arn:aws:securityhub:us-east-1::product/crowdstrike/crowdstrike-falcon";
        assert!(find_arn(&ProductArn::parse(without_account).expect("arn")).is_none());
    }

    #[test]
    fn regional_exclusions_apply_by_partition() {
        let ta = find("aws", "trusted-advisor").expect("trusted advisor");
        assert!(!ta.available_in(partition_of("cn-north-1")));
        assert!(ta.available_in(partition_of("eu-west-1")));
        let arn = ProductArn::parse("arn:aws-cn:securityhub:cn-north-1::product/aws/trusted-advisor").expect("arn");
        assert!(find_arn(&arn).is_none());
    }
}
