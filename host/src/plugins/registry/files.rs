//! The registry's directories as files: listing what a reload reads, recording why a file
//! does not serve, and writing one whole so that a reload never reads it half-written.

use super::{LoadFailure, Serving};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files `<stem>.<extension>` of `dir`, sorted; an unreadable directory is an error.
pub(super) fn files(
    dir: &Path,
    extension: &str,
    errors: &mut BTreeMap<String, LoadFailure>,
) -> Vec<(String, PathBuf)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let file = dir.display().to_string();
            errors.insert(
                file.clone(),
                LoadFailure {
                    file,
                    error: e.to_string(),
                    at: chrono::Utc::now(),
                },
            );
            return Vec::new();
        }
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == extension))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_owned(), p)))
        .collect();
    found.sort();
    found
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A failure record, keeping the first time it was seen while the error stays the same.
pub(super) fn failure(path: &Path, error: String, old: &Serving) -> LoadFailure {
    let file = file_name(path);
    match old.errors.get(&file) {
        Some(seen) if seen.error == error => seen.clone(),
        _ => LoadFailure {
            file,
            error,
            at: chrono::Utc::now(),
        },
    }
}

/// Puts `bytes` at `path` whole (written beside it under a name a reload ignores, then
/// renamed), or removes the file for `None`: how the deployer and the mirror write into the
/// registry's directories, so a reload never reads a file half-written.
pub fn replace(path: &Path, bytes: Option<&[u8]>) -> std::io::Result<()> {
    match bytes {
        Some(bytes) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let name = path.file_name().expect("a file name").to_string_lossy();
            let partial = path.with_file_name(format!(".{name}.partial"));
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, path)
        }
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}
