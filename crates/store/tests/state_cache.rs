//! The state cache in front of the embedded store: it keeps the state conformance suite (every
//! change made through it is seen at once), and what another handle changes is seen after the
//! cache's time to live, never later.

use findinghub_store::conformance::{self, T0};
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::state::{AccessKey, Hub, HubStateStore, SealedKey};
use findinghub_store::state_cache::CachedHubState;
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "111122223333";

fn cached(dir: &std::path::Path, ttl: Duration) -> CachedHubState {
    CachedHubState::with_ttl(Arc::new(SqliteStore::open(dir).expect("open")), ttl)
}

#[tokio::test]
async fn the_cache_keeps_the_state_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A long time to live: every check of the suite that follows a change must see it at once.
    let store = cached(dir.path(), Duration::from_secs(3600));
    conformance::access_keys_are_kept_and_revoked(&store).await;
    conformance::api_keys_are_kept_and_revoked(&store).await;
    conformance::custom_products_are_kept_per_account(&store).await;
    conformance::hubs_subscriptions_and_tags(&store).await;
    conformance::action_targets_are_kept_per_account_and_region(&store).await;
    conformance::insights_are_kept_per_account_and_region(&store).await;
    conformance::work_items_open_once_per_finding(&store).await;
}

fn key(id: &str) -> SealedKey {
    SealedKey {
        key: AccessKey { access_key_id: id.into(), account_id: ACCOUNT.into(), admin: false, created_at: T0 },
        sealed_secret: vec![7; 8],
    }
}

fn hub(region: &str) -> Hub {
    Hub {
        account_id: ACCOUNT.into(),
        region: region.into(),
        subscribed_at: T0,
        auto_enable_controls: true,
        control_finding_generator: "SECURITY_CONTROL".into(),
    }
}

#[tokio::test]
async fn another_handles_changes_are_seen_once_the_time_to_live_has_passed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ttl = Duration::from_secs(2);
    let serving = cached(dir.path(), ttl);
    let other = SqliteStore::open(dir.path()).expect("a second handle (the CLI beside the server)");

    // What does not exist is not kept: a key or hub made elsewhere works at once.
    assert_eq!(serving.find_key("AKIACACHE").await.expect("find"), None);
    assert_eq!(serving.hub(ACCOUNT, "us-east-1").await.expect("hub"), None);
    assert!(other.create_key(key("AKIACACHE")).await.expect("create"));
    assert!(other.enable_hub(hub("us-east-1")).await.expect("enable"));
    assert_eq!(serving.find_key("AKIACACHE").await.expect("find"), Some(key("AKIACACHE")));
    assert_eq!(serving.hub(ACCOUNT, "us-east-1").await.expect("hub"), Some(hub("us-east-1")));
    assert_eq!(serving.subscriptions(ACCOUNT, "us-east-1").await.expect("subscriptions"), Vec::<String>::new());

    // What exists is answered from memory until the time to live has passed...
    let product = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
    assert!(other.revoke_key("AKIACACHE").await.expect("revoke"));
    assert!(other.disable_hub(ACCOUNT, "us-east-1").await.expect("disable"));
    assert!(other.subscribe(ACCOUNT, "us-east-1", product).await.expect("subscribe"));
    assert!(serving.find_key("AKIACACHE").await.expect("find").is_some(), "kept for the time to live");
    assert!(serving.hub(ACCOUNT, "us-east-1").await.expect("hub").is_some(), "kept for the time to live");
    assert!(serving.subscriptions(ACCOUNT, "us-east-1").await.expect("subscriptions").is_empty());

    // ...and asked again after it.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(serving.find_key("AKIACACHE").await.expect("find"), None);
    assert_eq!(serving.hub(ACCOUNT, "us-east-1").await.expect("hub"), None);
    assert_eq!(serving.subscriptions(ACCOUNT, "us-east-1").await.expect("subscriptions"), vec![product.to_owned()]);
}

#[tokio::test]
async fn a_change_through_the_cache_is_seen_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serving = cached(dir.path(), Duration::from_secs(3600));
    assert!(serving.create_key(key("AKIAREVOKE")).await.expect("create"));
    assert!(serving.enable_hub(hub("eu-west-1")).await.expect("enable"));
    assert!(serving.find_key("AKIAREVOKE").await.expect("find").is_some());
    assert!(serving.hub(ACCOUNT, "eu-west-1").await.expect("hub").is_some());
    assert!(serving.subscriptions(ACCOUNT, "eu-west-1").await.expect("subscriptions").is_empty());

    assert!(serving.revoke_key("AKIAREVOKE").await.expect("revoke"));
    assert_eq!(serving.find_key("AKIAREVOKE").await.expect("find"), None, "a revoked key stops at once");
    let product = "arn:aws:securityhub:eu-west-1::product/aws/macie";
    assert!(serving.subscribe(ACCOUNT, "eu-west-1", product).await.expect("subscribe"));
    assert_eq!(serving.subscriptions(ACCOUNT, "eu-west-1").await.expect("subscriptions"), vec![product.to_owned()]);
    assert!(serving.disable_hub(ACCOUNT, "eu-west-1").await.expect("disable"));
    assert_eq!(serving.hub(ACCOUNT, "eu-west-1").await.expect("hub"), None, "a disabled hub stops at once");
}
