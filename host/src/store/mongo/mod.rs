//! The MongoDB store: the production backend, behind the same trait and conformance suite
//! as the embedded one.
//!
//! Documents are the API's JSON with MongoDB conventions: `_id` is the order (or event) id,
//! fields named `at` or `*_at` are BSON dates, money is integer minor units with its
//! currency. Collections: `orders` (items, address, history and provenance embedded),
//! `order_events` (the outbox and each order's event history; `published_at` is null until
//! the relay has the broker's acknowledgement, `shard` says which relay lease covers it)
//! and `idempotency_keys`; for replicas sharing the database, `relay_leases` (a shard's
//! holder, fencing token and expiry) and `replicas` (heartbeats), and the shared plugin
//! registry: `plugin_versions`, `plugins` and `workflows` (`registry.rs`).
//!
//! An order change and its events are written in one multi-document transaction, so the
//! server must be a replica set (a single-node one will do, as in docker-compose.yml); a
//! standalone server is refused at start-up with that explanation. Transactions that lose a
//! write conflict are retried; a retry that finds the version moved is a 409.
//!
//! `MongoStore` is written in a file per concern, as the embedded store is: connecting and
//! the indexes here, the transaction runner every write goes through in `transaction.rs`,
//! the `OrderStore` methods in `orders.rs`, the document mapping in `documents.rs`.

mod documents;
mod leases;
mod orders;
mod registry;
#[cfg(test)]
mod tests;
mod transaction;

use crate::orders::StoreError;
use crate::orders::outbox::shard_of;
use crate::orders::{Order, OrderId};
use bson::{Bson, Document, doc};
use documents::order_from;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Collection, IndexModel};
use std::future::Future;
use std::time::Duration;

/// Bound on every store operation (a transaction counts as one), so a stalled server turns
/// into a 503 rather than a hung request.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Start-up: attempts to reach the server, and the pause between them.
const CONNECT_ATTEMPTS: u32 = 5;
const CONNECT_PAUSE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct MongoStore {
    client: mongodb::Client,
    db: mongodb::Database,
    orders: Collection<Document>,
    events: Collection<Document>,
    keys: Collection<Document>,
    leases: Collection<Document>,
    replicas: Collection<Document>,
    plugin_versions: Collection<Document>,
    plugins: Collection<Document>,
    workflows: Collection<Document>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Runs `work` with a deadline; a stalled server is an unavailable store.
async fn bounded<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(OPERATION_TIMEOUT, work)
        .await
        .map_err(|_| unavailable("MongoDB did not answer in time"))?
}

impl MongoStore {
    /// Connects to `url` (pool size, timeouts and TLS come from the connection string),
    /// retrying a few times while the server comes up, checks that it can run transactions,
    /// and creates the indexes (idempotent).
    pub async fn connect(url: &str, database: &str) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(url)
            .await
            .map_err(|e| anyhow::anyhow!("MONGODB_URL is not a usable connection string: {e}"))?;
        options.app_name.get_or_insert_with(|| "orderflow".into());
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(5));
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
                "MongoDB is a standalone server: orderflow writes an order and its events in one \
                 transaction, which needs a replica set (a single node will do: `mongod --replSet rs0` \
                 then `rs.initiate()`, as docker-compose.yml does)"
            );
        }
        let store = MongoStore {
            orders: db.collection("orders"),
            events: db.collection("order_events"),
            keys: db.collection("idempotency_keys"),
            leases: db.collection("relay_leases"),
            replicas: db.collection("replicas"),
            plugin_versions: db.collection("plugin_versions"),
            plugins: db.collection("plugins"),
            workflows: db.collection("workflows"),
            client,
            db,
        };
        store.create_indexes().await?;
        store.assign_shards().await?;
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
            ])
            .await?;
        self.events
            .create_indexes([
                index("order", doc! { "order_id": 1, "_id": 1 }, false),
                index("unpublished", doc! { "published_at": 1, "_id": 1 }, false),
                index(
                    "unpublished_shard",
                    doc! { "published_at": 1, "shard": 1, "_id": 1 },
                    false,
                ),
            ])
            .await?;
        self.plugin_versions
            .create_indexes([index(
                "plugin_stored",
                doc! { "plugin": 1, "stored_at": 1 },
                false,
            )])
            .await?;
        Ok(())
    }

    /// Gives every unpublished event written before events had shards its shard, so the
    /// relays of the replicas find it (published ones are never relayed again).
    async fn assign_shards(&self) -> mongodb::error::Result<()> {
        let mut cursor = self
            .events
            .find(doc! { "published_at": Bson::Null, "shard": { "$exists": false } })
            .projection(doc! { "order_id": 1 })
            .await?;
        while cursor.advance().await? {
            let event = cursor.deserialize_current()?;
            let Some(order) = event
                .get_str("order_id")
                .ok()
                .and_then(|id| id.parse::<OrderId>().ok())
            else {
                continue;
            };
            self.events
                .update_one(
                    doc! { "_id": event.get("_id").cloned().unwrap_or(Bson::Null) },
                    doc! { "$set": { "shard": i32::from(shard_of(order)) } },
                )
                .await?;
        }
        Ok(())
    }

    async fn find_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let found = self
            .orders
            .find_one(doc! { "_id": id.to_string() })
            .await
            .map_err(unavailable)?;
        found.map(order_from).transpose()
    }
}
