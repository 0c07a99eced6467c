//! MongoDB's commits for live streams: the change stream of `orders` is the order of
//! commits every replica sees alike. A position is a write's cluster time (seconds in the
//! high 32 bits, the count within the second in the low) and the event's place among those
//! the write added to the order's outbox. The process's change feed (`feed.rs`) hands the
//! tail each write as it comes; a resumed stream reads a change stream of its own, started
//! at its position's cluster time.
//!
//! A write's events are the outbox entries the change shows at the order's new version:
//! the whole document for an insert; the fields set for an update (an order's write always
//! sets its `version`; the relay taking events out of the outbox does not, and shows none).

use super::documents::outbox_event;
use super::{MongoStore, bounded, unavailable};
use crate::domain::StoreError;
use crate::live::{CommitLog, Committed, Feed, Position};
use async_trait::async_trait;
use bson::{Bson, Document, Timestamp, doc};
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType};
use std::sync::Arc;
use std::time::Duration;

/// How long a resumed stream's reader waits for the server to say it has nothing newer.
const CAUGHT_UP_WAIT: Duration = Duration::from_millis(100);

pub(super) fn commit_of(time: Timestamp) -> u64 {
    (u64::from(time.time) << 32) | u64::from(time.increment)
}

fn time_of(commit: u64) -> Timestamp {
    Timestamp {
        time: (commit >> 32) as u32,
        increment: commit as u32,
    }
}

/// The pipeline stages that keep what the feed and the streams read of a change.
pub(super) fn kept_of_changes() -> Document {
    doc! { "$project": {
        "_id": 1, "ns": 1, "operationType": 1, "clusterTime": 1,
        "fullDocument.outbox": 1, "fullDocument.version": 1, "updateDescription": 1,
    } }
}

/// The events a change of an order added, in the order it added them.
pub(super) fn committed_of(
    change: &ChangeStreamEvent<Document>,
) -> Result<Vec<Committed>, StoreError> {
    let Some(time) = change.cluster_time else {
        return Ok(Vec::new());
    };
    let (version, entries): (Option<&Bson>, Vec<(usize, &Bson)>) = match change.operation_type {
        OperationType::Insert => {
            let Some(order) = &change.full_document else {
                return Ok(Vec::new());
            };
            let entries = (order.get_array("outbox").ok().into_iter().flatten())
                .enumerate()
                .collect();
            (order.get("version"), entries)
        }
        OperationType::Update => {
            let Some(update) = &change.update_description else {
                return Ok(Vec::new());
            };
            let fields = &update.updated_fields;
            let mut entries = Vec::new();
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("outbox", Bson::Array(all)) => entries.extend(all.iter().enumerate()),
                    (key, value) => {
                        let place = key.strip_prefix("outbox.").and_then(|n| n.parse().ok());
                        entries.extend(place.map(|n: usize| (n, value)));
                    }
                }
            }
            entries.sort_by_key(|(n, _)| *n);
            (fields.get("version"), entries)
        }
        _ => return Ok(Vec::new()),
    };
    let Some(version) = version.and_then(integer) else {
        return Ok(Vec::new());
    };
    let commit = commit_of(time);
    let mut committed = Vec::new();
    for (_, entry) in entries {
        let Bson::Document(entry) = entry else {
            continue;
        };
        let event = outbox_event(entry.clone())?;
        // Entries of earlier writes that the change shows again (an array set whole).
        if event.order.version as i64 != version {
            continue;
        }
        let index = committed.len() as u32;
        committed.push(Committed::new(Position { commit, index }, event)?);
    }
    Ok(committed)
}

/// MongoDB's code for a change stream started before the oldest entry of its oplog.
const HISTORY_LOST: i32 = 286;

fn forgotten_or_unavailable(e: mongodb::error::Error) -> StoreError {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) if c.code == HISTORY_LOST => StoreError::Forgotten,
        _ => unavailable(e),
    }
}

fn integer(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}

/// The changes of `orders`: inserts and updates.
fn orders_changes(store: &MongoStore) -> [Document; 2] {
    [
        doc! { "$match": {
            "ns.coll": store.orders.name(),
            "operationType": { "$in": ["insert", "update"] },
        } },
        kept_of_changes(),
    ]
}

#[async_trait]
impl CommitLog for MongoStore {
    async fn committed_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<Committed>, StoreError> {
        bounded(async {
            let mut changes = (self.db.watch())
                .pipeline(orders_changes(self))
                .start_at_operation_time(time_of(after.commit))
                .max_await_time(CAUGHT_UP_WAIT)
                .await
                .map_err(forgotten_or_unavailable)?;
            let mut committed = Vec::new();
            while committed.len() < limit as usize {
                let next = changes.next_if_any().await;
                let Some(change) = next.map_err(forgotten_or_unavailable)? else {
                    break;
                };
                committed.extend(
                    committed_of(&change)?
                        .into_iter()
                        .filter(|c| c.position > after),
                );
            }
            Ok(committed)
        })
        .await
    }

    async fn last_position(&self) -> Result<Position, StoreError> {
        bounded(async {
            let answer = (self.db.run_command(doc! { "hello": 1 }))
                .await
                .map_err(unavailable)?;
            let time = answer
                .get_timestamp("operationTime")
                .map_err(|_| unavailable("the server did not say its operation time"))?;
            Ok(Position::after_commit(commit_of(time)))
        })
        .await
    }

    async fn tail(&self, feed: Arc<Feed>) {
        // The process's change feed hands the tail every write of an order.
        let _ = self.live.set(feed);
        self.follow_collections(&[], Arc::new(tokio::sync::Notify::new()))
            .await
    }
}
