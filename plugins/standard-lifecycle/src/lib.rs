//! The standard lifecycle plugin: the rules live in [`rules`], plain Rust; the SDK's macro
//! exports them.

pub mod rules;

pub use orderflow_plugin_sdk::lifecycle::{exports, orderflow};

orderflow_plugin_sdk::export_lifecycle!(rules::Rules);
