//! A pricing plugin of contract 0.3.0 that logs on demand. Its parameters:
//! `{"say": [["warn", "a message"], ...], "repeat": 1, "then": "quote"}` logs each line of
//! `say`, `repeat` times over, while pricing, then quotes every amount at zero (`"then":
//! "trap"` traps instead); `configure` logs a line of its own, which the host must not keep.
//! With no parameters it logs nothing at all in its decisions.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "pricing-plugin", path: "../../../wit/since_v0.3.0" });

    use exports::orderflow::plugins::pricing::{Guest, Quote};
    use orderflow::plugins::log::{Level, log};
    use orderflow::plugins::types::{Money, OrderDraft, Problem, Timestamp};
    use std::sync::OnceLock;

    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Params {
        say: Vec<(String, String)>,
        repeat: usize,
        then: String,
    }

    static PARAMS: OnceLock<Params> = OnceLock::new();

    struct LoggingPricing;

    impl Guest for LoggingPricing {
        fn configure(params: String) -> Result<(), Problem> {
            log(Level::Info, "configure: not a decision's line");
            let params = serde_json::from_str(&params).map_err(|e| Problem {
                code: "invalid_params".into(),
                message: e.to_string(),
                field: None,
            })?;
            let _ = PARAMS.set(params);
            Ok(())
        }

        fn price(order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            let params = PARAMS.get().expect("configured");
            for _ in 0..params.repeat.max(1) {
                for (level, message) in &params.say {
                    let level = match level.as_str() {
                        "debug" => Level::Debug,
                        "warn" => Level::Warn,
                        "error" => Level::Error,
                        _ => Level::Info,
                    };
                    log(level, message);
                }
            }
            if params.then == "trap" {
                panic!("trapping after logging");
            }
            let currency = order
                .items
                .first()
                .map(|i| i.product.unit_price.currency.clone())
                .unwrap_or_default();
            let money = |minor| Money {
                minor,
                currency: currency.clone(),
            };
            // The lines' sum and nothing else: what the host checks a subtotal against.
            let lines = (order.items.iter())
                .map(|i| i.product.unit_price.minor * i64::from(i.quantity))
                .sum();
            Ok(Quote {
                subtotal: money(lines),
                tax: money(0),
                shipping: money(0),
                discount: money(0),
                total: money(lines),
                applied: vec![],
            })
        }
    }

    export!(LoggingPricing);
}
