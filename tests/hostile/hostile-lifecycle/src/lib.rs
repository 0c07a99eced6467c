//! A lifecycle plugin that answers every status change with a status it never declared.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "lifecycle-plugin", path: "../../../wit/since_v0.1.0" });

    use exports::orderflow::plugins::lifecycle::{
        Actor, Edge, Guest, Machine, OrderView, PaymentChange, StatusChange, Transition,
    };
    use orderflow::plugins::types::{Money, OrderDraft, Problem, Timestamp};

    struct HostileLifecycle;

    fn transition(status: &str) -> Transition {
        Transition {
            status: status.into(),
            payment_status: "pending".into(),
            stamps: vec![],
            events: vec![],
        }
    }

    impl Guest for HostileLifecycle {
        fn configure(_params: String) -> Result<(), Problem> {
            Ok(())
        }

        fn describe() -> Machine {
            Machine {
                statuses: vec!["pending".into(), "confirmed".into()],
                final_statuses: vec![],
                payment_statuses: vec!["pending".into()],
                status_edges: vec![Edge {
                    from: "pending".into(),
                    to: "confirmed".into(),
                    roles: vec!["admin".into()],
                }],
                payment_edges: vec![],
            }
        }

        fn create(
            _order: OrderDraft,
            _total: Money,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            Ok(transition("pending"))
        }

        fn change_status(
            _order: OrderView,
            _change: StatusChange,
            _by: Actor,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            Ok(transition("teleported"))
        }

        fn change_payment(
            _order: OrderView,
            _change: PaymentChange,
            _by: Actor,
            _now: Timestamp,
        ) -> Result<Transition, Problem> {
            Err(Problem {
                code: "Not A Code".into(),
                message: String::new(),
                field: None,
            })
        }
    }

    export!(HostileLifecycle);
}
