//! Checking a candidate: a version is checked as if it served now, against the workflows of
//! the registry's snapshot (their parameters, and a trial decision each), before it is
//! kept, made active or staged. Compiling and trial decisions are CPU work: the deployer
//! runs this on a blocking thread.

use super::{Candidate, DeployError};
use crate::domain::{Address, LineItem, Money, OrderDraft, PricedOrder, ProductSnapshot};
use crate::plugins::{BoundPlugin, LoadedComponent, PluginKind, Registry};
use std::sync::Arc;

/// Checks that `bytes` could serve as `plugin` now: it compiles, it makes the decision
/// `plugin` makes, every workflow using `plugin` accepts it with its parameters, and it
/// decides a trial order without a fault. Nothing changes.
pub(super) fn candidate(
    registry: &Registry,
    plugin: &str,
    bytes: &[u8],
) -> Result<(Candidate, Arc<LoadedComponent>), DeployError> {
    let component = registry.runtime().load(plugin, bytes)?;
    let serving = registry.current();
    if let Some(active) = serving.components.get(plugin)
        && active.kind != component.kind
    {
        return Err(DeployError::Rejected(format!(
            "it makes {} decisions; `{plugin}` makes {} decisions",
            component.kind, active.kind
        )));
    }
    let mut used_by = Vec::new();
    for workflow in serving.workflows.values() {
        let Some(step) = workflow.step(plugin) else {
            continue;
        };
        let tried = (registry.runtime())
            .rebind(step, component.clone())
            .map_err(|e| e.to_string())
            .and_then(|bound| trial(&bound));
        tried.map_err(|why| {
            DeployError::Rejected(format!("in workflow `{}`: {why}", workflow.name))
        })?;
        used_by.push(workflow.name.clone());
    }
    let candidate = Candidate {
        plugin: plugin.to_owned(),
        digest: component.digest.clone(),
        kind: component.kind,
        wit_version: component.contract.to_string(),
        size: component.size as u64,
        used_by,
    };
    Ok((candidate, component))
}

/// The order a candidate decides on trial: ordinary enough that a working plugin of any
/// kind answers it (an answer may be a refusal; only a fault fails the trial).
fn trial_order() -> OrderDraft {
    let usd = "USD".parse().expect("a currency code");
    OrderDraft {
        user_id: "trial".into(),
        items: vec![LineItem {
            product: ProductSnapshot {
                product_id: "trial-product".into(),
                name: "Trial product".into(),
                sku: "TRIAL-1".into(),
                unit_price: Money::new(1250, usd),
                stock: 100,
                active: true,
                available: None,
            },
            quantity: 2,
        }],
        shipping_address: Address::example(),
        shipping_method: "standard".into(),
        payment_method: "card".into(),
        discount_code: None,
    }
}

/// One decision of `plugin` on the trial order; a fault is the reason it cannot serve.
fn trial(plugin: &BoundPlugin) -> Result<(), String> {
    let order = trial_order();
    let now = chrono::Utc::now().timestamp_millis();
    let outcome = match plugin.kind() {
        PluginKind::Validation => plugin.validate(&order, now).map(drop),
        PluginKind::Pricing => plugin.price(&order, now).map(drop),
        PluginKind::Lifecycle => {
            let total = order.items[0].product.unit_price;
            plugin
                .create(&PricedOrder::of(&order, &total), now)
                .map(drop)
        }
    };
    outcome.map_err(|fault| format!("a trial decision failed: {}", fault.kind))
}
