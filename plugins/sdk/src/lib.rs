//! What every orderflow plugin wants, whatever decision it makes: the contract's bindings,
//! the glue that exports a plugin's rules (`export_validation!`, `export_pricing!`,
//! `export_lifecycle!`), the allocator, parameter parsing, logging ([`log`]), the building
//! blocks of prices ([`price`]) and state machines ([`machine`]), and the native run of a
//! plugin's fixtures ([`fixtures`]).
//!
//! Depending on this crate sets the component's allocator: the host runs each decision in
//! a fresh instance and throws it away, so memory never needs to be reused, and a bump
//! allocator that never frees makes lifting an order into the guest (dozens of strings)
//! several times cheaper than a general-purpose allocator.

#[cfg(target_arch = "wasm32")]
#[global_allocator]
// SAFETY: a component instance runs on a single thread.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::LeakingAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::LeakingAllocator::new()) };

mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod fixtures;

pub use export::{Configured, Refusal, WorldProblem};

/// One module per plugin world of the contract, with the `problem` helper of its own
/// `Problem` type.
macro_rules! world {
    ($(#[$doc:meta])* $kind:ident, $world:tt, $bindings:tt) => {
        $(#[$doc])*
        pub mod $kind {
            wit_bindgen::generate!({
                world: $world,
                path: "../../wit/since_v0.5.0",
                pub_export_macro: true,
                default_bindings_module: $bindings,
                additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
            });

            use orderflow::plugins::types::Problem;

            /// A problem: its code, the message for people, the field it is about if any.
            pub fn problem(code: &str, message: &str, field: Option<&str>) -> Problem {
                Problem {
                    code: code.into(),
                    message: message.into(),
                    field: field.map(Into::into),
                }
            }

            impl crate::WorldProblem for Problem {
                fn new(code: &str, message: &str) -> Self {
                    problem(code, message, None)
                }
            }
        }
    };
}

world!(
    /// The contract's bindings (`wit/since_v0.5.0`, `orderflow:plugins@0.5.0`), one module per
    /// plugin world: a plugin takes its types from its world's module, and its world's export
    /// macro ([`export_validation!`](crate::export_validation) and the others) exports it. Generated once here, so a
    /// plugin crate carries no binding boilerplate of its own.
    validation,
    "validation-plugin",
    "orderflow_plugin_sdk::validation"
);
world!(
    /// See [`validation`].
    pricing,
    "pricing-plugin",
    "orderflow_plugin_sdk::pricing"
);
world!(
    /// See [`validation`].
    lifecycle,
    "lifecycle-plugin",
    "orderflow_plugin_sdk::lifecycle"
);

pub mod log;
pub mod machine;
pub mod price;

/// Parses the parameters a workflow gives a plugin (JSON); the error names the plugin kind.
pub fn parse_params<T: serde::de::DeserializeOwned>(kind: &str, json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| format!("{kind} params: {e}"))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct P {
        #[allow(dead_code)]
        rate: u32,
    }

    #[test]
    fn errors_name_the_plugin_kind_and_the_field() {
        let err = super::parse_params::<P>("pricing", r#"{"rate": 1, "rat": 2}"#).unwrap_err();
        assert!(
            err.starts_with("pricing params: unknown field `rat`"),
            "{err}"
        );
    }
}
