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

/// An [`OrderEvent`] as it serialises, with the order's JSON taken as already written: a
/// store that writes an order and its events serialises the order once, not once more
/// per event.
#[derive(Serialize)]
struct EnvelopeJson<'a> {
    event_id: &'a Uuid,
    event_type: &'a str,
    order_id: &'a OrderId,
    order_number: &'a OrderNumber,
    user_id: &'a str,
    occurred_at: &'a DateTime<Utc>,
    workflow: &'a str,
    order: &'a serde_json::value::RawValue,
}

impl OrderEvent {
    /// This event as JSON, the same as `serde_json::to_string(self)`, given the JSON of
    /// its order.
    pub fn to_json_with(&self, order: &serde_json::value::RawValue) -> serde_json::Result<String> {
        serde_json::to_string(&EnvelopeJson {
            event_id: &self.event_id,
            event_type: &self.event_type,
            order_id: &self.order_id,
            order_number: &self.order_number,
            user_id: &self.user_id,
            occurred_at: &self.occurred_at,
            workflow: &self.workflow,
            order,
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::sample_order;

    #[test]
    fn an_envelope_with_the_order_json_given_is_the_event_json() {
        let order = sample_order("u1", 4200);
        let event = &OrderEvent::all(&order, &["order.created".into()], order.created_at)[0];
        let order_json = serde_json::value::to_raw_value(&order).unwrap();
        assert_eq!(
            event.to_json_with(&order_json).unwrap(),
            serde_json::to_string(event).unwrap()
        );
    }
}
