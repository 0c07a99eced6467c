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

#[test]
fn plugin_inspect_and_bad_input() {
    let (code, out) = orderflow(&[
        "plugin",
        "inspect",
        built("standard-lifecycle").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("lifecycle plugin, wit 0.2.0, sha256:"),
        "{out}"
    );
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"junk").unwrap();
    let (code, out) = orderflow(&["plugin", "inspect", junk.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot serve as a plugin"), "{out}");
}
