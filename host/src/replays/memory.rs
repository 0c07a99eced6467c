//! The replay log of one process: replays are kept in memory, the newest [`KEPT`], until the
//! process ends (a replay is a report, rebuilt by running it again).

use super::{LISTED, Replay, ReplayLog};
use crate::orders::StoreError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// Replays kept; the oldest go first.
const KEPT: usize = 200;

#[derive(Default)]
pub struct MemoryLog {
    /// Each replay, and whether it was asked to stop.
    replays: Mutex<HashMap<Uuid, (Replay, bool)>>,
}

impl MemoryLog {
    fn replays(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Replay, bool)>> {
        self.replays.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ReplayLog for MemoryLog {
    async fn save(&self, replay: &Replay) -> Result<(), StoreError> {
        let mut replays = self.replays();
        let cancelling = replays.get(&replay.id).is_some_and(|(_, c)| *c);
        replays.insert(replay.id, (replay.clone(), cancelling));
        if replays.len() > KEPT {
            let oldest = replays
                .values()
                .min_by_key(|(r, _)| r.started_at)
                .map(|(r, _)| r.id);
            replays.remove(&oldest.expect("not empty"));
        }
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<Replay>, StoreError> {
        Ok(self.replays().get(&id).map(|(r, _)| r.clone()))
    }

    async fn list(&self, plugin: &str) -> Result<Vec<Replay>, StoreError> {
        let mut listed: Vec<Replay> = (self.replays().values())
            .filter(|(r, _)| r.plugin == plugin)
            .map(|(r, _)| r.clone())
            .collect();
        listed.sort_by_key(|r| std::cmp::Reverse(r.started_at));
        listed.truncate(LISTED);
        Ok(listed)
    }

    async fn cancel(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .replays()
            .get_mut(&id)
            .map(|(_, c)| *c = true)
            .is_some())
    }

    async fn cancelling(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.replays().get(&id).is_some_and(|(_, c)| *c))
    }
}
