//! The MongoDB store's tests, against a real server: the conformance suite, and how its
//! documents look.

use super::MongoStore;
use crate::orders::outbox::{Lease, SHARDS, Shards, shard_of};
use crate::orders::{OrderEvent, OrderStore, StoreError};
use crate::relay::leases::LeaseStore;
use crate::replicas::{Heartbeat, Heartbeats};
use crate::store::conformance::{base_time, run, sample_order};
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
    store.insert(&order, &events, None).await.unwrap();

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

    let event = store.events.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(
        event.get_str("_id").unwrap(),
        events[0].event_id.to_string()
    );
    assert_eq!(event.get("published_at"), Some(&Bson::Null));
    assert!(
        event
            .get_document("order")
            .unwrap()
            .get_datetime("created_at")
            .is_ok()
    );
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
    store.insert(&order, &events, None).await.unwrap();
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
        plugins: [("standard-pricing".to_owned(), "sha256:ab".to_owned())].into(),
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
    use crate::runtime::Digest;
    use crate::workflows::shared::SharedRegistry;
    use crate::workflows::{Action, Change};
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
    assert_eq!(history[2].from, Some(a.full()));
    assert_eq!(store.history(None).await.unwrap().len(), 3);
}
