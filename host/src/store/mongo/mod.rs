//! The MongoDB store: the production backend, behind the same trait and conformance suite
//! as the embedded one.
//!
//! Documents are the API's JSON with MongoDB conventions: `_id` is the order (or event) id,
//! fields named `at` or `*_at` are BSON dates, money is integer minor units with its
//! currency. Collections: `orders` (items, address, history and provenance embedded, and
//! the store's own fields: `outbox`, the order's events not yet published; `shard`, the
//! relay lease that covers them; `idempotency`, the key that created it), `order_events`
//! (each order's published events, `published_at` set); for replicas sharing the database,
//! `relay_leases` (a shard's holder, fencing token and expiry) and `replicas` (heartbeats),
//! `stock` (each product's ledger: `stock/`), and the shared plugin registry: `plugin_versions`, `plugins`, `workflows` and
//! `plugin_artifacts` (`registry.rs`).
//!
//! Every order change is one single-document write: the order with its new events in its
//! outbox, conditional on the version it replaces (a 409 when it moved). MongoDB writes one
//! document atomically, so an order is never stored without its events or the other way
//! round, and one write is one round trip: placing an order used to be a transaction of
//! three (order, events, commit), four or five with an idempotency key. The relay reads
//! outboxes through a partial index of the orders that have one, archives what the broker
//! acknowledged into `order_events`, and takes it out of the outbox.
//!
//! The server must be a replica set (a single-node one will do, as in docker-compose.yml):
//! the shared plugin registry follows its change streams. A standalone server is refused
//! at start-up with that explanation.
//!
//! `MongoStore` is written in a file per concern, as the embedded store is: connecting, the
//! indexes and the migration of older databases here, the `OrderStore` methods in
//! `orders.rs`, the document mapping in `documents.rs`, and the shared plugin registry in `registry.rs`.

mod batch;
mod deliveries;
mod documents;
mod feed;
mod leases;
mod live;
mod orders;
mod registry;
mod replays;
mod shadows;
mod stock;
#[cfg(test)]
mod tests;
mod webhooks;

use crate::domain::StoreError;
use crate::metrics::metrics;
use crate::orders::outbox::shard_of;
use crate::orders::{Order, OrderId};
use bson::{Bson, Document, doc};
use documents::{entry_from_archived, order_fields, order_from};
use mongodb::event::{EventHandler, command::CommandEvent};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Collection, IndexModel};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Bound on every store operation, so a stalled server turns
/// into a 503 rather than a hung request.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Start-up: attempts to reach the server, and the pause between them.
const CONNECT_ATTEMPTS: u32 = 5;
const CONNECT_PAUSE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct MongoStore {
    inserts: batch::Inserts,
    db: mongodb::Database,
    orders: Collection<Document>,
    events: Collection<Document>,
    keys: Collection<Document>,
    leases: Collection<Document>,
    replicas: Collection<Document>,
    plugin_versions: Collection<Document>,
    stock: Collection<Document>,
    /// When the stock markers were last swept (`stock/`).
    stock_swept: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Markers of written orders waiting to be cleared, by product (`stock/`).
    stock_clearing: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>>,
    /// Moves taking units waiting to be sent together (`stock/takes.rs`).
    stock_takes: Arc<stock::Takes>,
    /// Reads of ledgers waiting to be sent together (`stock/`).
    stock_reads: Arc<stock::Reads>,
    /// The live streams' feed, once they started (`live.rs`).
    live: Arc<std::sync::OnceLock<Arc<crate::live::Feed>>>,
    /// The blocks of units this process draws ahead for its placements (`stock/blocks.rs`).
    stock_blocks: Arc<stock::Blocks>,
    plugin_artifacts: Collection<Document>,
    /// Webhook endpoints (`webhooks.rs`), deliveries and cursors (`deliveries.rs`).
    webhook_endpoints: Collection<Document>,
    webhook_deliveries: Collection<Document>,
    webhook_cursors: Collection<Document>,
    /// The GridFS buckets of the versions' and the artifacts' bytes, made once: a bucket
    /// checks its indexes before its first upload, several round trips.
    plugin_bytes: mongodb::gridfs::GridFsBucket,
    artifact_bytes: mongodb::gridfs::GridFsBucket,
    plugins: Collection<Document>,
    workflows: Collection<Document>,
    followers: Arc<feed::Followers>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Connections each replica keeps open to MongoDB, whatever the load (the connection
/// string's `minPoolSize` overrides it).
const MIN_POOL: u32 = 8;
/// The connections of the replicas' coordination (heartbeats, relay leases), apart from
/// the orders' pool: when a slow database holds every order connection for seconds, a
/// lease renewal waiting behind them would lose the lease. All of them are kept open:
/// over a slow network a new one costs round trips a renewal cannot wait for. Renewals,
/// heartbeats and claims are each at most a few in flight.
const COORDINATION_POOL: u32 = 8;

/// MongoDB's code for a write that would break a unique index.
pub(super) const DUPLICATE_KEY: i32 = 11000;

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(many) => many
            .write_errors
            .as_ref()
            .is_some_and(|errors| errors.iter().all(|w| w.code == DUPLICATE_KEY)),
        _ => false,
    }
}

/// Runs `work` with a deadline; a stalled server is an unavailable store.
async fn bounded<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(OPERATION_TIMEOUT, work)
        .await
        .map_err(|_| unavailable("MongoDB did not answer in time"))?
}

impl MongoStore {
    /// Connects to `url` (pool size, timeouts and TLS come from the connection string),
    /// retrying a few times while the server comes up, checks that it is a replica set,
    /// and creates the indexes (idempotent).
    pub async fn connect(url: &str, database: &str) -> anyhow::Result<Self> {
        let options = ClientOptions::parse(url)
            .await
            .map_err(|e| anyhow::anyhow!("MONGODB_URL is not a usable connection string: {e}"))?;
        Self::connect_with(options, database).await
    }

    /// [`MongoStore::connect`] with the connection string already parsed (tests add a
    /// command monitor to it).
    pub(crate) async fn connect_with(
        mut options: ClientOptions,
        database: &str,
    ) -> anyhow::Result<Self> {
        options.app_name.get_or_insert_with(|| "orderflow".into());
        // Every command counted by name: what an idle replica costs the database is a
        // budget (docs/replicas.md), and this is how it is watched.
        options.command_event_handler.get_or_insert_with(|| {
            EventHandler::callback(|event| {
                if let CommandEvent::Started(started) = event {
                    metrics().store_command(&started.command_name);
                }
            })
        });
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(5));
        // Connections kept open: over a slow network, opening one takes several round
        // trips, and the lease renewals and heartbeats must not wait for that.
        options.min_pool_size.get_or_insert(MIN_POOL);
        let mut coordination = options.clone();
        coordination.app_name = Some(format!(
            "{} (coordination)",
            options.app_name.as_deref().unwrap_or_default()
        ));
        coordination.min_pool_size = Some(COORDINATION_POOL);
        coordination.max_pool_size = Some(COORDINATION_POOL);
        let coordination = mongodb::Client::with_options(coordination)?.database(database);
        let client = mongodb::Client::with_options(options)?;
        let db = client.database(database);
        let mut attempt = 1;
        let hello = loop {
            match db.run_command(doc! { "hello": 1 }).await {
                Ok(hello) => break hello,
                Err(e) if attempt < CONNECT_ATTEMPTS => {
                    tracing::warn!(attempt, error = %e, "MongoDB not reachable yet");
                    attempt += 1;
                    tokio::time::sleep(CONNECT_PAUSE).await;
                }
                Err(e) => {
                    anyhow::bail!("MongoDB unreachable after {CONNECT_ATTEMPTS} attempts: {e}")
                }
            }
        };
        if !hello.contains_key("setName") && hello.get_str("msg").ok() != Some("isdbgrid") {
            anyhow::bail!(
                "MongoDB is a standalone server: orderflow follows its change streams (replicas \
                 learn of plugin changes that way), which need a replica set (a single node will \
                 do: `mongod --replSet rs0` then `rs.initiate()`, as docker-compose.yml does)"
            );
        }
        let orders = db.collection("orders");
        let store = MongoStore {
            inserts: batch::Inserts::start(orders.clone()),
            orders,
            events: db.collection("order_events"),
            keys: db.collection("idempotency_keys"),
            leases: coordination.collection("relay_leases"),
            replicas: coordination.collection("replicas"),
            plugin_versions: db.collection("plugin_versions"),
            stock: db.collection("stock"),
            stock_swept: Arc::default(),
            stock_clearing: Arc::default(),
            stock_takes: Arc::default(),
            stock_reads: Arc::default(),
            stock_blocks: Arc::default(),
            live: Arc::default(),
            plugin_artifacts: db.collection("plugin_artifacts"),
            webhook_endpoints: db.collection("webhook_endpoints"),
            webhook_deliveries: db.collection("webhook_deliveries"),
            webhook_cursors: db.collection("webhook_cursors"),
            plugin_bytes: registry::bucket(&db, "plugin_bytes"),
            artifact_bytes: registry::bucket(&db, "plugin_artifacts"),
            plugins: db.collection("plugins"),
            workflows: db.collection("workflows"),
            followers: Arc::default(),
            db,
        };
        store.create_indexes().await?;
        store.adopt_outbox_and_keys().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> mongodb::error::Result<()> {
        let index = |name: &str, keys: Document, unique: bool| {
            IndexModel::builder()
                .keys(keys)
                .options(
                    IndexOptions::builder()
                        .name(name.to_owned())
                        .unique(unique)
                        .build(),
                )
                .build()
        };
        // An index of only the documents matching `only`.
        let partial = |name: &str, keys: Document, only: Document, unique: bool| {
            let mut model = index(name, keys, unique);
            if let Some(options) = model.options.as_mut() {
                options.partial_filter_expression = Some(only);
            }
            model
        };
        self.orders
            .create_indexes([
                index("order_number", doc! { "order_number": 1 }, true),
                index(
                    "user_status_created",
                    doc! { "user_id": 1, "status": 1, "created_at": -1 },
                    false,
                ),
                index(
                    "user_created",
                    doc! { "user_id": 1, "created_at": -1 },
                    false,
                ),
                index(
                    "status_created",
                    doc! { "status": 1, "created_at": -1 },
                    false,
                ),
                index("payment_status", doc! { "payment_status": 1 }, false),
                index("created", doc! { "created_at": -1 }, false),
                // Orders with events waiting, by shard: what the relays read.
                partial(
                    "outbox",
                    doc! { "shard": 1, "_id": 1 },
                    doc! { "outbox": { "$exists": true } },
                    false,
                ),
                // Event ids are unique across the outboxes (an order's own outbox is
                // checked by its update: a unique index does not look inside one document).
                partial(
                    "outbox_event",
                    doc! { "outbox.event_id": 1 },
                    doc! { "outbox.event_id": { "$exists": true } },
                    true,
                ),
                // Holds on units that can still run out: what the expiry reads.
                partial(
                    "hold_expiry",
                    doc! { "reservation.expires_at": 1 },
                    doc! { "reservation.expires_at": { "$exists": true } },
                    false,
                ),
                // Orders that took units from a block: what settling a block reads.
                partial(
                    "drawn_from",
                    doc! { "drawn_from.b": 1 },
                    doc! { "drawn_from": { "$exists": true } },
                    false,
                ),
                partial(
                    "idempotency",
                    doc! { "idempotency.user_id": 1, "idempotency.key": 1 },
                    doc! { "idempotency": { "$exists": true } },
                    true,
                ),
            ])
            .await?;
        self.events
            .create_indexes([index("order", doc! { "order_id": 1, "_id": 1 }, false)])
            .await?;
        self.plugin_versions
            .create_indexes([index(
                "plugin_stored",
                doc! { "plugin": 1, "stored_at": 1 },
                false,
            )])
            .await?;
        // One endpoint per URL, whichever replica registers it.
        self.webhook_endpoints
            .create_indexes([index("url", doc! { "url": 1 }, true)])
            .await?;
        // One delivery per endpoint and event; the next in line of each order and endpoint.
        self.webhook_deliveries
            .create_indexes([
                index(
                    "endpoint_event",
                    doc! { "endpoint": 1, "event_id": 1 },
                    true,
                ),
                index(
                    "line",
                    doc! { "state": 1, "shard": 1, "p": 1, "pi": 1 },
                    false,
                ),
                index("log", doc! { "endpoint": 1, "p": -1, "pi": -1 }, false),
            ])
            .await?;
        Ok(())
    }

    /// Moves what databases written before orders held their own pending events and
    /// idempotency keys kept elsewhere into the orders: each unpublished event of
    /// `order_events` into its order's outbox, each key of `idempotency_keys` into its
    /// order. Each is removed from where it was once moved, so this runs at every start and
    /// finds nothing the second time.
    async fn adopt_outbox_and_keys(&self) -> mongodb::error::Result<()> {
        let mut events = self
            .events
            .find(doc! { "published_at": Bson::Null })
            .sort(doc! { "_id": 1 })
            .await?;
        while events.advance().await? {
            let event = events.deserialize_current()?;
            let (Some(id), Ok(order)) = (event.get("_id").cloned(), event.get_str("order_id"))
            else {
                continue;
            };
            let shard = order.parse::<OrderId>().map(|o| i32::from(shard_of(o)));
            self.orders
                .update_one(
                    doc! { "_id": order, "outbox.event_id": { "$ne": id.clone() } },
                    doc! {
                        "$push": { "outbox": entry_from_archived(event.clone()) },
                        "$set": { "shard": shard.unwrap_or(0) },
                    },
                )
                .await?;
            self.events.delete_one(doc! { "_id": id }).await?;
        }
        let mut keys = self.keys.find(doc! {}).await?;
        while keys.advance().await? {
            let key = keys.deserialize_current()?;
            let (Ok(id), Ok(order)) = (key.get_document("_id"), key.get_str("order_id")) else {
                continue;
            };
            let idempotency = doc! {
                "user_id": id.get_str("user_id").unwrap_or_default(),
                "key": id.get_str("key").unwrap_or_default(),
                "fingerprint": key.get_str("fingerprint").unwrap_or_default(),
            };
            self.orders
                .update_one(
                    doc! { "_id": order, "idempotency": { "$exists": false } },
                    doc! { "$set": { "idempotency": idempotency } },
                )
                .await?;
            self.keys.delete_one(doc! { "_id": id.clone() }).await?;
        }
        Ok(())
    }

    async fn find_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let found = self
            .orders
            .find_one(doc! { "_id": id.to_string() })
            .projection(order_fields())
            .await
            .map_err(unavailable)?;
        found.map(order_from).transpose()
    }
}
