//! Hot reload: a `notify` watcher on the plugin and workflow directories triggers a
//! registry reload shortly after files change.

use super::Registry;
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Coalesces the events of one change (a rename is two) into one reload.
const SETTLE: Duration = Duration::from_millis(3);

/// Keeps the watch alive; dropping it stops watching.
pub struct HotReload {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching the registry's directories. Reloads run on their own thread, never on
/// a request.
pub fn watch(registry: Arc<Registry>) -> notify::Result<HotReload> {
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
    watcher.watch(registry.plugin_dir(), RecursiveMode::NonRecursive)?;
    watcher.watch(registry.workflow_dir(), RecursiveMode::NonRecursive)?;
    std::thread::Builder::new()
        .name("plugin-reload".into())
        .spawn(move || {
            // Ends when the watcher, and with it the sender, is dropped.
            while changes.recv().is_ok() {
                loop {
                    match changes.recv_timeout(SETTLE) {
                        Ok(()) => continue,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                registry.reload();
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(HotReload { _watcher: watcher })
}
