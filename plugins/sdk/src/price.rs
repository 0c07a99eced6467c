//! Building blocks of a pricing plugin: exact integer money, rounded once.

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
