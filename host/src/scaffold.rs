//! `orderflow plugin new`: a new plugin crate from the templates in `host/templates/`,
//! which builds into a component as it is and passes its own fixtures, natively
//! (`cargo test`) and through the component (`orderflow plugin test`).
//!
//! In this workspace's `plugins/` the crate takes the workspace's settings (and `build.rs`
//! builds it with the others); anywhere else it is a workspace of its own, whose path
//! dependencies point at this checkout's SDK and fixture crates.

use crate::runtime::PluginKind;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// A template file: where it goes in the new crate, and its text.
type File = (&'static str, &'static str);

macro_rules! files {
    ($($to:literal <- $from:literal),* $(,)?) => {
        &[$(($to, include_str!(concat!("../templates/", $from)))),*]
    };
}

const README: File = ("README.md", include_str!("../templates/README.md"));
const WORKSPACE_MANIFEST: &str = include_str!("../templates/Cargo.workspace.toml");
const STANDALONE_MANIFEST: &str = include_str!("../templates/Cargo.standalone.toml");
/// The workspace's build settings for components (their stack size), which a crate outside
/// the workspace needs beside it.
const STANDALONE_CARGO_CONFIG: File = (
    ".cargo/config.toml",
    include_str!("../../.cargo/config.toml"),
);

/// What a kind's crate holds besides its manifest and README, and the values its templates
/// take (validation and pricing share their glue: one call, on the order draft).
fn template(kind: PluginKind) -> (&'static [File], &'static [(&'static str, &'static str)]) {
    match kind {
        PluginKind::Validation => (
            files![
                "src/lib.rs" <- "order-decision/src/lib.rs",
                "src/rules.rs" <- "validation/src/rules.rs",
                "fixtures/params.json" <- "validation/fixtures/params.json",
                "fixtures/01-valid.json" <- "validation/fixtures/01-valid.json",
                "fixtures/02-every-problem.json" <- "validation/fixtures/02-every-problem.json",
            ],
            &[("call", "validate")],
        ),
        PluginKind::Pricing => (
            files![
                "src/lib.rs" <- "order-decision/src/lib.rs",
                "src/rules.rs" <- "pricing/src/rules.rs",
                "fixtures/params.json" <- "pricing/fixtures/params.json",
                "fixtures/01-quote.json" <- "pricing/fixtures/01-quote.json",
                "fixtures/02-unknown-shipping-method.json"
                    <- "pricing/fixtures/02-unknown-shipping-method.json",
                "fixtures/03-no-discount-codes.json"
                    <- "pricing/fixtures/03-no-discount-codes.json",
            ],
            &[("call", "price")],
        ),
        PluginKind::Lifecycle => (
            files![
                "src/lib.rs" <- "lifecycle/src/lib.rs",
                "src/rules.rs" <- "lifecycle/src/rules.rs",
                "fixtures/params.json" <- "lifecycle/fixtures/params.json",
                "fixtures/01-create.json" <- "lifecycle/fixtures/01-create.json",
                "fixtures/02-ship-unpaid.json" <- "lifecycle/fixtures/02-ship-unpaid.json",
                "fixtures/03-ship-paid.json" <- "lifecycle/fixtures/03-ship-paid.json",
                "fixtures/04-customer-cancels-confirmed.json"
                    <- "lifecycle/fixtures/04-customer-cancels-confirmed.json",
            ],
            &[],
        ),
    }
}

/// Parses a plugin kind as the command line names it.
pub fn kind(name: &str) -> Result<PluginKind, String> {
    PluginKind::ALL
        .into_iter()
        .find(|k| k.interface() == name)
        .ok_or_else(|| format!("`{name}` is not a plugin kind (validation, pricing, lifecycle)"))
}

/// A new plugin crate, as written.
#[derive(Debug)]
pub struct Created {
    pub dir: PathBuf,
    /// In this workspace (its `plugins/`), or a workspace of its own.
    pub in_workspace: bool,
    /// The files written, relative to `dir`.
    pub files: Vec<&'static str>,
    /// Where to run `commands` from.
    pub from: String,
    /// Test natively, build the component, run the fixtures through it.
    pub commands: [String; 3],
}

/// Writes the crate `name` of `kind` to `parent/name`. Refuses a name that is not a plain
/// lowercase crate name and a directory that exists already; writes nothing then.
pub fn new_plugin(kind: PluginKind, name: &str, parent: &Path) -> anyhow::Result<Created> {
    check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        bail!(
            "{} exists already: pick another name or --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let repo = repo_root()?;
    let parent = parent.canonicalize()?;
    let in_workspace = parent == repo.join("plugins");
    let commands = Commands::new(name, in_workspace, &repo, &parent.join(name));
    let (files, values) = template(kind);
    let manifest = if in_workspace {
        WORKSPACE_MANIFEST
    } else {
        STANDALONE_MANIFEST
    };
    let repo = toml_escaped(&repo.to_string_lossy());
    let common = commands.values(name, kind, &repo);
    let values: Vec<_> = common.iter().chain(values).copied().collect();
    let all = [("Cargo.toml", manifest), README].into_iter();
    let standalone = (!in_workspace).then_some(STANDALONE_CARGO_CONFIG);
    let all: Vec<File> = all.chain(standalone).chain(files.iter().copied()).collect();

    // create_dir, not create_dir_all: whoever creates the directory first owns it.
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let written = all.iter().try_for_each(|(path, text)| {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().expect("a file in the crate"))?;
        std::fs::write(&to, render(text, &values))
            .with_context(|| format!("writing {}", to.display()))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(Created {
        dir,
        in_workspace,
        files: all.iter().map(|(path, _)| *path).collect(),
        commands: [
            commands.test,
            commands.build,
            format!(
                "{} plugin test {} {}",
                commands.orderflow, commands.wasm, commands.fixtures
            ),
        ],
        from: commands.from,
    })
}

/// The commands that test, build and try the new crate, as its README and
/// `plugin new` show them.
struct Commands {
    from: String,
    test: String,
    build: String,
    orderflow: String,
    wasm: String,
    fixtures: String,
}

impl Commands {
    fn new(name: &str, in_workspace: bool, repo: &Path, dir: &Path) -> Self {
        let artifact = name.replace('-', "_");
        if in_workspace {
            Commands {
                from: "the orderflow repository's root".into(),
                test: format!("cargo test -p {name}"),
                build: format!(
                    "cargo build -p {name} --target wasm32-unknown-unknown --profile plugin"
                ),
                orderflow: "cargo run -p orderflow --".into(),
                wasm: format!("target/wasm32-unknown-unknown/plugin/{artifact}.wasm"),
                fixtures: format!("plugins/{name}/fixtures"),
            }
        } else {
            Commands {
                from: format!("the crate's directory, {}", dir.display()),
                test: "cargo test".into(),
                build: "cargo build --target wasm32-unknown-unknown --release".into(),
                orderflow: format!(
                    "cargo run --manifest-path {} -p orderflow --",
                    repo.join("Cargo.toml").display()
                ),
                wasm: format!("target/wasm32-unknown-unknown/release/{artifact}.wasm"),
                fixtures: "fixtures".into(),
            }
        }
    }

    /// The values every template may name, e.g. `{{name}}`.
    fn values<'a>(
        &'a self,
        name: &'a str,
        kind: PluginKind,
        repo: &'a str,
    ) -> [(&'static str, &'a str); 9] {
        [
            ("name", name),
            ("kind", kind.interface()),
            ("repo", repo),
            ("from", &self.from),
            ("test", &self.test),
            ("build", &self.build),
            ("orderflow", &self.orderflow),
            ("wasm", &self.wasm),
            ("fixtures", &self.fixtures),
        ]
    }
}

/// The checkout this binary was built from, which holds the SDK the new crate links.
fn repo_root() -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sdk = root.join("plugins/sdk/Cargo.toml");
    if !sdk.is_file() {
        bail!(
            "the plugin SDK is not at {}: run `plugin new` from an orderflow checkout's build",
            sdk.display()
        );
    }
    Ok(root.canonicalize()?)
}

/// A crate name that is also a fine component and plugin name: lowercase letters and
/// digits in words joined by single dashes, starting with a letter; no Rust keyword, and
/// none of the workspace's own crates.
fn check_name(name: &str) -> anyhow::Result<()> {
    const TAKEN: [&str; 3] = ["orderflow", "orderflow-plugin-sdk", "plugin-fixtures"];
    const KEYWORDS: &str = "abstract as async await become box break const continue crate do \
        dyn else enum extern false final fn for gen if impl in let loop macro match mod move \
        mut override priv pub ref return self static struct super trait true try type typeof \
        unsafe unsized use virtual where while yield test core std alloc proc_macro";
    let words = name.split('-');
    let plain = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && words.clone().all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !plain {
        bail!(
            "`{name}` is not a plugin name: lowercase letters and digits, words joined by \
             single dashes, starting with a letter (e.g. my-pricing)"
        );
    }
    if TAKEN.contains(&name) || KEYWORDS.split_whitespace().any(|k| k == name) {
        bail!("`{name}` is taken (a Rust keyword or one of orderflow's own crates)");
    }
    Ok(())
}

/// Replaces each `{{key}}` of `text` by its value.
fn render(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |text, (key, value)| {
        text.replace(&format!("{{{{{key}}}}}"), value)
    })
}

/// A value for a TOML basic string.
fn toml_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["my-pricing", "b2b-lifecycle", "x", "rules2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "My-pricing",
            "my_pricing",
            "-x",
            "x-",
            "x--y",
            "2x",
            "my pricing",
            "../x",
            "self",
            "test",
            "orderflow",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("pricing"), Ok(PluginKind::Pricing));
        assert!(
            kind("shipping")
                .unwrap_err()
                .contains("validation, pricing, lifecycle")
        );
    }

    /// Every template file is used, and every placeholder of each is given a value.
    #[test]
    fn templates_are_complete() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(d).unwrap().flatten() {
                if entry.path().is_dir() {
                    stack.push(entry.path());
                } else {
                    on_disk.push(std::fs::read_to_string(entry.path()).unwrap());
                }
            }
        }
        let mut used: Vec<&str> = vec![README.1, WORKSPACE_MANIFEST, STANDALONE_MANIFEST];
        let commands = Commands::new("x", false, Path::new("/r"), Path::new("/r/x"));
        for kind in PluginKind::ALL {
            let (files, values) = template(kind);
            let common = commands.values("x", kind, "/r");
            let values: Vec<_> = common.iter().chain(values).copied().collect();
            let manifests = [
                ("Cargo.toml", WORKSPACE_MANIFEST),
                ("Cargo.toml", STANDALONE_MANIFEST),
            ];
            for (path, text) in files.iter().chain(&manifests).chain([&README]) {
                let rendered = render(text, &values);
                assert!(!rendered.contains("{{"), "{kind} {path}: {rendered}");
            }
            used.extend(files.iter().map(|(_, text)| *text));
        }
        for text in &on_disk {
            assert!(used.contains(&text.as_str()), "unused template:\n{text}");
        }
    }

    /// A crate outside the workspace builds as the workspace's own plugins do.
    #[test]
    fn a_standalone_crate_has_the_workspace_settings() {
        let table = |text: &str| text.parse::<toml::Table>().unwrap();
        let root = table(include_str!("../../Cargo.toml"));
        let standalone = table(STANDALONE_MANIFEST);
        let (workspace, package) = (&root["workspace"]["package"], &standalone["package"]);
        for key in ["edition", "rust-version", "publish"] {
            assert_eq!(workspace[key], package[key], "{key}");
        }
        let mut plugin = root["profile"]["plugin"].as_table().unwrap().clone();
        plugin.remove("inherits");
        assert_eq!(
            &plugin,
            standalone["profile"]["release"].as_table().unwrap()
        );
    }
}
