//! A JavaScript plugin: an npm project built into a component by jco's QuickJS backend, as
//! `plugins/standard-pricing-js` is. Its rules are in `src/rules.js`, the glue in
//! `src/plugin.js`, and the component is built from `src/component.js`, which exports the
//! glue with the host's `log` connected. It depends on the SDK, `@orderflow/sdk`
//! (`plugins/sdk-js`), a copy of which it carries in `sdk/` (`"file:./sdk"`); it carries
//! the contract (`wit/`) too, and pins jco with every dependency (`package-lock.json`, the
//! tree `plugins/standard-pricing-js` builds with), so it builds anywhere with Node and npm.

use super::{Commands, File, Place, Port, Project, Start, WIT, borrowed};
use crate::plugins::PluginKind;

/// What every project holds besides its rules, glue and tests.
const COMMON: &[File] = files![
    "README.md" <- "js/README.md",
    ".gitignore" <- "js/.gitignore",
    "package.json" <- "js/package.json",
    "package-lock.json" <- "js/package-lock.json",
];
/// The component's entry, every project's: the JavaScript pricing rule's, the one copy of it.
const COMPONENT: &[File] = files![in "../plugins/standard-pricing-js";
    "src/component.js" <- "src/component.js",
];

/// The SDK, the package `plugins/sdk-js`: the files it publishes (its package.json's
/// `files`), which the project's `sdk/` holds.
const SDK: &[File] = files![in "../plugins/sdk-js";
    "sdk/package.json" <- "package.json",
    "sdk/README.md" <- "README.md",
    "sdk/sdk.js" <- "sdk.js",
    "sdk/json.js" <- "json.js",
    "sdk/machine.js" <- "machine.js",
    "sdk/testing.js" <- "testing.js",
];

pub(super) fn project(kind: PluginKind, name: &str, place: &Place, start: Start) -> Project {
    let own: Vec<_> = match start {
        Start::Template => (sources(kind).iter().chain(FIXTURES_TEST))
            .map(borrowed)
            .collect(),
        Start::Standard => port(kind)
            .expect("a standard rule written in JavaScript")
            .files(),
    };
    let files = (COMMON.iter().chain(COMPONENT).chain(SDK).chain([&WIT])).map(borrowed);
    Project {
        what: "a JavaScript project",
        files: files.chain(own).collect(),
        own_values: Vec::new(),
        commands: Commands::in_project(name, place, "npm ci && npm test", "npm run build"),
    }
}

/// The test that runs a template's fixtures, through the SDK.
const FIXTURES_TEST: &[File] = files!["test/fixtures.test.js" <- "js/test/fixtures.test.js"];

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
            "src/plugin.js" <- "js/lifecycle/src/plugin.js",
            "test/rules.test.js" <- "js/lifecycle/test/rules.test.js",
        ],
    }
}

/// The standard rule of `kind` in JavaScript, if it is written in it: its rules, glue and
/// tests (which run its fixtures too).
pub(super) fn port(kind: PluginKind) -> Option<Port> {
    match kind {
        PluginKind::Pricing => Some(Port {
            files: files![in "../plugins/standard-pricing-js";
                "src/rules.js" <- "src/rules.js",
                "src/plugin.js" <- "src/plugin.js",
                "test/rules.test.js" <- "test/rules.test.js",
            ],
            rule: (
                r#"new URL("../../standard-pricing/", import.meta.url)"#,
                r#"new URL("../", import.meta.url)"#,
            ),
        }),
        PluginKind::Validation | PluginKind::Lifecycle => None,
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

    const PORT_PACKAGE: &str = include_str!("../../../plugins/standard-pricing-js/package.json");
    const PORT_LOCK: &str = include_str!("../../../plugins/standard-pricing-js/package-lock.json");

    /// A lock file's packages but the root and the SDK (linked from where `link` says), and
    /// the SDK's entry.
    fn packages(lock: &Value, link: &str) -> (serde_json::Map<String, Value>, Value) {
        let mut packages = lock["packages"].as_object().unwrap().clone();
        packages.remove("");
        let linked = packages.remove("node_modules/@orderflow/sdk").unwrap();
        assert_eq!(linked, serde_json::json!({"resolved": link, "link": true}));
        let sdk = packages.remove(link).unwrap();
        (packages, sdk)
    }

    /// `npm ci` installs a project only if its lock file and package.json agree; the lock
    /// pins the tree the hand-written JavaScript plugin builds with, and the jco that
    /// plugins/toolchains.sh installs, and links the SDK the project carries, as it is.
    #[test]
    fn the_lock_file_pins_what_package_json_and_toolchains_sh_ask() {
        let (package, lock) = (template("package.json"), template("package-lock.json"));
        let root = &lock["packages"][""];
        for key in [
            "name",
            "version",
            "dependencies",
            "devDependencies",
            "engines",
        ] {
            assert_eq!(root[key], package[key], "{key}");
        }
        assert_eq!(lock["name"], package["name"]);
        assert_eq!(package["dependencies"]["@orderflow/sdk"], "file:./sdk");
        let (tree, sdk) = packages(&lock, "sdk");
        let (port_tree, port_sdk) = packages(&json(PORT_LOCK), "../sdk-js");
        assert_eq!(tree, port_tree);
        let sdk_package = json(
            SDK.iter()
                .find(|(to, _)| *to == "sdk/package.json")
                .unwrap()
                .1,
        );
        for key in ["name", "version", "license", "engines"] {
            assert_eq!(sdk[key], sdk_package[key], "{key}");
        }
        assert_eq!(sdk, port_sdk);
        let toolchains = include_str!("../../../plugins/toolchains.sh");
        let jco = toolchains
            .lines()
            .find_map(|line| line.strip_prefix("jco_version="))
            .unwrap();
        for package in [package, json(PORT_PACKAGE)] {
            assert_eq!(package["devDependencies"]["@bytecodealliance/jco"], jco);
        }
    }

    /// The project's `sdk/` holds what the SDK's package publishes, and nothing else.
    #[test]
    fn the_project_carries_the_sdk_package() {
        let sdk_package = json(
            SDK.iter()
                .find(|(to, _)| *to == "sdk/package.json")
                .unwrap()
                .1,
        );
        let mut published: Vec<&str> = (sdk_package["files"].as_array().unwrap().iter())
            .map(|file| file.as_str().unwrap())
            .chain(["package.json"])
            .collect();
        let mut carried: Vec<&str> = (SDK.iter())
            .map(|(to, _)| to.strip_prefix("sdk/").unwrap())
            .collect();
        published.sort();
        carried.sort();
        assert_eq!(published, carried);
    }
}
