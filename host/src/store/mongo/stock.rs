//! The stock ledger on MongoDB: `stock`, one document per product (`on_hand`, `reserved`,
//! and `source`, the product service's figure it last followed). An order that moves stock
//! is written in a transaction with its moves: each move one conditional update of its
//! product's document, refused by its own filter when it would reserve more than is
//! available, so two replicas racing for the last units cannot both have them (MongoDB
//! aborts one of two transactions writing one document, and it is tried again). An order
//! that moves no stock is written as before, with the others waiting (`batch.rs`).

use super::batch::Outcome;
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::{Shortage, StockLevel, StockMove, StoreError};
use crate::orders::stock::holds;
use crate::orders::{Order, OrderId};
use bson::{Bson, Document, doc};
use mongodb::ClientSession;
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

/// Transactions tried at most, while MongoDB says a failure is transient (another
/// transaction wrote the same product first).
const ATTEMPTS: u32 = 50;
/// Locks this process takes on the products a transaction moves, by hash: its own writers
/// of one product wait for each other here instead of aborting each other in the database
/// (only other replicas' can still collide there).
pub(super) const STRIPES: usize = 64;

/// The process's product locks.
pub(super) type Stripes = std::sync::Arc<[tokio::sync::Mutex<()>; STRIPES]>;

pub(super) fn stripes() -> Stripes {
    std::sync::Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
}

fn stripe(product: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    product.hash(&mut hasher);
    (hasher.finish() % STRIPES as u64) as usize
}

/// The order write a transaction carries beside its stock moves.
pub(super) enum Write {
    Insert(Document),
    /// An update of the order, conditional on `filter` (its version).
    Update {
        filter: Document,
        change: Document,
    },
}

/// Why a transaction's body stopped.
enum Stop {
    /// The store's answer: a shortage, a conflict, a duplicate.
    Store(StoreError),
    Duplicate,
    /// Another transaction seeded the same product's ledger first: tried again.
    Again,
    Driver(mongodb::error::Error),
}

impl From<mongodb::error::Error> for Stop {
    fn from(e: mongodb::error::Error) -> Self {
        Stop::Driver(e)
    }
}

fn level_of(d: &Document) -> StockLevel {
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

impl MongoStore {
    /// Writes `write` and applies `moves` in one transaction: the order's outcome
    /// (inserted, or a duplicate for the caller to tell apart), or the store's refusal.
    pub(super) async fn with_stock(
        &self,
        write: Write,
        moves: &[StockMove],
    ) -> Result<Outcome, StoreError> {
        // Taken in one order (by stripe) by every writer: no two wait on each other.
        let mut taken: Vec<usize> = moves.iter().map(|m| stripe(&m.product_id)).collect();
        taken.sort_unstable();
        taken.dedup();
        bounded(async {
            let mut held = Vec::with_capacity(taken.len());
            for i in taken {
                held.push(self.stock_locks[i].lock().await);
            }
            let mut session = self
                .db
                .client()
                .start_session()
                .await
                .map_err(unavailable)?;
            for attempt in 0..ATTEMPTS {
                session.start_transaction().await.map_err(unavailable)?;
                let body = self.transaction(&mut session, &write, moves).await;
                let error = match body {
                    Ok(()) => match commit(&mut session).await {
                        Ok(()) => return Ok(Outcome::Inserted),
                        Err(e) => e,
                    },
                    Err(stop) => {
                        let _ = session.abort_transaction().await;
                        match stop {
                            Stop::Store(e) => return Err(e),
                            Stop::Duplicate => return Ok(Outcome::Duplicate),
                            Stop::Again => continue,
                            Stop::Driver(e) => e,
                        }
                    }
                };
                if !error.contains_label(TRANSIENT_TRANSACTION_ERROR) {
                    return Err(unavailable(error));
                }
                // Another replica's transaction won: a random pause, longer each time, so
                // that the losers do not collide again at once.
                let ceiling = 1u64 << attempt.min(6);
                let pause = uuid::Uuid::new_v4().as_u128() as u64 % ceiling + 1;
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(unavailable(
                "the stock stayed contended through every attempt",
            ))
        })
        .await
    }

    async fn transaction(
        &self,
        session: &mut ClientSession,
        write: &Write,
        moves: &[StockMove],
    ) -> Result<(), Stop> {
        for stock_move in moves {
            self.move_stock(session, stock_move).await?;
        }
        match write {
            Write::Insert(document) => {
                match self
                    .orders
                    .insert_one(document)
                    .session(&mut *session)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if is_duplicate_key(&e) => Err(Stop::Duplicate),
                    Err(e) => Err(e.into()),
                }
            }
            Write::Update { filter, change } => {
                let updated = (self.orders)
                    .update_one(filter.clone(), change.clone())
                    .session(&mut *session)
                    .await?;
                match updated.matched_count {
                    0 => Err(Stop::Store(StoreError::Conflict)),
                    _ => Ok(()),
                }
            }
        }
    }

    /// One product's move, refused by its own filter when it reserves more than is
    /// available; a ledger not started yet is seeded from the product's stock first.
    async fn move_stock(&self, session: &mut ClientSession, m: &StockMove) -> Result<(), Stop> {
        // What the source's figure moved by since the ledger last followed it.
        let followed = match m.source {
            Some(now) => Bson::Document(doc! { "$subtract": [now, "$source"] }),
            None => Bson::Int64(0),
        };
        let on_hand = doc! { "$add": ["$on_hand", followed.clone(), m.on_hand] };
        let mut filter = doc! { "_id": &m.product_id };
        if m.reserves() {
            let left =
                doc! { "$subtract": [on_hand.clone(), { "$add": ["$reserved", m.reserved] }] };
            filter.insert("$expr", doc! { "$gte": [left, -m.backorders] });
        }
        let source = m.source.map_or(Bson::String("$source".into()), Bson::Int64);
        let change = vec![doc! { "$set": {
            "on_hand": on_hand,
            "source": source,
            "reserved": { "$add": ["$reserved", m.reserved] },
        } }];
        for _ in 0..2 {
            let moved = (self.stock)
                .update_one(filter.clone(), change.clone())
                .session(&mut *session)
                .await?;
            if moved.matched_count == 1 {
                return Ok(());
            }
            let found = (self.stock)
                .find_one(doc! { "_id": &m.product_id })
                .session(&mut *session)
                .await?;
            if let Some(found) = found {
                let level = level_of(&found);
                let source = found.get_i64("source").unwrap_or(0);
                let available = level.available() + m.source.map_or(0, |now| now - source);
                return Err(Stop::Store(StoreError::Shortage(Shortage {
                    product_id: m.product_id.clone(),
                    available,
                })));
            }
            let seed = m.source.unwrap_or(0);
            let seeded =
                doc! { "_id": &m.product_id, "on_hand": seed, "reserved": 0i64, "source": seed };
            match (self.stock).insert_one(seeded).session(&mut *session).await {
                Err(e) if is_duplicate_key(&e) => return Err(Stop::Again),
                done => done?,
            };
        }
        Err(Stop::Driver(mongodb::error::Error::custom(
            "a product's ledger was seeded but not found",
        )))
    }

    pub(super) async fn level(&self, product: &str) -> Result<Option<StockLevel>, StoreError> {
        let found = bounded(async {
            (self.stock)
                .find_one(doc! { "_id": product })
                .await
                .map_err(unavailable)
        })
        .await?;
        Ok(found.as_ref().map(level_of))
    }

    /// One conditional update: on hand never under what is reserved.
    pub(super) async fn adjust(
        &self,
        product: &str,
        delta: i64,
        seed: i64,
    ) -> Result<StockLevel, StoreError> {
        bounded(async {
            for _ in 0..2 {
                let adjusted = (self.stock)
                    .find_one_and_update(
                        doc! { "_id": product, "$expr": { "$gte": [{ "$add": ["$on_hand", delta] }, "$reserved"] } },
                        doc! { "$inc": { "on_hand": delta } },
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
                let seeded = doc! { "_id": product, "on_hand": seed, "reserved": 0i64, "source": seed };
                match self.stock.insert_one(seeded).await {
                    Err(e) if !is_duplicate_key(&e) => return Err(unavailable(e)),
                    _ => {}
                }
            }
            Err(unavailable("a product's ledger was seeded but not found"))
        })
        .await
    }

    pub(super) async fn levels(&self) -> Result<Vec<(String, StockLevel)>, StoreError> {
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

    pub(super) async fn reserving(&self) -> Result<Vec<Order>, StoreError> {
        bounded(async {
            let filter = doc! { "reservation": { "$exists": true }, "reservation.released_at": { "$exists": false } };
            let cursor = self.orders.find(filter).await.map_err(unavailable)?;
            super::documents::all(cursor, super::documents::order_from).await
        })
        .await
    }

    pub(super) async fn holding(
        &self,
        product: &str,
        limit: u32,
    ) -> Result<Vec<(OrderId, i64)>, StoreError> {
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
            Ok((orders.into_iter())
                .map(|order| (order.id, holds(&order, product)))
                .filter(|(_, units)| *units > 0)
                .take(limit as usize)
                .collect())
        })
        .await
    }
}

/// Commits, asking again while the outcome is unknown.
async fn commit(session: &mut ClientSession) -> Result<(), mongodb::error::Error> {
    loop {
        match session.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
            done => return done,
        }
    }
}
