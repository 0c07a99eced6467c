//! Live streams: from an order's write to its event read by a stream's client, at a steady
//! 1,000 orders/s, with 1,000 streams open (one admin's stream of every order, measured,
//! and 999 customers' streams, each told of nothing but kept open). The service (release
//! build) on the embedded store; clients and service on this machine.
//!
//! Run: `cargo bench -p orderflow --bench live` (prints a Markdown table).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/api/harness.rs"]
mod harness;

use harness::{App, Backend, percentile, steady_load, token};
use std::collections::HashSet;
use std::time::Duration;

/// The harness's default store.
const BACKEND: Backend = Backend::Embedded;

const RATE: u64 = 1_000;
const STEADY: Duration = Duration::from_secs(15);
const STREAMS: usize = 1_000;

#[tokio::main]
async fn main() {
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
    println!(
        "| order written → its event read by a stream's client ({} events) | {:.1} ms | {:.1} ms | {:.1} ms |",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
    println!(
        "\n{} orders acknowledged, {failed} refused or failed, {} events not read; {} streams open throughout\n",
        placed.len(),
        wanted.len() - lags.len(),
        idle.len() + 1
    );
}
