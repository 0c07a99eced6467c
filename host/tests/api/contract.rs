//! The service against its own OpenAPI document: extreme date parameters on the admin
//! routes, and schemathesis's generated requests against `/openapi.json`, each answer held
//! to what the document says of it.

use crate::harness::{App, token};
use serde_json::Value;
use std::process::Command;

/// Every date parameter of every admin `GET`, as the document lists them: a parameter a
/// route gains later is tested without this file changing.
fn admin_date_parameters(doc: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let operation = &item["get"];
        let is_admin = operation["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == "admin"));
        if !is_admin {
            continue;
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let formats: Vec<&str> = parameter["schema"]["anyOf"]
                .as_array()
                .into_iter()
                .flatten()
                .chain([&parameter["schema"]])
                .filter_map(|s| s["format"].as_str())
                .collect();
            if formats.iter().any(|f| *f == "date" || *f == "date-time") {
                let name = parameter["name"].as_str().expect("a name");
                found.push((path.clone(), name.to_owned()));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_extreme_dates_on_every_admin_route_are_answered_by_name() {
    let app = App::start(None).await;
    let admin = token("ops", true);
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    let parameters = admin_date_parameters(&doc);
    for expected in [
        ("/api/v1/orders/admin/stats", "from"),
        ("/api/v1/orders/admin/stats", "to"),
        ("/api/v1/orders/admin/all", "from"),
        ("/api/v1/orders/admin/all", "to"),
    ] {
        assert!(
            parameters
                .iter()
                .any(|(p, n)| (p.as_str(), n.as_str()) == expected),
            "{expected:?} is not a date parameter in the document: {parameters:?}"
        );
    }
    // Raw query text: `+` is %2B, or the service would read a space.
    let cases = [
        ("%2B262142-12-31", 400),
        ("-262143-01-01", 400),
        ("%2B262142-12-31T00:00:00Z", 400),
        ("0000-01-01", 400),
        ("0000-12-31T23:59:59Z", 400),
        ("10000-01-01", 400),
        ("10000-01-01T00:00:00Z", 400),
        ("9999-12-31", 200),
        ("0001-01-01", 200),
        ("9999-12-31T23:59:59Z", 200),
        ("0001-01-01T00:00:00-14:00", 200),
        ("2026-02-30", 400),
        ("2026-1-5", 400),
        ("2026-13-01", 400),
        ("", 400),
        ("yesterday", 400),
        ("%00%FF", 400),
        ("2026-11-25T25:00:00Z", 400),
    ];
    for (path, name) in &parameters {
        // The other end of the window is the widest one, so that a valid value makes a
        // valid window and a refusal can only be about the value under test.
        let other = if name == "from" {
            "to=9999-12-31"
        } else {
            "from=0001-01-01"
        };
        for (value, expected) in cases {
            let url = format!("{path}?{name}={value}&{other}");
            let (status, body) = app.get(&url, Some(&admin)).await;
            assert_eq!(status, expected, "{url}: {body}");
            if expected == 400 {
                let error = &body["error"];
                assert_eq!(error["code"], "bad_request", "{url}: {body}");
                assert_eq!(error["field"], name.as_str(), "{url}: {body}");
                assert!(error["message"].is_string(), "{url}: {body}");
            } else {
                assert!(body.is_object(), "{url}: {body}");
            }
        }
    }
    let (status, health) = app.get("/health", None).await;
    assert_eq!(status, 200, "the service survives extreme dates: {health}");
}

/// Requests generated from `/openapi.json` by schemathesis; every answer must be one the
/// document states (status, content type, body schema), no request may be a 5xx, and a
/// request the document rules out must be refused.
#[tokio::test(flavor = "multi_thread")]
async fn contract_generated_requests_get_the_answers_the_document_states() {
    let schemathesis = std::env::var("ORDERFLOW_TEST_SCHEMATHESIS").expect(
        "ORDERFLOW_TEST_SCHEMATHESIS must name the schemathesis binary: run the tests with tests/run.sh, which installs it",
    );
    let app = App::start(None).await;
    let admin = token("ops", true);
    // One real order, so that the order routes answer with orders rather than 404s.
    let (status, order) = app.place(&admin, &[("prod-widget", 1)]).await;
    assert_eq!(status, 201, "{order}");
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            r#"[parameters]
order_id = "{}"

# One plugin that exists, so that its detail is answered too; the other plugin routes get
# generated names, valid and not.
[[operations]]
include-path = "/api/v1/plugins/{{name}}"
parameters = {{ name = "standard-pricing" }}
"#,
            order["id"].as_str().expect("an order id")
        ),
    )
    .unwrap();
    let base = format!("http://{}", app.address());
    let dir = work.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&schemathesis)
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(format!("{base}/openapi.json"))
            .args(["--header", &format!("Authorization: Bearer {admin}")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_headers_conformance,response_schema_conformance,\
                 negative_data_rejection,missing_required_header,unsupported_method,\
                 ignored_auth",
            ])
            // Bounded and reproducible: a failure is the same on the next run. One worker:
            // hypothesis's shared state is not safe across schemathesis's threads.
            .args([
                "--max-examples",
                "50",
                "--seed",
                "20261204",
                "--workers",
                "1",
            ])
            .args(["--generation-database", "none", "--no-color"])
            // A stream's answer never ends, and schemathesis reads answers whole: the
            // streams' statuses and errors are checked by `live.rs` instead.
            .args(["--exclude-operation-id-regex", "^stream_"])
            .current_dir(dir)
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "schemathesis found answers the document does not state ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(app.get("/health", None).await.0, 200);
}

/// The command a test needs from `tests/run.sh`, which installs it and names it in `variable`.
fn installed(variable: &str, what: &str) -> std::path::PathBuf {
    std::env::var_os(variable)
        .unwrap_or_else(|| {
            panic!(
                "{variable} must name {what}: run the tests with tests/run.sh, which installs it"
            )
        })
        .into()
}

/// `/openapi.json` of a running service, as served, saved to `dir`.
async fn served_document(app: &App, dir: &std::path::Path) -> (Value, std::path::PathBuf) {
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200, "{doc}");
    let path = dir.join("openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    (doc, path)
}

/// A standard validator (openapi-spec-validator) finds the document valid OpenAPI 3.1: every
/// response described, every operation id unique.
#[tokio::test(flavor = "multi_thread")]
async fn contract_the_document_is_valid_openapi_3_1() {
    let validator = installed(
        "ORDERFLOW_TEST_OPENAPI_VALIDATOR",
        "openapi-spec-validator's command",
    );
    let app = App::start(None).await;
    let work = tempfile::tempdir().unwrap();
    let (doc, path) = served_document(&app, work.path()).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let output = Command::new(&validator)
        .args(["--schema", "3.1", "--validation-errors", "all"])
        .arg(&path)
        .output()
        .expect("run openapi-spec-validator");
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.contains(": OK"),
        "the document is not valid OpenAPI 3.1 ({}):\n{said}",
        output.status
    );
    // What a client generator names its functions by, and what the validator says of them
    // only in passing: every operation has an id of its own.
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            let id = id.unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            ids.push(id.to_owned());
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "operation ids repeat: {ids:?}");
}

/// What openapi-python-client may not turn into code: a component upload's body (it has no
/// type for `application/wasm`) and the metrics' text format. Anything else it warns about
/// is the document's fault.
const GENERATOR_CANNOT: [&str; 2] = [
    "WARNING parsing POST /api/v1/plugins/{name}/versions",
    "WARNING parsing GET /metrics",
];

/// A client generated from the document (openapi-python-client) places the seed's example
/// order, reads it back, lists it, and reads a refusal as the document's typed error.
#[tokio::test(flavor = "multi_thread")]
async fn contract_a_client_generated_from_the_document_drives_an_order() {
    let generator = installed(
        "ORDERFLOW_TEST_OPENAPI_CLIENT",
        "openapi-python-client's command",
    );
    let app = App::start(None).await;
    let work = tempfile::tempdir().unwrap();
    let (_, path) = served_document(&app, work.path()).await;
    // No formatter run over the code: ruff is not the test's business.
    let config = work.path().join("generator.yaml");
    std::fs::write(&config, "post_hooks: []\n").unwrap();
    let output = Command::new(&generator)
        .args(["generate", "--meta", "none", "--path"])
        .arg(&path)
        .arg("--config")
        .arg(&config)
        .current_dir(work.path())
        .output()
        .expect("run openapi-python-client");
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && work.path().join("orderflow_client").is_dir(),
        "no client was generated ({}):\n{said}",
        output.status
    );
    let unexpected: Vec<&str> = (said.lines())
        .filter(|line| line.starts_with("WARNING"))
        .filter(|line| !GENERATOR_CANNOT.iter().any(|known| line.starts_with(known)))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}:\n{said}");

    let python = generator.with_file_name("python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/generated_client.py");
    let base = format!("http://{}", app.address());
    let output = Command::new(python)
        .arg(script)
        .args([&base, &token("u1", false), crate::limits::SEED_EXAMPLE])
        .env("PYTHONPATH", work.path())
        .output()
        .expect("run the generated client");
    assert!(
        output.status.success(),
        "the generated client failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    let saw: Value = serde_json::from_slice(&output.stdout).expect("the script's JSON");
    assert_eq!(saw["placed"], saw["read"], "{saw}");
    assert_eq!(saw["country"], "US", "{saw}");
    assert!(saw["total"]["minor"].as_i64().unwrap() > 0, "{saw}");
    let refused = &saw["refused"];
    assert_eq!(refused["code"], "insufficient_stock", "{saw}");
    assert_eq!(refused["field"], "items[0].quantity", "{saw}");
    assert_eq!(
        refused["problems"][0]["code"], "insufficient_stock",
        "{saw}"
    );
    // The order is the service's, not the script's say-so.
    let id = saw["placed"].as_str().unwrap();
    let (status, order) = app
        .get(&format!("/api/v1/orders/{id}"), Some(&token("u1", false)))
        .await;
    assert_eq!(status, 200, "{order}");
}
