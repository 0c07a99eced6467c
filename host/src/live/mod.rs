//! Live tracking: the events of order changes as they commit, for streams to follow.
//!
//! Every event has a [`Position`] in the order of commits, the same on every replica: the
//! embedded store's outbox sequence; on MongoDB the cluster time of the write that carried
//! it (from the change stream) and its place in that write. A stream resumes from a
//! position by reading the store's commits after it ([`CommitLog::committed_after`]), then
//! goes on from the [`Feed`]: one tail of the store per process, shared by every stream,
//! so a thousand streams cost the store what one does. A commit through any replica reaches
//! every replica's tail, so a stream held by one sees the orders written through another.
//!
//! What a stream carries is the outbox's events, envelope for envelope what Kafka gets, and
//! independent of the relay: a stream goes on while the replica relaying its order's shard
//! is replaced.

pub mod streams;
pub mod webhooks;

use crate::domain::StoreError;
use crate::orders::OrderEvent;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// Batches of commits the feed keeps for streams that read slower than commits come: a
/// stream that falls further behind is cut off with its resume position (and resumes from
/// the store), so memory stays bounded whatever the readers do.
const KEPT_BATCHES: usize = 4096;
/// A tail with nothing announced looks again after this: the safety net under the store's
/// own notifications.
pub const TAIL_REST: Duration = Duration::from_secs(1);

/// Where an event stands in the order of commits: `commit` orders the writes, `index` the
/// events of one write. Written `commit-index` (a stream's event id).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub struct Position {
    pub commit: u64,
    pub index: u32,
}

impl Position {
    /// Before every commit.
    pub const START: Position = Position {
        commit: 0,
        index: 0,
    };

    /// After every event of `commit`: where a stream that has seen that write stands.
    pub fn after_commit(commit: u64) -> Position {
        Position {
            commit,
            index: u32::MAX,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.commit, self.index)
    }
}

impl From<Position> for String {
    fn from(position: Position) -> String {
        position.to_string()
    }
}

impl TryFrom<String> for Position {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl FromStr for Position {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "a stream position is two numbers joined by '-'";
        let (commit, index) = text.split_once('-').ok_or(SHAPE)?;
        Ok(Position {
            commit: commit.parse().map_err(|_| SHAPE)?,
            index: index.parse().map_err(|_| SHAPE)?,
        })
    }
}

/// An event as committed: its place and its envelope, serialised once for every stream.
#[derive(Debug)]
pub struct Committed {
    pub position: Position,
    pub event: OrderEvent,
    /// The envelope as Kafka gets it.
    pub json: String,
}

impl Committed {
    pub fn new(position: Position, event: OrderEvent) -> Result<Self, StoreError> {
        let json =
            serde_json::to_string(&event).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Committed {
            position,
            event,
            json,
        })
    }
}

/// The commits of a store, in commit order: what streams read. Each store implements it
/// beside its orders.
#[async_trait]
pub trait CommitLog: Send + Sync + 'static {
    /// The events committed after `after`, oldest first, at most `limit`: those the store
    /// holds now. An empty answer means the reader has caught up.
    async fn committed_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<Committed>, StoreError>;

    /// The position of the last commit now: a stream that starts now begins after it.
    async fn last_position(&self) -> Result<Position, StoreError>;

    /// Hands `feed` every commit from where it asks ([`Feed::wanted`]), in order, until the
    /// process ends.
    async fn tail(&self, feed: Arc<Feed>);
}

/// The process's one tail of the store, shared by its streams.
pub struct Feed {
    sender: broadcast::Sender<Arc<[Committed]>>,
    /// Where the tail goes on from; None while no stream follows (the tail then rests).
    next: Mutex<Option<Position>>,
    /// Told when a stream joins, so a resting tail starts at once.
    joined: Notify,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            sender: broadcast::channel(KEPT_BATCHES).0,
            next: Mutex::new(None),
            joined: Notify::new(),
        }
    }
}

impl Feed {
    /// The commits from now on. Call [`Feed::join`] after, with where the stream stands.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[Committed]>> {
        self.sender.subscribe()
    }

    /// A stream that subscribed stands at `from`: the tail hands on every commit after it
    /// (and maybe some before, which the stream skips).
    pub fn join(&self, from: Position) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        *next = Some(next.map_or(from, |at| at.min(from)));
        drop(next);
        self.joined.notify_one();
    }

    /// Resolves when a stream joined.
    pub async fn joined(&self) {
        self.joined.notified().await
    }

    /// Where the tail should read from: None when no stream follows, and then the tail
    /// forgets its place (the next stream to join says where to start).
    pub fn wanted(&self) -> Option<Position> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if self.sender.receiver_count() == 0 {
            *next = None;
        }
        *next
    }

    /// Whether any stream follows: a tail that is handed every commit anyway (MongoDB's
    /// change stream) decodes them only then.
    pub fn followed(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// The tail may have missed commits (its source broke and could not resume where it
    /// was): every stream is cut, and resumes from the store.
    pub fn broke(&self) {
        let _ = self.sender.send(Arc::from(Vec::new()));
    }

    /// Hands `batch` (in commit order, after every batch before) to the streams.
    pub fn publish(&self, batch: Vec<Committed>) {
        let Some(last) = batch.last().map(|c| c.position) else {
            return;
        };
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
        let _ = self.sender.send(batch.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_as_written_and_order_by_commit_then_index() {
        let p = Position {
            commit: 7_300_000_001,
            index: 2,
        };
        assert_eq!(p.to_string().parse::<Position>(), Ok(p));
        assert!(p < Position::after_commit(7_300_000_001));
        assert!(
            Position::after_commit(7_300_000_001)
                < Position {
                    commit: 7_300_000_002,
                    index: 0
                }
        );
        for bad in ["", "7", "7-", "-1", "a-1", "1-2-3", "1--2"] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_feed_rests_while_nobody_follows_and_starts_where_the_earliest_joiner_stands() {
        let feed = Feed::default();
        assert_eq!(feed.wanted(), None);
        let _first = feed.subscribe();
        feed.join(Position::after_commit(9));
        let _second = feed.subscribe();
        feed.join(Position::after_commit(4));
        assert_eq!(feed.wanted(), Some(Position::after_commit(4)));
        feed.publish(Vec::new());
        assert_eq!(feed.wanted(), Some(Position::after_commit(4)));
        drop((_first, _second));
        assert_eq!(feed.wanted(), None);
    }
}
