//! The replay log replicas share: `replays`, one document per replay, holding the replay as
//! the API shows it (JSON text: its counts are unsigned and its report nests deeply, and
//! nothing queries inside it) beside the fields it is found by, and the cancellation flag,
//! which only a cancel sets and a save leaves as it is.

use super::documents::date;
use super::{MongoStore, bounded, unavailable};
use crate::domain::StoreError;
use crate::operations::replays::{LISTED, Replay, ReplayLog};
use async_trait::async_trait;
use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::Collection;
use uuid::Uuid;

impl MongoStore {
    fn replays(&self) -> Collection<Document> {
        self.db.collection("replays")
    }
}

fn replay_of(document: &Document) -> Result<Replay, StoreError> {
    let json = document.get_str("replay").map_err(unavailable)?;
    serde_json::from_str(json).map_err(unavailable)
}

#[async_trait]
impl ReplayLog for MongoStore {
    async fn save(&self, replay: &Replay) -> Result<(), StoreError> {
        let json = serde_json::to_string(replay).map_err(unavailable)?;
        let set = doc! {
            "plugin": &replay.plugin,
            "started_at": date(replay.started_at),
            "replay": json,
        };
        bounded(async {
            self.replays()
                .update_one(doc! { "_id": replay.id.to_string() }, doc! { "$set": set })
                .upsert(true)
                .await
                .map_err(unavailable)
        })
        .await
        .map(drop)
    }

    async fn get(&self, id: Uuid) -> Result<Option<Replay>, StoreError> {
        let found = bounded(async {
            (self
                .replays()
                .find_one(doc! { "_id": id.to_string() })
                .await)
                .map_err(unavailable)
        });
        found.await?.as_ref().map(replay_of).transpose()
    }

    async fn list(&self, plugin: &str) -> Result<Vec<Replay>, StoreError> {
        let found = bounded(async {
            let cursor = self
                .replays()
                .find(doc! { "plugin": plugin })
                .sort(doc! { "started_at": -1 })
                .limit(LISTED as i64)
                .await
                .map_err(unavailable)?;
            cursor.try_collect::<Vec<_>>().await.map_err(unavailable)
        });
        found.await?.iter().map(replay_of).collect()
    }

    async fn cancel(&self, id: Uuid) -> Result<bool, StoreError> {
        let updated = bounded(async {
            (self.replays())
                .update_one(
                    doc! { "_id": id.to_string() },
                    doc! { "$set": { "cancel": true } },
                )
                .await
                .map_err(unavailable)
        });
        Ok(updated.await?.matched_count == 1)
    }

    async fn cancelling(&self, id: Uuid) -> Result<bool, StoreError> {
        let found = bounded(async {
            let replays = self.replays();
            let found = replays
                .find_one(doc! { "_id": id.to_string(), "cancel": true })
                .projection(doc! { "_id": 1 });
            found.await.map_err(unavailable)
        });
        Ok(found.await?.is_some())
    }
}
