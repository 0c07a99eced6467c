//! A plugin bound to one workflow's parameters and limits, and the decisions it makes:
//! `validate`, `price`, and the lifecycle's `describe`, `create`, `change_status` and
//! `change_payment`. Each runs on a fresh instance from the plugin's [`InstancePool`], is
//! counted in the metrics, and has its answer checked ([`checks`]) before anyone sees it.

use super::checks;
use super::runtime::logs::Sampler;
use super::runtime::pool::InstancePool;
use super::runtime::wit::{CallError, CallResult, Instance, on_version};
use super::runtime::{
    Decider, FaultKind, InstanceState, Limits, LoadError, LoadedComponent, Logs, PluginFault,
    PluginKind, RUNTIME_CARRYING_BYTES, Runtime, wasi,
};
use crate::domain::{
    Actor, ChangeKind, Machine, OrderDraft, OrderView, PaymentChange, PricedOrder, Problem, Quote,
    Refund, ReturnRequest, StatusChange, Transition, UnixMillis,
};
use crate::metrics::{CallMetrics, Outcome, metrics};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use wasmtime::Store;

/// A plugin's answer: a decision, or its refusal with the problems it found.
#[derive(Debug, Clone)]
pub struct Decided<T> {
    pub verdict: Result<T, Vec<Problem>>,
    pub by: Decider,
    /// Fuel the call burned: a portable measure of its cost.
    pub fuel: u64,
    /// Linear memory the instance held when it answered, in bytes (what it started with,
    /// `configure` included, and what the call grew).
    pub memory: usize,
    /// What the plugin logged while deciding (contract 0.3.0), within its limits.
    pub logs: Logs,
}

/// A call as the host knows it before making it: its name (for the metrics), the `now` it is
/// made at (what a WASI guest's clocks read) and the order lines it decides on (what its
/// fuel grows with).
struct Call<'a> {
    name: &'a str,
    now: UnixMillis,
    lines: usize,
}

impl<'a> Call<'a> {
    fn of(name: &'a str, now: UnixMillis) -> Self {
        Call {
            name,
            now,
            lines: 0,
        }
    }

    fn on(order: &OrderDraft, name: &'a str, now: UnixMillis) -> Self {
        Call {
            lines: order.items.len(),
            ..Call::of(name, now)
        }
    }
}

pub struct BoundPlugin {
    pool: Arc<InstancePool>,
    decider: Decider,
    machine: OnceLock<Machine>,
    /// The metric series of each call this kind makes.
    series: Vec<(&'static str, CallMetrics)>,
    /// Which decisions' log lines reach the service's log.
    sampler: Arc<Sampler>,
}

impl std::fmt::Debug for BoundPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} bound to workflow {}",
            self.pool.component, self.decider.workflow
        )
    }
}

impl BoundPlugin {
    /// Binds `component` on `runtime` (its engine, preparer and log sampler) and tries its
    /// parameters at once, so a bad workflow is refused at load, not on an order; `target`
    /// instances are then prepared ahead.
    pub(crate) fn new(
        runtime: &Runtime,
        workflow: &str,
        component: Arc<LoadedComponent>,
        params: String,
        limits: Limits,
        target: usize,
    ) -> Result<Arc<Self>, LoadError> {
        let series = (component.kind.calls().iter())
            .map(|call| {
                (
                    *call,
                    metrics().plugin_call(workflow, &component.name, &component.digest, call),
                )
            })
            .collect();
        let decider = Decider {
            workflow: workflow.into(),
            plugin: component.name.as_str().into(),
            digest: component.digest.clone(),
        };
        let pool = InstancePool::new(
            runtime.engine(),
            component,
            params,
            limits,
            target,
            runtime.preparer.clone(),
        );
        let plugin = Arc::new(BoundPlugin {
            pool,
            decider,
            machine: OnceLock::new(),
            series,
            sampler: runtime.sampler.clone(),
        });
        match plugin.pool.prepare() {
            Ok(_) => {}
            Err(CallError::Output(refusal)) => return Err(LoadError::Params(refusal)),
            Err(CallError::Wasm(e)) => return Err(LoadError::Start(format!("{e:#}"))),
        }
        if plugin.kind() == PluginKind::Lifecycle {
            let machine = plugin
                .describe()
                .map_err(|f| LoadError::Start(f.kind.to_string()))?;
            let machine = machine
                .verdict
                .map_err(|_| LoadError::Start("describe refused".into()))?;
            plugin.machine.set(machine).expect("set once, here");
        }
        plugin.pool.refill();
        Ok(plugin)
    }

    pub fn component(&self) -> &Arc<LoadedComponent> {
        &self.pool.component
    }

    /// The workflow's parameters, as the plugin's `configure` is given them (JSON).
    pub fn params(&self) -> &str {
        &self.pool.params
    }

    pub fn limits(&self) -> Limits {
        self.pool.limits
    }

    pub fn kind(&self) -> PluginKind {
        self.pool.component.kind
    }

    pub fn decider(&self) -> &Decider {
        &self.decider
    }

    /// The lifecycle plugin's state machine (None for other kinds).
    pub fn machine(&self) -> Option<&Machine> {
        self.machine.get()
    }

    /// The instances prepared ahead for this plugin.
    pub fn pool(&self) -> &InstancePool {
        &self.pool
    }

    fn call_metrics(&self, call: &str) -> CallMetrics {
        let p = &self.decider;
        metrics().plugin_call(&p.workflow, &p.plugin, &p.digest, call)
    }

    fn fault(&self, kind: FaultKind, logs: Logs) -> PluginFault {
        PluginFault {
            plugin: self.pool.component.name.clone(),
            digest: self.pool.component.digest.clone(),
            kind,
            logs,
        }
    }

    /// Runs one call and counts how it ended.
    fn decide<T: Send>(
        &self,
        call: Call<'_>,
        invoke: impl FnOnce(&Instance, &mut Store<InstanceState>) -> CallResult<T> + Send,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<Decided<T>, PluginFault> {
        let name = call.name;
        let result = self.run(call, invoke, check);
        let (outcome, fuel, logs) = match &result {
            Ok(d) if d.verdict.is_ok() => (Outcome::Decided, Some(d.fuel), &d.logs),
            Ok(d) => (Outcome::Refused, Some(d.fuel), &d.logs),
            Err(f) => (Outcome::Fault, None, &f.logs),
        };
        self.sampler.offer(&self.decider, name, logs);
        match self.series.iter().find(|(call, _)| *call == name) {
            Some((_, series)) => series.record(outcome, fuel),
            // Not a call of this kind: it failed as such, and is counted all the same.
            None => self.call_metrics(name).record(outcome, fuel),
        }
        result
    }

    /// Runs one call on a fresh instance, then checks the answer.
    fn run<T: Send>(
        &self,
        call: Call<'_>,
        invoke: impl FnOnce(&Instance, &mut Store<InstanceState>) -> CallResult<T> + Send,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<Decided<T>, PluginFault> {
        let mut prepared = match self.pool.take() {
            Ok(prepared) => prepared,
            Err(CallError::Output(refusal)) => {
                return Err(self.fault(
                    FaultKind::BadOutput(format!("refused its parameters: {refusal}")),
                    Logs::default(),
                ));
            }
            Err(CallError::Wasm(e)) => {
                return Err(self.fault(FaultKind::Trap(format!("{e:#}")), Logs::default()));
            }
        };
        let store = &mut prepared.store;
        let budget = self.pool.limits.fuel_for(call.lines);
        store.data_mut().logs.open();
        let answer = match store.set_fuel(budget) {
            Ok(()) if self.pool.component.wasi => {
                store.data().set_now(u64::try_from(call.now).unwrap_or(0));
                wasi::outside_async(|| invoke(&prepared.instance, store))
            }
            Ok(()) => invoke(&prepared.instance, store),
            Err(e) => Err(CallError::Wasm(e)),
        };
        let fuel = budget - store.get_fuel().unwrap_or(0);
        let memory = store.data().memory_held;
        let logs = store.data_mut().logs.take();
        // Classify a failure while the store can still tell a memory hog from a trap.
        let fault = match &answer {
            Err(CallError::Wasm(e)) => {
                Some(FaultKind::of(e, store.data(), &self.pool.limits, budget))
            }
            _ => None,
        };
        self.pool.recycle(prepared);
        let verdict = match answer {
            Ok(verdict) => verdict,
            Err(CallError::Wasm(_)) => {
                return Err(self.fault(fault.expect("classified above"), logs));
            }
            Err(CallError::Output(why)) => return Err(self.fault(FaultKind::BadOutput(why), logs)),
        };
        let checked = match &verdict {
            Ok(value) => check(value),
            Err(problems) => checks::problems(problems),
        };
        if let Err(why) = checked {
            return Err(self.fault(FaultKind::BadOutput(why), logs));
        }
        Ok(Decided {
            verdict,
            by: self.decider.clone(),
            fuel,
            memory,
            logs,
        })
    }

    pub fn validate(
        &self,
        order: &OrderDraft,
        now: UnixMillis,
    ) -> Result<Decided<()>, PluginFault> {
        self.decide(
            Call::on(order, "validate", now),
            |i, s| on_version!(i, i => i.validate(s, order, now)),
            |_| Ok(()),
        )
    }

    pub fn price(
        &self,
        order: &OrderDraft,
        now: UnixMillis,
    ) -> Result<Decided<Quote>, PluginFault> {
        self.decide(
            Call::on(order, "price", now),
            |i, s| on_version!(i, i => i.price(s, order, now)),
            |q| checks::quote(order, q),
        )
    }

    pub fn describe(&self) -> Result<Decided<Machine>, PluginFault> {
        self.decide(
            Call::of("describe", 0),
            |i, s| Ok(Ok(on_version!(i, i => i.describe(s))?)),
            |_| Ok(()),
        )
    }

    fn check_transition(&self, from: Option<(&str, &str)>, t: &Transition) -> Result<(), String> {
        let machine = self.machine().ok_or("no state machine described")?;
        checks::transition(machine, from, t)
    }

    /// The creation step.
    pub fn create(
        &self,
        order: &PricedOrder<'_>,
        now: UnixMillis,
    ) -> Result<Decided<Transition>, PluginFault> {
        self.decide(
            Call::on(order.draft, "create", now),
            |i, s| on_version!(i, i => i.create(s, order, now)),
            |t| self.check_transition(None, t),
        )
    }

    pub fn change_status(
        &self,
        order: &OrderView,
        change: &StatusChange,
        by: &Actor,
        now: UnixMillis,
    ) -> Result<Decided<Transition>, PluginFault> {
        let from = Some((order.status.as_str(), order.payment_status.as_str()));
        self.decide(
            Call::of("change_status", now),
            |i, s| on_version!(i, i => i.change_status(s, order, change, by, now)),
            |t| self.check_transition(from, t),
        )
    }

    pub fn change_payment(
        &self,
        order: &OrderView,
        change: &PaymentChange,
        by: &Actor,
        now: UnixMillis,
    ) -> Result<Decided<Transition>, PluginFault> {
        let from = Some((order.status.as_str(), order.payment_status.as_str()));
        self.decide(
            Call::of("change_payment", now),
            |i, s| on_version!(i, i => i.change_payment(s, order, change, by, now)),
            |t| self.check_transition(from, t),
        )
    }

    /// Whether `by` may change this part of `order` now; `None` when the plugin's contract
    /// predates the decision (the caller applies the documented default).
    pub fn allow_change(
        &self,
        order: &OrderView,
        kind: ChangeKind,
        by: &Actor,
        now: UnixMillis,
    ) -> Option<Result<Decided<()>, PluginFault>> {
        self.pool.component.contract.decides_changes().then(|| {
            self.decide(
                Call::of("allow_change", now),
                |i, s| i.allow_change(s, order, kind, by, now),
                |_| Ok(()),
            )
        })
    }

    /// What a return refunds; `None` when the plugin's contract predates the decision.
    pub fn refund(
        &self,
        order: &OrderView,
        request: &ReturnRequest,
        now: UnixMillis,
    ) -> Option<Result<Decided<Refund>, PluginFault>> {
        self.pool.component.contract.decides_changes().then(|| {
            self.decide(
                Call {
                    lines: request.lines.len(),
                    ..Call::of("refund", now)
                },
                |i, s| i.refund(s, order, request, now),
                |r| checks::refund(request, r),
            )
        })
    }
}

/// Binding is where a component meets a workflow: the runtime only compiles.
impl Runtime {
    /// Binds a component to a workflow's parameters and limits. The parameters are tried
    /// here, off the request path: a plugin that refuses them, or fails to start, is
    /// refused before it can serve.
    pub fn bind(
        &self,
        workflow: &str,
        component: Arc<LoadedComponent>,
        expected: PluginKind,
        params: &Value,
        limits: Limits,
    ) -> Result<Arc<BoundPlugin>, LoadError> {
        self.bind_as(workflow, component, expected, params, limits, true)
    }

    /// [`Runtime::bind`], with instances prepared ahead or not (`prepared: false`: each
    /// call instantiates on the thread making it, as a shadow's worker must, since the
    /// preparer would work for it at the service's priority).
    pub fn bind_as(
        &self,
        workflow: &str,
        component: Arc<LoadedComponent>,
        expected: PluginKind,
        params: &Value,
        limits: Limits,
        prepared: bool,
    ) -> Result<Arc<BoundPlugin>, LoadError> {
        // An interpreter's instance holds megabytes and is one of a few hundred decisions a
        // second, not thousands: a few ready ones keep its calls off instantiation.
        let warm = match prepared {
            false => 0,
            true if component.size < RUNTIME_CARRYING_BYTES => self.config.prepared_instances,
            true => self.config.prepared_instances.min(4),
        };
        let params = params.to_string();
        self.bind_step(workflow, component, expected, params, limits, warm)
    }

    /// The same workflow step as `step` (its parameters and limits) with another version
    /// of its component, for a trial or a dry run: nothing is prepared ahead, each call
    /// instantiates.
    pub fn rebind(
        &self,
        step: &BoundPlugin,
        component: Arc<LoadedComponent>,
    ) -> Result<Arc<BoundPlugin>, LoadError> {
        let workflow = step.decider().workflow.clone();
        let params = step.params().to_owned();
        self.bind_step(&workflow, component, step.kind(), params, step.limits(), 0)
    }

    fn bind_step(
        &self,
        workflow: &str,
        component: Arc<LoadedComponent>,
        expected: PluginKind,
        params: String,
        limits: Limits,
        warm: usize,
    ) -> Result<Arc<BoundPlugin>, LoadError> {
        if component.kind != expected {
            return Err(LoadError::WrongKind {
                expected,
                found: component.kind,
            });
        }
        if limits.memory_mib > self.config.max_memory_mib {
            return Err(LoadError::Params(format!(
                "memory_mib {} exceeds this host's maximum of {}",
                limits.memory_mib, self.config.max_memory_mib
            )));
        }
        BoundPlugin::new(self, workflow, component, params, limits, warm)
    }
}
