//! Events end to end: the real service relaying its outbox to a real Kafka-protocol broker
//! (tansu, `ORDERFLOW_TEST_TANSU`; `tests/run.sh` installs it), each test with its own broker
//! so it can stop and restart it, read back with an rdkafka consumer. Every scenario runs on
//! both stores.

#[path = "../common/mod.rs"]
mod common;
#[path = "../api/harness.rs"]
mod harness;
mod kafka;

use harness::{App, Backend, event_ids, token};
use kafka::{Broker, Consumer};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The harness's default store; every test here names its own.
const BACKEND: Backend = Backend::Embedded;
const BACKENDS: [Backend; 2] = [Backend::Embedded, Backend::Mongo];

/// The service relaying to `broker` under a topic prefix of its own.
fn start(backend: Backend, broker: &Broker, prefix: &str) -> App {
    App::start_on(
        backend,
        vec![
            ("KAFKA_ENABLED", "true".into()),
            ("KAFKA_BOOTSTRAP_SERVERS", broker.address()),
            ("KAFKA_TOPIC_PREFIX", prefix.into()),
        ],
    )
}

async fn place(app: &App, user: &str) -> String {
    let (status, order) = app.place(&token(user, false), &[("prod-mug", 1)]).await;
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

async fn change(app: &App, id: &str, what: &str, body: Value) {
    let (status, changed) = app
        .patch(
            &format!("/api/v1/orders/{id}/{what}"),
            Some(&token("ops", true)),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
}

/// `/health` once the relay has marked everything it published: a consumer can read an
/// event before the broker's acknowledgement reaches the relay, and an event whose
/// acknowledgement timed out during an outage is published again after a back-off.
async fn drained(app: &App) -> Value {
    let until = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, health) = app.get("/health", None).await;
        if health["events"]["backlog"] == 0 || std::time::Instant::now() > until {
            return health;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_action_publishes_exactly_its_events() {
    for backend in BACKENDS {
        let broker = Broker::start();
        let prefix = kafka::unique_prefix();
        let consumer = Consumer::new(&broker, &prefix).await;
        let app = start(backend, &broker, &prefix);

        let shipped = place(&app, "u1").await;
        change(
            &app,
            &shipped,
            "payment",
            json!({"payment_status": "paid", "transaction_id": "tx-1"}),
        )
        .await;
        for to in ["confirmed", "processing", "shipped", "delivered"] {
            let body = json!({"status": to, "tracking_number": "1Z999"});
            change(&app, &shipped, "status", body).await;
        }
        let cancelled = place(&app, "u2").await;
        let (status, _) = app
            .patch(
                &format!("/api/v1/orders/{cancelled}/cancel"),
                Some(&token("u2", false)),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let failed = place(&app, "u3").await;
        change(
            &app,
            &failed,
            "payment",
            json!({"payment_status": "failed"}),
        )
        .await;

        // A B2B order waiting for approval: its own events go out like the standard ones.
        let mut b2b = harness::order_body(&[("prod-mug", 150)]);
        b2b["sales_channel"] = json!("b2b");
        let (status, approved) = app
            .post("/api/v1/orders/", Some(&token("buyer", false)), &b2b, None)
            .await;
        assert_eq!(status, 201, "{approved}");
        let approved = approved["id"].as_str().unwrap().to_owned();
        change(&app, &approved, "status", json!({"status": "confirmed"})).await;

        let stored = app
            .stored_events(&[shipped, cancelled, failed, approved])
            .await;
        let types: HashSet<&str> = stored
            .values()
            .flatten()
            .map(|e| e["event_type"].as_str().unwrap())
            .collect();
        for expected in [
            "order.created",
            "order.confirmed",
            "order.shipped",
            "order.delivered",
            "order.cancelled",
            "order.payment_completed",
            "order.payment_failed",
            "order.approval_requested",
            "order.approved",
        ] {
            assert!(types.contains(expected), "{expected} not among {types:?}");
        }
        let consumed = consumer
            .until_seen(&event_ids(&stored), Duration::from_secs(60))
            .await;
        kafka::assert_published(&prefix, &stored, &consumed);

        // Nothing left behind, and the relay says so.
        let health = drained(&app).await;
        assert_eq!(health["events"]["backlog"], 0, "{health}");
        assert_eq!(
            health["events"]["relay"]["state"],
            "publishing",
            "{health}\n{}",
            app.log()
        );
        let (_, metrics) = app.text("/metrics").await;
        assert!(
            metrics.contains("orderflow_events_published_total"),
            "{metrics}"
        );
    }
}

/// Posts `body` to `path` as `by`, asserting the status; the answer's `id`, if any.
async fn post(app: &App, path: &str, by: &str, body: Value, expected: u16) -> String {
    let (status, answer) = app.post(path, Some(by), &body, None).await;
    assert_eq!(status, expected, "{path}: {answer}");
    answer["id"].as_str().unwrap_or_default().to_owned()
}

/// Changes and returns go out through the outbox like every other event: each once, in the
/// order they happened, every snapshot's version one above the last.
#[tokio::test(flavor = "multi_thread")]
async fn changes_and_returns_publish_their_events_in_order() {
    for backend in BACKENDS {
        let broker = Broker::start();
        let prefix = kafka::unique_prefix();
        let consumer = Consumer::new(&broker, &prefix).await;
        let app = start(backend, &broker, &prefix);
        let (user, admin) = (token("u1", false), token("ops", true));
        let id = place(&app, "u1").await;
        let changes = format!("/api/v1/orders/{id}/changes");
        let add =
            json!({"actions": [{"type": "add_item", "product_id": "prod-mug", "quantity": 1}]});
        let cid = post(&app, &changes, &user, add.clone(), 201).await;
        post(
            &app,
            &format!("{changes}/{cid}/confirm"),
            &user,
            json!({}),
            200,
        )
        .await;
        let cid = post(&app, &changes, &user, add.clone(), 201).await;
        let decline = json!({"reason": "out of mugs"});
        post(
            &app,
            &format!("{changes}/{cid}/decline"),
            &admin,
            decline,
            200,
        )
        .await;
        let cid = post(&app, &changes, &user, add, 201).await;
        post(
            &app,
            &format!("{changes}/{cid}/cancel"),
            &user,
            json!({}),
            200,
        )
        .await;
        change(
            &app,
            &id,
            "payment",
            json!({"payment_status": "paid", "transaction_id": "tx-1"}),
        )
        .await;
        for to in ["confirmed", "processing", "shipped", "delivered"] {
            let body = json!({"status": to, "tracking_number": "1Z999"});
            change(&app, &id, "status", body).await;
        }
        let back =
            json!({"actions": [{"type": "return_item", "product_id": "prod-mug", "quantity": 1}]});
        let rid = post(&app, &changes, &user, back, 201).await;
        post(
            &app,
            &format!("{changes}/{rid}/confirm"),
            &admin,
            json!({}),
            200,
        )
        .await;

        let stored = app.stored_events(std::slice::from_ref(&id)).await;
        let types: Vec<&str> = (stored[&id].iter())
            .map(|e| e["event_type"].as_str().unwrap())
            .filter(|t| t.contains("change") || t.contains("return") || *t == "order.refunded")
            .collect();
        assert_eq!(
            types,
            [
                "order.change_requested",
                "order.changed",
                "order.change_requested",
                "order.change_declined",
                "order.change_requested",
                "order.change_cancelled",
                "order.return_requested",
                "order.return_received",
                "order.refunded",
            ]
        );
        let consumed = consumer
            .until_seen(&event_ids(&stored), Duration::from_secs(60))
            .await;
        kafka::assert_published(&prefix, &stored, &consumed);
        // Across topics, the snapshots' versions put them back in order; the events of one
        // write (the return received and its refund) share its version.
        let version = |t: &str| {
            let m = consumed.iter().find(|m| m.topic.ends_with(t)).unwrap();
            m.envelope["order"]["version"].as_u64().unwrap()
        };
        assert!(version("order.change_requested") < version("order.changed"));
        assert!(version("order.changed") < version("order.return_requested"));
        assert_eq!(version("order.return_received"), version("order.refunded"));
        let last = consumed
            .iter()
            .find(|m| m.topic.ends_with("order.refunded"))
            .unwrap();
        assert_eq!(
            last.envelope["order"]["payment_status"],
            "partially_refunded"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_wait_out_a_broker_outage() {
    for backend in BACKENDS {
        let mut broker = Broker::start();
        let prefix = kafka::unique_prefix();
        let app = start(backend, &broker, &prefix);
        let first = place(&app, "u1").await;
        let before = app.stored_events(std::slice::from_ref(&first)).await;
        Consumer::new(&broker, &prefix)
            .await
            .until_seen(&event_ids(&before), Duration::from_secs(60))
            .await;

        // The in-memory broker comes back empty: the events before the outage are checked
        // above, and a new consumer reads what arrives after it. (A consumer kept across
        // tansu's restart crashed inside librdkafka's metadata cache.)
        broker.stop();
        // The API does not wait on Kafka: all of this succeeds with the broker away.
        let mut orders = vec![first.clone()];
        for user in ["u2", "u3", "u4"] {
            orders.push(place(&app, user).await);
        }
        change(&app, &first, "status", json!({"status": "confirmed"})).await;
        let (status, health) = app.get("/health", None).await;
        assert_eq!(status, 200);
        assert!(
            health["events"]["backlog"].as_u64().unwrap() >= 4,
            "{health}"
        );

        broker.start_again();
        let consumer = Consumer::new(&broker, &prefix).await;
        let mut stored = app.stored_events(&orders).await;
        // The first order's creation was delivered before the outage.
        stored.get_mut(&first).unwrap().remove(0);
        consumer
            .until_seen(&event_ids(&stored), Duration::from_secs(90))
            .await;
        let health = drained(&app).await;
        assert_eq!(health["events"]["backlog"], 0, "{health}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_while_relaying_loses_no_acknowledged_order() {
    for backend in BACKENDS {
        let broker = Broker::start();
        let prefix = kafka::unique_prefix();
        let consumer = Consumer::new(&broker, &prefix).await;
        let mut app = start(backend, &broker, &prefix);

        // Orders placed from 8 clients; the service is killed (SIGKILL) once 150 are in,
        // while the relay is busy with them.
        let client = app.client();
        let placed = Arc::new(AtomicUsize::new(0));
        let placing: Vec<_> = (0..8)
            .map(|n| {
                let (client, placed) = (client.clone(), placed.clone());
                tokio::spawn(async move {
                    let mut acknowledged = Vec::new();
                    for _ in 0..1_000 {
                        let (status, order) = client
                            .place(&token(&format!("u{n}"), false), &[("prod-mug", 1)])
                            .await;
                        if status != 201 {
                            break; // the process is gone: not acknowledged
                        }
                        acknowledged.push(order["id"].as_str().unwrap().to_owned());
                        placed.fetch_add(1, Ordering::Relaxed);
                    }
                    acknowledged
                })
            })
            .collect();
        while placed.load(Ordering::Relaxed) < 150 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        app.crash_and_restart().await;
        let mut acknowledged = Vec::new();
        for task in placing {
            acknowledged.extend(task.await.unwrap());
        }
        assert!(
            acknowledged.len() > 10,
            "the load ran: {}",
            acknowledged.len()
        );

        let stored = app.stored_events(&acknowledged).await;
        let consumed = consumer
            .until_seen(&event_ids(&stored), Duration::from_secs(90))
            .await;
        let mut seen = HashSet::new();
        let duplicates = consumed
            .iter()
            .filter(|m| !seen.insert(m.event_id()))
            .count();
        assert!(
            event_ids(&stored).is_subset(&seen),
            "every acknowledged order's event arrived"
        );
        println!(
            "{backend:?}: {} orders acknowledged before and after the crash, {duplicates} duplicates (recognisable by id)",
            acknowledged.len()
        );
    }
}
