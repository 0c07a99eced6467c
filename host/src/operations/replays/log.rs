//! A replay as it is kept: what it selects, how far it got, its report, and the log that
//! keeps replays (the store's: one process's SQLite file, or MongoDB for replicas, so any
//! replica reads, lists and cancels any replay).

use super::Report;
use crate::domain::{Digest, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// A running replay whose log was not written for this long belongs to a replica that
/// stopped: it is shown as failed.
const ABANDONED: Duration = Duration::from_secs(30);

/// The orders replayed unless the request says otherwise, and the most it may ask for.
pub const DEFAULT_LIMIT: u32 = 1_000;
pub const MAX_LIMIT: u32 = 100_000;

/// Which past orders a replay decides again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Selection {
    /// Orders placed through this workflow only.
    pub workflow: Option<String>,
    /// Orders of the workflow serving this sales channel only.
    pub channel: Option<String>,
    /// Orders in this status only.
    pub status: Option<String>,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before (at most the replay's start).
    pub to: Option<DateTime<Utc>>,
    /// The newest this many orders that match.
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    Running,
    Done,
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    /// Orders the selection is expected to hold (known once the first page is read).
    pub selected: u64,
    /// Orders decided and compared so far.
    pub done: u64,
    /// Orders of the date range and status that another plugin, or a workflow no longer
    /// loaded, decided: not replayed.
    pub skipped: u64,
}

/// A replay, as it runs and once it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Replay {
    pub id: Uuid,
    pub plugin: String,
    /// `validation`, `pricing` or `lifecycle`.
    pub kind: String,
    /// The candidate version.
    pub digest: Digest,
    /// The version active when the replay started, whose fuel the report compares with.
    pub active: Digest,
    pub selection: Selection,
    pub state: ReplayState,
    /// Why it failed.
    pub error: Option<String>,
    pub progress: Progress,
    /// Who started it.
    pub by: String,
    /// The replica running it.
    pub replica: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub orders_per_second: Option<f64>,
    /// The orders are compared with what each was given when it was placed.
    pub report: Report,
}

impl Replay {
    /// As readers should see it: a replay still marked running whose replica stopped
    /// writing is shown as failed.
    pub(super) fn seen_at(mut self, now: DateTime<Utc>) -> Self {
        let quiet = (now - self.updated_at).to_std().unwrap_or_default();
        if self.state == ReplayState::Running && quiet > ABANDONED {
            self.state = ReplayState::Failed;
            self.error = Some(format!(
                "replica {} stopped writing its progress {}s ago",
                self.replica,
                quiet.as_secs()
            ));
        }
        self
    }
}

/// Where replays are kept while they run and after: the consumer owns the contract, the
/// stores implement it (SQLite for one process, MongoDB for replicas).
#[async_trait]
pub trait ReplayLog: Send + Sync + 'static {
    /// Writes the replay as it is now (its cancellation request, if any, stays).
    async fn save(&self, replay: &Replay) -> Result<(), StoreError>;
    async fn get(&self, id: Uuid) -> Result<Option<Replay>, StoreError>;
    /// The replays of `plugin`, newest first, at most [`LISTED`].
    async fn list(&self, plugin: &str) -> Result<Vec<Replay>, StoreError>;
    /// Asks replay `id` to stop; false when there is no such replay.
    async fn cancel(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Whether replay `id` was asked to stop.
    async fn cancelling(&self, id: Uuid) -> Result<bool, StoreError>;
}

/// The replays a listing shows.
pub const LISTED: usize = 50;
