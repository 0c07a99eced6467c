//! The Kafka relay: lag from an order's write to its event being read back, at a steady
//! order rate, and how fast the relay drains a full outbox. The service (release build) on
//! the embedded store, a tansu broker in memory, an rdkafka consumer: all on this machine.
//!
//! Run: `bash host/benches/relay.sh` (installs tansu if needed; prints Markdown tables).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/api/harness.rs"]
mod harness;
#[path = "../tests/events/kafka.rs"]
mod kafka;

use harness::{App, Backend, percentile, steady_load, token};
use kafka::{Broker, Consumer};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The harness's default store.
const BACKEND: Backend = Backend::Embedded;

const RATE: u64 = 1_000;
const STEADY: Duration = Duration::from_secs(15);
const BACKLOG: usize = 20_000;

fn kafka_settings(broker: &Broker, prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_ENABLED", "true".into()),
        ("KAFKA_BOOTSTRAP_SERVERS", broker.address()),
        ("KAFKA_TOPIC_PREFIX", prefix.into()),
    ]
}

/// The relay's own lag histogram (`/metrics`), cumulative counts per bucket bound.
fn lag_buckets(metrics: &str) -> Vec<(String, f64)> {
    metrics
        .lines()
        .filter(|l| l.starts_with("orderflow_relay_lag_seconds_bucket"))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?.to_owned();
            let count = l.rsplit(' ').next()?.parse().ok()?;
            Some((le, count))
        })
        .collect()
}

/// Between two scrapes: the upper bound of the bucket holding quantile `q`.
fn histogram_quantile(before: &str, after: &str, q: f64) -> String {
    let before = lag_buckets(before);
    let buckets: Vec<(String, f64)> = lag_buckets(after)
        .into_iter()
        .enumerate()
        .map(|(i, (le, n))| (le, n - before.get(i).map_or(0.0, |b| b.1)))
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, count)| *count >= total * q)
        .map_or("-".into(), |(le, _)| format!("≤ {le} s"))
}

async fn lag_at_steady_rate() {
    let broker = Broker::start();
    let prefix = kafka::unique_prefix();
    let consumer = Consumer::new(&broker, &prefix).await;
    let app = App::start_on(Backend::Embedded, kafka_settings(&broker, &prefix));
    // Warm-up (connections, producer id, topic metadata), not measured.
    steady_load(&app, RATE, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, before) = app.text("/metrics").await;
    let (placed, failed) = steady_load(&app, RATE, STEADY).await;
    let wanted: HashSet<String> = placed.iter().cloned().collect();
    // The created event of every order: its key is the order id.
    let deadline = Instant::now() + Duration::from_secs(60);
    let read = loop {
        let read = consumer.read();
        let keys: HashSet<&String> = read.iter().map(|m| &m.key).collect();
        if wanted.iter().all(|id| keys.contains(id)) || Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut lags: Vec<f64> = read
        .iter()
        .filter(|m| wanted.contains(&m.key))
        .filter_map(|m| {
            let occurred: chrono::DateTime<chrono::Utc> =
                m.envelope["occurred_at"].as_str()?.parse().ok()?;
            Some((m.read_at - occurred).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    let (_, after) = app.text("/metrics").await;
    println!(
        "## Relay lag at a steady {RATE} orders/s for {}s (embedded store)\n",
        STEADY.as_secs()
    );
    println!("| | p50 | p99 | max |\n|---|---|---|---|");
    println!(
        "| order written → event read by a consumer ({} events) | {:.1} ms | {:.1} ms | {:.1} ms |",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
    println!(
        "| order written → broker ack (the relay's histogram, bucket bounds) | {} | {} | |",
        histogram_quantile(&before, &after, 0.5),
        histogram_quantile(&before, &after, 0.99)
    );
    println!(
        "\n{} orders acknowledged, {failed} refused or failed, {} events not read within 60 s\n",
        placed.len(),
        wanted.len() - lags.len()
    );
}

async fn draining_a_full_outbox() {
    let broker = Broker::start();
    let prefix = kafka::unique_prefix();
    let mut app = App::start_on(Backend::Embedded, vec![]);
    let client = Arc::new(app.client());
    let user = token("bench", false);
    let writers: Vec<_> = (0..32)
        .map(|_| {
            let (client, user) = (client.clone(), user.clone());
            tokio::spawn(async move {
                for _ in 0..BACKLOG / 32 {
                    assert_eq!(client.place(&user, &[("prod-mug", 1)]).await.0, 201);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let (_, health) = app.get("/health", None).await;
    let backlog = health["events"]["backlog"].as_u64().unwrap_or_default();
    // Kafka switched on: the relay starts on a full outbox.
    app.restart_with(kafka_settings(&broker, &prefix)).await;
    let started = Instant::now();
    loop {
        let (_, health) = app.get("/health", None).await;
        if health["events"]["backlog"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!("## Draining a full outbox (embedded store)\n");
    println!("| events | time to empty (from the service's start) | events/s |\n|---|---|---|");
    println!(
        "| {backlog} | {:.2} s | {:.0} |\n",
        elapsed.as_secs_f64(),
        backlog as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    lag_at_steady_rate().await;
    draining_a_full_outbox().await;
}
