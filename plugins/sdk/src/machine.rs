//! Building blocks of a lifecycle plugin's state machine and answers.

use crate::lifecycle::exports::orderflow::plugins::lifecycle::{
    Actor, ChangeKind, Edge, Machine, OrderView, PaymentChange, PricedOrder, RefundQuote,
    ReturnRequest, StatusChange, Transition,
};
use crate::lifecycle::orderflow::plugins::types::{Money, Problem, Timestamp};
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

// A payment is `PENDING` first and may end `REFUNDED`, as an order does; returns and
// changes that lower a paid total leave it `PARTIALLY_REFUNDED` on the way.
pub const PAID: &str = "paid";
pub const FAILED: &str = "failed";
pub const PARTIALLY_REFUNDED: &str = "partially_refunded";
pub const PAYMENT_STATUSES: [&str; 5] = [PENDING, PAID, FAILED, PARTIALLY_REFUNDED, REFUNDED];

/// How long after delivery units are returned, by default.
pub const RETURN_WINDOW_DAYS: u32 = 30;

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

    /// Whether `change` may be made to `order` now: by default, the items until
    /// `processing`, the delivery and cancellations until `shipped`, returns once
    /// `delivered` ([`allow_change`]).
    fn allow_change(
        &self,
        order: &OrderView,
        change: ChangeKind,
        _by: &Actor,
        _now: Timestamp,
    ) -> Result<(), Problem> {
        allow_change(&self.machine(), &order.status, change, PROCESSING, SHIPPED)
    }

    /// What a return refunds: by default, within [`RETURN_WINDOW_DAYS`] of delivery, the
    /// returned units' share of the lines and of the tax ([`returned_share`]), no shipping
    /// and no restocking fee.
    fn refund(
        &self,
        _order: &OrderView,
        request: &ReturnRequest,
        now: Timestamp,
    ) -> Result<RefundQuote, Problem> {
        within_window(request, now, RETURN_WINDOW_DAYS)?;
        Ok(returned_share(request))
    }
}

/// Whether `change` may be made in `status` of `machine`: nothing in a final status but a
/// return, which only a `delivered` order takes; the items while the status comes before
/// `items_until`, the delivery and cancellations before `delivery_until` (when the machine
/// has those statuses).
pub fn allow_change(
    machine: &Machine,
    status: &str,
    change: ChangeKind,
    items_until: &str,
    delivery_until: &str,
) -> Result<(), Problem> {
    let refuse = |message: String| Err(problem("change_not_allowed", &message, None));
    if change == ChangeKind::Return {
        return match status {
            DELIVERED => Ok(()),
            _ => refuse(format!(
                "only a delivered order's items are returned; it is `{status}`"
            )),
        };
    }
    if machine.final_statuses.iter().any(|s| s == status) {
        return refuse(format!(
            "an order that is `{status}` does not change any more"
        ));
    }
    let (until, what) = match change {
        ChangeKind::Items => (items_until, "the items and the discount code may change"),
        ChangeKind::Delivery => (delivery_until, "the shipping address and method may change"),
        _ => (delivery_until, "items may be cancelled"),
    };
    let position = |name: &str| machine.statuses.iter().position(|s| s == name);
    match (position(status), position(until)) {
        (Some(now), Some(limit)) if now >= limit => refuse(format!(
            "{what} until the order is `{until}`; it is `{status}`"
        )),
        _ => Ok(()),
    }
}

/// Refuses a return asked for more than `days` after delivery.
pub fn within_window(request: &ReturnRequest, now: Timestamp, days: u32) -> Result<(), Problem> {
    let window = i64::from(days) * 24 * 60 * 60 * 1000;
    match request.delivered_at {
        Some(delivered) if now > delivered.saturating_add(window) => Err(problem(
            "return_window_closed",
            &format!("units are returned within {days} days of delivery"),
            Some("lines"),
        )),
        _ => Ok(()),
    }
}

/// The returned units' share of what was paid: their lines with their share of the
/// discount off, and their share of the tax, each rounded down to the minor unit; no
/// shipping, no restocking fee.
pub fn returned_share(request: &ReturnRequest) -> RefundQuote {
    let gross: i128 = (request.lines.iter())
        .map(|line| i128::from(line.unit_price.minor) * i128::from(line.quantity))
        .sum();
    let share = |of: &Money| match request.subtotal.minor {
        0 => 0,
        subtotal => (i128::from(of.minor) * gross / i128::from(subtotal)) as i64,
    };
    let items = gross as i64 - share(&request.discount);
    let tax = share(&request.tax);
    let money = |minor: i64| Money {
        minor,
        currency: request.subtotal.currency.clone(),
    };
    RefundQuote {
        items: money(items),
        tax: money(tax),
        shipping: money(0),
        restocking_fee: money(0),
        total: money(items + tax),
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
pub fn status_transition(order: &OrderView, change: &StatusChange) -> Result<Transition, Problem> {
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
/// pending → paid | failed, failed → paid, paid | partially_refunded → refunded. The host
/// sets `partially_refunded` (and `refunded`) itself when a return or change gives money
/// back.
fn payment_edges() -> Vec<Edge> {
    vec![
        edge(PENDING, PAID, &[ADMIN]),
        edge(PENDING, FAILED, &[ADMIN]),
        edge(FAILED, PAID, &[ADMIN]),
        edge(PAID, REFUNDED, &[ADMIN]),
        edge(PARTIALLY_REFUNDED, REFUNDED, &[ADMIN]),
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
/// `refunded`, and only a paid (or partly refunded) order can be.
pub fn refund(order: &OrderView, field: &str) -> Result<Transition, Problem> {
    if ![PAID, PARTIALLY_REFUNDED].contains(&order.payment_status.as_str()) {
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
