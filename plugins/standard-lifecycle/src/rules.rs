//! The standard order lifecycle: 7 order statuses, 4 payment statuses.
//!
//! ```text
//! pending ──▶ confirmed ──▶ processing ──▶ shipped ──▶ delivered
//!    │            │             │
//!    └────────────┴─────────────┴──▶ cancelled        (customer: before processing)
//! any status but refunded ──▶ refunded                 (admin, only once paid)
//! payment: pending ──▶ paid | failed,  failed ──▶ paid,  paid ──▶ refunded
//! ```
//! Delivered and cancelled are final except for a refund. A refund, asked for either as
//! an order status or as a payment status, moves both to `refunded`.

use crate::exports::orderflow::plugins::lifecycle::Machine;
use crate::orderflow::plugins::types::Problem;
use orderflow_plugin_sdk::lifecycle::problem;
use orderflow_plugin_sdk::machine::{
    self, ADMIN, CANCELLED, CONFIRMED, DELIVERED, Lifecycle, PENDING, PROCESSING, REFUNDED,
    SHIPPED, USER, edge,
};
use serde::Deserialize;

pub const STATUSES: [&str; 7] = [
    PENDING, CONFIRMED, PROCESSING, SHIPPED, DELIVERED, CANCELLED, REFUNDED,
];

/// The `[lifecycle.params]` table of a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Statuses from which the customer may still cancel.
    #[serde(default = "user_cancellable")]
    pub user_cancellable: Vec<String>,
}

fn user_cancellable() -> Vec<String> {
    vec![PENDING.into(), CONFIRMED.into()]
}

/// The rules of a workflow's parameters: its state machine depends on them.
#[derive(Debug)]
pub struct Rules {
    params: Params,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            params: Params {
                user_cancellable: user_cancellable(),
            },
        }
    }
}

impl Rules {
    pub fn from_json(json: &str) -> Result<Self, Problem> {
        let params: Params = orderflow_plugin_sdk::parse_params("lifecycle", json)
            .map_err(|message| problem("invalid_params", &message, None))?;
        let allowed = [PENDING, CONFIRMED, PROCESSING];
        if let Some(bad) = params
            .user_cancellable
            .iter()
            .find(|s| !allowed.contains(&s.as_str()))
        {
            return Err(problem(
                "invalid_params",
                &format!("user_cancellable: a customer cannot cancel a `{bad}` order"),
                None,
            ));
        }
        Ok(Rules { params })
    }
}

/// The decisions are the SDK's shared ones: a new order is pending, its payment too
/// ([`machine::created`]), and each status stamps and announces its arrival
/// ([`machine::status_transition`]).
impl Lifecycle for Rules {
    fn default_machine() -> Machine {
        Rules::default().machine()
    }

    /// The standard machine, the customer's cancellations as the parameters allow.
    fn machine(&self) -> Machine {
        let mut status_edges = vec![
            edge(PENDING, CONFIRMED, &[ADMIN]),
            edge(CONFIRMED, PROCESSING, &[ADMIN]),
            edge(PROCESSING, SHIPPED, &[ADMIN]),
            edge(SHIPPED, DELIVERED, &[ADMIN]),
        ];
        for from in [PENDING, CONFIRMED, PROCESSING] {
            let who: &[&str] = if self.params.user_cancellable.iter().any(|s| s == from) {
                &[USER, ADMIN]
            } else {
                &[ADMIN]
            };
            status_edges.push(edge(from, CANCELLED, who));
        }
        machine::state_machine(&STATUSES, status_edges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::orderflow::plugins::lifecycle::{
        Actor, OrderView, PaymentChange, PricedOrder, StatusChange,
    };
    use crate::orderflow::plugins::types::Money;

    fn order(status: &str, payment: &str) -> OrderView {
        OrderView {
            id: "o1".into(),
            user_id: "u1".into(),
            status: status.into(),
            payment_status: payment.into(),
            total: Money {
                minor: 1000,
                currency: "USD".into(),
            },
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

    fn to_status(to: &str, tracking: Option<&str>) -> StatusChange {
        StatusChange {
            to: to.into(),
            tracking_number: tracking.map(Into::into),
            carrier: None,
            reason: None,
        }
    }

    fn to_payment(to: &str) -> PaymentChange {
        PaymentChange {
            to: to.into(),
            transaction_id: Some("tx1".into()),
            reason: None,
        }
    }

    /// Status change outcome as (status, payment, stamps, events) or the refusal code.
    fn status(
        from: (&str, &str),
        to: &str,
        role: &str,
    ) -> Result<(String, String, Vec<String>, Vec<String>), String> {
        Rules::default()
            .change_status(
                &order(from.0, from.1),
                &to_status(to, Some("1Z999")),
                &by(role),
            )
            .map(|t| (t.status, t.payment_status, t.stamps, t.events))
            .map_err(|p| p.code)
    }

    fn ok(
        status: &str,
        payment: &str,
        stamp: &str,
        event: Option<&str>,
    ) -> Result<(String, String, Vec<String>, Vec<String>), String> {
        Ok((
            status.into(),
            payment.into(),
            vec![stamp.into()],
            event.into_iter().map(Into::into).collect(),
        ))
    }

    #[test]
    fn creation_starts_pending_and_announces_the_order() {
        let order = PricedOrder {
            user_id: "user-1".into(),
            total: Money {
                minor: 4352,
                currency: "USD".into(),
            },
            shipping_method: "standard".into(),
            payment_method: "card".into(),
        };
        let t = Rules::default().create(&order);
        assert_eq!(
            (t.status.as_str(), t.payment_status.as_str()),
            ("pending", "pending")
        );
        assert_eq!(t.events, vec!["order.created".to_string()]);
    }

    #[test]
    fn the_happy_path() {
        assert_eq!(
            status(("pending", "paid"), "confirmed", ADMIN),
            ok("confirmed", "paid", "confirmed_at", Some("order.confirmed"))
        );
        assert_eq!(
            status(("confirmed", "paid"), "processing", ADMIN),
            ok("processing", "paid", "processing_at", None)
        );
        assert_eq!(
            status(("processing", "paid"), "shipped", ADMIN),
            ok("shipped", "paid", "shipped_at", Some("order.shipped"))
        );
        assert_eq!(
            status(("shipped", "paid"), "delivered", ADMIN),
            ok("delivered", "paid", "delivered_at", Some("order.delivered"))
        );
    }

    #[test]
    fn shipping_needs_a_tracking_number() {
        for tracking in [None, Some("  ")] {
            let err = Rules::default()
                .change_status(
                    &order("processing", "paid"),
                    &to_status("shipped", tracking),
                    &by(ADMIN),
                )
                .unwrap_err();
            assert_eq!(
                (err.code.as_str(), err.field.as_deref()),
                ("tracking_number_required", Some("tracking_number"))
            );
        }
    }

    #[test]
    fn customers_cancel_only_before_processing() {
        assert_eq!(
            status(("pending", "pending"), "cancelled", USER),
            ok(
                "cancelled",
                "pending",
                "cancelled_at",
                Some("order.cancelled")
            )
        );
        assert!(status(("confirmed", "pending"), "cancelled", USER).is_ok());
        assert_eq!(
            status(("processing", "pending"), "cancelled", USER),
            Err("not_allowed".into())
        );
        assert!(status(("processing", "pending"), "cancelled", ADMIN).is_ok());
        assert_eq!(
            status(("shipped", "pending"), "cancelled", ADMIN),
            Err("invalid_transition".into())
        );
        // The only thing a customer may do is cancel.
        assert_eq!(
            status(("pending", "pending"), "confirmed", USER),
            Err("not_allowed".into())
        );
    }

    #[test]
    fn user_cancellable_is_a_parameter() {
        let strict = Rules::from_json(r#"{"user_cancellable": ["pending"]}"#).unwrap();
        let err = strict
            .change_status(
                &order("confirmed", "pending"),
                &to_status("cancelled", None),
                &by(USER),
            )
            .unwrap_err();
        assert_eq!(err.code, "not_allowed");
        assert_eq!(
            Rules::from_json(r#"{"user_cancellable": ["shipped"]}"#)
                .unwrap_err()
                .code,
            "invalid_params"
        );
    }

    #[test]
    fn final_statuses_only_allow_refund() {
        for from in ["delivered", "cancelled"] {
            for to in [
                "pending",
                "confirmed",
                "processing",
                "shipped",
                "delivered",
                "cancelled",
            ] {
                assert_eq!(
                    status((from, "paid"), to, ADMIN),
                    Err("invalid_transition".into()),
                    "{from} → {to}"
                );
            }
            assert_eq!(
                status((from, "paid"), "refunded", ADMIN),
                ok(
                    "refunded",
                    "refunded",
                    "refunded_at",
                    Some("order.refunded")
                )
            );
        }
        assert_eq!(
            status(("refunded", "refunded"), "refunded", ADMIN),
            Err("invalid_transition".into())
        );
    }

    #[test]
    fn refund_only_after_payment() {
        assert_eq!(
            status(("delivered", "pending"), "refunded", ADMIN),
            Err("refund_requires_payment".into())
        );
        assert_eq!(
            status(("delivered", "paid"), "refunded", USER),
            Err("not_allowed".into())
        );
        let t = Rules::default()
            .change_payment(
                &order("delivered", "paid"),
                &to_payment("refunded"),
                &by(ADMIN),
            )
            .unwrap();
        assert_eq!(
            (t.status.as_str(), t.payment_status.as_str()),
            ("refunded", "refunded")
        );
    }

    #[test]
    fn payments() {
        let pay = |status: &str, from: &str, to: &str, role: &str| {
            Rules::default()
                .change_payment(&order(status, from), &to_payment(to), &by(role))
                .map(|t| (t.payment_status, t.stamps, t.events))
                .map_err(|p| p.code)
        };
        let paid = Ok((
            "paid".to_string(),
            vec!["paid_at".to_string()],
            vec!["order.payment_completed".to_string()],
        ));
        assert_eq!(pay("pending", "pending", "paid", ADMIN), paid);
        assert_eq!(pay("confirmed", "failed", "paid", ADMIN), paid);
        assert_eq!(
            pay("pending", "pending", "failed", ADMIN),
            Ok(("failed".into(), vec![], vec!["order.payment_failed".into()]))
        );
        assert_eq!(
            pay("pending", "pending", "paid", USER),
            Err("not_allowed".into())
        );
        assert_eq!(
            pay("cancelled", "pending", "paid", ADMIN),
            Err("order_closed".into())
        );
        assert_eq!(
            pay("pending", "paid", "failed", ADMIN),
            Err("invalid_transition".into())
        );
        assert_eq!(
            pay("pending", "pending", "refunded", ADMIN),
            Err("invalid_transition".into())
        );
        assert_eq!(
            pay("pending", "pending", "lost", ADMIN),
            Err("invalid_transition".into())
        );
    }

    #[test]
    fn the_machine_describes_every_status_it_decides() {
        let rules = Rules::default();
        let m = rules.machine();
        for e in m.status_edges.iter() {
            assert!(m.statuses.contains(&e.from) && m.statuses.contains(&e.to));
        }
        for e in m.payment_edges.iter() {
            assert!(m.payment_statuses.contains(&e.from) && m.payment_statuses.contains(&e.to));
        }
    }

    /// The shipped fixtures, run natively; `orderflow plugin test` runs them through wasm.
    #[test]
    fn fixtures() {
        orderflow_plugin_sdk::fixtures::lifecycle(env!("CARGO_MANIFEST_DIR"), Rules::from_json);
    }
}
