//! `OrderStore` on MongoDB: each write one document (an order with its pending events),
//! reads as queries and aggregations.

use super::batch::Outcome;
use super::documents::{
    all, archived_event, count, date, int, listing_filter, order_document, order_fields,
    order_from, outbox_entries, outbox_event, stored_event,
};
use super::stock::Write;
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::{StockMove, StoreError};
use crate::orders::outbox::{Shards, shard_of};
use crate::orders::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page, Sort,
    Stats, StoredEvent, follows,
};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl OrderStore for MongoStore {
    /// One write: the order's document, its events in its `outbox` and its idempotency key
    /// in it too, sent with the other orders waiting (`batch.rs`). The key's unique index
    /// makes a concurrent retry with the same key fail to insert; it then finds the first
    /// request's order.
    async fn insert(
        &self,
        order: &Order,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
        stock: &[StockMove],
    ) -> Result<Inserted, StoreError> {
        let mut document = order_document(order)?;
        document.insert("shard", i32::from(shard_of(order.id)));
        if !events.is_empty() {
            document.insert("outbox", outbox_entries(events)?);
        }
        if let Some(key) = key {
            document.insert(
                "idempotency",
                doc! { "user_id": &key.user_id, "key": &key.key, "fingerprint": &key.fingerprint },
            );
        }
        let outcome = match stock.is_empty() {
            true => self.inserts.insert(document).await,
            false => (self.with_stock(Write::Insert(document), order, stock)).await?,
        };
        bounded(async {
            match outcome {
                Outcome::Inserted => return Ok(Inserted::Created),
                Outcome::Failed(e) => return Err(unavailable(e)),
                Outcome::Duplicate => {}
            }
            let Some(key) = key else {
                return Err(self.clash(order).await);
            };
            let first = self
                .orders
                .find_one(doc! { "idempotency.user_id": &key.user_id, "idempotency.key": &key.key })
                .await
                .map_err(unavailable)?;
            match first {
                None => Err(self.clash(order).await),
                Some(first) => {
                    let fingerprint = first
                        .get_document("idempotency")
                        .and_then(|k| k.get_str("fingerprint"))
                        .map_err(unavailable)?;
                    if fingerprint != key.fingerprint {
                        return Err(StoreError::KeyReused);
                    }
                    Ok(Inserted::Replayed(Box::new(order_from(first)?)))
                }
            }
        })
        .await
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        bounded(self.find_order(id)).await
    }

    async fn get_json(&self, id: OrderId) -> Result<Option<OrderJson>, StoreError> {
        let order = bounded(self.find_order(id)).await?;
        order
            .map(|order| {
                Ok(OrderJson {
                    json: serde_json::to_string(&order).map_err(unavailable)?,
                    user_id: order.user_id,
                })
            })
            .transpose()
    }

    /// One write: the order's fields set and its events added to its `outbox`, if its
    /// version is still the one expected.
    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[OrderEvent],
        stock: &[StockMove],
    ) -> Result<(), StoreError> {
        follows(order, expected_version)?;
        let mut fields = order_document(order)?;
        fields.remove("_id");
        fields.insert("shard", i32::from(shard_of(order.id)));
        let mut change = doc! { "$set": fields };
        if !events.is_empty() {
            change.insert(
                "$push",
                doc! { "outbox": { "$each": outbox_entries(events)? } },
            );
        }
        // An event id the outbox holds already would be a second event of that id.
        let ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
        let filter = doc! {
            "_id": order.id.to_string(),
            "version": expected_version as i64,
            "outbox.event_id": { "$nin": ids },
        };
        if !stock.is_empty() {
            let write = Write::Update { filter, change };
            return self.with_stock(write, order, stock).await.map(drop);
        }
        bounded(async {
            let updated = self
                .orders
                .update_one(filter, change)
                .await
                .map_err(unavailable)?;
            if updated.matched_count == 0 {
                return Err(StoreError::Conflict);
            }
            Ok(())
        })
        .await
    }

    async fn list(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let filter = listing_filter(query);
        let sort = match query.sort {
            Sort::NewestFirst => doc! { "created_at": -1, "_id": -1 },
            Sort::OldestFirst => doc! { "created_at": 1, "_id": 1 },
            Sort::TotalHighFirst => doc! { "pricing.total.minor": -1, "created_at": -1 },
            Sort::TotalLowFirst => doc! { "pricing.total.minor": 1, "created_at": -1 },
        };
        let size = query.page_size.max(1);
        let page = query.page.max(1);
        bounded(async {
            let total = self
                .orders
                .count_documents(filter.clone())
                .await
                .map_err(unavailable)?;
            let cursor = self
                .orders
                .find(filter)
                .projection(order_fields())
                .sort(sort)
                .skip(u64::from(page - 1) * u64::from(size))
                .limit(i64::from(size))
                .await
                .map_err(unavailable)?;
            Ok(Page {
                items: all(cursor, order_from).await?,
                total,
                page,
                page_size: size,
            })
        })
        .await
    }

    async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Stats, StoreError> {
        let count_by = |field: &str| {
            vec![
                doc! { "$group": { "_id": format!("${field}"), "count": { "$sum": 1 } } },
                doc! { "$sort": { "_id": 1 } },
            ]
        };
        let pipeline = [
            doc! { "$match": { "created_at": { "$gte": date(from), "$lt": date(to) } } },
            doc! { "$facet": {
                "by_status": count_by("status"),
                "by_payment_status": count_by("payment_status"),
                "per_day": [
                    { "$group": {
                        "_id": { "$dateToString": { "format": "%Y-%m-%d", "date": "$created_at" } },
                        "count": { "$sum": 1 },
                    } },
                    { "$sort": { "_id": 1 } },
                ],
                "revenue": [
                    { "$match": { "payment_status": "paid" } },
                    { "$group": {
                        "_id": "$pricing.total.currency",
                        "sum": { "$sum": "$pricing.total.minor" },
                        "count": { "$sum": 1 },
                    } },
                    { "$sort": { "_id": 1 } },
                ],
            } },
        ];
        let facets = bounded(async {
            let cursor = self.orders.aggregate(pipeline).await.map_err(unavailable)?;
            all(cursor, Ok).await
        })
        .await?
        .pop()
        .unwrap_or_default();
        let groups = |name: &str| -> Vec<Document> {
            facets
                .get_array(name)
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(|g| g.as_document().cloned())
                        .collect()
                })
                .unwrap_or_default()
        };
        let key = |group: &Document| group.get_str("_id").unwrap_or_default().to_owned();
        let mut stats = Stats::default();
        for group in groups("by_status") {
            stats.orders += count(&group);
            stats.by_status.insert(key(&group), count(&group));
        }
        for group in groups("by_payment_status") {
            stats.by_payment_status.insert(key(&group), count(&group));
        }
        for group in groups("per_day") {
            stats.per_day.push(DayCount {
                day: key(&group).parse().map_err(unavailable)?,
                orders: count(&group),
            });
        }
        for group in groups("revenue") {
            let currency = key(&group).parse().map_err(unavailable)?;
            stats.add_paid(currency, int(&group, "sum"), int(&group, "count"));
        }
        Ok(stats)
    }

    /// Those published, from `order_events`, then those still in the order's outbox.
    async fn events(&self, id: OrderId) -> Result<Vec<StoredEvent>, StoreError> {
        bounded(async {
            let cursor = self
                .events
                .find(doc! { "order_id": id.to_string() })
                .sort(doc! { "_id": 1 })
                .await
                .map_err(unavailable)?;
            let mut events = all(cursor, stored_event).await?;
            let pending = self
                .orders
                .find_one(doc! { "_id": id.to_string() })
                .projection(doc! { "outbox": 1 })
                .await
                .map_err(unavailable)?;
            for entry in pending.iter().flat_map(outbox_of) {
                let event = outbox_event(entry.clone())?;
                // Archived by a relay that stopped before taking it out of the outbox.
                if events.iter().all(|e| e.event.event_id != event.event_id) {
                    events.push(StoredEvent {
                        event,
                        published_at: None,
                    });
                }
            }
            Ok(events)
        })
        .await
    }

    /// The outboxes of the orders of `shards` that have one, oldest order first, each in
    /// the order its events happened.
    async fn unpublished(
        &self,
        limit: u32,
        shards: &Shards,
    ) -> Result<Vec<OrderEvent>, StoreError> {
        bounded(async {
            let cursor = self
                .orders
                .find(pending_in(shards))
                .projection(doc! { "outbox": 1 })
                .sort(doc! { "_id": 1 })
                .limit(i64::from(limit))
                .await
                .map_err(unavailable)?;
            let outboxes = all(cursor, |order| {
                outbox_of(&order)
                    .cloned()
                    .map(outbox_event)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
            Ok(outboxes
                .into_iter()
                .flatten()
                .take(limit as usize)
                .collect())
        })
        .await
    }

    /// Archives the events in `order_events` as published, then takes them out of their
    /// orders' outboxes. A relay stopped in between leaves them in both: they are published
    /// again (at least once, with the same id), and archiving them again changes nothing.
    async fn mark_published(
        &self,
        ids: &[Uuid],
        at: DateTime<Utc>,
        shards: &Shards,
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let mut holding = pending_in(shards);
        holding.insert("outbox.event_id", doc! { "$in": &ids });
        bounded(async {
            // The leases checked, then the marks: a replica whose lease was taken over marks
            // nothing. A takeover between the check and the marks lets marks through only of
            // events this replica did deliver, which the new holder would publish again at
            // most. (One transaction would lock the leases and events of a replica killed in
            // the middle of it until the server expired it, 60 s.)
            if let Shards::Leased(leases) = shards {
                let fences: Vec<Document> = leases
                    .iter()
                    .map(|l| doc! { "_id": i32::from(l.shard), "token": l.token })
                    .collect();
                if fences.is_empty() {
                    return Ok(());
                }
                let held = self
                    .leases
                    .count_documents(doc! { "$or": &fences })
                    .await
                    .map_err(unavailable)?;
                if held < fences.len() as u64 {
                    return Err(StoreError::LeaseLost);
                }
            }
            let cursor = self
                .orders
                .find(holding)
                .projection(doc! { "outbox": 1 })
                .await
                .map_err(unavailable)?;
            let holders = all(cursor, Ok).await?;
            let mut archive = Vec::new();
            for order in &holders {
                for entry in outbox_of(order) {
                    if entry
                        .get_str("event_id")
                        .is_ok_and(|id| ids.iter().any(|i| i == id))
                    {
                        archive.push(archived_event(entry.clone(), at));
                    }
                }
            }
            if archive.is_empty() {
                return Ok(());
            }
            match self.events.insert_many(archive).ordered(false).await {
                // Archived before, by a relay stopped before the outbox was emptied.
                Err(e) if !is_duplicate_key(&e) => return Err(unavailable(e)),
                _ => {}
            }
            let orders: Vec<Bson> = holders
                .iter()
                .filter_map(|o| o.get("_id").cloned())
                .collect();
            self.orders
                .update_many(
                    doc! { "_id": { "$in": &orders } },
                    doc! { "$pull": { "outbox": { "event_id": { "$in": &ids } } } },
                )
                .await
                .map_err(unavailable)?;
            // An empty outbox goes, so the index of pending orders holds only those.
            self.orders
                .update_many(
                    doc! { "_id": { "$in": &orders }, "outbox": { "$size": 0 } },
                    doc! { "$unset": { "outbox": "" } },
                )
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn backlog(&self) -> Result<Backlog, StoreError> {
        let pipeline = [
            doc! { "$match": { "outbox": { "$exists": true } } },
            doc! { "$project": { "outbox.occurred_at": 1 } },
            doc! { "$unwind": "$outbox" },
            doc! { "$group": {
                "_id": Bson::Null,
                "events": { "$sum": 1 },
                "oldest": { "$min": "$outbox.occurred_at" },
            } },
        ];
        bounded(async {
            let cursor = self.orders.aggregate(pipeline).await.map_err(unavailable)?;
            let Some(totals) = all(cursor, Ok).await?.pop() else {
                return Ok(Backlog::default());
            };
            Ok(Backlog {
                events: int(&totals, "events").max(0) as u64,
                oldest: totals.get_datetime("oldest").ok().map(|at| at.to_chrono()),
            })
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        bounded(async {
            self.db
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

impl MongoStore {
    /// What a new order's duplicate key was, when it was not its idempotency key: its
    /// number (the caller takes another), or an event id in another order's outbox.
    async fn clash(&self, order: &Order) -> StoreError {
        let number = self
            .orders
            .find_one(doc! { "order_number": order.order_number.as_str() })
            .projection(doc! { "_id": 1 })
            .await;
        match number {
            Ok(Some(_)) => StoreError::DuplicateNumber,
            Ok(None) => unavailable("an event id of the order is taken"),
            Err(e) => unavailable(e),
        }
    }
}

/// Orders of `shards` with events waiting in their outbox.
fn pending_in(shards: &Shards) -> Document {
    match shards {
        Shards::All => doc! { "outbox": { "$exists": true } },
        Shards::Leased(_) => {
            let numbers: Vec<i32> = shards.numbers().into_iter().map(i32::from).collect();
            doc! { "outbox": { "$exists": true }, "shard": { "$in": numbers } }
        }
    }
}

/// The entries of an order document's outbox.
fn outbox_of(order: &Document) -> impl Iterator<Item = &Document> {
    order
        .get_array("outbox")
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Bson::as_document)
}
