//! New orders are inserted in batches: each insert waits in a queue, and a writer sends
//! every order waiting as one unordered `insert` command, so under load one round trip
//! carries many orders (the way the embedded store's writer shares one commit). Each
//! document is still written atomically and on its own: the server answers which ones
//! failed and why, and each caller hears its own outcome. A lone order goes at once.
//!
//! Measured on the MongoDB-wire test server: its cost per command, not per document,
//! bounded the rate of single inserts.

use bson::Document;
use mongodb::Collection;
use mongodb::error::{ErrorKind, WriteFailure};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Orders sent in one command, at most.
const BATCH: usize = 256;
/// Commands in flight at once: one is being answered while the next fills.
const WRITERS: usize = 2;

/// What became of one order's insert.
#[derive(Debug)]
pub(super) enum Outcome {
    Inserted,
    /// It broke a unique index: its number, its idempotency key or an event id was taken.
    Duplicate,
    Failed(String),
}

struct Waiting {
    document: Document,
    told: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
pub(super) struct Inserts {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl Inserts {
    /// Starts the writers on the current runtime; they end when every handle is dropped.
    pub(super) fn start(orders: Collection<Document>) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WRITERS {
            tokio::spawn(write(orders.clone(), waiting.clone()));
        }
        Inserts { queue }
    }

    pub(super) async fn insert(&self, document: Document) -> Outcome {
        let (told, outcome) = oneshot::channel();
        if self.queue.send(Waiting { document, told }).is_err() {
            return Outcome::Failed("the order writer has stopped".into());
        }
        outcome
            .await
            .unwrap_or_else(|_| Outcome::Failed("the order writer has stopped".into()))
    }
}

/// A writer: takes the first order waiting and every one behind it, sends them in one
/// command, tells each its outcome.
async fn write(
    orders: Collection<Document>,
    waiting: Arc<Mutex<mpsc::UnboundedReceiver<Waiting>>>,
) {
    loop {
        let batch = {
            let mut queue = waiting.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < BATCH
                && let Ok(next) = queue.try_recv()
            {
                batch.push(next);
            }
            batch
        };
        let (documents, told): (Vec<Document>, Vec<_>) =
            batch.into_iter().map(|w| (w.document, w.told)).unzip();
        let mut outcomes: Vec<Outcome> = match orders.insert_many(documents).ordered(false).await {
            Ok(_) => told.iter().map(|_| Outcome::Inserted).collect(),
            Err(e) => outcomes_of(&e, told.len()),
        };
        for (told, outcome) in told.into_iter().zip(outcomes.drain(..)) {
            let _ = told.send(outcome);
        }
    }
}

/// Each document's outcome from a failed unordered insert of `count`: those the server
/// names failed, the others inserted; with no answer per document, all failed.
fn outcomes_of(e: &mongodb::error::Error, count: usize) -> Vec<Outcome> {
    let failure = match e.kind.as_ref() {
        ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => failure,
        ErrorKind::Write(WriteFailure::WriteError(w)) if count == 1 => {
            return vec![per_document(w.code, &w.message)];
        }
        _ => return (0..count).map(|_| Outcome::Failed(e.to_string())).collect(),
    };
    let mut outcomes: Vec<Outcome> = (0..count).map(|_| Outcome::Inserted).collect();
    for error in failure.write_errors.iter().flatten() {
        if let Some(outcome) = outcomes.get_mut(error.index) {
            *outcome = per_document(error.code, &error.message);
        }
    }
    outcomes
}

fn per_document(code: i32, message: &str) -> Outcome {
    if code == super::DUPLICATE_KEY {
        Outcome::Duplicate
    } else {
        Outcome::Failed(message.to_owned())
    }
}
