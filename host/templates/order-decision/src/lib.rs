//! A {{kind}} plugin: the glue that makes [`rules`] a component (the contract's exports)
//! and runs the fixtures natively. The rules themselves are plain Rust, in `rules.rs`.

pub mod rules;

pub use orderflow_plugin_sdk::{{kind}}::{exports, orderflow};

/// The component's exports, built for wasm only: natively the rules are called directly.
#[cfg(target_arch = "wasm32")]
mod component {
    use super::exports::orderflow::plugins::{{kind}}::*;
    use super::rules::{self, Params};
    use std::sync::OnceLock;

    /// The workflow's parameters: the host configures each instance once, before its
    /// one decision.
    static PARAMS: OnceLock<Params> = OnceLock::new();

    struct Plugin;

    impl Guest for Plugin {
        fn configure(params: String) -> Result<(), Problem> {
            let params = Params::from_json(&params).map_err(|message| Problem {
                code: "invalid_params".into(),
                message,
                field: None,
            })?;
            // Once per instance, says the contract: a second call would change nothing.
            let _ = PARAMS.set(params);
            Ok(())
        }

        fn {{call}}(order: OrderDraft, _now: Timestamp) -> {{answer}} {
            rules::{{call}}(PARAMS.get().expect("configured"), &order)
        }
    }

    orderflow_plugin_sdk::{{kind}}::export!(Plugin);
}

/// `fixtures/`, run natively; `orderflow plugin test` runs them through the component.
#[cfg(test)]
#[test]
fn fixtures() {
    use plugin_fixtures::{Expected, arg};
    plugin_fixtures::assert_native(env!("CARGO_MANIFEST_DIR"), |fixture, params| {
        let params = rules::Params::from_json(&params.to_string())?;
        match fixture.call.as_str() {
            "{{call}}" => Ok(Expected::from_result(&rules::{{call}}(
                &params,
                &arg(fixture, "order")?,
            ))),
            other => Err(format!("a {{kind}} plugin has no call `{other}`")),
        }
    });
}
