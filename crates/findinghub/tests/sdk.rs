//! End to end through a real client: the `findinghub` binary on a free port, driven by the
//! official `aws-sdk-securityhub` crate as a user would point it at the hub.

use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, DateFilter, DateRange, DateRangeUnit, NoteUpdate,
    SortCriterion, SortOrder, StringFilter, StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};

mod support;

use support::hub::{ACCOUNT, Hub, KEY_ID, SECRET, default_product, http_get, sdk_client as client};

fn finding(id: &str, severity: &str, updated: &str, account: &str) -> aws_sdk_securityhub::types::AwsSecurityFinding {
    use aws_sdk_securityhub::types::{AwsSecurityFinding, Resource, Severity, SeverityLabel};
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(default_product(ACCOUNT))
        .generator_id("e2e-generator")
        .aws_account_id(account)
        .types("Software and Configuration Checks/Vulnerabilities/CVE")
        .created_at("2024-01-01T00:00:00Z")
        .updated_at(updated)
        .severity(Severity::builder().label(SeverityLabel::from(severity)).build())
        .title(format!("Finding {id}"))
        .description("An end-to-end finding")
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

fn error_code<E: aws_sdk_securityhub::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_owned()
}

/// The SDK, built without optimisation in tests, makes deep futures: run them with room to spare.
#[test]
fn the_rust_sdk_works_against_the_hub() {
    let body = || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(sdk_flow());
    };
    let worker = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(body).expect("thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

async fn sdk_flow() {
    let hub = Hub::start();
    let sh = client(&hub.endpoint(), KEY_ID, SECRET);

    // Before the hub is enabled, finding operations fail as on AWS.
    let err = sh.get_findings().send().await.expect_err("hub not enabled");
    assert_eq!(error_code(&err.into_service_error()), "InvalidAccessException");
    sh.enable_security_hub().send().await.expect("enable");
    let again = sh.enable_security_hub().send().await.expect_err("twice");
    assert_eq!(error_code(&again.into_service_error()), "ResourceConflictException");
    let described = sh.describe_hub().send().await.expect("describe");
    assert_eq!(described.hub_arn(), Some(format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default").as_str()));

    // Import: 150 findings in two calls, one of them invalid.
    let labels = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];
    let mut all: Vec<_> = (0..150)
        .map(|i| finding(&format!("f{i:03}"), labels[i % 4], &format!("2024-02-{:02}T00:00:00Z", 1 + i % 28), ACCOUNT))
        .collect();
    let second = all.split_off(100);
    let out = sh.batch_import_findings().set_findings(Some(all)).send().await.expect("import");
    assert_eq!((out.success_count(), out.failed_count()), (Some(100), Some(0)));
    let mut bad = second.clone();
    bad.push(
        aws_sdk_securityhub::types::AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id("bad")
            .product_arn(default_product(ACCOUNT))
            .generator_id("g")
            .aws_account_id(ACCOUNT)
            .created_at("2024-01-01T00:00:00Z")
            .updated_at("2024-01-01T00:00:00Z")
            .title("x".repeat(300))
            .description("d")
            .severity(aws_sdk_securityhub::types::Severity::builder().label("LOW".into()).build())
            .resources(aws_sdk_securityhub::types::Resource::builder().r#type("Other").id("r").build())
            .build(),
    );
    let out = sh.batch_import_findings().set_findings(Some(bad)).send().await.expect("import");
    assert_eq!((out.success_count(), out.failed_count()), (Some(50), Some(1)));
    let failure = &out.failed_findings()[0];
    assert_eq!(failure.id(), Some("bad"));
    assert!(
        failure.error_message().unwrap_or_default().contains("data.Title should NOT be longer than 256 characters")
    );

    // A member key: another account's finding refuses its whole call, and it sees only its own.
    let (member_id, member_secret) = hub.create_key(ACCOUNT);
    let member = client(&hub.endpoint(), &member_id, &member_secret);
    let foreign = finding("foreign", "LOW", "2024-01-01T00:00:00Z", "222222222222");
    let err = member.batch_import_findings().findings(foreign.clone()).send().await.expect_err("other account");
    assert_eq!(error_code(&err.into_service_error()), "AccessDeniedException");
    // The administrator (the bootstrap key) may import it; the member does not see it.
    let out = sh.batch_import_findings().findings(foreign).send().await.expect("admin import");
    assert_eq!(out.success_count(), Some(1));
    // And findings of a member account's own product.
    let mut members_own = finding("members-own", "LOW", "2024-01-01T00:00:00Z", "222222222222");
    members_own.product_arn = Some("arn:aws:securityhub:us-east-1:222222222222:product/222222222222/default".into());
    let out = sh.batch_import_findings().findings(members_own).send().await.expect("admin import");
    assert_eq!(out.success_count(), Some(1));
    let seen = member
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().id(eq("foreign")).build())
        .send()
        .await
        .expect("get");
    assert!(seen.findings().is_empty(), "a member never sees another account's findings");
    let seen = sh.get_findings().filters(AwsSecurityFindingFilters::builder().id(eq("foreign")).build()).send().await;
    assert_eq!(seen.expect("get").findings().len(), 1, "the administrator does");

    // GetFindings: filters of several kinds, sorting, and paging to the end with the paginator.
    let critical = sh
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().severity_label(eq("CRITICAL")).build())
        .max_results(100)
        .send()
        .await
        .expect("get");
    assert_eq!(critical.findings().len(), 37);
    let filters = AwsSecurityFindingFilters::builder()
        .title(StringFilter::builder().value("Finding f1").comparison(StringFilterComparison::Prefix).build())
        .resource_type(eq("AwsEc2Instance"))
        .updated_at(DateFilter::builder().start("2024-02-01T00:00:00Z").end("2024-02-10T00:00:00Z").build())
        .build();
    let some = sh.get_findings().filters(filters).send().await.expect("get");
    for f in some.findings() {
        assert!(f.title().unwrap_or_default().starts_with("Finding f1"));
    }
    assert!(!some.findings().is_empty());
    let older = sh
        .get_findings()
        .filters(
            AwsSecurityFindingFilters::builder()
                .updated_at(
                    DateFilter::builder()
                        .date_range(DateRange::builder().value(30).unit(DateRangeUnit::Days).build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("get");
    assert!(older.findings().is_empty(), "every finding is older than 30 days");

    let mut pages = member
        .get_findings()
        .sort_criteria(SortCriterion::builder().field("Title").sort_order(SortOrder::Ascending).build())
        .max_results(40)
        .into_paginator()
        .send();
    let mut titles = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        titles.extend(page.findings().iter().map(|f| f.title().unwrap_or_default().to_owned()));
    }
    assert_eq!(titles.len(), 150);
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);

    // BatchUpdateFindings and the history it writes.
    let ident = AwsSecurityFindingIdentifier::builder().id("f007").product_arn(default_product(ACCOUNT)).build();
    let missing = AwsSecurityFindingIdentifier::builder().id("nope").product_arn(default_product(ACCOUNT)).build();
    let updated = sh
        .batch_update_findings()
        .finding_identifiers(ident.clone())
        .finding_identifiers(missing)
        .workflow(WorkflowUpdate::builder().status(WorkflowStatus::Notified).build())
        .note(NoteUpdate::builder().text("looking into it").updated_by("e2e").build())
        .send()
        .await
        .expect("update");
    assert_eq!(updated.processed_findings().len(), 1);
    assert_eq!(updated.unprocessed_findings()[0].error_code(), Some("FindingNotFound"));
    let history = sh.get_finding_history().finding_identifier(ident).send().await.expect("history");
    let records = history.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].update_source().and_then(|s| s.r#type()).map(|t| t.as_str()), Some("BATCH_UPDATE_FINDINGS"));
    assert!(records[0].updates().iter().any(|u| u.updated_field() == Some("Workflow.Status")));
    assert_eq!(records[1].finding_created(), Some(true));

    // Tags on the hub, with the ARN in a non-greedy label.
    let hub_arn = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default");
    sh.tag_resource().resource_arn(&hub_arn).tags("team", "blue").send().await.expect("tag");
    let tags = sh.list_tags_for_resource().resource_arn(&hub_arn).send().await.expect("tags");
    assert_eq!(tags.tags().and_then(|t| t.get("team")).map(String::as_str), Some("blue"));

    // A wrong secret and an unknown key are refused.
    let wrong = client(&hub.endpoint(), KEY_ID, "not-the-secret");
    let err = wrong.describe_hub().send().await.expect_err("bad secret");
    assert_eq!(error_code(&err.into_service_error()), "InvalidSignatureException");
    let unknown = client(&hub.endpoint(), "AKIAUNKNOWNUNKNOWN00", SECRET);
    let err = unknown.describe_hub().send().await.expect_err("unknown key");
    assert_eq!(error_code(&err.into_service_error()), "UnrecognizedClientException");

    // The metrics saw all of it.
    let metrics = http_get(&hub.addr, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains(r#"findinghub_requests_total{operation="BatchImportFindings",outcome="ok"} 4"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"operation="BatchImportFindings",outcome="AccessDeniedException"} 1"#));
    assert!(metrics.contains(r#"findinghub_imports_rejected_total{reason="invalid_finding"} 1"#));
    assert!(metrics.contains("findinghub_findings_stored 152"));
    assert!(metrics.contains(r#"findinghub_request_duration_seconds_count{operation="GetFindings"}"#));
}

/// Custom insights through the SDK: saved, listed, changed, their grouped counts, and deleted; an
/// account sees only its own, and the counts only the findings it may see.
#[test]
fn insights_count_the_findings_that_the_caller_sees() {
    let body = || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(insights_flow());
    };
    let worker = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(body).expect("thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

async fn insights_flow() {
    const MEMBER: &str = "222222222222";
    let hub = Hub::start();
    let sh = client(&hub.endpoint(), KEY_ID, SECRET);
    sh.enable_security_hub().send().await.expect("enable");
    let findings = vec![
        finding("i1", "CRITICAL", "2024-02-01T00:00:00Z", ACCOUNT),
        finding("i2", "CRITICAL", "2024-02-01T00:00:00Z", ACCOUNT),
        finding("i3", "HIGH", "2024-02-01T00:00:00Z", ACCOUNT),
        finding("i4", "CRITICAL", "2024-02-01T00:00:00Z", MEMBER),
        finding("i5", "LOW", "2024-02-01T00:00:00Z", MEMBER),
    ];
    let out = sh.batch_import_findings().set_findings(Some(findings)).send().await.expect("import");
    assert_eq!(out.success_count(), Some(5));
    let results = |arn: String, who: aws_sdk_securityhub::Client| async move {
        let out = who.get_insight_results().insight_arn(arn).send().await.expect("results");
        let r = out.insight_results().expect("results").clone();
        let values: Vec<(String, i32)> = r
            .result_values()
            .iter()
            .map(|v| (v.group_by_attribute_value().unwrap_or_default().to_owned(), v.count().unwrap_or_default()))
            .collect();
        (r.group_by_attribute().unwrap_or_default().to_owned(), values)
    };

    // Create: severe findings by account.
    let severe = AwsSecurityFindingFilters::builder().severity_label(eq("CRITICAL")).severity_label(eq("HIGH")).build();
    let created = sh
        .create_insight()
        .name("Severe by account")
        .filters(severe)
        .group_by_attribute("AwsAccountId")
        .send()
        .await
        .expect("create");
    let arn = created.insight_arn().expect("arn").to_owned();
    let prefix = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:insight/{ACCOUNT}/custom/");
    assert!(arn.starts_with(&prefix), "{arn}");
    let got = sh.get_insights().send().await.expect("get");
    assert_eq!(got.insights().len(), 1);
    let insight = &got.insights()[0];
    assert_eq!(
        (insight.insight_arn(), insight.name(), insight.group_by_attribute()),
        (Some(arn.as_str()), Some("Severe by account"), Some("AwsAccountId"))
    );
    let kept = insight.filters().expect("filters").severity_label();
    assert_eq!(kept.iter().filter_map(|f| f.value()).collect::<Vec<_>>(), ["CRITICAL", "HIGH"]);
    // The administrator counts every account's findings, largest group first.
    assert_eq!(
        results(arn.clone(), sh.clone()).await,
        ("AwsAccountId".to_owned(), vec![(ACCOUNT.to_owned(), 3), (MEMBER.to_owned(), 1)])
    );

    // Update: every finding, by severity (ties by value).
    sh.update_insight()
        .insight_arn(&arn)
        .name("All by severity")
        .filters(AwsSecurityFindingFilters::builder().build())
        .group_by_attribute("SeverityLabel")
        .send()
        .await
        .expect("update");
    let got = sh.get_insights().insight_arns(&arn).send().await.expect("get");
    assert_eq!(got.insights()[0].name(), Some("All by severity"));
    assert_eq!(
        results(arn.clone(), sh.clone()).await.1,
        [("CRITICAL".to_owned(), 3), ("HIGH".to_owned(), 1), ("LOW".to_owned(), 1)]
    );

    // Errors.
    let err = sh
        .create_insight()
        .name("x")
        .filters(AwsSecurityFindingFilters::builder().build())
        .group_by_attribute("NotAnAttribute")
        .send()
        .await
        .expect_err("bad group");
    assert_eq!(error_code(&err.into_service_error()), "InvalidInputException");
    let bad_filter = AwsSecurityFindingFilters::builder()
        .severity_label(StringFilter::builder().value("HIGH").comparison(StringFilterComparison::from("NOPE")).build())
        .build();
    let err = sh
        .create_insight()
        .name("x")
        .filters(bad_filter)
        .group_by_attribute("ResourceId")
        .send()
        .await
        .expect_err("bad filter");
    assert_eq!(error_code(&err.into_service_error()), "InvalidInputException");
    let unknown = format!("{prefix}4f7d5f38-0000-4000-8000-000000000001");
    let err = sh.get_insight_results().insight_arn(&unknown).send().await.expect_err("unknown");
    assert_eq!(error_code(&err.into_service_error()), "ResourceNotFoundException");
    let err = sh.delete_insight().insight_arn(&unknown).send().await.expect_err("unknown");
    assert_eq!(error_code(&err.into_service_error()), "ResourceNotFoundException");
    let managed = "arn:aws:securityhub:::insight/securityhub/default/1";
    let err = sh.delete_insight().insight_arn(managed).send().await.expect_err("managed");
    assert_eq!(error_code(&err.into_service_error()), "AccessDeniedException");

    // A member account sees neither the administrator's insight nor others' findings in its own.
    let (member_id, member_secret) = hub.create_key(MEMBER);
    let member = client(&hub.endpoint(), &member_id, &member_secret);
    member.enable_security_hub().send().await.expect("enable");
    assert!(member.get_insights().send().await.expect("get").insights().is_empty());
    let err = member.get_insight_results().insight_arn(&arn).send().await.expect_err("not the member's");
    assert_eq!(error_code(&err.into_service_error()), "ResourceNotFoundException");
    let err = member.update_insight().insight_arn(&arn).name("mine").send().await.expect_err("not the member's");
    assert_eq!(error_code(&err.into_service_error()), "ResourceNotFoundException");
    let own = member
        .create_insight()
        .name("Mine")
        .filters(AwsSecurityFindingFilters::builder().build())
        .group_by_attribute("SeverityLabel")
        .send()
        .await
        .expect("create");
    let own = own.insight_arn().expect("arn").to_owned();
    assert_eq!(results(own.clone(), member.clone()).await.1, [("CRITICAL".to_owned(), 1), ("LOW".to_owned(), 1)]);
    assert_eq!(sh.get_insights().send().await.expect("get").insights().len(), 1, "the administrator sees its own");

    // Delete.
    let deleted = sh.delete_insight().insight_arn(&arn).send().await.expect("delete");
    assert_eq!(deleted.insight_arn(), Some(arn.as_str()));
    assert!(sh.get_insights().send().await.expect("get").insights().is_empty());
    assert_eq!(member.get_insights().send().await.expect("get").insights().len(), 1);
}
