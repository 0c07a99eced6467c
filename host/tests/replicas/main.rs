//! Scale-out of the relay, end to end: replicas of the real service (`orderflow serve`,
//! each with a data directory of its own) sharing one MongoDB database (the server at
//! `ORDERFLOW_TEST_MONGODB_URL`) and one tansu broker (`ORDERFLOW_TEST_TANSU`), read back
//! with an rdkafka consumer; `tests/run.sh` provides both.
//!
//! Three replicas split the outbox's 16 shards and relay orders placed on any of them, each
//! event once. Under load, the replica holding the most shards is killed (SIGKILL): the
//! others take its shards over within 10 s, every acknowledged order's events arrive, a
//! copy is only ever a stored event published again, and each order's events arrive in the
//! order they happened. A fourth replica joining takes its share. The split, takeover and
//! join times are printed. The plugin registry they share is tested in `registry.rs`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../api/harness.rs"]
mod harness;
mod idle;
#[path = "../events/kafka.rs"]
mod kafka;
mod live;
mod outage;
mod proxy;
mod registry;
mod stock;
mod webhooks;

use harness::{App, Backend, Client, event_ids, token};
use kafka::{Broker, Consumed, Consumer};
use orderflow::orders::outbox::SHARDS;
use serde_json::{Value, json};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The harness's default store; the replicas share a database of their own.
const BACKEND: Backend = Backend::Mongo;

/// How soon a killed replica's shards must be relayed by the others: its leases last 6 s
/// from their last renewal, and the others claim them at their next round (every second).
const TAKEOVER_WITHIN: Duration = Duration::from_secs(10);
/// How soon a replica that joins must relay some shards.
const JOIN_WITHIN: Duration = Duration::from_secs(10);
/// How long the shards are watched for an expected split at most (the bounds above are
/// asserted on the measured times, so that a slow run still reports them).
const WATCH_AT_MOST: Duration = Duration::from_secs(30);
/// Clients placing orders at once.
const CLIENTS: usize = 3;

/// The shards each replica relays, by replica id, as its `/health` says.
type Held = BTreeMap<String, Vec<u16>>;

/// Replicas of one service: one database, one broker, one topic prefix.
struct Cluster {
    broker: Broker,
    prefix: String,
    database: String,
    replicas: Vec<(String, App)>,
}

impl Cluster {
    fn new() -> Cluster {
        Cluster {
            broker: Broker::start(),
            prefix: kafka::unique_prefix(),
            database: format!("orderflow_replicas_{}", uuid::Uuid::now_v7().simple()),
            replicas: Vec::new(),
        }
    }

    /// Starts replica `id` (`REPLICA_ID`) and waits until it listens.
    fn start(&mut self, id: &str) -> Client {
        self.start_with(id, vec![])
    }

    /// Starts replica `id` with more settings (`MONGODB_URL` through a proxy).
    fn start_with(&mut self, id: &str, more: Vec<(&'static str, String)>) -> Client {
        let mut settings = vec![
            ("REPLICA_ID", id.into()),
            ("DATABASE_NAME", self.database.clone()),
            ("KAFKA_ENABLED", "true".into()),
            ("KAFKA_BOOTSTRAP_SERVERS", self.broker.address()),
            ("KAFKA_TOPIC_PREFIX", self.prefix.clone()),
        ];
        settings.extend(more);
        let app = App::start_on(Backend::Mongo, settings);
        let client = app.client();
        self.replicas.push((id.to_owned(), app));
        client
    }

    /// Kills replica `id` outright: SIGKILL (the harness's drop: `Child::kill`), then reaped.
    fn kill(&mut self, id: &str) {
        let at = self.replicas.iter().position(|(r, _)| r == id).unwrap();
        drop(self.replicas.remove(at));
    }

    fn any(&self) -> &App {
        &self.replicas[0].1
    }

    /// Each replica's `/health`, by replica id.
    async fn health(&self) -> BTreeMap<String, Value> {
        let mut all = BTreeMap::new();
        for (id, app) in &self.replicas {
            let (status, health) = app.get("/health", None).await;
            assert_eq!(status, 200, "replica {id}: {health}");
            assert_eq!(health["replica"]["id"], json!(id), "{health}");
            all.insert(id.clone(), health);
        }
        all
    }

    async fn held(&self) -> Held {
        self.health()
            .await
            .into_iter()
            .map(|(id, health)| {
                let shards = health["replica"]["relay_shards"]
                    .as_array()
                    .unwrap_or_else(|| panic!("relay_shards in {health}"))
                    .iter()
                    .map(|s| s.as_u64().unwrap() as u16)
                    .collect();
                (id, shards)
            })
            .collect()
    }

    /// What each replica logged, for a failure's message.
    fn logs(&self) -> String {
        self.replicas
            .iter()
            .map(|(id, app)| format!("--- {id} logged:\n{}", app.log()))
            .collect()
    }

    /// Polls the replicas' `/health` until `done` holds of the shards they relay: how long
    /// after `since` it was seen, and what they held then. Fails after [`WATCH_AT_MOST`].
    async fn until(
        &self,
        what: &str,
        since: Instant,
        done: impl Fn(&Held) -> bool,
    ) -> (Duration, Held) {
        loop {
            let held = self.held().await;
            if done(&held) {
                return (since.elapsed(), held);
            }
            if since.elapsed() > WATCH_AT_MOST {
                panic!(
                    "{what}: not within {WATCH_AT_MOST:?}; the replicas relay {held:?}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Every shard relayed by exactly one replica, none by more than its fair share (the
/// shards divided by the replicas, rounded up): the split the leases settle on.
fn settled(held: &Held) -> bool {
    let fair = usize::from(SHARDS).div_ceil(held.len());
    let mut all: Vec<u16> = held.values().flatten().copied().collect();
    all.sort_unstable();
    all == (0..SHARDS).collect::<Vec<_>>()
        && held.values().all(|s| !s.is_empty() && s.len() <= fair)
}

/// The replica relaying the most shards.
fn busiest(held: &Held) -> (String, Vec<u16>) {
    let (id, shards) = held.iter().max_by_key(|(_, s)| s.len()).unwrap();
    (id.clone(), shards.clone())
}

/// What the load's clients share.
#[derive(Default)]
struct Shared {
    /// The replicas to send to, by id.
    alive: Mutex<Vec<(String, Client)>>,
    next: AtomicUsize,
    acknowledged: Mutex<Vec<String>>,
    /// Requests not answered with success (a killed replica's, say), by status (0: no
    /// answer), and how long the slowest of them took.
    failed: Mutex<(BTreeMap<u16, usize>, Duration)>,
    stop: AtomicBool,
}

impl Shared {
    /// The next replica, round-robin, with the request's number.
    fn next(&self) -> (usize, Client) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let alive = self.alive.lock().unwrap();
        (n, alive[n % alive.len()].1.clone())
    }

    fn failed(&self, status: u16, took: Duration) {
        let mut failed = self.failed.lock().unwrap();
        *failed.0.entry(status).or_default() += 1;
        failed.1 = failed.1.max(took);
    }
}

/// Orders placed round-robin on the replicas alive, from [`CLIENTS`] clients at once; every
/// other order also paid for and confirmed, each step on the next replica. An order is
/// acknowledged once a replica answered 201.
struct Load {
    shared: Arc<Shared>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(replicas: &[(String, App)]) -> Load {
        let shared = Arc::new(Shared::default());
        for (id, app) in replicas {
            shared
                .alive
                .lock()
                .unwrap()
                .push((id.clone(), app.client()));
        }
        let clients = (0..CLIENTS)
            .map(|_| tokio::spawn(place_orders(shared.clone())))
            .collect();
        Load { shared, clients }
    }

    fn add(&self, id: &str, client: Client) {
        self.shared
            .alive
            .lock()
            .unwrap()
            .push((id.to_owned(), client));
    }

    fn remove(&self, id: &str) {
        self.shared.alive.lock().unwrap().retain(|(r, _)| r != id);
    }

    fn acknowledged(&self) -> usize {
        self.shared.acknowledged.lock().unwrap().len()
    }

    /// The orders acknowledged so far.
    fn acknowledged_orders(&self) -> Vec<String> {
        self.shared.acknowledged.lock().unwrap().clone()
    }

    /// The requests that failed so far, by status, and the slowest one's time.
    fn failures(&self) -> (BTreeMap<u16, usize>, Duration) {
        self.shared.failed.lock().unwrap().clone()
    }

    /// Waits until `count` orders in all were acknowledged.
    async fn until_acknowledged(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.acknowledged() < count {
            assert!(
                Instant::now() < deadline,
                "{} of {count} orders acknowledged",
                self.acknowledged()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops placing orders: the acknowledged ones, and how many requests failed.
    async fn stop(mut self) -> (Vec<String>, usize) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for client in std::mem::take(&mut self.clients) {
            client.await.unwrap();
        }
        (self.acknowledged_orders(), self.failures().0.values().sum())
    }
}

async fn place_orders(shared: Arc<Shared>) {
    let (user, admin) = (token("load", false), token("ops", true));
    while !shared.stop.load(Ordering::Relaxed) {
        let (n, replica) = shared.next();
        let asked = Instant::now();
        let (status, order) = replica.place(&user, &[("prod-mug", 1)]).await;
        if status != 201 {
            shared.failed(status, asked.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let id = order["id"].as_str().unwrap().to_owned();
        shared.acknowledged.lock().unwrap().push(id.clone());
        if n % 2 == 1 {
            continue;
        }
        let steps = [
            (
                "payment",
                json!({"payment_status": "paid", "transaction_id": format!("tx-{id}")}),
            ),
            ("status", json!({"status": "confirmed"})),
        ];
        for (what, body) in steps {
            let (_, replica) = shared.next();
            let path = format!("/api/v1/orders/{id}/{what}");
            let asked = Instant::now();
            let (status, _) = replica.patch(&path, Some(&admin), Some(&body)).await;
            if status != 200 {
                // The order stays where it is: what was stored is what must arrive.
                shared.failed(status, asked.elapsed());
                break;
            }
        }
    }
}

/// Every copy of an event is that event published again: the same topic, key, envelope
/// and headers as its first copy, and for the orders in `stored`, the stored event itself.
/// The number of copies beyond the first.
fn copies_are_republications(
    consumed: &[Consumed],
    stored: &BTreeMap<String, Vec<Value>>,
) -> usize {
    let stored: HashMap<&str, &Value> = stored
        .values()
        .flatten()
        .map(|e| (e["event_id"].as_str().unwrap(), e))
        .collect();
    let mut first: HashMap<String, &Consumed> = HashMap::new();
    let mut copies = 0;
    for message in consumed {
        let id = message.event_id();
        assert_eq!(message.header("event_id"), Some(id.as_str()), "{message:?}");
        if let Some(event) = stored.get(id.as_str()) {
            assert_eq!(
                &message.envelope, *event,
                "the envelope is the stored event"
            );
            assert_eq!(Some(message.key.as_str()), event["order_id"].as_str());
        }
        match first.entry(id) {
            Entry::Vacant(entry) => {
                entry.insert(message);
            }
            Entry::Occupied(entry) => {
                let original = entry.get();
                assert_eq!(
                    (&message.topic, &message.key, &message.envelope),
                    (&original.topic, &original.key, &original.envelope),
                    "a copy is the same event again"
                );
                copies += 1;
            }
        }
    }
    copies
}

/// First copies compared: on each topic, an order's events arrive in the order of their
/// snapshots' `version`; and across topics, each order's events were produced in that
/// order (one publisher per order at a time, takeovers included).
fn in_order(consumed: &[Consumed]) {
    let mut seen = HashSet::new();
    let mut on_topic: HashMap<(&str, &str), (i64, String)> = HashMap::new();
    let mut produced: HashMap<&str, Vec<(i64, i64, String)>> = HashMap::new();
    for message in consumed {
        let id = message.event_id();
        if !seen.insert(id.clone()) {
            continue;
        }
        let version = message.envelope["order"]["version"]
            .as_i64()
            .unwrap_or_else(|| panic!("order.version in {message:?}"));
        let key = (message.topic.as_str(), message.key.as_str());
        if let Some((before, earlier)) = on_topic.get(&key) {
            assert!(
                version > *before,
                "on {}, order {}: {earlier} (version {before}) arrived before {id} (version {version})",
                key.0,
                key.1
            );
        }
        on_topic.insert(key, (version, id.clone()));
        produced
            .entry(message.key.as_str())
            .or_default()
            .push((version, message.produced_at, id));
    }
    for (order, mut events) in produced {
        events.sort();
        assert!(
            events.windows(2).all(|w| w[0].1 <= w[1].1),
            "order {order}: produced in the order they happened (version, produced at, id): {events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_split_the_relay_and_take_over_from_a_killed_one() {
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(300), scenario())
        .await
        .expect("the scenario ends within 5 minutes");
    eprintln!("replicas: the scenario took {:.1?}", started.elapsed());
}

async fn scenario() {
    let mut cluster = Cluster::new();
    let consumer = Consumer::new(&cluster.broker, &cluster.prefix).await;

    // 1. Three replicas split the 16 shards.
    let first = Instant::now();
    for id in ["r1", "r2", "r3"] {
        cluster.start(id);
    }
    let all_up = Instant::now();
    let (split, held) = cluster
        .until("three replicas split the shards", all_up, settled)
        .await;
    eprintln!(
        "replicas: split over 3 replicas {split:.1?} after the third listened ({:.1?} after the first started): {held:?}",
        all_up.duration_since(first) + split
    );

    // 2. Steady state: orders placed round-robin, each event published once.
    let load = Load::start(&cluster.replicas);
    load.until_acknowledged(60).await;
    let (steady, failed) = load.stop().await;
    assert_eq!(
        failed, 0,
        "with every replica alive, every request succeeds"
    );
    let stored = cluster.any().stored_events(&steady).await;
    let consumed = consumer
        .until_seen(&event_ids(&stored), Duration::from_secs(60))
        .await;
    let copies = copies_are_republications(&consumed, &stored);
    assert_eq!(
        copies, 0,
        "with every replica alive, no event is published twice"
    );
    kafka::assert_published(&cluster.prefix, &stored, &consumed);
    for (id, health) in cluster.health().await {
        let published = health["events"]["relay"]["published"].as_u64().unwrap();
        assert!(published > 0, "replica {id} relays its share: {health}");
    }
    eprintln!(
        "replicas: steady state: {} orders, {} events, each published once",
        steady.len(),
        consumed.len()
    );

    // 3. Under load, the replica relaying the most shards is killed; the others take over.
    let load = Load::start(&cluster.replicas);
    load.until_acknowledged(40).await;
    let (victim, orphaned) = busiest(&cluster.held().await);
    load.remove(&victim);
    let killed = Instant::now();
    cluster.kill(&victim);
    let (takeover, held) = cluster
        .until(
            "the survivors take the killed replica's shards over",
            killed,
            |held| {
                let mut survivors: Vec<u16> = held.values().flatten().copied().collect();
                let relayed = survivors.len();
                survivors.sort_unstable();
                survivors.dedup();
                survivors.len() == relayed && orphaned.iter().all(|s| survivors.contains(s))
            },
        )
        .await;
    eprintln!(
        "replicas: takeover of {victim}'s {} shards {takeover:.1?} after its SIGKILL: {held:?}",
        orphaned.len()
    );
    assert!(
        takeover <= TAKEOVER_WITHIN,
        "takeover took {takeover:?}, over {TAKEOVER_WITHIN:?}\n{}",
        cluster.logs()
    );

    // 4. A fourth replica joins, still under load, and takes its share.
    let before_join = load.acknowledged();
    let joining = Instant::now();
    let client = cluster.start("r4");
    let listening = Instant::now();
    load.add("r4", client);
    let (joined, _) = cluster
        .until("r4 relays shards", listening, |held| !held["r4"].is_empty())
        .await;
    let (balanced, held) = cluster
        .until("three replicas split the shards again", listening, settled)
        .await;
    eprintln!(
        "replicas: r4 relays shards {joined:.1?} after it listened ({:.1?} to start), all balanced after {balanced:.1?}: {held:?}",
        listening.duration_since(joining)
    );
    assert!(
        joined <= JOIN_WITHIN,
        "r4 relayed nothing for {joined:?}\n{}",
        cluster.logs()
    );
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let held = cluster.held().await;
        assert!(settled(&held), "the split holds: {held:?}");
    }
    load.until_acknowledged(before_join + 30).await;
    let (acknowledged, failed) = load.stop().await;

    // Every acknowledged order's events arrive; copies only as the same event again; each
    // order's events in the order they happened.
    let all: Vec<String> = steady.iter().chain(&acknowledged).cloned().collect();
    let stored = cluster.any().stored_events(&all).await;
    let consumed = consumer
        .until_seen(&event_ids(&stored), Duration::from_secs(90))
        .await;
    let copies = copies_are_republications(&consumed, &stored);
    in_order(&consumed);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, health) = cluster.any().get("/health", None).await;
        if health["events"]["backlog"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox drains: {health}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "replicas: under load with a kill and a join: {} orders acknowledged ({failed} requests failed), {} events stored, {} read, {copies} copies (each a stored event again)",
        acknowledged.len(),
        event_ids(&stored).len(),
        consumed.len()
    );
}
