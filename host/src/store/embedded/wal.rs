//! The write-ahead log: checkpoints off the writer, and a bound on its size.
//!
//! A checkpoint copies what the WAL holds back into the database file. The checkpoint
//! thread does it every [`CHECKPOINT_EVERY`] while writes come in, without blocking the
//! writer or the readers (`PASSIVE`). That alone never lets the WAL shrink under sustained
//! writes: SQLite starts the WAL over from its beginning only when a write begins after a
//! checkpoint copied all of it, and with writes arriving all the time there is always a
//! commit the last checkpoint did not cover. (Measured: 2.2 GB of WAL after 190,000 orders,
//! ~33 KB per order, still there after the process stopped.)
//!
//! So the writer itself, between two groups, restarts the WAL once it holds half the limit:
//! `RESTART` copies the little the passive checkpoints have not, waits for readers to
//! leave the WAL (they are short), and the next commit writes from its beginning. New
//! commits wait meanwhile, a few milliseconds. `journal_size_limit` truncates the file back
//! should one commit ever take it past that, and the last checkpoint, as the store closes,
//! truncates it to nothing.

use crate::domain::Storage;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How often the WAL is checkpointed while writes come in.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The WAL's size limit when none is configured.
pub const DEFAULT_WAL_LIMIT: u64 = 256 * 1024 * 1024;

/// The WAL's state, as the writer and the checkpoint thread see it.
pub(super) struct Wal {
    path: PathBuf,
    page_size: u64,
    limit: u64,
    /// Frames (pages) in the WAL, after the last commit.
    frames: AtomicU64,
    /// Frames the last checkpoint had not copied into the database yet.
    lag: AtomicU64,
    restarts: AtomicU64,
}

impl Wal {
    /// The WAL of the database at `database`, kept under `limit` bytes; `conn` is the
    /// writer's connection.
    pub(super) fn new(
        database: &std::path::Path,
        conn: &Connection,
        limit: u64,
    ) -> rusqlite::Result<Self> {
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        conn.pragma_update(None, "journal_size_limit", (limit / 2) as i64)?;
        let mut path = database.as_os_str().to_owned();
        path.push("-wal");
        Ok(Wal {
            path: path.into(),
            page_size: page_size as u64,
            limit,
            frames: AtomicU64::new(0),
            lag: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        })
    }

    /// Called by SQLite after every commit with the frames now in the WAL.
    pub(super) fn committed(&self, frames: u64) {
        self.frames.store(frames, Ordering::Relaxed);
    }

    /// Run by the writer between groups: restarts the WAL once it holds half its limit.
    /// A restart waits for the readers on the WAL, and is refused while the checkpoint
    /// thread runs one of its own; past three quarters of the limit the writer keeps trying,
    /// new commits waiting meanwhile, so that the WAL never passes its limit however busy
    /// the machine is.
    pub(super) fn keep_bounded(&self, conn: &Connection) {
        loop {
            let bytes = self.frames.load(Ordering::Relaxed) * self.page_size;
            if bytes < self.limit / 2 {
                return;
            }
            match self.restart(conn) {
                Ok(true) => return,
                Ok(false) if bytes < self.limit / 4 * 3 => return,
                Ok(false) => std::thread::sleep(Duration::from_millis(1)),
                // Not a busy WAL: holding the writer would not help. The next group retries.
                Err(e) => return tracing::warn!(error = %e, "a WAL restart failed"),
            }
        }
    }

    /// Restarts the WAL: whether it starts over with the next commit (false: still busy).
    fn restart(&self, conn: &Connection) -> rusqlite::Result<bool> {
        let busy = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0))?;
        if busy == 0 {
            self.frames.store(0, Ordering::Relaxed);
            self.lag.store(0, Ordering::Relaxed);
            self.restarts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(busy == 0)
    }

    /// The files' sizes and the checkpoints' progress now.
    pub(super) fn storage(&self, database: &std::path::Path) -> Storage {
        let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |m| m.len());
        Storage {
            database_bytes: size(database),
            wal_bytes: size(&self.path),
            wal_limit_bytes: self.limit,
            checkpoint_lag_bytes: self.lag.load(Ordering::Relaxed) * self.page_size,
            wal_restarts: self.restarts.load(Ordering::Relaxed),
        }
    }
}

/// The checkpoint thread: after writes, at most every `CHECKPOINT_EVERY`, copies what the
/// WAL holds into the database file without blocking the writer or readers (`PASSIVE`).
/// Ends when the writer does, with a last checkpoint that empties the WAL file.
pub(super) fn checkpoints(conn: Connection, commits: mpsc::Receiver<()>, wal: &Wal) {
    let checkpoint = |mode: &str| {
        let done = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((log, copied)) => wal
                .lag
                .store((log - copied).max(0) as u64, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed; the next one retries"),
        }
    };
    while commits.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_EVERY);
        // Whatever was committed meanwhile is covered by this checkpoint.
        while commits.try_recv().is_ok() {}
        checkpoint("PASSIVE");
    }
    checkpoint("TRUNCATE");
}
