//! Webhook deliveries on MongoDB: `webhook_deliveries`, a document per endpoint and event
//! (a unique index on both, so a commit queued again by another replica adds nothing),
//! `webhook_cursors`, a document per shard saying where its commits were queued up to.

use super::documents::{all, decode, document};
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::StoreError;
use crate::live::Position;
use crate::live::webhooks::DeliveryStore;
use crate::live::webhooks::delivery::{Delivery, State};
use crate::orders::outbox::shard_of;
use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use uuid::Uuid;

fn record(delivery: &Delivery) -> Result<Document, StoreError> {
    Ok(doc! {
        "_id": delivery.id.to_string(),
        "endpoint": delivery.endpoint.to_string(),
        "event_id": delivery.event_id.to_string(),
        "order_id": delivery.order_id.to_string(),
        "shard": i32::from(shard_of(delivery.order_id)),
        "p": delivery.position.commit as i64,
        "pi": i64::from(delivery.position.index),
        "state": delivery.state.as_str(),
        "next_at": bson::DateTime::from_chrono(delivery.next_at),
        "body": &delivery.body,
        "delivery": document(delivery)?,
    })
}

fn delivery(mut record: Document) -> Result<Delivery, StoreError> {
    let mut delivery: Delivery = decode(
        record
            .get_document_mut("delivery")
            .map_err(unavailable)?
            .clone(),
    )?;
    delivery.body = record.get_str("body").map_err(unavailable)?.to_owned();
    delivery.position = Position {
        commit: record.get_i64("p").map_err(unavailable)? as u64,
        index: record.get_i64("pi").map_err(unavailable)? as u32,
    };
    Ok(delivery)
}

#[async_trait]
impl DeliveryStore for MongoStore {
    async fn queue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let records = deliveries
            .iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?;
        bounded(async {
            match self
                .webhook_deliveries
                .insert_many(records)
                .ordered(false)
                .await
            {
                Ok(_) => Ok(()),
                // Queued before: by this replica before a crash, or by another.
                Err(e) if is_duplicate_key(&e) => Ok(()),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn cursors(&self) -> Result<Vec<(u16, Position)>, StoreError> {
        bounded(async {
            let cursor = self
                .webhook_cursors
                .find(doc! {})
                .await
                .map_err(unavailable)?;
            all(cursor, |record| {
                let shard = record.get_i32("_id").map_err(unavailable)? as u16;
                let commit = record.get_i64("p").map_err(unavailable)? as u64;
                let index = record.get_i64("pi").map_err(unavailable)? as u32;
                Ok((shard, Position { commit, index }))
            })
            .await
        })
        .await
    }

    async fn advance(&self, shard: u16, to: Position) -> Result<(), StoreError> {
        let (p, pi) = (to.commit as i64, i64::from(to.index));
        bounded(async {
            // Only forward: a cursor already past `to` is not matched, and the upsert then
            // fails on its `_id`, which is the answer.
            let moved = self
                .webhook_cursors
                .update_one(
                    doc! { "_id": i32::from(shard), "$or": [
                        { "p": { "$lt": p } },
                        { "p": p, "pi": { "$lt": pi } },
                    ] },
                    doc! { "$set": { "p": p, "pi": pi } },
                )
                .upsert(true)
                .await;
            match moved {
                Ok(_) => Ok(()),
                Err(e) if is_duplicate_key(&e) => Ok(()),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn due(
        &self,
        shards: &[u16],
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let shards: Vec<i32> = shards.iter().map(|s| i32::from(*s)).collect();
        let pipeline = [
            doc! { "$match": { "state": "pending", "shard": { "$in": shards } } },
            doc! { "$sort": { "p": 1, "pi": 1 } },
            // The next in line of each order and endpoint.
            doc! { "$group": { "_id": { "e": "$endpoint", "o": "$order_id" }, "first": { "$first": "$$ROOT" } } },
            doc! { "$replaceRoot": { "newRoot": "$first" } },
            doc! { "$match": { "next_at": { "$lte": bson::DateTime::from_chrono(now) } } },
            doc! { "$sort": { "p": 1, "pi": 1 } },
            doc! { "$limit": i64::from(limit) },
        ];
        bounded(async {
            let cursor = self
                .webhook_deliveries
                .aggregate(pipeline)
                .await
                .map_err(unavailable)?;
            all(cursor, delivery).await
        })
        .await
    }

    async fn settle(&self, settled: &Delivery) -> Result<(), StoreError> {
        let change = doc! { "$set": {
            "state": settled.state.as_str(),
            "next_at": bson::DateTime::from_chrono(settled.next_at),
            "delivery": document(settled)?,
        } };
        bounded(async {
            (self
                .webhook_deliveries
                .update_one(doc! { "_id": settled.id.to_string() }, change))
            .await
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        state_of: Option<State>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut filter = doc! { "endpoint": endpoint.to_string() };
        if let Some(wanted) = state_of {
            filter.insert("state", wanted.as_str());
        }
        bounded(async {
            let cursor = (self.webhook_deliveries.find(filter))
                .sort(doc! { "p": -1, "pi": -1 })
                .limit(i64::from(limit))
                .await
                .map_err(unavailable)?;
            all(cursor, delivery).await
        })
        .await
    }

    async fn delivery(&self, id: Uuid) -> Result<Option<Delivery>, StoreError> {
        bounded(async {
            let found = (self
                .webhook_deliveries
                .find_one(doc! { "_id": id.to_string() }))
            .await
            .map_err(unavailable)?;
            found.map(delivery).transpose()
        })
        .await
    }
}
