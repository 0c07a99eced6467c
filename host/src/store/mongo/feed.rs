//! Change feeds: how a replica learns at once of what another one wrote (a plugin
//! activated, events added to the outbox) without reading the database on a timer. One
//! MongoDB change stream per feed, waiting on the server ([`WAIT`]) between changes, so an
//! idle feed costs a `getMore` every few seconds. Where the server offers no change streams
//! (a standalone server), the feed says so once and notifies on a timer instead: what
//! follows it then polls, as it would without a feed.

use super::MongoStore;
use bson::doc;
use futures_util::StreamExt;
use mongodb::change_stream::event::ResumeToken;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the server holds an idle feed's `getMore` before answering it empty.
const WAIT: Duration = Duration::from_secs(5);
/// A broken feed is reopened after this; without a feed, `changed` is notified this often.
const REOPEN: Duration = Duration::from_secs(1);

impl MongoStore {
    /// Notifies `changed` of every insert, update or replacement in `collections` until the
    /// process ends; an interrupted feed resumes where it stopped. `what` names the feed in
    /// the log.
    pub(super) async fn follow_collections(
        &self,
        collections: &[&str],
        changed: Arc<Notify>,
        what: &str,
    ) {
        let mut resume: Option<ResumeToken> = None;
        let mut said = false;
        loop {
            let watched = (self.db.watch())
                .pipeline([
                    doc! { "$match": {
                        "ns.coll": { "$in": collections },
                        "operationType": { "$in": ["insert", "update", "replace"] },
                    } },
                    // The change itself is not needed, only that there was one.
                    doc! { "$project": { "_id": 1 } },
                ])
                .max_await_time(WAIT)
                .resume_after(resume.clone())
                .await;
            match watched {
                Ok(mut feed) => {
                    said = false;
                    while let Some(event) = feed.next().await {
                        match event {
                            Ok(_) => changed.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, feed = what, "a change feed broke; reopening");
                                break;
                            }
                        }
                    }
                    resume = feed.resume_token().or(resume);
                }
                Err(e) => {
                    if !said {
                        tracing::warn!(error = %e, feed = what, "no change feed: polling every second instead");
                        said = true;
                    }
                    // A resume token the server no longer knows would fail forever.
                    resume = None;
                    changed.notify_one();
                }
            }
            tokio::time::sleep(REOPEN).await;
        }
    }
}

impl MongoStore {
    /// Notifies `written` whenever any replica writes an order (and so, maybe, events to
    /// its outbox): the relay's wake-up for the shards it holds, wherever the order was
    /// written.
    pub async fn follow_outbox(&self, written: Arc<Notify>) {
        let orders = [self.orders.name()];
        self.follow_collections(&orders, written, "outbox").await
    }
}
