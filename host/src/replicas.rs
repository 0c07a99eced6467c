//! Replicas: who this process is, and which replicas of the service are alive.
//!
//! Several replicas on one MongoDB behave as one service. Each has a replica id (from
//! `REPLICA_ID`, or kept in `DATA_DIR` so it is stable across restarts) and, per process, an
//! incarnation (a fresh id each start: two processes never hold a lease as one, even
//! under the same replica id). Every two seconds, and when what it serves changes, a replica
//! writes a heartbeat: what it relays and which version of each plugin it serves. Replicas
//! whose last heartbeat is older than [`LIVE_WITHIN`] count as gone. On the embedded store
//! there is one process and no heartbeat.

use crate::domain::{Digest, StoreError};
use crate::metrics::{HourCount, metrics};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use uuid::Uuid;

/// How often a replica says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A replica not heard from for this long counts as gone.
pub const LIVE_WITHIN: Duration = Duration::from_secs(5);

/// This process: a stable replica id and a per-start incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub replica: String,
    pub incarnation: String,
}

impl Identity {
    /// `REPLICA_ID` when given; otherwise the id kept in `data_dir/replica-id`, made up
    /// (from the host name and a random suffix) the first time.
    pub fn resolve(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let replica = match configured {
            Some(id) => id.to_owned(),
            None => kept_id(data_dir)?,
        };
        Ok(Identity {
            replica,
            incarnation: Uuid::new_v4().to_string(),
        })
    }
}

fn kept_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("replica-id");
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return Ok(id.trim().to_owned());
    }
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    let suffix = &Uuid::new_v4().simple().to_string()[..8];
    let id = if host.is_empty() {
        format!("replica-{suffix}")
    } else {
        format!("{host}-{suffix}")
    };
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, &id)?;
    Ok(id)
}

/// What a replica says of itself every [`HEARTBEAT`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Heartbeat {
    pub replica: String,
    pub incarnation: String,
    pub started_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// The outbox shards it relays.
    pub shards: Vec<u16>,
    /// The version of every plugin it serves, by plugin name.
    pub plugins: BTreeMap<String, Digest>,
    /// Its calls per hour, by plugin: what the API adds up for the whole service.
    #[serde(skip)]
    pub hourly: BTreeMap<String, Vec<HourCount>>,
}

/// Where heartbeats are kept: the store the replicas share.
#[async_trait]
pub trait Heartbeats: Send + Sync + 'static {
    /// Records `beat` and returns every replica heard from within [`LIVE_WITHIN`]
    /// (this one included).
    async fn beat(&self, beat: &Heartbeat) -> Result<Vec<Heartbeat>, StoreError>;
    /// Every replica heard from within [`LIVE_WITHIN`].
    async fn live(&self) -> Result<Vec<Heartbeat>, StoreError>;
}

/// Heartbeats asked for at once at most: a store slower than [`HEARTBEAT`] gets a new one
/// every interval (so the others keep hearing from this replica) but not without bound.
const BEATS_IN_FLIGHT: usize = 3;
/// How long a fresh reading of the replicas is waited for before the last heartbeat's
/// answer is used instead.
const FRESH_WITHIN: Duration = Duration::from_secs(1);

/// What this process knows of the replicas: shared by the heartbeat, the relay's leases
/// and the API.
pub struct Membership {
    pub identity: Identity,
    pub started_at: DateTime<Utc>,
    state: RwLock<State>,
    /// Where the heartbeats are kept, once they run.
    heartbeats: std::sync::OnceLock<Arc<dyn Heartbeats>>,
}

#[derive(Default)]
struct State {
    live: Vec<Heartbeat>,
    /// The heartbeat whose answer `live` is: a later answer to an earlier one is older news.
    answered: u64,
    shards: Vec<u16>,
    /// When a heartbeat was last recorded: the store answered then.
    recorded_at: Option<std::time::Instant>,
}

impl Membership {
    pub fn new(identity: Identity) -> Arc<Self> {
        Arc::new(Membership {
            identity,
            started_at: Utc::now(),
            state: RwLock::new(State::default()),
            heartbeats: std::sync::OnceLock::new(),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The replicas alive at the last heartbeat (empty before the first, or without one).
    pub fn live(&self) -> Vec<Heartbeat> {
        self.read().live.clone()
    }

    /// The replicas alive now, read from the store when it answers within
    /// [`FRESH_WITHIN`], else as the last heartbeat found them: for an operator asking
    /// which versions serve where, a view seconds old would say "not converged" of a change
    /// every replica already serves.
    pub async fn live_now(&self) -> Vec<Heartbeat> {
        let Some(store) = self.heartbeats.get() else {
            return self.live();
        };
        match tokio::time::timeout(FRESH_WITHIN, store.live()).await {
            Ok(Ok(live)) => live,
            _ => self.live(),
        }
    }

    /// How many replicas share the work now: at least this one.
    pub fn live_count(&self) -> usize {
        self.read().live.len().max(1)
    }

    /// The outbox shards this process relays.
    pub fn shards(&self) -> Vec<u16> {
        self.read().shards.clone()
    }

    pub fn set_shards(&self, shards: Vec<u16>) {
        self.write().shards = shards;
    }

    /// Whether a heartbeat was recorded within `within`: the store answered this replica
    /// then (the health probe need not ask it again).
    pub fn recorded_within(&self, within: Duration) -> bool {
        (self.read().recorded_at).is_some_and(|at| at.elapsed() < within)
    }

    /// Says this replica is alive every [`HEARTBEAT`], and at once when what it serves
    /// changes (`changed`), with what `serving` reports of its plugins, until the process
    /// ends. Each heartbeat is asked for without waiting for the last one to answer, so a
    /// slow store does not make this replica look gone. A failed heartbeat is logged: the
    /// others count this replica gone after [`LIVE_WITHIN`] without one, as they should.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn Heartbeats>,
        serving: impl Fn() -> BTreeMap<String, Digest> + Send + 'static,
        mut changed: tokio::sync::watch::Receiver<u64>,
    ) {
        let _ = self.heartbeats.set(store.clone());
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut beats = tokio::task::JoinSet::new();
        let mut asked = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                Ok(()) = changed.changed() => {}
                Some(Ok((number, answer))) = beats.join_next() => {
                    self.answered(number, answer);
                    continue;
                }
            }
            if beats.len() >= BEATS_IN_FLIGHT {
                continue;
            }
            asked += 1;
            let beat = Heartbeat {
                replica: self.identity.replica.clone(),
                incarnation: self.identity.incarnation.clone(),
                started_at: self.started_at,
                seen_at: Utc::now(),
                shards: self.shards(),
                plugins: serving(),
                hourly: metrics().activity().all_hours(Utc::now()),
            };
            let store = store.clone();
            beats.spawn(async move { (asked, store.beat(&beat).await) });
        }
    }

    fn answered(&self, number: u64, answer: Result<Vec<Heartbeat>, StoreError>) {
        match answer {
            Ok(live) => {
                let mut state = self.write();
                state.recorded_at = Some(std::time::Instant::now());
                if number > state.answered {
                    state.answered = number;
                    state.live = live;
                }
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat not recorded"),
        }
    }
}
