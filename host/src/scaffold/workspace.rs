//! A plugin in the workspace's `plugins/` that is no crate (a JavaScript or Python project)
//! is added to the workspace's `exclude`, as the hand-written ports are: cargo takes every
//! directory of `plugins/*` for a member crate, and fails on one without a `Cargo.toml`.

use anyhow::{Context, bail};
use std::path::Path;
use toml::{Table, Value};

/// Adds `path` (relative to `repo`) to the `[workspace] exclude` of `repo`'s `Cargo.toml`,
/// unless it is there already.
pub(super) fn exclude(repo: &Path, path: &str) -> anyhow::Result<()> {
    let manifest = repo.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let Some(edited) = excluding(&text, path).with_context(|| {
        format!(
            "{path} is no crate: add it to [workspace] exclude of {}",
            manifest.display()
        )
    })?
    else {
        return Ok(());
    };
    // Written whole under a name of its own, then renamed: a cargo reading the manifest
    // meanwhile sees the old one or the new one.
    let tmp = manifest.with_extension("toml.tmp");
    std::fs::write(&tmp, edited).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &manifest).with_context(|| format!("writing {}", manifest.display()))
}

/// `manifest` with `path` added to `[workspace] exclude`, or None if it is there already.
/// The text is edited where the array is written on one line (or added after
/// `[workspace]`), so the file keeps its comments and layout; the result is parsed and must
/// be the manifest with `path` excluded, nothing else changed.
fn excluding(manifest: &str, path: &str) -> anyhow::Result<Option<String>> {
    let mut expected: Table = manifest.parse()?;
    let Some(Value::Table(workspace)) = expected.get_mut("workspace") else {
        bail!("no [workspace]");
    };
    let exclude = workspace
        .entry("exclude")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(excluded) = exclude else {
        bail!("exclude is not an array");
    };
    let entry = Value::String(path.into());
    if excluded.contains(&entry) {
        return Ok(None);
    }
    excluded.push(entry);

    let quoted = format!("\"{path}\"");
    let mut lines: Vec<String> = manifest.split_inclusive('\n').map(String::from).collect();
    let one_line = lines.iter().position(|line| {
        let line = line.trim();
        line.starts_with("exclude") && line.ends_with(']')
    });
    match one_line {
        Some(at) => {
            let line = &mut lines[at];
            let close = line.rfind(']').expect("the line ends with `]`");
            let open = line.find('[').context("exclude is not an array")?;
            let separator = if line[open + 1..close].trim().is_empty() {
                ""
            } else {
                ", "
            };
            line.insert_str(close, &format!("{separator}{quoted}"));
        }
        None => {
            let header = lines
                .iter()
                .position(|line| line.trim() == "[workspace]")
                .context("no [workspace] header")?;
            lines.insert(header + 1, format!("exclude = [{quoted}]\n"));
        }
    }
    let edited = lines.concat();
    if edited.parse::<Table>().ok() != Some(expected) {
        bail!("its exclude is not written on one line");
    }
    Ok(Some(edited))
}

#[cfg(test)]
mod tests {
    use super::excluding;

    #[test]
    fn a_project_is_added_to_the_exclude_list() {
        let manifest = "[workspace]\n# members\nmembers = [\"host\", \"plugins/*\"]\n\
                        exclude = [\"plugins/a-js\"]\n\n[profile.plugin]\nlto = true\n";
        assert_eq!(
            excluding(manifest, "plugins/b-py").unwrap().unwrap(),
            manifest.replace("\"plugins/a-js\"]", "\"plugins/a-js\", \"plugins/b-py\"]")
        );
        assert_eq!(excluding(manifest, "plugins/a-js").unwrap(), None);
        let without = "[workspace]\nmembers = [\"plugins/*\"]\n";
        assert_eq!(
            excluding(without, "plugins/b").unwrap().unwrap(),
            "[workspace]\nexclude = [\"plugins/b\"]\nmembers = [\"plugins/*\"]\n"
        );
        let empty = "[workspace]\nexclude = [ ]\n";
        assert_eq!(
            excluding(empty, "plugins/b").unwrap().unwrap(),
            "[workspace]\nexclude = [ \"plugins/b\"]\n"
        );
    }

    /// An edit that would change anything else, or not exclude the project, is refused.
    #[test]
    fn a_manifest_it_cannot_edit_is_refused() {
        for manifest in [
            "[workspace]\nexclude = [\n  \"plugins/a\",\n]\n",
            "[package]\nname = \"x\"\n",
            "[workspace]\nexclude = \"plugins/a\"\n",
        ] {
            assert!(excluding(manifest, "plugins/b").is_err(), "{manifest}");
        }
    }

    /// The repository's own manifest takes the edit.
    #[test]
    fn the_workspace_manifest_can_be_edited() {
        let manifest = include_str!("../../../Cargo.toml");
        assert!(excluding(manifest, "plugins/my-pricing").unwrap().is_some());
    }
}
