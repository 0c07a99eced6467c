//! `spawn_app` for the end-to-end tests: the real binary, a JSON client, tokens, and a
//! product service whose behaviour a test can switch.

// Shared by the api, api_mongo, events and replicas test targets and the relay benchmark;
// each uses a part of it.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orderflow::http::auth::{Claims, mint};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

const SECRET: &[u8] = b"end-to-end tests' shared secret";

/// Where the service under test keeps its orders; each test target picks one (`BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Mongo,
}

/// The store settings of a new service: MongoDB gets a database of its own.
fn store_env(backend: Backend) -> Vec<(&'static str, String)> {
    match backend {
        Backend::Embedded => vec![],
        Backend::Mongo => {
            let url = std::env::var("ORDERFLOW_TEST_MONGODB_URL").expect(
                "ORDERFLOW_TEST_MONGODB_URL must name a MongoDB replica set: run the tests with tests/run.sh, which starts one",
            );
            let database = format!("orderflow_api_{}", uuid::Uuid::now_v7().simple());
            vec![("MONGODB_URL", url), ("DATABASE_NAME", database)]
        }
    }
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A JSON client of one running service.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let body = body.map(|(content_type, text)| (content_type, text.as_bytes()));
        self.send(method, path, token, body, None).await
    }

    /// Sends `bytes` as the body (e.g. a component to upload).
    pub async fn bytes(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        bytes: &[u8],
    ) -> (u16, Value) {
        self.send(method, path, token, Some((content_type, bytes)), None)
            .await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some((content_type, body)) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_vec());
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        // No answer (the process was killed, say) is status 0: the caller's assertion shows it.
        let Ok(response) = request.send().await else {
            return (0, Value::Null);
        };
        let status = response.status().as_u16();
        let Ok(bytes) = response.bytes().await else {
            return (0, Value::Null);
        };
        (
            status,
            if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).expect("JSON answers")
            },
        )
    }

    /// Where the service listens, `host:port`, for tests that speak TCP themselves.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// A plain-text answer (e.g. `/metrics`).
    pub async fn text(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the service answers");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send("GET", path, token, None, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        self.send(
            "POST",
            path,
            token,
            Some(("application/json", body.to_string().as_bytes())),
            key,
        )
        .await
    }

    /// Places an order of `items` (product id, quantity) shipped to San Francisco.
    pub async fn place(&self, token: &str, items: &[(&str, i64)]) -> (u16, Value) {
        self.post("/api/v1/orders/", Some(token), &order_body(items), None)
            .await
    }

    pub async fn patch(
        &self,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let body = body.map(Value::to_string);
        self.send(
            "PATCH",
            path,
            token,
            body.as_deref().map(|b| ("application/json", b.as_bytes())),
            None,
        )
        .await
    }

    /// Opens a Server-Sent Events stream: the stream, or the status and JSON error.
    pub async fn stream(
        &self,
        path: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<Sse, (u16, Value)> {
        let mut request = (self.http.get(format!("{}{path}", self.base)))
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        if status != 200 {
            let bytes = response.bytes().await.unwrap_or_default();
            let error = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err((status, error));
        }
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Ok(Sse {
            response,
            buffer: String::new(),
            comments: 0,
        })
    }

    /// Every event the service stored for these orders (read with an admin token), per
    /// order, in order.
    pub async fn stored_events(&self, orders: &[String]) -> BTreeMap<String, Vec<Value>> {
        let admin = token("ops", true);
        let mut all = BTreeMap::new();
        for id in orders {
            let (status, events) = self
                .get(&format!("/api/v1/orders/{id}/events"), Some(&admin))
                .await;
            assert_eq!(status, 200, "{events}");
            let events: Vec<Value> = events
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].clone())
                .collect();
            all.insert(id.clone(), events);
        }
        all
    }

    /// A mug ordered by `user`, asserted placed: its id.
    pub async fn placed(&self, user: &str) -> String {
        let (status, order) = self.place(&token(user, false), &[("prod-mug", 1)]).await;
        assert_eq!(status, 201, "{order}");
        order["id"].as_str().unwrap().to_owned()
    }

    /// Order `id` moved to `status` by an admin (with a tracking number, which a shipment
    /// needs), asserted.
    pub async fn moved(&self, id: &str, status: &str) {
        let body = serde_json::json!({"status": status, "tracking_number": "1Z999"});
        let path = format!("/api/v1/orders/{id}/status");
        let (code, answer) = self
            .patch(&path, Some(&token("ops", true)), Some(&body))
            .await;
        assert_eq!(code, 200, "{answer}");
    }

    /// Moves order `id` by `admin` along the standard path, each step asserted: confirmed,
    /// processing, shipped (with a tracking number), delivered.
    pub async fn deliver(&self, id: &str, admin: &str) {
        for (to, tracking) in [
            ("confirmed", None),
            ("processing", None),
            ("shipped", Some("1Z999")),
            ("delivered", None),
        ] {
            let body = serde_json::json!({"status": to, "tracking_number": tracking});
            let path = format!("/api/v1/orders/{id}/status");
            let (status, changed) = self.patch(&path, Some(admin), Some(&body)).await;
            assert_eq!(
                (status, changed["status"].as_str()),
                (200, Some(to)),
                "{changed}"
            );
        }
    }
}

/// The service, running as its own process.
pub struct App {
    client: Client,
    child: Child,
    data: tempfile::TempDir,
    /// Service URLs given to the process (name, value), kept for restarts.
    urls: Vec<(&'static str, String)>,
    /// The process's open-files limit, if the test sets one.
    open_files: Option<u64>,
}

impl std::ops::Deref for App {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Beside the plugins build.rs publishes: `<target>/test-plugin-cache`.
fn shared_plugin_cache() -> PathBuf {
    let plugins = crate::common::built("standard-pricing");
    let target = plugins.parent().and_then(Path::parent).unwrap();
    target.join("test-plugin-cache")
}

fn spawn(data: &Path, urls: &[(&'static str, String)], open_files: Option<u64>) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("service.log"))
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_orderflow"));
    command
        .arg("serve")
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATA_DIR", data)
        .env("PLUGIN_DIR", data.join("plugins"))
        // Shared by every service the tests start: each would otherwise compile the
        // JavaScript plugin (seconds in a debug build) on its own.
        .env("PLUGIN_CACHE_DIR", shared_plugin_cache())
        .env("JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("WORKFLOW_DIR", repo().join("workflows"))
        .env("CATALOG_FILE", repo().join("catalog/products.json"))
        .env("PRODUCT_SERVICE_TIMEOUT_MS", "300")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log);
    command.envs(urls.iter().map(|(name, url)| (*name, url)));
    if let Some(limit) = open_files {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe, and nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, limit, limit));
        }
    }
    let mut child = command.spawn().expect("start orderflow serve");
    let base = crate::common::listening_url(&mut child, &data.join("service.log"));
    (child, base)
}

impl App {
    pub async fn start(product_url: Option<&str>) -> App {
        App::start_with(
            product_url
                .map(|url| ("PRODUCT_SERVICE_URL", url.to_owned()))
                .into_iter()
                .collect(),
        )
    }

    /// With more settings: service URLs, e.g. `("USER_SERVICE_URL", url)`, or others
    /// (`("JWT_AUDIENCE", "orderflow")`).
    pub fn start_with(urls: Vec<(&'static str, String)>) -> App {
        App::start_on(crate::BACKEND, urls)
    }

    /// On the given store, whatever the test target's.
    pub fn start_on(backend: Backend, urls: Vec<(&'static str, String)>) -> App {
        App::start_prepared(backend, urls, |_| {})
    }

    /// With the plugin directory changed by `prepare` before the service first reads it.
    pub fn start_with_plugins(prepare: impl FnOnce(&Path)) -> App {
        App::start_prepared(crate::BACKEND, vec![], prepare)
    }

    /// The settings given come after the store's, so they win: replicas sharing one
    /// database name its `DATABASE_NAME`.
    pub fn start_prepared(
        backend: Backend,
        settings: Vec<(&'static str, String)>,
        prepare: impl FnOnce(&Path),
    ) -> App {
        let mut urls = store_env(backend);
        urls.extend(settings);
        let data = tempfile::tempdir().unwrap();
        // A plugin directory of its own: operations tests activate versions in it.
        let plugins = data.path().join("plugins");
        std::fs::create_dir(&plugins).unwrap();
        for entry in std::fs::read_dir(env!("ORDERFLOW_BUILT_PLUGINS")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "wasm") {
                std::fs::copy(&path, plugins.join(path.file_name().unwrap())).unwrap();
            }
        }
        prepare(&plugins);
        let (child, base) = spawn(data.path(), &urls, None);
        App {
            client: Client {
                base,
                http: reqwest::Client::new(),
            },
            child,
            data,
            urls,
            open_files: None,
        }
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The service's `DATA_DIR`.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The service's own plugin directory (a copy of the built plugins).
    pub fn plugin_dir(&self) -> std::path::PathBuf {
        self.data.path().join("plugins")
    }

    /// What the service logged so far (warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("service.log")).unwrap_or_default()
    }

    /// Stops the process as an orchestrator would (SIGTERM) and starts it on the same data.
    pub async fn restart(&mut self) {
        self.restart_after("-TERM");
    }

    /// Stops the process (SIGTERM) and starts it again with more settings.
    pub async fn restart_with(&mut self, settings: Vec<(&'static str, String)>) {
        self.urls.extend(settings);
        self.restart_after("-TERM");
    }

    /// Kills the process outright (SIGKILL: no shutdown of any kind) and starts it again.
    pub async fn crash_and_restart(&mut self) {
        self.restart_after("-KILL");
    }

    fn restart_after(&mut self, signal: &str) {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap();
        let (child, base) = spawn(self.data.path(), &self.urls, self.open_files);
        self.child = child;
        self.client.base = base;
    }

    /// Starts the process again under an open-files limit (soft and hard).
    pub fn restart_with_open_files(&mut self, limit: u64) {
        self.open_files = Some(limit);
        self.restart_after("-TERM");
    }

    /// The process, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end by itself, at most `limit`: its exit code, or None if
    /// it is still running (then it is killed).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn token(&self, user: &str, admin: bool) -> String {
        token(user, admin)
    }

    pub fn token_signed_with(&self, user: &str, admin: bool, secret: &[u8]) -> String {
        mint(secret, &claims(user, admin, 3600)).unwrap()
    }

    pub fn expired_token(&self, user: &str) -> String {
        mint(SECRET, &claims(user, false, -3600)).unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A valid token for the services the harness starts.
pub fn token(user: &str, admin: bool) -> String {
    mint(SECRET, &claims(user, admin, 3600)).unwrap()
}

/// The ids of all these events (as [`Client::stored_events`] returns them).
pub fn event_ids(events: &BTreeMap<String, Vec<Value>>) -> HashSet<String> {
    events
        .values()
        .flatten()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A token of any claims (a number for `sub`, say) for the services the harness starts.
pub fn token_with(claims: &Value) -> String {
    mint(SECRET, claims).unwrap()
}

/// A token signed with the test RS256 key, naming the key `kid` (the user service's
/// published key is `test-rs256`).
pub fn rs256_token(user: &str, admin: bool, kid: &str) -> String {
    rs256_token_with(kid, &claims(user, admin, 3600))
}

/// A token of any claims signed with the test RS256 key, naming the key `kid`.
pub fn rs256_token_with(kid: &str, claims: &impl serde::Serialize) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let private = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/test-rs256.pem"
    ))
    .unwrap();
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap()
}

fn claims(user: &str, admin: bool, valid_for: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: user.into(),
        exp: (now + valid_for) as u64,
        iat: Some(now as u64),
        nbf: None,
        role: Some(if admin { "admin" } else { "user" }.into()),
        roles: vec![],
        is_admin: false,
        email: None,
        name: None,
    }
}

/// A token with `alg: none` and no signature: must never be accepted.
pub fn unsigned_token(user: &str, admin: bool) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(user, admin, 3600)).unwrap());
    format!("{header}.{payload}.")
}

#[derive(Debug, Clone, Copy)]
pub enum ProductMode {
    Normal,
    Down,
    Garbage,
    Slow,
}

/// A product service on a free port: `widget` at 12.50 and `gadget` at 9.99 (USD).
pub struct Products {
    pub url: String,
    mode: Arc<AtomicU8>,
}

impl Products {
    pub fn set(&self, mode: ProductMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

pub async fn product_service() -> Products {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let mode = Arc::new(AtomicU8::new(ProductMode::Normal as u8));
    let app = axum::Router::new()
        .route(
            "/api/v1/products/{id}",
            axum::routing::get(|Path(id): Path<String>, State(mode): State<Arc<AtomicU8>>| async move {
                let json = |body: String| ([("content-type", "application/json")], body).into_response();
                match mode.load(Ordering::SeqCst) {
                    m if m == ProductMode::Down as u8 => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    m if m == ProductMode::Garbage as u8 => return json("{\"id\": ".into()),
                    m if m == ProductMode::Slow as u8 => tokio::time::sleep(Duration::from_secs(3)).await,
                    _ => {}
                }
                let (name, price) = match id.as_str() {
                    "widget" => ("Widget", "12.5"),
                    "gadget" => ("Gadget", "9.99"),
                    _ => return StatusCode::NOT_FOUND.into_response(),
                };
                json(format!(r#"{{"id":"{id}","name":"{name}","sku":"SKU-{id}","price":{price},"currency":"USD","stock":100,"is_active":true}}"#))
            }),
        )
        .with_state(mode.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Products { url, mode }
}

/// A user service that knows these tokens: (token, the id it says they belong to, email).
/// It publishes the test RS256 key at `/.well-known/jwks.json`, as key `test-rs256`.
pub async fn user_service(known: Vec<(String, &'static str, &'static str)>) -> String {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let known = Arc::new(known);
    let jwks = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/test-rs256.jwks.json"
    ))
    .unwrap();
    let app = axum::Router::new().route("/.well-known/jwks.json", axum::routing::get(move || async move { jwks })).route(
        "/api/v1/users/me",
        axum::routing::get(move |headers: HeaderMap| {
            let known = known.clone();
            async move {
                let presented = headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
                match known.iter().find(|(token, _, _)| presented == format!("Bearer {token}")) {
                    Some((_, id, email)) => axum::Json(serde_json::json!({"id": id, "email": email, "full_name": "Ada Lovelace", "role": "user"})).into_response(),
                    None => StatusCode::UNAUTHORIZED.into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A create-order body: `items` (product id, quantity), shipped to San Francisco.
pub fn order_body(items: &[(&str, i64)]) -> Value {
    serde_json::json!({
        "items": items.iter().map(|(id, q)| serde_json::json!({"product_id": id, "quantity": q})).collect::<Vec<_>>(),
        "shipping_address": {"full_name": "Ada Lovelace", "address_line_1": "1 Market St", "city": "San Francisco",
                             "state": "CA", "postal_code": "94105", "country": "US"},
        "shipping_method": "standard",
        "payment_method": "card",
    })
}

/// The digest of the pricing plugin that priced `order`.
pub fn priced_by(order: &Value) -> &str {
    order["provenance"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["call"] == "price")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
}

/// The repository's workflows, and two more with the sale's rules whose orders hold their
/// units 1 s unpaid: `flash` (then cancelled) and `flash-release` (then released).
pub fn flash_workflows() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sale = std::fs::read_to_string(repo().join("workflows/sale.toml")).unwrap();
    for entry in std::fs::read_dir(repo().join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    for (name, on_expiry) in [("flash", "cancel"), ("flash-release", "release")] {
        let flash = (sale.replace(
            r#"channels = ["sale"]"#,
            &format!(r#"channels = ["{name}"]"#),
        ))
        .replace(r#"reservation_ttl = "15m""#, r#"reservation_ttl = "1s""#)
        .replace(
            r#"on_expiry = "cancel""#,
            &format!(r#"on_expiry = "{on_expiry}""#),
        );
        std::fs::write(dir.path().join(format!("{name}.toml")), flash).unwrap();
    }
    dir
}

/// A lamp ordered on `channel`.
pub fn lamp_on(channel: &str) -> Value {
    let mut body = order_body(&[("prod-lamp", 1)]);
    body["sales_channel"] = serde_json::json!(channel);
    body
}

/// Waits until order `id` is as `done` says (polled every 100 ms); fails after 20 s.
pub async fn until_order(
    app: &Client,
    id: &str,
    admin: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let since = std::time::Instant::now();
    loop {
        let (status, order) = app.get(&format!("/api/v1/orders/{id}"), Some(admin)).await;
        assert_eq!(status, 200, "{order}");
        if done(&order) {
            return order;
        }
        assert!(since.elapsed().as_secs() < 20, "never came: {order}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The types of order `id`'s events, oldest first.
pub async fn event_types(app: &Client, id: &str, admin: &str) -> Vec<String> {
    let (status, events) = app
        .get(&format!("/api/v1/orders/{id}/events"), Some(admin))
        .await;
    assert_eq!(status, 200, "{events}");
    (events.as_array().unwrap().iter())
        .map(|e| e["event"]["event_type"].as_str().unwrap().to_owned())
        .collect()
}

/// A Server-Sent Events stream as a browser reads it.
pub struct Sse {
    response: reqwest::Response,
    buffer: String,
    /// Comments seen (the service's heartbeats).
    pub comments: usize,
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

impl Sse {
    /// The next event; None when the stream ended or none came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = None;
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("", _)) => self.comments += 1,
                        Some((field, value)) => {
                            let value = value.strip_prefix(' ').unwrap_or(value);
                            match field {
                                "id" => event.id = Some(value.to_owned()),
                                "event" => event.event = value.to_owned(),
                                "data" => data = Some(serde_json::from_str(value).unwrap()),
                                _ => {}
                            }
                        }
                        None => {}
                    }
                }
                if let Some(data) = data {
                    event.data = data;
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                _ => return None,
            }
        }
    }

    /// The next `n` events, each within `wait` of the one before.
    pub async fn take(&mut self, n: usize, wait: Duration) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while events.len() < n {
            match self.next(wait).await {
                Some(event) => events.push(event),
                None => break,
            }
        }
        events
    }
}

/// Places orders at `rate` per second for `length`; the ids of the acknowledged ones, and
/// how many were not (the benchmarks' load).
pub async fn steady_load(app: &App, rate: u64, length: Duration) -> (Vec<String>, usize) {
    let client = app.client();
    let user = token("bench", false);
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let started = std::time::Instant::now();
    let mut placing = Vec::new();
    while started.elapsed() < length {
        ticks.tick().await;
        let (client, user) = (client.clone(), user.clone());
        placing.push(tokio::spawn(async move {
            let (status, order) = client.place(&user, &[("prod-mug", 1)]).await;
            (status == 201).then(|| order["id"].as_str().unwrap_or_default().to_owned())
        }));
    }
    let mut placed = Vec::new();
    let mut failed = 0;
    for task in placing {
        match task.await.unwrap() {
            Some(id) => placed.push(id),
            None => failed += 1,
        }
    }
    (placed, failed)
}

/// The `q` quantile of `sorted`.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q) as usize]
}

/// A webhook delivery as a receiver started by a test saw it.
#[derive(Debug, Clone)]
pub struct Hooked {
    pub delivery: String,
    pub event: Value,
    /// When it arrived.
    pub at: chrono::DateTime<chrono::Utc>,
    /// What the receiver answered.
    pub status: u16,
}

/// How a webhook receiver fails a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Answers 500.
    Status,
    /// Closes the connection without an answer.
    Close,
    /// Answers after this long (longer than the service waits).
    Slow(Duration),
}

/// A webhook receiver: checks each delivery's signature with `secret` (HMAC-SHA256 over the
/// time, a dot and the raw body, as `docs/live.md` tells receivers to) and panics the test
/// on a bad one; fails the first `failures` tries of each delivery (500 unless told
/// otherwise), answers 200 after (`u32::MAX`: never). Everything it saw, in order, is in
/// `seen` (a try it failed without an answer, with status 0).
pub struct Receiver {
    pub url: String,
    pub seen: Arc<std::sync::Mutex<Vec<Hooked>>>,
    failures: Arc<std::sync::atomic::AtomicU32>,
    failure: Arc<std::sync::Mutex<Failure>>,
}

impl Receiver {
    pub async fn start(secret: &str, failures: u32) -> Receiver {
        use hmac::Mac;
        let seen = Arc::new(std::sync::Mutex::new(Vec::<Hooked>::new()));
        let failing = Arc::new(std::sync::atomic::AtomicU32::new(failures));
        let failure = Arc::new(std::sync::Mutex::new(Failure::Status));
        let shared = (
            secret.to_owned(),
            seen.clone(),
            failing.clone(),
            failure.clone(),
        );
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (secret, log, fails, how) = shared.clone();
                    async move {
                        let header = |name: &str| headers[name].to_str().unwrap().to_owned();
                        let signature = header("orderflow-signature");
                        let (t, v1) = signature.split_once(',').unwrap();
                        let t = t.strip_prefix("t=").unwrap();
                        let mut mac =
                            hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                        mac.update(format!("{t}.").as_bytes());
                        mac.update(&body);
                        let expected: String = mac
                            .finalize()
                            .into_bytes()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect();
                        assert_eq!(
                            v1.strip_prefix("v1=").unwrap(),
                            expected,
                            "a delivery signed wrong"
                        );
                        let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
                        assert!(age.abs() < 60, "signed {age} s ago");
                        let delivery = header("orderflow-delivery");
                        let failing = {
                            let log = log.lock().unwrap();
                            let tried = log.iter().filter(|h| h.delivery == delivery).count();
                            tried < fails.load(Ordering::SeqCst) as usize
                        };
                        let failure = *how.lock().unwrap();
                        let status = match (failing, failure) {
                            (false, _) => 200,
                            (true, Failure::Status) => 500,
                            (true, _) => 0,
                        };
                        log.lock().unwrap().push(Hooked {
                            delivery,
                            event: serde_json::from_slice(&body).unwrap(),
                            at: chrono::Utc::now(),
                            status,
                        });
                        match (failing, failure) {
                            // Unwinding out of the handler ends hyper's connection without an
                            // answer (and, resumed rather than raised, without the panic
                            // hook's message).
                            (true, Failure::Close) => {
                                std::panic::resume_unwind(Box::new("closing the connection"))
                            }
                            (true, Failure::Slow(wait)) => tokio::time::sleep(wait).await,
                            _ => {}
                        }
                        axum::http::StatusCode::from_u16(status.max(200)).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            seen,
            failures: failing,
            failure,
        }
    }

    /// From now on, fails tries this way.
    pub fn fail_by(&self, failure: Failure) {
        *self.failure.lock().unwrap() = failure;
    }

    /// From now on, answers 500 to the first `n` tries of each delivery.
    pub fn fail_first(&self, n: u32) {
        self.failures.store(n, Ordering::SeqCst);
    }

    /// The deliveries answered 200, in the order they came.
    pub fn delivered(&self) -> Vec<Hooked> {
        (self.seen.lock().unwrap().iter())
            .filter(|h| h.status == 200)
            .cloned()
            .collect()
    }

    /// Waits (at most `within`) until `n` deliveries were answered 200.
    pub async fn until_delivered(&self, n: usize, within: Duration) -> Vec<Hooked> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let delivered = self.delivered();
            if delivered.len() >= n || std::time::Instant::now() > deadline {
                return delivered;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
