//! A stream: the events one reader follows, from where it stands, with no gap and no
//! duplicate.
//!
//! Opening one subscribes to the [`Feed`] first and reads the store after, so every event is
//! in one or the other (or both: the stream skips what it sent). A stream of several orders
//! stands at a [`Position`]; one order's stream stands in that order's own event list (its
//! events in version order, kept as long as the order), so it resumes from an event id.

use super::{CommitLog, Committed, Feed, Position};
use crate::domain::StoreError;
use crate::orders::outbox::shard_of;
use crate::orders::{OrderEvent, OrderId, OrderStore};
use futures_util::Stream;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};
use uuid::Uuid;

/// Commits read from the store per page while a resumed stream catches up.
const PAGE: u32 = 500;

/// Which events a stream carries: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interest {
    /// One order's.
    pub order: Option<OrderId>,
    /// One customer's orders'.
    pub user: Option<String>,
    /// Events whose order is in this status.
    pub status: Option<String>,
    /// Orders of this workflow (a channel's).
    pub workflow: Option<String>,
    /// Orders of these outbox shards (the webhooks' queueing, for the shards it leases).
    pub shards: Option<Vec<u16>>,
}

impl Interest {
    pub fn covers(&self, event: &OrderEvent) -> bool {
        self.order.is_none_or(|id| id == event.order_id)
            && self.user.as_ref().is_none_or(|u| *u == event.user_id)
            && (self.status.as_ref()).is_none_or(|s| *s == event.order.status)
            && (self.workflow.as_ref()).is_none_or(|w| *w == event.workflow)
            && (self.shards.as_ref()).is_none_or(|s| s.contains(&shard_of(event.order_id)))
    }
}

/// Where a reconnecting reader stood (its `Last-Event-ID`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resume {
    /// A stream of several orders: after this commit.
    At(Position),
    /// One order's stream: after this event of it.
    After(Uuid),
}

/// What a stream sends.
#[derive(Debug, Clone)]
pub enum Message {
    /// Before any event of a stream started afresh: where it stands, so a reconnect
    /// resumes from there even if no event came.
    Ready(Position),
    /// An event, and the id a reconnect resumes after.
    Event { id: String, committed: Shared },
    /// The reader fell behind what the feed keeps: the stream ends, and the reader resumes
    /// from its last id.
    Cut,
}

/// An event of a batch every stream shares.
#[derive(Debug, Clone)]
pub struct Shared {
    batch: Arc<[Committed]>,
    at: usize,
}

impl std::ops::Deref for Shared {
    type Target = Committed;

    fn deref(&self) -> &Committed {
        &self.batch[self.at]
    }
}

/// Why a stream could not be opened.
#[derive(Debug)]
pub enum Refused {
    /// As many streams are open as the service allows.
    Full,
    /// The resume id names no event of the order.
    UnknownEvent,
    /// The resume position is older than the store keeps.
    Gone,
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Forgotten => Refused::Gone,
            e => Refused::Store(e),
        }
    }
}

/// The streams of this process: the store's commits, the feed and the cap on streams open.
pub struct Streams {
    log: Arc<dyn CommitLog>,
    /// Where one order's history is read.
    store: Arc<dyn OrderStore>,
    feed: Arc<Feed>,
    permits: Arc<Semaphore>,
    /// Set when the server stops: every stream ends.
    closing: watch::Sender<bool>,
}

impl Streams {
    /// Streams over the commits of `log` (`store`'s), at most `cap` open at once; starts
    /// the store's tail.
    pub fn start(log: Arc<dyn CommitLog>, store: Arc<dyn OrderStore>, cap: usize) -> Arc<Self> {
        let feed = Arc::new(Feed::default());
        let tail = (log.clone(), feed.clone());
        tokio::spawn(async move { tail.0.tail(tail.1).await });
        Arc::new(Streams {
            log,
            store,
            feed,
            permits: Arc::new(Semaphore::new(cap)),
            closing: watch::Sender::new(false),
        })
    }

    /// Where the commits stand now.
    pub async fn now(&self) -> Result<Position, StoreError> {
        self.log.last_position().await
    }

    /// Ends every stream: the server is stopping, and a stream never ends on its own.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Opens a stream of the events `interest` covers: from `resume`, else (a stream of
    /// several orders) from now or (one order's) from the order's first event.
    pub async fn open(
        &self,
        interest: Interest,
        resume: Option<Resume>,
    ) -> Result<impl Stream<Item = Message> + Send + use<>, Refused> {
        let permit = (self.permits.clone().try_acquire_owned()).map_err(|_| Refused::Full)?;
        let live = self.feed.subscribe();
        let now = self.log.last_position().await?;
        self.feed.join(now);
        let mut follow = Follow {
            log: self.log.clone(),
            interest,
            live,
            at: now,
            catching_up: false,
            sent: HashSet::new(),
            pending: VecDeque::new(),
            done: false,
            closing: self.closing.subscribe(),
            _permit: permit,
        };
        match (follow.interest.order, resume) {
            (Some(order), resume) => {
                let after = match resume {
                    Some(Resume::After(id)) => Some(id),
                    _ => None,
                };
                follow
                    .replay_order(self.store.as_ref(), order, after)
                    .await?
            }
            (None, Some(Resume::At(position))) => {
                follow.at = position;
                follow.catching_up = true;
                // The first page here, so a position the store no longer holds is refused
                // before the stream starts.
                follow.catch_up().await?;
            }
            (None, _) => follow.pending.push_back(Message::Ready(now)),
        }
        Ok(futures_util::stream::unfold(follow, Follow::step))
    }
}

/// A stream's state.
struct Follow {
    log: Arc<dyn CommitLog>,
    interest: Interest,
    live: broadcast::Receiver<Arc<[Committed]>>,
    /// Every commit up to here was sent or passed over (several orders' streams).
    at: Position,
    /// Reading the store's commits after `at` before the feed's.
    catching_up: bool,
    /// One order's stream: the events its history sent, which the feed may carry again.
    sent: HashSet<Uuid>,
    pending: VecDeque<Message>,
    done: bool,
    closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
}

impl Follow {
    /// Queues `order`'s events after `after` (all without), oldest first.
    async fn replay_order(
        &mut self,
        store: &dyn OrderStore,
        order: OrderId,
        after: Option<Uuid>,
    ) -> Result<(), Refused> {
        let history: Vec<OrderEvent> = (store.events(order).await?)
            .into_iter()
            .map(|stored| stored.event)
            .collect();
        let start = match after {
            None => 0,
            Some(id) => {
                (history.iter().position(|e| e.event_id == id)).ok_or(Refused::UnknownEvent)? + 1
            }
        };
        self.sent = history.iter().map(|e| e.event_id).collect();
        let batch: Arc<[Committed]> = (history.into_iter().skip(start))
            .map(|event| Committed::new(Position::START, event))
            .collect::<Result<Vec<_>, _>>()?
            .into();
        self.pending.extend((0..batch.len()).map(|at| {
            let shared = Shared {
                batch: batch.clone(),
                at,
            };
            Message::Event {
                id: shared.event.event_id.to_string(),
                committed: shared,
            }
        }));
        Ok(())
    }

    /// Reads the next page of commits after `at`; an empty one ends the catching up.
    async fn catch_up(&mut self) -> Result<(), StoreError> {
        let page = self.log.committed_after(self.at, PAGE).await?;
        if page.is_empty() {
            self.catching_up = false;
        } else {
            self.queue(page.into());
        }
        Ok(())
    }

    /// Queues what `batch` holds for this stream after where it stands.
    fn queue(&mut self, batch: Arc<[Committed]>) {
        for (at, committed) in batch.iter().enumerate() {
            let new = match self.interest.order {
                Some(_) => !self.sent.contains(&committed.event.event_id),
                None => committed.position > self.at,
            };
            if new && self.interest.covers(&committed.event) {
                let id = match self.interest.order {
                    Some(_) => committed.event.event_id.to_string(),
                    None => committed.position.to_string(),
                };
                let committed = Shared {
                    batch: batch.clone(),
                    at,
                };
                self.pending.push_back(Message::Event { id, committed });
            }
        }
        if let Some(last) = batch.last() {
            self.at = self.at.max(last.position);
        }
    }

    async fn step(mut self) -> Option<(Message, Self)> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Some((message, self));
            }
            if self.done {
                return None;
            }
            if self.catching_up {
                if let Err(e) = self.catch_up().await {
                    tracing::warn!(error = %e, "a stream could not read the store; cut off");
                    self.cut();
                }
                continue;
            }
            let received = tokio::select! {
                received = self.live.recv() => received,
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            match received {
                // The feed may have missed commits: resumed from the store, nothing is.
                Ok(batch) if batch.is_empty() => self.cut(),
                Ok(batch) => self.queue(batch),
                Err(RecvError::Lagged(_)) => self.cut(),
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn cut(&mut self) {
        self.pending.push_back(Message::Cut);
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::KEPT_BATCHES;
    use crate::orders::OrderNumber;
    use crate::store::EmbeddedStore;
    use crate::store::conformance::sample_order;
    use futures_util::StreamExt;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_stream_read_slower_than_the_feed_keeps_is_cut_and_resumes_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(&dir.path().join("orders.db")).unwrap());
        let streams = Streams::start(store.clone(), store.clone(), 4);
        let everyone = Interest::default();
        let stalled = streams.open(everyone.clone(), None).await.unwrap();
        let mut stalled = std::pin::pin!(stalled);
        let Some(Message::Ready(start)) = stalled.next().await else {
            panic!("a stream starts ready");
        };
        // More batches than the feed keeps, while the stream is not read: each write
        // waits for the tail to hand it on, so each is a batch of its own.
        let mut placed = Vec::new();
        for _ in 0..KEPT_BATCHES + 10 {
            let mut order = sample_order("u1", 100);
            loop {
                // Thousands of numbers of one day: one may come twice.
                order.order_number = OrderNumber::generate(chrono::Utc::now());
                let events =
                    OrderEvent::all(order.clone(), &["order.created".into()], order.created_at);
                match store.insert(&order, &events, None, &[]).await {
                    Err(StoreError::DuplicateNumber) => continue,
                    inserted => break drop(inserted.unwrap()),
                }
            }
            placed.push(order.id);
            while streams
                .feed
                .next
                .lock()
                .unwrap()
                .is_none_or(|at| at.commit < placed.len() as u64)
            {
                tokio::task::yield_now().await;
            }
        }
        assert!(matches!(stalled.next().await, Some(Message::Cut)));
        assert!(stalled.next().await.is_none(), "a cut stream ends");
        // Resumed from where it stood: every event, from the store.
        let resumed = streams
            .open(everyone, Some(Resume::At(start)))
            .await
            .unwrap();
        let orders: Vec<OrderId> = resumed
            .take(placed.len())
            .map(|message| match message {
                Message::Event { committed, .. } => committed.event.order_id,
                other => panic!("{other:?}"),
            })
            .collect()
            .await;
        assert_eq!(orders, placed);
    }
}
