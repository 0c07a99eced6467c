//! Shadows: a staged version decides a share of live orders again after each has been
//! decided for real, and the differences add up in a [`Report`], like a replay's but live.
//!
//! The request path only samples (a counter) and hands the order over: a bounded queue
//! feeds one worker off the async threads, which runs in the idle scheduling class: it takes
//! only CPU time nothing else wants, so a busy service is not slowed by its shadows. When the
//! worker falls behind, the queue is full and the order is dropped from the shadow, counted,
//! never waited for. The staged version keeps no instances prepared ahead (the preparer
//! thread runs at the service's priority): the worker instantiates each at its own.

use super::decide::{Inputs, run};
use super::report::{Observation, Report, Tally, Verdict};
use crate::domain::{Money, OrderDraft, UnixMillis};
use crate::orders::Order;
use crate::runtime::BoundPlugin;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Orders waiting for the shadow worker; more are dropped.
const QUEUE: usize = 4096;

/// The order a shadow decides again.
pub enum Subject {
    /// Placed: shared with the write, its draft rebuilt by the worker (as a replay does).
    Placed(Arc<Order>),
    /// Refused: no order, the draft the plugins refused.
    Refused(Box<OrderDraft>),
}

/// One live order for a shadow to decide again.
pub struct Job {
    /// The staged version, bound to the order's workflow.
    pub plugin: Arc<BoundPlugin>,
    pub subject: Subject,
    /// The order's priced total (the lifecycle's creation step is given it).
    pub total: Option<Money>,
    pub now: UnixMillis,
    /// What the order got.
    pub baseline: Verdict,
    pub baseline_fuel: Option<u64>,
}

/// A plugin's shadow as it runs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShadowReport {
    pub plugin: String,
    /// The shadowing version.
    pub digest: String,
    /// When this version's first order was compared.
    pub since: DateTime<Utc>,
    /// Orders the shadow could not keep up with, not compared.
    pub dropped: u64,
    /// Compared with what each order got.
    pub report: Report,
}

struct Watch {
    digest: String,
    since: DateTime<Utc>,
    dropped: u64,
    tally: Tally,
}

impl Watch {
    fn new(digest: String) -> Self {
        Watch {
            digest,
            since: Utc::now(),
            dropped: 0,
            tally: Tally::default(),
        }
    }
}

/// Every plugin's shadow on this replica.
pub struct Shadows {
    queue: SyncSender<Job>,
    /// By plugin: the version shadowing it and what it found.
    watches: Arc<Mutex<HashMap<String, Watch>>>,
}

fn lock(
    watches: &Mutex<HashMap<String, Watch>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Watch>> {
    watches.lock().unwrap_or_else(|e| e.into_inner())
}

/// The watch of `job`'s plugin, started afresh when another version shadows it now.
fn watch_of<'a>(watches: &'a mut HashMap<String, Watch>, plugin: &BoundPlugin) -> &'a mut Watch {
    let component = plugin.component();
    let digest = component.digest.full();
    let watch =
        (watches.entry(component.name.clone())).or_insert_with(|| Watch::new(digest.clone()));
    if watch.digest != digest {
        *watch = Watch::new(digest);
    }
    watch
}

impl Shadows {
    /// The shadows of this process, with their worker. Call within the tokio runtime.
    pub fn start() -> Arc<Self> {
        let (queue, jobs) = std::sync::mpsc::sync_channel(QUEUE);
        let watches = Arc::new(Mutex::new(HashMap::new()));
        let worker = watches.clone();
        // One blocking thread, for good: the decisions are CPU work, and one core's idle
        // time is the most a shadow may take.
        tokio::task::spawn_blocking(move || {
            idle_class();
            work(&jobs, &worker)
        });
        Arc::new(Shadows { queue, watches })
    }

    /// Hands an order to the shadow, or drops it (counted) when the worker is behind.
    pub fn submit(&self, job: Job) {
        if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
            self.queue.try_send(job)
        {
            let mut watches = lock(&self.watches);
            watch_of(&mut watches, &job.plugin).dropped += 1;
        }
    }

    /// `plugin`'s shadow so far, if it has had an order.
    pub fn report(&self, plugin: &str) -> Option<ShadowReport> {
        let watches = lock(&self.watches);
        let watch = watches.get(plugin)?;
        Some(ShadowReport {
            plugin: plugin.to_owned(),
            digest: watch.digest.clone(),
            since: watch.since,
            dropped: watch.dropped,
            report: watch.tally.report(),
        })
    }
}

/// Moves the calling thread into the idle scheduling class (Linux's `SCHED_IDLE`): it runs
/// only when a core would otherwise be idle. Elsewhere, or if refused, it runs as it is.
fn idle_class() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain system call on the calling thread (pid 0), with a valid parameter.
        let refused = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0;
        if refused {
            tracing::warn!(error = %std::io::Error::last_os_error(), "the shadow worker keeps the service's priority");
        }
    }
}

/// Decides every job handed over, until the service ends.
fn work(jobs: &Receiver<Job>, watches: &Mutex<HashMap<String, Watch>>) {
    while let Ok(job) = jobs.recv() {
        let (draft, order) = match job.subject {
            Subject::Placed(order) => (order.draft(), Some(order)),
            Subject::Refused(draft) => (*draft, None),
        };
        let inputs = Inputs {
            draft: &draft,
            total: job.total,
            now: job.now,
        };
        let candidate = run(&job.plugin, &inputs);
        let seen = Observation {
            order_id: order.as_ref().map(|o| o.id),
            order_number: order.map(|o| o.order_number.as_str().to_owned()),
            baseline: job.baseline,
            baseline_fuel: job.baseline_fuel,
            candidate,
        };
        let mut watches = lock(watches);
        watch_of(&mut watches, &job.plugin).tally.add(seen);
    }
}
