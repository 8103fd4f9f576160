//! `open_work_items` against the embedded store: the threshold is the caller's setting, and a
//! resolved work item lets the next event of its finding open a new one.

use findinghub_api::workitems::open_work_items;
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::state::HubStateStore;
use serde_json::{Value, json};

fn event(id: &str, severity: &str) -> Value {
    json!({
        "version": "0", "id": format!("ev-{id}"), "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": "111111111111", "region": "eu-west-1",
        "time": "2026-11-20T10:00:00Z", "resources": [],
        "detail": {"findings": [{
            "Id": id, "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
            "AwsAccountId": "111111111111", "Region": "eu-west-1", "Title": format!("Finding {id}"),
            "Severity": {"Label": severity}, "Workflow": {"Status": "NEW"}, "RecordState": "ACTIVE",
            "Resources": [{"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:eu-west-1:111111111111:instance/i-1"}]
        }]}
    })
}

#[tokio::test]
async fn the_threshold_is_a_setting_and_resolved_items_free_their_finding() {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(dir.path()).expect("store");
    let medium_too: Vec<String> = ["CRITICAL", "HIGH", "MEDIUM"].map(String::from).to_vec();
    let default: Vec<String> = ["CRITICAL", "HIGH"].map(String::from).to_vec();
    assert!(open_work_items(&store, &default, &event("m1", "MEDIUM"), 1).await.expect("open").is_empty());
    let opened = open_work_items(&store, &medium_too, &event("m1", "MEDIUM"), 2).await.expect("open");
    assert_eq!(opened.len(), 1);
    let item = store.work_item(&opened[0].work_item_id).await.expect("get").expect("stored");
    assert_eq!((item.severity, item.region.as_str(), item.status.as_str()), (3, "eu-west-1", "Open"));
    assert_eq!(item.item["related_resources"], json!(["arn:aws:ec2:eu-west-1:111111111111:instance/i-1"]));
    assert!(open_work_items(&store, &default, &event("l1", "LOW"), 3).await.expect("open").is_empty());

    store.update_work_item(&item.id, Some("Resolved"), None, 4).await.expect("resolve");
    let reopened = open_work_items(&store, &medium_too, &event("m1", "MEDIUM"), 5).await.expect("open");
    assert!(reopened[0].created && reopened[0].work_item_id != item.id, "a new work item after the resolved one");
}
