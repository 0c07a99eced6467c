use super::{Order, OrderId, OrderNumber};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// The order as the change left it.
    pub order: Order,
}

impl OrderEvent {
    /// The events a change of `order` announces, in the plugin's order.
    pub fn all(order: &Order, types: &[String], at: DateTime<Utc>) -> Vec<OrderEvent> {
        types
            .iter()
            .map(|event_type| OrderEvent {
                event_id: Uuid::now_v7(),
                event_type: event_type.clone(),
                order_id: order.id,
                order_number: order.order_number.clone(),
                user_id: order.user_id.clone(),
                occurred_at: at,
                workflow: order.provenance.workflow.clone(),
                order: order.clone(),
            })
            .collect()
    }
}
