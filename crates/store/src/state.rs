//! What the hub keeps beside findings: access keys, which accounts have the hub enabled, product
//! subscriptions, resource tags, custom action targets, custom insights and OpsCenter work items. Behind one trait, so that every backend keeps them in the same
//! database as the findings.

use crate::{AccountScope, StoreError};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use serde_json::Value;
use std::collections::BTreeMap;

/// An access key as the hub lists it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub account_id: String,
    /// The key's account administers every account (the Security Hub administrator).
    pub admin: bool,
    pub created_at: Micros,
}

/// An access key with its secret, sealed by the caller (the store never sees it in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    pub key: AccessKey,
    pub sealed_secret: Vec<u8>,
}

/// An API key for event ingestion (`POST /events`, the `x-api-key` header that EventBridge API
/// destinations send). The store keeps a hash of its secret part, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub key_id: String,
    pub account_id: String,
    /// The key may deliver events of every account (an administrator's event bus).
    pub admin: bool,
    pub created_at: Micros,
    pub secret_hash: Vec<u8>,
}

/// A product that an account registers for its own tools, beside its `default` product:
/// `arn:<partition>:securityhub:<region>:<account>:product/<account>/<product_id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomProduct {
    pub account_id: String,
    pub product_id: String,
    pub name: String,
    pub company: String,
    pub description: String,
}

/// An account's hub in one Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub account_id: String,
    pub region: String,
    pub subscribed_at: Micros,
    pub auto_enable_controls: bool,
    pub control_finding_generator: String,
}

/// A custom action (CreateActionTarget), kept per account and Region: its ARN is
/// `arn:<partition>:securityhub:<region>:<account>:action/custom/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTarget {
    pub account_id: String,
    pub region: String,
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: Micros,
}

/// A custom insight (CreateInsight), kept per account and Region: its ARN is
/// `arn:<partition>:securityhub:<region>:<account>:insight/<account>/custom/<id>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    pub account_id: String,
    pub region: String,
    /// A UUID.
    pub id: String,
    pub name: String,
    /// The AwsSecurityFindingFilters, as sent (checked by the API before they are kept).
    pub filters: Value,
    /// The GroupByAttribute: the filter field whose values the results count.
    pub group_by: String,
    pub created_at: Micros,
}

/// What UpdateInsight changes; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InsightChange {
    pub name: Option<String>,
    pub filters: Option<Value>,
    pub group_by: Option<String>,
}

/// An OpsCenter work item opened for a finding. The store keeps the fields it selects on as
/// columns and the rest of the item (`receivers::opscenter::NewOpsItem` as JSON) as `item`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// `oi-` and 12 hex digits, as OpsCenter's.
    pub id: String,
    pub account_id: String,
    pub region: String,
    pub finding_id: String,
    pub product_arn: String,
    /// At most one work item per account and dedup key is Open or InProgress.
    pub dedup_key: String,
    /// `Open`, `InProgress` or `Resolved`.
    pub status: String,
    /// 1 (critical) … 4 (low).
    pub severity: u8,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub item: Value,
}

/// The status that frees a work item's dedup key.
pub const WORK_ITEM_RESOLVED: &str = "Resolved";

/// What became of a new work item.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkItemCreated {
    Created,
    /// An Open or InProgress work item of the same account and dedup key exists: this one.
    Duplicate(String),
}

/// What became of a work item's change.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkItemUpdated {
    Updated(WorkItem),
    NotFound,
    /// Reopening would make a second open work item for the dedup key: that one's id.
    Conflict(String),
}

/// Which work items to list: in (created_at, id) order, after `after` (paging).
#[derive(Debug, Clone)]
pub struct WorkItemQuery {
    pub accounts: AccountScope,
    /// `None`: every Region.
    pub region: Option<String>,
    pub status: Option<String>,
    pub after: Option<(Micros, String)>,
    pub limit: usize,
}

#[async_trait]
pub trait HubStateStore: Send + Sync {
    /// Adds a key; false when a key with that id exists already.
    async fn create_key(&self, key: SealedKey) -> Result<bool, StoreError>;
    async fn list_keys(&self) -> Result<Vec<AccessKey>, StoreError>;
    /// Removes a key; false when there was none.
    async fn revoke_key(&self, access_key_id: &str) -> Result<bool, StoreError>;
    async fn find_key(&self, access_key_id: &str) -> Result<Option<SealedKey>, StoreError>;

    /// Adds an API key; false when a key with that id exists already.
    async fn create_api_key(&self, key: ApiKey) -> Result<bool, StoreError>;
    async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Removes an API key; false when there was none.
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool, StoreError>;

    /// Registers a custom product; false when the account has one with that id already.
    async fn create_product(&self, product: CustomProduct) -> Result<bool, StoreError>;
    /// An account's custom products, by id; every account's when `account_id` is `None`.
    async fn products(&self, account_id: Option<&str>) -> Result<Vec<CustomProduct>, StoreError>;
    /// Removes a custom product; false when there was none.
    async fn delete_product(&self, account_id: &str, product_id: &str) -> Result<bool, StoreError>;

    /// Enables the hub; false when it was enabled already.
    async fn enable_hub(&self, hub: Hub) -> Result<bool, StoreError>;
    async fn hub(&self, account_id: &str, region: &str) -> Result<Option<Hub>, StoreError>;
    /// Replaces the settings of an enabled hub; false when the hub is not enabled.
    async fn update_hub(&self, hub: Hub) -> Result<bool, StoreError>;
    /// Disables the hub; false when it was not enabled.
    async fn disable_hub(&self, account_id: &str, region: &str) -> Result<bool, StoreError>;

    /// Subscribes an account to a product's findings; false when it was subscribed already.
    async fn subscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError>;
    /// Ends a subscription; false when there was none.
    async fn unsubscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError>;
    /// The product ARNs an account is subscribed to, in order.
    async fn subscriptions(&self, account_id: &str, region: &str) -> Result<Vec<String>, StoreError>;

    /// Adds or replaces tags on a resource (an ARN).
    async fn tag(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), StoreError>;
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError>;
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, StoreError>;

    /// Adds an action target; false when the account has one with that id in the Region.
    async fn create_action_target(&self, target: ActionTarget) -> Result<bool, StoreError>;
    /// An account's action targets in a Region, by id.
    async fn action_targets(&self, account_id: &str, region: &str) -> Result<Vec<ActionTarget>, StoreError>;
    /// Changes the name and/or the description; false when there is no such target.
    async fn update_action_target(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Removes an action target; false when there was none.
    async fn delete_action_target(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError>;

    /// Adds a custom insight; false when the account has one with that id in the Region.
    async fn create_insight(&self, insight: Insight) -> Result<bool, StoreError>;
    /// An account's custom insights in a Region, oldest first (ties by id).
    async fn insights(&self, account_id: &str, region: &str) -> Result<Vec<Insight>, StoreError>;
    /// Changes an insight; false when there is no such insight.
    async fn update_insight(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        change: InsightChange,
    ) -> Result<bool, StoreError>;
    /// Removes a custom insight; false when there was none.
    async fn delete_insight(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError>;

    /// Adds a work item unless one of its account and dedup key is open (atomically: two callers
    /// racing for one finding make one item).
    async fn create_work_item(&self, item: WorkItem) -> Result<WorkItemCreated, StoreError>;
    async fn work_item(&self, id: &str) -> Result<Option<WorkItem>, StoreError>;
    async fn work_items(&self, query: WorkItemQuery) -> Result<Vec<WorkItem>, StoreError>;
    /// Sets the status and/or the severity.
    async fn update_work_item(
        &self,
        id: &str,
        status: Option<&str>,
        severity: Option<u8>,
        now: Micros,
    ) -> Result<WorkItemUpdated, StoreError>;
}
