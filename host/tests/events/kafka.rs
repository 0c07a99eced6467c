//! A broker a test owns (tansu, in memory, on a free port) and a consumer that reads every
//! event topic of one prefix from the beginning.

// Shared by the events and replicas tests and the relay benchmark; each uses a part of it.
#![allow(dead_code)]

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The topics the shipped workflows publish to (the relay creates them with 3 partitions):
/// the standard events, and those of the B2B workflow's approval step.
const EVENT_TYPES: [&str; 17] = [
    "order.created",
    "order.confirmed",
    "order.cancelled",
    "order.shipped",
    "order.delivered",
    "order.payment_completed",
    "order.payment_failed",
    "order.approval_requested",
    "order.approved",
    "order.rejected",
    "order.change_requested",
    "order.changed",
    "order.change_declined",
    "order.change_cancelled",
    "order.return_requested",
    "order.return_received",
    "order.refunded",
];
const PARTITIONS: i32 = 3;

pub fn unique_prefix() -> String {
    format!("t{}.", uuid::Uuid::now_v7().simple())
}

/// A tansu broker, restartable. tansu binds without `SO_REUSEADDR`, so a restart cannot take
/// the port back while the old connections linger: it alternates between two ports, and
/// clients get both as bootstrap servers (as they would a cluster's brokers).
pub struct Broker {
    ports: [u16; 2],
    starts: usize,
    process: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Broker {
    pub fn start() -> Broker {
        let mut broker = Broker {
            ports: [free_port(), free_port()],
            starts: 0,
            process: None,
        };
        broker.start_again();
        broker
    }

    /// The bootstrap servers.
    pub fn address(&self) -> String {
        self.ports.map(|p| format!("127.0.0.1:{p}")).join(",")
    }

    /// Starts the broker (on the other port than last time); in memory, so it comes back
    /// empty.
    pub fn start_again(&mut self) {
        let tansu = std::env::var("ORDERFLOW_TEST_TANSU").expect(
            "ORDERFLOW_TEST_TANSU must name the tansu binary: run the tests with tests/run.sh, which installs it",
        );
        let port = self.ports[self.starts % 2];
        self.starts += 1;
        let url = format!("tcp://127.0.0.1:{port}");
        let process = Command::new(tansu)
            .args(["broker", "--storage-engine", "memory://tansu/"])
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One message as the consumer read it.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub topic: String,
    pub key: String,
    pub envelope: Value,
    /// When the relay produced it (the producer's create time, ms).
    pub produced_at: i64,
    /// When this consumer read it.
    pub read_at: chrono::DateTime<chrono::Utc>,
    headers: Vec<(String, String)>,
}

impl Consumed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn event_id(&self) -> String {
        self.envelope["event_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Reads, on a thread of its own, every partition of the prefix's event topics from the
/// beginning (assigned, not subscribed: no consumer group to wait for).
pub struct Consumer {
    received: Arc<Mutex<Vec<Consumed>>>,
    stop: Arc<AtomicBool>,
}

impl Consumer {
    pub async fn new(broker: &Broker, prefix: &str) -> Consumer {
        let topics: Vec<String> = EVENT_TYPES.iter().map(|t| format!("{prefix}{t}")).collect();
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", broker.address())
            .create()
            .unwrap();
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| NewTopic::new(t, PARTITIONS, TopicReplication::Fixed(1)))
            .collect();
        admin
            .create_topics(&new, &AdminOptions::new())
            .await
            .unwrap();
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", broker.address())
            .set("group.id", format!("{prefix}reader"))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("topic.metadata.refresh.interval.ms", "1000")
            // Read what arrives now rather than waiting for a fuller fetch.
            .set("fetch.wait.max.ms", "10")
            .create()
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        for topic in &topics {
            for partition in 0..PARTITIONS {
                assignment
                    .add_partition_offset(topic, partition, Offset::Beginning)
                    .unwrap();
            }
        }
        consumer.assign(&assignment).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else {
                    continue;
                };
                let text = |bytes: Option<&[u8]>| {
                    String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned()
                };
                let headers = message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.to_owned(), text(h.value)))
                            .collect()
                    })
                    .unwrap_or_default();
                sink.lock().unwrap().push(Consumed {
                    topic: message.topic().to_owned(),
                    key: text(message.key()),
                    envelope: serde_json::from_slice(message.payload().unwrap_or_default())
                        .unwrap_or(Value::Null),
                    produced_at: message.timestamp().to_millis().unwrap_or_default(),
                    read_at: chrono::Utc::now(),
                    headers,
                });
            }
        });
        Consumer { received, stop }
    }

    /// Everything read so far.
    pub fn read(&self) -> Vec<Consumed> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until every one of `ids` was read; everything read so far.
    pub async fn until_seen(&self, ids: &HashSet<String>, within: Duration) -> Vec<Consumed> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.read();
            let seen: HashSet<String> = received.iter().map(Consumed::event_id).collect();
            let missing = ids.difference(&seen).count();
            if missing == 0 {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{missing} of {} events not read within {within:?}",
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Checks what was consumed against what the service stored: every event once, on its
/// type's topic, keyed by its order, with the documented envelope and headers, each
/// order's events produced in the order they happened. (Kafka orders messages within a
/// partition of one topic; across the topics of one order, consumers order by the
/// snapshot's `version`.)
pub fn assert_published(
    prefix: &str,
    stored: &BTreeMap<String, Vec<Value>>,
    consumed: &[Consumed],
) {
    let mut per_order: BTreeMap<String, Vec<&Consumed>> = BTreeMap::new();
    for message in consumed {
        per_order
            .entry(message.key.clone())
            .or_default()
            .push(message);
    }
    for (order, events) in stored {
        let mut got = per_order.get(order).cloned().unwrap_or_default();
        let position = |m: &Consumed| {
            events
                .iter()
                .position(|e| e["event_id"] == m.envelope["event_id"])
        };
        got.sort_by_key(|m| position(m));
        let got_ids: Vec<&str> = got
            .iter()
            .map(|m| m.envelope["event_id"].as_str().unwrap())
            .collect();
        let want_ids: Vec<&str> = events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(got_ids, want_ids, "order {order}: every event, once");
        assert!(
            got.windows(2).all(|w| w[0].produced_at <= w[1].produced_at),
            "order {order}: produced in the order they happened: {got:?}"
        );
        for (message, event) in got.iter().zip(events) {
            let event_type = event["event_type"].as_str().unwrap();
            assert_eq!(message.topic, format!("{prefix}{event_type}"));
            assert_eq!(&message.envelope, event, "the envelope is the stored event");
            assert_eq!(message.header("event_type"), Some(event_type));
            assert_eq!(
                message.header("event_id"),
                event["event_id"].as_str(),
                "{message:?}"
            );
            for field in ["order_number", "user_id", "occurred_at", "workflow"] {
                assert!(!message.envelope[field].is_null(), "{field} in {message:?}");
            }
            assert_eq!(message.envelope["order"]["id"], json!(order));
        }
    }
}
