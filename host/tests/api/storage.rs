//! The embedded store's files under sustained load, through the real binary: the WAL stays
//! under `WAL_LIMIT_MB` while orders pour in, `kill -9` in the middle of that (checkpoints
//! and WAL restarts run all the time at this limit) loses no acknowledged order, and a clean
//! stop leaves no WAL behind.

use crate::harness::{App, Client, token};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT_MB: u64 = 2;
const CLIENTS: usize = 16;

/// Orders placed by [`CLIENTS`] clients at once until stopped; the acknowledged ones (201).
struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<String>>>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(app: &Client) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let clients = (0..CLIENTS)
            .map(|c| {
                let (app, stop, acknowledged) = (app.clone(), stop.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    let user = token(&format!("buyer-{c}"), false);
                    while !stop.load(Ordering::Relaxed) {
                        // Refused connections while the service is down: not acknowledged.
                        let (status, order) = app.place(&user, &[("prod-mug", 1)]).await;
                        if status == 201 {
                            let id = order["id"].as_str().unwrap().to_owned();
                            acknowledged.lock().unwrap().push(id);
                        } else {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            acknowledged,
            clients,
        }
    }

    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.await.unwrap();
        }
        self.acknowledged.lock().unwrap().clone()
    }
}

async fn storage(app: &App) -> Value {
    let (status, health) = app.get("/health", None).await;
    assert_eq!(status, 200, "{health}");
    health["storage"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wal_stays_bounded_and_a_kill_mid_checkpoint_loses_no_acknowledged_order() {
    let mut app = App::start_with(vec![("WAL_LIMIT_MB", LIMIT_MB.to_string())]);
    let limit = LIMIT_MB * 1024 * 1024;
    let admin = token("ops", true);
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let load = Load::start(&app.client());
        // Under load, the WAL restarts again and again and never passes its limit.
        let mut largest = 0;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let storage = storage(&app).await;
            largest = largest.max(storage["wal_bytes"].as_u64().unwrap());
            assert_eq!(storage["wal_limit_bytes"], limit, "{storage}");
        }
        let storage = storage(&app).await;
        assert!(
            largest <= limit,
            "round {round}: the WAL reached {largest}: {storage}"
        );
        assert!(storage["wal_restarts"].as_u64().unwrap() > 0, "{storage}");
        // SIGKILL while the load goes on: whatever checkpoint or restart runs is cut short.
        app.crash_and_restart().await;
        acknowledged.extend(load.stop().await);
    }
    assert!(acknowledged.len() > 1000, "{} orders", acknowledged.len());
    for id in &acknowledged {
        let (status, order) = app.get(&format!("/api/v1/orders/{id}"), Some(&admin)).await;
        assert_eq!(status, 200, "acknowledged order {id} is lost: {order}");
    }

    // A clean stop: the last checkpoint empties the WAL and the process leaves no WAL file.
    let pid = app.pid().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert_eq!(app.wait_exit(Duration::from_secs(15)), Some(0));
    let wal = app.data_dir().join("orders.db-wal");
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "a clean stop leaves no WAL behind");
}
