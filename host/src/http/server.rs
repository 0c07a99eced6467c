//! The HTTP/1 server in front of the router: hyper connections with the limits a service
//! facing real clients needs and `axum::serve` does not offer.
//!
//! - **Header read timeout**: a request's head must arrive within it, counted from its
//!   first byte, so a client trickling a header byte now and then is cut off.
//! - **Idle timeout**: a keep-alive connection with no request under way, and a connection
//!   that never sends a byte, is closed after it. It is longer than the header timeout and
//!   than the 60 s idle timeout of the usual load balancers, which must close first.
//! - **A cap on connections**, below the open-files limit, so the process never fails to
//!   open its own files or accept its next client. At the cap, the longest-idle connection
//!   is closed to make room; with none idle, new clients wait in the listen backlog.
//! - **Bounded graceful shutdown**: on a signal no new connection is accepted, idle ones
//!   close, requests under way are answered, and after the grace period the rest is dropped.
//!
//! hyper's own header timeout also counts a keep-alive connection's idle time, which would
//! make the two timeouts one; each connection's watchdog below keeps them apart.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};

#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// How long requests under way may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
}

/// File descriptors kept out of the connection cap for the process's own use: the store's
/// files, the plugin directory watcher, connections to MongoDB, Kafka and the neighbour
/// services, and the socket accepted while the cap is full.
const RESERVED_FILES: u64 = 128;

/// The connection cap the open-files limit allows. The soft limit is raised to the hard
/// one first, as a server that expects many clients should.
pub fn connections_allowed() -> usize {
    let soft = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    usize::try_from(soft.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(usize::MAX)
}

/// Serves `app` on `listener` until `shutdown` completes, then for at most the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Connections::default());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                open.close_longest_idle();
                tokio::select! {
                    permit = permits.clone().acquire_owned() => permit.expect("never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        // Small answers go out at once instead of waiting for an acknowledgement (Nagle).
        let _ = stream.set_nodelay(true);
        let (id, connection) = open.add();
        let service = TowerToHyperService::new(app.clone());
        let (open, stopping) = (open.clone(), stopping.clone());
        tokio::spawn(async move {
            drive(stream, service, &connection, limits, stopping).await;
            open.remove(id);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it is done: all of them back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = open.count(),
            "connections still open after the shutdown grace period are dropped"
        );
    }
}

/// Out of file descriptors or a connection reset before it was accepted: the listener
/// itself is fine, so wait a little (the descriptors may come back) and go on.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection until it closes, times out, is reclaimed, or the server stops.
async fn drive(
    stream: TcpStream,
    service: TowerToHyperService<Router>,
    connection: &Arc<Connection>,
    limits: ServerLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        io: stream,
        connection: connection.clone(),
    });
    let tracked = {
        let connection = connection.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let answering = Answering::start(&connection);
            let response = hyper::service::Service::call(&service, request);
            async move {
                let response = response.await;
                drop(answering);
                response
            }
        })
    };
    let mut conn = pin!(hyper::server::conn::http1::Builder::new().serve_connection(io, tracked));
    let mut check = pin!(tokio::time::sleep(limits.header_read_timeout));
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = &mut check => match connection.deadline(limits) {
                Deadline::Passed(why) => {
                    tracing::debug!(why, "connection closed");
                    return;
                }
                Deadline::At(at) => check.as_mut().reset(at.into()),
            },
            () = connection.reclaim.notified() => {
                if connection.answering.load(Ordering::Relaxed) == 0 {
                    return;
                }
                // A request began after it was chosen: answer it, then close.
                conn.as_mut().graceful_shutdown();
            }
            changed = stopping.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// What the watchdog knows of a connection. Times are milliseconds since the server's epoch.
struct Connection {
    /// Requests being answered now.
    answering: AtomicU32,
    /// When the last answer went out (or the connection opened).
    idle_since: AtomicU64,
    /// When the first byte of the next request's head came; 0: none yet.
    head_since: AtomicU64,
    /// Told when the server needs this connection's slot for a new client.
    reclaim: Notify,
}

enum Deadline {
    Passed(&'static str),
    At(Instant),
}

impl Connection {
    fn deadline(&self, limits: ServerLimits) -> Deadline {
        let now = epoch().elapsed();
        // No head can start earlier than now, so a wake-up one header timeout from now
        // never oversleeps the deadline of a head that starts meanwhile.
        let recheck = Instant::now() + limits.header_read_timeout;
        if self.answering.load(Ordering::Relaxed) > 0 {
            return Deadline::At(recheck);
        }
        let (since, timeout, why) = match self.head_since.load(Ordering::Relaxed) {
            0 => (
                self.idle_since.load(Ordering::Relaxed),
                limits.idle_timeout,
                "idle timeout",
            ),
            head => (head, limits.header_read_timeout, "header read timeout"),
        };
        let due = Duration::from_millis(since) + timeout;
        match due.checked_sub(now) {
            Some(left) if !left.is_zero() => Deadline::At(recheck.min(Instant::now() + left)),
            _ => Deadline::Passed(why),
        }
    }

    /// How long it has been idle (None: it is answering a request).
    fn idle_since(&self) -> Option<u64> {
        if self.answering.load(Ordering::Relaxed) > 0 {
            return None;
        }
        Some(match self.head_since.load(Ordering::Relaxed) {
            0 => self.idle_since.load(Ordering::Relaxed),
            head => head,
        })
    }
}

/// A request under way on a connection, from its head to its answer.
struct Answering(Arc<Connection>);

impl Answering {
    fn start(connection: &Arc<Connection>) -> Self {
        connection.answering.fetch_add(1, Ordering::Relaxed);
        connection.head_since.store(0, Ordering::Relaxed);
        Answering(connection.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.idle_since.store(millis(), Ordering::Relaxed);
        self.0.answering.fetch_sub(1, Ordering::Relaxed);
    }
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Milliseconds since the epoch, at least 1 (0 means "not yet").
fn millis() -> u64 {
    u64::try_from(epoch().elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The open connections, so the accept loop can pick one to reclaim.
#[derive(Default)]
struct Connections {
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Connections {
    fn add(&self) -> (u64, Arc<Connection>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            answering: AtomicU32::new(0),
            idle_since: AtomicU64::new(millis()),
            head_since: AtomicU64::new(0),
            reclaim: Notify::new(),
        });
        self.lock().insert(id, connection.clone());
        (id, connection)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn count(&self) -> usize {
        self.lock().len()
    }

    /// Asks the connection idle the longest to close; with none idle, nothing happens and
    /// the next client waits for a request to finish.
    fn close_longest_idle(&self) {
        let open = self.lock();
        let longest = open
            .values()
            .filter_map(|c| c.idle_since().map(|since| (since, c)))
            .min_by_key(|(since, _)| *since);
        if let Some((_, connection)) = longest {
            connection.reclaim.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The socket, noting when a request's head starts arriving.
struct Watched {
    io: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        let c = &self.connection;
        if buf.filled().len() > before
            && c.answering.load(Ordering::Relaxed) == 0
            && c.head_since.load(Ordering::Relaxed) == 0
        {
            c.head_since.store(millis(), Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
