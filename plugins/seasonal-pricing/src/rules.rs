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

use crate::exports::orderflow::plugins::pricing::Quote;
use crate::orderflow::plugins::types::{OrderDraft, Problem};
use orderflow_plugin_sdk::price::{self, Sheet, TaxRate, apply_bp, overflow};
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
        let bad = |message: String| problem("invalid_params", &message, None);
        price::check_price_list(&params.currency, &params.shipping, &params.tax).map_err(bad)?;
        if let Some(tier) = params
            .tiers
            .iter()
            .find(|t| t.percent_bp > 10_000 || t.min_subtotal < 0)
        {
            return Err(bad(format!(
                "tier from {} takes {} bp: tiers need a subtotal ≥ 0 and at most 10000 bp",
                tier.min_subtotal, tier.percent_bp
            )));
        }
        Ok(params)
    }
}

pub fn price(params: &Params, order: &OrderDraft) -> Result<Quote, Problem> {
    let mut sheet = Sheet::new(order, &params.currency)?;
    let subtotal = sheet.subtotal();
    let tier = params
        .tiers
        .iter()
        .filter(|t| subtotal >= t.min_subtotal)
        .max_by_key(|t| t.percent_bp);
    if let Some(tier) = tier {
        sheet.discount(
            format!("sale:{}bp", tier.percent_bp),
            format!(
                "sale: {} bp off from {} minor units",
                tier.percent_bp, tier.min_subtotal
            ),
            apply_bp(subtotal, tier.percent_bp).ok_or_else(overflow)?,
        )?;
    }
    if order.discount_code.is_some() {
        return Err(problem(
            "discount_codes_paused",
            "discount codes do not combine with the sale",
            Some("discount_code"),
        ));
    }
    sheet.tax(&params.tax, &order.shipping_address)?;

    let free = params
        .free_shipping_over
        .is_some_and(|over| sheet.discounted() >= over);
    sheet.shipping(
        &params.shipping,
        &order.shipping_method,
        free.then_some("in the sale"),
    )?;
    sheet.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped fixtures, run natively; `orderflow plugin test` runs them through wasm.
    #[test]
    fn fixtures() {
        orderflow_plugin_sdk::fixtures::pricing(
            env!("CARGO_MANIFEST_DIR"),
            Params::from_json,
            |params, order, _now| price(params, order),
        );
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
