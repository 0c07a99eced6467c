//! The webhook endpoints on MongoDB: `webhook_endpoints`, a document per endpoint, its URL
//! unique (an index), so two replicas registering one URL at once register it once.

use super::documents::{all, decode, document};
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::StoreError;
use crate::live::webhooks::EndpointStore;
use crate::live::webhooks::endpoint::Endpoint;
use async_trait::async_trait;
use bson::doc;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

#[async_trait]
impl EndpointStore for MongoStore {
    async fn add_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        let mut record = document(endpoint)?;
        record.insert("_id", endpoint.id.to_string());
        bounded(async {
            match self.webhook_endpoints.insert_one(record).await {
                Ok(_) => Ok(true),
                Err(e) if is_duplicate_key(&e) => Ok(false),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        bounded(async {
            let cursor = (self.webhook_endpoints.find(doc! {}))
                .sort(doc! { "created_at": 1, "_id": 1 })
                .await
                .map_err(unavailable)?;
            all(cursor, |mut record| {
                record.remove("_id");
                decode(record)
            })
            .await
        })
        .await
    }

    async fn follow_endpoints(&self, changed: Arc<Notify>) {
        let endpoints = [self.webhook_endpoints.name()];
        self.follow_collections(&endpoints, changed).await
    }

    async fn remove_endpoint(&self, id: Uuid) -> Result<bool, StoreError> {
        bounded(async {
            let removed = (self
                .webhook_endpoints
                .delete_one(doc! { "_id": id.to_string() }))
            .await
            .map_err(unavailable)?;
            Ok(removed.deleted_count == 1)
        })
        .await
    }
}
