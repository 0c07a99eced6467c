//! Webhook endpoints through the real binary on the test target's store: registered by an
//! admin (the secret shown once, or one made), listed and read without it, removed; every
//! bad registration a 422 naming its field: a URL on loopback while the service does not
//! allow private targets, an unknown event type, a short secret, a URL registered twice.

use crate::harness::{App, Failure, Receiver, token};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

fn problems(answer: &Value) -> Vec<(String, String)> {
    (answer["error"]["problems"].as_array().unwrap().iter())
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_owned(),
                p["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_register_list_and_remove_endpoints_and_bad_ones_are_refused_by_field() {
    let app = App::start_with(vec![("WEBHOOK_ALLOW_PRIVATE", "true".into())]);
    let admin = token("ops", true);
    let hook = json!({"url": "http://127.0.0.1:9/orders", "events": ["order.shipped", "stock.*"], "description": "the warehouse"});
    let (status, registered) = app
        .post("/api/v1/webhooks", Some(&admin), &hook, None)
        .await;
    assert_eq!(status, 201, "{registered}");
    let secret = registered["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    assert_eq!(registered["created_by"], "ops");
    let id = registered["id"].as_str().unwrap();

    let chosen = json!({"url": "http://localhost:9/all", "events": ["*"], "secret": "a secret of twenty-four chars"});
    let (status, second) = app
        .post("/api/v1/webhooks", Some(&admin), &chosen, None)
        .await;
    assert_eq!(
        (status, second["secret"].as_str()),
        (201, Some("a secret of twenty-four chars")),
        "{second}"
    );

    let (status, listed) = app.get("/api/v1/webhooks", Some(&admin)).await;
    assert_eq!(status, 200);
    let urls: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        ["http://127.0.0.1:9/orders", "http://localhost:9/all"]
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("secret").is_none()),
        "{listed}"
    );
    let (status, one) = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&admin))
        .await;
    assert_eq!(
        (status, &one["events"]),
        (200, &json!(["order.shipped", "stock.*"]))
    );
    assert!(one.get("secret").is_none());

    // Registered twice; unknown types; a short secret: each named.
    let (status, twice) = app
        .post("/api/v1/webhooks", Some(&admin), &hook, None)
        .await;
    assert_eq!(
        (status, problems(&twice)),
        (422, vec![("duplicate_endpoint".into(), "url".into())]),
        "{twice}"
    );
    let bad = json!({"url": "gopher://x", "events": ["order.teleported"], "secret": "short"});
    let (status, refused) = app.post("/api/v1/webhooks", Some(&admin), &bad, None).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        problems(&refused),
        [
            ("invalid_url", "url"),
            ("unknown_event_type", "events[0]"),
            ("invalid_secret", "secret")
        ]
        .map(|(c, f)| (c.to_owned(), f.to_owned()))
    );

    // Users do not see endpoints.
    let (status, _) = app.get("/api/v1/webhooks", Some(&token("u1", false))).await;
    assert_eq!(status, 403);
    let path = format!("/api/v1/webhooks/{id}");
    let remove = || app.raw("DELETE", &path, Some(&admin), None);
    assert_eq!(remove().await.0, 204);
    assert_eq!(app.get(&path, Some(&admin)).await.0, 404);
    assert_eq!(remove().await.0, 404, "removed once");
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_on_loopback_or_private_ranges_are_refused_by_default() {
    let app = App::start(None).await;
    let admin = token("ops", true);
    for url in [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://10.0.0.8/",
    ] {
        let body = json!({"url": url, "events": ["*"]});
        let (status, refused) = app
            .post("/api/v1/webhooks", Some(&admin), &body, None)
            .await;
        assert_eq!(
            (status, problems(&refused)),
            (422, vec![("refused_target".into(), "url".into())]),
            "{url}: {refused}"
        );
    }
}

/// The endpoint's delivered deliveries, once there is one: a receiver has answered before
/// the service records the try.
async fn recorded(app: &App, endpoint: &str) -> Value {
    let path = format!("/api/v1/webhooks/{endpoint}/deliveries?state=delivered");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, log) = app.get(&path, Some(&token("ops", true))).await;
        assert_eq!(status, 200, "{log}");
        if !log.as_array().unwrap().is_empty() || std::time::Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The service with webhooks to loopback and a retry budget of seconds.
fn quick_retries() -> App {
    App::start_with(vec![
        ("WEBHOOK_ALLOW_PRIVATE", "true".into()),
        ("WEBHOOK_FIRST_RETRY_MS", "200".into()),
        ("WEBHOOK_RETRY_FOR_S", "3".into()),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_signed_retried_after_a_500_in_order_per_order_and_each_delivered_once() {
    const SECRET: &str = "the receiver's own shared secret";
    // Every delivery's first try is answered 500.
    let receiver = Receiver::start(SECRET, 1).await;
    let app = quick_retries();
    let admin = token("ops", true);
    let hook = json!({"url": receiver.url, "events": ["order.*"], "secret": SECRET});
    let (status, endpoint) = app
        .post("/api/v1/webhooks", Some(&admin), &hook, None)
        .await;
    assert_eq!(status, 201, "{endpoint}");

    let mut orders = Vec::new();
    for _ in 0..3 {
        let (status, order) = app.place(&token("u1", false), &[("prod-mug", 1)]).await;
        assert_eq!(status, 201, "{order}");
        orders.push(order["id"].as_str().unwrap().to_owned());
    }
    let client = app.client();
    client.deliver(&orders[0], &admin).await;
    let stored = client.stored_events(&orders).await;
    let expected: HashSet<String> = (stored.values().flatten())
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    let delivered = receiver
        .until_delivered(expected.len(), Duration::from_secs(30))
        .await;
    let ids: Vec<String> = delivered
        .iter()
        .map(|h| h.event["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids.iter().cloned().collect::<HashSet<_>>(),
        expected,
        "every event, and only those"
    );
    assert_eq!(ids.len(), expected.len(), "each delivered once: {ids:?}");
    // Each was answered 500 first, then tried again under the same delivery id.
    let seen = receiver.seen.lock().unwrap().clone();
    for hooked in &delivered {
        let tries: Vec<u16> = seen
            .iter()
            .filter(|h| h.delivery == hooked.delivery)
            .map(|h| h.status)
            .collect();
        assert_eq!(tries, [500, 200], "{}", hooked.event["event_type"]);
    }
    // An order's events arrive in the order they happened.
    for order in &orders {
        let versions: Vec<i64> = (delivered.iter())
            .filter(|h| h.event["order_id"] == order.as_str())
            .map(|h| h.event["order"]["version"].as_i64().unwrap())
            .collect();
        assert!(versions.is_sorted(), "{order}: {versions:?}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.delivered().len(),
        expected.len(),
        "nothing delivered twice"
    );

    // The endpoint's log: each delivered after two tries, the first a 500.
    let id = endpoint["id"].as_str().unwrap();
    let (status, log) = app
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries?state=delivered"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200, "{log}");
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), expected.len());
    for delivery in log {
        let statuses: Vec<&Value> = delivery["log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| &t["status"])
            .collect();
        assert_eq!(statuses, [&json!(500), &json!(200)], "{delivery}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_failing_past_its_budget_is_dead_until_an_admin_redelivers_it() {
    const SECRET: &str = "the receiver's own shared secret";
    let receiver = Receiver::start(SECRET, u32::MAX).await;
    let app = quick_retries();
    let admin = token("ops", true);
    let hook = json!({"url": receiver.url, "events": ["order.created"], "secret": SECRET});
    let (_, endpoint) = app
        .post("/api/v1/webhooks", Some(&admin), &hook, None)
        .await;
    let id = endpoint["id"].as_str().unwrap();
    let (status, order) = app.place(&token("u1", false), &[("prod-mug", 1)]).await;
    assert_eq!(status, 201, "{order}");

    let dead_path = format!("/api/v1/webhooks/{id}/deliveries?state=dead");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let (status, dead) = app.get(&dead_path, Some(&admin)).await;
        assert_eq!(status, 200, "{dead}");
        if !dead.as_array().unwrap().is_empty() {
            break dead[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never dead: {:?}",
            receiver.seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(dead["order_id"], order["id"]);
    assert_eq!(dead["event_type"], "order.created");
    let tries = dead["tries"].as_u64().unwrap();
    assert!(tries >= 3, "tried {tries} times within the budget: {dead}");
    assert!(
        dead["log"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == 500),
        "{dead}"
    );
    assert!(receiver.delivered().is_empty());

    // Fixed, and redelivered by an admin: delivered at once, under the same delivery id.
    receiver.fail_first(0);
    let delivery = dead["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver");
    let (status, revived) = app.post(&path, Some(&admin), &json!({}), None).await;
    assert_eq!(
        (status, &revived["state"]),
        (202, &json!("pending")),
        "{revived}"
    );
    let delivered = receiver.until_delivered(1, Duration::from_secs(10)).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].delivery, delivery);
    assert_eq!(delivered[0].event["order_id"], order["id"]);
    recorded(&app, id).await;
    let (status, again) = app.post(&path, Some(&admin), &json!({}), None).await;
    assert_eq!(status, 202, "a delivered one may be sent again: {again}");
    let (status, _) = app
        .post(
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                uuid::Uuid::now_v7()
            ),
            Some(&admin),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_times_out_or_closes_the_connection_gets_the_delivery_again() {
    const SECRET: &str = "the receiver's own shared secret";
    for (failure, why) in [
        (Failure::Close, "connection"),
        (Failure::Slow(Duration::from_secs(2)), "timed out"),
    ] {
        let receiver = Receiver::start(SECRET, 1).await;
        receiver.fail_by(failure);
        let app = App::start_with(vec![
            ("WEBHOOK_ALLOW_PRIVATE", "true".into()),
            ("WEBHOOK_FIRST_RETRY_MS", "200".into()),
            ("WEBHOOK_TIMEOUT_MS", "500".into()),
        ]);
        let admin = token("ops", true);
        let hook = json!({"url": receiver.url, "events": ["order.created"], "secret": SECRET});
        let (_, endpoint) = app
            .post("/api/v1/webhooks", Some(&admin), &hook, None)
            .await;
        let (status, order) = app.place(&token("u1", false), &[("prod-mug", 1)]).await;
        assert_eq!(status, 201, "{order}");
        let delivered = receiver.until_delivered(1, Duration::from_secs(20)).await;
        assert_eq!(
            delivered.len(),
            1,
            "{failure:?}: {:?}",
            receiver.seen.lock().unwrap()
        );
        let log = recorded(&app, endpoint["id"].as_str().unwrap()).await;
        let tries = log[0]["log"].as_array().unwrap();
        assert_eq!(
            (tries.len(), &tries[0]["status"], &tries[1]["status"]),
            (2, &Value::Null, &json!(200)),
            "{failure:?}: {log}"
        );
        let excerpt = tries[0]["excerpt"].as_str().unwrap();
        assert!(excerpt.contains(why), "{failure:?}: {excerpt}");
    }
}
