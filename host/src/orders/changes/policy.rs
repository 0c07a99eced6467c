//! Who may change what, and when, and what a return refunds: the defaults for lifecycle
//! plugins whose contract has no `allow-change` and `refund` (0.1.0 to 0.3.0), as
//! `docs/order-changes.md` states them (the SDKs' defaults are the same).
//!
//! - the order's owner and admins may change an order; no one else sees it;
//! - the lines and the discount code may change until the order is `processing` (while
//!   its status comes before `processing` in the workflow's machine);
//! - the shipping address and method may change, and lines or units be cancelled, until it
//!   is `shipped`;
//! - a `delivered` order's units may be returned, within 30 days of its delivery;
//! - nothing else changes in a final status (`cancelled`, `delivered`, …);
//! - in a machine without those statuses, anything may change until a final status.
//!
//! A return refunds the returned units' part of what was paid for the lines (their share
//! of the discount off) and of the tax, each rounded down to the minor unit; no shipping,
//! no restocking fee.

use crate::domain::{ChangeKind, Machine, Money, Problem, Refund, ReturnRequest, UnixMillis};

/// How long after delivery a return is accepted, by default.
const RETURN_WINDOW_MS: UnixMillis = 30 * 24 * 60 * 60 * 1000;

/// Why `kind` may not change in `status`, if it may not.
pub fn refusal(machine: &Machine, status: &str, kind: ChangeKind) -> Option<String> {
    if kind == ChangeKind::Return {
        return (status != "delivered")
            .then(|| format!("only a delivered order's items are returned; it is `{status}`"));
    }
    if machine.final_statuses.iter().any(|s| s == status) {
        return Some(format!(
            "an order that is `{status}` does not change any more"
        ));
    }
    let until = match kind {
        ChangeKind::Items => "processing",
        _ => "shipped",
    };
    let position = |name: &str| machine.statuses.iter().position(|s| s == name);
    match (position(status), position(until)) {
        (Some(now), Some(limit)) if now >= limit => Some(format!(
            "{} until the order is `{until}`; it is `{status}`",
            match kind {
                ChangeKind::Items => "the items and the discount code may change",
                ChangeKind::Delivery => "the shipping address and method may change",
                _ => "items may be cancelled",
            }
        )),
        _ => None,
    }
}

/// What a return refunds by default, or why it may not be made (the window closed).
pub fn refund(request: &ReturnRequest, now: UnixMillis) -> Result<Refund, Problem> {
    if let Some(delivered) = request.delivered_at
        && now > delivered.saturating_add(RETURN_WINDOW_MS)
    {
        return Err(Problem {
            code: "return_window_closed".into(),
            message: "units are returned within 30 days of delivery".into(),
            field: Some("lines".into()),
        });
    }
    let currency = request.subtotal.currency;
    let gross: i128 = (request.lines.iter())
        .map(|line| i128::from(line.unit_price.minor) * i128::from(line.quantity))
        .sum();
    // Shares of the whole, rounded down: a return never refunds more than was paid.
    let share = |of: Money| match request.subtotal.minor {
        0 => 0,
        subtotal => (i128::from(of.minor) * gross / i128::from(subtotal)) as i64,
    };
    let items = gross as i64 - share(request.discount);
    let tax = share(request.tax);
    let zero = Money::new(0, currency);
    Ok(Refund {
        items: Money::new(items, currency),
        tax: Money::new(tax, currency),
        shipping: zero,
        restocking_fee: zero,
        total: Money::new(items + tax, currency),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Machine {
            statuses: names(&[
                "pending",
                "confirmed",
                "processing",
                "shipped",
                "delivered",
                "cancelled",
            ]),
            final_statuses: names(&["delivered", "cancelled"]),
            payment_statuses: names(&["pending", "paid"]),
            status_edges: vec![],
            payment_edges: vec![],
        }
    }

    #[test]
    fn items_change_until_processing_and_delivery_until_shipped() {
        let m = machine();
        for status in ["pending", "confirmed"] {
            assert_eq!(refusal(&m, status, ChangeKind::Items), None);
        }
        assert!(refusal(&m, "processing", ChangeKind::Items).is_some());
        assert_eq!(refusal(&m, "processing", ChangeKind::Delivery), None);
        assert_eq!(refusal(&m, "processing", ChangeKind::Cancellation), None);
        assert!(refusal(&m, "shipped", ChangeKind::Cancellation).is_some());
        let shipped = refusal(&m, "shipped", ChangeKind::Delivery).unwrap();
        assert!(
            shipped.contains("until the order is `shipped`"),
            "{shipped}"
        );
        for status in ["delivered", "cancelled"] {
            assert!(refusal(&m, status, ChangeKind::Delivery).is_some());
        }
        assert_eq!(refusal(&m, "delivered", ChangeKind::Return), None);
        assert!(refusal(&m, "shipped", ChangeKind::Return).is_some());
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, "USD".parse().unwrap())
    }

    fn request(delivered_at: Option<UnixMillis>) -> ReturnRequest {
        ReturnRequest {
            lines: vec![crate::domain::ReturnedLine {
                product_id: "p".into(),
                quantity: 2,
                unit_price: usd(1999),
                reason: None,
            }],
            delivered_at,
            subtotal: usd(5997),
            tax: usd(495),
            shipping: usd(599),
            discount: usd(500),
            refunded: usd(0),
            everything: false,
        }
    }

    #[test]
    fn a_return_refunds_its_share_of_the_lines_and_the_tax_rounded_down() {
        let r = refund(&request(Some(0)), RETURN_WINDOW_MS).unwrap();
        // 2 × 19.99 = 39.98 of 59.97: a discount share of 5.00 × 3998 / 5997 = 3.3333…,
        // rounded down to 3.33, and a tax share of 4.95 × 3998 / 5997 = 3.30.
        assert_eq!(r.items, usd(3998 - 333));
        assert_eq!(r.tax, usd(330));
        assert_eq!((r.shipping, r.restocking_fee), (usd(0), usd(0)));
        assert_eq!(r.total, usd(3665 + 330));
        let late = refund(&request(Some(0)), RETURN_WINDOW_MS + 1).unwrap_err();
        assert_eq!(late.code, "return_window_closed");
        assert!(refund(&request(None), i64::MAX).is_ok());
    }
}
