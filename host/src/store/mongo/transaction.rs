//! Transactions: an order change and its events in one, retried while they lose write conflicts.

use super::{MongoStore, unavailable};
use crate::orders::StoreError;
use mongodb::ClientSession;
use mongodb::error::{
    ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT, WriteFailure,
};
use std::future::Future;
use std::pin::Pin;

/// Attempts of a transaction that keeps losing write conflicts.
const TRANSACTION_ATTEMPTS: usize = 8;

const DUPLICATE_KEY: i32 = 11000;

/// Why a transaction body stopped: a store outcome to report, a conflict to retry, or a
/// driver error (retried when the server labels it transient).
pub(super) enum Abort {
    Store(StoreError),
    Retry,
    Driver(mongodb::error::Error),
}

impl From<mongodb::error::Error> for Abort {
    fn from(e: mongodb::error::Error) -> Self {
        Abort::Driver(e)
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Store(e)
    }
}

pub(super) type Body<'s, T> = Pin<Box<dyn Future<Output = Result<T, Abort>> + Send + 's>>;

pub(super) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

impl MongoStore {
    /// Runs `body` in a transaction, retried while the server calls the failure transient
    /// (a write conflict with a concurrent transaction) or the body asks for it.
    pub(super) async fn transaction<T>(
        &self,
        mut body: impl for<'s> FnMut(&'s mut ClientSession) -> Body<'s, T> + Send,
    ) -> Result<T, StoreError> {
        let mut session = self.client.start_session().await.map_err(unavailable)?;
        for _ in 0..TRANSACTION_ATTEMPTS {
            session.start_transaction().await.map_err(unavailable)?;
            let outcome = body(&mut session).await;
            let failure = match outcome {
                Ok(value) => match commit(&mut session).await {
                    Ok(()) => return Ok(value),
                    Err(e) => Abort::Driver(e),
                },
                Err(failure) => {
                    // The transaction may already be over on the server; nothing to undo then.
                    let _ = session.abort_transaction().await;
                    failure
                }
            };
            match failure {
                Abort::Store(e) => return Err(e),
                Abort::Retry => {}
                Abort::Driver(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {}
                Abort::Driver(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Conflict)
    }
}

/// Commits, retrying while the outcome is unknown (the driver's advice for that label).
async fn commit(session: &mut ClientSession) -> mongodb::error::Result<()> {
    loop {
        match session.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
            other => return other,
        }
    }
}
