//! Seasonal sale pricing: the rule set an ops team hot-swaps in for a sale, and out after it.
//!
//! 1. subtotal = Σ unit price × quantity (snapshot prices);
//! 2. discount = the best tier the subtotal reaches (a percentage of the subtotal); no
//!    discount codes during the sale;
//! 3. tax = the address's rate (region, else country, else 0) on subtotal − discount;
//! 4. shipping by method, every method free once subtotal − discount reaches `free_shipping_over`
//!    (express included: that is the sale's promise);
//! 5. total = subtotal + tax + shipping − discount.
//!
//! Amounts are exact integers, rounded once, half away from zero (the SDK's `price` module).

use crate::exports::orderflow::plugins::pricing::{AppliedRule, Quote};
use crate::orderflow::plugins::types::{Money, OrderDraft, Problem};
use orderflow_plugin_sdk::price::{self, Amounts, TaxRate, apply_bp, overflow};
use orderflow_plugin_sdk::pricing::problem;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `[pricing.params]` table of a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub currency: String,
    /// Price per shipping method, in minor units.
    pub shipping: BTreeMap<String, i64>,
    /// Subtotal after discount from which every method ships free.
    pub free_shipping_over: Option<i64>,
    /// The sale's tiers; the best one the subtotal reaches applies.
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub tax: Vec<TaxRate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub min_subtotal: i64,
    /// Basis points off the subtotal: 1500 is 15 %.
    pub percent_bp: u32,
}

impl Params {
    pub fn from_json(json: &str) -> Result<Self, Problem> {
        let params: Params = orderflow_plugin_sdk::parse_params("pricing", json)
            .map_err(|message| problem("invalid_params", &message, None))?;
        let bad = |message: String| Err(problem("invalid_params", &message, None));
        if params.currency.len() != 3 || !params.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return bad(format!("currency `{}` is not ISO-4217", params.currency));
        }
        if let Some((method, _)) = params.shipping.iter().find(|(_, rate)| **rate < 0) {
            return bad(format!("shipping rate of `{method}` is negative"));
        }
        if let Some(tier) = params
            .tiers
            .iter()
            .find(|t| t.percent_bp > 10_000 || t.min_subtotal < 0)
        {
            return bad(format!(
                "tier from {} takes {} bp: tiers need a subtotal ≥ 0 and at most 10000 bp",
                tier.min_subtotal, tier.percent_bp
            ));
        }
        if let Some(rate) = params.tax.iter().find(|t| t.rate_bp > 10_000) {
            return bad(format!("tax rate of {} exceeds 100 %", rate.country));
        }
        Ok(params)
    }
}

pub fn price(params: &Params, order: &OrderDraft) -> Result<Quote, Problem> {
    let money = |minor: i64| Money {
        minor,
        currency: params.currency.clone(),
    };
    let mut applied = Vec::new();
    let subtotal = price::subtotal(order, &params.currency)?;

    let tier = params
        .tiers
        .iter()
        .filter(|t| subtotal >= t.min_subtotal)
        .max_by_key(|t| t.percent_bp);
    let discount = match tier {
        None => 0,
        Some(tier) => {
            let discount = apply_bp(subtotal, tier.percent_bp).ok_or_else(overflow)?;
            applied.push(AppliedRule {
                rule: format!("sale:{}bp", tier.percent_bp),
                description: format!(
                    "sale: {} bp off from {} minor units",
                    tier.percent_bp, tier.min_subtotal
                ),
                amount: money(discount),
            });
            discount
        }
    };
    if order.discount_code.is_some() {
        return Err(problem(
            "discount_codes_paused",
            "discount codes do not combine with the sale",
            Some("discount_code"),
        ));
    }
    let taxable = subtotal - discount;

    let tax = match price::tax(&params.tax, &order.shipping_address, money(taxable))? {
        None => 0,
        Some(rule) => {
            let tax = rule.amount.minor;
            applied.push(rule);
            tax
        }
    };

    let method = &order.shipping_method;
    let rate = price::shipping_rate(&params.shipping, method)?;
    let free = params
        .free_shipping_over
        .is_some_and(|over| taxable >= over);
    let shipping = if free { 0 } else { rate };
    applied.push(price::shipping_rule(
        method,
        money(shipping),
        free.then_some("in the sale"),
    ));
    price::quote(
        &params.currency,
        Amounts {
            subtotal,
            discount,
            tax,
            shipping,
        },
        applied,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_fixtures::{Expected, arg};

    /// The shipped fixtures, run natively; `orderflow plugin test` runs them through wasm.
    #[test]
    fn fixtures() {
        plugin_fixtures::assert_native(env!("CARGO_MANIFEST_DIR"), |fixture, params| {
            let params = Params::from_json(&params.to_string()).map_err(|p| p.message)?;
            match fixture.call.as_str() {
                "price" => Ok(Expected::from_result(&price(
                    &params,
                    &arg(fixture, "order")?,
                ))),
                other => Err(format!("no call {other}")),
            }
        });
    }

    #[test]
    fn parameters_are_checked() {
        let base = r#""currency":"USD","shipping":{"standard":599},"free_shipping_over":null"#;
        for bad in [
            r#"{"currency":"usd","shipping":{},"free_shipping_over":null,"tiers":[]}"#.to_owned(),
            format!(r#"{{{base},"tiers":[{{"min_subtotal":0,"percent_bp":10001}}]}}"#),
            format!(r#"{{{base},"tiers":[{{"min_subtotal":-1,"percent_bp":100}}]}}"#),
            format!(r#"{{{base},"tiers":[],"codes":[]}}"#),
        ] {
            assert_eq!(
                Params::from_json(&bad).err().map(|p| p.code),
                Some("invalid_params".into()),
                "{bad}"
            );
        }
    }
}
