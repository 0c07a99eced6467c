//! Builds the workspace's plugin components (`plugins/*`, `tests/plugins/*`: every crate
//! with a `cdylib`) for `wasm32-wasip2`, so `cargo run` and `cargo test` always use
//! components built from the sources beside them.
//!
//! The components land in `<target>/plugins/<crate>.wasm` (the service's default plugin
//! directory, `env!("ORDERFLOW_BUILT_PLUGINS")`), the test suite's own in
//! `<target>/test-plugins/` (`env!("ORDERFLOW_TEST_PLUGINS")`), so a service started with
//! the defaults never loads a hostile test component. The nested cargo uses its own target
//! directory, so it never waits on the lock of the build that runs this script.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

fn main() {
    let host_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = host_dir
        .parent()
        .expect("host/ sits in the workspace root")
        .to_path_buf();
    for watched in [
        ".cargo/config.toml",
        "plugins",
        "tests/plugins",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<crate>-<hash>/out.
    let target_dir = out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .expect("OUT_DIR lies inside a cargo target directory")
        .to_path_buf();
    let published = [
        ("plugins", target_dir.join("plugins")),
        ("tests/plugins", target_dir.join("test-plugins")),
    ];
    for (_, dir) in &published {
        std::fs::create_dir_all(dir).expect("create the components directory");
    }

    let crates = component_crates(&root);
    ensure_wasm_target();
    let mut cargo = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Settings meant for the host build (clippy's wrapper, host rustflags, its target dir)
    // must not leak into the plugin build; the jobserver (CARGO_MAKEFLAGS) is kept, so the
    // nested build shares the outer build's cores instead of adding its own.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        let keep = matches!(key.as_ref(), "CARGO_HOME" | "CARGO_MAKEFLAGS")
            || key.starts_with("CARGO_NET_")
            || key.starts_with("CARGO_HTTP_");
        if (key.starts_with("CARGO_")
            || key.starts_with("__CARGO")
            || key.starts_with("RUSTC_")
            || key == "RUSTFLAGS")
            && !keep
        {
            cargo.env_remove(key.as_ref());
        }
    }
    cargo
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--target", TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(target_dir.join("plugin-build"));
    for (name, _) in &crates {
        cargo.args(["-p", name]);
    }
    let status = cargo.status().expect("run cargo for the plugins");
    assert!(
        status.success(),
        "building the plugin components failed (see above)"
    );

    let built = target_dir.join("plugin-build").join(TARGET).join(PROFILE);
    for (name, parent) in &crates {
        let dir = &published
            .iter()
            .find(|(p, _)| p == parent)
            .expect("a known parent")
            .1;
        let from = built.join(format!("{}.wasm", name.replace('-', "_")));
        let to = dir.join(format!("{name}.wasm"));
        let bytes = std::fs::read(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        // Rewrite only on change: the directory may be watched by a running service.
        if std::fs::read(&to).ok().as_deref() != Some(&bytes[..]) {
            let tmp = to.with_extension("wasm.tmp");
            std::fs::write(&tmp, &bytes).expect("write a component");
            std::fs::rename(&tmp, &to).expect("publish a component");
        }
    }
    println!(
        "cargo:rustc-env=ORDERFLOW_BUILT_PLUGINS={}",
        published[0].1.display()
    );
    println!(
        "cargo:rustc-env=ORDERFLOW_TEST_PLUGINS={}",
        published[1].1.display()
    );
}

/// Package names (with their parent folder) of the crates under `plugins/` and
/// `tests/plugins/` that build a cdylib.
fn component_crates(root: &Path) -> Vec<(String, &'static str)> {
    let mut names = Vec::new();
    for parent in ["plugins", "tests/plugins"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(manifest) = std::fs::read_to_string(entry.path().join("Cargo.toml")) else {
                continue;
            };
            if !manifest.contains("cdylib") {
                continue;
            }
            let name = manifest
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = \""))
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("{}: no package name", entry.path().display()));
            names.push((name.to_owned(), parent));
        }
    }
    names.sort();
    names
}

/// A fresh machine with only the Rust toolchain lacks the wasm target: add it through
/// rustup, which is idempotent and fast once it is there.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    let installed = libdir.is_ok_and(|o| {
        o.status.success() && Path::new(String::from_utf8_lossy(&o.stdout).trim()).exists()
    });
    if !installed {
        println!("cargo:warning=installing the {TARGET} target with rustup");
        let added = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status();
        assert!(
            added.is_ok_and(|s| s.success()),
            "the {TARGET} target is missing: run `rustup target add {TARGET}`"
        );
    }
}
