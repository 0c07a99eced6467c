//! A lifecycle plugin: the glue that makes [`rules`] a component (the contract's exports)
//! and runs the fixtures natively. The rules themselves are plain Rust, in `rules.rs`.

pub mod rules;

pub use orderflow_plugin_sdk::lifecycle::{exports, orderflow};

/// The component's exports, built for wasm only: natively the rules are called directly.
#[cfg(target_arch = "wasm32")]
mod component {
    use super::exports::orderflow::plugins::lifecycle::*;
    use super::rules::{self, Rules};
    use std::sync::OnceLock;

    /// The rules with the workflow's parameters: the host configures each instance once,
    /// before its one decision.
    static RULES: OnceLock<Rules> = OnceLock::new();

    fn configured() -> &'static Rules {
        RULES.get().expect("configured")
    }

    struct Plugin;

    impl Guest for Plugin {
        fn configure(params: String) -> Result<(), Problem> {
            let invalid = |message| Problem {
                code: "invalid_params".into(),
                message,
                field: None,
            };
            // Once per instance, says the contract: a second call would change nothing.
            let _ = RULES.set(Rules::from_json(&params).map_err(invalid)?);
            Ok(())
        }

        fn describe() -> Machine {
            rules::describe()
        }

        fn create(_order: PricedOrder, _now: Timestamp) -> Result<Transition, Problem> {
            Ok(configured().create())
        }

        fn change_status(
            order: OrderView,
            change: StatusChange,
            by: Actor,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            configured().change_status(&order, &change, &by)
        }

        fn change_payment(
            order: OrderView,
            change: PaymentChange,
            by: Actor,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            configured().change_payment(&order, &change, &by)
        }
    }

    orderflow_plugin_sdk::lifecycle::export!(Plugin);
}

/// `fixtures/`, run natively; `orderflow plugin test` runs them through the component.
#[cfg(test)]
#[test]
fn fixtures() {
    use plugin_fixtures::{Expected, arg};
    plugin_fixtures::assert_native(env!("CARGO_MANIFEST_DIR"), |fixture, params| {
        let rules = rules::Rules::from_json(&params.to_string())?;
        Ok(match fixture.call.as_str() {
            "describe" => Expected::from_result::<_, ()>(&Ok(rules::describe())),
            "create" => Expected::from_result::<_, ()>(&Ok(rules.create())),
            "change_status" => Expected::from_result(&rules.change_status(
                &arg(fixture, "order")?,
                &arg(fixture, "change")?,
                &arg(fixture, "by")?,
            )),
            "change_payment" => Expected::from_result(&rules.change_payment(
                &arg(fixture, "order")?,
                &arg(fixture, "change")?,
                &arg(fixture, "by")?,
            )),
            other => return Err(format!("a lifecycle plugin has no call `{other}`")),
        })
    });
}
