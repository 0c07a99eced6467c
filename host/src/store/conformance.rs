//! The behaviour every store must have, written once: a backend's tests call [`run`] with
//! a factory of fresh, empty stores.

use crate::domain::StoreError;
use crate::domain::{Address, Digest, Money, Quote};
use crate::domain::{Ledger, StockMove};
use crate::operations::replays::{
    LISTED, Progress, Replay, ReplayLog, ReplayState, Report, Selection, Tally,
};
use crate::operations::shadows::{ReplicaShadow, ShadowBoard};
use crate::orders::outbox::Shards;
use crate::orders::stock::StockStore;
use crate::orders::{
    Backlog, ChangeAction, ChangeState, Customer, IdempotencyKey, Inserted, Order, OrderChange,
    OrderEvent, OrderId, OrderItem, OrderNumber, OrderQuery, OrderStore, Payment, Proposal,
    Provenance, STOCK_LOW, Settlement, Shipping, Sort,
};

use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// 2026-11-25T12:00:00Z
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// A pending order of `user` worth `total` minor units of USD.
pub fn sample_order(user: &str, total: i64) -> Order {
    let usd = Money::new(total, "USD".parse().unwrap());
    let zero = Money::new(0, usd.currency);
    let at = base_time();
    Order {
        id: OrderId::new(),
        order_number: OrderNumber::generate(at),
        user_id: user.into(),
        customer: Customer::default(),
        items: vec![OrderItem {
            product_id: "p1".into(),
            name: "Widget".into(),
            sku: "SKU-P1".into(),
            unit_price: usd,
            quantity: 1,
            line_total: usd,
            returned_quantity: 0,
        }],
        pricing: Quote {
            subtotal: usd,
            tax: zero,
            shipping: zero,
            discount: zero,
            total: usd,
            applied: vec![],
        },
        discount_code: None,
        status: "pending".into(),
        payment_status: "pending".into(),
        status_history: vec![],
        payment: Payment {
            method: "card".into(),
            transaction_id: None,
            paid_at: None,
            refunded: None,
        },
        shipping: Shipping {
            method: "standard".into(),
            address: Address::example(),
            carrier: None,
            tracking_number: None,
        },
        notes: None,
        timestamps: BTreeMap::new(),
        created_at: at,
        updated_at: at,
        provenance: Provenance {
            workflow: "standard".into(),
            workflow_digest: Digest::of(b"workflow"),
            decisions: vec![],
        },
        version: 1,
        changes: Vec::new(),
        reservation: None,
    }
}

/// An order's events as the store gives them back, without their publication times.
pub async fn events_of(store: &impl OrderStore, id: OrderId) -> Vec<OrderEvent> {
    let stored = store.events(id).await.unwrap();
    stored.into_iter().map(|e| e.event).collect()
}

fn created(order: &Order) -> Vec<OrderEvent> {
    OrderEvent::all(order.clone(), &["order.created".into()], order.created_at)
}

/// Runs every conformance check, each on a fresh store from `fresh`.
pub async fn run<S, F>(mut fresh: impl FnMut() -> F)
where
    S: OrderStore + ReplayLog + ShadowBoard,
    F: Future<Output = S>,
{
    insert_get_and_events(fresh().await).await;
    compare_and_set(fresh().await).await;
    compare_and_set_races(Arc::new(fresh().await)).await;
    idempotency(Arc::new(fresh().await)).await;
    unique_order_numbers(Arc::new(fresh().await)).await;
    listing_paging_and_filters(fresh().await).await;
    statistics(fresh().await).await;
    outbox(fresh().await).await;
    no_change_without_its_events(fresh().await).await;
    replay_log(fresh().await).await;
    shadow_board(fresh().await).await;
    stock_reservations(Arc::new(fresh().await)).await;
    low_stock_alerts(fresh().await).await;
}

/// A move reserving `units` of p1, whose source says it has `source`.
fn reserving(units: i64, source: i64) -> StockMove {
    StockMove {
        product_id: "p1".into(),
        reserved: units,
        on_hand: 0,
        source: Some(source),
        backorders: 0,
        low_stock: None,
    }
}

/// Orders racing for the last units: exactly what is there is reserved, each order with
/// its reservation and none without; a release, a shipment and an adjustment move the
/// ledger, and an adjustment under what is reserved is refused.
async fn stock_reservations<S: OrderStore>(store: Arc<S>) {
    let racers: Vec<_> = (0..24)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let order = sample_order("u1", 1000);
                let placed =
                    (store.insert(&order, &created(&order), None, &[reserving(1, 5)])).await;
                (order, placed)
            })
        })
        .collect();
    let (mut placed, mut short) = (Vec::new(), 0);
    for racer in racers {
        match racer.await.unwrap() {
            (order, Ok(Inserted::Created)) => placed.push(order),
            (order, Err(StoreError::Shortage(shortage))) => {
                assert_eq!(shortage.product_id, "p1");
                assert!(
                    store.get(order.id).await.unwrap().is_none(),
                    "refused, yet stored"
                );
                short += 1;
            }
            (_, other) => panic!("{other:?}"),
        }
    }
    assert_eq!((placed.len(), short), (5, 19));
    let level = ledger(store.as_ref(), "p1").await.level;
    assert_eq!((level.on_hand, level.reserved), (5, 5));
    // The source now says 7: the next reservation follows it.
    let more = sample_order("u1", 1000);
    store
        .insert(&more, &created(&more), None, &[reserving(2, 7)])
        .await
        .unwrap();
    let followed = ledger(store.as_ref(), "p1").await;
    assert_eq!(followed.source, 7);
    let level = followed.level;
    assert_eq!(
        (level.on_hand, level.reserved, level.available()),
        (7, 7, 0)
    );
    // One order gives its unit back; another ships its own.
    let mut released = placed[0].clone();
    released.version += 1;
    let mut moved = reserving(-1, 7);
    moved.source = None;
    store
        .update(&released, 1, &[], &[moved.clone()])
        .await
        .unwrap();
    let mut shipped = placed[1].clone();
    shipped.version += 1;
    moved.on_hand = -1;
    store.update(&shipped, 1, &[], &[moved]).await.unwrap();
    let level = ledger(store.as_ref(), "p1").await.level;
    assert_eq!((level.on_hand, level.reserved), (6, 5));
    // A source's figure not followed yet shows as what the next write will make of it.
    assert_eq!(
        Ledger::followed(Some(&ledger(store.as_ref(), "p1").await), Some(9)).on_hand,
        8
    );
    let none = store
        .ledgers(&["p1".into(), "nowhere".into()])
        .await
        .unwrap();
    assert_eq!(none.keys().collect::<Vec<_>>(), ["p1"]);
    // Counted again: two fewer; never under what is reserved.
    assert_eq!(store.adjust_stock("p1", -1, 0).await.unwrap().on_hand, 5);
    assert!(matches!(
        store.adjust_stock("p1", -1, 0).await,
        Err(StoreError::Shortage(_))
    ));
    // A product no order reserved yet starts from the figure given.
    assert_eq!(store.adjust_stock("p2", 3, 10).await.unwrap().on_hand, 13);
}

/// A reservation that takes what is available under the workflow's threshold raises one
/// `stock.low` event with its order's, in the same write; those before and after it do not.
async fn low_stock_alerts(store: impl OrderStore) {
    let alerting = |units| StockMove {
        low_stock: Some(3),
        ..reserving(units, 5)
    };
    let (mut types, mut orders) = (Vec::new(), Vec::new());
    for units in [2, 1, 1] {
        let order = sample_order("u1", 1000);
        (store
            .insert(&order, &created(&order), None, &[alerting(units)])
            .await)
            .unwrap();
        let events = events_of(&store, order.id).await;
        types.push(
            events
                .iter()
                .map(|e| e.event_type.clone())
                .collect::<Vec<_>>(),
        );
        if let Some(low) = events.iter().find(|e| e.event_type == STOCK_LOW) {
            let alert = low.stock.as_ref().unwrap();
            assert_eq!(
                (alert.product_id.as_str(), alert.available, alert.threshold),
                ("p1", 2, 3)
            );
            assert_eq!(low.order_id, order.id);
        }
        orders.push(order);
    }
    // 5 → 3 (not under 3), 3 → 2 (under: the alert), 2 → 1 (under already).
    assert_eq!(
        types,
        [
            vec!["order.created"],
            vec!["order.created", STOCK_LOW],
            vec!["order.created"],
        ]
    );
    // An update that reserves raises it too: two units given back (1 → 3), one taken (2).
    let mut first = orders.swap_remove(0);
    first.version += 1;
    let released = StockMove {
        source: None,
        ..reserving(-2, 5)
    };
    (store.update(&first, 1, &[], &[released]).await).unwrap();
    first.version += 1;
    (store.update(&first, 2, &[], &[alerting(1)]).await).unwrap();
    let events = events_of(&store, first.id).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["order.created", STOCK_LOW]);
    assert_eq!(events[1].stock.as_ref().unwrap().available, 2);
}

/// `product`'s ledger, which must exist.
pub async fn ledger(store: &(impl StockStore + ?Sized), product: &str) -> Ledger {
    let ledgers = store.ledgers(&[product.to_owned()]).await.unwrap();
    ledgers[product]
}

async fn insert_get_and_events(store: impl OrderStore) {
    let order = sample_order("u1", 1000);
    assert_eq!(store.get(order.id).await.unwrap(), None);
    assert_eq!(
        store
            .insert(&order, &created(&order), None, &[])
            .await
            .unwrap(),
        Inserted::Created
    );
    assert_eq!(store.get(order.id).await.unwrap(), Some(order.clone()));
    let stored = store.get_json(order.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.user_id.as_str(),
            serde_json::from_str::<Order>(&stored.json).unwrap()
        ),
        ("u1", order.clone())
    );
    assert_eq!(store.get_json(OrderId::new()).await.unwrap(), None);
    let events = store.events(order.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].event.event_type.as_str(), events[0].published_at),
        ("order.created", None)
    );
    store.ping().await.unwrap();
}

/// Stores `order` with its creation event, and gives back that event and the order's next
/// version, confirmed (not stored).
async fn stored_then_confirmed(store: &impl OrderStore, order: &Order) -> (Vec<OrderEvent>, Order) {
    let announced = created(order);
    store.insert(order, &announced, None, &[]).await.unwrap();
    let mut next = order.clone();
    next.status = "confirmed".into();
    next.version = 2;
    (announced, next)
}

async fn compare_and_set(store: impl OrderStore) {
    let order = sample_order("u1", 1000);
    let (announced, next) = stored_then_confirmed(&store, &order).await;
    let confirmed = OrderEvent::all(next.clone(), &["order.confirmed".into()], next.updated_at);
    store.update(&next, 1, &confirmed, &[]).await.unwrap();
    assert_eq!(
        store.get(order.id).await.unwrap().unwrap().status,
        "confirmed"
    );
    // A writer that read version 1 has lost: nothing it carried is written.
    let mut stale = order.clone();
    stale.status = "cancelled".into();
    stale.version = 2;
    let cancelled = OrderEvent::all(stale.clone(), &["order.cancelled".into()], stale.updated_at);
    assert!(matches!(
        store.update(&stale, 1, &cancelled, &[]).await,
        Err(StoreError::Conflict)
    ));
    // Each event carries the order as its own change left it.
    let events = events_of(&store, order.id).await;
    assert_eq!(events, [announced[0].clone(), confirmed[0].clone()]);
    // A return received, with its change and refund, reads back as written.
    let mut returned = store.get(order.id).await.unwrap().unwrap();
    let usd = returned.pricing.total;
    returned.items[0].returned_quantity = 1;
    returned.payment.refunded = Some(usd);
    returned.payment_status = "refunded".into();
    returned.changes.push(OrderChange {
        id: uuid::Uuid::now_v7(),
        state: ChangeState::Confirmed,
        actions: vec![ChangeAction::ReturnItem {
            product_id: "p1".into(),
            quantity: Some(1),
            reason: Some("too small".into()),
        }],
        requested_by: "u1".into(),
        role: "user".into(),
        requested_at: returned.updated_at,
        reason: None,
        ended_by: Some("ops".into()),
        ended_at: Some(returned.updated_at),
        end_reason: None,
        before: returned.pricing.clone(),
        after: returned.pricing.clone(),
        difference: Money::new(-usd.minor, usd.currency),
        refund: Some(crate::domain::Refund {
            items: usd,
            tax: Money::new(0, usd.currency),
            shipping: Money::new(0, usd.currency),
            restocking_fee: Money::new(0, usd.currency),
            total: usd,
        }),
        settlement: Settlement::Refund,
        proposal: Proposal {
            items: returned.items.clone(),
            shipping_address: returned.shipping.address.clone(),
            shipping_method: returned.shipping.method.clone(),
            discount_code: None,
        },
        decisions: vec![],
        base: 0,
        key: None,
    });
    returned.version = 3;
    let received = OrderEvent::all(
        returned.clone(),
        &["order.return_received".into()],
        returned.updated_at,
    );
    store.update(&returned, 2, &received, &[]).await.unwrap();
    assert_eq!(store.get(order.id).await.unwrap(), Some(returned.clone()));
    let json = store.get_json(order.id).await.unwrap().unwrap().json;
    assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), returned);
    assert_eq!(
        store.get(order.id).await.unwrap().unwrap().status,
        "confirmed"
    );
}

/// Many writers race on one order, round after round: exactly one wins each round.
async fn compare_and_set_races<S: OrderStore>(store: Arc<S>) {
    let order = sample_order("u1", 1000);
    store
        .insert(&order, &created(&order), None, &[])
        .await
        .unwrap();
    for round in 1..=5u64 {
        // Every writer reads the same version before any of them writes.
        let read_by_all = store.get(order.id).await.unwrap().unwrap();
        let writers: Vec<_> = (0..16)
            .map(|writer| {
                let (store, mut mine) = (store.clone(), read_by_all.clone());
                tokio::spawn(async move {
                    let read = mine.version;
                    mine.version += 1;
                    mine.notes = Some(format!("round {round} writer {writer}"));
                    let events = OrderEvent::all(
                        mine.clone(),
                        &[format!("order.round_{round}")],
                        mine.updated_at,
                    );
                    store.update(&mine, read, &events, &[]).await
                })
            })
            .collect();
        let mut wins = 0;
        for writer in writers {
            match writer.await.unwrap() {
                Ok(()) => wins += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
        assert_eq!(
            store.get(order.id).await.unwrap().unwrap().version,
            round + 1
        );
    }
    // One event per winning write, none from the losers, each with the order it wrote.
    let events = store.events(order.id).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|e| e.event.order.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
    let last = store.get(order.id).await.unwrap().unwrap();
    assert_eq!(*events[5].event.order, last);
}

async fn idempotency<S: OrderStore>(store: Arc<S>) {
    let key = IdempotencyKey {
        user_id: "u1".into(),
        key: "k-1".into(),
        fingerprint: "f-1".into(),
    };
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move {
                let order = sample_order("u1", 1000);
                let inserted = store
                    .insert(&order, &created(&order), Some(&key), &[])
                    .await;
                (order.id, inserted.unwrap())
            })
        })
        .collect();
    let mut created_ids = Vec::new();
    let mut replayed_ids = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            (id, Inserted::Created) => created_ids.push(id),
            (_, Inserted::Replayed(first)) => replayed_ids.push(first.id),
        }
    }
    assert_eq!(created_ids.len(), 1);
    assert!(replayed_ids.iter().all(|id| *id == created_ids[0]));
    let all = OrderQuery {
        page: 1,
        page_size: 100,
        ..OrderQuery::default()
    };
    assert_eq!(store.list(&all).await.unwrap().total, 1);
    // The same key for another request is refused; for another user it is another key.
    let other = sample_order("u1", 2000);
    let reused = IdempotencyKey {
        fingerprint: "f-2".into(),
        ..key.clone()
    };
    assert!(matches!(
        store
            .insert(&other, &created(&other), Some(&reused), &[])
            .await,
        Err(StoreError::KeyReused)
    ));
    let elsewhere = IdempotencyKey {
        user_id: "u2".into(),
        ..key
    };
    let theirs = sample_order("u2", 1000);
    assert!(matches!(
        store
            .insert(&theirs, &created(&theirs), Some(&elsewhere), &[])
            .await
            .unwrap(),
        Inserted::Created
    ));
}

async fn unique_order_numbers<S: OrderStore>(store: Arc<S>) {
    let first = sample_order("u1", 1000);
    store
        .insert(&first, &created(&first), None, &[])
        .await
        .unwrap();
    let mut clash = sample_order("u1", 1000);
    clash.order_number = first.order_number.clone();
    assert!(matches!(
        store.insert(&clash, &created(&clash), None, &[]).await,
        Err(StoreError::DuplicateNumber)
    ));
    // The failed insert left no trace, events included.
    assert!(store.get(clash.id).await.unwrap().is_none());
    assert!(store.events(clash.id).await.unwrap().is_empty());
    let inserts: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let order = sample_order("u3", 1);
                store
                    .insert(&order, &created(&order), None, &[])
                    .await
                    .map(|_| order.order_number)
            })
        })
        .collect();
    let mut numbers = std::collections::BTreeSet::new();
    for insert in inserts {
        numbers.insert(insert.await.unwrap().unwrap());
    }
    assert_eq!(numbers.len(), 32);
}

async fn listing_paging_and_filters(store: impl OrderStore) {
    // u1: 5 orders an hour apart, totals 100..500; u2: one paid order.
    let mut mine = Vec::new();
    for i in 0..5i64 {
        let mut order = sample_order("u1", 100 * (i + 1));
        order.created_at = base_time() + Duration::hours(i);
        order.status = if i % 2 == 0 { "pending" } else { "confirmed" }.into();
        store
            .insert(&order, &created(&order), None, &[])
            .await
            .unwrap();
        mine.push(order);
    }
    let mut theirs = sample_order("u2", 9999);
    theirs.payment_status = "paid".into();
    store
        .insert(&theirs, &created(&theirs), None, &[])
        .await
        .unwrap();

    let query = |f: &dyn Fn(&mut OrderQuery)| {
        let mut q = OrderQuery {
            page: 1,
            page_size: 10,
            ..OrderQuery::default()
        };
        f(&mut q);
        q
    };
    let totals = |page: &crate::orders::Page<Order>| {
        page.items
            .iter()
            .map(|o| o.pricing.total.minor)
            .collect::<Vec<_>>()
    };

    let first = store
        .list(&query(&|q| {
            q.user_id = Some("u1".into());
            q.page_size = 2;
        }))
        .await
        .unwrap();
    assert_eq!(
        (first.total, totals(&first)),
        (5, vec![500, 400]),
        "newest first"
    );
    let last = store
        .list(&query(&|q| {
            q.user_id = Some("u1".into());
            q.page_size = 2;
            q.page = 3;
        }))
        .await
        .unwrap();
    assert_eq!(totals(&last), vec![100]);
    let confirmed = store
        .list(&query(&|q| {
            q.user_id = Some("u1".into());
            q.status = Some("confirmed".into());
        }))
        .await
        .unwrap();
    assert_eq!(totals(&confirmed), vec![400, 200]);
    let paid = store
        .list(&query(&|q| q.payment_status = Some("paid".into())))
        .await
        .unwrap();
    assert_eq!(totals(&paid), vec![9999]);
    let by_number = store
        .list(&query(&|q| {
            q.order_number = Some(mine[2].order_number.to_string())
        }))
        .await
        .unwrap();
    assert_eq!(totals(&by_number), vec![300]);
    let window = store
        .list(&query(&|q| {
            q.created_from = Some(base_time() + Duration::hours(1));
            q.created_to = Some(base_time() + Duration::hours(3));
        }))
        .await
        .unwrap();
    assert_eq!(totals(&window), vec![300, 200]);
    let range = store
        .list(&query(&|q| {
            q.total_min = Some(200);
            q.total_max = Some(400);
            q.sort = Sort::TotalLowFirst;
        }))
        .await
        .unwrap();
    assert_eq!(totals(&range), vec![200, 300, 400]);
    let richest = store
        .list(&query(&|q| {
            q.sort = Sort::TotalHighFirst;
            q.page_size = 2;
        }))
        .await
        .unwrap();
    assert_eq!((richest.total, totals(&richest)), (6, vec![9999, 500]));
    let oldest = store
        .list(&query(&|q| {
            q.user_id = Some("u1".into());
            q.sort = Sort::OldestFirst;
            q.page_size = 1;
        }))
        .await
        .unwrap();
    assert_eq!(totals(&oldest), vec![100]);
    let nobody = store
        .list(&query(&|q| q.user_id = Some("nobody".into())))
        .await
        .unwrap();
    assert_eq!((nobody.total, nobody.items.len()), (0, 0));
}

async fn statistics(store: impl OrderStore) {
    let day = |d: i64| base_time() + Duration::days(d);
    for (d, total, status, payment, currency) in [
        (0, 1000, "pending", "pending", "USD"),
        (0, 3001, "confirmed", "paid", "USD"),
        (1, 2000, "delivered", "paid", "USD"),
        (1, 500, "cancelled", "refunded", "USD"),
        (2, 700, "confirmed", "paid", "EUR"),
        (9, 100, "pending", "pending", "USD"),
    ] {
        let mut order = sample_order("u1", total);
        order.created_at = day(d);
        order.status = status.into();
        order.payment_status = payment.into();
        order.pricing.total = Money::new(total, currency.parse().unwrap());
        store
            .insert(&order, &created(&order), None, &[])
            .await
            .unwrap();
    }
    let stats = store.stats(day(0), day(3)).await.unwrap();
    assert_eq!(stats.orders, 5);
    assert_eq!(
        stats.by_status,
        BTreeMap::from([
            ("cancelled".into(), 1),
            ("confirmed".into(), 2),
            ("delivered".into(), 1),
            ("pending".into(), 1)
        ])
    );
    assert_eq!(
        stats.by_payment_status,
        BTreeMap::from([
            ("paid".into(), 3),
            ("pending".into(), 1),
            ("refunded".into(), 1)
        ])
    );
    let money = |m: i64, c: &str| Money::new(m, c.parse().unwrap());
    assert_eq!(stats.revenue, vec![money(700, "EUR"), money(5001, "USD")]);
    assert_eq!(
        stats.average_order_value,
        vec![money(700, "EUR"), money(2501, "USD")]
    ); // 2500.5 → 2501
    let per_day: Vec<(String, u64)> = stats
        .per_day
        .iter()
        .map(|d| (d.day.to_string(), d.orders))
        .collect();
    assert_eq!(
        per_day,
        [
            ("2026-11-25".to_string(), 2),
            ("2026-11-26".to_string(), 2),
            ("2026-11-27".to_string(), 1)
        ]
    );
}

async fn outbox(store: impl OrderStore) {
    let a = sample_order("u1", 1);
    let b = sample_order("u1", 2);
    let (created_a, created_b) = (created(&a), created(&b));
    store.insert(&a, &created_a, None, &[]).await.unwrap();
    store.insert(&b, &created_b, None, &[]).await.unwrap();
    let pending = store.unpublished(10, &Shards::All).await.unwrap();
    assert_eq!(
        pending,
        [created_a[0].clone(), created_b[0].clone()],
        "oldest first"
    );
    assert_eq!(store.unpublished(1, &Shards::All).await.unwrap().len(), 1);
    assert_eq!(
        store.backlog().await.unwrap(),
        Backlog {
            events: 2,
            oldest: Some(pending[0].occurred_at)
        }
    );
    store
        .mark_published(&[pending[0].event_id], base_time(), &Shards::All)
        .await
        .unwrap();
    let left = store.unpublished(10, &Shards::All).await.unwrap();
    assert_eq!(
        left.iter().map(|e| e.order_id).collect::<Vec<_>>(),
        vec![b.id]
    );
    assert_eq!(store.backlog().await.unwrap().events, 1);
    store
        .mark_published(&[left[0].event_id], base_time(), &Shards::All)
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap(), Backlog::default());
    assert_eq!(
        store.events(a.id).await.unwrap()[0].published_at,
        Some(base_time())
    );
    // Marking twice is harmless.
    store
        .mark_published(
            &[pending[0].event_id],
            base_time() + Duration::hours(1),
            &Shards::All,
        )
        .await
        .unwrap();
    assert_eq!(
        store.events(a.id).await.unwrap()[0].published_at,
        Some(base_time())
    );
}

/// An order change and its events are one write: when the events cannot be written (here: an
/// event id already taken), the change is not written either.
async fn no_change_without_its_events(store: impl OrderStore) {
    let order = sample_order("u1", 1000);
    let (announced, next) = stored_then_confirmed(&store, &order).await;
    assert!(store.update(&next, 1, &announced, &[]).await.is_err());
    assert_eq!(store.get(order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(store.events(order.id).await.unwrap().len(), 1);

    let other = sample_order("u2", 1000);
    let mut reusing = created(&other);
    reusing[0].event_id = announced[0].event_id;
    assert!(store.insert(&other, &reusing, None, &[]).await.is_err());
    assert_eq!(store.get(other.id).await.unwrap(), None);
    assert_eq!(store.events(other.id).await.unwrap().len(), 0);
}

/// A running replay of `plugin`'s candidate, started `minutes` after [`base_time`].
fn sample_replay(plugin: &str, minutes: i64) -> Replay {
    let at = base_time() + Duration::minutes(minutes);
    Replay {
        id: uuid::Uuid::now_v7(),
        plugin: plugin.into(),
        kind: "pricing".into(),
        digest: Digest::of(b"candidate"),
        active: Digest::of(b"active"),
        selection: Selection::default(),
        state: ReplayState::Running,
        error: None,
        progress: Progress::default(),
        by: "ops".into(),
        replica: "r1".into(),
        started_at: at,
        updated_at: at,
        finished_at: None,
        orders_per_second: None,
        report: Report::default(),
    }
}

async fn replay_log(store: impl ReplayLog) {
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(store.get(unknown).await.unwrap(), None);
    assert!(!store.cancel(unknown).await.unwrap());
    assert!(!store.cancelling(unknown).await.unwrap());

    let (mut first, second) = (sample_replay("p", 0), sample_replay("p", 1));
    let other = sample_replay("q", 2);
    for replay in [&first, &second, &other] {
        store.save(replay).await.unwrap();
    }
    let listed = |replays: Vec<Replay>| replays.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        listed(store.list("p").await.unwrap()),
        [second.id, first.id]
    );
    assert_eq!(listed(store.list("q").await.unwrap()), [other.id]);

    // A cancel outlives the saves of the replay's progress that follow it.
    assert!(store.cancel(first.id).await.unwrap());
    first.progress.done = 500;
    store.save(&first).await.unwrap();
    assert!(store.cancelling(first.id).await.unwrap());
    assert!(!store.cancelling(second.id).await.unwrap());
    assert_eq!(store.get(first.id).await.unwrap(), Some(first));

    for minutes in 0..LISTED as i64 {
        store.save(&sample_replay("many", minutes)).await.unwrap();
    }
    let newest = sample_replay("many", LISTED as i64);
    store.save(&newest).await.unwrap();
    let many = store.list("many").await.unwrap();
    assert_eq!(many.len(), LISTED);
    assert_eq!(many[0], newest);
}

async fn shadow_board(store: impl ShadowBoard) {
    let part = |plugin: &str, replica: &str, dropped| ReplicaShadow {
        plugin: plugin.into(),
        replica: replica.into(),
        digest: "sha256:candidate".into(),
        since: base_time(),
        dropped,
        tally: Tally::default(),
    };
    for (plugin, replica) in [("p", "r1"), ("p", "r2"), ("q", "r1")] {
        store.publish(&part(plugin, replica, 0)).await.unwrap();
    }
    // Published again, a part replaces what its replica published of the plugin.
    store.publish(&part("p", "r1", 7)).await.unwrap();
    let named = |parts: Vec<ReplicaShadow>| {
        let mut named: Vec<_> = (parts.into_iter())
            .map(|s| (s.plugin, s.replica, s.dropped))
            .collect();
        named.sort();
        named
    };
    assert_eq!(
        named(store.shadows("p").await.unwrap()),
        [("p".into(), "r1".into(), 7), ("p".into(), "r2".into(), 0)]
    );
    assert_eq!(
        named(store.published_by("r1").await.unwrap()),
        [("p".into(), "r1".into(), 7), ("q".into(), "r1".into(), 0)]
    );
    assert!(store.shadows("none").await.unwrap().is_empty());
}
