//! The seam through which others watch new orders being decided: the order use case owns
//! it and calls it, observers (the shadows of [`crate::operations`]) implement it. Placing
//! an order asks the observer once whether anything watches it; only a watched order has
//! its decisions copied out, and the witness is handed the order once the customer's answer
//! is decided, never before, so an observer can neither see a half-decided order nor hold
//! one up.

use super::Order;
use crate::domain::OrderDraft;
use crate::plugins::{PluginKind, Verdict, Workflow};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What became of a watched order.
#[derive(Clone)]
pub enum Placement {
    /// Placed: shared with the write, not copied.
    Placed(Arc<Order>),
    /// Refused: no order, the draft the plugins refused.
    Refused(Box<OrderDraft>),
}

/// Sees one new order decided.
pub trait Witness: Send {
    /// A decision of `kind` answered (a fault is not an answer, and is not reported).
    fn decided(&mut self, kind: PluginKind, verdict: Verdict, fuel: u64);

    /// The customer's answer is decided: the order as placed, or its draft as refused.
    fn finished(self: Box<Self>, placement: Placement, now: DateTime<Utc>);
}

/// Watches new orders.
pub trait Observer: Send + Sync {
    /// Asked before a new order of `workflow` is decided: its witness, if anything watches it.
    fn witness(&self, workflow: &Workflow) -> Option<Box<dyn Witness>>;
}
