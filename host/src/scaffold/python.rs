//! A Python plugin: a project built into a component by componentize-py, as
//! `plugins/standard-pricing-py` is. Its rules are in `rules.py`, the glue in `app.py`. It
//! depends on the SDK, the package `orderflow_sdk` (`plugins/sdk-py`), a copy of which it
//! carries beside its modules; it carries the contract (`wit/`) too, and pins componentize-py
//! by version and wheel hashes (`requirements.txt`, those plugins/toolchains.sh installs), so
//! it builds anywhere with Python.

use super::{Commands, File, Place, Port, Project, Start, WIT, borrowed};
use crate::plugins::PluginKind;

/// What every project holds besides its rules, glue and tests.
const COMMON: &[File] = files![
    "README.md" <- "python/README.md",
    ".gitignore" <- "python/.gitignore",
    "requirements.txt" <- "python/requirements.txt",
    "build.sh" <- "python/build.sh",
];

/// The SDK, the package `orderflow_sdk` of `plugins/sdk-py`, beside the project's modules.
const SDK: &[File] = files![in "../plugins/sdk-py";
    "orderflow_sdk/__init__.py" <- "orderflow_sdk/__init__.py",
    "orderflow_sdk/machine.py" <- "orderflow_sdk/machine.py",
    "orderflow_sdk/testing.py" <- "orderflow_sdk/testing.py",
];

pub(super) fn project(kind: PluginKind, name: &str, place: &Place, start: Start) -> Project {
    let own: Vec<_> = match start {
        Start::Template => {
            let (rules, glue) = sources(kind);
            (rules.iter().chain(glue).chain(FIXTURES_TEST))
                .map(borrowed)
                .collect()
        }
        Start::Standard => port(kind)
            .expect("a standard rule written in Python")
            .files(),
    };
    let files = (COMMON.iter().chain(SDK).chain([&WIT])).map(borrowed);
    Project {
        what: "a Python project",
        files: files.chain(own).collect(),
        own_values: Vec::new(),
        commands: Commands::in_project(name, place, "python3 -m unittest", "bash build.sh"),
    }
}

/// The test that runs a template's fixtures, through the SDK.
const FIXTURES_TEST: &[File] = files!["test_fixtures.py" <- "python/test_fixtures.py"];

/// A kind's rules and unit tests, and its glue: the pricing glue is the Python pricing
/// rule's, the one copy of it.
fn sources(kind: PluginKind) -> (&'static [File], &'static [File]) {
    match kind {
        PluginKind::Validation => (
            files![
                "rules.py" <- "python/validation/rules.py",
                "test_rules.py" <- "python/validation/test_rules.py",
            ],
            files!["app.py" <- "python/validation/app.py"],
        ),
        PluginKind::Pricing => (
            files![
                "rules.py" <- "python/pricing/rules.py",
                "test_rules.py" <- "python/pricing/test_rules.py",
            ],
            files![in "../plugins/standard-pricing-py"; "app.py" <- "app.py"],
        ),
        PluginKind::Lifecycle => (
            files![
                "rules.py" <- "python/lifecycle/rules.py",
                "test_rules.py" <- "python/lifecycle/test_rules.py",
            ],
            files!["app.py" <- "python/lifecycle/app.py"],
        ),
    }
}

/// The standard rule of `kind` in Python, if it is written in it: its rules, glue and tests
/// (which run its fixtures too).
pub(super) fn port(kind: PluginKind) -> Option<Port> {
    match kind {
        PluginKind::Pricing => Some(Port {
            files: files![in "../plugins/standard-pricing-py";
                "rules.py" <- "rules.py",
                "app.py" <- "app.py",
                "test_rules.py" <- "test_rules.py",
            ],
            rule: (
                r#"Path(__file__).resolve().parent.parent / "standard-pricing""#,
                "Path(__file__).resolve().parent",
            ),
        }),
        PluginKind::Validation | PluginKind::Lifecycle => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// requirements.txt pins the componentize-py that plugins/toolchains.sh installs: the
    /// same version, by the same wheel hashes.
    #[test]
    fn requirements_pin_what_toolchains_sh_installs() {
        let (_, requirements) = COMMON
            .iter()
            .find(|(to, _)| *to == "requirements.txt")
            .unwrap();
        let toolchains = include_str!("../../../plugins/toolchains.sh");
        let version = toolchains
            .lines()
            .find_map(|line| line.strip_prefix("componentize_py_version="))
            .unwrap();
        assert!(requirements.contains(&format!("\ncomponentize-py=={version} \\\n")));
        let hashes = |text: &str| {
            let mut hashes: Vec<String> = (text.split("sha256:").skip(1))
                .map(|rest| rest.chars().take_while(char::is_ascii_hexdigit).collect())
                .collect();
            hashes.sort();
            hashes
        };
        assert_eq!(hashes(requirements).len(), 5);
        assert_eq!(hashes(requirements), hashes(toolchains));
    }

    /// The project carries every module of the SDK's package.
    #[test]
    fn the_project_carries_the_sdk_package() {
        let package = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/sdk-py/orderflow_sdk");
        let mut modules: Vec<String> = (std::fs::read_dir(package).unwrap().flatten())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".py"))
            .map(|name| format!("orderflow_sdk/{name}"))
            .collect();
        let mut carried: Vec<&str> = SDK.iter().map(|(to, _)| *to).collect();
        modules.sort();
        carried.sort();
        assert_eq!(modules, carried);
    }
}
