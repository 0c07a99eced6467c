//! A lifecycle plugin: [`rules`] made a component by the SDK's `export_lifecycle!` (the
//! contract's exports), and the fixtures run natively. The rules themselves are plain Rust,
//! in `rules.rs`.

pub mod rules;

pub use orderflow_plugin_sdk::lifecycle::{exports, orderflow};

orderflow_plugin_sdk::export_lifecycle!(rules::Rules);

/// `fixtures/`, run natively; `orderflow plugin test` runs them through the component.
#[cfg(test)]
#[test]
fn fixtures() {
    orderflow_plugin_sdk::fixtures::lifecycle(env!("CARGO_MANIFEST_DIR"), rules::Rules::from_json);
}
