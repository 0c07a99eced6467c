//! An example pricing plugin, the rule set an ops team swaps in for a sale: the WIT glue.
//! The rules live in [`rules`].

pub mod rules;

pub use orderflow_plugin_sdk::pricing::{exports, orderflow};

/// The component's exports, built for wasm only (natively the rules are tested directly).
#[cfg(target_arch = "wasm32")]
mod component {
    use super::exports::orderflow::plugins::pricing::{Guest, Quote};
    use super::orderflow::plugins::types::{OrderDraft, Problem, Timestamp};
    use super::rules::{Params, price, problem};
    use std::sync::OnceLock;

    static PARAMS: OnceLock<Params> = OnceLock::new();

    struct SeasonalPricing;

    impl Guest for SeasonalPricing {
        fn configure(params: String) -> Result<(), Problem> {
            PARAMS
                .set(Params::from_json(&params)?)
                .map_err(|_| problem("already_configured", "configure was called twice", None))
        }

        fn price(order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            let params = PARAMS
                .get()
                .ok_or_else(|| problem("not_configured", "configure was not called", None))?;
            price(params, &order)
        }
    }

    orderflow_plugin_sdk::pricing::export!(SeasonalPricing);
}
