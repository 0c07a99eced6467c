//! The commands of the README and `docs/`, run as written against the real binary, so they
//! cannot rot.
//!
//! A shell block right after a `<!-- runs -->` line is run. Every other shell block of
//! `README.md` and `docs/*.md` is listed in [`NOT_RUN`] with the reason, so a new block fails
//! [`every_shell_block_runs_or_says_why_not`] until someone decides.
//!
//! A [`Walk`] is documents whose marked blocks run in one `bash -euo pipefail`, in order,
//! from the repository's root: a document relies on what those before it set (the docs use
//! the variables of the README's tour). The service is started here (`PORT=0`, temporary
//! `DATA_DIR`, `PLUGIN_DIR` and `WORKFLOW_DIR`, the last two copies of the built plugins and
//! of `workflows/`). The script is given `ORDERFLOW_URL` and those directories: the docs'
//! commands use them when set, and otherwise what a reader's service uses
//! (`http://localhost:8003`, `target/plugins`, `workflows`). Each request uses
//! `curl --fail-with-body`, so any answer that is not a 2xx stops the script.
//!
//! One substitution is made, and it is checked to apply: the docs run orderflow with
//! `cargo run -q --release -p orderflow -- …`, which here would start a release build; the
//! test runs the binary cargo built for it instead, the same command-line interface, and no
//! other `cargo run` may remain. Server and token command share `JWT_SECRET`, as a reader's
//! share the development secret in `data/`. A plugin author's crate goes to a temporary
//! `PLUGIN_CRATES` (a reader's, to `~/orderflow-plugins`); cargo runs as an author's would (none of the variables cargo sets for
//! this test), offline (the crates it needs are those the workspace's build fetched), with a
//! `CARGO_TARGET_DIR` kept between runs (one run at a time), so a rerun compiles only the
//! new crate.

mod common;

use common::{as_an_author, built, repo_root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MARK: &str = "<!-- runs -->";
const CARGO_RUN: &str = "cargo run -q --release -p orderflow --";
const SECRET: &str = "the docs' shared secret";

/// The shell blocks not run: the document, how the block begins, why.
const NOT_RUN: [(&str, &str, &str); 13] = [
    (
        "README.md",
        "cargo run --release -p orderflow -- serve",
        "the service, which runs until stopped (every walk starts it), and the test suite, \
         which runs this test",
    ),
    (
        "docs/writing-plugins.md",
        "bash plugins/languages.sh",
        "the JavaScript and Python plugins' build and tests, which tests/run.sh runs before \
         the Rust suite",
    ),
    (
        "docs/production.md",
        "docker compose up --build",
        "needs a Docker engine, which the build machines do not run (host/tests/deploy.rs \
         checks the compose file and Dockerfile instead)",
    ),
    (
        "docs/benchmarks.md",
        "cargo bench -p orderflow --bench decisions",
        "a benchmark: minutes of a quiet machine",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/http-load.sh 10 64",
        "a benchmark: minutes of a quiet machine, and wrk",
    ),
    (
        "docs/benchmarks.md",
        "ORDERFLOW_TEST_MONGODB_URL=… bash host/benches/http-load.sh",
        "a benchmark against a genuine MongoDB the reader names",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/rules-load.sh 10 32 3 10000",
        "a benchmark: a minute of both cores, and wrk",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/soak.sh 10 64",
        "a benchmark: ten minutes of both cores, and wrk",
    ),
    (
        "docs/benchmarks.md",
        "cargo bench -p orderflow --bench live",
        "a benchmark: a minute of a quiet machine",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/relay.sh",
        "a benchmark: minutes of a quiet machine",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/languages-load.sh 10 32 3 2",
        "a benchmark: a minute of both cores, and wrk",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/stock-load.sh 5 64 embedded",
        "a benchmark: a minute of both cores on each store, and wrk",
    ),
    (
        "docs/benchmarks.md",
        "bash host/benches/replicas.sh 10 48",
        "a benchmark: replicas on the test database, wrk; the test it names runs in the suite",
    ),
];

/// Documents run in one shell, in order, on one service.
struct Walk {
    docs: &'static [&'static str],
    /// What the script must print: figures the documents' prose states.
    prints: &'static [&'static str],
    within: Duration,
}

const TOUR: Walk = Walk {
    docs: &["README.md", "docs/order-changes.md"],
    prints: &[],
    within: Duration::from_secs(120),
};

/// Building the author's crate natively and for wasm: minutes on a busy 2-core machine
/// the first time, seconds when its dependencies are built.
const PLUGIN_AUTHOR: Walk = Walk {
    docs: &[
        "README.md",
        "docs/writing-plugins.md",
        "docs/plugin-operations.md",
    ],
    prints: &[
        "tax at 825 bp",
        r#""total":{"minor":5913,"currency":"USD"}"#,
        "free standard shipping from 50.00",
        r#""total":{"minor":-500,"currency":"USD"}"#,
        // Four widgets priced by the JavaScript and the Python port of the standard rule.
        r#""total":{"minor":5363,"currency":"USD"}"#,
        r#""plugin":"shop-js""#,
        r#""plugin":"shop-py""#,
    ],
    within: Duration::from_secs(20 * 60),
};

const WALKS: [&Walk; 2] = [&TOUR, &PLUGIN_AUTHOR];

/// A shell block of a document.
struct Block {
    /// The line of its opening fence, from 1.
    line: usize,
    marked: bool,
    /// Without the indentation of its fence (a block in a list is indented).
    text: String,
}

/// The shell blocks of `doc`, in order.
fn shell_blocks(doc: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo_root().join(doc)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut fence = 0;
    while fence < lines.len() {
        let marked = lines[fence].trim() == MARK;
        if marked {
            assert_eq!(
                lines.get(fence + 1).map(|l| l.trim()),
                Some("```sh"),
                "{doc}:{}: `{MARK}` must come right before a ```sh block",
                fence + 1
            );
            fence += 1;
        }
        let Some(info) = lines[fence].trim_start().strip_prefix("```") else {
            fence += 1;
            continue;
        };
        let indent = lines[fence].len() - lines[fence].trim_start().len();
        let body: Vec<&str> = (lines[fence + 1..].iter())
            .take_while(|l| l.trim() != "```")
            .map(|l| &l[indent.min(l.len() - l.trim_start_matches(' ').len())..])
            .collect();
        let language = info.split_whitespace().next().unwrap_or_default();
        if ["sh", "bash", "shell", "console", "zsh"].contains(&language) {
            blocks.push(Block {
                line: fence + 1,
                marked,
                text: body.join("\n"),
            });
        }
        fence += body.len() + 2;
    }
    blocks
}

/// `README.md` and `docs/*.md`.
fn documents() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".into());
    docs
}

#[test]
fn every_shell_block_runs_or_says_why_not() {
    let mut unexplained = Vec::new();
    let mut explained = vec![0; NOT_RUN.len()];
    for doc in documents() {
        let blocks = shell_blocks(&doc);
        let walked = WALKS.iter().any(|w| w.docs.contains(&doc.as_str()));
        for block in blocks {
            let listed: Vec<usize> = (0..NOT_RUN.len())
                .filter(|&n| NOT_RUN[n].0 == doc && block.text.starts_with(NOT_RUN[n].1))
                .collect();
            listed.iter().for_each(|&n| explained[n] += 1);
            let problem = match (block.marked, listed.len()) {
                (true, 0) if walked => continue,
                (true, 0) => "is marked, but no walk of this test runs its document",
                (true, _) => "is marked, and listed as not run",
                (false, 1) => continue,
                (false, 0) => "is neither marked nor listed as not run",
                (false, _) => "is listed as not run more than once",
            };
            unexplained.push(format!("{doc}:{}: the block {problem}", block.line));
        }
    }
    for (n, (doc, begins, _)) in NOT_RUN.iter().enumerate() {
        if explained[n] != 1 {
            unexplained.push(format!(
                "{doc}: `{begins}` is listed as not run, but begins {} unmarked blocks",
                explained[n]
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "mark a block that runs with `{MARK}`, or list it in NOT_RUN with the reason:\n{}",
        unexplained.join("\n")
    );
}

/// The paths the README's layout names: each line's names (before the description, which
/// starts after two spaces), a line indented by two relative to the unindented one above
/// it; a line indented further continues a description.
fn layout_paths(readme: &str) -> Vec<String> {
    let block = readme.split("## Layout").nth(1).expect("a layout section");
    let block = block.split("```\n").nth(1).expect("a code block in it");
    let mut paths = Vec::new();
    let mut parent = String::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        if indent > 2 {
            continue; // a description's continuation
        }
        let indented = indent == 2;
        let names = line.trim_start().split("  ").next().unwrap_or_default();
        for name in names.split(", ").map(str::trim) {
            match indented {
                true => paths.push(format!("{parent}{name}")),
                false => paths.push(name.to_owned()),
            }
        }
        if !indented {
            parent = names.trim().to_owned();
        }
    }
    paths
}

#[test]
fn the_readme_layout_names_only_what_the_tree_holds() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let paths = layout_paths(&readme);
    assert!(paths.len() > 20, "{paths:?}");
    assert!(paths.contains(&"host/src/plugins/".to_owned()), "{paths:?}");
    let missing: Vec<&String> = (paths.iter())
        .filter(|p| !repo_root().join(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the layout names what is not there: {missing:?}"
    );
}

#[test]
fn the_readme_tour_runs_against_a_live_service() {
    walk(&TOUR);
}

#[test]
fn writing_a_plugin_and_operating_it_run_against_a_live_service() {
    walk(&PLUGIN_AUTHOR);
}

/// The marked blocks of `walk`'s documents as one script, each after a line naming it.
fn script(walk: &Walk) -> String {
    let mut script = String::new();
    for doc in walk.docs {
        let blocks: Vec<Block> = shell_blocks(doc).into_iter().filter(|b| b.marked).collect();
        assert!(!blocks.is_empty(), "{doc} has no block marked `{MARK}`");
        for block in blocks {
            script += &format!("echo '### {doc}:{}'\n{}\n", block.line, block.text);
        }
    }
    assert!(
        script.contains(CARGO_RUN),
        "the docs no longer run orderflow with `{CARGO_RUN}`: update this test's substitution"
    );
    let script = script.replace(CARGO_RUN, &format!("'{}'", env!("CARGO_BIN_EXE_orderflow")));
    assert!(
        !script.contains("cargo run"),
        "a `cargo run` other than `{CARGO_RUN}` would build the workspace:\n{script}"
    );
    script
}

fn walk(walk: &Walk) {
    let script = script(walk);
    // Two test runs at once would overwrite each other's builds in the kept directory.
    let _one_at_a_time = script.contains("cargo ").then(|| {
        let lock = std::fs::File::create(kept_target_dir().with_extension("lock")).unwrap();
        lock.lock().unwrap();
        lock
    });
    let dir = tempfile::tempdir().unwrap();
    let (plugins, workflows) = (dir.path().join("plugins"), dir.path().join("workflows"));
    copy_files(Path::new(env!("ORDERFLOW_BUILT_PLUGINS")), &plugins, "wasm");
    copy_files(&repo_root().join("workflows"), &workflows, "toml");
    let (_service, base) = serve(dir.path(), &plugins, &workflows);

    // The script's output goes to a file: a pipe nobody reads while waiting could fill up.
    let output = dir.path().join("script.out");
    let out = std::fs::File::create(&output).unwrap();
    let mut bash = as_an_author(&mut Command::new("bash"))
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repo_root())
        .env("ORDERFLOW_URL", &base)
        .env("JWT_SECRET", SECRET)
        .env("DATA_DIR", dir.path())
        .env("PLUGIN_DIR", &plugins)
        .env("WORKFLOW_DIR", &workflows)
        .env("PLUGIN_CRATES", dir.path().join("crates"))
        .env("CARGO_TARGET_DIR", kept_target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("run bash");
    let until = Instant::now() + walk.within;
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
    let missing: Vec<&str> = (walk.prints.iter())
        .filter(|p| !printed.contains(**p))
        .copied()
        .collect();
    let outcome = match status {
        Some(s) if !s.success() => format!("failed ({s}) after the last `###` line printed"),
        Some(_) if missing.is_empty() => return,
        Some(_) => format!("did not print {missing:?}"),
        None => format!("did not finish within {:?}", walk.within),
    };
    panic!(
        "{:?} {outcome}, against {base}.\n--- script ---\n{script}\n--- output ---\n{printed}\n--- service log ---\n{}",
        walk.docs,
        std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
    );
}

/// Where the walks' cargo builds, kept between runs beside the plugins `build.rs` publishes.
fn kept_target_dir() -> PathBuf {
    let plugins = built("standard-pricing");
    plugins.parent().unwrap().with_file_name("docs-test")
}

fn copy_files(from: &Path, to: &Path, extension: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == extension) {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
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
fn serve(data: &Path, plugins: &Path, workflows: &Path) -> (Service, String) {
    let log = std::fs::File::create(data.join("service.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .arg("serve")
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATA_DIR", data)
        .env("JWT_SECRET", SECRET)
        .env("PLUGIN_DIR", plugins)
        .env("WORKFLOW_DIR", workflows)
        .env("CATALOG_FILE", repo_root().join("catalog/products.json"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start orderflow serve");
    let base = common::listening_url(&mut child, &data.join("service.log"));
    (Service(child), base)
}
