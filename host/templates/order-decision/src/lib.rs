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
    use plugin_fixtures::{Expected, arg};
    plugin_fixtures::assert_native(env!("CARGO_MANIFEST_DIR"), |fixture, params| {
        let params = rules::Params::from_json(&params.to_string())?;
        match fixture.call.as_str() {
            "{{call}}" => Ok(Expected::from_result(&rules::{{call}}(
                &params,
                &arg(fixture, "order")?,
            ))),
            other => Err(format!("a {{kind}} plugin has no call `{other}`")),
        }
    });
}
