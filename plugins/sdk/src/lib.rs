//! What every orderflow plugin wants, whatever decision it makes: the contract's bindings,
//! the glue that exports a plugin's rules (`export_validation!`, `export_pricing!`,
//! `export_lifecycle!`), the allocator, parameter parsing, the building blocks of prices
//! ([`price`]) and state machines ([`machine`]), and the native run of a plugin's fixtures
//! ([`fixtures`]).
//!
//! Depending on this crate sets the component's allocator: the host runs each decision in
//! a fresh instance and throws it away, so memory never needs to be reused, and a bump
//! allocator that never frees makes lifting an order into the guest (dozens of strings)
//! several times cheaper than a general-purpose allocator.

#[cfg(target_arch = "wasm32")]
#[global_allocator]
// SAFETY: a component instance runs on a single thread.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::LeakingAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::LeakingAllocator::new()) };

mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod fixtures;

pub use export::{Configured, Refusal, WorldProblem};

/// One module per plugin world of the contract, with the `problem` helper of its own
/// `Problem` type.
macro_rules! world {
    ($(#[$doc:meta])* $kind:ident, $world:tt, $bindings:tt) => {
        $(#[$doc])*
        pub mod $kind {
            wit_bindgen::generate!({
                world: $world,
                path: "../../wit/since_v0.2.0",
                pub_export_macro: true,
                default_bindings_module: $bindings,
                additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
            });

            use orderflow::plugins::types::Problem;

            /// A problem: its code, the message for people, the field it is about if any.
            pub fn problem(code: &str, message: &str, field: Option<&str>) -> Problem {
                Problem {
                    code: code.into(),
                    message: message.into(),
                    field: field.map(Into::into),
                }
            }

            impl crate::WorldProblem for Problem {
                fn new(code: &str, message: &str) -> Self {
                    problem(code, message, None)
                }
            }
        }
    };
}

world!(
    /// The contract's bindings (`wit/since_v0.2.0`, `orderflow:plugins@0.2.0`), one module per
    /// plugin world: a plugin takes its types from its world's module, and its world's export
    /// macro ([`export_validation!`](crate::export_validation) and the others) exports it. Generated once here, so a
    /// plugin crate carries no binding boilerplate of its own.
    validation,
    "validation-plugin",
    "orderflow_plugin_sdk::validation"
);
world!(
    /// See [`validation`].
    pricing,
    "pricing-plugin",
    "orderflow_plugin_sdk::pricing"
);
world!(
    /// See [`validation`].
    lifecycle,
    "lifecycle-plugin",
    "orderflow_plugin_sdk::lifecycle"
);

/// Building blocks of a lifecycle plugin's state machine and answers.
pub mod machine {
    use crate::lifecycle::exports::orderflow::plugins::lifecycle::{
        Actor, Edge, Machine, OrderView, PaymentChange, PricedOrder, StatusChange, Transition,
    };
    use crate::lifecycle::orderflow::plugins::types::Problem;
    use crate::lifecycle::problem;

    pub const ADMIN: &str = "admin";
    pub const USER: &str = "user";

    // The order statuses the shipped state machines share; a machine lists those it uses,
    // and may add its own (as the B2B one does `awaiting_approval`).
    pub const PENDING: &str = "pending";
    pub const CONFIRMED: &str = "confirmed";
    pub const PROCESSING: &str = "processing";
    pub const SHIPPED: &str = "shipped";
    pub const DELIVERED: &str = "delivered";
    pub const CANCELLED: &str = "cancelled";
    pub const REFUNDED: &str = "refunded";
    /// Statuses no status change leaves (but a refund).
    pub const FINAL_STATUSES: [&str; 3] = [DELIVERED, CANCELLED, REFUNDED];

    // A payment is `PENDING` first and may end `REFUNDED`, as an order does.
    pub const PAID: &str = "paid";
    pub const FAILED: &str = "failed";
    pub const PAYMENT_STATUSES: [&str; 4] = [PENDING, PAID, FAILED, REFUNDED];

    /// A lifecycle plugin's rules, configured with a workflow's parameters: what
    /// [`export_lifecycle!`](crate::export_lifecycle) exports. The type also has the
    /// `from_json` that makes it of the parameters.
    pub trait Lifecycle {
        /// The machine `describe` shows before `configure`: the default parameters'. The
        /// host configures first; this keeps `describe` an answer either way.
        fn default_machine() -> Machine;

        /// The state machine these rules decide by; the host checks every answer against it.
        /// Unless it depends on the parameters, the default one. Made when a decision asks
        /// (once: an instance makes one decision).
        fn machine(&self) -> Machine {
            Self::default_machine()
        }

        /// A new order's statuses, stamps and events; unless the rules say otherwise,
        /// [`created`]'s.
        fn create(&self, _order: &PricedOrder) -> Transition {
            created()
        }

        /// A status change: refused unless it follows one of the machine's status edges by
        /// one of its roles, then answered by [`status_transition`](Self::status_transition).
        fn change_status(
            &self,
            order: &OrderView,
            change: &StatusChange,
            by: &Actor,
        ) -> Result<Transition, Problem> {
            let (from, to) = (order.status.as_str(), change.to.as_str());
            permitted(
                &self.machine().status_edges,
                (from, to),
                by,
                "status",
                "an order",
            )?;
            self.status_transition(order, change)
        }

        /// The answer to a status change the machine permits; unless the rules say
        /// otherwise, the shared statuses' ([`status_transition`]).
        fn status_transition(
            &self,
            order: &OrderView,
            change: &StatusChange,
        ) -> Result<Transition, Problem> {
            status_transition(order, change)
        }

        /// The shared payment rules ([`change_payment`]) along the machine's payment edges.
        fn change_payment(
            &self,
            order: &OrderView,
            change: &PaymentChange,
            by: &Actor,
        ) -> Result<Transition, Problem> {
            change_payment(&self.machine().payment_edges, order, change, by)
        }
    }

    /// A state machine of `statuses` (`REFUNDED` among them) and `status_edges`, with what
    /// the shipped workflows share: an admin's refund from every status but refunded
    /// itself (after `status_edges`), the final statuses, the payment statuses and edges.
    pub fn state_machine(statuses: &[&str], mut status_edges: Vec<Edge>) -> Machine {
        let strings = |all: &[&str]| all.iter().map(|s| (*s).into()).collect();
        status_edges.extend(
            statuses
                .iter()
                .filter(|s| **s != REFUNDED)
                .map(|from| edge(from, REFUNDED, &[ADMIN])),
        );
        Machine {
            statuses: strings(statuses),
            final_statuses: strings(&FINAL_STATUSES),
            payment_statuses: strings(&PAYMENT_STATUSES),
            status_edges,
            payment_edges: payment_edges(),
        }
    }

    /// A move `from → to` that the given roles may make.
    pub fn edge(from: &str, to: &str, roles: &[&str]) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            roles: roles.iter().map(|r| (*r).into()).collect(),
        }
    }

    /// An answer: the statuses it leaves, the timestamps it sets, the events it emits.
    pub fn transition(
        status: &str,
        payment_status: &str,
        stamps: &[&str],
        events: &[&str],
    ) -> Transition {
        Transition {
            status: status.into(),
            payment_status: payment_status.into(),
            stamps: stamps.iter().map(|s| (*s).into()).collect(),
            events: events.iter().map(|e| (*e).into()).collect(),
        }
    }

    /// A new order, as the shipped workflows but the B2B one create it: pending, its
    /// payment too, announced as `order.created`.
    pub fn created() -> Transition {
        transition(PENDING, PENDING, &[], &["order.created"])
    }

    /// The answer to a permitted move to one of the shared statuses, the payment status
    /// kept: `<status>_at` stamped and `order.<status>` emitted on arrival (processing
    /// emits nothing), shipping needs a tracking number ([`ship`]), a refund a payment
    /// ([`refund`]). A status of a machine's own is entered with neither.
    pub fn status_transition(
        order: &OrderView,
        change: &StatusChange,
    ) -> Result<Transition, Problem> {
        let (to, pay) = (change.to.as_str(), order.payment_status.as_str());
        Ok(match to {
            CONFIRMED => transition(to, pay, &["confirmed_at"], &["order.confirmed"]),
            PROCESSING => transition(to, pay, &["processing_at"], &[]),
            SHIPPED => ship(change, pay)?,
            DELIVERED => transition(to, pay, &["delivered_at"], &["order.delivered"]),
            CANCELLED => transition(to, pay, &["cancelled_at"], &["order.cancelled"]),
            REFUNDED => refund(order, "status")?,
            _ => transition(to, pay, &[], &[]),
        })
    }

    /// The move `from → to` must be one of `edges`, and `by` must hold one of its roles;
    /// the refusal names `field`. `what` is the subject of the message ("an order").
    pub fn permitted(
        edges: &[Edge],
        (from, to): (&str, &str),
        by: &Actor,
        field: &str,
        what: &str,
    ) -> Result<(), Problem> {
        let edge = edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .ok_or_else(|| {
                problem(
                    "invalid_transition",
                    &format!("{what} cannot go from {from} to {to}"),
                    Some(field),
                )
            })?;
        if edge.roles.contains(&by.role) {
            return Ok(());
        }
        let message = if to == CANCELLED && by.role == USER {
            format!("a {from} order can no longer be cancelled by the customer")
        } else {
            format!("only an admin may move {what} from {from} to {to}")
        };
        Err(problem("not_allowed", &message, Some(field)))
    }

    /// The payment lifecycle the shipped workflows share (admin only):
    /// pending → paid | failed, failed → paid, paid → refunded.
    fn payment_edges() -> Vec<Edge> {
        vec![
            edge(PENDING, PAID, &[ADMIN]),
            edge(PENDING, FAILED, &[ADMIN]),
            edge(FAILED, PAID, &[ADMIN]),
            edge(PAID, REFUNDED, &[ADMIN]),
        ]
    }

    /// A payment change along `edges`: paid (not for a closed order), failed, or a refund.
    pub fn change_payment(
        edges: &[Edge],
        order: &OrderView,
        change: &PaymentChange,
        by: &Actor,
    ) -> Result<Transition, Problem> {
        let (from, to) = (order.payment_status.as_str(), change.to.as_str());
        permitted(edges, (from, to), by, "payment_status", "a payment")?;
        let status = order.status.as_str();
        Ok(match to {
            PAID => {
                if matches!(status, CANCELLED | REFUNDED) {
                    return Err(problem(
                        "order_closed",
                        &format!("a {status} order takes no payment"),
                        Some("payment_status"),
                    ));
                }
                transition(status, to, &["paid_at"], &["order.payment_completed"])
            }
            FAILED => transition(status, to, &[], &["order.payment_failed"]),
            _ => refund(order, "payment_status")?,
        })
    }

    /// A refund, asked for as a status or a payment status (`field`): both become
    /// `refunded`, and only a paid order can be.
    pub fn refund(order: &OrderView, field: &str) -> Result<Transition, Problem> {
        if order.payment_status != PAID {
            return Err(problem(
                "refund_requires_payment",
                "only a paid order can be refunded",
                Some(field),
            ));
        }
        Ok(transition(
            REFUNDED,
            REFUNDED,
            &["refunded_at"],
            &["order.refunded"],
        ))
    }

    /// Shipping, which needs a tracking number.
    pub fn ship(change: &StatusChange, payment_status: &str) -> Result<Transition, Problem> {
        if change
            .tracking_number
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
        {
            return Err(problem(
                "tracking_number_required",
                "shipping needs a tracking number",
                Some("tracking_number"),
            ));
        }
        Ok(transition(
            SHIPPED,
            payment_status,
            &["shipped_at"],
            &["order.shipped"],
        ))
    }
}

/// Building blocks of a pricing plugin: exact integer money, rounded once.
pub mod price {
    use crate::pricing::exports::orderflow::plugins::pricing::{AppliedRule, Quote};
    use crate::pricing::orderflow::plugins::types::{Address, Money, OrderDraft, Problem};
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// A tax rate of a country, or of one of its regions (`state` of the address).
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct TaxRate {
        pub country: String,
        /// None: the rate for every region of the country without a rate of its own.
        #[serde(default)]
        pub region: Option<String>,
        /// Basis points: 725 is 7.25 %.
        pub rate_bp: u32,
    }

    /// What every price list's parameters must be: an ISO-4217 `currency` (three capital
    /// letters), no negative shipping rate, no tax rate over 100 %. The refusal is a message.
    pub fn check_price_list(
        currency: &str,
        shipping: &BTreeMap<String, i64>,
        tax: &[TaxRate],
    ) -> Result<(), String> {
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("currency `{currency}` is not ISO-4217"));
        }
        if let Some((method, _)) = shipping.iter().find(|(_, rate)| **rate < 0) {
            return Err(format!("shipping rate of `{method}` is negative"));
        }
        if let Some(rate) = tax.iter().find(|t| t.rate_bp > 10_000) {
            return Err(format!("tax rate of {} exceeds 100 %", rate.country));
        }
        Ok(())
    }

    /// `value × bp / 10000`, rounded half away from zero.
    pub fn apply_bp(value: i64, bp: u32) -> Option<i64> {
        let scaled = i128::from(value) * i128::from(bp);
        let rounded = (scaled.abs() + 5_000) / 10_000 * scaled.signum();
        i64::try_from(rounded).ok()
    }

    pub fn overflow() -> Problem {
        Problem {
            code: "amount_overflow".into(),
            message: "the order's amounts are too large".into(),
            field: None,
        }
    }

    /// Σ unit price × quantity of the order's snapshot prices, all in `currency`.
    pub fn subtotal(order: &OrderDraft, currency: &str) -> Result<i64, Problem> {
        let mut subtotal: i64 = 0;
        for (i, item) in order.items.iter().enumerate() {
            let price = &item.product.unit_price;
            if price.currency != currency {
                return Err(Problem {
                    code: "currency_not_supported".into(),
                    message: format!(
                        "this price list is in {currency}, the item is priced in {}",
                        price.currency
                    ),
                    field: Some(format!("items[{i}]")),
                });
            }
            let line = price
                .minor
                .checked_mul(i64::from(item.quantity))
                .ok_or_else(overflow)?;
            subtotal = subtotal.checked_add(line).ok_or_else(overflow)?;
        }
        Ok(subtotal)
    }

    /// The tax on `taxable` at the address's rate (its region's, else its country's), with
    /// the rule to show for it; none without a rate.
    pub fn tax(
        rates: &[TaxRate],
        address: &Address,
        taxable: Money,
    ) -> Result<Option<AppliedRule>, Problem> {
        let rate = rates
            .iter()
            .find(|t| t.country == address.country && t.region.as_deref() == Some(&address.state))
            .or_else(|| {
                rates
                    .iter()
                    .find(|t| t.country == address.country && t.region.is_none())
            });
        let Some(rate) = rate else {
            return Ok(None);
        };
        let amount = apply_bp(taxable.minor, rate.rate_bp).ok_or_else(overflow)?;
        let place = match &rate.region {
            Some(region) => format!("{}-{region}", rate.country),
            None => rate.country.clone(),
        };
        Ok(Some(AppliedRule {
            rule: format!("tax:{place}"),
            description: format!("{place} tax at {} bp", rate.rate_bp),
            amount: Money {
                minor: amount,
                currency: taxable.currency,
            },
        }))
    }

    /// The amounts a pricing plugin decided, in minor units of `currency`.
    pub struct Amounts {
        pub subtotal: i64,
        pub discount: i64,
        pub tax: i64,
        pub shipping: i64,
    }

    /// The quote, with total = subtotal − discount + tax + shipping (overflow refused).
    pub fn quote(
        currency: &str,
        amounts: Amounts,
        applied: Vec<AppliedRule>,
    ) -> Result<Quote, Problem> {
        let money = |minor: i64| Money {
            minor,
            currency: currency.into(),
        };
        let total = [amounts.tax, amounts.shipping]
            .into_iter()
            .try_fold(amounts.subtotal - amounts.discount, i64::checked_add)
            .ok_or_else(overflow)?;
        Ok(Quote {
            subtotal: money(amounts.subtotal),
            tax: money(amounts.tax),
            shipping: money(amounts.shipping),
            discount: money(amounts.discount),
            total: money(total),
            applied,
        })
    }

    /// A quote being drawn up, in the order of a price list: the order's subtotal, then the
    /// discount, tax and shipping the rules decide, each shown as the rule that applied
    /// it; [`finish`](Self::finish) makes the quote.
    pub struct Sheet {
        currency: String,
        amounts: Amounts,
        applied: Vec<AppliedRule>,
    }

    impl Sheet {
        /// The order's [`subtotal`] in `currency`, and nothing else yet.
        pub fn new(order: &OrderDraft, currency: &str) -> Result<Self, Problem> {
            let subtotal = subtotal(order, currency)?;
            Ok(Sheet {
                currency: currency.into(),
                amounts: Amounts {
                    subtotal,
                    discount: 0,
                    tax: 0,
                    shipping: 0,
                },
                applied: Vec::new(),
            })
        }

        pub fn subtotal(&self) -> i64 {
            self.amounts.subtotal
        }

        /// The subtotal less the discount: what tax and free-shipping thresholds go by.
        pub fn discounted(&self) -> i64 {
            self.amounts.subtotal - self.amounts.discount
        }

        /// `minor` units of the sheet's currency.
        fn money(&self, minor: i64) -> Money {
            Money {
                minor,
                currency: self.currency.clone(),
            }
        }

        /// A discount of `minor` units, shown as `rule`.
        pub fn discount(
            &mut self,
            rule: String,
            description: String,
            minor: i64,
        ) -> Result<(), Problem> {
            add(&mut self.amounts.discount, minor)?;
            let amount = self.money(minor);
            self.applied.push(AppliedRule {
                rule,
                description,
                amount,
            });
            Ok(())
        }

        /// The [`tax`] on the discounted subtotal at the address's rate, shown; none
        /// without a rate.
        pub fn tax(&mut self, rates: &[TaxRate], address: &Address) -> Result<(), Problem> {
            if let Some(rule) = tax(rates, address, self.money(self.discounted()))? {
                add(&mut self.amounts.tax, rule.amount.minor)?;
                self.applied.push(rule);
            }
            Ok(())
        }

        /// The [`shipping_rate`] of `method` from `rates`, or nothing when `free_because`
        /// says why, shown.
        pub fn shipping(
            &mut self,
            rates: &BTreeMap<String, i64>,
            method: &str,
            free_because: Option<&str>,
        ) -> Result<(), Problem> {
            let rate = shipping_rate(rates, method)?;
            let shipping = if free_because.is_some() { 0 } else { rate };
            add(&mut self.amounts.shipping, shipping)?;
            let amount = self.money(shipping);
            self.applied
                .push(shipping_rule(method, amount, free_because));
            Ok(())
        }

        /// The [`quote`] of the sheet.
        pub fn finish(self) -> Result<Quote, Problem> {
            quote(&self.currency, self.amounts, self.applied)
        }
    }

    fn add(sum: &mut i64, minor: i64) -> Result<(), Problem> {
        *sum = sum.checked_add(minor).ok_or_else(overflow)?;
        Ok(())
    }

    /// The shipping rule shown in a quote; `free_because` says why it costs nothing, if
    /// a rule waived it.
    pub fn shipping_rule(method: &str, amount: Money, free_because: Option<&str>) -> AppliedRule {
        AppliedRule {
            rule: format!("shipping:{method}"),
            description: match free_because {
                Some(why) => format!("free {method} shipping {why}"),
                None => format!("{method} shipping"),
            },
            amount,
        }
    }

    /// The price of a shipping method; an unknown one is refused, naming the offered ones.
    pub fn shipping_rate(rates: &BTreeMap<String, i64>, method: &str) -> Result<i64, Problem> {
        rates.get(method).copied().ok_or_else(|| Problem {
            code: "unknown_shipping_method".into(),
            message: format!(
                "shipping method `{method}` is not offered (offered: {})",
                rates.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            field: Some("shipping_method".into()),
        })
    }
}

/// Parses the parameters a workflow gives a plugin (JSON); the error names the plugin kind.
pub fn parse_params<T: serde::de::DeserializeOwned>(kind: &str, json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("{kind} params: {e}"))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct P {
        #[allow(dead_code)]
        rate: u32,
    }

    #[test]
    fn errors_name_the_plugin_kind_and_the_field() {
        let err = super::parse_params::<P>("pricing", r#"{"rate": 1, "rat": 2}"#).unwrap_err();
        assert!(
            err.starts_with("pricing params: unknown field `rat`"),
            "{err}"
        );
    }
}
