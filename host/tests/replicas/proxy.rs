//! A TCP proxy between the service and its database, for tests of a slow or unreachable
//! store: it forwards both ways, delays every answer of the database, and can be cut
//! (every connection closed, new ones refused) and healed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    delay_ms: Arc<AtomicU64>,
    cut: Arc<AtomicBool>,
    /// Bumped on every cut: each connection ends when it changes.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target` (`host:port`).
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (delay_ms, cut) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (cuts, _) = watch::channel(0);
        let proxy = Proxy {
            port,
            delay_ms: delay_ms.clone(),
            cut: cut.clone(),
            cuts: cuts.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (delay, ended) = (delay_ms.clone(), cuts.subscribe());
                tokio::spawn(pipe(client, server, delay, ended));
            }
        });
        proxy
    }

    /// Every answer of the database forwarded from now on waits `delay` first: each
    /// exchange with it takes that much longer.
    pub fn delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Closes every connection and refuses new ones until [`heal`](Self::heal).
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    delay: Arc<AtomicU64>,
    mut ended: watch::Receiver<u64>,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    // The first side to stop ends both: the halves drop, and both sockets close.
    tokio::select! {
        _ = forward(client_read, server_write, Arc::new(AtomicU64::new(0))) => {}
        _ = forward(server_read, client_write, delay) => {}
        _ = ended.changed() => {}
    }
}

async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let wait = delay.load(Ordering::SeqCst);
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
