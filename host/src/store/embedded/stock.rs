//! The stock ledger on SQLite: one row per product (`stock`), changed by the writer thread in
//! the same transaction as the order whose write moves it. Every write runs alone on that
//! thread, so a ledger read there and then written is not changed in between: a reservation
//! is checked by a read before the write's first change (see `writer::Left`), and refused
//! with nothing written.

use super::rows::parse;
use super::{EmbeddedStore, unavailable};
use crate::domain::{Shortage, StockLevel, StockMove, StoreError};
use crate::orders::stock::holds;
use crate::orders::{Order, OrderId};
use rusqlite::{Connection, OptionalExtension, params};

/// A ledger row: on hand, reserved, and the source's figure it last followed.
fn row(tx: &Connection, product: &str) -> Result<Option<(i64, i64, i64)>, StoreError> {
    tx.prepare_cached("SELECT on_hand, reserved, source FROM stock WHERE product_id = ?1")
        .and_then(|mut s| {
            s.query_row([product], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(unavailable)
}

/// On hand once `source` (the product's stock as its source reports it now, if known) is
/// followed: a ledger not started yet is seeded with it.
fn followed(row: Option<(i64, i64, i64)>, source: Option<i64>) -> StockLevel {
    match row {
        None => StockLevel {
            on_hand: source.unwrap_or(0),
            reserved: 0,
        },
        Some((on_hand, reserved, was)) => StockLevel {
            on_hand: on_hand + source.map_or(0, |now| now - was),
            reserved,
        },
    }
}

/// Refuses the first reservation of `moves` its product cannot give. Reads only.
pub(super) fn check(tx: &Connection, moves: &[StockMove]) -> Result<(), StoreError> {
    for taken in moves.iter().filter(|m| m.reserves()) {
        let level = followed(row(tx, &taken.product_id)?, taken.source);
        if level.available() - taken.reserved < -taken.backorders {
            return Err(StoreError::Shortage(Shortage {
                product_id: taken.product_id.clone(),
                available: level.available(),
            }));
        }
    }
    Ok(())
}

/// Applies `moves` (checked first).
pub(super) fn apply(tx: &Connection, moves: &[StockMove]) -> Result<(), StoreError> {
    for m in moves {
        let seed = m.source.unwrap_or(0);
        tx.prepare_cached(
            "INSERT INTO stock (product_id, on_hand, reserved, source) VALUES (?1, ?2 + ?3, ?4, ?2)
             ON CONFLICT (product_id) DO UPDATE SET
                 on_hand = on_hand + COALESCE(?5 - source, 0) + ?3,
                 source = COALESCE(?5, source),
                 reserved = reserved + ?4",
        )
        .and_then(|mut s| s.execute(params![m.product_id, seed, m.on_hand, m.reserved, m.source]))
        .map_err(unavailable)?;
    }
    Ok(())
}

impl EmbeddedStore {
    pub(super) async fn level(&self, product: &str) -> Result<Option<StockLevel>, StoreError> {
        let product = product.to_owned();
        self.read(move |conn| Ok(row(conn, &product)?.map(|row| followed(Some(row), None))))
            .await
    }

    pub(super) async fn adjust(
        &self,
        product: &str,
        delta: i64,
        seed: i64,
    ) -> Result<StockLevel, StoreError> {
        let product = product.to_owned();
        self.write(move |tx| {
            let found = row(tx, &product)?;
            let level = followed(found, found.is_none().then_some(seed));
            let after = StockLevel {
                on_hand: level.on_hand + delta,
                ..level
            };
            if after.on_hand < after.reserved {
                return Err(StoreError::Shortage(Shortage {
                    product_id: product,
                    available: level.available(),
                }));
            }
            tx.prepare_cached(
                "INSERT INTO stock (product_id, on_hand, reserved, source) VALUES (?1, ?2, 0, ?3)
                 ON CONFLICT (product_id) DO UPDATE SET on_hand = ?2",
            )
            .and_then(|mut s| s.execute(params![product, after.on_hand, seed]))
            .map_err(unavailable)?;
            Ok(after)
        })
        .await
    }

    pub(super) async fn levels(&self) -> Result<Vec<(String, StockLevel)>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT product_id, on_hand, reserved FROM stock ORDER BY product_id",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        StockLevel {
                            on_hand: r.get(1)?,
                            reserved: r.get(2)?,
                        },
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|row| row.map_err(unavailable)).collect()
        })
        .await
    }

    /// Orders whose JSON carries a reservation: each read whole.
    pub(super) async fn reserving(&self) -> Result<Vec<Order>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT doc FROM orders WHERE doc LIKE '%\"reservation\":%'")
                .map_err(unavailable)?;
            let docs = statement
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            docs.map(|doc| parse(&doc.map_err(unavailable)?)).collect()
        })
        .await
    }

    pub(super) async fn holding(
        &self,
        product: &str,
        limit: u32,
    ) -> Result<Vec<(OrderId, i64)>, StoreError> {
        // Orders name their products in their JSON: the candidates are found by that, and
        // each is asked what it holds as the write path does.
        let (product, pattern) = (
            product.to_owned(),
            format!("%\"product_id\":\"{product}\"%"),
        );
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached("SELECT doc FROM orders WHERE doc LIKE ?1 AND doc LIKE '%\"reservation\":%' ORDER BY created_at")
                .map_err(unavailable)?;
            let docs = statement
                .query_map([pattern], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            let mut holding = Vec::new();
            for doc in docs {
                let order: Order = parse(&doc.map_err(unavailable)?)?;
                let units = holds(&order, &product);
                if units > 0 {
                    holding.push((order.id, units));
                }
                if holding.len() >= limit as usize {
                    break;
                }
            }
            Ok(holding)
        })
        .await
    }
}
