//! The registry: the active version of every plugin and workflow, behind one atomic
//! pointer. Readers take a snapshot (`current`) and keep it for the whole decision, so a
//! swap never mixes versions within an order and never blocks a request.
//!
//! A reload reads the plugin and workflow directories, compiles and checks whatever
//! changed off the request path, and swaps the snapshot in one store. A file that fails
//! leaves its previous version serving and is reported in [`Serving::errors`]; a plugin
//! file that fails before any version of it is loaded (a restart with a bad file in place)
//! serves the version that served last, from the version archive.

mod files;
mod serving;

pub use files::replace;
use files::{failure, file_name, files};
pub use serving::{LoadFailure, Serving};

use super::definition::Definition;
use super::hot_reload::HotReloadState;
use super::trials::{self, Mode, Trial, TrialSet};
use super::versions::Versions;
use super::workflow::Workflow;
use crate::domain::Digest;
use crate::plugins::LoadError;
use crate::plugins::{BoundPlugin, LoadedComponent, Runtime};
use arc_swap::ArcSwap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub struct Registry {
    runtime: Arc<Runtime>,
    plugin_dir: PathBuf,
    workflow_dir: PathBuf,
    serving: ArcSwap<Serving>,
    /// Reloads run one at a time; readers never take it.
    reloading: Mutex<()>,
    /// Where every version that served is kept and every change recorded; None: nowhere
    /// (tools and tests that only need the plugins).
    versions: Option<Versions>,
    /// Whether changed files are being loaded (see [`super::watch`]).
    hot_reload: Mutex<HotReloadState>,
    /// Files another path refused to serve (with replicas: a file that was not imported
    /// into the shared registry), reported with the load errors.
    refused: Mutex<BTreeMap<String, String>>,
    /// The generation serving, for whoever reports it when it changes (the heartbeat).
    generation: tokio::sync::watch::Sender<u64>,
}

impl Registry {
    /// A registry with everything the directories hold loaded (failures reported, not fatal).
    pub fn open(
        runtime: Arc<Runtime>,
        plugin_dir: PathBuf,
        workflow_dir: PathBuf,
        versions: Option<Versions>,
    ) -> Arc<Self> {
        let registry = Arc::new(Registry {
            runtime,
            plugin_dir,
            workflow_dir,
            serving: ArcSwap::from_pointee(Serving::default()),
            reloading: Mutex::new(()),
            versions,
            hot_reload: Mutex::new(HotReloadState::Off),
            refused: Mutex::new(BTreeMap::new()),
            generation: tokio::sync::watch::Sender::new(0),
        });
        registry.reload();
        registry
    }

    pub fn plugin_dir(&self) -> &Path {
        &self.plugin_dir
    }

    pub fn workflow_dir(&self) -> &Path {
        &self.workflow_dir
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The version archive and change log, if this registry keeps one.
    pub fn versions(&self) -> Option<&Versions> {
        self.versions.as_ref()
    }

    /// Whether changed files are being loaded.
    pub fn hot_reload(&self) -> HotReloadState {
        self.hot_reload_state().clone()
    }

    /// Set by the watch as it starts and ends ([`super::watch`]).
    pub(super) fn hot_reload_state(&self) -> std::sync::MutexGuard<'_, HotReloadState> {
        self.hot_reload.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reports `file` as refused for `error` in [`Serving::errors`], or no longer (`None`).
    pub fn refuse(&self, file: &str, error: Option<String>) {
        {
            let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
            match error {
                Some(error) => refused.insert(file.to_owned(), error),
                None => refused.remove(file),
            };
        }
        self.reload();
    }

    /// The generation serving, changed by every reload that changed something.
    pub fn generations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The current snapshot: hold it for the duration of one decision or one order.
    pub fn current(&self) -> Arc<Serving> {
        self.serving.load_full()
    }

    pub fn workflow(&self, name: &str) -> Option<Arc<Workflow>> {
        self.serving.load().workflows.get(name).cloned()
    }

    /// The workflow serving a sales channel (the first by name, should two declare it).
    pub fn workflow_for_channel(&self, channel: &str) -> Option<Arc<Workflow>> {
        self.serving
            .load()
            .workflows
            .values()
            .find(|w| w.channels.iter().any(|c| c == channel))
            .cloned()
    }

    /// Re-reads both directories and swaps in what changed. Returns the new generation.
    pub fn reload(&self) -> u64 {
        // The lock guards no data: a reload that panicked while holding it (a bug, caught by
        // the watcher) must not stop every later one.
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.serving.load_full();
        let mut errors = BTreeMap::new();
        let components = self.reload_components(&old, &mut errors);
        let (staging, staged) = self.reload_staging(&old, &components, &mut errors);
        let workflows = self.reload_workflows(&old, &components, &staging, &staged, &mut errors);
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        for (file, error) in refused.iter() {
            let path = Path::new(file);
            errors
                .entry(file.clone())
                .or_insert_with(|| failure(path, error.clone(), &old));
        }
        drop(refused);
        let changed = !same_arcs(&components, &old.components)
            || !same_arcs(&workflows, &old.workflows)
            || staging != old.staging
            || errors != old.errors;
        if !changed {
            return old.generation;
        }
        for failure in errors
            .values()
            .filter(|f| old.errors.get(&f.file) != Some(f))
        {
            tracing::warn!(file = %failure.file, error = %failure.error, "not loaded; the previous version, if any, keeps serving");
        }
        let generation = old.generation + 1;
        self.serving.store(Arc::new(Serving {
            generation,
            components,
            workflows,
            errors,
            staging,
            staged,
        }));
        self.generation.send_replace(generation);
        generation
    }

    fn reload_components(
        &self,
        old: &Serving,
        errors: &mut BTreeMap<String, LoadFailure>,
    ) -> BTreeMap<String, Arc<LoadedComponent>> {
        let mut components = BTreeMap::new();
        for (name, path) in files(&self.plugin_dir, "wasm", errors) {
            let previous = old.components.get(&name);
            let loaded = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| match previous {
                    Some(p) if p.digest == Digest::of(&bytes) => Ok(p.clone()),
                    _ => {
                        let component = self
                            .runtime
                            .load(&name, &bytes)
                            .map_err(|e| e.to_string())?;
                        self.record_serving(&component, &bytes);
                        Ok(component)
                    }
                });
            match loaded {
                Ok(component) => {
                    if previous.is_none_or(|p| p.digest != component.digest) {
                        tracing::info!(plugin = %name, kind = %component.kind, digest = %component.digest, "plugin loaded");
                    }
                    components.insert(name, component);
                }
                Err(error) => {
                    errors.insert(file_name(&path), failure(&path, error, old));
                    if let Some(serving) = previous.cloned().or_else(|| self.last_good(&name)) {
                        components.insert(name, serving);
                    }
                }
            }
        }
        components
    }

    /// The version of `plugin` that served last, from the archive: what serves while its
    /// file does not load and no version of it is loaded yet (a restart with a bad file in
    /// place), so a bad file never takes away a plugin that was serving.
    fn last_good(&self, plugin: &str) -> Option<Arc<LoadedComponent>> {
        let versions = self.versions.as_ref()?;
        let digest = versions.last_served(plugin)?;
        let loaded = match versions.bytes(plugin, &digest) {
            Ok(Some(bytes)) => self.runtime.load(plugin, &bytes).map_err(|e| e.to_string()),
            Ok(None) => Err("it is not in the archive".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        match loaded {
            Ok(component) => {
                tracing::warn!(plugin, digest = %component.digest, "serving the last good version, from the archive");
                Some(component)
            }
            Err(error) => {
                tracing::error!(plugin, %digest, error, "the last good version does not load either");
                None
            }
        }
    }

    /// Keeps a newly loaded version in the archive and records the change. Failing to
    /// record does not stop a version that loaded from serving: it is logged.
    fn record_serving(&self, component: &LoadedComponent, bytes: &[u8]) {
        if let Some(versions) = &self.versions
            && let Err(e) = versions.serving(&component.name, &component.digest, bytes)
        {
            tracing::error!(plugin = %component.name, error = %e, "the plugin version archive could not record a change");
        }
    }

    /// Reads the staging file and loads each staged version (kept from `old` when it is
    /// the same file). A share whose version does not load, or is of another kind than
    /// the plugin, is left out and reported.
    fn reload_staging(
        &self,
        old: &Serving,
        components: &BTreeMap<String, Arc<LoadedComponent>>,
        errors: &mut BTreeMap<String, LoadFailure>,
    ) -> (TrialSet, BTreeMap<String, Arc<LoadedComponent>>) {
        let path = self.plugin_dir.join(trials::FILE);
        let set = trials::read(&self.plugin_dir).unwrap_or_else(|error| {
            errors.insert(trials::FILE.into(), failure(&path, error, old));
            TrialSet::new()
        });
        let mut serving = TrialSet::new();
        let mut staged = BTreeMap::new();
        for (plugin, staging) in set {
            let mut kept = staging.clone();
            for (mode, share) in staging.shares() {
                let digest = &share.digest;
                let loaded = Ok::<_, String>(trials::staged_file(&plugin, digest))
                    .and_then(|file| {
                        if let Some(component) = old.staged.get(&file) {
                            return Ok((file, component.clone()));
                        }
                        let bytes = std::fs::read(self.plugin_dir.join(&file))
                            .map_err(|e| format!("{file}: {e}"))?;
                        if Digest::of(&bytes) != *digest {
                            return Err(format!("{file} is not version {digest}"));
                        }
                        let component = self.runtime.load(&plugin, &bytes);
                        Ok((file, component.map_err(|e| e.to_string())?))
                    })
                    .and_then(|(file, component)| match components.get(&plugin) {
                        Some(active) if active.kind != component.kind => Err(format!(
                            "it makes {} decisions; `{plugin}` makes {} decisions",
                            component.kind, active.kind
                        )),
                        _ => Ok((file, component)),
                    });
                match loaded {
                    Ok((file, component)) => {
                        staged.insert(file, component);
                    }
                    Err(error) => {
                        let error = format!("the {mode:?} of `{plugin}`: {error}");
                        errors.insert(trials::FILE.into(), failure(&path, error, old));
                        kept.set(mode, None);
                    }
                }
            }
            if !kept.is_empty() {
                serving.insert(plugin, kept);
            }
        }
        (serving, staged)
    }

    fn reload_workflows(
        &self,
        old: &Serving,
        components: &BTreeMap<String, Arc<LoadedComponent>>,
        staging: &TrialSet,
        staged: &BTreeMap<String, Arc<LoadedComponent>>,
        errors: &mut BTreeMap<String, LoadFailure>,
    ) -> BTreeMap<String, Arc<Workflow>> {
        let mut workflows = BTreeMap::new();
        for (name, path) in files(&self.workflow_dir, "toml", errors) {
            let previous = old.workflows.get(&name);
            let loaded = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    let staged = Stage { staging, staged };
                    self.load_workflow(&name, &text, previous, components, &staged, errors)
                });
            match loaded {
                Ok(workflow) => {
                    if previous.is_none_or(|p| !Arc::ptr_eq(p, &workflow)) {
                        let digests: Vec<String> = workflow
                            .plugins()
                            .iter()
                            .map(|p| format!("{}={}", p.component().name, p.component().digest))
                            .collect();
                        tracing::info!(workflow = %name, plugins = %digests.join(" "), "workflow active");
                    }
                    workflows.insert(name, workflow);
                }
                Err(error) => {
                    errors.insert(file_name(&path), failure(&path, error, old));
                    if let Some(previous) = previous {
                        workflows.insert(name, previous.clone());
                    }
                }
            }
        }
        workflows
    }

    /// Whether workflow `name` defined by `text` would load with the plugins serving now.
    pub fn check_workflow(&self, name: &str, text: &str) -> Result<(), String> {
        let serving = self.current();
        let staged = Stage {
            staging: &serving.staging,
            staged: &serving.staged,
        };
        let components = &serving.components;
        (self.load_workflow(name, text, None, components, &staged, &serving.errors)).map(drop)
    }

    fn load_workflow(
        &self,
        name: &str,
        text: &str,
        previous: Option<&Arc<Workflow>>,
        components: &BTreeMap<String, Arc<LoadedComponent>>,
        stage: &Stage<'_>,
        errors: &BTreeMap<String, LoadFailure>,
    ) -> Result<Arc<Workflow>, String> {
        let digest = Digest::of(text.as_bytes());
        let definition = Definition::parse(text)?;
        let steps = definition.steps()?;
        let resolved: Vec<&Arc<LoadedComponent>> = steps
            .iter()
            .map(|step| {
                components.get(&step.plugin).ok_or_else(|| {
                    match errors.get(&format!("{}.wasm", step.plugin)) {
                        Some(failure) => format!(
                            "{} plugin `{}` has no version that loads: {}",
                            step.kind, step.plugin, failure.error
                        ),
                        None => format!(
                            "{} plugin `{}` not found in {}",
                            step.kind,
                            step.plugin,
                            self.plugin_dir.display()
                        ),
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        // What each step has staged: (step, mode, percent, component).
        let staged: Vec<_> = (steps.iter().enumerate())
            .flat_map(|(i, step)| {
                let staging = stage.staging.get(&step.plugin);
                staging.into_iter().flat_map(move |s| {
                    s.shares().filter_map(move |(mode, share)| {
                        if share.workflow.as_ref().is_some_and(|w| w != name) {
                            return None;
                        }
                        let file = trials::staged_file(&step.plugin, &share.digest);
                        Some((i, mode, share.percent, stage.staged.get(&file)?.clone()))
                    })
                })
            })
            .collect();
        let same_staged = |previous: &Workflow| {
            previous.staged.len() == staged.len()
                && previous
                    .staged
                    .iter()
                    .zip(&staged)
                    .all(|(s, (_, mode, percent, c))| {
                        s.mode == *mode
                            && s.percent == *percent
                            && s.plugin.component().digest == c.digest
                    })
        };
        // Same file, same plugin versions: keep the bound steps and their warm instances.
        let kept = previous.filter(|previous| {
            previous.digest == digest
                && (previous.plugins().iter())
                    .zip(&resolved)
                    .all(|(bound, c)| bound.component().digest == c.digest)
        });
        if let Some(previous) = kept
            && same_staged(previous)
        {
            return Ok(previous.clone());
        }
        // `steps` come in PluginKind::ALL order: validation, pricing, lifecycle. A shadow's
        // version is bound cold: its worker instantiates at the worker's own priority.
        let bind = |i: usize,
                    component: &Arc<LoadedComponent>,
                    prepared: bool|
         -> Result<Arc<BoundPlugin>, String> {
            let step = &steps[i];
            let limits = step.limits.resolve(component.default_limits());
            (self.runtime)
                .bind_as(
                    name,
                    component.clone(),
                    step.kind,
                    &step.params,
                    limits,
                    prepared,
                )
                .map_err(|e: LoadError| format!("{} plugin `{}`: {e}", step.kind, step.plugin))
        };
        let [validation, pricing, lifecycle] = match kept {
            Some(previous) => previous.plugins().map(Arc::clone),
            None => [
                bind(0, resolved[0], true)?,
                bind(1, resolved[1], true)?,
                bind(2, resolved[2], true)?,
            ],
        };
        let staged = staged
            .into_iter()
            .map(|(i, mode, percent, component)| {
                let plugin = bind(i, &component, mode == Mode::Rollout)
                    .map_err(|e| format!("the staged {mode:?}: {e}"))?;
                Ok(Trial::new(mode, percent, plugin))
            })
            .collect::<Result<_, String>>()?;
        Ok(Arc::new(Workflow {
            name: name.to_owned(),
            description: definition.description,
            channels: definition.channels,
            stock: definition.stock,
            digest,
            validation,
            pricing,
            lifecycle,
            staged,
            loaded_at: SystemTime::now(),
        }))
    }
}

/// What is staged, as a reload sees it: the staging and the staged versions loaded.
struct Stage<'a> {
    staging: &'a TrialSet,
    staged: &'a BTreeMap<String, Arc<LoadedComponent>>,
}

fn same_arcs<T>(a: &BTreeMap<String, Arc<T>>, b: &BTreeMap<String, Arc<T>>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && Arc::ptr_eq(va, vb))
}
