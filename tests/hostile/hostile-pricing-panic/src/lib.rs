//! A pricing plugin that loads, accepts any parameters, and traps on every quote. Unlike
//! `hostile-pricing`, whose misbehaviour is chosen by workflow parameters, it misbehaves
//! under any workflow: the plugin-operations tests upload it and expect it refused.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "pricing-plugin", path: "../../../wit/since_v0.1.0" });

    use exports::orderflow::plugins::pricing::{Guest, Quote};
    use orderflow::plugins::types::{OrderDraft, Problem, Timestamp};

    struct PanickingPricing;

    impl Guest for PanickingPricing {
        fn configure(_params: String) -> Result<(), Problem> {
            Ok(())
        }

        fn price(_order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            panic!("this pricing plugin traps on every quote")
        }
    }

    export!(PanickingPricing);
}
