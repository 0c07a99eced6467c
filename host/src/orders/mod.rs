//! Orders: the aggregate the service stores, changes through plugin decisions, and
//! announces through events.

mod event;
mod ids;
mod model;
mod repricing;
mod service;

pub use event::OrderEvent;
pub use ids::{OrderId, OrderNumber};
pub use model::{
    Customer, DecisionRecord, Order, OrderItem, Payment, Provenance, Shipping, StatusEntry,
};
pub use repricing::{PricedBy, QuoteDifference, Repricing};
pub use service::{Caller, NewItem, NewOrder, OrderError, OrderService};
