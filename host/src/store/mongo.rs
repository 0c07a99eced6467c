//! The MongoDB store: the production backend, behind the same trait and conformance suite
//! as the embedded one.
//!
//! Documents are the API's JSON with MongoDB conventions: `_id` is the order (or event) id,
//! fields named `at` or `*_at` are BSON dates, money is integer minor units with its
//! currency. Collections: `orders` (items, address, history and provenance embedded),
//! `order_events` (the outbox and each order's event history; `published_at` is null until
//! the relay has the broker's acknowledgement) and `idempotency_keys`.
//!
//! An order change and its events are written in one multi-document transaction, so the
//! server must be a replica set (a single-node one will do, as in docker-compose.yml); a
//! standalone server is refused at start-up with that explanation. Transactions that lose a
//! write conflict are retried; a retry that finds the version moved is a 409.

use super::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page, Sort,
    Stats, StoreError, StoredEvent, follows,
};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, SecondsFormat, Utc};
use mongodb::error::{
    ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT, WriteFailure,
};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{ClientSession, Collection, Cursor, IndexModel};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use uuid::Uuid;

/// Bound on every store operation (a transaction counts as one), so a stalled server turns
/// into a 503 rather than a hung request.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of a transaction that keeps losing write conflicts.
const TRANSACTION_ATTEMPTS: usize = 8;
/// Start-up: attempts to reach the server, and the pause between them.
const CONNECT_ATTEMPTS: u32 = 5;
const CONNECT_PAUSE: Duration = Duration::from_secs(1);

const DUPLICATE_KEY: i32 = 11000;

#[derive(Clone)]
pub struct MongoStore {
    client: mongodb::Client,
    db: mongodb::Database,
    orders: Collection<Document>,
    events: Collection<Document>,
    keys: Collection<Document>,
}

/// Why a transaction body stopped: a store outcome to report, a conflict to retry, or a
/// driver error (retried when the server labels it transient).
enum Abort {
    Store(StoreError),
    Retry,
    Driver(mongodb::error::Error),
}

impl From<mongodb::error::Error> for Abort {
    fn from(e: mongodb::error::Error) -> Self {
        Abort::Driver(e)
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Store(e)
    }
}

type Body<'s, T> = Pin<Box<dyn Future<Output = Result<T, Abort>> + Send + 's>>;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
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
            client,
            db,
        };
        store.create_indexes().await?;
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
            ])
            .await?;
        Ok(())
    }

    /// Runs `body` in a transaction, retried while the server calls the failure transient
    /// (a write conflict with a concurrent transaction) or the body asks for it.
    async fn transaction<T>(
        &self,
        mut body: impl for<'s> FnMut(&'s mut ClientSession) -> Body<'s, T> + Send,
    ) -> Result<T, StoreError> {
        let mut session = self.client.start_session().await.map_err(unavailable)?;
        for _ in 0..TRANSACTION_ATTEMPTS {
            session.start_transaction().await.map_err(unavailable)?;
            let outcome = body(&mut session).await;
            let failure = match outcome {
                Ok(value) => match commit(&mut session).await {
                    Ok(()) => return Ok(value),
                    Err(e) => Abort::Driver(e),
                },
                Err(failure) => {
                    // The transaction may already be over on the server; nothing to undo then.
                    let _ = session.abort_transaction().await;
                    failure
                }
            };
            match failure {
                Abort::Store(e) => return Err(e),
                Abort::Retry => {}
                Abort::Driver(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {}
                Abort::Driver(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Conflict)
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

/// Commits, retrying while the outcome is unknown (the driver's advice for that label).
async fn commit(session: &mut ClientSession) -> mongodb::error::Result<()> {
    loop {
        match session.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
            other => return other,
        }
    }
}

/// Fields named `at` or `*_at` hold instants: stored as BSON dates.
fn is_date_field(name: &str) -> bool {
    name == "at" || name.ends_with("_at")
}

/// The API's JSON form as BSON, with instants as BSON dates.
fn document(value: &impl serde::Serialize) -> Result<Document, StoreError> {
    let mut doc = bson::serialize_to_document(value).map_err(unavailable)?;
    dates_to_bson(&mut doc);
    Ok(doc)
}

fn dates_to_bson(doc: &mut Document) {
    for (name, value) in doc.iter_mut() {
        match value {
            Bson::String(text) if is_date_field(name) => {
                if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                    *value = Bson::DateTime(bson::DateTime::from_chrono(at));
                }
            }
            // Lifecycle stamps: a map of names (`confirmed_at`, …) to instants.
            Bson::Document(inner) => dates_to_bson(inner),
            Bson::Array(items) => items.iter_mut().for_each(|item| {
                if let Bson::Document(inner) = item {
                    dates_to_bson(inner)
                }
            }),
            _ => {}
        }
    }
}

/// Back to the API's form: BSON dates as RFC 3339 text.
fn dates_to_text(value: &mut Bson) {
    match value {
        Bson::DateTime(at) => {
            *value = Bson::String(at.to_chrono().to_rfc3339_opts(SecondsFormat::Millis, true))
        }
        Bson::Document(doc) => doc.iter_mut().for_each(|(_, v)| dates_to_text(v)),
        Bson::Array(items) => items.iter_mut().for_each(dates_to_text),
        _ => {}
    }
}

fn order_document(order: &Order) -> Result<Document, StoreError> {
    let mut doc = document(order)?;
    let id = doc.remove("id").unwrap_or(Bson::Null);
    let mut with_id = doc! { "_id": id };
    with_id.extend(doc);
    Ok(with_id)
}

fn order_from(mut doc: Document) -> Result<Order, StoreError> {
    if let Some(id) = doc.remove("_id") {
        doc.insert("id", id);
    }
    decode(doc)
}

fn decode<T: serde::de::DeserializeOwned>(doc: Document) -> Result<T, StoreError> {
    let mut value = Bson::Document(doc);
    dates_to_text(&mut value);
    bson::deserialize_from_bson(value)
        .map_err(|e| StoreError::Unavailable(format!("corrupt stored document: {e}")))
}

fn event_documents(events: &[OrderEvent]) -> Result<Vec<Document>, StoreError> {
    events
        .iter()
        .map(|event| {
            let mut doc = document(event)?;
            let id = doc.remove("event_id").unwrap_or(Bson::Null);
            let mut with_id = doc! { "_id": id };
            with_id.extend(doc);
            with_id.insert("published_at", Bson::Null);
            Ok(with_id)
        })
        .collect()
}

fn stored_event(mut doc: Document) -> Result<StoredEvent, StoreError> {
    let published_at = match doc.remove("published_at") {
        Some(Bson::DateTime(at)) => Some(at.to_chrono()),
        _ => None,
    };
    if let Some(id) = doc.remove("_id") {
        doc.insert("event_id", id);
    }
    Ok(StoredEvent {
        event: decode(doc)?,
        published_at,
    })
}

async fn all<T>(
    mut cursor: Cursor<Document>,
    each: impl Fn(Document) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut items = Vec::new();
    while cursor.advance().await.map_err(unavailable)? {
        let doc = cursor.deserialize_current().map_err(unavailable)?;
        items.push(each(doc)?);
    }
    Ok(items)
}

fn date(at: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_chrono(at)
}

/// The filter of a listing: the same fields the embedded store indexes.
fn listing_filter(query: &OrderQuery) -> Document {
    let mut filter = Document::new();
    for (field, value) in [
        ("user_id", &query.user_id),
        ("status", &query.status),
        ("payment_status", &query.payment_status),
        ("order_number", &query.order_number),
    ] {
        if let Some(value) = value {
            filter.insert(field, value.clone());
        }
    }
    let mut created = Document::new();
    if let Some(from) = query.created_from {
        created.insert("$gte", date(from));
    }
    if let Some(to) = query.created_to {
        created.insert("$lt", date(to));
    }
    if !created.is_empty() {
        filter.insert("created_at", created);
    }
    let mut total = Document::new();
    if let Some(min) = query.total_min {
        total.insert("$gte", min);
    }
    if let Some(max) = query.total_max {
        total.insert("$lte", max);
    }
    if !total.is_empty() {
        filter.insert("pricing.total.minor", total);
    }
    filter
}

fn count(doc: &Document) -> u64 {
    match doc.get("count") {
        Some(Bson::Int32(n)) => *n as u64,
        Some(Bson::Int64(n)) => *n as u64,
        _ => 0,
    }
}

fn int(doc: &Document, field: &str) -> i64 {
    match doc.get(field) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        _ => 0,
    }
}

#[async_trait]
impl OrderStore for MongoStore {
    async fn insert(
        &self,
        order: &Order,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
    ) -> Result<Inserted, StoreError> {
        let order_doc = order_document(order)?;
        let event_docs = event_documents(events)?;
        let key_doc = key.map(|key| {
            doc! {
                "_id": { "user_id": &key.user_id, "key": &key.key },
                "fingerprint": &key.fingerprint,
                "order_id": order.id.to_string(),
            }
        });
        let (orders, events, keys) = (&self.orders, &self.events, &self.keys);
        let work = self.transaction(|session| {
            let (order_doc, event_docs, key_doc) =
                (order_doc.clone(), event_docs.clone(), key_doc.clone());
            let (orders, events, keys) = (orders.clone(), events.clone(), keys.clone());
            Box::pin(async move {
                if let Some(key_doc) = key_doc {
                    let id = key_doc.get("_id").cloned().unwrap_or(Bson::Null);
                    if let Some(seen) = keys
                        .find_one(doc! { "_id": id })
                        .session(&mut *session)
                        .await?
                    {
                        if seen.get_str("fingerprint").ok() != key_doc.get_str("fingerprint").ok() {
                            return Err(StoreError::KeyReused.into());
                        }
                        let first = seen.get_str("order_id").map_err(unavailable)?;
                        let first = orders
                            .find_one(doc! { "_id": first })
                            .session(&mut *session)
                            .await?
                            .ok_or_else(|| unavailable("idempotency key without its order"))?;
                        return Ok(Inserted::Replayed(Box::new(order_from(first)?)));
                    }
                    // A concurrent request with the same key committed first: the next
                    // attempt finds its key and replays its order.
                    match keys.insert_one(key_doc).session(&mut *session).await {
                        Err(e) if is_duplicate_key(&e) => return Err(Abort::Retry),
                        other => other?,
                    };
                }
                match orders
                    .insert_one(order_doc.clone())
                    .session(&mut *session)
                    .await
                {
                    Err(e) if is_duplicate_key(&e) => {
                        return Err(StoreError::DuplicateNumber.into());
                    }
                    other => other?,
                };
                if !event_docs.is_empty() {
                    events
                        .insert_many(event_docs)
                        .session(&mut *session)
                        .await?;
                }
                Ok(Inserted::Created)
            })
        });
        bounded(work).await
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        bounded(self.find_order(id)).await
    }

    async fn get_json(&self, id: OrderId) -> Result<Option<OrderJson>, StoreError> {
        let order = bounded(self.find_order(id)).await?;
        order
            .map(|order| {
                Ok(OrderJson {
                    json: serde_json::to_string(&order).map_err(unavailable)?,
                    user_id: order.user_id,
                })
            })
            .transpose()
    }

    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[OrderEvent],
    ) -> Result<(), StoreError> {
        follows(order, expected_version)?;
        let order_doc = order_document(order)?;
        let event_docs = event_documents(events)?;
        let filter = doc! { "_id": order.id.to_string(), "version": expected_version as i64 };
        let (orders, events) = (&self.orders, &self.events);
        let work = self.transaction(|session| {
            let (order_doc, event_docs, filter) =
                (order_doc.clone(), event_docs.clone(), filter.clone());
            let (orders, events) = (orders.clone(), events.clone());
            Box::pin(async move {
                let replaced = orders
                    .replace_one(filter, order_doc)
                    .session(&mut *session)
                    .await?;
                if replaced.matched_count == 0 {
                    return Err(StoreError::Conflict.into());
                }
                if !event_docs.is_empty() {
                    events
                        .insert_many(event_docs)
                        .session(&mut *session)
                        .await?;
                }
                Ok(())
            })
        });
        bounded(work).await
    }

    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let filter = listing_filter(query);
        let sort = match query.sort {
            Sort::NewestFirst => doc! { "created_at": -1, "_id": -1 },
            Sort::OldestFirst => doc! { "created_at": 1, "_id": 1 },
            Sort::TotalHighFirst => doc! { "pricing.total.minor": -1, "created_at": -1 },
            Sort::TotalLowFirst => doc! { "pricing.total.minor": 1, "created_at": -1 },
        };
        let size = query.page_size.max(1);
        let page = query.page.max(1);
        bounded(async {
            let total = self
                .orders
                .count_documents(filter.clone())
                .await
                .map_err(unavailable)?;
            let cursor = self
                .orders
                .find(filter)
                .sort(sort)
                .skip(u64::from(page - 1) * u64::from(size))
                .limit(i64::from(size))
                .await
                .map_err(unavailable)?;
            Ok(Page {
                items: all(cursor, order_from).await?,
                total,
                page,
                page_size: size,
            })
        })
        .await
    }

    async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Stats, StoreError> {
        let count_by = |field: &str| {
            vec![
                doc! { "$group": { "_id": format!("${field}"), "count": { "$sum": 1 } } },
                doc! { "$sort": { "_id": 1 } },
            ]
        };
        let pipeline = [
            doc! { "$match": { "created_at": { "$gte": date(from), "$lt": date(to) } } },
            doc! { "$facet": {
                "by_status": count_by("status"),
                "by_payment_status": count_by("payment_status"),
                "per_day": [
                    { "$group": {
                        "_id": { "$dateToString": { "format": "%Y-%m-%d", "date": "$created_at" } },
                        "count": { "$sum": 1 },
                    } },
                    { "$sort": { "_id": 1 } },
                ],
                "revenue": [
                    { "$match": { "payment_status": "paid" } },
                    { "$group": {
                        "_id": "$pricing.total.currency",
                        "sum": { "$sum": "$pricing.total.minor" },
                        "count": { "$sum": 1 },
                    } },
                    { "$sort": { "_id": 1 } },
                ],
            } },
        ];
        let facets = bounded(async {
            let cursor = self.orders.aggregate(pipeline).await.map_err(unavailable)?;
            all(cursor, Ok).await
        })
        .await?
        .pop()
        .unwrap_or_default();
        let groups = |name: &str| -> Vec<Document> {
            facets
                .get_array(name)
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(|g| g.as_document().cloned())
                        .collect()
                })
                .unwrap_or_default()
        };
        let key = |group: &Document| group.get_str("_id").unwrap_or_default().to_owned();
        let mut stats = Stats::default();
        for group in groups("by_status") {
            stats.orders += count(&group);
            stats.by_status.insert(key(&group), count(&group));
        }
        for group in groups("by_payment_status") {
            stats.by_payment_status.insert(key(&group), count(&group));
        }
        for group in groups("per_day") {
            stats.per_day.push(DayCount {
                day: key(&group).parse().map_err(unavailable)?,
                orders: count(&group),
            });
        }
        for group in groups("revenue") {
            let currency = key(&group).parse().map_err(unavailable)?;
            stats.add_paid(currency, int(&group, "sum"), int(&group, "count"));
        }
        Ok(stats)
    }

    async fn events(&self, id: OrderId) -> Result<Vec<StoredEvent>, StoreError> {
        bounded(async {
            let cursor = self
                .events
                .find(doc! { "order_id": id.to_string() })
                .sort(doc! { "_id": 1 })
                .await
                .map_err(unavailable)?;
            all(cursor, stored_event).await
        })
        .await
    }

    async fn unpublished(&self, limit: u32) -> Result<Vec<OrderEvent>, StoreError> {
        bounded(async {
            let cursor = self
                .events
                .find(doc! { "published_at": Bson::Null })
                .sort(doc! { "published_at": 1, "_id": 1 })
                .limit(i64::from(limit))
                .await
                .map_err(unavailable)?;
            all(cursor, |doc| stored_event(doc).map(|e| e.event)).await
        })
        .await
    }

    async fn mark_published(&self, ids: &[Uuid], at: DateTime<Utc>) -> Result<(), StoreError> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        bounded(async {
            self.events
                .update_many(
                    doc! { "_id": { "$in": ids }, "published_at": Bson::Null },
                    doc! { "$set": { "published_at": date(at) } },
                )
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn backlog(&self) -> Result<Backlog, StoreError> {
        let unpublished = doc! { "published_at": Bson::Null };
        bounded(async {
            let events = self
                .events
                .count_documents(unpublished.clone())
                .await
                .map_err(unavailable)?;
            let oldest = self
                .events
                .find_one(unpublished)
                .sort(doc! { "published_at": 1, "_id": 1 })
                .await
                .map_err(unavailable)?
                .and_then(|doc| {
                    doc.get_datetime("occurred_at")
                        .ok()
                        .map(|at| at.to_chrono())
                });
            Ok(Backlog { events, oldest })
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        bounded(async {
            self.db
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::{base_time, run, sample_order};

    /// The test server: `tests/run.sh` (and so CI) starts one and names it here. Any MongoDB
    /// replica set will do, e.g. the compose file's `mongo` at
    /// `mongodb://localhost:27017/?directConnection=true`.
    fn test_url() -> String {
        std::env::var("ORDERFLOW_TEST_MONGODB_URL").expect(
            "ORDERFLOW_TEST_MONGODB_URL must name a MongoDB replica set: run the tests with tests/run.sh, which starts one",
        )
    }

    async fn fresh() -> MongoStore {
        let database = format!("orderflow_store_{}", Uuid::now_v7().simple());
        MongoStore::connect(&test_url(), &database).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        run(fresh).await;
    }

    #[tokio::test]
    async fn documents_read_naturally_in_mongodb() {
        let store = fresh().await;
        let mut order = sample_order("u1", 4352);
        order.timestamps.insert("confirmed_at".into(), base_time());
        let events = OrderEvent::all(order.clone(), &["order.created".into()], base_time());
        store.insert(&order, &events, None).await.unwrap();

        let doc = store.orders.find_one(doc! {}).await.unwrap().unwrap();
        assert_eq!(doc.get_str("_id").unwrap(), order.id.to_string());
        assert!(!doc.contains_key("id"));
        assert_eq!(
            doc.get_datetime("created_at").unwrap().to_chrono(),
            order.created_at
        );
        let stamps = doc.get_document("timestamps").unwrap();
        assert_eq!(
            stamps.get_datetime("confirmed_at").unwrap().to_chrono(),
            base_time()
        );
        let total = doc
            .get_document("pricing")
            .unwrap()
            .get_document("total")
            .unwrap();
        assert_eq!(total.get_i64("minor").unwrap(), 4352);
        assert_eq!(total.get_str("currency").unwrap(), "USD");
        // Text that only looks like a date stays text: only `at` / `*_at` fields are dates.
        assert_eq!(doc.get_str("user_id").unwrap(), "u1");

        let event = store.events.find_one(doc! {}).await.unwrap().unwrap();
        assert_eq!(
            event.get_str("_id").unwrap(),
            events[0].event_id.to_string()
        );
        assert_eq!(event.get("published_at"), Some(&Bson::Null));
        assert!(
            event
                .get_document("order")
                .unwrap()
                .get_datetime("created_at")
                .is_ok()
        );
        assert_eq!(store.get(order.id).await.unwrap(), Some(order));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_clear_error_not_a_hang() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=100",
            closed.local_addr().unwrap()
        );
        drop(closed);
        let error = MongoStore::connect(&url, "unreachable")
            .await
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("MongoDB unreachable after"),
            "{error}"
        );
    }
}
