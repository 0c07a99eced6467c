//! The deliveries' two loops, run by every replica for the outbox shards it leases (the
//! relay's leases: one mechanism for all that runs once per event; the embedded store's
//! process holds every shard).
//!
//! - **Queueing** follows the commits of its shards from where each shard's cursor stands
//!   (a live stream, [`crate::live::streams`]), turns each event into a delivery per
//!   endpoint that takes it, queues them, and moves the cursor past. A delivery is keyed by
//!   its endpoint and event, so a commit queued again (after a crash, or by the replica
//!   that took the shard over) queues nothing twice.
//! - **Delivering** tries the deliveries due, each the next in line of its order and
//!   endpoint (so an order's events reach an endpoint in order), and records each try.
//!
//! In steady state one replica holds a shard, so each delivery is tried once at a time; a
//! takeover while a try is under way may try it twice (the receiver tells by its
//! `Orderflow-Delivery` id).

use super::delivery::{Delivery, State};
use super::endpoint::Endpoint;
use super::schedule::Schedule;
use super::send::Sender;
use super::{DeliveryStore, EndpointStore};
use crate::live::Position;
use crate::live::streams::{Interest, Message, Refused, Resume, Streams};
use crate::orders::outbox::{Shards, shard_of};
use chrono::Utc;
use futures_util::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Events queued per write, at most.
const BATCH: usize = 256;
/// Deliveries tried per round, at most.
const ROUND: u32 = 64;
/// How often due deliveries are looked for when nothing was queued meanwhile.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often cursors that moved without queueing anything are written.
const CURSORS_EVERY: Duration = Duration::from_secs(5);
/// How often the endpoints are read again when no change was announced.
const ENDPOINTS_EVERY: Duration = Duration::from_secs(30);
/// A failed round waits this long before the next.
const BACKOFF: Duration = Duration::from_secs(1);

pub struct Dispatch {
    streams: Arc<Streams>,
    deliveries: Arc<dyn DeliveryStore>,
    endpoints: Arc<dyn EndpointStore>,
    /// The endpoints as last read: queueing and delivering read them here.
    known: watch::Sender<Arc<Vec<Endpoint>>>,
    /// Told when the endpoints changed (here, or on another replica).
    changed: Arc<Notify>,
    shards: watch::Receiver<Shards>,
    sender: Sender,
    schedule: Schedule,
    /// Told when deliveries were queued.
    queued: Notify,
    /// Where queueing must go back to: an endpoint registered after commits were queued.
    rewind: std::sync::Mutex<Option<Position>>,
}

impl Dispatch {
    pub fn new(
        streams: Arc<Streams>,
        deliveries: Arc<dyn DeliveryStore>,
        endpoints: Arc<dyn EndpointStore>,
        shards: watch::Receiver<Shards>,
        sender: Sender,
        schedule: Schedule,
    ) -> Arc<Self> {
        Arc::new(Dispatch {
            streams,
            deliveries,
            endpoints,
            known: watch::Sender::new(Arc::default()),
            changed: Arc::new(Notify::new()),
            shards,
            sender,
            schedule,
            queued: Notify::new(),
            rewind: std::sync::Mutex::new(None),
        })
    }

    /// The endpoints changed through this replica: read them again now.
    pub fn endpoints_changed(&self) {
        self.changed.notify_one();
    }

    /// Where the commits stand now.
    pub async fn now(&self) -> Result<Position, crate::domain::StoreError> {
        self.streams.now().await
    }

    /// A delivery was made due: look now.
    pub fn queued(&self) {
        self.queued.notify_one();
    }

    /// Runs the loops until the process ends.
    pub async fn run(self: Arc<Self>) {
        tokio::join!(
            self.clone().keep_endpoints(),
            self.clone().queue_commits(),
            self.deliver_due()
        );
    }

    async fn keep_endpoints(self: Arc<Self>) {
        let follower = (self.endpoints.clone(), self.changed.clone());
        tokio::spawn(async move { follower.0.follow_endpoints(follower.1).await });
        let mut first = true;
        loop {
            match self.endpoints.endpoints().await {
                Ok(endpoints) => {
                    self.known.send_if_modified(|known| {
                        // An endpoint registered since the last read may have missed commits
                        // queued meanwhile: queueing goes back to where it was registered
                        // (what is queued already is not queued twice).
                        let new = (endpoints.iter())
                            .filter(|e| !first && !known.iter().any(|k| k.id == e.id))
                            .map(|e| e.from)
                            .min();
                        if let Some(from) = new {
                            let mut rewind = self.rewind.lock().unwrap_or_else(|e| e.into_inner());
                            *rewind = Some(rewind.map_or(from, |at| at.min(from)));
                        }
                        let changed = **known != endpoints;
                        *known = Arc::new(endpoints);
                        changed
                    });
                    first = false;
                }
                Err(e) => tracing::warn!(error = %e, "the webhook endpoints could not be read"),
            }
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = tokio::time::sleep(ENDPOINTS_EVERY) => {}
            }
        }
    }

    fn held(&self) -> Vec<u16> {
        sorted(&self.shards.borrow())
    }

    async fn queue_commits(self: Arc<Self>) {
        let mut shards = self.shards.clone();
        loop {
            if let Err(e) = self.queue_while_held(&mut shards).await {
                tracing::warn!(error = %e, "queueing webhook deliveries failed; starting again");
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }

    /// Follows the commits of the shards held now until they change, the endpoints come
    /// and go, or the stream is cut. With no endpoint it follows nothing (an idle tail
    /// costs the store nothing), and when one comes the shards' cursors start from then:
    /// nothing was owed to endpoints that did not exist.
    async fn queue_while_held(&self, shards: &mut watch::Receiver<Shards>) -> Result<(), String> {
        let mut known = self.known.subscribe();
        shards.borrow_and_update();
        let held = self.held();
        if held.is_empty() {
            moved_from(shards, &held).await;
            return Ok(());
        }
        known.borrow_and_update();
        // Read from the store, not the list kept: that may not be read yet.
        let read = |e: crate::domain::StoreError| e.to_string();
        let mut endpoints = self.endpoints.endpoints().await.map_err(read)?;
        let resting = endpoints.is_empty();
        if resting {
            tokio::select! {
                _ = known.wait_for(|endpoints| !endpoints.is_empty()) => {}
                _ = moved_from(shards, &held) => return Ok(()),
            }
            endpoints = self.endpoints.endpoints().await.map_err(read)?;
        }
        // Nothing is owed from before the earliest endpoint was registered.
        let Some(owed) = endpoints.iter().map(|e| e.from).min() else {
            return Ok(());
        };
        let stored: HashMap<u16, Position> = (self.deliveries.cursors().await.map_err(read)?)
            .into_iter()
            .collect();
        let rewind = (self.rewind.lock().unwrap_or_else(|e| e.into_inner()).take())
            .unwrap_or(Position::after_commit(u64::MAX));
        let mut cursors: HashMap<u16, Position> = HashMap::new();
        for shard in &held {
            let at = match stored.get(shard) {
                Some(at) if !resting => (*at).max(owed).min(rewind),
                // A shard never queued, or queued while no endpoint existed.
                _ => owed,
            };
            cursors.insert(*shard, at);
        }
        let from = cursors.values().min().copied().unwrap_or(owed);
        let interest = Interest {
            shards: Some(held.clone()),
            ..Interest::default()
        };
        let stream = match self.streams.open(interest, Some(Resume::At(from))).await {
            Ok(stream) => stream,
            // The store no longer keeps those commits (MongoDB's oplog moved past): they
            // cannot be delivered; the shards go on from now.
            Err(Refused::Gone) => {
                tracing::error!(%from, "webhook deliveries lost: the store no longer holds the commits after the cursor");
                let now = self.streams.now().await.map_err(read)?;
                for shard in &held {
                    self.deliveries.advance(*shard, now).await.map_err(read)?;
                }
                return Ok(());
            }
            Err(e) => return Err(format!("{e:?}")),
        };
        let mut stream = std::pin::pin!(stream);
        let mut moved: HashMap<u16, Position> = HashMap::new();
        let mut tick = tokio::time::interval(CURSORS_EVERY);
        loop {
            let first = tokio::select! {
                message = stream.next() => message,
                _ = moved_from(shards, &held) => return self.write_cursors(&mut moved).await,
                // Gone to none, or one more that may need to go back: started again.
                _ = known.changed() => return self.write_cursors(&mut moved).await,
                _ = tick.tick() => {
                    self.write_cursors(&mut moved).await?;
                    continue;
                }
            };
            let mut messages = vec![first];
            while messages.len() < BATCH {
                match stream.next().now_or_never() {
                    Some(message) => messages.push(message),
                    None => break,
                }
            }
            let mut queue = Vec::new();
            for message in messages {
                match message {
                    Some(Message::Event { committed, .. }) => {
                        let shard = shard_of(committed.event.order_id);
                        if cursors
                            .get(&shard)
                            .is_some_and(|at| committed.position > *at)
                        {
                            queue.extend(self.deliveries_of(&committed));
                            cursors.insert(shard, committed.position);
                            moved.insert(shard, committed.position);
                        }
                    }
                    Some(Message::Ready(_)) => {}
                    // Cut off, or the service stops: started again from the cursors.
                    Some(Message::Cut) | None => {
                        self.queue(&queue).await?;
                        return self.write_cursors(&mut moved).await;
                    }
                }
            }
            if !queue.is_empty() {
                self.queue(&queue).await?;
                self.write_cursors(&mut moved).await?;
            }
        }
    }

    /// The deliveries of one committed event: one per endpoint that takes its type.
    fn deliveries_of(&self, committed: &crate::live::Committed) -> Vec<Delivery> {
        let event = &committed.event;
        let now = Utc::now();
        (self.known.borrow().iter())
            .filter(|endpoint| endpoint.takes(&event.event_type))
            // An endpoint takes what was committed after it was registered.
            .filter(|endpoint| committed.position > endpoint.from)
            .map(|endpoint| Delivery {
                id: uuid::Uuid::now_v7(),
                endpoint: endpoint.id,
                event_id: event.event_id,
                event_type: event.event_type.clone(),
                order_id: event.order_id,
                position: committed.position,
                state: State::Pending,
                tries: 0,
                since: None,
                log: Vec::new(),
                next_at: now,
                queued_at: now,
                body: committed.json.clone(),
            })
            .collect()
    }

    async fn queue(&self, deliveries: &[Delivery]) -> Result<(), String> {
        if deliveries.is_empty() {
            return Ok(());
        }
        self.deliveries
            .queue(deliveries)
            .await
            .map_err(|e| e.to_string())?;
        self.queued.notify_one();
        Ok(())
    }

    async fn write_cursors(&self, moved: &mut HashMap<u16, Position>) -> Result<(), String> {
        for (shard, to) in moved.drain() {
            self.deliveries
                .advance(shard, to)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn deliver_due(self: Arc<Self>) {
        loop {
            // With no endpoint there is nothing to look for: an idle cluster without
            // webhooks costs the store nothing here.
            let none = self.known.borrow().is_empty();
            let full = match none {
                true => false,
                false => match self.deliver_round().await {
                    Ok(tried) => tried == ROUND as usize,
                    Err(e) => {
                        tracing::warn!(error = %e, "a round of webhook deliveries failed");
                        false
                    }
                },
            };
            if !full {
                tokio::select! {
                    _ = self.queued.notified() => {}
                    _ = tokio::time::sleep(LOOK_EVERY) => {}
                }
            }
        }
    }

    /// Tries the deliveries due now, at once; how many.
    async fn deliver_round(&self) -> Result<usize, String> {
        let held = self.held();
        if held.is_empty() {
            return Ok(0);
        }
        let due =
            (self.deliveries.due(&held, Utc::now(), ROUND).await).map_err(|e| e.to_string())?;
        let known = self.known.borrow().clone();
        let tries = due.into_iter().map(|mut delivery| {
            let endpoint = known.iter().find(|e| e.id == delivery.endpoint).cloned();
            async move {
                match endpoint {
                    Some(endpoint) => {
                        let tried = self.sender.send(&endpoint, &delivery).await;
                        crate::metrics::metrics().webhook_tried(tried.succeeded());
                        delivery.tried(tried, &self.schedule);
                    }
                    // Removed since: what was queued for it goes nowhere.
                    None => delivery.state = State::Dead,
                }
                self.deliveries.settle(&delivery).await
            }
        });
        let settled = futures_util::future::join_all(tries).await;
        let count = settled.len();
        settled
            .into_iter()
            .collect::<Result<Vec<()>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(count)
    }
}

/// Resolves when the shards held are no longer `held` (a renewal that keeps them changes
/// only their deadlines, every 2 s); never once the leases are gone for good.
async fn moved_from(shards: &mut watch::Receiver<Shards>, held: &[u16]) {
    while shards.changed().await.is_ok() {
        if sorted(&shards.borrow_and_update()) != held {
            return;
        }
    }
    std::future::pending().await
}

fn sorted(shards: &Shards) -> Vec<u16> {
    let mut numbers = shards.numbers();
    numbers.sort_unstable();
    numbers
}
