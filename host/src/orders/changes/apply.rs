//! A change's life: requested (recorded with the order, `order.change_requested`, or
//! `order.return_requested` for a return), confirmed (applied to the order, `order.changed`;
//! a return's units received, `order.return_received`; with `order.refunded` when money goes
//! back), declined (`order.change_declined`) or cancelled (`order.change_cancelled`). Each is
//! one compare-and-set write of the order with its change and its events, so nothing is ever
//! half-applied.

use super::returns::refunded_by_returns;
use super::{ChangeAction, ChangeKey, ChangeState, OrderChange, Settlement, confirmed};
use crate::domain::{Digest, Machine, Money, Transition};
use crate::orders::service::{clock, refused};
use crate::orders::{Caller, Order, OrderError, OrderId, OrderService};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a client asks for: the actions, why, and whether only to preview them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    pub actions: Vec<ChangeAction>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
    /// Preview only: the change is decided and answered, not recorded.
    #[serde(default)]
    pub dry_run: bool,
}

/// How a change ends, other than by being confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// By an admin.
    Decline,
    /// By its requester (or an admin).
    Cancel,
}

impl OrderService {
    /// Previews a change of order `id` or records it as requested (`true`: recorded now;
    /// a retry with the same `Idempotency-Key` answers the change recorded first).
    pub async fn request_change(
        &self,
        caller: &Caller,
        id: OrderId,
        request: ChangeRequest,
        key: Option<String>,
    ) -> Result<(OrderChange, bool), OrderError> {
        let current = self.get(caller, id).await?;
        // The key is kept as its digest: the change, and so the order and its events,
        // carry nothing a client could replay.
        let key = key.map(|key| ChangeKey {
            fingerprint: fingerprint(&request),
            key: Digest::of(key.as_bytes()).hex(),
        });
        if let Some(key) = &key
            && let Some(first) = (current.changes.iter())
                .find(|c| c.requested_by == caller.user_id.as_str() && same_key(c, key))
        {
            return match first.key.as_ref() == Some(key) {
                true => Ok((first.clone(), false)),
                false => Err(OrderError::KeyReused),
            };
        }
        let mut change = self
            .propose(caller, &current, request.actions, request.reason, clock())
            .await?;
        if request.dry_run {
            return Ok((change, false));
        }
        change.key = key;
        let now = change.requested_at;
        let mut order = current.clone();
        order.changes.push(change.clone());
        let event = match change.is_return() {
            true => "order.return_requested",
            false => "order.change_requested",
        };
        self.update(order, &current, &[event.to_owned()], now)
            .await?;
        Ok((change, true))
    }

    /// Applies change `change` of order `id`, decided again on the order as it is now: it
    /// must still be allowed and cost what its preview said.
    pub async fn confirm_change(
        &self,
        caller: &Caller,
        id: OrderId,
        change: Uuid,
    ) -> Result<(Order, OrderChange), OrderError> {
        let current = self.get(caller, id).await?;
        let at_index = open_change(&current, change)?;
        let asked = &current.changes[at_index];
        if asked.base != confirmed(&current.changes) {
            return Err(OrderError::ChangeClosed(
                "another change was applied since this one was priced: request it again",
            ));
        }
        // A return's units are received by the shop; its refund was decided when it was
        // asked for, and is decided again as of then (the return window does not close on
        // a parcel in transit).
        let at = match asked.is_return() {
            true if !caller.admin => {
                return Err(not_yours(
                    "an admin confirms a return, when its units arrive",
                ));
            }
            true => asked.requested_at,
            false => clock(),
        };
        let again = self
            .propose(caller, &current, asked.actions.clone(), None, at)
            .await?;
        if again.after != asked.after
            || again.proposal != asked.proposal
            || again.refund != asked.refund
        {
            return Err(OrderError::ChangeClosed(
                "the order's products or prices moved since this change was priced: request it again",
            ));
        }
        let now = clock();
        let mut order = current.clone();
        let proposal = again.proposal;
        order.items = proposal.items;
        order.shipping.address = proposal.shipping_address;
        order.shipping.method = proposal.shipping_method;
        order.discount_code = proposal.discount_code;
        order.pricing = again.after;
        order.provenance.decisions.extend(again.decisions);
        let done = &mut order.changes[at_index];
        done.state = ChangeState::Confirmed;
        done.ended_by = Some(caller.user_id.to_string());
        done.ended_at = Some(now);
        let done = done.clone();
        let mut events = vec![match done.is_return() {
            true => "order.return_received".to_owned(),
            false => "order.changed".to_owned(),
        }];
        if done.settlement == Settlement::Refund {
            let workflow = self.workflow(&order.provenance.workflow)?;
            refunded(&mut order, workflow.machine(), -done.difference.minor);
            events.push("order.refunded".to_owned());
        }
        let transition = Transition {
            status: order.status.clone(),
            payment_status: order.payment_status.clone(),
            stamps: vec![],
            events: events.clone(),
        };
        let note = format!("change {}", done.id);
        order.apply(&transition, &caller.actor(), Some(note), now);
        let order = self.update(order, &current, &events, now).await?;
        Ok((order, done))
    }

    /// Declines (an admin) or cancels (its requester, or an admin) a requested change.
    pub async fn end_change(
        &self,
        caller: &Caller,
        id: OrderId,
        change: Uuid,
        ending: Ending,
        reason: Option<String>,
    ) -> Result<OrderChange, OrderError> {
        let current = self.get(caller, id).await?;
        let at = open_change(&current, change)?;
        let requester = current.changes[at].requested_by == caller.user_id.as_str();
        let (state, event) = match ending {
            Ending::Decline if caller.admin => (ChangeState::Declined, "order.change_declined"),
            Ending::Cancel if caller.admin || requester => {
                (ChangeState::Cancelled, "order.change_cancelled")
            }
            Ending::Decline => return Err(not_yours("an admin declines a change")),
            Ending::Cancel => return Err(not_yours("its requester cancels a change")),
        };
        let now = clock();
        let mut order = current.clone();
        let ended = &mut order.changes[at];
        ended.state = state;
        ended.ended_by = Some(caller.user_id.to_string());
        ended.ended_at = Some(now);
        ended.end_reason = reason;
        let ended = ended.clone();
        self.update(order, &current, &[event.to_owned()], now)
            .await?;
        Ok(ended)
    }

    /// The changes of order `id`, oldest first.
    pub async fn changes(
        &self,
        caller: &Caller,
        id: OrderId,
    ) -> Result<Vec<OrderChange>, OrderError> {
        Ok(self.get(caller, id).await?.changes)
    }
}

/// Counts `minor` given back on `order`'s payment, whose status becomes `refunded` once
/// every unit is returned (or its returns gave back all it costs), `partially_refunded`
/// before, if its machine has them.
fn refunded(order: &mut Order, machine: &Machine, minor: i64) {
    let currency = order.pricing.total.currency;
    let before = order.payment.refunded.map_or(0, |m| m.minor);
    order.payment.refunded = Some(Money::new(before + minor, currency));
    let everything = order
        .items
        .iter()
        .all(|l| l.returned_quantity == l.quantity)
        || refunded_by_returns(order).minor >= order.pricing.total.minor;
    let status = match everything {
        true => "refunded",
        false => "partially_refunded",
    };
    if machine.payment_statuses.iter().any(|s| s == status) {
        order.payment_status = status.to_owned();
    }
}

/// Where change `id` is among `order`'s, if it is still requested.
fn open_change(order: &Order, id: Uuid) -> Result<usize, OrderError> {
    let at = (order.changes.iter().position(|c| c.id == id)).ok_or(OrderError::NotFound)?;
    match order.changes[at].state {
        ChangeState::Requested => Ok(at),
        ChangeState::Confirmed => Err(OrderError::ChangeClosed("the change is confirmed already")),
        ChangeState::Declined => Err(OrderError::ChangeClosed("the change was declined")),
        ChangeState::Cancelled => Err(OrderError::ChangeClosed("the change was cancelled")),
    }
}

fn not_yours(who: &str) -> OrderError {
    refused("not_allowed", format!("only {who}"), "change_id".into())
}

fn same_key(change: &OrderChange, key: &ChangeKey) -> bool {
    change.key.as_ref().is_some_and(|k| k.key == key.key)
}

/// What makes two change requests the same request.
fn fingerprint(request: &ChangeRequest) -> String {
    let canonical = serde_json::to_vec(request).expect("a change request serialises");
    Digest::of(&canonical).hex()
}
