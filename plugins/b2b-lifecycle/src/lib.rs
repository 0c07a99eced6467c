//! An example lifecycle plugin for B2B orders: the WIT glue. The rules live in [`rules`].

pub mod rules;

pub use orderflow_plugin_sdk::lifecycle::{exports, orderflow};

/// The component's exports, built for wasm only (natively the rules are tested directly).
#[cfg(target_arch = "wasm32")]
mod component {
    use super::exports::orderflow::plugins::lifecycle::{
        Actor, Guest, Machine, OrderView, PaymentChange, PricedOrder, StatusChange, Transition,
    };
    use super::orderflow::plugins::types::{Problem, Timestamp};
    use super::rules::{Rules, problem};
    use std::sync::OnceLock;

    static RULES: OnceLock<Rules> = OnceLock::new();

    fn configured() -> Result<&'static Rules, Problem> {
        RULES
            .get()
            .ok_or_else(|| problem("not_configured", "configure was not called", None))
    }

    struct B2bLifecycle;

    impl Guest for B2bLifecycle {
        fn configure(params: String) -> Result<(), Problem> {
            RULES
                .set(Rules::from_json(&params)?)
                .map_err(|_| problem("already_configured", "configure was called twice", None))
        }

        fn describe() -> Machine {
            super::rules::describe()
        }

        fn create(order: PricedOrder, _now: Timestamp) -> Result<Transition, Problem> {
            Ok(configured()?.create(&order.total))
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

    orderflow_plugin_sdk::lifecycle::export!(B2bLifecycle);
}
