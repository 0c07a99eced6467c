//! A Rust plugin: a crate of orderflow's plugin SDK. Its rules are in `src/rules.rs`, the
//! glue in `src/lib.rs` is one macro of the SDK. Started from a standard rule, it has the
//! sources of the workspace's crate of that rule.
//!
//! In this workspace's `plugins/` the crate takes the workspace's settings (and `build.rs`
//! builds it with the others); anywhere else it is a workspace of its own, whose path
//! dependencies point at this checkout's SDK and fixture crates.

use super::{Commands, File, Place, Project, Start, borrowed};
use crate::plugins::PluginKind;

const README: File = ("README.md", include_str!("../../templates/README.md"));
const WORKSPACE_MANIFEST: &str = include_str!("../../templates/Cargo.workspace.toml");
const STANDALONE_MANIFEST: &str = include_str!("../../templates/Cargo.standalone.toml");
/// The workspace's build settings for components (their stack size), which a crate outside
/// the workspace needs beside it.
const STANDALONE_CARGO_CONFIG: File = (
    ".cargo/config.toml",
    include_str!("../../../.cargo/config.toml"),
);

/// The crate of `kind`: its manifest, README, the workspace's settings if it is a workspace
/// of its own, and its sources, the template's or the standard rule's.
pub(super) fn project(kind: PluginKind, name: &str, place: &Place, start: Start) -> Project {
    let (sources, call) = match start {
        Start::Template => sources(kind),
        Start::Standard => (standard_sources(kind), None),
    };
    let manifest = if place.in_workspace {
        WORKSPACE_MANIFEST
    } else {
        STANDALONE_MANIFEST
    };
    let standalone = (!place.in_workspace).then_some(STANDALONE_CARGO_CONFIG);
    let files = [("Cargo.toml", manifest), README].into_iter();
    let repo = toml_escaped(&place.repo.to_string_lossy());
    let call = call.map(|call| ("call", call.to_owned()));
    Project {
        what: if place.in_workspace {
            "a member of the workspace"
        } else {
            "a workspace of its own"
        },
        files: (files.chain(standalone).chain(sources.iter().copied()))
            .map(|file| borrowed(&file))
            .collect(),
        own_values: [("repo", repo)].into_iter().chain(call).collect(),
        commands: commands(name, place),
    }
}

/// A kind's sources, and the call its glue makes if it takes the order draft (validation
/// and pricing share their glue: one call, on the order draft).
fn sources(kind: PluginKind) -> (&'static [File], Option<&'static str>) {
    match kind {
        PluginKind::Validation => (
            files![
                "src/lib.rs" <- "order-decision/src/lib.rs",
                "src/rules.rs" <- "validation/src/rules.rs",
            ],
            Some("validate"),
        ),
        PluginKind::Pricing => (
            files![
                "src/lib.rs" <- "order-decision/src/lib.rs",
                "src/rules.rs" <- "pricing/src/rules.rs",
            ],
            Some("price"),
        ),
        PluginKind::Lifecycle => (
            files![
                "src/lib.rs" <- "lifecycle/src/lib.rs",
                "src/rules.rs" <- "lifecycle/src/rules.rs",
            ],
            None,
        ),
    }
}

/// The sources of the workspace's crate of the standard rule of `kind`.
pub(super) fn standard_sources(kind: PluginKind) -> &'static [File] {
    match kind {
        PluginKind::Validation => files![in "../plugins/standard-validation";
            "src/lib.rs" <- "src/lib.rs",
            "src/rules.rs" <- "src/rules.rs",
            "src/postal.rs" <- "src/postal.rs",
        ],
        PluginKind::Pricing => files![in "../plugins/standard-pricing";
            "src/lib.rs" <- "src/lib.rs",
            "src/rules.rs" <- "src/rules.rs",
        ],
        PluginKind::Lifecycle => files![in "../plugins/standard-lifecycle";
            "src/lib.rs" <- "src/lib.rs",
            "src/rules.rs" <- "src/rules.rs",
        ],
    }
}

fn commands(name: &str, place: &Place) -> Commands {
    let artifact = name.replace('-', "_");
    if place.in_workspace {
        Commands {
            from: "the orderflow repository's root".into(),
            test: format!("cargo test -p {name}"),
            build: format!(
                "cargo build -p {name} --target wasm32-unknown-unknown --profile plugin"
            ),
            orderflow: place.orderflow.clone(),
            wasm: format!("target/wasm32-unknown-unknown/plugin/{artifact}.wasm"),
            fixtures: format!("plugins/{name}/fixtures"),
        }
    } else {
        Commands {
            from: format!("the crate's directory, {}", place.dir.display()),
            test: "cargo test".into(),
            build: "cargo build --target wasm32-unknown-unknown --release".into(),
            orderflow: place.orderflow.clone(),
            wasm: format!("target/wasm32-unknown-unknown/release/{artifact}.wasm"),
            fixtures: "fixtures".into(),
        }
    }
}

/// A value for a TOML basic string.
fn toml_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate outside the workspace builds as the workspace's own plugins do.
    #[test]
    fn a_standalone_crate_has_the_workspace_settings() {
        let table = |text: &str| text.parse::<toml::Table>().unwrap();
        let root = table(include_str!("../../../Cargo.toml"));
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
