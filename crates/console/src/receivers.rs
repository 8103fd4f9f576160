//! The receivers' pages: deliveries and dead letters (with replay), OpsCenter work items (with
//! their status), Trusted Advisor's checks, and sending findings to a custom action.
//!
//! The work items, the checks and the custom actions go through the API's own routes
//! ([`extensions::dispatch`], as `GET|PATCH /findinghub/opsitems`, `GET /findinghub/advisor` and
//! `POST /findinghub/actionTargets/send` run them), so their scope, rules and errors are the API's.
//! Deliveries have no API route: they are read from the store's outbox, and a delivery belongs to
//! the account and Region of its event's envelope, which must be in the API's scope of the user
//! ([`handlers::scope`]): an administrator sees every account's, a member its own.

use crate::{Console, ConsoleError, User, encode, local_target, page, pairs, param, redirect, views};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use findinghub_api::actions::MAX_SENT_FINDINGS;
use findinghub_api::error::ApiError;
use findinghub_api::extensions;
use findinghub_api::handlers;
use findinghub_api::server::Principal;
use findinghub_asff::timestamp::now_micros;
use findinghub_store::Scope;
use findinghub_store::outbox::{Delivery, DeliveryQuery, DeliveryState, TargetCounts};
use serde_json::{Value, json};
use std::sync::Arc;

/// Deliveries shown on one page of the list.
pub const PAGE: usize = 50;
/// Rows read from the store at a time while looking for the user's deliveries.
const BATCH: usize = 500;
/// Rows read for one page at most (the rest is behind the "more" link).
const SCAN_LIMIT: usize = 20_000;

/// Whether the user may see (and replay) a delivery: its event's account and Region are in scope.
pub fn visible(scope: &Scope, d: &Delivery) -> bool {
    let envelope = &d.event.envelope;
    let account = envelope["account"].as_str().unwrap_or_default();
    let region = envelope["region"].as_str().unwrap_or_default();
    scope.accounts.allows(account) && scope.region.as_deref().is_none_or(|r| r == region)
}

/// Runs one of the API's `/findinghub/` routes as the user.
async fn route(
    c: &Console,
    who: &Principal,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &Value,
) -> Result<Value, ApiError> {
    let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    let mut operation = "";
    extensions::dispatch(&c.app, who, method, path, query, &body, &mut operation).await
}

/// What the deliveries page lists: a target (or all), a state (dead letters by default).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryView {
    pub target: Option<String>,
    pub state: Option<DeliveryState>,
    pub after: Option<i64>,
}

impl DeliveryView {
    pub fn parse(q: &[(String, String)]) -> DeliveryView {
        let target = param(q, "target").map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        let state = match param(q, "state") {
            Some("all") => None,
            Some(s) => DeliveryState::parse(s).or(Some(DeliveryState::Dead)),
            None => Some(DeliveryState::Dead),
        };
        let after = param(q, "after").and_then(|a| a.parse().ok());
        DeliveryView { target, state, after }
    }

    pub fn url(&self, after: Option<i64>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(t) = &self.target {
            q.append_pair("target", t);
        }
        q.append_pair("state", self.state.map_or("all", DeliveryState::as_str));
        if let Some(a) = after {
            q.append_pair("after", &a.to_string());
        }
        format!("/console/deliveries?{}", q.finish())
    }
}

/// The user's deliveries of a view, in id order: up to `limit`, and the id to continue after
/// when the store has more.
async fn scoped_deliveries(
    c: &Console,
    scope: &Scope,
    target: Option<&str>,
    state: Option<DeliveryState>,
    mut after: Option<i64>,
    limit: usize,
) -> Result<(Vec<Delivery>, Option<i64>), ConsoleError> {
    let mut found = Vec::new();
    let mut scanned = 0;
    loop {
        let query = DeliveryQuery { target: target.map(str::to_owned), state, after_id: after, limit: BATCH };
        let batch = c.app.outbox.deliveries(query).await.map_err(ApiError::from)?;
        let full = batch.len() == BATCH;
        scanned += batch.len();
        for d in batch {
            after = Some(d.id);
            if visible(scope, &d) {
                found.push(d);
                if found.len() == limit {
                    return Ok((found, after));
                }
            }
        }
        if !full {
            return Ok((found, None));
        }
        if scanned >= SCAN_LIMIT {
            return Ok((found, after));
        }
    }
}

pub async fn deliveries_page(State(c): State<Arc<Console>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let back = format!("/console/deliveries?{}", q.as_deref().unwrap_or_default());
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let q = pairs(q.as_deref());
    let view = DeliveryView::parse(&q);
    let scope = handlers::scope(&user.principal);
    let listed = scoped_deliveries(&c, &scope, view.target.as_deref(), view.state, view.after, PAGE).await;
    let (list, more) = match listed {
        Ok(l) => l,
        Err(e) => return c.error_page(Some(&user), e, &back),
    };
    let targets = match c.app.outbox.targets().await {
        Ok(t) => t,
        Err(e) => return c.error_page(Some(&user), ConsoleError::Api(e.into()), &back),
    };
    // The store's counts are of every account and Region: an administrator's to see.
    let counts: Vec<TargetCounts> = if user.principal.admin {
        match c.app.outbox.delivery_counts().await {
            Ok(n) => n,
            Err(e) => return c.error_page(Some(&user), ConsoleError::Api(e.into()), &back),
        }
    } else {
        Vec::new()
    };
    let list = views::DeliveryList { view: &view, deliveries: &list, more, targets: &targets, counts: &counts };
    page(StatusCode::OK, views::deliveries(&user, &list, param(&q, "done")))
}

/// `POST /console/deliveries/replay`: the selected dead letters (`sel`), or every dead letter of
/// `target` that the user may see (`all`).
pub async fn replay(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let back = local_target(param(&form, "back")).to_owned();
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    match replay_ids(&c, &user, &form).await {
        Ok(n) => {
            // The target workers see them pending at their next poll.
            let sep = if back.contains('?') { '&' } else { '?' };
            redirect(&format!("{back}{sep}done={}", encode(&format!("Replayed {n} dead letter(s)."))))
        }
        Err(e) => c.error_page(Some(&user), e, &back),
    }
}

async fn replay_ids(c: &Console, user: &User, form: &[(String, String)]) -> Result<u64, ConsoleError> {
    let scope = handlers::scope(&user.principal);
    let mut ids = Vec::new();
    if param(form, "all").is_some() {
        let target = param(form, "target").filter(|t| !t.is_empty());
        let mut after = None;
        loop {
            let (found, more) =
                scoped_deliveries(c, &scope, target, Some(DeliveryState::Dead), after, SCAN_LIMIT).await?;
            ids.extend(found.iter().map(|d| d.id));
            match more {
                Some(m) => after = Some(m),
                None => break,
            }
        }
    } else {
        for raw in form.iter().filter(|(k, _)| k == "sel").map(|(_, v)| v) {
            let id: i64 = raw.parse().map_err(|_| ConsoleError::BadRequest(format!("{raw:?} is not a delivery id")))?;
            // The dead delivery of that id, if the user may see it.
            let query = DeliveryQuery {
                target: None,
                state: Some(DeliveryState::Dead),
                after_id: Some(id.saturating_sub(1)),
                limit: 1,
            };
            let found = c.app.outbox.deliveries(query).await.map_err(ApiError::from)?;
            match found.first() {
                Some(d) if d.id == id && visible(&scope, d) => ids.push(id),
                _ => return Err(ConsoleError::NotFound(format!("No dead letter {id} that you may replay."))),
            }
        }
        if ids.is_empty() {
            return Err(ConsoleError::BadRequest("Select at least one dead letter.".into()));
        }
    }
    if ids.is_empty() {
        return Ok(0);
    }
    // Never an empty list here: the store reads it as "every dead letter".
    Ok(c.app.outbox.replay(None, &ids, now_micros()).await.map_err(ApiError::from)?)
}

pub async fn workitems_page(State(c): State<Arc<Console>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let back = format!("/console/workitems?{}", q.as_deref().unwrap_or_default());
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let q = pairs(q.as_deref());
    let status = param(&q, "status").filter(|s| !s.is_empty());
    let token = param(&q, "token").filter(|s| !s.is_empty());
    let query = workitems_query(status, token);
    match route(&c, &user.principal, "GET", "opsitems", Some(&query), &Value::Null).await {
        Ok(out) => {
            let items = out["OpsItems"].as_array().cloned().unwrap_or_default();
            let next = out["NextToken"].as_str();
            page(
                StatusCode::OK,
                views::workitems(&user, &items, status, token.is_some(), next, &back, param(&q, "done")),
            )
        }
        Err(e @ ApiError::InvalidInput(_)) => c.error_page(Some(&user), ConsoleError::BadRequest(e.to_string()), &back),
        Err(e) => c.error_page(Some(&user), e.into(), &back),
    }
}

/// The query of `GET /findinghub/opsitems` for the page's status and page token.
fn workitems_query(status: Option<&str>, token: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("MaxResults", "100");
    if let Some(s) = status {
        query.append_pair("Status", s);
    }
    if let Some(t) = token {
        query.append_pair("NextToken", t);
    }
    query.finish()
}

/// `POST /console/workitems/update`: a work item's status (and its finding's workflow, which the
/// API's route changes through BatchUpdateFindings' path).
pub async fn update_workitem(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let back = local_target(param(&form, "back")).to_owned();
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let id = param(&form, "id").unwrap_or_default();
    if id.is_empty() {
        return c.error_page(Some(&user), ConsoleError::BadRequest("Which work item?".into()), &back);
    }
    let mut change = json!({});
    for (name, member) in [("status", "Status"), ("severity", "Severity")] {
        if let Some(v) = param(&form, name).filter(|v| !v.is_empty()) {
            change[member] = json!(v);
        }
    }
    let path = format!("opsitems/{}", percent_segment(id));
    match route(&c, &user.principal, "PATCH", &path, None, &change).await {
        Ok(out) => {
            let workflow = out["OpsItem"]["Status"].as_str().unwrap_or_default();
            let sep = if back.contains('?') { '&' } else { '?' };
            let notice = format!("Work item {id} is {workflow}; its finding was updated.");
            redirect(&format!("{back}{sep}done={}", encode(&notice)))
        }
        Err(e) => c.error_page(Some(&user), e.into(), &back),
    }
}

/// A path segment, percent-encoded (the route decodes it once).
fn percent_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn advisor_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let user = match c.user(&headers).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, "/console/advisor"),
    };
    match route(&c, &user.principal, "GET", "advisor", None, &Value::Null).await {
        Ok(out) => {
            let checks = out["Checks"].as_array().cloned().unwrap_or_default();
            page(StatusCode::OK, views::advisor(&user, &checks))
        }
        Err(e) => c.error_page(Some(&user), e.into(), "/console/advisor"),
    }
}

/// The user's custom actions in the session's Region (for the "send to" menus).
pub async fn action_targets(c: &Console, who: &Principal) -> Vec<Value> {
    match c.call(who, "DescribeActionTargets", json!({"MaxResults": 100})).await {
        Ok(out) => out["ActionTargets"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            tracing::debug!(error = %e, "no custom actions for the menu");
            Vec::new()
        }
    }
}

/// The `POST /findinghub/actionTargets/send` body of the send form.
pub fn send_input(form: &[(String, String)]) -> Result<Value, String> {
    let arn = param(form, "action_target").map(str::trim).filter(|a| !a.is_empty());
    let Some(arn) = arn else { return Err("Choose a custom action.".into()) };
    let ids: Vec<Value> = form
        .iter()
        .filter(|(k, _)| k == "sel")
        .filter_map(|(_, v)| v.split_once('|'))
        .map(|(product, id)| json!({"ProductArn": product, "Id": id}))
        .collect();
    if ids.is_empty() {
        return Err("Select at least one finding.".into());
    }
    if ids.len() > MAX_SENT_FINDINGS {
        return Err(format!("A custom action takes at most {MAX_SENT_FINDINGS} findings at once."));
    }
    Ok(json!({"ActionTargetArn": arn, "FindingIdentifiers": ids}))
}

/// `POST /console/send`: the selection (or one finding) to a custom action.
pub async fn send(State(c): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = pairs(std::str::from_utf8(&body).ok());
    let back = local_target(param(&form, "back")).to_owned();
    let user = match c.form_user(&headers, &form).await {
        Ok(u) => u,
        Err(e) => return c.error_page(None, e, &back),
    };
    let input = match send_input(&form) {
        Ok(i) => i,
        Err(m) => return c.error_page(Some(&user), ConsoleError::BadRequest(m), &back),
    };
    match route(&c, &user.principal, "POST", "actionTargets/send", None, &input).await {
        Ok(out) => {
            let sent = out["ProcessedFindings"].as_array().map_or(0, Vec::len);
            let failed = out["UnprocessedFindings"].as_array().map_or(0, Vec::len);
            let sep = if back.contains('?') { '&' } else { '?' };
            let notice = format!("Sent {sent} finding(s) to the custom action; {failed} not processed.");
            redirect(&format!("{back}{sep}done={}", encode(&notice)))
        }
        Err(e) => c.error_page(Some(&user), e.into(), &back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use findinghub_store::AccountScope;
    use findinghub_store::outbox::OutboxEvent;

    fn delivery(account: &str, region: &str) -> Delivery {
        Delivery {
            id: 7,
            target: "hook".into(),
            rule: "r".into(),
            state: DeliveryState::Dead,
            attempts: 1,
            created_at: 0,
            next_attempt_at: 0,
            last_error: None,
            event: OutboxEvent {
                seq: 1,
                event_id: "e".into(),
                ordering_key: 0,
                created_at: 0,
                envelope: json!({"account": account, "region": region}),
            },
        }
    }

    #[test]
    fn a_delivery_is_seen_in_its_events_account_and_region() {
        let member = Scope::new(AccountScope::one("111111111111"), "us-east-1");
        assert!(visible(&member, &delivery("111111111111", "us-east-1")));
        assert!(!visible(&member, &delivery("222222222222", "us-east-1")));
        assert!(!visible(&member, &delivery("111111111111", "eu-west-1")));
        let admin = Scope::new(AccountScope::All, "us-east-1");
        assert!(visible(&admin, &delivery("222222222222", "us-east-1")));
        assert!(!visible(&admin, &delivery("222222222222", "eu-west-1")));
        // An envelope without an account belongs to nobody's scope but an administrator's.
        assert!(!visible(&member, &delivery("", "us-east-1")));
    }

    #[test]
    fn the_deliveries_view_defaults_to_dead_letters_and_round_trips() {
        let v = DeliveryView::parse(&pairs(Some("")));
        assert_eq!(v, DeliveryView { target: None, state: Some(DeliveryState::Dead), after: None });
        let v = DeliveryView::parse(&pairs(Some("target=my+hook&state=all&after=12")));
        assert_eq!(v, DeliveryView { target: Some("my hook".into()), state: None, after: Some(12) });
        assert_eq!(v.url(Some(40)), "/console/deliveries?target=my+hook&state=all&after=40");
        let url = v.url(v.after);
        assert_eq!(DeliveryView::parse(&pairs(url.strip_prefix("/console/deliveries?"))), v);
        assert_eq!(DeliveryView::parse(&pairs(Some("state=pending"))).state, Some(DeliveryState::Pending));
    }

    #[test]
    fn the_send_form_becomes_the_routes_body() {
        let input = send_input(&pairs(Some(
            "action_target=arn%3Aaws%3Asecurityhub%3Aus-east-1%3A1%3Aaction%2Fcustom%2Fx&sel=arn%3Ap%7Cid%7C1",
        )))
        .expect("valid");
        assert_eq!(input["ActionTargetArn"], "arn:aws:securityhub:us-east-1:1:action/custom/x");
        assert_eq!(input["FindingIdentifiers"], json!([{"ProductArn": "arn:p", "Id": "id|1"}]));
        assert!(send_input(&pairs(Some("sel=a%7Cb"))).is_err(), "no action");
        assert!(send_input(&pairs(Some("action_target=x"))).is_err(), "no finding");
        let many: String = (0..21).map(|i| format!("&sel=p%7C{i}")).collect();
        assert!(send_input(&pairs(Some(&format!("action_target=x{many}")))).is_err(), "more than 20");
    }

    #[test]
    fn work_item_ids_are_one_path_segment() {
        assert_eq!(percent_segment("oi-0123abcd"), "oi-0123abcd");
        assert_eq!(percent_segment("a/b c"), "a%2Fb%20c");
    }
}
