//! The pricing rules, in plain Rust: unit-tested natively (`cargo test`), run by the host
//! through the component (`lib.rs`). A flat price list to start from:
//!
//! 1. subtotal = Σ unit price × quantity, at the prices the host fetched for the order;
//! 2. tax = `tax_bp` of the subtotal (basis points: 825 is 8.25 %), rounded once, half
//!    away from zero;
//! 3. shipping = the price of the order's method; a method not offered is refused;
//! 4. no discounts: an order with a discount code is refused, rather than priced as if the
//!    code had applied;
//! 5. total = subtotal + tax + shipping.
//!
//! The host checks every quote (total = subtotal + tax + shipping − discount, nothing
//! negative, one currency). `orderflow_plugin_sdk::price` has the building blocks of exact
//! money: add yours here, and a fixture for each in `fixtures/`.

use crate::exports::orderflow::plugins::pricing::{AppliedRule, Quote};
use crate::orderflow::plugins::types::{Money, OrderDraft, Problem};
use orderflow_plugin_sdk::log;
use orderflow_plugin_sdk::price::{self, Amounts, apply_bp, overflow};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `[pricing.params]` table of a workflow using this plugin (`fixtures/params.json`
/// for the fixtures).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The price list's currency (ISO-4217): an item priced in another is refused.
    pub currency: String,
    /// Tax on the subtotal, in basis points: 825 is 8.25 %.
    pub tax_bp: u32,
    /// The price of each shipping method offered, in minor units.
    pub shipping: BTreeMap<String, i64>,
}

impl Params {
    /// Parameters the rules cannot work with are refused here: a workflow that gives them
    /// fails to load, rather than failing its orders.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let params: Params = orderflow_plugin_sdk::parse_params("pricing", json)?;
        if params.tax_bp > 10_000 {
            return Err(format!("tax_bp {} exceeds 100 %", params.tax_bp));
        }
        if let Some((method, _)) = params.shipping.iter().find(|(_, rate)| **rate < 0) {
            return Err(format!("the `{method}` shipping rate is negative"));
        }
        Ok(params)
    }
}

pub fn price(params: &Params, order: &OrderDraft) -> Result<Quote, Problem> {
    if let Some(code) = &order.discount_code {
        // The refusal names the field; the log line, for whoever runs the shop, the code.
        log::info(&format!(
            "discount code `{code}` refused: the flat list takes none"
        ));
        return Err(Problem {
            code: "discount_codes_not_accepted".into(),
            message: "this price list takes no discount codes".into(),
            field: Some("discount_code".into()),
        });
    }
    let money = |minor: i64| Money {
        minor,
        currency: params.currency.clone(),
    };
    let subtotal = price::subtotal(order, &params.currency)?;
    let tax = apply_bp(subtotal, params.tax_bp).ok_or_else(overflow)?;
    let method = &order.shipping_method;
    let shipping = price::shipping_rate(&params.shipping, method)?;
    let applied = vec![
        AppliedRule {
            rule: "tax".into(),
            description: format!("tax at {} bp", params.tax_bp),
            amount: money(tax),
        },
        price::shipping_rule(method, money(shipping), None),
    ];
    let amounts = Amounts {
        subtotal,
        discount: 0,
        tax,
        shipping,
    };
    price::quote(&params.currency, amounts, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_parameters_are_refused() {
        for (bad, why) in [
            (
                r#"{"currency": "USD", "tax_bp": 10001, "shipping": {}}"#,
                "exceeds 100 %",
            ),
            (
                r#"{"currency": "USD", "tax_bp": 0, "shipping": {"standard": -1}}"#,
                "negative",
            ),
            (
                r#"{"currency": "USD", "tax_bp": 0, "shipping": {}, "tax": 5}"#,
                "unknown field `tax`",
            ),
        ] {
            let refused = Params::from_json(bad).unwrap_err();
            assert!(refused.contains(why), "{bad}: {refused}");
        }
    }
}
