//! What any seam to storage may answer, and what a store says of its files: the order store, the registry replicas share, the
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
    /// A reservation would take more than a product has (and its backorders allow):
    /// nothing was written.
    #[error("not enough stock of {}", .0.product_id)]
    Shortage(super::Shortage),
    /// A place in the commits older than the store keeps (MongoDB's oplog moved past it):
    /// a stream cannot resume from there.
    #[error("the store no longer holds the commits after that position")]
    Forgotten,
    /// The backend failed; the message is for logs, never for clients.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// What a store on this machine's files (the embedded store) says of them, for `/health`
/// and `/metrics`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Storage {
    pub database_bytes: u64,
    /// The write-ahead log's file.
    pub wal_bytes: u64,
    /// What the WAL is kept under.
    pub wal_limit_bytes: u64,
    /// Committed bytes the last checkpoint had not copied into the database file yet.
    pub checkpoint_lag_bytes: u64,
    /// How often the WAL was started over to keep it under its limit.
    pub wal_restarts: u64,
}
