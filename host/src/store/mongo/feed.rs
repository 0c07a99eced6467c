//! The change feed: how a replica learns at once of what another one wrote (a plugin
//! activated, events added to an order's outbox) without reading the database on a timer.
//! One MongoDB change stream per process, whatever follows it. An idle feed costs one
//! `getMore` per [`WAIT`] on a server that holds it until a change comes (mongod does), and
//! at most one per [`PACE`] on one that answers it empty whenever anything is written
//! (the MongoDB-wire test server does): a follower hears of a change within that. Where
//! the server offers no change streams (a standalone server), the feed says so once and
//! notifies every follower on a timer instead: they then poll, as they would without it.

use super::MongoStore;
use super::live::{committed_of, kept_of_changes};
use bson::doc;
use mongodb::change_stream::event::ResumeToken;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long the server holds an idle feed's `getMore` before answering it empty.
const WAIT: Duration = Duration::from_secs(5);
/// After an empty answer, the feed asks again no sooner than this...
const PACE: Duration = Duration::from_secs(1);
/// ...or this, while live streams follow the orders' writes (`live.rs`): what a stream
/// waits at most for a write through another replica when the server answers empty.
const PACE_FOLLOWED: Duration = Duration::from_millis(50);
/// A broken feed is reopened after this; without a feed, followers are notified this often.
const REOPEN: Duration = Duration::from_secs(1);

/// Who follows which collections: the feed notifies each of the changes to its own.
#[derive(Default)]
pub(super) struct Followers {
    by_collection: Mutex<Vec<(String, Arc<Notify>)>>,
    started: std::sync::atomic::AtomicBool,
}

impl Followers {
    fn notify(&self, collection: Option<&str>) {
        let all = self.by_collection.lock().unwrap_or_else(|e| e.into_inner());
        for (watched, follower) in all.iter() {
            if collection.is_none_or(|c| c == watched) {
                follower.notify_one();
            }
        }
    }
}

impl MongoStore {
    /// Notifies `changed` of every insert, update or replacement in `collections`; the
    /// first follower runs the feed until the process ends, later ones join it.
    pub(super) async fn follow_collections(&self, collections: &[&str], changed: Arc<Notify>) {
        {
            let mut all = (self.followers.by_collection.lock()).unwrap_or_else(|e| e.into_inner());
            all.extend(collections.iter().map(|c| (c.to_string(), changed.clone())));
        }
        if !self
            .followers
            .started
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.feed().await
        }
    }

    async fn feed(&self) {
        let followed = [
            self.orders.name(),
            self.plugins.name(),
            self.workflows.name(),
            self.webhook_endpoints.name(),
        ];
        let mut resume: Option<ResumeToken> = None;
        let mut said = false;
        loop {
            let watched = (self.db.watch())
                .pipeline([
                    doc! { "$match": {
                        "ns.coll": { "$in": followed },
                        "operationType": { "$in": ["insert", "update", "replace"] },
                    } },
                    // Which collection changed is all a follower needs; the live
                    // streams read the events an order's write added.
                    kept_of_changes(),
                ])
                .max_await_time(WAIT)
                .resume_after(resume.clone())
                .await;
            match watched {
                Ok(mut feed) => {
                    said = false;
                    while feed.is_alive() {
                        match feed.next_if_any().await {
                            Ok(Some(change)) => {
                                let collection =
                                    change.ns.as_ref().and_then(|ns| ns.coll.as_deref());
                                if collection == Some(self.orders.name()) {
                                    self.hand_on(&change);
                                }
                                self.followers.notify(collection);
                            }
                            Ok(None) => tokio::time::sleep(self.pace()).await,
                            Err(e) => {
                                tracing::warn!(error = %e, "the change feed broke; reopening");
                                break;
                            }
                        }
                    }
                    resume = feed.resume_token().or(resume);
                }
                Err(e) => {
                    if !said {
                        tracing::warn!(error = %e, "no change feed: polling every second instead");
                        said = true;
                    }
                    // A resume token the server no longer knows would fail forever. The
                    // live streams may miss what was written meanwhile: they are cut, and
                    // resume from the store.
                    if resume.take().is_some()
                        && let Some(feed) = self.live.get()
                    {
                        feed.broke();
                    }
                    self.followers.notify(None);
                }
            }
            tokio::time::sleep(REOPEN).await;
        }
    }

    /// Hands the live streams the events an order's write added, if any stream follows.
    fn hand_on(&self, change: &mongodb::change_stream::event::ChangeStreamEvent<bson::Document>) {
        let Some(feed) = self.live.get().filter(|feed| feed.followed()) else {
            return;
        };
        match committed_of(change) {
            Ok(committed) => feed.publish(committed),
            Err(e) => {
                tracing::warn!(error = %e, "an order's change could not be read for the live streams")
            }
        }
    }

    fn pace(&self) -> Duration {
        match self.live.get().is_some_and(|feed| feed.followed()) {
            true => PACE_FOLLOWED,
            false => PACE,
        }
    }

    /// Notifies `written` whenever any replica writes an order (and so, maybe, events to
    /// its outbox): the relay's wake-up for the shards it holds, wherever the order was
    /// written.
    pub async fn follow_outbox(&self, written: Arc<Notify>) {
        let orders = [self.orders.name()];
        self.follow_collections(&orders, written).await
    }
}
