use super::{Order, OrderId, OrderNumber};
use crate::domain::StockAlert;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// The event a store raises beside an order whose reservation took a product's available
/// units under its workflow's `low_stock`.
pub const STOCK_LOW: &str = "stock.low";

/// An event in the outbox, and the envelope published to Kafka. `event_id` is unique: a
/// consumer that sees it twice (at-least-once delivery) drops the second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderEvent {
    pub event_id: Uuid,
    /// e.g. `order.created`; also the topic name.
    pub event_type: String,
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub user_id: String,
    pub occurred_at: DateTime<Utc>,
    pub workflow: String,
    /// The order as the change left it: shared by the change's events and the write that
    /// stores it, since a copy per event is never needed (the embedded store keeps none).
    #[schema(value_type = Order)]
    pub order: Arc<Order>,
    /// For `stock.low`: the product whose available units this order's reservation took
    /// under its workflow's threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<StockAlert>,
}

impl OrderEvent {
    /// The event `event_type` about `order`, as the change that happened `at` left it: the
    /// envelope's order number, user and workflow are the order's own.
    pub fn new(order: Arc<Order>, event_id: Uuid, event_type: String, at: DateTime<Utc>) -> Self {
        OrderEvent {
            event_id,
            event_type,
            order_id: order.id,
            order_number: order.order_number.clone(),
            user_id: order.user_id.clone(),
            occurred_at: at,
            workflow: order.provenance.workflow.clone(),
            order,
            stock: None,
        }
    }

    /// `stock.low`, raised by the write of `order` whose reservation crossed `alert`'s
    /// threshold: stores make it, as only they see what was available when the write landed.
    pub fn stock_low(order: Arc<Order>, alert: StockAlert, at: DateTime<Utc>) -> Self {
        OrderEvent {
            stock: Some(alert),
            ..OrderEvent::new(order, Uuid::now_v7(), STOCK_LOW.into(), at)
        }
    }

    /// The events a change of `order` announces, in the plugin's order.
    pub fn all(
        order: impl Into<Arc<Order>>,
        types: &[String],
        at: DateTime<Utc>,
    ) -> Vec<OrderEvent> {
        let order = order.into();
        types
            .iter()
            .map(|event_type| {
                OrderEvent::new(order.clone(), Uuid::now_v7(), event_type.clone(), at)
            })
            .collect()
    }

    /// Whether this event is about `order` as [`OrderEvent::new`] makes one: then its id,
    /// type and time are all it adds to the order.
    pub fn carries(&self, order: &Order) -> bool {
        self.order_id == order.id
            && self.order_number == order.order_number
            && self.user_id == order.user_id
            && self.workflow == order.provenance.workflow
            && self.stock.is_none()
            && (std::ptr::eq(&*self.order, order) || *self.order == *order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::sample_order;

    #[test]
    fn an_event_carries_only_the_order_it_was_made_of() {
        let order = sample_order("u1", 4200);
        let event = &OrderEvent::all(order.clone(), &["order.created".into()], order.created_at)[0];
        assert!(event.carries(&order));
        let mut other = order.clone();
        other.version += 1;
        assert!(!event.carries(&other));
        let mut renamed = event.clone();
        renamed.workflow = "elsewhere".into();
        assert!(!renamed.carries(&order));
    }
}
