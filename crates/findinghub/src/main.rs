//! `findinghub`: the binary that wires the hub together: the API server on the embedded store (or
//! on PostgreSQL with `--store postgres://…`), the credentials of its users, and a bulk importer.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use findinghub_api::events::{API_KEY_PREFIX, new_api_key};
use findinghub_api::importer::import_findings;
use findinghub_api::keys::{Keyring, new_access_key};
use findinghub_api::server::{App, IngestSettings, ReceiverSettings, router};
use findinghub_api::workitems::open_work_items;
use findinghub_asff::timestamp::now_micros;
use findinghub_console::ConsoleSettings;
use findinghub_delivery::target::{LocalTarget, SendOutcome, TargetKind};
use findinghub_delivery::{DeliveryObserver, DeliveryService, DeliverySettings};
use findinghub_producers::ConvertOptions;
use findinghub_store::outbox::OutboxStore;
use findinghub_store::postgres::PostgresStore;
use findinghub_store::retention::{RetentionPolicy, RetentionSchedule, run_worker};
use findinghub_store::sqlite::SqliteStore;
use findinghub_store::state::{AccessKey, CustomProduct, HubStateStore, SealedKey};
use findinghub_store::state_cache::CachedHubState;
use findinghub_store::{FindingStore, ImportStatus};
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod delivery_cli;
mod events_cli;
mod lake_cli;
mod migrate_cli;
mod receivers_cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "findinghub",
    version,
    about = "A self-hosted security findings hub that speaks the AWS Security Hub API",
    long_about = "A self-hosted security findings hub that speaks the AWS Security Hub API.\n\n\
        Start it with `findinghub serve`, then point the AWS CLI, boto3 or an AWS SDK at it with\n\
        `--endpoint-url http://127.0.0.1:4680` and the access key that it prints on first start."
)]
struct Cli {
    /// A TOML file of settings; every key is also a flag and an environment variable, which
    /// take precedence over the file (keys: store, data_dir, master_key_file, log_format, listen,
    /// retention_active_days, retention_archived_days, region, tls_cert, tls_key,
    /// macie_sensitive_data, opscenter_severities, detective_base_url; and `[[products]]` tables with account, id, name, company,
    /// description).
    #[arg(long, global = true, env = "FINDINGHUB_CONFIG")]
    config: Option<PathBuf>,
    /// The directory that holds the findings and everything else the hub keeps
    /// [default: ./findinghub-data].
    #[arg(long, global = true, env = "FINDINGHUB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where findings and the rest of the hub's state live: `postgres://user@host:5432/db`
    /// (PostgreSQL, shared by every instance that names it; `?options=-csearch_path%3Dschema`
    /// picks a schema), or `sqlite://DIR` for the embedded store in DIR [default: the embedded
    /// store in --data-dir].
    #[arg(long, global = true, env = "FINDINGHUB_STORE")]
    store: Option<String>,
    /// The file that holds the key sealing the stored secrets (default: beside the data
    /// directory, `<data-dir>.master-key`, so that a copy of the data directory alone reveals
    /// no secret).
    #[arg(long, global = true, env = "FINDINGHUB_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Log format: `text` or `json` [default: text].
    #[arg(long, global = true, env = "FINDINGHUB_LOG_FORMAT")]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Security Hub API.
    Serve {
        /// The address to listen on [default: 127.0.0.1:4680].
        #[arg(long, env = "FINDINGHUB_LISTEN")]
        listen: Option<String>,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, env = "FINDINGHUB_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --tls-cert.
        #[arg(long, env = "FINDINGHUB_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Days after its last update that an ACTIVE finding is deleted [default: 90].
        #[arg(long, env = "FINDINGHUB_RETENTION_ACTIVE_DAYS")]
        retention_active_days: Option<u32>,
        /// Days after its last update that an ARCHIVED finding is deleted [default: 30].
        #[arg(long, env = "FINDINGHUB_RETENTION_ARCHIVED_DAYS")]
        retention_archived_days: Option<u32>,
        /// Turn Macie's sensitive-data findings into findings (Macie's "publish sensitive data
        /// findings" setting); policy findings always flow.
        #[arg(long, env = "FINDINGHUB_MACIE_SENSITIVE_DATA")]
        macie_sensitive_data: bool,
        /// The severity labels that open an OpsCenter work item, comma-separated
        /// [default: CRITICAL,HIGH].
        #[arg(long, env = "FINDINGHUB_OPSCENTER_SEVERITIES", value_delimiter = ',')]
        opscenter_severities: Option<Vec<String>>,
        /// The Detective console that pivot links point to
        /// [default: https://console.aws.amazon.com/detective/home].
        #[arg(long, env = "FINDINGHUB_DETECTIVE_BASE_URL")]
        detective_base_url: Option<String>,
        /// The Region that the web console (/console) opens in [default: us-east-1].
        #[arg(long, env = "FINDINGHUB_REGION")]
        region: Option<String>,
    },
    /// Custom actions: send findings to an action target (CreateActionTarget).
    Actions {
        #[command(subcommand)]
        action: receivers_cli::Actions,
    },
    /// OpsCenter work items: list, show, and change their status or severity (the finding follows).
    Opsitems {
        #[command(subcommand)]
        action: receivers_cli::OpsItems,
    },
    /// Trusted Advisor's checks over the ACTIVE findings: a table, or JSON with --json.
    Advisor {
        /// Only this account's findings [default: every account].
        #[arg(long)]
        account: Option<String>,
        /// Only this Region's findings [default: every Region].
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Audit Manager evidence from the stored findings.
    Evidence {
        #[command(subcommand)]
        action: receivers_cli::Evidence,
    },
    /// Register, list and remove an account's own products (beside its `default` product), which
    /// then appear in DescribeProducts and are enabled like any other.
    Products {
        #[command(subcommand)]
        action: Products,
    },
    /// Manage the access keys that sign requests.
    Credentials {
        #[command(subcommand)]
        action: Credentials,
    },
    /// Ingest native events of AWS services (EventBridge events, or the services' API list
    /// outputs) from files, a directory of `.json` files, or `-` for standard input: each becomes
    /// the findings that Security Hub makes of it, through the same path as `POST /events`.
    Ingest {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<String>,
        /// The Region of events that name none (API list outputs) [default: us-east-1].
        #[arg(long, env = "FINDINGHUB_REGION")]
        region: Option<String>,
        /// The account of events that name none.
        #[arg(long)]
        account: Option<String>,
        /// Turn Macie's sensitive-data findings into findings too.
        #[arg(long, env = "FINDINGHUB_MACIE_SENSITIVE_DATA")]
        macie_sensitive_data: bool,
    },
    /// Print the ASFF findings (a JSON array) that native events make, without storing anything.
    /// An event that makes no finding prints `[]` and the reason on standard error.
    Convert {
        /// The producer: config, health, guardduty, macie, inspector, access-analyzer,
        /// iot-device-defender, firewall-manager, patch-manager, or auto (by `source` and
        /// `detail-type`, or by the shape of an API output).
        #[arg(long, default_value = "auto")]
        from: String,
        /// The file (`-` or nothing for standard input).
        file: Option<String>,
        /// The Region of events that name none [default: us-east-1].
        #[arg(long, env = "FINDINGHUB_REGION")]
        region: Option<String>,
        /// The account of events that name none.
        #[arg(long)]
        account: Option<String>,
        /// Turn Macie's sensitive-data findings into findings too.
        #[arg(long)]
        macie_sensitive_data: bool,
    },
    /// Where events go: webhooks and chat channels (rules send events to targets).
    Targets {
        #[command(subcommand)]
        action: delivery_cli::Targets,
    },
    /// Which events go where: EventBridge event patterns and their targets.
    Rules {
        #[command(subcommand)]
        action: delivery_cli::Rules,
    },
    /// Inspect deliveries (pending, delivered, dead letters) and replay dead ones.
    Deliveries {
        #[command(subcommand)]
        action: delivery_cli::Deliveries,
    },
    /// Copy everything a store keeps (findings with their history, keys, hubs, subscriptions,
    /// products, tags, action targets, work items, the outbox and its targets and rules) into
    /// another, empty store, of either kind; resumable (run it again after an interruption), and
    /// verified (record counts and hashes) at the end. Stop the hubs that use --from first.
    Migrate {
        /// The store to copy: `postgres://…`, `sqlite://DIR` or a data directory.
        #[arg(long)]
        from: String,
        /// The store to copy into (created if it does not exist; must be empty, or hold an
        /// interrupted copy from --from).
        #[arg(long)]
        to: String,
        /// Records per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Milliseconds to pause between transactions, to spare a busy database.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
        /// Compare record counts only, not every record's hash (faster on large stores).
        #[arg(long)]
        no_checksum: bool,
    },
    /// Security Lake: findings as OCSF 1.1.0, exported as Parquet in Security Lake's layout.
    Lake {
        #[command(subcommand)]
        action: lake_cli::LakeCommand,
    },
    /// Import ASFF findings from a file (`-` for standard input): a JSON array, an object with
    /// `Findings` as GetFindings returns it, or one finding per line.
    Import {
        file: String,
        /// The Region the findings are imported into [default: us-east-1].
        #[arg(long, env = "FINDINGHUB_REGION")]
        region: Option<String>,
    },
}

#[derive(Subcommand)]
enum Credentials {
    /// Create an access key for an account and print it as JSON.
    Create {
        /// The 12-digit account the key belongs to.
        #[arg(long)]
        account: String,
        /// The key's account administers every account (reads and updates all findings).
        #[arg(long)]
        admin: bool,
        /// Register this access key id instead of making a new one: the key that a tool signs
        /// with when it sends to the hub and to AWS with the same credentials (Prowler does).
        #[arg(long, requires = "secret_from_env")]
        access_key_id: Option<String>,
        /// With `--access-key-id`: the environment variable that holds the key's secret (not
        /// given on the command line, where other users could read it).
        #[arg(long, requires = "access_key_id", value_name = "VAR")]
        secret_from_env: Option<String>,
    },
    /// Create an API key for `POST /events` (the `x-api-key` header of an EventBridge API
    /// destination) and print it as JSON.
    CreateApiKey {
        /// The 12-digit account whose events the key delivers.
        #[arg(long)]
        account: String,
        /// The key may deliver events of every account (an administrator's event bus).
        #[arg(long)]
        admin: bool,
    },
    /// List the access keys and API keys (never their secrets).
    List,
    /// Revoke an access key, or an API key by its id (the part before the dot).
    Revoke { key_id: String },
}

#[derive(Subcommand)]
enum Products {
    /// Register a product: `arn:aws:securityhub:<region>:<account>:product/<account>/<id>`.
    Create {
        /// The 12-digit account that owns the product.
        #[arg(long)]
        account: String,
        /// The product id in its ARN (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        id: String,
        /// The ProductName of its findings and of DescribeProducts.
        #[arg(long)]
        name: String,
        /// The CompanyName [default: Personal].
        #[arg(long)]
        company: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the registered products (of one account with --account).
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Remove a registered product.
    Delete {
        #[arg(long)]
        account: String,
        #[arg(long)]
        id: String,
    },
}

/// A product that the configuration file registers (`[[products]]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductConfig {
    account: String,
    id: String,
    name: String,
    company: Option<String>,
    #[serde(default)]
    description: String,
}

/// The configuration file: every key optional; flags and environment variables win.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    store: Option<String>,
    data_dir: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
    log_format: Option<String>,
    listen: Option<String>,
    retention_active_days: Option<u32>,
    retention_archived_days: Option<u32>,
    region: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    macie_sensitive_data: Option<bool>,
    opscenter_severities: Option<Vec<String>>,
    detective_base_url: Option<String>,
    /// Products of the accounts' own tools, registered at start (as `findinghub products create`).
    #[serde(default)]
    products: Vec<ProductConfig>,
    /// Where events go (as `findinghub targets add`), applied at start.
    #[serde(default)]
    targets: Vec<delivery_cli::TargetConfig>,
    /// Which events go where (as `findinghub rules add`), applied at start.
    #[serde(default)]
    rules: Vec<delivery_cli::RuleConfig>,
    #[serde(default)]
    delivery: delivery_cli::DeliveryConfig,
}

fn read_config(path: Option<&Path>) -> Result<FileConfig> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid findinghub configuration", path.display()))
}

/// The settings in force: flag or environment, then the file, then the default.
struct Settings {
    store: StoreLocation,
    master_key_file: PathBuf,
    log_format: String,
}

impl Settings {
    fn resolve(cli: &Cli, file: &FileConfig) -> Result<Settings> {
        let data_dir = cli
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./findinghub-data"));
        let master_key_file =
            cli.master_key_file.clone().or_else(|| file.master_key_file.clone()).unwrap_or_else(|| {
                let mut name = data_dir.as_os_str().to_owned();
                name.push(".master-key");
                PathBuf::from(name)
            });
        let log_format = cli.log_format.clone().or_else(|| file.log_format.clone()).unwrap_or_else(|| "text".into());
        let store = match cli.store.clone().or_else(|| file.store.clone()) {
            Some(url) => StoreLocation::parse(&url)?,
            None => StoreLocation::Embedded(data_dir.clone()),
        };
        Ok(Settings { store, master_key_file, log_format })
    }
}

/// Which store the hub uses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StoreLocation {
    /// The embedded SQLite store in a data directory.
    Embedded(PathBuf),
    /// A PostgreSQL database (a `postgres://` or `postgresql://` URL).
    Postgres(String),
}

impl StoreLocation {
    fn parse(url: &str) -> Result<StoreLocation> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(StoreLocation::Postgres(url.to_owned()))
        } else if let Some(dir) = url.strip_prefix("sqlite://") {
            if dir.is_empty() {
                bail!("sqlite:// needs a directory: sqlite://./findinghub-data");
            }
            Ok(StoreLocation::Embedded(PathBuf::from(dir)))
        } else {
            bail!("the store must be a postgres://… URL or sqlite://DIR, not {url:?}")
        }
    }
}

/// The store, as the two interfaces that the hub uses.
struct Stores {
    findings: Arc<dyn FindingStore>,
    state: Arc<dyn HubStateStore>,
    outbox: Arc<dyn OutboxStore>,
}

impl Stores {
    fn app(&self, keyring: Keyring) -> App {
        App::new(self.findings.clone(), self.state.clone(), self.outbox.clone(), keyring)
    }
}

async fn open_stores(location: &StoreLocation) -> Result<Stores> {
    match location {
        StoreLocation::Embedded(dir) => {
            let store = Arc::new(
                SqliteStore::open(dir).with_context(|| format!("opening the data directory {}", dir.display()))?,
            );
            Ok(Stores { findings: store.clone(), state: Arc::new(CachedHubState::new(store.clone())), outbox: store })
        }
        StoreLocation::Postgres(url) => {
            let store = Arc::new(PostgresStore::open(url).await.context("opening the PostgreSQL store")?);
            Ok(Stores { findings: store.clone(), state: Arc::new(CachedHubState::new(store.clone())), outbox: store })
        }
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FINDINGHUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn valid_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let file = read_config(cli.config.as_deref())?;
    let settings = Settings::resolve(&cli, &file)?;
    if !matches!(settings.log_format.as_str(), "text" | "json") {
        bail!("the log format must be text or json, not {:?}", settings.log_format);
    }
    init_logging(&settings.log_format);
    // Converting touches no store.
    if let Command::Convert { from, file: input, region, account, macie_sensitive_data } = &cli.command {
        let options = ConvertOptions {
            default_region: Some(region.clone().or(file.region.clone()).unwrap_or_else(|| "us-east-1".into())),
            default_account: account.clone(),
            macie_sensitive_data: *macie_sensitive_data,
        };
        return events_cli::convert(from, input.as_deref().unwrap_or("-"), &options);
    }
    if let Command::Lake { action: lake_cli::LakeCommand::Ocsf { file: input } } = &cli.command {
        return lake_cli::ocsf(input);
    }
    if let Command::Migrate { from, to, batch, pause_ms, no_checksum } = &cli.command {
        return migrate_cli::migrate(migrate_cli::MigrateArgs {
            from,
            to,
            batch: *batch,
            pause: std::time::Duration::from_millis(*pause_ms),
            checksum: !no_checksum,
        })
        .await;
    }
    let stores = open_stores(&settings.store).await?;
    if let Command::Lake {
        action: lake_cli::LakeCommand::Export { to, since, until, s3_endpoint, s3_region, jsonl, custom_source },
    } = &cli.command
    {
        let args = lake_cli::ExportArgs {
            to: to.as_deref(),
            since: since.as_deref(),
            until: until.as_deref(),
            s3_endpoint: s3_endpoint.as_deref(),
            s3_region: s3_region.as_deref(),
            jsonl: jsonl.as_deref(),
            custom_source: custom_source.as_deref(),
        };
        return lake_cli::export(stores.findings.as_ref(), args).await;
    }
    let keyring = Keyring::load_or_create(&settings.master_key_file)?;
    match &cli.command {
        Command::Serve {
            listen,
            retention_active_days,
            retention_archived_days,
            tls_cert,
            tls_key,
            macie_sensitive_data,
            opscenter_severities,
            detective_base_url,
            region,
        } => {
            let policy = RetentionPolicy {
                active_days: retention_active_days.or(file.retention_active_days).unwrap_or(90),
                archived_days: retention_archived_days.or(file.retention_archived_days).unwrap_or(30),
            };
            let listen = listen.clone().or(file.listen.clone()).unwrap_or_else(|| "127.0.0.1:4680".into());
            let tls = match (tls_cert.clone().or(file.tls_cert.clone()), tls_key.clone().or(file.tls_key.clone())) {
                (Some(cert), Some(key)) => Some(tls_config(&cert, &key)?),
                (None, None) => None,
                _ => bail!("TLS needs both a certificate and a key"),
            };
            let ingest = IngestSettings {
                macie_sensitive_data: *macie_sensitive_data || file.macie_sensitive_data.unwrap_or(false),
            };
            let defaults = ReceiverSettings::default();
            let receivers = ReceiverSettings {
                opscenter_severities: opscenter_severities
                    .clone()
                    .or(file.opscenter_severities.clone())
                    .map(|labels| labels.iter().map(|l| l.trim().to_uppercase()).collect())
                    .unwrap_or(defaults.opscenter_severities),
                detective_base_url: detective_base_url
                    .clone()
                    .or(file.detective_base_url.clone())
                    .unwrap_or(defaults.detective_base_url),
            };
            for label in &receivers.opscenter_severities {
                if !matches!(label.as_str(), "CRITICAL" | "HIGH" | "MEDIUM" | "LOW") {
                    bail!("an OpsCenter severity is CRITICAL, HIGH, MEDIUM or LOW, not {label:?}");
                }
            }
            register_configured_products(stores.state.as_ref(), &file.products).await?;
            delivery_cli::apply_config(stores.outbox.as_ref(), &file.targets, &file.rules).await?;
            let delivery = delivery_cli::settings(&file.delivery, &listen, &receivers.detective_base_url);
            let console = ConsoleSettings {
                default_region: region.clone().or(file.region.clone()).unwrap_or_else(|| "us-east-1".into()),
                secure_cookies: tls.is_some(),
            };
            let background = Background { retention: policy, delivery };
            serve(stores, keyring, &listen, tls, Frontends { ingest, receivers, console }, background).await
        }
        Command::Credentials { action } => credentials(stores.state.as_ref(), &keyring, action).await,
        Command::Actions { action } => receivers_cli::actions(&stores.app(keyring), action).await,
        Command::Opsitems { action } => receivers_cli::opsitems(&stores.app(keyring), action).await,
        Command::Advisor { account, region, json } => {
            receivers_cli::advisor(&stores.app(keyring), account.as_deref(), region.as_deref(), *json).await
        }
        Command::Evidence { action } => receivers_cli::evidence_export(&stores.app(keyring), action).await,
        Command::Products { action } => products(stores.state.as_ref(), action).await,
        Command::Targets { action } => delivery_cli::targets(stores.outbox.as_ref(), action).await,
        Command::Rules { action } => delivery_cli::rules(stores.outbox.as_ref(), action).await,
        Command::Deliveries { action } => delivery_cli::deliveries(stores.outbox.as_ref(), action).await,
        Command::Import { file: path, region } => {
            let region = region.clone().or(file.region.clone()).unwrap_or_else(|| "us-east-1".into());
            import(stores.findings.as_ref(), path, &region).await
        }
        Command::Ingest { paths, region, account, macie_sensitive_data } => {
            let options = ConvertOptions {
                default_region: Some(region.clone().or(file.region.clone()).unwrap_or_else(|| "us-east-1".into())),
                default_account: account.clone(),
                macie_sensitive_data: *macie_sensitive_data || file.macie_sensitive_data.unwrap_or(false),
            };
            let app =
                stores.app(keyring).with_ingest(IngestSettings { macie_sensitive_data: options.macie_sensitive_data });
            events_cli::ingest(&app, paths, &options).await
        }
        Command::Convert { .. } | Command::Lake { .. } | Command::Migrate { .. } => {
            unreachable!("handled before the keyring is opened")
        }
    }
}

async fn create_key(
    state: &dyn HubStateStore,
    keyring: &Keyring,
    id: String,
    secret: String,
    account: &str,
    admin: bool,
) -> Result<()> {
    if !valid_account(account) {
        bail!("the account must be 12 digits, got {account:?}");
    }
    let sealed = SealedKey {
        key: AccessKey { access_key_id: id.clone(), account_id: account.to_owned(), admin, created_at: now_micros() },
        sealed_secret: keyring.seal(&secret)?,
    };
    if !state.create_key(sealed).await? {
        bail!("an access key {id} exists already");
    }
    Ok(())
}

async fn credentials(state: &dyn HubStateStore, keyring: &Keyring, action: &Credentials) -> Result<()> {
    match action {
        Credentials::Create { account, admin, access_key_id, secret_from_env } => {
            let (id, secret) = match (access_key_id, secret_from_env) {
                (Some(id), Some(var)) => {
                    let secret = std::env::var(var).ok().filter(|s| !s.is_empty());
                    let secret = secret.with_context(|| format!("the environment variable {var} holds no secret"))?;
                    if id.len() < 16 || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                        bail!("an access key id is 16 to 128 letters and digits, got {id:?}");
                    }
                    (id.clone(), secret)
                }
                _ => new_access_key()?,
            };
            create_key(state, keyring, id.clone(), secret.clone(), account, *admin).await?;
            if access_key_id.is_some() {
                // The caller has the secret already: it is not printed again.
                println!("{}", json!({"AccessKeyId": id, "AccountId": account}));
            } else {
                println!("{}", json!({"AccessKeyId": id, "SecretAccessKey": secret, "AccountId": account}));
            }
        }
        Credentials::CreateApiKey { account, admin } => {
            if !valid_account(account) {
                bail!("the account must be 12 digits, got {account:?}");
            }
            let key = new_api_key(account, *admin, now_micros())?;
            if !state.create_api_key(key.record).await? {
                bail!("an API key with this id exists already; try again");
            }
            println!("{}", json!({"ApiKey": key.api_key, "AccountId": account}));
        }
        Credentials::List => {
            for k in state.list_keys().await? {
                println!("{}", json!({"AccessKeyId": k.access_key_id, "AccountId": k.account_id, "Admin": k.admin}));
            }
            for k in state.list_api_keys().await? {
                println!("{}", json!({"ApiKeyId": k.key_id, "AccountId": k.account_id, "Admin": k.admin}));
            }
        }
        Credentials::Revoke { key_id } => {
            let revoked = if key_id.starts_with(API_KEY_PREFIX) {
                state.revoke_api_key(key_id.split('.').next().unwrap_or(key_id)).await?
            } else {
                state.revoke_key(key_id).await?
            };
            if !revoked {
                bail!("no access key or API key {key_id}");
            }
            eprintln!("revoked {key_id}");
        }
    }
    Ok(())
}

fn custom_product(
    account: &str,
    id: &str,
    name: &str,
    company: Option<&str>,
    description: &str,
) -> Result<CustomProduct> {
    if !valid_account(account) {
        bail!("the account must be 12 digits, got {account:?}");
    }
    let valid_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid_id || id == "default" {
        bail!("the product id must be letters, digits, '-', '_' or '.', and not `default`; got {id:?}");
    }
    if name.trim().is_empty() {
        bail!("the product needs a name");
    }
    Ok(CustomProduct {
        account_id: account.to_owned(),
        product_id: id.to_owned(),
        name: name.to_owned(),
        company: company.unwrap_or("Personal").to_owned(),
        description: description.to_owned(),
    })
}

async fn products(state: &dyn HubStateStore, action: &Products) -> Result<()> {
    match action {
        Products::Create { account, id, name, company, description } => {
            let product = custom_product(account, id, name, company.as_deref(), description)?;
            if !state.create_product(product).await? {
                bail!("account {account} has a product {id} already");
            }
            let arn = format!("arn:aws:securityhub:<region>:{account}:product/{account}/{id}");
            println!("{}", json!({"ProductArn": arn, "ProductName": name, "AccountId": account}));
        }
        Products::List { account } => {
            for p in state.products(account.as_deref()).await? {
                println!(
                    "{}",
                    json!({"AccountId": p.account_id, "ProductId": p.product_id, "ProductName": p.name,
                           "CompanyName": p.company, "Description": p.description})
                );
            }
        }
        Products::Delete { account, id } => {
            if !state.delete_product(account, id).await? {
                bail!("account {account} has no product {id}");
            }
            eprintln!("deleted {id} of {account}");
        }
    }
    Ok(())
}

/// Registers the configuration file's products that are not registered yet.
async fn register_configured_products(state: &dyn HubStateStore, products: &[ProductConfig]) -> Result<()> {
    for p in products {
        let product = custom_product(&p.account, &p.id, &p.name, p.company.as_deref(), &p.description)
            .with_context(|| format!("the configuration's product {:?}", p.id))?;
        state.create_product(product).await?;
    }
    Ok(())
}

/// On the first start, the hub has no key: it takes the one that the environment names, or
/// makes one and prints it once.
async fn bootstrap(state: &dyn HubStateStore, keyring: &Keyring) -> Result<()> {
    if !state.list_keys().await?.is_empty() {
        return Ok(());
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        env("FINDINGHUB_BOOTSTRAP_ACCESS_KEY_ID"),
        env("FINDINGHUB_BOOTSTRAP_SECRET_ACCESS_KEY"),
        env("FINDINGHUB_BOOTSTRAP_ACCOUNT_ID"),
    ) {
        (Some(id), Some(secret), Some(account)) => {
            // Several instances on one database may start at once: when another one created this
            // key first, it is there, and that is what this start wanted.
            if state.find_key(&id).await?.is_some() {
                return Ok(());
            }
            match create_key(state, keyring, id.clone(), secret, &account, true).await {
                Ok(()) => tracing::info!(access_key_id = %id, account = %account, "created the bootstrap access key"),
                Err(_) if state.find_key(&id).await?.is_some() => {}
                Err(e) => return Err(e),
            }
        }
        _ => {
            let (id, secret) = new_access_key()?;
            let account = "000000000000";
            create_key(state, keyring, id.clone(), secret.clone(), account, true).await?;
            println!("findinghub created an administrator access key for account {account}; it is shown only once:");
            println!("export AWS_ACCESS_KEY_ID={id}");
            println!("export AWS_SECRET_ACCESS_KEY={secret}");
            println!("export AWS_DEFAULT_REGION=us-east-1");
        }
    }
    Ok(())
}

/// The TLS settings from a PEM certificate chain and its private key.
fn tls_config(cert: &Path, key: &Path) -> Result<Arc<tokio_rustls::rustls::ServerConfig>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the private key {}", key.display()))?;
    // The provider is named, not left to the process default, which is ambiguous when more than
    // one rustls backend is compiled in.
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and the key do not make a TLS configuration")?;
    Ok(Arc::new(config))
}

/// Serves HTTPS until the shutdown signal, then lets open connections finish.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (acceptor, app, builder, watcher) = (acceptor.clone(), app.clone(), builder.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), service);
                    if let Err(e) = watcher.watch(connection).await {
                        tracing::debug!(error = %e, "TLS connection ended");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    graceful.shutdown().await;
}

/// The settings of the workers that run beside the API.
struct Background {
    retention: RetentionPolicy,
    delivery: DeliverySettings,
}

/// The settings of what the listener serves beside the API.
struct Frontends {
    ingest: IngestSettings,
    receivers: ReceiverSettings,
    console: ConsoleSettings,
}

async fn serve(
    stores: Stores,
    keyring: Keyring,
    listen: &str,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    frontends: Frontends,
    background: Background,
) -> Result<()> {
    let Background { retention: policy, delivery } = background;
    let Frontends { ingest, receivers, console } = frontends;
    bootstrap(stores.state.as_ref(), &keyring).await?;
    let app = Arc::new(stores.app(keyring).with_ingest(ingest).with_receivers(receivers));
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let retention =
        tokio::spawn(run_worker(stores.findings.clone(), policy, RetentionSchedule::default(), stopped.clone()));
    let deliveries = Arc::new(
        DeliveryService::new(stores.outbox.clone(), delivery, Arc::new(MetricsObserver(app.clone())))
            .context("starting the delivery service")?
            .with_change_notifier(app.changes.clone())
            .with_local_target(TargetKind::OpsCenter, Arc::new(OpsCenterTarget(app.clone()))),
    );
    let deliveries = tokio::spawn(deliveries.run(stopped));
    tracing::info!(address = %listener.local_addr()?, tls = tls.is_some(), "findinghub is serving the Security Hub API");
    // The console's routes under /console first; the API's fallback serves every other path.
    let service = findinghub_console::router(app.clone(), console).merge(router(app));
    match tls {
        Some(config) => serve_tls(listener, service, config).await,
        None => axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await?,
    }
    let _ = stop.send(true);
    let _ = retention.await;
    let _ = deliveries.await;
    tracing::info!("stopped");
    Ok(())
}

/// The `opscenter` target: events open work items in the hub's own tracker.
struct OpsCenterTarget(Arc<App>);

#[async_trait::async_trait]
impl LocalTarget for OpsCenterTarget {
    async fn deliver(&self, envelope: &Value) -> SendOutcome {
        let app = &self.0;
        match open_work_items(app.state.as_ref(), &app.receivers.opscenter_severities, envelope, now_micros()).await {
            Ok(opened) => {
                for o in opened.iter().filter(|o| o.created) {
                    tracing::info!(work_item = %o.work_item_id, finding = %o.finding_id, "work item opened");
                }
                SendOutcome::Delivered
            }
            Err(e) => SendOutcome::Retry(e.to_string()),
        }
    }
}

/// Delivery figures into the API's `/metrics`.
struct MetricsObserver(Arc<App>);

impl DeliveryObserver for MetricsObserver {
    fn delivered(&self, target: &str, latency: std::time::Duration) {
        self.0.metrics.delivery(target, "delivered");
        self.0.metrics.delivery_latency(target, latency.as_secs_f64());
    }

    fn failed(&self, target: &str, dead: bool) {
        self.0.metrics.delivery(target, if dead { "dead" } else { "retry" });
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// A progress bar on standard error when it is a terminal, hidden otherwise.
fn progress_bar(total: u64, unit: &str) -> indicatif::ProgressBar {
    let target = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, {{eta}} left"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Findings from a file: a JSON array, `{"Findings": [...]}`, one finding, or JSON lines.
fn read_findings(text: &str) -> Result<Vec<Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(Value::Object(mut m)) if m.contains_key("Findings") => match m.remove("Findings") {
            Some(Value::Array(items)) => Ok(items),
            _ => bail!("Findings is not a list"),
        },
        Ok(v @ Value::Object(_)) => Ok(vec![v]),
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {} is not JSON", i + 1)))
            .collect(),
    }
}

async fn import(store: &dyn FindingStore, file: &str, region: &str) -> Result<()> {
    let mut text = String::new();
    if file == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(Path::new(file)).with_context(|| format!("reading {file}"))?;
    }
    let findings = read_findings(&text)?;
    let total = findings.len();
    let (mut ok, mut failures) = (0usize, Vec::new());
    let bar = progress_bar(total as u64, "findings");
    let mut findings = findings.into_iter().peekable();
    while findings.peek().is_some() {
        let chunk: Vec<Value> = findings.by_ref().take(100).collect();
        let ids: Vec<String> =
            chunk.iter().map(|f| f.get("Id").and_then(Value::as_str).unwrap_or("(no Id)").to_owned()).collect();
        let outcomes = import_findings(store, None, region, chunk.into_iter().map(Into::into).collect()).await?;
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            match outcome {
                ImportStatus::Failed { message, .. } => failures.push((id, message)),
                _ => ok += 1,
            }
        }
        bar.set_position((ok + failures.len()) as u64);
    }
    bar.finish_and_clear();
    println!("{ok} imported, {} failed", failures.len());
    for (id, why) in &failures {
        println!("  {id}: {why}");
    }
    if !failures.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::StoreLocation;
    use std::path::PathBuf;

    #[test]
    fn the_store_is_picked_by_its_url() {
        let pg = "postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dhub";
        assert_eq!(StoreLocation::parse(pg).ok(), Some(StoreLocation::Postgres(pg.into())));
        let pg = "postgresql://u@db/hub";
        assert_eq!(StoreLocation::parse(pg).ok(), Some(StoreLocation::Postgres(pg.into())));
        assert_eq!(
            StoreLocation::parse("sqlite://./data").ok(),
            Some(StoreLocation::Embedded(PathBuf::from("./data")))
        );
        for bad in ["sqlite://", "mysql://db", "./data", ""] {
            assert!(StoreLocation::parse(bad).is_err(), "{bad:?}");
        }
    }
}
