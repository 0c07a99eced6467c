//! Documents to and from values: orders and events as BSON (instants as BSON dates),
//! listing filters, aggregation results.

use super::unavailable;
use crate::domain::StoreError;
use crate::orders::{Order, OrderEvent};
use crate::orders::{OrderQuery, StoredEvent};
use bson::{Bson, Document, doc};
use chrono::{DateTime, SecondsFormat, Utc};
use mongodb::Cursor;

/// Fields named `at` or `*_at` hold instants: stored as BSON dates.
fn is_date_field(name: &str) -> bool {
    name == "at" || name.ends_with("_at")
}

/// The API's JSON form as BSON, with instants as BSON dates.
pub(super) fn document(value: &impl serde::Serialize) -> Result<Document, StoreError> {
    let mut doc = bson::serialize_to_document(value).map_err(unavailable)?;
    dates_to_bson(&mut doc);
    Ok(doc)
}

fn dates_to_bson(doc: &mut Document) {
    for (name, value) in doc.iter_mut() {
        match value {
            Bson::String(text) if is_date_field(name) => {
                if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                    *value = Bson::DateTime(bson::DateTime::from_chrono(at));
                }
            }
            // Lifecycle stamps: a map of names (`confirmed_at`, …) to instants.
            Bson::Document(inner) => dates_to_bson(inner),
            Bson::Array(items) => items.iter_mut().for_each(|item| {
                if let Bson::Document(inner) = item {
                    dates_to_bson(inner)
                }
            }),
            _ => {}
        }
    }
}

/// Back to the API's form: BSON dates as RFC 3339 text.
fn dates_to_text(value: &mut Bson) {
    match value {
        Bson::DateTime(at) => {
            *value = Bson::String(at.to_chrono().to_rfc3339_opts(SecondsFormat::Millis, true))
        }
        Bson::Document(doc) => doc.iter_mut().for_each(|(_, v)| dates_to_text(v)),
        Bson::Array(items) => items.iter_mut().for_each(dates_to_text),
        _ => {}
    }
}

pub(super) fn order_document(order: &Order) -> Result<Document, StoreError> {
    let mut doc = document(order)?;
    let id = doc.remove("id").unwrap_or(Bson::Null);
    let mut with_id = doc! { "_id": id };
    with_id.extend(doc);
    Ok(with_id)
}

pub(super) fn order_from(mut doc: Document) -> Result<Order, StoreError> {
    for field in STORE_FIELDS {
        doc.remove(field);
    }
    if let Some(id) = doc.remove("_id") {
        doc.insert("id", id);
    }
    decode(doc)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(doc: Document) -> Result<T, StoreError> {
    let mut value = Bson::Document(doc);
    dates_to_text(&mut value);
    bson::deserialize_from_bson(value)
        .map_err(|e| StoreError::Unavailable(format!("corrupt stored document: {e}")))
}

/// Fields of an order's document that are the store's, not the order's.
pub(super) const STORE_FIELDS: [&str; 5] = [
    "outbox",
    "idempotency",
    "shard",
    "stock_writes",
    "drawn_from",
];

/// What reads of orders fetch: the order without the store's fields.
pub(super) fn order_fields() -> Document {
    STORE_FIELDS
        .iter()
        .map(|f| (f.to_string(), Bson::Int32(0)))
        .collect()
}

/// Events as an order's `outbox` holds them until they are published: the event
/// documents, `event_id` a field among the others.
pub(super) fn outbox_entries(events: &[OrderEvent]) -> Result<Vec<Bson>, StoreError> {
    events
        .iter()
        .map(|event| document(event).map(Bson::Document))
        .collect()
}

pub(super) fn outbox_event(entry: Document) -> Result<OrderEvent, StoreError> {
    decode(entry)
}

/// A published event as `order_events` keeps it: `_id` is the event's id.
pub(super) fn archived_event(mut entry: Document, published_at: DateTime<Utc>) -> Document {
    let id = entry.remove("event_id").unwrap_or(Bson::Null);
    let mut archived = doc! { "_id": id };
    archived.extend(entry);
    archived.insert("published_at", date(published_at));
    archived
}

/// An event `order_events` held before events waited in their order's outbox, as an outbox
/// entry.
pub(super) fn entry_from_archived(mut doc: Document) -> Document {
    doc.remove("published_at");
    doc.remove("shard");
    let id = doc.remove("_id").unwrap_or(Bson::Null);
    let mut entry = doc! { "event_id": id };
    entry.extend(doc);
    entry
}

pub(super) fn stored_event(mut doc: Document) -> Result<StoredEvent, StoreError> {
    let published_at = match doc.remove("published_at") {
        Some(Bson::DateTime(at)) => Some(at.to_chrono()),
        _ => None,
    };
    doc.remove("shard");
    if let Some(id) = doc.remove("_id") {
        doc.insert("event_id", id);
    }
    Ok(StoredEvent {
        event: decode(doc)?,
        published_at,
    })
}

pub(super) async fn all<T>(
    mut cursor: Cursor<Document>,
    each: impl Fn(Document) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut items = Vec::new();
    while cursor.advance().await.map_err(unavailable)? {
        let doc = cursor.deserialize_current().map_err(unavailable)?;
        items.push(each(doc)?);
    }
    Ok(items)
}

pub(super) fn date(at: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_chrono(at)
}

/// The filter of a listing: the same fields the embedded store indexes.
pub(super) fn listing_filter(query: &OrderQuery) -> Document {
    let mut filter = Document::new();
    for (field, value) in [
        ("user_id", &query.user_id),
        ("status", &query.status),
        ("payment_status", &query.payment_status),
        ("order_number", &query.order_number),
    ] {
        if let Some(value) = value {
            filter.insert(field, value.clone());
        }
    }
    let mut created = Document::new();
    if let Some(from) = query.created_from {
        created.insert("$gte", date(from));
    }
    if let Some(to) = query.created_to {
        created.insert("$lt", date(to));
    }
    if !created.is_empty() {
        filter.insert("created_at", created);
    }
    let mut total = Document::new();
    if let Some(min) = query.total_min {
        total.insert("$gte", min);
    }
    if let Some(max) = query.total_max {
        total.insert("$lte", max);
    }
    if !total.is_empty() {
        filter.insert("pricing.total.minor", total);
    }
    filter
}

pub(super) fn count(doc: &Document) -> u64 {
    match doc.get("count") {
        Some(Bson::Int32(n)) => *n as u64,
        Some(Bson::Int64(n)) => *n as u64,
        _ => 0,
    }
}

pub(super) fn int(doc: &Document, field: &str) -> i64 {
    match doc.get(field) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        _ => 0,
    }
}
