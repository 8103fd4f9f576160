//! The kinds of target and how each one sends an event.

use findinghub_receivers::chat::{self, ChatOptions};
use findinghub_receivers::webhook;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A target's configuration, as `findinghub targets add` and the configuration file give it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTargetConfig {
    pub url: String,
    /// For webhooks: the HMAC secret of the `x-findinghub-signature` header.
    #[serde(default)]
    pub secret: Option<String>,
    /// Seconds before an attempt is abandoned (and retried).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// A lake target's configuration: where its Parquet files go and how they roll.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeTargetConfig {
    /// A directory, or `s3://BUCKET[/PREFIX]` (credentials from the hub's `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`: the store keeps none).
    pub to: String,
    /// An S3-compatible server (`http://127.0.0.1:9000`) instead of AWS.
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    #[serde(default)]
    pub s3_region: Option<String>,
    /// Lay the lake out as a custom source (`ext/<source>/…`).
    #[serde(default)]
    pub custom_source: Option<String>,
    /// A file is written when it reaches this many MiB [default: 128].
    #[serde(default)]
    pub max_file_mb: Option<u64>,
    /// … or when its oldest finding change has waited this long [default: 300].
    #[serde(default)]
    pub max_file_age_secs: Option<u64>,
}

impl LakeTargetConfig {
    /// The lake writer's settings.
    pub fn writer_config(&self) -> findinghub_lake::LakeConfig {
        let defaults = findinghub_lake::LakeConfig::default();
        findinghub_lake::LakeConfig {
            source: self
                .custom_source
                .as_ref()
                .map_or(findinghub_lake::LakeSource::SecurityHub, |s| findinghub_lake::LakeSource::Custom(s.clone())),
            max_file_bytes: self
                .max_file_mb
                .map_or(defaults.max_file_bytes, |mb| usize::try_from(mb.max(1) << 20).unwrap_or(usize::MAX)),
            max_file_age: self.max_file_age_secs.map_or(defaults.max_file_age, Duration::from_secs),
            sequenced_names: true,
            ..defaults
        }
    }

    /// The lake it names.
    pub fn sink(&self) -> Result<findinghub_lake::ObjectStoreSink, findinghub_lake::LakeError> {
        findinghub_lake::ObjectStoreSink::at(&self.to, self.s3_endpoint.as_deref(), self.s3_region.as_deref())
    }
}

/// What a target does with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The event as JSON, signed.
    Webhook,
    Slack,
    Teams,
    Chime,
    /// The hub's own work-item tracker (a [`LocalTarget`] that the binary provides).
    OpsCenter,
    /// The Security Lake: findings as OCSF in Parquet files, exactly once (`crate::lake`).
    Lake,
}

impl TargetKind {
    pub const ALL: [TargetKind; 6] = [
        TargetKind::Webhook,
        TargetKind::Slack,
        TargetKind::Teams,
        TargetKind::Chime,
        TargetKind::OpsCenter,
        TargetKind::Lake,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Webhook => "webhook",
            TargetKind::Slack => "slack",
            TargetKind::Teams => "teams",
            TargetKind::Chime => "chime",
            TargetKind::OpsCenter => "opscenter",
            TargetKind::Lake => "lake",
        }
    }

    /// Whether it sends over HTTP (and so needs a URL).
    pub fn is_http(self) -> bool {
        !matches!(self, TargetKind::OpsCenter | TargetKind::Lake)
    }

    pub fn parse(name: &str) -> Option<TargetKind> {
        TargetKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Why a target's configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown target kind {0:?} (known: webhook, slack, teams, chime, opscenter, lake)")]
    UnknownKind(String),
    #[error("the configuration of a {kind} target is not valid: {message}")]
    Invalid { kind: &'static str, message: String },
}

/// A target ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    /// For HTTP kinds; `None` for local ones.
    pub config: Option<HttpTargetConfig>,
    /// For the lake.
    pub lake: Option<LakeTargetConfig>,
}

impl Target {
    pub fn from_record(name: &str, kind: &str, config: &Value) -> Result<Target, ConfigError> {
        let kind = TargetKind::parse(kind).ok_or_else(|| ConfigError::UnknownKind(kind.to_owned()))?;
        if kind == TargetKind::Lake {
            let lake: LakeTargetConfig = serde_json::from_value(config.clone())
                .map_err(|e| ConfigError::Invalid { kind: kind.name(), message: e.to_string() })?;
            let bucketless = lake.to.strip_prefix("s3://").is_some_and(|rest| rest.split('/').next() == Some(""));
            if lake.to.is_empty() || bucketless {
                return Err(ConfigError::Invalid {
                    kind: kind.name(),
                    message: format!("to must be a directory or s3://BUCKET[/PREFIX], not {:?}", lake.to),
                });
            }
            return Ok(Target { name: name.to_owned(), kind, config: None, lake: Some(lake) });
        }
        if !kind.is_http() {
            if config.as_object().is_some_and(|m| !m.is_empty()) {
                return Err(ConfigError::Invalid { kind: kind.name(), message: "it takes no settings".into() });
            }
            return Ok(Target { name: name.to_owned(), kind, config: None, lake: None });
        }
        let config: HttpTargetConfig = serde_json::from_value(config.clone())
            .map_err(|e| ConfigError::Invalid { kind: kind.name(), message: e.to_string() })?;
        match reqwest::Url::parse(&config.url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => {
                return Err(ConfigError::Invalid {
                    kind: kind.name(),
                    message: format!("url must be an http:// or https:// URL, not {:?}", config.url),
                });
            }
        }
        Ok(Target { name: name.to_owned(), kind, config: Some(config), lake: None })
    }

    /// How long one attempt may take.
    pub fn timeout(&self, default: Duration) -> Duration {
        self.config.as_ref().and_then(|c| c.timeout_secs).map_or(default, Duration::from_secs)
    }
}

/// A target inside the hub (the work-item tracker): it gets the event and says how it went.
#[async_trait::async_trait]
pub trait LocalTarget: Send + Sync {
    async fn deliver(&self, envelope: &Value) -> SendOutcome;
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered,
    /// Worth another attempt later (5xx, 429, timeouts, connection failures).
    Retry(String),
    /// Retrying cannot help (a 4xx other than 401, 407, 409 and 429, as EventBridge decides for
    /// API destinations): a dead letter at once.
    Refused(String),
}

/// Sends events over HTTP (one client, one connection pool, for every target) or to the local
/// targets.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    chat: Arc<ChatOptions>,
    default_timeout: Duration,
    locals: Vec<(TargetKind, Arc<dyn LocalTarget>)>,
}

impl Sender {
    pub fn new(chat: ChatOptions, default_timeout: Duration) -> Result<Sender, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("findinghub/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Sender { http, chat: Arc::new(chat), default_timeout, locals: Vec::new() })
    }

    pub fn with_local(mut self, kind: TargetKind, target: Arc<dyn LocalTarget>) -> Sender {
        self.locals.push((kind, target));
        self
    }

    /// The request body for this target.
    pub fn body(&self, kind: TargetKind, envelope: &Value) -> Value {
        match kind {
            TargetKind::Webhook | TargetKind::OpsCenter | TargetKind::Lake => envelope.clone(),
            TargetKind::Slack => chat::slack(envelope, &self.chat),
            TargetKind::Teams => chat::teams(envelope, &self.chat),
            TargetKind::Chime => chat::chime(envelope, &self.chat),
        }
    }

    pub async fn send(&self, target: &Target, event_id: &str, envelope: &Value) -> SendOutcome {
        let Some(config) = &target.config else {
            return match self.locals.iter().find(|(k, _)| *k == target.kind) {
                Some((_, local)) => local.deliver(envelope).await,
                None => SendOutcome::Retry(format!("no {} target runs in this hub", target.kind.name())),
            };
        };
        let body = match serde_json::to_vec(&self.body(target.kind, envelope)) {
            Ok(b) => b,
            Err(e) => return SendOutcome::Refused(format!("the event cannot be serialized: {e}")),
        };
        let timeout = target.timeout(self.default_timeout);
        let mut request = self.http.post(&config.url).timeout(timeout);
        match (&target.kind, &config.secret) {
            (TargetKind::Webhook, Some(secret)) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                for (name, value) in webhook::delivery_headers(secret.as_bytes(), now, event_id, &body) {
                    request = request.header(name, value);
                }
            }
            _ => {
                request = request.header("content-type", "application/json").header(webhook::EVENT_ID_HEADER, event_id);
            }
        }
        match request.body(body).send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    SendOutcome::Delivered
                } else if status.is_server_error() || matches!(status.as_u16(), 401 | 407 | 409 | 429) {
                    SendOutcome::Retry(format!("HTTP {}", status.as_u16()))
                } else {
                    SendOutcome::Refused(format!("HTTP {}", status.as_u16()))
                }
            }
            Err(e) if e.is_timeout() => SendOutcome::Retry(format!("timed out after {} s", timeout.as_secs_f64())),
            Err(e) => SendOutcome::Retry(describe(&e)),
        }
    }
}

/// reqwest's error with its causes ("error sending request" alone says little).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_are_checked_when_configured() {
        let ok = Target::from_record("hook", "webhook", &json!({"url": "https://example.com/h", "secret": "s"}));
        assert_eq!(ok.map(|t| t.kind).ok(), Some(TargetKind::Webhook));
        let unknown = Target::from_record("x", "pager", &json!({"url": "https://example.com"}));
        assert!(matches!(unknown, Err(ConfigError::UnknownKind(k)) if k == "pager"));
        let bad_url = Target::from_record("x", "slack", &json!({"url": "ftp://example.com"}));
        assert!(bad_url.is_err_and(|e| e.to_string().contains("http://")));
        let extra = Target::from_record("x", "slack", &json!({"url": "https://example.com", "channel": "#a"}));
        assert!(extra.is_err_and(|e| e.to_string().contains("channel")));
        let local = Target::from_record("items", "opscenter", &json!({}));
        assert_eq!(local.map(|t| t.config).ok(), Some(None));
        assert!(Target::from_record("items", "opscenter", &json!({"url": "https://example.com"})).is_err());
        let lake = Target::from_record("lake", "lake", &json!({"to": "s3://b/p", "max_file_age_secs": 1}));
        let lake = lake.ok().and_then(|t| t.lake);
        assert_eq!(lake.as_ref().map(|l| l.writer_config().max_file_age), Some(Duration::from_secs(1)));
        assert!(Target::from_record("lake", "lake", &json!({"to": "s3:///p"})).is_err());
        assert!(Target::from_record("lake", "lake", &json!({})).is_err());
        assert!(Target::from_record("lake", "lake", &json!({"to": "/d", "url": "x"})).is_err());
    }
}
