//! Orders: the aggregate the service stores, changes through plugin decisions, and
//! announces through events. The use cases (`place`, `change`) read top to bottom; the
//! seams they need are theirs: the store ([`OrderStore`]) and the observers of new orders
//! ([`Observer`]), implemented from outside.

mod changes;
mod customers;
mod event;
pub mod expiry;
mod ids;
mod model;
mod moves;
mod new;
mod observe;
pub mod outbox;
mod place;
mod service;
pub mod stock;
mod store;

pub use changes::{
    ChangeAction, ChangeRequest, ChangeState, Ending, OrderChange, Proposal, Settlement,
};
pub use customers::{CustomerError, Customers};
pub use event::{OrderEvent, STOCK_LOW};
pub use ids::{OrderId, OrderNumber};
pub use model::{
    Customer, DecisionRecord, Order, OrderItem, Payment, Provenance, Shipping, StatusEntry,
};
pub use new::{NewItem, NewOrder, check_change_texts, limits};
pub use observe::{Observer, Placement, Witness};
pub use service::{Caller, OrderError, OrderService, clock, decided, refused};
pub(crate) use store::follows;
pub use store::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page,
    Serialized, Sort, Stats, StoredEvent,
};
