//! The MongoDB store's tests, against a real server: the conformance suite, and how its
//! documents look.

use super::MongoStore;
use crate::domain::{Digest, StoreError};
use crate::orders::outbox::{Lease, SHARDS, Shards, shard_of};
use crate::orders::stock::StockStore;
use crate::orders::{OrderEvent, OrderStore};
use crate::relay::leases::LeaseStore;
use crate::replicas::{Heartbeat, Heartbeats};
use crate::store::conformance::{base_time, ledger, run, sample_order};
use bson::{Bson, doc};
use chrono::Utc;
use uuid::Uuid;

/// The test server: `tests/run.sh` (and so CI) starts one and names it here. Any MongoDB
/// replica set will do, e.g. the compose file's `mongo` at
/// `mongodb://localhost:27017/?directConnection=true`.
fn test_url() -> String {
    std::env::var("ORDERFLOW_TEST_MONGODB_URL").expect(
        "ORDERFLOW_TEST_MONGODB_URL must name a MongoDB replica set: run the tests with tests/run.sh, which starts one",
    )
}

async fn fresh() -> MongoStore {
    let database = format!("orderflow_store_{}", Uuid::now_v7().simple());
    MongoStore::connect(&test_url(), &database).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    run(fresh).await;
}

#[tokio::test]
async fn documents_read_naturally_in_mongodb() {
    let store = fresh().await;
    let mut order = sample_order("u1", 4352);
    order.timestamps.insert("confirmed_at".into(), base_time());
    let events = OrderEvent::all(order.clone(), &["order.created".into()], base_time());
    store.insert(&order, &events, None, &[]).await.unwrap();

    let doc = store.orders.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(doc.get_str("_id").unwrap(), order.id.to_string());
    assert!(!doc.contains_key("id"));
    assert_eq!(
        doc.get_datetime("created_at").unwrap().to_chrono(),
        order.created_at
    );
    let stamps = doc.get_document("timestamps").unwrap();
    assert_eq!(
        stamps.get_datetime("confirmed_at").unwrap().to_chrono(),
        base_time()
    );
    let total = doc
        .get_document("pricing")
        .unwrap()
        .get_document("total")
        .unwrap();
    assert_eq!(total.get_i64("minor").unwrap(), 4352);
    assert_eq!(total.get_str("currency").unwrap(), "USD");
    // Text that only looks like a date stays text: only `at` / `*_at` fields are dates.
    assert_eq!(doc.get_str("user_id").unwrap(), "u1");

    // The event waits in the order's outbox, a document like the order's own, until the
    // relay archives it in `order_events`.
    assert_eq!(doc.get_i32("shard").unwrap(), i32::from(shard_of(order.id)));
    let outbox = doc.get_array("outbox").unwrap();
    let event = outbox[0].as_document().unwrap();
    assert_eq!(
        event.get_str("event_id").unwrap(),
        events[0].event_id.to_string()
    );
    assert!(
        event
            .get_document("order")
            .unwrap()
            .get_datetime("created_at")
            .is_ok()
    );
    store
        .mark_published(&[events[0].event_id], base_time(), &Shards::All)
        .await
        .unwrap();
    let archived = store.events.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(
        archived.get_str("_id").unwrap(),
        events[0].event_id.to_string()
    );
    assert_eq!(
        archived.get_datetime("published_at").unwrap().to_chrono(),
        base_time()
    );
    let doc = store.orders.find_one(doc! {}).await.unwrap().unwrap();
    assert!(!doc.contains_key("outbox"), "an empty outbox goes: {doc}");
    assert_eq!(store.get(order.id).await.unwrap(), Some(order));
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_not_a_hang() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=100",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let error = MongoStore::connect(&url, "unreachable")
        .await
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("MongoDB unreachable after"),
        "{error}"
    );
}

/// One replica's lease on a shard, as the relay would hold it.
fn leased(shard: u16, token: i64) -> Shards {
    Shards::Leased(vec![Lease {
        shard,
        token,
        valid_until: std::time::Instant::now() + std::time::Duration::from_secs(5),
    }])
}

#[tokio::test]
async fn a_shard_is_relayed_under_one_lease_and_a_lost_lease_marks_nothing() {
    let store = fresh().await;
    let order = sample_order("u1", 1000);
    let events = OrderEvent::all(order.clone(), &["order.created".into()], base_time());
    store.insert(&order, &events, None, &[]).await.unwrap();
    let (shard, other) = (shard_of(order.id), (shard_of(order.id) + 1) % SHARDS);
    let now = Utc::now();
    let soon = now + chrono::Duration::seconds(6);

    // Each shard has one holder at a time; the events are read by shard.
    let first = store.claim(shard, "a", now, soon).await.unwrap().unwrap();
    assert_eq!(store.claim(shard, "b", now, soon).await.unwrap(), None);
    assert_eq!(
        store.unpublished(10, &leased(shard, first)).await.unwrap(),
        events
    );
    assert!(
        store
            .unpublished(10, &leased(other, 1))
            .await
            .unwrap()
            .is_empty()
    );

    // Once the lease expires another replica takes it with a newer token: the first holder
    // can neither renew nor mark any more, and its mark leaves the event unpublished.
    let later = soon + chrono::Duration::seconds(1);
    let second = store
        .claim(shard, "b", later, later + chrono::Duration::seconds(6))
        .await
        .unwrap()
        .unwrap();
    assert!(second > first);
    assert!(!store.renew(shard, first, "a", later).await.unwrap());
    let ids = [events[0].event_id];
    assert!(matches!(
        store
            .mark_published(&ids, later, &leased(shard, first))
            .await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(store.backlog().await.unwrap().events, 1);
    store
        .mark_published(&ids, later, &leased(shard, second))
        .await
        .unwrap();
    assert_eq!(store.backlog().await.unwrap().events, 0);

    // A holder that stopped using its lease (its renewal answered too late) takes it again
    // before it expires, with a newer token: what it published under the old one is fenced.
    let again = store.claim(shard, "b", later, soon).await.unwrap().unwrap();
    assert!(again > second);
    assert!(!store.renew(shard, second, "b", later).await.unwrap());
    let second = again;

    // A lease given up is free at once, with a newer token for its next holder.
    store.release(shard, second, "b").await.unwrap();
    let third = store.claim(shard, "a", later, soon).await.unwrap().unwrap();
    assert!(third > second);
    let leases = store.leases().await.unwrap();
    assert_eq!(
        leases
            .iter()
            .map(|l| (l.shard, l.holder.as_str(), l.token))
            .collect::<Vec<_>>(),
        [(shard, "a", third)]
    );
}

#[tokio::test]
async fn replicas_are_alive_while_they_heartbeat() {
    let store = fresh().await;
    let beat = |replica: &str, seen_at| Heartbeat {
        replica: replica.into(),
        incarnation: format!("{replica}-1"),
        started_at: base_time(),
        seen_at,
        shards: vec![1, 2],
        plugins: [("standard-pricing".to_owned(), Digest::of(b"a version"))].into(),
        hourly: [(
            "standard-pricing".to_owned(),
            vec![crate::metrics::HourCount {
                hour: base_time(),
                decided: 3,
                refused: 2,
                faults: 1,
            }],
        )]
        .into(),
    };
    // BSON dates keep milliseconds.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    store
        .beat(&beat("old", now - chrono::Duration::seconds(60)))
        .await
        .unwrap();
    let live = store.beat(&beat("r1", now)).await.unwrap();
    assert_eq!(live, [beat("r1", now)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_registry_switches_once_records_every_change_and_reports_it() {
    use crate::domain::Digest;
    use crate::operations::mirror::SharedRegistry;
    use crate::plugins::{Action, Change};
    let store = fresh().await;
    let changed = std::sync::Arc::new(tokio::sync::Notify::new());
    let following = store.clone();
    let feed = changed.clone();
    tokio::spawn(async move { following.follow(feed).await });
    // The feed opens asynchronously: a change before it opens is only seen by a re-read.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let [a, b] = [b"a".as_slice(), b"b"].map(Digest::of);
    store.keep("pricing", &a, b"a").await.unwrap();
    store.keep("pricing", &a, b"a").await.unwrap();
    store.keep("pricing", &b, b"b").await.unwrap();
    assert_eq!(store.stored("pricing").await.unwrap().len(), 2);
    assert_eq!(store.bytes("pricing", &b).await.unwrap().unwrap(), b"b");
    assert_eq!(store.bytes("other", &b).await.unwrap(), None);

    let first = Change::new("pricing", Action::FileDropped, "file", None, &a).on("r1");
    assert!(store.switch(&first).await.unwrap());
    // A second first version loses: another replica made one first.
    assert!(!store.switch(&first).await.unwrap());
    tokio::time::timeout(std::time::Duration::from_secs(5), changed.notified())
        .await
        .expect("the change feed reports a switch");
    store
        .record(&Change::new(
            "pricing",
            Action::Uploaded,
            "ops",
            Some(&a),
            &b,
        ))
        .await
        .unwrap();
    let to_b = Change::new("pricing", Action::Activated, "ops", Some(&a), &b);
    assert!(store.switch(&to_b).await.unwrap());
    // Switching from a version that is no longer active changes nothing.
    assert!(!store.switch(&to_b).await.unwrap());

    store
        .put_workflow("standard", "name = 'x'", "file@r1")
        .await
        .unwrap();
    let set = store.active().await.unwrap();
    assert_eq!(set.plugins.get("pricing"), Some(&b));
    assert_eq!(set.workflows["standard"], "name = 'x'");
    let history = store.history(Some("pricing")).await.unwrap();
    let actions: Vec<Action> = history.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [Action::FileDropped, Action::Uploaded, Action::Activated]
    );
    assert_eq!(history[0].replica.as_deref(), Some("r1"));
    assert_eq!(history[2].from, Some(a.clone()));
    assert_eq!(store.history(None).await.unwrap().len(), 3);
}

/// The commands a store sends to its database, by name, as the driver reports them.
async fn monitored() -> (MongoStore, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use mongodb::event::{EventHandler, command::CommandEvent};
    let database = format!("orderflow_store_{}", Uuid::now_v7().simple());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut options = mongodb::options::ClientOptions::parse(test_url())
        .await
        .unwrap();
    let (record, db) = (seen.clone(), database.clone());
    options.command_event_handler = Some(EventHandler::callback(move |event| {
        if let CommandEvent::Started(started) = event
            && started.db == db
        {
            record.lock().unwrap().push(started.command_name);
        }
    }));
    let store = MongoStore::connect_with(options, &database).await.unwrap();
    seen.lock().unwrap().clear();
    (store, seen)
}

/// Placing an order, with or without an idempotency key, and changing it are one write
/// each: one round trip to the server.
#[tokio::test]
async fn an_order_change_is_one_round_trip() {
    let (store, seen) = monitored().await;
    let sent = || std::mem::take(&mut *seen.lock().unwrap());
    let order = sample_order("u1", 1000);
    let events = OrderEvent::all(order.clone(), &["order.created".into()], base_time());
    let key = crate::orders::IdempotencyKey {
        user_id: "u1".into(),
        key: "k-1".into(),
        fingerprint: "f".into(),
    };
    store
        .insert(&order, &events, Some(&key), &[])
        .await
        .unwrap();
    assert_eq!(sent(), ["insert"]);

    let mut confirmed = order.clone();
    confirmed.status = "confirmed".into();
    confirmed.version = 2;
    let announced = OrderEvent::all(confirmed.clone(), &["order.confirmed".into()], base_time());
    store.update(&confirmed, 1, &announced, &[]).await.unwrap();
    assert_eq!(sent(), ["update"]);

    // A retry with the key: the write fails on the key's index, and the first order is read.
    let retry = sample_order("u1", 1000);
    let replayed = store
        .insert(&retry, &events, Some(&key), &[])
        .await
        .unwrap();
    assert!(matches!(replayed, crate::orders::Inserted::Replayed(first) if first.id == order.id));
    assert_eq!(sent(), ["insert", "find"]);
    let other = crate::orders::IdempotencyKey {
        fingerprint: "another request".into(),
        ..key
    };
    assert!(matches!(
        store.insert(&retry, &events, Some(&other), &[]).await,
        Err(StoreError::KeyReused)
    ));
}

/// A database written when events waited in `order_events` and keys in
/// `idempotency_keys`: at start-up the unpublished events move into their orders' outboxes
/// and the keys into their orders, and everything reads as before.
#[tokio::test]
async fn a_database_with_a_separate_outbox_is_adopted() {
    let database = format!("orderflow_store_{}", Uuid::now_v7().simple());
    let store = MongoStore::connect(&test_url(), &database).await.unwrap();
    let order = sample_order("u1", 1000);
    let events = OrderEvent::all(
        order.clone(),
        &["order.created".into(), "order.confirmed".into()],
        base_time(),
    );
    let document = super::documents::order_document(&order).unwrap();
    store.orders.insert_one(document).await.unwrap();
    // As the earlier store wrote them: the first published, the second not yet.
    for (i, event) in events.iter().enumerate() {
        let mut archived = super::documents::archived_event(
            super::documents::document(event).unwrap(),
            base_time(),
        );
        if i == 1 {
            archived.insert("published_at", Bson::Null);
        }
        store.events.insert_one(archived).await.unwrap();
    }
    store
        .keys
        .insert_one(doc! {
            "_id": { "user_id": "u1", "key": "k-1" },
            "fingerprint": "f",
            "order_id": order.id.to_string(),
        })
        .await
        .unwrap();

    // Twice: the second start finds nothing left to move.
    for _ in 0..2 {
        let store = MongoStore::connect(&test_url(), &database).await.unwrap();
        assert_eq!(
            store.unpublished(10, &Shards::All).await.unwrap(),
            [events[1].clone()]
        );
        let stored = store.events(order.id).await.unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|e| e.published_at.is_some())
                .collect::<Vec<_>>(),
            [true, false]
        );
        assert_eq!(store.backlog().await.unwrap().events, 1);
        let key = crate::orders::IdempotencyKey {
            user_id: "u1".into(),
            key: "k-1".into(),
            fingerprint: "f".into(),
        };
        let retry = sample_order("u1", 1000);
        let replayed = store.insert(&retry, &[], Some(&key), &[]).await.unwrap();
        assert!(
            matches!(replayed, crate::orders::Inserted::Replayed(first) if first.id == order.id)
        );
    }
    assert_eq!(store.keys.count_documents(doc! {}).await.unwrap(), 0);
}

/// Orders placed at once share insert commands, and each caller hears its own outcome: a
/// taken order number in the middle of a batch fails that order alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_orders_share_insert_commands_and_each_hears_its_own() {
    let (store, seen) = monitored().await;
    let mut orders: Vec<_> = (0..64)
        .map(|i| sample_order(&format!("u{i}"), 1000))
        .collect();
    orders[40].order_number = orders[20].order_number.clone();
    let placed = futures_util::future::join_all(orders.iter().map(|order| {
        let events = OrderEvent::all(order.clone(), &["order.created".into()], base_time());
        let store = store.clone();
        async move { store.insert(order, &events, None, &[]).await }
    }))
    .await;
    let refused: Vec<usize> = (0..64).filter(|&i| placed[i].is_err()).collect();
    assert_eq!(refused.len(), 1, "{placed:?}");
    assert!(matches!(
        placed[refused[0]],
        Err(StoreError::DuplicateNumber)
    ));
    for (i, order) in orders.iter().enumerate() {
        let stored = store.get(order.id).await.unwrap();
        assert_eq!(stored.is_some(), i != refused[0], "order {i}");
    }
    let inserts = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|c| *c == "insert")
        .count();
    assert!(inserts < 64, "{inserts} insert commands for 64 orders");
}

/// A stock move a crash cut short: its marker, backdated past the sweep's wait.
async fn torn_move(store: &MongoStore, order: &str, write: &str, reserved: i64) {
    let key = format!("pending.{order}~{write}");
    let long_ago = bson::DateTime::from_chrono(Utc::now() - chrono::Duration::minutes(5));
    store
        .stock
        .update_one(
            doc! { "_id": "p1" },
            doc! { "$inc": { "reserved": reserved, "available": -reserved }, "$set": { key: { "r": reserved, "h": 0i64, "a": true, "at": long_ago } } },
        )
        .await
        .unwrap();
}

/// A write that reserved and then never wrote its order has its units taken back, once; one
/// whose order names it keeps them; markers younger than the sweep's wait are left.
#[tokio::test]
async fn the_sweep_settles_stock_moves_a_crash_cut_short() {
    use crate::domain::StockMove;
    let store = fresh().await;
    let order = sample_order("u1", 1000);
    let reserve = StockMove {
        product_id: "p1".into(),
        reserved: 2,
        on_hand: 0,
        source: Some(10),
        backorders: 0,
        low_stock: None,
    };
    store.insert(&order, &[], None, &[reserve]).await.unwrap();
    let written = store.orders.find_one(doc! {}).await.unwrap().unwrap();
    let write = written.get_array("stock_writes").unwrap()[0]
        .as_str()
        .unwrap()
        .to_owned();
    // Its own marker is cleared in the background once the order is written; the torn
    // moves come after (the test server may drop a marker set while another is cleared
    // from the same document).
    let reserved = || async { ledger(&store, "p1").await.level.reserved };
    assert_eq!(reserved().await, 2);
    for _ in 0..100 {
        let p1 = store.stock.find_one(doc! { "_id": "p1" }).await.unwrap();
        if p1
            .unwrap()
            .get_document("pending")
            .is_ok_and(|p| p.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Two torn moves: one of an order never written, one the written order names.
    torn_move(&store, &Uuid::new_v4().to_string(), "lost", 3).await;
    torn_move(&store, &order.id.to_string(), &write, 4).await;
    assert_eq!(reserved().await, 9);
    let all = Shards::All;
    assert_eq!(store.settle_stock(&all).await.unwrap(), 2);
    assert_eq!(
        reserved().await,
        6,
        "the lost write's 3 units back, the named one's kept"
    );
    // Swept at most every 30 s, and nothing is left to settle anyway.
    assert_eq!(store.settle_stock(&all).await.unwrap(), 0);
    let left = store
        .stock
        .find_one(doc! { "_id": "p1" })
        .await
        .unwrap()
        .unwrap();
    assert!(left.get_document("pending").unwrap().is_empty(), "{left}");
}

/// A store heard from as a replica (its blocks are its own), whose blocks go back once
/// unused for `idle` and whose sweep settles a silent replica's blocks at once.
async fn heard(idle: std::time::Duration) -> MongoStore {
    let mut store = fresh().await;
    let settle_after = std::time::Duration::ZERO;
    store.stock_blocks = std::sync::Arc::new(super::stock::Blocks::waiting(idle, settle_after));
    let beat = Heartbeat {
        replica: "r".into(),
        incarnation: "r-1".into(),
        started_at: Utc::now(),
        seen_at: Utc::now(),
        shards: Vec::new(),
        plugins: Default::default(),
        hourly: Default::default(),
    };
    store.beat(&beat).await.unwrap();
    store
}

/// A placement's move of `units` of a product with `stock` units in its source.
fn reserving(units: i64, stock: i64) -> crate::domain::StockMove {
    crate::domain::StockMove {
        product_id: "p1".into(),
        reserved: units,
        on_hand: 0,
        source: Some(stock),
        backorders: 0,
        low_stock: None,
    }
}

/// While plenty is available, placements take their units from a block drawn ahead (one
/// write of the ledger for many orders), each naming it; the block's units no order took
/// are in doubt until it goes back, unused, whole.
#[tokio::test]
async fn placements_take_from_a_block_drawn_ahead_and_it_goes_back_unused() {
    let store = heard(std::time::Duration::from_secs(2)).await;
    let reserved = || async {
        let p1 = store.stock.find_one(doc! { "_id": "p1" }).await.unwrap();
        super::stock::level_of(&p1.unwrap()).reserved
    };
    for number in 0..20 {
        let order = sample_order("u1", 1000 + number);
        store
            .insert(&order, &[], None, &[reserving(2, 1000)])
            .await
            .unwrap();
    }
    // Two blocks, the first of 32 drawn as the ledger starts, the second of 32 or, the
    // first spent within a second, 64.
    let in_doubt = store.stock_in_doubt().await.unwrap()["p1"];
    assert!([24, 56].contains(&in_doubt), "{in_doubt}");
    assert_eq!(reserved().await, 40 + in_doubt);
    let named = store
        .orders
        .count_documents(doc! { "drawn_from.p": "p1" })
        .await
        .unwrap();
    assert_eq!(named, 20);
    // What this process may still take: what is available plus its block's units.
    let own = store.ledgers(&["p1".into()]).await.unwrap()["p1"];
    assert_eq!(own.level.available(), 1000 - 40);
    for _ in 0..100 {
        if reserved().await == 40 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(reserved().await, 40, "the idle block went back");
    assert!(store.stock_in_doubt().await.unwrap().is_empty());
}

/// The block of a replica silent for the sweep's wait (killed) is settled: what the orders
/// naming it took stays reserved, the rest goes back, once; a live replica's is left.
#[tokio::test]
async fn the_sweep_settles_a_block_left_behind() {
    let store = heard(std::time::Duration::from_secs(30)).await;
    let order = sample_order("u1", 1000);
    // Too few for a block: through the ledger.
    store
        .insert(&order, &[], None, &[reserving(5, 100)])
        .await
        .unwrap();
    // As if those 5 units came from block "lost" of 32, its replica then killed.
    store
        .stock
        .update_one(
            doc! { "_id": "p1" },
            doc! {
                "$inc": { "reserved": 27i64 + 10, "available": -27i64 - 10 },
                "$set": {
                    "blocks.lost": { "d": 32i64, "h": "killed-1" },
                    "blocks.kept": { "d": 10i64, "h": "r-1" },
                },
            },
        )
        .await
        .unwrap();
    store
        .orders
        .update_one(
            doc! { "_id": order.id.to_string() },
            doc! { "$set": { "drawn_from": [{ "b": "lost", "p": "p1", "q": 5i64 }] } },
        )
        .await
        .unwrap();
    assert_eq!(ledger(&store, "p1").await.level.reserved, 42);
    assert_eq!(store.stock_in_doubt().await.unwrap()["p1"], 37);
    // The block of a replica heard from is its own.
    assert_eq!(store.settle_stock(&Shards::All).await.unwrap(), 1);
    assert_eq!(ledger(&store, "p1").await.level.reserved, 15);
    assert_eq!(store.stock_in_doubt().await.unwrap()["p1"], 10);
}

/// Placements racing for one product spend its blocks while others' writes are still on
/// their way: a spent block is given back once they answer, and nothing is left over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blocks_spent_under_racing_placements_are_given_back_once_they_answer() {
    let store = heard(std::time::Duration::from_secs(2)).await;
    let placed = futures_util::future::join_all((0..64).map(|number| {
        let store = store.clone();
        async move {
            let order = sample_order("u1", 2000 + number);
            store
                .insert(&order, &[], None, &[reserving(3, 100_000)])
                .await
        }
    }))
    .await;
    assert!(placed.iter().all(Result::is_ok), "{placed:?}");
    let reserved = || async {
        let p1 = store.stock.find_one(doc! { "_id": "p1" }).await.unwrap();
        super::stock::level_of(&p1.unwrap()).reserved
    };
    assert_eq!(
        reserved().await,
        64 * 3 + store.stock_in_doubt().await.unwrap()["p1"]
    );
    for _ in 0..150 {
        if reserved().await == 64 * 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(reserved().await, 64 * 3, "every block went back");
    assert!(store.stock_in_doubt().await.unwrap().is_empty());
}
