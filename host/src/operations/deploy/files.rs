//! One process's versions: the registry's own archive (`plugins::Versions`), and activation
//! through the plugin directory (the file is written whole, then the registry reloads), so
//! the API and a file dropped by hand are one mechanism and a restart serves what was last
//! activated. File work and reloads run on a blocking thread.

use super::{DeployError, VersionStore, blocking};
use crate::domain::Digest;
use crate::plugins::registry::replace;
use crate::plugins::trials::{self, Trials};
use crate::plugins::versions::{Change, StoredVersion, Versions};
use crate::plugins::{Registry, Serving};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

pub(super) struct Files {
    registry: Arc<Registry>,
}

impl Files {
    pub(super) fn new(registry: Arc<Registry>) -> Self {
        Files { registry }
    }

    /// Runs `work` on the registry's archive, on a blocking thread.
    async fn archive<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Registry, &Versions) -> Result<T, DeployError> + Send + 'static,
    ) -> Result<T, DeployError> {
        let registry = self.registry.clone();
        blocking(move || {
            work(
                &registry,
                registry.versions().ok_or(DeployError::NoArchive)?,
            )
        })
        .await
    }
}

#[async_trait]
impl VersionStore for Files {
    async fn upload(
        &self,
        plugin: &str,
        digest: &Digest,
        bytes: Bytes,
        by: &str,
    ) -> Result<(), DeployError> {
        let (plugin, digest, by) = (plugin.to_owned(), digest.clone(), by.to_owned());
        self.archive(move |_, versions| {
            versions.keep(&plugin, &bytes)?;
            Ok(versions.uploaded(&plugin, &digest, &by)?)
        })
        .await
    }

    async fn import(&self, _: &str, _: &Digest, _: Bytes) -> Result<(), DeployError> {
        Err(DeployError::NoArchive)
    }

    async fn bytes(&self, plugin: &str, digest: &Digest) -> Result<Option<Vec<u8>>, DeployError> {
        let (plugin, digest) = (plugin.to_owned(), digest.clone());
        self.archive(move |_, versions| Ok(versions.bytes(&plugin, &digest)?))
            .await
    }

    async fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, DeployError> {
        let plugin = plugin.to_owned();
        self.archive(move |_, versions| Ok(versions.stored(&plugin)?))
            .await
    }

    async fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, DeployError> {
        let plugin = plugin.map(str::to_owned);
        self.archive(move |_, versions| Ok(versions.history(plugin.as_deref())?))
            .await
    }

    async fn active(&self, plugin: &str) -> Result<Option<Digest>, DeployError> {
        Ok(serving_digest(&self.registry.current(), plugin))
    }

    /// Writes the version into the plugin directory and reloads; the archive records the
    /// change as the reload sees it. Should it not serve, the previous file is put back, so
    /// a restart serves what serves now.
    async fn switch(&self, change: Change, bytes: Vec<u8>) -> Result<(), DeployError> {
        self.archive(move |registry, versions| {
            let plugin = change.plugin.as_str();
            versions.expect(plugin, &change.to, change.action, &change.by);
            let serving = publish(registry, plugin, &bytes).and_then(|()| {
                registry.reload();
                match serving_digest(&registry.current(), plugin) {
                    Some(serving) if serving == change.to => Ok(()),
                    _ => Err(DeployError::Rejected(load_error(registry, &file(plugin)))),
                }
            });
            if let Err(e) = serving {
                versions.unexpect(plugin);
                let previous = (change.from.as_ref())
                    .and_then(|from| versions.bytes(plugin, from).ok().flatten());
                if let Some(previous) = previous {
                    publish(registry, plugin, &previous)?;
                    registry.reload();
                }
                return Err(e);
            }
            Ok(())
        })
        .await
    }

    /// Writes the staged version's bytes and the staging file, and reloads. Should the
    /// staging not serve, the previous staging file is put back.
    async fn stage(
        &self,
        staging: Trials,
        change: Change,
        bytes: Option<Vec<u8>>,
    ) -> Result<(), DeployError> {
        self.archive(move |registry, versions| {
            let plugin = change.plugin.as_str();
            let dir = registry.plugin_dir();
            if let Some(bytes) = bytes {
                replace(
                    &dir.join(trials::staged_file(plugin, &change.to)),
                    Some(&bytes),
                )?;
            }
            let mut set = registry.current().staging.clone();
            let previous = std::fs::read(dir.join(trials::FILE)).ok();
            set.insert(plugin.to_owned(), staging.clone());
            replace(&dir.join(trials::FILE), Some(&trials::file_bytes(&set)))?;
            registry.reload();
            if registry
                .current()
                .staging
                .get(plugin)
                .cloned()
                .unwrap_or_default()
                != staging
            {
                let error = load_error(registry, trials::FILE);
                replace(&dir.join(trials::FILE), previous.as_deref())?;
                registry.reload();
                return Err(DeployError::Rejected(error));
            }
            Ok(versions.record(&change)?)
        })
        .await
    }

    async fn put_workflow(&self, _: &str, _: &str) -> Result<(), DeployError> {
        Err(DeployError::NoArchive)
    }

    async fn settle(&self) -> Result<(), DeployError> {
        Ok(())
    }
}

pub(super) fn serving_digest(serving: &Serving, plugin: &str) -> Option<Digest> {
    serving.components.get(plugin).map(|c| c.digest.clone())
}

/// Why `file` does not serve, as the last reload saw it.
pub(super) fn load_error(registry: &Registry, file: &str) -> String {
    (registry.current().errors.get(file))
        .map_or_else(|| "it did not load".into(), |failure| failure.error.clone())
}

pub(super) fn file(plugin: &str) -> String {
    format!("{plugin}.wasm")
}

/// Writes `<plugin>.wasm` into the plugin directory whole.
fn publish(registry: &Registry, plugin: &str, bytes: &[u8]) -> Result<(), DeployError> {
    let path = registry.plugin_dir().join(file(plugin));
    Ok(replace(&path, Some(bytes))?)
}
