//! SQLite itself, tuned for this store: no memory statistics, the database held by this
//! process alone.

use super::unavailable;
use crate::domain::StoreError;
use std::path::Path;

/// SQLite keeps memory statistics by default, taking one process-wide mutex on every
/// allocation and free. The writer and the readers allocate on every statement, so under
/// load they queued on that mutex (switched off: GET 2–3 % cheaper). Nothing here reads the
/// statistics. They can only be switched off before SQLite initialises, that is before the
/// process opens its first connection; later the call is a no-op.
pub(super) fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int; before initialisation nothing else
        // uses SQLite's configuration, and after it the call returns SQLITE_MISUSE and
        // changes nothing.
        let rc =
            unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite was initialised already; memory statistics stay on"
            );
        }
    });
}

/// SQLite's unix file system with the database held by this process alone: the WAL index
/// lives in this process's memory instead of a shared-memory file, so starting and ending
/// every read or write transaction takes no `fcntl` lock (two system calls per read, which
/// were a sixth of a GET's CPU). A second process, e.g. another server pointed at the same
/// `DATA_DIR`, cannot open the database while this one runs.
pub(super) const ONE_PROCESS: &std::ffi::CStr = c"unix-excl";

/// The first use of the database failed: most likely another process holds it.
pub(super) fn held_elsewhere(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) => StoreError::Unavailable(format!(
            "{} is in use by another process (another orderflow on the same DATA_DIR?)",
            path.display()
        )),
        _ => unavailable(e),
    }
}
