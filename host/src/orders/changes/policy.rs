//! Who may change what, and when: the default for lifecycle plugins whose contract has no
//! change decision (0.1.0 to 0.3.0), as `docs/order-changes.md` states it.
//!
//! - the order's owner and admins may change an order; no one else sees it;
//! - the lines and the discount code may change until the order is `processing` (while
//!   its status comes before `processing` in the workflow's machine);
//! - the shipping address and method may change, and lines or units be cancelled, until it
//!   is `shipped`;
//! - nothing changes in a final status (`cancelled`, `delivered`, …);
//! - in a machine without those statuses, anything may change until a final status.

use super::Touches;
use crate::domain::Machine;

/// Why `touches` may not change in `status`, if it may not.
pub fn refusal(machine: &Machine, status: &str, touches: Touches) -> Option<String> {
    if machine.final_statuses.iter().any(|s| s == status) {
        return Some(format!(
            "an order that is `{status}` does not change any more"
        ));
    }
    let until = match touches {
        Touches::Items => "processing",
        Touches::Delivery | Touches::Cancellation => "shipped",
    };
    let position = |name: &str| machine.statuses.iter().position(|s| s == name);
    match (position(status), position(until)) {
        (Some(now), Some(limit)) if now >= limit => Some(format!(
            "{} until the order is `{until}`; it is `{status}`",
            match touches {
                Touches::Items => "the items and the discount code may change",
                Touches::Delivery => "the shipping address and method may change",
                Touches::Cancellation => "items may be cancelled",
            }
        )),
        _ => None,
    }
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
            assert_eq!(refusal(&m, status, Touches::Items), None);
        }
        assert!(refusal(&m, "processing", Touches::Items).is_some());
        assert_eq!(refusal(&m, "processing", Touches::Delivery), None);
        assert_eq!(refusal(&m, "processing", Touches::Cancellation), None);
        assert!(refusal(&m, "shipped", Touches::Cancellation).is_some());
        let shipped = refusal(&m, "shipped", Touches::Delivery).unwrap();
        assert!(
            shipped.contains("until the order is `shipped`"),
            "{shipped}"
        );
        for status in ["delivered", "cancelled"] {
            assert!(refusal(&m, status, Touches::Delivery).is_some());
        }
    }
}
