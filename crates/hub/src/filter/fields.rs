//! The filterable attributes of a finding: the 107 members of `AwsSecurityFindingFilters`, each
//! with its filter kind and the ASFF JSON path that it reads.
//!
//! # Path syntax
//!
//! A path is a `.`-separated list of member names, starting at the finding document. A member
//! name followed by `[]` (`Resources[]`, `Types[]`) means "every element of this list"; the
//! values reached are flattened across all lists on the way. The one special path is `**`
//! (used only by the deprecated `Keyword` field): every scalar leaf of the whole document.
//! [`values_at`](super::values_at) evaluates a path.

/// The filter shape a field takes in `AwsSecurityFindingFilters` (`StringFilter`, `DateFilter`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    String,
    Date,
    Number,
    Ip,
    Map,
    Keyword,
    Boolean,
}

impl FieldKind {
    /// The model's name for the filter structure of this kind, e.g. `StringFilter`.
    pub fn shape_name(self) -> &'static str {
        match self {
            FieldKind::String => "StringFilter",
            FieldKind::Date => "DateFilter",
            FieldKind::Number => "NumberFilter",
            FieldKind::Ip => "IpFilter",
            FieldKind::Map => "MapFilter",
            FieldKind::Keyword => "KeywordFilter",
            FieldKind::Boolean => "BooleanFilter",
        }
    }

    /// Whether `SortCriteria` may name a field of this kind. Map, IP and keyword fields have no
    /// single comparable value and are not sortable.
    pub fn is_sortable(self) -> bool {
        matches!(self, FieldKind::String | FieldKind::Date | FieldKind::Number | FieldKind::Boolean)
    }
}

/// One filterable attribute: its name in `AwsSecurityFindingFilters`, its filter kind, and the
/// ASFF path (see the module documentation) that it reads.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FilterField {
    pub name: &'static str,
    pub kind: FieldKind,
    pub path: &'static str,
}

/// The address family that an [`FieldKind::Ip`] field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    V4,
    V6,
}

impl FilterField {
    /// For IP fields, the family of address the field holds (the `…IpV4…` fields hold IPv4, the
    /// `…IpV6…` fields IPv6); `None` for other kinds.
    pub fn ip_family(&self) -> Option<IpFamily> {
        if self.kind != FieldKind::Ip {
            return None;
        }
        if self.name.contains("IpV4") {
            Some(IpFamily::V4)
        } else if self.name.contains("IpV6") {
            Some(IpFamily::V6)
        } else {
            None
        }
    }

    /// Whether the path reaches through at least one list, so that the field can hold several
    /// values in one finding (they then match when any of them does).
    pub fn is_multi_valued(&self) -> bool {
        self.path.contains("[]") || self.path == "**"
    }
}

const fn f(name: &'static str, kind: FieldKind, path: &'static str) -> FilterField {
    FilterField { name, kind, path }
}

/// Every member of `AwsSecurityFindingFilters`, in the model's order.
pub static FILTER_FIELDS: &[FilterField] = &[
    f("ProductArn", FieldKind::String, "ProductArn"),
    f("AwsAccountId", FieldKind::String, "AwsAccountId"),
    f("Id", FieldKind::String, "Id"),
    f("GeneratorId", FieldKind::String, "GeneratorId"),
    f("Region", FieldKind::String, "Region"),
    f("Type", FieldKind::String, "Types[]"),
    f("FirstObservedAt", FieldKind::Date, "FirstObservedAt"),
    f("LastObservedAt", FieldKind::Date, "LastObservedAt"),
    f("CreatedAt", FieldKind::Date, "CreatedAt"),
    f("UpdatedAt", FieldKind::Date, "UpdatedAt"),
    f("SeverityProduct", FieldKind::Number, "Severity.Product"),
    f("SeverityNormalized", FieldKind::Number, "Severity.Normalized"),
    f("SeverityLabel", FieldKind::String, "Severity.Label"),
    f("Confidence", FieldKind::Number, "Confidence"),
    f("Criticality", FieldKind::Number, "Criticality"),
    f("Title", FieldKind::String, "Title"),
    f("Description", FieldKind::String, "Description"),
    f("RecommendationText", FieldKind::String, "Remediation.Recommendation.Text"),
    f("SourceUrl", FieldKind::String, "SourceUrl"),
    f("ProductFields", FieldKind::Map, "ProductFields"),
    f("ProductName", FieldKind::String, "ProductName"),
    f("CompanyName", FieldKind::String, "CompanyName"),
    f("UserDefinedFields", FieldKind::Map, "UserDefinedFields"),
    f("MalwareName", FieldKind::String, "Malware[].Name"),
    f("MalwareType", FieldKind::String, "Malware[].Type"),
    f("MalwarePath", FieldKind::String, "Malware[].Path"),
    f("MalwareState", FieldKind::String, "Malware[].State"),
    f("NetworkDirection", FieldKind::String, "Network.Direction"),
    f("NetworkProtocol", FieldKind::String, "Network.Protocol"),
    f("NetworkSourceIpV4", FieldKind::Ip, "Network.SourceIpV4"),
    f("NetworkSourceIpV6", FieldKind::Ip, "Network.SourceIpV6"),
    f("NetworkSourcePort", FieldKind::Number, "Network.SourcePort"),
    f("NetworkSourceDomain", FieldKind::String, "Network.SourceDomain"),
    f("NetworkSourceMac", FieldKind::String, "Network.SourceMac"),
    f("NetworkDestinationIpV4", FieldKind::Ip, "Network.DestinationIpV4"),
    f("NetworkDestinationIpV6", FieldKind::Ip, "Network.DestinationIpV6"),
    f("NetworkDestinationPort", FieldKind::Number, "Network.DestinationPort"),
    f("NetworkDestinationDomain", FieldKind::String, "Network.DestinationDomain"),
    f("ProcessName", FieldKind::String, "Process.Name"),
    f("ProcessPath", FieldKind::String, "Process.Path"),
    f("ProcessPid", FieldKind::Number, "Process.Pid"),
    f("ProcessParentPid", FieldKind::Number, "Process.ParentPid"),
    f("ProcessLaunchedAt", FieldKind::Date, "Process.LaunchedAt"),
    f("ProcessTerminatedAt", FieldKind::Date, "Process.TerminatedAt"),
    f("ThreatIntelIndicatorType", FieldKind::String, "ThreatIntelIndicators[].Type"),
    f("ThreatIntelIndicatorValue", FieldKind::String, "ThreatIntelIndicators[].Value"),
    f("ThreatIntelIndicatorCategory", FieldKind::String, "ThreatIntelIndicators[].Category"),
    f("ThreatIntelIndicatorLastObservedAt", FieldKind::Date, "ThreatIntelIndicators[].LastObservedAt"),
    f("ThreatIntelIndicatorSource", FieldKind::String, "ThreatIntelIndicators[].Source"),
    f("ThreatIntelIndicatorSourceUrl", FieldKind::String, "ThreatIntelIndicators[].SourceUrl"),
    f("ResourceType", FieldKind::String, "Resources[].Type"),
    f("ResourceId", FieldKind::String, "Resources[].Id"),
    f("ResourcePartition", FieldKind::String, "Resources[].Partition"),
    f("ResourceRegion", FieldKind::String, "Resources[].Region"),
    f("ResourceTags", FieldKind::Map, "Resources[].Tags"),
    f("ResourceAwsEc2InstanceType", FieldKind::String, "Resources[].Details.AwsEc2Instance.Type"),
    f("ResourceAwsEc2InstanceImageId", FieldKind::String, "Resources[].Details.AwsEc2Instance.ImageId"),
    f("ResourceAwsEc2InstanceIpV4Addresses", FieldKind::Ip, "Resources[].Details.AwsEc2Instance.IpV4Addresses[]"),
    f("ResourceAwsEc2InstanceIpV6Addresses", FieldKind::Ip, "Resources[].Details.AwsEc2Instance.IpV6Addresses[]"),
    f("ResourceAwsEc2InstanceKeyName", FieldKind::String, "Resources[].Details.AwsEc2Instance.KeyName"),
    f(
        "ResourceAwsEc2InstanceIamInstanceProfileArn",
        FieldKind::String,
        "Resources[].Details.AwsEc2Instance.IamInstanceProfileArn",
    ),
    f("ResourceAwsEc2InstanceVpcId", FieldKind::String, "Resources[].Details.AwsEc2Instance.VpcId"),
    f("ResourceAwsEc2InstanceSubnetId", FieldKind::String, "Resources[].Details.AwsEc2Instance.SubnetId"),
    f("ResourceAwsEc2InstanceLaunchedAt", FieldKind::Date, "Resources[].Details.AwsEc2Instance.LaunchedAt"),
    f("ResourceAwsS3BucketOwnerId", FieldKind::String, "Resources[].Details.AwsS3Bucket.OwnerId"),
    f("ResourceAwsS3BucketOwnerName", FieldKind::String, "Resources[].Details.AwsS3Bucket.OwnerName"),
    f("ResourceAwsIamAccessKeyUserName", FieldKind::String, "Resources[].Details.AwsIamAccessKey.UserName"),
    f("ResourceAwsIamAccessKeyPrincipalName", FieldKind::String, "Resources[].Details.AwsIamAccessKey.PrincipalName"),
    f("ResourceAwsIamAccessKeyStatus", FieldKind::String, "Resources[].Details.AwsIamAccessKey.Status"),
    f("ResourceAwsIamAccessKeyCreatedAt", FieldKind::Date, "Resources[].Details.AwsIamAccessKey.CreatedAt"),
    f("ResourceAwsIamUserUserName", FieldKind::String, "Resources[].Details.AwsIamUser.UserName"),
    f("ResourceContainerName", FieldKind::String, "Resources[].Details.Container.Name"),
    f("ResourceContainerImageId", FieldKind::String, "Resources[].Details.Container.ImageId"),
    f("ResourceContainerImageName", FieldKind::String, "Resources[].Details.Container.ImageName"),
    f("ResourceContainerLaunchedAt", FieldKind::Date, "Resources[].Details.Container.LaunchedAt"),
    f("ResourceDetailsOther", FieldKind::Map, "Resources[].Details.Other"),
    f("ComplianceStatus", FieldKind::String, "Compliance.Status"),
    f("VerificationState", FieldKind::String, "VerificationState"),
    f("WorkflowState", FieldKind::String, "WorkflowState"),
    f("WorkflowStatus", FieldKind::String, "Workflow.Status"),
    f("RecordState", FieldKind::String, "RecordState"),
    f("RelatedFindingsProductArn", FieldKind::String, "RelatedFindings[].ProductArn"),
    f("RelatedFindingsId", FieldKind::String, "RelatedFindings[].Id"),
    f("NoteText", FieldKind::String, "Note.Text"),
    f("NoteUpdatedAt", FieldKind::Date, "Note.UpdatedAt"),
    f("NoteUpdatedBy", FieldKind::String, "Note.UpdatedBy"),
    f("Keyword", FieldKind::Keyword, "**"),
    f("FindingProviderFieldsConfidence", FieldKind::Number, "FindingProviderFields.Confidence"),
    f("FindingProviderFieldsCriticality", FieldKind::Number, "FindingProviderFields.Criticality"),
    f("FindingProviderFieldsRelatedFindingsId", FieldKind::String, "FindingProviderFields.RelatedFindings[].Id"),
    f(
        "FindingProviderFieldsRelatedFindingsProductArn",
        FieldKind::String,
        "FindingProviderFields.RelatedFindings[].ProductArn",
    ),
    f("FindingProviderFieldsSeverityLabel", FieldKind::String, "FindingProviderFields.Severity.Label"),
    f("FindingProviderFieldsSeverityOriginal", FieldKind::String, "FindingProviderFields.Severity.Original"),
    f("FindingProviderFieldsTypes", FieldKind::String, "FindingProviderFields.Types[]"),
    f("Sample", FieldKind::Boolean, "Sample"),
    f("ComplianceSecurityControlId", FieldKind::String, "Compliance.SecurityControlId"),
    f("ComplianceAssociatedStandardsId", FieldKind::String, "Compliance.AssociatedStandards[].StandardsId"),
    f("VulnerabilitiesExploitAvailable", FieldKind::String, "Vulnerabilities[].ExploitAvailable"),
    f("VulnerabilitiesFixAvailable", FieldKind::String, "Vulnerabilities[].FixAvailable"),
    f("ComplianceSecurityControlParametersName", FieldKind::String, "Compliance.SecurityControlParameters[].Name"),
    f("ComplianceSecurityControlParametersValue", FieldKind::String, "Compliance.SecurityControlParameters[].Value[]"),
    f("AwsAccountName", FieldKind::String, "AwsAccountName"),
    f("ResourceApplicationName", FieldKind::String, "Resources[].ApplicationName"),
    f("ResourceApplicationArn", FieldKind::String, "Resources[].ApplicationArn"),
    f("ResourceOwnerAccountId", FieldKind::String, "Resources[].Owner.Account.Id"),
    f("ResourceOwnerOrgId", FieldKind::String, "Resources[].Owner.Org.Id"),
    f("ResourceProvider", FieldKind::String, "Resources[].Provider"),
];

/// Looks a filter field up by its `AwsSecurityFindingFilters` member name (case-sensitive).
pub fn field(name: &str) -> Option<&'static FilterField> {
    FILTER_FIELDS.iter().find(|f| f.name == name)
}

/// The members of `AutomationRulesFindingFilters` (the criteria of an automation rule) with the
/// maximum number of filter values each accepts (the model's "Array Members: Maximum number of N
/// items"; fields without such a statement get 20).
pub static AUTOMATION_RULES_FIELDS: &[(&str, usize)] = &[
    ("ProductArn", 20),
    ("AwsAccountId", 100),
    ("Id", 20),
    ("GeneratorId", 100),
    ("Type", 20),
    ("FirstObservedAt", 20),
    ("LastObservedAt", 20),
    ("CreatedAt", 20),
    ("UpdatedAt", 20),
    ("Confidence", 20),
    ("Criticality", 20),
    ("Title", 100),
    ("Description", 20),
    ("SourceUrl", 20),
    ("ProductName", 20),
    ("CompanyName", 20),
    ("SeverityLabel", 20),
    ("ResourceType", 20),
    ("ResourceId", 100),
    ("ResourcePartition", 20),
    ("ResourceRegion", 20),
    ("ResourceTags", 20),
    ("ResourceDetailsOther", 20),
    ("ComplianceStatus", 20),
    ("ComplianceSecurityControlId", 20),
    ("ComplianceAssociatedStandardsId", 20),
    ("VerificationState", 20),
    ("WorkflowStatus", 20),
    ("RecordState", 20),
    ("RelatedFindingsProductArn", 20),
    ("RelatedFindingsId", 20),
    ("NoteText", 20),
    ("NoteUpdatedAt", 20),
    ("NoteUpdatedBy", 20),
    ("UserDefinedFields", 20),
    ("ResourceApplicationArn", 20),
    ("ResourceApplicationName", 20),
    ("AwsAccountName", 20),
    ("ResourceProvider", 20),
    ("ResourceOwnerAccountId", 20),
    ("ResourceOwnerOrgId", 20),
];

/// Which filter structure is being parsed: the two share field names and filter shapes but differ
/// in the fields they allow and in their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterSet {
    /// `AwsSecurityFindingFilters` (GetFindings, insights, UpdateFindings): all 107 fields, at most
    /// 10 non-empty fields, at most 20 values per field, empty lists ignored.
    Findings,
    /// `AutomationRulesFindingFilters` (automation rule `Criteria`): 41 fields, no limit on the
    /// number of fields, 20 or 100 values per field, and (per the model's "Minimum number of 1
    /// item") empty lists rejected.
    AutomationRules,
}

impl FilterSet {
    /// The name of the model structure, for messages.
    pub fn shape_name(self) -> &'static str {
        match self {
            FilterSet::Findings => "AwsSecurityFindingFilters",
            FilterSet::AutomationRules => "AutomationRulesFindingFilters",
        }
    }

    /// Whether the set has the field.
    pub fn allows(self, field: &FilterField) -> bool {
        self.max_values(field).is_some()
    }

    /// The maximum number of filter values for the field, or `None` when the set lacks the field.
    pub fn max_values(self, field: &FilterField) -> Option<usize> {
        match self {
            FilterSet::Findings => Some(20),
            FilterSet::AutomationRules => {
                AUTOMATION_RULES_FIELDS.iter().find(|(name, _)| *name == field.name).map(|(_, max)| *max)
            }
        }
    }

    /// The maximum number of non-empty fields, if limited.
    pub fn max_attributes(self) -> Option<usize> {
        match self {
            FilterSet::Findings => Some(10),
            FilterSet::AutomationRules => None,
        }
    }

    /// Whether an empty list of filter values is an error (rather than "no condition").
    pub fn rejects_empty_lists(self) -> bool {
        matches!(self, FilterSet::AutomationRules)
    }
}
