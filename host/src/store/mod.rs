//! The stores' backends: each implements [`crate::orders::OrderStore`], the contract the
//! order use cases own (and the other seams' traits: the relay's leases, the replay log,
//! the shadow board, the shared registry), and passes the same conformance suite (`conformance`, built
//! with the tests only).
//!
//! - [`EmbeddedStore`]: SQLite in `DATA_DIR`, the default: one process owns the data.
//! - [`MongoStore`]: MongoDB (`MONGODB_URL`): each order change one single-document write,
//!   the order with its unpublished events in its outbox, so replicas share one store.

#[cfg(test)]
pub mod conformance;
mod embedded;
mod mongo;

pub use embedded::EmbeddedStore;
pub use mongo::MongoStore;
