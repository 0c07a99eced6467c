//! Shadows: a staged version decides a share of live orders again after each has been
//! decided for real, and the differences add up in a [`Report`], like a replay's but live.
//!
//! The request path only samples (a counter) and hands the order over: a bounded queue
//! feeds one worker off the async threads, which runs in the idle scheduling class: it takes
//! only CPU time nothing else wants, so a busy service is not slowed by its shadows. When the
//! worker falls behind, the queue is full and the order is dropped from the shadow, counted,
//! never waited for. The staged version keeps no instances prepared ahead (the preparer
//! thread runs at the service's priority): the worker instantiates each at its own.
//!
//! Replicas behave as one service: each shadows the orders it answers and publishes what it
//! found to a [`ShadowBoard`] every second (the store's `shadows`), and any replica's report
//! is every replica's findings merged. A process restarted under its replica id takes back
//! what it had published, so findings outlive restarts on either store.

use super::decide::{Inputs, run};
use super::report::{Observation, Report, Tally, Verdict};
use crate::domain::{Money, OrderDraft, UnixMillis};
use crate::orders::{Order, StoreError};
use crate::runtime::BoundPlugin;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Orders waiting for the shadow worker; more are dropped.
const QUEUE: usize = 4096;

/// How often a replica publishes its shadows' findings, when they changed.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// The samples per distribution a replica publishes (and a merged report's percentiles are
/// taken over, from each replica); counts, sums and extremes are exact.
const PUBLISHED_SAMPLES: usize = 4096;

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
    /// The replicas whose orders it covers.
    pub replicas: Vec<String>,
    /// Compared with what each order got.
    pub report: Report,
}

/// What one replica's shadow of a plugin found: what it publishes for the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaShadow {
    pub plugin: String,
    pub replica: String,
    pub digest: String,
    pub since: DateTime<Utc>,
    pub dropped: u64,
    pub tally: Tally,
}

/// Where replicas publish their shadows and read each other's, and where a replica restarted
/// finds what it had found. The shadows own the trait; both stores implement it.
#[async_trait]
pub trait ShadowBoard: Send + Sync + 'static {
    /// Replaces what `shadow.replica` published of `shadow.plugin`.
    async fn publish(&self, shadow: &ReplicaShadow) -> Result<(), StoreError>;
    /// What every replica published of `plugin`, of whichever version each shadowed last.
    async fn shadows(&self, plugin: &str) -> Result<Vec<ReplicaShadow>, StoreError>;
    /// What `replica` published, of every plugin.
    async fn published_by(&self, replica: &str) -> Result<Vec<ReplicaShadow>, StoreError>;
}

struct Watch {
    digest: String,
    since: DateTime<Utc>,
    dropped: u64,
    tally: Tally,
    /// Found more since last published.
    changed: bool,
}

impl Watch {
    fn new(digest: String) -> Self {
        Watch {
            digest,
            since: Utc::now(),
            dropped: 0,
            tally: Tally::default(),
            changed: true,
        }
    }

    fn on(&self, plugin: &str, replica: &str, samples: Option<usize>) -> ReplicaShadow {
        ReplicaShadow {
            plugin: plugin.to_owned(),
            replica: replica.to_owned(),
            digest: self.digest.clone(),
            since: self.since,
            dropped: self.dropped,
            tally: match samples {
                Some(at_most) => self.tally.thinned(at_most),
                None => self.tally.clone(),
            },
        }
    }
}

type Watches = Arc<Mutex<HashMap<String, Watch>>>;

/// Every plugin's shadow on this replica.
pub struct Shadows {
    queue: SyncSender<Job>,
    /// By plugin: the version shadowing it and what it found.
    watches: Watches,
    replica: String,
    /// Publishes to the store's board (every replica's findings); without one, this
    /// process's findings live as long as it does.
    publisher: Option<Arc<Publisher>>,
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
    watch.changed = true;
    watch
}

/// What publishes this replica's findings to the board.
struct Publisher {
    watches: Watches,
    replica: String,
    board: Arc<dyn ShadowBoard>,
    /// Whether what this replica published before it (re)started was taken back; held
    /// while publishing, so a last publish at the end does not cross a periodic one.
    resumed: tokio::sync::Mutex<bool>,
}

impl Publisher {
    /// Publishes each shadow whose findings changed. First it takes back what this replica
    /// published before it restarted: those orders were shadowed, and publishing without
    /// them would erase them. A failed write is published again the next time.
    async fn publish(&self) {
        let mut resumed = self.resumed.lock().await;
        if !*resumed {
            match self.board.published_by(&self.replica).await {
                Ok(before) => resume(&mut lock(&self.watches), before),
                Err(error) => {
                    tracing::warn!(%error, "the shadows' earlier findings were not read");
                    return;
                }
            }
            *resumed = true;
        }
        let changed: Vec<ReplicaShadow> = lock(&self.watches)
            .iter_mut()
            .filter_map(|(plugin, watch)| {
                let changed = std::mem::take(&mut watch.changed);
                changed.then(|| watch.on(plugin, &self.replica, Some(PUBLISHED_SAMPLES)))
            })
            .collect();
        for shadow in changed {
            if let Err(error) = self.board.publish(&shadow).await {
                tracing::warn!(%error, plugin = %shadow.plugin, "a shadow's findings were not published");
                if let Some(watch) = lock(&self.watches).get_mut(&shadow.plugin) {
                    watch.changed = true;
                }
            }
        }
    }
}

/// Adds what this replica published `before` it started to its shadows of the same versions.
fn resume(watches: &mut HashMap<String, Watch>, before: Vec<ReplicaShadow>) {
    for earlier in before {
        let watch = (watches.entry(earlier.plugin)).or_insert_with(|| Watch {
            changed: false,
            ..Watch::new(earlier.digest.clone())
        });
        if watch.digest == earlier.digest {
            watch.since = watch.since.min(earlier.since);
            watch.dropped += earlier.dropped;
            watch.tally.merge(earlier.tally);
        }
    }
}

/// `parts` of one version's shadow, merged.
fn merged(parts: Vec<ReplicaShadow>) -> Option<ShadowReport> {
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    let mut report = ShadowReport {
        plugin: first.plugin,
        digest: first.digest,
        since: first.since,
        dropped: first.dropped,
        replicas: vec![first.replica],
        report: Report::default(),
    };
    let mut tally = first.tally;
    for part in parts {
        report.since = report.since.min(part.since);
        report.dropped += part.dropped;
        report.replicas.push(part.replica);
        tally.merge(part.tally);
    }
    report.replicas.sort();
    report.report = tally.report();
    Some(report)
}

impl Shadows {
    /// The shadows of `replica`, with their worker, publishing to `board` when there is
    /// one, having taken back what the replica published before it restarted (so a report
    /// read as soon as it serves has it). Call within the tokio runtime.
    pub async fn start(replica: &str, board: Option<Arc<dyn ShadowBoard>>) -> Arc<Self> {
        let (queue, jobs) = std::sync::mpsc::sync_channel(QUEUE);
        let watches: Watches = Arc::default();
        let worker = watches.clone();
        // One blocking thread, for good: the decisions are CPU work, and one core's idle
        // time is the most a shadow may take.
        tokio::task::spawn_blocking(move || {
            idle_class();
            work(&jobs, &worker)
        });
        let publisher = board.map(|board| {
            Arc::new(Publisher {
                watches: watches.clone(),
                replica: replica.to_owned(),
                board,
                resumed: Default::default(),
            })
        });
        if let Some(publisher) = &publisher {
            // The first tick is now: the take-back, before the service answers.
            let mut ticks = tokio::time::interval(PUBLISH_EVERY);
            ticks.tick().await;
            publisher.publish().await;
            let periodic = publisher.clone();
            tokio::spawn(async move {
                loop {
                    ticks.tick().await;
                    periodic.publish().await;
                }
            });
        }
        Arc::new(Shadows {
            queue,
            watches,
            replica: replica.to_owned(),
            publisher,
        })
    }

    /// Publishes what was found since the last tick: called as the service stops, so a
    /// restart loses none of it.
    pub async fn publish(&self) {
        if let Some(publisher) = &self.publisher {
            publisher.publish().await;
        }
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

    /// `plugin`'s shadow by the `staged` version (none staged: by the version shadowed most
    /// recently), over every replica's orders so far; none before its first order.
    pub async fn report(
        &self,
        plugin: &str,
        staged: Option<&str>,
    ) -> Result<Option<ShadowReport>, StoreError> {
        let mut parts: Vec<ReplicaShadow> = match &self.publisher {
            Some(publisher) => publisher.board.shadows(plugin).await?,
            None => Vec::new(),
        };
        parts.retain(|part| part.replica != self.replica);
        // Beside other replicas' parts, this replica's is thinned like theirs, so that each
        // replica weighs the same in the percentiles; alone, it is whole.
        let samples = (!parts.is_empty()).then_some(PUBLISHED_SAMPLES);
        let own = (lock(&self.watches).get(plugin)).map(|w| w.on(plugin, &self.replica, samples));
        parts.extend(own);
        let newest = parts.iter().max_by_key(|part| part.since);
        let Some(digest) = staged
            .map(str::to_owned)
            .or(newest.map(|p| p.digest.clone()))
        else {
            return Ok(None);
        };
        parts.retain(|part| part.digest == digest);
        Ok(merged(parts))
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
