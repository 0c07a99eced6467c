//! The change feed: how a replica learns at once of what another one wrote (a plugin
//! activated, events added to an order's outbox) without reading the database on a timer.
//! One MongoDB change stream per process, whatever follows it. An idle feed costs one
//! `getMore` per [`WAIT`] on a server that holds it until a change comes (mongod does), and
//! at most one per [`PACE`] on one that answers it empty whenever anything is written
//! (the MongoDB-wire test server does): a follower hears of a change within that. Where
//! the server offers no change streams (a standalone server), the feed says so once and
//! notifies every follower on a timer instead: they then poll, as they would without it.

use super::MongoStore;
use bson::doc;
use mongodb::change_stream::event::ResumeToken;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long the server holds an idle feed's `getMore` before answering it empty.
const WAIT: Duration = Duration::from_secs(5);
/// After an empty answer, the feed asks again no sooner than this.
const PACE: Duration = Duration::from_secs(1);
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
                    // Which collection changed is all a follower needs.
                    doc! { "$project": { "_id": 1, "ns": 1, "operationType": 1 } },
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
                                let collection = change.ns.and_then(|ns| ns.coll);
                                self.followers.notify(collection.as_deref());
                            }
                            Ok(None) => tokio::time::sleep(PACE).await,
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
                    // A resume token the server no longer knows would fail forever.
                    resume = None;
                    self.followers.notify(None);
                }
            }
            tokio::time::sleep(REOPEN).await;
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
