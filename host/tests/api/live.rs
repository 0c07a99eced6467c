//! Live streams through the real binary on the test target's store: an order's stream
//! carries its history then every change, in version order, and resumes after any of its
//! events with exactly what was missed; a customer's stream carries their orders' events
//! only and resumes from its position with no gap and no duplicate; 1,000 idle streams
//! hold, each told of a new order, with the service's memory flat.

use crate::harness::{App, Client, SseEvent, token};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// How long a stream is watched to show that nothing more comes.
const QUIET: Duration = Duration::from_millis(700);

/// The order's events as stored: (event id, type).
async fn stored(app: &Client, id: &str) -> Vec<(String, String)> {
    let events = app.stored_events(&[id.to_owned()]).await;
    (events[id].iter())
        .map(|event| {
            let text = |field: &str| event[field].as_str().unwrap().to_owned();
            (text("event_id"), text("event_type"))
        })
        .collect()
}

fn seen(events: &[SseEvent]) -> Vec<(String, String)> {
    (events.iter())
        .map(|e| (e.id.clone().unwrap(), e.event.clone()))
        .collect()
}

fn field_of(error: &Value) -> &str {
    error["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orders_stream_carries_its_history_then_each_change_and_resumes_after_any_event() {
    let app = App::start(None).await;
    let client = app.client();
    let buyer = token("u1", false);
    let id = client.placed("u1").await;
    let path = format!("/api/v1/orders/{id}/stream");

    let mut stream = client.stream(&path, &buyer, None).await.unwrap();
    let first = stream.take(1, WAIT).await;
    assert_eq!(seen(&first), stored(&client, &id).await);
    assert_eq!(first[0].data["order"]["version"], 1);
    client.moved(&id, "confirmed").await;
    client.moved(&id, "processing").await;
    client.moved(&id, "shipped").await;
    let all = stored(&client, &id).await;
    let moved = stream.take(all.len() - 1, WAIT).await;
    assert_eq!(
        seen(&moved),
        all[1..],
        "each change as it commits, in order"
    );
    let versions: Vec<i64> = (first.iter().chain(&moved))
        .map(|e| e.data["order"]["version"].as_i64().unwrap())
        .collect();
    assert!(versions.is_sorted() && versions.len() >= 3, "{versions:?}");
    assert_eq!(stream.next(QUIET).await, None, "nothing twice");
    drop(stream);

    // Missed while away: resumed after the last event seen, exactly those.
    let last = moved.last().unwrap().id.clone().unwrap();
    let before = all.len();
    client.moved(&id, "delivered").await;
    let (status, cancel) =
        (client.patch(&format!("/api/v1/orders/{id}/cancel"), Some(&buyer), None)).await;
    assert_eq!(status, 422, "a refused change adds no event: {cancel}");
    let all = stored(&client, &id).await;
    assert!(all.len() > before, "{all:?}");
    let mut resumed = client.stream(&path, &buyer, Some(&last)).await.unwrap();
    let missed = resumed.take(all.len() - before, WAIT).await;
    assert_eq!(seen(&missed), all[before..]);
    assert_eq!(resumed.next(QUIET).await, None);
    // ...and from its first event, everything after it.
    let mut again = client.stream(&path, &buyer, Some(&all[0].0)).await.unwrap();
    assert_eq!(seen(&again.take(all.len() - 1, WAIT).await), all[1..]);

    // Someone else's order does not exist for them; an admin sees it.
    let (status, _) = client
        .stream(&path, &token("u2", false), None)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 404);
    assert!(
        client
            .stream(&path, &token("ops", true), None)
            .await
            .is_ok()
    );
    for bad in ["not-an-id", "01a211b3-13e1-701a-a698-8a513dbc455d"] {
        let (status, error) = client.stream(&path, &buyer, Some(bad)).await.err().unwrap();
        assert_eq!(
            (status, field_of(&error)),
            (400, "Last-Event-ID"),
            "{bad}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_stream_carries_their_orders_only_and_resumes_from_its_position() {
    let app = App::start(None).await;
    let client = app.client();
    let buyer = token("u1", false);
    let path = "/api/v1/orders/stream";

    let mut stream = client.stream(path, &buyer, None).await.unwrap();
    let ready = stream.take(1, WAIT).await;
    assert_eq!(ready[0].event, "ready");
    let start = ready[0].id.clone().unwrap();
    let mut admin = client
        .stream(
            "/api/v1/orders/stream?status=pending",
            &token("ops", true),
            None,
        )
        .await
        .unwrap();
    assert_eq!(admin.take(1, WAIT).await[0].event, "ready");

    let mine = [client.placed("u1").await, client.placed("u1").await];
    let theirs = client.placed("u2").await;
    let created = stream.take(2, WAIT).await;
    assert_eq!(
        (created.iter())
            .map(|e| (e.event.as_str(), e.data["order_id"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("order.created", mine[0].as_str()),
            ("order.created", mine[1].as_str())
        ]
    );
    assert_eq!(stream.next(QUIET).await, None, "nobody else's orders");
    let everyone = admin.take(3, WAIT).await;
    let ids: Vec<&str> = everyone
        .iter()
        .map(|e| e.data["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine[0].as_str(), mine[1].as_str(), theirs.as_str()]);
    // The admin's filter: a confirmation is not a pending order's event.
    client.moved(&theirs, "confirmed").await;
    assert_eq!(admin.next(QUIET).await, None);
    drop(stream);

    // Away for three orders (and someone else's): resumed after the last event seen.
    let last = created[1].id.clone().unwrap();
    let mut away = Vec::new();
    for _ in 0..3 {
        away.push(client.placed("u1").await);
        client.placed("u2").await;
    }
    let mut resumed = client.stream(path, &buyer, Some(&last)).await.unwrap();
    let missed = resumed.take(3, WAIT).await;
    assert_eq!(
        (missed.iter())
            .map(|e| e.data["order_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        away.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(resumed.next(QUIET).await, None, "no gap, no duplicate");
    // ...then live again.
    let next = client.placed("u1").await;
    assert_eq!(
        resumed.take(1, WAIT).await[0].data["order_id"],
        next.as_str()
    );

    // From where the first stream stood before anything happened: all six, in order.
    let mut from_start = client.stream(path, &buyer, Some(&start)).await.unwrap();
    let all = from_start.take(6, WAIT).await;
    let expected: Vec<&str> = mine
        .iter()
        .chain(&away)
        .chain([&next])
        .map(String::as_str)
        .collect();
    assert_eq!(
        (all.iter())
            .map(|e| e.data["order_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        expected
    );
    let positions: Vec<(u64, u32)> = (all.iter())
        .map(|e| {
            let (commit, index) = e.id.as_deref().unwrap().split_once('-').unwrap();
            (commit.parse().unwrap(), index.parse().unwrap())
        })
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");

    for (query, field, code) in [
        ("?channel=nowhere", "channel", 422),
        ("?colour=red", "", 400),
    ] {
        let (status, error) = client
            .stream(&format!("{path}{query}"), &buyer, None)
            .await
            .err()
            .unwrap();
        assert_eq!(status, code, "{query}: {error}");
        if !field.is_empty() {
            assert_eq!(field_of(&error), field, "{error}");
        }
    }
    let (status, error) = client
        .stream(path, &buyer, Some("yesterday"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        (status, field_of(&error)),
        (400, "Last-Event-ID"),
        "{error}"
    );
}

/// The service's resident memory, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_idle_streams_hold_with_flat_memory_and_each_hears_of_a_new_order() {
    let app = App::start(None).await;
    let client = app.client();
    let admin = token("ops", true);
    let open = |n: usize| {
        let client = client.clone();
        let admin = admin.clone();
        async move {
            let mut streams = Vec::new();
            for _ in 0..n {
                let mut stream = client
                    .stream("/api/v1/orders/stream", &admin, None)
                    .await
                    .unwrap();
                assert_eq!(stream.take(1, WAIT).await[0].event, "ready");
                streams.push(stream);
            }
            streams
        }
    };
    let mut streams = open(100).await;
    let at_100 = resident_kib(app.pid());
    streams.extend(open(900).await);
    let at_1000 = resident_kib(app.pid());
    // Each stream is its connection and a place in the feed: a few KiB, not a buffer.
    let per_stream = (at_1000.saturating_sub(at_100)) / 900;
    assert!(
        per_stream < 64,
        "{per_stream} KiB per stream ({at_100} → {at_1000} KiB)"
    );

    let id = client.placed("u1").await;
    for stream in &mut streams {
        let event = stream.next(WAIT).await.expect("every stream hears of it");
        assert_eq!(
            (event.event.as_str(), event.data["order_id"].as_str()),
            ("order.created", Some(id.as_str()))
        );
    }
    // Holding them cost nothing while idle: the service still answers at once.
    let (status, _) = client.get("/health", None).await;
    assert_eq!(status, 200);
}
