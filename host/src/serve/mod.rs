//! `orderflow serve`: configuration (the established environment names), wiring, and the
//! HTTP server.

mod plugins;

use crate::customers::{FromClaims, UserService};
use crate::http::auth::{Claims, mint};
use crate::http::claims::TokenRules;
use crate::http::jwks::Jwks;
use crate::http::server::{self, ServerLimits};
use crate::http::{self, AppState, Auth, Services};
use crate::live::CommitLog;
use crate::live::streams::Streams;
use crate::live::webhooks::dispatch::Dispatch;
use crate::live::webhooks::schedule::Schedule;
use crate::live::webhooks::send::Sender;
use crate::live::webhooks::target::Targets;
use crate::live::webhooks::{DeliveryStore, EndpointStore, Webhooks};
use crate::operations::artifacts::ArtifactKey;
use crate::operations::dry_run::Repricer;
use crate::operations::replays::{ReplayLog, Replays};
use crate::operations::shadows::{ShadowBoard, Shadows};
use crate::orders::Customers;
use crate::orders::outbox::Shards;
use crate::orders::{OrderService, OrderStore};
use crate::plugins::{Runtime, RuntimeConfig};
use crate::products::{CatalogFile, ProductService, Products};
use crate::relay::leases::Leaser;
use crate::relay::{Relay, RelayConfig};
use crate::replicas::{Identity, Membership};
use crate::store::{EmbeddedStore, MongoStore};
use crate::vitals::Vitals;
use anyhow::Context;
use plugins::{Plugins, own_plugins, shared_plugins};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, env = "PORT", default_value_t = 8003)]
    pub port: u16,
    #[command(flatten)]
    pub common: CommonConfig,
    /// Plugin components (`<name>.wasm`), watched for hot reload.
    #[arg(long, env = "PLUGIN_DIR", default_value = env!("ORDERFLOW_BUILT_PLUGINS"))]
    pub plugin_dir: PathBuf,
    /// Workflow files (`<name>.toml`), watched for hot reload.
    #[arg(long, env = "WORKFLOW_DIR", default_value = "workflows")]
    pub workflow_dir: PathBuf,
    /// Components compiled for this machine, by digest, kept across restarts (compiling an
    /// interpreter's component takes seconds); several services may share it. Unset:
    /// DATA_DIR/plugin-cache.
    #[arg(long, env = "PLUGIN_CACHE_DIR")]
    pub plugin_cache_dir: Option<PathBuf>,
    /// The secret replicas sign the compiled plugins they share with (a replica starting
    /// with an empty DATA_DIR loads them instead of compiling). Unset: derived from
    /// JWT_SECRET; with neither, each replica compiles for itself.
    #[arg(long, env = "PLUGIN_ARTIFACT_KEY", hide_env_values = true)]
    pub plugin_artifact_key: Option<String>,
    /// The share (0.0–1.0) of plugin decisions that logged whose lines are written to this
    /// service's log; 0: none.
    #[arg(long, env = "PLUGIN_LOG_SAMPLE", default_value_t = 0.0, value_parser = share)]
    pub plugin_log_sample: f64,
    /// The workflow new orders follow.
    #[arg(long, env = "DEFAULT_WORKFLOW", default_value = "standard")]
    pub workflow: String,
    /// MongoDB connection string (pool size, timeouts, TLS as its options say); unset, orders
    /// live in the embedded store under DATA_DIR.
    #[arg(long, env = "MONGODB_URL")]
    pub mongodb_url: Option<String>,
    /// The embedded store's write-ahead log is kept under this many MiB.
    #[arg(long, env = "WAL_LIMIT_MB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(2..))]
    pub wal_limit_mb: u64,
    /// The MongoDB database.
    #[arg(long, env = "DATABASE_NAME", default_value = "ecommerce_orders")]
    pub database_name: String,
    /// This replica's id, shown in /health and /metrics; unset, one kept in DATA_DIR.
    #[arg(long, env = "REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Relay the outbox's events to Kafka.
    #[arg(long, env = "KAFKA_ENABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub kafka_enabled: bool,
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "localhost:9092"
    )]
    pub kafka_bootstrap_servers: String,
    /// Put before every topic name (e.g. `staging.` → `staging.order.created`).
    #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "")]
    pub kafka_topic_prefix: String,
    /// Partitions and replication factor of the topics the relay creates.
    #[arg(long, env = "KAFKA_TOPIC_PARTITIONS", default_value_t = 3)]
    pub kafka_topic_partitions: i32,
    #[arg(long, env = "KAFKA_TOPIC_REPLICATION", default_value_t = 1)]
    pub kafka_topic_replication: i32,
    /// Product service base URL; unset, products come from the catalog file.
    #[arg(long, env = "PRODUCT_SERVICE_URL")]
    pub product_service_url: Option<String>,
    /// Per request to a neighbour service (product and user service alike).
    #[arg(long, env = "PRODUCT_SERVICE_TIMEOUT_MS", default_value_t = 2000)]
    pub product_service_timeout_ms: u64,
    /// Products when no product service is configured.
    #[arg(long, env = "CATALOG_FILE", default_value = "catalog/products.json")]
    pub catalog_file: PathBuf,
    /// User service base URL: customer profiles of new orders come from it.
    #[arg(long, env = "USER_SERVICE_URL")]
    pub user_service_url: Option<String>,
    /// The token issuer's published signing keys (JWKS), e.g. the user service's
    /// `/.well-known/jwks.json`. Takes precedence over JWT_PUBLIC_KEY_FILE and JWT_SECRET.
    #[arg(long, env = "JWKS_URL")]
    pub jwks_url: Option<String>,
    /// RS256: the token issuer's public key (PEM). Takes precedence over JWT_SECRET.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// What tokens' claims must satisfy, whichever key checks them.
    #[command(flatten)]
    pub token_rules: TokenRules,
    /// A request's head must arrive within this, from its first byte.
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// A request's body must arrive within this, or the answer is a 408.
    #[arg(long, env = "BODY_READ_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_read_timeout_ms: u64,
    /// A connection with no request under way is closed after this.
    #[arg(long, env = "IDLE_TIMEOUT_MS", default_value_t = 75_000)]
    pub idle_timeout_ms: u64,
    /// Connections open at once; 0: as many as the open-files limit allows, less a reserve.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,
    /// Webhooks may point at loopback and private addresses (receivers on the shop's own
    /// network); refused otherwise.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,
    /// How long a failing webhook delivery is tried before it is dead (kept for an admin to
    /// redeliver).
    #[arg(long, env = "WEBHOOK_RETRY_FOR_S", default_value_t = 86_400)]
    pub webhook_retry_for_s: u64,
    /// The wait after a delivery's first failure; it doubles after each, up to an hour.
    #[arg(long, env = "WEBHOOK_FIRST_RETRY_MS", default_value_t = 10_000)]
    pub webhook_first_retry_ms: u64,
    /// How long a receiver has to answer a delivery; a try without an answer by then failed.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// After SIGTERM, how long requests under way may take to finish.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Browser origins allowed to call the API, comma-separated (`*`: any).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', default_value = "*")]
    pub cors_origins: Vec<String>,
}

/// How long the console's development sign-in link works, as `orderflow token`'s default.
const CONSOLE_LINK_HOURS: u64 = 24;

/// A share: a number from 0 to 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("`{text}` is not a share from 0 to 1 (e.g. 0.01)")),
    }
}

/// What `serve` and `token` share.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonConfig {
    /// Where the embedded store, the plugin cache and the development secret live.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// HS256 secret for bearer tokens; unset, a development secret is kept in DATA_DIR.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

impl CommonConfig {
    /// JWT_SECRET, unless unset or empty (a compose file's `JWT_SECRET=`).
    fn configured_secret(&self) -> Option<&str> {
        self.jwt_secret.as_deref().filter(|s| !s.is_empty())
    }

    /// The development secret's file, `DATA_DIR/dev-jwt-secret`, as an absolute path.
    pub fn development_secret_file(&self) -> PathBuf {
        let path = self.data_dir.join("dev-jwt-secret");
        std::path::absolute(&path).unwrap_or(path)
    }

    /// What `orderflow token` signs with, and a sentence saying which secret that is:
    /// JWT_SECRET, or the development secret the service keeps in DATA_DIR. That one is
    /// created only when `create` says so: made anywhere else than where the service runs,
    /// it would sign tokens the service refuses.
    pub fn token_secret(&self, create: bool) -> anyhow::Result<(Vec<u8>, String)> {
        if self.configured_secret().is_some() {
            let said = "signed with JWT_SECRET: the service takes it if it has the same JWT_SECRET";
            return Ok((self.secret()?, said.into()));
        }
        let file = self.development_secret_file();
        let data_dir = file.parent().unwrap_or(&file).display().to_string();
        let existed = file.exists();
        anyhow::ensure!(
            existed || create,
            "there is no development secret at {}. `orderflow serve` creates it in its DATA_DIR \
             when it first starts, and refuses tokens signed with any other: run this where the \
             service runs, or set DATA_DIR to its data directory (or JWT_SECRET to its secret); \
             --create-secret creates one here, for a service yet to start with DATA_DIR={data_dir}",
            file.display()
        );
        let secret = self.secret()?;
        let what = if existed {
            "signed with"
        } else {
            "created and signed with"
        };
        let said = format!(
            "{what} the development secret {}: the service takes it if it runs with \
             DATA_DIR={data_dir} and no JWT_SECRET",
            file.display()
        );
        Ok((secret, said))
    }

    /// The HS256 secret: JWT_SECRET, or a random one created once in the data directory
    /// so `orderflow token` and the server agree with no set-up.
    pub fn secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = self.configured_secret() {
            anyhow::ensure!(
                secret.len() >= 16,
                "JWT_SECRET must be at least 16 characters"
            );
            return Ok(secret.as_bytes().to_vec());
        }
        let path = self.data_dir.join("dev-jwt-secret");
        if !path.exists() {
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("creating {}", self.data_dir.display()))?;
            let secret = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            std::fs::write(&path, secret).with_context(|| format!("writing {}", path.display()))?;
        }
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }
}

impl ServeConfig {
    /// The key the compiled plugins replicas share are signed with, if they share one.
    fn artifact_key(&self) -> Option<ArtifactKey> {
        let secret = (self
            .plugin_artifact_key
            .as_deref()
            .filter(|k| !k.is_empty()))
        .or(self.common.configured_secret())?;
        Some(ArtifactKey::derive(secret.as_bytes()))
    }

    /// Compose files and `.env` files write `NAME=` for "not set": an empty URL is no URL.
    fn without_empty_urls(mut self) -> Self {
        for url in [
            &mut self.mongodb_url,
            &mut self.product_service_url,
            &mut self.user_service_url,
            &mut self.jwks_url,
            &mut self.replica_id,
        ] {
            if url.as_deref().is_some_and(str::is_empty) {
                *url = None;
            }
        }
        self
    }
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let config = config.without_empty_urls();
    let data = &config.common.data_dir;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(
            (config.plugin_cache_dir.clone()).unwrap_or_else(|| data.join("plugin-cache")),
        ),
        log_sample: config.plugin_log_sample,
        ..RuntimeConfig::default()
    })?;
    let membership = Membership::new(Identity::resolve(config.replica_id.as_deref(), data)?);
    // Replicas share MongoDB: the plugin registry lives there, they heartbeat there and
    // lease the outbox's shards, keep replays and publish shadows' findings there. The
    // embedded store is one process's, which keeps its plugin versions on its disk and
    // relays every shard.
    type Shared = (
        Arc<dyn ReplayLog>,
        Option<Arc<dyn ShadowBoard>>,
        Arc<dyn CommitLog>,
        Arc<dyn EndpointStore>,
        Arc<dyn DeliveryStore>,
    );
    let mut outbox_feed = None;
    let (store, shards, plugins, (replay_log, shadow_board, commits, endpoints, deliveries)): (
        Arc<dyn OrderStore>,
        _,
        _,
        Shared,
    ) = match &config.mongodb_url {
        Some(url) => {
            let mongo = Arc::new(MongoStore::connect(url, &config.database_name).await?);
            let plugins = shared_plugins(&config, runtime, mongo.clone(), &membership).await?;
            let serving = plugins.registry.clone();
            let changed = serving.generations();
            tokio::spawn(membership.clone().run(
                mongo.clone(),
                move || serving.current().digests(),
                changed,
            ));
            // The outbox's shards are leased whether or not Kafka is on: the relay
            // publishes the events of the orders of its shards, and the expiry of
            // reservations looks at the same orders.
            let (leaser, shards) = Leaser::new(mongo.clone(), membership.clone());
            tokio::spawn(leaser.run());
            if config.kafka_enabled {
                outbox_feed = Some(mongo.clone());
            }
            let shared: Shared = (
                mongo.clone(),
                Some(mongo.clone()),
                mongo.clone(),
                mongo.clone(),
                mongo.clone(),
            );
            (mongo as Arc<dyn OrderStore>, shards, plugins, shared)
        }
        None => {
            let plugins = own_plugins(&config, runtime)?;
            let embedded = EmbeddedStore::open_with_wal_limit(
                &data.join("orders.db"),
                config.wal_limit_mb * 1024 * 1024,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            membership.set_shards(Shards::All.numbers());
            let embedded = Arc::new(embedded);
            let kept: Shared = (
                embedded.clone(),
                Some(embedded.clone()),
                embedded.clone(),
                embedded.clone(),
                embedded.clone(),
            );
            (
                embedded as Arc<dyn OrderStore>,
                tokio::sync::watch::channel(Shards::All).1,
                plugins,
                kept,
            )
        }
    };
    let Plugins {
        registry,
        deployer,
        hot_reload: _hot_reload,
    } = plugins;
    if registry.workflow(&config.workflow).is_none() {
        let errors: Vec<String> = registry
            .current()
            .errors
            .values()
            .map(|f| format!("{}: {}", f.file, f.error))
            .collect();
        anyhow::bail!(
            "workflow `{}` did not load from {} (plugins from {}){}",
            config.workflow,
            config.workflow_dir.display(),
            config.plugin_dir.display(),
            if errors.is_empty() {
                String::new()
            } else {
                format!(":\n  {}", errors.join("\n  "))
            }
        );
    }
    let neighbour_timeout = Duration::from_millis(config.product_service_timeout_ms);
    let products: Arc<dyn Products> = match &config.product_service_url {
        Some(url) => Arc::new(ProductService::new(url, neighbour_timeout, 2)?),
        None => Arc::new(CatalogFile::load(&config.catalog_file)?),
    };
    let auth = match (&config.jwks_url, &config.jwt_public_key_file) {
        (Some(url), _) => {
            Auth::jwks(published_keys(url, neighbour_timeout, &config.token_rules).await?)
        }
        (None, Some(path)) => Auth::rs256(&read(path)?, &config.token_rules)?,
        (None, None) => {
            if config.common.configured_secret().is_none() {
                tracing::warn!(
                    "JWT_SECRET is not set: using the development secret in {}",
                    data.display()
                );
            }
            Auth::hs256(&config.common.secret()?, &config.token_rules)
        }
    };
    let customers: Arc<dyn Customers> = match &config.user_service_url {
        Some(url) => Arc::new(UserService::new(url, neighbour_timeout)?),
        None => Arc::new(FromClaims),
    };
    let shadows = Shadows::start(&membership.identity.replica, shadow_board).await;
    tokio::spawn(async {
        // Calls are put in the hour they were made in to the minute, read or not.
        let mut minutes = tokio::time::interval(Duration::from_secs(60));
        loop {
            minutes.tick().await;
            crate::metrics::metrics()
                .activity()
                .sample(chrono::Utc::now());
        }
    });
    let orders = Arc::new(OrderService::new(
        registry.clone(),
        store.clone(),
        products,
        customers,
        &config.workflow,
        shadows.clone(),
    ));
    tokio::spawn(crate::orders::expiry::run(orders.clone(), shards.clone()));
    let repricer = Arc::new(Repricer::new(orders.clone(), deployer.clone()));
    let replays = Replays::new(
        store.clone(),
        registry.clone(),
        deployer.clone(),
        replay_log,
        &membership.identity.replica,
        Replays::workers(),
    );
    // The health probes' figures: refreshed once before the service listens, then in the
    // background.
    let vitals = Arc::new(Vitals::default());
    vitals.refresh(store.as_ref(), false, true).await;
    tokio::spawn(vitals.clone().run(store.clone(), membership.clone()));
    let allowed = server::connections_allowed();
    let limits = ServerLimits {
        header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
        idle_timeout: Duration::from_millis(config.idle_timeout_ms),
        max_connections: match config.max_connections {
            0 => allowed,
            n => n.min(allowed),
        },
        shutdown_grace: Duration::from_millis(config.shutdown_grace_ms),
    };
    // Streams stay open: a quarter of the connections is kept for everything else.
    let streams = Streams::start(commits, store.clone(), limits.max_connections * 3 / 4);
    // Webhooks are delivered by the replica leasing each order's shard, as its events are
    // relayed.
    let targets = Targets {
        allow_private: config.webhook_allow_private,
    };
    let schedule = Schedule {
        budget: Duration::from_secs(config.webhook_retry_for_s),
        first: Duration::from_millis(config.webhook_first_retry_ms),
    };
    let dispatch = Dispatch::new(
        streams.clone(),
        deliveries.clone(),
        endpoints.clone(),
        shards.clone(),
        Sender::new(targets, Duration::from_millis(config.webhook_timeout_ms)),
        schedule,
    );
    tokio::spawn(dispatch.clone().run());
    let webhooks = Arc::new(Webhooks::new(endpoints, deliveries, targets, dispatch));
    let relay = if config.kafka_enabled {
        let relay = Relay::new(
            store,
            shards,
            RelayConfig {
                brokers: config.kafka_bootstrap_servers.clone(),
                topic_prefix: config.kafka_topic_prefix.clone(),
                partitions: config.kafka_topic_partitions,
                replication: config.kafka_topic_replication,
            },
        )?;
        let status = relay.status();
        // Other replicas' writes reach this one's relay through the outbox's change feed;
        // its own writes notify it directly.
        if let Some(mongo) = outbox_feed {
            let written = orders.outbox_written();
            tokio::spawn(async move { mongo.follow_outbox(written).await });
        }
        tokio::spawn(relay.run(orders.outbox_written()));
        Some(status)
    } else {
        None
    };
    let app = http::router(
        AppState::new(Services {
            orders,
            repricer,
            replays,
            shadows: shadows.clone(),
            auth: Arc::new(auth),
            registry,
            deployer,
            relay,
            membership,
            vitals,
            streams: streams.clone(),
            webhooks,
        }),
        &config.cors_origins,
        Duration::from_millis(config.body_read_timeout_ms),
    );
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("binding {}:{}", config.host, config.port))?;
    // Printed, not only logged: tests and scripts started with PORT=0 read it.
    println!("orderflow listening on http://{}", listener.local_addr()?);
    if config.jwks_url.is_none()
        && config.jwt_public_key_file.is_none()
        && config.common.configured_secret().is_none()
    {
        // Whoever reads this log can read the development secret too: the link gives them
        // nothing more, and a newcomer a console without minting a token by hand.
        let claims = Claims::development("console".into(), true, None, CONSOLE_LINK_HOURS);
        let token = mint(&config.common.secret()?, &claims)?;
        tracing::warn!(
            "development sign-in to the console, valid {CONSOLE_LINK_HOURS} h: {}",
            http::console::sign_in_link(listener.local_addr()?, &token)
        );
    }
    // Streams never finish on their own: they end as the server stops taking requests.
    let stopping = async move {
        shutdown().await;
        streams.close();
    };
    server::serve(listener, app, limits, stopping).await;
    shadows.publish().await;
    Ok(())
}

/// The issuer's key set, fetched once now so a wrong URL shows in the log at start-up; an
/// issuer that is not up yet is not fatal (tokens fetch the set when they need it).
async fn published_keys(url: &str, timeout: Duration, rules: &TokenRules) -> anyhow::Result<Jwks> {
    let jwks = Jwks::new(url, timeout, JWKS_MIN_REFRESH, rules)?;
    match jwks.refresh().await {
        Ok(0) => tracing::warn!(url, "the JWKS has no usable signing keys yet"),
        Ok(keys) => tracing::info!(url, keys, "token signing keys fetched"),
        Err(e) => tracing::warn!(error = %e, "token signing keys not fetched yet"),
    }
    Ok(jwks)
}

/// An unknown `kid` refetches the issuer's keys at most this often.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
