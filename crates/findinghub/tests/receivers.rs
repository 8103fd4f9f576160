//! The receivers' stateful side through the real binary: custom actions (aws-sdk-securityhub for
//! the action-target operations, signed requests for `/findinghub/actionTargets/send` and the CLI),
//! the OpsCenter loop (a HIGH finding opens a work item, the CLI resolves it, GetFindings and
//! GetFindingHistory show it), Detective's routes, Trusted Advisor and the evidence export.

mod support;

use findinghub_store::outbox::{DeliveryQuery, OutboxStore};
use findinghub_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use support::hub::{ACCOUNT, Hub};

const GUARDDUTY: &str = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
const CONTROLS: &str = "arn:aws:securityhub:us-east-1::product/aws/securityhub";

/// A hub whose findings (dated 2024) outlive retention, with Security Hub enabled.
fn start_hub() -> Hub {
    let hub = Hub::options().args(["--retention-active-days", "36500"]).start();
    let (status, _) = hub.call("POST", "/accounts", None, Some(json!({})));
    assert_eq!(status, 200, "EnableSecurityHub");
    hub
}

fn guardduty_finding(id: &str, severity: &str, ip: &str) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/d1/finding/{id}"),
        "ProductArn": GUARDDUTY,
        "GeneratorId": "arn:aws:guardduty:us-east-1:111111111111:detector/d1",
        "AwsAccountId": ACCOUNT,
        "Types": ["TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"],
        "CreatedAt": "2026-11-20T10:00:00Z",
        "UpdatedAt": "2026-11-20T10:00:00Z",
        "FirstObservedAt": "2026-11-20T09:00:00Z",
        "LastObservedAt": "2026-11-20T10:00:00Z",
        "Severity": {"Label": severity},
        "Title": format!("{ip} is performing SSH brute force attacks"),
        "Description": "SSH brute force",
        "Network": {"Direction": "IN", "SourceIpV4": ip},
        "Resources": [{"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:us-east-1:111111111111:instance/i-0a1b2c3d4e5f60718"}]
    })
}

fn control_finding(control: &str, status: &str, bucket: &str) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:security-control/{control}/finding/{bucket}"),
        "ProductArn": CONTROLS,
        "GeneratorId": format!("security-control/{control}"),
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": "2026-11-20T10:00:00Z",
        "UpdatedAt": "2026-11-21T10:00:00Z",
        "Severity": {"Label": "HIGH"},
        "Title": format!("{control} S3 buckets should block public access"),
        "Description": "A control finding",
        "Compliance": {"Status": status, "SecurityControlId": control,
            "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}]},
        "Resources": [{"Type": "AwsS3Bucket", "Id": format!("arn:aws:s3:::{bucket}")}]
    })
}

fn import(hub: &Hub, findings: Vec<Value>) {
    let n = findings.len();
    let (status, out) = hub.call("POST", "/findings/import", None, Some(json!({"Findings": findings})));
    assert_eq!((status, out["SuccessCount"].as_u64()), (200, Some(n as u64)), "{out}");
}

/// Routes the Custom Action events to a webhook that nothing answers, so that their deliveries
/// stay in the store; call before the sends.
fn hold_custom_actions(hub: &Hub) {
    hub.run(&["targets", "add", "nowhere", "--kind", "webhook", "--url", "http://127.0.0.1:9/hook"]);
    let pattern = r#"{"detail-type":["Security Hub Findings - Custom Action"]}"#;
    hub.run(&["rules", "add", "custom-actions", "--pattern", pattern, "--target", "nowhere"]);
}

/// The events of the held Custom Action deliveries, once there are `n` of them.
async fn custom_action_events(hub: &Hub, n: usize) -> Vec<Value> {
    let store = SqliteStore::open(&hub.data.data_dir).expect("open the hub's store");
    let query = DeliveryQuery { target: Some("nowhere".to_owned()), limit: 100, ..DeliveryQuery::default() };
    for _ in 0..200 {
        let held = store.deliveries(query.clone()).await.expect("deliveries");
        if held.len() >= n {
            return held.into_iter().map(|d| d.event.envelope).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} Custom Action deliveries after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_actions_through_the_sdk_the_signed_route_and_the_cli() {
    let hub = start_hub();
    let sdk = hub.sdk();
    let arn = sdk
        .create_action_target()
        .id("SendToSlack")
        .name("Send to Slack")
        .description("Post to #secops")
        .send()
        .await
        .expect("CreateActionTarget")
        .action_target_arn
        .expect("an ARN");
    assert_eq!(arn, format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:action/custom/SendToSlack"));
    let dup = sdk.create_action_target().id("SendToSlack").name("x").description("y").send().await;
    assert_eq!(dup.expect_err("a duplicate").into_service_error().meta().code(), Some("ResourceConflictException"));
    let bad = sdk.create_action_target().id("bad-id").name("x").description("y").send().await;
    assert_eq!(bad.expect_err("a bad id").into_service_error().meta().code(), Some("InvalidInputException"));
    sdk.update_action_target().action_target_arn(&arn).name("Slack #secops").send().await.expect("Update");
    let described = sdk.describe_action_targets().send().await.expect("Describe");
    let targets = described.action_targets();
    assert_eq!(targets.len(), 1);
    assert_eq!((targets[0].name(), targets[0].description()), (Some("Slack #secops"), Some("Post to #secops")));

    hold_custom_actions(&hub);
    let f = guardduty_finding("aa01", "HIGH", "198.51.100.7");
    import(&hub, vec![f.clone()]);
    let id = f["Id"].as_str().expect("an id");
    let (status, out) = hub.call(
        "POST",
        "/findinghub/actionTargets/send",
        None,
        Some(json!({"ActionTargetArn": arn, "FindingIdentifiers": [
            {"Id": id, "ProductArn": GUARDDUTY}, {"Id": "missing", "ProductArn": GUARDDUTY}]})),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["ProcessedFindings"], json!([{"Id": id, "ProductArn": GUARDDUTY}]));
    assert_eq!(out["UnprocessedFindings"][0]["FindingIdentifier"]["Id"], "missing");
    let (status, out) = hub.call(
        "POST",
        "/findinghub/actionTargets/send",
        None,
        Some(
            json!({"ActionTargetArn": format!("{arn}x"), "FindingIdentifiers": [{"Id": id, "ProductArn": GUARDDUTY}]}),
        ),
    );
    assert_eq!((status, out["Code"].as_str()), (404, Some("ResourceNotFoundException")));

    let cli = hub.cli(&["actions", "send", "--action-target-arn", &arn, "--id", id, "--product-arn", GUARDDUTY]);
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));

    // The running hub dispatches events as they come: they are read from the deliveries of a rule
    // that routes custom actions to a target that never answers (so they stay pending).
    let custom = custom_action_events(&hub, 2).await;
    assert_eq!(custom.len(), 2, "one event per send, the API's and the CLI's");
    for e in &custom {
        assert_eq!(e["resources"], json!([arn]));
        assert_eq!(e["detail"]["actionName"], "Slack #secops");
        assert_eq!(e["detail"]["actionDescription"], "Post to #secops");
        assert_eq!(e["detail"]["findings"][0]["Id"], id);
    }
    assert_ne!(custom[0]["id"], custom[1]["id"]);

    let deleted = sdk.delete_action_target().action_target_arn(&arn).send().await.expect("Delete");
    assert_eq!(deleted.action_target_arn(), Some(arn.as_str()));
    let gone = sdk.describe_action_targets().action_target_arns(&arn).send().await;
    assert_eq!(gone.expect_err("deleted").into_service_error().meta().code(), Some("ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opscenter_loop_end_to_end() {
    let hub = start_hub();
    // Events reach the work-item tracker as any target: a rule and a target of kind opscenter
    // (which takes no URL).
    let refused = hub.cli(&["targets", "add", "work-items", "--kind", "opscenter", "--url", "http://127.0.0.1:9/x"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("takes no settings"));
    for args in [
        &["targets", "add", "work-items", "--kind", "opscenter"][..],
        &["rules", "add", "to-work-items", "--pattern", r#"{"source": ["aws.securityhub"]}"#, "--target", "work-items"],
    ] {
        let out = hub.cli(args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let high = guardduty_finding("bb02", "HIGH", "198.51.100.8");
    let medium = guardduty_finding("bb03", "MEDIUM", "198.51.100.9");
    import(&hub, vec![high.clone(), medium]);
    let id = high["Id"].as_str().expect("an id");

    // The running hub delivers both events to the tracker; only the HIGH finding opens an item.
    let mut opened = Vec::new();
    for _ in 0..200 {
        let out = hub.cli(&["deliveries", "list", "--target", "work-items", "--state", "delivered"]);
        if String::from_utf8_lossy(&out.stdout).lines().count() == 2 {
            let list = hub.cli(&["opsitems", "list"]);
            opened = String::from_utf8_lossy(&list.stdout)
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
                .collect();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(opened.len(), 1, "only the HIGH finding: {opened:?}");
    let item_id = opened[0]["OpsItemId"].as_str().expect("an item id").to_owned();

    let list = hub.cli(&["opsitems", "list", "--status", "Open"]);
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let listed: Vec<Value> =
        String::from_utf8_lossy(&list.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["OpsItemId"], json!(item_id));
    assert_eq!(listed[0]["Severity"], "2");
    assert_eq!(listed[0]["Source"], "Security Hub");
    assert_eq!(listed[0]["FindingIdentifier"]["Id"], id);

    let (status, got) = hub.call("GET", &format!("/findinghub/opsitems/{item_id}"), None, None);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["OpsItem"]["Status"], "Open");
    let (status, _) = hub.call("GET", "/findinghub/opsitems/oi-000000000000", None, None);
    assert_eq!(status, 404);

    // Resolve it through the CLI: the finding follows, through BatchUpdateFindings' path.
    let update = hub.cli(&["opsitems", "update", &item_id, "--status", "Resolved", "--severity", "1"]);
    assert!(update.status.success(), "{}", String::from_utf8_lossy(&update.stderr));
    let sdk = hub.sdk();
    let found = sdk
        .get_findings()
        .filters(
            aws_sdk_securityhub::types::AwsSecurityFindingFilters::builder()
                .id(aws_sdk_securityhub::types::StringFilter::builder()
                    .value(id)
                    .comparison(aws_sdk_securityhub::types::StringFilterComparison::Equals)
                    .build())
                .build(),
        )
        .send()
        .await
        .expect("GetFindings");
    let finding = &found.findings()[0];
    assert_eq!(finding.workflow().and_then(|w| w.status()).map(|s| s.as_str()), Some("RESOLVED"));
    assert_eq!(finding.severity().and_then(|s| s.label()).map(|l| l.as_str()), Some("CRITICAL"));
    assert_eq!(finding.note().and_then(|n| n.updated_by()), Some(format!("opscenter/{item_id}").as_str()));
    let history = sdk
        .get_finding_history()
        .finding_identifier(
            aws_sdk_securityhub::types::AwsSecurityFindingIdentifier::builder().id(id).product_arn(GUARDDUTY).build(),
        )
        .send()
        .await
        .expect("GetFindingHistory");
    let newest = &history.records()[0];
    let source = newest.update_source().expect("a source");
    assert_eq!(source.r#type().map(|t| t.as_str()), Some("BATCH_UPDATE_FINDINGS"));
    assert_eq!(source.identity(), Some(format!("arn:aws:ssm:us-east-1:{ACCOUNT}:opsitem/{item_id}").as_str()));
    let fields: Vec<&str> = newest.updates().iter().filter_map(|u| u.updated_field()).collect();
    assert!(fields.contains(&"Workflow.Status") && fields.contains(&"Severity.Label"), "{fields:?}");

    // Reopened through the signed route: InProgress → NOTIFIED.
    let path = format!("/findinghub/opsitems/{item_id}");
    let (status, out) = hub.call("PATCH", &path, None, Some(json!({"Status": "InProgress"})));
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["OpsItem"]["Status"], "InProgress");
    assert_eq!(out["FindingUpdate"]["ProcessedFindings"][0]["Id"], id);
    let (status, out) = hub.call("PATCH", &path, None, Some(json!({"Severity": 9})));
    assert_eq!((status, out["Code"].as_str()), (400, Some("InvalidInputException")));
    let (status, out) = hub.call("GET", "/findinghub/opsitems", Some("Status=InProgress"), None);
    assert_eq!((status, out["OpsItems"].as_array().map(Vec::len)), (200, Some(1)), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detective_advisor_and_evidence() {
    let hub = start_hub();
    let a = guardduty_finding("cc01", "HIGH", "198.51.100.7");
    let b = guardduty_finding("cc02", "LOW", "198.51.100.7"); // same instance and IP
    import(&hub, vec![a.clone(), b.clone()]);
    import(
        &hub,
        vec![control_finding("S3.8", "FAILED", "open-bucket"), control_finding("S3.8", "PASSED", "closed-bucket")],
    );
    let query = format!("ProductArn={}&Id={}", enc(GUARDDUTY), enc(a["Id"].as_str().expect("id")));

    let (status, out) = hub.call("GET", "/findinghub/findings/pivots", Some(&query), None);
    assert_eq!(status, 200, "{out}");
    let links = out["PivotLinks"].as_array().expect("links");
    assert!(links[0]["Url"].as_str().is_some_and(|u| u.contains("#findings/GuardDuty/cc01")), "{out}");

    let (status, out) = hub.call("GET", "/findinghub/findings/related", Some(&query), None);
    assert_eq!(status, 200, "{out}");
    let group = |kind: &str| {
        out["Entities"].as_array().and_then(|g| g.iter().find(|g| g["Kind"] == kind)).cloned().unwrap_or_default()
    };
    assert_eq!(group("Resource")["Findings"].as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(group("Resource")["Findings"][0]["Id"], b["Id"]);
    assert_eq!(group("IpAddress")["Value"], "198.51.100.7");
    assert_eq!(group("IpAddress")["Findings"][0]["Id"], b["Id"]);
    assert_eq!(group("Account")["Findings"].as_array().map(Vec::len), Some(3), "the other three of the account");
    let (status, _) = hub.call("GET", "/findinghub/findings/related", Some("ProductArn=x&Id=y"), None);
    assert_eq!(status, 404);

    let (status, out) = hub.call("GET", "/findinghub/advisor", None, None);
    assert_eq!(status, 200, "{out}");
    let check = &out["Checks"][0];
    assert_eq!((check["checkId"].as_str(), check["status"].as_str()), (Some("S3.8"), Some("red")), "{out}");
    let table = hub.cli(&["advisor"]);
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("S3.8"));

    let csv = hub.scratch("evidence.csv");
    let export = hub.cli(&[
        "evidence",
        "export",
        "--from",
        "2026-11-21",
        "--to",
        "2026-11-21",
        "--format",
        "csv",
        "--out",
        csv.to_str().expect("a path"),
    ]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let text = std::fs::read_to_string(&csv).expect("the CSV");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and the two control findings: {text}");
    assert!(lines[0].starts_with("id,time,evidenceFolderId,controlId,complianceCheck"));
    assert!(text.contains("S3.8/2026-11-21"));
    let none = hub.cli(&["evidence", "export", "--from", "2026-11-22", "--to", "2026-11-30", "--control", "S3.8"]);
    assert_eq!(serde_json::from_slice::<Value>(&none.stdout).ok(), Some(json!([])));
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
