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
//! timestamps (`<name>_at`) are yours to name; `orderflow_plugin_sdk::machine` names the
//! statuses the shipped workflows share and has their payment, refund and shipping rules.
//! Add a fixture for each rule in `fixtures/`.

use crate::exports::orderflow::plugins::lifecycle::{
    Machine, OrderView, PricedOrder, StatusChange, Transition,
};
use crate::orderflow::plugins::types::Problem;
use orderflow_plugin_sdk::machine::{
    self, ADMIN, CANCELLED, CONFIRMED, DELIVERED, Lifecycle, PAID, PENDING, REFUNDED, SHIPPED,
    USER, edge, transition,
};
use serde::Deserialize;

pub const STATUSES: [&str; 6] = [PENDING, CONFIRMED, SHIPPED, DELIVERED, CANCELLED, REFUNDED];

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
        edge(PENDING, CONFIRMED, &[ADMIN]),
        edge(CONFIRMED, SHIPPED, &[ADMIN]),
        edge(SHIPPED, DELIVERED, &[ADMIN]),
        edge(PENDING, CANCELLED, &[USER, ADMIN]),
        edge(CONFIRMED, CANCELLED, &[ADMIN]),
    ];
    status_edges.extend(machine::refunds(&STATUSES));
    machine::state_machine(&STATUSES, status_edges)
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
}

/// The decisions. A status change is checked against the machine's edges and roles before
/// `status_transition` answers it, and a payment change follows the SDK's shared payment
/// rules, unless you write your own `change_status` or `change_payment` here.
impl Lifecycle for Rules {
    /// The machine does not depend on the parameters.
    fn default_machine() -> Machine {
        describe()
    }

    fn machine(&self) -> &Machine {
        &self.machine
    }

    /// A new order: pending, its payment too.
    fn create(&self, _order: &PricedOrder) -> Transition {
        transition(PENDING, PENDING, &[], &["order.created"])
    }

    /// A status change the machine permits (`change_status` has checked the edge and the
    /// role).
    fn status_transition(
        &self,
        order: &OrderView,
        change: &StatusChange,
    ) -> Result<Transition, Problem> {
        let (to, pay) = (change.to.as_str(), order.payment_status.as_str());
        Ok(match to {
            CONFIRMED => transition(to, pay, &["confirmed_at"], &["order.confirmed"]),
            SHIPPED if self.params.pay_before_shipping && pay != PAID => {
                return Err(Problem {
                    code: "payment_required".into(),
                    message: "an order ships once it is paid".into(),
                    field: Some("status".into()),
                });
            }
            SHIPPED => machine::ship(change, pay)?,
            DELIVERED => transition(to, pay, &["delivered_at"], &["order.delivered"]),
            CANCELLED => transition(to, pay, &["cancelled_at"], &["order.cancelled"]),
            _ => machine::refund(order, "status")?,
        })
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
