//! Builds the workspace's plugins (`plugins/*`, `tests/hostile/*`: every crate with a
//! `cdylib`), so `cargo run` and `cargo test` always use plugins built from the sources
//! beside them.
//!
//! `plugins/*` are built for `wasm32-unknown-unknown`: a core module that imports nothing,
//! with its WIT world embedded by wit-bindgen, which the host wraps into a component when it
//! loads it. The test suite's `tests/hostile/*` are built for `wasm32-wasip2`, as components
//! that import WASI (which the host grants only as stand-ins that reach nothing real:
//! `host/src/plugins/runtime/wasi.rs`), so both kinds of file stay covered.
//!
//! Components of plugins written in other languages are built by their own toolchains and
//! kept built in `plugins/shipped/`; they are published beside the crates' plugins.
//!
//! The plugins land in `<target>/plugins/<crate>.wasm` (the service's default plugin
//! directory, `env!("ORDERFLOW_BUILT_PLUGINS")`), the test suite's own in
//! `<target>/test-plugins/` (`env!("ORDERFLOW_TEST_PLUGINS")`), so a service started with
//! the defaults never loads a hostile test component. The nested cargo uses its own target
//! directory, so it never waits on the lock of the build that runs this script.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROFILE: &str = "plugin";
const SHIPPED: &str = "plugins/shipped";

/// Each folder of plugin crates: its target, and where its plugins are published.
const FOLDERS: [(&str, &str, &str); 2] = [
    ("plugins", "wasm32-unknown-unknown", "plugins"),
    ("tests/hostile", "wasm32-wasip2", "test-plugins"),
];

fn main() {
    let host_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = host_dir
        .parent()
        .expect("host/ sits in the workspace root")
        .to_path_buf();
    for watched in [".cargo/config.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // Each crate of the plugin folders, not the folders: they also hold plugins other
    // toolchains build (a JavaScript plugin's node_modules/ is thousands of files), none of
    // them this build's. A new crate changes Cargo.lock.
    for (folder, _, _) in FOLDERS {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join("Cargo.toml").is_file() {
                println!("cargo:rerun-if-changed={}", entry.path().display());
            }
        }
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<crate>-<hash>/out.
    let target_dir = out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .expect("OUT_DIR lies inside a cargo target directory")
        .to_path_buf();
    for (folder, target, publish_to) in FOLDERS {
        let crates = cdylib_crates(&root.join(folder));
        let published = target_dir.join(publish_to);
        std::fs::create_dir_all(&published).expect("create the plugins directory");
        build(&root, &target_dir, target, &crates);
        let built = target_dir.join("plugin-build").join(target).join(PROFILE);
        for name in &crates {
            let from = built.join(format!("{}.wasm", name.replace('-', "_")));
            publish(&from, &published.join(format!("{name}.wasm")));
        }
    }
    // Components other toolchains build, kept built in the repository so the service ships
    // them without those toolchains (plugins/languages.sh checks each against its sources).
    let shipped = root.join(SHIPPED);
    println!("cargo:rerun-if-changed={}", shipped.display());
    for entry in std::fs::read_dir(&shipped).into_iter().flatten().flatten() {
        let from = entry.path();
        if from.extension().is_some_and(|e| e == "wasm") {
            let name = from.file_name().expect("a file");
            publish(&from, &target_dir.join(FOLDERS[0].2).join(name));
        }
    }
    let published = |folder: &str| target_dir.join(folder).display().to_string();
    println!(
        "cargo:rustc-env=ORDERFLOW_BUILT_PLUGINS={}",
        published(FOLDERS[0].2)
    );
    println!(
        "cargo:rustc-env=ORDERFLOW_TEST_PLUGINS={}",
        published(FOLDERS[1].2)
    );
}

/// Copies the plugin `from` to `to`, only when it changed: the directory may be watched by
/// a running service.
fn publish(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    if std::fs::read(to).ok().as_deref() != Some(&bytes[..]) {
        let tmp = to.with_extension("wasm.tmp");
        std::fs::write(&tmp, &bytes).expect("write a plugin");
        std::fs::rename(&tmp, to).expect("publish a plugin");
    }
}

/// Builds `crates` for `target` with the plugin profile, in a target directory of its own.
fn build(root: &Path, target_dir: &Path, target: &str, crates: &[String]) {
    ensure_target(target);
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
        .args(["--target", target, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(target_dir.join("plugin-build"));
    for name in crates {
        cargo.args(["-p", name]);
    }
    let status = cargo.status().expect("run cargo for the plugins");
    assert!(status.success(), "building the plugins failed (see above)");
}

/// Package names of the crates in `folder` that build a cdylib.
fn cdylib_crates(folder: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return names;
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
        names.push(name.to_owned());
    }
    names.sort();
    names
}

/// A fresh machine with only the Rust toolchain lacks the wasm targets: add them through
/// rustup, which is idempotent and fast once they are there.
fn ensure_target(target: &str) {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output();
    let installed = libdir.is_ok_and(|o| {
        o.status.success() && Path::new(String::from_utf8_lossy(&o.stdout).trim()).exists()
    });
    if !installed {
        println!("cargo:warning=installing the {target} target with rustup");
        let added = Command::new("rustup")
            .args(["target", "add", target])
            .status();
        assert!(
            added.is_ok_and(|s| s.success()),
            "the {target} target is missing: run `rustup target add {target}`"
        );
    }
}
