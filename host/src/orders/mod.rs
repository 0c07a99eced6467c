//! Orders: the aggregate the service stores, changes through plugin decisions, and
//! announces through events.

mod event;
mod ids;
mod model;
mod new;
pub mod outbox;
mod place;
mod repricing;
mod service;
mod store;

pub use event::OrderEvent;
pub use ids::{OrderId, OrderNumber};
pub use model::{
    Customer, DecisionRecord, Order, OrderItem, Payment, Provenance, Shipping, StatusEntry,
};
pub use new::{NewItem, NewOrder, check_change_texts, limits};
pub use repricing::{PricedBy, QuoteDifference, Repricer, Repricing};
pub use service::{Caller, OrderError, OrderService};
pub(crate) use store::follows;
pub use store::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page,
    Serialized, Sort, Stats, Storage, StoreError, StoredEvent,
};
