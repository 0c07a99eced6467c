//! With replicas, a file dropped into one replica's plugin or workflow directory is an
//! import into the registry they share: checked exactly as an upload is, then active on
//! every replica, recorded as a file drop on that replica. A file that cannot serve is
//! refused with a log line and nothing changes: no replica ever serves what the others do
//! not.
//!
//! At start-up only names the shared registry does not know yet are imported (a plugin or
//! workflow new with this replica's image); a known name keeps its shared version, so
//! starting a replica from an older image never rolls the others back.

use super::shared::ActiveSet;
use super::{Deployer, Registry};
use crate::runtime::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    pub fn start(&self, known: &ActiveSet) {
        for (path, found, bytes) in self.files() {
            let new = match &found {
                Found::Plugin(name) => !known.plugins.contains_key(name),
                Found::Workflow(name) => !known.workflows.contains_key(name),
            };
            if new {
                self.import(&path, &found, &bytes);
            } else if self.differs(&found, known, &bytes) {
                tracing::info!(file = %path.display(), "differs from the version the replicas share, which keeps serving; change the file or upload it to make it serve");
            }
            self.lock().insert(path, Digest::of(&bytes));
        }
    }

    /// After files changed: imports each one whose content changed since last seen.
    pub fn scan(&self) {
        for (path, found, bytes) in self.files() {
            let digest = Digest::of(&bytes);
            if self.lock().get(&path) == Some(&digest) {
                continue;
            }
            self.import(&path, &found, &bytes);
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

    fn import(&self, path: &Path, found: &Found, bytes: &[u8]) {
        let imported = match found {
            Found::Plugin(name) => self.deployer.import(name, bytes).map(|a| a.changed),
            Found::Workflow(name) => match std::str::from_utf8(bytes) {
                Ok(text) => self.deployer.import_workflow(name, text).map(|()| true),
                Err(_) => Err(super::DeployError::Rejected("it is not UTF-8 text".into())),
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

    /// The components and workflow definitions in the two directories.
    fn files(&self) -> Vec<(PathBuf, Found, Vec<u8>)> {
        let mut files = Vec::new();
        for (dir, extension) in [(&self.plugin_dir, "wasm"), (&self.workflow_dir, "toml")] {
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
                files.push((path, found, bytes));
            }
        }
        files
    }
}
