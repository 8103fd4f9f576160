//! The ASFF limits that the API model states only in prose (member documentation such as "Length
//! Constraints: Minimum length of 1. Maximum length of 1024.") or that AWS is observed to enforce.
//! Keyed by (structure shape, member); each entry cites its source:
//!
//! - `[M]` the member's documentation in the botocore model (`shared/spec/securityhub-2018-10-26.service-2.json`);
//! - `[I …]` a real `BatchImportFindings` error quoted in a public issue.
//!
//! Every entry names a member that exists (tested), and the validator applies it on top of the
//! model's own constraints.

/// How the items of a `Types` list are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFormat {
    /// `namespace[/category[/classifier]]`: one to three non-empty parts separated by `/`. AWS
    /// reports `should match pattern "^([^/]+)(/[^/]+){0,2}$"` [I prowler-cloud/prowler#2519].
    /// With [`crate::validate::Options::strict_type_namespaces`] the namespace must also be one of
    /// [`TYPE_NAMESPACES`].
    TypeTaxonomy,
}

/// The prefix of the ProductFields that Security Hub writes itself (`aws/securityhub/FindingId`, …).
pub const SERVICE_PRODUCT_FIELDS_PREFIX: &str = "aws/securityhub/";

/// The namespaces of the ASFF types taxonomy [M `AwsSecurityFinding.Types`].
pub const TYPE_NAMESPACES: [&str; 5] =
    ["Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors", "Sensitive Data Identifications"];

/// The pattern AWS reports for a malformed `Types` item.
pub const TYPE_FORM_PATTERN: &str = "^([^/]+)(/[^/]+){0,2}$";

/// The pattern reported in strict mode for an item whose namespace is not one of [`TYPE_NAMESPACES`].
pub const TYPE_NAMESPACE_PATTERN: &str =
    "^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(/[^/]+){0,2}$";

/// The only `SchemaVersion` [M `AwsSecurityFinding.SchemaVersion`].
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// Extra constraints on one member. Lengths count Unicode code points, as AWS's validator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub shape: &'static str,
    pub member: &'static str,
    /// String length.
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    /// Items of a list, or entries of a map.
    pub min_count: Option<u32>,
    pub max_count: Option<u32>,
    /// Key and value lengths of a map.
    pub max_key_length: Option<u32>,
    pub max_value_length: Option<u32>,
    /// Numeric range.
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    /// Format of each item of a list of strings.
    pub item_format: Option<ItemFormat>,
    /// The allowed values of a string, when the model has no enum for it.
    pub one_of: &'static [&'static str],
}

impl Limit {
    pub const fn new(shape: &'static str, member: &'static str) -> Self {
        Limit {
            shape,
            member,
            min_length: None,
            max_length: None,
            min_count: None,
            max_count: None,
            max_key_length: None,
            max_value_length: None,
            minimum: None,
            maximum: None,
            item_format: None,
            one_of: &[],
        }
    }

    /// String length `min..=max` code points.
    pub const fn length(self, min: u32, max: u32) -> Self {
        Limit { min_length: Some(min), max_length: Some(max), ..self }
    }

    /// List items (or map entries) `min..=max`.
    pub const fn count(self, min: u32, max: u32) -> Self {
        Limit { min_count: Some(min), max_count: Some(max), ..self }
    }

    /// At most `max` list items (or map entries).
    pub const fn max_count(self, max: u32) -> Self {
        Limit { max_count: Some(max), ..self }
    }

    /// A map of at most `entries` entries whose keys and values are at most so many code points.
    pub const fn map(self, entries: u32, key: u32, value: u32) -> Self {
        Limit { max_count: Some(entries), max_key_length: Some(key), max_value_length: Some(value), ..self }
    }

    /// A number in `min..=max`.
    pub const fn range(self, min: i64, max: i64) -> Self {
        Limit { minimum: Some(min), maximum: Some(max), ..self }
    }

    pub const fn items(self, format: ItemFormat) -> Self {
        Limit { item_format: Some(format), ..self }
    }

    pub const fn one_of(self, values: &'static [&'static str]) -> Self {
        Limit { one_of: values, ..self }
    }
}

const fn at(shape: &'static str, member: &'static str) -> Limit {
    Limit::new(shape, member)
}

const PID_MAX: i64 = 2_147_483_647;

/// The table. Order does not matter; lookups go through [`crate::validate`]'s per-member index.
pub static LIMITS: &[Limit] = &[
    // AwsSecurityFinding, top level: [M] member docs unless stated.
    at("AwsSecurityFinding", "SchemaVersion").one_of(&[SCHEMA_VERSION]), // [M] "The value is 2018-10-08."
    at("AwsSecurityFinding", "Id").length(1, 512),                       // [M] Length Constraints 1..512
    at("AwsSecurityFinding", "ProductArn").length(12, 2048),             // [M] Length Constraints 12..2048
    at("AwsSecurityFinding", "ProductName").length(1, 128),              // [M] Length Constraints 1..128
    at("AwsSecurityFinding", "CompanyName").length(1, 128),              // [M] Length Constraints 1..128
    at("AwsSecurityFinding", "Region").length(1, 16),                    // [M] Length Constraints 1..16
    at("AwsSecurityFinding", "GeneratorId").length(1, 512),              // [M] Length Constraints 1..512
    at("AwsSecurityFinding", "AwsAccountId").length(12, 12),             // [M] "Length Constraints: 12."
    at("AwsSecurityFinding", "AwsAccountName").length(1, 50),            // [M] Length Constraints 1..50
    at("AwsSecurityFinding", "Title").length(1, 256),                    // [M] Length Constraints 1..256
    at("AwsSecurityFinding", "Description").length(1, 1024),             // [M] Length Constraints 1..1024
    at("AwsSecurityFinding", "Types").max_count(50).items(ItemFormat::TypeTaxonomy), // [M] "Maximum number of 50 items", namespace/category/classifier
    at("AwsSecurityFinding", "Confidence").range(0, 100),                            // [M] "scored on a 0-100 basis"
    at("AwsSecurityFinding", "Criticality").range(0, 100), // [M] "a score of 100 is reserved for the most critical"
    at("AwsSecurityFinding", "ProductFields").map(50, 128, 2048), // [M] "up to 50 key-value pairs", key ≤128, value ≤2048
    at("AwsSecurityFinding", "UserDefinedFields").map(50, 128, 1024), // [M] "up to 50 key-value pairs", key ≤128, value ≤1024
    at("AwsSecurityFinding", "Malware").max_count(5),                 // [M] "Maximum number of 5 items"
    at("AwsSecurityFinding", "Threats").count(1, 32), // [M] "Minimum number of 1 item. Maximum number of 32 items."
    at("AwsSecurityFinding", "ThreatIntelIndicators").count(1, 5), // [M] "Minimum number of 1 item. Maximum number of 5 items."
    at("AwsSecurityFinding", "Resources").count(1, 32), // [M] 1..32 items; [I aws-samples/aws-securityhub-config-integration] "should NOT have fewer than 1 items"
    at("AwsSecurityFinding", "RelatedFindings").count(1, 10), // [M] "Minimum number of 1 item. Maximum number of 10 items."
    // FindingProviderFields: the same rules as the top-level copies [M FindingProviderFields].
    at("FindingProviderFields", "Confidence").range(0, 100), // [M] 0-100 (also RatioScale in the model)
    at("FindingProviderFields", "Criticality").range(0, 100), // [M] 0-100
    at("FindingProviderFields", "RelatedFindings").count(1, 10), // [M] as AwsSecurityFinding.RelatedFindings
    at("FindingProviderFields", "Types").max_count(50).items(ItemFormat::TypeTaxonomy), // [M] as AwsSecurityFinding.Types
    // Severity.
    at("Severity", "Original").length(1, 64),   // [M] Length Constraints 1..64
    at("Severity", "Normalized").range(0, 100), // [M] "an integer between 0 and 100"
    at("FindingProviderSeverity", "Original").length(1, 64), // [M] Length Constraints 1..64
    // Note, Resource, Compliance, Remediation.
    at("Note", "Text").length(1, 512),      // [M] "Minimum of 1. Maximum of 512."
    at("Resource", "Type").length(1, 256), // [M] 1..256; [I prowler-cloud/prowler#778] "should NOT be shorter than 1 characters"
    at("Resource", "Region").length(1, 16), // [M] 1..16
    at("Compliance", "RelatedRequirements").max_count(32), // [M] "Maximum number of 32 items"
    at("Compliance", "AssociatedStandards").max_count(20), // [I prowler-cloud/prowler#2520] "AssociatedStandards should NOT have more than 20 items"
    at("Recommendation", "Text").length(1, 512), // [M] 1..512; [I aquasecurity/kube-bench#903] "should NOT be longer than 512 characters"
    // Malware, Network, Process.
    at("Malware", "Name").length(1, 64),     // [M] "Minimum of 1. Maximum of 64."
    at("Malware", "Path").length(1, 512),    // [M] "Minimum of 1. Maximum of 512."
    at("Network", "Protocol").length(1, 16), // [M] "Minimum of 1. Maximum of 16."
    at("Network", "SourceDomain").length(1, 128), // [M] "Minimum of 1. Maximum of 128."
    at("Network", "DestinationDomain").length(1, 128), // [M] "Minimum of 1. Maximum of 128."
    at("NetworkHeader", "Protocol").length(1, 16), // [M] "Minimum of 1. Maximum of 16."
    at("ProcessDetails", "Name").length(1, 64), // [M] "Minimum of 1. Maximum of 64."
    at("ProcessDetails", "Path").length(1, 512), // [M] "Minimum of 1. Maximum of 512."
    at("ProcessDetails", "Pid").range(0, PID_MAX), // [M] (ParentPid) "positive integers between O and 2147483647"; same for Pid
    at("ProcessDetails", "ParentPid").range(0, PID_MAX), // [M] "positive integers between O and 2147483647"
    // Threats and threat intelligence.
    at("Threat", "Name").length(1, 128), // [M] "Minimum of 1 length. Maximum of 128 length."
    at("Threat", "Severity").length(1, 128), // [M] "Minimum of 1 length. Maximum of 128 length."
    at("Threat", "FilePaths").count(1, 5), // [M] "Minimum number of 1 item. Maximum number of 5 items."
    at("FilePaths", "FilePath").length(1, 128), // [M] "Minimum of 1 length. Maximum of 128 length."
    at("FilePaths", "FileName").length(1, 128), // [M] idem
    at("FilePaths", "ResourceId").length(1, 128), // [M] idem
    at("FilePaths", "Hash").length(1, 128), // [M] idem
    at("ThreatIntelIndicator", "Value").length(1, 512), // [M] "Minimum of 1 length. Maximum of 512 length."
    at("ThreatIntelIndicator", "Source").length(1, 64), // [M] "Minimum of 1 length. Maximum of 64 length."
    // Patch summary and network path.
    at("PatchSummary", "Id").length(1, 256), // [M] "Minimum length of 1. Maximum length of 256."
    at("PatchSummary", "Operation").length(1, 256), // [M] idem
    at("PatchSummary", "RebootOption").length(1, 256), // [M] idem
    at("NetworkPathComponent", "ComponentId").length(1, 32), // [M] "Minimum of 1. Maximum of 32."
    at("NetworkPathComponent", "ComponentType").length(1, 32), // [M] idem
    // Action.
    at("ActionLocalPortDetails", "PortName").length(1, 128), // [M] "Length Constraints: 128."
    at("ActionRemotePortDetails", "PortName").length(1, 128), // [M] "Length Constraints: 128."
    at("AwsApiCallAction", "Api").length(1, 128),            // [M] "Length Constraints: 128."
    at("AwsApiCallAction", "ServiceName").length(1, 128),    // [M] "Length Constraints: 128."
    at("AwsApiCallActionDomainDetails", "Domain").length(1, 128), // [M] "Length Constraints: 128."
    at("DnsRequestAction", "Domain").length(1, 128),         // [M] "Length Constraints: 128."
    at("DnsRequestAction", "Protocol").length(1, 64),        // [M] "Minimum length of 1. Maximum length of 64."
    at("NetworkConnectionAction", "Protocol").length(1, 64), // [M] "Minimum length of 1. Maximum length of 64."
    // Generator details and resource details.
    at("GeneratorDetails", "Labels").max_count(10), // [M] "Minimum number of 0 items. Maximum number of 10 items."
    at("AwsLambdaLayerVersionDetails", "CompatibleRuntimes").max_count(5), // [M] "Maximum number of 5 items."
];

/// A member that the model lacks but the documentation (and the service's own output) has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraMember {
    pub shape: &'static str,
    pub member: &'static str,
    /// The model shape of its value.
    pub target: &'static str,
    pub limit: Limit,
}

/// `FindingProviderSeverity` has only `Label` and `Original` in the model, but its documentation
/// says it "may include one or more of the following attributes: Label, Normalized, Original,
/// Product", and Security Hub itself copies a whole top-level `Severity` (with `Normalized` and
/// `Product`) into it, so findings read back with GetFindings carry them [M
/// `FindingProviderSeverity`].
pub static EXTRA_MEMBERS: &[ExtraMember] = &[
    ExtraMember {
        shape: "FindingProviderSeverity",
        member: "Normalized",
        target: "Integer",
        limit: at("FindingProviderSeverity", "Normalized").range(0, 100), // [M] as Severity.Normalized
    },
    ExtraMember {
        shape: "FindingProviderSeverity",
        member: "Product",
        target: "Double",
        limit: at("FindingProviderSeverity", "Product"), // [M] as Severity.Product (deprecated)
    },
];
