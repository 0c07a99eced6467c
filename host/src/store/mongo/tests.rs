//! The MongoDB store's tests, against a real server: the conformance suite, and how its
//! documents look.

use super::MongoStore;
use crate::orders::OrderEvent;
use crate::orders::OrderStore;
use crate::store::conformance::{base_time, run, sample_order};
use bson::{Bson, doc};
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
