//! A return's preview: the delivered units sent back, checked against what the order's lines
//! still hold, and the refund the rules decide for them. The order's lines and price do not
//! change; the proposal counts the returned units on their lines.

use super::{ChangeAction, ChangeState, OrderChange, rules};
use crate::domain::{Money, Problem, Refund, ReturnRequest, ReturnedLine};
use crate::orders::service::refused;
use crate::orders::{DecisionRecord, Order, OrderError, OrderItem};
use crate::plugins::Workflow;
use chrono::{DateTime, Utc};

/// Payment statuses with money to give back.
pub const PAID: [&str; 2] = ["paid", "partially_refunded"];

/// The refund of returning `actions` (all `return_item`) from `order` at `now`, and the
/// order's lines with the returned units counted.
pub(super) fn propose_return(
    workflow: &Workflow,
    order: &Order,
    actions: &[ChangeAction],
    now: DateTime<Utc>,
    decisions: &mut Vec<DecisionRecord>,
) -> Result<(Refund, Vec<OrderItem>), OrderError> {
    if !PAID.contains(&order.payment_status.as_str()) {
        return Err(refused(
            "not_paid",
            format!(
                "only a paid order's items are refunded; its payment is `{}`",
                order.payment_status
            ),
            "actions".into(),
        ));
    }
    let mut items = order.items.clone();
    let mut lines = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        let ChangeAction::ReturnItem {
            product_id,
            quantity,
            reason,
        } = action
        else {
            return Err(not_alone(i));
        };
        let line = (items.iter_mut().find(|l| &l.product_id == product_id)).ok_or_else(|| {
            refused(
                "not_in_order",
                format!("the order has no line of product {product_id}"),
                format!("actions[{i}].product_id"),
            )
        })?;
        let left = line.quantity - line.returned_quantity;
        let quantity = quantity.unwrap_or(left);
        if quantity == 0 || quantity > left {
            return Err(refused(
                "invalid_quantity",
                format!("{left} units of the line can be returned"),
                format!("actions[{i}].quantity"),
            ));
        }
        line.returned_quantity += quantity;
        lines.push(ReturnedLine {
            product_id: product_id.clone(),
            quantity,
            unit_price: line.unit_price,
            reason: reason.clone(),
        });
    }
    let quote = &order.pricing;
    let request = ReturnRequest {
        lines,
        delivered_at: (order.timestamps.get("delivered_at")).map(|at| at.timestamp_millis()),
        subtotal: quote.subtotal,
        tax: quote.tax,
        shipping: quote.shipping,
        discount: quote.discount,
        refunded: refunded_by_returns(order),
        everything: items.iter().all(|l| l.returned_quantity == l.quantity),
    };
    let refund = rules::refund(workflow, order, &request, now, decisions).map_err(|e| match e {
        // The rules name a returned line as `lines[i]`: the line of action `i`.
        OrderError::Refused(problems) => OrderError::Refused(
            problems
                .into_iter()
                .map(|p| Problem {
                    field: p.field.map(|f| match f.strip_prefix("lines") {
                        Some(rest) => format!("actions{rest}"),
                        None => f,
                    }),
                    ..p
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok((refund, items))
}

/// The refusal of action `i` beside a return: a return is a change of its own.
pub(super) fn not_alone(i: usize) -> OrderError {
    refused(
        "return_alone",
        "a return is a change of its own: its actions are all `return_item`".into(),
        format!("actions[{i}]"),
    )
}

/// What the order's confirmed returns refunded: what a new return's refund is bounded by,
/// with the order's price (a change of its lines reprices it instead).
pub fn refunded_by_returns(order: &Order) -> Money {
    let confirmed = order
        .changes
        .iter()
        .filter(|c| c.state == ChangeState::Confirmed);
    let total = (confirmed.filter_map(|c: &OrderChange| c.refund.as_ref()))
        .map(|r| r.total.minor)
        .sum();
    Money::new(total, order.pricing.total.currency)
}
