//! Deploying plugin versions: a new version is checked as if it served now ([`check`]),
//! kept, made active, rolled back, or staged as a trial. Where versions are kept and how one
//! becomes active is the deployer's seam, [`VersionStore`], with two backends: one process's
//! files (`files`: the registry's archive and its plugin directory) and the registry
//! replicas share (`shared`: MongoDB, and this replica's mirror of it).
//!
//! The deployer is asynchronous throughout: compiling, trial decisions and reloads run on
//! blocking threads, the stores are awaited, and activations and rollbacks take turns.

mod check;
mod files;
mod shared;

use crate::domain::{BadPluginName, Digest, PluginName, StoreError};
use crate::operations::mirror::{Mirror, SharedRegistry};
use crate::orders::{OrderError, refused};
use crate::plugins::trials::{self, Mode, Share, Trials};
use crate::plugins::versions::{Action, Change, StoredVersion, undo_target};
use crate::plugins::{BoundPlugin, LoadError, LoadedComponent, PluginKind, Registry, Workflow};
use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    BadName(#[from] BadPluginName),
    /// The candidate cannot serve; the reason says why.
    #[error("{0}")]
    Rejected(String),
    #[error("no version {digest} of `{plugin}` is stored")]
    UnknownVersion { plugin: String, digest: Digest },
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

impl DeployError {
    /// The answer to a request naming a version in `field`: a version not stored, or one
    /// that cannot serve, is the request's fault; anything else, the archive's.
    pub fn refusal(self, field: &str) -> OrderError {
        let code = match self {
            DeployError::UnknownVersion { .. } => "unknown_version",
            DeployError::Rejected(_) => "plugin_rejected",
            other => return OrderError::StoreUnavailable(other.to_string()),
        };
        refused(code, self.to_string(), field.into())
    }
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
    pub digest: Digest,
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
    pub from: Option<Digest>,
    pub to: Digest,
    /// False when `to` was already the active version.
    pub changed: bool,
}

/// Where versions are kept and how one becomes active: what the deployer needs of a
/// backend. Each answers once the change holds in this process (or why it does not).
#[async_trait]
pub trait VersionStore: Send + Sync {
    /// Keeps `bytes` as version `digest` of `plugin`, recorded as uploaded by `by`.
    async fn upload(
        &self,
        plugin: &str,
        digest: &Digest,
        bytes: Bytes,
        by: &str,
    ) -> Result<(), DeployError>;
    /// Keeps a file dropped into this replica's plugin directory, unrecorded (its
    /// activation is the record). Replicas only.
    async fn import(&self, plugin: &str, digest: &Digest, bytes: Bytes) -> Result<(), DeployError>;
    async fn bytes(&self, plugin: &str, digest: &Digest) -> Result<Option<Vec<u8>>, DeployError>;
    /// Every kept version of `plugin`, oldest first.
    async fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, DeployError>;
    /// The recorded changes, oldest first: all of them, or one plugin's.
    async fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, DeployError>;
    /// The active version of `plugin`.
    async fn active(&self, plugin: &str) -> Result<Option<Digest>, DeployError>;
    /// Makes `change.to` (whose bytes are `bytes`) the active version in place of
    /// `change.from`, records `change`, and serves it in this process.
    async fn switch(&self, change: Change, bytes: Vec<u8>) -> Result<(), DeployError>;
    /// Sets what is staged for `change.plugin` (`bytes`: the version a trial starts with)
    /// and records `change`.
    async fn stage(
        &self,
        staging: Trials,
        change: Change,
        bytes: Option<Vec<u8>>,
    ) -> Result<(), DeployError>;
    /// Stores a workflow's definition found in this replica's directory. Replicas only.
    async fn put_workflow(&self, name: &str, text: &str) -> Result<(), DeployError>;
    /// Brings this process to what the store says serves.
    async fn settle(&self) -> Result<(), DeployError>;
}

/// The plugin operations of one registry: it compiles and tries candidates with the
/// registry's runtime against the workflows of its snapshot, keeps versions, and makes one
/// active. Make one per registry (the service keeps its own).
pub struct Deployer {
    registry: Arc<Registry>,
    store: Box<dyn VersionStore>,
    /// Activations, rollbacks and trials run one at a time (each includes a reload).
    switching: tokio::sync::Mutex<()>,
}

impl Deployer {
    /// The operations of one process, on `registry`'s archive and directories.
    pub fn new(registry: Arc<Registry>) -> Self {
        let store = Box::new(files::Files::new(registry.clone()));
        Deployer::with(registry, store)
    }

    /// The operations of replica `replica`, on the registry all replicas share; `mirror`
    /// keeps `registry` in step with it.
    pub fn shared(
        registry: Arc<Registry>,
        shared: Arc<dyn SharedRegistry>,
        mirror: Arc<Mirror>,
        replica: &str,
    ) -> Self {
        let replica = replica.to_owned();
        let store = Box::new(shared::Shared {
            shared,
            mirror,
            replica,
        });
        Deployer::with(registry, store)
    }

    fn with(registry: Arc<Registry>, store: Box<dyn VersionStore>) -> Self {
        Deployer {
            registry,
            store,
            switching: tokio::sync::Mutex::new(()),
        }
    }

    /// Checks that `bytes` could serve as `plugin` now (see [`check`]). Nothing changes.
    pub async fn check(
        &self,
        plugin: &str,
        bytes: Bytes,
    ) -> Result<(Candidate, Arc<LoadedComponent>), DeployError> {
        PluginName::parse(plugin)?;
        let (registry, plugin) = (self.registry.clone(), plugin.to_owned());
        blocking(move || check::candidate(&registry, &plugin, &bytes)).await
    }

    /// Checks a new version of `plugin` and keeps it (recorded as uploaded by `by`); it
    /// does not serve until activated.
    pub async fn upload(
        &self,
        plugin: &str,
        bytes: Bytes,
        by: &str,
    ) -> Result<Candidate, DeployError> {
        let (candidate, component) = self.check(plugin, bytes.clone()).await?;
        let digest = &component.digest;
        self.store.upload(plugin, digest, bytes, by).await?;
        Ok(candidate)
    }

    /// Makes the stored version `digest` of `plugin` the active one, checked again
    /// against the workflows as they are now.
    pub async fn activate(
        &self,
        plugin: &str,
        digest: &Digest,
        by: &str,
    ) -> Result<Activation, DeployError> {
        self.switch(plugin, digest, by, Action::Activated).await
    }

    /// Makes the version active before the current one active again.
    pub async fn rollback(&self, plugin: &str, by: &str) -> Result<Activation, DeployError> {
        PluginName::parse(plugin)?;
        let target = undo_target(&self.history(Some(plugin)).await?)
            .ok_or_else(|| DeployError::NothingToRollBack(plugin.to_owned()))?;
        self.switch(plugin, &target, by, Action::RolledBack).await
    }

    /// Checks a file found in this replica's plugin directory and, when it can serve,
    /// makes it the active version for every replica (recorded as a file drop). Replicas
    /// only: one process loads its plugin directory itself.
    pub async fn import(&self, plugin: &str, bytes: Bytes) -> Result<Activation, DeployError> {
        let (_, component) = self.check(plugin, bytes.clone()).await?;
        self.store.import(plugin, &component.digest, bytes).await?;
        (self.switch(plugin, &component.digest, "file", Action::FileDropped)).await
    }

    /// Checks a workflow definition found in this replica's workflow directory against
    /// the plugins serving now and, when it binds, makes it serve on every replica.
    /// Replicas only.
    pub async fn import_workflow(&self, name: &str, text: &str) -> Result<(), DeployError> {
        PluginName::parse(name)?;
        let (registry, owned) = (self.registry.clone(), (name.to_owned(), text.to_owned()));
        blocking(move || {
            (registry.check_workflow(&owned.0, &owned.1)).map_err(DeployError::Rejected)
        })
        .await?;
        self.store.put_workflow(name, text).await
    }

    async fn switch(
        &self,
        plugin: &str,
        digest: &Digest,
        by: &str,
        action: Action,
    ) -> Result<Activation, DeployError> {
        PluginName::parse(plugin)?;
        let _one_at_a_time = self.switching.lock().await;
        let (bytes, from) =
            tokio::join!(self.stored_bytes(plugin, digest), self.store.active(plugin));
        let (bytes, from) = (bytes?, from?);
        let activation = Activation {
            plugin: plugin.to_owned(),
            from: from.clone(),
            to: digest.clone(),
            changed: from.as_ref() != Some(digest),
        };
        if activation.changed {
            self.check(plugin, Bytes::from(bytes.clone())).await?;
            let change = Change::new(plugin, action, by, from.as_ref(), digest);
            self.store.switch(change, bytes).await?;
        } else {
            self.store.settle().await?;
        }
        if files::serving_digest(&self.registry.current(), plugin).as_ref() != Some(digest) {
            return Err(DeployError::Rejected(format!(
                "it is the active version, but does not serve here: {}",
                files::load_error(&self.registry, &files::file(plugin))
            )));
        }
        Ok(activation)
    }

    /// Stages the stored version `digest` of `plugin` as its shadow or rollout, on
    /// `percent` of new orders of every workflow using it or of one (checked as an upload
    /// is, against the workflows as they are now), or ends the shadow or rollout (`None`).
    /// Returns what is staged for `plugin`.
    pub async fn stage(
        &self,
        plugin: &str,
        mode: Mode,
        share: Option<(Digest, u8, Option<String>)>,
        by: &str,
    ) -> Result<Trials, DeployError> {
        PluginName::parse(plugin)?;
        let _one_at_a_time = self.switching.lock().await;
        let serving = self.registry.current();
        let active = (serving.components.get(plugin))
            .ok_or_else(|| DeployError::NotServing(plugin.to_owned()))?
            .digest
            .clone();
        let mut staging = serving.staging.get(plugin).cloned().unwrap_or_default();
        let (action, to, bytes) = match &share {
            Some((_, _, Some(workflow)))
                if (serving.workflows.get(workflow))
                    .and_then(|w| w.step(plugin))
                    .is_none() =>
            {
                return Err(DeployError::Rejected(format!(
                    "no workflow `{workflow}` uses `{plugin}`"
                )));
            }
            Some((digest, _, _)) => {
                let bytes = self.stored_bytes(plugin, digest).await?;
                self.check(plugin, Bytes::from(bytes.clone())).await?;
                let action = match mode {
                    Mode::Shadow => Action::Shadowed,
                    Mode::Rollout => Action::RolledOut,
                };
                (action, digest.clone(), Some(bytes))
            }
            None => {
                let Some(ended) = staging.get(mode).map(|s| s.digest.clone()) else {
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
                digest,
                percent,
                workflow,
            }),
        );
        let change = Change {
            percent,
            ..Change::new(plugin, action, by, Some(&active), &to)
        };
        self.store.stage(staging.clone(), change, bytes).await?;
        let staged = self.registry.current().staging.get(plugin).cloned();
        if staged.unwrap_or_default() != staging {
            return Err(DeployError::Rejected(files::load_error(
                &self.registry,
                trials::FILE,
            )));
        }
        Ok(staging)
    }

    /// `workflow`'s step of `kind` with the stored version `digest` of its plugin, for a
    /// dry run (e.g. repricing an order with a version before it is activated).
    pub async fn bind_version(
        &self,
        workflow: &Workflow,
        kind: PluginKind,
        digest: &Digest,
    ) -> Result<Arc<BoundPlugin>, DeployError> {
        let step = workflow.plugin(kind).clone();
        let component = self.load_version(&step.component().name, digest).await?;
        let registry = self.registry.clone();
        blocking(move || Ok(registry.runtime().rebind(&step, component)?)).await
    }

    /// The stored version `digest` of `plugin`, compiled (or from the cache).
    pub async fn load_version(
        &self,
        plugin: &str,
        digest: &Digest,
    ) -> Result<Arc<LoadedComponent>, DeployError> {
        let bytes = self.stored_bytes(plugin, digest).await?;
        let (registry, plugin) = (self.registry.clone(), plugin.to_owned());
        blocking(move || Ok(registry.runtime().load(&plugin, &bytes)?)).await
    }

    /// `step` (a workflow's parameters and limits) with `component` instead of its own.
    /// It configures an instance: call it off the async workers.
    pub fn rebind(
        &self,
        step: &BoundPlugin,
        component: Arc<LoadedComponent>,
    ) -> Result<Arc<BoundPlugin>, DeployError> {
        Ok(self.registry.runtime().rebind(step, component)?)
    }

    /// Every kept version of `plugin`, oldest first.
    pub async fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, DeployError> {
        self.store.stored(plugin).await
    }

    /// The recorded changes, oldest first: all of them, or one plugin's.
    pub async fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, DeployError> {
        self.store.history(plugin).await
    }

    /// The bytes of the stored version `digest` of `plugin`.
    async fn stored_bytes(&self, plugin: &str, digest: &Digest) -> Result<Vec<u8>, DeployError> {
        let bytes = self.store.bytes(plugin, digest).await?;
        bytes.ok_or_else(|| DeployError::UnknownVersion {
            plugin: plugin.to_owned(),
            digest: digest.clone(),
        })
    }
}

/// Compiling, binding and reloading take milliseconds of CPU: off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DeployError> + Send + 'static,
) -> Result<T, DeployError> {
    let done = tokio::task::spawn_blocking(work).await;
    done.map_err(|e| DeployError::Archive(std::io::Error::other(e)))?
}
