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
//! statuses the shipped workflows share and has their rules: how an order is created, what
//! each status stamps and announces, payments, refunds, shipping. Add a fixture for each
//! rule in `fixtures/`.

use crate::exports::orderflow::plugins::lifecycle::{Machine, OrderView, StatusChange, Transition};
use crate::orderflow::plugins::types::Problem;
use orderflow_plugin_sdk::log;
use orderflow_plugin_sdk::machine::{
    self, ADMIN, CANCELLED, CONFIRMED, DELIVERED, Lifecycle, PAID, PENDING, REFUNDED, SHIPPED,
    USER, edge,
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

/// The state machine: who may move an order from which status to which (`state_machine`
/// adds the refunds and the payment's moves).
pub fn describe() -> Machine {
    let status_edges = vec![
        edge(PENDING, CONFIRMED, &[ADMIN]),
        edge(CONFIRMED, SHIPPED, &[ADMIN]),
        edge(SHIPPED, DELIVERED, &[ADMIN]),
        edge(PENDING, CANCELLED, &[USER, ADMIN]),
        edge(CONFIRMED, CANCELLED, &[ADMIN]),
    ];
    machine::state_machine(&STATUSES, status_edges)
}

pub struct Rules {
    params: Params,
}

impl Rules {
    /// Parameters the rules cannot work with are refused here: a workflow that gives them
    /// fails to load, rather than failing its orders.
    pub fn from_json(json: &str) -> Result<Self, String> {
        Ok(Rules {
            params: orderflow_plugin_sdk::parse_params("lifecycle", json)?,
        })
    }
}

/// The decisions. A status change is checked against the machine's edges and roles before
/// `status_transition` answers it; a new order (`create`) and a payment change
/// (`change_payment`) follow the SDK's shared rules, unless you write your own here.
impl Lifecycle for Rules {
    /// The machine; it does not depend on the parameters (else write `machine(&self)`).
    fn default_machine() -> Machine {
        describe()
    }

    /// A status change the machine permits (`change_status` has checked the edge and the
    /// role): this plugin's own rule, then the SDK's answer for the shared statuses.
    fn status_transition(
        &self,
        order: &OrderView,
        change: &StatusChange,
    ) -> Result<Transition, Problem> {
        let unpaid = order.payment_status != PAID;
        if change.to == SHIPPED && self.params.pay_before_shipping && unpaid {
            log::info(&format!(
                "order {} held: payment is {}, and pay_before_shipping is set",
                order.id, order.payment_status
            ));
            return Err(Problem {
                code: "payment_required".into(),
                message: "an order ships once it is paid".into(),
                field: Some("status".into()),
            });
        }
        machine::status_transition(order, change)
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
