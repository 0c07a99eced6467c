//! The host's own vocabulary. Plugin bindings convert to and from these types in one place
//! per WIT version (`runtime::wit`), so everything else speaks these and nothing else.
//! Their JSON form is the fixture format of `orderflow plugin test`.

mod digest;
mod lifecycle;
mod money;
mod names;
mod order;
mod pricing;
mod stock;
mod storage;

pub use digest::Digest;
pub use lifecycle::{
    Actor, ChangeKind, Edge, Machine, OrderView, PaymentChange, PricedOrder, Refund, ReturnRequest,
    ReturnedLine, StatusChange, Transition,
};
pub use money::{Currency, Money, MoneyError};
pub use names::{BadPluginName, PluginName, UserId};
pub use order::{Address, LineItem, OrderDraft, ProductSnapshot};
pub use pricing::{AppliedRule, Quote};
pub use stock::{Ledger, OnExpiry, Shortage, StockAlert, StockLevel, StockMove, StockPolicy};
pub use storage::{Storage, StoreError};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC: the `timestamp` of the WIT contract.
pub type UnixMillis = i64;

/// A business refusal: a machine-readable code, a message for people, and the path of the
/// field it is about (e.g. `items[2].quantity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}
