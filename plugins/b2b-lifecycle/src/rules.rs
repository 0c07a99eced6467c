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
    Machine, OrderView, PricedOrder, StatusChange, Transition,
};
use crate::orderflow::plugins::types::Problem;
use orderflow_plugin_sdk::lifecycle::problem;
use orderflow_plugin_sdk::machine::{
    self, ADMIN, CANCELLED, CONFIRMED, DELIVERED, Lifecycle, PENDING, PROCESSING, REFUNDED,
    SHIPPED, USER, edge, transition,
};
use serde::Deserialize;

/// This workflow's own status: a large order waits in it for an admin.
pub const AWAITING_APPROVAL: &str = "awaiting_approval";

pub const STATUSES: [&str; 8] = [
    PENDING,
    AWAITING_APPROVAL,
    CONFIRMED,
    PROCESSING,
    SHIPPED,
    DELIVERED,
    CANCELLED,
    REFUNDED,
];

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
}

/// The state machine; it does not depend on the parameters (only who waits does).
pub fn describe() -> Machine {
    let status_edges = vec![
        edge(PENDING, CONFIRMED, &[ADMIN]),
        edge(AWAITING_APPROVAL, CONFIRMED, &[ADMIN]),
        edge(AWAITING_APPROVAL, CANCELLED, &[ADMIN]),
        edge(PENDING, CANCELLED, &[USER, ADMIN]),
        edge(CONFIRMED, CANCELLED, &[ADMIN]),
        edge(CONFIRMED, PROCESSING, &[ADMIN]),
        edge(PROCESSING, SHIPPED, &[ADMIN]),
        edge(SHIPPED, DELIVERED, &[ADMIN]),
    ];
    machine::state_machine(&STATUSES, status_edges)
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
        Ok(Rules { params })
    }
}

impl Lifecycle for Rules {
    fn default_machine() -> Machine {
        describe()
    }

    fn create(&self, order: &PricedOrder) -> Transition {
        let total = &order.total;
        let needs_approval =
            total.currency != self.params.currency || total.minor >= self.params.approval_over;
        if needs_approval {
            transition(
                AWAITING_APPROVAL,
                PENDING,
                &[],
                &["order.created", "order.approval_requested"],
            )
        } else {
            machine::created()
        }
    }

    /// An approval or a rejection; any other move is answered as the SDK's shared statuses
    /// are.
    fn status_transition(
        &self,
        order: &OrderView,
        change: &StatusChange,
    ) -> Result<Transition, Problem> {
        let (to, pay) = (change.to.as_str(), order.payment_status.as_str());
        let approval = order.status == AWAITING_APPROVAL;
        match to {
            CONFIRMED if approval => Ok(transition(
                to,
                pay,
                &["approved_at", "confirmed_at"],
                &["order.approved", "order.confirmed"],
            )),
            CANCELLED if approval => Ok(transition(
                to,
                pay,
                &["rejected_at", "cancelled_at"],
                &["order.rejected", "order.cancelled"],
            )),
            _ => machine::status_transition(order, change),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::orderflow::plugins::lifecycle::Actor;
    use crate::orderflow::plugins::types::Money;

    fn rules() -> Rules {
        Rules::from_json(r#"{"approval_over": 100000, "currency": "USD"}"#).unwrap()
    }

    fn usd(minor: i64) -> Money {
        Money {
            minor,
            currency: "USD".into(),
        }
    }

    fn priced(total: Money) -> PricedOrder {
        PricedOrder {
            user_id: "buyer-1".into(),
            total,
            shipping_method: "standard".into(),
            payment_method: "invoice".into(),
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
        assert_eq!(r.create(&priced(usd(99_999))).status, "pending");
        let large = r.create(&priced(usd(100_000)));
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
        assert_eq!(r.create(&priced(euros)).status, "awaiting_approval");
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
        orderflow_plugin_sdk::fixtures::lifecycle(env!("CARGO_MANIFEST_DIR"), Rules::from_json);
    }
}
