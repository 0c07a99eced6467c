//! The webhook endpoints on SQLite: `webhook_endpoints`, a row per endpoint holding its
//! JSON beside the URL that makes it unique.

use super::rows::{millis, parse};
use super::{EmbeddedStore, unavailable};
use crate::domain::StoreError;
use crate::live::webhooks::EndpointStore;
use crate::live::webhooks::endpoint::Endpoint;
use async_trait::async_trait;
use rusqlite::params;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

#[async_trait]
impl EndpointStore for EmbeddedStore {
    async fn add_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        let json = serde_json::to_string(endpoint).map_err(unavailable)?;
        let (id, url, at) = (
            endpoint.id.to_string(),
            endpoint.url.clone(),
            millis(endpoint.created_at),
        );
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO webhook_endpoints (id, url, created_at, endpoint) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (url) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![id, url, at, json]))
            .map(|added| added == 1)
            .map_err(unavailable)
        })
        .await
    }

    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        let rows: Vec<String> = self
            .read(|conn| {
                conn.prepare_cached(
                    "SELECT endpoint FROM webhook_endpoints ORDER BY created_at, id",
                )
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .map_err(unavailable)
            })
            .await?;
        rows.iter().map(|json| parse(json)).collect()
    }

    async fn follow_endpoints(&self, _: Arc<Notify>) {
        // This process is the store's only writer: its own changes notify it.
        std::future::pending().await
    }

    async fn remove_endpoint(&self, id: Uuid) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM webhook_endpoints WHERE id = ?1")
                .and_then(|mut s| s.execute([id]))
                .map(|removed| removed == 1)
                .map_err(unavailable)
        })
        .await
    }
}
