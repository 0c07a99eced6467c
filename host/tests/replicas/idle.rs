//! What an idle cluster costs its database: three replicas, settled on their shards, with
//! nothing to do. The driver's command monitoring counts every command a replica sends
//! (`orderflow_store_commands_total` on its `/metrics`); over a quiet window each replica
//! must stay within the budget docs/replicas.md states.

use super::{Cluster, settled};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Commands per second one idle replica may send, heartbeat and lease renewals included.
const BUDGET: f64 = 3.0;
/// How long the cluster is watched idle.
const WINDOW: Duration = Duration::from_secs(12);

/// The commands `replica` has sent so far, by name.
async fn commands(replica: &super::Client) -> BTreeMap<String, f64> {
    let (_, text) = replica.text("/metrics").await;
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("orderflow_store_commands_total{command=\"")?;
            let (name, value) = rest.split_once("\"} ")?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_replica_costs_its_database_at_most_the_budget() {
    let mut cluster = Cluster::new();
    let replicas: Vec<_> = ["a", "b", "c"].map(|id| cluster.start(id)).into();
    cluster.until("the split", Instant::now(), settled).await;
    let before = futures_util::future::join_all(replicas.iter().map(commands)).await;
    tokio::time::sleep(WINDOW).await;
    let after = futures_util::future::join_all(replicas.iter().map(commands)).await;
    let mut report = String::new();
    let mut worst: f64 = 0.0;
    for (id, (before, after)) in ["a", "b", "c"].iter().zip(before.iter().zip(&after)) {
        let per_second: BTreeMap<&str, f64> = (after.iter())
            .map(|(name, n)| {
                (
                    name.as_str(),
                    (n - before.get(name).unwrap_or(&0.0)) / WINDOW.as_secs_f64(),
                )
            })
            .filter(|(_, rate)| *rate > 0.0)
            .collect();
        let total: f64 = per_second.values().sum();
        worst = worst.max(total);
        report += &format!("replica {id}: {total:.2} commands/s {per_second:.2?}\n");
    }
    println!("idle cluster, {WINDOW:?}:\n{report}");
    assert!(worst <= BUDGET, "over {BUDGET} commands/s:\n{report}");
}
