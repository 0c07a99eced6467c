use super::stock::Reservation;
use super::{OrderChange, OrderId, OrderNumber};
use crate::domain::{
    Actor, Address, Digest, LineItem, Money, OrderDraft, OrderView, ProductSnapshot, Quote,
    Transition,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An order as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub order_number: OrderNumber,
    pub user_id: String,
    pub customer: Customer,
    pub items: Vec<OrderItem>,
    /// The price breakdown, as the pricing plugin decided it at creation.
    pub pricing: Quote,
    pub discount_code: Option<String>,
    pub status: String,
    pub payment_status: String,
    /// Every change of status or payment status, oldest first.
    pub status_history: Vec<StatusEntry>,
    pub payment: Payment,
    pub shipping: Shipping,
    pub notes: Option<String>,
    /// Lifecycle timestamps set by the plugins' decisions (`confirmed_at`, `shipped_at`, …).
    pub timestamps: BTreeMap<String, DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Which workflow and which plugin versions decided this order.
    pub provenance: Provenance,
    /// Incremented by every change: updates are compare-and-set on it.
    pub version: u64,
    /// Changes asked for since it was placed, oldest first (`orders/changes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<OrderChange>,
    /// Its hold on its units, when its workflow reserves stock (`orders/stock.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<Reservation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    pub email: Option<String>,
    pub full_name: Option<String>,
}

/// A line with the product as it was when the order was placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderItem {
    pub product_id: String,
    pub name: String,
    pub sku: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
    /// Units sent back by confirmed returns (`docs/order-changes.md`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub returned_quantity: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusEntry {
    pub status: String,
    pub payment_status: String,
    pub at: DateTime<Utc>,
    /// Who asked: a user id, with the role they acted in.
    pub by: String,
    pub role: String,
    pub note: Option<String>,
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payment {
    pub method: String,
    pub transaction_id: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Given back so far, by returns and by changes that lowered a paid total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shipping {
    pub method: String,
    pub address: Address,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provenance {
    pub workflow: String,
    /// SHA-256 of the workflow file in force.
    pub workflow_digest: Digest,
    pub decisions: Vec<DecisionRecord>,
}

/// One plugin decision that shaped the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionRecord {
    /// `validate`, `price`, `create`, `change_status`, `change_payment`.
    pub call: String,
    pub plugin: String,
    pub digest: Digest,
    pub at: DateTime<Utc>,
}

impl Order {
    /// What a lifecycle decision sees of the order.
    pub fn view(&self) -> OrderView {
        OrderView {
            id: self.id.to_string(),
            user_id: self.user_id.clone(),
            status: self.status.clone(),
            payment_status: self.payment_status.clone(),
            total: self.pricing.total,
            created_at: self.created_at.timestamp_millis(),
            tracking_number: self.shipping.tracking_number.clone(),
        }
    }

    /// Applies a lifecycle decision: statuses, timestamps, history.
    pub(super) fn apply(
        &mut self,
        t: &Transition,
        by: &Actor,
        note: Option<String>,
        now: DateTime<Utc>,
    ) {
        self.status = t.status.clone();
        self.payment_status = t.payment_status.clone();
        for stamp in &t.stamps {
            self.timestamps.insert(stamp.clone(), now);
        }
        if t.stamps.iter().any(|s| s == "paid_at") {
            self.payment.paid_at = Some(now);
        }
        self.status_history.push(StatusEntry {
            status: t.status.clone(),
            payment_status: t.payment_status.clone(),
            at: now,
            by: by.id.clone(),
            role: by.role.clone(),
            note,
            events: t.events.clone(),
        });
        self.updated_at = now;
    }

    /// The order as its plugins decided it: the draft it was placed as, with each product's
    /// snapshot as sold. The snapshot's stock is not kept with the order: it reads as the
    /// quantity sold, which the product had then.
    pub fn draft(&self) -> OrderDraft {
        OrderDraft {
            user_id: self.user_id.clone(),
            items: self
                .items
                .iter()
                .map(|item| LineItem {
                    product: ProductSnapshot {
                        product_id: item.product_id.clone(),
                        name: item.name.clone(),
                        sku: item.sku.clone(),
                        unit_price: item.unit_price,
                        stock: i64::from(item.quantity),
                        active: true,
                        available: None,
                    },
                    quantity: item.quantity,
                })
                .collect(),
            shipping_address: self.shipping.address.clone(),
            shipping_method: self.shipping.method.clone(),
            payment_method: self.payment.method.clone(),
            discount_code: self.discount_code.clone(),
        }
    }
}
