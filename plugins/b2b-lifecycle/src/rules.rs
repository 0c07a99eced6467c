//! A B2B order lifecycle: orders from the threshold up wait for an admin's approval.
//!
//! ```text
//!            ┌──▶ awaiting_approval ──(admin approves)──┐
//! created ───┤          │ (admin rejects)               ▼
//!            └──▶ pending ─────────(admin)──────▶ confirmed ──▶ processing ──▶ shipped ──▶ delivered
//!                   │                                 │
//!                   └─────────────────────────────────┴──▶ cancelled   (buyer: while pending)
//! any status but refunded ──▶ refunded                                 (admin, only once paid)
//! payment (invoice): pending ──▶ paid | failed,  failed ──▶ paid,  paid ──▶ refunded
//! ```
//! Approval emits `order.approved` (and `order.confirmed`); a rejection emits
//! `order.rejected` (and `order.cancelled`); an order that needs approval announces
//! `order.approval_requested` when it is created.

use crate::exports::orderflow::plugins::lifecycle::{
    Actor, Machine, OrderView, PaymentChange, StatusChange, Transition,
};
use crate::orderflow::plugins::types::{Money, Problem};
use orderflow_plugin_sdk::machine::{self, ADMIN, USER, edge, permitted, transition};
use serde::Deserialize;

pub const STATUSES: [&str; 8] = [
    "pending",
    "awaiting_approval",
    "confirmed",
    "processing",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
];
pub const FINAL_STATUSES: [&str; 3] = ["delivered", "cancelled", "refunded"];
pub const PAYMENT_STATUSES: [&str; 4] = ["pending", "paid", "failed", "refunded"];

/// The `[lifecycle.params]` table of a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Orders whose total reaches this many minor units of `currency` need approval;
    /// an order in another currency always does.
    pub approval_over: i64,
    pub currency: String,
}

pub struct Rules {
    params: Params,
    machine: Machine,
}

pub fn problem(code: &str, message: &str, field: Option<&str>) -> Problem {
    Problem {
        code: code.into(),
        message: message.into(),
        field: field.map(Into::into),
    }
}

/// The state machine; it does not depend on the parameters (only who waits does).
pub fn describe() -> Machine {
    let mut status_edges = vec![
        edge("pending", "confirmed", &[ADMIN]),
        edge("awaiting_approval", "confirmed", &[ADMIN]),
        edge("awaiting_approval", "cancelled", &[ADMIN]),
        edge("pending", "cancelled", &[USER, ADMIN]),
        edge("confirmed", "cancelled", &[ADMIN]),
        edge("confirmed", "processing", &[ADMIN]),
        edge("processing", "shipped", &[ADMIN]),
        edge("shipped", "delivered", &[ADMIN]),
    ];
    for from in STATUSES.iter().filter(|s| **s != "refunded") {
        status_edges.push(edge(from, "refunded", &[ADMIN]));
    }
    Machine {
        statuses: STATUSES.map(Into::into).to_vec(),
        final_statuses: FINAL_STATUSES.map(Into::into).to_vec(),
        payment_statuses: PAYMENT_STATUSES.map(Into::into).to_vec(),
        status_edges,
        payment_edges: machine::payment_edges(),
    }
}

impl Rules {
    pub fn from_json(json: &str) -> Result<Self, Problem> {
        let params: Params = orderflow_plugin_sdk::parse_params("lifecycle", json)
            .map_err(|message| problem("invalid_params", &message, None))?;
        if params.approval_over < 0 {
            return Err(problem(
                "invalid_params",
                "approval_over must not be negative",
                None,
            ));
        }
        Ok(Rules::new(params))
    }

    fn new(params: Params) -> Self {
        Rules {
            params,
            machine: describe(),
        }
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn create(&self, total: &Money) -> Transition {
        let needs_approval =
            total.currency != self.params.currency || total.minor >= self.params.approval_over;
        if needs_approval {
            transition(
                "awaiting_approval",
                "pending",
                &[],
                &["order.created", "order.approval_requested"],
            )
        } else {
            transition("pending", "pending", &[], &["order.created"])
        }
    }

    pub fn change_status(
        &self,
        order: &OrderView,
        change: &StatusChange,
        by: &Actor,
    ) -> Result<Transition, Problem> {
        let (from, to) = (order.status.as_str(), change.to.as_str());
        permitted(
            &self.machine.status_edges,
            (from, to),
            by,
            "status",
            "an order",
        )?;
        let pay = order.payment_status.as_str();
        let approval = from == "awaiting_approval";
        Ok(match to {
            "confirmed" if approval => transition(
                to,
                pay,
                &["approved_at", "confirmed_at"],
                &["order.approved", "order.confirmed"],
            ),
            "confirmed" => transition(to, pay, &["confirmed_at"], &["order.confirmed"]),
            "cancelled" if approval => transition(
                to,
                pay,
                &["rejected_at", "cancelled_at"],
                &["order.rejected", "order.cancelled"],
            ),
            "cancelled" => transition(to, pay, &["cancelled_at"], &["order.cancelled"]),
            "processing" => transition(to, pay, &["processing_at"], &[]),
            "shipped" => machine::ship(change, pay)?,
            "delivered" => transition(to, pay, &["delivered_at"], &["order.delivered"]),
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
    use crate::exports::orderflow::plugins::lifecycle::PricedOrder;
    use plugin_fixtures::{Expected, arg};

    fn rules() -> Rules {
        Rules::from_json(r#"{"approval_over": 100000, "currency": "USD"}"#).unwrap()
    }

    fn usd(minor: i64) -> Money {
        Money {
            minor,
            currency: "USD".into(),
        }
    }

    fn order(status: &str) -> OrderView {
        OrderView {
            id: "o1".into(),
            user_id: "buyer-1".into(),
            status: status.into(),
            payment_status: "pending".into(),
            total: usd(250_000),
            created_at: 0,
            tracking_number: None,
        }
    }

    fn by(role: &str) -> Actor {
        Actor {
            id: "a".into(),
            role: role.into(),
        }
    }

    fn to(status: &str) -> StatusChange {
        StatusChange {
            to: status.into(),
            tracking_number: None,
            carrier: None,
            reason: None,
        }
    }

    #[test]
    fn large_orders_and_foreign_currencies_wait_for_approval() {
        let r = rules();
        assert_eq!(r.create(&usd(99_999)).status, "pending");
        let large = r.create(&usd(100_000));
        assert_eq!(
            (large.status.as_str(), large.events),
            (
                "awaiting_approval",
                vec![
                    "order.created".to_owned(),
                    "order.approval_requested".into()
                ]
            )
        );
        let euros = Money {
            minor: 10,
            currency: "EUR".into(),
        };
        assert_eq!(r.create(&euros).status, "awaiting_approval");
    }

    #[test]
    fn only_an_admin_approves_or_rejects() {
        let r = rules();
        let waiting = order("awaiting_approval");
        let refused = r
            .change_status(&waiting, &to("confirmed"), &by("user"))
            .unwrap_err();
        assert_eq!(refused.code, "not_allowed");
        let approved = r
            .change_status(&waiting, &to("confirmed"), &by("admin"))
            .unwrap();
        assert_eq!(approved.events, ["order.approved", "order.confirmed"]);
        let rejected = r
            .change_status(&waiting, &to("cancelled"), &by("admin"))
            .unwrap();
        assert_eq!(rejected.events, ["order.rejected", "order.cancelled"]);
        // The buyer cannot withdraw it either while it waits, nor skip ahead.
        assert!(
            r.change_status(&waiting, &to("cancelled"), &by("user"))
                .is_err()
        );
        assert_eq!(
            r.change_status(&waiting, &to("processing"), &by("admin"))
                .unwrap_err()
                .code,
            "invalid_transition"
        );
    }

    #[test]
    fn parameters_are_checked() {
        for bad in [
            r#"{"approval_over": -1, "currency": "USD"}"#,
            r#"{"approval_over": 1}"#,
            r#"{"approval_over": 1, "currency": "USD", "x": 1}"#,
        ] {
            assert_eq!(Rules::from_json(bad).err().unwrap().code, "invalid_params");
        }
    }

    /// The shipped fixtures, run natively; `orderflow plugin test` runs them through wasm.
    #[test]
    fn fixtures() {
        plugin_fixtures::assert_native(env!("CARGO_MANIFEST_DIR"), |fixture, params| {
            let rules = Rules::from_json(&params.to_string()).map_err(|p| p.message)?;
            Ok(match fixture.call.as_str() {
                "describe" => Expected::from_result::<_, ()>(&Ok(rules.machine())),
                "create" => {
                    let order: PricedOrder = arg(fixture, "order")?;
                    Expected::from_result::<_, ()>(&Ok(rules.create(&order.total)))
                }
                "change_status" => Expected::from_result(&rules.change_status(
                    &arg(fixture, "order")?,
                    &arg(fixture, "change")?,
                    &arg(fixture, "by")?,
                )),
                "change_payment" => Expected::from_result(&rules.change_payment(
                    &arg(fixture, "order")?,
                    &arg(fixture, "change")?,
                    &arg(fixture, "by")?,
                )),
                other => return Err(format!("no call {other}")),
            })
        });
    }
}
