//! `plugin new <kind> <name> --from standard-<kind>`: a plugin that starts from the
//! workspace's standard rule of its kind (`plugins/standard-<kind>`) rather than the kind's
//! template, in a language the rule is written in: every standard rule in Rust, the pricing
//! rule also in JavaScript and Python (`plugins/standard-pricing-js`, `-py`).
//!
//! Whatever its language, the plugin has the rule's data: its fixtures, made with the
//! parameters the standard workflow (`workflows/standard.toml`) gives the decision, which
//! become the fixtures' `params.json`; and the pricing rule's unit-test parameters.

use super::{Lang, Written, borrowed, js, python};
use crate::plugins::Definition;
use crate::plugins::PluginKind;
use anyhow::{Context, bail};
use std::borrow::Cow;

/// The standard workflow, whose parameters a standard rule's fixtures are made with.
const WORKFLOW: &str = include_str!("../../../workflows/standard.toml");

/// The standard rule of `kind`, as `--from` names it.
pub(super) fn name(kind: PluginKind) -> String {
    format!("standard-{kind}")
}

/// Whether the standard rule of `kind` is written in `lang`.
pub(super) fn written_in(kind: PluginKind, lang: Lang) -> bool {
    match lang {
        Lang::Rust => true,
        Lang::Js => js::port(kind).is_some(),
        Lang::Python => python::port(kind).is_some(),
    }
}

/// Checks that `from` names the standard rule of `kind`, written in `lang`; if not, says
/// which rules there are to start from, in which languages.
pub(super) fn check(from: &str, kind: PluginKind, lang: Lang) -> anyhow::Result<()> {
    let why = if !PluginKind::ALL.into_iter().any(|k| name(k) == from) {
        format!("`{from}` is not a standard rule")
    } else if from != name(kind) {
        format!("{from} is not a {kind} rule")
    } else if !written_in(kind, lang) {
        format!("{from} is not written in {}", lang.name())
    } else {
        return Ok(());
    };
    let available: Vec<String> = PluginKind::ALL
        .into_iter()
        .map(|kind| {
            let langs = <Lang as clap::ValueEnum>::value_variants()
                .iter()
                .filter(|&&lang| written_in(kind, lang))
                .map(|lang| lang.name())
                .collect::<Vec<_>>()
                .join(", ");
            format!("{} (a {kind} rule, in {langs})", name(kind))
        })
        .collect();
    bail!("{why}: --from takes {}", available.join(", "))
}

/// The standard rule of `kind`'s data, as every language's plugin has it: its fixtures, with
/// the standard workflow's parameters for the decision as their `params.json`, and the
/// pricing rule's unit-test parameters (`unit-params.json`).
pub(super) fn data(kind: PluginKind) -> anyhow::Result<Vec<Written>> {
    let params = serde_json::to_string_pretty(&workflow_params(kind)?)? + "\n";
    Ok((fixtures(kind).iter().map(borrowed))
        .chain([("fixtures/params.json", Cow::Owned(params))])
        .collect())
}

/// The parameters the standard workflow gives the decision of `kind`, as the service hands
/// them to its plugin.
fn workflow_params(kind: PluginKind) -> anyhow::Result<serde_json::Value> {
    let steps = Definition::parse(WORKFLOW)
        .and_then(|workflow| workflow.steps())
        .map_err(anyhow::Error::msg)
        .context("workflows/standard.toml")?;
    let step = steps.into_iter().find(|step| step.kind == kind);
    Ok(step.expect("a workflow has a step of every kind").params)
}

/// The standard rule's fixtures but their `params.json`, and the pricing rule's unit-test
/// parameters.
fn fixtures(kind: PluginKind) -> &'static [super::File] {
    match kind {
        PluginKind::Validation => files![in "../plugins/standard-validation";
            "fixtures/01-valid.json" <- "fixtures/01-valid.json",
            "fixtures/02-every-item-problem.json" <- "fixtures/02-every-item-problem.json",
            "fixtures/03-address.json" <- "fixtures/03-address.json",
            "fixtures/04-no-items.json" <- "fixtures/04-no-items.json",
            "fixtures/05-order-value.json" <- "fixtures/05-order-value.json",
            "fixtures/06-canada.json" <- "fixtures/06-canada.json",
            "fixtures/07-split-lines.json" <- "fixtures/07-split-lines.json",
            "fixtures/08-germany-without-state.json" <- "fixtures/08-germany-without-state.json",
            "fixtures/09-britain-without-state.json" <- "fixtures/09-britain-without-state.json",
            "fixtures/10-us-without-state.json" <- "fixtures/10-us-without-state.json",
            "fixtures/11-canada-without-province.json"
                <- "fixtures/11-canada-without-province.json",
            "fixtures/12-reserved-stock.json" <- "fixtures/12-reserved-stock.json",
        ],
        PluginKind::Pricing => files![in "../plugins/standard-pricing";
            "unit-params.json" <- "unit-params.json",
            "fixtures/01-regional-tax.json" <- "fixtures/01-regional-tax.json",
            "fixtures/02-percent-discount.json" <- "fixtures/02-percent-discount.json",
            "fixtures/03-express-never-free.json" <- "fixtures/03-express-never-free.json",
            "fixtures/04-free-standard-shipping.json" <- "fixtures/04-free-standard-shipping.json",
            "fixtures/05-fixed-discount-no-tax-country.json"
                <- "fixtures/05-fixed-discount-no-tax-country.json",
            "fixtures/06-unknown-code.json" <- "fixtures/06-unknown-code.json",
            "fixtures/07-code-not-yet-valid.json" <- "fixtures/07-code-not-yet-valid.json",
            "fixtures/08-code-in-window.json" <- "fixtures/08-code-in-window.json",
            "fixtures/09-unknown-shipping-method.json"
                <- "fixtures/09-unknown-shipping-method.json",
        ],
        PluginKind::Lifecycle => files![in "../plugins/standard-lifecycle";
            "fixtures/01-create.json" <- "fixtures/01-create.json",
            "fixtures/02-confirm.json" <- "fixtures/02-confirm.json",
            "fixtures/03-ship-with-tracking.json" <- "fixtures/03-ship-with-tracking.json",
            "fixtures/04-ship-without-tracking.json" <- "fixtures/04-ship-without-tracking.json",
            "fixtures/05-user-cancels-late.json" <- "fixtures/05-user-cancels-late.json",
            "fixtures/06-user-cancels.json" <- "fixtures/06-user-cancels.json",
            "fixtures/07-delivered-is-final.json" <- "fixtures/07-delivered-is-final.json",
            "fixtures/08-refund.json" <- "fixtures/08-refund.json",
            "fixtures/09-refund-unpaid.json" <- "fixtures/09-refund-unpaid.json",
            "fixtures/10-payment-paid.json" <- "fixtures/10-payment-paid.json",
            "fixtures/11-payment-failed.json" <- "fixtures/11-payment-failed.json",
            "fixtures/12-describe.json" <- "fixtures/12-describe.json",
            "fixtures/13-items-change-while-confirmed.json"
                <- "fixtures/13-items-change-while-confirmed.json",
            "fixtures/14-items-change-refused-in-processing.json"
                <- "fixtures/14-items-change-refused-in-processing.json",
            "fixtures/15-return-with-restocking-fee.json"
                <- "fixtures/15-return-with-restocking-fee.json",
            "fixtures/16-whole-return-gives-shipping-back.json"
                <- "fixtures/16-whole-return-gives-shipping-back.json",
            "fixtures/17-return-outside-window.json" <- "fixtures/17-return-outside-window.json",
            "fixtures/18-return-not-returnable.json" <- "fixtures/18-return-not-returnable.json",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::super::rust;
    use super::*;
    use std::path::Path;

    /// The files of a directory, relative to it, sorted.
    fn on_disk(dir: &Path) -> Vec<String> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(d).unwrap().flatten() {
                if entry.path().is_dir() {
                    stack.push(entry.path());
                } else {
                    let path = entry.path().strip_prefix(dir).unwrap().to_owned();
                    files.push(path.to_string_lossy().into_owned());
                }
            }
        }
        files.sort();
        files
    }

    /// A crate started from a standard rule has every file of the rule's crate, the same,
    /// but its manifest (the template's) and the fixtures' `params.json` (the workflow's).
    #[test]
    fn a_standard_rule_is_taken_whole() {
        let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
        for kind in PluginKind::ALL {
            let dir = plugins.join(name(kind));
            let mut taken: Vec<(&str, &str)> = rust::standard_sources(kind).to_vec();
            taken.extend(fixtures(kind));
            let mut paths: Vec<String> = taken.iter().map(|(path, _)| path.to_string()).collect();
            paths.extend(["Cargo.toml", "fixtures/params.json"].map(String::from));
            paths.sort();
            assert_eq!(paths, on_disk(&dir), "{kind}");
            for (path, text) in taken {
                assert_eq!(std::fs::read_to_string(dir.join(path)).unwrap(), text);
            }
        }
    }

    /// A standard rule's fixtures are made with the standard workflow's parameters, so a
    /// plugin started from it passes them with the workflow's.
    #[test]
    fn the_fixtures_are_made_with_the_workflows_parameters() {
        let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
        for kind in PluginKind::ALL {
            let path = plugins.join(name(kind)).join("fixtures/params.json");
            let own: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            assert_eq!(own, workflow_params(kind).unwrap(), "{kind}");
            let data = data(kind).unwrap();
            let (_, written) = data
                .iter()
                .find(|(p, _)| *p == "fixtures/params.json")
                .unwrap();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(written).unwrap(),
                own
            );
        }
    }

    #[test]
    fn a_rule_to_start_from_is_one_of_the_kind_in_the_language() {
        assert!(check("standard-pricing", PluginKind::Pricing, Lang::Python).is_ok());
        assert!(check("standard-lifecycle", PluginKind::Lifecycle, Lang::Rust).is_ok());
        let listed = "--from takes standard-validation (a validation rule, in rust), \
                      standard-pricing (a pricing rule, in rust, js, python), \
                      standard-lifecycle (a lifecycle rule, in rust)";
        for (from, kind, lang, why) in [
            (
                "premium-pricing",
                PluginKind::Pricing,
                Lang::Rust,
                "`premium-pricing` is not a standard rule",
            ),
            (
                "standard-validation",
                PluginKind::Pricing,
                Lang::Rust,
                "standard-validation is not a pricing rule",
            ),
            (
                "standard-lifecycle",
                PluginKind::Lifecycle,
                Lang::Js,
                "standard-lifecycle is not written in js",
            ),
        ] {
            let error = check(from, kind, lang).unwrap_err().to_string();
            assert_eq!(error, format!("{why}: {listed}"));
        }
    }
}
