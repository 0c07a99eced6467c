//! A store that slows down, then stops answering: a replica behind a TCP proxy to the
//! MongoDB test server, the proxy delayed, then cut for a while, then healed. The probes answer at once throughout; readiness
//! goes false while the store is away and comes back with it; an order asked for during
//! the cut is refused with a JSON 503 in bounded time, and orders are taken again after.

use super::harness::{App, Backend, order_body, token};
use super::proxy::Proxy;
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

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_the_store_and_the_probes_never_wait_for_it() {
    let url = std::env::var("ORDERFLOW_TEST_MONGODB_URL").unwrap();
    let target = url
        .trim_start_matches("mongodb://")
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_owned();
    let proxy = Proxy::start(target.clone()).await;
    let through = url.replacen(&target, &format!("127.0.0.1:{}", proxy.port), 1);
    let app = App::start_on(Backend::Mongo, vec![("MONGODB_URL", through)]);
    let user = token("u1", false);
    assert_eq!(until_ready_is(&app, 200).await.as_secs(), 0);
    let (status, placed) = app
        .post(
            "/api/v1/orders/",
            Some(&user),
            &order_body(&[("prod-mug", 1)]),
            None,
        )
        .await;
    assert_eq!(status, 201, "{placed}");

    // A slow store: every exchange with it a second late. Orders still go through, and
    // the probes still answer at once.
    proxy.delay(Duration::from_secs(1));
    let (status, placed) = app
        .post(
            "/api/v1/orders/",
            Some(&user),
            &order_body(&[("prod-mug", 1)]),
            None,
        )
        .await;
    assert_eq!(status, 201, "{placed}");
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
    let (status, placed) = app
        .post(
            "/api/v1/orders/",
            Some(&user),
            &order_body(&[("prod-mug", 1)]),
            None,
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    eprintln!("outage: readiness false {went:?} after the cut, true {back:?} after healing");
}
