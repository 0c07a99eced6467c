//! Moves that take units, sent together: while one `update` command of takes is on its way
//! to the database, the orders reserving meanwhile wait, and the next command carries all of
//! them, a statement per product (the takes of one product summed, all or none); and how one
//! take alone is asked for, with the conditions that tell whether it crossed its workflow's
//! `low_stock` threshold.

use super::shared::Shared;
use super::{level_of, marker, update_each};
use crate::domain::{Shortage, StockAlert, StockMove, StoreError};
use crate::store::mongo::documents::{all, date};
use crate::store::mongo::{MongoStore, bounded, unavailable};
use bson::{Bson, Document, doc};
use chrono::Utc;
use tokio::sync::oneshot;

/// Figures a move that crosses its threshold is asked from exactly, at most.
const CROSSING_FIGURES: usize = 16;
/// How often one move is asked for while its product's ledger keeps changing under it.
const MOVE_ATTEMPTS: usize = 20;

/// The conditions on `available` under which `m` may be applied, each with the alert it
/// then raises (`Crossed::Near`: one whose figure is read after), tried in turn. A move
/// that cannot cross a threshold has one: enough available. One that can is asked first to
/// stay at or over the threshold, then from each figure that crosses it (exact, so the
/// alert says what is left; a line of more units than [`CROSSING_FIGURES`] from the figures
/// under those at once), then from under it: each a conditional update the database
/// applies atomically, so of moves racing for a product exactly one crosses. (The pre-image
/// `findAndModify` returns would tell the same in one request on MongoDB, but the test
/// server answers with stale ones under load.)
fn conditions(m: &StockMove) -> Vec<(Document, Crossed)> {
    let needed = m.reserved - m.backorders;
    let Some(threshold) = m.low_stock.filter(|_| m.reserves()) else {
        return vec![(doc! { "$gte": needed }, Crossed::No)];
    };
    let top = threshold + m.reserved;
    let mut conditions = vec![(doc! { "$gte": needed.max(top) }, Crossed::No)];
    let exact = (threshold.max(needed)..top).rev().take(CROSSING_FIGURES);
    let lowest = exact.clone().last().unwrap_or(top);
    conditions.extend(exact.map(|before| (doc! { "$eq": before }, Crossed::From(before))));
    if lowest > threshold.max(needed) {
        conditions.push((
            doc! { "$gte": threshold.max(needed), "$lt": lowest },
            Crossed::Near,
        ));
    }
    conditions.push((doc! { "$gte": needed, "$lt": threshold }, Crossed::No));
    conditions
}

/// Whether a move that took units crossed its threshold, and from which figure.
#[derive(Clone, Copy)]
enum Crossed {
    No,
    From(i64),
    /// From a figure not asked for exactly: what is left is read after.
    Near,
}

/// A move taking units, waiting to be sent with the others.
pub(in crate::store::mongo) struct Take {
    key: String,
    m: StockMove,
    told: oneshot::Sender<Result<Option<StockAlert>, StoreError>>,
}

/// The takes waiting to be sent together.
pub(in crate::store::mongo) type Takes = Shared<Take>;

/// Tells every take of `groups` that its command failed.
fn tell_all(groups: Vec<Vec<Take>>, e: &StoreError) {
    for take in groups.into_iter().flatten() {
        let _ = take.told.send(Err(unavailable(e)));
    }
}

impl MongoStore {
    /// `m`, which takes units, sent with the other takes waiting: while one command of
    /// takes is on its way to the database, the orders that reserve meanwhile wait, and
    /// the next command carries all of them, one statement per product (the insert
    /// batch's pattern; a lone take goes at once). The sending runs in a task of its own,
    /// so a request given up does not leave the others waiting.
    pub(super) async fn take(
        &self,
        key: &str,
        m: &StockMove,
    ) -> Result<Option<StockAlert>, StoreError> {
        let (told, answer) = oneshot::channel();
        let take = Take {
            key: key.to_owned(),
            m: m.clone(),
            told,
        };
        if self.stock_takes.push(take) {
            tokio::spawn(self.clone().send_takes());
        }
        (answer.await).unwrap_or_else(|_| Err(unavailable("the stock writer stopped")))
    }

    /// Sends the takes waiting, until none is left.
    async fn send_takes(self) {
        while let Some(batch) = self.stock_takes.next() {
            // Takes of a product share a statement when they follow the same figure of the
            // source and may go as far under zero; one that may cross a threshold goes
            // alone, to be told whether it did.
            let (mut shared, mut alone): (Vec<Vec<Take>>, Vec<Take>) = (Vec::new(), Vec::new());
            for take in batch {
                if take.m.low_stock.is_some() {
                    alone.push(take);
                    continue;
                }
                let alike = |g: &&mut Vec<Take>| {
                    let (a, b) = (&g[0].m, &take.m);
                    (&a.product_id, a.source, a.backorders)
                        == (&b.product_id, b.source, b.backorders)
                };
                match shared.iter_mut().find(alike) {
                    Some(group) => group.push(take),
                    None => shared.push(vec![take]),
                }
            }
            if let [group] = shared.as_slice()
                && group.len() == 1
            {
                alone.append(&mut shared.remove(0));
            }
            let store = &self;
            let alone = alone.into_iter().map(|take| async move {
                let answer = store.move_one(&take.key, &take.m).await;
                let _ = take.told.send(answer);
            });
            tokio::join!(
                futures_util::future::join_all(alone),
                self.send_shared(shared)
            );
        }
    }

    /// One command for `groups`, a statement each, all of a group or nothing; a group whose
    /// product had not enough for all of it (or a ledger not started, or following another
    /// figure) is asked again take by take, so that as many as fit are taken.
    async fn send_shared(&self, groups: Vec<Vec<Take>>) {
        if groups.is_empty() {
            return;
        }
        let at = date(Utc::now());
        let statements = groups.iter().map(|group| {
            let first = &group[0].m;
            let (mut reserved, mut on_hand, mut markers) = (0, 0, Document::new());
            for Take { key, m, .. } in group {
                reserved += m.reserved;
                on_hand += m.on_hand;
                let marked = doc! { "r": m.reserved, "h": m.on_hand, "a": true, "at": at };
                markers.insert(marker(key), marked);
            }
            let mut filter = doc! { "_id": &first.product_id };
            if let Some(source) = first.source {
                filter.insert("source", source);
            }
            filter.insert("available", doc! { "$gte": reserved - first.backorders });
            let change = doc! {
                "$inc": { "reserved": reserved, "on_hand": on_hand, "available": on_hand - reserved },
                "$set": markers,
            };
            (filter, change)
        });
        let applied = match update_each(&self.db, statements.collect::<Vec<_>>()).await {
            Ok(n) if n == groups.len() as i64 => vec![true; groups.len()],
            Ok(_) => match self.marked(&groups).await {
                Ok(applied) => applied,
                Err(e) => return tell_all(groups, &e),
            },
            Err(e) => return tell_all(groups, &e),
        };
        let again = (groups.into_iter().zip(applied)).map(|(group, applied)| async move {
            for Take { key, m, told } in group {
                let answer = match applied {
                    true => Ok(None),
                    false => self.move_one(&key, &m).await,
                };
                let _ = told.send(answer);
            }
        });
        futures_util::future::join_all(again).await;
    }

    /// Which of `groups` were applied: those whose first take's marker is in its ledger.
    async fn marked(&self, groups: &[Vec<Take>]) -> Result<Vec<bool>, StoreError> {
        let products: Vec<&str> = groups.iter().map(|g| g[0].m.product_id.as_str()).collect();
        let projection: Document = (groups.iter())
            .map(|g| (marker(&g[0].key), Bson::Int32(1)))
            .collect();
        let found = bounded(async {
            let cursor = (self.stock)
                .find(doc! { "_id": { "$in": products } })
                .projection(projection)
                .await
                .map_err(unavailable)?;
            all(cursor, Ok).await
        })
        .await?;
        Ok((groups.iter())
            .map(|g| {
                let (product, key) = (&g[0].m.product_id, &g[0].key);
                found.iter().any(|d| {
                    d.get_str("_id").is_ok_and(|id| id == product)
                        && d.get_document("pending").is_ok_and(|p| p.contains_key(key))
                })
            })
            .collect())
    }

    /// One product's move, with its marker, and the alert it raised; a ledger not started
    /// yet is seeded from the product's stock first.
    pub(super) async fn move_one(
        &self,
        key: &str,
        m: &StockMove,
    ) -> Result<Option<StockAlert>, StoreError> {
        // Plain updates, not aggregation pipelines: the test server scans the collection
        // for an `$expr` filter (9 ms an update against 1.2 ms). So `available` is kept as a
        // field of its own, moved with the other two, and the source's figure is part of
        // the filter: a ledger that followed another figure is made to follow this one,
        // then asked again.
        let mut filter = doc! { "_id": &m.product_id };
        if let Some(source) = m.source {
            filter.insert("source", source);
        }
        let change = doc! {
            "$inc": { "reserved": m.reserved, "on_hand": m.on_hand, "available": m.on_hand - m.reserved },
            "$set": { marker(key): { "r": m.reserved, "h": m.on_hand, "a": true, "at": date(Utc::now()) } },
        };
        let needed = m.reserved - m.backorders;
        for _ in 0..MOVE_ATTEMPTS {
            for (available, crossed) in conditions(m) {
                let mut filter = filter.clone();
                filter.insert("available", available);
                let moved =
                    (self.stock.update_one(filter, change.clone()).await).map_err(unavailable)?;
                if moved.matched_count == 1 {
                    return match crossed {
                        Crossed::No => Ok(None),
                        Crossed::From(before) => Ok(m.alert(before)),
                        Crossed::Near => {
                            let after = (self.stock.find_one(doc! { "_id": &m.product_id }))
                                .await
                                .map_err(unavailable)?
                                .map_or(0, |d| level_of(&d).available());
                            Ok(Some(StockAlert {
                                product_id: m.product_id.clone(),
                                available: after,
                                threshold: m.low_stock.unwrap_or_default(),
                            }))
                        }
                    };
                }
            }
            let found =
                (self.stock.find_one(doc! { "_id": &m.product_id }).await).map_err(unavailable)?;
            match (found, m.source) {
                (None, source) => self.seed(&m.product_id, source.unwrap_or(0)).await?,
                (Some(found), Some(source)) if found.get_i64("source").ok() != Some(source) => {
                    self.follow(&m.product_id, source).await?;
                }
                // Enough after all: the update found the document changed under it and
                // matched nothing (on the test server under load, 24 orders racing for 5
                // units once placed only 3). Asked again.
                (Some(found), _) if level_of(&found).available() >= needed => {}
                (Some(found), _) => {
                    return Err(StoreError::Shortage(Shortage {
                        product_id: m.product_id.clone(),
                        available: level_of(&found).available(),
                    }));
                }
            }
        }
        Err(unavailable("a product's ledger kept changing under a move"))
    }

    /// Moves on hand by what the product's source reported since the ledger last followed
    /// it; the filter makes the replica that sees a change first apply it, once.
    async fn follow(&self, product: &str, source: i64) -> Result<(), StoreError> {
        let moved = doc! { "$subtract": [source, "$source"] };
        let change = vec![doc! { "$set": {
            "on_hand": { "$add": ["$on_hand", moved.clone()] },
            "available": { "$add": ["$available", moved] },
            "source": source,
        } }];
        (self
            .stock
            .update_one(doc! { "_id": product, "source": { "$ne": source } }, change)
            .await)
            .map_err(unavailable)
            .map(drop)
    }
}
