//! The embedded store's tests: the conformance suite, and what only this store promises.

use super::schema::FIRST_SCHEMA;
use super::{EmbeddedStore, unavailable};
use crate::domain::StoreError;
use crate::orders::OrderEvent;
use crate::orders::OrderStore;
use crate::orders::outbox::Shards;
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    crate::store::conformance::run(|| async {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        EmbeddedStore::open(&dir.path().join(format!("orders-{n}.db"))).unwrap()
    })
    .await;
}

#[tokio::test]
async fn orders_and_events_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let order = crate::store::conformance::sample_order("u1", 1000);
    let events = OrderEvent::all(order.clone(), &["order.created".into()], order.created_at);
    {
        let store = EmbeddedStore::open(&path).unwrap();
        store.insert(&order, &events, None, &[]).await.unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(store.get(order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(store.events(order.id).await.unwrap()[0].event, events[0]);
}

#[tokio::test]
async fn an_event_reads_back_to_the_nanosecond() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("orders.db")).unwrap();
    let order = crate::store::conformance::sample_order("u1", 1000);
    let at = order.created_at + chrono::Duration::nanoseconds(1_234_567);
    let events = OrderEvent::all(order.clone(), &["order.created".into()], at);
    store.insert(&order, &events, None, &[]).await.unwrap();
    assert_eq!(store.events(order.id).await.unwrap()[0].event, events[0]);
}

/// The database belongs to the process that opened it: a second process is refused
/// (after the busy timeout) with a message saying why.
#[test]
fn a_second_process_cannot_open_the_database() {
    if let Some(held) = std::env::var_os("ORDERFLOW_HELD_DATABASE") {
        // The second process, run by the test below.
        let refused = EmbeddedStore::open(Path::new(&held))
            .err()
            .expect("refused");
        assert!(
            refused.to_string().contains("in use by another process"),
            "{refused}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let _held = EmbeddedStore::open(&path).unwrap();
    let second = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::embedded::tests::a_second_process_cannot_open_the_database",
        ])
        .env("ORDERFLOW_HELD_DATABASE", &path)
        .output()
        .unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("1 passed"));
}

/// A write that fails after changing something takes its whole group down with it:
/// nothing of the group is kept, each of its writers hears of the failure, and the
/// store goes on writing.
#[tokio::test]
async fn a_write_failing_halfway_undoes_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("orders.db")).unwrap();
    let placed = crate::store::conformance::sample_order("u1", 1000);
    let events = OrderEvent::all(placed.clone(), &["order.created".into()], placed.created_at);
    let halfway = crate::store::conformance::sample_order("u2", 2000);
    let halfway_id = halfway.id.to_string();
    // Keeps the writer busy, so the next two writes wait and share a group (perhaps
    // with this one too: then it fails with them).
    let busy = store.write(|_| {
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    });
    let placing = store.insert(&placed, &events, None, &[]);
    let failing = store.write(move |tx| {
        tx.execute(
            "INSERT INTO orders (id, number, user_id, status, payment_status, total_minor, currency, created_at, version, doc)
                 VALUES (?1, 'ORD-HALF', 'u2', 'pending', 'pending', 2000, 'USD', 0, 1, '{}')",
            [&halfway_id],
        )
        .map_err(unavailable)?;
        Err::<(), _>(unavailable("the disk is on fire"))
    });
    let (_, placing, failing) = tokio::join!(busy, placing, failing);
    assert!(
        matches!(placing, Err(StoreError::Unavailable(_))),
        "{placing:?}"
    );
    assert!(
        matches!(failing, Err(StoreError::Unavailable(_))),
        "{failing:?}"
    );
    assert_eq!(store.get(placed.id).await.unwrap(), None);
    assert_eq!(store.get(halfway.id).await.unwrap(), None);
    assert!(store.events(placed.id).await.unwrap().is_empty());
    // The next group is written as usual.
    store.insert(&placed, &events, None, &[]).await.unwrap();
    assert_eq!(store.get(placed.id).await.unwrap(), Some(placed));
}

/// A database written before events pointed at their order's versions: its events, each
/// a whole event with the order in it, read back as they were, beside those written after.
#[tokio::test]
async fn a_database_of_the_first_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let order = crate::store::conformance::sample_order("u1", 1000);
    let created = OrderEvent::all(order.clone(), &["order.created".into()], order.created_at);
    {
        let old = Connection::open(&path).unwrap();
        old.execute_batch(FIRST_SCHEMA).unwrap();
        old.execute(
            "INSERT INTO orders (id, number, user_id, status, payment_status, total_minor, currency, created_at, version, doc)
                 VALUES (?1, ?2, 'u1', 'pending', 'pending', 1000, 'USD', 0, 1, ?3)",
            params![order.id.to_string(), order.order_number.to_string(), serde_json::to_string(&order).unwrap()],
        )
        .unwrap();
        old.execute(
            "INSERT INTO events (id, order_id, type, occurred_at, doc) VALUES (?1, ?2, 'order.created', 0, ?3)",
            params![created[0].event_id.to_string(), order.id.to_string(), serde_json::to_string(&created[0]).unwrap()],
        )
        .unwrap();
    }
    let store = EmbeddedStore::open(&path).unwrap();
    let mut confirmed = order.clone();
    confirmed.status = "confirmed".into();
    confirmed.version = 2;
    let announced = OrderEvent::all(
        confirmed.clone(),
        &["order.confirmed".into()],
        order.created_at,
    );
    store.update(&confirmed, 1, &announced, &[]).await.unwrap();
    let events = crate::store::conformance::events_of(&store, order.id).await;
    assert_eq!(events, [created[0].clone(), announced[0].clone()]);
    assert_eq!(store.unpublished(10, &Shards::All).await.unwrap(), events);
    // Opening it again migrates nothing twice.
    drop(store);
    let store = EmbeddedStore::open(&path).unwrap();
    assert_eq!(store.events(order.id).await.unwrap().len(), 2);
}

/// Sustained writes from many writers, with readers on the WAL all along: the WAL file never
/// passes its limit (the writer starts it over), and closing the store empties it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_stays_under_its_limit_under_sustained_writes() {
    const LIMIT: u64 = 4 * 1024 * 1024;
    const WRITERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let store = EmbeddedStore::open_with_wal_limit(&path, LIMIT).unwrap();
    let largest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, largest) = (store.clone(), largest.clone());
            tokio::spawn(async move {
                for i in 0..400 {
                    let order = loop {
                        // The sample's order numbers are random within one second: a clash
                        // takes another, as the service does.
                        let order =
                            crate::store::conformance::sample_order(&format!("u{w}-{i}"), 1000);
                        let events = OrderEvent::all(
                            order.clone(),
                            &["order.created".into()],
                            order.created_at,
                        );
                        match store.insert(&order, &events, None, &[]).await {
                            Err(StoreError::DuplicateNumber) => continue,
                            inserted => break inserted.map(|_| order).unwrap(),
                        }
                    };
                    // A reader on the WAL, as GETs are, while writes go on.
                    assert!(store.get(order.id).await.unwrap().is_some());
                    largest.fetch_max(store.storage().wal_bytes, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let storage = store.storage();
    let largest = largest.load(Ordering::Relaxed);
    assert!(
        largest <= LIMIT,
        "the WAL reached {largest} bytes: {storage:?}"
    );
    assert!(storage.wal_restarts > 0, "{storage:?}");
    assert!(
        storage.database_bytes > LIMIT,
        "more was written than the WAL may hold: {storage:?}"
    );
    drop(store);
    let wal = dir.path().join("orders.db-wal");
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "a closed store leaves no WAL behind");
    let store = EmbeddedStore::open(&path).unwrap();
    let all = store
        .list(&crate::orders::OrderQuery {
            page: 1,
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, (WRITERS * 400) as u64);
}
