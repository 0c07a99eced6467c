//! Webhook deliveries on SQLite: `webhook_deliveries`, a row per endpoint and event (unique,
//! so queueing a commit again adds nothing) with the columns the queries need beside the
//! delivery's JSON; `webhook_cursors`, where each shard's commits were queued up to.

use super::rows::{millis, parse};
use super::{EmbeddedStore, unavailable};
use crate::domain::StoreError;
use crate::live::Position;
use crate::live::webhooks::DeliveryStore;
use crate::live::webhooks::delivery::{Delivery, State};
use crate::orders::outbox::{SHARDS, shard_of};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Row, params};
use uuid::Uuid;

const COLUMNS: &str = "delivery, body, position, position_index";

type Stored = (String, String, i64, i64);

fn stored(row: &Row) -> rusqlite::Result<Stored> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn delivery((json, body, commit, index): Stored) -> Result<Delivery, StoreError> {
    let mut delivery: Delivery = parse(&json)?;
    delivery.body = body;
    delivery.position = Position {
        commit: commit as u64,
        index: index as u32,
    };
    Ok(delivery)
}

/// `AND shard IN (…)` for `shards`, nothing when they are all.
fn of_shards(shards: &[u16]) -> String {
    if shards.len() == usize::from(SHARDS) {
        return String::new();
    }
    let list: Vec<String> = shards.iter().map(u16::to_string).collect();
    format!("AND d.shard IN ({})", list.join(","))
}

#[async_trait]
impl DeliveryStore for EmbeddedStore {
    async fn queue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let rows = (deliveries.iter())
            .map(|d| {
                let json = serde_json::to_string(d).map_err(unavailable)?;
                Ok((d.clone(), json))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.write(move |tx| {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO webhook_deliveries (id, endpoint, event_id, order_id, shard, position, position_index, state, next_at, body, delivery)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (endpoint, event_id) DO NOTHING",
                )
                .map_err(unavailable)?;
            for (d, json) in &rows {
                insert
                    .execute(params![
                        d.id.to_string(),
                        d.endpoint.to_string(),
                        d.event_id.to_string(),
                        d.order_id.to_string(),
                        shard_of(d.order_id),
                        d.position.commit as i64,
                        d.position.index,
                        d.state.as_str(),
                        millis(d.next_at),
                        d.body,
                        json,
                    ])
                    .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn cursors(&self) -> Result<Vec<(u16, Position)>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT shard, commit_at, idx FROM webhook_cursors")
                .and_then(|mut s| {
                    s.query_map([], |r| {
                        let (shard, commit, index): (u16, i64, u32) =
                            (r.get(0)?, r.get(1)?, r.get(2)?);
                        Ok((
                            shard,
                            Position {
                                commit: commit as u64,
                                index,
                            },
                        ))
                    })?
                    .collect()
                })
                .map_err(unavailable)
        })
        .await
    }

    async fn advance(&self, shard: u16, to: Position) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO webhook_cursors (shard, commit_at, idx) VALUES (?1, ?2, ?3)
                 ON CONFLICT (shard) DO UPDATE SET commit_at = excluded.commit_at, idx = excluded.idx
                 WHERE (excluded.commit_at, excluded.idx) > (commit_at, idx)",
            )
            .and_then(|mut s| s.execute(params![shard, to.commit as i64, to.index]))
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }

    async fn due(
        &self,
        shards: &[u16],
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_deliveries d
             WHERE d.state = 'pending' AND d.next_at <= ?1 {}
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                   WHERE e.state = 'pending' AND e.endpoint = d.endpoint AND e.order_id = d.order_id
                     AND (e.position, e.position_index) < (d.position, d.position_index))
             ORDER BY d.position, d.position_index LIMIT ?2",
            of_shards(shards)
        );
        let rows: Vec<Stored> = self
            .read(move |conn| {
                conn.prepare_cached(&sql)
                    .and_then(|mut s| s.query_map(params![millis(now), limit], stored)?.collect())
                    .map_err(unavailable)
            })
            .await?;
        rows.into_iter().map(delivery).collect()
    }

    async fn settle(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let json = serde_json::to_string(delivery).map_err(unavailable)?;
        let (id, at, now) = (
            delivery.id.to_string(),
            millis(delivery.next_at),
            delivery.state.as_str(),
        );
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE webhook_deliveries SET state = ?2, next_at = ?3, delivery = ?4 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id, now, at, json]))
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
        let wanted = state_of.map(State::as_str);
        let rows: Vec<Stored> = self
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM webhook_deliveries
                     WHERE endpoint = ?1 AND (?2 IS NULL OR state = ?2)
                     ORDER BY position DESC, position_index DESC LIMIT ?3"
                ))
                .and_then(|mut s| {
                    s.query_map(params![endpoint.to_string(), wanted, limit], stored)?
                        .collect()
                })
                .map_err(unavailable)
            })
            .await?;
        rows.into_iter().map(delivery).collect()
    }

    async fn delivery(&self, id: Uuid) -> Result<Option<Delivery>, StoreError> {
        let rows: Vec<Stored> = self
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM webhook_deliveries WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_map([id.to_string()], stored)?.collect())
                .map_err(unavailable)
            })
            .await?;
        rows.into_iter().next().map(delivery).transpose()
    }
}
