//! The registry replicas share, with MongoDB: every stored plugin version (immutable,
//! addressed by digest), the active version of each plugin, the workflow definitions and
//! the change log. It is the source of truth; each replica's [`Mirror`] writes the active
//! set into the replica's own directories and reloads its [`Registry`] from them, so a
//! replica serves exactly as a single process does (compiled off the request path, one
//! snapshot per order) and converges on every change within [`RESYNC`] of it, sooner when
//! the change feed reports it.

use super::artifacts::Artifacts;
use crate::domain::Digest;
use crate::domain::StoreError;
use crate::plugins::Registry;
use crate::plugins::registry::replace;
use crate::plugins::trials::{self, TrialSet, Trials};
use crate::plugins::versions::{Change, StoredVersion};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How often a replica re-reads the active set whatever the change feed says: the bound on
/// convergence should the feed miss a change or be unavailable.
pub const RESYNC: Duration = Duration::from_secs(30);

/// What serves on every replica.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActiveSet {
    /// The active version of each plugin that has one.
    pub plugins: BTreeMap<String, Digest>,
    /// Each workflow's definition (TOML).
    pub workflows: BTreeMap<String, String>,
    /// What is staged beside the active versions, by plugin.
    pub staging: TrialSet,
}

/// What the plugin operations and the mirror need of the store the replicas share.
#[async_trait]
pub trait SharedRegistry: Send + Sync + 'static {
    /// Keeps `bytes` as version `digest` of `plugin`; a version already kept is left as it
    /// is (a version never changes once stored).
    async fn keep(&self, plugin: &str, digest: &Digest, bytes: &[u8]) -> Result<(), StoreError>;
    async fn bytes(&self, plugin: &str, digest: &Digest) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every kept version of `plugin`, oldest first.
    async fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, StoreError>;
    /// Appends a change that leaves the active version as it is (an upload).
    async fn record(&self, change: &Change) -> Result<(), StoreError>;
    /// Makes `change.to` the active version in place of `change.from` and records the
    /// change, in one step; false (and nothing changed) when the active version is not
    /// `change.from` any more: another replica changed it first.
    async fn switch(&self, change: &Change) -> Result<bool, StoreError>;
    /// Sets what is staged for `change.plugin` and records the change, in one step.
    async fn stage(&self, staging: &Trials, change: &Change) -> Result<(), StoreError>;
    /// The recorded changes, oldest first: all of them, or one plugin's.
    async fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, StoreError>;
    /// The active version of `plugin`, if it has one.
    async fn active_version(&self, plugin: &str) -> Result<Option<Digest>, StoreError>;
    async fn active(&self) -> Result<ActiveSet, StoreError>;
    /// Stores the definition of workflow `name` (replacing an earlier one).
    async fn put_workflow(&self, name: &str, text: &str, by: &str) -> Result<(), StoreError>;
    /// Follows the store's change feed until the process ends, notifying `changed` of every
    /// change to the active set; an interrupted feed resumes where it stopped.
    async fn follow(&self, changed: Arc<Notify>);
}

/// Writes the shared active set into this replica's plugin and workflow directories and
/// reloads the registry from them.
pub struct Mirror {
    shared: Arc<dyn SharedRegistry>,
    registry: Arc<Registry>,
    /// What the directories hold, by file name: the mirror alone writes them.
    written: tokio::sync::Mutex<BTreeMap<String, Digest>>,
    /// Compiled plugins shared with the other replicas, when they share a key.
    artifacts: Option<Arc<Artifacts>>,
}

impl Mirror {
    /// A mirror into `registry`'s directories, starting from what they hold now (a
    /// restart keeps its files; an empty `DATA_DIR` starts empty).
    pub fn new(
        shared: Arc<dyn SharedRegistry>,
        registry: Arc<Registry>,
        artifacts: Option<Arc<Artifacts>>,
    ) -> Arc<Self> {
        let mut written = BTreeMap::new();
        for dir in [registry.plugin_dir(), registry.workflow_dir()] {
            for (name, bytes) in held(dir) {
                written.insert(name, Digest::of(&bytes));
            }
        }
        Arc::new(Mirror {
            shared,
            registry,
            written: tokio::sync::Mutex::new(written),
            artifacts,
        })
    }

    /// Brings this replica to the shared active set now: files that differ are written
    /// (whole, then renamed into place) and the registry reloads. Returns whether anything
    /// changed here.
    pub async fn converge(&self) -> Result<bool, StoreError> {
        let mut written = self.written.lock().await;
        let set = self.shared.active().await?;
        let mut wanted = BTreeMap::new();
        for (plugin, digest) in &set.plugins {
            wanted.insert(format!("{plugin}.wasm"), digest.clone());
        }
        for (workflow, text) in &set.workflows {
            wanted.insert(format!("{workflow}.toml"), Digest::of(text.as_bytes()));
        }
        let staging_file = trials::file_bytes(&set.staging);
        for (plugin, staging) in &set.staging {
            for (_, share) in staging.shares() {
                let digest = share.digest.clone();
                wanted.insert(trials::staged_file(plugin, &digest), digest);
            }
        }
        if !set.staging.is_empty() {
            wanted.insert(trials::FILE.into(), Digest::of(&staging_file));
        }
        // Fetched all at once: a replica starting with an empty DATA_DIR waits for one
        // round trip to the store, not one per plugin.
        let (staging_file, workflows) = (&staging_file, &set.workflows);
        let fetches = (wanted.iter())
            .filter(|(file, digest)| written.get(*file) != Some(*digest))
            .map(|(file, digest)| async move {
                let bytes = match file.strip_suffix(".wasm") {
                    _ if file == trials::FILE => staging_file.clone(),
                    Some(plugin) => {
                        // A staged version's file is `staged/<plugin>@<hex>.wasm`.
                        let plugin = (plugin.strip_prefix(trials::DIR))
                            .and_then(|p| p.strip_prefix('/')?.split_once('@'))
                            .map_or(plugin, |(plugin, _)| plugin);
                        self.shared.bytes(plugin, digest).await?.ok_or_else(|| {
                            StoreError::Unavailable(format!(
                                "version {digest} of `{plugin}` is not stored"
                            ))
                        })?
                    }
                    None => workflows[file.trim_end_matches(".toml")]
                        .clone()
                        .into_bytes(),
                };
                Ok::<_, StoreError>((self.path(file), Some(bytes)))
            });
        let compiled: Vec<Digest> = (wanted.iter())
            .filter(|(file, digest)| file.ends_with(".wasm") && written.get(*file) != Some(*digest))
            .map(|(_, digest)| digest.clone())
            .collect();
        let (fetched, ()) = tokio::join!(
            futures_util::future::try_join_all(fetches),
            self.fetch_artifacts(&compiled)
        );
        let mut writes = fetched?;
        let gone = written.keys().filter(|f| !wanted.contains_key(*f));
        writes.extend(gone.map(|file| (self.path(file), None)));
        if writes.is_empty() {
            return Ok(false);
        }
        self.write(writes).await?;
        *written = wanted;
        self.share(compiled);
        Ok(true)
    }

    async fn fetch_artifacts(&self, digests: &[Digest]) {
        if let Some(artifacts) = &self.artifacts {
            artifacts.fetch(digests).await;
        }
    }

    /// Shares what this replica compiled of `digests` with the others.
    pub fn share(&self, digests: Vec<Digest>) {
        if let Some(artifacts) = &self.artifacts {
            artifacts.share(digests);
        }
    }

    /// Serves `digest` (whose bytes are `bytes`) as `plugin` here now, as the shared
    /// registry has just been told: what an operation switched needs no reading back.
    pub async fn apply(
        &self,
        plugin: &str,
        digest: &Digest,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        let mut written = self.written.lock().await;
        let file = format!("{plugin}.wasm");
        self.write(vec![(self.path(&file), Some(bytes))]).await?;
        written.insert(file, digest.clone());
        self.share(vec![digest.clone()]);
        Ok(())
    }

    /// Writes (or removes: `None`) each file whole, then reloads the registry.
    async fn write(&self, writes: Vec<(PathBuf, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let registry = self.registry.clone();
        tokio::task::spawn_blocking(move || {
            for (path, bytes) in writes {
                replace(&path, bytes.as_deref())?;
            }
            registry.reload();
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
        .map_err(|e| StoreError::Unavailable(format!("writing the mirrored plugins: {e}")))
    }

    fn path(&self, file: &str) -> PathBuf {
        match file.ends_with(".toml") {
            true => self.registry.workflow_dir().join(file),
            false => self.registry.plugin_dir().join(file),
        }
    }

    /// Converges whenever the change feed reports a change, and every [`RESYNC`] anyway,
    /// until the process ends. A failed round is logged and the next one tries again.
    pub async fn run(self: Arc<Self>) {
        let changed = Arc::new(Notify::new());
        let shared = self.shared.clone();
        let feed = changed.clone();
        tokio::spawn(async move { shared.follow(feed).await });
        loop {
            if let Err(e) = self.converge().await {
                tracing::warn!(error = %e, "the shared plugin registry could not be read; retrying");
            }
            let _ = tokio::time::timeout(RESYNC, changed.notified()).await;
        }
    }
}

/// The `.wasm` and `.toml` files of `dir`, by file name, with their bytes.
fn held(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "wasm" || x == "toml")
                || p.file_name().is_some_and(|n| n == trials::FILE)
        })
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            Some((name, std::fs::read(&p).ok()?))
        })
        .collect()
}
