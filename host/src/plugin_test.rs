//! Runs a component on a directory of JSON fixtures, without the service: the engine of
//! `orderflow plugin test`. The fixture format is `plugin_fixtures`', shared with each
//! plugin's native unit tests, so both paths are held to the same cases.

use crate::domain::PricedOrder;
use crate::plugins::definition::StepSpec;
use crate::plugins::runtime::wit;
use crate::plugins::{
    Decided, Definition, Limits, LoadedComponent, Logs, PluginFault, PluginKind, Runtime,
};
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
                    Err(differences(&fixture.expect, &actual).join("\n")),
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

/// What differs between the expected and the actual outcome, a line per field (its path,
/// then expected and got), so that a wrong amount reads as one line, not two long JSON
/// documents to compare by eye.
pub fn differences(expected: &Expected, actual: &Expected) -> Vec<String> {
    let value = |e: &Expected| serde_json::to_value(e).unwrap_or_default();
    let mut lines = Vec::new();
    differ(&value(expected), &value(actual), String::new(), &mut lines);
    lines
}

fn differ(expected: &Value, actual: &Value, path: String, lines: &mut Vec<String>) {
    let at = |key: &str| match path.is_empty() {
        true => key.to_owned(),
        false => format!("{path}.{key}"),
    };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let keys: std::collections::BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for key in keys {
                let (e, a) = (e.get(key), a.get(key));
                match (e, a) {
                    (Some(e), Some(a)) => differ(e, a, at(key), lines),
                    (Some(e), None) => {
                        lines.push(format!("{}: expected {e}, got nothing", at(key)))
                    }
                    (None, Some(a)) => {
                        lines.push(format!("{}: expected nothing, got {a}", at(key)))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                differ(e, a, format!("{path}[{i}]"), lines);
            }
        }
        (e, a) if e != a => lines.push(format!("{path}: expected {e}, got {a}")),
        _ => {}
    }
}

/// The parameters and limits a workflow file gives the step that makes `kind`'s decision:
/// `plugin test --workflow` runs the fixtures as the service would run them.
pub fn workflow_step(path: &std::path::Path, kind: PluginKind) -> anyhow::Result<StepSpec> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let definition = Definition::parse(&text)
        .and_then(|d| d.steps())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let step = definition.into_iter().find(|step| step.kind == kind);
    step.ok_or_else(|| anyhow::anyhow!("{}: no {kind} step", path.display()))
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
        (PluginKind::Lifecycle, call @ "allow_change") => {
            let asked = (
                arg(fixture, "order")?,
                arg(fixture, "change")?,
                arg(fixture, "by")?,
            );
            let decided = plugin.allow_change(&asked.0, asked.1, &asked.2, now);
            outcome(
                decided
                    .ok_or_else(|| before_0_4(component, call))?
                    .map_err(fault)?,
                true,
            )
        }
        (PluginKind::Lifecycle, call @ "refund") => {
            let (order, request) = (arg(fixture, "order")?, arg(fixture, "request")?);
            let decided = plugin.refund(&order, &request, now);
            outcome(
                decided
                    .ok_or_else(|| before_0_4(component, call))?
                    .map_err(fault)?,
                true,
            )
        }
        (kind, call) => Err(format!("a {kind} plugin has no call `{call}`").into()),
    }
}

fn before_0_4(component: &LoadedComponent, call: &str) -> Failed {
    let version = component.contract;
    format!("`{call}` is a decision of contract 0.4.0; the plugin is built against {version}")
        .into()
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
