//! The README's tour, run as written against the real binary, so its commands cannot rot.
//!
//! The tour is the README's shell block(s) marked `<!-- tour -->`. They run in one
//! `bash -euo pipefail` from the repository's root, with `ORDERFLOW_URL` pointing at a
//! service started here (`PORT=0`, a temporary `DATA_DIR`). Each request in the tour uses
//! `curl --fail-with-body`, so any answer that is not a 2xx stops the script.
//!
//! One substitution is made, and it is checked to apply: the tour mints tokens with
//! `cargo run -q --release -p orderflow -- token …`, which here would start a release build;
//! the test runs the binary cargo built for it instead, the same command-line interface.
//! Server and token command share `JWT_SECRET`, as a reader's share the development secret
//! in `data/`.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MARK: &str = "<!-- tour -->";
const CARGO_RUN: &str = "cargo run -q --release -p orderflow --";
const SECRET: &str = "the README tour's shared secret";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The shell blocks that follow a `<!-- tour -->` line, joined in order.
fn tour(readme: &str) -> String {
    let mut lines = readme.lines();
    let mut blocks = Vec::new();
    while lines.by_ref().any(|line| line.trim() == MARK) {
        let fence = lines.next().unwrap_or_default();
        assert_eq!(
            fence.trim(),
            "```sh",
            "`{MARK}` must come right before a ```sh block"
        );
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        blocks.push(block.join("\n"));
    }
    assert!(!blocks.is_empty(), "README.md has no block marked `{MARK}`");
    blocks.join("\n")
}

/// `orderflow serve`, stopped when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the service on a free port; its base URL, read from the line it prints.
fn serve(data: &Path) -> (Service, String) {
    let log = std::fs::File::create(data.join("service.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .arg("serve")
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATA_DIR", data)
        .env("JWT_SECRET", SECRET)
        .env("PLUGIN_DIR", env!("ORDERFLOW_BUILT_PLUGINS"))
        .env("WORKFLOW_DIR", repo().join("workflows"))
        .env("CATALOG_FILE", repo().join("catalog/products.json"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start orderflow serve");
    let base = common::listening_url(&mut child, &data.join("service.log"));
    let service = Service(child);
    (service, base)
}

#[test]
fn the_readme_tour_runs_against_a_live_service() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let script = tour(&readme);
    assert!(
        script.contains(CARGO_RUN),
        "the tour no longer mints tokens with `{CARGO_RUN}`: update this test's substitution"
    );
    let binary = format!("'{}'", env!("CARGO_BIN_EXE_orderflow"));
    let script = script.replace(CARGO_RUN, &binary);

    let data = tempfile::tempdir().unwrap();
    let (_service, base) = serve(data.path());

    // The script's output goes to a file: a pipe nobody reads while waiting could fill up.
    let output = data.path().join("tour.out");
    let out = std::fs::File::create(&output).unwrap();
    let mut bash = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repo())
        .env("ORDERFLOW_URL", &base)
        .env("JWT_SECRET", SECRET)
        .env("DATA_DIR", data.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("run bash");
    let until = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = bash.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > until {
            let _ = bash.kill();
            let _ = bash.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let printed = std::fs::read_to_string(&output).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "the README tour {} against {base}.\n--- script ---\n{script}\n--- output ---\n{printed}\n--- service log ---\n{}",
        match status {
            Some(s) => format!("failed ({s})"),
            None => "did not finish within 120 s".to_owned(),
        },
        std::fs::read_to_string(data.path().join("service.log")).unwrap_or_default()
    );
}
