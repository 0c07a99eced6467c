//! Stock across replicas: three replicas of the service on one database, 200 orders of the
//! `sale` channel (which reserves) for the desk lamp's 40 units, raced from 64 clients
//! spread over the replicas. Exactly 40 are placed, the others refused with
//! `insufficient_stock`, and every replica's inventory says so.

use super::harness::{App, Backend, order_body, token};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
