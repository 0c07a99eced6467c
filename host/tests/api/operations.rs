//! Plugin operations through the API, on the real binary: uploads checked before they are
//! kept, activation, rollback, the change record, and orders priced during a change.

use crate::harness::{App, Backend, priced_by, token};
use orderflow::domain::Digest;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PRICING: &str = "/api/v1/plugins/standard-pricing";

/// The bytes of a component built by `build.rs`.
fn component(name: &str) -> Vec<u8> {
    std::fs::read(crate::common::built(name)).unwrap()
}

/// `module` with a custom section of `extra` bytes appended: still the same plugin, as
/// heavy as a component carrying an interpreter (a Python one is ~18 MB).
fn padded(module: &[u8], extra: usize) -> Vec<u8> {
    let name = b"padding";
    let size = 1 + name.len() + extra;
    let mut bytes = module.to_vec();
    bytes.push(0); // a custom section
    let mut rest = size;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        bytes.push(if rest == 0 { low } else { low | 0x80 });
        if rest == 0 {
            break;
        }
    }
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.resize(bytes.len() + extra, 0);
    bytes
}

fn digest(bytes: &[u8]) -> String {
    Digest::of(bytes).full()
}

async fn upload(app: &App, admin: &str, bytes: &[u8], query: &str) -> (u16, Value) {
    app.bytes(
        "POST",
        &format!("{PRICING}/versions{query}"),
        Some(admin),
        "application/wasm",
        bytes,
    )
    .await
}

async fn activate(app: &App, admin: &str, digest: &str) -> (u16, Value) {
    app.post(
        &format!("{PRICING}/activate"),
        Some(admin),
        &json!({ "digest": digest }),
        None,
    )
    .await
}

async fn rollback(app: &App, admin: &str) -> (u16, Value) {
    app.post(
        &format!("{PRICING}/rollback"),
        Some(admin),
        &json!({}),
        None,
    )
    .await
}

/// The listing of standard-pricing once `done` holds of it (it is polled: a dropped file
/// serves after the watcher reloads).
async fn listed_once(app: &App, admin: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = active(app, admin).await;
        if done(&listed) {
            return listed;
        }
        assert!(Instant::now() < deadline, "{what}: {listed}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The active version of standard-pricing, as the listing shows it.
async fn active(app: &App, admin: &str) -> Value {
    let (status, plugins) = app.get("/api/v1/plugins", Some(admin)).await;
    assert_eq!(status, 200, "{plugins}");
    plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "standard-pricing")
        .cloned()
        .unwrap()
}

fn amount(order: &Value, field: &str) -> i64 {
    order["pricing"][field]["minor"].as_i64().unwrap()
}

/// The flat test plugin prices the subtotal alone, under one rule named `flat`; the
/// standard one adds California tax. A quote is one version's if it is all of one kind.
fn assert_priced_wholly_by(order: &Value, standard: &str, flat: &str) {
    let rules: Vec<&str> = order["pricing"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    let subtotal = amount(order, "subtotal");
    let by = priced_by(order);
    if by == flat {
        assert_eq!(rules, ["flat"], "{order}");
        assert_eq!(
            (amount(order, "tax"), amount(order, "total")),
            (0, subtotal),
            "{order}"
        );
    } else {
        assert_eq!(by, standard, "{order}");
        assert!(!rules.contains(&"flat"), "{order}");
        assert!(amount(order, "tax") > 0, "{order}");
        assert_eq!(
            amount(order, "total"),
            subtotal + amount(order, "tax") + amount(order, "shipping") - amount(order, "discount"),
            "{order}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_operations_need_the_admin_role() {
    let app = App::start(None).await;
    let (buyer, admin) = (token("u1", false), token("ops", true));
    let standard = digest(&component("standard-pricing"));
    let routes = [
        ("GET", "/api/v1/plugins".to_owned()),
        ("GET", PRICING.to_owned()),
        ("POST", format!("{PRICING}/versions")),
        ("POST", format!("{PRICING}/activate")),
        ("POST", format!("{PRICING}/rollback")),
        ("GET", format!("{PRICING}/history")),
        ("GET", "/api/v1/workflows".to_owned()),
    ];
    let body = json!({ "digest": standard }).to_string();
    for (method, path) in &routes {
        for (who, expected) in [(None, 401), (Some(buyer.as_str()), 403)] {
            let (status, answer) = app
                .raw(method, path, who, Some(("application/json", &body)))
                .await;
            assert_eq!(status, expected, "{method} {path}: {answer}");
        }
    }
    // Nothing was changed by the refused calls.
    assert_eq!(active(&app, &admin).await["digest"], standard.as_str());

    let (status, workflows) = app.get("/api/v1/workflows", Some(&admin)).await;
    assert_eq!(status, 200, "{workflows}");
    let names: Vec<&str> = workflows
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b2b", "sale", "standard", "standard-js"]);
    let standard_workflow = &workflows[2];
    assert_eq!(
        standard_workflow["plugins"][1]["plugin"],
        "standard-pricing"
    );
    assert_eq!(standard_workflow["plugins"][1]["digest"], standard.as_str());
}

/// A component over the 16 MB a MongoDB document holds is uploaded, kept (GridFS on the
/// shared registry), activated and serves; its calls get an interpreter's default limits.
#[tokio::test(flavor = "multi_thread")]
async fn a_component_of_an_interpreters_size_is_kept_and_serves() {
    let app = App::start(None).await;
    let (buyer, admin) = (token("u1", false), token("ops", true));
    let heavy = padded(&component("standard-pricing"), 20 * 1024 * 1024);
    let (status, answer) = upload(&app, &admin, &heavy, "?activate=true").await;
    assert_eq!(status, 201, "{answer}");
    let listed = listed_once(&app, &admin, "the heavy version active", |p| {
        p["digest"] == digest(&heavy)
    })
    .await;
    assert_eq!(listed["size"], heavy.len(), "{listed}");
    let (status, order) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(priced_by(&order), digest(&heavy));
    assert!(amount(&order, "tax") > 0, "{order}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_good_upload_serves_and_rollback_restores_the_previous_version() {
    let mut app = App::start(None).await;
    let (buyer, admin) = (token("u1", false), token("ops", true));
    let standard = digest(&component("standard-pricing"));
    let first = active(&app, &admin).await;
    assert_eq!(
        (first["digest"].as_str(), first["kind"].as_str()),
        (Some(standard.as_str()), Some("pricing"))
    );
    assert_eq!(first["last_change"]["action"], "file_dropped");
    assert!(
        first["used_by"]
            .as_array()
            .unwrap()
            .contains(&json!("standard"))
    );
    let (status, before) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(status, 201, "{before}");
    assert_eq!(priced_by(&before), standard);

    // Garbage, a truncated module (the first half of the standard one: it made the
    // component wrapper panic), a component of another kind, and one that traps on every
    // quote: each refused with its reason, none kept, none serving.
    let standard_bytes = component("standard-pricing");
    let rejected = [
        (b"not a component".to_vec(), "not a valid component"),
        (
            standard_bytes[..standard_bytes.len() / 2].to_vec(),
            "not a valid component",
        ),
        (component("hostile-lifecycle"), "makes lifecycle decisions"),
        (component("hostile-pricing-panic"), "trial decision failed"),
    ];
    for (bytes, reason) in &rejected {
        let (status, answer) = upload(&app, &admin, bytes, "?activate=true").await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["code"], "plugin_rejected");
        assert_eq!(answer["error"]["field"], "body");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{message}");
    }
    let (status, wrong_type) = app
        .raw(
            "POST",
            &format!("{PRICING}/versions"),
            Some(&admin),
            Some(("text/plain", "hello")),
        )
        .await;
    assert_eq!(
        (status, &wrong_type["error"]["code"]),
        (415, &json!("unsupported_media_type"))
    );
    let (status, detail) = app.get(PRICING, Some(&admin)).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["versions"].as_array().unwrap().len(), 1, "{detail}");
    assert_eq!(active(&app, &admin).await["digest"], standard.as_str());

    // A good version is kept, not yet serving.
    let flat_bytes = component("hostile-pricing");
    let flat = digest(&flat_bytes);
    let (status, uploaded) = upload(&app, &admin, &flat_bytes, "").await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(
        (
            uploaded["digest"].as_str(),
            uploaded["kind"].as_str(),
            uploaded["active"].as_bool()
        ),
        (Some(flat.as_str()), Some("pricing"), Some(false))
    );
    let (_, still) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(priced_by(&still), standard);

    // Dry run of the new version on a real order: the difference, the order untouched.
    let order_path = format!("/api/v1/orders/{}", before["id"].as_str().unwrap());
    let reprice = |body: Value| {
        let (app, admin, path) = (&app, &admin, format!("{order_path}/reprice"));
        async move { app.post(&path, Some(admin), &body, None).await }
    };
    let (status, dry) = reprice(json!({ "digest": flat })).await;
    assert_eq!(status, 200, "{dry}");
    // `version`, the field's former name, is still read, and answered alike.
    assert_eq!(
        reprice(json!({ "version": flat })).await,
        (200, dry.clone())
    );
    assert_eq!(
        (
            dry["current"]["digest"].as_str(),
            dry["repriced"]["digest"].as_str()
        ),
        (Some(standard.as_str()), Some(flat.as_str()))
    );
    assert_eq!(
        dry["difference"]["total"]["minor"].as_i64().unwrap(),
        amount(&before, "subtotal") - amount(&before, "total")
    );
    assert_eq!(
        app.get(&order_path, Some(&buyer)).await,
        (200, before.clone())
    );
    // A refusal names the field the client wrote.
    let unknown = digest(b"never uploaded");
    for field in ["digest", "version"] {
        for (value, expected) in [(unknown.as_str(), 422), ("sha256:nope", 400)] {
            let (status, answer) = reprice(json!({ field: value })).await;
            assert_eq!(
                (status, &answer["error"]["field"]),
                (expected, &json!(field)),
                "{field}: {value}: {answer}"
            );
        }
    }
    let (status, answer) = reprice(json!({ "digest": flat, "version": flat })).await;
    assert_eq!(
        (status, &answer["error"]["field"]),
        (400, &json!("version")),
        "{answer}"
    );
    let (_, doc) = app.get("/openapi.json", None).await;
    let body = &doc["components"]["schemas"]["RepriceBody"]["properties"];
    assert!(body["digest"].is_object(), "{body}");
    assert_eq!(body["version"]["deprecated"], true, "{body}");

    // Activated: the next order is priced by it.
    let (status, activation) = activate(&app, &admin, &flat).await;
    assert_eq!(status, 200, "{activation}");
    assert_eq!(
        activation,
        json!({"plugin": "standard-pricing", "from": standard, "to": flat, "changed": true})
    );
    let (_, after) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(priced_by(&after), flat);
    assert_priced_wholly_by(&after, &standard, &flat);
    let (status, unknown_activation) = activate(&app, &admin, &unknown).await;
    assert_eq!(
        (status, &unknown_activation["error"]["code"]),
        (422, &json!("unknown_version"))
    );

    // One call rolls back; the next order is priced as before.
    let (status, rolled_back) = rollback(&app, &admin).await;
    assert_eq!(status, 200, "{rolled_back}");
    assert_eq!(
        (&rolled_back["from"], &rolled_back["to"]),
        (&json!(flat), &json!(standard))
    );
    let (_, again) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(priced_by(&again), standard);
    assert_eq!(again["pricing"], before["pricing"]);
    let (status, _) = rollback(&app, &admin).await;
    assert_eq!(status, 409, "nothing earlier than the first version");

    // Every change, with who and when.
    let (status, history) = app.get(&format!("{PRICING}/history"), Some(&admin)).await;
    assert_eq!(status, 200, "{history}");
    let steps: Vec<(&str, &str, Option<&str>, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap(),
                c["by"].as_str().unwrap(),
                c["from"].as_str(),
                c["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("file_dropped", "file", None, standard.as_str()),
            ("uploaded", "ops", Some(standard.as_str()), flat.as_str()),
            ("activated", "ops", Some(standard.as_str()), flat.as_str()),
            ("rolled_back", "ops", Some(flat.as_str()), standard.as_str()),
        ]
    );

    // What was activated last is what serves after a restart.
    assert_eq!(activate(&app, &admin, &flat).await.0, 200);
    app.restart().await;
    let serving = active(&app, &admin).await;
    assert_eq!(serving["digest"], flat.as_str());
    assert_eq!(serving["last_change"]["action"], "activated");
    let (_, after_restart) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(priced_by(&after_restart), flat);
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_placed_while_versions_change_are_each_priced_by_one_version() {
    let app = App::start(None).await;
    let admin = token("ops", true);
    let standard = digest(&component("standard-pricing"));
    let flat_bytes = component("hostile-pricing");
    let flat = digest(&flat_bytes);
    assert_eq!(upload(&app, &admin, &flat_bytes, "").await.0, 201);

    let mut orders = Vec::new();
    for round in 0..6 {
        let next = if round % 2 == 0 { &flat } else { &standard };
        // Sixteen orders race the change...
        let placing: Vec<_> = (0..16)
            .map(|i| {
                let client = app.client();
                tokio::spawn(async move {
                    client
                        .place(&token(&format!("buyer-{i}"), false), &[("prod-widget", 2)])
                        .await
                })
            })
            .collect();
        let (status, activation) = activate(&app, &admin, next).await;
        assert_eq!(status, 200, "{activation}");
        for placed in placing {
            let (status, order) = placed.await.unwrap();
            assert_eq!(status, 201, "no order fails during a change: {order}");
            orders.push(order);
        }
        // ...and once it is answered, every new order is priced by the new version.
        let (_, order) = app
            .place(&token("late", false), &[("prod-widget", 2)])
            .await;
        assert_eq!(priced_by(&order), next.as_str(), "round {round}");
        orders.push(order);
    }
    for order in &orders {
        assert_priced_wholly_by(order, &standard, &flat);
    }
    for version in [&standard, &flat] {
        assert!(orders.iter().any(|o| priced_by(o) == version.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_file_and_the_api_change_the_same_registry() {
    let app = App::start(None).await;
    let admin = token("ops", true);
    let standard = digest(&component("standard-pricing"));
    let flat_bytes = component("hostile-pricing");
    let flat = digest(&flat_bytes);

    // Ops drop a file by hand (write, then rename into place).
    let partial = app.plugin_dir().join("standard-pricing.wasm.partial");
    std::fs::write(&partial, &flat_bytes).unwrap();
    std::fs::rename(&partial, app.plugin_dir().join("standard-pricing.wasm")).unwrap();
    let dropped = listed_once(&app, &admin, "the dropped file never served", |p| {
        p["digest"] == flat.as_str()
    })
    .await;
    assert_eq!(
        (
            &dropped["last_change"]["action"],
            &dropped["last_change"]["by"]
        ),
        (&json!("file_dropped"), &json!("file"))
    );
    assert_eq!(dropped["last_change"]["from"], standard.as_str());

    // The API rolls it back. One process serves from the directory, so the file there
    // follows; replicas serve from the registry they share, which the dropped file fed.
    let (status, rolled_back) = rollback(&app, &admin).await;
    assert_eq!(status, 200, "{rolled_back}");
    assert_eq!(rolled_back["to"], standard.as_str());
    let on_disk = std::fs::read(app.plugin_dir().join("standard-pricing.wasm")).unwrap();
    let expected_on_disk = match crate::BACKEND {
        Backend::Embedded => &standard,
        Backend::Mongo => &flat,
    };
    assert_eq!(&digest(&on_disk), expected_on_disk);

    // A broken file is reported beside the version that keeps serving.
    std::fs::write(app.plugin_dir().join("standard-pricing.wasm"), b"broken").unwrap();
    let broken = listed_once(&app, &admin, "the broken file was never reported", |p| {
        p["last_error"].is_object()
    })
    .await;
    assert_eq!(broken["digest"], standard.as_str());
    let (_, order) = app.place(&token("u1", false), &[("prod-widget", 1)]).await;
    assert_eq!(priced_by(&order), standard);
}
