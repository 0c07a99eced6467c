//! A validation plugin of contract 0.4.0: a line may not ask for more than its product has
//! in stock. Its snapshot has no `available` (0.5.0's): the host binds it all the same, and
//! it judges on the product's stock alone, which this one proves.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "validation-plugin", path: "../../../wit/since_v0.4.0" });

    use exports::orderflow::plugins::validation::Guest;
    use orderflow::plugins::types::{OrderDraft, Problem, Timestamp};

    struct InStock;

    impl Guest for InStock {
        fn configure(_params: String) -> Result<(), Problem> {
            Ok(())
        }

        fn validate(order: OrderDraft, _now: Timestamp) -> Result<(), Vec<Problem>> {
            let problems: Vec<Problem> = (order.items.iter().enumerate())
                .filter(|(_, line)| i64::from(line.quantity) > line.product.stock)
                .map(|(i, line)| Problem {
                    code: "insufficient_stock".into(),
                    message: format!("only {} in stock", line.product.stock),
                    field: Some(format!("items[{i}].quantity")),
                })
                .collect();
            match problems.is_empty() {
                true => Ok(()),
                false => Err(problems),
            }
        }
    }

    export!(InStock);
}
