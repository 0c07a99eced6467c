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
    use orderflow_plugin_sdk::machine::Lifecycle;
    use plugin_fixtures::{Expected, arg};
    plugin_fixtures::assert_native(env!("CARGO_MANIFEST_DIR"), |fixture, params| {
        let rules = rules::Rules::from_json(&params.to_string())?;
        Ok(match fixture.call.as_str() {
            "describe" => Expected::from_result::<_, ()>(&Ok(rules.machine())),
            "create" => Expected::from_result::<_, ()>(&Ok(rules.create(&arg(fixture, "order")?))),
            "change_status" => Expected::from_result(&rules.change_status(
                &arg(fixture, "order")?,
                &arg(fixture, "change")?,
                &arg(fixture, "by")?,
            )),
            "change_payment" => Expected::from_result(&rules.change_payment(
                &arg(fixture, "order")?,
                &arg(fixture, "change")?,
                &arg(fixture, "by")?,
            )),
            other => return Err(format!("a lifecycle plugin has no call `{other}`")),
        })
    });
}
