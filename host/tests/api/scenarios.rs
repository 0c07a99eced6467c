//! What a REST client does, end to end: the real `orderflow serve` binary on a free port with
//! a temporary data directory, talking over real sockets to real HTTP product and user
//! services started here. Run once per store (the `api` and `api_mongo` test targets).

use crate::harness::{
    App, ProductMode, order_body, product_service, rs256_token, token, user_service,
};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_api_through_an_order_lifecycle() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let (user, admin) = (app.token("u1", false), app.token("admin-1", true));

    let (status, order) = app.place(&user, &[("widget", 2), ("gadget", 1)]).await;
    assert_eq!(status, 201, "{order}");
    // 2 × 12.50 + 9.99 = 34.99, CA tax 2.54, shipping 5.99: the product service's prices.
    assert_eq!(
        order["pricing"]["total"],
        json!({"minor": 4352, "currency": "USD"})
    );
    assert_eq!(
        (order["status"].as_str(), order["version"].as_u64()),
        (Some("pending"), Some(1))
    );
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/v1/orders/{id}"), Some(&user)).await,
        (200, order.clone())
    );

    let (status, options) = app.get("/api/v1/orders/status/options", None).await;
    assert_eq!(
        (
            status,
            options["workflow"].as_str(),
            options["statuses"].as_array().unwrap().len()
        ),
        (200, Some("standard"), 7)
    );
    // A sales channel no workflow declares: refused, naming the field, nothing written.
    let mut elsewhere = order_body(&[("widget", 1)]);
    elsewhere["sales_channel"] = json!("nowhere");
    let (status, refusal) = app
        .post("/api/v1/orders/", Some(&user), &elsewhere, None)
        .await;
    assert_eq!(
        (status, refusal["error"]["field"].as_str()),
        (422, Some("sales_channel")),
        "{refusal}"
    );
    let (status, _) = app
        .get("/api/v1/orders/status/options?sales_channel=nowhere", None)
        .await;
    assert_eq!(status, 422);

    let path = |tail: &str| format!("/api/v1/orders/{id}/{tail}");
    let (status, paid) = app
        .patch(
            &path("payment"),
            Some(&admin),
            Some(&json!({"payment_status": "paid", "transaction_id": "tx-9"})),
        )
        .await;
    assert_eq!(
        (status, paid["payment"]["transaction_id"].as_str()),
        (200, Some("tx-9"))
    );
    app.deliver(&id, &admin).await;
    // Delivered is final: an illegal move is a 422 with the plugin's code.
    let (status, refusal) = app
        .patch(
            &path("status"),
            Some(&admin),
            Some(&json!({"status": "processing"})),
        )
        .await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (422, Some("invalid_transition"))
    );
    let (status, refusal) = app.patch(&path("cancel"), Some(&user), None).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (422, Some("invalid_transition"))
    );

    let (status, events) = app.get(&path("events"), Some(&user)).await;
    assert_eq!(status, 200);
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "order.created",
            "order.payment_completed",
            "order.confirmed",
            "order.shipped",
            "order.delivered"
        ]
    );

    // A second order, cancelled by its customer.
    // The route without the trailing slash is the same endpoint.
    let (_, second) = app
        .post(
            "/api/v1/orders",
            Some(&user),
            &order_body(&[("gadget", 1)]),
            None,
        )
        .await;
    let second_id = second["id"].as_str().unwrap();
    let (status, cancelled) = app
        .patch(
            &format!("/api/v1/orders/{second_id}/cancel"),
            Some(&user),
            Some(&json!({"reason": "changed my mind"})),
        )
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );

    let (status, page) = app
        .get("/api/v1/orders/?page=1&page_size=1", Some(&user))
        .await;
    assert_eq!(
        (
            status,
            page["total"].as_u64(),
            page["items"][0]["id"].as_str()
        ),
        (200, Some(2), Some(second_id)),
        "newest first"
    );
    let (_, filtered) = app
        .get("/api/v1/orders/?status=delivered", Some(&user))
        .await;
    assert_eq!(filtered["items"][0]["id"].as_str(), Some(id.as_str()));

    let (status, stats) = app.get("/api/v1/orders/admin/stats", Some(&admin)).await;
    assert_eq!((status, stats["orders"].as_u64()), (200, Some(2)));
    assert_eq!(stats["by_status"], json!({"cancelled": 1, "delivered": 1}));
    assert_eq!(
        stats["revenue"],
        json!([{"minor": 4352, "currency": "USD"}])
    );
    let (status, all) = app
        .get(
            "/api/v1/orders/admin/all?user_id=u1&min_total=4000&sort=total_desc",
            Some(&admin),
        )
        .await;
    assert_eq!((status, all["total"].as_u64()), (200, Some(1)));

    let (status, health) = app.get("/health", None).await;
    assert_eq!((status, health["store"].as_str()), (200, Some("ok")));

    let (status, metrics) = app.text("/metrics").await;
    assert_eq!(status, 200);
    let pricing = std::fs::read(crate::common::built("standard-pricing")).unwrap();
    let version = orderflow::domain::Digest::of(&pricing).full();
    for expected in [
        r#"orderflow_http_requests_total{method="POST",route="/api/v1/orders/",status="201"} 1"#,
        r#"orderflow_http_requests_total{method="PATCH",route="/api/v1/orders/{order_id}/status",status="422"} 1"#,
        &format!(
            r#"orderflow_plugin_calls_total{{workflow="standard",plugin="standard-pricing",version="{version}",call="price",outcome="decided"}} 2"#
        ),
        "orderflow_plugin_fuel_bucket",
        "orderflow_http_request_duration_seconds_bucket",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_matrix() {
    let app = App::start(None).await;
    let (user, other, admin) = (
        app.token("u1", false),
        app.token("u2", false),
        app.token("admin-1", true),
    );
    let (_, order) = app.place(&user, &[("prod-mug", 1)]).await;
    let one = format!("/api/v1/orders/{}", order["id"].as_str().unwrap());

    assert_eq!(app.get(&one, None).await.0, 401);
    let (status, body) = app
        .get(
            &one,
            Some(&app.token_signed_with("u1", false, b"another secret, not the server's")),
        )
        .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (
            401,
            Some("the token is signed with a key this service does not know")
        )
    );
    let (status, body) = app.get(&one, Some(&app.expired_token("u1"))).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (401, Some("the token has expired"))
    );
    assert_eq!(
        app.get(&one, Some(&crate::harness::unsigned_token("u1", true)))
            .await
            .0,
        401,
        "alg: none"
    );
    let (status, body) = app.get(&one, Some("not.a.token")).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (401, Some("the token is not valid"))
    );
    // Someone else's order does not exist for you.
    assert_eq!(app.get(&one, Some(&other)).await.0, 404);
    assert_eq!(
        app.patch(&format!("{one}/cancel"), Some(&other), None)
            .await
            .0,
        404
    );
    // Admin routes need the admin role.
    for (method, path) in [
        ("PATCH", format!("{one}/status")),
        ("PATCH", format!("{one}/payment")),
        ("GET", "/api/v1/orders/admin/stats".into()),
        ("GET", "/api/v1/orders/admin/all".into()),
    ] {
        let body = json!({"status": "confirmed", "payment_status": "paid"});
        let status = if method == "GET" {
            app.get(&path, Some(&user)).await.0
        } else {
            app.patch(&path, Some(&user), Some(&body)).await.0
        };
        assert_eq!(status, 403, "{method} {path}");
    }
    assert_eq!(app.get(&one, Some(&admin)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_4xx_naming_the_field() {
    let app = App::start(None).await;
    let user = app.token("u1", false);
    let cases = [
        (
            json!({"items": [{"product_id": "prod-mug", "quantity": -1}]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [{"product_id": "prod-mug", "quantity": 1}], "shipping_address": {"full_name": "x"}}),
            "shipping_address",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = app.post("/api/v1/orders/", Some(&user), &body, None).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{error}"
        );
    }
    let (status, _) = app
        .raw(
            "POST",
            "/api/v1/orders/",
            Some(&user),
            Some(("application/json", "{not json")),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .raw(
            "POST",
            "/api/v1/orders/",
            Some(&user),
            Some(("text/plain", "{}")),
        )
        .await;
    assert_eq!(status, 415);
    let (status, error) = app.get("/api/v1/orders/?page=abc", Some(&user)).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("page"))
    );
    assert_eq!(
        app.get("/api/v1/orders/?page_size=1000", Some(&user))
            .await
            .0,
        400
    );
    assert_eq!(
        app.get("/api/v1/orders/not-an-id", Some(&user)).await.0,
        404
    );
    assert_eq!(app.get("/api/v1/nothing-here", Some(&user)).await.0, 404);
    // Business refusals are 422 with every problem listed.
    let (status, error) = app
        .place(&user, &[("prod-retired", 1), ("no-such", 1)])
        .await;
    assert_eq!(
        (
            status,
            error["error"]["code"].as_str(),
            error["error"]["field"].as_str()
        ),
        (422, Some("unknown_product"), Some("items[1].product_id"))
    );
    let (status, error) = app
        .place(&user, &[("prod-retired", 1), ("prod-chair", 9)])
        .await;
    assert_eq!(
        (status, error["error"]["problems"].as_array().map(Vec::len)),
        (422, Some(2)),
        "{error}"
    );
    assert_eq!(app.get("/api/v1/orders/", Some(&user)).await.1["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_with_one_idempotency_key_make_one_order() {
    let app = App::start(None).await;
    let user = app.token("u1", false);
    let body = order_body(&[("prod-mug", 1)]);
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let (app, user, body) = (app.client(), user.clone(), body.clone());
            tokio::spawn(async move {
                app.post("/api/v1/orders/", Some(&user), &body, Some("retry-me"))
                    .await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for attempt in attempts {
        let (status, order) = attempt.await.unwrap();
        assert_eq!(status, 201, "{order}");
        ids.insert(order["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(app.get("/api/v1/orders/", Some(&user)).await.1["total"], 1);
    let (status, _) = app
        .post(
            "/api/v1/orders/",
            Some(&user),
            &order_body(&[("prod-mug", 2)]),
            Some("retry-me"),
        )
        .await;
    assert_eq!(status, 409, "a key reused for another request");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_conflicting_updates_keep_the_history_consistent() {
    let app = App::start(None).await;
    let (user, admin) = (app.token("u1", false), app.token("admin-1", true));
    let (_, order) = app.place(&user, &[("prod-mug", 1)]).await;
    let path = format!("/api/v1/orders/{}/status", order["id"].as_str().unwrap());
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let (app, admin, path) = (app.client(), admin.clone(), path.clone());
            let to = if i % 2 == 0 { "confirmed" } else { "cancelled" };
            tokio::spawn(async move {
                app.patch(&path, Some(&admin), Some(&json!({"status": to})))
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| [200, 409, 422].contains(s)),
        "{statuses:?}"
    );
    let wins = statuses.iter().filter(|s| **s == 200).count();
    assert!((1..=2).contains(&wins), "{statuses:?}");
    let (_, stored) = app
        .get(
            &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(stored["status_history"].as_array().unwrap().len(), 1 + wins);
    assert_eq!(stored["version"].as_u64(), Some(1 + wins as u64));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_product_service_is_a_503_and_writes_nothing() {
    let products = product_service().await;
    let app = App::start(Some(&products.url)).await;
    let user = app.token("u1", false);
    for mode in [ProductMode::Down, ProductMode::Garbage, ProductMode::Slow] {
        products.set(mode);
        let (status, error) = app.place(&user, &[("widget", 1)]).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (503, Some("product_service_unavailable")),
            "{mode:?}"
        );
        // Nothing internal leaks.
        assert!(
            !error.to_string().contains("status 5") && !error.to_string().contains("json"),
            "{error}"
        );
    }
    products.set(ProductMode::Normal);
    let (status, error) = app.place(&user, &[("widget", 1), ("ghost", 1)]).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (422, Some("items[1].product_id"))
    );
    assert_eq!(app.get("/api/v1/orders/", Some(&user)).await.1["total"], 0);
    assert_eq!(app.place(&user, &[("widget", 1)]).await.0, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_and_events_survive_a_restart() {
    let mut app = App::start(None).await;
    let user = app.token("u1", false);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, order) = app.place(&user, &[("prod-mug", 1)]).await;
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    app.patch(
        &format!("/api/v1/orders/{}/cancel", ids[0]),
        Some(&user),
        None,
    )
    .await;
    let before = app
        .get(&format!("/api/v1/orders/{}", ids[0]), Some(&user))
        .await
        .1;
    app.restart().await;
    assert_eq!(
        app.get(&format!("/api/v1/orders/{}", ids[0]), Some(&user))
            .await
            .1,
        before
    );
    assert_eq!(app.get("/api/v1/orders/", Some(&user)).await.1["total"], 3);
    let events = app
        .get(&format!("/api/v1/orders/{}/events", ids[0]), Some(&user))
        .await
        .1;
    assert_eq!(events.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_the_api() {
    let app = App::start(None).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for (path, method) in [
        ("/api/v1/orders/", "post"),
        ("/api/v1/orders/", "get"),
        ("/api/v1/orders/{order_id}", "get"),
        ("/api/v1/orders/{order_id}/cancel", "patch"),
        ("/api/v1/orders/{order_id}/events", "get"),
        ("/api/v1/orders/{order_id}/status", "patch"),
        ("/api/v1/orders/{order_id}/payment", "patch"),
        ("/api/v1/orders/{order_id}/reprice", "post"),
        ("/api/v1/orders/admin/stats", "get"),
        ("/api/v1/orders/admin/all", "get"),
        ("/api/v1/orders/status/options", "get"),
        ("/health", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
    }
    for schema in [
        "Order",
        "NewOrder",
        "Money",
        "ErrorBody",
        "Machine",
        "Stats",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let (status, html) = app.text("/docs").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<html")
            && html.contains("scalar")
            && html.contains("/api/v1/orders/admin/stats"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_profiles_come_from_the_user_service() {
    let (ada, mallory, stranger) = (token("u1", false), token("u2", false), token("u3", false));
    let users = user_service(vec![
        (ada.clone(), "u1", "ada@example.com"),
        (mallory.clone(), "someone-else", "m@example.com"),
    ])
    .await;
    let app = App::start_with(vec![("USER_SERVICE_URL", users)]);
    let (status, order) = app.place(&ada, &[("prod-mug", 1)]).await;
    assert_eq!(
        (status, order["customer"]["email"].as_str()),
        (201, Some("ada@example.com")),
        "{order}"
    );
    assert_eq!(order["customer"]["full_name"], "Ada Lovelace");
    // Unknown to the user service, or known as someone else: not authenticated.
    assert_eq!(app.place(&stranger, &[("prod-mug", 1)]).await.0, 401);
    assert_eq!(app.place(&mallory, &[("prod-mug", 1)]).await.0, 401);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = App::start_with(vec![("USER_SERVICE_URL", gone)]);
    let (status, error) = app.place(&ada, &[("prod-mug", 1)]).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (503, Some("user_service_unavailable"))
    );
    assert_eq!(app.get("/api/v1/orders/", Some(&ada)).await.1["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_verified_with_the_keys_the_user_service_publishes() {
    let users = user_service(vec![]).await;
    let app = App::start_with(vec![("JWKS_URL", format!("{users}/.well-known/jwks.json"))]);
    let ada = rs256_token("u1", false, "test-rs256");
    let (status, order) = app.place(&ada, &[("prod-mug", 1)]).await;
    assert_eq!(
        (status, order["user_id"].as_str()),
        (201, Some("u1")),
        "{order}"
    );
    let admin = rs256_token("root", true, "test-rs256");
    assert_eq!(
        app.get("/api/v1/orders/admin/stats", Some(&admin)).await.0,
        200
    );
    // The shared secret no longer signs tokens, and a key the issuer does not publish is no key.
    for refused in [token("u1", false), rs256_token("u1", false, "retired-key")] {
        assert_eq!(app.get("/api/v1/orders/", Some(&refused)).await.0, 401);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_b2b_order_goes_through_its_own_lifecycle() {
    let app = App::start(None).await;
    let (buyer, admin) = (token("buyer-1", false), token("ops", true));
    let from_b2b = |items: &[(&str, i64)]| {
        let mut body = order_body(items);
        body["sales_channel"] = json!("b2b");
        body
    };
    // 150 mugs: over the workflow's 1,000.00 approval threshold.
    let (status, order) = app
        .post(
            "/api/v1/orders/",
            Some(&buyer),
            &from_b2b(&[("prod-mug", 150)]),
            None,
        )
        .await;
    assert_eq!(
        (
            status,
            order["status"].as_str(),
            order["provenance"]["workflow"].as_str()
        ),
        (201, Some("awaiting_approval"), Some("b2b")),
        "{order}"
    );
    let id = order["id"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/v1/orders/{id}/{tail}");
    // The buyer can neither approve nor withdraw it while it waits.
    let (status, refusal) = app
        .patch(
            &path("status"),
            Some(&buyer),
            Some(&json!({"status": "confirmed"})),
        )
        .await;
    assert_eq!(status, 403, "{refusal}");
    let (status, refusal) = app.patch(&path("cancel"), Some(&buyer), None).await;
    assert_eq!(
        (status, refusal["error"]["code"].as_str()),
        (422, Some("not_allowed"))
    );
    app.deliver(&id, &admin).await;
    let (_, events) = app.get(&path("events"), Some(&buyer)).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "order.created",
            "order.approval_requested",
            "order.approved",
            "order.confirmed",
            "order.shipped",
            "order.delivered"
        ]
    );
    // A small B2B order needs no approval; the channel's options show the extra state.
    let (status, small) = app
        .post(
            "/api/v1/orders/",
            Some(&buyer),
            &from_b2b(&[("prod-mug", 2)]),
            None,
        )
        .await;
    assert_eq!((status, small["status"].as_str()), (201, Some("pending")));
    let (_, options) = app
        .get("/api/v1/orders/status/options?sales_channel=b2b", None)
        .await;
    assert_eq!(options["workflow"], "b2b");
    assert!(
        options["statuses"]
            .as_array()
            .unwrap()
            .contains(&json!("awaiting_approval"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_order_is_priced_by_the_sale_rules() {
    let app = App::start(None).await;
    let buyer = token("u1", false);
    let mut body = order_body(&[("prod-widget", 20)]);
    body["sales_channel"] = json!("sale");
    body["shipping_method"] = json!("express");
    let (status, order) = app.post("/api/v1/orders/", Some(&buyer), &body, None).await;
    assert_eq!(status, 201, "{order}");
    // 20 × 12.50 = 250.00: the 20 % tier (50.00 off), CA tax on 200.00, express free.
    let minor = |field: &str| order["pricing"][field]["minor"].as_i64().unwrap();
    assert_eq!(
        [
            minor("subtotal"),
            minor("discount"),
            minor("tax"),
            minor("shipping"),
            minor("total")
        ],
        [25_000, 5_000, 1_450, 0, 21_450]
    );
    let pricing = order["provenance"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["call"] == "price")
        .unwrap();
    assert_eq!(
        (
            order["provenance"]["workflow"].as_str(),
            pricing["plugin"].as_str()
        ),
        (Some("sale"), Some("seasonal-pricing"))
    );
}

/// The `js` channel's workflow prices with the JavaScript port of the standard rule, shipped
/// built: out of the box, every order it prices is quoted exactly as the Rust rule quotes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_js_order_is_priced_by_the_javascript_rule_as_the_rust_one_prices_it() {
    let app = App::start(None).await;
    let buyer = token("u1", false);
    for (items, code, method) in [
        (vec![("prod-widget", 3), ("prod-mug", 2)], None, "standard"),
        (vec![("prod-widget", 1)], None, "express"),
        (
            vec![("prod-widget", 20), ("prod-mug", 7)],
            Some("WELCOME10"),
            "overnight",
        ),
    ] {
        let mut body = order_body(&items);
        body["shipping_method"] = json!(method);
        body["discount_code"] = json!(code);
        let (status, rust) = app.post("/api/v1/orders/", Some(&buyer), &body, None).await;
        assert_eq!(status, 201, "{rust}");
        body["sales_channel"] = json!("js");
        let (status, js) = app.post("/api/v1/orders/", Some(&buyer), &body, None).await;
        assert_eq!(status, 201, "{js}");
        assert_eq!(js["pricing"], rust["pricing"], "{body}");
        assert_eq!(js["total_amount"], rust["total_amount"], "{body}");
        let price = |order: &Value| {
            let decisions = order["provenance"]["decisions"].as_array().unwrap();
            let price = decisions.iter().find(|d| d["call"] == "price").unwrap();
            (
                order["provenance"]["workflow"].as_str().unwrap().to_owned(),
                price["plugin"].as_str().unwrap().to_owned(),
            )
        };
        assert_eq!(price(&rust), ("standard".into(), "standard-pricing".into()));
        assert_eq!(
            price(&js),
            ("standard-js".into(), "standard-pricing-js".into())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn repricing_is_a_dry_run_that_reports_the_difference() {
    let app = App::start(None).await;
    let (buyer, admin) = (token("u1", false), token("ops", true));
    let (status, order) = app.place(&buyer, &[("prod-widget", 20)]).await;
    assert_eq!(status, 201, "{order}");
    let path = format!("/api/v1/orders/{}/reprice", order["id"].as_str().unwrap());

    // Its own workflow, unchanged since: no difference, the same plugin version.
    let (status, same) = app.post(&path, Some(&admin), &json!({}), None).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["difference"]["total"]["minor"], 0);
    assert_eq!(same["current"]["digest"], same["repriced"]["digest"]);

    // The sale's rules on the same order: 250.00 of widgets, 20 % off, so less tax; standard
    // shipping was already free over 50.00.
    let (status, sale) = app
        .post(&path, Some(&admin), &json!({"workflow": "sale"}), None)
        .await;
    assert_eq!(status, 200, "{sale}");
    assert_eq!(
        (
            sale["current"]["plugin"].as_str(),
            sale["repriced"]["plugin"].as_str()
        ),
        (Some("standard-pricing"), Some("seasonal-pricing"))
    );
    let difference = |field: &str| sale["difference"][field]["minor"].as_i64().unwrap();
    assert_eq!(
        [
            difference("discount"),
            difference("tax"),
            difference("total")
        ],
        [5_000, -363, -5_363]
    );
    // Nothing changed.
    assert_eq!(
        app.get(
            &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
            Some(&buyer)
        )
        .await,
        (200, order)
    );
    let (status, unknown) = app
        .post(&path, Some(&admin), &json!({"workflow": "nope"}), None)
        .await;
    assert_eq!(
        (status, unknown["error"]["field"].as_str()),
        (422, Some("workflow"))
    );
    assert_eq!(app.post(&path, Some(&buyer), &json!({}), None).await.0, 403);
}
