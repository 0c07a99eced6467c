//! What a client of the seed API sends, and what a careless or hostile one does, on the real
//! binary: the seed README's own request, country codes, lines of one product, blank and
//! over-long texts, bodies too large, wrong methods and content types, slow and idle
//! connections, more sockets than file descriptors, and a SIGTERM with requests under way.
//! Independent of the store, so run on the embedded one only.

use crate::harness::{App, ProductMode, order_body, product_service, token};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ORDERS: &str = "/api/v1/orders/";

/// The body of the seed README's `curl` example, exactly, with a product of the catalog.
pub(crate) const SEED_EXAMPLE: &str = r#"{
    "items": [
      {
        "product_id": "prod-widget",
        "quantity": 2
      }
    ],
    "shipping_address": {
      "full_name": "John Doe",
      "address_line_1": "123 Main St",
      "city": "Anytown",
      "state": "CA",
      "postal_code": "12345",
      "country": "USA"
    },
    "shipping_method": "standard",
    "payment_method": "credit_card"
  }"#;

fn user() -> String {
    token("u1", false)
}

fn admin() -> String {
    token("ops", true)
}

/// The problems of a 422, as (code, field).
fn problems(error: &Value) -> Vec<(String, String)> {
    error["error"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems listed: {error}"))
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_owned(),
                p["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_readme_request_is_served_and_its_country_kept_as_alpha_2() {
    let app = App::start(None).await;
    let (status, order) = app
        .raw(
            "POST",
            ORDERS,
            Some(&user()),
            Some(("application/json", SEED_EXAMPLE)),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["shipping"]["address"]["country"], "US", "{order}");
    let (_, stored) = app
        .get(
            &format!("{ORDERS}{}", order["id"].as_str().unwrap()),
            Some(&user()),
        )
        .await;
    assert_eq!(stored["shipping"]["address"]["country"], "US", "{stored}");

    // Taxed and priced alike, however the country is spelled.
    let mut seed: Value = serde_json::from_str(SEED_EXAMPLE).unwrap();
    for spelling in ["US", "us", "usa"] {
        seed["shipping_address"]["country"] = spelling.into();
        let (status, same) = app.post(ORDERS, Some(&user()), &seed, None).await;
        assert_eq!(status, 201, "{spelling}: {same}");
        assert_eq!(same["shipping"]["address"]["country"], "US", "{spelling}");
        assert_eq!(same["pricing"], order["pricing"], "{spelling}");
    }
    for unknown in ["XX", "XYZ", "U", "United States"] {
        seed["shipping_address"]["country"] = unknown.into();
        let (status, error) = app.post(ORDERS, Some(&user()), &seed, None).await;
        assert_eq!(status, 422, "{unknown}: {error}");
        assert_eq!(
            (&error["error"]["code"], &error["error"]["field"]),
            (
                &json!("invalid_country"),
                &json!("shipping_address.country")
            ),
            "{unknown}: {error}"
        );
    }
}

/// Addresses as people write them: outside the US and Canada there is no state, and a
/// client leaves it out or sends `null`. The host passes it on as "" and the validation
/// plugin decides, as for postal codes; the document says `state` may be absent or null.
#[tokio::test(flavor = "multi_thread")]
async fn a_state_is_needed_only_where_the_post_uses_one() {
    let app = App::start(None).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    let address = &doc["components"]["schemas"]["Address"];
    let required = address["required"].as_array().unwrap();
    assert!(!required.contains(&json!("state")), "{address}");
    assert!(required.contains(&json!("city")), "{address}");
    assert_eq!(
        address["properties"]["state"]["type"],
        json!(["string", "null"]),
        "{address}"
    );

    let abroad = |state: Option<Value>| {
        let mut body = order_body(&[("prod-widget", 1)]);
        body["shipping_address"] = json!({"full_name": "Ada Lovelace",
            "address_line_1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117",
            "country": "DEU"});
        if let Some(state) = state {
            body["shipping_address"]["state"] = state;
        }
        body
    };
    for state in [None, Some(Value::Null), Some(json!(""))] {
        let (status, order) = app
            .post(ORDERS, Some(&user()), &abroad(state.clone()), None)
            .await;
        assert_eq!(status, 201, "{state:?}: {order}");
        let shipped_to = &order["shipping"]["address"];
        assert_eq!(
            (&shipped_to["country"], &shipped_to["state"]),
            (&json!("DE"), &json!("")),
            "{order}"
        );
    }
    let mut british = abroad(None);
    british["shipping_address"]["country"] = "GB".into();
    british["shipping_address"]["postal_code"] = "SW1A 2AA".into();
    let (status, order) = app.post(ORDERS, Some(&user()), &british, None).await;
    assert_eq!(status, 201, "{order}");

    // In the US the plugin asks for it, by name, whether it is absent, null or blank.
    for state in [None, Some(Value::Null), Some(json!(" "))] {
        let mut body = order_body(&[("prod-widget", 1)]);
        let address = body["shipping_address"].as_object_mut().unwrap();
        match &state {
            Some(value) => address.insert("state".into(), value.clone()),
            None => address.remove("state"),
        };
        let (status, error) = app.post(ORDERS, Some(&user()), &body, None).await;
        assert_eq!(status, 422, "{state:?}: {error}");
        assert_eq!(
            problems(&error),
            [("required".to_owned(), "shipping_address.state".to_owned())],
            "{state:?}: {error}"
        );
        assert_eq!(error["error"]["message"], "state is required", "{error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lines_of_one_product_are_judged_on_their_sum() {
    let app = App::start(None).await;
    // prod-lamp: 40 in stock.
    let (status, error) = app
        .place(
            &user(),
            &[("prod-lamp", 40), ("prod-mug", 1), ("prod-lamp", 40)],
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "insufficient_stock", "{error}");
    assert_eq!(error["error"]["field"], "items[0].quantity", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("80 over 2 lines"),
        "{error}"
    );
    let (status, order) = app
        .place(&user(), &[("prod-lamp", 20), ("prod-lamp", 20)])
        .await;
    assert_eq!(status, 201, "{order}");
}

/// The longest length the OpenAPI document gives each text property of `schema`, by name.
fn max_lengths(doc: &Value, schema: &str) -> Vec<(String, usize)> {
    let properties = doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema} is not in the document"));
    properties
        .iter()
        .filter_map(|(name, p)| Some((name.clone(), p["maxLength"].as_u64()? as usize)))
        .collect()
}

/// Sets the text at `path` (`shipping_address.city`, `items[0].product_id`) in `body`.
fn set(body: &mut Value, path: &str, text: Value) {
    let mut at = body;
    for part in path.split('.') {
        at = match part.strip_suffix("[0]") {
            Some(array) => &mut at[array][0],
            None => &mut at[part],
        };
    }
    *at = text;
}

#[tokio::test(flavor = "multi_thread")]
async fn blank_and_over_long_texts_are_refused_by_name() {
    let app = App::start(None).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);

    // Every limit the document states, one over it and at it, on a new order.
    let mut fields = vec![];
    for (schema, prefix) in [
        ("NewOrder", ""),
        ("Address", "shipping_address."),
        ("NewItem", "items[0]."),
    ] {
        for (name, max) in max_lengths(&doc, schema) {
            // A country's length says which ISO code it is: tested on its own above.
            if name != "country" {
                fields.push((format!("{prefix}{name}"), max));
            }
        }
    }
    assert!(fields.len() >= 12, "{fields:?}");
    for (field, max) in &fields {
        let mut body = order_body(&[("prod-widget", 1)]);
        set(&mut body, field, "x".repeat(max + 1).into());
        let (status, error) = app.post(ORDERS, Some(&user()), &body, None).await;
        assert_eq!(status, 422, "{field}: {error}");
        assert!(
            problems(&error).contains(&("too_long".into(), field.clone())),
            "{field}: {error}"
        );
        set(&mut body, field, "x".repeat(*max).into());
        let (_, answer) = app.post(ORDERS, Some(&user()), &body, None).await;
        assert!(
            !answer.to_string().contains("too_long"),
            "{field} at {max}: {answer}"
        );
    }

    for field in [
        "payment_method",
        "shipping_method",
        "items[0].product_id",
        "shipping_address.full_name",
        "shipping_address.address_line_1",
        "shipping_address.city",
        "shipping_address.postal_code",
        "shipping_address.country",
    ] {
        for blank in ["", "   "] {
            let mut body = order_body(&[("prod-widget", 1)]);
            set(&mut body, field, blank.into());
            let (status, error) = app.post(ORDERS, Some(&user()), &body, None).await;
            assert_eq!(status, 422, "{field} {blank:?}: {error}");
            assert!(
                problems(&error).contains(&("required".into(), field.to_owned())),
                "{field} {blank:?}: {error}"
            );
        }
    }
    // Blank optional texts are absent, not stored blank.
    let mut body = order_body(&[("prod-widget", 1)]);
    body["notes"] = " ".into();
    body["shipping_address"]["address_line_2"] = "".into();
    let (status, order) = app.post(ORDERS, Some(&user()), &body, None).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["notes"], Value::Null, "{order}");
    assert!(order["shipping"]["address"].is_object(), "{order}");
    assert!(
        order["shipping"]["address"]["address_line_2"].is_null(),
        "{order}"
    );

    // The texts of a change to an order, at their limits too.
    let id = order["id"].as_str().unwrap();
    for (schema, path, base) in [
        ("StatusBody", "status", json!({"status": "confirmed"})),
        (
            "PaymentBody",
            "payment",
            json!({"payment_status": "completed"}),
        ),
        ("CancelBody", "cancel", json!({})),
    ] {
        let texts = max_lengths(&doc, schema);
        assert!(!texts.is_empty(), "{schema} states no limit");
        let token = if path == "cancel" { user() } else { admin() };
        for (field, max) in texts {
            let mut body = base.clone();
            body[&field] = "x".repeat(max + 1).into();
            let path = format!("{ORDERS}{id}/{path}");
            let (status, error) = app.patch(&path, Some(&token), Some(&body)).await;
            assert_eq!(status, 422, "{schema}.{field}: {error}");
            assert_eq!(
                (&error["error"]["code"], &error["error"]["field"]),
                (&json!("too_long"), &json!(field)),
                "{schema}.{field}: {error}"
            );
        }
    }
    // None of those refusals changed the order.
    let (_, unchanged) = app.get(&format!("{ORDERS}{id}"), Some(&user())).await;
    assert_eq!(unchanged["status"], "pending", "{unchanged}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_line_order_lists_fifty_problems_and_counts_the_rest() {
    let app = App::start(None).await;
    let lines: Vec<(&str, i64)> = (0..1000).map(|_| ("prod-widget", 0)).collect();
    let body = order_body(&lines).to_string();
    let (status, error) = app
        .raw(
            "POST",
            ORDERS,
            Some(&user()),
            Some(("application/json", &body)),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    let listed = error["error"]["problems"].as_array().unwrap().len();
    let omitted = error["error"]["problems_omitted"].as_u64().unwrap();
    assert_eq!(listed, 50, "{error}");
    assert!(omitted >= 950, "{omitted}");
    assert!(error.to_string().len() < 16 * 1024);
}

/// One HTTP/1.1 exchange spoken over TCP by hand: for what an HTTP client library will not
/// send (a chunked body of any size, a head a byte at a time).
struct Raw(TcpStream);

/// A response read by hand: status, head, body (JSON when there is one).
struct RawResponse {
    status: u16,
    head: String,
    body: Value,
}

impl Raw {
    async fn connect(app: &App) -> Raw {
        Raw(TcpStream::connect(app.address()).await.unwrap())
    }

    /// Writes what it can: a server that answered early may have closed its side.
    async fn send(&mut self, bytes: &[u8]) -> bool {
        self.0.write_all(bytes).await.is_ok()
    }

    /// The response, read until its body is whole (None: none came within `limit`).
    async fn response(&mut self, limit: Duration) -> Option<RawResponse> {
        read_response(&mut self.0, limit).await
    }

    /// Whether the server closes the connection within `limit` (what it says first is
    /// ignored: a 408 before closing is fine).
    async fn closed_within(&mut self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut buffer = [0; 1024];
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.0.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// A response read by hand until its body is whole or the server closes (None: nothing
/// whole came within `limit`).
async fn read_response(
    from: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> Option<RawResponse> {
    let mut read = Vec::new();
    let until = Instant::now() + limit;
    loop {
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&read[..end]).to_string();
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| l.strip_prefix("content-length:")?.trim().parse().ok())
                .unwrap_or(0);
            if read.len() >= end + 4 + length {
                return Some(RawResponse {
                    status: head.get(9..12)?.parse().ok()?,
                    body: serde_json::from_slice(&read[end + 4..end + 4 + length])
                        .unwrap_or(Value::Null),
                    head,
                });
            }
        }
        let mut buffer = [0; 8192];
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, from.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => read.extend_from_slice(&buffer[..n]),
            _ => return None,
        }
    }
}

fn head(method: &str, path: &str, token: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: orderflow\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\n{extra}\r\n"
    )
}

fn assert_error(response: &RawResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "{}", response.head);
    assert!(
        response
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{}",
        response.head
    );
    assert_eq!(response.body["error"]["code"], code, "{}", response.body);
    assert!(response.body["error"]["message"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_the_limit_are_413_with_or_without_a_length() {
    let app = App::start(None).await;
    let big = format!(r#"{{"notes": "{}"}}"#, "x".repeat(300 * 1024));
    let (status, error) = app
        .raw(
            "POST",
            ORDERS,
            Some(&user()),
            Some(("application/json", &big)),
        )
        .await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["error"]["code"], "payload_too_large", "{error}");

    // Chunked: no length to refuse up front, so the limit is found while reading.
    let mut raw = Raw::connect(&app).await;
    raw.send(head("POST", ORDERS, &user(), "transfer-encoding: chunked\r\n").as_bytes())
        .await;
    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
    for _ in 0..5 {
        if !raw.send(chunk.as_bytes()).await {
            break;
        }
    }
    raw.send(b"0\r\n\r\n").await;
    let response = raw
        .response(Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_error(&response, 413, "payload_too_large");

    // A plugin upload says it is over its own (larger) limit: refused before a byte is read.
    let mut raw = Raw::connect(&app).await;
    let path = "/api/v1/plugins/standard-pricing/versions";
    raw.send(head("POST", path, &admin(), "content-length: 70000000\r\n").as_bytes())
        .await;
    let response = raw
        .response(Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_error(&response, 413, "payload_too_large");
    // The body is left unread: the answer says the connection closes, so that no client
    // sends another request on it (the health check below would have, when pooled).
    assert!(
        response
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        response.head
    );
    assert_eq!(app.get("/health", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_methods_and_content_types_get_the_error_shape() {
    let app = App::start(None).await;
    let (_, order) = app.place(&user(), &[("prod-widget", 1)]).await;
    let url = format!(
        "http://{}{ORDERS}{}",
        app.address(),
        order["id"].as_str().unwrap()
    );
    let http = reqwest::Client::new();
    for (method, url) in [
        (reqwest::Method::DELETE, url.clone()),
        (reqwest::Method::PUT, url),
        (
            reqwest::Method::POST,
            format!("http://{}/health", app.address()),
        ),
    ] {
        let response = http
            .request(method.clone(), &url)
            .bearer_auth(user())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {url}");
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains("GET"), "{method} {url}: {allow}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let error: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(error["error"]["code"], "method_not_allowed", "{error}");
    }

    // A path nobody serves.
    let (status, error) = app.get("/api/v1/nowhere", Some(&user())).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (404, &json!("not_found"))
    );

    let body = order_body(&[("prod-widget", 1)]).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let (status, error) = app
            .raw("POST", ORDERS, Some(&user()), Some((content_type, &body)))
            .await;
        assert_eq!(status, 415, "{content_type}: {error}");
        assert_eq!(error["error"]["code"], "unsupported_media_type", "{error}");
    }
    // No content type at all is not JSON either.
    let mut raw = Raw::connect(&app).await;
    raw.send(
        format!(
            "POST {ORDERS} HTTP/1.1\r\nhost: orderflow\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n{body}",
            user(),
            body.len()
        )
        .as_bytes(),
    )
    .await;
    let response = raw
        .response(Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_error(&response, 415, "unsupported_media_type");
    // A JSON-based type is JSON.
    let (status, order) = app
        .raw(
            "POST",
            ORDERS,
            Some(&user()),
            Some(("application/vnd.api+json; charset=utf-8", &body)),
        )
        .await;
    assert_eq!(status, 201, "{order}");
}

/// A service whose connection timeouts are a second, so tests need not wait long.
fn with_short_timeouts() -> App {
    App::start_with(vec![
        ("HEADER_READ_TIMEOUT_MS", "1000".into()),
        ("BODY_READ_TIMEOUT_MS", "1000".into()),
        ("IDLE_TIMEOUT_MS", "1500".into()),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_head_is_cut_off_while_other_clients_are_served() {
    let app = with_short_timeouts();
    let mut slow = Raw::connect(&app).await;
    slow.send(b"GET /health HTTP/1.1\r\nho").await;
    let trickle = tokio::spawn(async move {
        let started = Instant::now();
        // A byte every 200 ms: the head never ends, and it started long enough ago.
        while slow.send(b"s").await && started.elapsed() < Duration::from_secs(8) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut probe = [0; 256];
            let probed = tokio::time::timeout(Duration::from_millis(1), slow.0.read(&mut probe));
            if let Ok(Ok(0) | Err(_)) = probed.await {
                break;
            }
        }
        started.elapsed()
    });
    // Meanwhile another client is served, repeatedly.
    for _ in 0..10 {
        assert_eq!(app.get("/health", None).await.0, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cut_after = trickle.await.unwrap();
    assert!(
        cut_after < Duration::from_secs(4),
        "the slow head was read for {cut_after:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_close_and_a_trickled_body_is_408() {
    let app = with_short_timeouts();
    // A connection that never sends a byte.
    let mut silent = Raw::connect(&app).await;
    // One that made a request and then said nothing.
    let mut done = Raw::connect(&app).await;
    done.send(b"GET /health HTTP/1.1\r\nhost: orderflow\r\n\r\n")
        .await;
    assert_eq!(
        done.response(Duration::from_secs(5)).await.unwrap().status,
        200
    );
    let started = Instant::now();
    assert!(silent.closed_within(Duration::from_secs(5)).await);
    assert!(done.closed_within(Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(4));

    // A body at a byte every 100 ms: the head is whole, the body too slow.
    let slow = TcpStream::connect(app.address()).await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    writer
        .write_all(head("POST", ORDERS, &user(), "content-length: 400\r\n").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        for _ in 0..60 {
            if writer.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let response = read_response(&mut reader, Duration::from_secs(6))
        .await
        .expect("an answer to a trickled body");
    assert_error(&response, 408, "request_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Other clients were served meanwhile, and are.
    assert_eq!(app.get("/health", None).await.0, 200);
    trickle.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sockets_never_use_up_the_open_files() {
    let mut app = App::start(None).await;
    // A common default; far fewer descriptors than the sockets below.
    app.restart_with_open_files(256);
    let mut idle = Vec::new();
    for _ in 0..400 {
        idle.push(TcpStream::connect(app.address()).await.unwrap());
    }
    let started = Instant::now();
    let (status, health) = app.get("/health", None).await;
    assert_eq!(status, 200, "{health}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, order) = app.place(&user(), &[("prod-widget", 1)]).await;
    assert_eq!(status, 201, "{order}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_answers_requests_under_way_and_exits_within_the_grace_period() {
    let products = product_service().await;
    let mut app = App::start_with(vec![
        ("PRODUCT_SERVICE_URL", products.url.clone()),
        ("PRODUCT_SERVICE_TIMEOUT_MS", "5000".into()),
        ("SHUTDOWN_GRACE_MS", "6000".into()),
    ]);
    // Slow clients: a head a byte at a time, a connection that never speaks.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut raw = Raw::connect(&app).await;
        raw.send(b"GET /health HTTP/1.1\r\nh").await;
        slow.push(raw);
        slow.push(Raw::connect(&app).await);
    }
    // An order whose product check takes 3 s is under way when the signal comes.
    products.set(ProductMode::Slow);
    let client = app.client();
    let placing = tokio::spawn(async move { client.place(&user(), &[("widget", 1)]).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &app.pid().to_string()])
        .status()
        .unwrap();
    let (status, order) = placing.await.unwrap();
    assert_eq!(status, 201, "{order}");
    let code = app.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "the process did not exit in time");
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "exited after {:?}",
        signalled.elapsed()
    );
    for mut raw in slow {
        assert!(raw.closed_within(Duration::from_secs(1)).await);
    }
}
