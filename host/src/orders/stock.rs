//! What an order holds of stock, and how a write of it moves the ledger. An order placed on
//! a workflow that reserves ([`StockPolicy::reserve`]) carries a [`Reservation`]; while it
//! is live (not cancelled, not released, not shipped) it holds every unit of its lines. At
//! shipment the units leave the warehouse; a return's units come back. Every write of an
//! order carries the difference between what it held and sent out before and after.

use super::outbox::Shards;
use super::{Caller, Order, OrderError, OrderId, OrderService, refused};
use crate::domain::{
    Ledger, OrderDraft, ProductSnapshot, Shortage, StockLevel, StockMove, StockPolicy, StoreError,
};
use crate::plugins::Workflow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What stock needs of a store beyond the writes of orders, which carry their moves
/// ([`OrderStore`](super::OrderStore)): each store implements it in its own `stock` module.
#[async_trait]
pub trait StockStore: Send + Sync {
    /// The ledgers of those of `products` that have one (an order reserved them once).
    async fn ledgers(&self, products: &[String]) -> Result<BTreeMap<String, Ledger>, StoreError>;

    /// Moves a product's units on hand by `delta` (an adjustment: a count, a damaged unit),
    /// seeding a ledger not started yet with `seed` units first; a [`StoreError::Shortage`]
    /// (nothing changed) if it would leave fewer than are reserved.
    async fn adjust_stock(
        &self,
        product_id: &str,
        delta: i64,
        seed: i64,
    ) -> Result<StockLevel, StoreError>;

    /// Orders of `shards` whose hold on their units runs out by `until` (their
    /// `reservation.expires_at`), soonest first, at most `limit`.
    async fn expiring(
        &self,
        until: DateTime<Utc>,
        shards: &Shards,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError>;

    /// Every product's ledger.
    async fn stock_levels(&self) -> Result<Vec<(String, StockLevel)>, StoreError>;

    /// Every order whose reservation may hold units (placed on a workflow that reserves,
    /// not released): what a reconciliation adds up.
    async fn reserving_orders(&self) -> Result<Vec<Order>, StoreError>;

    /// Units reserved by stock moves not known to have landed with their order, by product:
    /// writes in flight, or cut short by a crash and not settled yet. A store that writes an
    /// order and its moves in one transaction has none.
    async fn stock_in_doubt(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        Ok(BTreeMap::new())
    }

    /// Settles stock moves a crash left half done, for the orders of `shards`: how many.
    /// A store that writes an order and its moves in one transaction has none.
    async fn settle_stock(&self, _shards: &Shards) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// The live orders holding units of a product, with how many (at most `limit`).
    async fn holders(
        &self,
        product_id: &str,
        limit: u32,
    ) -> Result<Vec<(OrderId, i64)>, StoreError>;
}

/// The first `limit` of `orders` holding units of `product`, with how many: a store's
/// [`StockStore::holders`] once it has found the candidates.
pub fn holding(
    orders: impl IntoIterator<Item = Result<Order, StoreError>>,
    product: &str,
    limit: u32,
) -> Result<Vec<(OrderId, i64)>, StoreError> {
    let mut found = Vec::new();
    for order in orders {
        let order = order?;
        let units = holds(&order, product);
        if units > 0 {
            found.push((order.id, units));
        }
        if found.len() >= limit as usize {
            break;
        }
    }
    Ok(found)
}

/// An order's hold on its units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reservation {
    /// Until when an unpaid order holds its units (none: until it ships).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When its units went back before it shipped (its time ran out, say) while the order
    /// stayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
}

impl Reservation {
    /// A new order's, as `policy` says; none when the workflow does not reserve.
    pub fn of(policy: &StockPolicy, now: DateTime<Utc>) -> Option<Reservation> {
        policy.reserve.then(|| Reservation {
            expires_at: policy.reservation_ttl.map(|ttl| now + ttl),
            released_at: None,
        })
    }
}

/// Keeps `expires_at` only while the order's hold can still run out: live and unpaid. A
/// store finds the orders to expire by it.
pub fn settle(order: &mut Order) {
    let live = is_live(order) && order.payment.paid_at.is_none();
    if let Some(reservation) = order.reservation.as_mut().filter(|_| !live) {
        reservation.expires_at = None;
    }
}

fn is_live(order: &Order) -> bool {
    order
        .reservation
        .as_ref()
        .is_some_and(|r| r.released_at.is_none())
        && !order.timestamps.contains_key("cancelled_at")
        && !order.timestamps.contains_key("shipped_at")
}

/// Units by product.
type Units = BTreeMap<String, i64>;

/// What `order` holds now: every unit of its lines while its reservation is live.
fn held(order: &Order) -> Units {
    units(order, is_live(order), |_| 0)
}

/// The units of `product` that `order` holds now.
pub fn holds(order: &Order, product: &str) -> i64 {
    held(order).get(product).copied().unwrap_or(0)
}

/// What `order` took out of the warehouse: its units once shipped, less those returned.
fn sent(order: &Order) -> Units {
    let shipped = order.reservation.is_some() && order.timestamps.contains_key("shipped_at");
    units(order, shipped, |returned| returned)
}

fn units(order: &Order, counted: bool, less: impl Fn(i64) -> i64) -> Units {
    let mut units = Units::new();
    if counted {
        for line in &order.items {
            let n = i64::from(line.quantity) - less(i64::from(line.returned_quantity));
            *units.entry(line.product_id.clone()).or_default() += n;
        }
    }
    units
}

/// How writing `new` in place of `old` (none: a new order) moves the ledger. `sources`: the
/// products' stock as their source reported it (a placement's snapshots).
pub fn moves(
    old: Option<&Order>,
    new: &Order,
    policy: &StockPolicy,
    sources: &BTreeMap<String, i64>,
) -> Vec<StockMove> {
    let none = Units::new();
    let (held_before, sent_before) = old.map_or((none.clone(), none), |o| (held(o), sent(o)));
    let (held_after, sent_after) = (held(new), sent(new));
    let mut products: Vec<&String> = (held_before.keys())
        .chain(held_after.keys())
        .chain(sent_before.keys())
        .chain(sent_after.keys())
        .collect();
    products.sort_unstable();
    products.dedup();
    let count = |units: &Units, p: &String| units.get(p).copied().unwrap_or(0);
    products
        .into_iter()
        .map(|p| StockMove {
            product_id: p.clone(),
            reserved: count(&held_after, p) - count(&held_before, p),
            on_hand: count(&sent_before, p) - count(&sent_after, p),
            source: sources.get(p).copied(),
            backorders: i64::from(policy.backorders),
            low_stock: policy.low_stock.map(i64::from),
        })
        .filter(|m| m.reserved != 0 || m.on_hand != 0)
        .collect()
}

/// The refusal of an order whose line of the product short of stock asks for more than it has.
pub fn refusal(order: &Order, shortage: &Shortage) -> OrderError {
    let line = (order.items.iter()).position(|l| l.product_id == shortage.product_id);
    refused(
        "insufficient_stock",
        format!(
            "{} unit(s) of product {} are available",
            shortage.available.max(0),
            shortage.product_id
        ),
        line.map_or("items".into(), |i| format!("items[{i}].quantity")),
    )
}

/// A product's stock as an admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Inventory {
    pub product_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    /// The live orders holding units of it (the first 100), with how many.
    pub holders: Vec<Holder>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Holder {
    pub order_id: OrderId,
    pub units: i64,
}

/// The ledger against the orders: what each product's ledger says is reserved, and what
/// the live orders stored hold of it. They differ only if a write was ever torn.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    /// Whether every product's reserved units are what its orders hold and what is in doubt.
    pub consistent: bool,
    pub products: Vec<Reconciled>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reconciled {
    pub product_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub held_by_orders: i64,
    /// Reserved by writes not known to have landed with their order: in flight, or cut short
    /// by a crash and given back within a minute (MongoDB; none on the embedded store).
    pub in_doubt: i64,
}

/// `levels` beside what `orders` hold.
fn reconciled(
    levels: Vec<(String, StockLevel)>,
    orders: &[Order],
    in_doubt: &BTreeMap<String, i64>,
) -> Reconciliation {
    let mut held_by_orders = Units::new();
    for order in orders {
        for (product, units) in held(order) {
            *held_by_orders.entry(product).or_default() += units;
        }
    }
    let mut products: Vec<Reconciled> = (levels.into_iter())
        .map(|(product_id, level)| Reconciled {
            held_by_orders: held_by_orders.remove(&product_id).unwrap_or(0),
            in_doubt: in_doubt.get(&product_id).copied().unwrap_or(0),
            product_id,
            on_hand: level.on_hand,
            reserved: level.reserved,
        })
        .collect();
    // Held by orders with no ledger at all: as torn as a ledger that differs.
    products.extend(
        held_by_orders
            .into_iter()
            .map(|(product_id, units)| Reconciled {
                product_id,
                on_hand: 0,
                reserved: 0,
                held_by_orders: units,
                in_doubt: 0,
            }),
    );
    Reconciliation {
        consistent: (products.iter()).all(|p| p.reserved == p.held_by_orders + p.in_doubt),
        products,
    }
}

/// Holders listed at most.
const HOLDERS: u32 = 100;

impl OrderService {
    /// A product's stock: its ledger following what its source says now, or that alone when
    /// no order reserved it yet.
    pub async fn inventory(&self, product_id: &str) -> Result<Inventory, OrderError> {
        let product = self.product(product_id).await?;
        let ledgers = (self
            .store
            .ledgers(std::slice::from_ref(&product.product_id)))
        .await?;
        let level = Ledger::followed(ledgers.get(product_id), Some(product.stock));
        let holders = self.store.holders(product_id, HOLDERS).await?;
        Ok(Inventory {
            product_id: product.product_id,
            on_hand: level.on_hand,
            reserved: level.reserved,
            available: level.available(),
            holders: (holders.into_iter())
                .map(|(order_id, units)| Holder { order_id, units })
                .collect(),
        })
    }

    /// Moves a product's units on hand by `delta`, for `reason`; never under what is
    /// reserved.
    pub async fn adjust_stock(
        &self,
        caller: &Caller,
        product_id: &str,
        delta: i64,
        reason: &str,
    ) -> Result<Inventory, OrderError> {
        let product = self.product(product_id).await?;
        match self
            .store
            .adjust_stock(product_id, delta, product.stock)
            .await
        {
            Err(StoreError::Shortage(shortage)) => {
                return Err(refused(
                    "below_reserved",
                    format!(
                        "on hand cannot go under what orders reserve: {} unit(s) may go",
                        shortage.available.max(0)
                    ),
                    "delta".into(),
                ));
            }
            adjusted => adjusted?,
        };
        tracing::info!(product = product_id, delta, reason, by = %caller.user_id, "stock adjusted");
        self.inventory(product_id).await
    }

    /// Every product's ledger beside what the stored orders hold of it.
    pub async fn reconcile(&self) -> Result<Reconciliation, OrderError> {
        // In doubt first: a write that lands meanwhile is then counted by its order too
        // rather than by neither.
        let in_doubt = self.store.stock_in_doubt().await?;
        let (levels, orders) =
            tokio::join!(self.store.stock_levels(), self.store.reserving_orders());
        Ok(reconciled(levels?, &orders?, &in_doubt))
    }

    /// Tells each line's product in `draft` what a new order may still take of it (its
    /// ledger following the product's source, plus the backorders the workflow allows, plus
    /// what `order`, the one a change edits, holds of it already), when the workflow's
    /// validation sees the figure. The write's moves still decide: this is what the rules
    /// see, read a moment before.
    pub(super) async fn show_available(
        &self,
        workflow: &Workflow,
        draft: &mut OrderDraft,
        order: Option<&Order>,
    ) -> Result<(), OrderError> {
        if !workflow.shows_available_stock() {
            return Ok(());
        }
        let mut products: Vec<String> = (draft.items.iter())
            .map(|line| line.product.product_id.clone())
            .collect();
        products.sort_unstable();
        products.dedup();
        let ledgers = self.store.ledgers(&products).await?;
        let backorders = i64::from(workflow.stock.backorders);
        for product in draft.items.iter_mut().map(|line| &mut line.product) {
            let level = Ledger::followed(ledgers.get(&product.product_id), Some(product.stock));
            let own = order.map_or(0, |o| holds(o, &product.product_id));
            product.available = Some(level.available() + backorders + own);
        }
        Ok(())
    }

    async fn product(&self, product_id: &str) -> Result<ProductSnapshot, OrderError> {
        (self.products.lookup(product_id).await)
            .map_err(|e| OrderError::ProductsUnavailable(e.to_string()))?
            .ok_or(OrderError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::sample_order;

    fn reserving(quantity: u32) -> Order {
        let mut order = sample_order("u1", 1000);
        order.items[0].quantity = quantity;
        order.reservation = Some(Reservation {
            expires_at: None,
            released_at: None,
        });
        order
    }

    #[test]
    fn a_ledger_is_consistent_only_with_what_the_orders_hold() {
        let level = |reserved| {
            vec![(
                "p1".to_owned(),
                StockLevel {
                    on_hand: 10,
                    reserved,
                },
            )]
        };
        let mut cancelled = reserving(4);
        cancelled
            .timestamps
            .insert("cancelled_at".into(), Utc::now());
        let orders = [reserving(2), reserving(3), cancelled];
        let none = BTreeMap::new();
        assert!(reconciled(level(5), &orders, &none).consistent);
        assert!(!reconciled(level(6), &orders, &none).consistent);
        let doubt = BTreeMap::from([("p1".to_owned(), 1)]);
        assert!(
            reconciled(level(6), &orders, &doubt).consistent,
            "a write in flight"
        );
        assert!(
            !reconciled(vec![], &orders, &none).consistent,
            "units held with no ledger"
        );
    }

    #[test]
    fn a_write_moves_what_the_order_held_and_sent() {
        let policy = StockPolicy {
            reserve: true,
            ..StockPolicy::default()
        };
        let placed = reserving(3);
        let sources = BTreeMap::from([("p1".to_owned(), 7)]);
        let moved = moves(None, &placed, &policy, &sources);
        assert_eq!(
            (moved[0].reserved, moved[0].on_hand, moved[0].source),
            (3, 0, Some(7))
        );
        let mut shipped = placed.clone();
        shipped.timestamps.insert("shipped_at".into(), Utc::now());
        let moved = moves(Some(&placed), &shipped, &policy, &BTreeMap::new());
        assert_eq!((moved[0].reserved, moved[0].on_hand), (-3, -3));
        let mut returned = shipped.clone();
        returned.items[0].returned_quantity = 1;
        let moved = moves(Some(&shipped), &returned, &policy, &BTreeMap::new());
        assert_eq!((moved[0].reserved, moved[0].on_hand), (0, 1));
        assert!(
            moves(None, &sample_order("u1", 1000), &policy, &sources).is_empty(),
            "no reservation, no move"
        );
    }
}
