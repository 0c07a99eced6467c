//! Moves along an order's lifecycle: a status or a payment change, decided by the
//! lifecycle plugin of the order's own workflow, then written with its events only if
//! nobody changed the order meanwhile (compare-and-set on its version).

use super::service::{clock, decided};
use super::{Caller, Order, OrderError, OrderId, OrderService};
use crate::domain::{Actor, OrderView, PaymentChange, StatusChange, Transition};
use crate::plugins::{BoundPlugin, Decided, PluginFault, PluginKind};

impl OrderService {
    pub async fn change_status(
        &self,
        caller: &Caller,
        id: OrderId,
        change: StatusChange,
    ) -> Result<Order, OrderError> {
        self.change(
            caller,
            id,
            "change_status",
            |plugin, view, actor, now| plugin.change_status(view, &change, actor, now),
            |order| {
                if let Some(tracking) = &change.tracking_number {
                    order.shipping.tracking_number = Some(tracking.clone());
                }
                if let Some(carrier) = &change.carrier {
                    order.shipping.carrier = Some(carrier.clone());
                }
                change.reason.clone()
            },
        )
        .await
    }

    pub async fn change_payment(
        &self,
        caller: &Caller,
        id: OrderId,
        change: PaymentChange,
    ) -> Result<Order, OrderError> {
        self.change(
            caller,
            id,
            "change_payment",
            |plugin, view, actor, now| plugin.change_payment(view, &change, actor, now),
            |order| {
                if let Some(transaction) = &change.transaction_id {
                    order.payment.transaction_id = Some(transaction.clone());
                }
                change.reason.clone()
            },
        )
        .await
    }

    /// Asks the order's own workflow's lifecycle plugin, then writes the change and its
    /// events if nobody changed the order meanwhile.
    async fn change(
        &self,
        caller: &Caller,
        id: OrderId,
        call: &str,
        decide: impl FnOnce(
            &BoundPlugin,
            &OrderView,
            &Actor,
            i64,
        ) -> Result<Decided<Transition>, PluginFault>,
        details: impl FnOnce(&mut Order) -> Option<String>,
    ) -> Result<Order, OrderError> {
        let current = self.get(caller, id).await?;
        let workflow = self.workflow(&current.provenance.workflow)?;
        let now = clock();
        let view = current.view();
        let actor = caller.actor();
        let mut order = current.clone();
        let transition = decided(
            decide(
                workflow.deciding(PluginKind::Lifecycle, &current.user_id),
                &view,
                &actor,
                now.timestamp_millis(),
            ),
            call,
            now,
            &mut order.provenance.decisions,
        )?;
        let note = details(&mut order);
        order.apply(&transition, &actor, note, now);
        self.update(order, &current, &transition.events, now).await
    }
}
