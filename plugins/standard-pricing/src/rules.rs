//! Standard pricing rules.
//!
//! Order of computation:
//! 1. subtotal = Σ unit price × quantity (snapshot prices);
//! 2. discount from the code, if any (percentage of the subtotal, or a fixed amount capped
//!    at the subtotal), within its validity window and above its minimum subtotal;
//! 3. tax = rate of (country, region), else of the country, else 0, applied to
//!    subtotal − discount (shipping is not taxed);
//! 4. shipping by method; the methods listed in `free_methods` cost nothing when
//!    subtotal − discount reaches `free_over`;
//! 5. total = subtotal + tax + shipping − discount.
//!
//! Rounding rule: amounts are computed exactly in integers and rounded once, half away
//! from zero, to the minor unit (tax and percentage discounts are the only divisions).

use crate::exports::orderflow::plugins::pricing::Quote;
use crate::orderflow::plugins::types::{OrderDraft, Problem, Timestamp};
use orderflow_plugin_sdk::price::{self, Sheet, TaxRate, apply_bp, overflow};
use orderflow_plugin_sdk::pricing::problem;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `[pricing.params]` table of a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The one currency this price list is in.
    pub currency: String,
    pub shipping: Shipping,
    #[serde(default)]
    pub tax: Vec<TaxRate>,
    /// Discount codes by code (matched case-insensitively).
    #[serde(default)]
    pub discounts: BTreeMap<String, Discount>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    /// Price per shipping method, in minor units.
    pub rates: BTreeMap<String, i64>,
    /// Subtotal after discount from which `free_methods` ship free.
    #[serde(default)]
    pub free_over: Option<i64>,
    #[serde(default = "standard_only")]
    pub free_methods: Vec<String>,
}

fn standard_only() -> Vec<String> {
    vec!["standard".into()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discount {
    /// Basis points of the subtotal; exclusive with `fixed`.
    #[serde(default)]
    pub percent_bp: Option<u32>,
    /// Minor units off, capped at the subtotal; exclusive with `percent_bp`.
    #[serde(default)]
    pub fixed: Option<i64>,
    #[serde(default)]
    pub min_subtotal: i64,
    /// Unix milliseconds (a TOML datetime in the workflow file).
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    /// Exclusive end of the validity window, Unix milliseconds.
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
}

fn bad_params(message: String) -> Problem {
    Problem {
        code: "invalid_params".into(),
        message,
        field: None,
    }
}

impl Params {
    pub fn from_json(json: &str) -> Result<Self, Problem> {
        let params: Params =
            orderflow_plugin_sdk::parse_params("pricing", json).map_err(bad_params)?;
        params.check()?;
        Ok(params)
    }

    fn check(&self) -> Result<(), Problem> {
        price::check_price_list(&self.currency, &self.shipping.rates, &self.tax)
            .map_err(bad_params)?;
        for (code, d) in &self.discounts {
            match (d.percent_bp, d.fixed) {
                (Some(bp), None) if bp <= 10_000 => {}
                (None, Some(minor)) if minor >= 0 => {}
                _ => {
                    return Err(bad_params(format!(
                        "discount `{code}` needs exactly one of percent_bp (≤ 10000) or fixed (≥ 0)"
                    )));
                }
            }
        }
        Ok(())
    }
}

pub fn price(params: &Params, order: &OrderDraft, now: Timestamp) -> Result<Quote, Problem> {
    let mut sheet = Sheet::new(order, &params.currency)?;
    if let Some(code) = &order.discount_code {
        let amount = discount_amount(params, code, sheet.subtotal(), now)?;
        let code = code.to_ascii_uppercase();
        sheet.discount(
            format!("discount:{code}"),
            format!("discount code {code}"),
            amount,
        )?;
    }
    sheet.tax(&params.tax, &order.shipping_address)?;

    let (shipping, method) = (&params.shipping, &order.shipping_method);
    let free = shipping
        .free_over
        .is_some_and(|over| sheet.discounted() >= over)
        && shipping.free_methods.contains(method);
    sheet.shipping(
        &shipping.rates,
        method,
        free.then_some("over the threshold"),
    )?;
    sheet.finish()
}

fn discount_amount(
    params: &Params,
    code: &str,
    subtotal: i64,
    now: Timestamp,
) -> Result<i64, Problem> {
    let field = Some("discount_code");
    let discount = params
        .discounts
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(code.trim()))
        .map(|(_, d)| d)
        .ok_or_else(|| {
            problem(
                "unknown_discount_code",
                "this discount code does not exist",
                field,
            )
        })?;
    if discount.valid_from.is_some_and(|from| now < from) {
        return Err(problem(
            "discount_not_yet_valid",
            "this discount code is not valid yet",
            field,
        ));
    }
    if discount.valid_until.is_some_and(|until| now >= until) {
        return Err(problem(
            "discount_expired",
            "this discount code has expired",
            field,
        ));
    }
    if subtotal < discount.min_subtotal {
        return Err(Problem {
            code: "discount_minimum_not_met".into(),
            message: format!(
                "this discount code needs a subtotal of at least {} minor units",
                discount.min_subtotal
            ),
            field: field.map(Into::into),
        });
    }
    let amount = match (discount.percent_bp, discount.fixed) {
        (Some(bp), _) => apply_bp(subtotal, bp).ok_or_else(overflow)?,
        (None, Some(fixed)) => fixed,
        (None, None) => 0,
    };
    Ok(amount.min(subtotal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orderflow::plugins::types::{Address, LineItem, Money, ProductSnapshot};

    const NOW: Timestamp = 1_764_000_000_000;

    /// The unit tests' parameters, shared with the rule's JavaScript and Python ports.
    fn params() -> Params {
        Params::from_json(include_str!("../unit-params.json")).unwrap()
    }

    fn order(lines: &[(i64, u32)], state: &str, method: &str, code: Option<&str>) -> OrderDraft {
        OrderDraft {
            user_id: "u1".into(),
            items: lines
                .iter()
                .enumerate()
                .map(|(i, &(minor, quantity))| LineItem {
                    product: ProductSnapshot {
                        product_id: format!("p{i}"),
                        name: "Thing".into(),
                        sku: format!("SKU{i}"),
                        unit_price: Money {
                            minor,
                            currency: "USD".into(),
                        },
                        stock: 100,
                        active: true,
                        available: None,
                    },
                    quantity,
                })
                .collect(),
            shipping_address: Address {
                full_name: "Ada".into(),
                address_line_1: "1 Main St".into(),
                address_line_2: None,
                city: "Springfield".into(),
                state: state.into(),
                postal_code: "94105".into(),
                country: "US".into(),
                phone: None,
            },
            shipping_method: method.into(),
            payment_method: "card".into(),
            discount_code: code.map(Into::into),
        }
    }

    fn minor(q: &Quote) -> [i64; 5] {
        [
            q.subtotal.minor,
            q.tax.minor,
            q.shipping.minor,
            q.discount.minor,
            q.total.minor,
        ]
    }

    #[test]
    fn subtotal_regional_tax_and_paid_shipping() {
        let q = price(
            &params(),
            &order(&[(1000, 2), (250, 1)], "CA", "standard", None),
            NOW,
        )
        .unwrap();
        // 2250 × 7.25 % = 163.125 → 163
        assert_eq!(minor(&q), [2250, 163, 599, 0, 3012]);
    }

    #[test]
    fn country_rate_when_region_has_none() {
        let q = price(&params(), &order(&[(1000, 1)], "NY", "express", None), NOW).unwrap();
        assert_eq!(minor(&q), [1000, 50, 1499, 0, 2549]);
    }

    #[test]
    fn no_tax_where_no_rate() {
        let mut o = order(&[(1000, 1)], "", "standard", None);
        o.shipping_address.country = "DE".into();
        assert_eq!(
            minor(&price(&params(), &o, NOW).unwrap()),
            [1000, 0, 599, 0, 1599]
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(apply_bp(10, 5_000), Some(5));
        assert_eq!(apply_bp(1, 5_000), Some(1)); // 0.5 → 1
        assert_eq!(apply_bp(3, 1_666), Some(0)); // 0.4998 → 0
        assert_eq!(apply_bp(-1, 5_000), Some(-1));
    }

    #[test]
    fn free_standard_shipping_over_threshold_after_discount() {
        let q = price(&params(), &order(&[(5000, 1)], "NY", "standard", None), NOW).unwrap();
        assert_eq!(q.shipping.minor, 0);
        // 10 % off takes the subtotal below the threshold: shipping is paid again.
        let q = price(
            &params(),
            &order(&[(5000, 1)], "NY", "standard", Some("ten")),
            NOW,
        )
        .unwrap();
        assert_eq!(minor(&q), [5000, 225, 599, 500, 5324]);
        // Express is never free.
        let q = price(&params(), &order(&[(9000, 1)], "NY", "express", None), NOW).unwrap();
        assert_eq!(q.shipping.minor, 1499);
    }

    #[test]
    fn discount_rules() {
        let p = params();
        let code = |c: &str, lines: &[(i64, u32)]| {
            price(&p, &order(lines, "NY", "express", Some(c)), NOW).map_err(|e| e.code)
        };
        assert_eq!(
            code("NOPE", &[(1000, 1)]).unwrap_err(),
            "unknown_discount_code"
        );
        assert_eq!(
            code("LATER", &[(1000, 1)]).unwrap_err(),
            "discount_not_yet_valid"
        );
        assert_eq!(code("GONE", &[(1000, 1)]).unwrap_err(), "discount_expired");
        assert_eq!(
            code("FIVE", &[(1999, 1)]).unwrap_err(),
            "discount_minimum_not_met"
        );
        assert_eq!(code("FIVE", &[(2000, 1)]).unwrap().discount.minor, 500);
        // A fixed discount never exceeds the subtotal, so the total never goes negative.
        let mut p = params();
        p.discounts.get_mut("FIVE").unwrap().min_subtotal = 0;
        let q = price(&p, &order(&[(300, 1)], "NY", "express", Some("FIVE")), NOW).unwrap();
        assert_eq!(minor(&q), [300, 0, 1499, 300, 1499]);
    }

    #[test]
    fn unknown_method_and_foreign_currency_are_typed_errors() {
        let err = price(&params(), &order(&[(100, 1)], "NY", "drone", None), NOW).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.field.as_deref()),
            ("unknown_shipping_method", Some("shipping_method"))
        );
        let mut o = order(&[(100, 1), (100, 1)], "NY", "standard", None);
        o.items[1].product.unit_price.currency = "EUR".into();
        let err = price(&params(), &o, NOW).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.field.as_deref()),
            ("currency_not_supported", Some("items[1]"))
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let err = price(
            &params(),
            &order(&[(i64::MAX / 2, 3)], "NY", "standard", None),
            NOW,
        )
        .unwrap_err();
        assert_eq!(err.code, "amount_overflow");
    }

    #[test]
    fn bad_params_are_refused() {
        for json in [
            r#"{"currency":"usd","shipping":{"rates":{}}}"#,
            r#"{"currency":"USD","shipping":{"rates":{"standard":-1}}}"#,
            r#"{"currency":"USD","shipping":{"rates":{}},"discounts":{"X":{"percent_bp":10,"fixed":5}}}"#,
            r#"{"currency":"USD","shipping":{"rates":{}},"surprise":1}"#,
        ] {
            assert_eq!(
                Params::from_json(json).unwrap_err().code,
                "invalid_params",
                "{json}"
            );
        }
    }

    /// The shipped fixtures, run natively; `orderflow plugin test` runs them through wasm.
    #[test]
    fn fixtures() {
        orderflow_plugin_sdk::fixtures::pricing(
            env!("CARGO_MANIFEST_DIR"),
            Params::from_json,
            price,
        );
    }
}
