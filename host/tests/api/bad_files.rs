//! Bad plugin files on the real binary: garbage, a truncated module, an empty file, at
//! start-up and while the service runs. None stops the service or hot reload; each is
//! reported (`/health`, `/api/v1/plugins`), and the last good version of the plugin serves.

use crate::harness::{App, order_body, priced_by, token};
use orderflow::domain::Digest;
use serde_json::Value;
use std::time::{Duration, Instant};

fn component(name: &str) -> Vec<u8> {
    std::fs::read(crate::common::built(name)).unwrap()
}

/// The first half of a plugin: the standard ones are core modules, and this cut of
/// standard-pricing made the component wrapper (wit-component) panic.
fn truncated(name: &str) -> Vec<u8> {
    let bytes = component(name);
    bytes[..bytes.len() / 2].to_vec()
}

fn digest(bytes: &[u8]) -> String {
    Digest::of(bytes).full()
}

/// Publishes a plugin file as ops are told to: written beside it, renamed into place.
fn drop_file(app: &App, plugin: &str, bytes: &[u8]) {
    let partial = app.plugin_dir().join(format!(".{plugin}.partial"));
    std::fs::write(&partial, bytes).unwrap();
    std::fs::rename(&partial, app.plugin_dir().join(format!("{plugin}.wasm"))).unwrap();
}

async fn health(app: &App) -> Value {
    let (status, health) = app.get("/health", None).await;
    assert_eq!(status, 200, "{health}");
    health
}

/// The load error `/health` reports for `file`, if any.
fn load_error<'a>(health: &'a Value, file: &str) -> Option<&'a Value> {
    health["load_errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == file)
}

/// The workflows `/health` says serve, and the digest of each one's pricing plugin.
fn serving(health: &Value) -> Vec<(&str, &str)> {
    health["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let pricing = w["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["kind"] == "pricing")
                .unwrap();
            (
                w["name"].as_str().unwrap(),
                pricing["digest"].as_str().unwrap(),
            )
        })
        .collect()
}

/// Workflow `name` as `/api/v1/workflows` lists it.
async fn listed_workflow(app: &App, name: &str) -> Value {
    let (status, workflows) = app
        .get("/api/v1/workflows", Some(&token("ops", true)))
        .await;
    assert_eq!(status, 200, "{workflows}");
    let all = workflows.as_array().unwrap();
    let names: Vec<&str> = all.iter().map(|w| w["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "listed by name");
    (all.iter())
        .find(|w| w["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not listed: {workflows}"))
}

/// `plugin` as `/api/v1/plugins` lists it.
async fn listed(app: &App, plugin: &str) -> Value {
    let (status, plugins) = app.get("/api/v1/plugins", Some(&token("ops", true))).await;
    assert_eq!(status, 200, "{plugins}");
    plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == plugin)
        .cloned()
        .unwrap_or_else(|| panic!("{plugin} is not listed: {plugins}"))
}

/// Polls `/health` until `done` holds of it (a dropped file loads when the watcher reloads).
async fn health_once(app: &App, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = health(app).await;
        if done(&health) {
            return health;
        }
        assert!(Instant::now() < deadline, "{what}: {health}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Places an order of two widgets from `channel` (None: the default workflow).
async fn place(app: &App, channel: Option<&str>) -> (u16, Value) {
    let mut body = order_body(&[("prod-widget", 2)]);
    if let Some(channel) = channel {
        body["sales_channel"] = channel.into();
    }
    app.post("/api/v1/orders/", Some(&token("u1", false)), &body, None)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_with_a_bad_plugin_file_serves_the_last_good_version() {
    let mut app = App::start(None).await;
    let standard = digest(&component("standard-pricing"));
    let bad_files = [
        ("garbage", b"not a component".to_vec()),
        ("truncated", truncated("standard-pricing")),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in bad_files {
        drop_file(&app, "standard-pricing", &bytes);
        app.restart().await;

        let health = health(&app).await;
        let error = load_error(&health, "standard-pricing.wasm")
            .unwrap_or_else(|| panic!("the {what} file is not reported: {health}"));
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("not a valid component"),
            "{what}: {error}"
        );
        assert_eq!(
            health["hot_reload"]["state"], "watching",
            "{what}: {health}"
        );
        assert!(
            serving(&health).contains(&("standard", standard.as_str())),
            "{what}: {health}"
        );
        let pricing = listed(&app, "standard-pricing").await;
        assert_eq!(pricing["digest"], standard.as_str(), "{what}: {pricing}");
        assert_eq!(
            pricing["last_error"]["file"], "standard-pricing.wasm",
            "{what}: {pricing}"
        );

        let (status, order) = place(&app, None).await;
        assert_eq!(status, 201, "{what}: {order}");
        assert_eq!(priced_by(&order), standard, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_file_at_run_time_is_reported_and_the_next_good_one_serves() {
    let app = App::start(None).await;
    let standard = digest(&component("standard-pricing"));

    drop_file(&app, "standard-pricing", &truncated("standard-pricing"));
    let health = health_once(&app, "the truncated file was never reported", |h| {
        load_error(h, "standard-pricing.wasm").is_some()
    })
    .await;
    assert_eq!(health["hot_reload"]["state"], "watching", "{health}");
    assert!(serving(&health).contains(&("standard", standard.as_str())));
    let pricing = listed(&app, "standard-pricing").await;
    assert_eq!(pricing["digest"], standard.as_str(), "{pricing}");
    assert!(pricing["last_error"].is_object(), "{pricing}");

    // The reload thread lives: the next good file is loaded and serves.
    let flat_bytes = component("hostile-pricing");
    let flat = digest(&flat_bytes);
    drop_file(&app, "standard-pricing", &flat_bytes);
    let health = health_once(&app, "the good file never served", |h| {
        serving(h).contains(&("standard", flat.as_str()))
    })
    .await;
    assert!(
        load_error(&health, "standard-pricing.wasm").is_none(),
        "{health}"
    );
    assert!(listed(&app, "standard-pricing").await["last_error"].is_null());
    let (status, order) = place(&app, None).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(priced_by(&order), flat);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_never_loaded_makes_only_its_workflows_unavailable() {
    let app = App::start_with_plugins(|dir| {
        std::fs::write(dir.join("b2b-lifecycle.wasm"), truncated("b2b-lifecycle")).unwrap();
    });
    let health = health(&app).await;
    let names: Vec<&str> = serving(&health).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["sale", "standard", "standard-js"], "{health}");
    assert!(
        load_error(&health, "b2b-lifecycle.wasm").is_some(),
        "{health}"
    );
    let workflow = load_error(&health, "b2b.toml").unwrap_or_else(|| panic!("{health}"));
    assert!(
        workflow["error"]
            .as_str()
            .unwrap()
            .contains("`b2b-lifecycle` has no version that loads"),
        "{workflow}"
    );
    let lifecycle = listed(&app, "b2b-lifecycle").await;
    assert!(lifecycle["digest"].is_null(), "{lifecycle}");
    assert!(lifecycle["last_error"].is_object(), "{lifecycle}");
    // The workflows' listing has the file too, with its error and no plugins, as /health.
    let b2b = listed_workflow(&app, "b2b").await;
    assert_eq!(b2b["last_error"], *workflow, "{b2b}");
    assert_eq!(
        (&b2b["plugins"], &b2b["digest"], &b2b["loaded_at"]),
        (&serde_json::json!([]), &Value::Null, &Value::Null),
        "{b2b}"
    );
    assert!(
        b2b["source"].as_str().unwrap().ends_with("b2b.toml"),
        "{b2b}"
    );
    assert!(listed_workflow(&app, "standard").await["last_error"].is_null());

    for channel in [None, Some("sale")] {
        let (status, order) = place(&app, channel).await;
        assert_eq!(status, 201, "{channel:?}: {order}");
    }
    let (status, refused) = place(&app, Some("b2b")).await;
    assert_ne!(status, 201, "{refused}");

    // A good file brings the workflow back, without a restart.
    drop_file(&app, "b2b-lifecycle", &component("b2b-lifecycle"));
    health_once(&app, "the b2b workflow never came back", |h| {
        serving(h).iter().any(|(name, _)| *name == "b2b")
    })
    .await;
    let (status, order) = place(&app, Some("b2b")).await;
    assert_eq!(status, 201, "{order}");
    let b2b = listed_workflow(&app, "b2b").await;
    assert!(b2b["last_error"].is_null(), "{b2b}");
    assert_eq!(b2b["plugins"].as_array().unwrap().len(), 3, "{b2b}");
}
