//! The lifecycle rules, in plain Rust: unit-tested natively (`cargo test`), run by the host
//! through the component (`lib.rs`). A small shop's order life to start from:
//!
//! ```text
//! pending ──▶ confirmed ──▶ shipped ──▶ delivered      (admin; shipping needs a tracking
//!    │            │                                     number, and with `pay_before_shipping`
//!    └────────────┴──▶ cancelled                        a paid order)
//!                                                      (the customer: only while pending)
//! any status but refunded ──▶ refunded                 (admin, only once paid)
//! payment: pending ──▶ paid | failed,  failed ──▶ paid,  paid ──▶ refunded   (admin)
//! ```
//!
//! The host checks every answer against [`describe`]: a status or payment status it does
//! not list, or a move along no edge, is a fault. Statuses, events (`order.<name>`) and
//! timestamps (`<name>_at`) are yours to name; `orderflow_plugin_sdk::machine` has the
//! shared payment, refund and shipping rules. Add a fixture for each rule in `fixtures/`.

use crate::exports::orderflow::plugins::lifecycle::{
    Actor, Machine, OrderView, PaymentChange, StatusChange, Transition,
};
use crate::orderflow::plugins::types::Problem;
use orderflow_plugin_sdk::machine::{self, ADMIN, USER, edge, permitted, transition};
use serde::Deserialize;

pub const STATUSES: [&str; 6] = [
    "pending",
    "confirmed",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
];
/// Statuses no status change leaves (but a refund).
pub const FINAL_STATUSES: [&str; 3] = ["delivered", "cancelled", "refunded"];
pub const PAYMENT_STATUSES: [&str; 4] = ["pending", "paid", "failed", "refunded"];

/// The `[lifecycle.params]` table of a workflow using this plugin (`fixtures/params.json`
/// for the fixtures).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only a paid order ships.
    #[serde(default)]
    pub pay_before_shipping: bool,
}

/// The state machine: who may move an order from which status to which.
pub fn describe() -> Machine {
    let mut status_edges = vec![
        edge("pending", "confirmed", &[ADMIN]),
        edge("confirmed", "shipped", &[ADMIN]),
        edge("shipped", "delivered", &[ADMIN]),
        edge("pending", "cancelled", &[USER, ADMIN]),
        edge("confirmed", "cancelled", &[ADMIN]),
    ];
    let refundable = STATUSES.iter().filter(|s| **s != "refunded");
    status_edges.extend(refundable.map(|from| edge(from, "refunded", &[ADMIN])));
    Machine {
        statuses: STATUSES.map(Into::into).to_vec(),
        final_statuses: FINAL_STATUSES.map(Into::into).to_vec(),
        payment_statuses: PAYMENT_STATUSES.map(Into::into).to_vec(),
        status_edges,
        payment_edges: machine::payment_edges(),
    }
}

pub struct Rules {
    params: Params,
    machine: Machine,
}

impl Rules {
    /// Parameters the rules cannot work with are refused here: a workflow that gives them
    /// fails to load, rather than failing its orders.
    pub fn from_json(json: &str) -> Result<Self, String> {
        Ok(Rules {
            params: orderflow_plugin_sdk::parse_params("lifecycle", json)?,
            machine: describe(),
        })
    }

    /// A new order: pending, its payment too.
    pub fn create(&self) -> Transition {
        transition("pending", "pending", &[], &["order.created"])
    }

    pub fn change_status(
        &self,
        order: &OrderView,
        change: &StatusChange,
        by: &Actor,
    ) -> Result<Transition, Problem> {
        let (from, to) = (order.status.as_str(), change.to.as_str());
        let edges = &self.machine.status_edges;
        permitted(edges, (from, to), by, "status", "an order")?;
        let pay = order.payment_status.as_str();
        Ok(match to {
            "confirmed" => transition(to, pay, &["confirmed_at"], &["order.confirmed"]),
            "shipped" if self.params.pay_before_shipping && pay != "paid" => {
                return Err(Problem {
                    code: "payment_required".into(),
                    message: "an order ships once it is paid".into(),
                    field: Some("status".into()),
                });
            }
            "shipped" => machine::ship(change, pay)?,
            "delivered" => transition(to, pay, &["delivered_at"], &["order.delivered"]),
            "cancelled" => transition(to, pay, &["cancelled_at"], &["order.cancelled"]),
            _ => machine::refund(order, "status")?,
        })
    }

    pub fn change_payment(
        &self,
        order: &OrderView,
        change: &PaymentChange,
        by: &Actor,
    ) -> Result<Transition, Problem> {
        machine::change_payment(&self.machine.payment_edges, order, change, by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status is reachable from `pending`, and every edge joins known statuses.
    #[test]
    fn the_machine_hangs_together() {
        let m = describe();
        let mut reached = vec!["pending".to_owned()];
        while let Some(e) = m
            .status_edges
            .iter()
            .find(|e| reached.contains(&e.from) && !reached.contains(&e.to))
        {
            reached.push(e.to.clone());
        }
        reached.sort();
        let mut statuses = m.statuses.clone();
        statuses.sort();
        assert_eq!(reached, statuses);
    }

    #[test]
    fn unknown_parameters_are_refused() {
        let refused = Rules::from_json(r#"{"pay_before_shiping": true}"#).err();
        assert!(refused.is_some_and(|e| e.contains("unknown field")));
    }
}
