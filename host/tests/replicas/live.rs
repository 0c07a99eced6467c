//! Live streams across replicas: a stream held by one replica carries the events of
//! orders written through the others, every one in order, while the replica relaying the
//! order's shard to Kafka is killed; a customer's stream cut on one replica resumes on
//! another from its last id (positions are the database's, the same on every replica)
//! with exactly the events it missed.

use super::harness::token;
use super::{Cluster, settled};
use orderflow::orders::OrderId;
use orderflow::orders::outbox::shard_of;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn ids_of(events: &[super::harness::SseEvent]) -> Vec<String> {
    events.iter().map(|e| e.id.clone().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_follow_writes_through_every_replica_while_the_relaying_one_is_killed() {
    let mut cluster = Cluster::new();
    for id in ["a", "b", "c"] {
        cluster.start(id);
    }
    let (_, held) = cluster.until("the split", Instant::now(), settled).await;
    let client = |cluster: &Cluster, id: &str| {
        let at = cluster.replicas.iter().position(|(r, _)| r == id).unwrap();
        cluster.replicas[at].1.client()
    };

    let order = client(&cluster, "a").placed("u1").await;
    let shard = shard_of(order.parse::<OrderId>().unwrap());
    let relaying = held
        .iter()
        .find(|(_, s)| s.contains(&shard))
        .unwrap()
        .0
        .clone();
    // The stream is held by a replica that does not relay the order; writes go through
    // the others.
    let watcher = ["a", "b", "c"]
        .into_iter()
        .find(|r| *r != relaying)
        .unwrap();
    let writers: Vec<&str> = ["a", "b", "c"]
        .into_iter()
        .filter(|r| *r != watcher)
        .collect();
    let stream_on = client(&cluster, watcher);
    let buyer = token("u1", false);
    let mut stream = stream_on
        .stream(&format!("/api/v1/orders/{order}/stream"), &buyer, None)
        .await
        .unwrap();
    let mut customer = stream_on
        .stream("/api/v1/orders/stream", &buyer, None)
        .await
        .unwrap();
    assert_eq!(customer.take(1, WAIT).await[0].event, "ready");

    client(&cluster, writers[0])
        .moved(&order, "confirmed")
        .await;
    cluster.kill(&relaying);
    let survivor = writers.iter().find(|r| **r != relaying).unwrap();
    for status in ["processing", "shipped", "delivered"] {
        client(&cluster, survivor).moved(&order, status).await;
    }
    let stored = stream_on.stored_events(std::slice::from_ref(&order)).await;
    let stored: Vec<String> = (stored[&order].iter())
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    let seen = stream.take(stored.len(), WAIT).await;
    assert_eq!(ids_of(&seen), stored, "every event of the order, in order");
    let versions: Vec<i64> = seen
        .iter()
        .map(|e| e.data["order"]["version"].as_i64().unwrap())
        .collect();
    assert!(versions.is_sorted(), "{versions:?}");
    assert_eq!(
        stream.next(Duration::from_secs(1)).await,
        None,
        "nothing twice"
    );

    // The customer's stream saw the same events, under the database's positions.
    let theirs = customer.take(stored.len() - 1, WAIT).await;
    let ids: Vec<&str> = theirs
        .iter()
        .map(|e| e.data["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        stored[1..],
        "after the stream started: all but the creation"
    );
    let last = theirs.last().unwrap().id.clone().unwrap();
    drop(customer);

    // Away while two more orders were placed through the writer: resumed on another replica.
    let mut away = Vec::new();
    for _ in 0..2 {
        away.push(client(&cluster, survivor).placed("u1").await);
    }
    let other = client(&cluster, survivor);
    let mut resumed = other
        .stream("/api/v1/orders/stream", &buyer, Some(&last))
        .await
        .unwrap();
    let missed = resumed.take(2, WAIT).await;
    let orders: Vec<&str> = missed
        .iter()
        .map(|e| e.data["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, away);
    assert_eq!(
        resumed.next(Duration::from_secs(1)).await,
        None,
        "no gap, no duplicate"
    );
}
