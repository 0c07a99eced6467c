//! Every version of every plugin the registry was given or has served, kept by digest, and
//! the record of every change of the active version (who, when, from which digest to
//! which). This is what makes "activate that version" and one-call rollback possible after
//! the file is long gone, and what ops read to answer "who changed pricing, and when?".
//!
//! Both live under one directory: `<plugin>/<hex digest>.wasm` per version, and
//! `changes.jsonl`, one change per line, appended and synced before the change is
//! answered. Which version is active is not stored here: the plugin directory says that,
//! so a file dropped there and a version activated through the API are one mechanism.

use crate::domain::Digest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What happened to a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A version was handed in through the API and stored; the active one did not change.
    Uploaded,
    /// A stored version was made active through the API.
    Activated,
    /// The version active before the current one was made active again.
    RolledBack,
    /// A new file appeared in the plugin directory and now serves.
    FileDropped,
    /// A stored version started (or changed its share of) shadowing the active one.
    Shadowed,
    /// The shadow ended.
    ShadowEnded,
    /// A stored version was set to decide a share of customers' new orders.
    RolledOut,
    /// The rollout ended: every order is decided by the active version again.
    RolloutEnded,
}

impl Action {
    fn changes_the_active_version(self) -> bool {
        matches!(
            self,
            Action::Activated | Action::RolledBack | Action::FileDropped
        )
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub plugin: String,
    pub action: Action,
    /// The admin's user id, or `file` for a file dropped into the plugin directory.
    pub by: String,
    /// The version active before; none for a plugin's first version.
    pub from: Option<Digest>,
    /// The version this change is about: the new active one, or the one uploaded.
    pub to: Digest,
    /// The replica it was made on, when replicas share the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    /// A shadow's or a rollout's share of new orders, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

impl Change {
    /// A change made now.
    pub fn new(plugin: &str, action: Action, by: &str, from: Option<&Digest>, to: &Digest) -> Self {
        Change {
            at: Utc::now(),
            plugin: plugin.to_owned(),
            action,
            by: by.to_owned(),
            from: from.cloned(),
            to: to.clone(),
            replica: None,
            percent: None,
        }
    }

    /// The same change, made on `replica`.
    pub fn on(self, replica: &str) -> Self {
        Change {
            replica: Some(replica.to_owned()),
            ..self
        }
    }
}

/// A version kept in the archive.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredVersion {
    pub digest: Digest,
    pub size: u64,
    pub stored_at: DateTime<Utc>,
}

/// Who is about to make a plugin version active, so the reload that sees the new file can
/// say so instead of recording an anonymous file drop.
struct Expected {
    digest: Digest,
    action: Action,
    by: String,
}

pub struct Versions {
    dir: PathBuf,
    /// Serialises appends to the log and the bookkeeping below.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The active version of each plugin as the log last recorded it.
    active: HashMap<String, Digest>,
    expected: HashMap<String, Expected>,
}

impl Versions {
    /// Opens (creating) the archive in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        cut_torn_tail(&dir.join("changes.jsonl"))?;
        let versions = Versions {
            dir: dir.to_owned(),
            state: Mutex::new(State::default()),
        };
        let mut active = HashMap::new();
        for change in versions.history(None)? {
            if change.action.changes_the_active_version() {
                active.insert(change.plugin, change.to);
            }
        }
        versions.lock().active = active;
        Ok(versions)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self) -> PathBuf {
        self.dir.join("changes.jsonl")
    }

    fn path(&self, plugin: &str, digest: &Digest) -> PathBuf {
        self.dir.join(plugin).join(format!("{}.wasm", digest.hex()))
    }

    /// Keeps `bytes` as a version of `plugin` (written then renamed: never half there; each
    /// writer has a file of its own until the rename, as an upload and a reload may keep
    /// the same version at once).
    pub fn keep(&self, plugin: &str, bytes: &[u8]) -> std::io::Result<Digest> {
        let digest = Digest::of(bytes);
        let path = self.path(plugin, &digest);
        if !path.exists() {
            let folder = path.parent().expect("a plugin folder");
            std::fs::create_dir_all(folder)?;
            let mut partial = tempfile::NamedTempFile::new_in(folder)?;
            std::io::Write::write_all(&mut partial, bytes)?;
            partial.persist(&path)?;
        }
        Ok(digest)
    }

    /// The bytes of a kept version, if there is one.
    pub fn bytes(&self, plugin: &str, digest: &Digest) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(plugin, digest)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every kept version of `plugin`, oldest first.
    pub fn stored(&self, plugin: &str) -> std::io::Result<Vec<StoredVersion>> {
        let entries = match std::fs::read_dir(self.dir.join(plugin)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let digest = path
                .extension()
                .is_some_and(|x| x == "wasm")
                .then(|| path.file_stem()?.to_str().and_then(Digest::parse))
                .flatten();
            if let Some(digest) = digest {
                let meta = std::fs::metadata(&path)?;
                versions.push(StoredVersion {
                    digest,
                    size: meta.len(),
                    stored_at: meta.modified()?.into(),
                });
            }
        }
        versions.sort_by(|a, b| (a.stored_at, &a.digest).cmp(&(b.stored_at, &b.digest)));
        Ok(versions)
    }

    /// Says that `by` is about to make `digest` the active version of `plugin`.
    pub fn expect(&self, plugin: &str, digest: &Digest, action: Action, by: &str) {
        self.lock().expected.insert(
            plugin.to_owned(),
            Expected {
                digest: digest.clone(),
                action,
                by: by.to_owned(),
            },
        );
    }

    /// Forgets an expectation that did not come true (the activation failed).
    pub fn unexpect(&self, plugin: &str) {
        self.lock().expected.remove(plugin);
    }

    /// Called when `digest` (with `bytes`) serves as `plugin`: keeps the version and, if it
    /// is not the version the log last recorded as active, records the change, attributed
    /// to whoever said they would make it (else to a file drop).
    pub fn serving(&self, plugin: &str, digest: &Digest, bytes: &[u8]) -> std::io::Result<()> {
        self.keep(plugin, bytes)?;
        let mut state = self.lock();
        let from = state.active.get(plugin).cloned();
        if from.as_ref() == Some(digest) {
            return Ok(());
        }
        let expected = state
            .expected
            .remove(plugin)
            .filter(|e| &e.digest == digest);
        let (action, by) =
            expected.map_or((Action::FileDropped, "file".into()), |e| (e.action, e.by));
        self.record(&Change::new(plugin, action, &by, from.as_ref(), digest))?;
        state.active.insert(plugin.to_owned(), digest.clone());
        Ok(())
    }

    /// The version of `plugin` that served last, as the log recorded it: the last one
    /// that loaded from the plugin directory (or was activated).
    pub fn last_served(&self, plugin: &str) -> Option<Digest> {
        self.lock().active.get(plugin).cloned()
    }

    /// Records an upload (the active version does not change).
    pub fn uploaded(&self, plugin: &str, digest: &Digest, by: &str) -> std::io::Result<()> {
        let state = self.lock();
        self.record(&Change::new(
            plugin,
            Action::Uploaded,
            by,
            state.active.get(plugin),
            digest,
        ))
    }

    /// Appends `change` to the log as it is.
    pub fn record(&self, change: &Change) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(change)?;
        line.push(b'\n');
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())?;
        log.write_all(&line)?;
        log.sync_data()
    }

    /// The recorded changes, oldest first: all of them, or one plugin's.
    pub fn history(&self, plugin: Option<&str>) -> std::io::Result<Vec<Change>> {
        let log = match std::fs::File::open(self.log()) {
            Ok(log) => log,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut changes = Vec::new();
        for line in std::io::BufReader::new(log).lines() {
            // A line cut short by a crash mid-append is the only way one can be unreadable.
            let Ok(change) = serde_json::from_str::<Change>(&line?) else {
                continue;
            };
            if plugin.is_none_or(|p| p == change.plugin) {
                changes.push(change);
            }
        }
        Ok(changes)
    }
}

/// A crash in the middle of an append leaves a line without its end: cut it off, or the
/// next change would be appended to it and be unreadable too.
fn cut_torn_tail(log: &Path) -> std::io::Result<()> {
    let text = match std::fs::read(log) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if text.last().is_some_and(|&b| b != b'\n') {
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        std::fs::OpenOptions::new()
            .write(true)
            .open(log)?
            .set_len(whole as u64)?;
    }
    Ok(())
}

/// The version a rollback returns to, from one plugin's `changes`: the one active before
/// the current one became active. Rollbacks undo in turn, like an undo stack: after
/// A → B → C, a rollback goes to B, the next one to A.
pub fn undo_target(changes: &[Change]) -> Option<Digest> {
    let mut stack: Vec<&Digest> = Vec::new();
    for change in changes {
        match change.action {
            Action::Uploaded
            | Action::Shadowed
            | Action::ShadowEnded
            | Action::RolledOut
            | Action::RolloutEnded => {}
            Action::RolledBack => {
                stack.pop();
                if stack.last() != Some(&&change.to) {
                    // Rolled back to something the stack does not know (a log begun
                    // mid-history): start again from there.
                    stack = vec![&change.to];
                }
            }
            Action::Activated | Action::FileDropped => stack.push(&change.to),
        }
    }
    let below = stack.len().checked_sub(2)?;
    Some(stack[below].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions() -> (tempfile::TempDir, Versions) {
        let dir = tempfile::tempdir().unwrap();
        let versions = Versions::open(dir.path()).unwrap();
        (dir, versions)
    }

    #[test]
    fn a_serving_version_is_kept_and_each_change_recorded_once() {
        let (_dir, versions) = versions();
        let a = Digest::of(b"a");
        versions.serving("pricing", &a, b"a").unwrap();
        versions.serving("pricing", &a, b"a").unwrap();
        assert_eq!(versions.bytes("pricing", &a).unwrap().unwrap(), b"a");
        let b = Digest::of(b"b");
        versions.expect("pricing", &b, Action::Activated, "ops");
        versions.serving("pricing", &b, b"b").unwrap();
        let history = versions.history(Some("pricing")).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(
            (history[0].action, history[0].by.as_str(), &history[0].from),
            (Action::FileDropped, "file", &None)
        );
        assert_eq!(
            (history[1].action, history[1].by.as_str()),
            (Action::Activated, "ops")
        );
        assert_eq!(history[1].from, Some(a.clone()));
        assert_eq!(history[1].to, b);
        assert_eq!(versions.last_served("pricing"), Some(b.clone()));
        assert_eq!(versions.stored("pricing").unwrap().len(), 2);
        assert!(versions.stored("other").unwrap().is_empty());
    }

    #[test]
    fn the_log_outlives_the_process() {
        let (dir, versions) = versions();
        let a = Digest::of(b"a");
        versions.serving("pricing", &a, b"a").unwrap();
        drop(versions);
        let again = Versions::open(dir.path()).unwrap();
        // What a restart with a bad file in place serves instead.
        assert_eq!(again.last_served("pricing"), Some(a.clone()));
        assert_eq!(again.last_served("other"), None);
        // Serving the same version after a restart is no change.
        again.serving("pricing", &a, b"a").unwrap();
        assert_eq!(again.history(None).unwrap().len(), 1);
    }

    #[test]
    fn an_expectation_for_another_digest_is_a_file_drop() {
        let (_dir, versions) = versions();
        versions.expect("pricing", &Digest::of(b"x"), Action::Activated, "ops");
        versions
            .serving("pricing", &Digest::of(b"a"), b"a")
            .unwrap();
        assert_eq!(
            versions.history(None).unwrap()[0].action,
            Action::FileDropped
        );
    }

    #[test]
    fn rollbacks_undo_in_turn() {
        let (_dir, versions) = versions();
        let [a, b, c] = [b"a", b"b", b"c"].map(|x| Digest::of(x));
        assert_eq!(
            undo_target(&versions.history(Some("pricing")).unwrap()),
            None
        );
        versions.serving("pricing", &a, b"a").unwrap();
        assert_eq!(
            undo_target(&versions.history(Some("pricing")).unwrap()),
            None
        );
        versions.uploaded("pricing", &b, "ops").unwrap();
        versions.serving("pricing", &b, b"b").unwrap();
        versions.serving("pricing", &c, b"c").unwrap();
        assert_eq!(
            undo_target(&versions.history(Some("pricing")).unwrap()),
            Some(b.clone())
        );
        versions.expect("pricing", &b, Action::RolledBack, "ops");
        versions.serving("pricing", &b, b"b").unwrap();
        assert_eq!(
            undo_target(&versions.history(Some("pricing")).unwrap()),
            Some(a.clone())
        );
        versions.expect("pricing", &a, Action::RolledBack, "ops");
        versions.serving("pricing", &a, b"a").unwrap();
        assert_eq!(
            undo_target(&versions.history(Some("pricing")).unwrap()),
            None
        );
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let (dir, versions) = versions();
        versions
            .serving("pricing", &Digest::of(b"a"), b"a")
            .unwrap();
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("changes.jsonl"))
            .unwrap();
        log.write_all(b"{\"at\":\"2026-").unwrap();
        assert_eq!(versions.history(None).unwrap().len(), 1);
        drop(versions);
        let again = Versions::open(dir.path()).unwrap();
        again.serving("pricing", &Digest::of(b"b"), b"b").unwrap();
        assert_eq!(again.history(None).unwrap().len(), 2);
    }
}
