//! Runs a component on a directory of JSON fixtures, without the service: the engine of
//! `orderflow plugin test`. The fixture format is `plugin_fixtures`', shared with each
//! plugin's native unit tests, so both paths are held to the same cases.

use crate::domain::PricedOrder;
use crate::plugins::runtime::wit;
use crate::plugins::{Decided, Limits, LoadedComponent, Logs, PluginFault, PluginKind, Runtime};
use plugin_fixtures::{Expected, Fixture, Suite, arg};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct CaseOutcome {
    pub name: String,
    pub description: String,
    /// Ok, or what differed.
    pub result: Result<(), String>,
    pub fuel: Option<u64>,
    /// Linear memory the instance held, in bytes.
    pub memory: Option<usize>,
    /// Instantiation, configuration and the call.
    pub elapsed: Duration,
    /// What the plugin logged deciding (or before it faulted).
    pub logs: Logs,
}

pub fn run(
    runtime: &Runtime,
    component: &Arc<LoadedComponent>,
    suite: &Suite,
    limits: Limits,
) -> Vec<CaseOutcome> {
    suite
        .cases
        .iter()
        .map(|(fixture, params)| {
            let started = Instant::now();
            let outcome = run_case(runtime, component, fixture, params, limits);
            let elapsed = started.elapsed();
            let (result, cost, logs) = match outcome {
                Ok((actual, cost, logs)) if actual == fixture.expect => (Ok(()), Some(cost), logs),
                Ok((actual, cost, logs)) => (
                    Err(format!(
                        "expected {}\n got      {}",
                        compact(&fixture.expect),
                        compact(&actual)
                    )),
                    Some(cost),
                    logs,
                ),
                Err(Failed(why, logs)) => (Err(why), None, logs),
            };
            CaseOutcome {
                name: fixture.name.clone(),
                description: fixture.description.clone(),
                result,
                fuel: cost.map(|(fuel, _)| fuel),
                memory: cost.map(|(_, memory)| memory),
                elapsed,
                logs,
            }
        })
        .collect()
}

fn compact(e: &Expected) -> String {
    serde_json::to_string(e).unwrap_or_default()
}

/// What a case decided, its cost (fuel, memory) and its log lines; or why it did not.
type CaseResult = Result<(Expected, (u64, usize), Logs), Failed>;

/// Why a case did not decide, with what the plugin logged before a fault.
struct Failed(String, Logs);

impl From<String> for Failed {
    fn from(why: String) -> Self {
        Failed(why, Logs::default())
    }
}

fn run_case(
    runtime: &Runtime,
    component: &Arc<LoadedComponent>,
    fixture: &Fixture,
    params: &Value,
    limits: Limits,
) -> CaseResult {
    let plugin = runtime
        .bind(
            "fixtures",
            component.clone(),
            component.kind,
            params,
            limits,
        )
        .map_err(|e| format!("cannot start: {e}"))?;
    let now = fixture.now;
    let fault = |f: PluginFault| Failed(f.to_string(), f.logs);
    match (component.kind, fixture.call.as_str()) {
        (PluginKind::Validation, "validate") => outcome(
            plugin
                .validate(&arg(fixture, "order")?, now)
                .map_err(fault)?,
            false,
        ),
        (PluginKind::Pricing, "price") => outcome(
            plugin.price(&arg(fixture, "order")?, now).map_err(fault)?,
            true,
        ),
        (PluginKind::Lifecycle, "describe") => outcome(plugin.describe().map_err(fault)?, true),
        (PluginKind::Lifecycle, "create") => {
            let (draft, total) = wit::creation_fixture(component.contract, fixture)?;
            outcome(
                plugin
                    .create(&PricedOrder::of(&draft, &total), now)
                    .map_err(fault)?,
                true,
            )
        }
        (PluginKind::Lifecycle, call @ ("change_status" | "change_payment")) => {
            let (order, by) = (arg(fixture, "order")?, arg(fixture, "by")?);
            let decided = if call == "change_status" {
                plugin.change_status(&order, &arg(fixture, "change")?, &by, now)
            } else {
                plugin.change_payment(&order, &arg(fixture, "change")?, &by, now)
            };
            outcome(decided.map_err(fault)?, true)
        }
        (kind, call) => Err(format!("a {kind} plugin has no call `{call}`").into()),
    }
}

/// The actual outcome in fixture form. Pricing and lifecycle refuse with one problem,
/// validation with a list, as in the WIT.
fn outcome<T: Serialize>(decided: Decided<T>, single_problem: bool) -> CaseResult {
    let json = |v: serde_json::Result<Value>| v.map_err(|e| e.to_string());
    let expected = match &decided.verdict {
        Ok(value) => Expected::Ok(json(serde_json::to_value(value))?),
        Err(problems) if single_problem => Expected::Err(json(serde_json::to_value(&problems[0]))?),
        Err(problems) => Expected::Err(json(serde_json::to_value(problems))?),
    };
    Ok((expected, (decided.fuel, decided.memory), decided.logs))
}
