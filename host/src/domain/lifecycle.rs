use super::{Money, OrderDraft, UnixMillis};
use serde::{Deserialize, Serialize};

/// What the lifecycle's creation step decides on: an order validated and priced, not yet
/// stored. Each contract version lowers what its creation step takes of it (`runtime::wit`).
#[derive(Debug, Clone, Copy)]
pub struct PricedOrder<'a> {
    pub draft: &'a OrderDraft,
    pub total: Money,
}

impl<'a> PricedOrder<'a> {
    pub fn of(draft: &'a OrderDraft, total: &Money) -> Self {
        PricedOrder {
            draft,
            total: *total,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    /// "user" (the order's owner), "admin", or a workflow's own role.
    pub role: String,
}

/// The parts of a stored order a lifecycle decision may depend on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub payment_status: String,
    pub total: Money,
    pub created_at: UnixMillis,
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub to: String,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentChange {
    pub to: String,
    pub transaction_id: Option<String>,
    pub reason: Option<String>,
}

/// The outcome of an allowed change: new statuses, timestamps to set to `now`, events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub status: String,
    pub payment_status: String,
    pub stamps: Vec<String>,
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub roles: Vec<String>,
}

/// A lifecycle plugin's state machine, as its `describe` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Machine {
    pub statuses: Vec<String>,
    pub final_statuses: Vec<String>,
    pub payment_statuses: Vec<String>,
    pub status_edges: Vec<Edge>,
    pub payment_edges: Vec<Edge>,
}

impl Machine {
    pub fn status_edge(&self, from: &str, to: &str) -> Option<&Edge> {
        self.status_edges
            .iter()
            .find(|e| e.from == from && e.to == to)
    }

    pub fn payment_edge(&self, from: &str, to: &str) -> Option<&Edge> {
        self.payment_edges
            .iter()
            .find(|e| e.from == from && e.to == to)
    }
}

/// The part of a placed order a change touches: what the lifecycle's `allow-change`
/// (contract 0.4.0) is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The lines or the discount code: what the order costs.
    Items,
    /// Where and how it ships.
    Delivery,
    /// Units the customer no longer wants, before they ship.
    Cancellation,
    /// Delivered units sent back, for a refund.
    Return,
}

/// Units of one line sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnedLine {
    pub product_id: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub reason: Option<String>,
}

/// A return, with what the order cost: what the lifecycle's `refund` decides on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnRequest {
    pub lines: Vec<ReturnedLine>,
    pub delivered_at: Option<UnixMillis>,
    pub subtotal: Money,
    pub tax: Money,
    pub shipping: Money,
    pub discount: Money,
    /// Refunded so far, by earlier returns or edits.
    pub refunded: Money,
    /// Whether these lines are every unit of the order not returned yet.
    pub everything: bool,
}

/// What a return refunds: total = items + tax + shipping − restocking fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refund {
    /// The returned units' part of what was paid for the lines, their discount share off.
    pub items: Money,
    /// Their part of the tax.
    pub tax: Money,
    /// Shipping given back, if the rules give it back.
    pub shipping: Money,
    /// Kept back for taking the units into stock again.
    pub restocking_fee: Money,
    pub total: Money,
}
