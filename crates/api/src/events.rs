//! `POST /events`: native events of AWS services, one or an array, exactly as an EventBridge API
//! destination posts them, authenticated by the `x-api-key` header (an EventBridge connection of
//! type API_KEY). Each event is routed by `source` and `detail-type` to its producer, converted,
//! and its findings go through the one import path ([`crate::importer`]).
//!
//! Delivery is at least once: converters are deterministic, so a repeated event finds its findings
//! already stored with the same UpdatedAt and changes nothing. An event whose product the account
//! has disabled, or whose account has no hub in that Region, is dropped and counted, never
//! half-imported. Answers follow what EventBridge does with them: a malformed event is a 4xx (not
//! retried), a store failure a 5xx (retried).

use crate::error::{ApiError, ApiResult};
use crate::handlers::subscribes;
use crate::importer::{SentFinding, import_findings};
use crate::server::App;
use axum::http::{HeaderMap, StatusCode};
use findinghub_hub::products::ProductArn;
use findinghub_producers::{Conversion, ConvertOptions, Producer};
use findinghub_store::ImportStatus;
use findinghub_store::state::ApiKey;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use subtle::ConstantTimeEq;

pub const EVENTS_PATH: &str = "/events";
pub const API_KEY_HEADER: &str = "x-api-key";

/// The prefix of every API key, so that a leaked one is recognisable (secret scanners).
pub const API_KEY_PREFIX: &str = "fhk_";

/// Who delivers events: the account of a verified API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSender {
    pub key_id: String,
    pub account_id: String,
    /// May deliver events of every account (an administrator's event bus).
    pub admin: bool,
    /// Events are dropped unless their account's hub is enabled in their Region and subscribed
    /// to their product. Off only for the operator's own `findinghub ingest`, which, like
    /// `findinghub import`, loads files into the store as they are.
    pub gated: bool,
}

/// A new API key: what the user is shown once, and what the store keeps.
pub struct NewApiKey {
    pub api_key: String,
    pub record: ApiKey,
}

/// Makes an API key `fhk_<id>.<secret>`; the store keeps the id and the SHA-256 of the secret.
pub fn new_api_key(account_id: &str, admin: bool, now: i64) -> Result<NewApiKey, getrandom::Error> {
    let id = random_token(16)?;
    let secret = random_token(40)?;
    let key_id = format!("{API_KEY_PREFIX}{id}");
    Ok(NewApiKey {
        api_key: format!("{key_id}.{secret}"),
        record: ApiKey {
            key_id,
            account_id: account_id.to_owned(),
            admin,
            created_at: now,
            secret_hash: Sha256::digest(secret.as_bytes()).to_vec(),
        },
    })
}

fn random_token(len: usize) -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)?;
    // 62 letters: the modulo bias (4 of 256) costs under 0.2 bits of the 238 in a 40-letter secret.
    Ok(bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect())
}

fn denied() -> ApiError {
    ApiError::Auth {
        code: "UnrecognizedClientException",
        status: 403,
        message: "The API key in the x-api-key header is not valid".into(),
    }
}

/// Verifies the `x-api-key` header against the stored hash of the key's secret.
pub async fn authenticate(app: &App, headers: &HeaderMap) -> ApiResult<EventSender> {
    let Some(value) = headers.get(API_KEY_HEADER) else {
        return Err(ApiError::Auth {
            code: "MissingAuthenticationTokenException",
            status: 403,
            message: "Missing the x-api-key header".into(),
        });
    };
    let value = value.to_str().map_err(|_| denied())?;
    let (key_id, secret) = value.split_once('.').ok_or_else(denied)?;
    let Some(stored) = app.state.find_api_key(key_id).await? else {
        return Err(denied());
    };
    let hash = Sha256::digest(secret.as_bytes());
    if !bool::from(hash.as_slice().ct_eq(&stored.secret_hash)) {
        return Err(denied());
    }
    Ok(EventSender { key_id: stored.key_id, account_id: stored.account_id, admin: stored.admin, gated: true })
}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    NoFinding,
    Dropped,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Imported => "Imported",
            Outcome::NoFinding => "NoFinding",
            Outcome::Dropped => "Dropped",
            Outcome::Failed => "Failed",
        }
    }

    fn metric(self) -> &'static str {
        match self {
            Outcome::Imported => "imported",
            Outcome::NoFinding => "no_finding",
            Outcome::Dropped => "dropped",
            Outcome::Failed => "failed",
        }
    }
}

/// One event's answer: its producer, outcome, reason, and its findings with their statuses.
#[derive(Debug, Clone)]
pub struct EventResult {
    pub producer: Option<Producer>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub findings: Vec<Value>,
}

impl EventResult {
    fn done(producer: Option<Producer>, outcome: Outcome, reason: impl Into<String>) -> EventResult {
        EventResult { producer, outcome, reason: Some(reason.into()), findings: Vec::new() }
    }
}

/// Receives a request body of one event or an array of events; answers with what became of each.
pub async fn receive(app: &App, sender: &EventSender, body: &[u8]) -> ApiResult<(StatusCode, Value)> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidInput(format!("The request body is not JSON: {e}")))?;
    let (events, single) = match parsed {
        Value::Array(items) => (items, false),
        v @ Value::Object(_) => (vec![v], true),
        _ => return Err(ApiError::InvalidInput("The request body must be an event or an array of events".into())),
    };
    if events.is_empty() {
        return Err(ApiError::InvalidInput("The request holds no event".into()));
    }
    let fallback = ConvertOptions { default_account: Some(sender.account_id.clone()), ..ConvertOptions::default() };
    let results = ingest(app, sender, &events, &fallback).await?;
    let failed = results.iter().filter(|r| r.outcome == Outcome::Failed).count();
    if failed == results.len() {
        // Nothing in the request could be used: a client error, which EventBridge does not retry.
        let reasons: Vec<String> = results.iter().filter_map(|r| r.reason.clone()).collect();
        let message =
            if single { reasons.join("; ") } else { format!("No event could be used: {}", reasons.join("; ")) };
        return Err(ApiError::InvalidInput(message));
    }
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let summary = json!({
        "Imported": count(Outcome::Imported),
        "NoFinding": count(Outcome::NoFinding),
        "Dropped": count(Outcome::Dropped),
        "Failed": failed,
        "Events": results.into_iter().enumerate().map(|(i, r)| {
            let mut e = Map::new();
            e.insert("Index".into(), json!(i));
            e.insert("Producer".into(), json!(r.producer.map(Producer::name)));
            e.insert("Outcome".into(), json!(r.outcome.as_str()));
            if let Some(reason) = r.reason {
                e.insert("Reason".into(), json!(reason));
            }
            e.insert("Findings".into(), Value::Array(r.findings));
            Value::Object(e)
        }).collect::<Vec<_>>(),
    });
    Ok((StatusCode::OK, summary))
}

/// Converts, authorises and imports a list of events; findings of every event are imported
/// together, per Region, so that an array costs one store round trip per Region. `fallback`
/// names the Region and account of events that name none (API list outputs).
pub async fn ingest(
    app: &App,
    sender: &EventSender,
    events: &[Value],
    fallback: &ConvertOptions,
) -> ApiResult<Vec<EventResult>> {
    let mut results = Vec::with_capacity(events.len());
    let mut gates = Gates::default();
    // (event index, finding) per Region, in order.
    let mut by_region: BTreeMap<String, Vec<(usize, Value)>> = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        let (result, findings) = convert_one(app, sender, &mut gates, event, fallback).await?;
        for (region, finding) in findings {
            by_region.entry(region).or_default().push((i, finding));
        }
        results.push(result);
    }
    for (region, items) in by_region {
        let (reported, docs): (Vec<(usize, Value, Value)>, Vec<SentFinding>) = items
            .into_iter()
            .map(|(i, f)| {
                let named = |key: &str| f.get(key).cloned().unwrap_or(Value::Null);
                ((i, named("Id"), named("ProductArn")), f.into())
            })
            .unzip();
        let outcomes = import_findings(app.findings.as_ref(), Some(&app.metrics), &region, docs).await?;
        for ((i, id, product_arn), outcome) in reported.into_iter().zip(outcomes) {
            let mut entry = json!({"Id": id, "ProductArn": product_arn, "Region": region});
            let (status, message) = match outcome {
                ImportStatus::Created => ("Created", None),
                ImportStatus::Updated => ("Updated", None),
                ImportStatus::Stale => ("Unchanged", None),
                ImportStatus::Failed { message, .. } => ("Failed", Some(message)),
            };
            entry["Status"] = json!(status);
            if let Some(m) = message {
                entry["Message"] = json!(m);
                results[i].outcome = Outcome::Failed;
                results[i].reason = Some("a finding of the event was refused".into());
            }
            results[i].findings.push(entry);
        }
    }
    for r in &results {
        app.metrics.event(r.producer.map_or("unknown", Producer::name), r.outcome.metric());
    }
    Ok(results)
}

/// One event: its producer, its findings (with their Regions) when they may be imported.
async fn convert_one(
    app: &App,
    sender: &EventSender,
    gates: &mut Gates,
    event: &Value,
    fallback: &ConvertOptions,
) -> ApiResult<(EventResult, Vec<(String, Value)>)> {
    let Some(producer) = Producer::detect(event) else {
        let source = event.get("source").and_then(Value::as_str).unwrap_or("(none)");
        let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or("(none)");
        let reason = format!("No producer handles events of source {source} and detail-type {detail_type}");
        return Ok((EventResult::done(None, Outcome::Failed, reason), Vec::new()));
    };
    let named = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
    let options = ConvertOptions {
        default_region: named("region").or_else(|| fallback.default_region.clone()),
        default_account: named("account").or_else(|| fallback.default_account.clone()),
        macie_sensitive_data: app.ingest.macie_sensitive_data,
    };
    let findings = match producer.convert(event, &options) {
        Err(e) => return Ok((EventResult::done(Some(producer), Outcome::Failed, e.to_string()), Vec::new())),
        Ok(Conversion::NoFinding(reason)) => {
            return Ok((EventResult::done(Some(producer), Outcome::NoFinding, reason), Vec::new()));
        }
        Ok(Conversion::Findings(findings)) => findings,
    };
    let mut accepted = Vec::with_capacity(findings.len());
    for f in findings {
        let account = f.get("AwsAccountId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let region = f.get("Region").and_then(Value::as_str).unwrap_or_default().to_owned();
        let product = f.get("ProductArn").and_then(Value::as_str).unwrap_or_default().to_owned();
        if account != sender.account_id && !sender.admin {
            let reason = format!(
                "The event is about account {account}; the API key {} may deliver events of account {} only",
                sender.key_id, sender.account_id
            );
            return Ok((EventResult::done(Some(producer), Outcome::Failed, reason), Vec::new()));
        }
        if !sender.gated {
            accepted.push((region, Value::Object(f)));
            continue;
        }
        let Some(subscriptions) = gates.subscriptions(app, &account, &region).await? else {
            let reason = format!("Security Hub is not enabled for account {account} in Region {region}");
            return Ok((EventResult::done(Some(producer), Outcome::Dropped, reason), Vec::new()));
        };
        let subscribed = ProductArn::parse(&product).is_some_and(|arn| subscribes(subscriptions, &arn, &product));
        if !subscribed {
            let reason = format!("Account {account} does not import findings of {product} in Region {region}");
            return Ok((EventResult::done(Some(producer), Outcome::Dropped, reason), Vec::new()));
        }
        accepted.push((region, Value::Object(f)));
    }
    let result =
        EventResult { producer: Some(producer), outcome: Outcome::Imported, reason: None, findings: Vec::new() };
    Ok((result, accepted))
}

/// The hubs and subscriptions that one request's events are checked against, read from the store
/// once per account and Region rather than once per finding (a request's events are mostly of
/// one account and Region).
#[derive(Default)]
struct Gates {
    /// `None`: the account has no hub in the Region; else the products it imports.
    seen: HashMap<(String, String), Option<Vec<String>>>,
}

impl Gates {
    async fn subscriptions(&mut self, app: &App, account: &str, region: &str) -> ApiResult<Option<&[String]>> {
        let key = (account.to_owned(), region.to_owned());
        if !self.seen.contains_key(&key) {
            let gate = match app.state.hub(account, region).await? {
                None => None,
                Some(_) => Some(app.state.subscriptions(account, region).await?),
            };
            self.seen.insert(key.clone(), gate);
        }
        Ok(self.seen.get(&key).and_then(|g| g.as_deref()))
    }
}
