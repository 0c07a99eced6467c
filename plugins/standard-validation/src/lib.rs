//! The standard validation plugin: the rules live in [`rules`], plain Rust; the SDK's macro
//! exports them.

pub mod postal;
pub mod rules;

pub use orderflow_plugin_sdk::validation::{exports, orderflow};

orderflow_plugin_sdk::export_validation!(rules::Params, |params, order, _now| {
    rules::validate(params, order)
});
