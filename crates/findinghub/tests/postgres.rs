//! The real binary on PostgreSQL (`--store postgres://…`, a fresh schema per test through the
//! URL's `options=-csearch_path%3D…`), driven by aws-sdk-securityhub: one hub through the whole
//! flow, and two hubs on one database racing imports and updates of the same findings.
//!
//! The server is `FINDINGHUB_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`);
//! without the variable and without a server there, the tests say so and do not run.

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, NoteUpdate, Resource, Severity,
    SeverityLabel, SortCriterion, SortOrder, StringFilter, StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};
use findinghub_store::postgres::testing::TestSchema;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

use support::hub::{ACCOUNT, Hub, HubData, KEY_ID, SECRET, sdk_client as client};

/// The data of a hub on `store` with the test's master key. Every hub of a test shares the master
/// key file (instances of one database must: the database holds secrets sealed with it).
fn on_store(store: &str, dir: &Path) -> HubData {
    HubData {
        data_dir: dir.join("unused"),
        store: Some(store.to_owned()),
        master_key_file: Some(dir.join("master.key")),
    }
}

/// `findinghub ARGS --store URL` with the test's master key, as a command.
fn findinghub(store: &str, dir: &Path) -> Command {
    on_store(store, dir).command()
}

/// A hub on `store`; the findings are dated 2024, so retention (which runs at every start) keeps them.
fn start_hub(store: &str, dir: &Path) -> Hub {
    Hub::options().data(on_store(store, dir)).args(["--retention-active-days", "36500"]).start()
}

fn product() -> String {
    format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default")
}

fn finding(id: &str, severity: &str, updated: &str, title: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(product())
        .generator_id("pg-generator")
        .aws_account_id(ACCOUNT)
        .types("Software and Configuration Checks/Vulnerabilities/CVE")
        .created_at("2024-01-01T00:00:00Z")
        .updated_at(updated)
        .severity(Severity::builder().label(SeverityLabel::from(severity)).build())
        .title(title)
        .description("A finding on PostgreSQL")
        .resources(
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id(format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-{id}"))
                .build(),
        )
        .build()
}

fn eq(v: &str) -> StringFilter {
    StringFilter::builder().value(v).comparison(StringFilterComparison::Equals).build()
}

fn ident(id: &str) -> AwsSecurityFindingIdentifier {
    AwsSecurityFindingIdentifier::builder().id(id).product_arn(product()).build()
}

/// The SDK, built without optimisation in tests, makes deep futures: run them with room to spare.
fn run(flow: fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) {
    let body = move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(flow());
    };
    let worker = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(body).expect("thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_sdk_works_against_a_hub_on_postgres() {
    run(|| Box::pin(one_hub()));
}

async fn one_hub() {
    let Some(schema) = TestSchema::create("the binary on PostgreSQL (findinghub tests/postgres.rs)").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = schema.url();
    let hub = start_hub(&store, dir.path());
    let sh = client(&hub.endpoint(), KEY_ID, SECRET);
    sh.enable_security_hub().send().await.expect("enable");

    // Import: 60 findings.
    let labels = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];
    let all: Vec<_> = (0..60)
        .map(|i| {
            let id = format!("f{i:03}");
            let updated = format!("2024-02-{:02}T00:00:00Z", 1 + i % 28);
            finding(&id, labels[i % 4], &updated, &format!("Finding {id}"))
        })
        .collect();
    let out = sh.batch_import_findings().set_findings(Some(all)).send().await.expect("import");
    assert_eq!((out.success_count(), out.failed_count()), (Some(60), Some(0)));

    // `findinghub import --store` writes to the same database.
    let file = dir.path().join("more.json");
    let extra = serde_json::json!([{
        "SchemaVersion": "2018-10-08", "Id": "from-file", "ProductArn": product(), "GeneratorId": "file",
        "AwsAccountId": ACCOUNT, "CreatedAt": "2024-01-01T00:00:00Z", "UpdatedAt": "2024-03-01T00:00:00Z",
        "Severity": {"Label": "CRITICAL"}, "Title": "From a file", "Description": "imported by the command",
        "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::from-file"}]
    }]);
    std::fs::write(&file, extra.to_string()).expect("write findings");
    let out = findinghub(&store, dir.path()).arg("import").arg(&file).output().expect("run findinghub import");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // GetFindings with a filter, and a sort paged to the end.
    let critical = sh
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().severity_label(eq("CRITICAL")).build())
        .max_results(100)
        .send()
        .await
        .expect("get");
    assert_eq!(critical.findings().len(), 16, "15 imported through the API and 1 from the file");
    let buckets = sh
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().resource_type(eq("AwsS3Bucket")).build())
        .send()
        .await
        .expect("get");
    let ids: Vec<_> = buckets.findings().iter().filter_map(|f| f.id()).collect();
    assert_eq!(ids, ["from-file"]);
    let mut pages = sh
        .get_findings()
        .sort_criteria(SortCriterion::builder().field("Title").sort_order(SortOrder::Descending).build())
        .max_results(7)
        .into_paginator()
        .send();
    let mut titles = Vec::new();
    while let Some(page) = pages.next().await {
        titles.extend(page.expect("page").findings().iter().map(|f| f.title().unwrap_or_default().to_owned()));
    }
    assert_eq!(titles.len(), 61);
    let mut sorted = titles.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(titles, sorted);

    // A key made with `findinghub credentials create --store` works on the running hub.
    let out = findinghub(&store, dir.path())
        .args(["credentials", "create", "--account", ACCOUNT])
        .output()
        .expect("run findinghub credentials");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let member = client(
        &hub.endpoint(),
        key["AccessKeyId"].as_str().unwrap_or_default(),
        key["SecretAccessKey"].as_str().unwrap_or_default(),
    );

    // BatchUpdateFindings and the history it writes.
    let updated = member
        .batch_update_findings()
        .finding_identifiers(ident("f007"))
        .finding_identifiers(ident("nope"))
        .workflow(WorkflowUpdate::builder().status(WorkflowStatus::Notified).build())
        .note(NoteUpdate::builder().text("looking into it").updated_by("e2e").build())
        .send()
        .await
        .expect("update");
    assert_eq!(updated.processed_findings().len(), 1);
    assert_eq!(updated.unprocessed_findings()[0].error_code(), Some("FindingNotFound"));
    let notified = sh
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().workflow_status(eq("NOTIFIED")).build())
        .send()
        .await
        .expect("get");
    let ids: Vec<_> = notified.findings().iter().filter_map(|f| f.id()).collect();
    assert_eq!(ids, ["f007"]);
    let history = sh.get_finding_history().finding_identifier(ident("f007")).send().await.expect("history");
    let records = history.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].update_source().and_then(|s| s.r#type()).map(|t| t.as_str()), Some("BATCH_UPDATE_FINDINGS"));
    assert!(records[0].updates().iter().any(|u| u.updated_field() == Some("Workflow.Status")));
    assert_eq!(records[1].finding_created(), Some(true));

    // The hub's state lives in the database too.
    let hub_arn = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default");
    sh.tag_resource().resource_arn(&hub_arn).tags("team", "blue").send().await.expect("tag");
    drop(hub);
    let again = start_hub(&store, dir.path());
    let sh = client(&again.endpoint(), KEY_ID, SECRET);
    let tags = sh.list_tags_for_resource().resource_arn(&hub_arn).send().await.expect("tags");
    assert_eq!(tags.tags().and_then(|t| t.get("team")).map(String::as_str), Some("blue"));
    let all = sh.get_findings().max_results(100).send().await.expect("get");
    assert_eq!(all.findings().len(), 61, "a restarted hub finds everything");
    drop(again);
    drop(schema);
}

#[test]
fn two_hubs_on_one_database_keep_the_newest_and_every_update() {
    run(|| Box::pin(two_hubs()));
}

async fn two_hubs() {
    let Some(schema) = TestSchema::create("two hubs on one PostgreSQL (findinghub tests/postgres.rs)").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = schema.url();
    let (a, b) = (start_hub(&store, dir.path()), start_hub(&store, dir.path()));
    let ca = client(&a.endpoint(), KEY_ID, SECRET);
    let cb = client(&b.endpoint(), KEY_ID, SECRET);
    ca.enable_security_hub().send().await.expect("enable");

    // Versions 0..20 of one finding, through A in ascending order and through B in descending
    // order at the same time, each with a finding of its own.
    const VERSIONS: usize = 20;
    let version = |v: usize| finding("shared", "LOW", &format!("2024-03-01T00:00:{v:02}Z"), &format!("v{v}"));
    let send = |c: Client, order: Vec<usize>, tag: &'static str| async move {
        for v in order {
            let own = finding(&format!("{tag}-{v}"), "HIGH", "2024-03-01T00:00:00Z", tag);
            let out = c.batch_import_findings().findings(version(v)).findings(own).send().await.expect("import");
            assert_eq!(out.success_count(), Some(2));
        }
    };
    tokio::join!(send(ca.clone(), (0..VERSIONS).collect(), "a"), send(cb.clone(), (0..VERSIONS).rev().collect(), "b"));
    for c in [&ca, &cb] {
        let got = c
            .get_findings()
            .filters(AwsSecurityFindingFilters::builder().id(eq("shared")).build())
            .send()
            .await
            .expect("get");
        let f = &got.findings()[0];
        assert_eq!(f.title(), Some(format!("v{}", VERSIONS - 1).as_str()), "the newest UpdatedAt wins");
        assert_eq!(f.updated_at(), Some(format!("2024-03-01T00:00:{:02}Z", VERSIONS - 1).as_str()));
    }
    let mut total = 0;
    let mut pages = ca.get_findings().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        total += page.expect("page").findings().len();
    }
    assert_eq!(total, 1 + 2 * VERSIONS);
    // Its history only ever moved forward: each import recorded went to a newer UpdatedAt, and
    // the last one to the newest (unless the newest came first and created it: then the rest
    // were stale and the creation is the only record).
    let history = ca.get_finding_history().finding_identifier(ident("shared")).send().await.expect("history");
    let records = history.records();
    let mut stamps: Vec<String> = records
        .iter()
        .flat_map(|r| r.updates())
        .filter(|u| u.updated_field() == Some("UpdatedAt"))
        .filter_map(|u| u.new_value().map(str::to_owned))
        .collect();
    stamps.reverse();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    assert_eq!(stamps.len() + 1, records.len(), "one creation, and one record per newer version");
    if let Some(last) = stamps.last() {
        assert_eq!(last, &format!("2024-03-01T00:00:{:02}Z", VERSIONS - 1));
    }

    // BatchUpdateFindings on one finding through both hubs at once: every change is kept.
    const ROUNDS: i32 = 15;
    let update = |c: Client, confidence: bool| async move {
        for r in 1..=ROUNDS {
            let mut req = c.batch_update_findings().finding_identifiers(ident("a-0"));
            req = if confidence { req.confidence(r) } else { req.criticality(r) };
            let out = req.send().await.expect("update");
            assert_eq!(out.processed_findings().len(), 1, "{:?}", out.unprocessed_findings());
        }
    };
    tokio::join!(update(ca.clone(), true), update(cb.clone(), false));
    let got = cb
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().id(eq("a-0")).build())
        .send()
        .await
        .expect("get");
    let f = &got.findings()[0];
    assert_eq!((f.confidence(), f.criticality()), (Some(ROUNDS), Some(ROUNDS)), "neither hub lost the other's change");
    let mut records = 0;
    let mut pages = ca.get_finding_history().finding_identifier(ident("a-0")).into_paginator().send();
    while let Some(page) = pages.next().await {
        records += page.expect("page").records().len();
    }
    assert_eq!(records, 1 + 2 * ROUNDS as usize, "the creation and one record per update");
    drop((a, b));
    drop(schema);
}

/// What a client sees of a hub, through the API and the command line: every finding (paged by
/// Id), the history of some, action targets, tags, subscriptions, the hub, delivery targets and
/// rules.
#[derive(Debug, PartialEq)]
struct Seen {
    findings: Vec<AwsSecurityFinding>,
    histories: Vec<Vec<aws_sdk_securityhub::types::FindingHistoryRecord>>,
    actions: Vec<aws_sdk_securityhub::types::ActionTarget>,
    tags: Option<std::collections::HashMap<String, String>>,
    products: Vec<String>,
    hub_arn: Option<String>,
    targets: String,
    rules: String,
}

const HUB_ARN: &str = "arn:aws:securityhub:us-east-1:111111111111:hub/default";

async fn seen(sh: &Client, store: &str, dir: &Path) -> Seen {
    let mut pages = sh
        .get_findings()
        .sort_criteria(SortCriterion::builder().field("Id").sort_order(SortOrder::Ascending).build())
        .max_results(100)
        .into_paginator()
        .send();
    let mut findings = Vec::new();
    while let Some(page) = pages.next().await {
        findings.extend(page.expect("page").findings().iter().cloned());
    }
    let mut histories = Vec::new();
    for id in ["m000", "m001", "m002", "m150", "late"] {
        let h = sh.get_finding_history().finding_identifier(ident(id)).send().await.expect("history");
        histories.push(h.records().to_vec());
    }
    let actions = sh.describe_action_targets().send().await.expect("actions").action_targets().to_vec();
    let tags = sh.list_tags_for_resource().resource_arn(HUB_ARN).send().await.expect("tags").tags().cloned();
    let products =
        sh.list_enabled_products_for_import().send().await.expect("products").product_subscriptions().to_vec();
    let hub_arn = sh.describe_hub().send().await.expect("hub").hub_arn().map(str::to_owned);
    let cli = |what: &str| {
        let out = findinghub(store, dir).args([what, "list"]).output().expect("run findinghub");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    Seen { findings, histories, actions, tags, products, hub_arn, targets: cli("targets"), rules: cli("rules") }
}

/// `findinghub migrate` (it names its stores itself: no --store, no master key).
fn migrate(from: &str, to: &str, dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_findinghub"));
    cmd.arg("--data-dir").arg(dir.join("unused")).args(["migrate", "--from", from, "--to", to]).args(extra);
    cmd
}

#[test]
fn migrate_copies_sqlite_to_postgres_and_back() {
    run(|| Box::pin(migrate_round_trip()));
}

async fn migrate_round_trip() {
    use findinghub_store::portable::{FINDINGS, RecordStore};
    let Some(schema) = TestSchema::create("findinghub migrate (findinghub tests/postgres.rs)").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = format!("sqlite://{}", dir.path().join("embedded").display());
    let pg = schema.url();

    // An embedded hub with findings, history, action targets, tags, subscriptions, a key made by
    // the command line, delivery targets and rules.
    let hub = start_hub(&embedded, dir.path());
    let sh = client(&hub.endpoint(), KEY_ID, SECRET);
    sh.enable_security_hub().send().await.expect("enable");
    for chunk in 0..3 {
        let batch: Vec<_> = (0..100)
            .map(|i| {
                let n = chunk * 100 + i;
                let id = format!("m{n:03}");
                finding(&id, ["LOW", "HIGH"][n % 2], &format!("2024-02-{:02}T00:00:00Z", 1 + n % 28), &id)
            })
            .collect();
        let out = sh.batch_import_findings().set_findings(Some(batch)).send().await.expect("import");
        assert_eq!(out.success_count(), Some(100));
    }
    // A second version of m000, and two updates of m001.
    let again = finding("m000", "CRITICAL", "2024-03-15T00:00:00Z", "m000 again");
    sh.batch_import_findings().findings(again).send().await.expect("import");
    for status in [WorkflowStatus::Notified, WorkflowStatus::Resolved] {
        sh.batch_update_findings()
            .finding_identifiers(ident("m001"))
            .workflow(WorkflowUpdate::builder().status(status).build())
            .note(NoteUpdate::builder().text("checked").updated_by("migrate-test").build())
            .send()
            .await
            .expect("update");
    }
    sh.create_action_target().name("Ticket").description("Open a ticket").id("Ticket").send().await.expect("action");
    sh.tag_resource().resource_arn(HUB_ARN).tags("team", "security").send().await.expect("tag");
    let out = findinghub(&embedded, dir.path())
        .args(["credentials", "create", "--account", ACCOUNT])
        .output()
        .expect("run findinghub credentials");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let member: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let (member_key, member_secret) = (
        member["AccessKeyId"].as_str().unwrap_or_default().to_owned(),
        member["SecretAccessKey"].as_str().unwrap_or_default().to_owned(),
    );
    for args in [
        vec!["targets", "add", "ops", "--kind", "webhook", "--url", "http://127.0.0.1:9/hook"],
        vec![
            "rules",
            "add",
            "critical",
            "--pattern",
            r#"{"detail":{"findings":{"Severity":{"Label":["CRITICAL"]}}}}"#,
            "--target",
            "ops",
        ],
    ] {
        let out = findinghub(&embedded, dir.path()).args(&args).output().expect("run findinghub");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let before = seen(&sh, &embedded, dir.path()).await;
    assert_eq!(before.findings.len(), 300);
    assert!(!before.products.is_empty(), "enabling the hub subscribed it to the default products");
    assert_eq!(before.histories[1].len(), 3, "m001: created and updated twice");
    drop(hub);

    // The copy to PostgreSQL, killed part way through the findings, then resumed.
    let mut copy = migrate(&embedded, &pg, dir.path(), &["--batch", "10", "--pause-ms", "40"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start findinghub migrate");
    let mut watch = None;
    let mut killed_at = None;
    for _ in 0..1500 {
        if watch.is_none() {
            // The destination's schema exists once migrate has opened it.
            watch = findinghub_store::postgres::PostgresStore::open_with(&pg, 1).await.ok();
        }
        if let Some(store) = &watch {
            let progress = store.copy_progress().await.expect("progress");
            if let Some(p) = progress.iter().find(|p| p.table == FINDINGS && p.copied >= 50) {
                copy.kill().expect("kill migrate");
                let _ = copy.wait();
                killed_at = Some(p.copied);
                break;
            }
        }
        if let Ok(Some(status)) = copy.try_wait() {
            panic!("migrate ended before it could be interrupted: {status}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed_at = killed_at.expect("the copy reached the findings");
    let watch = watch.expect("the destination store");
    let progress = watch.copy_progress().await.expect("progress");
    let findings_progress = progress.iter().find(|p| p.table == FINDINGS).expect("findings progress");
    assert!(!findings_progress.done && findings_progress.copied < 300, "{findings_progress:?}");
    assert!(killed_at >= 50);
    // A second copy from elsewhere into this destination is refused.
    let out = migrate(&format!("sqlite://{}", dir.path().join("other").display()), &pg, dir.path(), &[])
        .output()
        .expect("run migrate");
    assert!(!out.status.success(), "a copy from another source into a half-copied store");

    let out = migrate(&embedded, &pg, dir.path(), &["--batch", "10"]).output().expect("run migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("copied and verified"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("findings ") && l.contains(" 300 ") && l.ends_with("same records")),
        "{stdout}"
    );
    assert_eq!(watch.count_records(FINDINGS).await.expect("count"), 300, "nothing copied twice");
    // Run again: nothing more to copy, still verified.
    let out = migrate(&embedded, &pg, dir.path(), &[]).output().expect("run migrate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(watch);

    // Served from PostgreSQL: the same findings, history, actions, tags, subscriptions, keys.
    let hub = start_hub(&pg, dir.path());
    let sh = client(&hub.endpoint(), KEY_ID, SECRET);
    let after = seen(&sh, &pg, dir.path()).await;
    assert_eq!(after, before);
    let member = client(&hub.endpoint(), &member_key, &member_secret);
    let mine = member.get_findings().max_results(5).send().await.expect("the member's key works on the copy");
    assert_eq!(mine.findings().len(), 5);
    // New writes on the copy: a finding, and a change with history after the copied records.
    let late = finding("late", "CRITICAL", "2024-04-01T00:00:00Z", "after the move");
    let out = sh.batch_import_findings().findings(late).send().await.expect("import");
    assert_eq!(out.success_count(), Some(1));
    sh.batch_update_findings()
        .finding_identifiers(ident("m001"))
        .note(NoteUpdate::builder().text("on PostgreSQL now").updated_by("migrate-test").build())
        .send()
        .await
        .expect("update");
    let h = sh.get_finding_history().finding_identifier(ident("m001")).send().await.expect("history");
    assert_eq!(h.records().len(), 4);
    let on_pg = seen(&sh, &pg, dir.path()).await;
    drop(hub);

    // And back into a new embedded store.
    let back = format!("sqlite://{}", dir.path().join("back").display());
    let out = migrate(&pg, &back, dir.path(), &[]).output().expect("run migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("copied and verified"), "{stdout}");
    let hub = start_hub(&back, dir.path());
    let sh = client(&hub.endpoint(), KEY_ID, SECRET);
    assert_eq!(seen(&sh, &back, dir.path()).await, on_pg);
    // A copy into a store that is not empty is refused.
    drop(hub);
    let out = migrate(&embedded, &back, dir.path(), &[]).output().expect("run migrate");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&out.stderr));
}
