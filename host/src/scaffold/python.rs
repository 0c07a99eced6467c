//! A Python plugin: a project built into a component by componentize-py, as
//! `plugins/standard-pricing-py` is. Its rules are in `rules.py`, the glue in `app.py`;
//! `sdk.py` (and a lifecycle's `machine.py`) port what the Rust plugin SDK gives a crate. It
//! carries the contract (`wit/`) and pins componentize-py by version and wheel hashes
//! (`requirements.txt`, those plugins/toolchains.sh installs), so it builds anywhere with
//! Python.

use super::{Commands, File, Place, Project, WIT};
use crate::plugins::PluginKind;

/// What every kind's project holds besides its rules, glue and tests.
const COMMON: &[File] = files![
    "README.md" <- "python/README.md",
    ".gitignore" <- "python/.gitignore",
    "requirements.txt" <- "python/requirements.txt",
    "build.sh" <- "python/build.sh",
    "sdk.py" <- "python/sdk.py",
    "test_fixtures.py" <- "python/test_fixtures.py",
];

pub(super) fn project(kind: PluginKind, name: &str, place: &Place) -> Project {
    let files = COMMON.iter().chain(sources(kind)).copied();
    Project {
        what: "a Python project",
        files: files.chain([WIT]).collect(),
        own_values: Vec::new(),
        commands: Commands::in_project(name, place, "python3 -m unittest", "bash build.sh"),
    }
}

/// A kind's rules, glue and unit tests.
fn sources(kind: PluginKind) -> &'static [File] {
    match kind {
        PluginKind::Validation => files![
            "rules.py" <- "python/validation/rules.py",
            "app.py" <- "python/validation/app.py",
            "test_rules.py" <- "python/validation/test_rules.py",
        ],
        PluginKind::Pricing => files![
            "rules.py" <- "python/pricing/rules.py",
            "app.py" <- "python/pricing/app.py",
            "test_rules.py" <- "python/pricing/test_rules.py",
        ],
        PluginKind::Lifecycle => files![
            "rules.py" <- "python/lifecycle/rules.py",
            "machine.py" <- "python/lifecycle/machine.py",
            "app.py" <- "python/lifecycle/app.py",
            "test_rules.py" <- "python/lifecycle/test_rules.py",
        ],
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
}
