use super::{Money, OrderDraft, UnixMillis};
use serde::{Deserialize, Serialize};

/// What the lifecycle's creation step decides on: an order validated and priced, not yet
/// stored. (Plugins of contract 0.1.0 were given the whole draft instead.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricedOrder {
    pub user_id: String,
    pub total: Money,
    pub shipping_method: String,
    pub payment_method: String,
}

impl PricedOrder {
    pub fn of(draft: &OrderDraft, total: &Money) -> Self {
        PricedOrder {
            user_id: draft.user_id.clone(),
            total: *total,
            shipping_method: draft.shipping_method.clone(),
            payment_method: draft.payment_method.clone(),
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
