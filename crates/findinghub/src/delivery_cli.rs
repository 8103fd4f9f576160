//! `findinghub targets|rules|deliveries`, and the `[[targets]]`, `[[rules]]` and `[delivery]`
//! parts of the configuration file: where the hub's events go.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use findinghub_asff::timestamp::{format_timestamp, now_micros};
use findinghub_delivery::target::Target;
use findinghub_delivery::{ChatOptions, DeliverySettings};
use findinghub_receivers::pattern::EventPattern;
use findinghub_store::outbox::{DeliveryQuery, DeliveryState, OutboxStore, RuleRecord, TargetRecord};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum Targets {
    /// Add a target, or change the one of that name.
    Add {
        name: String,
        /// webhook (the event as JSON, signed when it has a secret), slack, teams, chime,
        /// opscenter, or lake (the findings as OCSF in Parquet, in Security Lake's layout).
        #[arg(long)]
        kind: String,
        /// Where to POST (for chat: the channel's incoming-webhook URL); opscenter and lake take none.
        #[arg(long)]
        url: Option<String>,
        /// The environment variable that holds the webhook's HMAC secret.
        #[arg(long)]
        secret_env: Option<String>,
        /// Seconds before an attempt is abandoned [default: 10].
        #[arg(long)]
        timeout_secs: Option<u64>,
        #[command(flatten)]
        lake: Box<LakeTargetArgs>,
    },
    List,
    /// Remove a target that no rule names.
    Remove {
        name: String,
    },
}

/// The settings of a lake target (`--kind lake`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LakeTargetArgs {
    /// The lake: a directory (kept as an absolute path), or s3://BUCKET[/PREFIX] (credentials
    /// from the hub's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
    #[arg(long)]
    to: Option<String>,
    /// An S3-compatible server (http://127.0.0.1:9000) instead of AWS.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// The bucket's Region [default: AWS_REGION, else us-east-1].
    #[arg(long)]
    s3_region: Option<String>,
    /// Lay the lake out as a custom source: ext/<SOURCE>/… instead of aws/SH_FINDINGS/2.0/….
    #[arg(long)]
    custom_source: Option<String>,
    /// A file is written when it reaches this many MiB [default: 128].
    #[arg(long)]
    max_file_mb: Option<u64>,
    /// … or when its oldest finding change has waited this many seconds [default: 300].
    #[arg(long)]
    max_file_age_secs: Option<u64>,
}

impl LakeTargetArgs {
    fn apply(&self, config: &mut Value) {
        let set = |config: &mut Value, key: &str, value: Option<Value>| {
            if let Some(v) = value {
                config[key] = v;
            }
        };
        // A directory as an absolute path: the hub that writes it may run elsewhere.
        let to = self.to.as_ref().map(|t| {
            if t.starts_with("s3://") {
                t.clone()
            } else {
                std::path::absolute(t).map_or_else(|_| t.clone(), |p| p.display().to_string())
            }
        });
        set(config, "to", to.map(|v| json!(v)));
        set(config, "s3_endpoint", self.s3_endpoint.as_ref().map(|v| json!(v)));
        set(config, "s3_region", self.s3_region.as_ref().map(|v| json!(v)));
        set(config, "custom_source", self.custom_source.as_ref().map(|v| json!(v)));
        set(config, "max_file_mb", self.max_file_mb.map(|v| json!(v)));
        set(config, "max_file_age_secs", self.max_file_age_secs.map(|v| json!(v)));
    }
}

#[derive(Subcommand)]
pub enum Rules {
    /// Add a rule, or change the one of that name.
    Add {
        name: String,
        /// An EventBridge event pattern (JSON), e.g.
        /// '{"detail":{"findings":{"Severity":{"Label":["CRITICAL"]}}}}'.
        #[arg(long)]
        pattern: String,
        /// The targets of the events that it matches (repeat for several).
        #[arg(long = "target", required = true)]
        targets: Vec<String>,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    List,
    Remove {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum Deliveries {
    /// List deliveries (the dead letters with --state dead).
    List {
        #[arg(long)]
        target: Option<String>,
        /// pending, delivered or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Send dead deliveries again, with a fresh retry budget: these ids, or every dead delivery
    /// (of --target).
    Replay {
        #[arg(long)]
        target: Option<String>,
        ids: Vec<i64>,
    },
}

/// A target of the configuration file (`[[targets]]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    name: String,
    kind: String,
    url: Option<String>,
    /// The environment variable that holds the webhook's secret (the file holds no secret).
    secret_env: Option<String>,
    timeout_secs: Option<u64>,
    /// A lake target's settings.
    to: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    custom_source: Option<String>,
    max_file_mb: Option<u64>,
    max_file_age_secs: Option<u64>,
}

impl TargetConfig {
    fn lake(&self) -> LakeTargetArgs {
        LakeTargetArgs {
            to: self.to.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            s3_region: self.s3_region.clone(),
            custom_source: self.custom_source.clone(),
            max_file_mb: self.max_file_mb,
            max_file_age_secs: self.max_file_age_secs,
        }
    }
}

/// A rule of the configuration file (`[[rules]]`): the pattern as a TOML table or a JSON string.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    name: String,
    pattern: toml::Value,
    targets: Vec<String>,
    #[serde(default = "enabled")]
    enabled: bool,
}

fn enabled() -> bool {
    true
}

/// `[delivery]`: what chat cards link to.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// The console's address in links [default: http://<listen address>].
    console_base_url: Option<String>,
}

/// `detective_base_url`: the one Detective console setting (`--detective-base-url`), which the
/// GuardDuty pivots of chat cards use too.
pub fn settings(config: &DeliveryConfig, listen: &str, detective_base_url: &str) -> DeliverySettings {
    DeliverySettings {
        chat: ChatOptions {
            console_base_url: config.console_base_url.clone().unwrap_or_else(|| format!("http://{listen}")),
            detective_base_url: Some(detective_base_url.to_owned()),
        },
        ..DeliverySettings::default()
    }
}

fn target_record(
    name: &str,
    kind: &str,
    url: Option<&str>,
    secret_env: Option<&str>,
    timeout_secs: Option<u64>,
    lake: &LakeTargetArgs,
) -> Result<TargetRecord> {
    let mut config = json!({});
    lake.apply(&mut config);
    if let Some(url) = url {
        config["url"] = json!(url);
    }
    if let Some(var) = secret_env {
        let secret = std::env::var(var).with_context(|| format!("the environment variable {var} is not set"))?;
        if secret.is_empty() {
            bail!("the secret in {var} is empty");
        }
        config["secret"] = json!(secret);
    }
    if let Some(t) = timeout_secs {
        config["timeout_secs"] = json!(t);
    }
    Target::from_record(name, kind, &config)?;
    Ok(TargetRecord { name: name.to_owned(), kind: kind.to_owned(), config, created_at: now_micros() })
}

async fn rule_record(
    outbox: &dyn OutboxStore,
    name: &str,
    pattern: Value,
    targets: &[String],
    enabled: bool,
) -> Result<RuleRecord> {
    EventPattern::parse(&pattern).with_context(|| format!("the pattern of rule {name} is not valid"))?;
    let known: Vec<String> = outbox.targets().await?.into_iter().map(|t| t.name).collect();
    if let Some(missing) = targets.iter().find(|t| !known.contains(t)) {
        bail!("rule {name} names the target {missing:?}, which does not exist (findinghub targets add)");
    }
    Ok(RuleRecord { name: name.to_owned(), pattern, targets: targets.to_vec(), enabled, created_at: now_micros() })
}

/// Writes the configuration file's targets and rules into the store (they win over what the
/// CLI set under the same names).
pub async fn apply_config(outbox: &dyn OutboxStore, targets: &[TargetConfig], rules: &[RuleConfig]) -> Result<()> {
    for t in targets {
        let record =
            target_record(&t.name, &t.kind, t.url.as_deref(), t.secret_env.as_deref(), t.timeout_secs, &t.lake())
                .with_context(|| format!("target {} of the configuration file", t.name))?;
        outbox.put_target(record).await?;
    }
    for r in rules {
        let pattern = match &r.pattern {
            toml::Value::String(text) => {
                serde_json::from_str(text).with_context(|| format!("the pattern of rule {} is not JSON", r.name))?
            }
            other => serde_json::to_value(other)?,
        };
        let record = rule_record(outbox, &r.name, pattern, &r.targets, r.enabled).await?;
        outbox.put_rule(record).await?;
    }
    Ok(())
}

pub async fn targets(outbox: &dyn OutboxStore, action: &Targets) -> Result<()> {
    match action {
        Targets::Add { name, kind, url, secret_env, timeout_secs, lake } => {
            let record = target_record(name, kind, url.as_deref(), secret_env.as_deref(), *timeout_secs, lake)?;
            outbox.put_target(record).await?;
            println!("{}", json!({"Name": name, "Kind": kind, "Url": url, "To": lake.to}));
        }
        Targets::List => {
            for t in outbox.targets().await? {
                let url = t.config.get("url").cloned().unwrap_or(Value::Null);
                let signed = t.config.get("secret").is_some();
                let mut line = json!({"Name": t.name, "Kind": t.kind, "Url": url, "Signed": signed});
                if let Some(to) = t.config.get("to") {
                    line["To"] = to.clone();
                    line["Cursor"] = json!(outbox.target_cursor(&t.name).await?);
                }
                println!("{line}");
            }
        }
        Targets::Remove { name } => {
            if let Some(rule) = outbox.rules().await?.into_iter().find(|r| r.targets.contains(name)) {
                bail!("rule {} still sends to {name}: remove it or change its targets first", rule.name);
            }
            if !outbox.delete_target(name).await? {
                bail!("no target is named {name}");
            }
        }
    }
    Ok(())
}

pub async fn rules(outbox: &dyn OutboxStore, action: &Rules) -> Result<()> {
    match action {
        Rules::Add { name, pattern, targets, disabled } => {
            let pattern: Value = serde_json::from_str(pattern).context("the pattern is not JSON")?;
            let record = rule_record(outbox, name, pattern, targets, !disabled).await?;
            outbox.put_rule(record).await?;
        }
        Rules::List => {
            for r in outbox.rules().await? {
                println!(
                    "{}",
                    json!({"Name": r.name, "Pattern": r.pattern, "Targets": r.targets, "Enabled": r.enabled})
                );
            }
        }
        Rules::Remove { name } => {
            if !outbox.delete_rule(name).await? {
                bail!("no rule is named {name}");
            }
        }
    }
    Ok(())
}

pub async fn deliveries(outbox: &dyn OutboxStore, action: &Deliveries) -> Result<()> {
    match action {
        Deliveries::List { target, state, limit } => {
            let state = match state {
                Some(s) => Some(
                    DeliveryState::parse(s)
                        .with_context(|| format!("the state must be pending, delivered or dead, not {s:?}"))?,
                ),
                None => None,
            };
            let found = outbox
                .deliveries(DeliveryQuery { target: target.clone(), state, after_id: None, limit: *limit })
                .await?;
            for d in found {
                let finding = &d.event.envelope["detail"]["findings"][0];
                println!(
                    "{}",
                    json!({
                        "Id": d.id, "Target": d.target, "Rule": d.rule, "State": d.state.as_str(),
                        "Attempts": d.attempts, "CreatedAt": format_timestamp(d.created_at),
                        "NextAttemptAt": (d.state == DeliveryState::Pending).then(|| format_timestamp(d.next_attempt_at)),
                        "LastError": d.last_error, "EventId": d.event.event_id,
                        "DetailType": d.event.envelope["detail-type"], "FindingId": finding["Id"],
                    })
                );
            }
        }
        Deliveries::Replay { target, ids } => {
            let n = outbox.replay(target.as_deref(), ids, now_micros()).await?;
            println!("{}", json!({"Replayed": n}));
        }
    }
    Ok(())
}
