//! The HTTP service: authentication in front of routing (there is no path to data around it),
//! then the operation that the model's route names.

use crate::error::{ApiError, ApiResult};
use crate::importer::SentFinding;
use crate::keys::Keyring;
use crate::metrics::Metrics;
use crate::routing::match_operation;
use crate::sigv4::{self, AuthError, SignedRequest};
use crate::{handlers, wire};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use findinghub_store::FindingStore;
use findinghub_store::outbox::OutboxStore;
use findinghub_store::state::HubStateStore;
use std::sync::Arc;

/// The largest request body accepted (BatchImportFindings takes at most 6 MB).
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// Everything a request needs.
pub struct App {
    pub findings: Arc<dyn FindingStore>,
    pub state: Arc<dyn HubStateStore>,
    /// Where custom-action events go (finding changes write theirs in their own transaction).
    pub outbox: Arc<dyn OutboxStore>,
    pub keyring: Keyring,
    pub metrics: Metrics,
    pub ingest: IngestSettings,
    /// Poked after each request that may have written events: the delivery dispatcher of this
    /// instance looks at once instead of at its next poll.
    pub changes: Arc<tokio::sync::Notify>,
    pub receivers: ReceiverSettings,
}

/// The receiving integrations' settings (serve flags and the configuration file).
#[derive(Debug, Clone)]
pub struct ReceiverSettings {
    /// The severity labels that open an OpsCenter work item (default CRITICAL and HIGH).
    pub opscenter_severities: Vec<String>,
    /// The Detective console that pivot links point to.
    pub detective_base_url: String,
}

impl Default for ReceiverSettings {
    fn default() -> Self {
        ReceiverSettings {
            opscenter_severities: findinghub_receivers::opscenter::DEFAULT_THRESHOLD
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            detective_base_url: findinghub_receivers::detective::DEFAULT_BASE_URL.to_owned(),
        }
    }
}

/// How native events become findings.
#[derive(Debug, Clone, Default)]
pub struct IngestSettings {
    /// Macie's sensitive-data findings flow (Macie's `publishClassificationFindings`).
    pub macie_sensitive_data: bool,
}

impl App {
    pub fn new(
        findings: Arc<dyn FindingStore>,
        state: Arc<dyn HubStateStore>,
        outbox: Arc<dyn OutboxStore>,
        keyring: Keyring,
    ) -> App {
        App {
            findings,
            state,
            outbox,
            keyring,
            metrics: Metrics::default(),
            ingest: IngestSettings::default(),
            receivers: ReceiverSettings::default(),
            changes: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn with_changes(self, changes: Arc<tokio::sync::Notify>) -> App {
        App { changes, ..self }
    }

    pub fn with_ingest(self, ingest: IngestSettings) -> App {
        App { ingest, ..self }
    }

    pub fn with_receivers(self, receivers: ReceiverSettings) -> App {
        App { receivers, ..self }
    }
}

/// Who is calling: the account of a verified access key, and the Region it signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub access_key_id: String,
    pub account_id: String,
    pub admin: bool,
    pub region: String,
}

impl Principal {
    /// The identity recorded in finding history.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account_id, self.access_key_id)
    }
}

fn auth_error(e: AuthError) -> ApiError {
    ApiError::Auth { code: e.code(), status: e.http_status(), message: e.to_string() }
}

/// Verifies the request's signature against the stored secret of its access key.
pub async fn authenticate(app: &App, req: &SignedRequest<'_>) -> ApiResult<Principal> {
    let parsed = sigv4::parse(req).map_err(auth_error)?;
    let Some(stored) = app.state.find_key(parsed.access_key_id()).await? else {
        return Err(auth_error(AuthError::UnrecognizedClient));
    };
    let secret = app.keyring.open(&stored.sealed_secret).map_err(|e| {
        tracing::error!(error = %e, "a stored secret cannot be opened");
        ApiError::Internal("Internal service failure".into())
    })?;
    sigv4::verify(req, &parsed, &secret, time::OffsetDateTime::now_utc(), "securityhub").map_err(auth_error)?;
    Ok(Principal {
        access_key_id: stored.key.access_key_id,
        account_id: stored.key.account_id,
        admin: stored.key.admin,
        region: parsed.region().to_owned(),
    })
}

/// The operations whose changes write outbox events.
const WRITES_EVENTS: [&str; 4] = ["BatchImportFindings", "BatchUpdateFindings", "UpdateFindings", "PostEvents"];

/// The one handler of the service (axum's fallback): health, then authentication, routing and
/// the operation.
pub async fn serve_request(app: Arc<App>, req: Request<Body>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let mut operation = "unknown";
    let result = handle(&app, req, &mut operation).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    if operation != "healthz" && operation != "metrics" {
        app.metrics.observe(operation, outcome, started.elapsed().as_secs_f64());
    }
    if result.is_ok() && WRITES_EVENTS.contains(&operation) {
        app.changes.notify_one();
    }
    let mut response = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(code = e.code(), message = %e, "request failed");
            e.into_response()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", v);
    }
    response
}

async fn handle(app: &App, req: Request<Body>, operation: &mut &'static str) -> ApiResult<Response> {
    let (parts, body) = req.into_parts();
    if parts.method == Method::GET && parts.uri.path() == "/healthz" {
        *operation = "healthz";
        return Ok((StatusCode::OK, "ok").into_response());
    }
    // Operational figures, no finding data: scraped without a signature, as Prometheus does.
    if parts.method == Method::GET && parts.uri.path() == "/metrics" {
        *operation = "metrics";
        let text = app.metrics.render(app.findings.count().await?);
        let mut response = (StatusCode::OK, text).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
        return Ok(response);
    }
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| ApiError::Auth {
        code: "RequestEntityTooLargeException",
        status: 413,
        message: format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
    })?;
    let raw_path = parts.uri.path();
    // Native events, as an EventBridge API destination posts them: authenticated by API key.
    if raw_path == crate::events::EVENTS_PATH {
        *operation = "PostEvents";
        if parts.method != Method::POST {
            return Err(ApiError::UnknownOperation(format!("{} {}", parts.method, raw_path)));
        }
        let sender = crate::events::authenticate(app, &parts.headers).await?;
        let (status, output) = crate::events::receive(app, &sender, &body).await?;
        return Ok(wire::json_response(status, &output));
    }
    let raw_query = parts.uri.query();
    let signed =
        SignedRequest { method: parts.method.as_str(), raw_path, raw_query, headers: &parts.headers, body: &body };
    let principal = authenticate(app, &signed).await?;
    // findinghub's own routes (receivers): signed like the operations, answered in their form.
    if let Some(route) = raw_path.strip_prefix(crate::extensions::PREFIX) {
        let output =
            crate::extensions::dispatch(app, &principal, parts.method.as_str(), route, raw_query, &body, operation)
                .await?;
        return Ok(wire::json_response(StatusCode::OK, &output));
    }
    let Some((op, labels)) = match_operation(parts.method.as_str(), raw_path) else {
        return Err(ApiError::UnknownOperation(format!("{} {}", parts.method, raw_path)));
    };
    *operation = op.name;
    tracing::debug!(operation = op.name, account = %principal.account_id, "request");
    // BatchImportFindings keeps each finding's bytes of the body (its only member is in the body).
    let fast_import = (op.name == "BatchImportFindings")
        .then(|| wire::array_member_elements(&body, "Findings"))
        .flatten()
        .map(|found| found.into_iter().map(|(doc, raw)| SentFinding { doc, raw: Some(raw) }).collect());
    let output = match fast_import {
        Some(findings) => handlers::batch_import(app, &principal, findings).await?,
        None => {
            let query = wire::query_pairs(raw_query);
            let input = wire::input(op, &body, &labels, &query).map_err(ApiError::InvalidInput)?;
            handlers::dispatch(app, &principal, op, input).await?
        }
    };
    let status = StatusCode::from_u16(op.status).unwrap_or(StatusCode::OK);
    Ok(wire::json_response(status, &output))
}

/// The service as an axum router.
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(move |req: Request<Body>| {
        let app = app.clone();
        async move { serve_request(app, req).await }
    })
}
