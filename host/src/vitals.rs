//! What the health probes answer from: figures the service keeps, refreshed in the
//! background, so that `/health`, `/health/live` and `/health/ready` answer at once
//! whatever the store is doing, and cost the store nothing per probe. Every [`PROBE`] the
//! store is pinged (bounded by [`PROBE_TIMEOUT`]) unless this replica's heartbeat reached
//! it meanwhile; every [`COUNT`] the outbox's backlog is
//! counted, and between counts the figure follows what this process wrote to the outbox
//! and published since: exact on one process, and on replicas each one's count adjusted by
//! its own writes and publications (the others' show at the next count).

use crate::metrics::metrics;
use crate::orders::{Backlog, OrderStore};
use crate::replicas::Membership;
use chrono::{DateTime, Utc};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often the store is pinged.
pub const PROBE: Duration = Duration::from_secs(5);
/// How long a ping may take before the store counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the outbox's backlog is counted (a count is a scan on some servers).
pub const COUNT: Duration = Duration::from_secs(10);

/// The figures, as last refreshed.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Whether the store answered the last ping, and why not; None before the first.
    pub store: Option<Result<(), String>>,
    /// When the store last answered a ping.
    pub store_seen_at: Option<DateTime<Utc>>,
    pub backlog: Backlog,
}

#[derive(Default)]
pub struct Vitals {
    figures: RwLock<Figures>,
    /// What this process had written to the outbox and published when the backlog was
    /// last counted.
    flow_at_count: RwLock<(u64, u64)>,
}

impl Vitals {
    /// The figures, the backlog followed since its last count.
    pub fn figures(&self) -> Figures {
        let mut figures = self
            .figures
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (written, published) = metrics().outbox_flow();
        let (w0, p0) = *self.flow_at_count.read().unwrap_or_else(|e| e.into_inner());
        let events = (figures.backlog.events + (written - w0)).saturating_sub(published - p0);
        if events == 0 {
            figures.backlog.oldest = None;
        }
        figures.backlog.events = events;
        figures
    }

    fn update(&self, change: impl FnOnce(&mut Figures)) {
        change(&mut self.figures.write().unwrap_or_else(|e| e.into_inner()));
    }

    /// Whether the store answered its last ping.
    pub fn store_ok(&self) -> bool {
        matches!(self.figures().store, Some(Ok(())))
    }

    /// Refreshes the figures until the process ends; the first time at once. A replica
    /// whose heartbeat the store recorded within the last probe is not pinged: the store
    /// answered it.
    pub async fn run(self: Arc<Self>, store: Arc<dyn OrderStore>, membership: Arc<Membership>) {
        let mut tick = tokio::time::interval(PROBE);
        let counts_every = (COUNT.as_secs() / PROBE.as_secs()).max(1);
        for round in 0u64.. {
            tick.tick().await;
            let answered = membership.recorded_within(PROBE);
            let count = round % counts_every == 0;
            self.refresh(store.as_ref(), answered, count).await;
        }
    }

    /// Pings the store (unless it `answered` already) and, if `count`, counts the backlog.
    pub async fn refresh(&self, store: &dyn OrderStore, answered: bool, count: bool) {
        let ping = async {
            match answered {
                true => Ok(()),
                false => store.ping().await,
            }
        };
        let pinged = match tokio::time::timeout(PROBE_TIMEOUT, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
        };
        if let Err(e) = &pinged {
            tracing::warn!(error = %e, "the store does not answer its health probe");
        }
        let reachable = pinged.is_ok();
        self.update(|f| {
            if reachable {
                f.store_seen_at = Some(Utc::now());
            }
            f.store = Some(pinged);
        });
        if reachable && count {
            let flow = metrics().outbox_flow();
            let counted = tokio::time::timeout(PROBE_TIMEOUT, store.backlog()).await;
            if let Ok(Ok(backlog)) = counted {
                let age = backlog.oldest_age_seconds().unwrap_or(0.0);
                metrics().outbox(backlog.events, age);
                self.update(|f| f.backlog = backlog);
                *self
                    .flow_at_count
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = flow;
            }
        }
    }
}
