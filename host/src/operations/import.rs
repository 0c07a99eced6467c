//! With replicas, a file dropped into one replica's plugin or workflow directory is an
//! import into the registry they share: checked exactly as an upload is, then active on
//! every replica, recorded as a file drop on that replica. A file that cannot serve is
//! refused with a log line and nothing changes: no replica ever serves what the others do
//! not.
//!
//! At start-up only names the shared registry does not know yet are imported (a plugin or
//! workflow new with this replica's image); a known name keeps its shared version, so
//! starting a replica from an older image never rolls the others back.

use super::deploy::{DeployError, Deployer};
use super::mirror::ActiveSet;
use crate::domain::Digest;
use crate::plugins::Registry;
use crate::plugins::hot_reload::{self, HotReload};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

pub struct Importer {
    deployer: Arc<Deployer>,
    /// Where a refused file is reported, beside the load errors.
    registry: Arc<Registry>,
    plugin_dir: PathBuf,
    workflow_dir: PathBuf,
    /// Each file's content as last looked at: only a change is imported.
    seen: Mutex<BTreeMap<PathBuf, Digest>>,
}

/// A file to import: a plugin's component or a workflow's definition.
enum Found {
    Plugin(String),
    Workflow(String),
}

impl Importer {
    pub fn new(
        deployer: Arc<Deployer>,
        registry: Arc<Registry>,
        plugin_dir: PathBuf,
        workflow_dir: PathBuf,
    ) -> Self {
        Importer {
            deployer,
            registry,
            plugin_dir,
            workflow_dir,
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// At start-up: imports the files whose names `known` (the shared active set) lacks;
    /// the others are remembered as seen, so only a later change to them is imported.
    pub async fn start(&self, known: &ActiveSet) {
        for (path, found, bytes) in self.files().await {
            let new = match &found {
                Found::Plugin(name) => !known.plugins.contains_key(name),
                Found::Workflow(name) => !known.workflows.contains_key(name),
            };
            if new {
                self.import(&path, &found, bytes.clone()).await;
            } else if self.differs(&found, known, &bytes) {
                tracing::info!(file = %path.display(), "differs from the version the replicas share, which keeps serving; change the file or upload it to make it serve");
            }
            self.lock().insert(path, Digest::of(&bytes));
        }
    }

    /// After files changed: imports each one whose content changed since last seen.
    pub async fn scan(&self) {
        for (path, found, bytes) in self.files().await {
            let digest = Digest::of(&bytes);
            if self.lock().get(&path) == Some(&digest) {
                continue;
            }
            self.import(&path, &found, bytes).await;
            self.lock().insert(path, digest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Digest>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn differs(&self, found: &Found, known: &ActiveSet, bytes: &[u8]) -> bool {
        match found {
            Found::Plugin(name) => known.plugins.get(name) != Some(&Digest::of(bytes)),
            Found::Workflow(name) => known.workflows.get(name).map(String::as_bytes) != Some(bytes),
        }
    }

    async fn import(&self, path: &Path, found: &Found, bytes: Bytes) {
        let imported = match found {
            Found::Plugin(name) => (self.deployer.import(name, bytes).await).map(|a| a.changed),
            Found::Workflow(name) => match std::str::from_utf8(&bytes) {
                Ok(text) => (self.deployer.import_workflow(name, text).await).map(|()| true),
                Err(_) => Err(DeployError::Rejected("it is not UTF-8 text".into())),
            },
        };
        let refusal = match imported {
            Ok(changed) => {
                if changed {
                    tracing::info!(file = %path.display(), "imported: every replica serves it");
                }
                None
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "not imported: the replicas keep serving the shared version");
                Some(format!("not imported into the shared registry: {e}"))
            }
        };
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
        self.registry.refuse(&file.unwrap_or_default(), refusal);
    }

    /// The components and workflow definitions in the two directories, read off the async
    /// workers.
    async fn files(&self) -> Vec<(PathBuf, Found, Bytes)> {
        let dirs = [self.plugin_dir.clone(), self.workflow_dir.clone()];
        (tokio::task::spawn_blocking(move || files(&dirs)).await).unwrap_or_default()
    }
}

/// The components and workflow definitions in `dirs` (plugins, workflows).
fn files([plugin_dir, workflow_dir]: &[PathBuf; 2]) -> Vec<(PathBuf, Found, Bytes)> {
    let mut files = Vec::new();
    for (dir, extension) in [(plugin_dir, "wasm"), (workflow_dir, "toml")] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_none_or(|x| x != extension) {
                continue;
            }
            let (Some(stem), Ok(bytes)) = (
                path.file_stem().and_then(|s| s.to_str()).map(str::to_owned),
                std::fs::read(&path),
            ) else {
                continue;
            };
            let found = match extension {
                "wasm" => Found::Plugin(stem),
                _ => Found::Workflow(stem),
            };
            files.push((path, found, Bytes::from(bytes)));
        }
    }
    files
}

/// Starts watching `dirs` (a replica's plugin and workflow directories) for files to import
/// into the registry the replicas share; `registry`'s hot-reload state says whether it runs.
/// Call from within the runtime: the imports run on it, one scan at a time.
pub fn watch_imports(
    registry: Arc<Registry>,
    dirs: &[PathBuf; 2],
    importer: Arc<Importer>,
) -> notify::Result<HotReload> {
    let changed = Arc::new(Notify::new());
    let scans = changed.clone();
    tokio::spawn(async move {
        loop {
            scans.notified().await;
            importer.scan().await;
        }
    });
    hot_reload::watch_dirs(registry, dirs, move || changed.notify_one())
}
