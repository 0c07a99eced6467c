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
