//! Every classic operation of the model is served or answers a well-formed AWS error that says it
//! is not supported yet.

use findinghub_api::error::ApiError;
use findinghub_api::handlers::dispatch;
use findinghub_api::keys::Keyring;
use findinghub_api::operations::OPERATIONS;
use findinghub_api::server::{App, Principal};
use findinghub_store::sqlite::SqliteStore;
use serde_json::Map;
use std::sync::Arc;

const SERVED: &[&str] = &[
    "EnableSecurityHub",
    "DescribeHub",
    "UpdateSecurityHubConfiguration",
    "DisableSecurityHub",
    "BatchImportFindings",
    "GetFindings",
    "BatchUpdateFindings",
    "UpdateFindings",
    "GetFindingHistory",
    "DescribeProducts",
    "EnableImportFindingsForProduct",
    "DisableImportFindingsForProduct",
    "ListEnabledProductsForImport",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreateActionTarget",
    "DescribeActionTargets",
    "UpdateActionTarget",
    "DeleteActionTarget",
    "CreateInsight",
    "GetInsights",
    "UpdateInsight",
    "DeleteInsight",
    "GetInsightResults",
];

#[tokio::test]
async fn every_classic_operation_is_served_or_says_it_is_not_supported() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let app = App::new(store.clone(), store.clone(), store, Keyring::from_key(&[1; 32]));
    let who = Principal {
        access_key_id: "AKIATEST".into(),
        account_id: "111111111111".into(),
        admin: false,
        region: "us-east-1".into(),
    };
    let classic: Vec<_> = OPERATIONS.iter().filter(|op| !op.v2).collect();
    assert_eq!(classic.len(), 84, "the model's classic operations");
    for op in classic {
        let result = dispatch(&app, &who, op, Map::new()).await;
        match result {
            Err(ApiError::NotSupported(name)) => {
                assert!(!SERVED.contains(&name), "{name} is served but answered as unsupported");
                let e = ApiError::NotSupported(name);
                assert_eq!(e.status().as_u16(), 400);
                assert!(e.to_string().contains(name));
            }
            // A served operation answers: with its output, or with a modelled error for empty input.
            Ok(_) | Err(_) => {
                assert!(SERVED.contains(&op.name), "{} is neither served nor refused as unsupported", op.name)
            }
        }
    }
}
