//! Shared by the host's integration tests: the components built by `build.rs`, a sample
//! order, and a workflow directory set up in a temporary folder.
#![allow(dead_code)] // each test binary uses a different part

use orderflow::domain::{Address, LineItem, Money, OrderDraft, ProductSnapshot};
use orderflow::plugins::{LoadedComponent, Runtime, RuntimeConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A component built by `build.rs`: from `plugins/` or, for the test suite's own,
/// `tests/hostile/`.
pub fn built(name: &str) -> PathBuf {
    let dir = if repo_root().join("tests/hostile").join(name).is_dir() {
        env!("ORDERFLOW_TEST_PLUGINS")
    } else {
        env!("ORDERFLOW_BUILT_PLUGINS")
    };
    Path::new(dir).join(format!("{name}.wasm"))
}

/// The URL a started `orderflow serve` prints once it listens (`PORT=0` picks the port);
/// what it logged to `log` if it does not start within a minute.
pub fn listening_url(child: &mut std::process::Child, log: &Path) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("orderflow listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "the service did not start: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        })
}

/// Runs the `orderflow` binary: its exit code, and what it printed (stdout, then stderr).
pub fn orderflow(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// `command` without the variables cargo sets for this test process (its package's, its
/// target directory, compiler settings), so a cargo it starts runs as an author's would;
/// `CARGO_HOME` and cargo's network settings stay.
pub fn as_an_author(command: &mut std::process::Command) -> &mut std::process::Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let keep = key == "CARGO_HOME" || key.starts_with("CARGO_NET_");
        if (key.starts_with("CARGO_") || key.starts_with("RUSTC_") || key == "RUSTFLAGS") && !keep {
            command.env_remove(key.as_ref());
        }
    }
    command
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn runtime() -> Arc<Runtime> {
    Runtime::new(RuntimeConfig {
        prepared_instances: 2,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

pub fn load(runtime: &Runtime, name: &str) -> Arc<LoadedComponent> {
    runtime
        .load(name, &std::fs::read(built(name)).unwrap())
        .unwrap()
}

/// 2026-11-25T12:00:00Z
pub const NOW: i64 = 1_795_608_000_000;

/// A valid order of `items` lines to California, 12.50 a unit.
pub fn draft(items: usize) -> OrderDraft {
    let usd = "USD".parse().unwrap();
    OrderDraft {
        user_id: "user-1".into(),
        items: (0..items)
            .map(|i| LineItem {
                product: ProductSnapshot {
                    product_id: format!("p{i}"),
                    name: format!("Product {i}"),
                    sku: format!("SKU-{i}"),
                    unit_price: Money::new(1250, usd),
                    stock: 100,
                    active: true,
                    available: None,
                },
                quantity: 2,
            })
            .collect(),
        shipping_address: Address::example(),
        shipping_method: "standard".into(),
        payment_method: "card".into(),
        discount_code: None,
    }
}

/// A plugin directory holding the standard components and the repo's workflows, in a
/// temporary folder the test may change.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plugins")).unwrap();
        std::fs::create_dir(dir.path().join("workflows")).unwrap();
        let sandbox = Sandbox { dir };
        for name in [
            "standard-validation",
            "standard-pricing",
            "standard-lifecycle",
        ] {
            sandbox.put_plugin(name, &std::fs::read(built(name)).unwrap());
        }
        let standard =
            std::fs::read_to_string(repo_root().join("workflows/standard.toml")).unwrap();
        sandbox.put_workflow("standard", &standard);
        sandbox
    }

    pub fn plugins(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    pub fn workflows(&self) -> PathBuf {
        self.dir.path().join("workflows")
    }

    /// Publishes by write-then-rename, as ops are told to.
    pub fn put_plugin(&self, name: &str, bytes: &[u8]) {
        let tmp = self.dir.path().join(format!("{name}.wasm.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(tmp, self.plugins().join(format!("{name}.wasm"))).unwrap();
    }

    pub fn put_workflow(&self, name: &str, text: &str) {
        let tmp = self.dir.path().join(format!("{name}.toml.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, self.workflows().join(format!("{name}.toml"))).unwrap();
    }
}
