//! Changes to a placed order, each a record of its own (as Medusa's `OrderChange` and
//! commercetools' `OrderEdit`): the actions asked for, the order as they would make it,
//! validated and priced again by the order's workflow exactly as a new order is, the totals
//! before and after, the difference to pay or to refund, and the plugin versions that
//! decided. A change is `requested`, then `confirmed` (applied to the order in one
//! compare-and-set write with its events), `declined` (by an admin) or `cancelled` (by its
//! requester). Changes are kept in the order's own record, so a change and the order it
//! changes are always one atomic write, on either store.
//!
//! Several changes may be open at once; confirming one makes the others outdated (each was
//! priced on the order as it was), and confirming an outdated change is a 409: request it
//! again.
//!
//! Who may change what, and when, and what a return refunds, is the workflow's: its
//! lifecycle plugin decides (`allow-change` and `refund`, contract 0.4.0), and for plugins of
//! older contracts the documented defaults apply ([`policy`]).
//!
//! A return is a change of its own (its actions are all `return_item`): the order's lines
//! and price stay as they were, the returned units are counted on their lines when an admin
//! confirms their receipt, and the refund is what the rules decided.

mod apply;
pub mod policy;
mod propose;
mod returns;
mod rules;

pub use apply::{ChangeRequest, Ending};

use super::{DecisionRecord, OrderItem};
use crate::domain::{Address, ChangeKind, Money, Quote, Refund};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One thing a change does to an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeAction {
    /// Adds `quantity` of a product (to its line, if the order has one).
    AddItem {
        product_id: String,
        #[schema(minimum = 1)]
        quantity: u32,
    },
    /// Removes a product's line.
    RemoveItem {
        product_id: String,
    },
    /// Sets a line's quantity (at least 1: `remove_item` takes a line away).
    SetQuantity {
        product_id: String,
        #[schema(minimum = 1)]
        quantity: u32,
    },
    /// Cancels `quantity` units of a line (all of it when absent): a partial cancellation,
    /// allowed longer than other edits of the lines (until the order ships).
    CancelItem {
        product_id: String,
        #[schema(minimum = 1)]
        quantity: Option<u32>,
    },
    SetShippingAddress {
        address: Address,
    },
    SetShippingMethod {
        method: String,
    },
    /// A discount code, or `null` to remove the order's.
    SetDiscountCode {
        code: Option<String>,
    },
    /// Sends back `quantity` delivered units of a line (all those not returned yet when
    /// absent), for a refund.
    ReturnItem {
        product_id: String,
        #[schema(minimum = 1)]
        quantity: Option<u32>,
        /// Why, as the customer says.
        #[schema(max_length = 500)]
        reason: Option<String>,
    },
}

impl ChangeAction {
    /// The part of the order it touches, for the rules of who may change what when.
    pub fn kind(&self) -> ChangeKind {
        match self {
            ChangeAction::AddItem { .. }
            | ChangeAction::RemoveItem { .. }
            | ChangeAction::SetQuantity { .. }
            | ChangeAction::SetDiscountCode { .. } => ChangeKind::Items,
            ChangeAction::SetShippingAddress { .. } | ChangeAction::SetShippingMethod { .. } => {
                ChangeKind::Delivery
            }
            ChangeAction::CancelItem { .. } => ChangeKind::Cancellation,
            ChangeAction::ReturnItem { .. } => ChangeKind::Return,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    Requested,
    Confirmed,
    Declined,
    Cancelled,
}

/// What the difference between the totals means for the customer's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// The change costs more: the difference is due (on top of what was paid, or as part
    /// of the new total when nothing was paid yet).
    Due,
    /// Paid, and the change costs less: the difference is to refund.
    Refund,
    /// No difference, or a lower total not paid yet (the new total is what will be paid).
    None,
}

/// The order as a change would make it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Proposal {
    pub items: Vec<OrderItem>,
    pub shipping_address: Address,
    pub shipping_method: String,
    pub discount_code: Option<String>,
}

/// A change of an order: what was asked, what it would make of the order, and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderChange {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub state: ChangeState,
    pub actions: Vec<ChangeAction>,
    /// Who asked, in which role (`user`: the order's owner, or `admin`).
    pub requested_by: String,
    pub role: String,
    pub requested_at: DateTime<Utc>,
    /// Why, as the requester said.
    pub reason: Option<String>,
    /// Who confirmed, declined or cancelled it, and when.
    pub ended_by: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    /// A decline's or a cancellation's reason.
    pub end_reason: Option<String>,
    /// The price of the order before the change, and as the change makes it.
    pub before: Quote,
    pub after: Quote,
    /// After minus before: positive to pay, negative to refund (a return's: its refund).
    pub difference: Money,
    /// A return's refund, as the rules decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
    pub settlement: Settlement,
    pub proposal: Proposal,
    /// The plugin versions that validated and priced the change.
    pub decisions: Vec<DecisionRecord>,
    /// The order's confirmed changes when this one was priced: it applies only on that order.
    pub base: u32,
    /// The `Idempotency-Key` it was requested with, scoped to its requester, and what makes
    /// two requests the same request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub key: Option<ChangeKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeKey {
    /// The SHA-256 of the `Idempotency-Key`, in hex.
    pub key: String,
    /// The SHA-256 of the request, in hex.
    pub fingerprint: String,
}

impl OrderChange {
    pub fn is_return(&self) -> bool {
        self.refund.is_some()
    }
}

/// Confirmed changes of `changes`: what a new change is priced on.
fn confirmed(changes: &[OrderChange]) -> u32 {
    let n = changes.iter().filter(|c| c.state == ChangeState::Confirmed);
    n.count() as u32
}
