//! A plugin crate's `fixtures/`, run natively by its unit tests: each function calls the
//! rules as the export macro of the same name does in the component, on every fixture that
//! `orderflow plugin test` runs through the component, and asserts each outcome. A
//! plugin's fixture test is one call, in a `#[test]` function:
//! `orderflow_plugin_sdk::fixtures::pricing(env!("CARGO_MANIFEST_DIR"), Params::from_json,
//! price)`.
//!
//! `from_json` makes the rules of a fixture's parameters and may refuse them as
//! `export_*!` allows (with the world's `Problem` or a message); a refusal fails the
//! fixture. Native only: the component is tested by `orderflow plugin test`.

use crate::lifecycle::exports::orderflow::plugins::lifecycle;
use crate::lifecycle::orderflow::plugins::types as lifecycle_types;
use crate::pricing::exports::orderflow::plugins::pricing::Quote;
use crate::pricing::orderflow::plugins::types as pricing_types;
use crate::validation::orderflow::plugins::types as validation_types;
use crate::{Refusal, WorldProblem};
use plugin_fixtures::{Expected, arg, assert_native};
use serde_json::Value;
use std::fmt::Debug;

/// Runs a validation plugin's fixtures (call `validate`): `validate` as for
/// [`export_validation!`](crate::export_validation).
pub fn validation<T, R>(
    manifest_dir: &str,
    from_json: impl Fn(&str) -> Result<T, R>,
    validate: impl Fn(
        &T,
        &validation_types::OrderDraft,
        validation_types::Timestamp,
    ) -> Result<(), Vec<validation_types::Problem>>,
) where
    R: Refusal<validation_types::Problem>,
{
    assert_native(manifest_dir, |fixture, params| {
        let params = rules::<_, validation_types::Problem, _>(&from_json, params)?;
        match fixture.call.as_str() {
            "validate" => Ok(Expected::from_result(&validate(
                &params,
                &arg(fixture, "order")?,
                fixture.now,
            ))),
            other => Err(no_call("validation", other)),
        }
    });
}

/// Runs a pricing plugin's fixtures (call `price`): `price` as for
/// [`export_pricing!`](crate::export_pricing).
pub fn pricing<T, R>(
    manifest_dir: &str,
    from_json: impl Fn(&str) -> Result<T, R>,
    price: impl Fn(
        &T,
        &pricing_types::OrderDraft,
        pricing_types::Timestamp,
    ) -> Result<Quote, pricing_types::Problem>,
) where
    R: Refusal<pricing_types::Problem>,
{
    assert_native(manifest_dir, |fixture, params| {
        let params = rules::<_, pricing_types::Problem, _>(&from_json, params)?;
        match fixture.call.as_str() {
            "price" => Ok(Expected::from_result(&price(
                &params,
                &arg(fixture, "order")?,
                fixture.now,
            ))),
            other => Err(no_call("pricing", other)),
        }
    });
}

/// Runs a lifecycle plugin's fixtures (calls `describe`, `create`, `change_status`,
/// `change_payment`, `allow_change`, `refund`): the rules as for [`export_lifecycle!`](crate::export_lifecycle).
pub fn lifecycle<L, R>(manifest_dir: &str, from_json: impl Fn(&str) -> Result<L, R>)
where
    L: crate::machine::Lifecycle,
    R: Refusal<lifecycle_types::Problem>,
{
    assert_native(manifest_dir, |fixture, params| {
        let rules = rules::<_, lifecycle_types::Problem, _>(&from_json, params)?;
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
            "allow_change" => Expected::from_result(&rules.allow_change(
                &arg(fixture, "order")?,
                change_kind(&arg::<String>(fixture, "change")?)?,
                &arg(fixture, "by")?,
                fixture.now,
            )),
            "refund" => Expected::from_result(&rules.refund(
                &arg(fixture, "order")?,
                &arg(fixture, "request")?,
                fixture.now,
            )),
            other => return Err(no_call("lifecycle", other)),
        })
    });
}

/// A `change-kind` as fixtures write it (`"items"`, `"return"`), as the host's JSON does.
fn change_kind(name: &str) -> Result<lifecycle::ChangeKind, String> {
    Ok(match name {
        "items" => lifecycle::ChangeKind::Items,
        "delivery" => lifecycle::ChangeKind::Delivery,
        "cancellation" => lifecycle::ChangeKind::Cancellation,
        "return" => lifecycle::ChangeKind::Return,
        other => return Err(format!("`{other}` is not a change kind")),
    })
}

/// The rules `from_json` makes of a fixture's parameters.
fn rules<T, P: WorldProblem + Debug, R: Refusal<P>>(
    from_json: impl Fn(&str) -> Result<T, R>,
    params: &Value,
) -> Result<T, String> {
    from_json(&params.to_string())
        .map_err(|refusal| format!("its parameters are refused: {:?}", refusal.into_problem()))
}

fn no_call(kind: &str, call: &str) -> String {
    format!("a {kind} plugin has no call `{call}`")
}
