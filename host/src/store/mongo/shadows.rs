//! The shadow board replicas share: `shadows`, one document per plugin and replica, holding
//! what that replica's shadow of the plugin found (JSON text, like a replay: nothing queries
//! inside it), replaced each time it publishes.

use super::{MongoStore, bounded, unavailable};
use crate::domain::StoreError;
use crate::operations::shadows::{ReplicaShadow, ShadowBoard};
use async_trait::async_trait;
use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::Collection;

impl MongoStore {
    fn board(&self) -> Collection<Document> {
        self.db.collection("shadows")
    }

    async fn find_shadows(&self, filter: Document) -> Result<Vec<ReplicaShadow>, StoreError> {
        let found = bounded(async {
            let cursor = self.board().find(filter).await.map_err(unavailable)?;
            cursor.try_collect::<Vec<_>>().await.map_err(unavailable)
        });
        (found.await?.iter())
            .map(|document| {
                let json = document.get_str("shadow").map_err(unavailable)?;
                serde_json::from_str(json).map_err(unavailable)
            })
            .collect()
    }
}

#[async_trait]
impl ShadowBoard for MongoStore {
    async fn publish(&self, shadow: &ReplicaShadow) -> Result<(), StoreError> {
        let json = serde_json::to_string(shadow).map_err(unavailable)?;
        let id = format!("{}/{}", shadow.plugin, shadow.replica);
        bounded(async {
            self.board()
                .replace_one(
                    doc! { "_id": &id },
                    doc! {
                        "_id": &id,
                        "plugin": &shadow.plugin,
                        "replica": &shadow.replica,
                        "shadow": json,
                    },
                )
                .upsert(true)
                .await
                .map_err(unavailable)
        })
        .await
        .map(drop)
    }

    async fn shadows(&self, plugin: &str) -> Result<Vec<ReplicaShadow>, StoreError> {
        self.find_shadows(doc! { "plugin": plugin }).await
    }

    async fn published_by(&self, replica: &str) -> Result<Vec<ReplicaShadow>, StoreError> {
        self.find_shadows(doc! { "replica": replica }).await
    }
}
