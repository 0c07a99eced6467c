//! The `orderflow` binary itself: testing a plugin in isolation, as a plugin author does.

mod common;

use common::{built, orderflow, repo_root};

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
        out.contains("lifecycle plugin, wit 0.3.0, sha256:"),
        "{out}"
    );
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"junk").unwrap();
    let (code, out) = orderflow(&["plugin", "inspect", junk.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot serve as a plugin"), "{out}");
}
