//! What the order use cases need from persistence, shaped after them rather than after
//! CRUD: the use cases own this contract, and `crate::store` holds the backends that
//! implement it. Every backend passes the same conformance suite (`store::conformance`,
//! built with the tests only), so the use cases cannot tell them apart.
//!
//! Guarantees every backend gives:
//! - an order change and the events it emits are written in one atomic step (the outbox);
//! - updates are compare-and-set on `version`: a lost race is [`StoreError::Conflict`];
//! - an idempotency key maps to exactly one order per user, whatever the concurrency;
//! - events are marked published only under a valid lease of their shard (`outbox`).

use super::outbox::Shards;
use super::stock::StockStore;
use super::{Order, OrderEvent, OrderId};
use crate::domain::{Currency, Money};
use crate::domain::{StockMove, Storage, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// A client's `Idempotency-Key`, scoped to its user, with a fingerprint of the request so
/// a key reused for a different request is refused rather than silently replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyKey {
    pub user_id: String,
    pub key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created,
    /// The key was seen before: the order it created then.
    Replayed(Box<Order>),
}

/// An order with its JSON (the API's form), serialised once: a store that keeps JSON writes
/// that text, and the API answers with the same text. Reads as the order it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Serialized {
    order: Arc<Order>,
    json: String,
}

impl Serialized {
    pub fn new(order: impl Into<Arc<Order>>) -> Result<Self, StoreError> {
        let order = order.into();
        let json = serde_json::to_string(&*order)
            .map_err(|e| StoreError::Unavailable(format!("serialising an order: {e}")))?;
        Ok(Serialized { order, json })
    }

    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn into_json(self) -> String {
        self.json
    }

    /// The order, to be shared by the events its write announces.
    pub fn shared(&self) -> &Arc<Order> {
        &self.order
    }

    pub fn into_order(self) -> Order {
        Arc::unwrap_or_clone(self.order)
    }
}

impl std::ops::Deref for Serialized {
    type Target = Order;

    fn deref(&self) -> &Order {
        &self.order
    }
}

/// Filters shared by a user's own listing and the admin listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderQuery {
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub payment_status: Option<String>,
    pub order_number: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub created_to: Option<DateTime<Utc>>,
    /// Order totals in minor units, inclusive.
    pub total_min: Option<i64>,
    pub total_max: Option<i64>,
    pub sort: Sort,
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    NewestFirst,
    OldestFirst,
    TotalHighFirst,
    TotalLowFirst,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

/// Statistics over orders created in a range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub orders: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_payment_status: BTreeMap<String, u64>,
    /// Sum of paid order totals, per currency.
    pub revenue: Vec<Money>,
    /// Mean total of paid orders, per currency, rounded half away from zero.
    pub average_order_value: Vec<Money>,
    pub per_day: Vec<DayCount>,
}

impl Stats {
    /// Adds what the paid orders in one currency brought: their sum and mean total.
    pub(crate) fn add_paid(&mut self, currency: Currency, sum: i64, count: i64) {
        self.revenue.push(Money::new(sum, currency));
        self.average_order_value
            .push(Money::new(rounded_mean(sum, count), currency));
    }
}

/// `sum / count`, rounded half away from zero.
fn rounded_mean(sum: i64, count: i64) -> i64 {
    if count == 0 {
        return 0;
    }
    let (sum, count) = (i128::from(sum), i128::from(count));
    ((sum.abs() * 2 + count) / (count * 2) * sum.signum()) as i64
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayCount {
    pub day: NaiveDate,
    pub orders: u64,
}

/// An order's JSON document and its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderJson {
    pub user_id: String,
    pub json: String,
}

/// An event as the outbox holds it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub event: OrderEvent,
    pub published_at: Option<DateTime<Utc>>,
}

/// An update's precondition every backend checks first: the new version follows the one
/// it replaces.
pub(crate) fn follows(order: &Order, expected_version: u64) -> Result<(), StoreError> {
    if order.version == expected_version + 1 {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "version {} does not follow {expected_version}",
            order.version
        )))
    }
}

/// The outbox's unpublished events: how many, and when the oldest happened.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Backlog {
    pub events: u64,
    pub oldest: Option<DateTime<Utc>>,
}

impl Backlog {
    /// How long the oldest unpublished event has waited, in seconds.
    pub fn oldest_age_seconds(&self) -> Option<f64> {
        self.oldest
            .map(|at| (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0)
    }
}

#[async_trait]
/// Orders, their events and (through [`StockStore`], which each store implements beside
/// it) the stock they hold.
pub trait OrderStore: StockStore + Send + Sync + 'static {
    /// Stores a new order with its events and its stock moves, or returns the order an
    /// earlier request with the same idempotency key created. A move that reserves more
    /// than its product has is a [`StoreError::Shortage`], and nothing is written.
    async fn insert(
        &self,
        order: &Order,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
        stock: &[StockMove],
    ) -> Result<Inserted, StoreError>;

    /// [`OrderStore::insert`], for an order already serialised: a store that writes JSON
    /// overrides this to write that text instead of serialising the order again.
    async fn insert_serialized(
        &self,
        order: &Serialized,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
        stock: &[StockMove],
    ) -> Result<Inserted, StoreError> {
        self.insert(order, events, key, stock).await
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError>;

    /// The order as stored, already JSON (the API's form), with its owner: what a read
    /// that only passes the order on needs, without decoding and re-encoding it.
    async fn get_json(&self, id: OrderId) -> Result<Option<OrderJson>, StoreError>;

    /// Replaces the order if its stored version is still `expected_version`, with the
    /// events and the stock moves of the change, atomically. `order.version` must be
    /// `expected_version + 1`.
    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[OrderEvent],
        stock: &[StockMove],
    ) -> Result<(), StoreError>;

    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError>;

    async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Stats, StoreError>;

    /// An order's events, oldest first.
    async fn events(&self, id: OrderId) -> Result<Vec<StoredEvent>, StoreError>;

    /// Events of `shards` not yet published, oldest first.
    async fn unpublished(&self, limit: u32, shards: &Shards)
    -> Result<Vec<OrderEvent>, StoreError>;

    /// Marks events of `shards` published; with leases, only while every lease is still
    /// this process's ([`StoreError::LeaseLost`] otherwise, and nothing is marked).
    async fn mark_published(
        &self,
        ids: &[Uuid],
        at: DateTime<Utc>,
        shards: &Shards,
    ) -> Result<(), StoreError>;

    /// What waits in the outbox.
    async fn backlog(&self) -> Result<Backlog, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Its files, for a store on this machine's disk; none for a database server.
    fn storage(&self) -> Option<Storage> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::rounded_mean;

    #[test]
    fn means_round_half_away_from_zero() {
        assert_eq!(rounded_mean(10, 4), 3); // 2.5
        assert_eq!(rounded_mean(9, 4), 2); // 2.25
        assert_eq!(rounded_mean(-10, 4), -3);
        assert_eq!(rounded_mean(5, 0), 0);
    }
}
