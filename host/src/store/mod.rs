//! The order store's backends: each implements [`crate::orders::OrderStore`], the contract
//! the order use cases own, and passes the same conformance suite (`conformance`, built
//! with the tests only).
//!
//! - [`EmbeddedStore`]: SQLite in `DATA_DIR`, the default: one process owns the data.
//! - [`MongoStore`]: MongoDB (`MONGODB_URL`), multi-document transactions for the outbox.

#[cfg(test)]
pub mod conformance;
mod embedded;
mod mongo;

pub use embedded::EmbeddedStore;
pub use mongo::MongoStore;
