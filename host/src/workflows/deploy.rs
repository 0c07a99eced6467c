//! Plugin operations: a new version is checked as if it served now, kept, made active,
//! rolled back.
//!
//! One process keeps versions in its own archive, and activation goes through the plugin
//! directory (the file is written, then the registry reloads), so the API and a file
//! dropped by hand are one mechanism and a restart serves what was last activated.
//! Replicas keep versions in the [`SharedRegistry`]: activation switches the active version
//! there for every replica, and this replica's [`Mirror`] converges before it answers.

use super::registry::{Registry, Workflow};
use super::shared::{Mirror, SharedRegistry};
use super::staging::{self, Mode, Share, Staging};
use super::versions::{Action, Change, StoredVersion, Versions, undo_target};
use crate::domain::{Address, LineItem, Money, OrderDraft, PricedOrder, ProductSnapshot};
use crate::orders::StoreError;
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
    #[error("no plugin `{0}` serves")]
    NotServing(String),
    /// Another replica changed the active version while this change was being made.
    #[error("the active version of `{0}` was changed by another replica meanwhile")]
    Concurrent(String),
    #[error("this service keeps no plugin versions")]
    NoArchive,
    #[error("the plugin version archive: {0}")]
    Archive(#[from] std::io::Error),
}

/// The shared registry failing is the archive being unavailable.
impl From<StoreError> for DeployError {
    fn from(e: StoreError) -> Self {
        DeployError::Archive(std::io::Error::other(e.to_string()))
    }
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
/// registry's runtime against the workflows of its snapshot, keeps versions, and makes one
/// active. Make one per registry (the service keeps its own): activations and rollbacks
/// take turns through it.
pub struct Deployer {
    registry: Arc<Registry>,
    keeper: Keeper,
    /// Activations and rollbacks run one at a time (each includes a reload).
    switching: Mutex<()>,
}

/// Where versions are kept and how one becomes active.
enum Keeper {
    /// One process: the registry's own archive, and its plugin directory.
    Local,
    /// Replicas: the registry they share, and this replica's mirror of it.
    Shared {
        shared: Arc<dyn SharedRegistry>,
        mirror: Arc<Mirror>,
        replica: String,
        /// The operations are synchronous (they compile): the store is asynchronous.
        runtime: tokio::runtime::Handle,
    },
}

impl Deployer {
    /// The operations of one process, on `registry`'s archive and directories.
    pub fn new(registry: Arc<Registry>) -> Self {
        Deployer {
            registry,
            keeper: Keeper::Local,
            switching: Mutex::new(()),
        }
    }

    /// The operations of replica `replica`, on the registry all replicas share; `mirror`
    /// keeps `registry` in step with it. Call from within the tokio runtime; use from
    /// blocking threads.
    pub fn shared(
        registry: Arc<Registry>,
        shared: Arc<dyn SharedRegistry>,
        mirror: Arc<Mirror>,
        replica: &str,
    ) -> Self {
        Deployer {
            registry,
            keeper: Keeper::Shared {
                shared,
                mirror,
                replica: replica.to_owned(),
                runtime: tokio::runtime::Handle::current(),
            },
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
        let (candidate, component) = self.check(plugin, bytes)?;
        let digest = &component.digest;
        match &self.keeper {
            Keeper::Local => {
                let versions = self.versions()?;
                versions.keep(plugin, bytes)?;
                versions.uploaded(plugin, digest, by)?;
            }
            Keeper::Shared {
                shared,
                replica,
                runtime,
                ..
            } => runtime.block_on(async {
                shared.keep(plugin, digest, bytes).await?;
                let from = shared.active().await?.plugins.remove(plugin);
                let change = Change::new(plugin, Action::Uploaded, by, from.as_ref(), digest);
                shared.record(&change.on(replica)).await
            })?,
        }
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
        let target = undo_target(&self.history(Some(plugin))?)
            .ok_or_else(|| DeployError::NothingToRollBack(plugin.to_owned()))?;
        self.switch(plugin, &target, by, Action::RolledBack)
    }

    /// Checks a file found in this replica's plugin directory and, when it can serve,
    /// makes it the active version for every replica (recorded as a file drop). Replicas
    /// only: one process loads its plugin directory itself.
    pub fn import(&self, plugin: &str, bytes: &[u8]) -> Result<Activation, DeployError> {
        let (_, component) = self.check(plugin, bytes)?;
        let Keeper::Shared {
            shared, runtime, ..
        } = &self.keeper
        else {
            return Err(DeployError::NoArchive);
        };
        runtime.block_on(shared.keep(plugin, &component.digest, bytes))?;
        self.switch(plugin, &component.digest, "file", Action::FileDropped)
    }

    /// Checks a workflow definition found in this replica's workflow directory against
    /// the plugins serving now and, when it binds, makes it serve on every replica.
    /// Replicas only.
    pub fn import_workflow(&self, name: &str, text: &str) -> Result<(), DeployError> {
        check_name(name)?;
        self.registry
            .check_workflow(name, text)
            .map_err(DeployError::Rejected)?;
        let Keeper::Shared {
            shared,
            mirror,
            replica,
            runtime,
        } = &self.keeper
        else {
            return Err(DeployError::NoArchive);
        };
        runtime.block_on(async {
            shared
                .put_workflow(name, text, &format!("file@{replica}"))
                .await?;
            mirror.converge().await
        })?;
        Ok(())
    }

    fn switch(
        &self,
        plugin: &str,
        digest: &Digest,
        by: &str,
        action: Action,
    ) -> Result<Activation, DeployError> {
        check_name(plugin)?;
        // The lock guards no data: an operation that panicked must not stop every later one.
        let _one_at_a_time = self.switching.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = self.stored_bytes(plugin, digest)?;
        let from = match &self.keeper {
            Keeper::Local => self.serving_digest(plugin),
            Keeper::Shared {
                shared, runtime, ..
            } => runtime.block_on(shared.active())?.plugins.remove(plugin),
        };
        let activation = Activation {
            plugin: plugin.to_owned(),
            from: from.as_ref().map(Digest::full),
            to: digest.full(),
            changed: from.as_ref() != Some(digest),
        };
        if activation.changed {
            self.check(plugin, &bytes)?;
            let change = Change::new(plugin, action, by, from.as_ref(), digest);
            match &self.keeper {
                Keeper::Local => self.publish_here(change, &bytes)?,
                Keeper::Shared {
                    shared,
                    replica,
                    runtime,
                    ..
                } => {
                    if !runtime.block_on(shared.switch(&change.on(replica)))? {
                        return Err(DeployError::Concurrent(plugin.to_owned()));
                    }
                }
            }
        }
        if let Keeper::Shared {
            mirror, runtime, ..
        } = &self.keeper
        {
            runtime.block_on(mirror.converge())?;
            if self.serving_digest(plugin).as_ref() != Some(digest) {
                return Err(DeployError::Rejected(format!(
                    "it is the active version for every replica, but does not serve here: {}",
                    self.load_error(plugin)
                )));
            }
        }
        Ok(activation)
    }

    /// Stages the stored version `digest` of `plugin` as its shadow or rollout, on
    /// `percent` of new orders of every workflow using it or of one (checked as an upload
    /// is, against the workflows as they are now), or ends the shadow or rollout (`None`).
    /// Returns what is staged for `plugin`.
    pub fn stage(
        &self,
        plugin: &str,
        mode: Mode,
        share: Option<(Digest, u8, Option<String>)>,
        by: &str,
    ) -> Result<Staging, DeployError> {
        check_name(plugin)?;
        let _one_at_a_time = self.switching.lock().unwrap_or_else(|e| e.into_inner());
        let serving = self.registry.current();
        let active = (serving.components.get(plugin))
            .ok_or_else(|| DeployError::NotServing(plugin.to_owned()))?
            .digest
            .clone();
        let mut staging = serving.staging.get(plugin).cloned().unwrap_or_default();
        let (action, to, bytes) = match &share {
            Some((_, _, Some(workflow)))
                if serving
                    .workflows
                    .get(workflow)
                    .and_then(|w| w.step(plugin))
                    .is_none() =>
            {
                return Err(DeployError::Rejected(format!(
                    "no workflow `{workflow}` uses `{plugin}`"
                )));
            }
            Some((digest, _, _)) => {
                let bytes = self.stored_bytes(plugin, digest)?;
                self.check(plugin, &bytes)?;
                let action = match mode {
                    Mode::Shadow => Action::Shadowed,
                    Mode::Rollout => Action::RolledOut,
                };
                (action, digest.clone(), Some(bytes))
            }
            None => {
                let Some(ended) = staging.get(mode).and_then(|s| Digest::parse(&s.digest)) else {
                    return Ok(staging);
                };
                let action = match mode {
                    Mode::Shadow => Action::ShadowEnded,
                    Mode::Rollout => Action::RolloutEnded,
                };
                (action, ended, None)
            }
        };
        let percent = share.as_ref().map(|(_, percent, _)| *percent);
        staging.set(
            mode,
            share.map(|(digest, percent, workflow)| Share {
                digest: digest.full(),
                percent,
                workflow,
            }),
        );
        let change = Change {
            percent,
            ..Change::new(plugin, action, by, Some(&active), &to)
        };
        match &self.keeper {
            Keeper::Local => {
                self.stage_here(plugin, &staging, &to, bytes.as_deref())?;
                self.versions()?.record(&change)?;
            }
            Keeper::Shared {
                shared,
                mirror,
                replica,
                runtime,
            } => runtime.block_on(async {
                shared.stage(&staging, &change.on(replica)).await?;
                mirror.converge().await.map(drop)
            })?,
        }
        let staged = self.registry.current().staging.get(plugin).cloned();
        if staged.unwrap_or_default() != staging {
            return Err(DeployError::Rejected(self.load_error_of(staging::FILE)));
        }
        Ok(staging)
    }

    /// One process: writes the staged version's bytes and the staging file, and reloads.
    /// Should the staging not serve, the previous staging file is put back.
    fn stage_here(
        &self,
        plugin: &str,
        staging: &Staging,
        digest: &Digest,
        bytes: Option<&[u8]>,
    ) -> Result<(), DeployError> {
        let dir = self.registry.plugin_dir();
        if let Some(bytes) = bytes {
            super::shared::replace(&dir.join(staging::staged_file(plugin, digest)), Some(bytes))?;
        }
        let mut set = self.registry.current().staging.clone();
        let previous = std::fs::read(dir.join(staging::FILE)).ok();
        set.insert(plugin.to_owned(), staging.clone());
        super::shared::replace(&dir.join(staging::FILE), Some(&staging::file_bytes(&set)))?;
        self.registry.reload();
        if self
            .registry
            .current()
            .staging
            .get(plugin)
            .cloned()
            .unwrap_or_default()
            != *staging
        {
            let error = self.load_error_of(staging::FILE);
            super::shared::replace(&dir.join(staging::FILE), previous.as_deref())?;
            self.registry.reload();
            return Err(DeployError::Rejected(error));
        }
        Ok(())
    }

    fn serving_digest(&self, plugin: &str) -> Option<Digest> {
        let serving = self.registry.current();
        serving.components.get(plugin).map(|c| c.digest.clone())
    }

    fn load_error(&self, plugin: &str) -> String {
        self.load_error_of(&file(plugin))
    }

    fn load_error_of(&self, file: &str) -> String {
        self.registry
            .current()
            .errors
            .get(file)
            .map_or_else(|| "it did not load".into(), |failure| failure.error.clone())
    }

    /// One process: writes the version into the plugin directory and reloads; the archive
    /// records the change as the reload sees it. Should it not serve, the previous file is
    /// put back, so a restart serves what serves now.
    fn publish_here(&self, change: Change, bytes: &[u8]) -> Result<(), DeployError> {
        let versions = self.versions()?;
        let plugin = change.plugin.as_str();
        let digest = Digest::parse(&change.to).expect("a digest we printed");
        versions.expect(plugin, &digest, change.action, &change.by);
        let serving = self.publish(plugin, bytes).and_then(|()| {
            self.registry.reload();
            match self.serving_digest(plugin) {
                Some(serving) if serving == digest => Ok(()),
                _ => Err(DeployError::Rejected(self.load_error(plugin))),
            }
        });
        if let Err(e) = serving {
            versions.unexpect(plugin);
            let previous = change.from.as_deref().and_then(Digest::parse);
            if let Some(previous) = previous.and_then(|d| versions.bytes(plugin, &d).ok().flatten())
            {
                self.publish(plugin, &previous)?;
                self.registry.reload();
            }
            return Err(e);
        }
        Ok(())
    }

    /// Writes `<plugin>.wasm` into the plugin directory whole.
    fn publish(&self, plugin: &str, bytes: &[u8]) -> Result<(), DeployError> {
        let path = self.registry.plugin_dir().join(file(plugin));
        Ok(super::shared::replace(&path, Some(bytes))?)
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
        let component = self.load_version(&step.component().name, digest)?;
        self.rebind(step, component)
    }

    /// The stored version `digest` of `plugin`, compiled (or from the cache).
    pub fn load_version(
        &self,
        plugin: &str,
        digest: &Digest,
    ) -> Result<Arc<LoadedComponent>, DeployError> {
        let bytes = self.stored_bytes(plugin, digest)?;
        Ok(self.registry.runtime().load(plugin, &bytes)?)
    }

    /// `step` (a workflow's parameters and limits) with `component` instead of its own.
    pub fn rebind(
        &self,
        step: &BoundPlugin,
        component: Arc<LoadedComponent>,
    ) -> Result<Arc<BoundPlugin>, DeployError> {
        Ok(self.registry.runtime().rebind(step, component)?)
    }

    /// Every kept version of `plugin`, oldest first.
    pub fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, DeployError> {
        match &self.keeper {
            Keeper::Local => Ok(self.versions()?.stored(plugin)?),
            Keeper::Shared {
                shared, runtime, ..
            } => Ok(runtime.block_on(shared.stored(plugin))?),
        }
    }

    /// The recorded changes, oldest first: all of them, or one plugin's.
    pub fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, DeployError> {
        match &self.keeper {
            Keeper::Local => Ok(self.versions()?.history(plugin)?),
            Keeper::Shared {
                shared, runtime, ..
            } => Ok(runtime.block_on(shared.history(plugin))?),
        }
    }

    /// The bytes of the stored version `digest` of `plugin`.
    fn stored_bytes(&self, plugin: &str, digest: &Digest) -> Result<Vec<u8>, DeployError> {
        let bytes = match &self.keeper {
            Keeper::Local => self.versions()?.bytes(plugin, digest)?,
            Keeper::Shared {
                shared, runtime, ..
            } => runtime.block_on(shared.bytes(plugin, digest))?,
        };
        bytes.ok_or_else(|| DeployError::UnknownVersion {
            plugin: plugin.to_owned(),
            digest: digest.full(),
        })
    }
}

fn file(plugin: &str) -> String {
    format!("{plugin}.wasm")
}
