//! Changing rules safely, on the real binary: a candidate version replayed over past orders,
//! shadowed on live ones, rolled out to a share of customers.
//!
//! The service gets a workflow of its own, `flat` (channel `flat`), whose pricing plugin
//! `flat-pricing` is `hostile-pricing`'s flat rule (the subtotal alone). The candidate is
//! `pricing-candidate`: the same, except that the code `SAVE10` takes 10 % off and the code
//! `TRAP` traps. So exactly the orders with `SAVE10` change, by a tenth of their subtotal,
//! and exactly the orders with `TRAP` fault. The candidate logs two lines on each `SAVE10`
//! order, of which the workflow's `log_lines` keeps one, and one line before it traps.

use crate::harness::{App, Client, priced_by, token};
use orderflow::domain::Digest;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PLUGIN: &str = "/api/v1/plugins/flat-pricing";

const FLAT_WORKFLOW: &str = r#"
description = "Flat prices: the subtotal alone"
channels = ["flat"]

[limits]
log_lines = 1

[validation]
plugin = "standard-validation"

[validation.params]
max_items = 100
max_quantity = 999
max_order_value = 1_000_000

[pricing]
plugin = "flat-pricing"

[lifecycle]
plugin = "standard-lifecycle"
"#;

/// The service with the `flat` workflow beside the repository's; the workflow directory
/// lives as long as the returned guard.
pub fn start() -> (App, tempfile::TempDir) {
    let workflows = tempfile::tempdir().unwrap();
    let repo = crate::common::repo_root().join("workflows");
    for entry in std::fs::read_dir(repo).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&path, workflows.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(workflows.path().join("flat.toml"), FLAT_WORKFLOW).unwrap();
    let settings = vec![("WORKFLOW_DIR", workflows.path().display().to_string())];
    let app = App::start_prepared(crate::BACKEND, settings, |plugins| {
        let flat = std::fs::read(test_plugin("hostile-pricing")).unwrap();
        std::fs::write(plugins.join("flat-pricing.wasm"), flat).unwrap();
    });
    (app, workflows)
}

fn test_plugin(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("ORDERFLOW_TEST_PLUGINS")).join(format!("{name}.wasm"))
}

/// The discount code of the `i`th test order: every fifth `SAVE10`, every twentieth from
/// the eighth `TRAP`, the rest none.
fn code_of(i: usize) -> Option<&'static str> {
    match i {
        i if i % 5 == 0 => Some("SAVE10"),
        i if i % 20 == 7 => Some("TRAP"),
        _ => None,
    }
}

/// Places the `i`th test order of `user` on the `flat` channel, with varied items; the
/// placed order's JSON.
async fn place_one(app: &Client, i: usize, user: &str, code: Option<&str>) -> Value {
    let products = ["prod-widget", "prod-gadget", "prod-mug"];
    let body = json!({
        "items": [{"product_id": products[i % 3], "quantity": 1 + i % 7},
                  {"product_id": products[(i + 1) % 3], "quantity": 1 + i % 3}],
        "shipping_address": {"full_name": "Ada Lovelace", "address_line_1": "1 Market St",
                             "city": "San Francisco", "state": "CA", "postal_code": "94105",
                             "country": "US"},
        "shipping_method": "standard",
        "payment_method": "card",
        "sales_channel": "flat",
        "discount_code": code,
    });
    let (status, order) = app
        .post("/api/v1/orders", Some(&token(user, false)), &body, None)
        .await;
    assert_eq!(status, 201, "{order}");
    order
}

/// Places `count` orders on the `flat` channel by four customers, with [`code_of`] their
/// codes; each placed order's JSON, by index.
pub async fn place_flat(app: &App, count: usize) -> Vec<Value> {
    let mut placed = Vec::with_capacity(count);
    for i in 0..count {
        placed.push(place_one(app, i, &format!("customer-{}", i % 4), code_of(i)).await);
    }
    placed
}

/// Uploads the candidate as a version of `flat-pricing`; its digest.
pub async fn upload_candidate(app: &App, admin: &str) -> String {
    let bytes = std::fs::read(test_plugin("pricing-candidate")).unwrap();
    let (status, body) = app
        .bytes(
            "POST",
            &format!("{PLUGIN}/versions"),
            Some(admin),
            "application/wasm",
            &bytes,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["digest"], Digest::of(&bytes).full());
    Digest::of(&bytes).full()
}

/// Starts a replay of `digest` and waits for it to end; the ended replay.
async fn replay(app: &App, admin: &str, selection: Value) -> Value {
    let (status, started) = app
        .post(&format!("{PLUGIN}/replays"), Some(admin), &selection, None)
        .await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["state"], "running", "{started}");
    let id = started["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, replay) = app
            .get(&format!("{PLUGIN}/replays/{id}"), Some(admin))
            .await;
        assert_eq!(status, 200, "{replay}");
        if replay["state"] != "running" {
            return replay;
        }
        assert!(
            Instant::now() < deadline,
            "the replay did not end: {replay}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn minor(money: &Value) -> i64 {
    money["minor"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_reports_exactly_the_orders_a_candidate_decides_otherwise() {
    let (app, _workflows) = start();
    let admin = token("ops", true);
    let placed = place_flat(&app, 200).await;
    // Orders of another workflow are not the plugin's: they are not replayed.
    let (status, _) = app
        .place(&token("customer-0", false), &[("prod-lamp", 1)])
        .await;
    assert_eq!(status, 201);
    let candidate = upload_candidate(&app, &admin).await;

    let report = replay(
        &app,
        &admin,
        json!({"digest": candidate, "channel": "flat"}),
    )
    .await;
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(report["progress"]["done"], 200, "{report}");
    let r = &report["report"];
    let saved: Vec<&Value> = (0..200)
        .filter(|i| code_of(*i) == Some("SAVE10"))
        .map(|i| &placed[i])
        .collect();
    let trapped: Vec<&Value> = (0..200)
        .filter(|i| code_of(*i) == Some("TRAP"))
        .map(|i| &placed[i])
        .collect();
    assert_eq!((saved.len(), trapped.len()), (40, 10));
    assert_eq!(r["compared"], 200, "{r}");
    assert_eq!(r["changed"], 40, "{r}");
    assert_eq!(r["faults"], 10, "{r}");
    assert_eq!(r["identical"], 150, "{r}");
    assert_eq!(
        (r["refused_now"].as_u64(), r["accepted_now"].as_u64()),
        (Some(0), Some(0))
    );
    // Each SAVE10 order moves by a tenth of its subtotal, rounded down.
    let moves: Vec<i64> = saved
        .iter()
        .map(|o| -(minor(&o["pricing"]["subtotal"]) / 10))
        .collect();
    let usd = &r["totals"][0];
    assert_eq!(usd["currency"], "USD");
    assert_eq!(
        usd["orders"], 190,
        "both priced every order but the trapped: {usd}"
    );
    assert_eq!(usd["sum"], moves.iter().sum::<i64>(), "{usd}");
    assert_eq!(usd["min"], *moves.iter().min().unwrap(), "{usd}");
    assert_eq!(usd["max"], 0, "{usd}");
    let changed_ids: Vec<&str> = (r["orders"].as_array().unwrap().iter())
        .filter(|o| o["verdict"] == "changed")
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = saved.iter().map(|o| o["id"].as_str().unwrap()).collect();
    expected.sort_unstable();
    let mut found = changed_ids.clone();
    found.sort_unstable();
    assert_eq!(found, expected);
    for changed in (r["orders"].as_array().unwrap().iter()).filter(|o| o["verdict"] == "changed") {
        let logs = &changed["logs"];
        assert_eq!(logs["lines"].as_array().unwrap().len(), 1, "{changed}");
        assert_eq!(logs["lines"][0]["level"], "info");
        let said = logs["lines"][0]["message"].as_str().unwrap();
        assert!(said.starts_with("SAVE10 takes "), "{said}");
        assert_eq!(
            logs["cut"], 1,
            "the second line is past log_lines: {changed}"
        );
    }
    let faulted: Vec<&Value> = (r["orders"].as_array().unwrap().iter())
        .filter(|o| o["verdict"] == "fault")
        .collect();
    let mut faulted_ids: Vec<&str> = faulted
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    faulted_ids.sort_unstable();
    let mut trapped_ids: Vec<&str> = trapped.iter().map(|o| o["id"].as_str().unwrap()).collect();
    trapped_ids.sort_unstable();
    assert_eq!(faulted_ids, trapped_ids);
    assert!(
        faulted[0]["fault"].as_str().unwrap().contains("trapped"),
        "{}",
        faulted[0]
    );
    // The movers are the largest moves, largest first.
    let mut largest = moves.clone();
    largest.sort_unstable();
    let movers: Vec<i64> = (r["movers"].as_array().unwrap().iter())
        .map(|m| minor(&m["difference"]))
        .collect();
    assert_eq!(movers, largest[..10].to_vec());
    // Fuel: both versions measured, the headroom named.
    assert!(r["fuel"]["candidate"]["p50"].as_u64().unwrap() > 0, "{r}");
    assert!(r["fuel"]["active"]["p99"].as_u64().unwrap() > 0, "{r}");
    let used = r["fuel"]["most_budget_used_percent"].as_f64().unwrap();
    assert!(
        used > 0.0 && used < 1.0,
        "a flat price uses little of 10 M fuel: {used}"
    );

    // The active version reproduces every stored answer.
    let active = priced_by(&placed[0]).to_owned();
    let same = replay(
        &app,
        &admin,
        json!({"digest": active, "workflow": "flat", "limit": 150}),
    )
    .await;
    let r = &same["report"];
    assert_eq!(same["progress"]["done"], 150, "{same}");
    assert_eq!(
        (r["compared"].as_u64(), r["identical"].as_u64()),
        (Some(150), Some(150)),
        "{r}"
    );
    assert_eq!(
        (r["changed"].as_u64(), r["faults"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );

    // The candidate never reached a customer: a TRAP order placed now is priced as ever.
    let (status, listed) = app.get(&format!("{PLUGIN}/replays"), Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], same["id"], "newest first");
    let late = place_flat(&app, 8).await;
    assert_eq!(priced_by(&late[7]), active);
    // Its calls, the replays' included, are counted by the hour.
    let (_, plugin) = app.get(PLUGIN, Some(&admin)).await;
    let hours = plugin["hourly"].as_array().unwrap();
    let sum = |outcome: &str| {
        hours
            .iter()
            .map(|h| h[outcome].as_u64().unwrap())
            .sum::<u64>()
    };
    assert!(sum("decided") >= 208 + 350, "{plugin}");
    assert_eq!(sum("faults"), 10, "the candidate's traps: {plugin}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_requests_are_checked_field_by_field() {
    let (app, _workflows) = start();
    let admin = token("ops", true);
    let active = {
        let (_, plugin) = app.get(PLUGIN, Some(&admin)).await;
        plugin["digest"].as_str().unwrap().to_owned()
    };
    let path = format!("{PLUGIN}/replays");
    let cases = [
        (json!({"digest": "sha256:00"}), 400, "digest"),
        (json!({"digest": active, "limit": 0}), 400, "limit"),
        (
            json!({"digest": active, "from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
            400,
            "from",
        ),
        (
            json!({"digest": format!("sha256:{}", "0".repeat(64))}),
            422,
            "digest",
        ),
        (
            json!({"digest": active, "channel": "nowhere"}),
            422,
            "channel",
        ),
        (
            json!({"digest": active, "workflow": "b2b"}),
            422,
            "workflow",
        ),
        (json!({"digest": active, "surprise": 1}), 400, "surprise"),
    ];
    answer_naming_the_field(&app, &admin, &path, cases).await;
    let (status, _) = app
        .post(
            "/api/v1/plugins/nothing-here/replays",
            Some(&admin),
            &json!({"digest": active}),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(
            &path,
            Some(&token("customer-0", false)),
            &json!({"digest": active}),
            None,
        )
        .await;
    assert_eq!(status, 403);
    for id in ["not-a-uuid", "0192c0de-0000-7000-8000-000000000000"] {
        let (status, _) = app.get(&format!("{path}/{id}"), Some(&admin)).await;
        assert_eq!(status, 404, "{id}");
        let (status, _) = app
            .post(
                &format!("{path}/{id}/cancel"),
                Some(&admin),
                &json!(null),
                None,
            )
            .await;
        assert_eq!(status, 404, "{id}");
    }
    // An ended replay is answered as it is when cancelled.
    let ended = replay(&app, &admin, json!({"digest": active})).await;
    let (status, cancelled) = app
        .post(
            &format!("{path}/{}/cancel", ended["id"].as_str().unwrap()),
            Some(&admin),
            &json!(null),
            None,
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(cancelled["state"], "done");
}

/// The service of [`start`], with the candidate uploaded.
struct Trials {
    app: App,
    _workflows: tempfile::TempDir,
    admin: String,
    /// The active version of `flat-pricing`.
    active: String,
    candidate: String,
}

async fn staging() -> Trials {
    let (app, _workflows) = start();
    let admin = token("ops", true);
    let (_, plugin) = app.get(PLUGIN, Some(&admin)).await;
    let active = plugin["digest"].as_str().unwrap().to_owned();
    let candidate = upload_candidate(&app, &admin).await;
    Trials {
        app,
        _workflows,
        admin,
        active,
        candidate,
    }
}

/// Each body posted to `path` is answered with its status and an error naming its field.
async fn answer_naming_the_field<const N: usize>(
    app: &App,
    admin: &str,
    path: &str,
    cases: [(Value, u16, &str); N],
) {
    for (body, status, field) in cases {
        let (got, error) = app.post(path, Some(admin), &body, None).await;
        assert_eq!(got, status, "{body} → {error}");
        assert_eq!(error["error"]["field"], field, "{body} → {error}");
    }
}

/// Stages `candidate` as a shadow of every order; the plugin as the answer shows it.
async fn shadow_every_order(app: &App, admin: &str, candidate: &str) -> Value {
    let (status, staged) = app
        .post(
            &format!("{PLUGIN}/shadow"),
            Some(admin),
            &json!({"digest": candidate, "percent": 100}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{staged}");
    staged
}

/// Polls `path` until `done` holds of its answer (10 s at most).
async fn until(app: &App, admin: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = app.get(path, Some(admin)).await;
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} did not settle: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The actions of the plugin's recorded changes, with their percent, oldest first.
async fn actions(app: &App, admin: &str) -> Vec<(String, Option<u64>)> {
    let (status, history) = app.get(&format!("{PLUGIN}/history"), Some(admin)).await;
    assert_eq!(status, 200, "{history}");
    (history.as_array().unwrap().iter())
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["percent"].as_u64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_of_every_order_records_each_difference_and_changes_no_order() {
    let Trials {
        app,
        _workflows,
        admin,
        active,
        candidate,
    } = staging().await;
    let staged = shadow_every_order(&app, &admin, &candidate).await;
    assert_eq!(staged["shadow"]["digest"], candidate.as_str());
    let (_, plugin) = app.get(PLUGIN, Some(&admin)).await;
    assert_eq!(plugin["shadow"]["percent"], 100, "{plugin}");
    assert_eq!(
        plugin["split"],
        json!([{"digest": active, "percent": 100}]),
        "{plugin}"
    );

    let placed = place_flat(&app, 40).await;
    // Every order, the trapping ones too, was priced by the active version alone.
    for (i, order) in placed.iter().enumerate() {
        assert_eq!(priced_by(order), active, "order {i}");
        assert_eq!(minor(&order["pricing"]["discount"]), 0, "order {i}");
    }
    let shadow = until(&app, &admin, &format!("{PLUGIN}/shadow"), |s| {
        s["observed"]["report"]["compared"] == 40
    })
    .await;
    let r = &shadow["observed"]["report"];
    assert_eq!(shadow["observed"]["digest"], candidate.as_str());
    assert_eq!(shadow["observed"]["dropped"], 0);
    assert_eq!(
        (
            r["changed"].as_u64(),
            r["faults"].as_u64(),
            r["identical"].as_u64()
        ),
        (Some(8), Some(2), Some(30)),
        "{r}"
    );
    let mut changed: Vec<&str> = (r["orders"].as_array().unwrap().iter())
        .filter(|o| o["verdict"] == "changed")
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    changed.sort_unstable();
    let mut saved: Vec<&str> = (0..40)
        .filter(|i| code_of(*i) == Some("SAVE10"))
        .map(|i| placed[i]["id"].as_str().unwrap())
        .collect();
    saved.sort_unstable();
    assert_eq!(changed, saved);
    // The orders read back as they were placed.
    for order in &placed {
        let (status, stored) = app
            .get(
                &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
                Some(&admin),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(stored["pricing"], order["pricing"]);
    }

    let (status, ended) = app
        .raw("DELETE", &format!("{PLUGIN}/shadow"), Some(&admin), None)
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["shadow"], Value::Null);
    // Ended, its findings can still be read.
    let (status, found) = app.get(&format!("{PLUGIN}/shadow"), Some(&admin)).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["shadow"], Value::Null);
    assert_eq!(found["observed"]["report"], *r);
    assert_eq!(found["observed"]["replicas"].as_array().unwrap().len(), 1);
    let history = actions(&app, &admin).await;
    assert_eq!(
        history[history.len() - 2..],
        [
            ("shadowed".to_owned(), Some(100)),
            ("shadow_ended".to_owned(), None)
        ]
    );
}

/// Replays and what a shadow found are kept by the store: a restart loses neither, not
/// even the findings of the last second before it, and the shadow counts on from them.
#[tokio::test(flavor = "multi_thread")]
async fn replays_and_shadow_findings_outlive_a_restart() {
    let Trials {
        mut app,
        _workflows,
        admin,
        candidate,
        ..
    } = staging().await;
    place_flat(&app, 10).await;
    let replayed = replay(
        &app,
        &admin,
        json!({"digest": candidate, "workflow": "flat"}),
    )
    .await;
    assert_eq!(replayed["report"]["compared"], 10, "{replayed}");
    let shadow_path = format!("{PLUGIN}/shadow");
    shadow_every_order(&app, &admin, &candidate).await;
    place_flat(&app, 10).await;
    let shadowed = until(&app, &admin, &shadow_path, |s| {
        s["observed"]["report"]["compared"] == 10
    })
    .await;

    app.restart().await;
    let id = replayed["id"].as_str().unwrap();
    let (status, kept) = app
        .get(&format!("{PLUGIN}/replays/{id}"), Some(&admin))
        .await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept, replayed);
    let (_, listed) = app.get(&format!("{PLUGIN}/replays"), Some(&admin)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id, "{listed}");
    let (status, shadow) = app.get(&shadow_path, Some(&admin)).await;
    assert_eq!(status, 200, "{shadow}");
    assert_eq!(shadow["observed"], shadowed["observed"]);
    place_flat(&app, 1).await;
    let counted_on = until(&app, &admin, &shadow_path, |s| {
        s["observed"]["report"]["compared"] == 11
    })
    .await;
    assert_eq!(
        counted_on["observed"]["report"]["changed"], 3,
        "{counted_on}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_decides_each_customers_orders_by_one_version() {
    let Trials {
        app,
        _workflows,
        admin,
        active,
        candidate,
    } = staging().await;
    let rollout = |percent: u64| json!({"digest": candidate, "percent": percent});
    let path = format!("{PLUGIN}/rollout");
    let cases = [
        (json!({"digest": candidate, "percent": 0}), 400, "percent"),
        (json!({"digest": candidate, "percent": 101}), 400, "percent"),
        (
            json!({"digest": format!("sha256:{}", "1".repeat(64)), "percent": 5}),
            422,
            "digest",
        ),
        (
            json!({"digest": candidate, "percent": 5, "workflow": "standard"}),
            422,
            "workflow",
        ),
    ];
    answer_naming_the_field(&app, &admin, &path, cases).await;
    let (status, _) = app
        .post(
            "/api/v1/plugins/nothing-here/rollout",
            Some(&admin),
            &rollout(5),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (status, staged) = app.post(&path, Some(&admin), &rollout(50), None).await;
    assert_eq!(status, 200, "{staged}");
    let (_, plugin) = app.get(PLUGIN, Some(&admin)).await;
    assert_eq!(
        plugin["split"],
        json!([{"digest": active, "percent": 50}, {"digest": candidate, "percent": 50}]),
        "{plugin}"
    );
    // Twenty customers, three orders each: each customer's by one version, both in use.
    let mut by_customer = std::collections::BTreeMap::new();
    for i in 0..60 {
        let user = format!("shopper-{}", i % 20);
        let order = place_one(&app, i, &user, Some("SAVE10")).await;
        let version = priced_by(&order).to_owned();
        let discounted = minor(&order["pricing"]["discount"]) > 0;
        assert_eq!(discounted, version == candidate, "{order}");
        let first = by_customer
            .entry(user.clone())
            .or_insert_with(|| version.clone());
        assert_eq!(*first, version, "{user}'s orders went to two versions");
    }
    let on_candidate = by_customer.values().filter(|v| **v == candidate).count();
    assert!(
        (4..=16).contains(&on_candidate),
        "{on_candidate} of 20 customers on the rollout"
    );

    // Raised to everyone (of the `flat` workflow, the one using the plugin), then rolled
    // back in one call.
    let everyone = json!({"digest": candidate, "percent": 100, "workflow": "flat"});
    let (status, staged) = app.post(&path, Some(&admin), &everyone, None).await;
    assert_eq!(status, 200, "{staged}");
    assert_eq!(staged["rollout"]["workflow"], "flat");
    for i in 0..5 {
        let order = place_one(&app, i, &format!("shopper-{i}"), None).await;
        assert_eq!(priced_by(&order), candidate);
    }
    let (status, ended) = app.raw("DELETE", &path, Some(&admin), None).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["rollout"], Value::Null);
    for i in 0..5 {
        let order = place_one(&app, i, &format!("shopper-{i}"), None).await;
        assert_eq!(priced_by(&order), active);
    }
    let history = actions(&app, &admin).await;
    assert_eq!(
        history[history.len() - 3..],
        [
            ("rolled_out".to_owned(), Some(50)),
            ("rolled_out".to_owned(), Some(100)),
            ("rollout_ended".to_owned(), None)
        ]
    );
    let (_, plugin) = app.get(PLUGIN, Some(&admin)).await;
    assert_eq!(
        plugin["digest"],
        active.as_str(),
        "the active version never changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_replay_stops_when_cancelled_and_keeps_what_it_compared() {
    let (app, _workflows) = start();
    let admin = token("ops", true);
    // Three pages of orders (a replay reads 500 at a time), placed four at a time.
    let mut placing = Vec::new();
    for part in 0..4 {
        let client = app.client();
        placing.push(tokio::spawn(async move {
            for i in (part..1_100).step_by(4) {
                let user = format!("customer-{}", i % 4);
                place_one(&client, i, &user, None).await;
            }
        }));
    }
    for placed in placing {
        placed.await.unwrap();
    }
    let candidate = upload_candidate(&app, &admin).await;
    let path = format!("{PLUGIN}/replays");
    let (status, started) = app
        .post(
            &path,
            Some(&admin),
            &json!({"digest": candidate, "limit": 1_100}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let replay = format!("{path}/{}", started["id"].as_str().unwrap());
    let (status, asked) = app
        .post(
            &format!("{replay}/cancel"),
            Some(&admin),
            &json!(null),
            None,
        )
        .await;
    assert_eq!(status, 202, "{asked}");
    let ended = until(&app, &admin, &replay, |r| r["state"] != "running").await;
    assert_eq!(ended["state"], "cancelled", "{ended}");
    let done = ended["progress"]["done"].as_u64().unwrap();
    assert!(
        done < 1_100 && done % 500 == 0,
        "stops between pages: {ended}"
    );
    assert_eq!(ended["report"]["compared"], done, "{ended}");
    assert!(ended["finished_at"].is_string(), "{ended}");
}
