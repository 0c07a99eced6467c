//! `orderflow plugin new`, as a plugin author meets it: each kind's crate, generated outside
//! the workspace, passes its own tests natively, builds into a plugin, and the plugin passes
//! the crate's fixtures through `orderflow plugin test`.

mod common;

use common::{as_an_author, built, orderflow};
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
        assert!(out.contains(&format!("{kind} plugin, wit 0.2.0")), "{out}");
        assert!(out.contains(" passed, 0 failed"), "{out}");
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
        (["pricing", "taken"], "exists already"),
        (["pricing", "My_Pricing"], "is not a plugin name"),
        (["pricing", "self"], "is taken"),
        (["shipping", "mine"], "is not a plugin kind"),
    ] {
        let (code, out) = orderflow(&["plugin", "new", args[0], args[1], "--dir", dir]);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(out.contains(why), "{args:?}: {out}");
    }
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), before);
}
