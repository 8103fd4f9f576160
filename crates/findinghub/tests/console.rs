//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver with fantoccini, against the real binary; the results are checked
//! through the API with aws-sdk-securityhub; deliveries go to a webhook receiver that the test
//! starts. Screenshots of each page are left in `<target dir>/console-screenshots/` (CI keeps that
//! folder).

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, Resource, Severity, SeverityLabel,
    StringFilter, StringFilterComparison,
};
use fantoccini::{ClientBuilder, Locator};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

mod support;

use support::hub::{ACCOUNT, Hub, HubData, KEY_ID, SECRET, free_port, sdk_client as sdk};
use support::receiver::{Receiver, start_receiver};

const MEMBER: &str = "222222222222";
const GUARDDUTY: &str = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
const CONTROLS: &str = "arn:aws:securityhub:us-east-1::product/aws/securityhub";

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One plain HTTP/1.1 request; the status and the whole answer.
fn http(endpoint: &str, method: &str, path: &str, cookie: &str, body: &str) -> (u16, String) {
    let addr = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let _ = write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, answer)
}

fn wait_for_port(port: u16) -> bool {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The hub, with the targets and rules of the receivers' pages: the findings of our own product
/// `own-1` and every custom action go to the test's webhook, every finding to OpsCenter work items.
fn start_hub(dir: &std::path::Path, hook: &str) -> Hub {
    let config = dir.join("findinghub.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[targets]]
name = "hook"
kind = "webhook"
url = "{hook}"

[[targets]]
name = "work-items"
kind = "opscenter"

[[rules]]
name = "own-1"
targets = ["hook"]
pattern = {{ detail-type = ["Security Hub Findings - Imported"], detail = {{ findings = {{ Id = ["own-1"] }} }} }}

[[rules]]
name = "custom-actions"
targets = ["hook"]
pattern = {{ detail-type = ["Security Hub Findings - Custom Action"] }}

[[rules]]
name = "to-work-items"
targets = ["work-items"]
pattern = {{ detail-type = ["Security Hub Findings - Imported"] }}
"#
        ),
    )
    .expect("the configuration file");
    Hub::options().data(HubData::dir(dir.join("data"))).config(&config).args(["--region", "us-east-1"]).start()
}

fn finding(id: &str, product: &str, severity: &str, title: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(product)
        .generator_id("console-test")
        .aws_account_id(ACCOUNT)
        .types("TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort")
        .created_at("2024-05-01T00:00:00Z")
        .updated_at("2024-05-02T00:00:00Z")
        .first_observed_at("2024-05-01T00:00:00Z")
        .last_observed_at("2024-05-02T00:00:00Z")
        .severity(Severity::builder().label(SeverityLabel::from(severity)).original(severity).build())
        .title(title)
        .description("Unprotected port on EC2 instance is being probed.")
        .resources(
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id(format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-{}", id.len()))
                .region("us-east-1")
                .build(),
        )
        .build()
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

async fn screenshot(browser: &fantoccini::Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

async fn sign_in(browser: &fantoccini::Client, endpoint: &str, key: &str, secret: &str, shot: Option<&str>) {
    browser.goto(&format!("{endpoint}/console/")).await.expect("open the console");
    let form = browser.wait().for_element(Locator::Css("input[name=access_key_id]")).await.expect("sign-in form");
    form.send_keys(key).await.expect("type the key id");
    browser.find(Locator::Css("input[name=secret]")).await.expect("secret").send_keys(secret).await.expect("type");
    if let Some(name) = shot {
        screenshot(browser, name).await;
    }
    browser.find(Locator::Css("form button[type=submit]")).await.expect("button").click().await.expect("sign in");
    browser.wait().for_element(Locator::Css("form#filters")).await.expect("signed in: the findings page");
}

/// Polls until `done` or the time is up.
async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The CSRF token of a page's forms (what a member's own browser would post).
fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a form with a CSRF token") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().unwrap_or_default().to_owned()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn session_cookie(browser: &fantoccini::Client) -> String {
    let cookies = browser.get_all_cookies().await.expect("cookies");
    let c = cookies.iter().find(|c| c.name() == "fh_console").expect("the session cookie");
    assert_eq!(c.http_only(), Some(true));
    format!("fh_console={}", c.value())
}

#[test]
fn the_console_works_in_a_real_browser() {
    let body = || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(console_flow());
    };
    let worker = std::thread::Builder::new().stack_size(32 * 1024 * 1024).spawn(body).expect("thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

async fn console_flow() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The webhook refuses at first: own-1's event becomes a dead letter.
    let hook = Arc::new(Receiver::default());
    let hook_url = start_receiver(hook.clone(), Duration::ZERO);
    hook.status.store(400, Ordering::SeqCst);
    let hub = start_hub(dir.path(), &hook_url);
    let endpoint = hub.endpoint();
    let admin = sdk(&endpoint, KEY_ID, SECRET);
    admin.enable_security_hub().send().await.expect("enable the hub");
    let own = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default");
    let gd_id = |n: u32| format!("arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/d1/finding/f{n}");
    let findings = vec![
        finding(&gd_id(1), GUARDDUTY, "HIGH", "Port probe on i-1"),
        finding(&gd_id(2), GUARDDUTY, "MEDIUM", "Unusual API calls"),
        finding(&gd_id(3), GUARDDUTY, "HIGH", "SSH brute force on i-3"),
        finding("own-1", &own, "HIGH", "Our scanner: open bucket"),
        finding("own-2", &own, "LOW", "Our scanner: old TLS"),
    ];
    let out = admin.batch_import_findings().set_findings(Some(findings)).send().await.expect("import");
    assert_eq!((out.success_count(), out.failed_count()), (Some(5), Some(0)), "{out:?}");
    let (member_id, member_secret) = hub.create_key(MEMBER);
    sdk(&endpoint, &member_id, &member_secret).enable_security_hub().send().await.expect("the member's hub");

    let driver_port = free_port();
    let _driver = Process(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)"),
    );
    assert!(wait_for_port(driver_port), "chromedriver did not start");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": [
            "--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--window-size=1440,1000"
        ]}),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");

    // Signed out, the console sends the browser to the sign-in page; a wrong secret is refused.
    browser.goto(&format!("{endpoint}/console/findings")).await.expect("open");
    let wrong = browser.wait().for_element(Locator::Css("input[name=access_key_id]")).await.expect("sign-in form");
    wrong.send_keys(KEY_ID).await.expect("type");
    browser.find(Locator::Css("input[name=secret]")).await.expect("secret").send_keys("wrong").await.expect("type");
    browser.find(Locator::Css("form button[type=submit]")).await.expect("button").click().await.expect("submit");
    let refused = browser.wait().for_element(Locator::Css("p.error")).await.expect("a refusal");
    assert!(refused.text().await.expect("text").contains("wrong secret"));

    sign_in(&browser, &endpoint, KEY_ID, SECRET, Some("1-signin")).await;
    // The default view: every finding is ACTIVE and NEW.
    let rows = browser.find_all(Locator::Css("#findings tbody tr")).await.expect("rows");
    assert_eq!(rows.len(), 5);
    screenshot(&browser, "2-findings").await;

    // Filter by severity and product with the quick filters.
    browser
        .find(Locator::Css("select[name=q_severity]"))
        .await
        .expect("severity")
        .select_by_value("HIGH")
        .await
        .expect("choose HIGH");
    browser
        .find(Locator::Css("input[name=q_product]"))
        .await
        .expect("product")
        .send_keys("GuardDuty")
        .await
        .expect("type");
    browser.find(Locator::Css(".quick button[type=submit]")).await.expect("apply").click().await.expect("apply");
    // The default view has chips too: wait for the filtered page's URL, not for any chip.
    let mut url = browser.current_url().await.expect("url");
    for _ in 0..100 {
        if url.as_str().contains("SeverityLabel%3AEQUALS%3AHIGH") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        url = browser.current_url().await.expect("url");
    }
    assert!(url.as_str().contains("SeverityLabel%3AEQUALS%3AHIGH"), "the filter is in the URL: {url}");
    browser.wait().for_element(Locator::Css(".chip")).await.expect("chips");
    let titles: Vec<String> = {
        let mut t = Vec::new();
        for a in browser.find_all(Locator::Css("#findings a.finding")).await.expect("links") {
            t.push(a.text().await.expect("text"));
        }
        t
    };
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.iter().all(|t| t.contains("i-1") || t.contains("i-3")), "{titles:?}");
    screenshot(&browser, "3-findings-filtered").await;

    // A shared link shows the same view.
    browser.goto(url.as_str()).await.expect("the shared link");
    assert_eq!(browser.find_all(Locator::Css("#findings a.finding")).await.expect("links").len(), 2);

    // Save the filtered view as an insight: its page counts the two findings by title, the SDK's
    // GetInsights returns it, and a group links to its findings.
    browser
        .find(Locator::Css("details.save-insight summary"))
        .await
        .expect("save as insight")
        .click()
        .await
        .expect("open");
    browser
        .find(Locator::Css("#save-insight input[name=name]"))
        .await
        .expect("name")
        .send_keys("HIGH GuardDuty by title")
        .await
        .expect("type");
    browser
        .find(Locator::Css("#save-insight select[name=group_by]"))
        .await
        .expect("group by")
        .select_by_value("Title")
        .await
        .expect("choose Title");
    browser.find(Locator::Css("#save-insight button[type=submit]")).await.expect("save").click().await.expect("save");
    let results = browser.wait().for_element(Locator::Css("table.insight-results")).await.expect("the insights page");
    let text = results.text().await.expect("text");
    assert!(text.contains("Port probe on i-1") && text.contains("SSH brute force on i-3"), "{text}");
    assert!(!text.contains("Unusual API calls"), "a MEDIUM finding is not in the insight: {text}");
    screenshot(&browser, "3b-insights").await;
    let saved = admin.get_insights().send().await.expect("GetInsights");
    assert_eq!(saved.insights().len(), 1);
    let saved = &saved.insights()[0];
    assert_eq!((saved.name(), saved.group_by_attribute()), (Some("HIGH GuardDuty by title"), Some("Title")));
    let severity: Vec<&str> =
        saved.filters().expect("filters").severity_label().iter().filter_map(|f| f.value()).collect();
    assert_eq!(severity, ["HIGH"]);
    browser.find(Locator::LinkText("Port probe on i-1")).await.expect("a group").click().await.expect("follow");
    let mut group_url = browser.current_url().await.expect("url");
    for _ in 0..100 {
        if group_url.as_str().contains("Title%3AEQUALS") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        group_url = browser.current_url().await.expect("url");
    }
    assert!(group_url.as_str().contains("Title%3AEQUALS"), "the group is a filter: {group_url}");
    browser.wait().for_element(Locator::Css("#findings")).await.expect("the findings");
    assert_eq!(browser.find_all(Locator::Css("#findings a.finding")).await.expect("links").len(), 1);
    browser.goto(url.as_str()).await.expect("back to the filtered view");

    // Open a finding: its sections, the Detective pivot and its history.
    browser
        .find(Locator::LinkText("SSH brute force on i-3"))
        .await
        .expect("the finding's link")
        .click()
        .await
        .expect("open");
    browser.wait().for_element(Locator::Css("#summary")).await.expect("the finding page");
    let source = browser.source().await.expect("page");
    assert!(source.contains("Unprotected port on EC2 instance is being probed."));
    assert!(source.contains("#findings/GuardDuty/f3?scopeStart="), "the Detective pivot");
    assert!(source.contains("AwsEc2Instance"));

    // Suppress it with a note.
    let actions = browser.find(Locator::Css("#finding-actions")).await.expect("actions");
    actions
        .find(Locator::Css("select[name=workflow]"))
        .await
        .expect("workflow")
        .select_by_value("SUPPRESSED")
        .await
        .expect("choose");
    actions
        .find(Locator::Css("input[name=note]"))
        .await
        .expect("note")
        .send_keys("Known scanner, suppressed from the console")
        .await
        .expect("type");
    actions.find(Locator::Css("button[type=submit]")).await.expect("apply").click().await.expect("apply");
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.expect("a notice");
    assert!(notice.text().await.expect("text").contains("Updated 1 finding"));
    let note = browser.find(Locator::Css("#note")).await.expect("the note").text().await.expect("text");
    assert!(note.contains("Known scanner"));
    screenshot(&browser, "4-finding").await;

    // Through the API: the change, and its history with the user's identity.
    let identifier = AwsSecurityFindingIdentifier::builder().id(gd_id(3)).product_arn(GUARDDUTY).build();
    let eq = |v: &str| StringFilter::builder().value(v).comparison(StringFilterComparison::Equals).build();
    let got = admin
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().id(eq(&gd_id(3))).build())
        .send()
        .await
        .expect("get");
    let f = &got.findings()[0];
    assert_eq!(f.workflow().and_then(|w| w.status()).map(|s| s.as_str()), Some("SUPPRESSED"));
    assert_eq!(f.note().and_then(|n| n.text()), Some("Known scanner, suppressed from the console"));
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/{KEY_ID}");
    assert_eq!(f.note().and_then(|n| n.updated_by()), Some(user_arn.as_str()));
    let history = admin.get_finding_history().finding_identifier(identifier).send().await.expect("history");
    let update = history
        .records()
        .iter()
        .find(|r| r.update_source().and_then(|s| s.identity()) == Some(user_arn.as_str()))
        .expect("a record by the console user");
    assert!(update.updates().iter().any(|u| u.new_value().unwrap_or_default().contains("SUPPRESSED")), "{update:?}");

    // The default view no longer lists it; the integrations page lists the catalog.
    browser.goto(&format!("{endpoint}/console/findings")).await.expect("findings");
    assert_eq!(browser.find_all(Locator::Css("#findings tbody tr")).await.expect("rows").len(), 4);
    browser.goto(&format!("{endpoint}/console/integrations")).await.expect("integrations");
    let products = browser.find_all(Locator::Css("#products tbody tr")).await.expect("products");
    assert!(products.len() > 10, "the catalog: {}", products.len());
    assert!(browser.source().await.expect("page").contains("Accepting findings"));
    screenshot(&browser, "6-integrations").await;

    // The overview: counts by the store, every bar a link to the findings it counts.
    browser.goto(&format!("{endpoint}/console/overview")).await.expect("overview");
    let severity = browser.find(Locator::Css("#by-severity")).await.expect("the severity chart");
    let high = severity.find(Locator::Css("a")).await.expect("a bar");
    assert!(high.text().await.expect("text").contains("HIGH"), "the highest severity first");
    let source = browser.source().await.expect("page");
    assert!(
        source.contains("<title>HIGH: 2</title>"),
        "HIGH: the two GuardDuty findings and ours, less the suppressed one"
    );
    assert!(source.contains("AwsEc2Instance: 4"), "resource types");
    screenshot(&browser, "5-overview").await;
    high.click().await.expect("follow the bar");
    browser.wait().for_element(Locator::Css("#findings")).await.expect("the findings it counts");
    assert_eq!(browser.find_all(Locator::Css("#findings a.finding")).await.expect("rows").len(), 2);

    // A forged POST, with the victim's cookie but without the form's token, is refused.
    let cookie = session_cookie(&browser).await;
    let sel = form_urlencoded::byte_serialize(format!("{GUARDDUTY}|{}", gd_id(1)).as_bytes()).collect::<String>();
    let (status, _) = http(&endpoint, "POST", "/console/update", &cookie, &format!("sel={sel}&workflow=RESOLVED"));
    assert_eq!(status, 403);
    let (status, _) =
        http(&endpoint, "POST", "/console/update", &cookie, &format!("sel={sel}&workflow=RESOLVED&csrf=00ff"));
    assert_eq!(status, 403);
    // Without a session at all: sent to the sign-in page, nothing changed.
    let (status, answer) = http(&endpoint, "POST", "/console/update", "", &format!("sel={sel}&workflow=RESOLVED"));
    assert_eq!(status, 303, "{answer}");
    let got = admin
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().id(eq(&gd_id(1))).build())
        .send()
        .await
        .expect("get");
    assert_eq!(got.findings()[0].workflow().and_then(|w| w.status()).map(|s| s.as_str()), Some("NEW"));

    // --- The receivers' pages ---
    // Deliveries: own-1's event was refused by the webhook (HTTP 400), so it is a dead letter.
    browser.goto(&format!("{endpoint}/console/deliveries")).await.expect("deliveries");
    wait_until("own-1's dead letter", async || {
        browser.refresh().await.expect("reload");
        !browser.find_all(Locator::Css("#deliveries tr.delivery")).await.expect("rows").is_empty()
    })
    .await;
    let dead = browser.find(Locator::Css("#deliveries tr.delivery")).await.expect("the dead letter");
    let text = dead.text().await.expect("text");
    assert!(text.contains("hook") && text.contains("refused: HTTP 400"), "{text}");
    assert!(text.contains("Our scanner: open bucket"), "the finding's title: {text}");
    let dead_id = dead.find(Locator::Css("input[name=sel]")).await.expect("its box").attr("value").await;
    let dead_id = dead_id.expect("attr").expect("a delivery id");
    let targets = browser.find(Locator::Css("#targets")).await.expect("targets").text().await.expect("text");
    assert!(targets.contains("work-items") && targets.contains("opscenter"), "{targets}");
    screenshot(&browser, "8-deliveries").await;
    // Replay it, now that the webhook accepts: it arrives.
    hook.status.store(200, Ordering::SeqCst);
    dead.find(Locator::Css("input[name=sel]")).await.expect("its box").click().await.expect("select");
    browser.find(Locator::Css("#replay-selected")).await.expect("replay").click().await.expect("replay");
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.expect("a notice");
    assert!(notice.text().await.expect("text").contains("Replayed 1 dead letter"));
    wait_until("the replayed event at the webhook", async || hook.events().iter().any(|e| e.1 == "own-1")).await;
    browser.goto(&format!("{endpoint}/console/deliveries?target=hook&state=all")).await.expect("all deliveries");
    wait_until("the delivery recorded as delivered", async || {
        browser.refresh().await.expect("reload");
        browser.source().await.expect("page").contains(r#"data-state="delivered""#)
    })
    .await;
    screenshot(&browser, "9-deliveries-replayed").await;

    // Work items: the HIGH findings opened one each; resolving own-1's resolves the finding.
    browser.goto(&format!("{endpoint}/console/workitems")).await.expect("work items");
    let own_row = {
        let mut found = None;
        for row in browser.find_all(Locator::Css("#workitems tbody tr")).await.expect("rows") {
            let href = row.find(Locator::Css("a")).await.expect("a link").attr("href").await.expect("attr");
            if href.is_some_and(|h| h.ends_with("&id=own-1")) {
                found = Some(row);
            }
        }
        found.expect("own-1's work item")
    };
    let item_id = own_row.attr("data-id").await.expect("attr").expect("the work item's id");
    assert_eq!(browser.find_all(Locator::Css("#workitems tbody tr")).await.expect("rows").len(), 3, "HIGH only");
    own_row
        .find(Locator::Css("select[name=status]"))
        .await
        .expect("status")
        .select_by_value("Resolved")
        .await
        .expect("choose");
    own_row.find(Locator::Css("button[type=submit]")).await.expect("save").click().await.expect("save");
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.expect("a notice");
    assert!(notice.text().await.expect("text").contains("is Resolved"));
    screenshot(&browser, "10-workitems").await;
    let got = admin
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().id(eq("own-1")).build())
        .send()
        .await
        .expect("get");
    let f = &got.findings()[0];
    assert_eq!(f.workflow().and_then(|w| w.status()).map(|s| s.as_str()), Some("RESOLVED"), "the finding followed");
    assert_eq!(f.note().and_then(|n| n.updated_by()), Some(format!("opscenter/{item_id}").as_str()));
    let own_identifier = AwsSecurityFindingIdentifier::builder().id("own-1").product_arn(&own).build();
    let history = admin.get_finding_history().finding_identifier(own_identifier).send().await.expect("history");
    let item_arn = format!("arn:aws:ssm:us-east-1:{ACCOUNT}:opsitem/{item_id}");
    assert!(
        history.records().iter().any(|r| r.update_source().and_then(|s| s.identity()) == Some(item_arn.as_str())),
        "the history names the work item: {history:?}"
    );

    // Custom actions: from the table's selection and from a finding's page, to the webhook.
    let action_arn = admin
        .create_action_target()
        .id("escalate")
        .name("Escalate")
        .description("To the on-call")
        .send()
        .await
        .expect("CreateActionTarget")
        .action_target_arn()
        .unwrap_or_default()
        .to_owned();
    browser.goto(&format!("{endpoint}/console/findings")).await.expect("findings");
    let own_2 = format!("{own}|own-2");
    browser
        .find(Locator::Css(&format!(r#"#findings input[name=sel][value="{own_2}"]"#)))
        .await
        .expect("own-2's box")
        .click()
        .await
        .expect("select");
    browser
        .find(Locator::Css("#bulk select[name=action_target]"))
        .await
        .expect("the custom actions")
        .select_by_value(&action_arn)
        .await
        .expect("choose");
    browser.find(Locator::Css("#send-to-action")).await.expect("send").click().await.expect("send");
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.expect("a notice");
    assert!(notice.text().await.expect("text").contains("Sent 1 finding(s)"));
    let sent_to_action = || {
        hook.envelopes()
            .into_iter()
            .filter(|e| e["detail-type"] == "Security Hub Findings - Custom Action")
            .collect::<Vec<_>>()
    };
    wait_until("the custom action's event", async || sent_to_action().len() == 1).await;
    let event = &sent_to_action()[0];
    assert_eq!(event["detail"]["actionName"], "Escalate");
    assert_eq!(event["detail"]["findings"][0]["Id"], "own-2");
    assert_eq!(event["resources"][0], action_arn.as_str());
    browser.goto(&format!("{endpoint}/console/finding?p={}&id=own-2", enc(&own))).await.expect("own-2's page");
    let send = browser.wait().for_element(Locator::Css("#finding-send")).await.expect("the send form");
    send.find(Locator::Css("button[type=submit]")).await.expect("send").click().await.expect("send");
    let notice = browser.wait().for_element(Locator::Css("p.notice")).await.expect("a notice");
    assert!(notice.text().await.expect("text").contains("Sent 1 finding(s)"));
    wait_until("the second custom action's event", async || sent_to_action().len() == 2).await;

    // Trusted Advisor: a failing FSBP control on a HIGH finding is a red check.
    let control = AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:security-control/S3.8/finding/b1"))
        .product_arn(CONTROLS)
        .generator_id("security-control/S3.8")
        .aws_account_id(ACCOUNT)
        .types("Software and Configuration Checks/Industry and Regulatory Standards")
        .created_at("2024-05-01T00:00:00Z")
        .updated_at("2024-05-02T00:00:00Z")
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .title("S3.8 S3 general purpose buckets should block public access")
        .description("A control finding")
        .compliance(
            aws_sdk_securityhub::types::Compliance::builder()
                .status(aws_sdk_securityhub::types::ComplianceStatus::Failed)
                .security_control_id("S3.8")
                .associated_standards(
                    aws_sdk_securityhub::types::AssociatedStandard::builder()
                        .standards_id("standards/aws-foundational-security-best-practices/v/1.0.0")
                        .build(),
                )
                .build(),
        )
        .resources(Resource::builder().r#type("AwsS3Bucket").id("arn:aws:s3:::b1").build())
        .build();
    let out = admin.batch_import_findings().findings(control).send().await.expect("import a control finding");
    assert_eq!(out.success_count(), Some(1), "{out:?}");
    browser.goto(&format!("{endpoint}/console/advisor")).await.expect("advisor");
    let checks = browser.find(Locator::Css("#checks")).await.expect("checks").text().await.expect("text");
    assert!(checks.contains("S3.8") && checks.contains("red"), "{checks}");
    screenshot(&browser, "11-advisor").await;

    // Every new form is refused without its token, however signed in.
    let own_sel = enc(&own_2);
    for (path, body) in [
        ("/console/deliveries/replay", format!("sel={dead_id}")),
        ("/console/workitems/update", format!("id={item_id}&status=Open")),
        ("/console/send", format!("action_target={}&sel={own_sel}", enc(&action_arn))),
        ("/console/insights", "name=unsigned&group_by=Title".to_owned()),
    ] {
        let (status, _) = http(&endpoint, "POST", path, &cookie, &body);
        assert_eq!(status, 403, "{path} without a token");
        let (status, _) = http(&endpoint, "POST", path, &cookie, &format!("{body}&csrf=00ff"));
        assert_eq!(status, 403, "{path} with a wrong token");
    }
    // An id that names no dead letter (the smallest there is) is not found, and nothing breaks.
    let (_, admin_page) = http(&endpoint, "GET", "/console/deliveries", &cookie, "");
    let body = format!("sel={}&csrf={}", i64::MIN, csrf_of(&admin_page));
    let (status, _) = http(&endpoint, "POST", "/console/deliveries/replay", &cookie, &body);
    assert_eq!(status, 404);
    // The pages read without JavaScript: plain GETs carry the tables.
    for (path, table) in [
        ("/console/deliveries?state=all", r#"id="deliveries""#),
        ("/console/workitems", r#"id="workitems""#),
        ("/console/advisor", r#"id="checks""#),
    ] {
        let (status, page) = http(&endpoint, "GET", path, &cookie, "");
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(table), "{path}");
    }

    // A member of another account signs in: the administrator account's finding is refused.
    let finding_path = format!(
        "/console/finding?p={}&id={}",
        form_urlencoded::byte_serialize(GUARDDUTY.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(gd_id(1).as_bytes()).collect::<String>()
    );
    browser.delete_all_cookies().await.expect("sign out");
    sign_in(&browser, &endpoint, &member_id, &member_secret, None).await;
    assert_eq!(browser.find_all(Locator::Css("#findings a.finding")).await.expect("rows").len(), 0);
    browser.goto(&format!("{endpoint}{finding_path}")).await.expect("the other account's finding");
    let source = browser.source().await.expect("page");
    assert!(source.contains("No finding"), "refused");
    assert!(!source.contains("Port probe on i-1"));
    screenshot(&browser, "7-cross-account-refused").await;
    let member_cookie = session_cookie(&browser).await;
    let (status, _) = http(&endpoint, "GET", &finding_path, &member_cookie, "");
    assert_eq!(status, 404);
    let (status, _) = http(&endpoint, "GET", &finding_path, &cookie, "");
    assert_eq!(status, 200, "the administrator sees it");

    // The member sees none of the administrator account's deliveries, work items or checks, and
    // cannot replay, change or send them with its own valid token.
    browser.goto(&format!("{endpoint}/console/deliveries?state=all")).await.expect("deliveries");
    let source = browser.source().await.expect("page");
    assert!(!source.contains("Our scanner"), "no other account's deliveries");
    assert!(browser.find_all(Locator::Css("#deliveries tr.delivery")).await.expect("rows").is_empty());
    assert!(!source.contains(&hook_url), "no target URL for a member");
    screenshot(&browser, "12-member-deliveries").await;
    browser.goto(&format!("{endpoint}/console/workitems")).await.expect("work items");
    assert!(browser.find_all(Locator::Css("#workitems tbody tr[data-id]")).await.expect("rows").is_empty());
    browser.goto(&format!("{endpoint}/console/advisor")).await.expect("advisor");
    assert!(!browser.source().await.expect("page").contains("S3.8"));
    // A fresh dead letter of the administrator's account: own-1 changes while the webhook refuses.
    hook.status.store(400, Ordering::SeqCst);
    let note = aws_sdk_securityhub::types::NoteUpdate::builder().text("one more change").updated_by("test").build();
    let own_1 = AwsSecurityFindingIdentifier::builder().id("own-1").product_arn(&own).build();
    admin.batch_update_findings().finding_identifiers(own_1).note(note).send().await.expect("BatchUpdateFindings");
    let admin_dead = async || {
        let (_, page) = http(&endpoint, "GET", "/console/deliveries", &cookie, "");
        page.split(r#"name="sel" value=""#).nth(1).and_then(|rest| rest.split('"').next()).map(str::to_owned)
    };
    wait_until("a new dead letter", async || admin_dead().await.is_some()).await;
    let dead_id = admin_dead().await.expect("a dead letter");
    let (_, member_page) = http(&endpoint, "GET", "/console/deliveries", &member_cookie, "");
    let member_csrf = csrf_of(&member_page);
    for (path, body, refused) in [
        ("/console/deliveries/replay", format!("sel={dead_id}"), 404),
        ("/console/workitems/update", format!("id={item_id}&status=Open"), 404),
        ("/console/send", format!("action_target={}&sel={own_sel}", enc(&action_arn)), 404),
    ] {
        let (status, answer) = http(&endpoint, "POST", path, &member_cookie, &format!("{body}&csrf={member_csrf}"));
        assert_eq!(status, refused, "{path} across accounts: {answer}");
    }
    let got = admin
        .get_findings()
        .filters(AwsSecurityFindingFilters::builder().id(eq("own-1")).build())
        .send()
        .await
        .expect("get");
    let status = got.findings()[0].workflow().and_then(|w| w.status()).map(|s| s.as_str().to_owned());
    assert_eq!(status.as_deref(), Some("RESOLVED"), "the member's attempt changed nothing");
    assert_eq!(sent_to_action().len(), 2, "nothing sent by the member");
    assert_eq!(admin_dead().await.as_deref(), Some(dead_id.as_str()), "still a dead letter");
    println!("console screenshots: {}", screenshots_dir().display());

    browser.close().await.expect("close the browser");
}
