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
//!
//! Changes of a placed order follow the parameters: the items until `items_until`, the
//! delivery and cancellations until `delivery_until`; a delivered order's units are
//! returned within `return_window_days`, except products in `non_returnable`, less a
//! restocking fee of `restocking_fee_bp` of their price, with the shipping given back
//! when the whole order is returned if `refund_shipping`.

use crate::exports::orderflow::plugins::lifecycle::{
    Actor, ChangeKind, Machine, OrderView, RefundQuote, ReturnRequest,
};
use crate::orderflow::plugins::types::{Problem, Timestamp};
use orderflow_plugin_sdk::lifecycle::problem;
use orderflow_plugin_sdk::machine::{
    self, ADMIN, CANCELLED, CONFIRMED, DELIVERED, Lifecycle, PENDING, PROCESSING, REFUNDED,
    RETURN_WINDOW_DAYS, SHIPPED, USER, edge,
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
    /// The status from which an order's items and discount code no longer change.
    #[serde(default = "items_until")]
    pub items_until: String,
    /// The status from which its address and method no longer change, nor units are
    /// cancelled.
    #[serde(default = "delivery_until")]
    pub delivery_until: String,
    /// Days after delivery during which units are returned.
    #[serde(default = "return_window_days")]
    pub return_window_days: u32,
    /// Kept back of a returned unit's price, in basis points (1000 = 10 %).
    #[serde(default)]
    pub restocking_fee_bp: u32,
    /// Products that are not taken back.
    #[serde(default)]
    pub non_returnable: Vec<String>,
    /// Whether returning the whole order gives its shipping back.
    #[serde(default)]
    pub refund_shipping: bool,
}

fn user_cancellable() -> Vec<String> {
    vec![PENDING.into(), CONFIRMED.into()]
}

fn items_until() -> String {
    PROCESSING.into()
}

fn delivery_until() -> String {
    SHIPPED.into()
}

fn return_window_days() -> u32 {
    RETURN_WINDOW_DAYS
}

/// The rules of a workflow's parameters: its state machine depends on them.
#[derive(Debug)]
pub struct Rules {
    params: Params,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::from_json("{}").expect("the default parameters are valid")
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
        for (name, status) in [
            ("items_until", &params.items_until),
            ("delivery_until", &params.delivery_until),
        ] {
            if !STATUSES.contains(&status.as_str()) {
                return Err(problem(
                    "invalid_params",
                    &format!("{name}: `{status}` is not a status of the standard lifecycle"),
                    None,
                ));
            }
        }
        if params.restocking_fee_bp > 10_000 {
            return Err(problem(
                "invalid_params",
                "restocking_fee_bp: at most 10000 (100 %)",
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

    fn allow_change(
        &self,
        order: &OrderView,
        change: ChangeKind,
        _by: &Actor,
        _now: Timestamp,
    ) -> Result<(), Problem> {
        let p = &self.params;
        machine::allow_change(
            &self.machine(),
            &order.status,
            change,
            &p.items_until,
            &p.delivery_until,
        )
    }

    fn refund(
        &self,
        _order: &OrderView,
        request: &ReturnRequest,
        now: Timestamp,
    ) -> Result<RefundQuote, Problem> {
        let p = &self.params;
        machine::within_window(request, now, p.return_window_days)?;
        if let Some(i) =
            (request.lines.iter()).position(|line| p.non_returnable.contains(&line.product_id))
        {
            let product = &request.lines[i].product_id;
            return Err(problem(
                "not_returnable",
                &format!("product {product} is not taken back"),
                Some(&format!("lines[{i}].product_id")),
            ));
        }
        let mut quote = machine::returned_share(request);
        let gross: i64 = (request.lines.iter())
            .map(|line| line.unit_price.minor * i64::from(line.quantity))
            .sum();
        quote.restocking_fee.minor = gross * i64::from(p.restocking_fee_bp) / 10_000;
        if p.refund_shipping && request.everything {
            quote.shipping.minor = request.shipping.minor;
        }
        quote.total.minor =
            quote.items.minor + quote.tax.minor + quote.shipping.minor - quote.restocking_fee.minor;
        Ok(quote)
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
