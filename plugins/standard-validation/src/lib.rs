//! The standard validation plugin: the WIT glue. The rules live in [`rules`], plain Rust.

pub mod postal;
pub mod rules;

pub use orderflow_plugin_sdk::validation::{exports, orderflow};

/// The component's exports. Only built for wasm: natively the rules are tested directly,
/// and the WIT export names are not valid native linker symbols.
#[cfg(target_arch = "wasm32")]
mod component {
    use super::exports::orderflow::plugins::validation::Guest;
    use super::orderflow::plugins::types::{OrderDraft, Problem, Timestamp};
    use std::sync::OnceLock;

    static PARAMS: OnceLock<super::rules::Params> = OnceLock::new();

    struct StandardValidation;

    impl Guest for StandardValidation {
        fn configure(params: String) -> Result<(), Problem> {
            let params = super::rules::Params::from_json(&params)?;
            PARAMS.set(params).map_err(|_| {
                super::rules::problem("already_configured", "configure was called twice", None)
            })
        }

        fn validate(order: OrderDraft, _now: Timestamp) -> Result<(), Vec<Problem>> {
            let params = PARAMS.get().ok_or_else(|| {
                vec![super::rules::problem(
                    "not_configured",
                    "configure was not called",
                    None,
                )]
            })?;
            super::rules::validate(params, &order)
        }
    }

    orderflow_plugin_sdk::validation::export!(StandardValidation);
}
