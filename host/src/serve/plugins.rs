//! The plugin platform as the service starts it: one process's own registry, or a replica's
//! mirror of the registry the replicas share.

use super::ServeConfig;
use crate::operations::artifacts::Artifacts;
use crate::operations::deploy::Deployer;
use crate::operations::import::{Importer, watch_imports};
use crate::operations::mirror::{Mirror, SharedRegistry};
use crate::plugins::hot_reload::{HotReload, watch};
use crate::plugins::{Registry, Runtime, Versions};
use crate::replicas::Membership;
use crate::store::MongoStore;
use anyhow::Context;
use std::sync::Arc;

/// What serves and how it changes: the registry, its plugin operations, and the watch on
/// the plugin and workflow directories (kept alive as long as the service runs).
pub(super) struct Plugins {
    pub(super) registry: Arc<Registry>,
    pub(super) deployer: Arc<Deployer>,
    pub(super) hot_reload: HotReload,
}

/// One process: the registry loads the plugin and workflow directories and keeps every
/// version in `DATA_DIR/plugin-versions`.
pub(super) fn own_plugins(config: &ServeConfig, runtime: Arc<Runtime>) -> anyhow::Result<Plugins> {
    let data = &config.common.data_dir;
    let versions = Versions::open(&data.join("plugin-versions"))
        .with_context(|| format!("opening the plugin versions in {}", data.display()))?;
    let registry = Registry::open(
        runtime,
        config.plugin_dir.clone(),
        config.workflow_dir.clone(),
        Some(versions),
    );
    let hot_reload =
        watch(registry.clone()).context("watching the plugin and workflow directories")?;
    Ok(Plugins {
        deployer: Arc::new(Deployer::new(registry.clone())),
        registry,
        hot_reload,
    })
}

/// Replicas: the registry serves a mirror (in `DATA_DIR/registry`) of the one they share
/// in MongoDB; files in the plugin and workflow directories are imported into it.
pub(super) async fn shared_plugins(
    config: &ServeConfig,
    runtime: Arc<Runtime>,
    mongo: Arc<MongoStore>,
    membership: &Membership,
) -> anyhow::Result<Plugins> {
    let mirrored = config.common.data_dir.join("registry");
    let dirs = [mirrored.join("plugins"), mirrored.join("workflows")];
    for dir in &dirs {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let [plugin_dir, workflow_dir] = dirs;
    let registry = Registry::open(runtime, plugin_dir, workflow_dir, None);
    let artifacts =
        (config.artifact_key()).map(|key| Artifacts::new(mongo.clone(), registry.clone(), key));
    let mirror = Mirror::new(mongo.clone(), registry.clone(), artifacts);
    mirror
        .converge()
        .await
        .context("reading the shared plugin registry")?;
    let deployer = Arc::new(Deployer::shared(
        registry.clone(),
        mongo.clone(),
        mirror.clone(),
        &membership.identity.replica,
    ));
    let known = mongo
        .active()
        .await
        .context("reading the shared plugin registry")?;
    let importer = Arc::new(Importer::new(
        deployer.clone(),
        registry.clone(),
        config.plugin_dir.clone(),
        config.workflow_dir.clone(),
    ));
    let starting = importer.clone();
    starting.start(&known).await;
    tokio::spawn(mirror.run());
    let imports = [config.plugin_dir.clone(), config.workflow_dir.clone()];
    let hot_reload = watch_imports(registry.clone(), &imports, importer)
        .context("watching the plugin and workflow directories")?;
    Ok(Plugins {
        registry,
        deployer,
        hot_reload,
    })
}
