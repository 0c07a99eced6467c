//! Stock that cannot be oversold, through the API on the test target's store: the `sale`
//! channel's workflow reserves (`workflows/sale.toml`), and the desk lamp has 40 units in
//! the catalog. 100 orders raced from 64 clients take exactly 40 units; every other order
//! is refused with `insufficient_stock` naming its line, and nothing of it is stored. The
//! inventory shows the 40 holders; a cancellation gives its unit back, a shipment takes
//! its unit off the shelf, an adjustment moves what is on hand but never under what is
//! reserved.

use crate::harness::{App, event_types, flash_workflows, lamp_on, order_body, token, until_order};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const LAMP: &str = "/api/v1/inventory/prod-lamp";

fn sale_order(quantity: i64) -> Value {
    let mut body = order_body(&[("prod-lamp", quantity)]);
    body["sales_channel"] = json!("sale");
    body
}

async fn inventory(app: &App, admin: &str) -> Value {
    let (status, inventory) = app.get(LAMP, Some(admin)).await;
    assert_eq!(status, 200, "{inventory}");
    inventory
}

fn figures(inventory: &Value) -> (i64, i64, i64) {
    let n = |field: &str| inventory[field].as_i64().unwrap();
    (n("on_hand"), n("reserved"), n("available"))
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_orders_never_take_more_than_there_is() {
    let app = App::start(None).await;
    let (admin, buyer) = (token("ops", true), token("u1", false));
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 0, 40));

    let (tries, client) = (Arc::new(AtomicUsize::new(0)), app.client());
    let racers: Vec<_> = (0..64)
        .map(|_| {
            let (tries, client, buyer) = (tries.clone(), client.clone(), buyer.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while tries.fetch_add(1, Ordering::Relaxed) < 100 {
                    let body = sale_order(1);
                    answers.push(
                        client
                            .post("/api/v1/orders/", Some(&buyer), &body, None)
                            .await,
                    );
                }
                answers
            })
        })
        .collect();
    let (mut placed, mut refused) = (BTreeSet::new(), 0);
    for racer in racers {
        for (status, answer) in racer.await.unwrap() {
            match status {
                201 => {
                    placed.insert(answer["id"].as_str().unwrap().to_owned());
                }
                422 => {
                    let problem = &answer["error"]["problems"][0];
                    assert_eq!(
                        (&problem["code"], &problem["field"]),
                        (&json!("insufficient_stock"), &json!("items[0].quantity")),
                        "{answer}"
                    );
                    refused += 1;
                }
                _ => panic!("{status}: {answer}"),
            }
        }
    }
    assert_eq!((placed.len(), refused), (40, 60));
    let (status, listed) = app.get("/api/v1/orders/?page_size=100", Some(&buyer)).await;
    assert_eq!(
        (status, listed["total"].as_u64()),
        (200, Some(40)),
        "{listed}"
    );
    let held = inventory(&app, &admin).await;
    assert_eq!(figures(&held), (40, 40, 0));
    // The validation saw what was available (contract 0.5.0): with none left, the refusal
    // is the rule's own.
    let (status, refused) = app
        .post("/api/v1/orders/", Some(&buyer), &sale_order(1), None)
        .await;
    assert_eq!(
        (status, &refused["error"]["problems"][0]["message"]),
        (422, &json!("only 0 of product prod-lamp available")),
        "{refused}"
    );
    // The order whose unit left 4 (the sale's `low_stock` is 5) raised `stock.low`, once.
    let mut lows = Vec::new();
    for id in &placed {
        let (_, events) = app
            .get(&format!("/api/v1/orders/{id}/events"), Some(&admin))
            .await;
        lows.extend(
            (events.as_array().unwrap().iter())
                .map(|e| e["event"].clone())
                .filter(|e| e["event_type"] == "stock.low"),
        );
    }
    assert_eq!(lows.len(), 1, "{lows:?} {}", app.log());
    assert_eq!(
        lows[0]["stock"],
        json!({"product_id": "prod-lamp", "available": 4, "threshold": 5})
    );
    let holders: BTreeSet<String> = (held["holders"].as_array().unwrap().iter())
        .map(|h| {
            assert_eq!(h["units"], 1, "{h}");
            h["order_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(holders, placed);

    // A cancellation gives its unit back; the next order takes it.
    let mut ids = placed.iter();
    let cancelled = ids.next().unwrap();
    let path = format!("/api/v1/orders/{cancelled}/cancel");
    let reason = json!({"reason": "changed my mind"});
    assert_eq!(app.patch(&path, Some(&buyer), Some(&reason)).await.0, 200);
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 39, 1));
    let (status, again) = app
        .post("/api/v1/orders/", Some(&buyer), &sale_order(1), None)
        .await;
    assert_eq!(status, 201, "{again}");

    // A shipment takes its unit off the shelf and out of the reserved.
    let shipped = ids.next().unwrap();
    let pay = json!({"payment_status": "paid", "transaction_id": "tx-1"});
    let paid = app
        .patch(
            &format!("/api/v1/orders/{shipped}/payment"),
            Some(&admin),
            Some(&pay),
        )
        .await;
    assert_eq!(paid.0, 200, "{}", paid.1);
    app.deliver(shipped, &admin).await;
    assert_eq!(figures(&inventory(&app, &admin).await), (39, 39, 0));

    // Adjustments: a delivery from the supplier; never under what is reserved.
    let adjust = |delta: i64, reason: &str| json!({"delta": delta, "reason": reason});
    let path = format!("{LAMP}/adjustments");
    let (status, after) = app
        .post(&path, Some(&admin), &adjust(5, "delivery"), None)
        .await;
    assert_eq!((status, figures(&after)), (200, (44, 39, 5)), "{after}");
    for (body, field) in [
        (adjust(-6, "count"), "delta"),
        (adjust(0, "count"), "delta"),
        (adjust(1, " "), "reason"),
    ] {
        let (status, refused) = app.post(&path, Some(&admin), &body, None).await;
        assert_eq!(
            (status, &refused["error"]["problems"][0]["field"]),
            (422, &json!(field)),
            "{refused}"
        );
    }
    assert_eq!(figures(&inventory(&app, &admin).await), (44, 39, 5));
    let unknown = app
        .get("/api/v1/inventory/prod-nothing", Some(&admin))
        .await;
    assert_eq!(unknown.0, 404, "{}", unknown.1);
    assert_eq!(app.get(LAMP, Some(&buyer)).await.0, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpaid_order_lets_its_units_go_when_its_time_runs_out() {
    let workflows = flash_workflows();
    let app = App::start_with(vec![(
        "WORKFLOW_DIR",
        workflows.path().display().to_string(),
    )]);
    let (admin, buyer) = (token("ops", true), token("u1", false));
    let mut ids = Vec::new();
    for channel in ["flash", "flash", "flash-release"] {
        let (status, order) = app
            .post("/api/v1/orders/", Some(&buyer), &lamp_on(channel), None)
            .await;
        assert_eq!(status, 201, "{order}");
        assert!(order["reservation"]["expires_at"].is_string(), "{order}");
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    // The second is paid in time: it keeps its unit.
    let pay = json!({"payment_status": "paid", "transaction_id": "tx-1"});
    let (status, paid) = app
        .patch(
            &format!("/api/v1/orders/{}/payment", ids[1]),
            Some(&admin),
            Some(&pay),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    assert!(paid["reservation"]["expires_at"].is_null(), "{paid}");
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 3, 37));

    let cancelled = until_order(&app, &ids[0], &admin, |o| o["status"] == "cancelled").await;
    assert!(
        cancelled["reservation"]["expires_at"].is_null(),
        "{cancelled}"
    );
    let released = until_order(&app, &ids[2], &admin, |o| {
        o["reservation"]["released_at"].is_string()
    })
    .await;
    assert_eq!(released["status"], "pending", "{released}");
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 1, 39));
    let types = event_types(&app, &ids[0], &admin).await;
    assert_eq!(
        types,
        [
            "order.created",
            "order.reservation_expired",
            "order.cancelled"
        ]
    );
    let types = event_types(&app, &ids[2], &admin).await;
    assert_eq!(types, ["order.created", "order.reservation_expired"]);
    assert_eq!(paid_status(&app, &ids[1], &admin).await, "pending");
}

async fn paid_status(app: &App, id: &str, admin: &str) -> String {
    let (_, order) = app.get(&format!("/api/v1/orders/{id}"), Some(admin)).await;
    order["status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_during_placements_leaves_the_ledger_equal_to_the_orders() {
    let mut app = App::start(None).await;
    let (admin, buyer) = (token("ops", true), token("u1", false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let placed = Arc::new(AtomicUsize::new(0));
    let client = app.client();
    let placers: Vec<_> = (0..16)
        .map(|n| {
            let (stop, placed) = (stop.clone(), placed.clone());
            let (client, buyer) = (client.clone(), buyer.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let product = ["prod-mug", "prod-widget", "prod-lamp"][n % 3];
                while !stop.load(Ordering::Relaxed) {
                    let mut body = order_body(&[(product, 1 + (n % 2) as i64)]);
                    body["sales_channel"] = json!("sale");
                    match client
                        .post("/api/v1/orders/", Some(&buyer), &body, None)
                        .await
                    {
                        (201, order) => {
                            placed.fetch_add(1, Ordering::Relaxed);
                            acknowledged.push(order["id"].as_str().unwrap().to_owned());
                        }
                        (422, _) => {}
                        // The process was killed under it.
                        _ => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Killed while orders still find stock.
    while placed.load(Ordering::Relaxed) < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    app.crash_and_restart().await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for placer in placers {
        acknowledged.extend(placer.await.unwrap());
    }
    assert!(acknowledged.len() >= 40, "{} orders", acknowledged.len());
    for id in &acknowledged {
        let (status, order) = app.get(&format!("/api/v1/orders/{id}"), Some(&admin)).await;
        assert_eq!(status, 200, "acknowledged order {id} is lost: {order}");
    }
    let (status, reconciled) = app
        .get("/api/v1/inventory/reconciliation", Some(&admin))
        .await;
    assert_eq!(status, 200, "{reconciled}");
    assert_eq!(reconciled["consistent"], true, "{reconciled}");
    let products = reconciled["products"].as_array().unwrap();
    assert_eq!(products.len(), 3, "{reconciled}");
    let lamp = products
        .iter()
        .find(|p| p["product_id"] == "prod-lamp")
        .unwrap();
    assert!(lamp["reserved"].as_i64().unwrap() <= 40, "{reconciled}");
    eprintln!(
        "stock: {} orders acknowledged before the kill; the ledger equals the orders: {reconciled}",
        acknowledged.len()
    );
}

/// Requests change `actions` of order `id` and confirms it: the confirmation's answer.
async fn changed(app: &App, buyer: &str, id: &str, actions: Value) -> (u16, Value) {
    let changes = format!("/api/v1/orders/{id}/changes");
    let (status, change) = app
        .post(&changes, Some(buyer), &json!({ "actions": actions }), None)
        .await;
    assert_eq!(status, 201, "{change}");
    let confirm = format!("{changes}/{}/confirm", change["id"].as_str().unwrap());
    app.post(&confirm, Some(buyer), &json!({}), None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_of_an_order_move_its_reservation() {
    let app = App::start(None).await;
    let (admin, buyer) = (token("ops", true), token("u1", false));
    let mut body = order_body(&[("prod-lamp", 2)]);
    body["sales_channel"] = json!("sale");
    let (status, order) = app.post("/api/v1/orders/", Some(&buyer), &body, None).await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 2, 38));

    let more = json!([{"type": "set_quantity", "product_id": "prod-lamp", "quantity": 5}]);
    let (status, after) = changed(&app, &buyer, &id, more).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 5, 35));
    let fewer = json!([{"type": "cancel_item", "product_id": "prod-lamp", "quantity": 1}]);
    let (status, after) = changed(&app, &buyer, &id, fewer).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 4, 36));
    // Another order takes 10.
    let mut other = order_body(&[("prod-lamp", 10)]);
    other["sales_channel"] = json!("sale");
    let take_ten = || async {
        let (status, placed) = app
            .post("/api/v1/orders/", Some(&buyer), &other, None)
            .await;
        assert_eq!(status, 201, "{placed}");
    };
    take_ten().await;
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 14, 26));
    // The rules see what the order could have (26 available and the 4 it holds): 31 is
    // refused on request, naming the action.
    let changes = format!("/api/v1/orders/{id}/changes");
    let set = |quantity| json!({"actions": [{"type": "set_quantity", "product_id": "prod-lamp", "quantity": quantity}]});
    let (status, refused) = app.post(&changes, Some(&buyer), &set(31), None).await;
    assert_eq!(
        (
            status,
            &refused["error"]["field"],
            &refused["error"]["message"]
        ),
        (
            422,
            &json!("actions[0].quantity"),
            &json!("only 30 of product prod-lamp available")
        ),
        "{refused}"
    );
    // 30 fit when asked; once another order took 10 they no longer do, and the confirmation
    // is refused: nothing moves.
    let (status, change) = app.post(&changes, Some(&buyer), &set(30), None).await;
    assert_eq!(status, 201, "{change}");
    take_ten().await;
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 24, 16));
    let confirm = format!("{changes}/{}/confirm", change["id"].as_str().unwrap());
    let (status, refused) = app.post(&confirm, Some(&buyer), &json!({}), None).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (422, &json!("insufficient_stock")),
        "{refused}"
    );
    assert_eq!(figures(&inventory(&app, &admin).await), (40, 24, 16));
}
