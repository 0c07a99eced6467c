//! The checkpoint thread: copies the WAL back into the database file, off the writer.

use rusqlite::Connection;
use std::sync::mpsc;
use std::time::Duration;

/// How often the WAL is checkpointed while writes come in.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The checkpoint thread: after writes, at most every `CHECKPOINT_EVERY`, copies what the
/// WAL holds into the database file without blocking the writer or readers (`PASSIVE`).
/// Ends, after a last checkpoint, when the writer does.
pub(super) fn checkpoints(conn: Connection, commits: mpsc::Receiver<()>) {
    let checkpoint = || {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "a WAL checkpoint failed; the next one retries");
        }
    };
    while commits.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_EVERY);
        // Whatever was committed meanwhile is covered by this checkpoint.
        while commits.try_recv().is_ok() {}
        checkpoint();
    }
    checkpoint();
}
