//! Webhooks across replicas: an endpoint registered through one replica receives the
//! events of orders placed through all three, each delivered once, from the replica that
//! leases its order's shard; when the busiest replica is killed, the others take its shards
//! and deliver what it left, every event arriving, a second arrival only ever a delivery
//! tried again under its own id.

use super::harness::{Receiver, order_body, token};
use super::{Cluster, busiest, settled};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const SECRET: &str = "the receiver's own shared secret";

#[tokio::test(flavor = "multi_thread")]
async fn every_event_is_delivered_once_from_the_replica_leasing_its_shard_and_after_a_kill() {
    let receiver = Receiver::start(SECRET, 0).await;
    let mut cluster = Cluster::new();
    for id in ["a", "b", "c"] {
        cluster.start_with(id, vec![("WEBHOOK_ALLOW_PRIVATE", "true".into())]);
    }
    cluster.until("the split", Instant::now(), settled).await;
    let admin = token("ops", true);
    let hook = json!({"url": receiver.url, "events": ["order.created"], "secret": SECRET});
    let (status, endpoint) = cluster
        .any()
        .post("/api/v1/webhooks", Some(&admin), &hook, None)
        .await;
    assert_eq!(status, 201, "{endpoint}");

    let place = |cluster: &Cluster, n: usize| {
        let client = cluster.replicas[n % cluster.replicas.len()].1.client();
        async move {
            let body = order_body(&[("prod-mug", 1)]);
            let (status, order) = client
                .post("/api/v1/orders/", Some(&token("u1", false)), &body, None)
                .await;
            assert_eq!(status, 201, "{order}");
            order["id"].as_str().unwrap().to_owned()
        }
    };
    let mut placed = Vec::new();
    for n in 0..30 {
        placed.push(place(&cluster, n).await);
    }
    let delivered = receiver.until_delivered(30, Duration::from_secs(30)).await;
    let orders: Vec<String> = delivered
        .iter()
        .map(|h| h.event["order_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        orders.iter().cloned().collect::<HashSet<_>>(),
        placed.iter().cloned().collect()
    );
    assert_eq!(orders.len(), 30, "each delivered once in steady state");

    // The busiest replica goes; orders keep coming through the others.
    let (victim, _) = busiest(&cluster.held().await);
    cluster.kill(&victim);
    for n in 0..30 {
        placed.push(place(&cluster, n).await);
    }
    let delivered = receiver.until_delivered(60, Duration::from_secs(60)).await;
    let mut by_order: HashMap<String, HashSet<String>> = HashMap::new();
    for hooked in &delivered {
        (by_order
            .entry(hooked.event["order_id"].as_str().unwrap().to_owned())
            .or_default())
        .insert(hooked.delivery.clone());
    }
    for order in &placed {
        let deliveries = by_order
            .get(order)
            .unwrap_or_else(|| panic!("{order} never delivered\n{}", cluster.logs()));
        assert_eq!(
            deliveries.len(),
            1,
            "{order}: one delivery, whoever tried it: {deliveries:?}"
        );
    }
    eprintln!(
        "webhooks: {} orders over 3 replicas then 2, {} arrivals for {} deliveries",
        placed.len(),
        delivered.len(),
        by_order.len()
    );
}
