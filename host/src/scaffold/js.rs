//! A JavaScript plugin: an npm project built into a component by jco's QuickJS backend, as
//! `plugins/standard-pricing-js` is. Its rules are in `src/rules.js`, the glue in
//! `src/plugin.js`, and the component is built from `src/component.js`, which exports the
//! glue with the host's `log` connected; `src/sdk.js` (and a lifecycle's `src/machine.js`)
//! port what the Rust plugin SDK gives a crate. It carries the contract (`wit/`) and pins
//! jco with every dependency (`package-lock.json`, the tree `plugins/standard-pricing-js`
//! builds with), so it builds anywhere with Node and npm.

use super::{Commands, File, Place, Project, WIT};
use crate::plugins::PluginKind;

/// What every kind's project holds besides its rules, glue and tests.
const COMMON: &[File] = files![
    "README.md" <- "js/README.md",
    ".gitignore" <- "js/.gitignore",
    "package.json" <- "js/package.json",
    "package-lock.json" <- "js/package-lock.json",
    "src/sdk.js" <- "js/src/sdk.js",
    "src/component.js" <- "js/src/component.js",
    "test/fixtures.test.js" <- "js/test/fixtures.test.js",
];

/// The exact JSON reader of the hand-written JavaScript pricing rule, the one copy of it:
/// the workflow's parameters read with integers kept exact.
const JSON_JS: File = (
    "src/json.js",
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../plugins/standard-pricing-js/src/json.js"
    )),
);

pub(super) fn project(kind: PluginKind, name: &str, place: &Place) -> Project {
    let files = COMMON.iter().chain(sources(kind)).copied();
    Project {
        what: "a JavaScript project",
        files: files.chain([JSON_JS, WIT]).collect(),
        own_values: Vec::new(),
        commands: Commands::in_project(name, place, "npm ci && npm test", "npm run build"),
    }
}

/// A kind's rules, glue and unit tests.
fn sources(kind: PluginKind) -> &'static [File] {
    match kind {
        PluginKind::Validation => files![
            "src/rules.js" <- "js/validation/src/rules.js",
            "src/plugin.js" <- "js/validation/src/plugin.js",
            "test/rules.test.js" <- "js/validation/test/rules.test.js",
        ],
        PluginKind::Pricing => files![
            "src/rules.js" <- "js/pricing/src/rules.js",
            "src/plugin.js" <- "js/pricing/src/plugin.js",
            "test/rules.test.js" <- "js/pricing/test/rules.test.js",
        ],
        PluginKind::Lifecycle => files![
            "src/rules.js" <- "js/lifecycle/src/rules.js",
            "src/machine.js" <- "js/lifecycle/src/machine.js",
            "src/plugin.js" <- "js/lifecycle/src/plugin.js",
            "test/rules.test.js" <- "js/lifecycle/test/rules.test.js",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn template(path: &str) -> Value {
        json(COMMON.iter().find(|(to, _)| *to == path).unwrap().1)
    }

    /// `npm ci` installs a project only if its lock file and package.json agree; the lock
    /// pins the tree the hand-written JavaScript plugin builds with, and the jco that
    /// plugins/toolchains.sh installs.
    #[test]
    fn the_lock_file_pins_what_package_json_and_toolchains_sh_ask() {
        let (package, lock) = (template("package.json"), template("package-lock.json"));
        let root = &lock["packages"][""];
        for key in ["name", "version", "devDependencies", "engines"] {
            assert_eq!(root[key], package[key], "{key}");
        }
        assert_eq!(lock["name"], package["name"]);
        let port = json(include_str!(
            "../../../plugins/standard-pricing-js/package-lock.json"
        ));
        let dependencies = |lock: &Value| {
            let mut packages = lock["packages"].as_object().unwrap().clone();
            packages.remove("");
            packages
        };
        assert_eq!(dependencies(&lock), dependencies(&port));
        let toolchains = include_str!("../../../plugins/toolchains.sh");
        let jco = toolchains
            .lines()
            .find_map(|line| line.strip_prefix("jco_version="))
            .unwrap();
        assert_eq!(package["devDependencies"]["@bytecodealliance/jco"], jco);
    }
}
