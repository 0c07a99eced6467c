//! `OrderStore` on MongoDB: writes in transactions, reads as queries and aggregations.

use super::documents::{
    all, count, date, event_documents, int, listing_filter, order_document, order_from,
    stored_event,
};
use super::transaction::{Abort, is_duplicate_key};
use super::{MongoStore, bounded, unavailable};
use crate::orders::outbox::Shards;
use crate::orders::{
    Backlog, DayCount, IdempotencyKey, Inserted, OrderJson, OrderQuery, OrderStore, Page, Sort,
    Stats, StoreError, StoredEvent, follows,
};
use crate::orders::{Order, OrderEvent, OrderId};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[async_trait]
impl OrderStore for MongoStore {
    async fn insert(
        &self,
        order: &Order,
        events: &[OrderEvent],
        key: Option<&IdempotencyKey>,
    ) -> Result<Inserted, StoreError> {
        let order_doc = order_document(order)?;
        let event_docs = event_documents(events)?;
        let key_doc = key.map(|key| {
            doc! {
                "_id": { "user_id": &key.user_id, "key": &key.key },
                "fingerprint": &key.fingerprint,
                "order_id": order.id.to_string(),
            }
        });
        let (orders, events, keys) = (&self.orders, &self.events, &self.keys);
        let work = self.transaction(|session| {
            let (order_doc, event_docs, key_doc) =
                (order_doc.clone(), event_docs.clone(), key_doc.clone());
            let (orders, events, keys) = (orders.clone(), events.clone(), keys.clone());
            Box::pin(async move {
                if let Some(key_doc) = key_doc {
                    let id = key_doc.get("_id").cloned().unwrap_or(Bson::Null);
                    if let Some(seen) = keys
                        .find_one(doc! { "_id": id })
                        .session(&mut *session)
                        .await?
                    {
                        if seen.get_str("fingerprint").ok() != key_doc.get_str("fingerprint").ok() {
                            return Err(StoreError::KeyReused.into());
                        }
                        let first = seen.get_str("order_id").map_err(unavailable)?;
                        let first = orders
                            .find_one(doc! { "_id": first })
                            .session(&mut *session)
                            .await?
                            .ok_or_else(|| unavailable("idempotency key without its order"))?;
                        return Ok(Inserted::Replayed(Box::new(order_from(first)?)));
                    }
                    // A concurrent request with the same key committed first: the next
                    // attempt finds its key and replays its order.
                    match keys.insert_one(key_doc).session(&mut *session).await {
                        Err(e) if is_duplicate_key(&e) => return Err(Abort::Retry),
                        other => other?,
                    };
                }
                match orders
                    .insert_one(order_doc.clone())
                    .session(&mut *session)
                    .await
                {
                    Err(e) if is_duplicate_key(&e) => {
                        return Err(StoreError::DuplicateNumber.into());
                    }
                    other => other?,
                };
                if !event_docs.is_empty() {
                    events
                        .insert_many(event_docs)
                        .session(&mut *session)
                        .await?;
                }
                Ok(Inserted::Created)
            })
        });
        bounded(work).await
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

    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[OrderEvent],
    ) -> Result<(), StoreError> {
        follows(order, expected_version)?;
        let order_doc = order_document(order)?;
        let event_docs = event_documents(events)?;
        let filter = doc! { "_id": order.id.to_string(), "version": expected_version as i64 };
        let (orders, events) = (&self.orders, &self.events);
        let work = self.transaction(|session| {
            let (order_doc, event_docs, filter) =
                (order_doc.clone(), event_docs.clone(), filter.clone());
            let (orders, events) = (orders.clone(), events.clone());
            Box::pin(async move {
                let replaced = orders
                    .replace_one(filter, order_doc)
                    .session(&mut *session)
                    .await?;
                if replaced.matched_count == 0 {
                    return Err(StoreError::Conflict.into());
                }
                if !event_docs.is_empty() {
                    events
                        .insert_many(event_docs)
                        .session(&mut *session)
                        .await?;
                }
                Ok(())
            })
        });
        bounded(work).await
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

    async fn events(&self, id: OrderId) -> Result<Vec<StoredEvent>, StoreError> {
        bounded(async {
            let cursor = self
                .events
                .find(doc! { "order_id": id.to_string() })
                .sort(doc! { "_id": 1 })
                .await
                .map_err(unavailable)?;
            all(cursor, stored_event).await
        })
        .await
    }

    async fn unpublished(
        &self,
        limit: u32,
        shards: &Shards,
    ) -> Result<Vec<OrderEvent>, StoreError> {
        let filter = unpublished_in(shards);
        bounded(async {
            let cursor = self
                .events
                .find(filter)
                .sort(doc! { "published_at": 1, "_id": 1 })
                .limit(i64::from(limit))
                .await
                .map_err(unavailable)?;
            all(cursor, |doc| stored_event(doc).map(|e| e.event)).await
        })
        .await
    }

    async fn mark_published(
        &self,
        ids: &[Uuid],
        at: DateTime<Utc>,
        shards: &Shards,
    ) -> Result<(), StoreError> {
        let mut filter = unpublished_in(shards);
        filter.insert(
            "_id",
            doc! { "$in": ids.iter().map(Uuid::to_string).collect::<Vec<_>>() },
        );
        let mark = doc! { "$set": { "published_at": date(at) } };
        let Shards::Leased(leases) = shards else {
            return bounded(async {
                self.events
                    .update_many(filter, mark)
                    .await
                    .map_err(unavailable)?;
                Ok(())
            })
            .await;
        };
        // The leases checked, then the marks: a replica whose lease was taken over marks
        // nothing. Not one transaction: a replica killed in the middle of one would leave
        // its leases (and events) locked until the server expires the transaction (60 s),
        // and no other replica could take them over or mark those events until then. A
        // takeover between the check and the marks lets marks through only of events this
        // replica did deliver, which the new holder would publish again at most.
        let fences: Vec<Document> = leases
            .iter()
            .map(|l| doc! { "_id": i32::from(l.shard), "token": l.token })
            .collect();
        if fences.is_empty() {
            return Ok(());
        }
        bounded(async {
            let held = self
                .leases
                .count_documents(doc! { "$or": &fences })
                .await
                .map_err(unavailable)?;
            if held < fences.len() as u64 {
                return Err(StoreError::LeaseLost);
            }
            self.events
                .update_many(filter, mark)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn backlog(&self) -> Result<Backlog, StoreError> {
        let unpublished = doc! { "published_at": Bson::Null };
        bounded(async {
            let events = self
                .events
                .count_documents(unpublished.clone())
                .await
                .map_err(unavailable)?;
            let oldest = self
                .events
                .find_one(unpublished)
                .sort(doc! { "published_at": 1, "_id": 1 })
                .await
                .map_err(unavailable)?
                .and_then(|doc| {
                    doc.get_datetime("occurred_at")
                        .ok()
                        .map(|at| at.to_chrono())
                });
            Ok(Backlog { events, oldest })
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

/// Unpublished events of `shards`.
fn unpublished_in(shards: &Shards) -> Document {
    match shards {
        Shards::All => doc! { "published_at": Bson::Null },
        Shards::Leased(_) => {
            let numbers: Vec<i32> = shards.numbers().into_iter().map(i32::from).collect();
            doc! { "published_at": Bson::Null, "shard": { "$in": numbers } }
        }
    }
}
