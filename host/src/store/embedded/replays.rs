//! The replay log and the shadow board on SQLite: `replays`, a row per replay, and
//! `shadows`, a row per plugin and replica (one, here), each holding the JSON the API shows,
//! so that both outlive a restart as they do on MongoDB.

use super::rows::millis;
use super::{EmbeddedStore, unavailable};
use crate::domain::StoreError;
use crate::operations::replays::{LISTED, Replay, ReplayLog};
use crate::operations::shadows::{ReplicaShadow, ShadowBoard};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde::de::DeserializeOwned;
use uuid::Uuid;

fn parsed<T: DeserializeOwned>(json: String) -> Result<T, StoreError> {
    serde_json::from_str(&json).map_err(unavailable)
}

#[async_trait]
impl ReplayLog for EmbeddedStore {
    async fn save(&self, replay: &Replay) -> Result<(), StoreError> {
        let json = serde_json::to_string(replay).map_err(unavailable)?;
        let (id, plugin, started) = (
            replay.id.to_string(),
            replay.plugin.clone(),
            millis(replay.started_at),
        );
        // The cancellation flag is left as a cancel set it.
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO replays (id, plugin, started_at, replay) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET replay = excluded.replay",
            )
            .and_then(|mut s| s.execute(params![id, plugin, started, json]))
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Replay>, StoreError> {
        let found = self
            .read(move |conn| {
                conn.prepare_cached("SELECT replay FROM replays WHERE id = ?1")
                    .and_then(|mut s| s.query_row([id.to_string()], |r| r.get(0)).optional())
                    .map_err(unavailable)
            })
            .await?;
        found.map(parsed).transpose()
    }

    async fn list(&self, plugin: &str) -> Result<Vec<Replay>, StoreError> {
        let plugin = plugin.to_owned();
        let found: Vec<String> = self
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT replay FROM replays WHERE plugin = ?1 ORDER BY started_at DESC LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![plugin, LISTED as i64], |r| r.get(0))?
                        .collect()
                })
                .map_err(unavailable)
            })
            .await?;
        found.into_iter().map(parsed).collect()
    }

    async fn cancel(&self, id: Uuid) -> Result<bool, StoreError> {
        self.write(move |tx| {
            tx.prepare_cached("UPDATE replays SET cancel = 1 WHERE id = ?1")
                .and_then(|mut s| s.execute([id.to_string()]))
                .map(|updated| updated == 1)
                .map_err(unavailable)
        })
        .await
    }

    async fn cancelling(&self, id: Uuid) -> Result<bool, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT cancel FROM replays WHERE id = ?1")
                .and_then(|mut s| s.query_row([id.to_string()], |r| r.get(0)).optional())
                .map(|cancel| cancel == Some(true))
                .map_err(unavailable)
        })
        .await
    }
}

impl EmbeddedStore {
    async fn find_shadows(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Vec<ReplicaShadow>, StoreError> {
        let value = value.to_owned();
        let found: Vec<String> = self
            .read(move |conn| {
                conn.prepare_cached(&format!("SELECT shadow FROM shadows WHERE {column} = ?1"))
                    .and_then(|mut s| s.query_map([value], |r| r.get(0))?.collect())
                    .map_err(unavailable)
            })
            .await?;
        found.into_iter().map(parsed).collect()
    }
}

#[async_trait]
impl ShadowBoard for EmbeddedStore {
    async fn publish(&self, shadow: &ReplicaShadow) -> Result<(), StoreError> {
        let json = serde_json::to_string(shadow).map_err(unavailable)?;
        let (plugin, replica) = (shadow.plugin.clone(), shadow.replica.clone());
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO shadows (plugin, replica, shadow) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![plugin, replica, json]))
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn shadows(&self, plugin: &str) -> Result<Vec<ReplicaShadow>, StoreError> {
        self.find_shadows("plugin", plugin).await
    }

    async fn published_by(&self, replica: &str) -> Result<Vec<ReplicaShadow>, StoreError> {
        self.find_shadows("replica", replica).await
    }
}
