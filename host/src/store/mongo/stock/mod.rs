//! The stock ledger on MongoDB: `stock`, one document per product (`on_hand`, `reserved`,
//! and `source`, the product service's figure it last followed). A write of an order that
//! moves stock first moves each product's ledger in one conditional update, which refuses
//! a reservation its product cannot give (two replicas racing for the last units: the
//! database applies one update after the other, and the second finds too few). Each move
//! leaves a marker in its product's document (`pending.<order>~<write>`: the units moved,
//! and when), the order's write then names the write (`stock_writes`, the last few), and
//! the markers are cleared once it is written, or the moves taken back (by the marker, so
//! once) when the write is refused. A write cut short by a crash leaves its markers: the
//! replica holding the outbox's shard 0 settles them a minute later, keeping the moves of
//! a write the order names and taking back the others. No multi-document transaction: a
//! placement stays one insert among many (`batch.rs`) and one update per product; while
//! plenty is available, not even that: its units come from a block the replica drew ahead
//! (`blocks.rs`).

use super::batch::Outcome;
use super::documents::{date, outbox_entries};
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::{Ledger, Shortage, StockAlert, StockLevel, StockMove, StoreError};
use crate::metrics::metrics;
use crate::orders::outbox::Shards;
use crate::orders::stock::{StockStore, holding};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

mod blocks;
mod shared;
mod takes;

pub(super) use blocks::Blocks;
pub(super) use takes::Takes;

/// Reads of ledgers waiting to be sent together: the products asked for, and whom to tell.
pub(super) type Reads = shared::Shared<(
    Vec<String>,
    oneshot::Sender<Result<BTreeMap<String, Ledger>, StoreError>>,
)>;

/// The order write that goes with a stock move.
pub(super) enum Write {
    Insert(Document),
    /// An update of the order, conditional on `filter` (its version).
    Update {
        filter: Document,
        change: Document,
    },
}

/// The stock-moving writes an order names, at most: the last ones.
const KEPT_WRITES: i32 = 8;
/// How old a marker must be before it is settled by the sweep: longer than any write of an
/// order may still land.
const SETTLE_AFTER: Duration = Duration::from_secs(60);
/// Sends one `update` command of the ledger with a statement per `(filter, change)`: one
/// round trip for many products (the test server's cost is per command). How many
/// statements matched.
async fn update_each(
    db: &mongodb::Database,
    statements: impl IntoIterator<Item = (Document, Document)>,
) -> Result<i64, StoreError> {
    let updates: Vec<Document> = (statements.into_iter())
        .map(|(q, u)| doc! { "q": q, "u": u })
        .collect();
    if updates.is_empty() {
        return Ok(0);
    }
    let answer = bounded(async {
        (db.run_command(doc! { "update": "stock", "updates": updates, "ordered": false }))
            .await
            .map_err(unavailable)
    })
    .await?;
    match answer.get("writeErrors") {
        Some(errors) => Err(unavailable(format!("ledger updates failed: {errors}"))),
        None => Ok(match answer.get("n") {
            Some(Bson::Int32(n)) => i64::from(*n),
            Some(Bson::Int64(n)) => *n,
            _ => 0,
        }),
    }
}

/// How long the markers of written orders wait to be cleared together.
const CLEAR_EVERY: Duration = Duration::from_millis(20);
/// How often the sweep looks for markers left behind.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

pub(super) fn level_of(d: &Document) -> StockLevel {
    let int = |field| match d.get(field) {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        _ => 0,
    };
    StockLevel {
        on_hand: int("on_hand"),
        reserved: int("reserved"),
    }
}

fn ledger_of(d: &Document) -> Ledger {
    Ledger {
        level: level_of(d),
        source: match d.get("source") {
            Some(Bson::Int64(n)) => *n,
            Some(Bson::Int32(n)) => i64::from(*n),
            _ => 0,
        },
    }
}

/// A move's marker in its product's ledger.
struct Marker {
    product: String,
    key: String,
    reserved: i64,
    on_hand: i64,
    /// Whether the move is applied (one that took units), or waits for its order's write
    /// (one that gives units back).
    applied: bool,
    at: DateTime<Utc>,
}

/// What a marked move is due: applied (it waited for its order) or taken back (its order
/// was not written).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Apply,
    TakeBack,
}

/// Whether a move takes units from what is available (applied before its order's write),
/// rather than giving some back (applied after it).
fn takes(m: &StockMove) -> bool {
    m.on_hand - m.reserved < 0
}

/// The `stock.low` events of `alerts`, raised by the write of `order`, as outbox entries.
fn alert_entries(order: &Order, alerts: Vec<StockAlert>) -> Result<Vec<Bson>, StoreError> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let (shared, now) = (std::sync::Arc::new(order.clone()), Utc::now());
    let events: Vec<OrderEvent> = (alerts.into_iter())
        .map(|alert| OrderEvent::stock_low(shared.clone(), alert, now))
        .collect();
    metrics().events_written(events.len());
    outbox_entries(&events)
}

fn marker(key: &str) -> String {
    format!("pending.{key}")
}

impl MongoStore {
    /// Moves the ledger by `moves`, then makes `write` (of order `order`): the order's
    /// outcome (written, or a duplicate for the caller to tell apart), or the store's
    /// refusal, with the moves taken back.
    pub(super) async fn with_stock(
        &self,
        write: Write,
        order: &Order,
        moves: &[StockMove],
    ) -> Result<Outcome, StoreError> {
        let write = match write {
            Write::Insert(mut document) => match self.take_from_blocks(moves).await? {
                Some(drawn) => {
                    document.insert("drawn_from", blocks::drawn_from(&drawn));
                    let outcome = self.inserts.insert(document).await;
                    let answer = match &outcome {
                        Outcome::Inserted => blocks::Answer::Written,
                        Outcome::Duplicate => blocks::Answer::NotWritten,
                        Outcome::Failed(_) => blocks::Answer::Unknown,
                    };
                    self.blocks_answered(&drawn, answer).await;
                    return Ok(outcome);
                }
                None => Write::Insert(document),
            },
            update => update,
        };
        let write_id = uuid::Uuid::new_v4().simple().to_string();
        let key = format!("{}~{write_id}", order.id);
        let (applied, alerts) = self.apply(&key, moves).await?;
        let raised = alert_entries(order, alerts)?;
        let named = doc! { "$each": [&write_id], "$slice": -KEPT_WRITES };
        let outcome = match write {
            Write::Insert(mut document) => {
                document.insert("stock_writes", vec![write_id.clone()]);
                if !raised.is_empty() {
                    match document.get_array_mut("outbox") {
                        Ok(outbox) => outbox.extend(raised),
                        Err(_) => {
                            document.insert("outbox", raised);
                        }
                    }
                }
                self.inserts.insert(document).await
            }
            Write::Update { filter, mut change } => {
                let push = match change.get_document_mut("$push") {
                    Ok(push) => push,
                    Err(_) => {
                        change.insert("$push", doc! {});
                        change.get_document_mut("$push").map_err(unavailable)?
                    }
                };
                push.insert("stock_writes", named);
                if !raised.is_empty() {
                    match push
                        .get_document_mut("outbox")
                        .and_then(|o| o.get_array_mut("$each"))
                    {
                        Ok(outbox) => outbox.extend(raised),
                        Err(_) => {
                            push.insert("outbox", doc! { "$each": raised });
                        }
                    }
                }
                let updated = bounded(async {
                    (self.orders.update_one(filter, change).await).map_err(unavailable)
                })
                .await;
                match updated {
                    Ok(u) if u.matched_count == 1 => Outcome::Inserted,
                    Ok(_) => {
                        self.take_back(&key, &applied).await;
                        return Err(StoreError::Conflict);
                    }
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
        };
        match &outcome {
            Outcome::Inserted => self.finish(key, &applied).await,
            Outcome::Duplicate => self.take_back(&key, &applied).await,
            // Whether it landed is unknown: the sweep settles it.
            Outcome::Failed(_) => {}
        }
        Ok(outcome)
    }

    /// Once the order is written: the moves that give units back are applied, and the
    /// markers of those that took units are cleared (in the background: nothing waits).
    async fn finish(&self, key: String, moves: &[StockMove]) {
        for m in moves.iter().filter(|m| !takes(m)) {
            if let Err(e) =
                (self.by_marker(&key, &m.product_id, m.reserved, m.on_hand, Way::Apply)).await
            {
                tracing::warn!(product = %m.product_id, error = %e, "stock given back by a written order not applied yet; the sweep will");
            }
        }
        let taken: Vec<StockMove> = moves.iter().filter(|m| takes(m)).cloned().collect();
        if !taken.is_empty() {
            self.settle(key, &taken);
        }
    }

    /// Before the order's write: applies the moves that take units (each refused by its own
    /// filter when it would reserve more than is available), and marks those that give units
    /// back, to be applied once the order is written. A crash between the two then holds
    /// too many units for a while, never too few. The moves go all at once, so that an
    /// order's takes share one command (`takes.rs`); a refusal of one takes back the others.
    /// The moves applied or marked, and the alerts those that took units raised.
    async fn apply(
        &self,
        key: &str,
        moves: &[StockMove],
    ) -> Result<(Vec<StockMove>, Vec<StockAlert>), StoreError> {
        let steps = moves.iter().map(|m| async move {
            let step = async {
                match takes(m) {
                    true => self.take(key, m).await,
                    false => self.mark(key, m).await.map(|()| None),
                }
            };
            (m, bounded(step).await)
        });
        let (mut applied, mut alerts, mut refused) = (Vec::new(), Vec::new(), None);
        for (m, outcome) in futures_util::future::join_all(steps).await {
            match outcome {
                Ok(alert) => {
                    applied.push(m.clone());
                    alerts.extend(alert);
                }
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        if let Some(e) = refused {
            self.take_back(key, &applied).await;
            return Err(e);
        }
        Ok((applied, alerts))
    }

    /// Starts a product's ledger from `stock` units on hand; one another writer started
    /// first is as good.
    async fn seed(&self, product: &str, stock: i64) -> Result<(), StoreError> {
        let seeded = doc! {
            "_id": product, "on_hand": stock, "reserved": 0i64, "available": stock, "source": stock,
        };
        match self.stock.insert_one(seeded).await {
            Err(e) if !is_duplicate_key(&e) => Err(unavailable(e)),
            _ => Ok(()),
        }
    }

    /// Reads the ledgers the reads waiting ask for, until none is left.
    async fn send_reads(self) {
        while let Some(batch) = self.stock_reads.next() {
            let mut products: Vec<&String> = batch.iter().flat_map(|(p, _)| p).collect();
            products.sort_unstable();
            products.dedup();
            let read = bounded(async {
                let cursor = (self.stock)
                    .find(doc! { "_id": { "$in": products } })
                    .projection(doc! { "on_hand": 1, "reserved": 1, "source": 1 })
                    .await
                    .map_err(unavailable)?;
                super::documents::all(cursor, |d| {
                    let product = d.get_str("_id").map_err(unavailable)?.to_owned();
                    Ok((product, ledger_of(&d)))
                })
                .await
            })
            .await;
            for (asked, told) in batch {
                let answer = match &read {
                    Ok(found) => Ok((found.iter())
                        .filter(|(product, _)| asked.contains(product))
                        .cloned()
                        .collect()),
                    Err(e) => Err(unavailable(e)),
                };
                let _ = told.send(answer);
            }
        }
    }

    /// Marks a move that gives units back, not applied until its order is written.
    async fn mark(&self, key: &str, m: &StockMove) -> Result<(), StoreError> {
        let change = doc! { "$set": { marker(key): {
            "r": m.reserved, "h": m.on_hand, "a": false, "at": date(Utc::now()),
        } } };
        for _ in 0..2 {
            let marked = (self
                .stock
                .update_one(doc! { "_id": &m.product_id }, change.clone())
                .await)
                .map_err(unavailable)?;
            if marked.matched_count == 1 {
                return Ok(());
            }
            self.seed(&m.product_id, m.source.unwrap_or(0)).await?;
        }
        Err(unavailable("a product's ledger was seeded but not found"))
    }

    /// Takes back the moves made under marker `key` for a write that was refused: each
    /// once, by its marker. One that fails is left to the sweep.
    async fn take_back(&self, key: &str, applied: &[StockMove]) {
        for m in applied {
            let undone = match takes(m) {
                true => {
                    (self.by_marker(key, &m.product_id, m.reserved, m.on_hand, Way::TakeBack)).await
                }
                false => self.unmark(key, &m.product_id).await,
            };
            if let Err(e) = undone {
                tracing::warn!(product = %m.product_id, error = %e, "a stock move not taken back yet; the sweep will");
            }
        }
    }

    /// Moves a product's ledger by its marked move, once (the marker goes with it): one
    /// that waited for its order applied, or one applied taken back.
    async fn by_marker(
        &self,
        key: &str,
        product: &str,
        reserved: i64,
        on_hand: i64,
        way: Way,
    ) -> Result<(), StoreError> {
        let forward = way == Way::Apply;
        let sign = if forward { 1 } else { -1 };
        let marked = marker(key);
        let filter = doc! { "_id": product, format!("{marked}.a"): !forward };
        let change = doc! {
            "$inc": {
                "reserved": sign * reserved,
                "on_hand": sign * on_hand,
                "available": sign * (on_hand - reserved),
            },
            "$unset": { &marked: "" },
        };
        bounded(async {
            self.stock
                .update_one(filter, change)
                .await
                .map_err(unavailable)
        })
        .await
        .map(drop)
    }

    async fn unmark(&self, key: &str, product: &str) -> Result<(), StoreError> {
        let change = doc! { "$unset": { marker(key): "" } };
        bounded(async {
            (self.stock.update_one(doc! { "_id": product }, change).await).map_err(unavailable)
        })
        .await
        .map(drop)
    }

    /// Clears the markers of a write that landed, in the background: nothing waits for it.
    /// The markers written within [`CLEAR_EVERY`] are cleared together, one update per
    /// product; one left is cleared by the sweep.
    fn settle(&self, key: String, applied: &[StockMove]) {
        let first = {
            let mut waiting = self
                .stock_clearing
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let first = waiting.is_empty();
            for m in applied {
                waiting
                    .entry(m.product_id.clone())
                    .or_default()
                    .push(key.clone());
            }
            first
        };
        if !first {
            return;
        }
        let (db, waiting) = (self.db.clone(), self.stock_clearing.clone());
        tokio::spawn(async move {
            tokio::time::sleep(CLEAR_EVERY).await;
            let products = std::mem::take(&mut *waiting.lock().unwrap_or_else(|e| e.into_inner()));
            let clears = products.into_iter().map(|(product, keys)| {
                let unset: Document = keys
                    .iter()
                    .map(|k| (marker(k), Bson::String(String::new())))
                    .collect();
                (doc! { "_id": product }, doc! { "$unset": unset })
            });
            if let Err(e) = update_each(&db, clears).await {
                tracing::warn!(error = %e, "stock markers not cleared yet; the sweep will");
            }
        });
    }

    /// Every marker left in the ledger: product, key, units reserved and on hand, when.
    async fn markers(&self) -> Result<Vec<Marker>, StoreError> {
        let pending = doc! { "pending": { "$exists": true, "$ne": {} } };
        let mut markers = Vec::new();
        for (product, key, entry) in self.entries_of("pending", pending).await? {
            let Some(Bson::DateTime(at)) = entry.get("at") else {
                continue;
            };
            let int = |f| entry.get(f).and_then(Bson::as_i64).unwrap_or(0);
            markers.push(Marker {
                product,
                reserved: int("r"),
                on_hand: int("h"),
                applied: entry.get_bool("a").unwrap_or(true),
                at: at.to_chrono(),
                key,
            });
        }
        Ok(markers)
    }

    /// The entries of sub-document `field` (markers, blocks) of the ledgers matching
    /// `filter`: product, key, entry.
    async fn entries_of(
        &self,
        field: &str,
        filter: Document,
    ) -> Result<Vec<(String, String, Document)>, StoreError> {
        let found = bounded(async {
            let cursor = (self.stock.find(filter).projection(doc! { field: 1 }))
                .await
                .map_err(unavailable)?;
            super::documents::all(cursor, Ok).await
        })
        .await?;
        let mut entries = Vec::new();
        for mut ledger in found {
            let product = ledger.get_str("_id").map_err(unavailable)?.to_owned();
            let Ok(field) = ledger.get_document_mut(field) else {
                continue;
            };
            for (key, entry) in std::mem::take(field) {
                if let Bson::Document(entry) = entry {
                    entries.push((product.clone(), key, entry));
                }
            }
        }
        Ok(entries)
    }

    /// Whether the write a marker names landed with its order.
    async fn landed(&self, marker: &Marker) -> Result<bool, StoreError> {
        match marker.key.split_once('~') {
            Some((order, write)) => self.names_write(order, write).await,
            None => Ok(false),
        }
    }

    /// Whether order `order` names write `write` among its last stock-moving writes.
    async fn names_write(&self, order: &str, write: &str) -> Result<bool, StoreError> {
        let found = bounded(async {
            (self.orders)
                .find_one(doc! { "_id": order, "stock_writes": write })
                .projection(doc! { "_id": 1 })
                .await
                .map_err(unavailable)
        })
        .await?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl StockStore for MongoStore {
    /// Read with the other reads waiting (`shared.rs`): one `find` for all their products.
    async fn ledgers(&self, products: &[String]) -> Result<BTreeMap<String, Ledger>, StoreError> {
        let (told, answer) = oneshot::channel();
        if self.stock_reads.push((products.to_vec(), told)) {
            tokio::spawn(self.clone().send_reads());
        }
        let mut ledgers =
            (answer.await).unwrap_or_else(|_| Err(unavailable("the stock reader stopped")))?;
        self.with_own_blocks(&mut ledgers).await;
        Ok(ledgers)
    }

    /// One conditional update: on hand never under what is reserved.
    async fn adjust_stock(
        &self,
        product: &str,
        delta: i64,
        seed: i64,
    ) -> Result<StockLevel, StoreError> {
        bounded(async {
            for _ in 0..2 {
                let adjusted = (self.stock)
                    .find_one_and_update(
                        doc! { "_id": product, "available": { "$gte": -delta } },
                        doc! { "$inc": { "on_hand": delta, "available": delta } },
                    )
                    .return_document(mongodb::options::ReturnDocument::After)
                    .await
                    .map_err(unavailable)?;
                if let Some(adjusted) = adjusted {
                    return Ok(level_of(&adjusted));
                }
                let found = (self.stock)
                    .find_one(doc! { "_id": product })
                    .await
                    .map_err(unavailable)?;
                if let Some(found) = found {
                    return Err(StoreError::Shortage(Shortage {
                        product_id: product.to_owned(),
                        available: level_of(&found).available(),
                    }));
                }
                self.seed(product, seed).await?;
            }
            Err(unavailable("a product's ledger was seeded but not found"))
        })
        .await
    }

    async fn stock_levels(&self) -> Result<Vec<(String, StockLevel)>, StoreError> {
        bounded(async {
            let cursor = self
                .stock
                .find(doc! {})
                .sort(doc! { "_id": 1 })
                .await
                .map_err(unavailable)?;
            super::documents::all(cursor, |d| {
                Ok((
                    d.get_str("_id").map_err(unavailable)?.to_owned(),
                    level_of(&d),
                ))
            })
            .await
        })
        .await
    }

    async fn reserving_orders(&self) -> Result<Vec<Order>, StoreError> {
        bounded(async {
            let filter = doc! { "reservation": { "$exists": true }, "reservation.released_at": { "$exists": false } };
            let cursor = self.orders.find(filter).await.map_err(unavailable)?;
            super::documents::all(cursor, super::documents::order_from).await
        })
        .await
    }

    async fn holders(&self, product: &str, limit: u32) -> Result<Vec<(OrderId, i64)>, StoreError> {
        bounded(async {
            let filter = doc! { "items.product_id": product, "reservation": { "$exists": true } };
            let cursor = self
                .orders
                .find(filter)
                .sort(doc! { "created_at": 1 })
                .await
                .map_err(unavailable)?;
            let orders: Vec<Order> =
                super::documents::all(cursor, super::documents::order_from).await?;
            holding(orders.into_iter().map(Ok), product, limit)
        })
        .await
    }

    /// Units reserved by markers whose write did not land (yet), and by blocks but not
    /// taken by an order, by product.
    async fn stock_in_doubt(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut doubt = self.blocks_in_doubt().await?;
        for marker in self.markers().await? {
            // Taken before a write that has not landed, or to be given back after one that
            // has: the ledger holds them, the orders do not.
            let units = match (marker.applied, self.landed(&marker).await?) {
                (true, false) => marker.reserved,
                (false, true) => -marker.reserved,
                _ => continue,
            };
            *doubt.entry(marker.product).or_default() += units;
        }
        Ok(doubt)
    }

    /// Settles the markers older than [`SETTLE_AFTER`], and the blocks not renewed for as
    /// long, on the replica holding shard 0, at most every [`SWEEP_EVERY`]: how many it
    /// settled.
    async fn settle_stock(&self, shards: &Shards) -> Result<usize, StoreError> {
        if !shards.numbers().contains(&0) {
            return Ok(0);
        }
        {
            let mut swept = self.stock_swept.lock().unwrap_or_else(|e| e.into_inner());
            if swept.is_some_and(|at: Instant| at.elapsed() < SWEEP_EVERY) {
                return Ok(0);
            }
            *swept = Some(Instant::now());
        }
        let before = Utc::now() - SETTLE_AFTER;
        let mut settled = 0;
        for left in self.markers().await?.into_iter().filter(|m| m.at <= before) {
            match (left.applied, self.landed(&left).await?) {
                (true, true) | (false, false) => self.unmark(&left.key, &left.product).await?,
                (false, true) => {
                    (self.by_marker(
                        &left.key,
                        &left.product,
                        left.reserved,
                        left.on_hand,
                        Way::Apply,
                    ))
                    .await?
                }
                (true, false) => {
                    (self.by_marker(
                        &left.key,
                        &left.product,
                        left.reserved,
                        left.on_hand,
                        Way::TakeBack,
                    ))
                    .await?;
                    tracing::info!(product = %left.product, marker = %left.key, "stock taken for an order never written, given back");
                }
            }
            settled += 1;
        }
        Ok(settled + self.settle_blocks().await?)
    }

    /// Through the partial index of the holds that can run out.
    async fn expiring(
        &self,
        until: DateTime<Utc>,
        shards: &Shards,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        let shards: Vec<i32> = shards.numbers().into_iter().map(i32::from).collect();
        let filter = doc! {
            "reservation.expires_at": { "$lte": date(until) },
            "shard": { "$in": shards },
        };
        bounded(async {
            let cursor = (self.orders)
                .find(filter)
                .sort(doc! { "reservation.expires_at": 1 })
                .limit(i64::from(limit))
                .await
                .map_err(unavailable)?;
            super::documents::all(cursor, super::documents::order_from).await
        })
        .await
    }
}
