//! The embedded store's commits for live streams: the outbox's `seq` is the order of commits
//! (one writer, which numbers events as it commits them), so a position is a `seq`, and the
//! tail reads the rows after the last it handed on whenever the writer commits.

use super::rows::{EVENTS_WITH_ORDERS, OutboxRow};
use super::{EmbeddedStore, unavailable};
use crate::domain::StoreError;
use crate::live::{CommitLog, Committed, Feed, Position, TAIL_REST};
use async_trait::async_trait;
use std::sync::Arc;

/// Rows the tail reads at once.
const PAGE: u32 = 1000;

fn position(seq: i64) -> Position {
    Position {
        commit: seq.max(0) as u64,
        index: 0,
    }
}

#[async_trait]
impl CommitLog for EmbeddedStore {
    async fn committed_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<Committed>, StoreError> {
        // Every position is a whole `seq` (index 0): the events after one are those after
        // its `seq`.
        let after = i64::try_from(after.commit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut s = conn
                .prepare_cached(&format!(
                    "{EVENTS_WITH_ORDERS} WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2"
                ))
                .map_err(unavailable)?;
            let rows: Vec<OutboxRow> = s
                .query_map(rusqlite::params![after, limit], OutboxRow::read)
                .and_then(|rows| rows.collect())
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|row| {
                    let at = position(row.seq);
                    Committed::new(at, row.event()?)
                })
                .collect()
        })
        .await
    }

    async fn last_position(&self) -> Result<Position, StoreError> {
        self.read(|conn| {
            let seq: Option<i64> = conn
                .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))
                .map_err(unavailable)?;
            Ok(position(seq.unwrap_or(0)))
        })
        .await
    }

    async fn tail(&self, feed: Arc<Feed>) {
        loop {
            tokio::select! {
                _ = self.db.committed.notified() => {}
                _ = feed.joined() => {}
                _ = tokio::time::sleep(TAIL_REST) => {}
            }
            while let Some(after) = feed.wanted() {
                match self.committed_after(after, PAGE).await {
                    Ok(page) => {
                        let more = page.len() == PAGE as usize;
                        feed.publish(page);
                        if !more {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the live tail could not read the outbox");
                        break;
                    }
                }
            }
        }
    }
}
