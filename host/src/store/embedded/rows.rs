//! Rows to and from values: orders as JSON documents, outbox rows and the events they
//! carry, times as milliseconds.

use super::unavailable;
use crate::domain::StoreError;
use crate::orders::{Order, OrderEvent};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use uuid::Uuid;

pub(super) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Unavailable(format!("corrupt stored document: {e}")))
}

pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// An outbox row: event id, order id, type, occurred at (ms), and either the version of
/// the order written with it, which it carries, or (carrying another order) the whole event
/// as JSON.
pub(super) struct EventRow {
    id: Uuid,
    order_id: String,
    event_type: String,
    at: i64,
    order_version: Option<i64>,
    doc: Option<String>,
}

pub(super) fn insert_events(tx: &Connection, events: &[EventRow]) -> Result<(), StoreError> {
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (id, order_id, type, occurred_at, order_version, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(unavailable)?;
    for e in events {
        insert
            .execute(params![
                e.id.to_string(),
                e.order_id,
                e.event_type,
                e.at,
                e.order_version,
                e.doc
            ])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// The outbox rows of `order`'s events, made before taking the writer (so it is busy only
/// with SQL). An event that carries the order written with it, as every event of an order
/// change does, points at that version of it instead of holding a copy (when its time fits
/// the column's milliseconds, as the service's times do).
pub(super) fn event_rows(
    order: &Order,
    events: &[OrderEvent],
) -> Result<Vec<EventRow>, StoreError> {
    events
        .iter()
        .map(|e| {
            let whole_ms = e.occurred_at.timestamp_subsec_nanos() % 1_000_000 == 0;
            let (order_version, event_doc) = if whole_ms && e.carries(order) {
                (Some(order.version as i64), None)
            } else {
                (None, Some(serde_json::to_string(e).map_err(unavailable)?))
            };
            Ok(EventRow {
                id: e.event_id,
                order_id: e.order_id.to_string(),
                event_type: e.event_type.clone(),
                at: millis(e.occurred_at),
                order_version,
                doc: event_doc,
            })
        })
        .collect()
}

/// Outbox rows with the order each carries: the event's own columns, and the document of
/// the order version it points at.
pub(super) const EVENTS_WITH_ORDERS: &str =
    "SELECT e.id, e.type, e.occurred_at, e.published_at, e.doc, COALESCE(s.doc, o.doc), e.seq
     FROM events e
     LEFT JOIN orders o ON o.id = e.order_id AND o.version = e.order_version
     LEFT JOIN order_snapshots s ON s.order_id = e.order_id AND s.version = e.order_version";

/// An outbox row as [`EVENTS_WITH_ORDERS`] reads it.
pub(super) struct OutboxRow {
    id: String,
    event_type: String,
    occurred_at: i64,
    pub(super) published_at: Option<i64>,
    doc: Option<String>,
    order: Option<String>,
    /// Its place in the order of commits.
    pub(super) seq: i64,
}

impl OutboxRow {
    pub(super) fn read(row: &rusqlite::Row) -> rusqlite::Result<Self> {
        Ok(OutboxRow {
            id: row.get(0)?,
            event_type: row.get(1)?,
            occurred_at: row.get(2)?,
            published_at: row.get(3)?,
            doc: row.get(4)?,
            order: row.get(5)?,
            seq: row.get(6)?,
        })
    }

    pub(super) fn event(self) -> Result<OrderEvent, StoreError> {
        match (self.doc, self.order) {
            (Some(event), _) => parse(&event),
            (None, Some(order)) => Ok(OrderEvent::new(
                Arc::new(parse(&order)?),
                self.id.parse().map_err(unavailable)?,
                self.event_type,
                from_millis(self.occurred_at),
            )),
            (None, None) => Err(unavailable(format!(
                "the order version event {} carries is missing",
                self.id
            ))),
        }
    }
}

pub(super) fn order_by_id(conn: &Connection, id: &str) -> Result<Option<Order>, StoreError> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM orders WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(unavailable)?;
    doc.as_deref().map(parse).transpose()
}

pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}
