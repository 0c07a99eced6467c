//! A pricing plugin of contract 0.2.0: the subtotal, nothing else. The SDK and every plugin
//! in `plugins/` moved on to 0.3.0; components built against 0.2.0 are still out there, so
//! the host keeps binding them, which this one proves.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "pricing-plugin", path: "../../../wit/since_v0.2.0" });

    use exports::orderflow::plugins::pricing::{Guest, Quote};
    use orderflow::plugins::types::{Money, OrderDraft, Problem, Timestamp};

    struct SubtotalPricing;

    impl Guest for SubtotalPricing {
        fn configure(_params: String) -> Result<(), Problem> {
            Ok(())
        }

        fn price(order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            let currency = order
                .items
                .first()
                .map(|i| i.product.unit_price.currency.clone())
                .unwrap_or_default();
            let subtotal = order
                .items
                .iter()
                .map(|i| i.product.unit_price.minor * i64::from(i.quantity))
                .sum();
            let money = |minor| Money {
                minor,
                currency: currency.clone(),
            };
            Ok(Quote {
                subtotal: money(subtotal),
                tax: money(0),
                shipping: money(0),
                discount: money(0),
                total: money(subtotal),
                applied: vec![],
            })
        }
    }

    export!(SubtotalPricing);
}
