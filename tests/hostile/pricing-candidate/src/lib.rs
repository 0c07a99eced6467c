//! A candidate for `hostile-pricing`'s `flat` rule, for the replay and shadow tests: it
//! prices as `flat` does (the subtotal alone), except that the discount code `SAVE10` takes
//! 10 % off (rounded down) and the code `TRAP` traps. It logs (contract 0.3.0) two lines
//! for each `SAVE10` order and one before it traps, so the tests see the lines in reports and
//! cut at a workflow's `log_lines`.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "pricing-plugin", path: "../../../wit/since_v0.3.0" });

    use exports::orderflow::plugins::pricing::{AppliedRule, Guest, Quote};
    use orderflow::plugins::log::{Level, log};
    use orderflow::plugins::types::{Money, OrderDraft, Problem, Timestamp};

    struct Candidate;

    impl Guest for Candidate {
        fn configure(_params: String) -> Result<(), Problem> {
            Ok(())
        }

        fn price(order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            let currency = (order.items.first())
                .map(|i| i.product.unit_price.currency.clone())
                .unwrap_or_default();
            let subtotal: i64 = (order.items.iter())
                .map(|i| i.product.unit_price.minor * i64::from(i.quantity))
                .sum();
            let discount = match order.discount_code.as_deref() {
                Some("SAVE10") => {
                    log(
                        Level::Info,
                        &format!("SAVE10 takes {} off {subtotal}", subtotal / 10),
                    );
                    log(Level::Debug, "a second line");
                    subtotal / 10
                }
                Some("TRAP") => {
                    log(Level::Error, "TRAP: trapping");
                    unreachable!("the candidate traps on TRAP")
                }
                _ => 0,
            };
            let money = |minor| Money {
                minor,
                currency: currency.clone(),
            };
            let mut applied = vec![AppliedRule {
                rule: "flat".into(),
                description: "subtotal only".into(),
                amount: money(subtotal),
            }];
            if discount > 0 {
                applied.push(AppliedRule {
                    rule: "discount:SAVE10".into(),
                    description: "10 % off".into(),
                    amount: money(discount),
                });
            }
            Ok(Quote {
                subtotal: money(subtotal),
                tax: money(0),
                shipping: money(0),
                discount: money(discount),
                total: money(subtotal - discount),
                applied,
            })
        }
    }

    export!(Candidate);
}
