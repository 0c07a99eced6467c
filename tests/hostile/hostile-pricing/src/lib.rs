//! A pricing plugin that misbehaves on demand. Its `behaviour` parameter picks how:
//! `loop`, `hog` (allocate until the cap), `panic`, `wrong_total`, `clock` (read the
//! system clock, which the host does not grant), `refuse` (refuse its parameters), or `flat` (the default: a correct quote of the subtotal alone, so the
//! hot-reload test can swap it with the standard pricing plugin).

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "pricing-plugin", path: "../../../wit/since_v0.1.0" });

    use exports::orderflow::plugins::pricing::{AppliedRule, Guest, Quote};
    use orderflow::plugins::types::{Money, OrderDraft, Problem, Timestamp};
    use std::hint::black_box;
    use std::sync::OnceLock;

    static BEHAVIOUR: OnceLock<String> = OnceLock::new();

    struct HostilePricing;

    impl Guest for HostilePricing {
        fn configure(params: String) -> Result<(), Problem> {
            let params: serde_json::Value = serde_json::from_str(&params).unwrap_or_default();
            let behaviour = params
                .get("behaviour")
                .and_then(|b| b.as_str())
                .unwrap_or("flat");
            if behaviour == "refuse" {
                return Err(Problem {
                    code: "invalid_params".into(),
                    message: "refused on purpose".into(),
                    field: None,
                });
            }
            let _ = BEHAVIOUR.set(behaviour.to_owned());
            Ok(())
        }

        fn price(order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            let currency = order
                .items
                .first()
                .map(|i| i.product.unit_price.currency.clone())
                .unwrap_or_default();
            let subtotal: i64 = order
                .items
                .iter()
                .map(|i| i.product.unit_price.minor * i64::from(i.quantity))
                .sum();
            let money = |minor| Money {
                minor,
                currency: currency.clone(),
            };
            match BEHAVIOUR.get().map(String::as_str).unwrap_or("flat") {
                "loop" => {
                    let mut n = 0u64;
                    loop {
                        n = black_box(n.wrapping_add(1));
                    }
                }
                "hog" => {
                    let mut hoard = Vec::new();
                    loop {
                        hoard.push(black_box(vec![1u8; 1 << 20]));
                    }
                }
                "panic" => panic!("hostile plugin panics on purpose"),
                "clock" => {
                    let now = std::time::SystemTime::now();
                    Err(Problem {
                        code: "clock_read".into(),
                        message: format!("{now:?}"),
                        field: None,
                    })
                }
                behaviour => Ok(Quote {
                    subtotal: money(subtotal),
                    tax: money(0),
                    shipping: money(0),
                    discount: money(0),
                    // One minor unit too many: the host must catch it.
                    total: money(subtotal + i64::from(behaviour == "wrong_total")),
                    applied: vec![AppliedRule {
                        rule: "flat".into(),
                        description: "subtotal only".into(),
                        amount: money(subtotal),
                    }],
                }),
            }
        }
    }

    export!(HostilePricing);
}
