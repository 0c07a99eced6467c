//! The standard pricing plugin: the rules live in [`rules`], plain Rust; the SDK's macro
//! exports them.

pub mod rules;

pub use orderflow_plugin_sdk::pricing::{exports, orderflow};

orderflow_plugin_sdk::export_pricing!(rules::Params, rules::price);
