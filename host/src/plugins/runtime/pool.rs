//! The instances prepared ahead for one bound plugin.
//!
//! Every decision runs in a fresh instance, so nothing leaks from one order to the next.
//! Instantiating and configuring costs tens of microseconds, so it happens ahead of time on
//! a background thread: the request path takes a ready instance, sets its fuel, calls it,
//! and drops it. When the pool runs dry (a burst), the call instantiates inline: slower,
//! never wrong.

use super::component::LoadedComponent;
use super::wit::{CallError, Instance, on_version};
use super::{InstanceState, Limits};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};
use wasmtime::{Engine, Store};

/// An instance configured with its binding's parameters, for one call.
pub(crate) struct Prepared {
    pub(crate) store: Store<InstanceState>,
    pub(crate) instance: Instance,
}

/// One plugin binding's instances: those ready for a call, and the spent ones waiting to be
/// freed, both kept off the request path by the [`Preparer`].
pub struct InstancePool {
    pub(crate) component: Arc<LoadedComponent>,
    pub(crate) params: String,
    pub(crate) limits: Limits,
    engine: Engine,
    ready: Mutex<Vec<Prepared>>,
    /// Used instances, freed by the preparer in batches.
    spent: Mutex<Vec<Prepared>>,
    target: usize,
    refill_requested: AtomicBool,
    preparer: Preparer,
    this: Weak<InstancePool>,
}

impl InstancePool {
    /// An empty pool that keeps `target` instances ready once [`refill`](Self::refill)ed.
    pub(crate) fn new(
        engine: &Engine,
        component: Arc<LoadedComponent>,
        params: String,
        limits: Limits,
        target: usize,
        preparer: Preparer,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| InstancePool {
            component,
            params,
            limits,
            engine: engine.clone(),
            ready: Mutex::new(Vec::with_capacity(target)),
            spent: Mutex::new(Vec::with_capacity(target)),
            target,
            refill_requested: AtomicBool::new(false),
            preparer,
            this: this.clone(),
        })
    }

    /// Instances prepared and waiting for a call.
    pub fn ready(&self) -> usize {
        self.ready.lock().expect("pool lock").len()
    }

    /// Whether the preparer has work pending for this pool.
    pub fn refilling(&self) -> bool {
        self.refill_requested.load(Ordering::Acquire)
    }

    /// A fresh instance, configured with this binding's parameters. A refusal of the
    /// parameters comes back as `CallError::Output`.
    pub(crate) fn prepare(&self) -> Result<Prepared, CallError> {
        let wasi = self.component.wasi;
        let mut store = Store::new(&self.engine, InstanceState::new(&self.limits, wasi));
        store.limiter(|state| state);
        store.set_fuel(self.limits.fuel)?;
        let mut start = || {
            let instance = self.component.pre.instantiate(&mut store)?;
            let configured = on_version!(&instance, i => i.configure(&mut store, &self.params))?;
            Ok::<_, CallError>((instance, configured))
        };
        let (instance, configured) = if wasi {
            super::wasi::outside_async(start)?
        } else {
            start()?
        };
        if let Err(problems) = configured {
            let reasons: Vec<String> = problems
                .into_iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect();
            return Err(CallError::Output(reasons.join("; ")));
        }
        Ok(Prepared { store, instance })
    }

    /// Frees the spent instances and tops the pool up; runs on the preparer thread.
    pub(crate) fn refill(&self) {
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

    /// A ready instance, or one prepared inline when none is.
    pub(crate) fn take(&self) -> Result<Prepared, CallError> {
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
    pub(crate) fn recycle(&self, spent: Prepared) {
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
}

/// The background thread that frees spent instances and prepares new ones. It holds only
/// weak references, so a plugin version replaced by a hot swap is freed as soon as its
/// last call finishes.
#[derive(Clone)]
pub(crate) struct Preparer {
    requests: mpsc::Sender<Weak<InstancePool>>,
}

/// Spent instances waiting to be freed per plugin, at most: each holds a pool slot.
const BACKLOG: usize = 64;

impl Preparer {
    /// The thread ends when the last `Preparer` handle is dropped.
    pub(crate) fn spawn() -> Self {
        let (requests, queue) = mpsc::channel::<Weak<InstancePool>>();
        std::thread::Builder::new()
            .name("plugin-preparer".into())
            .spawn(move || {
                for pool in queue {
                    if let Some(pool) = pool.upgrade() {
                        pool.refill();
                    }
                }
            })
            .expect("spawn the plugin preparer thread");
        Preparer { requests }
    }

    /// False once the preparer is gone.
    fn request(&self, pool: Weak<InstancePool>) -> bool {
        self.requests.send(pool).is_ok()
    }
}
