//! `orderflow plugin new`: a new plugin from the templates in `host/templates/`, written in
//! Rust (a crate), JavaScript or Python (a project; one module per language), which builds
//! into a component as it is and passes its own fixtures, natively (the language's unit
//! tests) and through the component (`orderflow plugin test`).
//!
//! A kind's plugin starts with the same rules in every language and is held to the same
//! fixture files (`host/templates/<kind>/fixtures`), so the three answer alike. With
//! `--from standard-<kind>` it starts from the workspace's standard rule of its kind instead,
//! in a language it is written in (`standard.rs`).
//!
//! The plugins in JavaScript and Python depend on their language's SDK, the package
//! `plugins/sdk-js` or `plugins/sdk-py`, which each project carries a copy of.

/// Files of this repository, each `"path in the plugin" <- "path"`, the path under
/// `host/templates/` or, after `in "dir";`, under `dir` (relative to `host/`).
macro_rules! files {
    ($($to:literal <- $from:literal),* $(,)?) => {
        files!(in "templates"; $($to <- $from),*)
    };
    (in $dir:literal; $($to:literal <- $from:literal),* $(,)?) => {
        &[$((
            $to,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir, "/", $from)),
        )),*]
    };
}

mod js;
mod python;
mod rust;
mod standard;
mod workspace;

use crate::plugins::PluginKind;
use anyhow::{Context, bail};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A file of this repository: where it goes in the new plugin, and its text.
type File = (&'static str, &'static str);

/// A file of the new plugin: where it goes, and its text (a [`File`]'s, or one made for it).
type Written = (&'static str, Cow<'static, str>);

/// The language a plugin is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate of orderflow's plugin SDK.
    Rust,
    /// A project built with jco (QuickJS).
    Js,
    /// A project built with componentize-py (CPython).
    Python,
}

impl Lang {
    /// As `--lang` names it.
    fn name(self) -> String {
        let value = clap::ValueEnum::to_possible_value(&self).expect("no language is skipped");
        value.get_name().to_owned()
    }
}

/// The contract, copied into a JavaScript or Python project, which builds against it and so
/// builds outside this repository.
const WIT: File = (
    "wit/orderflow.wit",
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wit/since_v0.5.0/orderflow.wit"
    )),
);

/// A kind's fixtures, which its plugin passes in every language.
fn fixtures(kind: PluginKind) -> &'static [File] {
    match kind {
        PluginKind::Validation => files![
            "fixtures/params.json" <- "validation/fixtures/params.json",
            "fixtures/01-valid.json" <- "validation/fixtures/01-valid.json",
            "fixtures/02-every-problem.json" <- "validation/fixtures/02-every-problem.json",
        ],
        PluginKind::Pricing => files![
            "fixtures/params.json" <- "pricing/fixtures/params.json",
            "fixtures/01-quote.json" <- "pricing/fixtures/01-quote.json",
            "fixtures/02-unknown-shipping-method.json"
                <- "pricing/fixtures/02-unknown-shipping-method.json",
            "fixtures/03-no-discount-codes.json" <- "pricing/fixtures/03-no-discount-codes.json",
        ],
        PluginKind::Lifecycle => files![
            "fixtures/params.json" <- "lifecycle/fixtures/params.json",
            "fixtures/01-create.json" <- "lifecycle/fixtures/01-create.json",
            "fixtures/02-ship-unpaid.json" <- "lifecycle/fixtures/02-ship-unpaid.json",
            "fixtures/03-ship-paid.json" <- "lifecycle/fixtures/03-ship-paid.json",
            "fixtures/04-customer-cancels-confirmed.json"
                <- "lifecycle/fixtures/04-customer-cancels-confirmed.json",
            "fixtures/05-customer-changes-items.json"
                <- "lifecycle/fixtures/05-customer-changes-items.json",
            "fixtures/06-return-undelivered.json"
                <- "lifecycle/fixtures/06-return-undelivered.json",
            "fixtures/07-refund.json" <- "lifecycle/fixtures/07-refund.json",
        ],
    }
}

/// What a new plugin starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// The kind's template: a small rule, to make one's own.
    Template,
    /// The workspace's standard rule of the kind (`plugins/standard-<kind>`), or its port to
    /// the plugin's language.
    Standard,
}

/// A standard rule written in JavaScript or Python, as a project has it: its files, as they
/// are but for the expression with which its tests find the rule's fixtures and unit-test
/// parameters: `rule.0`, beside the Rust rule in this repository (its ports share them),
/// becomes `rule.1`, the project's root, where the project has them.
struct Port {
    files: &'static [File],
    rule: (&'static str, &'static str),
}

impl Port {
    fn files(&self) -> Vec<Written> {
        let (here, there) = self.rule;
        (self.files.iter())
            .map(|&(path, text)| {
                let text = if text.contains(here) {
                    Cow::Owned(text.replace(here, there))
                } else {
                    Cow::Borrowed(text)
                };
                (path, text)
            })
            .collect()
    }
}

/// Parses a plugin kind as the command line names it.
pub fn kind(name: &str) -> Result<PluginKind, String> {
    PluginKind::ALL
        .into_iter()
        .find(|k| k.interface() == name)
        .ok_or_else(|| format!("`{name}` is not a plugin kind (validation, pricing, lifecycle)"))
}

/// A new plugin, as written.
#[derive(Debug)]
pub struct Created {
    pub dir: PathBuf,
    /// What it is: a member of the workspace, a workspace of its own, a JavaScript project…
    pub what: String,
    /// The files written, relative to `dir`.
    pub files: Vec<&'static str>,
    /// Where to run `commands` from.
    pub from: String,
    /// Test natively, build the component, run the fixtures through it.
    pub commands: [String; 3],
}

/// Where a new plugin goes.
struct Place {
    /// The checkout this binary was built from.
    repo: PathBuf,
    /// The plugin's directory.
    dir: PathBuf,
    /// In the workspace's `plugins/`.
    in_workspace: bool,
    /// The command that runs orderflow, as the plugin's commands run it.
    orderflow: String,
}

/// A new plugin as its language has it.
struct Project {
    /// What it is, as `plugin new` says.
    what: &'static str,
    /// Its files.
    files: Vec<Written>,
    /// Values of its own placeholders, besides those of [`Commands::values`].
    own_values: Vec<(&'static str, String)>,
    commands: Commands,
}

impl Project {
    /// The value of every placeholder of its templates.
    fn values<'a>(&'a self, name: &'a str, kind: PluginKind) -> Vec<(&'static str, &'a str)> {
        (self.commands.values(name, kind).into_iter())
            .chain(
                self.own_values
                    .iter()
                    .map(|(key, value)| (*key, value.as_str())),
            )
            .collect()
    }
}

/// The plugin `name` of `kind` in `lang`, from `start`, which [`standard::check`] has found
/// written in `lang`: its language's files, and the fixtures every language's plugin of
/// the start has alike.
fn project(
    lang: Lang,
    kind: PluginKind,
    name: &str,
    place: &Place,
    start: Start,
) -> anyhow::Result<Project> {
    let mut project = match lang {
        Lang::Rust => rust::project(kind, name, place, start),
        Lang::Js => js::project(kind, name, place, start),
        Lang::Python => python::project(kind, name, place, start),
    };
    project.files.extend(match start {
        Start::Template => fixtures(kind).iter().map(borrowed).collect(),
        Start::Standard => standard::data(kind)?,
    });
    let mut new = format!("orderflow plugin new {kind} {name}");
    if lang != Lang::Rust {
        new += &format!(" --lang {}", lang.name());
    }
    if start == Start::Standard {
        new += &format!(" --from {}", standard::name(kind));
    }
    project.own_values.push(("new", new));
    Ok(project)
}

/// Writes the plugin `name` of `kind` in `lang` to `parent/name`, from the kind's template
/// or, with `from`, from the standard rule so named; a project that is no crate written into
/// the workspace's `plugins/` is added to the workspace's `exclude` (`workspace.rs`).
/// Refuses a name that is not a plain lowercase crate name, a directory that exists already
/// and a standard rule that is not of `kind` or not written in `lang`; writes nothing then.
pub fn new_plugin(
    kind: PluginKind,
    name: &str,
    lang: Lang,
    from: Option<&str>,
    parent: &Path,
) -> anyhow::Result<Created> {
    check_name(name)?;
    let start = match from {
        Some(from) => standard::check(from, kind, lang).map(|()| Start::Standard)?,
        None => Start::Template,
    };
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
    let place = Place {
        orderflow: orderflow_command(&repo, in_workspace),
        in_workspace,
        dir: parent.join(name),
        repo,
    };
    let project = project(lang, kind, name, &place, start)?;
    let values = project.values(name, kind);
    let files = &project.files;
    // Cargo takes every directory of the workspace's `plugins/*` for a member crate, and
    // fails on one without a `Cargo.toml`.
    let excluded = place.in_workspace && !files.iter().any(|(path, _)| *path == "Cargo.toml");

    // create_dir, not create_dir_all: whoever creates the directory first owns it.
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let written = files
        .iter()
        .try_for_each(|(path, text)| {
            let to = dir.join(path);
            std::fs::create_dir_all(to.parent().expect("a file in the plugin"))?;
            std::fs::write(&to, render(text, &values))
                .with_context(|| format!("writing {}", to.display()))
        })
        .and_then(|()| {
            if excluded {
                workspace::exclude(&place.repo, &format!("plugins/{name}"))
            } else {
                Ok(())
            }
        });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    let mut what = project.what.to_owned();
    if start == Start::Standard {
        what += &format!(" of the standard {kind} rule");
    }
    if excluded {
        what += ", excluded from the cargo workspace";
    }
    let commands = project.commands;
    Ok(Created {
        dir,
        what,
        files: files.iter().map(|(path, _)| *path).collect(),
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

/// The commands that test, build and try the new plugin, as its README and `plugin new`
/// show them.
struct Commands {
    from: String,
    test: String,
    build: String,
    orderflow: String,
    wasm: String,
    fixtures: String,
}

impl Commands {
    /// The values every template may name, e.g. `{{name}}`.
    fn values<'a>(&'a self, name: &'a str, kind: PluginKind) -> [(&'static str, &'a str); 8] {
        [
            ("name", name),
            ("kind", kind.interface()),
            ("from", &self.from),
            ("test", &self.test),
            ("build", &self.build),
            ("orderflow", &self.orderflow),
            ("wasm", &self.wasm),
            ("fixtures", &self.fixtures),
        ]
    }

    /// Those of a JavaScript or Python project: run from its directory, wherever it is,
    /// its component `<name>.wasm` beside its fixtures.
    fn in_project(name: &str, place: &Place, test: &str, build: &str) -> Self {
        Commands {
            from: format!("the project's directory, {}", place.dir.display()),
            test: test.into(),
            build: build.into(),
            orderflow: place.orderflow.clone(),
            wasm: format!("{name}.wasm"),
            fixtures: "fixtures".into(),
        }
    }
}

/// The command that runs orderflow for the new plugin's commands: this binary, which is
/// built already (a `cargo run` of the workspace would first build the whole service, in
/// debug unless told otherwise), or, if where it is cannot be told, a release build of the
/// checkout it was built from.
fn orderflow_command(repo: &Path, in_workspace: bool) -> String {
    match std::env::current_exe() {
        Ok(exe) => shell_word(&exe.to_string_lossy()),
        // From the workspace (or a directory of it), cargo finds its manifest.
        Err(_) if in_workspace => "cargo run --release -p orderflow --".into(),
        Err(_) => format!(
            "cargo run --release --manifest-path {} -p orderflow --",
            shell_word(&repo.join("Cargo.toml").to_string_lossy())
        ),
    }
}

/// `word` as a shell reads it back: as it is if nothing in it is special to a shell, else
/// single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && (word.bytes()).all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,=".contains(&b));
    if plain {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A [`File`] as it is written.
fn borrowed(&(path, text): &File) -> Written {
    (path, Cow::Borrowed(text))
}

/// The checkout this binary was built from, which holds the SDK a Rust plugin links and
/// the `orderflow` the new plugin's commands run.
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

/// A crate name that is also a fine component, plugin and npm package name: lowercase
/// letters and digits in words joined by single dashes, starting with a letter; no Rust
/// keyword, and none of the workspace's own crates.
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

#[cfg(test)]
mod tests;
