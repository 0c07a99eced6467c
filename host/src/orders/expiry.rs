//! Unpaid orders whose hold on their units ran out (and, on the same round, stock moves a
//! crash left half done: `StockStore::settle_stock`): each is cancelled through its own
//! lifecycle (or, as its workflow says, keeps going with its units given back), with the
//! event `order.reservation_expired`. Every replica looks at the orders of the outbox
//! shards it leases, so each order is looked at by one replica at a time; the write is a
//! compare-and-set like every other, so even two replicas racing expire it once.

use super::outbox::Shards;
use super::service::{clock, decided};
use super::{Order, OrderError, OrderService};
use crate::domain::{Actor, OnExpiry, StatusChange};
use crate::metrics::metrics;
use crate::plugins::PluginKind;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the holds are looked at, at most: an order is expired at most this late (and
/// sooner when one is known to run out before, or this process placed one that does).
pub const LOOK_EVERY: Duration = Duration::from_secs(10);
/// Orders expired per look, at most.
const BATCH: u32 = 256;

/// Who cancels an order whose hold ran out: the service, with an admin's rights.
fn expiry() -> Actor {
    Actor {
        id: "orderflow:expiry".into(),
        role: "admin".into(),
    }
}

impl OrderService {
    /// Ends the hold of `current`, an order found expiring by `now`; false when it was not
    /// due after all, or another replica expired it first.
    pub async fn expire(&self, current: Order, now: DateTime<Utc>) -> Result<bool, OrderError> {
        let due = (current.reservation.as_ref())
            .and_then(|r| r.expires_at)
            .is_some_and(|at| at <= now);
        if !due {
            return Ok(false);
        }
        // A workflow no longer loaded cannot be asked: its order keeps going, unheld.
        let workflow = self.workflow(&current.provenance.workflow).ok();
        let on_expiry = workflow
            .as_ref()
            .map_or(OnExpiry::Release, |w| w.stock.on_expiry);
        let mut order = current.clone();
        let mut events = vec!["order.reservation_expired".to_owned()];
        let actor = expiry();
        let cancelled = match (on_expiry, workflow) {
            (OnExpiry::Cancel, Some(workflow)) => {
                let cancel = StatusChange {
                    to: "cancelled".into(),
                    tracking_number: None,
                    carrier: None,
                    reason: Some("not paid in time: its reservation expired".into()),
                };
                let decision = (workflow.deciding(PluginKind::Lifecycle, &current.user_id))
                    .change_status(&current.view(), &cancel, &actor, now.timestamp_millis());
                match decided(
                    decision,
                    "change_status",
                    now,
                    &mut order.provenance.decisions,
                ) {
                    Ok(transition) => {
                        order.apply(&transition, &actor, cancel.reason, now);
                        events.extend(transition.events);
                        true
                    }
                    // Its lifecycle keeps it: it goes on without its units.
                    Err(OrderError::Refused(_)) => false,
                    Err(e) => return Err(e),
                }
            }
            _ => false,
        };
        if !cancelled && let Some(reservation) = order.reservation.as_mut() {
            reservation.released_at = Some(now);
        }
        match self.update(order, &current, &events, now).await {
            Ok(_) => {
                metrics().reservation_expired();
                Ok(true)
            }
            Err(OrderError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Expires the due holds of the orders of the shards this process holds, until the
/// process ends.
pub async fn run(orders: Arc<OrderService>, shards: watch::Receiver<Shards>) {
    loop {
        let now = clock();
        let held = shards.borrow().clone();
        // Stock moves a crash left half done go with the same lease.
        if let Err(e) = orders.store.settle_stock(&held).await {
            tracing::warn!(error = %e, "stock moves not settled; trying again");
        }
        let wait = match orders.store.expiring(now + LOOK_EVERY, &held, BATCH).await {
            Ok(expiring) => {
                let mut next = LOOK_EVERY;
                for order in expiring {
                    let at = order.reservation.as_ref().and_then(|r| r.expires_at);
                    match at.map(|at| at - clock()) {
                        Some(left) if left > chrono::Duration::zero() => {
                            next = next.min(left.to_std().unwrap_or(LOOK_EVERY));
                        }
                        _ => {
                            let id = order.id;
                            if let Err(e) = orders.expire(order, clock()).await {
                                tracing::warn!(order = %id, error = %e, "an expired reservation was not ended; trying again");
                            }
                        }
                    }
                }
                next
            }
            Err(e) => {
                tracing::warn!(error = %e, "expiring reservations not read; trying again");
                LOOK_EVERY
            }
        };
        // An order placed here meanwhile may run out sooner than the next look.
        let _ = tokio::time::timeout(wait, orders.hold_placed.notified()).await;
    }
}
