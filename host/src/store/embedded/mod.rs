//! The embedded store: one SQLite file in WAL mode, so a newcomer runs the service with no
//! infrastructure and nothing is lost across restarts.
//!
//! Orders are stored as JSON documents with the columns the queries filter and sort on
//! beside them; events live in an outbox table written in the same transaction. An event
//! carries the order as its change left it: the outbox row points at that version of the
//! order (the order's own row, or its superseded versions in `order_snapshots`) instead of
//! holding a copy, so placing an order writes its document once, not twice.
//!
//! Writes go to one writer thread, which owns the only writing connection (that is also what
//! makes idempotency keys race-free). It commits in groups: every write waiting when a
//! transaction starts (and, under load, those arriving within a millisecond) runs in one
//! transaction, the group commits once, and only then does each writer get its answer. An
//! order touches a dozen pages (row, event, indexes); sharing one commit means sharing those
//! page writes, which is what bounds a commit-per-order store. Reads use their own
//! connections and never wait.
//!
//! A write refused by the store (a version conflict, a taken order number, an idempotency
//! key reused) finds that out before it changes anything, or by a first statement that
//! SQLite undoes alone, so the group goes on without it. A write that fails any other way
//! may have left part of itself behind: the whole group is rolled back and every write in
//! it is answered as failed, so no order is ever half written. (Each write used to run in a
//! savepoint of its own instead; copying every page it touched into the savepoint's journal
//! was a fifth of the writer's time.)
//!
//! The database belongs to one process at a time (SQLite's `unix-excl`): its WAL index is
//! kept in memory, not in a shared `-shm` file, so transactions take no file locks, and a
//! second server started on the same `DATA_DIR` is refused instead of sharing the file.
//!
//! Durability: `synchronous = NORMAL` in WAL mode — a committed order survives the
//! process being killed; only a power loss before the next checkpoint could lose the
//! latest commits.
//!
//! Checkpoints (copying the WAL back into the database file, with two fsyncs) run on a
//! thread of their own, never on the writer: done by the writer, as SQLite does by default,
//! every commit waiting behind a checkpoint's fsyncs left the CPU idle. The writer only
//! starts the WAL over, between groups, when it reaches half its limit (`wal.rs`).
//!
//! The store closes when the last handle is dropped: the writer finishes, the last
//! checkpoint empties the WAL, and the threads are joined before the drop returns, so a
//! process that stops cleanly leaves the database file alone.

mod deliveries;
mod live;
mod orders;
mod replays;
mod rows;
mod schema;
mod sqlite;
mod stock;
#[cfg(test)]
mod tests;
mod wal;
mod webhooks;
mod writer;

use crate::domain::Storage;
use crate::domain::StoreError;
use rusqlite::{Connection, OpenFlags};
use schema::migrate;
use sqlite::{ONE_PROCESS, held_elsewhere, without_memory_statistics};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
pub use wal::DEFAULT_WAL_LIMIT;
use wal::{Wal, checkpoints};
use writer::{Job, Left, Reply, group_commits};

const READERS: usize = 4;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Db>,
}

struct Db {
    path: PathBuf,
    writes: mpsc::Sender<Job>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    wal: Arc<Wal>,
    /// Told after every commit: the live tail's wake-up (`live.rs`).
    committed: Arc<tokio::sync::Notify>,
    /// The writer and checkpoint threads, joined as the store closes.
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Db {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has run what was sent; the checkpoint
        // thread then makes its last checkpoint and ends too.
        drop(std::mem::replace(&mut self.writes, mpsc::channel().0));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Db {
    /// Runs `work` on the next reader connection, on the calling thread.
    fn reader<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        work(&*self.readers[i].lock().map_err(unavailable)?)
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file at `path`, its WAL kept under
    /// [`DEFAULT_WAL_LIMIT`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_wal_limit(path, DEFAULT_WAL_LIMIT)
    }

    /// Opens the database file at `path`, its WAL kept under `wal_limit` bytes.
    pub fn open_with_wal_limit(path: &Path, wal_limit: u64) -> Result<Self, StoreError> {
        without_memory_statistics();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer =
            Connection::open_with_flags_and_vfs(path, rw, ONE_PROCESS).map_err(unavailable)?;
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0;")
            .map_err(|e| held_elsewhere(path, e))?;
        migrate(&mut writer)?;
        let wal = Arc::new(Wal::new(path, &writer, wal_limit).map_err(unavailable)?);
        let told = wal.clone();
        // After `wal_autocheckpoint`, which replaces any hook.
        writer
            .wal_hook(Some(
                move |_: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
                    told.committed(frames.max(0) as u64);
                    Ok(())
                },
            ))
            .map_err(unavailable)?;
        let checkpointer =
            Connection::open_with_flags_and_vfs(path, rw, ONE_PROCESS).map_err(unavailable)?;
        checkpointer
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(unavailable)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open_with_flags_and_vfs(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    ONE_PROCESS,
                )
                .map_err(unavailable)?;
                reader
                    .execute_batch("PRAGMA busy_timeout = 5000;")
                    .map_err(unavailable)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_, StoreError>>()?;
        let (writes, queue) = mpsc::channel::<Job>();
        let (committed, commits) = mpsc::channel::<()>();
        let bounded = wal.clone();
        let told = Arc::new(tokio::sync::Notify::new());
        let telling = told.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || group_commits(writer, queue, committed, &telling, &bounded))
            .map_err(unavailable)?;
        let checkpointed = wal.clone();
        let checkpoint = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpoints(checkpointer, commits, &checkpointed))
            .map_err(unavailable)?;
        Ok(EmbeddedStore {
            db: Arc::new(Db {
                path: path.to_owned(),
                writes,
                readers,
                next_reader: AtomicUsize::new(0),
                wal,
                committed: told,
                threads: vec![writer, checkpoint],
            }),
        })
    }

    /// Runs `work` in the next group commit and answers once that commit is durable.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = work(conn);
            let left = Left::of(&result);
            let reply: Reply = Box::new(move |commit| {
                let _ = answer.send(commit.map_err(StoreError::Unavailable).and(result));
            });
            (left, reply)
        });
        self.db
            .writes
            .send(job)
            .map_err(|_| unavailable("the store writer has stopped"))?;
        answered
            .await
            .map_err(|_| unavailable("the store writer has stopped"))?
    }

    /// The database and WAL files now.
    pub fn storage(&self) -> Storage {
        self.db.wal.storage(&self.db.path)
    }

    /// Runs `work` on a reader connection, off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.reader(work))
            .await
            .map_err(unavailable)?
    }
}
