//! The database's schema, as the migrations that made it, and how a database is brought up to it.

use super::unavailable;
use crate::domain::StoreError;
use rusqlite::Connection;

/// The first schema, as databases made before `MIGRATIONS` were counted have it.
pub(super) const FIRST_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_status TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_user_created ON orders (user_id, created_at);
CREATE INDEX IF NOT EXISTS orders_user_status ON orders (user_id, status, created_at);
CREATE INDEX IF NOT EXISTS orders_status_created ON orders (status, created_at);
CREATE INDEX IF NOT EXISTS orders_payment_status ON orders (payment_status);
CREATE INDEX IF NOT EXISTS orders_created ON orders (created_at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    published_at INTEGER
);
CREATE INDEX IF NOT EXISTS events_order ON events (order_id, seq);
CREATE INDEX IF NOT EXISTS events_unpublished ON events (seq) WHERE published_at IS NULL;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
";

/// The schema, as the steps that made it: `PRAGMA user_version` counts the steps a database
/// has had. A database made before the count was kept has the first step's tables (which
/// it creates only where missing) and a count of 0.
const MIGRATIONS: &[&str] = &[
    FIRST_SCHEMA,
    // An event about the order written with it (every event of an order change) points at
    // the version of the order it carries instead of holding a copy: `doc` is NULL and the
    // order is that version, in `orders` or, once superseded, in `order_snapshots`. Other
    // events, and those written before, keep the whole event in `doc`. `seq` loses
    // AUTOINCREMENT (events are never deleted, so it still only grows), which wrote
    // `sqlite_sequence` on every insert.
    "CREATE TABLE events_by_reference (
         seq INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE,
         order_id TEXT NOT NULL,
         type TEXT NOT NULL,
         occurred_at INTEGER NOT NULL,
         order_version INTEGER,
         doc TEXT,
         published_at INTEGER,
         CHECK ((order_version IS NULL) <> (doc IS NULL))
     );
     INSERT INTO events_by_reference (seq, id, order_id, type, occurred_at, doc, published_at)
         SELECT seq, id, order_id, type, occurred_at, doc, published_at FROM events;
     DROP TABLE events;
     ALTER TABLE events_by_reference RENAME TO events;
     CREATE INDEX events_order ON events (order_id, seq);
     CREATE INDEX events_unpublished ON events (seq) WHERE published_at IS NULL;
     CREATE TABLE order_snapshots (
         order_id TEXT NOT NULL,
         version INTEGER NOT NULL,
         doc TEXT NOT NULL,
         PRIMARY KEY (order_id, version)
     );",
    // Replays and what shadows found outlive the process, as they do on MongoDB: each is
    // kept as the JSON the API shows (nothing queries inside it) beside what finds it.
    "CREATE TABLE replays (
         id TEXT PRIMARY KEY,
         plugin TEXT NOT NULL,
         started_at INTEGER NOT NULL,
         cancel INTEGER NOT NULL DEFAULT 0,
         replay TEXT NOT NULL
     );
     CREATE INDEX replays_plugin ON replays (plugin, started_at);
     CREATE TABLE shadows (
         plugin TEXT NOT NULL,
         replica TEXT NOT NULL,
         shadow TEXT NOT NULL,
         PRIMARY KEY (plugin, replica)
     );",
    // The stock ledger (`stock.rs`): a product's units on hand, those live orders hold, and
    // the product service's figure it last followed; and when an order's hold on its units
    // runs out, for the expiry to find it.
    "CREATE TABLE stock (
         product_id TEXT PRIMARY KEY,
         on_hand INTEGER NOT NULL,
         reserved INTEGER NOT NULL,
         source INTEGER NOT NULL
     );
     ALTER TABLE orders ADD COLUMN hold_until INTEGER;
     CREATE INDEX orders_hold_until ON orders (hold_until) WHERE hold_until IS NOT NULL;",
    // Webhooks: endpoints (`webhooks.rs`), each one's JSON beside its URL, which is unique;
    // deliveries (`deliveries.rs`), one per endpoint and event, and how far each outbox
    // shard's commits were queued.
    "CREATE TABLE webhook_endpoints (
         id TEXT PRIMARY KEY,
         url TEXT NOT NULL UNIQUE,
         created_at INTEGER NOT NULL,
         endpoint TEXT NOT NULL
     );
     CREATE TABLE webhook_deliveries (
         id TEXT PRIMARY KEY,
         endpoint TEXT NOT NULL,
         event_id TEXT NOT NULL,
         order_id TEXT NOT NULL,
         shard INTEGER NOT NULL,
         position INTEGER NOT NULL,
         position_index INTEGER NOT NULL,
         state TEXT NOT NULL,
         next_at INTEGER NOT NULL,
         body TEXT NOT NULL,
         delivery TEXT NOT NULL,
         UNIQUE (endpoint, event_id)
     );
     CREATE INDEX webhook_deliveries_line ON webhook_deliveries (endpoint, order_id, position, position_index) WHERE state = 'pending';
     CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
     CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint, position);
     CREATE TABLE webhook_cursors (
         shard INTEGER PRIMARY KEY,
         commit_at INTEGER NOT NULL,
         idx INTEGER NOT NULL
     );",
];

/// Brings a database up to the current schema, each step in a transaction of its own.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(unavailable)?;
    for (step, sql) in (1i64..).zip(MIGRATIONS).skip(done as usize) {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(sql).map_err(unavailable)?;
        tx.pragma_update(None, "user_version", step)
            .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}
