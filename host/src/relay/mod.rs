//! The outbox relay: publishes the events every order change wrote to the store, to Kafka.
//!
//! Delivery is at least once. The relay reads unpublished events oldest first, publishes them
//! with an idempotent producer (`acks=all`), and marks them published only once the broker
//! acknowledged them; a crash in between publishes them again, and their `event_id` lets
//! consumers drop the copy. Events are keyed by order id, so one order's events share a
//! partition and keep their order; when an event fails, the later events of its order are
//! not marked either, and go again after it.
//!
//! The API never waits for any of this: an order is accepted once it is stored. With the
//! broker down, events wait in the outbox and flow when it is back.
//!
//! Replicas sharing one store split the outbox into shards, each relayed by one replica at
//! a time under a lease ([`leases`]): one publisher per order, so an order's events keep
//! their order across replicas and takeovers.

pub mod leases;

use crate::domain::StoreError;
use crate::metrics::metrics;
use crate::orders::outbox::Shards;
use crate::orders::{OrderEvent, OrderStore};
use chrono::Utc;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// Events taken from the outbox per pass.
const BATCH: u32 = 500;
/// How often the outbox is looked at when no write announced anything: a safety net. Writes
/// announce themselves (this process's directly, other replicas' through the outbox's
/// change feed), so an idle relay costs the store one read per this.
const POLL: Duration = Duration::from_secs(10);
/// Pause after a failed pass, so a broker outage is not a busy loop.
const BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub brokers: String,
    /// Put before every topic name, e.g. `staging.` → `staging.order.created`.
    pub topic_prefix: String,
    /// For topics the relay creates (an existing topic is used as it is).
    pub partitions: i32,
    pub replication: i32,
}

/// What `/health` shows of the relay.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RelayStatus {
    /// `starting`, `publishing` (the last pass published everything it took) or `failing`.
    pub state: &'static str,
    /// Why the last pass failed, if it did.
    pub last_error: Option<String>,
    /// Events published since the process started.
    pub published: u64,
}

pub struct Relay {
    store: Arc<dyn OrderStore>,
    /// The shards this process may relay: all of them, or those it holds leases on.
    shards: watch::Receiver<Shards>,
    /// A mark found a lease lost: nothing is relayed until the leases are next renewed, or
    /// the relay would publish the lost shard's events again and again meanwhile.
    lease_lost: bool,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    config: RelayConfig,
    topics: HashSet<String>,
    status: Arc<Mutex<RelayStatus>>,
}

/// A Kafka topic name for an event type: the prefix, then the type with any character Kafka
/// does not allow in a topic name replaced by `_`.
pub fn topic_for(prefix: &str, event_type: &str) -> String {
    let name: String = event_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}{name}")
}

/// A producer (idempotent, `acks=all`) and an admin client for `config`'s brokers.
fn connect(
    config: &RelayConfig,
) -> KafkaResult<(FutureProducer, AdminClient<DefaultClientContext>)> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.brokers);
    let admin = client.create()?;
    let producer = client
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set(
            "message.timeout.ms",
            leases::DELIVERY_TIMEOUT.as_millis().to_string(),
        )
        .set("linger.ms", "2")
        .create()?;
    Ok((producer, admin))
}

impl Relay {
    pub fn new(
        store: Arc<dyn OrderStore>,
        shards: watch::Receiver<Shards>,
        config: RelayConfig,
    ) -> anyhow::Result<Self> {
        let (producer, admin) = connect(&config)?;
        Ok(Relay {
            store,
            shards,
            lease_lost: false,
            producer,
            admin,
            config,
            topics: HashSet::new(),
            status: Arc::new(Mutex::new(RelayStatus {
                state: "starting",
                ..RelayStatus::default()
            })),
        })
    }

    pub fn status(&self) -> Arc<Mutex<RelayStatus>> {
        self.status.clone()
    }

    /// Relays until the process ends: a pass whenever `written` says the outbox got events,
    /// or every [`POLL`] otherwise.
    pub async fn run(mut self, written: Arc<Notify>) {
        loop {
            match self.pass().await {
                Ok(0) => {
                    tokio::select! {
                        _ = written.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event relay pass failed; retrying");
                    metrics().relay_failed();
                    self.set_status("failing", Some(e));
                    self.recover();
                    tokio::time::sleep(BACKOFF).await;
                }
            }
        }
    }

    /// After a failed pass, start afresh: a broker that came back empty has none of the
    /// topics seen before, and a producer that lost its broker can stay stuck on the
    /// idempotence state it had there (measured with tansu: timeouts until replaced).
    fn recover(&mut self) {
        self.topics.clear();
        match connect(&self.config) {
            Ok((producer, admin)) => {
                self.producer = producer;
                self.admin = admin;
            }
            Err(e) => tracing::error!(error = %e, "could not start a new Kafka client"),
        }
    }

    fn set_status(&self, state: &'static str, error: Option<String>) {
        if let Ok(mut status) = self.status.lock() {
            status.state = state;
            status.last_error = error;
        }
    }

    /// The shards to relay now: with leases, those still valid for a whole publish (none
    /// after a lost lease, until the leases are renewed).
    fn shards(&mut self) -> Shards {
        if self.lease_lost {
            if !self.shards.has_changed().unwrap_or(false) {
                return Shards::Leased(Vec::new());
            }
            self.lease_lost = false;
        }
        match &*self.shards.borrow_and_update() {
            Shards::All => Shards::All,
            Shards::Leased(leases) => {
                let now = Instant::now();
                Shards::Leased(
                    leases
                        .iter()
                        .filter(|l| l.valid_until > now)
                        .copied()
                        .collect(),
                )
            }
        }
    }

    /// Publishes one batch; the number of events taken (0: nothing to relay).
    async fn pass(&mut self) -> Result<usize, String> {
        let shards = self.shards();
        if shards.is_empty() {
            return Ok(0);
        }
        let events = self
            .store
            .unpublished(BATCH, &shards)
            .await
            .map_err(|e| e.to_string())?;
        if events.is_empty() {
            return Ok(0);
        }
        self.ensure_topics(&events).await?;
        let (delivered, failure) = self.publish(&events).await;
        if !delivered.is_empty() {
            let ids: Vec<Uuid> = delivered.iter().map(|(id, _)| *id).collect();
            match self.store.mark_published(&ids, Utc::now(), &shards).await {
                Ok(()) => {}
                // Another replica relays the shard now: it publishes these events again
                // (with the same ids), and this replica stops relaying it.
                Err(StoreError::LeaseLost) => {
                    tracing::warn!(
                        "a relay lease was lost mid-batch; its events are left to the new holder"
                    );
                    self.lease_lost = true;
                    return Ok(0);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        if let Ok(mut status) = self.status.lock() {
            status.published += delivered.len() as u64;
            if failure.is_none() {
                status.state = "publishing";
                status.last_error = None;
            }
        }
        // Counted once marked and the status told, so that the backlog followed between
        // counts (published subtracted from written) never drops below what the store
        // still holds, nor reaches zero while the status still says `failing`.
        for (_, lag) in &delivered {
            metrics().event_published(*lag);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(events.len()),
        }
    }

    /// Creates the topics this batch needs that the relay has not seen yet.
    async fn ensure_topics(&mut self, events: &[OrderEvent]) -> Result<(), String> {
        let wanted: HashSet<String> = events
            .iter()
            .map(|e| topic_for(&self.config.topic_prefix, &e.event_type))
            .filter(|t| !self.topics.contains(t))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let new: Vec<NewTopic> = wanted
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    self.config.partitions,
                    TopicReplication::Fixed(self.config.replication),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = self
            .admin
            .create_topics(&new, &options)
            .await
            .map_err(|e| format!("creating topics: {e}"))?;
        for result in results {
            match result {
                Ok(topic) | Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    self.topics.insert(topic);
                }
                Err((topic, code)) => return Err(format!("creating topic {topic}: {code}")),
            }
        }
        Ok(())
    }

    /// Sends every event and waits for the broker's answers. Returns the events to mark
    /// published — all acknowledged ones except those after a failure in the same order —
    /// each with the seconds from its order change to its acknowledgement, and the first
    /// failure.
    async fn publish(&self, events: &[OrderEvent]) -> (Vec<(Uuid, f64)>, Option<String>) {
        let mut sent = Vec::with_capacity(events.len());
        let mut failure = None;
        for event in events {
            let payload = match serde_json::to_vec(event) {
                Ok(payload) => payload,
                Err(e) => {
                    failure.get_or_insert(format!("encoding event {}: {e}", event.event_id));
                    sent.push((event, None));
                    continue;
                }
            };
            let topic = topic_for(&self.config.topic_prefix, &event.event_type);
            let key = event.order_id.to_string();
            let id = event.event_id.to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "event_type",
                    value: Some(event.event_type.as_str()),
                })
                .insert(Header {
                    key: "event_id",
                    value: Some(id.as_str()),
                })
                .insert(Header {
                    key: "content-type",
                    value: Some("application/json"),
                });
            let record = FutureRecord::to(&topic)
                .key(&key)
                .payload(&payload)
                .headers(headers);
            match self.producer.send_result(record) {
                Ok(delivery) => sent.push((event, Some(delivery))),
                Err((e, _)) => {
                    failure.get_or_insert(format!("queueing event {}: {e}", event.event_id));
                    sent.push((event, None));
                }
            }
        }
        let mut delivered = Vec::with_capacity(sent.len());
        let mut held_back = HashSet::new();
        for (event, delivery) in sent {
            let acknowledged = match delivery {
                Some(delivery) => match delivery.await {
                    Ok(Ok(_)) => true,
                    Ok(Err((e, _))) => {
                        failure.get_or_insert(format!("publishing event {}: {e}", event.event_id));
                        false
                    }
                    Err(_) => {
                        failure.get_or_insert("the producer stopped".into());
                        false
                    }
                },
                None => false,
            };
            if acknowledged && !held_back.contains(&event.order_id) {
                let lag = (Utc::now() - event.occurred_at).num_milliseconds().max(0) as f64;
                delivered.push((event.event_id, lag / 1000.0));
            } else {
                held_back.insert(event.order_id);
            }
        }
        (delivered, failure)
    }
}

#[cfg(test)]
mod tests {
    use super::topic_for;

    #[test]
    fn topics_are_named_as_the_events() {
        assert_eq!(topic_for("", "order.created"), "order.created");
        assert_eq!(
            topic_for("staging.", "order.created"),
            "staging.order.created"
        );
        assert_eq!(
            topic_for("", "order.awaiting approval/b2b"),
            "order.awaiting_approval_b2b"
        );
    }
}
