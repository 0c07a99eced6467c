//! The embedded store: one SQLite file in WAL mode, so a newcomer runs the service with no
//! infrastructure and nothing is lost across restarts.
//!
//! Orders are stored as JSON documents with the columns the queries filter and sort on
//! beside them; events live in an outbox table written in the same transaction. An event
//! carries the order as its change left it: the outbox row points at that version of the
//! order (the order's own row, or its superseded versions in `order_snapshots`) instead of
//! holding a copy, so placing an order writes its document once, not twice.
//!
//! Writes go to one writer thread, which owns the only writing connection (that is also what
//! makes idempotency keys race-free). It commits in groups: every write waiting when a
//! transaction starts (and, under load, those arriving within a millisecond) runs in one
//! transaction, the group commits once, and only then does each writer get its answer. An
//! order touches a dozen pages (row, event, indexes); sharing one commit means sharing those
//! page writes, which is what bounds a commit-per-order store. Reads use their own
//! connections and never wait.
//!
//! A write refused by the store (a version conflict, a taken order number, an idempotency
//! key reused) finds that out before it changes anything, or by a first statement that
//! SQLite undoes alone, so the group goes on without it. A write that fails any other way
//! may have left part of itself behind: the whole group is rolled back and every write in
//! it is answered as failed, so no order is ever half written. (Each write used to run in a
//! savepoint of its own instead; copying every page it touched into the savepoint's journal
//! was a fifth of the writer's time.)
//!
//! The database belongs to one process at a time (SQLite's `unix-excl`): its WAL index is
//! kept in memory, not in a shared `-shm` file, so transactions take no file locks, and a
//! second server started on the same `DATA_DIR` is refused instead of sharing the file.
//!
//! Durability: `synchronous = NORMAL` in WAL mode — a committed order survives the
//! process being killed; only a power loss before the next checkpoint could lose the
//! latest commits.
//!
//! Checkpoints (copying the WAL back into the database file, with two fsyncs) run on a
//! thread of their own, never on the writer: done by the writer, as SQLite does by default,
//! every commit waiting behind a checkpoint's fsyncs left the CPU idle.

use super::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page,
    Serialized, Sort, Stats, StoreError, StoredEvent, follows,
};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The first schema, as databases made before `MIGRATIONS` were counted have it.
const FIRST_SCHEMA: &str = "
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
];

/// Brings a database up to the current schema, each step in a transaction of its own.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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

const READERS: usize = 4;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Db>,
}

/// A write: runs on the writer's connection inside the group's transaction, says what it
/// left there, and hands back what to tell the writer once the group's commit is known.
type Job = Box<dyn FnOnce(&Connection) -> (Left, Reply) + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a write left in the group's transaction.
enum Left {
    /// Its changes, whole.
    Done,
    /// Nothing: the store refused it before it changed anything.
    Nothing,
    /// Possibly part of itself: the group must be rolled back.
    Unknown(String),
}

impl Left {
    fn of<T>(result: &Result<T, StoreError>) -> Self {
        match result {
            Ok(_) => Left::Done,
            // Each is found by a read before the write's first change, or by its first
            // statement, which SQLite undoes on its own.
            Err(StoreError::Conflict | StoreError::DuplicateNumber | StoreError::KeyReused) => {
                Left::Nothing
            }
            Err(StoreError::Unavailable(e)) => Left::Unknown(e.clone()),
        }
    }
}

/// Writes committed together, at most.
const GROUP: usize = 128;

struct Db {
    writes: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Db {
    /// Runs `work` on the next reader connection, on the calling thread.
    fn reader<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        work(&*self.readers[i].lock().map_err(unavailable)?)
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Unavailable(format!("corrupt stored document: {e}")))
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// SQLite keeps memory statistics by default, taking one process-wide mutex on every
/// allocation and free. The writer and the readers allocate on every statement, so under
/// load they queued on that mutex (switched off: GET 2–3 % cheaper). Nothing here reads the
/// statistics. They can only be switched off before SQLite initialises, that is before the
/// process opens its first connection; later the call is a no-op.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int; before initialisation nothing else
        // uses SQLite's configuration, and after it the call returns SQLITE_MISUSE and
        // changes nothing.
        let rc =
            unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite was initialised already; memory statistics stay on"
            );
        }
    });
}

/// SQLite's unix file system with the database held by this process alone: the WAL index
/// lives in this process's memory instead of a shared-memory file, so starting and ending
/// every read or write transaction takes no `fcntl` lock (two system calls per read, which
/// were a sixth of a GET's CPU). A second process, e.g. another server pointed at the same
/// `DATA_DIR`, cannot open the database while this one runs.
const ONE_PROCESS: &std::ffi::CStr = c"unix-excl";

/// The first use of the database failed: most likely another process holds it.
fn held_elsewhere(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) => StoreError::Unavailable(format!(
            "{} is in use by another process (another orderflow on the same DATA_DIR?)",
            path.display()
        )),
        _ => unavailable(e),
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        without_memory_statistics();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer =
            Connection::open_with_flags_and_vfs(path, rw, ONE_PROCESS).map_err(unavailable)?;
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| held_elsewhere(path, e))?;
        migrate(&mut writer)?;
        let checkpointer =
            Connection::open_with_flags_and_vfs(path, rw, ONE_PROCESS).map_err(unavailable)?;
        checkpointer
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(unavailable)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open_with_flags_and_vfs(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    ONE_PROCESS,
                )
                .map_err(unavailable)?;
                reader
                    .execute_batch("PRAGMA busy_timeout = 5000;")
                    .map_err(unavailable)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_, StoreError>>()?;
        let (writes, queue) = mpsc::channel::<Job>();
        let (committed, commits) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || group_commits(writer, queue, committed))
            .map_err(unavailable)?;
        std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpoints(checkpointer, commits))
            .map_err(unavailable)?;
        Ok(EmbeddedStore {
            db: Arc::new(Db {
                writes,
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// Runs `work` in the next group commit and answers once that commit is durable.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = work(conn);
            let left = Left::of(&result);
            let reply: Reply = Box::new(move |commit| {
                let _ = answer.send(commit.map_err(StoreError::Unavailable).and(result));
            });
            (left, reply)
        });
        self.db
            .writes
            .send(job)
            .map_err(|_| unavailable("the store writer has stopped"))?;
        answered
            .await
            .map_err(|_| unavailable("the store writer has stopped"))?
    }

    /// Runs `work` on a reader connection, off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.reader(work))
            .await
            .map_err(unavailable)?
    }
}

/// How often the WAL is checkpointed while writes come in.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The checkpoint thread: after writes, at most every `CHECKPOINT_EVERY`, copies what the
/// WAL holds into the database file without blocking the writer or readers (`PASSIVE`).
/// Ends, after a last checkpoint, when the writer does.
fn checkpoints(conn: Connection, commits: mpsc::Receiver<()>) {
    let checkpoint = || {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "a WAL checkpoint failed; the next one retries");
        }
    };
    while commits.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_EVERY);
        // Whatever was committed meanwhile is covered by this checkpoint.
        while commits.try_recv().is_ok() {}
        checkpoint();
    }
    checkpoint();
}

/// Under load a group waits up to this long for more writes to share its commit (what
/// PostgreSQL's `commit_delay` does): every commit rewrites the index pages its orders
/// touched, a dozen or so whatever the group's size, so bigger groups write fewer pages per
/// order. At 10,000 orders/s groups grew from ~7 to ~24 writes and the server's CPU per
/// order fell by a tenth.
const LINGER: Duration = Duration::from_millis(1);
/// ...but it stops waiting once no write came in this long: the burst is over.
const GAP: Duration = Duration::from_micros(200);

/// The writes to commit together: `first`, every write waiting behind it and, when that
/// shows writes coming concurrently (a lone write commits at once), those arriving within
/// the linger.
///
/// The writer lingers asleep and looks at the queue after each gap, rather than waiting on
/// the queue: a receiver waiting there is woken by every write sent (a system call for the
/// sender and a context switch for the writer, two dozen times a group), while one asleep
/// is passed by. Those wake-ups were a twentieth of the async workers' time.
fn next_group(first: Job, queue: &mpsc::Receiver<Job>) -> Vec<Job> {
    let mut group = vec![first];
    group.extend(queue.try_iter().take(GROUP - 1));
    let deadline = Instant::now() + LINGER;
    while group.len() >= 2 && group.len() < GROUP {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(GAP));
        let before = group.len();
        group.extend(queue.try_iter().take(GROUP - before));
        if group.len() == before {
            break;
        }
    }
    group
}

/// The writer thread: takes a group of writes, runs them in one transaction, commits once,
/// and tells the checkpoint thread. Ends when the store is dropped.
fn group_commits(mut conn: Connection, queue: mpsc::Receiver<Job>, committed: mpsc::Sender<()>) {
    while let Ok(first) = queue.recv() {
        let mut group = next_group(first, &queue);
        let mut replies = Vec::with_capacity(group.len());
        let outcome = (|| -> Result<(), String> {
            // Dropped uncommitted, the transaction rolls back. A write left unrun then is
            // dropped with its answer channel: its caller hears that the store is unavailable.
            let tx = conn.transaction().map_err(|e| e.to_string())?;
            for job in group.drain(..) {
                let (left, reply) = job(&tx);
                replies.push(reply);
                if let Left::Unknown(e) = left {
                    return Err(format!("a write of the group failed, all were undone: {e}"));
                }
            }
            tx.commit().map_err(|e| e.to_string())
        })();
        match &outcome {
            Ok(()) => {
                let _ = committed.send(());
            }
            Err(e) => tracing::error!(error = %e, "a group commit failed"),
        }
        for reply in replies {
            reply(outcome.clone());
        }
    }
}

/// An outbox row: event id, order id, type, occurred at (ms), and either the version of
/// the order written with it, which it carries, or (carrying another order) the whole event
/// as JSON.
struct EventRow {
    id: Uuid,
    order_id: String,
    event_type: String,
    at: i64,
    order_version: Option<i64>,
    doc: Option<String>,
}

fn insert_events(tx: &Connection, events: &[EventRow]) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (id, order_id, type, occurred_at, order_version, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(unavailable)?;
    for e in events {
        insert
            .execute(params![
                e.id.to_string(),
                e.order_id,
                e.event_type,
                e.at,
                e.order_version,
                e.doc
            ])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// The outbox rows of `order`'s events, made before taking the writer (so it is busy only
/// with SQL). An event that carries the order written with it, as every event of an order
/// change does, points at that version of it instead of holding a copy (when its time fits
/// the column's milliseconds, as the service's times do).
fn event_rows(order: &Order, events: &[OrderEvent]) -> Result<Vec<EventRow>, StoreError> {
    events
        .iter()
        .map(|e| {
            let whole_ms = e.occurred_at.timestamp_subsec_nanos() % 1_000_000 == 0;
            let (order_version, event_doc) = if whole_ms && e.carries(order) {
                (Some(order.version as i64), None)
            } else {
                (None, Some(serde_json::to_string(e).map_err(unavailable)?))
            };
            Ok(EventRow {
                id: e.event_id,
                order_id: e.order_id.to_string(),
                event_type: e.event_type.clone(),
                at: millis(e.occurred_at),
                order_version,
                doc: event_doc,
            })
        })
        .collect()
}

/// Outbox rows with the order each carries: the event's own columns, and the document of
/// the order version it points at.
const EVENTS_WITH_ORDERS: &str =
    "SELECT e.id, e.type, e.occurred_at, e.published_at, e.doc, COALESCE(s.doc, o.doc)
     FROM events e
     LEFT JOIN orders o ON o.id = e.order_id AND o.version = e.order_version
     LEFT JOIN order_snapshots s ON s.order_id = e.order_id AND s.version = e.order_version";

/// An outbox row as [`EVENTS_WITH_ORDERS`] reads it.
struct OutboxRow {
    id: String,
    event_type: String,
    occurred_at: i64,
    published_at: Option<i64>,
    doc: Option<String>,
    order: Option<String>,
}

impl OutboxRow {
    fn read(row: &rusqlite::Row) -> rusqlite::Result<Self> {
        Ok(OutboxRow {
            id: row.get(0)?,
            event_type: row.get(1)?,
            occurred_at: row.get(2)?,
            published_at: row.get(3)?,
            doc: row.get(4)?,
            order: row.get(5)?,
        })
    }

    fn event(self) -> Result<OrderEvent, StoreError> {
        match (self.doc, self.order) {
            (Some(event), _) => parse(&event),
            (None, Some(order)) => Ok(OrderEvent::new(
                Arc::new(parse(&order)?),
                self.id.parse().map_err(unavailable)?,
                self.event_type,
                from_millis(self.occurred_at),
            )),
            (None, None) => Err(unavailable(format!(
                "the order version event {} carries is missing",
                self.id
            ))),
        }
    }
}

fn order_by_id(conn: &Connection, id: &str) -> Result<Option<Order>, StoreError> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM orders WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(unavailable)?;
    doc.as_deref().map(parse).transpose()
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

#[async_trait]
impl OrderStore for EmbeddedStore {
    async fn insert(
        &self,
        order: &Order,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
    ) -> Result<Inserted, StoreError> {
        self.insert_serialized(&Serialized::new(order.clone())?, events, key)
            .await
    }

    async fn insert_serialized(
        &self,
        serialized: &Serialized,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
    ) -> Result<Inserted, StoreError> {
        let order: &Order = serialized;
        let doc = serialized.json().to_owned();
        let rows = event_rows(order, events)?;
        let (id, number, user) = (
            order.id.to_string(),
            order.order_number.to_string(),
            order.user_id.clone(),
        );
        let (status, payment, total, currency) = (
            order.status.clone(),
            order.payment_status.clone(),
            order.pricing.total.minor,
            order.pricing.total.currency.to_string(),
        );
        let (created, version) = (millis(order.created_at), order.version as i64);
        let key = key.cloned();
        // Both refusals are found before the first change (see `Left`): a reused key by a
        // read, a taken number by the order's own insert.
        self.write(move |tx| {
            if let Some(key) = &key {
                let seen: Option<(String, String)> = tx
                    .prepare_cached("SELECT fingerprint, order_id FROM idempotency_keys WHERE user_id = ?1 AND key = ?2")
                    .and_then(|mut s| s.query_row([&key.user_id, &key.key], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                    .map_err(unavailable)?;
                if let Some((fingerprint, order_id)) = seen {
                    if fingerprint != key.fingerprint {
                        return Err(StoreError::KeyReused);
                    }
                    let first = order_by_id(tx, &order_id)?.ok_or_else(|| unavailable("idempotency key without its order"))?;
                    return Ok(Inserted::Replayed(Box::new(first)));
                }
            }
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO orders (id, number, user_id, status, payment_status, total_minor, currency, created_at, version, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .and_then(|mut s| s.execute(params![id, number, user, status, payment, total, currency, created, version, doc]));
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::DuplicateNumber),
                other => other.map_err(unavailable)?,
            };
            insert_events(tx, &rows)?;
            if let Some(key) = &key {
                tx.prepare_cached("INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut s| s.execute(params![key.user_id, key.key, key.fingerprint, id]))
                    .map_err(unavailable)?;
            }
            Ok(Inserted::Created)
        })
        .await
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        // A primary-key lookup takes microseconds: cheaper done here than handed to the
        // blocking pool and back. Scans and writes still go there.
        self.db.reader(|conn| order_by_id(conn, &id.to_string()))
    }

    async fn get_json(&self, id: OrderId) -> Result<Option<OrderJson>, StoreError> {
        self.db.reader(|conn| {
            conn.prepare_cached("SELECT user_id, doc FROM orders WHERE id = ?1")
                .and_then(|mut s| {
                    s.query_row([id.to_string()], |r| {
                        Ok(OrderJson {
                            user_id: r.get(0)?,
                            json: r.get(1)?,
                        })
                    })
                    .optional()
                })
                .map_err(unavailable)
        })
    }

    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[OrderEvent],
    ) -> Result<(), StoreError> {
        follows(order, expected_version)?;
        let doc = serde_json::to_string(order).map_err(unavailable)?;
        let rows = event_rows(order, events)?;
        let (id, status, payment, version) = (
            order.id.to_string(),
            order.status.clone(),
            order.payment_status.clone(),
            order.version as i64,
        );
        // A conflict changes nothing (see `Left`): the snapshot is copied under the same
        // version condition as the update, so neither statement touches a row then.
        self.write(move |tx| {
            // The version replaced stays readable for the events that carry it.
            tx.prepare_cached("INSERT INTO order_snapshots (order_id, version, doc) SELECT id, version, doc FROM orders WHERE id = ?1 AND version = ?2")
                .and_then(|mut s| s.execute(params![id, expected_version as i64]))
                .map_err(unavailable)?;
            let changed = tx
                .prepare_cached("UPDATE orders SET status = ?1, payment_status = ?2, version = ?3, doc = ?4 WHERE id = ?5 AND version = ?6")
                .and_then(|mut s| s.execute(params![status, payment, version, doc, id, expected_version as i64]))
                .map_err(unavailable)?;
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            insert_events(tx, &rows)?;
            Ok(())
        })
        .await
    }

    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let query = query.clone();
        self.read(move |conn| {
            let mut clauses = Vec::new();
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            let mut filter = |clause: &str, value: rusqlite::types::Value| {
                args.push(value);
                clauses.push(clause.replace('?', &format!("?{}", args.len())));
            };
            if let Some(v) = &query.user_id {
                filter("user_id = ?", v.clone().into());
            }
            if let Some(v) = &query.status {
                filter("status = ?", v.clone().into());
            }
            if let Some(v) = &query.payment_status {
                filter("payment_status = ?", v.clone().into());
            }
            if let Some(v) = &query.order_number {
                filter("number = ?", v.clone().into());
            }
            if let Some(v) = query.created_from {
                filter("created_at >= ?", millis(v).into());
            }
            if let Some(v) = query.created_to {
                filter("created_at < ?", millis(v).into());
            }
            if let Some(v) = query.total_min {
                filter("total_minor >= ?", v.into());
            }
            if let Some(v) = query.total_max {
                filter("total_minor <= ?", v.into());
            }
            let filter_sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
            let total: i64 = conn
                .prepare_cached(&format!("SELECT COUNT(*) FROM orders {filter_sql}"))
                .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
                .map_err(unavailable)?;
            let order_by = match query.sort {
                Sort::NewestFirst => "created_at DESC, id DESC",
                Sort::OldestFirst => "created_at ASC, id ASC",
                Sort::TotalHighFirst => "total_minor DESC, created_at DESC",
                Sort::TotalLowFirst => "total_minor ASC, created_at DESC",
            };
            let size = query.page_size.max(1);
            let offset = i64::from(query.page.max(1) - 1) * i64::from(size);
            let sql = format!("SELECT doc FROM orders {filter_sql} ORDER BY {order_by} LIMIT {size} OFFSET {offset}");
            let mut statement = conn.prepare_cached(&sql).map_err(unavailable)?;
            let docs = statement
                .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(unavailable)?;
            let items = docs.iter().map(|d| parse(d)).collect::<Result<_, _>>()?;
            Ok(Page { items, total: total as u64, page: query.page.max(1), page_size: size })
        })
        .await
    }

    async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Stats, StoreError> {
        let (from, to) = (millis(from), millis(to));
        self.read(move |conn| {
            let range = "created_at >= ?1 AND created_at < ?2";
            let grouped = |column: &str| -> Result<Vec<(String, i64)>, StoreError> {
                let sql = format!("SELECT {column}, COUNT(*) FROM orders WHERE {range} GROUP BY {column} ORDER BY {column}");
                let mut s = conn.prepare_cached(&sql).map_err(unavailable)?;
                s.query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?)))
                    .and_then(|rows| rows.collect())
                    .map_err(unavailable)
            };
            let mut stats = Stats::default();
            for (status, count) in grouped("status")? {
                stats.orders += count as u64;
                stats.by_status.insert(status, count as u64);
            }
            stats.by_payment_status = grouped("payment_status")?.into_iter().map(|(s, c)| (s, c as u64)).collect();
            for (day, count) in grouped("date(created_at / 1000, 'unixepoch')")? {
                let day = day.parse().map_err(unavailable)?;
                stats.per_day.push(DayCount { day, orders: count as u64 });
            }
            let sql = format!("SELECT currency, SUM(total_minor), COUNT(*) FROM orders WHERE {range} AND payment_status = 'paid' GROUP BY currency ORDER BY currency");
            let mut s = conn.prepare_cached(&sql).map_err(unavailable)?;
            let revenue: Vec<(String, i64, i64)> =
                s.query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).and_then(|rows| rows.collect()).map_err(unavailable)?;
            for (currency, sum, count) in revenue {
                let currency = currency.parse().map_err(unavailable)?;
                stats.add_paid(currency, sum, count);
            }
            Ok(stats)
        })
        .await
    }

    async fn events(&self, id: OrderId) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |conn| {
            let mut s = conn
                .prepare_cached(&format!(
                    "{EVENTS_WITH_ORDERS} WHERE e.order_id = ?1 ORDER BY e.seq"
                ))
                .map_err(unavailable)?;
            let rows: Vec<OutboxRow> = s
                .query_map([id.to_string()], OutboxRow::read)
                .and_then(|rows| rows.collect())
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|row| {
                    let published_at = row.published_at.map(from_millis);
                    Ok(StoredEvent {
                        event: row.event()?,
                        published_at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn unpublished(&self, limit: u32) -> Result<Vec<OrderEvent>, StoreError> {
        self.read(move |conn| {
            let mut s = conn
                .prepare_cached(&format!(
                    "{EVENTS_WITH_ORDERS} WHERE e.published_at IS NULL ORDER BY e.seq LIMIT ?1"
                ))
                .map_err(unavailable)?;
            let rows: Vec<OutboxRow> = s
                .query_map([limit], OutboxRow::read)
                .and_then(|rows| rows.collect())
                .map_err(unavailable)?;
            rows.into_iter().map(OutboxRow::event).collect()
        })
        .await
    }

    async fn mark_published(&self, ids: &[Uuid], at: DateTime<Utc>) -> Result<(), StoreError> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        self.write(move |conn| {
            let mut s = conn
                .prepare_cached(
                    "UPDATE events SET published_at = ?1 WHERE id = ?2 AND published_at IS NULL",
                )
                .map_err(unavailable)?;
            for id in &ids {
                s.execute(params![millis(at), id]).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn backlog(&self) -> Result<Backlog, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT COUNT(*), MIN(occurred_at) FROM events WHERE published_at IS NULL",
            )
            .and_then(|mut s| {
                s.query_row([], |r| {
                    Ok(Backlog {
                        events: r.get::<_, i64>(0)? as u64,
                        oldest: r.get::<_, Option<i64>>(1)?.map(from_millis),
                    })
                })
            })
            .map_err(unavailable)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        super::super::conformance::run(|| async {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            EmbeddedStore::open(&dir.path().join(format!("orders-{n}.db"))).unwrap()
        })
        .await;
    }

    #[tokio::test]
    async fn orders_and_events_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let order = super::super::conformance::sample_order("u1", 1000);
        let events = OrderEvent::all(order.clone(), &["order.created".into()], order.created_at);
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.insert(&order, &events, None).await.unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(store.get(order.id).await.unwrap(), Some(order.clone()));
        assert_eq!(store.events(order.id).await.unwrap()[0].event, events[0]);
    }

    #[tokio::test]
    async fn an_event_reads_back_to_the_nanosecond() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("orders.db")).unwrap();
        let order = super::super::conformance::sample_order("u1", 1000);
        let at = order.created_at + chrono::Duration::nanoseconds(1_234_567);
        let events = OrderEvent::all(order.clone(), &["order.created".into()], at);
        store.insert(&order, &events, None).await.unwrap();
        assert_eq!(store.events(order.id).await.unwrap()[0].event, events[0]);
    }

    /// The database belongs to the process that opened it: a second process is refused
    /// (after the busy timeout) with a message saying why.
    #[test]
    fn a_second_process_cannot_open_the_database() {
        if let Some(held) = std::env::var_os("ORDERFLOW_HELD_DATABASE") {
            // The second process, run by the test below.
            let refused = EmbeddedStore::open(Path::new(&held))
                .err()
                .expect("refused");
            assert!(
                refused.to_string().contains("in use by another process"),
                "{refused}"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let _held = EmbeddedStore::open(&path).unwrap();
        let second = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::embedded::tests::a_second_process_cannot_open_the_database",
            ])
            .env("ORDERFLOW_HELD_DATABASE", &path)
            .output()
            .unwrap();
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stdout)
        );
        assert!(String::from_utf8_lossy(&second.stdout).contains("1 passed"));
    }

    /// A write that fails after changing something takes its whole group down with it:
    /// nothing of the group is kept, each of its writers hears of the failure, and the
    /// store goes on writing.
    #[tokio::test]
    async fn a_write_failing_halfway_undoes_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("orders.db")).unwrap();
        let placed = super::super::conformance::sample_order("u1", 1000);
        let events = OrderEvent::all(placed.clone(), &["order.created".into()], placed.created_at);
        let halfway = super::super::conformance::sample_order("u2", 2000);
        let halfway_id = halfway.id.to_string();
        // Keeps the writer busy, so the next two writes wait and share a group (perhaps
        // with this one too: then it fails with them).
        let busy = store.write(|_| {
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        let placing = store.insert(&placed, &events, None);
        let failing = store.write(move |tx| {
            tx.execute(
                "INSERT INTO orders (id, number, user_id, status, payment_status, total_minor, currency, created_at, version, doc)
                 VALUES (?1, 'ORD-HALF', 'u2', 'pending', 'pending', 2000, 'USD', 0, 1, '{}')",
                [&halfway_id],
            )
            .map_err(unavailable)?;
            Err::<(), _>(unavailable("the disk is on fire"))
        });
        let (_, placing, failing) = tokio::join!(busy, placing, failing);
        assert!(
            matches!(placing, Err(StoreError::Unavailable(_))),
            "{placing:?}"
        );
        assert!(
            matches!(failing, Err(StoreError::Unavailable(_))),
            "{failing:?}"
        );
        assert_eq!(store.get(placed.id).await.unwrap(), None);
        assert_eq!(store.get(halfway.id).await.unwrap(), None);
        assert!(store.events(placed.id).await.unwrap().is_empty());
        // The next group is written as usual.
        store.insert(&placed, &events, None).await.unwrap();
        assert_eq!(store.get(placed.id).await.unwrap(), Some(placed));
    }

    /// A database written before events pointed at their order's versions: its events, each
    /// a whole event with the order in it, read back as they were, beside those written after.
    #[tokio::test]
    async fn a_database_of_the_first_schema_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let order = super::super::conformance::sample_order("u1", 1000);
        let created = OrderEvent::all(order.clone(), &["order.created".into()], order.created_at);
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(FIRST_SCHEMA).unwrap();
            old.execute(
                "INSERT INTO orders (id, number, user_id, status, payment_status, total_minor, currency, created_at, version, doc)
                 VALUES (?1, ?2, 'u1', 'pending', 'pending', 1000, 'USD', 0, 1, ?3)",
                params![order.id.to_string(), order.order_number.to_string(), serde_json::to_string(&order).unwrap()],
            )
            .unwrap();
            old.execute(
                "INSERT INTO events (id, order_id, type, occurred_at, doc) VALUES (?1, ?2, 'order.created', 0, ?3)",
                params![created[0].event_id.to_string(), order.id.to_string(), serde_json::to_string(&created[0]).unwrap()],
            )
            .unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap();
        let mut confirmed = order.clone();
        confirmed.status = "confirmed".into();
        confirmed.version = 2;
        let announced = OrderEvent::all(
            confirmed.clone(),
            &["order.confirmed".into()],
            order.created_at,
        );
        store.update(&confirmed, 1, &announced).await.unwrap();
        let events = super::super::conformance::events_of(&store, order.id).await;
        assert_eq!(events, [created[0].clone(), announced[0].clone()]);
        assert_eq!(store.unpublished(10).await.unwrap(), events);
        // Opening it again migrates nothing twice.
        drop(store);
        let store = EmbeddedStore::open(&path).unwrap();
        assert_eq!(store.events(order.id).await.unwrap().len(), 2);
    }
}
