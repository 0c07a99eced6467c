//! A plugin bound to one workflow's parameters and limits, with instances prepared ahead.
//!
//! Every decision runs in a fresh instance, so nothing leaks from one order to the next.
//! Instantiating and configuring costs tens of microseconds, so it happens ahead of time on
//! a background thread: the request path takes a ready instance, sets its fuel, calls it,
//! and drops it. When the pool runs dry (a burst), the call instantiates inline: slower,
//! never wrong.

use super::checks;
use super::component::{Digest, LoadError, LoadedComponent};
use super::fault::{FaultKind, PluginFault};
use super::wit::{CallError, CallResult, Instance, on_version};
use super::{Limits, PluginKind, StoreState};
use crate::domain::{
    Actor, Machine, OrderDraft, OrderView, PaymentChange, PricedOrder, Problem, Quote,
    StatusChange, Transition, UnixMillis,
};
use crate::metrics::{CallMetrics, Outcome, metrics};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak, mpsc};
use wasmtime::{Engine, Store};

/// Who made a decision: recorded with every order change it leads to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    pub workflow: Arc<str>,
    pub plugin: Arc<str>,
    pub digest: Digest,
}

/// A plugin's answer: a decision, or its refusal with the problems it found.
#[derive(Debug, Clone)]
pub struct Decided<T> {
    pub verdict: Result<T, Vec<Problem>>,
    pub by: Provenance,
    /// Fuel the call burned: a portable measure of its cost.
    pub fuel: u64,
}

struct Prepared {
    store: Store<StoreState>,
    instance: Instance,
}

pub struct BoundPlugin {
    pub component: Arc<LoadedComponent>,
    pub params: String,
    pub limits: Limits,
    provenance: Provenance,
    machine: OnceLock<Machine>,
    /// The metric series of each call this kind makes.
    series: Vec<(&'static str, CallMetrics)>,
    engine: Engine,
    ready: Mutex<Vec<Prepared>>,
    /// Used instances, freed by the preparer in batches.
    spent: Mutex<Vec<Prepared>>,
    target: usize,
    refill_requested: AtomicBool,
    preparer: Preparer,
    this: Weak<BoundPlugin>,
}

impl std::fmt::Debug for BoundPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} bound to workflow {}",
            self.component, self.provenance.workflow
        )
    }
}

impl BoundPlugin {
    pub(crate) fn new(
        engine: &Engine,
        workflow: &str,
        component: Arc<LoadedComponent>,
        params: String,
        limits: Limits,
        target: usize,
        preparer: Preparer,
    ) -> Result<Arc<Self>, LoadError> {
        let series = (component.kind.calls().iter())
            .map(|call| {
                (
                    *call,
                    metrics().plugin_call(workflow, &component.name, call),
                )
            })
            .collect();
        let plugin = Arc::new_cyclic(|this| BoundPlugin {
            provenance: Provenance {
                workflow: workflow.into(),
                plugin: component.name.as_str().into(),
                digest: component.digest.clone(),
            },
            component,
            params,
            limits,
            machine: OnceLock::new(),
            series,
            engine: engine.clone(),
            ready: Mutex::new(Vec::with_capacity(target)),
            spent: Mutex::new(Vec::with_capacity(target)),
            target,
            refill_requested: AtomicBool::new(false),
            preparer,
            this: this.clone(),
        });
        // Try the parameters now, so a bad workflow is refused at load, not on an order.
        match plugin.prepare() {
            Ok(_) => {}
            Err(CallError::Output(refusal)) => return Err(LoadError::Params(refusal)),
            Err(CallError::Wasm(e)) => return Err(LoadError::Start(format!("{e:#}"))),
        }
        if plugin.component.kind == PluginKind::Lifecycle {
            let machine = plugin
                .describe()
                .map_err(|f| LoadError::Start(f.kind.to_string()))?;
            let machine = machine
                .verdict
                .map_err(|_| LoadError::Start("describe refused".into()))?;
            plugin.machine.set(machine).expect("set once, here");
        }
        plugin.refill();
        Ok(plugin)
    }

    pub fn kind(&self) -> PluginKind {
        self.component.kind
    }

    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The lifecycle plugin's state machine (None for other kinds).
    pub fn machine(&self) -> Option<&Machine> {
        self.machine.get()
    }

    /// Instances prepared and waiting for a call.
    pub fn ready_instances(&self) -> usize {
        self.ready.lock().expect("pool lock").len()
    }

    /// A fresh instance, configured with this binding's parameters. A refusal of the
    /// parameters comes back as `CallError::Output`.
    fn prepare(&self) -> Result<Prepared, CallError> {
        let mut store = Store::new(&self.engine, StoreState::new(&self.limits));
        store.limiter(|state| state);
        store.set_fuel(self.limits.fuel)?;
        let instance = self.component.pre.instantiate(&mut store)?;
        if let Err(problems) = on_version!(&instance, i => i.configure(&mut store, &self.params))? {
            let reasons: Vec<String> = problems
                .into_iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect();
            return Err(CallError::Output(reasons.join("; ")));
        }
        Ok(Prepared { store, instance })
    }

    /// Frees the spent instances and tops the pool up; runs on the preparer thread.
    fn refill(&self) {
        drop(std::mem::take(&mut *self.spent.lock().expect("pool lock")));
        while self.ready.lock().expect("pool lock").len() < self.target {
            match self.prepare() {
                Ok(prepared) => self.ready.lock().expect("pool lock").push(prepared),
                Err(_) => break, // the inline path will report it as a fault
            }
        }
        // Cleared last: a call that finds the pool low meanwhile is covered by this round.
        self.refill_requested.store(false, Ordering::Release);
    }

    /// Whether the preparer has work pending for this plugin.
    pub fn refilling(&self) -> bool {
        self.refill_requested.load(Ordering::Acquire)
    }

    fn take(&self) -> Result<Prepared, CallError> {
        let ready = self.ready.lock().expect("pool lock").pop();
        match ready {
            Some(prepared) => Ok(prepared),
            None => self.prepare(),
        }
    }

    /// Leaves the spent instance for the preparer to free, so neither tearing down nor
    /// preparing instances happens on the request path. The preparer is woken only when
    /// the pool runs low: a wake-up is a system call, too dear to pay on every decision.
    /// When the preparer is far behind, the caller frees the instance itself: slower, but
    /// the slots a plugin holds stay bounded.
    fn recycle(&self, spent: Prepared) {
        let mut backlog = self.spent.lock().expect("pool lock");
        if backlog.len() >= BACKLOG {
            drop(backlog);
            drop(spent);
        } else {
            backlog.push(spent);
            drop(backlog);
        }
        let low = self.ready.lock().expect("pool lock").len() <= self.target / 2;
        if low
            && !self.refill_requested.swap(true, Ordering::AcqRel)
            && !self.preparer.request(self.this.clone())
        {
            self.refill_requested.store(false, Ordering::Release);
        }
    }

    fn call_metrics(&self, call: &str) -> CallMetrics {
        let p = &self.provenance;
        metrics().plugin_call(&p.workflow, &p.plugin, call)
    }

    fn fault(&self, kind: FaultKind) -> PluginFault {
        PluginFault {
            plugin: self.component.name.clone(),
            digest: self.component.digest.clone(),
            kind,
        }
    }

    /// Runs one call (`name` for the metrics) and counts how it ended.
    fn decide<T>(
        &self,
        name: &str,
        call: impl FnOnce(&Instance, &mut Store<StoreState>) -> CallResult<T>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<Decided<T>, PluginFault> {
        let result = self.run(call, check);
        let (outcome, fuel) = match &result {
            Ok(d) if d.verdict.is_ok() => (Outcome::Decided, Some(d.fuel)),
            Ok(d) => (Outcome::Refused, Some(d.fuel)),
            Err(_) => (Outcome::Fault, None),
        };
        match self.series.iter().find(|(call, _)| *call == name) {
            Some((_, series)) => series.record(outcome, fuel),
            // Not a call of this kind: it failed as such, and is counted all the same.
            None => self.call_metrics(name).record(outcome, fuel),
        }
        result
    }

    /// Runs one call on a fresh instance, then checks the answer.
    fn run<T>(
        &self,
        call: impl FnOnce(&Instance, &mut Store<StoreState>) -> CallResult<T>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<Decided<T>, PluginFault> {
        let mut prepared = match self.take() {
            Ok(prepared) => prepared,
            Err(CallError::Output(refusal)) => {
                return Err(self.fault(FaultKind::BadOutput(format!(
                    "refused its parameters: {refusal}"
                ))));
            }
            Err(CallError::Wasm(e)) => return Err(self.fault(FaultKind::Trap(format!("{e:#}")))),
        };
        let store = &mut prepared.store;
        let answer = match store.set_fuel(self.limits.fuel) {
            Ok(()) => call(&prepared.instance, store),
            Err(e) => Err(CallError::Wasm(e)),
        };
        let fuel = self.limits.fuel - store.get_fuel().unwrap_or(0);
        // Classify a failure while the store can still tell a memory hog from a trap.
        let fault = match &answer {
            Err(CallError::Wasm(e)) => Some(FaultKind::of(e, store.data(), &self.limits)),
            _ => None,
        };
        self.recycle(prepared);
        let verdict = match answer {
            Ok(verdict) => verdict,
            Err(CallError::Wasm(_)) => return Err(self.fault(fault.expect("classified above"))),
            Err(CallError::Output(why)) => return Err(self.fault(FaultKind::BadOutput(why))),
        };
        let checked = match &verdict {
            Ok(value) => check(value),
            Err(problems) => checks::problems(problems),
        };
        checked.map_err(|why| self.fault(FaultKind::BadOutput(why)))?;
        Ok(Decided {
            verdict,
            by: self.provenance.clone(),
            fuel,
        })
    }

    pub fn validate(
        &self,
        order: &OrderDraft,
        now: UnixMillis,
    ) -> Result<Decided<()>, PluginFault> {
        self.decide(
            "validate",
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
            "price",
            |i, s| on_version!(i, i => i.price(s, order, now)),
            |q| checks::quote(order, q),
        )
    }

    pub fn describe(&self) -> Result<Decided<Machine>, PluginFault> {
        self.decide(
            "describe",
            |i, s| Ok(Ok(on_version!(i, i => i.describe(s))?)),
            |_| Ok(()),
        )
    }

    fn check_transition(&self, from: Option<(&str, &str)>, t: &Transition) -> Result<(), String> {
        let machine = self.machine().ok_or("no state machine described")?;
        checks::transition(machine, from, t)
    }

    /// The creation step. `whole` is the draft the new order comes from, for plugins of
    /// contract 0.1.0, which decide on it.
    pub fn create(
        &self,
        order: &PricedOrder,
        whole: Option<&OrderDraft>,
        now: UnixMillis,
    ) -> Result<Decided<Transition>, PluginFault> {
        self.decide(
            "create",
            |i, s| on_version!(i, i => i.create(s, order, whole, now)),
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
            "change_status",
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
            "change_payment",
            |i, s| on_version!(i, i => i.change_payment(s, order, change, by, now)),
            |t| self.check_transition(from, t),
        )
    }
}

/// The background thread that frees spent instances and prepares new ones. It holds only
/// weak references, so a plugin version replaced by a hot swap is freed as soon as its
/// last call finishes.
#[derive(Clone)]
pub(crate) struct Preparer {
    requests: mpsc::Sender<Weak<BoundPlugin>>,
}

/// Spent instances waiting to be freed per plugin, at most: each holds a pool slot.
const BACKLOG: usize = 64;

impl Preparer {
    /// The thread ends when the last `Preparer` handle is dropped.
    pub(crate) fn spawn() -> Self {
        let (requests, queue) = mpsc::channel::<Weak<BoundPlugin>>();
        std::thread::Builder::new()
            .name("plugin-preparer".into())
            .spawn(move || {
                for plugin in queue {
                    if let Some(plugin) = plugin.upgrade() {
                        plugin.refill();
                    }
                }
            })
            .expect("spawn the plugin preparer thread");
        Preparer { requests }
    }

    /// False once the preparer is gone.
    fn request(&self, plugin: Weak<BoundPlugin>) -> bool {
        self.requests.send(plugin).is_ok()
    }
}
