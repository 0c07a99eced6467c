//! `orderflow plugin new`, as a plugin author meets it: each kind's crate, generated outside
//! the workspace, passes its own tests natively, builds into a plugin, and the plugin passes
//! the crate's fixtures through `orderflow plugin test`. A JavaScript or Python project
//! (`--lang js|python`), and a plugin started from a standard rule (`--from`), are checked
//! here for what they hold and what `plugin new` says of them; plugins/languages.sh, which
//! has Node and Python, tests and builds each language's projects and the standard pricing
//! rule's, and runs their fixtures through their components.

mod common;

use common::{as_an_author, built, orderflow, repo_root};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Kept between runs, beside the plugins build.rs publishes (`<target>/plugins`), so a
/// rerun builds only the new crates.
fn target_dir() -> PathBuf {
    let plugins = built("standard-pricing");
    plugins.parent().unwrap().with_file_name("plugin-new-test")
}

/// `cargo` in `dir`, as an author runs it: without the settings cargo gives this test
/// process (its package's variables, its target directory), and offline.
fn cargo(dir: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = as_an_author(&mut Command::new(cargo))
        .current_dir(dir)
        .args(args)
        .arg("--offline")
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_kind_builds_into_a_plugin_that_passes_its_fixtures() {
    let parent = tempfile::tempdir().unwrap();
    for kind in ["validation", "pricing", "lifecycle"] {
        let name = format!("my-{kind}");
        let parent = parent.path().to_str().unwrap();
        let (code, out) = orderflow(&["plugin", "new", kind, &name, "--dir", parent]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("a workspace of its own"), "{out}");
        let dir = Path::new(parent).join(&name);

        cargo(&dir, &["test"]);
        cargo(
            &dir,
            &["build", "--target", "wasm32-unknown-unknown", "--release"],
        );
        let plugin = target_dir()
            .join("wasm32-unknown-unknown/release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        let fixtures = dir.join("fixtures");
        let (code, out) = orderflow(&[
            "plugin",
            "test",
            plugin.to_str().unwrap(),
            fixtures.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("{kind} plugin, wit 0.5.0")), "{out}");
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

/// Each kind's JavaScript and Python project: the files listed, the kind's fixtures and the
/// contract as they are in this repository, its build naming the kind's world and the
/// plugin, every placeholder rendered, and the commands that test, build and try it.
#[test]
fn every_kind_in_javascript_and_python_is_a_project_of_its_own() {
    let parent = tempfile::tempdir().unwrap();
    let repo = repo_root();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap();
    for (lang, what, test, build, build_file) in [
        (
            "js",
            "a JavaScript project",
            "npm ci && npm test",
            "npm run build",
            "package.json",
        ),
        (
            "python",
            "a Python project",
            "python3 -m unittest",
            "bash build.sh",
            "build.sh",
        ),
    ] {
        for kind in ["validation", "pricing", "lifecycle"] {
            let name = format!("my-{kind}");
            let parent = parent.path().join(lang);
            let args = ["plugin", "new", kind, &name, "--lang", lang, "--dir"];
            let (code, out) = orderflow(&[&args[..], &[parent.to_str().unwrap()]].concat());
            assert_eq!(code, 0, "{out}");
            let dir = parent.join(&name);
            assert!(
                out.starts_with(&format!("created {}, {what}:\n", dir.display())),
                "{out}"
            );
            let listed: Vec<&str> = (out.lines())
                .skip(1)
                .take_while(|line| !line.starts_with("next, "))
                .map(str::trim)
                .collect();
            for file in &listed {
                let text = read(&dir.join(file));
                assert!(!text.contains("{{"), "{lang} {kind} {file}: {text}");
            }
            let mut on_disk = Vec::new();
            let mut stack = vec![dir.clone()];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(d).unwrap().flatten() {
                    if entry.path().is_dir() {
                        stack.push(entry.path());
                    } else {
                        on_disk.push(entry.path());
                    }
                }
            }
            assert_eq!(on_disk.len(), listed.len(), "{lang} {kind}: {out}");
            assert!(!dir.join("Cargo.toml").exists());

            let fixtures = repo.join("host/templates").join(kind).join("fixtures");
            let mut expected: Vec<_> = std::fs::read_dir(&fixtures).unwrap().flatten().collect();
            expected.sort_by_key(|e| e.file_name());
            for fixture in &expected {
                let copy = dir.join("fixtures").join(fixture.file_name());
                assert_eq!(read(&copy), read(&fixture.path()), "{}", copy.display());
            }
            assert_eq!(
                listed.iter().filter(|f| f.starts_with("fixtures/")).count(),
                expected.len()
            );
            assert_eq!(
                read(&dir.join("wit/orderflow.wit")),
                read(&repo.join("wit/since_v0.5.0/orderflow.wit"))
            );
            let build_text = read(&dir.join(build_file));
            assert!(
                build_text.contains(&format!("{kind}-plugin")),
                "{build_text}"
            );
            assert!(build_text.contains(&format!("{name}.wasm")), "{build_text}");

            let next = format!(
                "next, from the project's directory, {}:\n  {test}\n  {build}\n  {} plugin \
                 test {name}.wasm fixtures\n",
                dir.display(),
                this_orderflow().display(),
            );
            assert!(out.ends_with(&next), "{out}");
        }
    }
    let package = read(&parent.path().join("js/my-pricing/package.json"));
    assert!(package.contains(r#""name": "my-pricing","#), "{package}");
}

/// The binary the tests run, which `plugin new` prints the commands of.
fn this_orderflow() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_orderflow"))
        .canonicalize()
        .unwrap()
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path().strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files
}

/// A plugin started from a standard rule (`--from standard-<kind>`) has the rule's sources
/// and fixtures, and the standard workflow's parameters, which the rule's own plugin passes
/// its fixtures with; in JavaScript and Python, the port's sources, the project's own copy
/// of the SDK, and no path into this repository.
#[test]
fn a_plugin_started_from_a_standard_rule_has_the_rule() {
    let parent = tempfile::tempdir().unwrap();
    let repo = repo_root();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap();
    for kind in ["validation", "pricing", "lifecycle"] {
        let (rule, name) = (format!("standard-{kind}"), format!("my-{kind}"));
        let dir = parent.path().to_str().unwrap();
        let (code, out) = orderflow(&["plugin", "new", kind, &name, "--from", &rule, "--dir", dir]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(&format!(
                "a workspace of its own of the standard {kind} rule"
            )),
            "{out}"
        );
        let crate_dir = parent.path().join(&name);
        let ours = repo.join("plugins").join(&rule);
        for file in files(&ours.join("src")) {
            let (theirs, mine) = (
                ours.join("src").join(&file),
                crate_dir.join("src").join(&file),
            );
            assert_eq!(read(&mine), read(&theirs), "{}", file.display());
        }
        let readme = read(&crate_dir.join("README.md"));
        let started = format!("started with `orderflow plugin new {kind} {name} --from {rule}`");
        assert!(readme.contains(&started), "{readme}");

        let fixtures = crate_dir.join("fixtures");
        let built = built(&rule);
        let args = [
            "plugin",
            "test",
            built.to_str().unwrap(),
            fixtures.to_str().unwrap(),
        ];
        let (code, out) = orderflow(&args);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }

    for (lang, port, sdk, sources) in [
        (
            "js",
            "standard-pricing-js",
            ("sdk", "sdk-js"),
            ["src/rules.js", "src/plugin.js", "src/component.js"],
        ),
        (
            "python",
            "standard-pricing-py",
            ("orderflow_sdk", "sdk-py/orderflow_sdk"),
            ["rules.py", "app.py", "build.sh"],
        ),
    ] {
        let name = format!("my-pricing-{lang}");
        let dir = parent.path().to_str().unwrap();
        let args = ["plugin", "new", "pricing", &name, "--lang", lang];
        let (code, out) =
            orderflow(&[&args[..], &["--from", "standard-pricing", "--dir", dir]].concat());
        assert_eq!(code, 0, "{out}");
        let project = parent.path().join(&name);
        for source in &sources[..2] {
            let port = repo.join("plugins").join(port).join(source);
            assert_eq!(read(&project.join(source)), read(&port), "{source}");
        }
        let (copy, package) = sdk;
        for file in files(&project.join(copy)) {
            let original = repo.join("plugins").join(package).join(&file);
            assert_eq!(read(&project.join(copy).join(&file)), read(&original));
        }
        assert!(project.join(sources[2]).is_file());
        let unit = read(&project.join("unit-params.json"));
        assert_eq!(
            unit,
            read(&repo.join("plugins/standard-pricing/unit-params.json"))
        );
        assert_eq!(
            files(&project.join("fixtures")).len(),
            files(&repo.join("plugins/standard-pricing/fixtures")).len()
        );
        for file in files(&project) {
            let text = read(&project.join(&file));
            assert!(
                !text.contains("../.."),
                "{lang} {}: a path into the repository",
                file.display()
            );
        }
    }
}

#[test]
fn plugin_new_refuses_what_it_cannot_create() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().to_str().unwrap();
    let (code, out) = orderflow(&["plugin", "new", "pricing", "taken", "--dir", dir]);
    assert_eq!(code, 0, "{out}");
    let before = std::fs::read_dir(parent.path()).unwrap().count();
    for (args, why) in [
        (["pricing", "taken", "rust"], "exists already"),
        (["pricing", "taken", "js"], "exists already"),
        (["pricing", "My_Pricing", "rust"], "is not a plugin name"),
        (["pricing", "My_Pricing", "python"], "is not a plugin name"),
        (["pricing", "self", "js"], "is taken"),
        (["shipping", "mine", "python"], "is not a plugin kind"),
        (
            ["pricing", "mine", "cobol"],
            "invalid value 'cobol' for '--lang <LANG>'",
        ),
    ] {
        let [kind, name, lang] = args;
        let (code, out) = orderflow(&["plugin", "new", kind, name, "--lang", lang, "--dir", dir]);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains(why), "{args:?}: {out}");
    }
    // A standard rule to start from is one of the plugin's kind, written in its language;
    // else every rule there is, with its kind and languages, is named.
    let available = "--from takes standard-validation (a validation rule, in rust), \
                     standard-pricing (a pricing rule, in rust, js, python), \
                     standard-lifecycle (a lifecycle rule, in rust)";
    for (args, why) in [
        (
            ["pricing", "mine", "rust", "premium-pricing"],
            "`premium-pricing` is not a standard rule",
        ),
        (
            ["pricing", "mine", "rust", "standard-lifecycle"],
            "standard-lifecycle is not a pricing rule",
        ),
        (
            ["validation", "mine", "js", "standard-validation"],
            "standard-validation is not written in js",
        ),
        (
            ["lifecycle", "mine", "python", "standard-lifecycle"],
            "standard-lifecycle is not written in python",
        ),
    ] {
        let [kind, name, lang, from] = args;
        let (code, out) = orderflow(&[
            "plugin", "new", kind, name, "--lang", lang, "--from", from, "--dir", dir,
        ]);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert_eq!(out, format!("error: {why}: {available}\n"), "{args:?}");
    }
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), before);
}
