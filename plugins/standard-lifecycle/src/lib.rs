//! The standard lifecycle plugin: the WIT glue. The rules live in [`rules`], plain Rust.

pub mod rules;

pub use orderflow_plugin_sdk::lifecycle::{exports, orderflow};

/// The component's exports. Only built for wasm: natively the rules are tested directly,
/// and the WIT export names are not valid native linker symbols.
#[cfg(target_arch = "wasm32")]
mod component {
    use super::exports::orderflow::plugins::lifecycle::{
        Actor, Guest, Machine, OrderView, PaymentChange, PricedOrder, StatusChange, Transition,
    };
    use super::orderflow::plugins::types::{Problem, Timestamp};
    use std::sync::OnceLock;

    static RULES: OnceLock<super::rules::Rules> = OnceLock::new();

    fn configured() -> Result<&'static super::rules::Rules, Problem> {
        RULES.get().ok_or_else(|| {
            super::rules::problem("not_configured", "configure was not called", None)
        })
    }

    struct StandardLifecycle;

    impl Guest for StandardLifecycle {
        fn configure(params: String) -> Result<(), Problem> {
            let rules = super::rules::Rules::from_json(&params)?;
            RULES.set(rules).map_err(|_| {
                super::rules::problem("already_configured", "configure was called twice", None)
            })
        }

        fn describe() -> Machine {
            // describe is a pure function of the parameters; unconfigured, it shows the defaults.
            match RULES.get() {
                Some(rules) => rules.machine().clone(),
                None => super::rules::Rules::default().machine().clone(),
            }
        }

        fn create(_order: PricedOrder, _now: Timestamp) -> Result<Transition, Problem> {
            Ok(configured()?.create())
        }

        fn change_status(
            order: OrderView,
            change: StatusChange,
            by: Actor,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            configured()?.change_status(&order, &change, &by)
        }

        fn change_payment(
            order: OrderView,
            change: PaymentChange,
            by: Actor,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            configured()?.change_payment(&order, &change, &by)
        }
    }

    orderflow_plugin_sdk::lifecycle::export!(StandardLifecycle);
}
