//! `OrderStore` on SQLite: writes go through the writer thread, reads to the reader
//! connections.

use super::rows::{
    EVENTS_WITH_ORDERS, OutboxRow, event_rows, from_millis, insert_events, is_unique_violation,
    millis, order_by_id, parse,
};
use super::{EmbeddedStore, stock, unavailable};
use crate::domain::Storage;
use crate::domain::{StockMove, StoreError};
use crate::orders::outbox::Shards;
use crate::orders::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page,
    Serialized, Sort, Stats, StoredEvent, follows,
};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params, params_from_iter};
use std::sync::Arc;
use uuid::Uuid;

#[async_trait]
impl OrderStore for EmbeddedStore {
    async fn insert(
        &self,
        order: &Order,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
        stock: &[StockMove],
    ) -> Result<Inserted, StoreError> {
        self.insert_serialized(&Serialized::new(order.clone())?, events, key, stock)
            .await
    }

    async fn insert_serialized(
        &self,
        serialized: &Serialized,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
        stock: &[StockMove],
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
        let hold = hold_until(order);
        let (key, moves) = (key.cloned(), stock.to_vec());
        let shared = serialized.shared().clone();
        // Every refusal is found before the first change (see `Left`): a reused key and a
        // shortage by reads, a taken number by the order's own insert.
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
            let alerts = stock::check(tx, &moves)?;
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO orders (id, number, user_id, status, payment_status, total_minor, currency, created_at, version, doc, hold_until)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .and_then(|mut s| s.execute(params![id, number, user, status, payment, total, currency, created, version, doc, hold]));
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::DuplicateNumber),
                other => other.map_err(unavailable)?,
            };
            insert_events(tx, &rows)?;
            if !alerts.is_empty() {
                insert_events(tx, &stock::alert_rows(&shared, alerts)?)?;
            }
            if let Some(key) = &key {
                tx.prepare_cached("INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut s| s.execute(params![key.user_id, key.key, key.fingerprint, id]))
                    .map_err(unavailable)?;
            }
            stock::apply(tx, &moves)?;
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
        stock: &[StockMove],
    ) -> Result<(), StoreError> {
        follows(order, expected_version)?;
        let doc = serde_json::to_string(order).map_err(unavailable)?;
        let (moves, hold) = (stock.to_vec(), hold_until(order));
        let rows = event_rows(order, events)?;
        // What a `stock.low` event would carry, if one may be raised: the order as its
        // other events do.
        let shared = (moves.iter().any(|m| m.low_stock.is_some()))
            .then(|| (events.first()).map_or_else(|| Arc::new(order.clone()), |e| e.order.clone()));
        let (id, status, payment, version) = (
            order.id.to_string(),
            order.status.clone(),
            order.payment_status.clone(),
            order.version as i64,
        );
        // A change of the order's lines changes its total, which listings filter and sort on.
        let (total, currency) = (
            order.pricing.total.minor,
            order.pricing.total.currency.to_string(),
        );
        // A conflict changes nothing (see `Left`): the snapshot is copied under the same
        // version condition as the update, so neither statement touches a row then.
        self.write(move |tx| {
            let alerts = stock::check(tx, &moves)?;
            // The version replaced stays readable for the events that carry it.
            tx.prepare_cached("INSERT INTO order_snapshots (order_id, version, doc) SELECT id, version, doc FROM orders WHERE id = ?1 AND version = ?2")
                .and_then(|mut s| s.execute(params![id, expected_version as i64]))
                .map_err(unavailable)?;
            let changed = tx
                .prepare_cached("UPDATE orders SET status = ?1, payment_status = ?2, version = ?3, doc = ?4, total_minor = ?5, currency = ?6, hold_until = ?9 WHERE id = ?7 AND version = ?8")
                .and_then(|mut s| s.execute(params![status, payment, version, doc, total, currency, id, expected_version as i64, hold]))
                .map_err(unavailable)?;
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            insert_events(tx, &rows)?;
            if let (false, Some(shared)) = (alerts.is_empty(), &shared) {
                insert_events(tx, &stock::alert_rows(shared, alerts)?)?;
            }
            stock::apply(tx, &moves)
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

    async fn unpublished(
        &self,
        limit: u32,
        shards: &Shards,
    ) -> Result<Vec<OrderEvent>, StoreError> {
        sole_owner(shards)?;
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

    async fn mark_published(
        &self,
        ids: &[Uuid],
        at: DateTime<Utc>,
        shards: &Shards,
    ) -> Result<(), StoreError> {
        sole_owner(shards)?;
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

    fn storage(&self) -> Option<Storage> {
        Some(EmbeddedStore::storage(self))
    }
}

/// The embedded store is held by one process, which relays every shard: leases are for
/// stores that replicas share.
fn sole_owner(shards: &Shards) -> Result<(), StoreError> {
    match shards {
        Shards::All => Ok(()),
        Shards::Leased(_) => Err(StoreError::Unavailable(
            "the embedded store is held by one process, which relays every shard".into(),
        )),
    }
}

/// When the order's hold on its units runs out, as its own column: what the expiry looks for.
fn hold_until(order: &Order) -> Option<i64> {
    (order.reservation.as_ref())
        .and_then(|r| r.expires_at)
        .map(millis)
}
