//! Replays: a stored version of a plugin decides past orders again, on each order's own
//! recorded inputs (its items with the product snapshot it was sold with, its address and
//! discount code, and the `now` it was decided at), and a [`Report`] says what it would
//! have done differently. Ops learn what a rule change does before any customer sees it.
//!
//! A replay runs off the request path, one page of orders at a time on at most
//! [`Replays::workers`] blocking threads shared by every replay of the process, and writes
//! its progress to a [`ReplayLog`] as it goes: it can be read while it runs and cancelled
//! from any replica (with MongoDB, the log is shared).

mod decide;
mod log;
mod report;

pub use decide::{Inputs, call_of, run, stored};
pub use log::{
    DEFAULT_LIMIT, LISTED, MAX_LIMIT, Progress, Replay, ReplayLog, ReplayState, Selection,
};
pub use report::{
    FuelPercentiles, FuelReport, Observation, OrderOutcome, Report, Run, Tally, TotalDifferences,
    Verdicts,
};

use crate::domain::Digest;
use crate::operations::deploy::Deployer;
use crate::orders::{Order, OrderError, OrderQuery, OrderStore, Sort};
use crate::plugins::{BoundPlugin, LoadedComponent, PluginKind};
use crate::plugins::{Registry, Serving};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Orders read from the store at a time.
const PAGE: u32 = 500;

/// Progress is written at most this often (and at the end).
const SAVE_EVERY: Duration = Duration::from_millis(250);

/// The replay use cases: start, read, list, cancel.
pub struct Replays {
    store: Arc<dyn OrderStore>,
    registry: Arc<Registry>,
    deployer: Arc<Deployer>,
    log: Arc<dyn ReplayLog>,
    /// Blocking threads replays may decide on at once, together.
    workers: Arc<Semaphore>,
    parallel: usize,
    replica: String,
}

fn refused(code: &str, message: String, field: &str) -> OrderError {
    OrderError::Refused(vec![crate::domain::Problem {
        code: code.into(),
        message,
        field: Some(field.into()),
    }])
}

/// A workflow's step of the replayed kind, and that step with the candidate.
struct Binding {
    active: Arc<BoundPlugin>,
    candidate: Arc<BoundPlugin>,
}

impl Replays {
    /// Replays decide on at most `workers` threads at once (half the cores leaves the rest
    /// to the requests being served).
    pub fn new(
        store: Arc<dyn OrderStore>,
        registry: Arc<Registry>,
        deployer: Arc<Deployer>,
        log: Arc<dyn ReplayLog>,
        replica: &str,
        workers: usize,
    ) -> Arc<Self> {
        let workers = workers.max(1);
        Arc::new(Replays {
            store,
            registry,
            deployer,
            log,
            workers: Arc::new(Semaphore::new(workers)),
            parallel: workers,
            replica: replica.to_owned(),
        })
    }

    /// Threads a replay's decisions may take by default: half the cores, at least one.
    pub fn workers() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get() / 2)
    }

    /// Starts replaying `digest` of `plugin` over the orders `selection` picks; answers at
    /// once with the replay as it starts.
    pub async fn start(
        self: &Arc<Self>,
        plugin: &str,
        digest: &Digest,
        mut selection: Selection,
        by: &str,
    ) -> Result<Replay, OrderError> {
        let serving = self.registry.current();
        let active = serving
            .components
            .get(plugin)
            .ok_or(OrderError::NotFound)?
            .clone();
        if let Some(channel) = &selection.channel {
            let workflow = self.registry.workflow_for_channel(channel).ok_or_else(|| {
                refused(
                    "unknown_sales_channel",
                    format!("no workflow serves the sales channel `{channel}`"),
                    "channel",
                )
            })?;
            if selection
                .workflow
                .as_ref()
                .is_some_and(|w| *w != workflow.name)
            {
                return Err(refused(
                    "selection_empty",
                    format!(
                        "channel `{channel}` is served by workflow `{}`",
                        workflow.name
                    ),
                    "channel",
                ));
            }
            selection.workflow = Some(workflow.name.clone());
        }
        if let Some(name) = &selection.workflow {
            let uses = serving
                .workflows
                .get(name)
                .map(|w| w.step(plugin).is_some());
            match uses {
                None => {
                    return Err(refused(
                        "unknown_workflow",
                        format!("no workflow `{name}` is loaded"),
                        "workflow",
                    ));
                }
                Some(false) => {
                    return Err(refused(
                        "selection_empty",
                        format!("workflow `{name}` does not use `{plugin}`"),
                        "workflow",
                    ));
                }
                Some(true) => {}
            }
        }
        let candidate =
            (self.deployer.load_version(plugin, digest).await).map_err(|e| e.refusal("digest"))?;
        if candidate.kind != active.kind {
            return Err(refused(
                "plugin_rejected",
                format!(
                    "it makes {} decisions; `{plugin}` makes {} decisions",
                    candidate.kind, active.kind
                ),
                "digest",
            ));
        }
        let now = Utc::now();
        selection.to = Some(selection.to.map_or(now, |to| to.min(now)));
        let replay = Replay {
            id: Uuid::new_v4(),
            plugin: plugin.to_owned(),
            kind: active.kind.to_string(),
            digest: digest.clone(),
            active: active.digest.clone(),
            selection,
            state: ReplayState::Running,
            error: None,
            progress: Progress::default(),
            by: by.to_owned(),
            replica: self.replica.clone(),
            started_at: now,
            updated_at: now,
            finished_at: None,
            orders_per_second: None,
            report: Report::default(),
        };
        self.log.save(&replay).await?;
        let this = self.clone();
        let running = replay.clone();
        tokio::spawn(async move { this.run(running, candidate, serving).await });
        Ok(replay)
    }

    pub async fn get(&self, plugin: &str, id: Uuid) -> Result<Replay, OrderError> {
        match self.log.get(id).await? {
            Some(replay) if replay.plugin == plugin => Ok(replay.seen_at(Utc::now())),
            _ => Err(OrderError::NotFound),
        }
    }

    pub async fn list(&self, plugin: &str) -> Result<Vec<Replay>, OrderError> {
        let now = Utc::now();
        let replays = self.log.list(plugin).await?;
        Ok(replays.into_iter().map(|r| r.seen_at(now)).collect())
    }

    /// Asks a running replay to stop (it stops after the page it is deciding); a replay
    /// that ended is left as it is.
    pub async fn cancel(&self, plugin: &str, id: Uuid) -> Result<Replay, OrderError> {
        let replay = self.get(plugin, id).await?;
        if replay.state == ReplayState::Running {
            self.log.cancel(id).await?;
        }
        Ok(replay)
    }

    /// Runs a started replay to its end, writing its progress as it goes.
    async fn run(
        self: Arc<Self>,
        mut replay: Replay,
        candidate: Arc<LoadedComponent>,
        serving: Arc<Serving>,
    ) {
        let started = Instant::now();
        let outcome = self
            .replay(&mut replay, &candidate, &serving, started)
            .await;
        let now = Utc::now();
        replay.updated_at = now;
        replay.finished_at = Some(now);
        let seconds = started.elapsed().as_secs_f64();
        replay.orders_per_second = (seconds > 0.0).then(|| replay.progress.done as f64 / seconds);
        replay.state = match outcome {
            Ok(true) => ReplayState::Done,
            Ok(false) => ReplayState::Cancelled,
            Err(e) => {
                tracing::warn!(replay = %replay.id, error = %e, "replay failed");
                replay.error = Some(e);
                ReplayState::Failed
            }
        };
        tracing::info!(replay = %replay.id, plugin = %replay.plugin, orders = replay.progress.done,
            state = ?replay.state, "replay ended");
        if let Err(e) = self.log.save(&replay).await {
            tracing::error!(replay = %replay.id, error = %e, "a replay's end could not be recorded");
        }
    }

    /// Decides the selected orders page by page; Ok(false) when cancelled.
    async fn replay(
        &self,
        replay: &mut Replay,
        candidate: &Arc<LoadedComponent>,
        serving: &Serving,
        started: Instant,
    ) -> Result<bool, String> {
        let kind = candidate.kind;
        let call = call_of(kind);
        let limit = u64::from(replay.selection.limit);
        let mut query = OrderQuery {
            status: replay.selection.status.clone(),
            created_from: replay.selection.from,
            created_to: replay.selection.to,
            sort: Sort::NewestFirst,
            page: 1,
            page_size: PAGE,
            ..OrderQuery::default()
        };
        let mut bindings: HashMap<String, Option<Arc<Binding>>> = HashMap::new();
        let mut tally = Tally::default();
        let mut saved = started;
        loop {
            let page = self.store.list(&query).await.map_err(|e| e.to_string())?;
            if query.page == 1 {
                replay.progress.selected = page.total.min(limit);
            }
            let read = page.items.len();
            let mut batch = Vec::new();
            for order in page.items {
                if replay.progress.done + batch.len() as u64 >= limit {
                    break;
                }
                let binding = self.binding(&order, call, replay, serving, candidate, &mut bindings);
                match binding {
                    Some(binding) => batch.push((order, binding)),
                    None => replay.progress.skipped += 1,
                }
            }
            replay.progress.done += batch.len() as u64;
            for seen in self.decide(batch, kind).await? {
                tally.add(seen);
            }
            replay.report = tally.report();
            let finished = read < PAGE as usize || replay.progress.done >= limit;
            if !finished && saved.elapsed() >= SAVE_EVERY {
                saved = Instant::now();
                replay.updated_at = Utc::now();
                self.log.save(replay).await.map_err(|e| e.to_string())?;
            }
            if finished {
                return Ok(true);
            }
            if self
                .log
                .cancelling(replay.id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(false);
            }
            query.page += 1;
        }
    }

    /// The candidate bound to `order`'s workflow, or None when the order is not the
    /// selection's: another workflow, or another plugin decided it.
    fn binding(
        &self,
        order: &Order,
        call: &str,
        replay: &Replay,
        serving: &Serving,
        candidate: &Arc<LoadedComponent>,
        bindings: &mut HashMap<String, Option<Arc<Binding>>>,
    ) -> Option<Arc<Binding>> {
        let workflow = &order.provenance.workflow;
        if replay
            .selection
            .workflow
            .as_ref()
            .is_some_and(|w| w != workflow)
        {
            return None;
        }
        let decided_by_plugin = (order.provenance.decisions.iter())
            .any(|d| d.call == call && d.plugin == replay.plugin);
        if !decided_by_plugin {
            return None;
        }
        bindings
            .entry(workflow.clone())
            .or_insert_with(|| {
                let active = serving.workflows.get(workflow)?.step(&replay.plugin)?.clone();
                match self.deployer.rebind(&active, candidate.clone()) {
                    Ok(candidate) => Some(Arc::new(Binding { active, candidate })),
                    Err(e) => {
                        tracing::warn!(workflow = %workflow, error = %e, "a replay's candidate does not bind to a workflow; its orders are skipped");
                        None
                    }
                }
            })
            .clone()
    }

    /// Decides `batch` on the shared workers, split between as many as may run at once.
    async fn decide(
        &self,
        batch: Vec<(Order, Arc<Binding>)>,
        kind: PluginKind,
    ) -> Result<Vec<Observation>, String> {
        let chunk = batch.len().div_ceil(self.parallel).max(1);
        let mut chunks = Vec::new();
        let mut rest = batch;
        while !rest.is_empty() {
            let tail = rest.split_off(chunk.min(rest.len()));
            chunks.push(std::mem::replace(&mut rest, tail));
        }
        let tasks = chunks.into_iter().map(|chunk| {
            let workers = self.workers.clone();
            async move {
                let _permit = workers.acquire_owned().await.map_err(|e| e.to_string())?;
                tokio::task::spawn_blocking(move || {
                    chunk
                        .iter()
                        .map(|(order, binding)| observe(order, binding, kind))
                        .collect::<Vec<_>>()
                })
                .await
                .map_err(|e| e.to_string())
            }
        });
        let decided = futures_util::future::join_all(tasks).await;
        let mut seen = Vec::new();
        for chunk in decided {
            seen.extend(chunk?);
        }
        Ok(seen)
    }
}

/// One order decided by the candidate, compared with what the order recorded; the active
/// version decides it too, for its fuel.
fn observe(order: &Order, binding: &Binding, kind: PluginKind) -> Observation {
    let draft = order.draft();
    let at = order
        .provenance
        .decisions
        .iter()
        .find(|d| d.call == call_of(kind));
    let inputs = Inputs {
        draft: &draft,
        total: Some(order.pricing.total),
        now: at.map_or(order.created_at, |d| d.at).timestamp_millis(),
    };
    let candidate = run(&binding.candidate, &inputs);
    let same = binding.active.component().digest == binding.candidate.component().digest;
    let baseline_fuel = match same {
        true => candidate.fuel,
        false => run(&binding.active, &inputs).fuel,
    };
    Observation {
        order_id: Some(order.id),
        order_number: Some(order.order_number.as_str().to_owned()),
        baseline: stored(order, kind),
        baseline_fuel,
        candidate,
    }
}
