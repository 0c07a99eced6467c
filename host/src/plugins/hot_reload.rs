//! Hot reload: a `notify` watcher on the plugin and workflow directories triggers a
//! registry reload shortly after files change (or, for replicas, an import into the
//! registry they share).
//!
//! The reload thread must outlive whatever the directories hold: a file that does not load
//! is a load error (reported by the registry), a reload that panics anyway (a bug of the
//! host) is logged and the thread waits for the next change, and should the thread end
//! without being asked to, the registry says so ([`Registry::hot_reload`], in `/health`).

use super::Registry;
use crate::panic_message;
use chrono::{DateTime, Utc};
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use serde::Serialize;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Coalesces the events of one change (a rename is two) into one reload.
const SETTLE: Duration = Duration::from_millis(3);

/// Whether files changed in the directories are loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HotReloadState {
    /// Nothing watches the directories (a tool, a test that reloads by hand, a service
    /// shutting down).
    Off,
    Watching,
    /// The watch ended unasked: files changed since are not loaded until a restart.
    Stopped {
        reason: String,
        at: DateTime<Utc>,
    },
}

/// Keeps the watch alive; dropping it stops watching.
pub struct HotReload {
    registry: Arc<Registry>,
    _watcher: notify::RecommendedWatcher,
}

impl Drop for HotReload {
    fn drop(&mut self) {
        // Before the watcher goes (with it, the reload thread): its end was asked for.
        *self.registry.hot_reload_state() = HotReloadState::Off;
    }
}

/// Says the watch stopped when the reload thread ends while it was watching, whatever ended
/// it: a panic that escaped, or the file watcher dropping its end of the channel.
struct ReportEnd(Arc<Registry>);

impl Drop for ReportEnd {
    fn drop(&mut self) {
        let mut state = self.0.hot_reload_state();
        if *state == HotReloadState::Watching {
            let reason = if std::thread::panicking() {
                "the reload thread panicked"
            } else {
                "the file watcher stopped"
            };
            tracing::error!(
                reason,
                "hot reload stopped: changed files are not loaded until a restart"
            );
            *state = HotReloadState::Stopped {
                reason: reason.to_owned(),
                at: Utc::now(),
            };
        }
    }
}

/// Starts watching the registry's directories. Reloads run on their own thread, never on
/// a request.
pub fn watch(registry: Arc<Registry>) -> notify::Result<HotReload> {
    let dirs = [registry.plugin_dir(), registry.workflow_dir()].map(Path::to_owned);
    let reloading = registry.clone();
    watch_dirs(registry, &dirs, move || {
        reloading.reload();
    })
}

/// Runs `act` on its own thread shortly after files in `dirs` change.
pub fn watch_dirs(
    registry: Arc<Registry>,
    dirs: &[PathBuf; 2],
    act: impl Fn() + Send + 'static,
) -> notify::Result<HotReload> {
    let (changed, changes) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // A file is complete once renamed into place or closed after writing; reloading on
        // its creation or on each write would read it half-written.
        let relevant = event.is_ok_and(|e| {
            let complete = matches!(
                e.kind,
                EventKind::Modify(ModifyKind::Name(_))
                    | EventKind::Access(AccessKind::Close(AccessMode::Write))
                    | EventKind::Remove(_)
            );
            complete
                && e.paths
                    .iter()
                    .any(|p| p.extension().is_some_and(|x| x == "wasm" || x == "toml"))
        });
        if relevant {
            let _ = changed.send(());
        }
    })?;
    for dir in dirs {
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
    }
    *registry.hot_reload_state() = HotReloadState::Watching;
    let end = ReportEnd(registry.clone());
    std::thread::Builder::new()
        .name("plugin-reload".into())
        .spawn(move || {
            // The whole report moves in (not just its registry): it is dropped as the
            // thread ends, however it ends.
            let _end = end;
            // Ends when the watcher, and with it the sender, is dropped.
            while changes.recv().is_ok() {
                loop {
                    match changes.recv_timeout(SETTLE) {
                        Ok(()) => continue,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                // A reload swaps the snapshot only at its end, so one that panicked changed
                // nothing; the next change reads both directories again.
                if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(&act)) {
                    tracing::error!(
                        panic = panic_message(panic.as_ref()),
                        "a reload failed; the next change is loaded as usual"
                    );
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(HotReload {
        registry,
        _watcher: watcher,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::{Runtime, RuntimeConfig};

    #[test]
    fn the_watch_reports_whether_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (plugins, workflows) = (dir.path().join("plugins"), dir.path().join("workflows"));
        std::fs::create_dir(&plugins).unwrap();
        std::fs::create_dir(&workflows).unwrap();
        let runtime = Runtime::new(RuntimeConfig {
            max_instances: 8,
            ..RuntimeConfig::default()
        })
        .unwrap();
        let registry = Registry::open(runtime, plugins, workflows, None);
        assert_eq!(registry.hot_reload(), HotReloadState::Off);

        let watching = watch(registry.clone()).unwrap();
        assert_eq!(registry.hot_reload(), HotReloadState::Watching);
        // A thread carrying the report ends the way the reload thread would if a panic
        // escaped it.
        let end = ReportEnd(registry.clone());
        let died = std::thread::spawn(move || {
            let _end = end;
            panic!("a bug");
        });
        assert!(died.join().is_err());
        match registry.hot_reload() {
            HotReloadState::Stopped { reason, .. } => assert!(reason.contains("panicked")),
            other => panic!("{other:?}"),
        }

        drop(watching);
        assert_eq!(registry.hot_reload(), HotReloadState::Off);
    }
}
