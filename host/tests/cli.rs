//! The `orderflow` binary itself: testing a plugin in isolation, as a plugin author does;
//! `orderflow token` as a newcomer runs it; the service's log as a pipe reads it.

mod common;

use common::{built, orderflow, repo_root};
use std::path::Path;

#[test]
fn plugin_test_passes_the_shipped_fixtures() {
    for name in [
        "standard-validation",
        "standard-pricing",
        "standard-lifecycle",
    ] {
        let fixtures = repo_root().join("plugins").join(name).join("fixtures");
        let (code, out) = orderflow(&[
            "plugin",
            "test",
            built(name).to_str().unwrap(),
            fixtures.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(" passed, 0 failed") && out.contains("fuel"),
            "{out}"
        );
    }
}

#[test]
fn plugin_test_fails_on_a_mismatch_and_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("plugins/standard-pricing/fixtures");
    for file in [
        "params.json",
        "01-regional-tax.json",
        "06-unknown-code.json",
    ] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    let tampered = std::fs::read_to_string(source.join("01-regional-tax.json"))
        .unwrap()
        .replace("4352", "4353");
    std::fs::write(dir.path().join("01-regional-tax.json"), tampered).unwrap();
    let (code, out) = orderflow(&[
        "plugin",
        "test",
        built("standard-pricing").to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL 01-regional-tax")
            && out.contains("4353")
            && out.contains("1 passed, 1 failed"),
        "{out}"
    );
}

/// `plugin test --workflow` takes the workflow's parameters and limits (no params.json
/// needed), and a mismatch reads field by field: which amount, expected and got.
#[test]
fn plugin_test_runs_as_a_workflow_would_and_shows_the_fields_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("plugins/standard-pricing/fixtures");
    std::fs::copy(
        source.join("06-unknown-code.json"),
        dir.path().join("06-unknown-code.json"),
    )
    .unwrap();
    let tampered = std::fs::read_to_string(source.join("01-regional-tax.json"))
        .unwrap()
        .replace("4352", "4353");
    std::fs::write(dir.path().join("01-regional-tax.json"), tampered).unwrap();
    let (workflow, component) = (
        repo_root().join("workflows/standard.toml"),
        built("standard-pricing"),
    );
    let test = |extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "test",
            component.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            "--workflow",
            workflow.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        orderflow(&args)
    };
    let (code, out) = test(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the pricing step of"), "{out}");
    assert!(
        out.contains("\n       ok.total.minor: expected 4353, got 4352\n"),
        "{out}"
    );
    assert!(
        out.contains("ok   06-unknown-code") && out.contains("1 passed, 1 failed"),
        "{out}"
    );
    assert!(!out.contains("expected {"), "no whole documents: {out}");
    // The command line's limits still win over the workflow's.
    let (_, out) = test(&["--fuel", "1000"]);
    assert!(out.contains("limits: 1000 fuel"), "{out}");
}

/// `plugin test` prints the lines a case logged, indented under it, and how many were not
/// kept whole.
#[test]
fn plugin_test_shows_what_each_case_logged() {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("plugins/standard-pricing/fixtures/01-regional-tax.json");
    let mut fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source).unwrap()).unwrap();
    // The logging rule quotes the lines' sum and nothing else.
    let lines: i64 = (fixture["args"]["order"]["items"].as_array().unwrap().iter())
        .map(|i| {
            i["product"]["unit_price"]["minor"].as_i64().unwrap() * i["quantity"].as_i64().unwrap()
        })
        .sum();
    let usd = |minor: i64| serde_json::json!({"minor": minor, "currency": "USD"});
    fixture["expect"] = serde_json::json!({"ok": {"subtotal": usd(lines), "tax": usd(0),
        "shipping": usd(0), "discount": usd(0), "total": usd(lines), "applied": []}});
    fixture["description"] = "logs two lines".into();
    let write = |name: &str, value: &serde_json::Value| {
        std::fs::write(dir.path().join(name), value.to_string()).unwrap();
    };
    write("01-says.json", &fixture);
    fixture["description"] = "logs past the 20 lines kept".into();
    fixture["params"] = serde_json::json!({"say": [["debug", "again"]], "repeat": 23});
    write("02-chatters.json", &fixture);
    write(
        "params.json",
        &serde_json::json!({"say": [["info", "code SAVE10 applied"], ["warn", "no rate for XX"]]}),
    );
    let (code, out) = orderflow(&[
        "plugin",
        "test",
        built("logging-pricing").to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let says = out.find("ok   01-says").expect(&out);
    let chatters = out.find("ok   02-chatters").expect(&out);
    let lines = &out[says..chatters];
    assert!(
        lines.contains("\n       info  code SAVE10 applied\n       warn  no rate for XX\n"),
        "{out}"
    );
    assert!(!lines.contains("configure"), "{out}");
    let rest = &out[chatters..];
    assert_eq!(rest.matches("       debug again").count(), 20, "{out}");
    assert!(rest.contains("(3 more lines not kept whole"), "{out}");
}

#[test]
fn plugin_inspect_and_bad_input() {
    let (code, out) = orderflow(&[
        "plugin",
        "inspect",
        built("standard-lifecycle").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("lifecycle plugin, wit 0.5.0, sha256:"),
        "{out}"
    );
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"junk").unwrap();
    let (code, out) = orderflow(&["plugin", "inspect", junk.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot serve as a plugin"), "{out}");
}

/// `orderflow serve` of the standard workflow on a free port, run in `dir` (so its
/// `DATA_DIR` is `dir/data` unless `env` says otherwise), with no `JWT_SECRET`: what a
/// newcomer starts. Its log (stderr) is read through a pipe; stopped when dropped.
struct Served {
    child: std::process::Child,
    url: String,
    /// Reads the log as it comes, so that a full pipe never stops the service; all of it
    /// once the service has stopped.
    log: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Served {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Served {
        use std::io::Read;
        use std::process::{Command, Stdio};
        let (plugins, workflows) = (dir.join("plugins"), dir.join("workflows"));
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::create_dir_all(&workflows).unwrap();
        for plugin in [
            "standard-validation",
            "standard-pricing",
            "standard-lifecycle",
        ] {
            std::fs::copy(built(plugin), plugins.join(format!("{plugin}.wasm"))).unwrap();
        }
        std::fs::copy(
            repo_root().join("workflows/standard.toml"),
            workflows.join("standard.toml"),
        )
        .unwrap();
        let cache = built("standard-pricing")
            .parent()
            .unwrap()
            .with_file_name("test-plugin-cache");
        let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
            .arg("serve")
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("PLUGIN_DIR", &plugins)
            .env("WORKFLOW_DIR", &workflows)
            .env("PLUGIN_CACHE_DIR", cache)
            .env("CATALOG_FILE", repo_root().join("catalog/products.json"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start orderflow serve");
        let mut stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut log = Vec::new();
            let _ = stderr.read_to_end(&mut log);
            log
        });
        let url = common::listening_url(&mut child, &dir.join("no log file: stderr is piped"));
        Served {
            child,
            url,
            log: Some(log),
        }
    }

    /// Stops the service: all it logged, as it came through the pipe.
    fn stop(mut self) -> Vec<u8> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log.take().unwrap().join().unwrap()
    }

    /// The status and error message of `GET /api/v1/orders/` with `token`.
    async fn orders(&self, token: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/orders/", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("the service answers");
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        (status, message.to_owned())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `orderflow token` run in `dir` with `env` (and no DATA_DIR or JWT_SECRET of the test's
/// own): its exit code, stdout and stderr.
fn token_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .arg("token")
        .args(args)
        .env_remove("DATA_DIR")
        .env_remove("JWT_SECRET")
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// `orderflow token` says which secret it signs with, and creates none unless asked: run in
/// another directory than the service's it refuses, naming the file it looked for; a secret
/// it is told to create there is one the service does not know, and the service says so.
#[tokio::test(flavor = "multi_thread")]
async fn token_says_which_secret_it_signs_with_and_creates_none_unasked() {
    let (service_dir, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let service = Served::start(service_dir.path(), &[]);
    let service_secret =
        std::path::absolute(service_dir.path().join("data/dev-jwt-secret")).unwrap();
    assert!(service_secret.is_file());

    // Where the service runs: its secret, named.
    let (code, token, said) = token_in(service_dir.path(), &["--user", "alice"], &[]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains(&format!(
            "signed with the development secret {}",
            service_secret.display()
        )),
        "{said}"
    );
    assert_eq!(service.orders(&token).await.0, 200);

    // Anywhere else: no token, no secret made, and the way out.
    let (code, token, said) = token_in(elsewhere.path(), &["--user", "alice"], &[]);
    let missing = std::path::absolute(elsewhere.path().join("data/dev-jwt-secret")).unwrap();
    assert_eq!((code, token.as_str()), (2, ""), "{said}");
    for hint in [
        &missing.display().to_string(),
        "DATA_DIR",
        "JWT_SECRET",
        "--create-secret",
    ] {
        assert!(said.contains(hint), "{hint}: {said}");
    }
    assert!(!elsewhere.path().join("data").exists());

    // Pointed at the service's data directory, from anywhere: the service's secret.
    let data = service_secret.parent().unwrap().to_str().unwrap();
    let (code, token, said) = token_in(elsewhere.path(), &[], &[("DATA_DIR", data)]);
    assert_eq!(code, 0, "{said}");
    assert_eq!(service.orders(&token).await.0, 200);

    // Asked to, it creates one; the service does not know it, and says so.
    let (code, token, said) = token_in(elsewhere.path(), &["--create-secret"], &[]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains(&format!(
            "created and signed with the development secret {}",
            missing.display()
        )),
        "{said}"
    );
    assert!(missing.is_file());
    assert_eq!(
        service.orders(&token).await,
        (
            401,
            "the token is signed with a key this service does not know".to_owned()
        )
    );
    let (code, _, said) = token_in(elsewhere.path(), &[], &[]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("signed with the development secret"),
        "{said}"
    );

    // With JWT_SECRET, that is what it says it signs with.
    let (code, token, said) = token_in(
        elsewhere.path(),
        &[],
        &[("JWT_SECRET", "a secret of at least 16 characters")],
    );
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("signed with JWT_SECRET"), "{said}");
    assert_eq!(service.orders(&token).await.0, 401);
}

/// The service's log read through a pipe, as a log collector or `2>file` reads it: plain
/// text, not one terminal escape code.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_through_a_pipe_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let service = Served::start(dir.path(), &[]);
    // A refused token logs nothing; a request does at info, and start-up already has.
    assert_eq!(service.orders("not.a.token").await.0, 401);
    let log = service.stop();
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains(" INFO ") && text.contains(" WARN "), "{text}");
    assert!(
        !log.contains(&0x1b),
        "escape codes in the log: {}",
        text.escape_debug()
    );
}
