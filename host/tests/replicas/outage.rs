//! A store that slows down, then stops answering: a replica behind a TCP proxy to the
//! MongoDB test server, the proxy delayed, then cut for a while, then healed. The probes answer at once throughout; readiness
//! goes false while the store is away and comes back with it; an order asked for during
//! the cut is refused with a JSON 503 in bounded time, and orders are taken again after.

use super::harness::{App, Backend, event_ids, order_body, token};
use super::kafka::Consumer;
use super::proxy::Proxy;
use super::{Cluster, settled};
use orderflow::orders::outbox::SHARDS;
use std::time::{Duration, Instant};

/// How soon readiness follows the store: a ping every 5 s, each given 2 s.
const FOLLOWS_WITHIN: Duration = Duration::from_secs(15);

async fn ready(app: &App) -> (u16, serde_json::Value) {
    app.get("/health/ready", None).await
}

/// Polls readiness until it answers `status`, checking that every probe answered at once.
async fn until_ready_is(app: &App, status: u16) -> Duration {
    let since = Instant::now();
    loop {
        let asked = Instant::now();
        let (now, body) = ready(app).await;
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "a probe waited: {body}"
        );
        if now == status {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < FOLLOWS_WITHIN,
            "readiness still {now}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Places an order as `user`, asserting it is taken.
async fn placed(app: &App, user: &str) {
    let body = order_body(&[("prod-mug", 1)]);
    let (status, placed) = app.post("/api/v1/orders/", Some(user), &body, None).await;
    assert_eq!(status, 201, "{placed}");
}

/// A proxy to the MongoDB test server, and the connection string through it.
async fn proxied() -> (Proxy, String) {
    let url = std::env::var("ORDERFLOW_TEST_MONGODB_URL").unwrap();
    let target = (url.trim_start_matches("mongodb://").split(['/', '?']))
        .next()
        .unwrap()
        .to_owned();
    let proxy = Proxy::start(target.clone()).await;
    let through = url.replacen(&target, &format!("127.0.0.1:{}", proxy.port), 1);
    (proxy, through)
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_the_store_and_the_probes_never_wait_for_it() {
    let (proxy, through) = proxied().await;
    let app = App::start_on(Backend::Mongo, vec![("MONGODB_URL", through)]);
    let user = token("u1", false);
    assert_eq!(until_ready_is(&app, 200).await.as_secs(), 0);
    placed(&app, &user).await;

    // A slow store: every exchange with it a second late. Orders still go through, and
    // the probes still answer at once.
    proxy.delay(Duration::from_secs(1));
    placed(&app, &user).await;
    let asked = Instant::now();
    assert_eq!(ready(&app).await.0, 200);
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "readiness waited for the store"
    );
    proxy.delay(Duration::ZERO);

    proxy.cut();
    let went = until_ready_is(&app, 503).await;
    let (status, body) = ready(&app).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("the store does not answer"))
    );
    assert_eq!(app.get("/health/live", None).await.0, 200);
    let asked = Instant::now();
    let (status, health) = app.get("/health", None).await;
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "/health waited for the store"
    );
    assert_eq!(
        (status, health["store"].as_str()),
        (503, Some("unavailable")),
        "{health}"
    );
    // An order asked for now is refused, not hung, and says why in JSON.
    let asked = Instant::now();
    let (status, refused) = app
        .post(
            "/api/v1/orders/",
            Some(&user),
            &order_body(&[("prod-mug", 1)]),
            None,
        )
        .await;
    assert_eq!(status, 503, "{refused}");
    assert!(refused["error"]["message"].is_string(), "{refused}");
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "refused after {:?}",
        asked.elapsed()
    );

    proxy.heal();
    let back = until_ready_is(&app, 200).await;
    placed(&app, &user).await;
    eprintln!("outage: readiness false {went:?} after the cut, true {back:?} after healing");
}

/// Three replicas whose database answers 2.5 s late for 20 s: every shard stays relayed by
/// some replica throughout, orders placed meanwhile are taken, and every event reaches the
/// broker once the store is quick again.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_store_keeps_every_shard_relayed() {
    let (proxy, through) = proxied().await;
    let mut cluster = Cluster::new();
    let consumer = Consumer::new(&cluster.broker, &cluster.prefix).await;
    let replicas: Vec<_> = ["a", "b", "c"]
        .map(|id| cluster.start_with(id, vec![("MONGODB_URL", through.clone())]))
        .into();
    cluster.until("the split", Instant::now(), settled).await;
    proxy.delay(Duration::from_millis(2_500));
    let (since, mut orders, mut gaps) = (Instant::now(), Vec::new(), Vec::new());
    while since.elapsed() < Duration::from_secs(20) {
        let held = cluster.held().await;
        let mut all: Vec<u16> = held.values().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        if all.len() != usize::from(SHARDS) {
            gaps.push(format!("{:?}: {held:?}", since.elapsed()));
        }
        let replica = &replicas[orders.len() % replicas.len()];
        let body = order_body(&[("prod-mug", 1)]);
        let (status, order) = replica
            .post("/api/v1/orders/", Some(&token("u1", false)), &body, None)
            .await;
        assert_eq!(status, 201, "{order}");
        orders.push(order["id"].as_str().unwrap().to_owned());
    }
    proxy.delay(Duration::ZERO);
    assert!(
        gaps.is_empty(),
        "shards went unrelayed:\n{}\n{}",
        gaps.join("\n"),
        cluster.logs()
    );
    let stored = cluster.any().stored_events(&orders).await;
    let consumed = consumer
        .until_seen(&event_ids(&stored), Duration::from_secs(60))
        .await;
    // Each event arrives; a copy is only ever a stored event published again.
    let copies = super::copies_are_republications(&consumed, &stored);
    super::in_order(&consumed);
    eprintln!(
        "slow store: {} orders placed through 20 s of 2.5 s answers, every shard relayed throughout; {copies} copies",
        orders.len()
    );
}
