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

use super::replays::{Inputs, Observation, Report, Tally, run};
use crate::domain::StoreError;
use crate::domain::{Money, UnixMillis};
use crate::orders::{Observer, Placement, Witness};
use crate::plugins::{Answer, BoundPlugin, Mode, PluginKind, Verdict, Workflow};
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

/// One live order for a shadow to decide again.
pub struct Job {
    /// The staged version, bound to the order's workflow.
    pub plugin: Arc<BoundPlugin>,
    pub subject: Placement,
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

struct Findings {
    digest: String,
    since: DateTime<Utc>,
    dropped: u64,
    tally: Tally,
    /// Found more since last published.
    changed: bool,
}

impl Findings {
    fn new(digest: String) -> Self {
        Findings {
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

type FindingsByPlugin = Arc<Mutex<HashMap<String, Findings>>>;

/// Every plugin's shadow on this replica.
pub struct Shadows {
    queue: SyncSender<Job>,
    /// By plugin: the version shadowing it and what it found.
    findings: FindingsByPlugin,
    replica: String,
    /// Publishes to the store's board (every replica's findings); without one, this
    /// process's findings live as long as it does.
    publisher: Option<Arc<Publisher>>,
}

fn lock(
    findings: &Mutex<HashMap<String, Findings>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Findings>> {
    findings.lock().unwrap_or_else(|e| e.into_inner())
}

/// The findings of `job`'s plugin, started afresh when another version shadows it now.
fn findings_of<'a>(
    findings: &'a mut HashMap<String, Findings>,
    plugin: &BoundPlugin,
) -> &'a mut Findings {
    let component = plugin.component();
    let digest = component.digest.full();
    let found =
        (findings.entry(component.name.clone())).or_insert_with(|| Findings::new(digest.clone()));
    if found.digest != digest {
        *found = Findings::new(digest);
    }
    found.changed = true;
    found
}

/// What publishes this replica's findings to the board.
struct Publisher {
    findings: FindingsByPlugin,
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
                Ok(before) => resume(&mut lock(&self.findings), before),
                Err(error) => {
                    tracing::warn!(%error, "the shadows' earlier findings were not read");
                    return;
                }
            }
            *resumed = true;
        }
        let changed: Vec<ReplicaShadow> = lock(&self.findings)
            .iter_mut()
            .filter_map(|(plugin, found)| {
                let changed = std::mem::take(&mut found.changed);
                changed.then(|| found.on(plugin, &self.replica, Some(PUBLISHED_SAMPLES)))
            })
            .collect();
        for shadow in changed {
            if let Err(error) = self.board.publish(&shadow).await {
                tracing::warn!(%error, plugin = %shadow.plugin, "a shadow's findings were not published");
                if let Some(found) = lock(&self.findings).get_mut(&shadow.plugin) {
                    found.changed = true;
                }
            }
        }
    }
}

/// Adds what this replica published `before` it started to its shadows of the same versions.
fn resume(findings: &mut HashMap<String, Findings>, before: Vec<ReplicaShadow>) {
    for earlier in before {
        let found = (findings.entry(earlier.plugin)).or_insert_with(|| Findings {
            changed: false,
            ..Findings::new(earlier.digest.clone())
        });
        if found.digest == earlier.digest {
            found.since = found.since.min(earlier.since);
            found.dropped += earlier.dropped;
            found.tally.merge(earlier.tally);
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
        let findings: FindingsByPlugin = Arc::default();
        let worker = findings.clone();
        // One blocking thread, for good: the decisions are CPU work, and one core's idle
        // time is the most a shadow may take.
        tokio::task::spawn_blocking(move || {
            idle_class();
            work(&jobs, &worker)
        });
        let publisher = board.map(|board| {
            Arc::new(Publisher {
                findings: findings.clone(),
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
            findings,
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
        let own = (lock(&self.findings).get(plugin)).map(|w| w.on(plugin, &self.replica, samples));
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
fn work(jobs: &Receiver<Job>, findings: &Mutex<HashMap<String, Findings>>) {
    while let Ok(job) = jobs.recv() {
        let (draft, order) = match job.subject {
            Placement::Placed(order) => (order.draft(), Some(order)),
            Placement::Refused(draft) => (*draft, None),
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
        let mut findings = lock(findings);
        findings_of(&mut findings, &job.plugin).tally.add(seen);
    }
}

impl Observer for Shadows {
    /// A witness when a shadow staged in `workflow` samples this order (a counter, not a
    /// coin: no randomness on the request path).
    fn witness(&self, workflow: &Workflow) -> Option<Box<dyn Witness>> {
        let watched: Vec<_> = (workflow.staged.iter())
            .filter(|s| s.mode == Mode::Shadow && s.sampled())
            .map(|staged| (staged.plugin.clone(), None))
            .collect();
        if watched.is_empty() {
            return None;
        }
        Some(Box::new(ShadowWitness {
            queue: self.queue.clone(),
            findings: self.findings.clone(),
            watched,
            total: None,
        }))
    }
}

/// The live answer of a decision and its fuel.
type Seen = (Verdict, u64);

/// One sampled order's shadows, told what the order got as it is decided.
struct ShadowWitness {
    queue: SyncSender<Job>,
    findings: FindingsByPlugin,
    /// Each shadowing version, with the live answer of its kind and its fuel once made.
    watched: Vec<(Arc<BoundPlugin>, Option<Seen>)>,
    /// The priced total, once priced (the lifecycle's creation step is given it).
    total: Option<Money>,
}

impl Witness for ShadowWitness {
    fn decided(&mut self, kind: PluginKind, verdict: Verdict, fuel: u64) {
        if let Ok(Answer::Quote(quote)) = &verdict {
            self.total = Some(quote.total);
        }
        for (plugin, seen) in &mut self.watched {
            if plugin.kind() == kind {
                *seen = Some((verdict.clone(), fuel));
            }
        }
    }

    /// Hands the order to each shadow whose decision was made, or drops it (counted) when
    /// the worker is behind.
    fn finished(self: Box<Self>, placement: Placement, now: DateTime<Utc>) {
        for (plugin, seen) in self.watched {
            let Some((baseline, fuel)) = seen else {
                continue;
            };
            let job = Job {
                plugin,
                subject: placement.clone(),
                total: self.total,
                now: now.timestamp_millis(),
                baseline,
                baseline_fuel: Some(fuel),
            };
            if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
                self.queue.try_send(job)
            {
                findings_of(&mut lock(&self.findings), &job.plugin).dropped += 1;
            }
        }
    }
}
