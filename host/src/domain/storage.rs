//! What any seam to storage may answer: the order store, the registry replicas share, the
//! relay's leases, the replay log, the shadow board. Each seam is owned by its consumer;
//! the error is shared, so that a backend implements all of them with one error type and
//! the API maps it in one place.

/// Why a store did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else changed the order since it was read.
    #[error("the order was changed concurrently")]
    Conflict,
    /// The generated order number is taken; the caller generates another.
    #[error("order number already taken")]
    DuplicateNumber,
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused with a different request")]
    KeyReused,
    /// A relay's lease on a shard expired or passed to another replica: it may not mark
    /// that shard's events any more.
    #[error("the relay lease on a shard was lost")]
    LeaseLost,
    /// The backend failed; the message is for logs, never for clients.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}
