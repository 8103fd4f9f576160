//! The web console, served by the hub under `/console` on the API's listener.
//!
//! Pages are rendered on the server (maud) and work without JavaScript; a little script makes the
//! filter editor and the selection nicer. Every read and write goes through
//! [`handlers::dispatch`] with the model's operation, as the signed API does, with a
//! [`Principal`] made from the signed-in access key: the same scope, rules and history identity.

pub mod filters;
pub mod insights;
pub mod receivers;
pub mod session;
mod views;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use filters::{FilterRow, Request as ViewRequest, View};
use findinghub_api::error::ApiError;
use findinghub_api::handlers;
use findinghub_api::routing::operation;
use findinghub_api::server::{App, Principal};
use findinghub_asff::timestamp::MICROS_PER_DAY;
use findinghub_store::{GroupBy, GroupQuery, StoreError};
use serde_json::{Map, Value, json};
use session::{Session, SessionKeys};
use std::sync::Arc;

/// How the console is served.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// The Region a session starts in.
    pub default_region: String,
    /// Cookies carry `Secure` (the hub serves HTTPS).
    pub secure_cookies: bool,
}

/// The console's state: the API's [`App`] and the session keys.
pub struct Console {
    app: Arc<App>,
    keys: SessionKeys,
    settings: ConsoleSettings,
}

/// Regions offered by the picker (any other works when typed into the URL of a session).
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "af-south-1",
    "me-south-1",
    "us-gov-west-1",
    "cn-north-1",
];

/// The console's routes, all under `/console`. Merge it with the API's router, whose fallback
/// serves everything else.
pub fn router(app: Arc<App>, settings: ConsoleSettings) -> Router {
    let keys = SessionKeys::new(app.keyring.derive_key("console-session"));
    let console = Arc::new(Console { app, keys, settings });
    Router::new()
        .route("/console", get(|| async { redirect("/console/findings") }))
        .route("/console/", get(|| async { redirect("/console/findings") }))
        .route("/console/assets/console.css", get(|| async { asset("text/css", views::CSS) }))
        .route("/console/assets/console.js", get(|| async { asset("text/javascript", views::JS) }))
        .route("/console/signin", get(signin_page).post(signin))
        .route("/console/signout", post(signout))
        .route("/console/region", post(change_region))
        .route("/console/overview", get(overview_page))
        .route("/console/findings", get(findings_page))
        .route("/console/finding", get(finding_page))
        .route("/console/update", post(update_findings))
        .route("/console/integrations", get(integrations_page).post(change_integration))
        .route("/console/enable-hub", post(enable_hub))
        .route("/console/deliveries", get(receivers::deliveries_page))
        .route("/console/deliveries/replay", post(receivers::replay))
        .route("/console/workitems", get(receivers::workitems_page))
        .route("/console/workitems/update", post(receivers::update_workitem))
        .route("/console/advisor", get(receivers::advisor_page))
        .route("/console/send", post(receivers::send))
        .route("/console/insights", get(insights::insights_page).post(insights::save))
        .with_state(console)
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// A page, with the headers every page carries.
fn page(status: StatusCode, markup: maud::Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A signed-in user: the principal the operations run as, and the session (for CSRF tokens).
pub struct User {
    pub principal: Principal,
    pub session: Session,
    pub csrf: String,
}

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
enum ConsoleError {
    #[error("sign in first")]
    SignedOut,
    #[error("The form is stale or forged (its CSRF token is missing or wrong). Reload the page and try again.")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{}", .0)]
    Api(#[from] ApiError),
}

impl Console {
    /// The user of a request's session cookie, with the key looked up again (revoked keys end
    /// their sessions).
    async fn user(&self, headers: &HeaderMap) -> Result<User, ConsoleError> {
        let value = session::cookie(headers, session::SESSION_COOKIE).ok_or(ConsoleError::SignedOut)?;
        let session = self.keys.verify(value, now_seconds()).ok_or(ConsoleError::SignedOut)?;
        let stored = self.app.state.find_key(&session.access_key_id).await.map_err(ApiError::from)?;
        let stored = stored.ok_or(ConsoleError::SignedOut)?;
        let principal = Principal {
            access_key_id: stored.key.access_key_id,
            account_id: stored.key.account_id,
            admin: stored.key.admin,
            region: session.region.clone(),
        };
        let csrf = self.keys.csrf_token(&session);
        Ok(User { principal, session, csrf })
    }

    /// The user of a form post: signed in, and the form's CSRF token is the session's.
    async fn form_user(&self, headers: &HeaderMap, form: &[(String, String)]) -> Result<User, ConsoleError> {
        let user = self.user(headers).await?;
        let token = param(form, "csrf").unwrap_or_default();
        if !self.keys.check_csrf(&user.session, token) {
            tracing::warn!(account = %user.principal.account_id, "console form refused: bad CSRF token");
            return Err(ConsoleError::Csrf);
        }
        Ok(user)
    }

    /// Runs an operation as the user, through the API's handlers.
    async fn call(&self, who: &Principal, name: &str, input: Value) -> Result<Value, ApiError> {
        let op = operation(name).ok_or(ApiError::NotSupported("an unknown operation"))?;
        let input = match input {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        handlers::dispatch(&self.app, who, op, input).await
    }

    fn error_page(&self, user: Option<&User>, e: ConsoleError, back: &str) -> Response {
        let status = match &e {
            ConsoleError::SignedOut => return redirect(&format!("/console/signin?next={}", encode(back))),
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Api(a) => a.status(),
        };
        let hub_off = matches!(&e, ConsoleError::Api(ApiError::InvalidAccess(_)));
        page(status, views::error(user, &e.to_string(), hub_off))
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A `next` target that stays inside the console (never an open redirect).
fn local_target(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/console/findings",
    }
}

async fn signin_page(State(c): State<Arc<Console>>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.as_deref());
    signin_form(&c, local_target(param(&q, "next")), None, StatusCode::OK)
}

fn signin_form(c: &Console, next: &str, message: Option<&str>, status: StatusCode) -> Response {
    let Some(nonce) = session::random_nonce() else {
        return page(StatusCode::INTERNAL_SERVER_ERROR, views::error(None, "no randomness available", false));
    };
    let token = c.keys.signin_token(&nonce);
    let mut r = page(status, views::signin(next, &token, message));
    let cookie = session::set_cookie(session::SIGNIN_COOKIE, &nonce, 3600, c.settings.secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn signin(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let next = local_target(param(&form, "next")).to_owned();
    let nonce = session::cookie(&headers, session::SIGNIN_COOKIE).unwrap_or_default();
    if !c.keys.check_signin(nonce, param(&form, "csrf").unwrap_or_default()) {
        return signin_form(&c, &next, Some("The form expired or was forged; try again."), StatusCode::FORBIDDEN);
    }
    let key_id = param(&form, "access_key_id").unwrap_or_default().trim();
    let secret = param(&form, "secret").unwrap_or_default();
    let refused = || signin_form(&c, &next, Some("Unknown access key or wrong secret."), StatusCode::UNAUTHORIZED);
    let stored = match c.app.state.find_key(key_id).await {
        Ok(Some(k)) => k,
        Ok(None) => return refused(),
        Err(e) => return c.error_page(None, ConsoleError::Api(e.into()), "/console/signin"),
    };
    let Ok(stored_secret) = c.app.keyring.open(&stored.sealed_secret) else {
        tracing::error!("a stored secret cannot be opened");
        return refused();
    };
    if !session::secrets_match(secret, &stored_secret) {
        tracing::info!(access_key_id = key_id, "console sign-in refused");
        return refused();
    }
    let Some(nonce) = session::random_nonce() else { return refused() };
    let s = Session {
        access_key_id: stored.key.access_key_id,
        region: c.settings.default_region.clone(),
        expires: now_seconds() + session::SESSION_SECONDS,
        nonce,
    };
    let Some(value) = c.keys.issue(&s) else { return refused() };
    tracing::info!(access_key_id = %s.access_key_id, "console sign-in");
    let mut r = redirect(&next);
    let secure = c.settings.secure_cookies;
    for cookie in [
        session::set_cookie(session::SESSION_COOKIE, &value, session::SESSION_SECONDS, secure),
        session::set_cookie(session::SIGNIN_COOKIE, "", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

async fn signout(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    if let Err(e) = c.form_user(&headers, &form).await {
        return c.error_page(None, e, "/console/findings");
    }
    let mut r = redirect("/console/signin");
    let cookie = session::set_cookie(session::SESSION_COOKIE, "", 0, c.settings.secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn change_region(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/findings"),
    };
    let region = param(&form, "region").unwrap_or_default().trim();
    let s = Session { region: region.to_owned(), ..user.session.clone() };
    let Some(value) = c.keys.issue(&s) else {
        return c.error_page(Some(&user), ConsoleError::BadRequest(format!("{region:?} is not a Region")), "");
    };
    // The filters of one Region mean little in another: back to the default view.
    let mut r = redirect(local_target(param(&form, "next")));
    let cookie =
        session::set_cookie(session::SESSION_COOKIE, &value, s.expires - now_seconds(), c.settings.secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn enable_hub(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/findings"),
    };
    match c.call(&user.principal, "EnableSecurityHub", json!({})).await {
        Ok(_) | Err(ApiError::ResourceConflict(_)) => redirect("/console/findings"),
        Err(e) => c.error_page(Some(&user), e.into(), ""),
    }
}

async fn findings_page(State(c): State<Arc<Console>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let back = format!("/console/findings?{}", q.as_deref().unwrap_or_default());
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let q = pairs(q.as_deref());
    let view = match View::parse(&q) {
        ViewRequest::Show(v) => v,
        ViewRequest::Redirect(to) => return redirect(&to),
    };
    let filters = match filters::to_filters(&view.rows) {
        Ok(f) => f,
        Err(message) => {
            return page(StatusCode::BAD_REQUEST, views::findings(&user, &view, &[], None, Some(&message), &[]));
        }
    };
    let mut input = json!({"Filters": filters, "SortCriteria": view.sort_criteria(), "MaxResults": view.page_size});
    if let Some(t) = &view.token {
        input["NextToken"] = json!(t);
    }
    match c.call(&user.principal, "GetFindings", input).await {
        Ok(out) => {
            let findings = out["Findings"].as_array().cloned().unwrap_or_default();
            let next = out["NextToken"].as_str();
            let notice = param(&q, "done");
            let actions = receivers::action_targets(&c, &user.principal).await;
            page(StatusCode::OK, views::findings(&user, &view, &findings, next, notice, &actions))
        }
        Err(e @ ApiError::InvalidInput(_)) => {
            page(StatusCode::BAD_REQUEST, views::findings(&user, &view, &[], None, Some(&e.to_string()), &[]))
        }
        Err(e) => c.error_page(Some(&user), e.into(), &back),
    }
}

/// One finding by its identifier, within the user's scope.
async fn find_one(c: &Console, who: &Principal, product_arn: &str, id: &str) -> Result<Value, ConsoleError> {
    let filters = json!({
        "ProductArn": [{"Value": product_arn, "Comparison": "EQUALS"}],
        "Id": [{"Value": id, "Comparison": "EQUALS"}],
    });
    let out = c.call(who, "GetFindings", json!({"Filters": filters, "MaxResults": 1})).await?;
    out["Findings"].get(0).cloned().ok_or_else(|| {
        ConsoleError::NotFound(format!(
            "No finding {id} of {product_arn} in {} (account {}).",
            who.region,
            if who.admin { "any" } else { who.account_id.as_str() }
        ))
    })
}

async fn finding_page(State(c): State<Arc<Console>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let back = format!("/console/finding?{}", q.as_deref().unwrap_or_default());
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let q = pairs(q.as_deref());
    let (Some(product_arn), Some(id)) = (param(&q, "p"), param(&q, "id")) else {
        return c.error_page(Some(&user), ConsoleError::BadRequest("A finding needs p (ProductArn) and id".into()), "");
    };
    let finding = match find_one(&c, &user.principal, product_arn, id).await {
        Ok(f) => f,
        Err(e) => return c.error_page(Some(&user), e, &back),
    };
    let history = c
        .call(
            &user.principal,
            "GetFindingHistory",
            json!({"FindingIdentifier": {"Id": id, "ProductArn": product_arn}, "MaxResults": 100}),
        )
        .await
        .map(|h| h["Records"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default();
    let related = match finding["Resources"].get(0).and_then(|r| r["Id"].as_str()) {
        Some(resource) => {
            let filters = json!({"ResourceId": [{"Value": resource, "Comparison": "EQUALS"}]});
            c.call(&user.principal, "GetFindings", json!({"Filters": filters, "MaxResults": 11}))
                .await
                .map(|o| {
                    o["Findings"]
                        .as_array()
                        .map(|v| v.iter().filter(|f| f["Id"] != finding["Id"]).take(10).cloned().collect())
                        .unwrap_or_default()
                })
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    let notice = param(&q, "done");
    let actions = receivers::action_targets(&c, &user.principal).await;
    let detective = &c.app.receivers.detective_base_url;
    let shown = views::FindingPage {
        finding: &finding,
        history: &history,
        related: &related,
        back: &back,
        notice,
        detective_base_url: detective,
        actions: &actions,
    };
    page(StatusCode::OK, views::finding(&user, &shown))
}

/// The BatchUpdateFindings input of the action form.
fn update_input(form: &[(String, String)], who: &Principal) -> Result<Value, String> {
    let ids: Vec<Value> = form
        .iter()
        .filter(|(k, _)| k == "sel")
        .filter_map(|(_, v)| v.split_once('|'))
        .map(|(arn, id)| json!({"ProductArn": arn, "Id": id}))
        .collect();
    if ids.is_empty() {
        return Err("Select at least one finding.".into());
    }
    if ids.len() > 100 {
        return Err("Select at most 100 findings.".into());
    }
    let mut input = json!({"FindingIdentifiers": ids});
    let field = |name: &str| param(form, name).map(str::trim).filter(|v| !v.is_empty());
    if let Some(s) = field("workflow") {
        input["Workflow"] = json!({"Status": s});
    }
    if let Some(s) = field("severity") {
        input["Severity"] = json!({"Label": s});
    }
    if let Some(s) = field("verification") {
        input["VerificationState"] = json!(s);
    }
    for (name, member) in [("confidence", "Confidence"), ("criticality", "Criticality")] {
        if let Some(s) = field(name) {
            let n: i64 = s.parse().map_err(|_| format!("{member} takes a whole number from 0 to 100"))?;
            input[member] = json!(n);
        }
    }
    if let Some(text) = field("note") {
        input["Note"] = json!({"Text": text, "UpdatedBy": who.arn()});
    }
    if input.as_object().is_some_and(|m| m.len() == 1) {
        return Err("Choose a change: workflow status, note, severity, verification, confidence or criticality.".into());
    }
    Ok(input)
}

async fn update_findings(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let back = local_target(param(&form, "back")).to_owned();
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let input = match update_input(&form, &user.principal) {
        Ok(i) => i,
        Err(m) => return c.error_page(Some(&user), ConsoleError::BadRequest(m), &back),
    };
    match c.call(&user.principal, "BatchUpdateFindings", input).await {
        Ok(out) => {
            let done = out["ProcessedFindings"].as_array().map_or(0, Vec::len);
            let failed = out["UnprocessedFindings"].as_array().map_or(0, Vec::len);
            let sep = if back.contains('?') { '&' } else { '?' };
            let notice = format!("Updated {done} finding(s); {failed} not processed.");
            redirect(&format!("{back}{sep}done={}", encode(&notice)))
        }
        Err(e) => c.error_page(Some(&user), e.into(), &back),
    }
}

async fn integrations_page(State(c): State<Arc<Console>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/integrations"),
    };
    let q = pairs(q.as_deref());
    let mut products = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"MaxResults": 100});
        if let Some(t) = &token {
            input["NextToken"] = json!(t);
        }
        match c.call(&user.principal, "DescribeProducts", input).await {
            Ok(out) => {
                products.extend(out["Products"].as_array().cloned().unwrap_or_default());
                token = out["NextToken"].as_str().map(str::to_owned);
            }
            Err(e) => return c.error_page(Some(&user), e.into(), "/console/integrations"),
        }
        if token.is_none() {
            break;
        }
    }
    let enabled: Vec<String> =
        match c.call(&user.principal, "ListEnabledProductsForImport", json!({"MaxResults": 100})).await {
            Ok(out) => out["ProductSubscriptions"]
                .as_array()
                .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            Err(e) => return c.error_page(Some(&user), e.into(), "/console/integrations"),
        };
    page(StatusCode::OK, views::integrations(&user, &products, &enabled, param(&q, "done")))
}

async fn change_integration(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/integrations"),
    };
    let result = match (param(&form, "action"), param(&form, "product"), param(&form, "subscription")) {
        (Some("enable"), Some(arn), _) => {
            c.call(&user.principal, "EnableImportFindingsForProduct", json!({"ProductArn": arn})).await
        }
        (Some("disable"), _, Some(sub)) => {
            c.call(&user.principal, "DisableImportFindingsForProduct", json!({"ProductSubscriptionArn": sub})).await
        }
        _ => Err(ApiError::InvalidInput("Choose enable or disable for one product".into())),
    };
    match result {
        Ok(_) => redirect("/console/integrations?done=Saved."),
        Err(e) => c.error_page(Some(&user), e.into(), "/console/integrations"),
    }
}

async fn overview_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/overview"),
    };
    // The hub must be enabled, as for every finding operation.
    if let Err(e) = c.call(&user.principal, "DescribeHub", json!({})).await {
        return c.error_page(Some(&user), e.into(), "/console/overview");
    }
    match overview_data(&c, &user.principal).await {
        Ok((charts, days)) => page(StatusCode::OK, views::overview(&user, &charts, &days)),
        Err(e) => c.error_page(Some(&user), ConsoleError::Api(e.into()), "/console/overview"),
    }
}

type Days = Vec<(String, u64, String)>;

/// The overview's counts, by the store (one grouped query each), within the API's scope.
async fn overview_data(c: &Console, who: &Principal) -> Result<(Vec<views::Chart>, Days), StoreError> {
    let today = findinghub_asff::timestamp::now_micros().div_euclid(MICROS_PER_DAY);
    let since = (today - 29) * MICROS_PER_DAY;
    let count = |group: GroupBy, limit: usize| {
        let query = GroupQuery { scope: handlers::scope(who), group, since, limit };
        c.app.findings.count_groups(query)
    };
    let charts_of: [(&str, &str, GroupBy, &str); 5] = [
        ("Severity", "by-severity", GroupBy::SeverityLabel, "SeverityLabel"),
        ("Products", "by-product", GroupBy::ProductName, "ProductName"),
        ("Accounts", "by-account", GroupBy::AwsAccountId, "AwsAccountId"),
        ("Resource types", "by-resource-type", GroupBy::ResourceType, "ResourceType"),
        ("Failed controls", "failed-controls", GroupBy::FailedControl, "GeneratorId"),
    ];
    let mut charts = Vec::new();
    for (title, id, group, field) in charts_of {
        let mut counts = count(group, 12).await?;
        if group == GroupBy::SeverityLabel {
            let rank = |l: &str| ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"].iter().position(|x| *x == l);
            counts.sort_by_key(|g| rank(&g.value).unwrap_or(9));
        }
        let bars = counts
            .into_iter()
            .map(|g| {
                let mut rows = filters::default_rows();
                if group == GroupBy::FailedControl {
                    rows.push(row("ComplianceStatus", "FAILED"));
                }
                rows.push(row(field, &g.value));
                (g.value, g.count, filters::findings_url(&rows))
            })
            .collect();
        charts.push(views::Chart { title, id, bars });
    }
    let created = count(GroupBy::CreatedDay, 100).await?;
    let days = (0..30)
        .map(|i| {
            let day = findinghub_asff::timestamp::format_timestamp((today - 29 + i) * MICROS_PER_DAY);
            // Both ends of a date filter are inclusive: the day ends a microsecond before the next.
            let last = findinghub_asff::timestamp::format_timestamp((today - 28 + i) * MICROS_PER_DAY - 1);
            let day = day.get(..10).unwrap_or_default().to_owned();
            let n = created.iter().find(|g| g.value == day).map_or(0, |g| g.count);
            let rows = [FilterRow::new("CreatedAt", "START", &day), FilterRow::new("CreatedAt", "END", &last)];
            (day, n, filters::findings_url(&rows))
        })
        .collect();
    Ok((charts, days))
}

/// The filter rows that select one value of a field (for links from a cell or a chart).
pub fn row(field: &str, value: &str) -> FilterRow {
    FilterRow::new(field, "EQUALS", value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Principal {
        Principal {
            access_key_id: "AKIA1".into(),
            account_id: "111111111111".into(),
            admin: false,
            region: "us-east-1".into(),
        }
    }

    fn form(q: &str) -> Vec<(String, String)> {
        pairs(Some(q))
    }

    #[test]
    fn the_action_form_becomes_a_batch_update() {
        let input = update_input(
            &form("sel=arn%3Aaws%3Ap%7Cid-1&sel=arn%3Aaws%3Ap%7Cid%7C2&workflow=SUPPRESSED&note=ok&confidence=80"),
            &who(),
        )
        .expect("valid");
        assert_eq!(input["FindingIdentifiers"][1], json!({"ProductArn": "arn:aws:p", "Id": "id|2"}));
        assert_eq!(input["Workflow"]["Status"], "SUPPRESSED");
        assert_eq!(input["Note"]["UpdatedBy"], "arn:aws:iam::111111111111:user/AKIA1");
        assert_eq!(input["Confidence"], 80);
        assert!(update_input(&form("workflow=NEW"), &who()).is_err());
        assert!(update_input(&form("sel=a%7Cb"), &who()).is_err());
        assert!(update_input(&form("sel=a%7Cb&confidence=high"), &who()).is_err());
    }

    #[test]
    fn redirects_stay_inside_the_console() {
        assert_eq!(local_target(Some("/console/finding?p=x")), "/console/finding?p=x");
        assert_eq!(local_target(Some("https://evil.example/")), "/console/findings");
        assert_eq!(local_target(Some("//evil.example/console/")), "/console/findings");
        assert_eq!(local_target(None), "/console/findings");
    }
}
