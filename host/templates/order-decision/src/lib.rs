//! A {{kind}} plugin: [`rules`] made a component by the SDK's `export_{{kind}}!` (the
//! contract's exports), and the fixtures run natively. The rules themselves are plain Rust,
//! in `rules.rs`.

pub mod rules;

pub use orderflow_plugin_sdk::{{kind}}::{exports, orderflow};

orderflow_plugin_sdk::export_{{kind}}!(rules::Params, |params, order, _now| {
    rules::{{call}}(params, order)
});

/// `fixtures/`, run natively; `orderflow plugin test` runs them through the component.
#[cfg(test)]
#[test]
fn fixtures() {
    orderflow_plugin_sdk::fixtures::{{kind}}(
        env!("CARGO_MANIFEST_DIR"),
        rules::Params::from_json,
        |params, order, _now| rules::{{call}}(params, order),
    );
}
