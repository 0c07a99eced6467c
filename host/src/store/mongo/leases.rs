//! What replicas sharing the database coordinate through: the relay's shard leases
//! (`relay_leases`, one document per shard) and heartbeats (`replicas`, one per replica).

use super::documents::date;
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::{Digest, StoreError};
use crate::relay::leases::{LeaseRecord, LeaseStore};
use crate::replicas::{Heartbeat, Heartbeats, LIVE_WITHIN};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use mongodb::options::ReturnDocument;

#[async_trait]
impl LeaseStore for MongoStore {
    async fn leases(&self) -> Result<Vec<LeaseRecord>, StoreError> {
        bounded(async {
            let cursor = self.leases.find(doc! {}).await.map_err(unavailable)?;
            super::documents::all(cursor, |d| {
                Ok(LeaseRecord {
                    shard: d.get_i32("_id").map_err(unavailable)? as u16,
                    holder: d.get_str("holder").unwrap_or_default().to_owned(),
                    token: d.get_i64("token").map_err(unavailable)?,
                    expires_at: d
                        .get_datetime("expires_at")
                        .map_err(unavailable)?
                        .to_chrono(),
                })
            })
            .await
        })
        .await
    }

    async fn claim(
        &self,
        shard: u16,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let id = i32::from(shard);
        bounded(async {
            let taken = self
                .leases
                .find_one_and_update(
                    doc! { "_id": id, "$or": [
                        { "expires_at": { "$lte": date(now) } },
                        { "holder": "" },
                        { "holder": holder },
                    ] },
                    doc! {
                        "$set": { "holder": holder, "expires_at": date(expires_at) },
                        "$inc": { "token": 1_i64 },
                    },
                )
                .return_document(ReturnDocument::After)
                .await
                .map_err(unavailable)?;
            if let Some(lease) = taken {
                return lease.get_i64("token").map(Some).map_err(unavailable);
            }
            // Never leased: the first claim creates the lease; a concurrent first claim
            // makes this one a duplicate, and the shard is someone else's.
            let first = doc! {
                "_id": id, "holder": holder, "token": 1_i64, "expires_at": date(expires_at),
            };
            match self.leases.insert_one(first).await {
                Ok(_) => Ok(Some(1)),
                Err(e) if is_duplicate_key(&e) => Ok(None),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn renew_all(
        &self,
        held: &[(u16, i64)],
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let each: Vec<Document> = (held.iter())
            .map(|(shard, token)| doc! { "_id": i32::from(*shard), "token": token })
            .collect();
        bounded(async {
            let renewed = self
                .leases
                .update_many(
                    doc! { "holder": holder, "$or": each },
                    doc! { "$set": { "expires_at": date(expires_at) } },
                )
                .await
                .map_err(unavailable)?;
            Ok(renewed.matched_count as usize)
        })
        .await
    }

    async fn renew(
        &self,
        shard: u16,
        token: i64,
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        bounded(async {
            let renewed = self
                .leases
                .update_one(
                    held(shard, token, holder),
                    doc! { "$set": { "expires_at": date(expires_at) } },
                )
                .await
                .map_err(unavailable)?;
            Ok(renewed.matched_count == 1)
        })
        .await
    }

    async fn release(&self, shard: u16, token: i64, holder: &str) -> Result<(), StoreError> {
        bounded(async {
            self.leases
                .update_one(
                    held(shard, token, holder),
                    doc! { "$set": { "holder": "", "expires_at": date(Utc::now()) } },
                )
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

/// The lease of `shard` as long as `holder` has it under `token`.
fn held(shard: u16, token: i64, holder: &str) -> Document {
    doc! { "_id": i32::from(shard), "token": token, "holder": holder }
}

#[async_trait]
impl Heartbeats for MongoStore {
    async fn beat(&self, beat: &Heartbeat) -> Result<Vec<Heartbeat>, StoreError> {
        let plugins: Document = beat
            .plugins
            .iter()
            .map(|(name, digest)| (name.clone(), Bson::String(digest.full())))
            .collect();
        let shards: Vec<i32> = beat.shards.iter().map(|s| i32::from(*s)).collect();
        let hourly = bson::serialize_to_bson(&beat.hourly).map_err(unavailable)?;
        let record = doc! {
            "_id": &beat.replica,
            "incarnation": &beat.incarnation,
            "started_at": date(beat.started_at),
            "seen_at": date(beat.seen_at),
            "shards": shards,
            "plugins": plugins,
            "hourly": hourly,
        };
        let sent = std::time::Instant::now();
        bounded(async {
            self.replicas
                .replace_one(doc! { "_id": &beat.replica }, record)
                .upsert(true)
                .await
                .map_err(unavailable)
        })
        .await?;
        // The blocks of stock this process draws are its own while it is heard from.
        self.stock_blocks.heard(&beat.incarnation, sent);
        self.heard_since(beat.seen_at - LIVE_WITHIN).await
    }

    async fn live(&self) -> Result<Vec<Heartbeat>, StoreError> {
        self.heard_since(Utc::now() - LIVE_WITHIN).await
    }
}

impl MongoStore {
    /// The replicas heard from since `since`.
    pub(super) async fn heard_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<Heartbeat>, StoreError> {
        bounded(async {
            let cursor = self
                .replicas
                .find(doc! { "seen_at": { "$gt": date(since) } })
                .sort(doc! { "_id": 1 })
                .await
                .map_err(unavailable)?;
            super::documents::all(cursor, heartbeat_from).await
        })
        .await
    }
}

fn heartbeat_from(d: Document) -> Result<Heartbeat, StoreError> {
    let at = |field: &str| {
        d.get_datetime(field)
            .map(|at| at.to_chrono())
            .map_err(unavailable)
    };
    Ok(Heartbeat {
        replica: d.get_str("_id").map_err(unavailable)?.to_owned(),
        incarnation: d.get_str("incarnation").unwrap_or_default().to_owned(),
        started_at: at("started_at")?,
        seen_at: at("seen_at")?,
        shards: d
            .get_array("shards")
            .map(|a| {
                a.iter()
                    .filter_map(Bson::as_i32)
                    .map(|s| s as u16)
                    .collect()
            })
            .unwrap_or_default(),
        plugins: d
            .get_document("plugins")
            .map(|p| {
                p.iter()
                    .filter_map(|(k, v)| Some((k.clone(), Digest::parse(v.as_str()?)?)))
                    .collect()
            })
            .unwrap_or_default(),
        // A replica of an earlier build sends none.
        hourly: (d.get("hourly").cloned())
            .map_or(Ok(Default::default()), bson::deserialize_from_bson)
            .map_err(unavailable)?,
    })
}
