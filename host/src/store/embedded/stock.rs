//! The stock ledger on SQLite: one row per product (`stock`), changed by the writer thread in
//! the same transaction as the order whose write moves it. Every write runs alone on that
//! thread, so a ledger read there and then written is not changed in between: a reservation
//! is checked by a read before the write's first change (see `writer::Left`), and refused
//! with nothing written.

use super::rows::{EventRow, event_rows, millis, parse};
use super::{EmbeddedStore, unavailable};
use crate::domain::{Ledger, Shortage, StockAlert, StockLevel, StockMove, StoreError};
use crate::metrics::metrics;
use crate::orders::outbox::Shards;
use crate::orders::stock::{StockStore, holding};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A product's ledger row.
fn row(tx: &Connection, product: &str) -> Result<Option<Ledger>, StoreError> {
    tx.prepare_cached("SELECT on_hand, reserved, source FROM stock WHERE product_id = ?1")
        .and_then(|mut s| {
            s.query_row([product], |r| {
                Ok(Ledger {
                    level: StockLevel {
                        on_hand: r.get(0)?,
                        reserved: r.get(1)?,
                    },
                    source: r.get(2)?,
                })
            })
            .optional()
        })
        .map_err(unavailable)
}

/// Refuses the first reservation of `moves` its product cannot give; else the alerts they
/// raise. Reads only.
pub(super) fn check(tx: &Connection, moves: &[StockMove]) -> Result<Vec<StockAlert>, StoreError> {
    let mut alerts = Vec::new();
    for taken in moves.iter().filter(|m| m.reserves()) {
        let level = Ledger::followed(row(tx, &taken.product_id)?.as_ref(), taken.source);
        if level.available() - taken.reserved < -taken.backorders {
            return Err(StoreError::Shortage(Shortage {
                product_id: taken.product_id.clone(),
                available: level.available(),
            }));
        }
        alerts.extend(taken.alert(level.available()));
    }
    Ok(alerts)
}

/// The `stock.low` events of `alerts`, raised by the write of `order`, as outbox rows.
pub(super) fn alert_rows(
    order: &Arc<Order>,
    alerts: Vec<StockAlert>,
) -> Result<Vec<EventRow>, StoreError> {
    let now = Utc::now();
    let events: Vec<OrderEvent> = (alerts.into_iter())
        .map(|alert| OrderEvent::stock_low(order.clone(), alert, now))
        .collect();
    metrics().events_written(events.len());
    event_rows(order, &events)
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

#[async_trait]
impl StockStore for EmbeddedStore {
    async fn ledgers(&self, products: &[String]) -> Result<BTreeMap<String, Ledger>, StoreError> {
        let products = products.to_vec();
        self.read(move |conn| {
            let mut ledgers = BTreeMap::new();
            for product in products {
                if let Some(ledger) = row(conn, &product)? {
                    ledgers.insert(product, ledger);
                }
            }
            Ok(ledgers)
        })
        .await
    }

    async fn adjust_stock(
        &self,
        product: &str,
        delta: i64,
        seed: i64,
    ) -> Result<StockLevel, StoreError> {
        let product = product.to_owned();
        self.write(move |tx| {
            let found = row(tx, &product)?;
            let level = Ledger::followed(found.as_ref(), found.is_none().then_some(seed));
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

    async fn stock_levels(&self) -> Result<Vec<(String, StockLevel)>, StoreError> {
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
    async fn reserving_orders(&self) -> Result<Vec<Order>, StoreError> {
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

    async fn holders(&self, product: &str, limit: u32) -> Result<Vec<(OrderId, i64)>, StoreError> {
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
            holding(
                docs.map(|doc| parse(&doc.map_err(unavailable)?)),
                &product,
                limit,
            )
        })
        .await
    }

    /// One process holds every shard.
    async fn expiring(
        &self,
        until: DateTime<Utc>,
        _: &Shards,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT doc FROM orders WHERE hold_until <= ?1 ORDER BY hold_until LIMIT ?2",
                )
                .map_err(unavailable)?;
            let docs = statement
                .query_map(params![millis(until), limit], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            docs.map(|doc| parse(&doc.map_err(unavailable)?)).collect()
        })
        .await
    }
}
