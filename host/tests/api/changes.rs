//! Changes to placed orders, end to end on the real binary (once per store): previews,
//! requests, confirmations with the difference to pay or refund, the default rules of what
//! may change when, problems named by the action that caused them, idempotent requests,
//! declines and cancellations, and racing confirmations of which exactly one applies.

use crate::harness::{App, product_service};
use serde_json::{Value, json};

/// The standard workflow's price of an order shipped to California by standard shipping:
/// 7.25 % tax rounded half up, 5.99 shipping under 50.00 (free from there), in cents.
fn california_total(subtotal: i64) -> i64 {
    let tax = (subtotal * 725 + 5_000) / 10_000;
    let shipping = if subtotal >= 5_000 { 0 } else { 599 };
    subtotal + tax + shipping
}

fn total(value: &Value) -> i64 {
    value["minor"].as_i64().unwrap()
}

fn changes_of(id: &str) -> String {
    format!("/api/v1/orders/{id}/changes")
}

async fn events(app: &App, id: &str) -> Vec<String> {
    let stored = app.stored_events(&[id.to_owned()]).await;
    (stored[id].iter())
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_is_previewed_requested_and_confirmed_with_what_is_due() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let user = app.token("u1", false);
    let (_, order) = app.place(&user, &[("widget", 2), ("gadget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(total(&order["pricing"]["total"]), california_total(3499));

    let add = json!({"actions": [{"type": "add_item", "product_id": "widget", "quantity": 1}]});
    let mut preview = add.clone();
    preview["dry_run"] = json!(true);
    let (status, previewed) = app
        .post(&changes_of(&id), Some(&user), &preview, None)
        .await;
    assert_eq!(status, 200, "{previewed}");
    // 3 × 12.50 + 9.99 = 47.49: still under free shipping.
    let after = california_total(4749);
    assert_eq!(total(&previewed["after"]["total"]), after);
    assert_eq!(total(&previewed["before"]["total"]), california_total(3499));
    assert_eq!(
        total(&previewed["difference"]),
        after - california_total(3499)
    );
    assert_eq!(previewed["settlement"], "due");
    assert_eq!(previewed["proposal"]["items"][0]["quantity"], 3);
    assert_eq!(
        app.get(&changes_of(&id), Some(&user)).await,
        (200, json!([]))
    );

    let (status, requested) = app.post(&changes_of(&id), Some(&user), &add, None).await;
    assert_eq!(
        (status, requested["state"].as_str()),
        (201, Some("requested")),
        "{requested}"
    );
    let (_, unchanged) = app.get(&format!("/api/v1/orders/{id}"), Some(&user)).await;
    assert_eq!(
        total(&unchanged["pricing"]["total"]),
        california_total(3499)
    );
    assert!(
        requested["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["digest"].as_str().unwrap().starts_with("sha256:")),
        "{requested}"
    );

    let cid = requested["id"].as_str().unwrap();
    let confirm = format!("{}/{cid}/confirm", changes_of(&id));
    let (status, confirmed) = app.post(&confirm, Some(&user), &json!({}), None).await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["change"]["state"], "confirmed");
    let changed = &confirmed["order"];
    assert_eq!(total(&changed["pricing"]["total"]), after);
    assert_eq!(changed["items"][0]["quantity"], 3);
    assert_eq!(total(&changed["items"][0]["line_total"]), 3750);
    assert_eq!(
        app.get(&format!("/api/v1/orders/{id}"), Some(&user)).await,
        (200, changed.clone())
    );
    // A second confirm finds it confirmed.
    let (status, again) = app.post(&confirm, Some(&user), &json!({}), None).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(
        events(&app, &id).await,
        ["order.created", "order.change_requested", "order.changed"]
    );
    // The listing and the stats see the new total.
    let admin = app.token("ops", true);
    let (_, listed) = app
        .get(
            &format!("/api/v1/orders/admin/all?min_total={after}"),
            Some(&admin),
        )
        .await;
    assert_eq!(listed["total"], 1, "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_order_that_loses_a_line_is_owed_a_refund() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let (user, admin) = (app.token("u1", false), app.token("ops", true));
    let (_, order) = app.place(&user, &[("widget", 2), ("gadget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let pay = json!({"payment_status": "paid", "transaction_id": "tx-1"});
    let (status, _) = app
        .patch(
            &format!("/api/v1/orders/{id}/payment"),
            Some(&admin),
            Some(&pay),
        )
        .await;
    assert_eq!(status, 200);
    let remove = json!({"actions": [{"type": "remove_item", "product_id": "gadget"}],
                        "reason": "changed my mind"});
    let (status, requested) = app.post(&changes_of(&id), Some(&user), &remove, None).await;
    assert_eq!(status, 201, "{requested}");
    let difference = california_total(2500) - california_total(3499);
    assert_eq!(
        (
            total(&requested["difference"]),
            requested["settlement"].as_str()
        ),
        (difference, Some("refund"))
    );
    assert_eq!(requested["reason"], "changed my mind");
    let cid = requested["id"].as_str().unwrap();
    let (status, confirmed) = app
        .post(
            &format!("{}/{cid}/confirm", changes_of(&id)),
            Some(&admin),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    let order = &confirmed["order"];
    assert_eq!(order["items"].as_array().unwrap().len(), 1);
    // The difference went back: the payment is partly refunded, and says by how much.
    assert_eq!(order["payment_status"], "partially_refunded");
    assert_eq!(total(&order["payment"]["refunded"]), -difference);
    let events = events(&app, &id).await;
    assert_eq!(
        events[events.len() - 2..],
        ["order.changed", "order.refunded"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_may_change_follows_the_order_along_its_lifecycle() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let (user, admin) = (app.token("u1", false), app.token("ops", true));
    let (_, order) = app.place(&user, &[("widget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let status_to = |to: &str| json!({"status": to, "tracking_number": "1Z999"});
    for to in ["confirmed", "processing"] {
        let path = format!("/api/v1/orders/{id}/status");
        assert_eq!(
            app.patch(&path, Some(&admin), Some(&status_to(to))).await.0,
            200
        );
    }
    let more = json!({"actions": [{"type": "set_quantity", "product_id": "widget", "quantity": 2}],
                      "dry_run": true});
    let (status, refused) = app.post(&changes_of(&id), Some(&user), &more, None).await;
    assert_eq!(status, 422, "{refused}");
    let problem = &refused["error"]["problems"][0];
    assert_eq!(
        (problem["code"].as_str(), problem["field"].as_str()),
        (Some("change_not_allowed"), Some("actions[0]"))
    );
    let address = json!({"full_name": "Ada Lovelace", "address_line_1": "2 Pine St",
        "city": "New York", "state": "NY", "postal_code": "10001", "country": "US"});
    let move_it = json!({"actions": [{"type": "set_shipping_address", "address": address}]});
    let (status, requested) = app
        .post(&changes_of(&id), Some(&user), &move_it, None)
        .await;
    assert_eq!(status, 201, "{requested}");
    // New York's 8.88 % on 12.50: the tax follows the address.
    let ny = 1250 + (1250 * 888 + 5_000) / 10_000 + 599;
    assert_eq!(total(&requested["after"]["total"]), ny);
    let path = format!("/api/v1/orders/{id}/status");
    assert_eq!(
        app.patch(&path, Some(&admin), Some(&status_to("shipped")))
            .await
            .0,
        200
    );
    let cid = requested["id"].as_str().unwrap();
    let (status, late) = app
        .post(
            &format!("{}/{cid}/confirm", changes_of(&id)),
            Some(&user),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(status, 422, "shipped meanwhile: {late}");
    assert!(
        late.to_string().contains("until the order is `shipped`"),
        "{late}"
    );
    let (status, _) = app
        .post(&changes_of(&id), Some(&user), &move_it, None)
        .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_change_names_the_action_and_its_field() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let user = app.token("u1", false);
    let (_, order) = app.place(&user, &[("widget", 1), ("gadget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let cases = [
        // Over the 100 in stock: the validation plugin's problem, named by the action.
        (
            json!([{"type": "set_method", "method": "x"}]),
            400,
            "actions[0]",
        ),
        (
            json!([{"type": "set_shipping_method", "method": "standard"},
                   {"type": "set_quantity", "product_id": "gadget", "quantity": 150}]),
            422,
            "actions[1].quantity",
        ),
        (
            json!([{"type": "add_item", "product_id": "gizmo", "quantity": 1}]),
            422,
            "actions[0].product_id",
        ),
        (
            json!([{"type": "remove_item", "product_id": "gizmo"}]),
            422,
            "actions[0].product_id",
        ),
        (
            json!([{"type": "add_item", "product_id": "widget", "quantity": 0}]),
            422,
            "actions[0].quantity",
        ),
        (
            json!([{"type": "set_shipping_method", "method": "teleport"}]),
            422,
            "actions[0].method",
        ),
        (
            json!([{"type": "set_discount_code", "code": "NOPE"}]),
            422,
            "actions[0].code",
        ),
        (json!([]), 422, "actions"),
    ];
    for (actions, expected, field) in cases {
        let body = json!({"actions": actions, "dry_run": true});
        let (status, refused) = app.post(&changes_of(&id), Some(&user), &body, None).await;
        assert_eq!(status, expected, "{actions}: {refused}");
        let named = refused
            .to_string()
            .contains(&format!("\"field\":\"{field}"));
        assert!(named, "{actions}: {refused}");
    }
    let (_, kept) = app.get(&format!("/api/v1/orders/{id}"), Some(&user)).await;
    assert_eq!(kept, order, "nothing was written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_request_retried_with_its_key_is_recorded_once() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let user = app.token("u1", false);
    let (_, order) = app.place(&user, &[("widget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let add = json!({"actions": [{"type": "add_item", "product_id": "gadget", "quantity": 1}]});
    let (first, second) = (
        app.post(&changes_of(&id), Some(&user), &add, Some("k-1"))
            .await,
        app.post(&changes_of(&id), Some(&user), &add, Some("k-1"))
            .await,
    );
    assert_eq!((first.0, second.0), (201, 200), "{second:?}");
    assert_eq!(first.1["id"], second.1["id"]);
    let other = json!({"actions": [{"type": "add_item", "product_id": "gadget", "quantity": 2}]});
    let (status, reused) = app
        .post(&changes_of(&id), Some(&user), &other, Some("k-1"))
        .await;
    assert_eq!(status, 409, "{reused}");
    let (_, listed) = app.get(&changes_of(&id), Some(&user)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_are_declined_by_admins_and_cancelled_by_their_requester() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let (user, other, admin) = (
        app.token("u1", false),
        app.token("u2", false),
        app.token("ops", true),
    );
    let (_, order) = app.place(&user, &[("widget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let add = json!({"actions": [{"type": "add_item", "product_id": "gadget", "quantity": 1}]});
    let path = changes_of(&id);
    let request = || app.post(&path, Some(&user), &add, None);
    let (first, second) = (request().await.1, request().await.1);
    let path = |change: &Value, end: &str| {
        format!(
            "{}/{}/{end}",
            changes_of(&id),
            change["id"].as_str().unwrap()
        )
    };
    let why = json!({"reason": "out of season"});
    assert_eq!(
        app.post(&path(&first, "decline"), Some(&user), &why, None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.post(&path(&first, "cancel"), Some(&other), &why, None)
            .await
            .0,
        404
    );
    let (status, declined) = app
        .post(&path(&first, "decline"), Some(&admin), &why, None)
        .await;
    assert_eq!(
        (
            status,
            declined["state"].as_str(),
            declined["end_reason"].as_str()
        ),
        (200, Some("declined"), Some("out of season"))
    );
    let (status, cancelled) = app
        .post(&path(&second, "cancel"), Some(&user), &json!({}), None)
        .await;
    assert_eq!(
        (status, cancelled["state"].as_str()),
        (200, Some("cancelled"))
    );
    for (change, end) in [
        (&first, "confirm"),
        (&second, "confirm"),
        (&first, "cancel"),
    ] {
        let (status, closed) = app
            .post(&path(change, end), Some(&admin), &json!({}), None)
            .await;
        assert_eq!(status, 409, "{end}: {closed}");
    }
    let (_, unchanged) = app.get(&format!("/api/v1/orders/{id}"), Some(&user)).await;
    assert_eq!(unchanged["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        events(&app, &id).await,
        [
            "order.created",
            "order.change_requested",
            "order.change_requested",
            "order.change_declined",
            "order.change_cancelled"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn of_racing_confirmations_of_two_changes_exactly_one_applies() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let user = app.token("u1", false);
    let (_, order) = app.place(&user, &[("widget", 1), ("gadget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let mut confirms = Vec::new();
    for action in [
        json!({"type": "add_item", "product_id": "widget", "quantity": 1}),
        json!({"type": "set_quantity", "product_id": "gadget", "quantity": 3}),
    ] {
        let body = json!({"actions": [action]});
        let (status, change) = app.post(&changes_of(&id), Some(&user), &body, None).await;
        assert_eq!(status, 201, "{change}");
        confirms.push(format!(
            "{}/{}/confirm",
            changes_of(&id),
            change["id"].as_str().unwrap()
        ));
    }
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (app, user, path) = (app.client(), user.clone(), confirms[i % 2].clone());
            tokio::spawn(async move { app.post(&path, Some(&user), &json!({}), None).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );
    let (_, changes) = app.get(&changes_of(&id), Some(&user)).await;
    let confirmed = (changes.as_array().unwrap().iter())
        .filter(|c| c["state"] == "confirmed")
        .count();
    assert_eq!(confirmed, 1, "{changes}");
    let changed = events(&app, &id).await;
    assert_eq!(changed.iter().filter(|e| *e == "order.changed").count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn part_of_a_paid_order_in_processing_is_cancelled_and_the_rest_goes_on() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let (user, admin) = (app.token("u1", false), app.token("ops", true));
    let (_, order) = app.place(&user, &[("widget", 3), ("gadget", 2)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let pay = json!({"payment_status": "paid", "transaction_id": "tx-1"});
    let path = format!("/api/v1/orders/{id}/payment");
    assert_eq!(app.patch(&path, Some(&admin), Some(&pay)).await.0, 200);
    for to in ["confirmed", "processing"] {
        let path = format!("/api/v1/orders/{id}/status");
        assert_eq!(
            app.patch(&path, Some(&admin), Some(&json!({"status": to})))
                .await
                .0,
            200
        );
    }
    // Adding is over (processing); cancelling a unit of widgets and the gadgets is not.
    let cancel = json!({"actions": [
        {"type": "cancel_item", "product_id": "widget", "quantity": 1},
        {"type": "cancel_item", "product_id": "gadget"}]});
    let (status, requested) = app.post(&changes_of(&id), Some(&user), &cancel, None).await;
    assert_eq!(status, 201, "{requested}");
    // 3 × 12.50 + 2 × 9.99 = 57.48 (free shipping) → 2 × 12.50 = 25.00.
    let difference = california_total(2500) - california_total(5748);
    assert_eq!(
        (
            total(&requested["difference"]),
            requested["settlement"].as_str()
        ),
        (difference, Some("refund"))
    );
    let cid = requested["id"].as_str().unwrap();
    let (status, confirmed) = app
        .post(
            &format!("{}/{cid}/confirm", changes_of(&id)),
            Some(&user),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    let rest = &confirmed["order"];
    assert_eq!(
        (
            rest["status"].as_str(),
            rest["items"].as_array().unwrap().len()
        ),
        (Some("processing"), 1)
    );
    assert_eq!(rest["items"][0]["quantity"], 2);
    // More units than the line has, and any cancellation once shipped, are refused.
    let too_many = json!({"actions": [{"type": "cancel_item", "product_id": "widget", "quantity": 3}],
                          "dry_run": true});
    let (status, refused) = app
        .post(&changes_of(&id), Some(&user), &too_many, None)
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused
            .to_string()
            .contains("\"field\":\"actions[0].quantity\""),
        "{refused}"
    );
    let shipped = json!({"status": "shipped", "tracking_number": "1Z999"});
    let path = format!("/api/v1/orders/{id}/status");
    assert_eq!(app.patch(&path, Some(&admin), Some(&shipped)).await.0, 200);
    let one = json!({"actions": [{"type": "cancel_item", "product_id": "widget", "quantity": 1}]});
    let (status, late) = app.post(&changes_of(&id), Some(&user), &one, None).await;
    assert_eq!(status, 422, "{late}");
    assert!(
        late.to_string()
            .contains("items may be cancelled until the order is `shipped`"),
        "{late}"
    );
}

/// Pays order `id` and moves it to `delivered`.
async fn paid_and_delivered(app: &App, id: &str, admin: &str) {
    let pay = json!({"payment_status": "paid", "transaction_id": "tx-1"});
    let path = format!("/api/v1/orders/{id}/payment");
    assert_eq!(app.patch(&path, Some(admin), Some(&pay)).await.0, 200);
    app.deliver(id, admin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivered_order_is_returned_for_a_refund_less_the_restocking_fee() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let (user, admin) = (app.token("u1", false), app.token("ops", true));
    let (_, order) = app.place(&user, &[("widget", 2), ("gadget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    // 2 × 12.50 + 9.99 = 34.99; tax 2.54 (7.25 %, half up); shipping 5.99: 43.52.
    assert_eq!(total(&order["pricing"]["total"]), 4352);
    // Not delivered yet: nothing is returned.
    let one = json!({"actions": [{"type": "return_item", "product_id": "widget", "quantity": 1,
                                  "reason": "too small"}]});
    let (status, early) = app.post(&changes_of(&id), Some(&user), &one, None).await;
    assert_eq!(status, 422, "{early}");
    assert!(
        early.to_string().contains("only a delivered order"),
        "{early}"
    );
    paid_and_delivered(&app, &id, &admin).await;
    let (status, asked) = app.post(&changes_of(&id), Some(&user), &one, None).await;
    assert_eq!(status, 201, "{asked}");
    // The standard workflow: a widget's share of the lines (12.50) and of the tax
    // (2.54 × 1250 / 3499, rounded down: 0.90), less 10 % of 12.50 kept for restocking.
    let refund = &asked["refund"];
    let amounts =
        ["items", "tax", "shipping", "restocking_fee", "total"].map(|k| total(&refund[k]));
    assert_eq!(amounts, [1250, 90, 0, 125, 1215], "{asked}");
    assert_eq!(total(&asked["difference"]), -1215);
    assert_eq!(asked["settlement"], "refund");
    assert_eq!(
        asked["after"], order["pricing"],
        "a return does not reprice the order"
    );
    let cid = asked["id"].as_str().unwrap();
    let confirm = format!("{}/{cid}/confirm", changes_of(&id));
    // The customer sent it; the shop confirms it arrived.
    let (status, refused) = app.post(&confirm, Some(&user), &json!({}), None).await;
    assert_eq!(status, 422, "{refused}");
    let (status, received) = app.post(&confirm, Some(&admin), &json!({}), None).await;
    assert_eq!(status, 200, "{received}");
    let order = &received["order"];
    assert_eq!(order["payment_status"], "partially_refunded");
    assert_eq!(total(&order["payment"]["refunded"]), 1215);
    assert_eq!(order["items"][0]["returned_quantity"], 1);
    assert_eq!(order["status"], "delivered");
    // What is left comes back too: the last widget and the gadget, and with them the
    // shipping (the whole order is back). 22.49 of lines, 1.63 of tax, 5.99 of shipping,
    // less 2.24 of restocking.
    let rest = json!({"actions": [{"type": "return_item", "product_id": "widget"},
                                  {"type": "return_item", "product_id": "gadget"}]});
    let (status, asked) = app.post(&changes_of(&id), Some(&user), &rest, None).await;
    assert_eq!(status, 201, "{asked}");
    let amounts =
        ["items", "tax", "shipping", "restocking_fee", "total"].map(|k| total(&asked["refund"][k]));
    assert_eq!(amounts, [2249, 163, 599, 224, 2787], "{asked}");
    let cid = asked["id"].as_str().unwrap();
    let confirm = format!("{}/{cid}/confirm", changes_of(&id));
    let (status, received) = app.post(&confirm, Some(&admin), &json!({}), None).await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(received["order"]["payment_status"], "refunded");
    assert_eq!(
        total(&received["order"]["payment"]["refunded"]),
        1215 + 2787
    );
    // Nothing is left to return, nor to refund.
    let again = json!({"actions": [{"type": "return_item", "product_id": "gadget"}]});
    let (status, none) = app.post(&changes_of(&id), Some(&user), &again, None).await;
    assert_eq!(status, 422, "{none}");
    assert_eq!(none["error"]["code"], "not_paid", "{none}");
    // After order.created, payment_completed, confirmed, shipped and delivered:
    assert_eq!(
        events(&app, &id).await[5..],
        [
            "order.return_requested",
            "order.return_received",
            "order.refunded",
            "order.return_requested",
            "order.return_received",
            "order.refunded",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn returns_outside_the_window_or_of_products_not_taken_back_are_refused() {
    let products = product_service().await;
    // The standard workflow with gadgets not taken back, and beside it the same rules with a
    // window of 0 days for the `late` channel.
    let workflows = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(crate::common::repo_root().join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap();
        if name == "standard.toml" {
            let late = text.replacen("\n[limits]", "\nchannels = [\"late\"]\n[limits]", 1);
            let late = late.replace("return_window_days = 30", "return_window_days = 0");
            std::fs::write(workflows.path().join("late.toml"), late).unwrap();
        }
        let text = text.replace("non_returnable = []", "non_returnable = [\"gadget\"]");
        std::fs::write(workflows.path().join(name), text).unwrap();
    }
    let settings = vec![
        ("PRODUCT_SERVICE_URL", products.url.clone()),
        ("WORKFLOW_DIR", workflows.path().display().to_string()),
    ];
    let app = App::start_prepared(crate::BACKEND, settings, |_| {});
    let (user, admin) = (app.token("u1", false), app.token("ops", true));
    let (_, order) = app.place(&user, &[("widget", 2), ("gadget", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    paid_and_delivered(&app, &id, &admin).await;
    let both = json!({"actions": [{"type": "return_item", "product_id": "widget", "quantity": 1},
                                  {"type": "return_item", "product_id": "gadget"}]});
    let (status, refused) = app.post(&changes_of(&id), Some(&user), &both, None).await;
    assert_eq!(status, 422, "{refused}");
    let problem = &refused["error"]["problems"][0];
    assert_eq!(problem["code"], "not_returnable", "{refused}");
    assert_eq!(problem["field"], "actions[1].product_id", "{refused}");
    let mut body = crate::harness::order_body(&[("widget", 1)]);
    body["sales_channel"] = json!("late");
    let (status, late) = app.post("/api/v1/orders/", Some(&user), &body, None).await;
    assert_eq!(status, 201, "{late}");
    let late = late["id"].as_str().unwrap().to_owned();
    paid_and_delivered(&app, &late, &admin).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let widget = json!({"actions": [{"type": "return_item", "product_id": "widget"}]});
    let (status, refused) = app
        .post(&changes_of(&late), Some(&user), &widget, None)
        .await;
    assert_eq!(status, 422, "{refused}");
    let problem = &refused["error"]["problems"][0];
    assert_eq!(problem["code"], "return_window_closed", "{refused}");
    assert_eq!(problem["field"], "actions", "{refused}");
    for order in [&id, &late] {
        let (_, changes) = app.get(&changes_of(order), Some(&user)).await;
        assert_eq!(changes.as_array().map(Vec::len), Some(0), "{changes}");
    }
}
