//! [`CachedHubState`]: the lookups that every request makes (its key, its hub, the hub's
//! subscriptions) answered from memory for a moment, in front of any [`HubStateStore`].
//!
//! Why: in SQLite, each import's commit empties the readers' page caches, so each of these point
//! lookups read its pages again; at one event per `POST /events` request, the three lookups were
//! a seventh of the request's CPU. What it costs: a change made through another handle on the same
//! data (a `findinghub credentials revoke` beside `serve`, another instance on PostgreSQL) is seen
//! after at most [`STATE_CACHE_TTL`]. Changes made through this handle are seen at once: every
//! change empties the cache. Only what exists is kept (a key, an enabled hub), so a key or hub
//! just created elsewhere works at once, and unknown key ids cannot fill the memory.

use crate::StoreError;
use crate::state::{
    AccessKey, ActionTarget, ApiKey, CustomProduct, Hub, HubStateStore, Insight, InsightChange, SealedKey, WorkItem,
    WorkItemCreated, WorkItemQuery, WorkItemUpdated,
};
use async_trait::async_trait;
use findinghub_asff::timestamp::Micros;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a looked-up key, hub or subscription list is used without asking the store again.
pub const STATE_CACHE_TTL: Duration = Duration::from_secs(1);

/// Entries per kind; past this the kind's entries are dropped (they are refilled on demand).
const MAX_ENTRIES: usize = 4096;

/// A [`HubStateStore`] that keeps the answers of its hot lookups for [`STATE_CACHE_TTL`].
pub struct CachedHubState {
    inner: Arc<dyn HubStateStore>,
    ttl: Duration,
    cache: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Counts the changes made through this handle: a lookup that a change overtook does not
    /// keep what it read before the change.
    generation: u64,
    keys: TimedMap<String, SealedKey>,
    api_keys: TimedMap<String, ApiKey>,
    hubs: TimedMap<(String, String), Hub>,
    subscriptions: TimedMap<(String, String), Vec<String>>,
}

struct TimedMap<K, V>(HashMap<K, (Instant, V)>);

impl<K, V> Default for TimedMap<K, V> {
    fn default() -> Self {
        TimedMap(HashMap::new())
    }
}

impl<K: Eq + Hash, V: Clone> TimedMap<K, V> {
    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        self.0.get(key).filter(|(at, _)| at.elapsed() < ttl).map(|(_, v)| v.clone())
    }

    fn put(&mut self, key: K, value: V, at: Instant) {
        if self.0.len() >= MAX_ENTRIES {
            self.0.clear();
        }
        self.0.insert(key, (at, value));
    }
}

impl CachedHubState {
    pub fn new(inner: Arc<dyn HubStateStore>) -> Self {
        Self::with_ttl(inner, STATE_CACHE_TTL)
    }

    pub fn with_ttl(inner: Arc<dyn HubStateStore>, ttl: Duration) -> Self {
        CachedHubState { inner, ttl, cache: Mutex::new(Entries::default()) }
    }

    /// The answer kept in `kind` for `key`, or else the store's (`ask`, called only then), kept if
    /// it is `Some` and no change came after the lookup began.
    async fn looked_up<K, V, F>(
        &self,
        key: K,
        kind: fn(&mut Entries) -> &mut TimedMap<K, V>,
        ask: impl FnOnce() -> F,
    ) -> Result<Option<V>, StoreError>
    where
        K: Eq + Hash,
        V: Clone,
        F: Future<Output = Result<Option<V>, StoreError>>,
    {
        let kept = self.cache.lock().ok().map(|mut entries| match kind(&mut entries).get(&key, self.ttl) {
            Some(found) => Ok(found),
            None => Err(entries.generation),
        });
        let generation = match kept {
            Some(Ok(found)) => return Ok(Some(found)),
            Some(Err(generation)) => generation,
            None => return ask().await,
        };
        let asked = Instant::now();
        let found = ask().await?;
        if let (Some(value), Ok(mut entries)) = (&found, self.cache.lock())
            && entries.generation == generation
        {
            kind(&mut entries).put(key, value.clone(), asked);
        }
        Ok(found)
    }

    /// After a change (whatever its result): forgets everything, so that the next lookups see it.
    fn changed<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Ok(mut entries) = self.cache.lock() {
            let generation = entries.generation.wrapping_add(1);
            *entries = Entries { generation, ..Entries::default() };
        }
        result
    }
}

#[async_trait]
impl HubStateStore for CachedHubState {
    async fn find_key(&self, access_key_id: &str) -> Result<Option<SealedKey>, StoreError> {
        self.looked_up(access_key_id.to_owned(), |e| &mut e.keys, || self.inner.find_key(access_key_id)).await
    }

    async fn find_api_key(&self, key_id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.looked_up(key_id.to_owned(), |e| &mut e.api_keys, || self.inner.find_api_key(key_id)).await
    }

    async fn hub(&self, account_id: &str, region: &str) -> Result<Option<Hub>, StoreError> {
        let at = (account_id.to_owned(), region.to_owned());
        self.looked_up(at, |e| &mut e.hubs, || self.inner.hub(account_id, region)).await
    }

    async fn subscriptions(&self, account_id: &str, region: &str) -> Result<Vec<String>, StoreError> {
        let at = (account_id.to_owned(), region.to_owned());
        let ask = || async { self.inner.subscriptions(account_id, region).await.map(Some) };
        Ok(self.looked_up(at, |e| &mut e.subscriptions, ask).await?.unwrap_or_default())
    }

    async fn create_key(&self, key: SealedKey) -> Result<bool, StoreError> {
        self.changed(self.inner.create_key(key).await)
    }
    async fn list_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        self.inner.list_keys().await
    }
    async fn revoke_key(&self, access_key_id: &str) -> Result<bool, StoreError> {
        self.changed(self.inner.revoke_key(access_key_id).await)
    }
    async fn create_api_key(&self, key: ApiKey) -> Result<bool, StoreError> {
        self.changed(self.inner.create_api_key(key).await)
    }
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list_api_keys().await
    }
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool, StoreError> {
        self.changed(self.inner.revoke_api_key(key_id).await)
    }
    async fn create_product(&self, product: CustomProduct) -> Result<bool, StoreError> {
        self.changed(self.inner.create_product(product).await)
    }
    async fn products(&self, account_id: Option<&str>) -> Result<Vec<CustomProduct>, StoreError> {
        self.inner.products(account_id).await
    }
    async fn delete_product(&self, account_id: &str, product_id: &str) -> Result<bool, StoreError> {
        self.changed(self.inner.delete_product(account_id, product_id).await)
    }
    async fn enable_hub(&self, hub: Hub) -> Result<bool, StoreError> {
        self.changed(self.inner.enable_hub(hub).await)
    }
    async fn update_hub(&self, hub: Hub) -> Result<bool, StoreError> {
        self.changed(self.inner.update_hub(hub).await)
    }
    async fn disable_hub(&self, account_id: &str, region: &str) -> Result<bool, StoreError> {
        self.changed(self.inner.disable_hub(account_id, region).await)
    }
    async fn subscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError> {
        self.changed(self.inner.subscribe(account_id, region, product_arn).await)
    }
    async fn unsubscribe(&self, account_id: &str, region: &str, product_arn: &str) -> Result<bool, StoreError> {
        self.changed(self.inner.unsubscribe(account_id, region, product_arn).await)
    }
    async fn tag(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), StoreError> {
        self.inner.tag(arn, tags).await
    }
    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        self.inner.untag(arn, keys).await
    }
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, StoreError> {
        self.inner.tags(arn).await
    }
    async fn create_action_target(&self, target: ActionTarget) -> Result<bool, StoreError> {
        self.inner.create_action_target(target).await
    }
    async fn action_targets(&self, account_id: &str, region: &str) -> Result<Vec<ActionTarget>, StoreError> {
        self.inner.action_targets(account_id, region).await
    }
    async fn update_action_target(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.inner.update_action_target(account_id, region, id, name, description).await
    }
    async fn delete_action_target(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_action_target(account_id, region, id).await
    }
    async fn create_insight(&self, insight: Insight) -> Result<bool, StoreError> {
        self.inner.create_insight(insight).await
    }
    async fn insights(&self, account_id: &str, region: &str) -> Result<Vec<Insight>, StoreError> {
        self.inner.insights(account_id, region).await
    }
    async fn update_insight(
        &self,
        account_id: &str,
        region: &str,
        id: &str,
        change: InsightChange,
    ) -> Result<bool, StoreError> {
        self.inner.update_insight(account_id, region, id, change).await
    }
    async fn delete_insight(&self, account_id: &str, region: &str, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_insight(account_id, region, id).await
    }
    async fn create_work_item(&self, item: WorkItem) -> Result<WorkItemCreated, StoreError> {
        self.inner.create_work_item(item).await
    }
    async fn work_item(&self, id: &str) -> Result<Option<WorkItem>, StoreError> {
        self.inner.work_item(id).await
    }
    async fn work_items(&self, query: WorkItemQuery) -> Result<Vec<WorkItem>, StoreError> {
        self.inner.work_items(query).await
    }
    async fn update_work_item(
        &self,
        id: &str,
        status: Option<&str>,
        severity: Option<u8>,
        now: Micros,
    ) -> Result<WorkItemUpdated, StoreError> {
        self.inner.update_work_item(id, status, severity, now).await
    }
}
