//! The host never trusts a plugin's answer: these checks turn nonsense into a fault
//! before it can reach an order.

use crate::domain::{
    Currency, Machine, Money, OrderDraft, Problem, Quote, Refund, ReturnRequest, Transition,
};

/// Every named amount is in `currency` and not negative.
fn in_currency<'a>(
    currency: Currency,
    amounts: impl IntoIterator<Item = (&'a str, Money)>,
) -> Result<(), String> {
    for (name, amount) in amounts {
        if amount.currency != currency {
            return Err(format!(
                "{name} is in {}, the order in {currency}",
                amount.currency
            ));
        }
        if amount.minor < 0 {
            return Err(format!("{name} is negative ({amount})"));
        }
    }
    Ok(())
}

/// A refusal must say something.
pub fn problems(list: &[Problem]) -> Result<(), String> {
    if list.is_empty() {
        return Err("a refusal without any problem".into());
    }
    match list.iter().find(|p| !is_name(&p.code, 64)) {
        Some(p) => Err(format!(
            "problem code `{}` is not a lowercase name",
            truncated(&p.code)
        )),
        None => Ok(()),
    }
}

/// subtotal = the sum of the lines (unit price × quantity, as the host totals each line of
/// the order); total = subtotal + tax + shipping − discount; nothing negative; one
/// currency, the order's.
pub fn quote(order: &OrderDraft, q: &Quote) -> Result<(), String> {
    let currency = order
        .items
        .first()
        .map_or(q.total.currency, |i| i.product.unit_price.currency);
    let named = [
        ("subtotal", q.subtotal),
        ("tax", q.tax),
        ("shipping", q.shipping),
        ("discount", q.discount),
        ("total", q.total),
    ];
    let applied = q.applied.iter().map(|r| ("an applied rule", r.amount));
    in_currency(currency, named.into_iter().chain(applied))?;
    let lines = (order.items.iter()).try_fold(Money::new(0, currency), |sum, line| {
        let unit = line.product.unit_price;
        let line = (unit.minor.checked_mul(i64::from(line.quantity)))
            .ok_or_else(|| "a line total overflows".to_owned())?;
        (sum.checked_add(Money::new(line, unit.currency))).map_err(|e| format!("line sum: {e}"))
    })?;
    if q.subtotal != lines {
        return Err(format!(
            "subtotal {} is not the sum of the lines = {lines}",
            q.subtotal
        ));
    }
    let expected = q
        .subtotal
        .checked_add(q.tax)
        .and_then(|m| m.checked_add(q.shipping))
        .and_then(|m| m.checked_sub(q.discount))
        .map_err(|e| format!("quote arithmetic: {e}"))?;
    if q.total != expected {
        return Err(format!(
            "total {} is not subtotal + tax + shipping − discount = {}",
            q.total,
            Money::new(expected.minor, currency)
        ));
    }
    Ok(())
}

/// total = items + tax + shipping − restocking fee; nothing negative; the order's currency;
/// no more than what is left of the payment.
pub fn refund(request: &ReturnRequest, r: &Refund) -> Result<(), String> {
    let currency = request.subtotal.currency;
    let named = [
        ("items", r.items),
        ("tax", r.tax),
        ("shipping", r.shipping),
        ("restocking_fee", r.restocking_fee),
        ("total", r.total),
    ];
    in_currency(currency, named)?;
    let expected = (r.items.checked_add(r.tax))
        .and_then(|m| m.checked_add(r.shipping))
        .and_then(|m| m.checked_sub(r.restocking_fee))
        .map_err(|e| format!("refund arithmetic: {e}"))?;
    if r.total != expected {
        return Err(format!(
            "total {} is not items + tax + shipping − restocking fee = {expected}",
            r.total
        ));
    }
    let paid = (request.subtotal.checked_add(request.tax))
        .and_then(|m| m.checked_add(request.shipping))
        .and_then(|m| m.checked_sub(request.discount))
        .and_then(|m| m.checked_sub(request.refunded))
        .map_err(|e| format!("refund arithmetic: {e}"))?;
    if r.total.minor > paid.minor {
        return Err(format!(
            "total {} is more than what is left of the payment, {paid}",
            r.total
        ));
    }
    Ok(())
}

/// The new statuses exist in the plugin's own machine, and any move it makes is one of its
/// declared edges. `from` is None for the creation step.
pub fn transition(
    machine: &Machine,
    from: Option<(&str, &str)>,
    t: &Transition,
) -> Result<(), String> {
    if !machine.statuses.contains(&t.status) {
        return Err(format!("unknown status `{}`", truncated(&t.status)));
    }
    if !machine.payment_statuses.contains(&t.payment_status) {
        return Err(format!(
            "unknown payment status `{}`",
            truncated(&t.payment_status)
        ));
    }
    if let Some((status, payment)) = from {
        if t.status != status && machine.status_edge(status, &t.status).is_none() {
            return Err(format!("undeclared move from {status} to {}", t.status));
        }
        if t.payment_status != payment && machine.payment_edge(payment, &t.payment_status).is_none()
        {
            return Err(format!(
                "undeclared payment move from {payment} to {}",
                t.payment_status
            ));
        }
    }
    if let Some(e) = t.events.iter().find(|e| {
        !e.strip_prefix("order.")
            .is_some_and(|rest| is_name(rest, 64))
    }) {
        return Err(format!(
            "event `{}` is not named order.<name>",
            truncated(e)
        ));
    }
    if let Some(s) = t
        .stamps
        .iter()
        .find(|s| !s.ends_with("_at") || !is_name(s, 64))
    {
        return Err(format!(
            "timestamp `{}` is not named <name>_at",
            truncated(s)
        ));
    }
    Ok(())
}

/// A lowercase snake_case name of at most `max` bytes.
fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Keeps error messages readable whatever a plugin sends.
fn truncated(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Address, Edge, LineItem, ProductSnapshot};

    fn usd(minor: i64) -> Money {
        Money::new(minor, "USD".parse().unwrap())
    }

    fn order() -> OrderDraft {
        OrderDraft {
            user_id: "u".into(),
            items: vec![LineItem {
                product: ProductSnapshot {
                    product_id: "p".into(),
                    name: "n".into(),
                    sku: "s".into(),
                    unit_price: usd(100),
                    stock: 1,
                    active: true,
                    available: None,
                },
                quantity: 1,
            }],
            shipping_address: Address {
                full_name: "a".into(),
                address_line_1: "b".into(),
                address_line_2: None,
                city: "c".into(),
                state: "d".into(),
                postal_code: "e".into(),
                country: "US".into(),
                phone: None,
            },
            shipping_method: "standard".into(),
            payment_method: "card".into(),
            discount_code: None,
        }
    }

    fn q(sub: i64, tax: i64, ship: i64, disc: i64, total: i64) -> Quote {
        Quote {
            subtotal: usd(sub),
            tax: usd(tax),
            shipping: usd(ship),
            discount: usd(disc),
            total: usd(total),
            applied: vec![],
        }
    }

    #[test]
    fn quotes() {
        assert_eq!(quote(&order(), &q(100, 8, 5, 10, 103)), Ok(()));
        assert!(
            quote(&order(), &q(100, 8, 5, 10, 104))
                .unwrap_err()
                .contains("is not subtotal")
        );
        assert!(
            quote(&order(), &q(100, 0, 0, 200, -100))
                .unwrap_err()
                .contains("negative")
        );
        let mut euro = q(100, 0, 0, 0, 100);
        euro.tax = Money::new(0, "EUR".parse().unwrap());
        assert!(quote(&order(), &euro).unwrap_err().contains("EUR"));
        assert!(
            quote(&order(), &q(101, 0, 0, 0, 101))
                .unwrap_err()
                .contains("is not the sum of the lines")
        );
    }

    #[test]
    fn transitions() {
        let machine = Machine {
            statuses: vec!["a".into(), "b".into()],
            final_statuses: vec![],
            payment_statuses: vec!["pending".into()],
            status_edges: vec![Edge {
                from: "a".into(),
                to: "b".into(),
                roles: vec!["admin".into()],
            }],
            payment_edges: vec![],
        };
        let t = |status: &str, events: &[&str], stamps: &[&str]| Transition {
            status: status.into(),
            payment_status: "pending".into(),
            stamps: stamps.iter().map(|s| s.to_string()).collect(),
            events: events.iter().map(|s| s.to_string()).collect(),
        };
        let from = Some(("a", "pending"));
        assert_eq!(
            transition(&machine, from, &t("b", &["order.b"], &["b_at"])),
            Ok(())
        );
        assert!(
            transition(&machine, from, &t("zz", &[], &[]))
                .unwrap_err()
                .contains("unknown status")
        );
        assert!(
            transition(&machine, Some(("b", "pending")), &t("a", &[], &[]))
                .unwrap_err()
                .contains("undeclared")
        );
        assert!(
            transition(&machine, from, &t("b", &["Order.B"], &[]))
                .unwrap_err()
                .contains("event")
        );
        assert!(
            transition(&machine, from, &t("b", &[], &["when"]))
                .unwrap_err()
                .contains("timestamp")
        );
        assert_eq!(
            transition(&machine, None, &t("a", &["order.created"], &[])),
            Ok(())
        );
    }

    #[test]
    fn refusals_need_problems() {
        assert!(problems(&[]).is_err());
        let p = |code: &str| Problem {
            code: code.into(),
            message: "m".into(),
            field: None,
        };
        assert!(problems(&[p("Bad Code")]).is_err());
        assert_eq!(problems(&[p("insufficient_stock")]), Ok(()));
    }
}
