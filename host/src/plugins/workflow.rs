//! A workflow as it serves: its three decisions' plugins bound to its parameters and limits,
//! and the trials staged beside them. Held by the registry's snapshot for a whole order, so
//! one version of every plugin decides it.

use super::decisions::BoundPlugin;
use super::runtime::PluginKind;
use super::trials::{Mode, Trial};
use crate::domain::{Digest, Machine};
use std::sync::Arc;
use std::time::SystemTime;

/// A workflow with its three plugins bound to its parameters.
pub struct Workflow {
    pub name: String,
    pub description: String,
    /// Sales channels routed to this workflow.
    pub channels: Vec<String>,
    /// Whether its orders reserve stock, and how.
    pub stock: crate::domain::StockPolicy,
    /// Digest of the workflow file.
    pub digest: Digest,
    pub validation: Arc<BoundPlugin>,
    pub pricing: Arc<BoundPlugin>,
    pub lifecycle: Arc<BoundPlugin>,
    /// Versions staged beside the steps' active ones (shadows and rollouts).
    pub staged: Vec<Trial>,
    pub loaded_at: SystemTime,
}

impl Workflow {
    /// The order lifecycle this workflow follows.
    pub fn machine(&self) -> &Machine {
        self.lifecycle
            .machine()
            .expect("a bound lifecycle plugin has described its machine")
    }

    pub fn plugins(&self) -> [&Arc<BoundPlugin>; 3] {
        [&self.validation, &self.pricing, &self.lifecycle]
    }

    /// The step that makes decisions of `kind`.
    pub fn plugin(&self, kind: PluginKind) -> &Arc<BoundPlugin> {
        match kind {
            PluginKind::Validation => &self.validation,
            PluginKind::Pricing => &self.pricing,
            PluginKind::Lifecycle => &self.lifecycle,
        }
    }

    /// Whether its orders' validation is told what each product has available: the
    /// workflow reserves stock and a validation version it runs (active or staged) sees the
    /// figure (contract 0.5.0 and later). Only then is the ledger read before deciding.
    pub fn shows_available_stock(&self) -> bool {
        let staged = self.staged.iter().map(|t| &t.plugin);
        self.stock.reserve
            && std::iter::once(&self.validation)
                .chain(staged)
                .filter(|p| p.kind() == PluginKind::Validation)
                .any(|p| p.component().contract.sees_available_stock())
    }

    /// The step run by the plugin named `plugin`, if this workflow uses it.
    pub fn step(&self, plugin: &str) -> Option<&Arc<BoundPlugin>> {
        self.plugins()
            .into_iter()
            .find(|p| p.component().name == plugin)
    }
}

impl Workflow {
    /// The plugin deciding `customer`'s new orders' decisions of `kind`: a rollout's version
    /// for its share of customers, else the active one.
    pub fn deciding(&self, kind: PluginKind, customer: &str) -> &Arc<BoundPlugin> {
        let rollout = self
            .staged
            .iter()
            .find(|s| s.mode == Mode::Rollout && s.plugin.kind() == kind && s.serves(customer));
        rollout.map_or_else(|| self.plugin(kind), |s| &s.plugin)
    }

    /// The shadow of decisions of `kind`, if one is staged.
    pub fn shadow(&self, kind: PluginKind) -> Option<&Trial> {
        (self.staged.iter()).find(|s| s.mode == Mode::Shadow && s.plugin.kind() == kind)
    }
}
