//! Live streams and webhooks: from an order's write to its event read by a stream's client,
//! at a steady 1,000 orders/s, with 1,000 streams open (one admin's stream of every order,
//! measured, and 999 customers' streams, each told of nothing but kept open); then from an
//! order's write to its webhook's arrival at a receiver, at the same rate. The service
//! (release build) on the embedded store; clients, receiver and service on this machine.
//!
//! Run: `cargo bench -p orderflow --bench live` (prints a Markdown table).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/api/harness.rs"]
mod harness;

use harness::{App, Backend, Receiver, percentile, steady_load, token};
use std::collections::HashSet;
use std::time::Duration;

/// The harness's default store.
const BACKEND: Backend = Backend::Embedded;

const RATE: u64 = 1_000;
const STEADY: Duration = Duration::from_secs(15);
const STREAMS: usize = 1_000;

/// Milliseconds from each event's `occurred_at` to `at`, sorted.
fn lags<'a>(
    arrivals: impl Iterator<Item = (chrono::DateTime<chrono::Utc>, &'a serde_json::Value)>,
) -> Vec<f64> {
    let mut lags: Vec<f64> = arrivals
        .filter_map(|(at, event)| {
            let occurred: chrono::DateTime<chrono::Utc> =
                event["occurred_at"].as_str()?.parse().ok()?;
            Some((at - occurred).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    lags
}

fn row(what: &str, lags: &[f64]) {
    println!(
        "| {what} ({} events) | {:.1} ms | {:.1} ms | {:.1} ms |",
        lags.len(),
        percentile(lags, 0.5),
        percentile(lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
}

async fn webhooks() {
    const SECRET: &str = "the benchmark receiver's secret";
    let receiver = Receiver::start(SECRET, 0).await;
    let app = App::start_on(BACKEND, vec![("WEBHOOK_ALLOW_PRIVATE", "true".into())]);
    let hook =
        serde_json::json!({"url": receiver.url, "events": ["order.created"], "secret": SECRET});
    let (status, endpoint) = app
        .post("/api/v1/webhooks", Some(&token("ops", true)), &hook, None)
        .await;
    assert_eq!(status, 201, "{endpoint}");
    steady_load(&app, RATE, Duration::from_secs(2)).await;
    let (placed, failed) = steady_load(&app, RATE, STEADY).await;
    let wanted: HashSet<&str> = placed.iter().map(String::as_str).collect();
    let total = receiver.delivered().len() + wanted.len();
    let delivered = receiver
        .until_delivered(total, Duration::from_secs(60))
        .await;
    let measured: Vec<_> = (delivered.iter())
        .filter(|h| wanted.contains(h.event["order_id"].as_str().unwrap_or_default()))
        .collect();
    let lags = lags(measured.iter().map(|h| (h.at, &h.event)));
    println!(
        "## Webhooks at a steady {RATE} orders/s for {}s (embedded store)\n",
        STEADY.as_secs()
    );
    println!("| | p50 | p99 | max |\n|---|---|---|---|");
    row("order written → its webhook received", &lags);
    println!(
        "\n{} orders acknowledged, {failed} refused or failed, {} not delivered within 60 s\n",
        placed.len(),
        wanted.len() - lags.len()
    );
}

#[tokio::main]
async fn main() {
    streams().await;
    webhooks().await;
}

async fn streams() {
    let app = App::start_on(BACKEND, vec![]);
    let client = app.client();
    let mut idle = Vec::new();
    for n in 1..STREAMS {
        let mut stream = (client.stream(
            "/api/v1/orders/stream",
            &token(&format!("c{n}"), false),
            None,
        ))
        .await
        .unwrap();
        assert_eq!(
            stream.next(Duration::from_secs(10)).await.unwrap().event,
            "ready"
        );
        idle.push(stream);
    }
    let mut measured = client
        .stream("/api/v1/orders/stream", &token("ops", true), None)
        .await
        .unwrap();
    assert_eq!(
        measured.next(Duration::from_secs(10)).await.unwrap().event,
        "ready"
    );
    // The stream is read as events come, beside the load.
    let reader = tokio::spawn(async move {
        let mut read = Vec::new();
        while let Some(event) = measured.next(Duration::from_secs(5)).await {
            read.push((chrono::Utc::now(), event));
        }
        read
    });
    // Warm-up (connections, caches), measured with the rest but reported apart.
    steady_load(&app, RATE, Duration::from_secs(2)).await;
    let (placed, failed) = steady_load(&app, RATE, STEADY).await;
    let wanted: HashSet<&str> = placed.iter().map(String::as_str).collect();
    let read = reader.await.unwrap();
    let mut lags: Vec<f64> = (read.iter())
        .filter(|(_, e)| wanted.contains(e.data["order_id"].as_str().unwrap_or_default()))
        .filter_map(|(at, e)| {
            let occurred: chrono::DateTime<chrono::Utc> =
                e.data["occurred_at"].as_str()?.parse().ok()?;
            Some((*at - occurred).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    println!(
        "## Live streams at a steady {RATE} orders/s for {}s, {STREAMS} streams open (embedded store)\n",
        STEADY.as_secs()
    );
    println!("| | p50 | p99 | max |\n|---|---|---|---|");
    row("order written → its event read by a stream's client", &lags);
    println!(
        "\n{} orders acknowledged, {failed} refused or failed, {} events not read; {} streams open throughout\n",
        placed.len(),
        wanted.len() - lags.len(),
        idle.len() + 1
    );
}
