//! Plugin operations: a new version is checked as if it served now, kept, made active,
//! rolled back. Activation goes through the plugin directory (the file is written, then
//! the registry reloads), so the API and a file dropped by hand are one mechanism and a
//! restart serves what was last activated.

use super::registry::{Registry, Workflow};
use super::versions::{Action, Versions};
use crate::domain::{Address, LineItem, Money, OrderDraft, PricedOrder, ProductSnapshot};
use crate::runtime::component::LoadError;
use crate::runtime::{BoundPlugin, Digest, LoadedComponent, PluginKind};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(
        "`{0}` is not a plugin name: lowercase letters, digits, `-` and `_`, at most 64 characters"
    )]
    BadName(String),
    /// The candidate cannot serve; the reason says why.
    #[error("{0}")]
    Rejected(String),
    #[error("no version {digest} of `{plugin}` is stored")]
    UnknownVersion { plugin: String, digest: String },
    #[error("`{0}` has no earlier version to roll back to")]
    NothingToRollBack(String),
    #[error("this service keeps no plugin versions")]
    NoArchive,
    #[error("the plugin version archive: {0}")]
    Archive(#[from] std::io::Error),
}

/// A component that does not load, or does not bind, cannot serve: that is the reason.
impl From<LoadError> for DeployError {
    fn from(e: LoadError) -> Self {
        DeployError::Rejected(e.to_string())
    }
}

/// A version that passed the checks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub plugin: String,
    pub digest: String,
    #[schema(value_type = String)]
    pub kind: PluginKind,
    pub wit_version: String,
    pub size: u64,
    /// The workflows it was tried with (their parameters, and a trial decision each).
    pub used_by: Vec<String>,
}

/// The outcome of making a version active.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Activation {
    pub plugin: String,
    /// The version active before; none for a plugin's first version.
    pub from: Option<String>,
    pub to: String,
    /// False when `to` was already the active version.
    pub changed: bool,
}

/// Plugin names become file names: keep them to a safe alphabet.
fn check_name(plugin: &str) -> Result<(), DeployError> {
    let safe = !plugin.is_empty()
        && plugin.len() <= 64
        && plugin
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if safe {
        Ok(())
    } else {
        Err(DeployError::BadName(plugin.to_owned()))
    }
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

/// The plugin operations of one registry: it compiles and tries candidates with the
/// registry's runtime against the workflows of its snapshot, keeps versions in its archive,
/// and activates one by writing into its plugin directory and reloading it. Make one per
/// registry (the service keeps its own): activations and rollbacks take turns through it.
pub struct Deployer {
    registry: Arc<Registry>,
    /// Activations and rollbacks run one at a time (each includes a reload).
    switching: Mutex<()>,
}

impl Deployer {
    pub fn new(registry: Arc<Registry>) -> Self {
        Deployer {
            registry,
            switching: Mutex::new(()),
        }
    }

    fn versions(&self) -> Result<&Versions, DeployError> {
        self.registry.versions().ok_or(DeployError::NoArchive)
    }

    /// Checks that `bytes` could serve as `plugin` now: it compiles, it makes the decision
    /// `plugin` makes, every workflow using `plugin` accepts it with its parameters, and
    /// it decides a trial order without a fault. Nothing changes.
    pub fn check(
        &self,
        plugin: &str,
        bytes: &[u8],
    ) -> Result<(Candidate, Arc<LoadedComponent>), DeployError> {
        check_name(plugin)?;
        let component = self.registry.runtime().load(plugin, bytes)?;
        let serving = self.registry.current();
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
            let tried = self
                .registry
                .runtime()
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
            digest: component.digest.full(),
            kind: component.kind,
            wit_version: component.contract.to_string(),
            size: component.size as u64,
            used_by,
        };
        Ok((candidate, component))
    }

    /// Checks a new version of `plugin` and keeps it (recorded as uploaded by `by`); it
    /// does not serve until activated.
    pub fn upload(&self, plugin: &str, bytes: &[u8], by: &str) -> Result<Candidate, DeployError> {
        let versions = self.versions()?;
        let (candidate, component) = self.check(plugin, bytes)?;
        versions.keep(plugin, bytes)?;
        versions.uploaded(plugin, &component.digest, by)?;
        Ok(candidate)
    }

    /// Makes the stored version `digest` of `plugin` the active one, checked again
    /// against the workflows as they are now.
    pub fn activate(
        &self,
        plugin: &str,
        digest: &Digest,
        by: &str,
    ) -> Result<Activation, DeployError> {
        self.switch(plugin, digest, by, Action::Activated)
    }

    /// Makes the version active before the current one active again.
    pub fn rollback(&self, plugin: &str, by: &str) -> Result<Activation, DeployError> {
        check_name(plugin)?;
        let versions = self.versions()?;
        let target = versions
            .rollback_target(plugin)?
            .ok_or_else(|| DeployError::NothingToRollBack(plugin.to_owned()))?;
        self.switch(plugin, &target, by, Action::RolledBack)
    }

    fn switch(
        &self,
        plugin: &str,
        digest: &Digest,
        by: &str,
        action: Action,
    ) -> Result<Activation, DeployError> {
        check_name(plugin)?;
        let versions = self.versions()?;
        // The lock guards no data: an operation that panicked must not stop every later one.
        let _one_at_a_time = self.switching.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = self.stored(plugin, digest)?;
        let from = self
            .registry
            .current()
            .components
            .get(plugin)
            .map(|c| c.digest.clone());
        if from.as_ref() == Some(digest) {
            return Ok(Activation {
                plugin: plugin.to_owned(),
                from: Some(digest.full()),
                to: digest.full(),
                changed: false,
            });
        }
        self.check(plugin, &bytes)?;
        versions.expect(plugin, digest, action, by);
        let serving = self.publish(plugin, &bytes).and_then(|()| {
            self.registry.reload();
            let serving = self.registry.current();
            match serving.components.get(plugin) {
                Some(c) if &c.digest == digest => Ok(()),
                _ => Err(DeployError::Rejected(
                    serving
                        .errors
                        .get(&file(plugin))
                        .map_or_else(|| "it did not load".into(), |failure| failure.error.clone()),
                )),
            }
        });
        if let Err(e) = serving {
            // Put the previous file back, so a restart serves what serves now.
            versions.unexpect(plugin);
            if let Some(previous) = from.and_then(|d| versions.bytes(plugin, &d).ok().flatten()) {
                self.publish(plugin, &previous)?;
                self.registry.reload();
            }
            return Err(e);
        }
        Ok(Activation {
            plugin: plugin.to_owned(),
            from: from.map(|d| d.full()),
            to: digest.full(),
            changed: true,
        })
    }

    /// Writes `<plugin>.wasm` into the plugin directory whole: written beside it under a
    /// name the registry ignores, then renamed into place.
    fn publish(&self, plugin: &str, bytes: &[u8]) -> Result<(), DeployError> {
        let partial = self
            .registry
            .plugin_dir()
            .join(format!(".{plugin}.wasm.partial"));
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, self.registry.plugin_dir().join(file(plugin)))?;
        Ok(())
    }

    /// `workflow`'s step of `kind` with the stored version `digest` of its plugin, for a
    /// dry run (e.g. repricing an order with a version before it is activated).
    pub fn bind_version(
        &self,
        workflow: &Workflow,
        kind: PluginKind,
        digest: &Digest,
    ) -> Result<Arc<BoundPlugin>, DeployError> {
        let step = workflow.plugin(kind);
        let plugin = &step.component().name;
        let component = self
            .registry
            .runtime()
            .load(plugin, &self.stored(plugin, digest)?)?;
        Ok(self.registry.runtime().rebind(step, component)?)
    }

    /// The bytes of the stored version `digest` of `plugin`.
    fn stored(&self, plugin: &str, digest: &Digest) -> Result<Vec<u8>, DeployError> {
        self.versions()?
            .bytes(plugin, digest)?
            .ok_or_else(|| DeployError::UnknownVersion {
                plugin: plugin.to_owned(),
                digest: digest.full(),
            })
    }
}

fn file(plugin: &str) -> String {
    format!("{plugin}.wasm")
}
