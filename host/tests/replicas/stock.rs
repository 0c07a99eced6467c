//! Stock across replicas: three replicas of the service on one database, 200 orders of the
//! `sale` channel (which reserves) for the desk lamp's 40 units, raced from 64 clients
//! spread over the replicas. Exactly 40 are placed, the others refused with
//! `insufficient_stock`, and every replica's inventory says so. Unpaid orders whose hold
//! runs out are cancelled once each, by the replicas left after one of them is killed.

use super::harness::{
    App, Backend, event_types, flash_workflows, lamp_on, order_body, token, until_order,
};
use super::{Cluster, busiest, settled};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn orders_racing_over_three_replicas_never_take_more_than_there_is() {
    let database = format!("orderflow_stock_{}", uuid::Uuid::now_v7().simple());
    let replicas: Vec<App> = ["a", "b", "c"]
        .map(|id| {
            App::start_on(
                Backend::Mongo,
                vec![
                    ("REPLICA_ID", id.into()),
                    ("DATABASE_NAME", database.clone()),
                ],
            )
        })
        .into();
    let clients: Arc<Vec<_>> = Arc::new(replicas.iter().map(|r| r.client()).collect());
    let buyer = token("u1", false);
    let tries = Arc::new(AtomicUsize::new(0));
    let racers: Vec<_> = (0..64)
        .map(|_| {
            let (tries, clients, buyer) = (tries.clone(), clients.clone(), buyer.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                loop {
                    let n = tries.fetch_add(1, Ordering::Relaxed);
                    if n >= 200 {
                        return statuses;
                    }
                    let mut body = order_body(&[("prod-lamp", 1)]);
                    body["sales_channel"] = json!("sale");
                    let replica = &clients[n % clients.len()];
                    let (status, answer) = replica
                        .post("/api/v1/orders/", Some(&buyer), &body, None)
                        .await;
                    if status == 422 {
                        assert_eq!(answer["error"]["code"], "insufficient_stock", "{answer}");
                    }
                    statuses.push(status);
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.extend(racer.await.unwrap());
    }
    let placed = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!((placed, refused), (40, 160), "{statuses:?}");
    let admin = token("ops", true);
    for replica in &replicas {
        let (status, inventory) = replica
            .get("/api/v1/inventory/prod-lamp", Some(&admin))
            .await;
        assert_eq!(status, 200, "{inventory}");
        assert_eq!(
            (
                &inventory["on_hand"],
                &inventory["reserved"],
                inventory["holders"].as_array().map(Vec::len)
            ),
            (&json!(40), &json!(40), Some(40)),
            "{inventory}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn holds_run_out_once_each_on_the_replicas_left_after_a_kill() {
    let workflows = flash_workflows();
    let dir = workflows.path().display().to_string();
    let mut cluster = Cluster::new();
    for id in ["a", "b", "c"] {
        cluster.start_with(id, vec![("WORKFLOW_DIR", dir.clone())]);
    }
    cluster.until("the split", Instant::now(), settled).await;
    let (buyer, admin) = (token("u1", false), token("ops", true));
    let mut ids = Vec::new();
    for n in 0..30 {
        let replica = &cluster.replicas[n % 3].1;
        let (status, order) = replica
            .post("/api/v1/orders/", Some(&buyer), &lamp_on("flash"), None)
            .await;
        assert_eq!(status, 201, "{order}");
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    // The replica relaying the most shards goes before any hold runs out: its orders are
    // expired by the others once they hold its shards.
    let (victim, _) = busiest(&cluster.held().await);
    let killed = Instant::now();
    cluster.kill(&victim);
    let survivor = cluster.any().client();
    for id in &ids {
        until_order(&survivor, id, &admin, |o| o["status"] == "cancelled").await;
    }
    eprintln!(
        "stock: 30 holds of 1 s ran out, the last expired {:.1?} after {victim} was killed",
        killed.elapsed()
    );
    for id in &ids {
        let types = event_types(&survivor, id, &admin).await;
        assert_eq!(
            types,
            [
                "order.created",
                "order.reservation_expired",
                "order.cancelled"
            ],
            "{id}"
        );
    }
    // No unit given back twice: what is still reserved is only what a killed replica's
    // write left in doubt (given back by the sweep within a minute).
    let (_, reconciled) = (survivor.get("/api/v1/inventory/reconciliation", Some(&admin))).await;
    assert_eq!(reconciled["consistent"], true, "{reconciled}");
    let lamp = &reconciled["products"][0];
    assert_eq!(
        (
            &lamp["product_id"],
            &lamp["held_by_orders"],
            lamp["reserved"].as_i64(),
            lamp["in_doubt"].as_i64()
        ),
        (
            &json!("prod-lamp"),
            &json!(0),
            lamp["in_doubt"].as_i64(),
            lamp["reserved"].as_i64()
        ),
        "{reconciled}"
    );
}

/// Where plenty is available, each replica takes its orders' units from a block it drew
/// ahead (`docs/stock.md`). A replica killed with units left in its block: the ledger holds
/// them in doubt (the reconciliation still adds up), and once the replica has been silent
/// for the sweep's wait a survivor settles its block from the orders naming it; the
/// survivors' own unused blocks go back; what is reserved ends equal to what the orders hold.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_replicas_blocks_are_settled_from_its_orders() {
    let mut cluster = Cluster::new();
    for id in ["a", "b", "c"] {
        cluster.start_with(id, vec![]);
    }
    cluster.until("the split", Instant::now(), settled).await;
    let (buyer, admin) = (token("u1", false), token("ops", true));
    let mut body = order_body(&[("prod-mug", 2)]);
    body["sales_channel"] = json!("sale");
    for n in 0..60 {
        let replica = &cluster.replicas[n % 3].1;
        let (status, order) = replica
            .post("/api/v1/orders/", Some(&buyer), &body, None)
            .await;
        assert_eq!(status, 201, "{order}");
    }
    let mug = |reconciled: &serde_json::Value| {
        let products = reconciled["products"].as_array().unwrap();
        let mug = products.iter().find(|p| p["product_id"] == "prod-mug");
        mug.cloned()
            .unwrap_or_else(|| panic!("no mug in {reconciled}"))
    };
    let reconciliation = "/api/v1/inventory/reconciliation";
    let (_, reconciled) = cluster.any().get(reconciliation, Some(&admin)).await;
    let before = mug(&reconciled);
    assert_eq!(reconciled["consistent"], true, "{reconciled}");
    assert_eq!(before["held_by_orders"], 120, "{before}");
    assert!(
        before["in_doubt"].as_i64() > Some(0),
        "no block drawn: {before}"
    );

    let killed = Instant::now();
    cluster.kill("b");
    let survivor = cluster.any().client();
    let deadline = Duration::from_secs(180);
    let settled_mug = loop {
        let (_, mut reconciled) = survivor.get(reconciliation, Some(&admin)).await;
        if reconciled["consistent"] != true {
            // The reconciliation reads the ledgers and the blocks one after the other: a
            // block settled between the two reads is counted in both once (measured
            // 2026-12-08: reserved 120, held 120, in doubt 24). A real difference stays.
            tokio::time::sleep(Duration::from_millis(500)).await;
            reconciled = survivor.get(reconciliation, Some(&admin)).await.1;
        }
        assert_eq!(reconciled["consistent"], true, "{reconciled}");
        let now = mug(&reconciled);
        if now["in_doubt"] == 0 {
            break now;
        }
        assert!(killed.elapsed() < deadline, "still in doubt: {now}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!(
        "stock: {} units in blocks when a replica was killed, every block settled {:.1?} after",
        before["in_doubt"],
        killed.elapsed()
    );
    assert_eq!(
        (&settled_mug["reserved"], &settled_mug["held_by_orders"]),
        (&json!(120), &json!(120)),
        "{settled_mug}"
    );
}
