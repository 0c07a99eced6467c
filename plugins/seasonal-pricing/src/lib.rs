//! An example pricing plugin, the rule set an ops team swaps in for a sale: the rules live
//! in [`rules`]; the SDK's macro exports them.

pub mod rules;

pub use orderflow_plugin_sdk::pricing::{exports, orderflow};

orderflow_plugin_sdk::export_pricing!(rules::Params, |params, order, _now| {
    rules::price(params, order)
});
