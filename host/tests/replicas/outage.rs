//! A store that slows down, then stops answering: replicas behind a TCP proxy to the
//! MongoDB test server, the proxy delayed, then cut for a while, then healed. The probes
//! answer at once throughout; readiness goes false while the store is away and comes back
//! with it; an order asked for during the cut is refused with a JSON 503 in bounded time,
//! and orders are taken again after; three replicas under load keep every shard relayed
//! while the store is slow and lose no event through the cut.

use super::harness::{App, Backend, event_ids, order_body, token};
use super::kafka::Consumer;
use super::proxy::Proxy;
use super::registry::{CONVERGE_WITHIN, activate, component, digest, until_converged};
use super::{Cluster, Load, settled};
use orderflow::orders::outbox::SHARDS;
use orderflow::relay::leases::TTL as LEASE;
use std::time::{Duration, Instant};

/// How soon readiness follows the store: a ping every 5 s, each given 2 s.
const FOLLOWS_WITHIN: Duration = Duration::from_secs(15);
/// How soon an activation answers on a store answering 500 ms late: the upload's and the
/// switch's round trips, about a dozen.
const ACTIVATION_WITHIN: Duration = Duration::from_secs(8);
/// How soon a request the store cannot serve is refused.
const REFUSED_WITHIN: Duration = Duration::from_secs(15);

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
        asked.elapsed() < REFUSED_WITHIN,
        "refused after {:?}",
        asked.elapsed()
    );

    proxy.heal();
    let back = until_ready_is(&app, 200).await;
    placed(&app, &user).await;
    eprintln!("outage: readiness false {went:?} after the cut, true {back:?} after healing");
}

/// Three replicas under load whose database answers 2 s late (on top of its own time, with
/// the other tests loading the same server) for 20 s, then not at all for
/// 10 s, then heals. Every shard stays relayed by some replica while the store is slow; while
/// it is away, requests are refused with a 503 in bounded time; once it is back, every event
/// of every acknowledged order reaches the broker within a lease length, a copy only ever a
/// stored event published again, each order's events in order.
#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_ride_out_a_slow_then_absent_store() {
    let (proxy, through) = proxied().await;
    let mut cluster = Cluster::new();
    let consumer = Consumer::new(&cluster.broker, &cluster.prefix).await;
    for id in ["a", "b", "c"] {
        cluster.start_with(id, vec![("MONGODB_URL", through.clone())]);
    }
    cluster.until("the split", Instant::now(), settled).await;
    let load = Load::start(&cluster.replicas);
    load.until_acknowledged(10).await;

    // Slow: every shard relayed throughout, every request still answered with success.
    proxy.delay(Duration::from_secs(2));
    let (slow, mut gaps) = (Instant::now(), Vec::new());
    while slow.elapsed() < Duration::from_secs(20) {
        let held = cluster.held().await;
        let mut all: Vec<u16> = held.values().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        if all.len() != usize::from(SHARDS) {
            gaps.push(format!("{:?}: {held:?}", slow.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    proxy.delay(Duration::ZERO);
    assert!(
        gaps.is_empty(),
        "shards went unrelayed:\n{}\n{}",
        gaps.join("\n"),
        cluster.logs()
    );
    let (failed, _) = load.failures();
    assert!(
        failed.is_empty(),
        "a slow store failed requests: {failed:?}"
    );
    let before_cut = load.acknowledged();

    // Away: refused with a 503, each in bounded time.
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(10)).await;
    proxy.heal();
    let healed = Instant::now();
    let (failed, slowest) = load.failures();
    assert!(
        failed.keys().all(|&status| status == 503) && !failed.is_empty(),
        "while the store was away: {failed:?}"
    );
    assert!(slowest < REFUSED_WITHIN, "a refusal took {slowest:?}");

    // Back: everything acknowledged until now published within a lease length.
    let acknowledged = load.acknowledged_orders();
    let stored = cluster.any().stored_events(&acknowledged).await;
    consumer
        .until_seen(&event_ids(&stored), Duration::from_secs(60))
        .await;
    let caught_up = healed.elapsed();
    load.until_acknowledged(acknowledged.len() + 10).await;
    let (acknowledged, _) = load.stop().await;
    let stored = cluster.any().stored_events(&acknowledged).await;
    let consumed = consumer
        .until_seen(&event_ids(&stored), Duration::from_secs(60))
        .await;
    let copies = super::copies_are_republications(&consumed, &stored);
    super::in_order(&consumed);
    eprintln!(
        "outage: {before_cut} orders acknowledged through 20 s of answers 2 s late with every shard relayed; {failed:?} refused while the store was away (slowest {slowest:.1?}); caught up {caught_up:.1?} after healing; {} orders in all, {copies} copies",
        acknowledged.len()
    );
    assert!(
        caught_up <= LEASE,
        "publishing caught up {caught_up:?} after healing\n{}",
        cluster.logs()
    );
}

/// The standard workflow's pricing version that `app` serves, as its `/health` says (which
/// asks the store nothing).
async fn pricing_served(app: &App) -> String {
    let (_, health) = app.get("/health", None).await;
    let standard = (health["workflows"].as_array().unwrap().iter())
        .find(|w| w["name"] == "standard")
        .unwrap()
        .clone();
    standard["plugins"][1]["digest"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Plugin operations on a store answering 500 ms late: an activation answers once the
/// shared registry has it and this replica serves it (a few round trips, not a reading of
/// the whole registry), and the listing says every replica serves it within 2 s of the
/// last one doing so.
#[tokio::test(flavor = "multi_thread")]
async fn plugin_operations_answer_on_a_slow_store() {
    let (proxy, through) = proxied().await;
    let database = format!("orderflow_slow_ops_{}", uuid::Uuid::now_v7().simple());
    let [a, b] = ["a", "b"].map(|id| {
        App::start_on(
            Backend::Mongo,
            vec![
                ("REPLICA_ID", id.into()),
                ("DATABASE_NAME", database.clone()),
                ("MONGODB_URL", through.clone()),
            ],
        )
    });
    let admin = token("ops", true);
    let flat = component("hostile-pricing");
    proxy.delay(Duration::from_millis(500));
    let asked = Instant::now();
    let (status, answer) = activate(&a, &admin, &flat).await;
    let answered = asked.elapsed();
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        pricing_served(&a).await,
        digest(&flat),
        "served where activated"
    );
    let since = Instant::now();
    while pricing_served(&b).await != digest(&flat) {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "b never followed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let followed = since.elapsed();
    let served = Instant::now();
    let listed = until_converged(&a, &admin, 2, served).await;
    eprintln!(
        "slow store: activation answered in {answered:.1?}, the other replica served it {followed:.1?} later, the listing said so {listed:.1?} after that"
    );
    assert!(answered < ACTIVATION_WITHIN, "activation took {answered:?}");
    assert!(listed <= CONVERGE_WITHIN, "listed after {listed:?}");
}
