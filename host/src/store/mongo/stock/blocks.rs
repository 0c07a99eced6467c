//! Blocks of units a replica draws ahead for the orders it places: one conditional update
//! reserves a block of a product (`blocks.<id>` in its ledger: the units drawn, and the
//! incarnation of the replica that holds it), and the placements that follow take their
//! units from it with no write of the ledger at all. Each order names the blocks it took
//! from (`drawn_from`), so that the units a block gave out are always known from the
//! orders that landed.
//!
//! A block is the replica's for as long as the replica is heard from: it gives out units
//! only while its last heartbeat that landed was sent within [`USE_WITHIN`], so that no
//! write of it is still on its way once it has been silent for [`SETTLE_AFTER`]. A block
//! unused for [`IDLE`] goes back whole. One its replica stopped using while writes that
//! took from it were unanswered (an outcome unknown, a heartbeat late) is settled by the
//! replica itself after [`SETTLE_AFTER`]; one of a replica silent that long (killed) by the
//! sweep. Settling keeps reserved what the orders naming the block took and gives back the
//! rest, once (the block's entry goes with it).
//!
//! Blocks are drawn only while plenty is available ([`KEEP`] left to the others): near the
//! last units every placement takes exactly what it needs, so no unit waits in one
//! replica's block while another replica refuses an order for it. A write of the ledger
//! per order is what the test server's cost is counted in (about a millisecond each, where
//! a plain order is one document of a many-order insert).

use super::SETTLE_AFTER;
use crate::domain::{Ledger, StockMove, StoreError};
use crate::replicas::LIVE_WITHIN;
use crate::store::mongo::documents::all;
use crate::store::mongo::{MongoStore, bounded, is_duplicate_key, unavailable};
use bson::{Bson, Document, doc};
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Units a block draws at first (more when one line asks for more).
const BLOCK: i64 = 32;
/// Units a block of a product that sells fast draws at most: one spent within
/// [`SPENT_FAST`] of its draw is followed by one twice its size, so a hot product costs a
/// few draws a second, not one every few orders.
const BLOCK_MOST: i64 = 16 * BLOCK;
const SPENT_FAST: Duration = Duration::from_secs(1);
/// Units a draw leaves available to the others at least.
const KEEP: i64 = 3 * BLOCK;
/// How long after its last heartbeat that landed was sent a replica gives out units of its
/// blocks: well within [`SETTLE_AFTER`], with time for the last of their orders to land.
const USE_WITHIN: Duration = Duration::from_secs(20);
/// How long after a draw was refused (too few available) the product's placements go
/// through the ledger without asking for a block.
const REFUSED_FOR: Duration = Duration::from_secs(1);
/// A block unused this long goes back to the ledger: long enough that a product ordered
/// now and then keeps its block (a draw, and a return, are writes of the ledger), short
/// enough that units a replica no longer sells soon show as available again.
const IDLE: Duration = Duration::from_secs(60);

/// The block this process holds of one product.
struct Block {
    id: String,
    /// The source's figure the ledger followed when the block was drawn: a placement that
    /// reports another one goes through the ledger, which follows it.
    source: Option<i64>,
    /// Units not given out yet.
    left: i64,
    /// Placements given units whose order's write has not answered yet.
    in_flight: usize,
    /// Units it drew, and when.
    size: i64,
    drawn: Instant,
    used: Instant,
}

/// One product's block, if any, and when a draw was last refused: placements of the
/// product wait for each other on it.
#[derive(Default)]
struct Held {
    block: Option<Block>,
    refused: Option<Instant>,
}

type Slot = Arc<tokio::sync::Mutex<Held>>;

/// A block this process stopped using, to be settled once its writes have all landed.
struct Abandoned {
    product: String,
    id: String,
    at: Instant,
}

/// The blocks this process holds, by product, and what it knows of their holders.
pub(in crate::store::mongo) struct Blocks {
    slots: Mutex<HashMap<String, Slot>>,
    /// This process's incarnation, and when its last heartbeat that landed was sent.
    heard: Mutex<Option<(String, Instant)>>,
    abandoned: Mutex<Vec<Abandoned>>,
    /// Blocks spent or given up while placements they gave units to were unanswered:
    /// given back once those answer (and whether an answer was unknown).
    closing: Mutex<Vec<(String, Block, bool)>>,
    /// Holders of blocks the sweep found silent, and since when.
    silent: Mutex<HashMap<String, Instant>>,
    /// Whether the task tending the blocks (idle, abandoned, a late heartbeat) runs.
    tending: std::sync::atomic::AtomicBool,
    idle: Duration,
    settle_after: Duration,
}

impl Default for Blocks {
    fn default() -> Self {
        Blocks {
            slots: Mutex::default(),
            heard: Mutex::default(),
            abandoned: Mutex::default(),
            closing: Mutex::default(),
            silent: Mutex::default(),
            tending: false.into(),
            idle: IDLE,
            settle_after: SETTLE_AFTER,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Blocks {
    /// Blocks given back once unused for `idle`, and settled `settle_after` once left.
    #[cfg(test)]
    pub(in crate::store::mongo) fn waiting(idle: Duration, settle_after: Duration) -> Self {
        Blocks {
            idle,
            settle_after,
            ..Blocks::default()
        }
    }

    /// A heartbeat of `incarnation` sent at `sent` landed.
    pub(in crate::store::mongo) fn heard(&self, incarnation: &str, sent: Instant) {
        let mut heard = lock(&self.heard);
        if heard.as_ref().is_none_or(|(_, at)| *at < sent) {
            *heard = Some((incarnation.to_owned(), sent));
        }
    }

    /// Who holds this process's blocks, while it may give out their units.
    fn holder(&self) -> Option<String> {
        let heard = lock(&self.heard);
        (heard.as_ref())
            .filter(|(_, sent)| sent.elapsed() < USE_WITHIN)
            .map(|(incarnation, _)| incarnation.clone())
    }

    fn slot(&self, product: &str) -> Slot {
        lock(&self.slots)
            .entry(product.to_owned())
            .or_default()
            .clone()
    }

    fn slots(&self) -> Vec<(String, Slot)> {
        (lock(&self.slots).iter())
            .map(|(p, s)| (p.clone(), s.clone()))
            .collect()
    }

    fn abandon(&self, product: &str, block: Block) {
        lock(&self.abandoned).push(Abandoned {
            product: product.to_owned(),
            id: block.id,
            at: Instant::now(),
        });
    }
}

/// Units an order took from a block.
#[derive(Debug, Clone)]
pub(super) struct Drawn {
    block: String,
    product: String,
    units: i64,
}

/// A block as its product's ledger has it.
struct Entry {
    product: String,
    id: String,
    drawn: i64,
    holder: String,
}

/// The order document's field naming the blocks it took from.
pub(super) fn drawn_from(drawn: &[Drawn]) -> Bson {
    Bson::Array(
        (drawn.iter())
            .map(|d| Bson::Document(doc! { "b": &d.block, "p": &d.product, "q": d.units }))
            .collect(),
    )
}

/// Whether a placement may take its units from blocks: it only reserves.
fn from_blocks(moves: &[StockMove]) -> bool {
    !moves.is_empty() && moves.iter().all(|m| m.reserved > 0 && m.on_hand == 0)
}

/// What a draw for `m` leaves available at least: [`KEEP`], and never under `m`'s
/// `low_stock` threshold, so that no draw crosses it (the ledger's own moves, once too few
/// are left for blocks, tell when it is crossed).
fn kept(m: &StockMove) -> i64 {
    KEEP.max(m.low_stock.unwrap_or(0))
}

/// The update that gives `block` of `product` back whole and drops it, if it is still in
/// the ledger (the sweep may have settled it).
fn give_back(product: &str, block: &Block) -> (Document, Document) {
    let entry = format!("blocks.{}", block.id);
    let filter = doc! { "_id": product, &entry: { "$exists": true } };
    let change = doc! {
        "$inc": { "reserved": -block.left, "available": block.left },
        "$unset": { entry: "" },
    };
    (filter, change)
}

/// What became of an order's write, for the blocks it took from.
#[derive(Clone, Copy)]
pub(super) enum Answer {
    Written,
    NotWritten,
    Unknown,
}

impl MongoStore {
    /// The units of a placement's `moves` taken from this process's blocks (drawing one
    /// where needed), or None when they go through the ledger: a move the blocks cannot
    /// serve sends the whole placement there, with what it took given back to its blocks.
    pub(super) async fn take_from_blocks(
        &self,
        moves: &[StockMove],
    ) -> Result<Option<Vec<Drawn>>, StoreError> {
        let Some(holder) = self.stock_blocks.holder().filter(|_| from_blocks(moves)) else {
            return Ok(None);
        };
        self.tend_blocks();
        // All at once: a line whose block must be drawn first does not hold up the others.
        let answers = moves.iter().map(|m| self.take_one(m, &holder));
        let answers = futures_util::future::join_all(answers).await;
        let mut drawn = Vec::new();
        let mut through_ledger = Ok(false);
        for answer in answers {
            match answer {
                Ok(Some(d)) => drawn.push(d),
                Ok(None) => through_ledger = through_ledger.map(|_| true),
                Err(e) => through_ledger = Err(e),
            }
        }
        if !matches!(through_ledger, Ok(false)) {
            self.blocks_answered(&drawn, Answer::NotWritten).await;
            return through_ledger.map(|_| None);
        }
        Ok(Some(drawn))
    }

    /// `m`'s units from its product's block, drawn first when needed.
    async fn take_one(&self, m: &StockMove, holder: &str) -> Result<Option<Drawn>, StoreError> {
        let slot = self.stock_blocks.slot(&m.product_id);
        let mut held = slot.lock().await;
        let Held { block, refused } = &mut *held;
        if block.as_ref().is_some_and(|b| b.source != m.source) {
            self.retire(&m.product_id, block).await;
        }
        if block.as_ref().is_none_or(|b| b.left < m.reserved) {
            if refused.is_some_and(|at| at.elapsed() < REFUSED_FOR) {
                self.retire(&m.product_id, block).await;
                return Ok(None);
            }
            let size = match block.as_ref() {
                Some(b) if b.drawn.elapsed() < SPENT_FAST => (2 * b.size).min(BLOCK_MOST),
                _ => BLOCK,
            };
            // One no placement waits on is given back by the same write that draws the next.
            if block.as_ref().is_some_and(|b| b.in_flight > 0) {
                self.retire(&m.product_id, block).await;
            }
            let drawn = self.draw(m, holder, block.as_ref(), size).await?;
            if drawn.is_none() {
                self.retire(&m.product_id, block).await;
            }
            *refused = drawn.is_none().then(Instant::now);
            *block = drawn;
        }
        let Some(block) = block.as_mut() else {
            return Ok(None);
        };
        block.left -= m.reserved;
        block.in_flight += 1;
        block.used = Instant::now();
        Ok(Some(Drawn {
            block: block.id.clone(),
            product: m.product_id.clone(),
            units: m.reserved,
        }))
    }

    /// Draws a block of `size` units (or `m`'s) if its ledger has plenty available,
    /// following the source's figure `m` reports, giving back what is left of `spent` (none
    /// of whose units are on their way to an order) in the same write; a ledger not started
    /// yet is started with the block drawn.
    async fn draw(
        &self,
        m: &StockMove,
        holder: &str,
        spent: Option<&Block>,
        size: i64,
    ) -> Result<Option<Block>, StoreError> {
        let units = size.max(m.reserved);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let back = spent.map_or(0, |b| b.left);
        let mut filter =
            doc! { "_id": &m.product_id, "available": { "$gte": units - back + kept(m) } };
        if let Some(source) = m.source {
            filter.insert("source", source);
        }
        let entry = doc! { "d": units, "h": holder };
        let mut change = doc! {
            "$inc": { "reserved": units - back, "available": back - units },
            "$set": { format!("blocks.{id}"): &entry },
        };
        if let Some(spent) = spent {
            let old = format!("blocks.{}", spent.id);
            filter.insert(&old, doc! { "$exists": true });
            change.insert("$unset", doc! { old: "" });
        }
        let drawn = bounded(async {
            let drawn = (self.stock.update_one(filter, change).await).map_err(unavailable)?;
            match (drawn.matched_count, m.source) {
                (1, _) => Ok(true),
                (_, Some(stock)) if spent.is_none() && stock >= units + kept(m) => {
                    let started = doc! {
                        "_id": &m.product_id, "on_hand": stock, "reserved": units,
                        "available": stock - units, "source": stock, "blocks": { &id: entry },
                    };
                    match self.stock.insert_one(started).await {
                        Ok(_) => Ok(true),
                        Err(e) if is_duplicate_key(&e) => Ok(false),
                        Err(e) => Err(unavailable(e)),
                    }
                }
                _ => Ok(false),
            }
        })
        .await?;
        Ok(drawn.then(|| Block {
            id,
            source: m.source,
            left: units,
            in_flight: 0,
            size: units,
            drawn: Instant::now(),
            used: Instant::now(),
        }))
    }

    /// Gives a block back whole (its units given out stay reserved by their orders) when no
    /// placement waits on it; otherwise, or when the store does not answer, leaves it to be
    /// settled. Either way this process no longer uses it.
    async fn retire(&self, product: &str, held: &mut Option<Block>) {
        let Some(block) = held.take() else {
            return;
        };
        if block.in_flight > 0 {
            return lock(&self.stock_blocks.closing).push((product.to_owned(), block, false));
        }
        let (filter, change) = give_back(product, &block);
        let back =
            bounded(async { (self.stock.update_one(filter, change).await).map_err(unavailable) })
                .await;
        if let Err(e) = back {
            tracing::warn!(product, error = %e, "a block of stock not given back yet; settled later");
            self.stock_blocks.abandon(product, block);
        }
    }

    /// What became of the order that took `drawn`: written, its units are its own; not
    /// written, they are the blocks' again; unknown, the blocks are settled later.
    pub(super) async fn blocks_answered(&self, drawn: &[Drawn], answer: Answer) {
        for d in drawn {
            let slot = self.stock_blocks.slot(&d.product);
            let mut held = slot.lock().await;
            let Some(block) = held.block.as_mut().filter(|b| b.id == d.block) else {
                let mut closing = lock(&self.stock_blocks.closing);
                if let Some((_, block, unknown)) =
                    closing.iter_mut().find(|(_, b, _)| b.id == d.block)
                {
                    block.in_flight -= 1;
                    match answer {
                        Answer::Written => {}
                        Answer::NotWritten => block.left += d.units,
                        Answer::Unknown => *unknown = true,
                    }
                }
                continue;
            };
            block.in_flight -= 1;
            match answer {
                Answer::Written => {}
                Answer::NotWritten => block.left += d.units,
                Answer::Unknown => {
                    if let Some(block) = held.block.take() {
                        self.stock_blocks.abandon(&d.product, block);
                    }
                }
            }
        }
    }

    /// Starts tending the blocks, once.
    fn tend_blocks(&self) {
        if !(self.stock_blocks.tending).swap(true, std::sync::atomic::Ordering::SeqCst) {
            tokio::spawn(self.clone().tend());
        }
    }

    /// Every second: leaves every block once this process's heartbeat is late, gives back
    /// those unused for their idle time, and settles those left long enough ago.
    async fn tend(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let late = self.stock_blocks.holder().is_none();
            let idle = self.stock_blocks.idle;
            let unused = |b: &Block| b.in_flight == 0 && b.used.elapsed() >= idle;
            let mut unused_blocks = Vec::new();
            for (product, slot) in self.stock_blocks.slots() {
                let Ok(mut held) = slot.try_lock() else {
                    continue;
                };
                if late && let Some(block) = held.block.take() {
                    self.stock_blocks.abandon(&product, block);
                } else if held.block.as_ref().is_some_and(unused)
                    && let Some(block) = held.block.take()
                {
                    unused_blocks.push((product, block));
                }
            }
            // Those closing whose placements all answered: given back, or left to be
            // settled when an answer was unknown.
            let answered: Vec<(String, Block, bool)> = {
                let mut closing = lock(&self.stock_blocks.closing);
                let (answered, waiting) = std::mem::take(&mut *closing)
                    .into_iter()
                    .partition(|(_, b, _)| b.in_flight == 0);
                *closing = waiting;
                answered
            };
            for (product, block, unknown) in answered {
                match unknown {
                    true => self.stock_blocks.abandon(&product, block),
                    false => unused_blocks.push((product, block)),
                }
            }
            // Given back in one command.
            let statements =
                (unused_blocks.iter()).map(|(product, block)| give_back(product, block));
            if let Err(e) = super::update_each(&self.db, statements.collect::<Vec<_>>()).await {
                tracing::warn!(error = %e, "unused blocks of stock not given back yet; settled later");
                for (product, block) in unused_blocks {
                    self.stock_blocks.abandon(&product, block);
                }
            }
            let wait = self.stock_blocks.settle_after;
            let due: Vec<Abandoned> = {
                let mut abandoned = lock(&self.stock_blocks.abandoned);
                let (due, kept) = std::mem::take(&mut *abandoned)
                    .into_iter()
                    .partition(|a| a.at.elapsed() >= wait);
                *abandoned = kept;
                due
            };
            for a in due {
                if let Err(e) = self.settle_block(&a.product, &a.id).await {
                    tracing::warn!(product = %a.product, error = %e, "a block of stock left not settled yet; trying again");
                    lock(&self.stock_blocks.abandoned).push(a);
                }
            }
        }
    }

    /// `ledgers` as this process may take from them: the units left in its own blocks are
    /// available to its placements.
    pub(super) async fn with_own_blocks(&self, ledgers: &mut BTreeMap<String, Ledger>) {
        for (product, ledger) in ledgers.iter_mut() {
            let slot = self.stock_blocks.slot(product);
            if let Some(block) = slot.lock().await.block.as_ref() {
                ledger.level.reserved -= block.left;
            }
        }
    }

    /// Every block in the ledger (of `product`, and block `id`, when given).
    async fn entries(&self, only: Option<(&str, &str)>) -> Result<Vec<Entry>, StoreError> {
        let filter = match only {
            Some((product, id)) => {
                doc! { "_id": product, format!("blocks.{id}"): { "$exists": true } }
            }
            None => doc! { "blocks": { "$exists": true, "$ne": {} } },
        };
        let found = self.entries_of("blocks", filter).await?;
        Ok((found.into_iter())
            .filter(|(_, block, _)| only.is_none_or(|(_, only)| only == block))
            .map(|(product, id, entry)| Entry {
                product,
                id,
                drawn: entry.get("d").and_then(Bson::as_i64).unwrap_or(0),
                holder: entry.get_str("h").unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// What the orders naming each of `entries`' blocks took of it, less what it drew: the
    /// units it holds that no order has.
    async fn untaken(&self, entries: &[Entry]) -> Result<Vec<i64>, StoreError> {
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let orders = bounded(async {
            let cursor = (self.orders)
                .find(doc! { "drawn_from.b": { "$in": ids } })
                .projection(doc! { "drawn_from": 1 })
                .await
                .map_err(unavailable)?;
            all(cursor, Ok).await
        })
        .await?;
        let mut taken: HashMap<(&str, &str), i64> = HashMap::new();
        for d in orders
            .iter()
            .flat_map(|o| o.get_array("drawn_from").into_iter().flatten())
        {
            let Some(d) = d.as_document() else { continue };
            if let (Ok(block), Ok(product)) = (d.get_str("b"), d.get_str("p")) {
                *taken.entry((block, product)).or_default() +=
                    d.get("q").and_then(Bson::as_i64).unwrap_or(0);
            }
        }
        Ok((entries.iter())
            .map(|e| {
                e.drawn
                    - taken
                        .get(&(e.id.as_str(), e.product.as_str()))
                        .unwrap_or(&0)
            })
            .collect())
    }

    /// Units the blocks hold that no order has taken (in flight, or idle), by product.
    pub(super) async fn blocks_in_doubt(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let entries = self.entries(None).await?;
        let untaken = self.untaken(&entries).await?;
        let mut doubt = BTreeMap::new();
        for (e, units) in entries.into_iter().zip(untaken) {
            *doubt.entry(e.product).or_default() += units;
        }
        Ok(doubt)
    }

    /// Gives back what block `id` of `product` holds that no order took, and drops it: once,
    /// whoever settles it first.
    async fn settle_block(&self, product: &str, id: &str) -> Result<(), StoreError> {
        let entries = self.entries(Some((product, id))).await?;
        for (e, back) in entries.iter().zip(self.untaken(&entries).await?) {
            let entry = format!("blocks.{}", e.id);
            bounded(async {
                (self.stock)
                    .update_one(
                        doc! { "_id": &e.product, &entry: { "$exists": true } },
                        doc! {
                            "$inc": { "reserved": -back, "available": back },
                            "$unset": { &entry: "" },
                        },
                    )
                    .await
                    .map_err(unavailable)
            })
            .await?;
            tracing::info!(product = %e.product, units = back, "a block of stock left behind settled");
        }
        Ok(())
    }

    /// Settles the blocks of holders silent since the sweep's wait (killed): how many. Only
    /// their orders are read.
    pub(super) async fn settle_blocks(&self) -> Result<usize, StoreError> {
        let entries = self.entries(None).await?;
        if entries.is_empty() {
            return Ok(0);
        }
        let live = self.heard_since(Utc::now() - LIVE_WITHIN).await?;
        let wait = self.stock_blocks.settle_after;
        let due: Vec<&Entry> = {
            let mut silent = lock(&self.stock_blocks.silent);
            silent.retain(|holder, _| entries.iter().any(|e| &e.holder == holder));
            (entries.iter())
                .filter(|e| !live.iter().any(|beat| beat.incarnation == e.holder))
                .filter(|e| {
                    let since = silent.entry(e.holder.clone()).or_insert_with(Instant::now);
                    since.elapsed() >= wait
                })
                .collect()
        };
        for e in &due {
            self.settle_block(&e.product, &e.id).await?;
        }
        Ok(due.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reserve(product: &str, units: i64, low_stock: Option<i64>) -> StockMove {
        StockMove {
            product_id: product.into(),
            reserved: units,
            on_hand: 0,
            source: Some(100),
            backorders: 0,
            low_stock,
        }
    }

    #[test]
    fn only_placements_that_only_reserve_take_from_blocks() {
        assert!(from_blocks(&[
            reserve("a", 2, None),
            reserve("b", 1, Some(5))
        ]));
        assert!(!from_blocks(&[]));
        let mut release = reserve("a", -2, None);
        assert!(!from_blocks(&[release.clone()]));
        release.reserved = 2;
        release.on_hand = -2;
        assert!(!from_blocks(&[release]), "a shipment");
    }

    #[test]
    fn a_draw_never_takes_available_under_the_threshold() {
        assert_eq!(kept(&reserve("a", 2, None)), KEEP);
        assert_eq!(kept(&reserve("a", 2, Some(500))), 500);
    }
}
