//! The writer thread: every write runs there, in groups that share one transaction and one commit.

use super::wal::Wal;
use crate::domain::StoreError;
use rusqlite::Connection;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A write: runs on the writer's connection inside the group's transaction, says what it
/// left there, and hands back what to tell the writer once the group's commit is known.
pub(super) type Job = Box<dyn FnOnce(&Connection) -> (Left, Reply) + Send>;
pub(super) type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a write left in the group's transaction.
pub(super) enum Left {
    /// Its changes, whole.
    Done,
    /// Nothing: the store refused it before it changed anything.
    Nothing,
    /// Possibly part of itself: the group must be rolled back.
    Unknown(String),
}

impl Left {
    pub(super) fn of<T>(result: &Result<T, StoreError>) -> Self {
        match result {
            Ok(_) => Left::Done,
            // Each is found by a read before the write's first change, or by its first
            // statement, which SQLite undoes on its own.
            Err(
                StoreError::Conflict
                | StoreError::DuplicateNumber
                | StoreError::KeyReused
                | StoreError::LeaseLost
                | StoreError::Forgotten
                | StoreError::Shortage(_),
            ) => Left::Nothing,
            Err(StoreError::Unavailable(e)) => Left::Unknown(e.clone()),
        }
    }
}

/// Writes committed together, at most.
const GROUP: usize = 128;

/// Under load a group waits up to this long for more writes to share its commit (what
/// PostgreSQL's `commit_delay` does): every commit rewrites the index pages its orders
/// touched, a dozen or so whatever the group's size, so bigger groups write fewer pages per
/// order. At 10,000 orders/s groups grew from ~7 to ~24 writes and the server's CPU per
/// order fell by a tenth.
const LINGER: Duration = Duration::from_millis(1);
/// ...but it stops waiting once no write came in this long: the burst is over.
const GAP: Duration = Duration::from_micros(200);

/// The writes to commit together: `first`, every write waiting behind it and, when that
/// shows writes coming concurrently (a lone write commits at once), those arriving within
/// the linger.
///
/// The writer lingers asleep and looks at the queue after each gap, rather than waiting on
/// the queue: a receiver waiting there is woken by every write sent (a system call for the
/// sender and a context switch for the writer, two dozen times a group), while one asleep
/// is passed by. Those wake-ups were a twentieth of the async workers' time.
fn next_group(first: Job, queue: &mpsc::Receiver<Job>) -> Vec<Job> {
    let mut group = vec![first];
    group.extend(queue.try_iter().take(GROUP - 1));
    let deadline = Instant::now() + LINGER;
    while group.len() >= 2 && group.len() < GROUP {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(GAP));
        let before = group.len();
        group.extend(queue.try_iter().take(GROUP - before));
        if group.len() == before {
            break;
        }
    }
    group
}

/// The writer thread: takes a group of writes, runs them in one transaction, commits once,
/// tells the checkpoint thread and the live tail (`live.rs`), answers the writers, and keeps the WAL under its limit
/// before the next group. Ends when the store is dropped.
pub(super) fn group_commits(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    committed: mpsc::Sender<()>,
    told: &tokio::sync::Notify,
    wal: &Wal,
) {
    while let Ok(first) = queue.recv() {
        let mut group = next_group(first, &queue);
        let mut replies = Vec::with_capacity(group.len());
        let outcome = (|| -> Result<(), String> {
            // Dropped uncommitted, the transaction rolls back. A write left unrun then is
            // dropped with its answer channel: its caller hears that the store is unavailable.
            let tx = conn.transaction().map_err(|e| e.to_string())?;
            for job in group.drain(..) {
                let (left, reply) = job(&tx);
                replies.push(reply);
                if let Left::Unknown(e) = left {
                    return Err(format!("a write of the group failed, all were undone: {e}"));
                }
            }
            tx.commit().map_err(|e| e.to_string())
        })();
        match &outcome {
            Ok(()) => {
                let _ = committed.send(());
                told.notify_one();
            }
            Err(e) => tracing::error!(error = %e, "a group commit failed"),
        }
        for reply in replies {
            reply(outcome.clone());
        }
        wal.keep_bounded(&conn);
    }
}
